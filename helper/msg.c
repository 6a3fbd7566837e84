#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "msg.h"

void
msg(const char *who, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	if (who != NULL)
		fprintf(stderr, "%s: ", who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
