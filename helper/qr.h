/*
 * qr: a QR code in the terminal, so that a phone can open the device
 * flow's verification URL on a headless server.  Needs libqrencode
 * (optional at build time).
 */
#ifndef XO_QR_H
#define XO_QR_H

#include <stdio.h>

/* Prints TEXT as a QR code to F with half-block characters, black on
 * white whatever the terminal's colours.  Returns 0, or if it cannot:
 * -ENOTSUP (built without libqrencode), -errno from libqrencode (-ERANGE:
 * text too long, -ENOMEM), XO_E_IO (F cannot be written).  Nothing to
 * say to the user: the URL is printed anyway. */
int qr_print(FILE *f, const char *text);

#endif
