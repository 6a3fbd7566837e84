#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xo_util.h"

void
xo_wipe(void *p, size_t len)
{
	if (p == NULL || len == 0)
		return;
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, len);
#else
	{
		/* A volatile function pointer the optimiser cannot see through. */
		static void *(*const volatile memset_v)(void *, int, size_t) = memset;
		memset_v(p, 0, len);
	}
#endif
}

void
xo_free_secret(char *s)
{
	if (s == NULL)
		return;
	xo_wipe(s, strlen(s));
	free(s);
}

/* Word-at-a-time tests (exact for "any byte"): a byte below N (N <= 128),
 * and a zero byte. */
#define XO_ONES		0x0101010101010101ULL
#define XO_HIGHS	0x8080808080808080ULL
#define HAS_LESS(x, n)	(((x) - XO_ONES * (n)) & ~(x) & XO_HIGHS)
#define HAS_ZERO(x)	(((x) - XO_ONES) & ~(x) & XO_HIGHS)

int
xo_has_ctl(const char *s, size_t len)
{
	size_t i = 0;
	uint64_t w;

	/* Tokens are kilobytes and checked on every login: eight bytes a
	 * step, then the tail byte by byte. */
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		if (HAS_LESS(w, 0x20) || HAS_ZERO(w ^ (XO_ONES * 0x7f)))
			return 1;
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return 1;
	}
	return 0;
}

int64_t
xo_now_s(void)
{
	return (int64_t)time(NULL);
}

long
xo_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
