/*
 * cmd_credential: `xoauth2-token credential encrypt ACCOUNT|FILE` moves
 * an app's client secret, private key, key passphrase or service-account
 * key from its plain file into systemd's encrypted credential store,
 * where the packaged units load it, and makes the token file name it;
 * `credential decrypt ACCOUNT|FILE --to FILE` is the way back.  The
 * work, and the rule for root's rights, is credential.h's.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "credential.h"
#include "errors.h"
#include "msg.h"

/* --secret, --key, ...: the bit is the row's offset. */
static int
set_slot(struct cmd_args *a, const struct cmd_option *o, const char *arg)
{
	(void)arg;
	a->cred_slots |= (unsigned)o->offset;
	return 0;
}

const struct cmd_option cmd_opts_credential[] = {
	{ "for", 0, "postfix", cmd_set_for, 0 },
	CMD_STR("postfix-config", "DIR", postfix.config_dir),
	{ "secret", 0, NULL, set_slot, CREDENTIAL_SECRET },
	{ "key", 0, NULL, set_slot, CREDENTIAL_KEY },
	{ "passphrase", 0, NULL, set_slot, CREDENTIAL_PASSPHRASE },
	{ "service-account", 0, NULL, set_slot, CREDENTIAL_SERVICE_ACCOUNT },
	{ "all", 0, NULL, set_slot, CREDENTIAL_ALL },
	CMD_STR("with-key", "host|tpm2|host+tpm2|auto", cred_with_key),
	CMD_STR("to", "FILE", cred_to),
	CMD_OPT_END
};

/* Checks the options against ENCRYPT (else decrypt).  Returns 0 or
 * XO_E_USAGE after a message. */
static int
credential_usage(const struct cmd_args *a, int encrypt, const char *who)
{
	unsigned s = a->cred_slots;

	if (encrypt && a->cred_to != NULL) {
		msg(who, "--to is for decrypt (where the secret goes back to)");
		return XO_E_USAGE;
	}
	if (!encrypt && (a->cred_with_key != NULL || s == CREDENTIAL_ALL ||
	    (s & (s - 1)) != 0)) {
		msg(who, "decrypt brings back one secret: --secret, --key, "
		    "--passphrase or --service-account (or none, if the file "
		    "names one), and no --with-key");
		return XO_E_USAGE;
	}
	if (!encrypt && (a->cred_to == NULL || *a->cred_to == '\0')) {
		msg(who, "decrypt: name the new file with --to FILE (it must "
		    "not exist; it becomes the token file owner's, mode 600)");
		return XO_E_USAGE;
	}
	return 0;
}

/* The token file for ARG: postfix's store with --for postfix, else an
 * account or a path (target_init), into a new *PATHp. */
static int
credential_path(const struct cmd_args *a, const char *arg, char **pathp)
{
	struct target t = { NULL, NULL, 0, NULL };
	int r;

	*pathp = NULL;
	if (a->for_postfix)
		return postfix_account_path(arg, &a->postfix, arg, pathp);
	if ((r = target_init(&t, arg)) == 0 &&
	    (*pathp = strdup(t.path)) == NULL)
		r = -ENOMEM;
	target_clear(&t);
	return r;
}

int
cmd_credential(const struct cmd_args *a, int argc, char **argv)
{
	struct credential_move m;
	char *path = NULL, *to = NULL, cwd[PATH_MAX];
	int encrypt, r;

	(void)argc;
	encrypt = strcmp(argv[0], "encrypt") == 0;
	if (!encrypt && strcmp(argv[0], "decrypt") != 0) {
		msg(NULL, "credential: encrypt or decrypt, not '%s'", argv[0]);
		return XO_E_USAGE;
	}
	if ((r = credential_usage(a, encrypt, argv[1])) != 0)
		return r;
	if ((r = credential_path(a, argv[1], &path)) != 0)
		return r;
	/* The owner's process works in the token file's directory. */
	if (a->cred_to != NULL && a->cred_to[0] != '/' &&
	    (getcwd(cwd, sizeof(cwd)) == NULL ||
	    asprintf(&to, "%s/%s", cwd, a->cred_to) == -1)) {
		to = NULL;
		msg(argv[1], "cannot make %s an absolute path: %s", a->cred_to,
		    strerror(errno));
		r = XO_E_USAGE;
		goto out;
	}
	memset(&m, 0, sizeof(m));
	m.path = path;
	m.who = argv[1];
	m.slots = a->cred_slots;
	m.with_key = a->cred_with_key;
	m.to = to != NULL ? to : a->cred_to;
	r = encrypt ? credential_encrypt(&m) : credential_decrypt(&m);
 out:
	free(to);
	free(path);
	return r;
}
