/*
 * reports_spawn.c: the render child of a scheduled or requested report.
 *
 * posix_spawn of labqcd itself with --report, rather than a thread in the
 * daemon or fork + exec:
 *  - a separate process keeps a month of 1,000 channels' rendering (cairo,
 *    librrd, the audit log read through) out of the daemon's address space
 *    and off its event loop (issue 19, point 7), and a crash or leak in it
 *    costs the daemon nothing;
 *  - posix_spawn (vfork-like in glibc) does not copy the page tables of a
 *    daemon holding 100,000 channels' state, and runs nothing of ours
 *    between fork and exec in a process with other threads; no exec* call
 *    appears in the sources (test_security);
 *  - it sets SCHED_IDLE in the child (POSIX_SPAWN_SETSCHEDULER), so ingest
 *    always wins the CPU. What posix_spawn cannot set, the parent-death
 *    signal (a daemon killed with -9 takes its render with it, so the next
 *    start renders again with no orphan still writing) and nice 19, the
 *    child sets itself: --report does so when LABQCD_REPORT_PARENT names
 *    its parent's pid (report_run.c).
 */
#include "daemon/reports.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int reports_self_exe(char *buf, size_t len)
{
	static const char deleted[] = " (deleted)";
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	size_t k;

	if (n <= 0 || (size_t)n >= len - 1)
		return -1;
	buf[n] = '\0';
	/* The binary was replaced by an upgrade: run the new one. */
	k = (size_t)n;
	if (k > sizeof(deleted) - 1 && strcmp(buf + k - (sizeof(deleted) - 1), deleted) == 0)
		buf[k - (sizeof(deleted) - 1)] = '\0';
	return 0;
}

/* environ plus LABQCD_REPORT_PARENT=<our pid> (replacing one inherited). */
static char **child_env(char *mine)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	if ((env = calloc(n + 2, sizeof(*env))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LABQCD_REPORT_PARENT=", 21) != 0)
			env[k++] = environ[i];
	env[k++] = mine;
	env[k] = NULL;
	return env;
}

pid_t reports_spawn(const char *exe, const char *config, const char *label, const char *dir)
{
	char logpath[CFG_PATH_MAX + 16], parent[48];
	char *argv[] = {(char *)exe,   "-c",    (char *)config, "--report", (char *)label,
			"--out",       (char *)dir, NULL};
	struct sched_param sp = {.sched_priority = 0};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	char **env;
	pid_t pid = -1;
	int rc;

	if ((size_t)snprintf(logpath, sizeof(logpath), "%s/render.log", dir) >= sizeof(logpath))
		return errno = ENAMETOOLONG, -1;
	snprintf(parent, sizeof(parent), "LABQCD_REPORT_PARENT=%ld", (long)getpid());
	if ((env = child_env(parent)) == NULL)
		return -1;
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE); /* the daemon ignores it; exec would keep that */
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, logpath, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	/* The broker's socket, the control socket ...: not the child's. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDULER | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setschedpolicy(&at, SCHED_IDLE);
	posix_spawnattr_setschedparam(&at, &sp);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	rc = posix_spawn(&pid, exe, &fa, &at, argv, env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (rc != 0)
		return errno = rc, -1;
	return pid;
}
