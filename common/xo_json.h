/*
 * xo_json: reading JSON that holds secrets (token files, token endpoint
 * answers, JWTs and ID tokens), for the plugin and the helper alike.
 *
 * json-c frees what it allocated without wiping it.  Here every tree
 * goes through xo_json_free(), which overwrites its string values in
 * place first, and the parser's scratch buffer (where json-c builds
 * every string) is wiped before the parser is freed.  json-c and libc
 * only: the plugin links this.
 */
#ifndef XO_JSON_H
#define XO_JSON_H

#include <stddef.h>

struct json_object;

/* Parses exactly one JSON value from LEN bytes of TEXT (need not be
 * NUL-terminated; white space may follow), nested at most DEPTH deep,
 * into a new *OBJp, wiping json-c's scratch buffer.  Returns 0, -ENOMEM
 * or -EBADMSG (not one complete JSON value: callers name it in their own
 * code, e.g. TOKFILE_E_JSON); on success the caller owns *OBJp (xo_json_free),
 * on failure it is NULL. */
int xo_json_parse(const char *text, size_t len, int depth,
    struct json_object **objp);

/* Adds KEY: VALUE to the object OBJ, taking VALUE, which is released
 * (wiped) if it cannot be added.  VALUE NULL means json-c ran out of
 * memory making it.  Returns 0 or -ENOMEM. */
int xo_json_add(struct json_object *obj, const char *key,
    struct json_object *value);

/* Overwrites every string value in OBJ (not the keys), then releases it.
 * Accepts NULL. */
void xo_json_free(struct json_object *obj);

#endif
