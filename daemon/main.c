/*
 * main.c: labqcd's command line (DESIGN section 8).
 *
 *   labqcd [-c FILE] [-f] [-t] [-v] [-V] [-h]
 *   labqcd -c FILE --render
 *   labqcd -c FILE --replay FILE [--notify]
 *   labqcd -c FILE --report PERIOD [--instrument SITE/INSTRUMENT]... --out DIR
 *   labqcd -c FILE --what-if RULES [--analyte KEY] --from AUDIT [--period P] ...
 *   labqcd -c FILE --pbrtqc-design --analyte KEY --from CAPTURE [--blocks ...]
 *
 * Loads and checks the config, then runs the daemon (detached, logging
 * to syslog, unless -f), replays a file, or renders the dashboard.
 *
 * Started as root with daemon.user set, the daemon creates its
 * directories (state, rrd, www, the control socket's), giving the ones
 * it creates to that user, then drops to it (initgroups, setgid,
 * setuid) before it opens anything else: every file it writes, the
 * secrets it reads and the socket it binds are the user's.
 */
#include "daemon/labqcd.h"
#include "daemon/control.h"
#include "daemon/rrdaddr.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/labqcd/labqcd.yaml"

static void usage(FILE *out)
{
	fprintf(out, "usage: labqcd [-c FILE] [-f] [-t] [-v] [-V] [-h]\n"
		     "       labqcd -c FILE --render\n"
		     "       labqcd -c FILE --replay FILE [--notify]\n"
		     "       labqcd -c FILE --report PERIOD [--instrument SITE/INSTRUMENT]... "
		     "--out DIR\n"
		     "  -c FILE          config (default " DEFAULT_CONFIG ")\n"
		     "  -f               stay in the foreground, log to stderr\n"
		     "  -t               check the config and exit (0 good, 1 bad)\n"
		     "  -v               more verbose logging (debug)\n"
		     "  -V               print the version and exit\n"
		     "  -h               this help\n"
		     "  --render         render the dashboard once and exit\n"
		     "  --replay FILE    process \"topic payload\" lines (mosquitto_sub -v),\n"
		     "                   print every record as JSON lines, exit at end of input\n"
		     "  --notify         with --replay: send the notifications too\n"
		     "  --report PERIOD  write PDF reports and report.json for 2026-11,\n"
		     "                   2026-W47 or 2026-11-01..2026-11-15 into --out DIR\n"
		     "  --instrument SITE/INSTRUMENT  with --report: only it (repeatable)\n"
		     "  --out DIR        with --report: the directory written\n"
		     "  --what-if RULES  re-judge the QC results of --from AUDIT.JSONL with\n"
		     "                   these rejection rules [--analyte KEY] [--period P]\n"
		     "                   [--scope runs|level|both] [--replicates N]\n"
		     "  --pbrtqc-design  false alarms and results to detection per block size\n"
		     "                   for --analyte KEY over --from FILE (patient results as\n"
		     "                   \"topic payload\" lines) [--blocks 10,20,40] [--period P]\n"
		     "  --analyte KEY    with --what-if or --pbrtqc-design: one analyte; with\n"
		     "                   the input with --from FILE, the period with --period P\n"
		     "  --format table   with --what-if or --pbrtqc-design: a table, not JSON\n");
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

/* mkdir -p that gives each directory it creates to uid:gid; directories
 * that exist are left as they are (the administrator's choice). */
static int mkdir_owned(const char *path, unsigned mode, uid_t uid, gid_t gid)
{
	char tmp[CFG_PATH_MAX];
	size_t n = strlen(path);
	struct stat sb;

	if (n == 0 || n >= sizeof(tmp))
		return errno = ENAMETOOLONG, -1;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char was = *p;
		*p = '\0';
		if (stat(tmp, &sb) == -1) {
			if (errno != ENOENT || mkdir(tmp, mode) == -1 || chown(tmp, uid, gid) == -1)
				return -1;
		}
		*p = was;
		if (was == '\0')
			return 0;
	}
}

/* Add gid to the supplementary groups initgroups set. 0 or -1. */
static int join_group(gid_t gid)
{
	gid_t groups[NGROUPS_MAX + 1];
	int n = getgroups(NGROUPS_MAX, groups);

	if (n == -1)
		return -1;
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return 0;
	groups[n++] = gid;
	return setgroups((size_t)n, groups);
}

/* Root with daemon.user: create the directories, then become the user.
 * 0, or -1 after logging why (fatal at start). */
static int drop_privileges(const struct config *cfg)
{
	const struct cfg_daemon *dc = &cfg->daemon;
	char sockdir[CFG_PATH_MAX];
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (dc->user[0] == '\0') {
		log_warnx("running as root: set daemon.user to drop privileges");
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(dc->user)) == NULL) {
		if (errno)
			log_warn("daemon.user %s", dc->user);
		else
			log_warnx("daemon.user %s: no such user", dc->user);
		return -1;
	}
	/* The control group: the socket's directory is its, and the daemon
	 * joins it (beside daemon.user's own groups) so that it may give
	 * the socket to it once it is no longer root. */
	gid_t cgid = pw->pw_gid;
	int have_cgid = control_group_gid(dc, &cgid);
	if (have_cgid == -1)
		return -1;
	snprintf(sockdir, sizeof(sockdir), "%s", dc->control_socket);
	const char *dirs[] = {dc->state_dir,
			      rrdaddr_mode(dc->rrdcached) == RRDADDR_REMOTE ? "" : dc->rrd_dir,
			      dc->www_dir,
			      dc->control_socket[0] ? dirname(sockdir) : ""};
	const unsigned modes[] = {0750, 0755, 0755, 0750}; /* as labqcd_open makes them */
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		gid_t g = i == 3 && have_cgid == 0 ? cgid : pw->pw_gid;
		if (dirs[i][0] && mkdir_owned(dirs[i], modes[i], pw->pw_uid, g) == -1) {
			log_warn("%s", dirs[i]);
			return -1;
		}
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    (have_cgid == 0 && join_group(cgid) == -1) || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		log_warn("dropping privileges to %s", dc->user);
		return -1;
	}
	if (setuid(0) != -1) {
		log_warnx("dropping privileges to %s: root could be regained", dc->user);
		return -1;
	}
	log_info("running as user %s (uid %u)", pw->pw_name, (unsigned)pw->pw_uid);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"replay", required_argument, NULL, 'R'},
						 {"render", no_argument, NULL, 'D'},
						 {"notify", no_argument, NULL, 'N'},
						 {"report", required_argument, NULL, 'P'},
						 {"instrument", required_argument, NULL, 'I'},
						 {"out", required_argument, NULL, 'O'},
						 {"what-if", required_argument, NULL, 'W'},
						 {"pbrtqc-design", no_argument, NULL, 'G'},
						 {"analyte", required_argument, NULL, 'A'},
						 {"from", required_argument, NULL, 'F'},
						 {"period", required_argument, NULL, 'Q'},
						 {"blocks", required_argument, NULL, 'B'},
						 {"scope", required_argument, NULL, 'S'},
						 {"replicates", required_argument, NULL, 'E'},
						 {"format", required_argument, NULL, 'M'},
						 {"help", no_argument, NULL, 'h'},
						 {"version", no_argument, NULL, 'V'},
						 {NULL, 0, NULL, 0}};
	const char *config_path = DEFAULT_CONFIG, *replay = NULL, *report = NULL, *out = NULL;
	const char *only[64];
	size_t n_only = 0;
	bool foreground = false, check = false, render = false, notify = false, design = false;
	struct whatif_opts wi = {.scope = -1};
	char *end;
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
		case 'P':
			report = optarg;
			break;
		case 'O':
			out = optarg;
			break;
		case 'W':
			wi.rules = optarg;
			break;
		case 'G':
			design = true;
			break;
		case 'A':
			wi.analyte = optarg;
			break;
		case 'F':
			wi.from = optarg;
			break;
		case 'Q':
			wi.period = optarg;
			break;
		case 'B':
			wi.blocks = optarg;
			break;
		case 'S':
			if ((wi.scope = westgard_scope_parse(optarg)) < 0) {
				fprintf(stderr, "labqcd: --scope runs, level or both\n");
				return 2;
			}
			break;
		case 'E':
			wi.replicates = (int)strtol(optarg, &end, 10);
			if (*end || wi.replicates < 1 || wi.replicates > WG_REPLICATES_MAX) {
				fprintf(stderr, "labqcd: --replicates 1 to %d\n", WG_REPLICATES_MAX);
				return 2;
			}
			break;
		case 'M':
			if (strcmp(optarg, "table") != 0 && strcmp(optarg, "json") != 0) {
				fprintf(stderr, "labqcd: --format table or json\n");
				return 2;
			}
			wi.table = strcmp(optarg, "table") == 0;
			break;
		case 'I':
			if (n_only == sizeof(only) / sizeof(only[0])) {
				fprintf(stderr, "labqcd: at most 64 --instrument\n");
				return 2;
			}
			only[n_only++] = optarg;
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
	if ((report != NULL) != (out != NULL) || (n_only && !report)) {
		fprintf(stderr, "labqcd: --report PERIOD goes with --out DIR (and --instrument)\n");
		return 2;
	}
	if ((wi.rules || design) != (wi.from != NULL) || (wi.rules && design) ||
	    (design && !wi.analyte) ||
	    (!wi.rules && !design &&
	     (wi.analyte || wi.period || wi.blocks || wi.scope >= 0 || wi.replicates || wi.table)) ||
	    (wi.blocks && !design) || (design && (wi.scope >= 0 || wi.replicates))) {
		fprintf(stderr, "labqcd: --what-if RULES or --pbrtqc-design go with --from FILE "
				"(--pbrtqc-design with --analyte KEY too); --analyte, --period, "
				"--format with either, --scope and --replicates with --what-if, "
				"--blocks with --pbrtqc-design\n");
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
		config_qc_warnings(cfg, stderr);
		config_access_describe(cfg, stdout);
		printf("%s: configuration OK (%zu instruments, %zu receivers, %zu routes)\n",
		       config_path, cfg->n_instruments, cfg->n_receivers, cfg->n_routes);
		config_rrd_report(cfg, stdout);
		char mode[1200];
		rrdaddr_describe(cfg->daemon.rrdcached, cfg->daemon.rrd_dir, mode, sizeof(mode));
		printf("rrd: %s\n", mode);
		config_free(cfg);
		return 0;
	}
	log_set_level(verbose ? LOG_LVL_DEBUG : (int)cfg->daemon.log_level);
	absolutize_config(cfg);
	if (replay)
		return replay_run(cfg, replay, notify);
	if (render)
		return render_run(cfg);
	if (report)
		return report_run(cfg, report, only, n_only, out);
	if (wi.rules)
		return whatif_run(cfg, &wi);
	if (design)
		return design_run(cfg, &wi);
	if (drop_privileges(cfg) == -1) {
		config_free(cfg);
		return 1;
	}
	if (!foreground) {
		if (daemon(0, 0) == -1) {
			perror("labqcd: daemon");
			return 1;
		}
		log_init("labqcd", false, verbose ? LOG_LVL_DEBUG : (int)cfg->daemon.log_level);
	}
	return daemon_run(cfg, config_path) == 0 ? 0 : 1;
}
