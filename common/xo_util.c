#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

/* The text rule, in one place: what the next character at P (LEFT > 0
 * bytes) is.  Sets *LENp to its length in bytes and returns TEXT_OK (a
 * printable character, ASCII or valid UTF-8), TEXT_CONTROL (C0, DEL, or
 * C1 U+0080-U+009F as C2 80..9F or as a lone byte 0x80-0x9f, which an
 * 8-bit terminal obeys as CSI, OSC...) or TEXT_INVALID (a byte that
 * starts no valid UTF-8 character: *LENp is 1). */
enum text_class { TEXT_OK, TEXT_CONTROL, TEXT_INVALID };

static enum text_class
text_char(const unsigned char *p, size_t left, size_t *lenp)
{
	size_t n;

	*lenp = 1;
	if (p[0] < 0x20 || p[0] == 0x7f || (p[0] >= 0x80 && p[0] <= 0x9f))
		return TEXT_CONTROL;
	if (p[0] < 0x80)
		return TEXT_OK;
	n = utf8_follow(p[0]) + 1;
	if (n == 1 || n > left || !utf8_valid(p, n))
		return TEXT_INVALID;
	*lenp = n;
	/* C1 controls are U+0080-U+009F: C2 80 - C2 9F. */
	return p[0] == 0xc2 && p[1] <= 0x9f ? TEXT_CONTROL : TEXT_OK;
}

int
xo_unsafe_text(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, n;

	if (xo_has_ctl(s, len))
		return 1;
	for (i = 0; i < len; i += n)
		if (text_char(u + i, len - i, &n) == TEXT_CONTROL)
			return 1;
	return 0;
}

char *
xo_printable(char *out, size_t outsize, const char *in, size_t inlen)
{
	const unsigned char *r = (const unsigned char *)in;
	size_t i, w = 0, n, total = 0, limit;
	enum text_class c;

	if (outsize == 0)
		return out;
	for (i = 0; i < inlen; i += n)
		total += text_char(r + i, inlen - i, &n) == TEXT_OK ? n : 1;
	/* What does not fit is cut at a character and marked "...". */
	limit = total < outsize ? total : outsize > 4 ? outsize - 4 :
	    outsize - 1;
	/* OUT may be IN: a character never grows, so W never passes I. */
	for (i = 0; i < inlen; i += n) {
		c = text_char(r + i, inlen - i, &n);
		if (w + (c == TEXT_OK ? n : 1) > limit)
			break;
		if (c == TEXT_OK)
			memmove(out + w, r + i, n);
		else
			out[w] = '?';
		w += c == TEXT_OK ? n : 1;
	}
	if (total >= outsize && outsize > 4) {
		memcpy(out + w, "...", 3);
		w += 3;
	}
	out[w] = '\0';
	return out;
}

void
xo_printable_utf8(char *s)
{
	size_t len = strlen(s);

	xo_printable(s, len + 1, s, len);
}

const char *
xo_shell_word(char *buf, size_t size, const char *s)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-";
	size_t len = strlen(s), w = 0, unit;
	const char *p;

	if (size < 8) {
		if (size > 0)
			buf[0] = '\0';
		return buf;
	}
	if (len > 0 && len < size && strspn(s, safe) == len) {
		memcpy(buf, s, len + 1);
		return buf;
	}
	buf[w++] = '\'';
	for (p = s; *p != '\0'; p++) {
		unit = *p == '\'' ? 4 : 1;
		/* Keep room for the closing quote and NUL, or "...'" NUL. */
		if (w + unit + (p[1] != '\0' ? 5 : 2) > size) {
			memcpy(buf + w, "...", 3);
			w += 3;
			break;
		}
		if (*p == '\'')
			memcpy(buf + w, "'\\''", 4);
		else
			buf[w] = *p;
		w += unit;
	}
	buf[w++] = '\'';
	buf[w] = '\0';
	return buf;
}

size_t
xo_secret_first_line(char *buf, size_t len)
{
	size_t n = strcspn(buf, "\r\n");

	if (n < len)
		xo_wipe(buf + n, len - n);
	buf[n] = '\0';
	return n;
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
xo_open_regular(int dirfd, const char *path, int *fdp, struct stat *stp)
{
	struct stat st;
	char proc[64];
	int pfd, fd = -1, r;

	*fdp = -1;
	if ((pfd = openat(dirfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -errno;
	if (fstat(pfd, stp) == -1) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(stp->st_mode)) {
		r = 0;		/* not opened: the caller says what it is */
		goto out;
	}
	/* The magic link reopens the inode PFD holds, not the name. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	if ((fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		r = errno == ENOENT ? -ENOSYS : -errno;
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = -errno;
		goto out;
	}
	if (st.st_dev != stp->st_dev || st.st_ino != stp->st_ino ||
	    !S_ISREG(st.st_mode)) {
		r = -ESTALE;
		goto out;
	}
	*stp = st;
	*fdp = fd;
	fd = -1;
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	close(pfd);
	return r;
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

void
xo_fmt_time(char *buf, size_t size, int64_t when)
{
	time_t t = (time_t)when;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, size, "@%" PRId64, when);
}

/* Coarse, as people say it. */
void
xo_fmt_span(char *buf, size_t size, int64_t secs)
{
	if (secs < 0)
		secs = -secs;
	if (secs < 120)
		snprintf(buf, size, "%" PRId64 " s", secs);
	else if (secs < 120 * 60)
		snprintf(buf, size, "%" PRId64 " min", secs / 60);
	else if (secs < 48 * 3600)
		snprintf(buf, size, "%" PRId64 " h", secs / 3600);
	else
		snprintf(buf, size, "%" PRId64 " days", secs / 86400);
}
