/*
 * wipemem: wipe-on-free allocators for OpenSSL and libcurl (wipemem.h).
 */
#include "config.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "errors.h"
#include "wipemem.h"
#include "xo_util.h"

void
wipemem_free(void *p)
{
	if (p == NULL)
		return;
	xo_wipe(p, malloc_usable_size(p));
	free(p);
}

void *
wipemem_realloc(void *p, size_t size)
{
	size_t old;
	void *q;

	if (p == NULL)
		return malloc(size);
	old = malloc_usable_size(p);
	if ((q = malloc(size > 0 ? size : 1)) == NULL)
		return NULL;
	memcpy(q, p, old < size ? old : size);
	wipemem_free(p);
	return q;
}

static void *
ossl_malloc(size_t size, const char *file, int line)
{
	(void)file;
	(void)line;
	return malloc(size);
}

static void *
ossl_realloc(void *p, size_t size, const char *file, int line)
{
	(void)file;
	(void)line;
	return wipemem_realloc(p, size);
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	wipemem_free(p);
}

int
wipemem_init(void)
{
	return CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc,
	    ossl_free) == 1 ? 0 : XO_E_SOFTWARE;
}
