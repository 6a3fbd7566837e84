/*
 * cmd_refresh: `xoauth2-token refresh [--force] [--jobs N]
 * ACCOUNT|FILE...|--all`, what the systemd timers run, and the refresh
 * of one target that `token' shares (refresh.h does the work).
 *
 * Several targets are refreshed --jobs at a time, each in a child of its
 * own (jobs.h says why processes, not threads), each under its own lock;
 * their messages come out in the targets' order, as one after another
 * would print them, and the first failure in that order decides the exit
 * status, as it did when they ran one after another.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "errors.h"
#include "jobs.h"
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

/* --jobs N: how many targets at once. */
static int
set_jobs(struct cmd_args *a, const struct cmd_option *o, const char *arg)
{
	long v;
	int r;

	(void)o;
	if ((r = cmd_parse_int("--jobs", arg, 1, CMD_MAX_JOBS,
	    "a number of accounts to refresh at once", &v)) != 0)
		return r;
	a->jobs = (int)v;
	return 0;
}

const struct cmd_option cmd_opts_jobs[] = {
	{ "jobs", 'j', "N", set_jobs, 0 },
	CMD_OPT_END
};

/* Target ARG, with its owner's rights: an exit status. */
static int
refresh_arg(const struct cmd_args *opt, const char *arg)
{
	struct target t;
	int one;

	if ((one = target_init(&t, arg)) != 0)
		return cmd_exit(one);
	/* root: one child per file, that is its owner. */
	one = cmd_as_owner(&t, refresh_one, (void *)(uintptr_t)opt);
	target_clear(&t);
	return one;
}

struct refresh_many {
	const struct cmd_args *opt;
	char	**argv;
};

/* jobs_fn: target I, in a child of its own. */
static int
refresh_job(size_t i, void *arg)
{
	const struct refresh_many *m = arg;

	return refresh_arg(m->opt, m->argv[i]);
}

/* ARGV's N targets, OPT->jobs at once (jobs.h).  Returns the first
 * failure's status in ARGV's order, or 0. */
static int
refresh_parallel(const struct cmd_args *opt, size_t n, char **argv)
{
	struct refresh_many m = { opt, argv };
	size_t i;
	int *st, status = 0, r;

	if ((st = calloc(n, sizeof(*st))) == NULL)
		return cmd_exit(-ENOMEM);
	if ((r = jobs_run(n, (size_t)opt->jobs, refresh_job, &m, argv,
	    st)) != 0) {
		msg(NULL, "cannot refresh: %s", strerror(-r));
		free(st);
		return cmd_exit(r);
	}
	for (i = 0; i < n && status == 0; i++)
		if (st[i] > 0 || st[i] < -1)	/* -1: not started */
			status = cmd_exit(st[i]);
	free(st);
	return status;
}

int
cmd_refresh(const struct cmd_args *opt, int argc, char **argv)
{
	struct cmd_args o = *opt;
	char **names = NULL;
	size_t i, n = 0;
	int r, status = 0;

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
	if (o.jobs == 0)
		o.jobs = CMD_DEFAULT_JOBS;
	/* Each one, whatever happened to the others (until told to stop:
	 * stop.h); the first failure decides the exit status.  One at a
	 * time (--jobs 1, or one target) needs no child of its own. */
	if (o.jobs > 1 && argc > 1)
		status = refresh_parallel(&o, (size_t)argc, argv);
	else
		for (i = 0; i < (size_t)argc && !stop_requested(); i++) {
			r = refresh_arg(&o, argv[i]);
			if (status == 0)
				status = r;
		}
	store_names_free(names);
	return status;
}
