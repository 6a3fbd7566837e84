/*
 * cmd_refresh: `xoauth2-token refresh [--force] ACCOUNT|FILE...|--all`,
 * what the systemd timers run.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "errors.h"
#include "msg.h"
#include "stop.h"
#include "store.h"

/* One file, with its owner's rights (cmd_as_owner). */
static int
refresh_one(const struct target *t, void *arg)
{
	const struct cmd_args *opt = arg;

	return cmd_refresh_target(opt, t, opt->force, NULL);
}

int
cmd_refresh(const struct cmd_args *opt, int argc, char **argv)
{
	struct target t;
	char **names = NULL;
	size_t i, n = 0;
	int r, status = 0, one;

	if (opt->all && argc > 0) {
		msg(NULL, "refresh: give accounts or --all, not both");
		return XO_E_USAGE;
	}
	if (!opt->all && argc == 0) {
		msg(NULL, "refresh: which account? (or --all)");
		return XO_E_USAGE;
	}
	if (opt->all) {
		if ((r = store_list(&names, &n)) != 0) {
			msg(NULL, "cannot list the token store: %s",
			    store_strerror(r));
			return r == -ENOMEM || r == STORE_E_NOHOME ? r :
			    XO_E_IO;
		}
		if (n == 0 && opt->verbose)
			msg(NULL, "no token files in the store");
		argv = names;
		argc = (int)n;
	}
	/* Each one, whatever happened to the others (until told to stop:
	 * stop.h); the first failure decides the exit status. */
	for (i = 0; i < (size_t)argc && !stop_requested(); i++) {
		if ((one = target_init(&t, argv[i])) == 0) {
			/* root: one child per file, that is its owner. */
			one = cmd_as_owner(&t, refresh_one,
			    (void *)(uintptr_t)opt);
			target_clear(&t);
		}
		if (status == 0)
			status = cmd_exit(one);
	}
	store_names_free(names);
	return status;
}
