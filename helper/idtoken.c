/*
 * idtoken: who signed in, from an OpenID Connect ID token's claims.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base64url.h"
#include "idtoken.h"
#include "xo_json.h"
#include "xo_util.h"

int
idtoken_user(const char *id_token, char **userp)
{
	static const char *const claims[] = { "email", "preferred_username", "upn" };
	struct json_object *root = NULL, *v;
	const char *dot1, *dot2, *s;
	char *payload = NULL;
	size_t len = 0, i;
	int r = 0;

	*userp = NULL;
	if (id_token == NULL || (dot1 = strchr(id_token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL)
		return 0;
	if ((r = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload,
	    &len)) != 0)
		return r == -ENOMEM ? r : 0;
	if (xo_json_parse(payload, len, 8, &root) != 0 ||
	    !json_object_is_type(root, json_type_object))
		goto out;
	for (i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
		if (!json_object_object_get_ex(root, claims[i], &v) ||
		    !json_object_is_type(v, json_type_string))
			continue;
		s = json_object_get_string(v);
		if (*s == '\0' || strlen(s) > IDTOKEN_USER_MAX ||
		    xo_unsafe_text(s, strlen(s)) || strchr(s, ' ') != NULL)
			continue;
		if ((*userp = strdup(s)) == NULL)
			r = -ENOMEM;
		break;
	}
 out:
	xo_json_free(root);
	xo_freezero(payload, len);
	return r;
}
