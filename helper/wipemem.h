/*
 * wipemem: the libraries' own copies of our secrets, wiped when freed.
 *
 * OpenSSL decodes a PEM key through buffers of its own (the base64 text,
 * the DER, the decoder chain's copies) and libcurl copies a request body
 * (a client secret, a refresh token) into its send buffer; both free
 * them without wiping, and what a freed block held stays readable in the
 * process until the allocator happens to reuse it (at once with glibc's
 * small bins, never with a quarantining allocator such as ASan's).  Their
 * allocators are set to malloc's, but every block is wiped, whole
 * (malloc_usable_size), before it is freed, and a realloc never leaves
 * the old block behind unwiped.  tests/t-secrets.sh reads the helper's
 * memory to keep this true.
 */
#ifndef XO_WIPEMEM_H
#define XO_WIPEMEM_H

#include <stddef.h>

/* free and realloc that wipe the block first (libcurl's allocator). */
void wipemem_free(void *p);
void *wipemem_realloc(void *p, size_t size);

/* Makes OpenSSL allocate with the above.  Call it first thing in main,
 * before anything allocates through OpenSSL (libcurl's init does): then
 * 0; XO_E_SOFTWARE if it was too late (OpenSSL keeps its allocator). */
int wipemem_init(void);

#endif
