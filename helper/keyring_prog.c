/*
 * xoauth2-keyring: the one program that links libsecret (and glib).
 * `xoauth2-keyring store|lookup|clear NAME VALUE... ' and
 * `xoauth2-keyring probe': keyring.h says the protocol and why this is a
 * program of its own.  It never unlocks anything and never prompts: a
 * locked item or keyring is an answer (KEYRING_EXIT_LOCKED), not a
 * question to the user.  It never starts a session bus either: without
 * DBUS_SESSION_BUS_ADDRESS, $XDG_RUNTIME_DIR/bus, or /run/user/UID/bus
 * (where a desktop session's bus is: the plugin runs the helper with an
 * environment of its own, with neither variable) there is none.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libsecret/secret.h>

#include "keyring.h"

static const SecretSchema keyring_schema = {
	KEYRING_SCHEMA, SECRET_SCHEMA_NONE,
	{
		{ "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "client_id", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "token_endpoint", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "account", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ NULL, 0 },
	},
	0, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

/* Says ERR's words (one line) and returns the status that fits it. */
static int
prog_fail(const char *what, GError *err, int status)
{
	char *p;

	if (err != NULL) {
		if (g_error_matches(err, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
			status = KEYRING_EXIT_LOCKED;
		else if (g_error_matches(err, G_DBUS_ERROR,
		    G_DBUS_ERROR_SERVICE_UNKNOWN))
			status = KEYRING_EXIT_NOSERVICE;
		for (p = err->message; *p != '\0'; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		fprintf(stderr, "%s: %s\n", what, err->message);
		g_error_free(err);
	} else if (what != NULL) {
		fprintf(stderr, "%s\n", what);
	}
	return status;
}

/* The session bus, without autolaunch: the address given, else the
 * user's bus socket (XDG_RUNTIME_DIR's, else logind's place for it).
 * Returns 0 or KEYRING_EXIT_NOBUS. */
static int
prog_bus(GDBusConnection **connp)
{
	const char *addr = getenv("DBUS_SESSION_BUS_ADDRESS");
	const char *run = getenv("XDG_RUNTIME_DIR");
	char *sock = NULL, *a = NULL;
	struct stat st;
	GError *err = NULL;

	*connp = NULL;
	if (addr == NULL || *addr == '\0') {
		sock = run != NULL && *run == '/' ?
		    g_strdup_printf("%s/bus", run) :
		    g_strdup_printf("/run/user/%u/bus", (unsigned)getuid());
		if (stat(sock, &st) == -1 || !S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "no DBUS_SESSION_BUS_ADDRESS, no %s\n",
			    sock);
			g_free(sock);
			return KEYRING_EXIT_NOBUS;
		}
		a = g_strdup_printf("unix:path=%s", sock);
		g_setenv("DBUS_SESSION_BUS_ADDRESS", a, TRUE);
		g_free(sock);
		g_free(a);
	}
	if ((*connp = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &err)) == NULL)
		return prog_fail("cannot connect to the session bus", err,
		    KEYRING_EXIT_NOBUS);
	return 0;
}

/* Does NAME own, or can the bus start, org.freedesktop.secrets? */
static int
prog_has_service(GDBusConnection *conn, const char *method)
{
	GVariant *v;
	GVariantIter *it;
	const char *name;
	gboolean has = FALSE;

	v = g_dbus_connection_call_sync(conn, "org.freedesktop.DBus",
	    "/org/freedesktop/DBus", "org.freedesktop.DBus", method,
	    strcmp(method, "NameHasOwner") == 0 ?
	    g_variant_new("(s)", "org.freedesktop.secrets") : NULL,
	    NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
	if (v == NULL)
		return 0;
	if (strcmp(method, "NameHasOwner") == 0) {
		g_variant_get(v, "(b)", &has);
	} else {
		g_variant_get(v, "(as)", &it);
		while (!has && g_variant_iter_loop(it, "&s", &name))
			has = strcmp(name, "org.freedesktop.secrets") == 0;
		g_variant_iter_free(it);
	}
	g_variant_unref(v);
	return has;
}

/* Attributes from ARGV's NAME VALUE pairs, all four of the schema's. */
static GHashTable *
prog_attributes(int argc, char **argv)
{
	GHashTable *h;
	int i;

	if (argc != 8)
		return NULL;
	h = g_hash_table_new(g_str_hash, g_str_equal);
	for (i = 0; i + 1 < argc; i += 2)
		g_hash_table_insert(h, argv[i], argv[i + 1]);
	if (g_hash_table_size(h) != 4 ||
	    !g_hash_table_contains(h, "user") ||
	    !g_hash_table_contains(h, "client_id") ||
	    !g_hash_table_contains(h, "token_endpoint") ||
	    !g_hash_table_contains(h, "account")) {
		g_hash_table_unref(h);
		return NULL;
	}
	return h;
}

/* The default collection, if it is there and unlocked.  Returns 0 or
 * KEYRING_EXIT_LOCKED/FAILED. */
static int
prog_default(SecretService *svc, SecretCollection **collp)
{
	SecretCollection *c;
	GError *err = NULL;

	*collp = NULL;
	c = secret_collection_for_alias_sync(svc, SECRET_COLLECTION_DEFAULT,
	    SECRET_COLLECTION_NONE, NULL, &err);
	if (c == NULL && err != NULL)
		return prog_fail("cannot find the default keyring", err,
		    KEYRING_EXIT_FAILED);
	if (c == NULL)
		return prog_fail("there is no default keyring", NULL,
		    KEYRING_EXIT_LOCKED);
	if (secret_collection_get_locked(c)) {
		g_object_unref(c);
		return prog_fail("the default keyring is locked", NULL,
		    KEYRING_EXIT_LOCKED);
	}
	*collp = c;
	return 0;
}

/* Reads the secret from stdin into a new SecretValue. */
static int
prog_read_secret(SecretValue **valuep)
{
	char *buf;
	size_t len = 0;
	ssize_t n;

	*valuep = NULL;
	if ((buf = malloc(KEYRING_SECRET_MAX + 1)) == NULL)
		return prog_fail("out of memory", NULL, KEYRING_EXIT_FAILED);
	while (len <= KEYRING_SECRET_MAX &&
	    ((n = read(0, buf + len, KEYRING_SECRET_MAX + 1 - len)) > 0 ||
	    (n == -1 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	if (len > 0 && len <= KEYRING_SECRET_MAX)
		*valuep = secret_value_new(buf, (gssize)len, "text/plain");
	explicit_bzero(buf, KEYRING_SECRET_MAX + 1);
	free(buf);
	return *valuep != NULL ? 0 : prog_fail("no secret, or too large, on "
	    "stdin", NULL, KEYRING_EXIT_USAGE);
}

static int
prog_store(SecretService *svc, GHashTable *attrs)
{
	SecretCollection *coll = NULL;
	SecretValue *value = NULL;
	SecretItem *item;
	GError *err = NULL;
	char *label;
	int r;

	if ((r = prog_read_secret(&value)) != 0)
		return r;
	if ((r = prog_default(svc, &coll)) != 0)
		goto out;
	label = g_strdup_printf("xoauth2-token: %s (%s)",
	    (char *)g_hash_table_lookup(attrs, "account"),
	    (char *)g_hash_table_lookup(attrs, "user"));
	item = secret_item_create_sync(coll, &keyring_schema, attrs, label,
	    value, SECRET_ITEM_CREATE_REPLACE, NULL, &err);
	g_free(label);
	if (item == NULL) {
		r = prog_fail("cannot store the item", err,
		    KEYRING_EXIT_FAILED);
		goto out;
	}
	g_object_unref(item);
	r = 0;
 out:
	if (coll != NULL)
		g_object_unref(coll);
	secret_value_unref(value);
	return r;
}

/* The items ATTRS names, unlocked ones with their secrets loaded. */
static int
prog_search(SecretService *svc, GHashTable *attrs, GList **itemsp)
{
	GError *err = NULL;

	*itemsp = secret_service_search_sync(svc, &keyring_schema, attrs,
	    SECRET_SEARCH_ALL | SECRET_SEARCH_LOAD_SECRETS, NULL, &err);
	if (err != NULL)
		return prog_fail("cannot search the keyring", err,
		    KEYRING_EXIT_FAILED);
	return 0;
}

/* Nothing found: if the default keyring is locked, it may be in there. */
static int
prog_notfound(SecretService *svc)
{
	SecretCollection *coll = NULL;
	int r;

	if ((r = prog_default(svc, &coll)) == KEYRING_EXIT_LOCKED)
		return r;
	if (coll != NULL)
		g_object_unref(coll);
	return KEYRING_EXIT_NOTFOUND;
}

static int
prog_lookup(SecretService *svc, GHashTable *attrs)
{
	GList *items = NULL, *l;
	SecretValue *value = NULL;
	const char *data;
	gsize len = 0;
	int r, locked = 0;

	if ((r = prog_search(svc, attrs, &items)) != 0)
		return r;
	for (l = items; l != NULL && value == NULL; l = l->next) {
		if (secret_item_get_locked(l->data))
			locked = 1;
		else
			value = secret_item_get_secret(l->data);
	}
	if (value != NULL) {
		data = secret_value_get(value, &len);
		r = fwrite(data, 1, len, stdout) == len && fflush(stdout) == 0 ?
		    0 : prog_fail("cannot write the secret", NULL,
		    KEYRING_EXIT_FAILED);
		secret_value_unref(value);
	} else {
		r = locked ? prog_fail("the item is locked", NULL,
		    KEYRING_EXIT_LOCKED) : items == NULL ? prog_notfound(svc) :
		    prog_fail("the item has no secret", NULL,
		    KEYRING_EXIT_FAILED);
	}
	g_list_free_full(items, g_object_unref);
	return r;
}

static int
prog_clear(SecretService *svc, GHashTable *attrs)
{
	GList *items = NULL, *l;
	GError *err = NULL;
	int r = 0;

	if ((r = prog_search(svc, attrs, &items)) != 0)
		return r;
	for (l = items; l != NULL && r == 0; l = l->next) {
		if (secret_item_get_locked(l->data))
			r = prog_fail("the item is locked", NULL,
			    KEYRING_EXIT_LOCKED);
		else if (!secret_item_delete_sync(l->data, NULL, &err))
			r = prog_fail("cannot remove the item", err,
			    KEYRING_EXIT_FAILED);
	}
	if (items == NULL)
		r = prog_notfound(svc) == KEYRING_EXIT_LOCKED ?
		    KEYRING_EXIT_LOCKED : 0;
	g_list_free_full(items, g_object_unref);
	return r;
}

/* The verb on the service; the bus and the service are there. */
static int
prog_verb(const char *verb, SecretService *svc, GHashTable *attrs)
{
	SecretCollection *coll = NULL;
	int r;

	if (strcmp(verb, "probe") == 0) {
		if ((r = prog_default(svc, &coll)) == 0)
			g_object_unref(coll);
		return r;
	}
	if (strcmp(verb, "store") == 0)
		return prog_store(svc, attrs);
	if (strcmp(verb, "lookup") == 0)
		return prog_lookup(svc, attrs);
	return prog_clear(svc, attrs);
}

int
main(int argc, char **argv)
{
	GDBusConnection *conn = NULL;
	SecretService *svc = NULL;
	GHashTable *attrs = NULL;
	GError *err = NULL;
	const char *verb = argc > 1 ? argv[1] : "";
	int r;

	if (strcmp(verb, "probe") == 0 ? argc != 2 :
	    (strcmp(verb, "store") != 0 && strcmp(verb, "lookup") != 0 &&
	    strcmp(verb, "clear") != 0) ||
	    (attrs = prog_attributes(argc - 2, argv + 2)) == NULL) {
		fprintf(stderr, "usage: " KEYRING_PROG " probe | store|lookup|"
		    "clear user U client_id C token_endpoint E account A\n");
		return KEYRING_EXIT_USAGE;
	}
	if ((r = prog_bus(&conn)) != 0)
		goto out;
	if (!prog_has_service(conn, "NameHasOwner") &&
	    !prog_has_service(conn, "ListActivatableNames")) {
		r = prog_fail("org.freedesktop.secrets is not on the bus",
		    NULL, KEYRING_EXIT_NOSERVICE);
		goto out;
	}
	if ((svc = secret_service_get_sync(SECRET_SERVICE_OPEN_SESSION, NULL,
	    &err)) == NULL) {
		r = prog_fail("cannot open the Secret Service", err,
		    KEYRING_EXIT_FAILED);
		goto out;
	}
	r = prog_verb(verb, svc, attrs);
 out:
	if (svc != NULL)
		g_object_unref(svc);
	if (conn != NULL)
		g_object_unref(conn);
	if (attrs != NULL)
		g_hash_table_unref(attrs);
	return r;
}
