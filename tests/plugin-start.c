/*
 * plugin-start: one XOAUTH2 start through libsasl2 and our plugin, as an
 * application with SASL options in its configuration makes it, for the
 * shell tests (t-plugin-budget.sh).
 *
 *   plugin-start USER PASSWORD [OPTION=VALUE]...
 *
 * PASSWORD is what the application would pass, e.g. a token file's path;
 * OPTION=VALUE are the SASL options its getopt callback answers (such as
 * xoauth2_helper_timeout=6).  Prints every message the plugin logs
 * ("log: ..."), then "result: CODE" and either "detail: ..." (what
 * sasl_errdetail says) or "sent: N bytes" (never the token).  Exits 0
 * if the start went ahead, 1 if it failed, 2 on bad usage.  SASL_PATH
 * must name the plugin's directory.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	const char *out = NULL, *chosen = NULL;
	unsigned outlen = 0;
	int r, status;

	if (argc < 3) {
		fprintf(stderr, "usage: plugin-start USER PASSWORD "
		    "[OPTION=VALUE]...\n");
		return 2;
	}
	user = argv[1];
	password = argv[2];
	options = argv + 3;
	noptions = argc - 3;
	if ((r = sasl_client_init(cbs)) != SASL_OK ||
	    (r = sasl_client_new("imap", "imap.example.com", NULL, NULL, NULL,
	    0, &conn)) != SASL_OK) {
		printf("result: %d\ndetail: cannot set up libsasl2: %s\n", r,
		    sasl_errstring(r, NULL, NULL));
		return 1;
	}
	r = sasl_client_start(conn, "XOAUTH2", NULL, &out, &outlen, &chosen);
	printf("result: %d\n", r);
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
