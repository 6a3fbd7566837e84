/* qr: the device flow's URL as a QR code, or nothing (qr.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#ifdef HAVE_QRENCODE
#include <qrencode.h>
#endif

#include "errors.h"
#include "qr.h"

#ifdef HAVE_QRENCODE
#define QR_QUIET	2	/* modules of white border (the spec says 4;
				 * phones manage with 2 in a terminal) */

/* Module (X, Y) of Q, with the quiet zone around it: 1 if dark. */
static int
dark(const QRcode *q, int x, int y)
{
	x -= QR_QUIET;
	y -= QR_QUIET;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

int
qr_print(FILE *f, const char *text)
{
	QRcode *q;
	int x, y, size, top, bottom;

	errno = 0;
	if ((q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1)) == NULL)
		return errno != 0 ? -errno : -ENOMEM;
	size = q->width + 2 * QR_QUIET;
	/* Two rows of modules per line: the upper half block is the top row. */
	for (y = 0; y < size; y += 2) {
		fputs("\033[30;107m", f);	/* black on bright white */
		for (x = 0; x < size; x++) {
			top = dark(q, x, y);
			bottom = y + 1 < size ? dark(q, x, y + 1) : 0;
			fputs(top && bottom ? "\xe2\x96\x88" :	/* full block */
			    top ? "\xe2\x96\x80" :		/* upper half */
			    bottom ? "\xe2\x96\x84" : " ", f);	/* lower half */
		}
		fputs("\033[0m\n", f);
	}
	QRcode_free(q);
	return fflush(f) == 0 && !ferror(f) ? 0 : XO_E_IO;
}
#else
int
qr_print(FILE *f, const char *text)
{
	(void)f;
	(void)text;
	return -ENOTSUP;
}
#endif
