/*
 * sasl-setup: what the programs that drive the plugin through libsasl2
 * as an application (tests/sasl-client.c, fuzz/fuzz_sasl.c,
 * bench/bench.c) do the same way: an ordinary client's security
 * properties, a simple callback's answer, and a secret the application
 * owns.  Header-only, so that bench/run.sh and fuzz/run.sh need no more
 * than an include path.
 */
#ifndef XO_SASL_SETUP_H
#define XO_SASL_SETUP_H

#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>

#define SASL_SETUP_FN	static __attribute__((unused))

/* An ordinary client's security properties: at least MIN_SSF, any layer
 * up to 256, 4 KiB buffers. */
SASL_SETUP_FN int
sasl_setup_props(sasl_conn_t *conn, unsigned min_ssf)
{
	sasl_security_properties_t props;

	memset(&props, 0, sizeof(props));
	props.min_ssf = min_ssf;
	props.max_ssf = 256;
	props.maxbufsize = 4096;
	return sasl_setprop(conn, SASL_SEC_PROPS, &props);
}

/* A simple callback's answer: VALUE (LEN bytes) in *RESULT and, when
 * asked, its length in *LENP. */
SASL_SETUP_FN int
sasl_setup_give(const char **result, unsigned *lenp, const char *value,
    size_t len)
{
	*result = value;
	if (lenp != NULL)
		*lenp = (unsigned)len;
	return SASL_OK;
}

/*
 * A secret callback's answer as an application keeps it (postfix does):
 * *OWNED, freed and made again, holds P (LEN bytes) and stays the
 * application's.  One spare byte that is not NUL catches a plugin that
 * reads past ->len.
 */
SASL_SETUP_FN int
sasl_setup_secret(sasl_secret_t **owned, const void *p, size_t len,
    sasl_secret_t **psecret)
{
	free(*owned);
	if ((*owned = malloc(sizeof(**owned) + len + 1)) == NULL)
		return SASL_NOMEM;
	(*owned)->len = (unsigned long)len;
	memcpy((*owned)->data, p, len);
	(*owned)->data[len] = 'Z';
	*psecret = *owned;
	return SASL_OK;
}

#endif
