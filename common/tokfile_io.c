/*
 * tokfile: read, parse, serialise and atomically replace token files.
 * See tokfile.h for the format and the locking protocol.
 *
 * json-c and libc only: this file is linked into the SASL plugin, which
 * lives inside someone else's process (no printing, no exit, no state
 * between calls, errors as return codes).
 *
 * json-c frees what it allocated without wiping it, so every tree that
 * held a secret goes through xo_json_free(), which overwrites the string
 * values in place first, and the parser's scratch buffer is wiped before
 * the parser is freed.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "tokfile.h"
#include "xo_json.h"
#include "xo_util.h"

#ifndef O_NOFOLLOW
#error "O_NOFOLLOW is required"
#endif

/* Deepest nesting we parse (unknown members may hold objects). */
#define TOKFILE_DEPTH	16

enum member_type { M_STRING, M_INT64 };

/* The members we know, in the order we write them.  Index i's
 * missing/invalid code is TOKFILE_E_MEMBER - i; index 0 is "version",
 * handled apart because it selects the format. */
struct member {
	const char	*name;
	enum member_type type;
	int		 required;
	size_t		 offset;	/* of the char * or int64_t in tokfile */
	const char	*error;		/* tokfile_strerror's text */
};

#define M(name, type, req) { #name, type, req, offsetof(struct tokfile, name), \
	"member \"" #name "\" is missing or invalid" }
static const struct member members[] = {
	{ "version", M_INT64, 1, 0, "member \"version\" is missing or not an integer" },
	M(account, M_STRING, 0),
	M(user, M_STRING, 1),
	M(provider, M_STRING, 0),
	M(token_endpoint, M_STRING, 1),
	M(client_id, M_STRING, 1),
	M(client_secret, M_STRING, 0),
	M(scope, M_STRING, 0),
	M(access_token, M_STRING, 1),
	M(expires_at, M_INT64, 1),
	M(refresh_token, M_STRING, 0),
	M(refreshed_at, M_INT64, 0),
	M(grant, M_STRING, 0),
	M(client_secret_file, M_STRING, 0),
	M(private_key_file, M_STRING, 0),
	M(certificate_file, M_STRING, 0),
	M(certificate_thumbprint, M_STRING, 0),
	M(service_account_file, M_STRING, 0),
	M(proxy, M_STRING, 0),
	M(no_proxy, M_STRING, 0),
	M(notify, M_STRING, 0),
	M(failed_at, M_INT64, 0),
	M(failures, M_INT64, 0),
	M(failure_class, M_STRING, 0),
	M(failure, M_STRING, 0),
	M(notify_skipped, M_STRING, 0),
	M(notify_skipped_at, M_INT64, 0),
};
#undef M
#define NMEMBERS (sizeof(members) / sizeof(members[0]))

static char **
member_string(struct tokfile *tok, size_t i)
{
	return (char **)(void *)((char *)tok + members[i].offset);
}

static int64_t *
member_int64(struct tokfile *tok, size_t i)
{
	return (int64_t *)(void *)((char *)tok + members[i].offset);
}

static int
member_index(const char *name)
{
	size_t i;

	for (i = 0; i < NMEMBERS; i++)
		if (strcmp(members[i].name, name) == 0)
			return (int)i;
	return -1;
}

void
tokfile_free(struct tokfile *tok)
{
	size_t i;

	if (tok == NULL)
		return;
	for (i = 0; i < NMEMBERS; i++)
		if (members[i].type == M_STRING)
			xo_free_secret(*member_string(tok, i));
	xo_json_free(tok->extra);
	xo_freezero(tok, sizeof(*tok));
}

int
tokfile_set(char **fieldp, const char *value)
{
	char *copy = NULL;

	if (value != NULL && (copy = strdup(value)) == NULL)
		return -ENOMEM;
	xo_free_secret(*fieldp);
	*fieldp = copy;
	return 0;
}

/* Stores the member I of ROOT (V, or NULL if absent) into TOK. */
static int
parse_member(struct tokfile *tok, size_t i, struct json_object *v)
{
	const int bad = TOKFILE_E_MEMBER - (int)i;
	const char *s;
	size_t len;

	if (v == NULL || json_object_is_type(v, json_type_null))
		return members[i].required ? bad : 0;
	if (members[i].type == M_INT64) {
		int64_t n;

		if (!json_object_is_type(v, json_type_int))
			return bad;
		errno = 0;
		n = json_object_get_int64(v);
		if (errno != 0 || n < 0)
			return bad;
		*member_int64(tok, i) = n;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return bad;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	/* No embedded NUL (\u0000) and no control characters: these values
	 * end up in SASL messages, HTTP forms and terminal output. */
	if (strlen(s) != len || xo_has_ctl(s, len))
		return bad;
	if (len == 0)		/* "" is as good as absent */
		return members[i].required ? bad : 0;
	if ((*member_string(tok, i) = strdup(s)) == NULL)
		return -ENOMEM;
	return 0;
}

int
tokfile_parse(const char *text, size_t len, struct tokfile **tokp)
{
	struct json_object *root = NULL, *v, *extra = NULL, *copy;
	struct tokfile *tok = NULL;
	size_t i;
	int64_t version;
	int r;

	*tokp = NULL;
	if (len > TOKFILE_MAX)
		return TOKFILE_E_TOOBIG;
	if ((r = xo_json_parse(text, len, TOKFILE_DEPTH, &root)) != 0) {
		r = r == -ENOMEM ? r : TOKFILE_E_JSON;
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		r = TOKFILE_E_JSON;
		goto out;
	}

	if ((tok = calloc(1, sizeof(*tok))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if (!json_object_object_get_ex(root, "version", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		r = TOKFILE_E_MEMBER;
		goto out;
	}
	version = json_object_get_int64(v);
	if (version != TOKFILE_VERSION) {
		r = TOKFILE_E_VERSION;
		goto out;
	}
	tok->version = (int)version;
	for (i = 1; i < NMEMBERS; i++) {
		if (!json_object_object_get_ex(root, members[i].name, &v))
			v = NULL;
		if ((r = parse_member(tok, i, v)) != 0)
			goto out;
	}

	/* Keep what we do not know, as deep copies: ROOT is wiped below. */
	json_object_object_foreach(root, key, val) {
		if (member_index(key) >= 0)
			continue;
		if (extra == NULL && (extra = json_object_new_object()) == NULL) {
			r = -ENOMEM;
			goto out;
		}
		copy = NULL;
		if (val != NULL && json_object_deep_copy(val, &copy, NULL) != 0) {
			r = -ENOMEM;
			goto out;
		}
		if (json_object_object_add(extra, key, copy) != 0) {
			xo_json_free(copy);
			r = -ENOMEM;
			goto out;
		}
	}
	tok->extra = extra;
	extra = NULL;

	*tokp = tok;
	tok = NULL;
	r = 0;
 out:
	xo_json_free(extra);
	xo_json_free(root);
	tokfile_free(tok);
	return r;
}

/* Adds KEY: VALUE to OBJ, taking VALUE (NULL means out of memory). */
static int
add(struct json_object *obj, const char *key, struct json_object *value)
{
	if (value == NULL)
		return -ENOMEM;
	if (json_object_object_add(obj, key, value) != 0) {
		xo_json_free(value);
		return -ENOMEM;
	}
	return 0;
}

int
tokfile_format(const struct tokfile *tok, char **textp, size_t *lenp)
{
	struct json_object *root = NULL, *copy;
	struct tokfile *t = (struct tokfile *)(uintptr_t)tok; /* read only */
	const char *s;
	char *text = NULL;
	size_t i, n = 0;
	int r;

	*textp = NULL;
	*lenp = 0;
	if ((root = json_object_new_object()) == NULL)
		return -ENOMEM;
	if ((r = add(root, "version", json_object_new_int(TOKFILE_VERSION))) != 0)
		goto out;
	for (i = 1; i < NMEMBERS; i++) {
		if (members[i].type == M_INT64) {
			int64_t v = *member_int64(t, i);

			if (v < 0) {
				r = TOKFILE_E_MEMBER - (int)i;
				goto out;
			}
			if (v == 0 && !members[i].required)
				continue;	/* 0 means absent */
			r = add(root, members[i].name, json_object_new_int64(v));
		} else {
			s = *member_string(t, i);
			if (s == NULL || *s == '\0') {
				if (members[i].required) {
					r = TOKFILE_E_MEMBER - (int)i;
					goto out;
				}
				continue;
			}
			if (xo_has_ctl(s, strlen(s))) {
				r = TOKFILE_E_MEMBER - (int)i;
				goto out;
			}
			r = add(root, members[i].name, json_object_new_string(s));
		}
		if (r != 0)
			goto out;
	}
	if (tok->extra != NULL) {
		json_object_object_foreach(tok->extra, key, val) {
			if (member_index(key) >= 0)
				continue;	/* ours win */
			copy = NULL;
			if (val != NULL &&
			    json_object_deep_copy(val, &copy, NULL) != 0) {
				r = -ENOMEM;
				goto out;
			}
			if (copy == NULL) {
				if (json_object_object_add(root, key, NULL) != 0) {
					r = -ENOMEM;
					goto out;
				}
			} else if ((r = add(root, key, copy)) != 0)
				goto out;
		}
	}

	s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	/* tokfile_read refuses files over TOKFILE_MAX, and indenting can
	 * make unknown members that were written compactly several times
	 * larger: then write compactly, and never write what cannot be
	 * read back (the refresh token in it would be lost). */
	if (s != NULL && n + 1 > TOKFILE_MAX) {
		xo_wipe((char *)(uintptr_t)s, n);
		s = json_object_to_json_string_length(root,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	}
	if (s == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if (n + 1 > TOKFILE_MAX) {
		xo_wipe((char *)(uintptr_t)s, n);
		r = TOKFILE_E_TOOBIG;
		goto out;
	}
	if ((text = malloc(n + 2)) != NULL) {
		memcpy(text, s, n);
		text[n] = '\n';
		text[n + 1] = '\0';
	}
	/* The serialisation lives in ROOT's own buffer: wipe it too. */
	xo_wipe((char *)(uintptr_t)s, n);
	if (text == NULL) {
		r = -ENOMEM;
		goto out;
	}
	*textp = text;
	*lenp = n + 1;
	r = 0;
 out:
	xo_json_free(root);
	return r;
}

static char *path_dir(const char *path);

/* PATH with SUFFIX appended, in a new string (NULL: out of memory). */
static char *
path_with(const char *path, const char *suffix)
{
	size_t a = strlen(path), b = strlen(suffix);
	char *p;

	if ((p = malloc(a + b + 1)) == NULL)
		return NULL;
	memcpy(p, path, a);
	memcpy(p + a, suffix, b + 1);
	return p;
}

/* The last component of PATH. */
static const char *
path_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash == NULL ? path : slash + 1;
}

int
tokfile_read(const char *path, struct tokfile **tokp)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int dirfd = -1, fd = -1, r;

	*tokp = NULL;
	/* Readers and writers: one rule about where a token file may live. */
	if ((r = tokfile_dir_open(path, &dirfd, &st)) != 0)
		goto out;
	/* O_NONBLOCK: opening a FIFO must not hang us; O_NOFOLLOW: a
	 * symlink is refused like any other non-regular file. */
	fd = openat(dirfd, path_base(path), O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		r = -errno;
		if (errno == ELOOP && fstatat(dirfd, path_base(path), &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			r = TOKFILE_E_NOTREG;
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = TOKFILE_E_NOTREG;
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		r = TOKFILE_E_PERMS;
		goto out;
	}
	if (st.st_size > TOKFILE_MAX) {
		r = TOKFILE_E_TOOBIG;
		goto out;
	}
	/* One byte more than allowed, to notice a file that grew. */
	if ((text = malloc(TOKFILE_MAX + 1)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = xo_read_full(fd, text, TOKFILE_MAX + 1, &len)) != 0)
		goto out;
	if (len > TOKFILE_MAX) {
		r = TOKFILE_E_TOOBIG;
		goto out;
	}
	r = tokfile_parse(text, len, tokp);
 out:
	xo_freezero(text, len);	/* only what was read holds secrets */
	if (fd != -1)
		close(fd);
	if (dirfd != -1)
		close(dirfd);
	return r;
}

int
tokfile_dir_open(const char *path, int *dirfdp, struct stat *st)
{
	char *dir;
	int fd, r;

	*dirfdp = -1;
	if ((dir = path_dir(path)) == NULL)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	r = fd == -1 ? -errno : 0;
	/* Linux says ENOTDIR (or ELOOP) for a symlink with O_NOFOLLOW. */
	if ((r == -ENOTDIR || r == -ELOOP) && lstat(dir, st) == 0 &&
	    S_ISLNK(st->st_mode))
		r = TOKFILE_E_DIRLINK;
	free(dir);
	if (r != 0)
		return r;
	if (fstat(fd, st) == -1) {
		r = -errno;
		close(fd);
		return r;
	}
	/* Sticky /tmp-style ones too: anyone could hold PATH.lock, plant
	 * PATH.tmp, or rename PATH away there. */
	if ((st->st_mode & 022) != 0) {
		close(fd);
		return TOKFILE_E_DIRPERMS;
	}
	*dirfdp = fd;
	return 0;
}

/* The directory holding PATH, in a new string (NULL: out of memory). */
static char *
path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* fsync(2) the directory holding PATH, so that a rename in it is durable. */
static int
fsync_parent(const char *path)
{
	char *dir;
	int fd, r = 0;

	if ((dir = path_dir(path)) == NULL)
		return -ENOMEM;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		r = -errno;
	else {
		/* Some file systems cannot sync a directory (EINVAL): nothing
		 * more we can do there. */
		if (fsync(fd) == -1 && errno != EINVAL)
			r = -errno;
		close(fd);
	}
	free(dir);
	return r;
}

static int
same_grant(const struct tokfile *a, const struct tokfile *b)
{
	return strcmp(a->user, b->user) == 0 &&
	    strcmp(a->token_endpoint, b->token_endpoint) == 0 &&
	    strcmp(a->client_id, b->client_id) == 0;
}

static int
mtime_before(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec < b->st_mtim.tv_sec ||
	    (a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec < b->st_mtim.tv_nsec);
}

/*
 * Whether TMP (PATH.tmp) is a finished write that PATH should be rolled
 * forward to.  The caller holds the lock.
 *
 * Only a lock holder writes PATH.tmp, and every write that completes
 * renames it away, so one that exists was the last writer's.  If it is
 * complete (it parses), as safe as PATH itself would have to be, not
 * older than PATH and for the same grant, it is what PATH should hold:
 * typically the answer to a refresh whose old refresh token the server
 * has already retired.  A reservation (tokfile_reserve) is zeros, or
 * text followed by zeros, and never parses.
 */
static int
tmp_rollable(const char *path, const char *tmp)
{
	struct tokfile *tmptok = NULL, *cur = NULL;
	struct stat tst, pst;
	int have_path, ok = 0;

	if (lstat(tmp, &tst) == -1 || !S_ISREG(tst.st_mode))
		goto out;
	have_path = lstat(path, &pst) == 0;
	if (have_path && (tst.st_uid != pst.st_uid || mtime_before(&tst, &pst)))
		goto out;
	if (!have_path && tst.st_uid != geteuid())
		goto out;
	/* tokfile_read refuses symlinks, loose modes and broken text. */
	if (tokfile_read(tmp, &tmptok) != 0)
		goto out;
	if (have_path && tokfile_read(path, &cur) == 0 && !same_grant(cur, tmptok))
		goto out;
	ok = 1;
 out:
	tokfile_free(cur);
	tokfile_free(tmptok);
	return ok;
}

/* Rolls a finished PATH.tmp forward (see tmp_rollable); anything else is
 * left for write_locked or tokfile_reserve to reuse or unlink.  Failures
 * here are not errors: PATH is still good. */
static void
recover_locked(const char *path)
{
	char *tmp = NULL;
	int fd = -1;

	if ((tmp = path_with(path, ".tmp")) == NULL)
		return;
	if (!tmp_rollable(path, tmp))
		goto out;
	/* Its writer may have died before its fsync ended. */
	if ((fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1)
		goto out;
	if (rename(tmp, path) == 0)
		(void)fsync_parent(path);
 out:
	if (fd != -1)
		close(fd);
	free(tmp);
}

/*
 * Opens TMP (PATH.tmp) for writing into *FDp; the caller holds the lock.
 * Reuses an existing TMP only if it is a regular file (lstat, then fstat
 * of what was opened: the same inode), owned by us, with one link, no
 * group or other bit, and not a complete token file: that is a
 * reservation, or the remains of a writer that died before finishing.
 * Anything else is unlinked (a symlink itself, never its target) and TMP
 * created with O_EXCL|O_NOFOLLOW, mode 0600.  A complete token file is
 * unlinked too, unless KEEP_ROLLABLE and PATH should be rolled forward to
 * it: then -EEXIST, and it stays.
 */
static int
tmp_open(const char *path, const char *tmp, int keep_rollable, int *fdp)
{
	struct stat lst, st;
	struct tokfile *tok = NULL;
	int fd = -1, r;

	*fdp = -1;
	if (lstat(tmp, &lst) == 0 && S_ISREG(lst.st_mode) &&
	    lst.st_uid == geteuid() && lst.st_nlink == 1 &&
	    (lst.st_mode & 077) == 0) {
		if (tokfile_read(tmp, &tok) == 0) {
			tokfile_free(tok);
			if (keep_rollable && tmp_rollable(path, tmp))
				return -EEXIST;
		} else if ((fd = open(tmp, O_WRONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC | O_NOCTTY)) != -1) {
			if (fstat(fd, &st) == 0 && st.st_ino == lst.st_ino &&
			    st.st_dev == lst.st_dev && S_ISREG(st.st_mode) &&
			    st.st_uid == geteuid() && st.st_nlink == 1) {
				*fdp = fd;
				return 0;
			}
			close(fd);
			fd = -1;
		}
	}
	/* Only a lock holder creates PATH.tmp, so one that exists was left
	 * by a writer that died.  unlink(2) removes a symlink itself, never
	 * its target; O_EXCL then refuses anything that reappeared. */
	if (unlink(tmp) == -1 && errno != ENOENT)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, 0600);
	if (fd == -1)
		return -errno;
	if (fchmod(fd, 0600) == -1) {		/* whatever the umask */
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	*fdp = fd;
	return 0;
}

/* Unlinks PATH.tmp if it is a reservation nobody wrote into (regular,
 * ours, and not a complete token file); the caller holds the lock. */
static void
tmp_discard(const char *path)
{
	struct tokfile *tok = NULL;
	struct stat st;
	char *tmp;

	if ((tmp = path_with(path, ".tmp")) == NULL)
		return;
	if (lstat(tmp, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_uid == geteuid()) {
		if (tokfile_read(tmp, &tok) == 0)
			tokfile_free(tok);
		else
			(void)unlink(tmp);
	}
	free(tmp);
}

/*
 * Before any file work on PATH: the directory rule (tokfile_dir_open).
 * Who does the work is the caller's business: the helper does it as the
 * file's owner (helper/become.h), never as root in a directory another
 * user owns; a writer run as root there is refused (TOKFILE_E_DIROWNER),
 * since that user could swap names under it between two system calls.
 */
static int
place_check(const char *path)
{
	struct stat dst;
	int dirfd, r;

	if ((r = tokfile_dir_open(path, &dirfd, &dst)) != 0)
		return r;
	close(dirfd);
	if (geteuid() == 0 && dst.st_uid != 0)
		return TOKFILE_E_DIROWNER;
	return 0;
}

int
tokfile_reserve(const char *path)
{
	struct stat st;
	char *tmp = NULL, *zeros = NULL;
	off_t want = TOKFILE_RESERVE_MIN, off;
	ssize_t n;
	int fd = -1, r;

	if ((tmp = path_with(path, ".tmp")) == NULL)
		return -ENOMEM;
	if ((r = place_check(path)) != 0) {
		free(tmp);
		return r;
	}
	if (lstat(path, &st) == 0 && st.st_size + TOKFILE_RESERVE_SLACK > want)
		want = st.st_size + TOKFILE_RESERVE_SLACK;
	if (want > TOKFILE_MAX)		/* no file we write is larger */
		want = TOKFILE_MAX;
	if ((r = tmp_open(path, tmp, 1, &fd)) != 0) {
		free(tmp);		/* nothing of ours to remove */
		return r;
	}
	/* posix_fallocate returns an errno value, not -1. */
	r = posix_fallocate(fd, 0, want);
	if (r == EOPNOTSUPP || r == EINVAL) {
		/* No fallocate here (some FUSE and network file systems):
		 * write the zeros ourselves, and sync to hear about the
		 * space now rather than in write_locked's fsync. */
		r = 0;
		if ((zeros = calloc(1, 4096)) == NULL)
			r = ENOMEM;
		for (off = 0; off < want && r == 0; off += n) {
			n = pwrite(fd, zeros, (size_t)(want - off < 4096 ?
			    want - off : 4096), off);
			if (n == -1 && errno == EINTR)
				n = 0;
			else if (n == -1)
				r = errno;
		}
		if (r == 0 && fsync(fd) == -1)
			r = errno;
	}
	r = -r;
	if (fd != -1)
		close(fd);
	if (r != 0)
		(void)unlink(tmp);	/* a reservation, or leftovers */
	free(zeros);
	free(tmp);
	return r;
}

/* Replaces PATH by TOK; the caller holds PATH.lock.  Writes into the
 * PATH.tmp that tokfile_reserve left, if any, so that the blocks it
 * reserved are the ones written: truncated to the new length, written
 * from offset 0, synced and renamed. */
static int
write_locked(const char *path, const struct tokfile *tok)
{
	char *text = NULL, *tmp = NULL;
	size_t len = 0;
	int fd = -1, r;

	if ((r = tokfile_format(tok, &text, &len)) != 0)
		goto out;
	if ((tmp = path_with(path, ".tmp")) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	/* A complete PATH.tmp that recover_locked did not take is replaced
	 * (tokfile_write overwrites on purpose). */
	if ((r = tmp_open(path, tmp, 0, &fd)) != 0)
		goto out;
	if (fchmod(fd, 0600) == -1) {		/* whatever the umask */
		r = -errno;
		goto out;
	}
	/* Cut the reservation to the new length first (the blocks below it
	 * stay allocated): once the text is written, PATH.tmp is complete,
	 * and a writer killed in the fsync below is rolled forward.  Until
	 * then it holds zeros, or text and zeros, and never parses. */
	if (ftruncate(fd, (off_t)len) == -1) {
		r = -errno;
		goto out;
	}
	if ((r = xo_write_all(fd, text, len)) != 0)
		goto out;
	if (fsync(fd) == -1) {
		r = -errno;
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r == -1) {
		r = -errno;
		goto out;
	}
	if (rename(tmp, path) == -1) {
		r = -errno;
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* The new file is in place; this only makes the rename durable. */
	r = fsync_parent(path);
 out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL && r != 0)
		unlink(tmp);	/* ours (created or reused) and unfinished */
	free(tmp);
	xo_freezero(text, len);
	return r;
}

/* Whether ST is a lock file we or the token file's owner (TOKST,
 * NULL if there is no token file) made: one link, and theirs. */
static int
lock_ours(const struct stat *st, const struct stat *tokst)
{
	return st->st_nlink == 1 && (st->st_uid == geteuid() ||
	    (tokst != NULL && st->st_uid == tokst->st_uid));
}

/* Opens PATH.lock and takes an exclusive flock on it, waiting at most
 * WAIT_MS, and no longer once *STOP (if STOP is not NULL) is set.  On
 * success *FDp holds it (close to release). */
static int
lock_take(const char *path, int wait_ms,
    const volatile sig_atomic_t *stop, int *fdp)
{
	struct stat st, tokst;
	struct timespec pause;
	int64_t deadline, delay_ms = 1;
	char *lockpath = NULL;
	int fd = -1, have_tok, r;

	*fdp = -1;
	if ((lockpath = path_with(path, ".lock")) == NULL)
		return -ENOMEM;
	have_tok = lstat(path, &tokst) == 0;
	/* Look before opening too: a linked file we may not open must be
	 * named for what it is, not as a permission problem. */
	if (lstat(lockpath, &st) == 0 && S_ISREG(st.st_mode) &&
	    !lock_ours(&st, have_tok ? &tokst : NULL)) {
		r = TOKFILE_E_LOCKFILE;
		goto out;
	}
	fd = open(lockpath, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY, 0600);
	if (fd == -1) {
		r = errno == ELOOP ? TOKFILE_E_NOTREG : -errno;
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = TOKFILE_E_NOTREG;
		goto out;
	}
	/* A second link (say, to /etc/shadow) or another user's file is not
	 * a lock file we made: refuse it, and never change it. */
	if (!lock_ours(&st, have_tok ? &tokst : NULL)) {
		r = TOKFILE_E_LOCKFILE;
		goto out;
	}

	deadline = xo_now_ms() + (wait_ms > 0 ? wait_ms : 0);
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			r = -errno;
			goto out;
		}
		if (xo_now_ms() >= deadline) {
			r = TOKFILE_E_LOCKED;
			goto out;
		}
		if (stop != NULL && *stop) {
			r = TOKFILE_E_STOPPED;
			goto out;
		}
		/* Poll with a growing pause (1, 2, 4 .. 32 ms): flock(2) has
		 * no timeout and a signal-based one would be global state.
		 * The pause also bounds how late *STOP is seen. */
		pause.tv_sec = 0;
		pause.tv_nsec = (long)delay_ms * 1000000L;
		nanosleep(&pause, NULL);
		if (delay_ms < 32)
			delay_ms *= 2;
	}
	*fdp = fd;
	fd = -1;
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	free(lockpath);
	return r;
}

int
tokfile_write(const char *path, const struct tokfile *tok)
{
	int fd, r;

	if ((r = place_check(path)) != 0)
		return r;
	if ((r = lock_take(path, TOKFILE_LOCK_WAIT_MS, NULL, &fd)) == 0) {
		r = write_locked(path, tok);
		close(fd);
	}
	return r;
}

int
tokfile_update_wait(const char *path, int wait_ms,
    int (*fn)(struct tokfile *tok, void *arg), void *arg)
{
	return tokfile_update_stoppable(path, wait_ms, NULL, fn, arg);
}

int
tokfile_update_stoppable(const char *path, int wait_ms,
    const volatile sig_atomic_t *stop,
    int (*fn)(struct tokfile *tok, void *arg), void *arg)
{
	struct tokfile *tok = NULL;
	int fd = -1, r;

	if ((r = place_check(path)) != 0)
		goto out;
	if ((r = lock_take(path, wait_ms, stop, &fd)) != 0)
		goto out;
	recover_locked(path);
	/* Whoever held the lock before us may have refreshed already:
	 * decide on what is in the file now, not on what we read before. */
	if ((r = tokfile_read(path, &tok)) != 0)
		goto out;
	r = fn(tok, arg);
	if (r == TOKFILE_UNCHANGED)
		r = 0;
	else if (r > 0)
		r = -EINVAL;
	else if (r == 0) {
		r = write_locked(path, tok);
		goto out;
	}
	/* Nothing written: drop what FN may have reserved. */
	tmp_discard(path);
 out:
	tokfile_free(tok);
	if (fd != -1)
		close(fd);
	return r;
}

int
tokfile_update(const char *path, int (*fn)(struct tokfile *tok, void *arg),
    void *arg)
{
	return tokfile_update_wait(path, TOKFILE_LOCK_WAIT_MS, fn, arg);
}

int64_t
tokfile_backoff(const struct tokfile *tok, int64_t now)
{
	int64_t pause = TOKFILE_BACKOFF_MIN, until;
	int64_t n;

	if (tok->failures <= 0 || tok->failed_at <= 0 ||
	    tok->failed_at < tok->refreshed_at)
		return 0;
	for (n = 1; n < tok->failures && pause < TOKFILE_BACKOFF_MAX; n++)
		pause *= 2;
	if (pause > TOKFILE_BACKOFF_MAX)
		pause = TOKFILE_BACKOFF_MAX;
	/* A clock that went back must not stretch the pause. */
	until = tok->failed_at > now ? now + pause : tok->failed_at + pause;
	return until > now ? until - now : 0;
}

const char *
tokfile_strerror(int r)
{
	if (r == 0)
		return "success";
	if (TOKFILE_E_IS_MEMBER(r)) {
		size_t i = (size_t)(TOKFILE_E_MEMBER - r);

		return i < NMEMBERS ? members[i].error : "a member is invalid";
	}
	switch (r) {
	case TOKFILE_E_PERMS:
		return "accessible by group or others";
	case TOKFILE_E_NOTREG:
		return "not a regular file";
	case TOKFILE_E_TOOBIG:
		return "too large for a token file";
	case TOKFILE_E_JSON:
		return "not a JSON object";
	case TOKFILE_E_VERSION:
		return "unknown token file version";
	case TOKFILE_E_LOCKED:
		return "timed out waiting for the lock";
	case TOKFILE_E_ABORTED:
		return "update abandoned";
	case TOKFILE_E_DIRPERMS:
		return "its directory is writable by group or others";
	case TOKFILE_E_DIROWNER:
		return "its directory belongs to another user than the file";
	case TOKFILE_E_DIRLINK:
		return "its directory is a symbolic link";
	case TOKFILE_E_LOCKFILE:
		return "its lock file has several links or another owner";
	case TOKFILE_E_STOPPED:
		return "stopped while waiting for the lock";
	}
	if (r < 0 && r > -4096)
		return strerror(-r);
	return "unknown error";
}
