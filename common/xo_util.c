#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
xo_freezero(void *p, size_t len)
{
	if (p == NULL)
		return;
	xo_wipe(p, len);
	free(p);
}

void
xo_free_secret(char *s)
{
	if (s != NULL)
		xo_freezero(s, strlen(s));
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

/* Continuation bytes a UTF-8 lead byte C announces; 0 for an invalid
 * lead (C0, C1, F5-FF). */
static unsigned
utf8_follow(unsigned char c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return 1;
	if (c >= 0xe0 && c <= 0xef)
		return 2;
	if (c >= 0xf0 && c <= 0xf4)
		return 3;
	return 0;
}

int
xo_unsafe_text(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned pending = 0;
	unsigned char c, prev = 0;
	size_t i;

	if (xo_has_ctl(s, len))
		return 1;
	for (i = 0; i < len; prev = c, i++) {
		c = u[i];
		if (c < 0x80)
			pending = 0;
		else if (c >= 0xc0)
			pending = utf8_follow(c);
		else if (pending > 0) {
			/* U+0080-U+009F is C2 80..C2 9F. */
			if (prev == 0xc2 && c <= 0x9f)
				return 1;
			pending--;
		} else if (c <= 0x9f)
			return 1;	/* a lone C1 byte: CSI, OSC to 8-bit terminals */
	}
	return 0;
}

void
xo_printable(char *out, size_t outsize, const char *in, size_t inlen)
{
	size_t i, n;

	if (outsize == 0)
		return;
	n = inlen < outsize - 1 ? inlen : outsize - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[n] = '\0';
	if (inlen > n && outsize > 4)
		memcpy(out + outsize - 4, "...", 4);
}

/* Is the UTF-8 sequence at P (N bytes, lead byte included) valid, and
 * not an overlong form, a surrogate or beyond U+10FFFF? */
static int
utf8_valid(const unsigned char *p, size_t n)
{
	unsigned long c;
	size_t i;

	c = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
	    (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return 1;
}

void
xo_printable_utf8(char *s)
{
	unsigned char *r = (unsigned char *)s, *w = r;
	size_t n, i;

	while (*r != '\0') {
		n = *r < 0x80 ? 1 : (*r & 0xe0) == 0xc0 ? 2 :
		    (*r & 0xf0) == 0xe0 ? 3 : (*r & 0xf8) == 0xf0 ? 4 : 0;
		if (n == 1) {
			*w++ = *r < 0x20 || *r == 0x7f ? '?' : *r;
			r++;
			continue;
		}
		for (i = 1; i < n; i++)
			if (r[i] == '\0')
				break;
		/* C1 controls are U+0080-U+009F: C2 80 - C2 9F. */
		if (n == 0 || i < n || !utf8_valid(r, n) ||
		    (n == 2 && r[0] == 0xc2 && r[1] <= 0x9f)) {
			*w++ = '?';
			r += n == 0 || i < n ? 1 : n;
			continue;
		}
		for (i = 0; i < n; i++)
			*w++ = *r++;
	}
	*w = '\0';
}

int
xo_read_full(int fd, void *buf, size_t size, size_t *gotp)
{
	char *p = buf;
	ssize_t n;

	*gotp = 0;
	while (*gotp < size) {
		n = read(fd, p + *gotp, size - *gotp);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		if (n == 0)
			break;
		*gotp += (size_t)n;
	}
	return 0;
}

int
xo_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int64_t
xo_now_s(void)
{
	return (int64_t)time(NULL);
}

int64_t
xo_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
xo_fmt_ms(char *buf, size_t size, int64_t ms)
{
	int len;

	len = snprintf(buf, size, "%lld.%03lld", (long long)(ms / 1000),
	    (long long)(ms % 1000));
	if (len < 0 || (size_t)len >= size) {
		snprintf(buf, size, "?");
		return;
	}
	while (len > 0 && buf[len - 1] == '0')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '.')
		buf[--len] = '\0';
	snprintf(buf + len, size - (size_t)len, " s");
}
