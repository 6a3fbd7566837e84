/*
 * store: account names to token file paths, and the list of accounts.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "xo_util.h"

#define STORE_SUBDIR	"xoauth2"
#define ACCOUNT_MAX	200

static int
has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Returns 0 if NAME can be an account name (and so a file name). */
static int
account_check(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > ACCOUNT_MAX || name[0] == '.' || name[0] == '-' ||
	    strchr(name, '/') != NULL || xo_has_ctl(name, len))
		return STORE_E_NAME;
	if (has_suffix(name, ".json"))
		return STORE_E_JSONEXT;
	return 0;
}

int
store_dir(char **dirp)
{
	const char *base = getenv("XDG_DATA_HOME"), *home;
	struct passwd *pw;
	char *dir = NULL;

	*dirp = NULL;
	/* The XDG spec says to ignore a relative XDG_DATA_HOME. */
	if (base != NULL && base[0] == '/') {
		if (asprintf(&dir, "%s/%s", base, STORE_SUBDIR) == -1)
			return -ENOMEM;
	} else {
		home = getenv("HOME");
		if ((home == NULL || home[0] != '/') &&
		    (pw = getpwuid(getuid())) != NULL)
			home = pw->pw_dir;
		if (home == NULL || home[0] != '/')
			return STORE_E_NOHOME;
		if (asprintf(&dir, "%s/.local/share/%s", home, STORE_SUBDIR) == -1)
			return -ENOMEM;
	}
	*dirp = dir;
	return 0;
}

int
store_path(const char *arg, char **pathp, int *is_accountp)
{
	char *dir = NULL, *path = NULL;
	int r;

	*pathp = NULL;
	*is_accountp = 0;
	if (strchr(arg, '/') != NULL) {
		if ((path = strdup(arg)) == NULL)
			return -ENOMEM;
		*pathp = path;
		return 0;
	}
	if ((r = account_check(arg)) != 0)
		return r;
	if ((r = store_dir(&dir)) != 0)
		return r;
	if (asprintf(&path, "%s/%s.json", dir, arg) == -1) {
		free(dir);
		return -ENOMEM;
	}
	free(dir);
	*pathp = path;
	*is_accountp = 1;
	return 0;
}

void
store_names_free(char **names)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; names[i] != NULL; i++)
		free(names[i]);
	free(names);
}

static int
is_token_file(const struct dirent *d)
{
	return d->d_name[0] != '.' && has_suffix(d->d_name, ".json") &&
	    strlen(d->d_name) > strlen(".json");
}

int
store_list(char ***namesp, size_t *np)
{
	struct dirent **ents = NULL;
	struct stat st;
	char *dir = NULL, *path, **names = NULL;
	size_t n = 0;
	int count = 0, i, r;

	*namesp = NULL;
	*np = 0;
	if ((r = store_dir(&dir)) != 0)
		goto out;
	count = scandir(dir, &ents, is_token_file, alphasort);
	if (count == -1) {
		count = 0;
		r = errno == ENOENT ? 0 : -errno;
		if (r == 0 && (names = calloc(1, sizeof(*names))) == NULL)
			r = -ENOMEM;
		if (r == 0) {
			*namesp = names;
			names = NULL;
		}
		goto out;
	}
	if ((names = calloc((size_t)count + 1, sizeof(*names))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < count; i++) {
		if (asprintf(&path, "%s/%s", dir, ents[i]->d_name) == -1) {
			r = -ENOMEM;
			goto out;
		}
		/* Directories and other oddities named *.json are skipped;
		 * a symlink is listed so that refreshing it reports it. */
		r = lstat(path, &st);
		free(path);
		if (r == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
			continue;
		names[n] = strndup(ents[i]->d_name,
		    strlen(ents[i]->d_name) - strlen(".json"));
		if (names[n] == NULL) {
			r = -ENOMEM;
			goto out;
		}
		/* Not addressable as an account (say "-x.json"): not ours. */
		if (account_check(names[n]) != 0) {
			free(names[n]);
			names[n] = NULL;
			continue;
		}
		n++;
	}
	*namesp = names;
	*np = n;
	names = NULL;
	r = 0;
 out:
	store_names_free(names);
	for (i = 0; i < count; i++)
		free(ents[i]);
	free(ents);
	free(dir);
	return r;
}

const char *
store_strerror(int r)
{
	switch (r) {
	case STORE_E_NAME:
		return "not a valid account name (an account name has no '/', "
		    "does not start with '.' or '-', and has no control characters)";
	case STORE_E_JSONEXT:
		return "an account name does not end in .json (for a file in "
		    "the current directory, write ./NAME.json)";
	case STORE_E_NOHOME:
		return "cannot find the token store: neither XDG_DATA_HOME nor "
		    "HOME is set to an absolute path";
	}
	return r < 0 ? strerror(-r) : "unknown error";
}
