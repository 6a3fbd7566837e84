/*
 * jwt-sign: prints an assertion signed by helper/jwt.c, for the tests
 * that show the test OAuth server what a good assertion is, and what a
 * replayed, expired, misaddressed or tampered one is.
 *
 *   jwt-sign (--key KEY.pem [--cert CERT.pem] | --service-account KEY.json)
 *       [--alg RS256|PS256] [--iss S] [--sub S] [--aud URL] [--scope S]
 *       [--jti S | --random-jti] [--start OFFSET] [--lifetime SECONDS]
 *       [--no-nbf]
 *
 * iat and nbf are now + OFFSET (default 0), exp is iat + SECONDS (default
 * 300).  With --service-account, iss defaults to the key file's
 * client_email and aud to its token_uri.  Exit 0, or 1 with a message.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwt.h"
#include "xo_util.h"

/* The options that are a value only: the rest have a case below. */
#define OPT_VALUE	256	/* getopt_long's value for values[0] */

int
main(int argc, char **argv)
{
	static const struct option others[] = {
		{ "alg", required_argument, NULL, 'a' },
		{ "random-jti", no_argument, NULL, 'r' },
		{ "start", required_argument, NULL, 't' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ "no-nbf", no_argument, NULL, 'n' },
	};
	struct jwt_service_account sa;
	struct jwt_claims c;
	struct jwt_key *key = NULL;
	const char *key_path = NULL, *cert_path = NULL, *sa_path = NULL;
	const struct {
		const char	*name;
		const char	**to;
	} values[] = {
		{ "key", &key_path }, { "cert", &cert_path },
		{ "service-account", &sa_path }, { "iss", &c.iss },
		{ "sub", &c.sub }, { "aud", &c.aud }, { "scope", &c.scope },
		{ "jti", &c.jti },
	};
	enum { NVALUES = sizeof(values) / sizeof(values[0]),
	    NOTHERS = sizeof(others) / sizeof(others[0]) };
	struct option longopts[NVALUES + NOTHERS + 1];
	enum jwt_alg alg = JWT_RS256;
	char jti[JWT_JTI_LEN + 1], *jwt = NULL;
	long start = 0, lifetime = 300;
	int ch, no_nbf = 0, r;
	size_t i;

	memset(&c, 0, sizeof(c));
	memset(&sa, 0, sizeof(sa));
	memset(longopts, 0, sizeof(longopts));
	for (i = 0; i < NVALUES; i++)
		longopts[i] = (struct option){ values[i].name,
		    required_argument, NULL, OPT_VALUE + (int)i };
	memcpy(longopts + NVALUES, others, sizeof(others));
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			if (strcmp(optarg, "PS256") == 0)
				alg = JWT_PS256;
			else if (strcmp(optarg, "RS256") != 0) {
				fprintf(stderr, "jwt-sign: --alg RS256 or PS256\n");
				return 1;
			}
			break;
		case 'r':
			if (jwt_random_jti(jti) != 0)
				return 1;
			c.jti = jti;
			break;
		case 't': start = strtol(optarg, NULL, 10); break;
		case 'l': lifetime = strtol(optarg, NULL, 10); break;
		case 'n': no_nbf = 1; break;
		default:
			if (ch < OPT_VALUE || ch >= OPT_VALUE + NVALUES)
				return 1;
			*values[ch - OPT_VALUE].to = optarg;
			break;
		}
	}
	if ((key_path == NULL) == (sa_path == NULL)) {
		fprintf(stderr, "jwt-sign: --key or --service-account\n");
		return 1;
	}
	if (sa_path != NULL) {
		r = jwt_service_account_load(sa_path, &key, &sa);
		if (r == 0 && c.iss == NULL)
			c.iss = sa.client_email;
		if (r == 0 && c.aud == NULL)
			c.aud = sa.token_uri;
	} else
		r = jwt_key_load(key_path, cert_path, &key);
	if (r != 0) {
		fprintf(stderr, "jwt-sign: %s\n", jwt_strerror(r));
		return 1;
	}
	c.iat = (int64_t)time(NULL) + start;
	c.nbf = no_nbf ? 0 : c.iat;
	c.exp = c.iat + lifetime;
	if ((r = jwt_sign(key, alg, &c, &jwt)) != 0) {
		fprintf(stderr, "jwt-sign: %s\n", jwt_strerror(r));
		return 1;
	}
	printf("%s\n", jwt);
	xo_free_secret(jwt);
	jwt_key_free(key);
	jwt_service_account_clear(&sa);
	return 0;
}
