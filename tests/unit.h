/*
 * unit: what the helper's table-driven unit tests share (isync style: a
 * table of rows, a loop, every mismatch printed with both values, a
 * non-zero exit if any).  Each test is its own program.
 */
#ifndef XO_UNIT_H
#define XO_UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define UNIT_FN	static __attribute__((unused))

static int unit_failures;
/* Rows run, for unit_done: unit_table counts its own, a test that checks
 * outside a table adds its rows by hand. */
static int unit_rows;

/* A table's rows name the fields they need; the rest are 0 on purpose. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/*
 * The common row of a table: an input (IN, LEN bytes where LEN matters),
 * what should come out (WANT) and the code the call should return (CODE).
 * A table uses the fields its call needs and leaves the others 0.
 */
struct unit_row {
	const char	*in;
	const char	*want;
	size_t		 len;
	long		 code;
};

/* A row that carries its own NAME for messages: an input, and what
 * should come out of it (NULL: nothing). */
struct unit_named {
	const char	*name;
	const char	*in;
	const char	*want;
};

/* Checks one ROW of a table; LABEL names it ("WHAT row I") for messages. */
typedef void unit_check_fn(const char *label, const void *row);

#define UNIT_NROWS(t)	(sizeof(t) / sizeof((t)[0]))
/* Runs CHECK on every row of the array T, labelled "WHAT row I". */
#define UNIT_TABLE(what, t, check) \
	unit_table((what), (t), sizeof((t)[0]), UNIT_NROWS(t), (check))
/* The same for rows that name themselves: each is labelled by its first
 * member, a string (its name, or its input where that says enough). */
#define UNIT_TABLE_NAMED(t, check) \
	unit_table(NULL, (t), sizeof((t)[0]), UNIT_NROWS(t), (check))

/* Counts a failed check NAME and says why (printf FMT). */
UNIT_FN void unit_fail(const char *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
UNIT_FN void
unit_fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	unit_failures++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Prints BUF with bytes outside printable ASCII as \xNN. */
UNIT_FN void
unit_show(const char *label, const char *buf, size_t len)
{
	size_t i;

	printf("  %s: \"", label);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf("\" (%zu bytes)\n", len);
}

UNIT_FN void
expect_bytes(const char *name, const char *got, size_t gotlen,
    const char *want, size_t wantlen)
{
	if (got != NULL && gotlen == wantlen && memcmp(got, want, wantlen) == 0)
		return;
	unit_failures++;
	printf("FAIL %s\n", name);
	if (got == NULL)
		printf("  got : NULL\n");
	else
		unit_show("got ", got, gotlen);
	unit_show("want", want, wantlen);
}

/* WANT NULL: GOT must be NULL too. */
UNIT_FN void
expect_str(const char *name, const char *got, const char *want)
{
	if (want == NULL && got == NULL)
		return;
	if (want == NULL) {
		unit_fail(name, "got \"%s\", want NULL", got);
		return;
	}
	expect_bytes(name, got, got != NULL ? strlen(got) : 0, want,
	    strlen(want));
}

UNIT_FN void
expect_int(const char *name, long got, long want)
{
	if (got == want)
		return;
	unit_fail(name, "got %ld, want %ld", got, want);
}

/* HAYSTACK contains NEEDLE (NULL or "": anything goes). */
UNIT_FN void
expect_contains(const char *name, const char *haystack, const char *needle)
{
	if (needle == NULL || *needle == '\0' ||
	    (haystack != NULL && strstr(haystack, needle) != NULL))
		return;
	unit_fail(name, "\"%s\" lacks \"%s\"",
	    haystack != NULL ? haystack : "(null)", needle);
}

/* A label made with printf FMT, for the expect_* call it is passed to
 * (one buffer: the next call reuses it). */
UNIT_FN const char *unit_labelf(const char *, ...)
    __attribute__((format(printf, 1, 2)));
UNIT_FN const char *
unit_labelf(const char *fmt, ...)
{
	static char label[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(label, sizeof(label), fmt, ap);
	va_end(ap);
	return label;
}

/* The one loop of every table: N rows of ROWSIZE bytes from T, labelled
 * "WHAT row I", or (WHAT NULL) by the string that begins each row. */
UNIT_FN void
unit_table(const char *what, const void *t, size_t rowsize, size_t n,
    unit_check_fn *check)
{
	const char *row, *name;
	char label[256];
	size_t i;

	for (i = 0; i < n; i++) {
		unit_rows++;
		row = (const char *)t + i * rowsize;
		if (what != NULL)
			snprintf(label, sizeof(label), "%s row %zu", what, i);
		else {
			memcpy(&name, row, sizeof(name));
			snprintf(label, sizeof(label), "%s",
			    name != NULL ? name : "(null)");
		}
		check(label, row);
	}
}

/* Tables of a yes/no question about bytes, FN(IN, LEN): each row's CODE
 * is the answer it must give. */
static int (*unit_pred)(const char *, size_t);

UNIT_FN void
unit_check_pred(const char *label, const void *row)
{
	const struct unit_row *t = row;

	expect_int(label, unit_pred(t->in, t->len), t->code);
}

/* UNIT_TABLE (WHAT NULL: UNIT_TABLE_NAMED) of a yes/no question FN. */
#define UNIT_PRED_TABLE(what, t, fn) do {				\
	unit_pred = (fn);						\
	unit_table((what), (t), sizeof((t)[0]), UNIT_NROWS(t),		\
	    unit_check_pred);						\
} while (0)

UNIT_FN int
unit_done(const char *prog, int rows)
{
	if (unit_failures > 0) {
		printf("%s: %d of %d checks failed\n", prog, unit_failures, rows);
		return 1;
	}
	printf("%s: %d rows, all passed\n", prog, rows);
	return 0;
}

/* The end of a program that counts checks, not rows (sasl-client): a
 * summary line, then its exit status. */
UNIT_FN int
unit_status(const char *what)
{
	if (unit_failures > 0) {
		printf("%d check(s) failed\n", unit_failures);
		return 1;
	}
	printf("all %s checks passed\n", what);
	return 0;
}

#endif
