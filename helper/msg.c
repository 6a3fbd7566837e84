#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "xo_util.h"

/* Formats FMT into a new string; NULL if out of memory. */
static char *
format(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) == -1)
		return NULL;
	return s;
}

/* Writes PREFIX, then FMT's text made printable (xo_printable: a file
 * name, a token file's value or a server's words may hold C0 or C1
 * controls), then a newline, to F.  LINES: the text may run over
 * several lines (login's URL); each is filtered on its own. */
static void
print_line(FILE *f, const char *prefix, int lines, const char *fmt,
    va_list ap)
{
	char *s = format(fmt, ap), *p, *nl;

	fputs(prefix, f);
	if (s == NULL) {
		fputs("(out of memory)\n", f);
		return;
	}
	for (p = s; ; p = nl + 1) {
		nl = lines ? strchr(p, '\n') : NULL;
		if (nl != NULL)
			*nl = '\0';
		fputs(xo_printable(p, strlen(p) + 1, p, strlen(p)), f);
		fputc('\n', f);
		if (nl == NULL)
			break;
	}
	free(s);
}

void
msg(const char *who, const char *fmt, ...)
{
	char prefix[512];
	va_list ap;

	if (who != NULL) {
		/* WHO is an account or a path: outside text too. */
		snprintf(prefix, sizeof(prefix), PROG ": ");
		xo_printable(prefix + strlen(prefix), sizeof(prefix) -
		    strlen(prefix) - 3, who, strlen(who));
		strcat(prefix, ": ");
	} else
		snprintf(prefix, sizeof(prefix), PROG ": ");
	va_start(ap, fmt);
	print_line(stderr, prefix, 1, fmt, ap);
	va_end(ap);
}

void
msg_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_line(stdout, "", 0, fmt, ap);
	va_end(ap);
}
