/*
 * reports_spawn.c: the render child of a scheduled or requested report.
 *
 * fork + exec of labqcd itself with --report, rather than posix_spawn or a
 * thread in the daemon:
 *  - a separate process keeps a month of 1,000 channels' rendering (cairo,
 *    librrd, the audit log read through) out of the daemon's address space
 *    and off its event loop (issue 19, point 7), and a crash or leak in it
 *    costs the daemon nothing;
 *  - the child sets, between fork and exec, what posix_spawn cannot:
 *    PR_SET_PDEATHSIG (a daemon killed with -9 takes its render with it, so
 *    the next start renders again without an orphan still writing the same
 *    period) and nice 19; SCHED_IDLE too, so ingest always wins the CPU.
 * After fork only async-signal-safe calls are made (the daemon has other
 * threads): everything the child needs is prepared before.
 */
#include "daemon/reports.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

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

pid_t reports_spawn(const char *exe, const char *config, const char *label, const char *dir)
{
	char logpath[CFG_PATH_MAX + 16];
	char *argv[] = {(char *)exe,   "-c",    (char *)config, "--report", (char *)label,
			"--out",       (char *)dir, NULL};
	pid_t parent = getpid(), pid;
	int logfd, nullfd;

	if ((size_t)snprintf(logpath, sizeof(logpath), "%s/render.log", dir) >= sizeof(logpath))
		return errno = ENAMETOOLONG, -1;
	if ((logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) == -1)
		return -1;
	if ((nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		close(logfd);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		struct sched_param sp = {.sched_priority = 0};
		struct sigaction dfl;
		sigset_t none;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127); /* the daemon died before the line above */
		setpriority(PRIO_PROCESS, 0, 19);
		sched_setscheduler(0, SCHED_IDLE, &sp);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL; /* the daemon ignores SIGPIPE; exec would keep that */
		sigaction(SIGPIPE, &dfl, NULL);
		if (dup2(nullfd, 0) == -1 || dup2(logfd, 1) == -1 || dup2(logfd, 2) == -1)
			_exit(127);
		close_range(3, ~0U, 0); /* the broker's socket, the control socket ... */
		execv(exe, argv);
		_exit(127);
	}
	int e = errno;
	close(logfd);
	close(nullfd);
	errno = e;
	return pid;
}
