/* xo_err: a failure's code and message, filled in one place. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xo_err.h"

void
xo_err_clear(struct xo_err *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

int
xo_err_set(struct xo_err *err, int code, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		err->msg[0] = '\0';
	else if ((size_t)n >= sizeof(err->msg))
		memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
	return code;
}
