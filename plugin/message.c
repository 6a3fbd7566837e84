/* The plugin's message path: see message.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define XO_MESSAGE_IMPL
#include "message.h"
#include "payload.h"
#include "xo_util.h"

/* Formats FMT into BUF (XO_MSG_MAX bytes), marking a cut message. */
static void __attribute__((format(printf, 2, 0)))
msg_format(char *buf, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, XO_MSG_MAX, fmt, ap);

	if (n < 0)
		snprintf(buf, XO_MSG_MAX, "(message could not be formatted: "
		    "%s)", fmt);
	else if ((size_t)n >= XO_MSG_MAX)
		memcpy(buf + XO_MSG_MAX - 4, "...", 4);
}

void
xo_msg_error(const sasl_utils_t *utils, unsigned flags, const char *fmt, ...)
{
	char buf[XO_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	msg_format(buf, fmt, ap);
	va_end(ap);
	utils->seterror(utils->conn, flags, "%s", buf);
	xo_wipe(buf, sizeof(buf));
}

void
xo_msg_log(const sasl_utils_t *utils, int level, const char *fmt, ...)
{
	char buf[XO_MSG_MAX];
	va_list ap;

	if (utils->log == NULL)
		return;
	va_start(ap, fmt);
	msg_format(buf, fmt, ap);
	va_end(ap);
	utils->log(utils->conn, level, "%s", buf);
	xo_wipe(buf, sizeof(buf));
}

const char *
xo_msg_value(char *buf, size_t size, const char *s)
{
	size_t n;

	if (s == NULL) {
		snprintf(buf, size, "(none)");
		return buf;
	}
	n = strlen(s);
	if (n < size)
		xo_printable(buf, size, s, n);
	else
		snprintf(buf, size, "(%zu bytes, too long to show)", n);
	return buf;
}
