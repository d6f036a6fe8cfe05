/*
 * labqcctl.c: the operator's command (DESIGN section 8).
 *
 *   labqcctl [-s SOCKET] [--json] COMMAND [ARG ...]
 *
 * verify-audit checks the audit log's hash chain itself and needs no
 * daemon. Every other command is one request line to the daemon's
 * control socket (control.h has the protocol); the answer is printed as
 * it comes (human text, or with --json one JSON object line).
 *
 * Exit codes: 0 done; 1 the daemon refused or the command failed (no
 * such alert, config with errors, broken audit chain); 2 usage error;
 * 3 the daemon could not be reached (not running, no permission on the
 * socket, no answer).
 */
#include "daemon/audit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/labqcd/labqcd.sock"
#define DEFAULT_AUDIT "/var/lib/labqcd/audit.jsonl"
#define REQUEST_MAX 4096
#define ANSWER_TIMEOUT_MS 120000 /* reload and flush may take a while */
#define EXIT_WAIT_MS 60000       /* handover: the daemon's exit after its answer */

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: labqcctl [-s SOCKET] [--json] [-n NAME] status [--fleet] | ack KEY [COMMENT] |\n"
	        "       silence MATCH DURATION | maintenance INSTRUMENT start|end |\n"
	        "       service-done INSTRUMENT [COUNTER] | reload | flush | verify-audit [FILE] |\n"
	        "       report PERIOD | handover [SLICE] |\n"
	        "       qc-action KEY RUN [--by NAME] [--reviewed]\n"
	        "                 [--override accept|reject --reason TEXT] [WHAT WAS DONE]\n"
	        "  -s SOCKET        control socket (default " DEFAULT_SOCKET ")\n"
	        "  -j, --json       answer as one JSON object line\n"
	        "  -n, --name NAME  your display name, recorded beside your account\n"
	        "  -h, --help       this help\n"
	        "exit: 0 done, 1 refused or failed, 2 usage, 3 daemon not reachable\n");
}

static int verify_audit(const char *path, bool json)
{
	char err[512];
	unsigned long lines = 0, unanchored = 0;
	int ok = audit_verify(path, err, sizeof(err), &lines, &unanchored) == 0;

	if (json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", ok);
		cJSON_AddStringToObject(o, "file", path);
		cJSON_AddNumberToObject(o, "records", (double)lines);
		if (ok)
			cJSON_AddNumberToObject(o, "unanchored", (double)unanchored);
		if (!ok)
			cJSON_AddStringToObject(o, "error", err);
		char *s = cJSON_PrintUnformatted(o);
		printf("%s\n", s ? s : "{\"ok\":false}");
		free(s);
		cJSON_Delete(o);
	} else if (ok) {
		printf("%s: %lu records, chain intact, end anchored%s", path, lines,
		       unanchored ? "" : "\n");
		if (unanchored)
			printf(" at record %lu (the %lu after it were written since the last "
			       "anchor)\n",
			       lines - unanchored, unanchored);
	} else {
		fprintf(stderr, "labqcctl: %s: %s\n", path, err);
	}
	return ok ? EXIT_OK : EXIT_FAILED;
}

/* Append one word to the request; words carry no whitespace. */
static int add_word(char *req, size_t len, const char *w, bool rest)
{
	size_t n = strlen(req);

	if (!rest && (w[0] == '\0' || strpbrk(w, " \t\r\n") != NULL)) {
		fprintf(stderr, "labqcctl: \"%s\": an argument must be one word\n", w);
		return -1;
	}
	if (n + 1 + strlen(w) + 2 > len) {
		fprintf(stderr, "labqcctl: request too long\n");
		return -1;
	}
	req[n++] = ' ';
	for (; *w; w++)
		req[n++] = (*w == '\n' || *w == '\r' || *w == '\t') ? ' ' : *w;
	req[n] = '\0';
	return 0;
}

/* The request line for argv (the command first), or -1 on a usage error. */
static int build_request(int argc, char **argv, const char *prefix, char *req, size_t len)
{
	static const struct {
		const char *name;
		int min, max; /* arguments after the command; max -1 = any (comment) */
	} cmds[] = {{"status", 0, 1},      {"ack", 1, -1},         {"silence", 2, 2},
	            {"maintenance", 2, 2}, {"service-done", 1, 2}, {"reload", 0, 0},
	            {"flush", 0, 0},       {"report", 1, 1},       {"handover", 0, 1}};
	const char *cmd = argv[0];
	int nargs = argc - 1;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmd, cmds[i].name) != 0)
			continue;
		if (nargs < cmds[i].min || (cmds[i].max >= 0 && nargs > cmds[i].max)) {
			fprintf(stderr, "labqcctl: %s: wrong number of arguments\n", cmd);
			return -1;
		}
		if (strcmp(cmd, "status") == 0 && nargs == 1 && strcmp(argv[1], "--fleet") != 0) {
			fprintf(stderr, "labqcctl: status [--fleet]\n");
			return -1;
		}
		if (strcmp(cmd, "maintenance") == 0 && strcmp(argv[2], "start") != 0 &&
		    strcmp(argv[2], "end") != 0) {
			fprintf(stderr, "labqcctl: maintenance INSTRUMENT start|end\n");
			return -1;
		}
		snprintf(req, len, "%s%s", prefix, cmd);
		for (int k = 1; k < argc; k++) {
			/* ack's comment: every word after the key. */
			bool rest = strcmp(cmd, "ack") == 0 && k >= 2;
			if (add_word(req, len, argv[k], rest) == -1)
				return -1;
		}
		return 0;
	}
	fprintf(stderr, "labqcctl: unknown command \"%s\"\n", cmd);
	return -1;
}

/* qc-action KEY RUN [--by NAME] [--reviewed] [--override accept|reject
 * --reason TEXT] [WHAT WAS DONE ...]: the request carries it as JSON.
 * The daemon records the caller's account as "by"; --by NAME is a
 * display name beside it (as -n NAME). */
static int qc_action_request(int argc, char **argv, const char *prefix, char *req, size_t len)
{
	cJSON *o = cJSON_CreateObject();
	char action[1024] = "", *s;
	const char *by = NULL;
	int rc = -1;

	if (o == NULL || argc < 3)
		goto usage;
	cJSON_AddStringToObject(o, "key", argv[1]);
	cJSON_AddStringToObject(o, "run", argv[2]);
	for (int k = 3; k < argc; k++) {
		if (strcmp(argv[k], "--by") == 0 && k + 1 < argc) {
			by = argv[++k];
		} else if (strcmp(argv[k], "--reviewed") == 0) {
			cJSON_AddTrueToObject(o, "reviewed");
		} else if (strcmp(argv[k], "--override") == 0 && k + 1 < argc) {
			if (strcmp(argv[k + 1], "accept") != 0 && strcmp(argv[k + 1], "reject") != 0)
				goto usage;
			cJSON_AddStringToObject(o, "override", argv[++k]);
		} else if (strcmp(argv[k], "--reason") == 0 && k + 1 < argc) {
			cJSON_AddStringToObject(o, "reason", argv[++k]);
		} else if (strncmp(argv[k], "--", 2) == 0) {
			goto usage;
		} else {
			size_t n = strlen(action);

			snprintf(action + n, sizeof(action) - n, "%s%s", n ? " " : "", argv[k]);
		}
	}
	if (by != NULL)
		cJSON_AddStringToObject(o, "name", by);
	if (action[0])
		cJSON_AddStringToObject(o, "action", action);
	s = cJSON_PrintUnformatted(o);
	if (s && (size_t)snprintf(req, len, "%sqc-action %s", prefix, s) < len)
		rc = 0;
	else
		fprintf(stderr, "labqcctl: qc-action: request too long\n");
	free(s);
	cJSON_Delete(o);
	return rc;
usage:
	fprintf(stderr, "labqcctl: qc-action KEY RUN [--by NAME] [--reviewed] "
	                "[--override accept|reject --reason TEXT] [WHAT WAS DONE]\n");
	cJSON_Delete(o);
	return -1;
}

/* "[json ][name=ENCODED ]": the display name percent-encoded (blanks
 * and '%' as %20, %25), so it stays one word of the request line. */
static int request_prefix(bool json, const char *name, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "%s", json ? "json " : "");

	if (name == NULL)
		return 0;
	if (name[0] == '\0' || strlen(name) > 64) {
		fprintf(stderr, "labqcctl: --name: 1 to 64 bytes\n");
		return -1;
	}
	n += (size_t)snprintf(out + n, len - n, "name=");
	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		if (*c < 0x20 || *c == 0x7f) {
			fprintf(stderr, "labqcctl: --name: no control characters\n");
			return -1;
		}
		n += (size_t)(*c == ' ' || *c == '%' ? snprintf(out + n, len - n, "%%%02X", *c)
		                                     : snprintf(out + n, len - n, "%c", *c));
	}
	snprintf(out + n, len - n, " ");
	return 0;
}

/* Send the request, read the whole answer (malloc'ed, NUL-terminated);
 * the daemon's pid into *peer (0 when the kernel does not say). */
static char *ask(const char *path, const char *req, pid_t *peer)
{
	struct ucred cred;
	socklen_t cred_len = sizeof(cred);
	struct sockaddr_un sun;
	size_t cap = 8192, len = 0;
	char *buf = NULL;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "labqcctl: %s: socket path too long\n", path);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "labqcctl: %s: %s (is labqcd running? are you in its group?)\n",
		        path, strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	*peer = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) == 0 ? cred.pid : 0;
	size_t off = 0, rlen = strlen(req);
	while (off < rlen) {
		ssize_t k = send(fd, req + off, rlen - off, MSG_NOSIGNAL);
		if (k <= 0) {
			if (k == -1 && errno == EINTR)
				continue;
			fprintf(stderr, "labqcctl: %s: send: %s\n", path, strerror(errno));
			close(fd);
			return NULL;
		}
		off += (size_t)k;
	}
	shutdown(fd, SHUT_WR);
	if ((buf = malloc(cap)) == NULL)
		goto fail;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, ANSWER_TIMEOUT_MS);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "labqcctl: %s: no answer within %d s\n", path,
			        ANSWER_TIMEOUT_MS / 1000);
			goto fail;
		}
		if (len + 1 >= cap) {
			char *nb = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
			if (nb == NULL)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		ssize_t k = recv(fd, buf + len, cap - 1 - len, 0);
		if (k == 0)
			break;
		if (k == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "labqcctl: %s: %s\n", path, strerror(errno));
			goto fail;
		}
		len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';
	if (len == 0) {
		fprintf(stderr, "labqcctl: %s: the daemon closed without an answer\n", path);
		free(buf);
		return NULL;
	}
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

/* After a hand-over's answer: wait until the daemon has exited (gone,
 * or a zombie its parent has not reaped yet), so the operator copies a
 * state_dir that nothing writes any more. */
static int wait_exit(pid_t pid)
{
	char path[64], stat[512];

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	for (int waited = 0; waited < EXIT_WAIT_MS; waited += 50) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(stat, 1, sizeof(stat) - 1, f) : 0;
		const char *paren;

		if (f)
			fclose(f);
		stat[n] = '\0';
		/* "pid (comm) S ...": the state after the last ')'. */
		if (f == NULL || (paren = strrchr(stat, ')')) == NULL || paren[1] != ' ' ||
		    paren[2] == 'Z' || paren[2] == 'X')
			return 0;
		poll(NULL, 0, 50);
	}
	fprintf(stderr, "labqcctl: labqcd (pid %ld) has not exited within %d s of its answer\n",
	        (long)pid, EXIT_WAIT_MS / 1000);
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"name", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *name = NULL;
	char prefix[256];
	const char *socket_path = DEFAULT_SOCKET;
	char req[REQUEST_MAX];
	bool json = false;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+s:jn:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			name = optarg;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "verify-audit") == 0) {
		if (argc - optind > 2) {
			usage(stderr);
			return EXIT_USAGE;
		}
		return verify_audit(optind + 1 < argc ? argv[optind + 1] : DEFAULT_AUDIT, json);
	}
	if (request_prefix(json, name, prefix, sizeof(prefix)) == -1)
		return EXIT_USAGE;
	if (strcmp(argv[optind], "qc-action") == 0
	        ? qc_action_request(argc - optind, argv + optind, prefix, req, sizeof(req) - 1) == -1
	        : build_request(argc - optind, argv + optind, prefix, req, sizeof(req) - 1) == -1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	size_t n = strlen(req); /* room for the newline was kept by the - 1 above */
	req[n] = '\n';
	req[n + 1] = '\0';
	pid_t peer = 0;
	char *answer = ask(socket_path, req, &peer);
	if (answer == NULL)
		return EXIT_UNREACHABLE;
	if (json) {
		cJSON *o = cJSON_Parse(answer);
		const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
		rc = cJSON_IsTrue(ok) ? EXIT_OK : EXIT_FAILED;
		fputs(answer, stdout);
		cJSON_Delete(o);
	} else if (strncmp(answer, "error: ", 7) == 0) {
		fprintf(stderr, "labqcctl: %s", answer + 7);
		rc = EXIT_FAILED;
	} else {
		fputs(answer, stdout);
		rc = EXIT_OK;
	}
	free(answer);
	if (rc == EXIT_OK && strcmp(argv[optind], "handover") == 0) {
		if (wait_exit(peer) == -1)
			return EXIT_FAILED;
		if (!json && peer > 0)
			printf("labqcd (pid %ld) has exited\n", (long)peer);
	}
	return rc;
}
