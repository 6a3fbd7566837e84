/*
 * The postfix command, and login's --for postfix (cmd_postfix.c).
 * Functions return 0 or a sysexits code, after saying what went wrong.
 */
#ifndef XO_CMD_POSTFIX_H
#define XO_CMD_POSTFIX_H

/* --for postfix, --relay, --sender, --apply, --remove, --postfix-config.
 * Strings belong to the caller; NULL: not given. */
struct postfix_options {
	const char	*relay;		/* [smtp.office365.com]:587 */
	const char	*sender;	/* per-sender relay and credentials */
	const char	*config_dir;	/* postconf -c DIR */
	int		 apply;		/* write main.cf and the maps */
	int		 remove;	/* undo (implies writing) */
};

/* xoauth2-token postfix ACCOUNT ... */
int postfix_command(const char *account, const struct postfix_options *po);

/* login --for postfix: checks the options, prepares postfix's store and
 * sets *PATHp (new) to ACCOUNT's file there, for login to write. */
int postfix_for_login(const char *who, const struct postfix_options *po,
    const char *account, char **pathp);

/* login --for postfix, after login wrote PATH: gives it to postfix and
 * prints (or applies) the settings. */
int postfix_after_login(const char *who, const struct postfix_options *po,
    const char *path);

#endif
