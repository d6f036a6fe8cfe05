/*
 * labqcctl.c: the operator's command (DESIGN section 8).
 *
 * This first version does what needs no running daemon: verify-audit
 * checks the hash chain of the audit log. The control-socket commands
 * (status, ack, silence, maintenance, service-done, reload, flush) come
 * with the control socket; until then they say so and exit 2.
 */
#include "audit.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out, "usage: labqcctl [-s SOCKET] status | ack KEY [COMMENT] | silence MATCH DURATION |\n"
		     "       maintenance INSTRUMENT start|end | service-done INSTRUMENT [COUNTER] |\n"
		     "       reload | flush | verify-audit [FILE]\n");
}

int main(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "s:h")) != -1) {
		switch (ch) {
		case 's':
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[optind], "verify-audit") == 0) {
		const char *path = optind + 1 < argc ? argv[optind + 1] : "/var/lib/labqcd/audit.jsonl";
		char err[512];
		unsigned long lines = 0;
		if (audit_verify(path, err, sizeof(err), &lines) == -1) {
			fprintf(stderr, "labqcctl: %s: %s\n", path, err);
			return 1;
		}
		printf("%s: %lu records, chain intact\n", path, lines);
		return 0;
	}
	fprintf(stderr, "labqcctl: %s: needs the control socket, not built yet\n", argv[optind]);
	return 2;
}
