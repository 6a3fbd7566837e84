/*
 * helper/credential.c's pure parts (issue 21): which names may name a
 * store file (and so a credential, after "xoauth2_"), where the store is
 * ($XOAUTH2_CREDSTORE, absolute only), whether a token file names a
 * credential, and the setup note's words for the postfix unit and for
 * refresh@USER.  The moves themselves (root, systemd-creds, a user's
 * files) are t-credential-move.sh's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "credential.h"
#include "tokfile.h"
#include "unit.h"

static const struct unit_named names[] = {
	{ "contoso", "contoso", "1" },
	{ "contoso-key", "contoso-key", "1" },
	{ "every allowed sign", "a.b_c@d+e-f9", "1" },
	{ "systemd's ID form", "xoauth2_contoso-secret", "1" },
	{ "empty", "", "0" },
	{ "a dot file (systemd skips it)", ".contoso", "0" },
	{ "a path", "a/b", "0" },
	{ "a space", "a b", "0" },
	{ "a colon (LoadCredential's separator)", "a:b", "0" },
	{ "UTF-8", "m\xc3\xbcller", "0" },
	{ "a newline", "a\nb", "0" },
};

static void
check_name(const char *label, const void *row)
{
	const struct unit_named *r = row;

	expect_int(label, credential_name_ok(r->in), r->want[0] == '1');
}

/* The note's words for TOK and RENEWER, from stderr. */
static void
note(const struct tokfile *tok, const char *renewer, char *buf, size_t size)
{
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	fflush(stderr);
	dup2(fileno(f), 2);
	credential_setup_note(tok, "relay", renewer);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void
check_note(void)
{
	struct tokfile tok;
	char buf[1024];

	memset(&tok, 0, sizeof(tok));
	note(&tok, NULL, buf, sizeof(buf));
	expect_str("no credential: no note", buf, "");
	expect_int("no credential: not named", credential_named(&tok), 0);
	tok.private_key_credential = (char *)"xoauth2_relay-key";
	expect_int("a key credential: named", credential_named(&tok), 1);
	note(&tok, NULL, buf, sizeof(buf));
	expect_contains("postfix's note", buf, "relay: renewal needs a systemd "
	    "credential, which only xoauth2-token-postfix.service gets: the "
	    "plugin's own refresh cannot renew this account, the timer does; "
	    "check it is enabled: systemctl enable --now "
	    "xoauth2-token-postfix.timer");
	note(&tok, "alice", buf, sizeof(buf));
	expect_contains("alice's note", buf, "only xoauth2-token-refresh@alice"
	    ".service gets");
	expect_contains("alice's timer", buf, "systemctl enable --now "
	    "xoauth2-token-refresh@alice.timer");
	tok.private_key_credential = NULL;
	tok.service_account_credential = (char *)"xoauth2_gmail-service-account";
	expect_int("a service-account credential: named",
	    credential_named(&tok), 1);
	unit_rows += 6;
}

static void
check_store(void)
{
	unsetenv(CREDENTIAL_STORE_ENV);
	expect_str("no $XOAUTH2_CREDSTORE", credential_store(), CREDENTIAL_STORE);
	setenv(CREDENTIAL_STORE_ENV, "/srv/creds", 1);
	expect_str("an absolute $XOAUTH2_CREDSTORE", credential_store(),
	    "/srv/creds");
	setenv(CREDENTIAL_STORE_ENV, "creds", 1);
	expect_str("a relative $XOAUTH2_CREDSTORE is ignored",
	    credential_store(), CREDENTIAL_STORE);
	setenv(CREDENTIAL_STORE_ENV, "", 1);
	expect_str("an empty $XOAUTH2_CREDSTORE is ignored", credential_store(),
	    CREDENTIAL_STORE);
	unsetenv(CREDENTIAL_STORE_ENV);
	unit_rows += 4;
}

int
main(void)
{
	char longname[CREDENTIAL_NAME_MAX + 2];

	UNIT_TABLE_NAMED(names, check_name);
	memset(longname, 'a', sizeof(longname));
	longname[CREDENTIAL_NAME_MAX] = '\0';
	expect_int("the longest name", credential_name_ok(longname), 1);
	longname[CREDENTIAL_NAME_MAX] = 'a';
	longname[CREDENTIAL_NAME_MAX + 1] = '\0';
	expect_int("one byte too long", credential_name_ok(longname), 0);
	unit_rows += 2;
	check_store();
	check_note();
	return unit_done("unit-credential", unit_rows);
}
