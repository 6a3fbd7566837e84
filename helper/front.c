/*
 * front: what xoauth2-token is when it starts.  `token' runs on every
 * connection of every mail program (PassCmd, passwordeval, the plugin's
 * spawn), and a valid token needs no network: this program links only
 * libc, json-c and common/, so it starts as fast as a program can.
 * Whatever needs libcurl, OpenSSL or libsasl2 -- a refresh that is due,
 * login, test, refresh, an option only those know -- it hands to the
 * full program, xoauth2-token-full in $(pkglibexecdir), by exec(2) with
 * the same arguments and environment: same process, same pid, same
 * messages, same timeouts.  Nothing is printed before the hand-over.
 *
 * Built from the same sources as the full program with XO_FRONT
 * defined (commands.c leaves the full-only handlers out); this file
 * replaces refresh.c.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "errors.h"
#include "msg.h"
#include "stop.h"

#define FULL_NAME	"xoauth2-token-full"

static char **front_argv;

void
cmd_front_init(char **argv)
{
	front_argv = argv;
}

/* The full program: next to this one (a build tree, or a copy made
 * with it), else where it is installed. */
static void
full_path(char *buf, size_t size)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL &&
		    snprintf(buf, size, "%.*s/" FULL_NAME, (int)(slash - self),
		    self) < (int)size && access(buf, X_OK) == 0)
			return;
	}
	snprintf(buf, size, "%s", XO_FULL_PATH);
}

int
cmd_run_full(void)
{
	char path[PATH_MAX];

	full_path(path, sizeof(path));
	/* A SIGTERM from here on waits, pending across exec(2), for the
	 * full program's handler (stop.h): none is lost in between. */
	stop_hold();
	execv(path, front_argv);
	stop_release();
	msg(NULL, "cannot run %s: %s; reinstall " PROG, path, strerror(errno));
	return XO_E_SOFTWARE;
}

int
cmd_refresh_target(const struct cmd_args *a, const struct target *t,
    int force, char **accessp)
{
	(void)a;
	(void)t;
	(void)force;
	if (accessp != NULL)
		*accessp = NULL;
	return cmd_run_full();
}
