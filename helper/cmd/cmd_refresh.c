/*
 * cmd_refresh: `xoauth2-token refresh [--force] ACCOUNT|FILE...|--all`,
 * what the systemd timers run, and the refresh of one target that
 * `token' shares (refresh.h does the work).
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cmd.h"
#include "errors.h"
#include "msg.h"
#include "refresh.h"
#include "stop.h"
#include "store.h"
#include "xo_util.h"

int
cmd_refresh_target(const struct cmd_args *a, const struct target *t,
    int force, char **accessp)
{
	struct refresh_options ro;
	struct refresh_file f = { t->arg, t->path, t->file };
	struct refresh_result res;
	char when[64], span[32];
	int r;

	if (accessp != NULL)
		*accessp = NULL;
	memset(&ro, 0, sizeof(ro));
	ro.margin_s = a->margin_s;
	ro.force = force;
	ro.deadline_ms = a->deadline_ms;
	ro.limit_ms = a->limit_ms;
	ro.net = a->net;
	if ((r = refresh_run(&ro, &f, &res)) != 0) {
		if (res.file_error)
			r = res.locked ? cmd_report_file_error(t, r) :
			    cmd_report_update_error(t, r);
		goto out;
	}
	if (a->verbose) {
		xo_fmt_time(when, sizeof(when), res.expires_at);
		xo_fmt_span(span, sizeof(span), res.expires_at - xo_now_s());
		msg(t->arg, "%s; access token valid until %s (in %s)",
		    res.refreshed ? "refreshed" : "still valid, not refreshed",
		    when, span);
	}
	if (accessp != NULL) {
		*accessp = res.access_token;
		res.access_token = NULL;
	}
 out:
	refresh_result_clear(&res);
	return r;
}

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
