/* Token-file secrets for the plugin: see tokenfile.c. */
#ifndef XO_TOKENFILE_H
#define XO_TOKENFILE_H

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

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
