/*
 * plugin-start: one start (XOAUTH2 unless -m says otherwise) through
 * libsasl2 and our plugin, as an application with SASL options in its
 * configuration makes it, for the shell tests (t-plugin-budget.sh,
 * t-secrets.sh).
 *
 *   plugin-start [-m MECH] [-c CHALLENGE] USER PASSWORD [OPTION=VALUE]...
 *
 * PASSWORD is what the application would pass, e.g. a token file's path;
 * OPTION=VALUE are the SASL options its getopt callback answers (such as
 * xoauth2_helper_timeout=6 or log_level=7).  Prints every message the
 * plugin logs ("log: ..."), then "result: CODE"; with CHALLENGE (a
 * server's error JSON), "sent: N bytes" for the start, the answer to
 * CHALLENGE and "step: CODE"; last either "detail: ..." (what
 * sasl_errdetail says) or "sent: N bytes" (never the token).  Exits 0
 * if the exchange went ahead, 1 if it failed, 2 on bad usage.
 * SASL_PATH must name the plugin's directory.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sasl/sasl.h>

static char **options;
static int noptions;
static const char *user, *password;
static sasl_secret_t *secret;

static int
cb_getopt(void *context, const char *plugin, const char *option,
    const char **result, unsigned *len)
{
	size_t n = strlen(option);
	int i;

	(void)context;
	(void)plugin;
	for (i = 0; i < noptions; i++)
		if (strncmp(options[i], option, n) == 0 &&
		    options[i][n] == '=') {
			*result = options[i] + n + 1;
			if (len != NULL)
				*len = (unsigned)strlen(*result);
			return SASL_OK;
		}
	return SASL_FAIL;
}

static int
cb_log(void *context, int level, const char *message)
{
	(void)context;
	printf("log: [%d] %s\n", level, message != NULL ? message : "(null)");
	fflush(stdout);
	return SASL_OK;
}

static int
cb_user(void *context, int id, const char **result, unsigned *len)
{
	(void)context;
	(void)id;
	*result = user;
	if (len != NULL)
		*len = (unsigned)strlen(user);
	return SASL_OK;
}

static int
cb_pass(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
	size_t n = strlen(password);

	(void)conn;
	(void)context;
	(void)id;
	if (secret == NULL) {
		if ((secret = malloc(sizeof(*secret) + n)) == NULL)
			return SASL_NOMEM;
		secret->len = n;
		memcpy(secret->data, password, n + 1);
	}
	*psecret = secret;
	return SASL_OK;
}

int
main(int argc, char **argv)
{
	sasl_callback_t cbs[] = {
		{ SASL_CB_GETOPT, (int (*)(void))(void *)cb_getopt, NULL },
		{ SASL_CB_LOG, (int (*)(void))(void *)cb_log, NULL },
		{ SASL_CB_AUTHNAME, (int (*)(void))(void *)cb_user, NULL },
		{ SASL_CB_USER, (int (*)(void))(void *)cb_user, NULL },
		{ SASL_CB_PASS, (int (*)(void))(void *)cb_pass, NULL },
		{ SASL_CB_LIST_END, NULL, NULL },
	};
	sasl_conn_t *conn = NULL;
	const char *out = NULL, *chosen = NULL, *mech = "XOAUTH2";
	const char *challenge = NULL;
	unsigned outlen = 0;
	int c, r, status;

	while ((c = getopt(argc, argv, "+m:c:")) != -1) {
		if (c == 'm')
			mech = optarg;
		else if (c == 'c')
			challenge = optarg;
		else
			argc = 0;
	}
	if (argc - optind < 2) {
		fprintf(stderr, "usage: plugin-start [-m MECH] [-c CHALLENGE] "
		    "USER PASSWORD [OPTION=VALUE]...\n");
		return 2;
	}
	user = argv[optind];
	password = argv[optind + 1];
	options = argv + optind + 2;
	noptions = argc - optind - 2;
	if ((r = sasl_client_init(cbs)) != SASL_OK ||
	    (r = sasl_client_new("imap", "imap.example.com", NULL, NULL, NULL,
	    0, &conn)) != SASL_OK) {
		printf("result: %d\ndetail: cannot set up libsasl2: %s\n", r,
		    sasl_errstring(r, NULL, NULL));
		return 1;
	}
	r = sasl_client_start(conn, mech, NULL, &out, &outlen, &chosen);
	printf("result: %d\n", r);
	if ((r == SASL_OK || r == SASL_CONTINUE) && challenge != NULL) {
		printf("sent: %u bytes\n", outlen);
		r = sasl_client_step(conn, challenge, (unsigned)strlen(challenge),
		    NULL, &out, &outlen);
		printf("step: %d\n", r);
	}
	if (r == SASL_OK || r == SASL_CONTINUE) {
		printf("sent: %u bytes\n", outlen);
		status = 0;
	} else {
		printf("detail: %s\n", sasl_errdetail(conn));
		status = 1;
	}
	sasl_dispose(&conn);
	sasl_client_done();
	free(secret);
	return status;
}
