/* Token-file secrets for the plugin: see tokenfile.c. */
#ifndef XO_TOKENFILE_H
#define XO_TOKENFILE_H

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

/* Whether the secret S names a token file rather than being the bearer
 * token itself: S is an absolute path whose last component is NAME.json,
 * NAME not empty (a base64 token has no '.', a JWT begins "ey", so no real
 * token is both), and the SASL option xoauth2_token_files does not turn
 * token files off.  See xoauth2(7). */
int xo_is_token_file(const sasl_utils_t *utils, const char *s);

/* Reads the token file at PATH and sets *TOKENP to a fresh access token
 * (from utils->malloc; the caller wipes and frees it), running the helper
 * first if the token expires within the margin.  Returns SASL_OK, or an
 * error after an error message (message.h) says what happened and what
 * to do. */
int xo_token_from_file(const sasl_utils_t *utils, const char *mech,
    const char *path, char **tokenp);

/* The server rejected TOKEN, read from PATH: mark it expired in the file
 * (unless it was replaced meanwhile) so that the next login refreshes. */
void xo_token_mark_stale(const sasl_utils_t *utils, const char *mech,
    const char *path, const char *token);

#endif
