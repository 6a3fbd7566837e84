/* Small utilities shared by the plugin and the helper. */
#ifndef XO_UTIL_H
#define XO_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Overwrites LEN bytes at P with zeros in a way the compiler may not
 * elide.  Accepts P == NULL. */
void xo_wipe(void *p, size_t len);

/* Wipes the LEN bytes at P and frees P (libc free): for buffers that held
 * a secret.  Accepts NULL. */
void xo_freezero(void *p, size_t len);

/* Wipes the NUL-terminated string S and frees it (libc free).  Accepts
 * NULL.  For secrets the plugin allocated through libsasl2, see its own
 * secret_free. */
void xo_free_secret(char *s);

/* Returns 1 if the LEN bytes at S contain a control character (0x00-0x1f
 * or 0x7f), else 0.  Such bytes would break the SASL framing (\x01 is the
 * field separator of XOAUTH2 and OAUTHBEARER) or a log line. */
int xo_has_ctl(const char *s, size_t len);

/* Returns 1 if the LEN bytes at S are not safe to show on a terminal:
 * xo_has_ctl's controls, or C1 controls (U+0080-U+009F, as UTF-8 C2 80..9F
 * or as a lone byte 0x80-0x9f outside a UTF-8 sequence, which an 8-bit
 * terminal obeys as CSI, OSC...).  The helper's one check for text that
 * came from a server and will be printed or kept to be printed (user
 * codes, URLs, names, tokens). */
int xo_unsafe_text(const char *s, size_t len);

/* The one filter for text from outside -- a file, a file name, a
 * server -- on its way to a terminal, a log or a message: copies IN
 * (INLEN bytes) to OUT (OUTSIZE > 0 bytes, NUL-terminated) with every
 * control character (C0, DEL, and C1 U+0080-U+009F as UTF-8 C2 80..9F
 * or as a lone byte 0x80-0x9f, which terminals obey as CSI, OSC...)
 * and every byte that is not UTF-8 replaced by '?'; other UTF-8 is
 * kept.  What does not fit is cut at a character and ends in "...".
 * OUT may be IN (the text never grows).  Returns OUT. */
char *xo_printable(char *out, size_t outsize, const char *in, size_t inlen);

/* xo_printable on the string S, in place. */
void xo_printable_utf8(char *s);

/* The one shell quoting for words put into a "run: ..." hint: writes S
 * into BUF (SIZE >= 8 bytes) as one word a POSIX shell reads back as S,
 * bare if S only holds [A-Za-z0-9@%+=:,./_-], else in single quotes
 * (each ' as '\'').  Pasted, it never runs anything: a word too long for
 * BUF is cut inside its quotes and ends in "...'".  Returns BUF. */
const char *xo_shell_word(char *buf, size_t size, const char *s);

/* A buffer for xo_shell_word that holds any path, every byte quoted. */
#define XO_SHELL_WORD_MAX	(4 * 4096 + 8)

/* For a secret file's text (LEN bytes at BUF, NUL-terminated at
 * BUF[LEN]): ends the string at the first CR or LF and wipes every byte
 * after it up to LEN, so that the lines after the first (a note, a
 * second secret) do not stay in memory.  Returns the first line's
 * length. */
size_t xo_secret_first_line(char *buf, size_t len);

/* Reads from FD into BUF until SIZE bytes or end of file, through
 * EINTR and short reads.  *GOTp is always the number of bytes read (so
 * that a caller can wipe exactly them).  Returns 0 or -errno. */
int xo_read_full(int fd, void *buf, size_t size, size_t *gotp);

struct stat;

/* Opens the file PATH (relative to DIRFD, as openat(2)) for reading,
 * but only once it is known to be a regular file: the name is first
 * opened with O_PATH|O_NOFOLLOW, which opens nothing (no device's open
 * routine runs, a FIFO does not block, a symlink is not followed),
 * fstat'ed, and only a regular file is then opened for reading through
 * /proc/self/fd/N -- the same inode, checked again (st_dev, st_ino), so
 * that no rename in between can slip another file in.  Returns 0 with
 * *FDp the open descriptor (O_RDONLY|O_CLOEXEC) and *STp its fstat; 0
 * with *FDp == -1 when PATH is not a regular file (*STp says what it
 * is: a symlink, a FIFO, a device, ...); -ENOSYS when /proc is not
 * mounted; or -errno.  Owner and mode checks are the caller's, on *STp,
 * before it reads a byte. */
int xo_open_regular(int dirfd, const char *path, int *fdp, struct stat *stp);

/* Writes the LEN bytes at BUF to FD, through EINTR and short writes.
 * Returns 0 or -errno. */
int xo_write_all(int fd, const void *buf, size_t len);

/* The wall clock in seconds since the epoch (token lifetimes, file
 * times), and a monotonic clock in milliseconds (deadlines). */
int64_t xo_now_s(void);
int64_t xo_now_ms(void);

/* MS milliseconds in words, for messages: "55 s", "4.5 s", "0.75 s". */
void xo_fmt_ms(char *buf, size_t size, int64_t ms);

/* WHEN (seconds since the epoch) in local time, "2026-11-28 15:20:43
 * UTC" ("@WHEN" if it cannot be), and SECS (its sign ignored) coarsely,
 * as people say it: "43 s", "43 min", "2 h", "3 days". */
void xo_fmt_time(char *buf, size_t size, int64_t when);
void xo_fmt_span(char *buf, size_t size, int64_t secs);

#endif
