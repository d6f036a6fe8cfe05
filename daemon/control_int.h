/*
 * control_int.h: what the control socket (control.c) shares with its
 * commands (control_cmds.c). Nothing else includes it.
 */
#ifndef LABQCD_CONTROL_INT_H
#define LABQCD_CONTROL_INT_H

#include <stdio.h>

#include <cJSON.h>

struct labqcd;

/* A command's answer: result fields for the JSON form, text for people,
 * or an error. */
struct reply {
	cJSON *obj; /* JSON result fields */
	FILE *text; /* human text */
	char err[512];
	const char *name; /* the caller's display name ("name=" in the request), or NULL */
};

/* One command: `args` is the rest of the request line (the handler may
 * cut it into words), `by` who asked. 0, or -1 with reply.err set. */
struct control_cmd {
	const char *name;
	int (*fn)(struct labqcd *d, const char *config_path, char *args, struct reply *r,
		  const char *by);
};
extern const struct control_cmd control_cmds[]; /* ends with a NULL name */

/* The next blank-separated word of *p (NUL-terminated in place), or NULL. */
char *control_next_word(char **p);

#endif
