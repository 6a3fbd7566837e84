/*
 * refresh: brings a token file's access token up to date, under the
 * file's lock (common/tokfile.h): checks the file again once the lock
 * is held (someone may have refreshed it meanwhile), reserves room for
 * the new file, asks the token endpoint, and stores what it answers --
 * never spending a refresh token that could not be stored.  It records
 * a failure in the file (the plugin's back-off, `status', the notify
 * command go by it) and runs the file's notify command when one is due.
 */
#ifndef XO_REFRESH_H
#define XO_REFRESH_H

#include <stdint.h>

#include "oauth.h"

/* How to refresh. */
struct refresh_options {
	int64_t		 margin_s;	/* refresh if it expires within this */
	int		 force;		/* refresh even if it does not */
	/* --time-limit: give up by deadline_ms (xo_now_ms()); 0: no limit.
	 * limit_ms is what was asked, for messages. */
	int64_t		 deadline_ms;
	long		 limit_ms;
	struct oauth_options net;	/* the file's proxy replaces net's */
};

/* Which token file; the strings belong to the caller. */
struct refresh_file {
	const char	*arg;		/* as given (account or path): WHO in
					 * messages and the notify command */
	const char	*path;		/* the file, in messages */
	const char	*file;		/* where the file work goes: PATH, or
					 * its name in a become.h child */
};

/* What came of it. */
struct refresh_result {
	char		*access_token;	/* the valid one (a secret) */
	int64_t		 expires_at;
	int		 refreshed;	/* the server issued new tokens */
	/* The code returned is a failure to read (locked: 0) or lock the
	 * file or, under the lock (locked: 1), to read it again, which
	 * nobody has worded yet: the caller says which file and what to do
	 * (it knows whether it was named by account or path). */
	int		 file_error;
	int		 locked;
};

/* Refreshes T's token if it expires within OPT's margin (or OPT says
 * force), else keeps it; fills *RES (refresh_result_clear).  Returns 0,
 * or -errno, a TOKFILE_E_* or errors.h code: after saying what went
 * wrong (msg(), naming T->arg) unless RES->file_error. */
int refresh_run(const struct refresh_options *opt,
    const struct refresh_file *t, struct refresh_result *res);

/* Wipes RES's access token and empties RES; accepts NULL. */
void refresh_result_clear(struct refresh_result *res);

#endif
