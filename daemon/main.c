/*
 * main.c: labqcd's command line (DESIGN section 8).
 *
 *   labqcd [-c FILE] [-f] [-t] [-v] [-V] [-h]
 *   labqcd -c FILE --render
 *   labqcd -c FILE --replay FILE [--notify]
 *
 * Loads and checks the config, then runs the daemon (detached, logging
 * to syslog, unless -f), replays a file, or renders the dashboard.
 */
#include "labqcd.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/labqcd/labqcd.yaml"

static void usage(FILE *out)
{
	fprintf(out, "usage: labqcd [-c FILE] [-f] [-t] [-v] [-V] [-h]\n"
		     "       labqcd -c FILE --render\n"
		     "       labqcd -c FILE --replay FILE [--notify]\n"
		     "  -c FILE          config (default " DEFAULT_CONFIG ")\n"
		     "  -f               stay in the foreground, log to stderr\n"
		     "  -t               check the config and exit (0 good, 1 bad)\n"
		     "  -v               more verbose logging (debug)\n"
		     "  -V               print the version and exit\n"
		     "  -h               this help\n"
		     "  --render         render the dashboard once and exit\n"
		     "  --replay FILE    process \"topic payload\" lines (mosquitto_sub -v),\n"
		     "                   print every record as JSON lines, exit at end of input\n"
		     "  --notify         with --replay: send the notifications too\n");
}

/* Paths in the config are relative to the directory labqcd was started
 * in; make them absolute before a daemon changes to "/". */
static void absolutize(char *path, size_t len, const char *cwd)
{
	char tmp[CFG_PATH_MAX];

	if (path[0] == '\0' || path[0] == '/')
		return;
	if (snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path) < (int)sizeof(tmp))
		snprintf(path, len, "%s", tmp);
}

static void absolutize_config(struct config *cfg)
{
	char cwd[PATH_MAX];
	struct cfg_daemon *dc = &cfg->daemon;

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return;
	absolutize(dc->state_dir, sizeof(dc->state_dir), cwd);
	absolutize(dc->rrd_dir, sizeof(dc->rrd_dir), cwd);
	absolutize(dc->www_dir, sizeof(dc->www_dir), cwd);
	absolutize(dc->control_socket, sizeof(dc->control_socket), cwd);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"replay", required_argument, NULL, 'R'},
						 {"render", no_argument, NULL, 'D'},
						 {"notify", no_argument, NULL, 'N'},
						 {"help", no_argument, NULL, 'h'},
						 {"version", no_argument, NULL, 'V'},
						 {NULL, 0, NULL, 0}};
	const char *config_path = DEFAULT_CONFIG, *replay = NULL;
	bool foreground = false, check = false, render = false, notify = false;
	int verbose = 0, ch;
	struct config *cfg;

	while ((ch = getopt_long(argc, argv, "c:ftvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 't':
			check = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("labqcd %s\n", LABQCD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'R':
			replay = optarg;
			break;
		case 'D':
			render = true;
			break;
		case 'N':
			notify = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "labqcd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (notify && !replay) {
		fprintf(stderr, "labqcd: --notify goes with --replay\n");
		return 2;
	}

	/* Everything but the daemon itself logs to stderr. */
	log_init("labqcd", true, verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	cfg = config_load(config_path, stderr);
	if (cfg == NULL)
		return 1;
	if (check) {
		printf("%s: configuration OK (%zu instruments, %zu receivers, %zu routes)\n",
		       config_path, cfg->n_instruments, cfg->n_receivers, cfg->n_routes);
		config_free(cfg);
		return 0;
	}
	log_set_level(verbose ? LOG_LVL_DEBUG : (int)cfg->daemon.log_level);
	absolutize_config(cfg);
	if (replay)
		return replay_run(cfg, replay, notify);
	if (render)
		return render_run(cfg);
	if (!foreground) {
		if (daemon(0, 0) == -1) {
			perror("labqcd: daemon");
			return 1;
		}
		log_init("labqcd", false, verbose ? LOG_LVL_DEBUG : (int)cfg->daemon.log_level);
	}
	return daemon_run(cfg, config_path) == 0 ? 0 : 1;
}
