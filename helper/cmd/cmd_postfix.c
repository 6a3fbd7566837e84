/*
 * xoauth2-token postfix ACCOUNT --relay [HOST]:PORT [--sender ADDRESS]
 *     [--apply] [--postfix-config DIR]
 * xoauth2-token postfix ACCOUNT --remove [--postfix-config DIR]
 * xoauth2-token login ACCOUNT --for postfix --relay ... [--apply] ...
 *
 * Stock Debian postfix in one step: the token file goes into postfix's
 * store (postfix.h: QUEUE/xoauth2/ACCOUNT.json, owned by postfix), which
 * its chrooted smtp can read by the same path sasl_passwd names, and which
 * the packaged xoauth2-token-postfix.timer keeps fresh from outside; then
 * the sasl_passwd line and main.cf settings are printed, or with --apply
 * written.  An account logged in as root (root's own store) is *moved*
 * there: a copy left behind would stop working at the next refresh.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "become.h"
#include "cmd.h"
#include "credfile.h"
#include "errors.h"
#include "msg.h"
#include "postfix.h"
#include "provider.h"
#include "store.h"
#include "tokfile.h"
#include "xo_util.h"

#define PF_TIMER	"xoauth2-token-postfix.timer"
#define PF_DEFAULT_QUEUE "/var/spool/postfix"

/* Checks ACCOUNT is a plain account name; sets *PATHp to its file in the
 * postfix store. */
static int
store_file(const char *who, const struct postfix *pf, const char *account,
    char **pathp)
{
	char *dir = NULL;
	int r;

	*pathp = NULL;
	if (strchr(account, '/') != NULL || account[0] == '.' ||
	    account[0] == '\0' || strlen(account) > 100) {
		msg(who, "name the account (letters, digits, '-', '_'), not a "
		    "path: the file goes to postfix's store");
		return XO_E_USAGE;
	}
	if ((r = postfix_store_dir(pf, &dir)) != 0 ||
	    asprintf(pathp, "%s/%s.json", dir, account) == -1) {
		*pathp = NULL;
		free(dir);
		msg(who, "out of memory");
		return -ENOMEM;
	}
	free(dir);
	return 0;
}

/* Loads the instance and prepares the store; *PFp is the caller's. */
static int
pf_open(const char *who, const struct postfix_options *po,
    struct postfix **pfp)
{
	struct xo_err err;
	int r;

	*pfp = NULL;
	/* What is done goes to stdout, messages to stderr: keep them in
	 * order when both go to one log. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		msg(who, "run this as root: it gives the token file to postfix "
		    "and edits postfix's configuration");
		return XO_E_REFUSED;
	}
	if ((r = postfix_load(po->config_dir, pfp, &err)) != 0) {
		msg(who, "%s", err.msg);
		return r;
	}
	if ((r = postfix_prepare(*pfp, &err)) != 0) {
		msg(who, "%s", err.msg);
		postfix_free(*pfp);
		*pfp = NULL;
		return r;
	}
	return 0;
}

struct move {
	const char	*dest;
	int		 r;
};

/* As DEST's owner (become.h): writes TOK there.  Returns an exit
 * status (a child's carries 0..255): 0, or an index into move_locked's
 * codes[]. */
static int
move_write(const struct become *b, void *arg)
{
	int r = tokfile_write(b->at, arg);

	return r == 0 ? 0 : r == -ENOMEM ? 1 : r == TOKFILE_E_DIRPERMS ? 2 :
	    r == TOKFILE_E_LOCKFILE ? 3 : 4;
}

/* Under SRC's lock: writes the file to DEST as postfix (never as root
 * in postfix's directory), then removes SRC. */
static int
move_locked(struct tokfile *tok, void *arg)
{
	static const int codes[] = { 0, -ENOMEM, TOKFILE_E_DIRPERMS,
	    TOKFILE_E_LOCKFILE, -EIO };
	struct move *m = arg;
	struct become b;
	int r;

	if ((m->r = become_open(m->dest, &b)) == 0) {
		r = become_run(&b, move_write, tok);
		m->r = r >= 0 && r <= 4 ? codes[r] : -EIO;
	}
	become_close(&b);
	if (m->r != 0)
		return TOKFILE_E_ABORTED;
	return TOKFILE_UNCHANGED;
}

/* Moves the token file SRC to DEST (in the postfix store), under SRC's
 * lock so that no refresh of SRC can rotate the grant meanwhile. */
static int
postfix_move(const char *who, const char *src, const char *dest)
{
	struct move m = { dest, 0 };
	int r;

	r = tokfile_update_wait(src, 10000, move_locked, &m);
	if (r == TOKFILE_E_ABORTED) {
		msg(who, "cannot write %s: %s", dest, tokfile_strerror(m.r));
		return XO_E_CANTCREAT;
	}
	if (r != 0) {
		msg(who, "cannot read %s: %s", src, tokfile_strerror(r));
		return r;
	}
	if (unlink(src) == -1) {
		msg(who, "copied %s to %s but cannot remove it (%s): remove it "
		    "now, a copy left behind stops working at the next refresh",
		    src, dest, strerror(errno));
		return XO_E_CANTCREAT;
	}
	msg(who, "moved %s to %s", src, dest);
	return 0;
}

/* Sets *USERp (new) to the token file's user. */
static int
file_user(const char *who, const char *path, char **userp)
{
	struct tokfile *tok = NULL;
	int r;

	*userp = NULL;
	if ((r = tokfile_read(path, &tok)) != 0) {
		msg(who, "cannot read %s: %s", path, tokfile_strerror(r));
		return r;
	}
	/* Printed to root's terminal and written into postfix's map: a
	 * file in postfix's store may hold anything (C1 controls too). */
	if (xo_unsafe_text(tok->user, strlen(tok->user))) {
		msg(who, "refusing %s: its user holds control characters",
		    path);
		tokfile_free(tok);
		return XO_E_DATA;
	}
	*userp = strdup(tok->user);
	tokfile_free(tok);
	if (*userp == NULL) {
		msg(who, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* What keeps the store fresh from outside the chroot: enable the packaged
 * timer where systemd runs; otherwise say what to put in cron. */
static void
keep_fresh(const char *who, const struct postfix *pf, int apply)
{
	struct xo_err err;
	int std_queue = strcmp(pf->queue_dir, PF_DEFAULT_QUEUE) == 0;
	int systemd = access("/run/systemd/system", F_OK) == 0;

	if (systemd && std_queue && apply) {
		if (postfix_enable_timer(PF_TIMER, &err) == 0) {
			msg(who, "enabled %s: it refreshes %s/" "xoauth2/*.json "
			    "from outside smtp's chroot every 15 minutes", PF_TIMER,
			    pf->queue_dir);
			return;
		}
		msg(who, "%s; run: systemctl enable --now %s", err.msg,
		    PF_TIMER);
		return;
	}
	if (systemd && std_queue) {
		msg(who, "kept fresh by %s (the package enables it; check: "
		    "systemctl is-enabled %s)", PF_TIMER, PF_TIMER);
		return;
	}
	if (systemd) {
		msg(who, "queue_directory is %s, not " PF_DEFAULT_QUEUE ": run "
		    "'systemctl edit xoauth2-token-postfix.service' and set "
		    "Environment=XDG_DATA_HOME=%s, ReadWritePaths=%s/xoauth2 and "
		    "ConditionPathIsDirectory=%s/xoauth2 (see the unit's "
		    "comments), then: systemctl enable --now %s", pf->queue_dir,
		    pf->queue_dir, pf->queue_dir, pf->queue_dir, PF_TIMER);
		return;
	}
	msg(who, "no systemd here: keep the files fresh from outside the "
	    "chroot with cron, e.g. in /etc/cron.d/xoauth2-token-postfix:");
	printf("*/15 * * * * %s XDG_DATA_HOME=%s %s refresh "
	    "--all --margin 2700\n", pf->mail_owner, pf->queue_dir,
	    XO_HELPER_PATH);
}

/* Prints and (APPLY) applies the settings for the token file PATH. */
static int
setup(const char *who, const struct postfix *pf,
    const struct postfix_options *po, const char *path)
{
	struct postfix_account a;
	char *user = NULL;
	struct xo_err err;
	int r, status;

	if ((status = file_user(who, path, &user)) != 0)
		return status;
	if ((r = postfix_adopt(pf, path, &err)) != 0) {
		msg(who, "%s", err.msg);
		status = r;
		goto out;
	}
	msg(who, "token file %s: owner %s, mode 0600; postfix's smtp finds it "
	    "by this path with chroot=y or chroot=n", path, pf->mail_owner);
	a.relay = po->relay;
	a.user = user;
	a.path = path;
	a.sender = po->sender;
	printf("# for postfix%s%s:\n", pf->config_dir ? " -c " : "",
	    pf->config_dir ? pf->config_dir : "");
	postfix_print(stdout, pf, &a);
	fflush(stdout);
	if (po->apply) {
		if ((r = postfix_apply(pf, &a, stdout, &err)) != 0) {
			msg(who, "%s", err.msg);
			status = r;
			goto out;
		}
		msg(who, "postfix is set up to relay %s through %s",
		    po->sender ? po->sender : "all mail", po->relay);
	} else
		msg(who, "nothing of postfix's was changed: add the lines "
		    "above, or run this again with --apply");
	keep_fresh(who, pf, po->apply);
	status = 0;
 out:
	free(user);
	return status;
}

/* Checks RELAY (--relay) for WHO: given, and a nexthop; FOR_LOGIN: for
 * login --for postfix.  Returns 0, or XO_E_USAGE after a message. */
static int
relay_ok(const char *who, const char *relay, int for_login)
{
	struct xo_err err;

	if (relay == NULL && for_login)
		msg(who, "--for postfix needs --relay [HOST]:PORT (e.g. %s)",
		    provider_relay_example());
	else if (relay == NULL)
		msg(who, "postfix: --relay [HOST]:PORT is required (e.g. %s), "
		    "or --remove", provider_relay_example());
	else if (postfix_check_relay(relay, &err) != 0)
		msg(who, "%s", err.msg);
	else
		return 0;
	return XO_E_USAGE;
}

int
postfix_for_login(const char *who, const struct postfix_options *po,
    const char *account, char **pathp)
{
	struct postfix *pf = NULL;
	int status;

	*pathp = NULL;
	if ((status = relay_ok(who, po->relay, 1)) != 0)
		return status;
	if ((status = pf_open(who, po, &pf)) != 0)
		return status;
	status = store_file(who, pf, account, pathp);
	postfix_free(pf);
	return status;
}

int
postfix_account_path(const char *who, const struct postfix_options *po,
    const char *account, char **pathp)
{
	struct postfix *pf = NULL;
	struct xo_err err;
	int r;

	*pathp = NULL;
	if ((r = postfix_load(po->config_dir, &pf, &err)) != 0) {
		msg(who, "%s", err.msg);
		return r;
	}
	r = store_file(who, pf, account, pathp);
	postfix_free(pf);
	return r;
}

int
postfix_after_login(const char *who, const struct postfix_options *po,
    const char *path)
{
	struct postfix *pf = NULL;
	int status;

	if ((status = pf_open(who, po, &pf)) != 0)
		return status;
	status = setup(who, pf, po, path);
	postfix_free(pf);
	return status;
}

/* --remove: the map lines, our main.cf settings, the token file. */
static int
remove_account(const char *who, const struct postfix *pf, const char *path)
{
	char tmp[PATH_MAX];
	struct xo_err err;
	int r;

	printf("# undoing the postfix setup of %s:\n", path);
	fflush(stdout);
	if ((r = postfix_unapply(pf, path, stdout, &err)) != 0) {
		msg(who, "%s", err.msg);
		return r;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		msg(who, "cannot remove %s: %s", path, strerror(errno));
		return XO_E_CANTCREAT;
	}
	/* PATH.lock stays (tokfile.h: never removed); a stale temp goes. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	(void)unlink(tmp);
	msg(who, "removed %s; the grant stays valid at the provider until "
	    "revoked there", path);
	return 0;
}

int
cmd_set_for(struct cmd_args *a, const struct cmd_option *o, const char *arg)
{
	(void)o;
	if (strcmp(arg, "postfix") != 0) {
		msg(NULL, "--for: only 'postfix' is known, not '%s'", arg);
		return XO_E_USAGE;
	}
	a->for_postfix = 1;
	return 0;
}

#define S(name, meta, member)	CMD_STR(name, meta, postfix.member)
#define F(name, member)		CMD_FLAG(name, postfix.member)

const struct cmd_option cmd_opts_postfix[] = {
	S("relay", "[HOST]:PORT", relay),
	S("sender", "ADDRESS", sender),
	F("apply", apply),
	F("remove", remove),
	S("postfix-config", "DIR", config_dir),
	CMD_OPT_END
};

/* login's: --for postfix and the setup's options (not --remove). */
const struct cmd_option cmd_opts_login_postfix[] = {
	{ "for", 0, "postfix", cmd_set_for, 0 },
	S("relay", "[HOST]:PORT", relay),
	S("sender", "ADDRESS", sender),
	F("apply", apply),
	S("postfix-config", "DIR", config_dir),
	CMD_OPT_END
};

/* Before the file FROM goes to postfix as PATH and postfix is set up
 * for it: checks, as postfix (who renews it), that it can use the
 * credential files FROM names and the helper programs (credfile.h).
 * Returns 0 or a code after a message. */
static int
check_renewer(const char *who, const struct postfix *pf, const char *from,
    const char *path)
{
	struct credfile_set set;
	struct cmd_programs progs;
	struct tokfile *tok = NULL;
	char *place = NULL;
	int r;

	if ((r = tokfile_read(from, &tok)) != 0) {
		msg(who, "cannot read %s: %s", from, tokfile_strerror(r));
		return r;
	}
	if (asprintf(&place, "%s/xoauth2", pf->main_cf_dir != NULL ?
	    pf->main_cf_dir : "/etc/postfix") == -1) {
		tokfile_free(tok);
		msg(who, "out of memory");
		return -ENOMEM;
	}
	/* postfix's store: a secret's command is refused (health.h). */
	cmd_credfile_set(&set, tok, 1, &progs);
	r = credfile_check(path, &set, place, who, CREDFILE_QUIET);
	cmd_programs_free(&progs);
	free(place);
	tokfile_free(tok);
	return r;
}

static int
postfix_command(const char *account, const struct postfix_options *po)
{
	struct postfix *pf = NULL;
	struct stat st;
	char *path = NULL, *src = NULL;
	char word[XO_SHELL_WORD_MAX], relay[XO_SHELL_WORD_MAX];
	int is_account, r, status;

	if (!po->remove && (status = relay_ok(account, po->relay, 0)) != 0)
		return status;
	if ((status = pf_open(account, po, &pf)) != 0)
		return status;
	if ((status = store_file(account, pf, account, &path)) != 0)
		goto out;
	if (po->remove) {
		status = remove_account(account, pf, path);
		goto out;
	}
	if (lstat(path, &st) == -1) {
		/* Not in postfix's store yet: root's own store has it? */
		if ((r = store_path(account, &src, &is_account)) != 0) {
			msg(account, "%s", store_strerror(r));
			status = r;
			goto out;
		}
		if (access(src, F_OK) == -1) {
			msg(account, "no token file %s (nor %s); run: " PROG
			    " login %s --for postfix --relay %s ...", path, src,
			    xo_shell_word(word, sizeof(word), account),
			    xo_shell_word(relay, sizeof(relay), po->relay));
			status = XO_E_NOINPUT;
			goto out;
		}
		if ((status = check_renewer(account, pf, src, path)) != 0 ||
		    (status = postfix_move(account, src, path)) != 0)
			goto out;
	} else if ((status = check_renewer(account, pf, path, path)) != 0)
		goto out;
	status = setup(account, pf, po, path);
 out:
	free(src);
	free(path);
	postfix_free(pf);
	return status;
}

int
cmd_postfix(const struct cmd_args *a, int argc, char **argv)
{
	(void)argc;
	if (a->postfix.remove && (a->postfix.relay != NULL ||
	    a->postfix.sender != NULL || a->postfix.apply)) {
		msg(argv[0], "postfix --remove takes no --relay, --sender or "
		    "--apply: it undoes every line naming the account's file");
		return XO_E_USAGE;
	}
	return postfix_command(argv[0], &a->postfix);
}
