/*
 * xo_json: a JSON reader that wipes what json-c leaves behind.  See
 * xo_json.h.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "xo_json.h"
#include "xo_util.h"

/* Overwrites every string value in the tree O (not the keys). */
static void
json_wipe(struct json_object *o)
{
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_string:
		/* json-c hands out its own (writable) storage here. */
		xo_wipe((char *)(uintptr_t)json_object_get_string(o),
		    (size_t)json_object_get_string_len(o));
		break;
	case json_type_object: {
		json_object_object_foreach(o, key, val) {
			(void)key;
			json_wipe(val);
		}
		break;
	}
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			json_wipe(json_object_array_get_idx(o, i));
		break;
	default:
		break;
	}
}

void
xo_json_free(struct json_object *obj)
{
	json_wipe(obj);		/* NULL is json-c's null: nothing to wipe */
	json_object_put(obj);
}

int
xo_json_add(struct json_object *obj, const char *key,
    struct json_object *value)
{
	if (value == NULL)
		return -ENOMEM;
	if (json_object_object_add(obj, key, value) != 0) {
		xo_json_free(value);
		return -ENOMEM;
	}
	return 0;
}

static void
tokener_free_wiped(struct json_tokener *tk)
{
	if (tk == NULL)
		return;
	/* The parser builds every string in this scratch buffer; there is
	 * no API to reach it, and the field is public (if deprecated). */
	if (tk->pb != NULL && tk->pb->buf != NULL && tk->pb->size > 0)
		xo_wipe(tk->pb->buf, (size_t)tk->pb->size);
	json_tokener_free(tk);
}

int
xo_json_parse(const char *text, size_t len, int depth,
    struct json_object **objp)
{
	struct json_tokener *tk = NULL;
	struct json_object *root = NULL;
	size_t end;
	int r;

	*objp = NULL;
	if (len > INT32_MAX)
		return -EBADMSG;
	if ((tk = json_tokener_new_ex(depth)) == NULL)
		return -ENOMEM;
	root = json_tokener_parse_ex(tk, text, (int)len);
	if (root == NULL || json_tokener_get_error(tk) != json_tokener_success) {
		r = -EBADMSG;
		goto out;
	}
	/* One value and nothing after it but white space. */
	for (end = json_tokener_get_parse_end(tk); end < len; end++)
		if (text[end] == '\0' || strchr(" \t\r\n", text[end]) == NULL) {
			r = -EBADMSG;
			goto out;
		}
	*objp = root;
	root = NULL;
	r = 0;
 out:
	xo_json_free(root);
	tokener_free_wiped(tk);
	return r;
}
