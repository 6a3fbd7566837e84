#include "config.h"

#include <string.h>

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

int
xo_has_ctl(const char *s, size_t len)
{
	unsigned bad = 0;
	size_t i;

	/* No early exit: the loop vectorises, and tokens are kilobytes. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bad |= (c < 0x20) | (c == 0x7f);
	}
	return bad != 0;
}
