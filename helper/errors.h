/*
 * errors: the helper's one error convention.
 *
 * Every helper module returns 0 on success, a negative errno (-ENOMEM,
 * -EACCES, ...), or a negative module code: TOKFILE_E_* (common/),
 * STORE_E_* (store.h), ..., or one of the XO_E_* classes below, which
 * say what kind of failure it was, never a bare -1.  Whoever returns a
 * code has already filled in a message that says what happened and what
 * to do: a `struct xo_err` (common/xo_err.h, the one carrier of a
 * message across a module boundary), or, in a module that runs a
 * dialogue for a command (login, refresh), printed it with msg().
 * Only the command layer (helper/cmd/, through cmd_exit() in
 * cmd_common.c) turns a code into a sysexits(3) exit status; nothing
 * else in helper/ names an exit number.
 *
 * Adding a failure class: a define here (next free number), a row in
 * cmd_common.c's table that maps it to its sysexits code (with its words
 * for --help, if the status is new), and a line in
 * xoauth2-token(1)'s EXIT STATUS if that code is new there.
 *
 * Module codes: each module has a range of its own, below errno's
 * (which ends above -200), so that one number never means two things
 * to whoever maps it (cmd_exit, a caller comparing with ==).  A new
 * module takes the next free range and adds its row here;
 * tests/t-errors.sh checks every *_E_* define in helper/ and common/
 * against these rows.
 *
 *	range		prefix		header
 *	-1001 -1199	TOKFILE_E_	common/tokfile.h (-1100.. members)
 *	-2001 -2099	STORE_E_	helper/store.h
 *	-2101 -2199	PROVIDER_E_	helper/provider.h
 *	-2201 -2299	JWT_E_		helper/jwt.h
 *	-2301 -2399	DIAG_E_		helper/diag.h
 *	-2401 -2499	CREDFILE_E_	helper/credfile.h
 *	-2501 -2599	SECRET_E_	helper/secret.h
 *	-2601 -2699	KEYRING_E_	helper/keyring.h
 *	-2701 -2799	CHILD_E_	helper/child.h
 *	-3001 -3099	XO_E_		helper/errors.h
 */
#ifndef XO_ERRORS_H
#define XO_ERRORS_H

/* Failure classes (-3001 -3099). */
#define XO_E_USAGE	(-3001)	/* the command line is wrong: fix it */
#define XO_E_DATA	(-3002)	/* input data is malformed */
#define XO_E_NOINPUT	(-3003)	/* an input file is missing */
#define XO_E_NOHOST	(-3004)	/* a host name does not resolve */
#define XO_E_UNAVAILABLE (-3005) /* a server is unreachable or misbehaves */
#define XO_E_SOFTWARE	(-3006)	/* an internal error (a library refused) */
#define XO_E_CANTCREAT	(-3007)	/* an output file cannot be written */
#define XO_E_IO		(-3008)	/* an I/O error */
#define XO_E_TEMPFAIL	(-3009)	/* temporary: try again later */
#define XO_E_PROTOCOL	(-3010)	/* the other side broke the protocol */
#define XO_E_REFUSED	(-3011)	/* refused: unsafe file, declined sign-in,
				 * grant or token rejected */
#define XO_E_CONFIG	(-3012)	/* configuration (options, endpoints, CA) */
#define XO_E_OSERR	(-3013)	/* the system failed us (not a file) */

#endif
