/*
 * postfix: token files for postfix's smtp client, set up in one step
 * (see postfix.h for the layout and why it works chrooted and not).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "errors.h"
#include "postfix.h"
#include "provider.h"
#include "xo_err.h"
#include "xo_util.h"

#define STORE_NAME	"xoauth2"
#define RUN_OUT_MAX	65536
#define RUN_TIMEOUT_MS	(300 * 1000)	/* postconf, postmap, postfix reload */

/* Runs ARGV (found on PATH, stdin /dev/null; child.h) and collects its
 * stdout (and its stderr too, unless STDOUT_ONLY: then stderr stays
 * ours) into *OUTp (a new string, at most RUN_OUT_MAX bytes, the rest
 * dropped; trailing newlines removed; may be NULL if not wanted).
 * Returns its exit status (0-255), or -errno if it could not run, was
 * killed (-ECHILD), or ran longer than RUN_TIMEOUT_MS (-ETIME). */
static int
run(const char *const argv[], int stdout_only, char **outp)
{
	const struct child_spec spec = { .argv = (char *const *)argv,
	    .out_fd = -1, .out_max = RUN_OUT_MAX, .out_truncate = 1,
	    .timeout_ms = RUN_TIMEOUT_MS, .err_mode = stdout_only ?
	    CHILD_STDERR_OURS : CHILD_STDERR_MERGE };
	struct child_result res;
	int r, ended;

	if (outp != NULL)
		*outp = NULL;
	r = child_run(&spec, &res, NULL);
	ended = r == 0;
	if (r == CHILD_E_EXEC)
		r = -(res.exec_errno < 0 ? -res.exec_errno : res.exec_errno);
	else if (r == CHILD_E_TIMEOUT)
		r = -ETIME;
	else if (r == 0)
		r = WIFEXITED(res.status) ? WEXITSTATUS(res.status) : -ECHILD;
	if (ended && outp != NULL) {
		while (res.out_len > 0 && (res.out[res.out_len - 1] == '\n' ||
		    res.out[res.out_len - 1] == '\r'))
			res.out[--res.out_len] = '\0';
		*outp = res.out != NULL ? res.out : strdup("");
		res.out = NULL;
		if (*outp == NULL)
			r = -ENOMEM;
	}
	child_result_clear(&res);
	return r;
}

/* argv for a postfix tool: TOOL [-c CONFIG_DIR] ARGS... (at most 6). */
static void
tool_argv(const char **argv, const char *config_dir, const char *tool, ...)
{
	const char *a;
	va_list ap;
	int i = 0;

	argv[i++] = tool;
	if (config_dir != NULL) {
		argv[i++] = "-c";
		argv[i++] = config_dir;
	}
	va_start(ap, tool);
	while ((a = va_arg(ap, const char *)) != NULL && i < 9)
		argv[i++] = a;
	va_end(ap);
	argv[i] = NULL;
}

/* Sets VALS[i] (new strings) to postconf's values for the N NAMES, in one
 * run: "postconf -h NAME...", or "-Fh" for master.cf fields when MASTER.
 * On failure every VALS[i] is NULL. */
static int
postconf_getv(const char *config_dir, int master, const char *const *names,
    int n, char **vals, struct xo_err *err)
{
	const char *argv[24];
	char *out = NULL, *p, *nl;
	int i, k = 0, r, code;

	for (i = 0; i < n; i++)
		vals[i] = NULL;
	if (n > 16)
		return -E2BIG;
	argv[k++] = "postconf";
	if (config_dir != NULL) {
		argv[k++] = "-c";
		argv[k++] = config_dir;
	}
	argv[k++] = master ? "-Fh" : "-h";
	for (i = 0; i < n; i++)
		argv[k++] = names[i];
	argv[k] = NULL;
	/* Its warnings (an unused parameter...) go to our stderr, not into
	 * the values. */
	if ((r = run(argv, 1, &out)) != 0) {
		code = r == -ENOMEM ? r : XO_E_UNAVAILABLE;
		if (r == -ENOENT)
			xo_err_set(err, code, "postconf is not installed (is "
			    "postfix?); install postfix first");
		else if (r > 0)
			xo_err_set(err, code, "postconf%s%s %s %s%s failed: "
			    "%.200s", config_dir ? " -c " : "", config_dir ?
			    config_dir : "", master ? "-Fh" : "-h", names[0],
			    n > 1 ? " ..." : "", out ? out : "");
		else
			xo_err_set(err, code, "cannot run postconf: %s",
			    strerror(-r));
		free(out);
		return code;
	}
	for (p = out, i = 0; i < n; i++) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl = '\0';
		if ((vals[i] = strdup(p)) == NULL) {
			r = -ENOMEM;
			break;
		}
		p = nl != NULL ? nl + 1 : p + strlen(p);
	}
	free(out);
	if (r != 0)
		for (i = 0; i < n; i++) {
			free(vals[i]);
			vals[i] = NULL;
		}
	return r;
}

/* Sets *VALp to postconf's value for NAME (see postconf_getv). */
static int
postconf_get(const char *config_dir, const char *name, int master,
    char **valp, struct xo_err *err)
{
	return postconf_getv(config_dir, master, &name, 1, valp, err);
}

/* R, after making sure ERR has words for it: a step that failed
 * without any (-ENOMEM, a name too long) gets its errno's. */
static int
said(struct xo_err *err, int r)
{
	if (r != 0 && err != NULL && err->msg[0] == '\0')
		xo_err_set(err, r, "%s", r < 0 && r > -200 ? strerror(-r) :
		    "internal error");
	return r;
}

void
postfix_free(struct postfix *pf)
{
	if (pf == NULL)
		return;
	free(pf->config_dir);
	free(pf->queue_dir);
	free(pf->mail_owner);
	free(pf->main_cf_dir);
	free(pf->password_maps);
	free(pf->relay_maps);
	free(pf);
}

int
postfix_load(const char *config_dir, struct postfix **pfp, struct xo_err *err)
{
	struct postfix *pf;
	struct passwd *pw;
	char *v = NULL;
	int r;

	*pfp = NULL;
	xo_err_clear(err);
	if ((pf = calloc(1, sizeof(*pf))) == NULL)
		return said(err, -ENOMEM);
	if (config_dir != NULL && (pf->config_dir = strdup(config_dir)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	{
		static const char *const names[] = { "queue_directory",
		    "mail_owner", "config_directory", "smtp_sasl_password_maps",
		    "sender_dependent_relayhost_maps" };
		char *vals[5];

		if ((r = postconf_getv(config_dir, 0, names, 5, vals, err)) != 0)
			goto out;
		pf->queue_dir = vals[0];
		pf->mail_owner = vals[1];
		pf->main_cf_dir = vals[2];
		pf->password_maps = vals[3];
		pf->relay_maps = vals[4];
	}
	if (pf->queue_dir[0] != '/') {
		r = xo_err_set(err, XO_E_UNAVAILABLE, "postfix's "
		    "queue_directory '%s' is not an absolute path",
		    pf->queue_dir);
		goto out;
	}
	/* An explicit -c wins over what main.cf says config_directory is. */
	if (config_dir != NULL) {
		free(pf->main_cf_dir);
		if ((pf->main_cf_dir = strdup(config_dir)) == NULL) {
			r = -ENOMEM;
			goto out;
		}
	}
	if ((pw = getpwnam(pf->mail_owner)) == NULL) {
		r = xo_err_set(err, XO_E_CONFIG, "postfix's mail_owner '%s' is "
		    "not a user on this system", pf->mail_owner);
		goto out;
	}
	pf->uid = pw->pw_uid;
	pf->gid = pw->pw_gid;
	if ((r = postconf_get(config_dir, "smtp/unix/chroot", 1, &v, err)) != 0)
		goto out;
	pf->smtp_chroot = strcmp(v, "y") == 0;
	free(v);
	v = NULL;
	if ((r = postconf_get(config_dir, "relay/unix/chroot", 1, &v, err)) != 0) {
		/* A master.cf without a relay service is fine. */
		pf->relay_chroot = 0;
		r = 0;
	} else
		pf->relay_chroot = strcmp(v, "y") == 0;
	*pfp = pf;
	pf = NULL;
	r = 0;
 out:
	free(v);
	postfix_free(pf);
	return said(err, r);
}

int
postfix_store_dir(const struct postfix *pf, char **dirp)
{
	const char *q = pf->queue_dir;
	size_t n = strlen(q);

	while (n > 1 && q[n - 1] == '/')
		n--;
	if (asprintf(dirp, "%.*s/" STORE_NAME, (int)n, q) == -1) {
		*dirp = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* mkdir -p for the components of REL below BASE (root-owned, 0755). */
static int
mkdirs_below(const char *base, const char *rel, struct xo_err *err)
{
	char path[PATH_MAX];
	const char *p;
	int n;

	for (p = rel; (p = strchr(p, '/')) != NULL; p++) {
		n = snprintf(path, sizeof(path), "%s/%.*s", base, (int)(p - rel),
		    rel);
		if (n < 0 || (size_t)n >= sizeof(path))
			return -ENAMETOOLONG;
		if (mkdir(path, 0755) == -1 && errno != EEXIST) {
			return xo_err_set(err, -errno, "cannot create %s: %s",
			    path, strerror(errno));
		}
	}
	return 0;
}

/* The chroot alias: QUEUE/<QUEUE minus '/'> -> "../.." (one ".." for each
 * directory above the link), so that QUEUE/xoauth2/X names the same file
 * inside a chroot to QUEUE as outside. */
static int
make_alias(const struct postfix *pf, struct xo_err *err)
{
	char rel[PATH_MAX], link[PATH_MAX], target[PATH_MAX], got[PATH_MAX];
	size_t i, n, t = 0;
	ssize_t len;
	int r;

	n = strlen(pf->queue_dir);
	while (n > 1 && pf->queue_dir[n - 1] == '/')
		n--;
	if (n <= 1)
		return 0;		/* QUEUE is "/": nothing to alias */
	if ((size_t)snprintf(rel, sizeof(rel), "%.*s", (int)(n - 1),
	    pf->queue_dir + 1) >= sizeof(rel) ||
	    (size_t)snprintf(link, sizeof(link), "%.*s/%s", (int)n,
	    pf->queue_dir, rel) >= sizeof(link))
		return -ENAMETOOLONG;
	target[0] = '\0';
	for (i = 0; rel[i] != '\0'; i++)
		if (rel[i] == '/') {
			if (t + 3 >= sizeof(target))
				return -ENAMETOOLONG;
			memcpy(target + t, t == 0 ? ".." : "/..", t == 0 ? 2 : 3);
			t += t == 0 ? 2 : 3;
			target[t] = '\0';
		}
	if (t == 0)
		snprintf(target, sizeof(target), ".");
	if ((len = readlink(link, got, sizeof(got) - 1)) >= 0) {
		got[len] = '\0';
		if (strcmp(got, target) == 0)
			return 0;
		return xo_err_set(err, XO_E_CONFIG, "%s already exists and "
		    "points to %s, not %s; remove it and run this again", link,
		    got, target);
	}
	if (errno != ENOENT) {
		return xo_err_set(err, XO_E_CONFIG, "%s already exists and is "
		    "not a symbolic link; move it away and run this again",
		    link);
	}
	if ((r = mkdirs_below(pf->queue_dir, rel, err)) != 0)
		return r;
	if (symlink(target, link) == -1) {
		return xo_err_set(err, -errno, "cannot create the chroot alias "
		    "%s: %s", link, strerror(errno));
	}
	return 0;
}

int
postfix_prepare(const struct postfix *pf, struct xo_err *err)
{
	struct stat st;
	char *dir = NULL;
	int r;

	xo_err_clear(err);
	if ((r = postfix_store_dir(pf, &dir)) != 0)
		return said(err, r);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		r = xo_err_set(err, -errno, "cannot create %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		r = xo_err_set(err, -ENOTDIR, "%s is not a directory; move it "
		    "away and run this again", dir);
		goto out;
	}
	if ((st.st_uid != pf->uid || st.st_gid != pf->gid) &&
	    chown(dir, pf->uid, pf->gid) == -1) {
		r = xo_err_set(err, -errno, "cannot give %s to %s: %s", dir,
		    pf->mail_owner, strerror(errno));
		goto out;
	}
	if ((st.st_mode & 07777) != 0700 && chmod(dir, 0700) == -1) {
		r = xo_err_set(err, -errno, "cannot chmod 700 %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	r = make_alias(pf, err);
 out:
	free(dir);
	return said(err, r);
}

/* Gives PATH to mail_owner, mode 0600, if it exists (MUST: it must).
 * Only a regular file with one link, owned by root or mail_owner, checked
 * on the descriptor it changes: postfix (or a chrooted smtp acting as
 * postfix) can put names in its store, e.g. a hard link to /etc/shadow
 * where fs.protected_hardlinks is 0, and root must not hand it over. */
static int
adopt_one(const struct postfix *pf, const char *path, int must,
    struct xo_err *err)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd == -1) {
		if (errno == ENOENT && !must)
			return 0;
		return xo_err_set(err, -errno, "cannot open %s: %s", path,
		    strerror(errno));
	}
	if (fstat(fd, &st) == -1) {
		r = xo_err_set(err, XO_E_IO, "cannot stat %s: %s", path,
		    strerror(errno));
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 || (st.st_uid != 0 && st.st_uid != pf->uid)) {
		r = xo_err_set(err, XO_E_REFUSED, "refusing to give %s to %s: "
		    "%s; check it, remove it and try again", path,
		    pf->mail_owner,
		    !S_ISREG(st.st_mode) ? "not a regular file" :
		    st.st_nlink != 1 ? "it has more than one link (a hard "
		    "link to another file?)" : "it belongs to another user");
		close(fd);
		return r;
	}
	if (fchown(fd, pf->uid, pf->gid) == -1 || fchmod(fd, 0600) == -1) {
		r = xo_err_set(err, -errno, "cannot give %s to %s (mode 0600): "
		    "%s", path, pf->mail_owner, strerror(errno));
		close(fd);
		return r;
	}
	close(fd);
	return 0;
}

int
postfix_adopt(const struct postfix *pf, const char *path, struct xo_err *err)
{
	char lock[PATH_MAX];
	int r;

	xo_err_clear(err);
	if ((r = adopt_one(pf, path, 1, err)) != 0)
		return r;
	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >= sizeof(lock))
		return said(err, -ENAMETOOLONG);
	return adopt_one(pf, lock, 0, err);
}

int
postfix_check_relay(const char *relay, struct xo_err *err)
{
	const char *port, *close_b;
	size_t i;

	if (relay[0] == '[') {
		close_b = strchr(relay, ']');
		if (close_b == NULL || close_b == relay + 1 || close_b[1] != ':')
			goto bad;
		port = close_b + 2;
	} else {
		port = strrchr(relay, ':');
		if (port == NULL || port == relay)
			goto bad;
		port++;
	}
	if (*port == '\0' || strlen(port) > 5)
		goto bad;
	for (i = 0; port[i] != '\0'; i++)
		if (port[i] < '0' || port[i] > '9')
			goto bad;
	for (i = 0; relay[i] != '\0'; i++)
		if ((unsigned char)relay[i] <= ' ' || relay[i] == ',' ||
		    (unsigned char)relay[i] >= 0x7f)
			goto bad;
	return 0;
 bad:
	return xo_err_set(err, XO_E_USAGE, "--relay '%s' is not HOST:PORT or "
	    "[HOST]:PORT (e.g. %s)", relay, provider_relay_example());
}

/* The relay's host, without brackets and port, into BUF. */
static void
relay_host(const char *relay, char *buf, size_t size)
{
	const char *end;

	if (relay[0] == '[') {
		end = strchr(relay, ']');
		snprintf(buf, size, "%.*s", (int)(end - relay - 1), relay + 1);
	} else {
		end = strrchr(relay, ':');
		snprintf(buf, size, "%.*s", (int)(end - relay), relay);
	}
}

/* Tokens go over TLS only; a loopback relay (a local test server, a
 * local TLS wrapper) may be plain. */
static const char *
tls_level(const char *relay)
{
	char host[256];

	relay_host(relay, host, sizeof(host));
	if (strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0 ||
	    strcmp(host, "localhost") == 0)
		return "may";
	return "encrypt";
}

/* A map postfix_apply can edit: "type:/path" with an indexed or plain
 * text type.  Sets *TYPEp (static) and *FILEp (new). */
static int
map_file(const char *map, const char **typep, char **filep)
{
	static const char *types[] = { "texthash", "hash", "lmdb", "btree",
	    "cdb" };
	const char *colon = strchr(map, ':');
	size_t i;

	*filep = NULL;
	if (colon == NULL || colon[1] != '/' ||
	    strpbrk(map, " \t,") != NULL)
		return XO_E_CONFIG;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i]) == (size_t)(colon - map) &&
		    strncmp(map, types[i], (size_t)(colon - map)) == 0) {
			*typep = types[i];
			return (*filep = strdup(colon + 1)) ? 0 : -ENOMEM;
		}
	return XO_E_CONFIG;
}

/* The map to use for a setting whose value is CUR: CUR itself, or (unset)
 * texthash:MAIN_CF_DIR/DEFNAME.  Sets *MAPp (new). */
static int
choose_map(const struct postfix *pf, const char *cur, const char *defname,
    char **mapp)
{
	if (cur[0] != '\0')
		*mapp = strdup(cur);
	else if (asprintf(mapp, "texthash:%s/%s", pf->main_cf_dir,
	    defname) == -1)
		*mapp = NULL;
	return *mapp != NULL ? 0 : -ENOMEM;
}

/* One main.cf setting the setup makes. */
struct setting {
	const char	*name;
	char		 value[PATH_MAX + 32];
};

#define MAX_SETTINGS	8

/* Fills S with the main.cf settings for A; returns their number. */
static int
settings_for(const struct postfix *pf, const struct postfix_account *a,
    const char *pw_map, const char *relay_map, struct setting *s)
{
	int n = 0;

#define SET(k, ...) do { s[n].name = (k); \
	snprintf(s[n].value, sizeof(s[n].value), __VA_ARGS__); n++; } while (0)
	if (a->sender == NULL)
		SET("relayhost", "%s", a->relay);
	else {
		SET("smtp_sender_dependent_authentication", "yes");
		SET("sender_dependent_relayhost_maps", "%s", relay_map);
	}
	SET("smtp_sasl_auth_enable", "yes");
	SET("smtp_sasl_mechanism_filter", "xoauth2");
	SET("smtp_sasl_security_options", "noanonymous");
	SET("smtp_sasl_password_maps", "%s", pw_map);
	SET("smtp_tls_security_level", "%s", tls_level(a->relay));
#undef SET
	(void)pf;
	return n;
}

void
postfix_print(FILE *f, const struct postfix *pf,
    const struct postfix_account *a)
{
	struct setting s[MAX_SETTINGS];
	char *pw_map = NULL, *relay_map = NULL, *file = NULL;
	const char *type;
	int i, n;

	if (choose_map(pf, pf->password_maps, "sasl_passwd", &pw_map) != 0 ||
	    choose_map(pf, pf->relay_maps, "sender_relay", &relay_map) != 0)
		goto out;
	if (map_file(pw_map, &type, &file) == 0)
		fprintf(f, "# %s%s\n", file, strcmp(type, "texthash") == 0 ?
		    "" : " (then: postmap it)");
	else
		fprintf(f, "# a line for smtp_sasl_password_maps (%s)\n", pw_map);
	fprintf(f, "%s\t%s:%s\n", a->sender ? a->sender : a->relay, a->user,
	    a->path);
	if (a->sender != NULL) {
		free(file);
		file = NULL;
		if (map_file(relay_map, &type, &file) == 0)
			fprintf(f, "# %s\n", file);
		else
			fprintf(f, "# a line for sender_dependent_relayhost_maps "
			    "(%s)\n", relay_map);
		fprintf(f, "%s\t%s\n", a->sender, a->relay);
	}
	fprintf(f, "# main.cf (postconf%s%s -e ...)\n",
	    pf->config_dir ? " -c " : "", pf->config_dir ? pf->config_dir : "");
	n = settings_for(pf, a, pw_map, relay_map, s);
	for (i = 0; i < n; i++)
		fprintf(f, "%s = %s\n", s[i].name, s[i].value);
 out:
	free(pw_map);
	free(relay_map);
	free(file);
}

/* Rewrites the map file FILE without the lines DROP says to drop, plus
 * the line ADD (NULL: none).  Keeps FILE's mode (0600 for a new one);
 * writes FILE.xoauth2-tmp and renames it over FILE.  Sets *DROPPEDp to the
 * number of lines dropped.  DROP(line, arg) returns 1 to drop. */
static int
map_rewrite(const char *file, int (*drop)(const char *, const void *),
    const void *arg, const char *add, int *droppedp, struct xo_err *err)
{
	char tmp[PATH_MAX], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	struct stat st;
	mode_t mode = 0600;
	FILE *in, *out = NULL;
	int fd, r = 0;

	*droppedp = 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.xoauth2-tmp", file) >=
	    sizeof(tmp))
		return -ENAMETOOLONG;
	if ((in = fopen(file, "re")) == NULL && errno != ENOENT) {
		return xo_err_set(err, -errno, "cannot read %s: %s", file,
		    strerror(errno));
	}
	if (in != NULL && fstat(fileno(in), &st) == 0)
		mode = st.st_mode & 07777;
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1 || (out = fdopen(fd, "w")) == NULL) {
		r = xo_err_set(err, -errno, "cannot write %s: %s", tmp,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		goto out;
	}
	while (in != NULL && (len = getline(&line, &cap, in)) != -1) {
		if (drop(line, arg)) {
			(*droppedp)++;
			continue;
		}
		fputs(line, out);
		if (len > 0 && line[len - 1] != '\n')
			fputc('\n', out);
	}
	if (add != NULL)
		fprintf(out, "%s\n", add);
	if (fflush(out) != 0 || fsync(fileno(out)) != 0) {
		r = xo_err_set(err, -errno, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (fchmod(fileno(out), mode) == -1 || rename(tmp, file) == -1) {
		r = xo_err_set(err, -errno, "cannot replace %s: %s", file,
		    strerror(errno));
		goto out;
	}
 out:
	if (out != NULL)
		fclose(out);
	if (r != 0)
		unlink(tmp);
	if (in != NULL)
		fclose(in);
	free(line);
	return r;
}

/* The first whitespace-separated field of LINE equals KEY. */
static int
drop_key(const char *line, const void *arg)
{
	const char *key = arg;
	size_t n = strlen(key);

	while (*line == ' ' || *line == '\t')
		line++;
	return strncmp(line, key, n) == 0 &&
	    (line[n] == ' ' || line[n] == '\t');
}

/* LINE's value (after the key) is USER:PATH for this PATH. */
static int
drop_path(const char *line, const void *arg)
{
	const char *path = arg, *end;
	size_t n = strlen(path), len = strcspn(line, "\r\n");

	end = line + len;
	while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return (size_t)(end - line) > n + 1 && end[-(long)n - 1] == ':' &&
	    strncmp(end - n, path, n) == 0 && line[0] != '#';
}

static int
postmap(const struct postfix *pf, const char *type, const char *file,
    FILE *log, struct xo_err *err)
{
	const char *argv[10];
	char map[PATH_MAX + 16], *out = NULL;
	int r;

	if (strcmp(type, "texthash") == 0)
		return 0;
	snprintf(map, sizeof(map), "%s:%s", type, file);
	tool_argv(argv, pf->config_dir, "postmap", map, (char *)NULL);
	if ((r = run(argv, 0, &out)) != 0) {
		r = xo_err_set(err, XO_E_UNAVAILABLE, "postmap %s failed: "
		    "%.200s", map, out ? out : "");
		free(out);
		return r;
	}
	fprintf(log, "ran postmap %s\n", map);
	free(out);
	return 0;
}

/* One postconf run: "-e NAME=VALUE..." for the N settings S, or (REMOVE)
 * "-X NAME..." for their names. */
static int
postconf_setv(const struct postfix *pf, const struct setting *s, int n,
    int remove, FILE *log, struct xo_err *err)
{
	char kv[MAX_SETTINGS][PATH_MAX + 128], *out = NULL;
	const char *argv[MAX_SETTINGS + 6];
	int i, k = 0, r;

	if (n == 0)
		return 0;
	argv[k++] = "postconf";
	if (pf->config_dir != NULL) {
		argv[k++] = "-c";
		argv[k++] = pf->config_dir;
	}
	argv[k++] = remove ? "-X" : "-e";
	for (i = 0; i < n && i < MAX_SETTINGS; i++) {
		snprintf(kv[i], sizeof(kv[i]), "%s=%s", s[i].name, s[i].value);
		argv[k++] = remove ? s[i].name : kv[i];
	}
	argv[k] = NULL;
	if ((r = run(argv, 0, &out)) != 0) {
		r = xo_err_set(err, XO_E_UNAVAILABLE, "postconf %s %s... "
		    "failed: %.200s", remove ? "-X" : "-e", s[0].name,
		    out ? out : "");
		free(out);
		return r;
	}
	free(out);
	for (i = 0; i < n; i++)
		if (remove)
			fprintf(log, "removed %s (was %s)\n", s[i].name, s[i].value);
		else
			fprintf(log, "set %s = %s\n", s[i].name, s[i].value);
	return 0;
}

/* postfix reload, if this instance is running. */
static int
reload(const struct postfix *pf, FILE *log, struct xo_err *err)
{
	const char *argv[10];
	char *out = NULL;
	int r;

	tool_argv(argv, pf->config_dir, "postfix", "status", (char *)NULL);
	if (run(argv, 0, NULL) != 0) {
		fprintf(log, "postfix is not running: it reads the new settings "
		    "when it starts\n");
		return 0;
	}
	tool_argv(argv, pf->config_dir, "postfix", "reload", (char *)NULL);
	if ((r = run(argv, 0, &out)) != 0) {
		r = xo_err_set(err, XO_E_UNAVAILABLE, "postfix reload failed: "
		    "%.200s", out ? out : "");
		free(out);
		return r;
	}
	free(out);
	fprintf(log, "reloaded postfix\n");
	return 0;
}

/* Puts the line "KEY\tVALUE" into MAP, replacing KEY's line. */
static int
map_put(const struct postfix *pf, const char *map, const char *key,
    const char *value, FILE *log, struct xo_err *err)
{
	char line[PATH_MAX * 2], *file = NULL;
	const char *type;
	int r, dropped;

	if ((r = map_file(map, &type, &file)) != 0) {
		if (r == XO_E_CONFIG)
			xo_err_set(err, r, "cannot edit the map %s (only one "
			    "texthash/hash/lmdb/btree/cdb file); add the line "
			    "'%s %s' to it yourself", map, key, value);
		return r;
	}
	snprintf(line, sizeof(line), "%s\t%s", key, value);
	if ((r = map_rewrite(file, drop_key, key, line, &dropped, err)) == 0) {
		fprintf(log, "%s %s in %s\n", dropped ? "replaced" : "added",
		    key, file);
		r = postmap(pf, type, file, log, err);
	}
	free(file);
	return r;
}

/* Every main.cf setting postfix_apply may set.  The sender ones only
 * matter for undoing while the relay map is empty too. */
static const char *const ours[] = { "relayhost", "smtp_sasl_auth_enable",
    "smtp_sasl_mechanism_filter", "smtp_sasl_security_options",
    "smtp_sasl_password_maps", "smtp_tls_security_level",
    "smtp_sender_dependent_authentication",
    "sender_dependent_relayhost_maps" };
#define NOURS	((int)(sizeof(ours) / sizeof(ours[0])))

/* What main.cf said before the first postfix_apply, so that undoing
 * restores it: SAVED_NAME in config_directory, next to main.cf and as
 * root's as main.cf, one line per setting of ours, "NAME=VALUE", or
 * "NAME" alone when main.cf did not set it.  Older versions kept it in
 * the postfix store (LEGACY_SAVED_NAME), which postfix -- and a
 * compromised chrooted smtp, as /xoauth2/... -- can rewrite: that file
 * is never applied, only shown for the admin to check. */
#define SAVED_NAME		"xoauth2-main.cf.saved"
#define LEGACY_SAVED_NAME	"postfix-main.cf.saved"

struct saved {
	int	 known[NOURS];		/* a line for ours[i] */
	int	 set[NOURS];		/* main.cf set it */
	char	 value[NOURS][PATH_MAX + 32];
};

/* The explicit settings of main.cf (postconf -n) for ours[]: SV->set and
 * SV->value, SV->known all 1. */
static int
explicit_settings(const struct postfix *pf, struct saved *sv,
    struct xo_err *err)
{
	const char *argv[6];
	char *out = NULL, *line, *save = NULL;
	size_t n;
	int i, k = 0, r;

	memset(sv, 0, sizeof(*sv));
	argv[k++] = "postconf";
	if (pf->config_dir != NULL) {
		argv[k++] = "-c";
		argv[k++] = pf->config_dir;
	}
	argv[k++] = "-n";
	argv[k] = NULL;
	if ((r = run(argv, 1, &out)) != 0) {
		r = xo_err_set(err, XO_E_UNAVAILABLE, "postconf -n failed "
		    "(exit %d)", r);
		free(out);
		return r;
	}
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		for (i = 0; i < NOURS; i++) {
			n = strlen(ours[i]);
			if (strncmp(line, ours[i], n) == 0 &&
			    strncmp(line + n, " = ", 3) == 0) {
				sv->set[i] = 1;
				snprintf(sv->value[i], sizeof(sv->value[i]), "%s",
				    line + n + 3);
			}
		}
	for (i = 0; i < NOURS; i++)
		sv->known[i] = 1;
	free(out);
	return 0;
}

static int
saved_path(const struct postfix *pf, char *buf, size_t size)
{
	int n;

	n = snprintf(buf, size, "%s/" SAVED_NAME, pf->main_cf_dir);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int
legacy_saved_path(const struct postfix *pf, char *buf, size_t size)
{
	char *dir = NULL;
	int n;

	if (postfix_store_dir(pf, &dir) != 0)
		return -ENOMEM;
	n = snprintf(buf, size, "%s/" LEGACY_SAVED_NAME, dir);
	free(dir);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* A saved record is a few lines; one postfix may write (the legacy one)
 * can be of any size, and grow while we read it. */
#define SAVED_MAX	(64 * 1024)

/* Reads F's lines into SV (which the caller zeroed): SAVED_MAX bytes at
 * most; a line too long for a setting is skipped. */
static void
saved_parse(FILE *f, struct saved *sv)
{
	char line[PATH_MAX + 256], *eq;
	size_t n;
	int i, skip = 0;

	/* ftell: bytes read, NUL bytes included (strlen would not count
	 * them). */
	while (ftell(f) < SAVED_MAX && fgets(line, sizeof(line), f) != NULL) {
		n = strlen(line);
		if (n == 0)		/* a NUL byte: not a setting */
			continue;
		/* A line longer than LINE is not a setting: skip all of it. */
		if (skip || (n == sizeof(line) - 1 && line[n - 1] != '\n')) {
			skip = line[n - 1] != '\n';
			continue;
		}
		line[strcspn(line, "\n")] = '\0';
		eq = strchr(line, '=');
		n = eq != NULL ? (size_t)(eq - line) : strlen(line);
		for (i = 0; i < NOURS; i++)
			if (strlen(ours[i]) == n && strncmp(line, ours[i], n) == 0) {
				sv->known[i] = 1;
				sv->set[i] = eq != NULL;
				snprintf(sv->value[i], sizeof(sv->value[i]), "%s",
				    eq != NULL ? eq + 1 : "");
			}
	}
}

/* Opens PATH to read (no symbolic link, no blocking on a FIFO) and
 * checks on that descriptor that it is a regular file with one link;
 * ROOT_ONLY: also owned by root with no group or other write bit, so
 * that only root can have written it.  NULL if not, with *WHYp saying
 * why (NULL: there is no such file). */
static FILE *
saved_open(const char *path, int root_only, const char **whyp)
{
	struct stat st;
	FILE *f;
	int fd;

	*whyp = NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd == -1) {
		if (errno != ENOENT)
			*whyp = strerror(errno);
		return NULL;
	}
	if (fstat(fd, &st) == -1)
		*whyp = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		*whyp = "not a regular file";
	else if (st.st_nlink != 1)
		*whyp = "it has more than one link";
	else if (st.st_size > SAVED_MAX)
		*whyp = "larger than 64 KiB, no saved record";
	else if (root_only && st.st_uid != 0)
		*whyp = "it does not belong to root";
	else if (root_only && (st.st_mode & 022) != 0)
		*whyp = "it is writable by group or others";
	if (*whyp != NULL || (f = fdopen(fd, "r")) == NULL) {
		if (*whyp == NULL)
			*whyp = strerror(errno);
		close(fd);
		return NULL;
	}
	return f;
}

/* Writes to LOG the postconf commands that would give main.cf what SV
 * says, for the admin to check and run (each word shell-quoted, its
 * text made printable: the file is not ours to trust). */
static void
print_postconf(FILE *log, const struct postfix *pf, const struct saved *sv)
{
	char kv[PATH_MAX + 64], word[XO_SHELL_WORD_MAX];
	int i;

	for (i = 0; i < NOURS; i++) {
		if (!sv->known[i])
			continue;
		fprintf(log, "#   postconf");
		if (pf->config_dir != NULL)
			fprintf(log, " -c %s", xo_shell_word(word, sizeof(word),
			    xo_printable(kv, sizeof(kv), pf->config_dir,
			    strlen(pf->config_dir))));
		if (!sv->set[i]) {
			fprintf(log, " -X %s\n", ours[i]);
			continue;
		}
		snprintf(kv, sizeof(kv), "%s=%s", ours[i], sv->value[i]);
		xo_printable(kv, sizeof(kv), kv, strlen(kv));
		fprintf(log, " -e %s\n", xo_shell_word(word, sizeof(word), kv));
	}
}

/* An older version's saved settings, in the postfix store: shown on LOG
 * as commands for the admin, never applied.  1 if there is such a file. */
static int
legacy_show(const struct postfix *pf, FILE *log)
{
	char path[PATH_MAX];
	const char *why;
	struct saved sv;
	FILE *f;

	if (legacy_saved_path(pf, path, sizeof(path)) != 0)
		return 0;
	if ((f = saved_open(path, 0, &why)) == NULL) {
		if (why != NULL && log != NULL)
			fprintf(log, "# %s is there but cannot be read (%s): "
			    "check it, then remove it\n", path, why);
		return why != NULL;
	}
	memset(&sv, 0, sizeof(sv));
	saved_parse(f, &sv);
	fclose(f);
	if (log == NULL)
		return 1;
	fprintf(log, "# NOT applied: %s, what main.cf said before an older "
	    "xoauth2-token set it up, is in postfix's queue directory, where postfix "
	    "(and a chrooted smtp) can rewrite it.  The settings above were "
	    "removed instead.  If these are what main.cf said before, check "
	    "them, run them, then remove that file:\n", path);
	print_postconf(log, pf, &sv);
	return 1;
}

/* Reads the saved settings into SV: nothing known if there is no file,
 * or if it is not only root's to write (saved_explain says so). */
static void
saved_read(const struct postfix *pf, struct saved *sv)
{
	char path[PATH_MAX];
	const char *why;
	FILE *f;

	memset(sv, 0, sizeof(*sv));
	if (saved_path(pf, path, sizeof(path)) != 0 ||
	    (f = saved_open(path, 1, &why)) == NULL)
		return;
	saved_parse(f, sv);
	fclose(f);
}

/* Says on LOG why saved_read found nothing to trust: the file is not
 * only root's (then it is ignored), or only an older version's record
 * is there (then it is shown as commands). */
static void
saved_explain(const struct postfix *pf, FILE *log)
{
	char path[PATH_MAX];
	const char *why;
	FILE *f;

	if (saved_path(pf, path, sizeof(path)) != 0)
		return;
	if ((f = saved_open(path, 1, &why)) != NULL) {
		fclose(f);
		return;
	}
	if (why != NULL)
		fprintf(log, "# NOT applied: %s (%s); the settings above were "
		    "removed instead of restored: check main.cf\n", path, why);
	else
		(void)legacy_show(pf, log);
}

static int
saved_write(const struct postfix *pf, const struct saved *sv,
    struct xo_err *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int fd, i, r;

	if ((r = saved_path(pf, path, sizeof(path))) != 0)
		return r;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		r = xo_err_set(err, -errno, "cannot write %s: %s", tmp,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return r;
	}
	for (i = 0; i < NOURS; i++)
		if (sv->known[i])
			fprintf(f, sv->set[i] ? "%s=%s\n" : "%s\n", ours[i],
			    sv->value[i]);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 ||
	    rename(tmp, path) == -1) {
		r = xo_err_set(err, -errno, "cannot write %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		return r;
	}
	return 0;
}

/* Remembers what main.cf said of the settings S before the first change
 * (later changes keep the first record). */
static int
save_before(const struct postfix *pf, const struct setting *s, int n,
    struct xo_err *err)
{
	struct saved sv, now;
	int i, j, changed = 0, r;

	saved_read(pf, &sv);
	/* Only an older version's record: main.cf already holds what that
	 * setup gave it, which is not what it said before.  Record nothing;
	 * --remove removes the settings and shows the old record. */
	for (i = 0; i < NOURS && !sv.known[i]; i++)
		;
	if (i == NOURS && legacy_show(pf, NULL))
		return 0;
	if ((r = explicit_settings(pf, &now, err)) != 0)
		return r;
	for (j = 0; j < n; j++)
		for (i = 0; i < NOURS; i++)
			if (strcmp(s[j].name, ours[i]) == 0 && !sv.known[i]) {
				sv.known[i] = 1;
				sv.set[i] = now.set[i];
				memcpy(sv.value[i], now.value[i], sizeof(sv.value[i]));
				changed = 1;
			}
	return changed ? saved_write(pf, &sv, err) : 0;
}

int
postfix_apply(const struct postfix *pf, const struct postfix_account *a,
    FILE *log, struct xo_err *err)
{
	struct setting s[MAX_SETTINGS];
	char *pw_map = NULL, *relay_map = NULL, value[PATH_MAX + 256];
	int n, r;

	xo_err_clear(err);
	if ((r = choose_map(pf, pf->password_maps, "sasl_passwd", &pw_map)) != 0 ||
	    (r = choose_map(pf, pf->relay_maps, "sender_relay", &relay_map)) != 0)
		goto out;
	snprintf(value, sizeof(value), "%s:%s", a->user, a->path);
	if ((r = map_put(pf, pw_map, a->sender ? a->sender : a->relay, value,
	    log, err)) != 0)
		goto out;
	if (a->sender != NULL &&
	    (r = map_put(pf, relay_map, a->sender, a->relay, log, err)) != 0)
		goto out;
	n = settings_for(pf, a, pw_map, relay_map, s);
	if ((r = save_before(pf, s, n, err)) != 0 ||
	    (r = postconf_setv(pf, s, n, 0, log, err)) != 0)
		goto out;
	r = reload(pf, log, err);
 out:
	free(pw_map);
	free(relay_map);
	return said(err, r);
}

/* Removes, from MAP (if we can edit it), the lines DROP selects. */
static int
map_drop(const struct postfix *pf, const char *map,
    int (*drop)(const char *, const void *), const void *arg, int *droppedp,
    FILE *log, struct xo_err *err)
{
	char *file = NULL;
	const char *type;
	int r;

	*droppedp = 0;
	if (map[0] == '\0' || map_file(map, &type, &file) != 0)
		return 0;
	if (access(file, F_OK) == -1) {
		free(file);
		return 0;
	}
	if ((r = map_rewrite(file, drop, arg, NULL, droppedp, err)) == 0 &&
	    *droppedp > 0) {
		fprintf(log, "removed %d line%s from %s\n", *droppedp,
		    *droppedp == 1 ? "" : "s", file);
		r = postmap(pf, type, file, log, err);
	}
	free(file);
	return r;
}

/* Counts MAP's entries (lines that are neither blank nor comments). */
static int
map_count(const char *map)
{
	char *file = NULL, *line = NULL;
	const char *type, *p;
	size_t cap = 0;
	FILE *f;
	int n = 0;

	if (map[0] == '\0' || map_file(map, &type, &file) != 0)
		return 0;
	if ((f = fopen(file, "re")) != NULL) {
		while (getline(&line, &cap, f) != -1) {
			p = line + strspn(line, " \t\r\n");
			n += *p != '\0' && *p != '#';
		}
		fclose(f);
	}
	free(line);
	free(file);
	return n;
}

/* The keys (first fields) of MAP's lines whose value is USER:PATH. */
static int
keys_for_path(const char *map, const char *path, char keys[][256], int max)
{
	char *file = NULL, *line = NULL;
	const char *type;
	size_t cap = 0, k;
	FILE *f;
	int n = 0;

	if (map[0] == '\0' || map_file(map, &type, &file) != 0)
		return 0;
	if ((f = fopen(file, "re")) != NULL) {
		while (n < max && getline(&line, &cap, f) != -1)
			if (drop_path(line, path)) {
				k = strcspn(line, " \t");
				snprintf(keys[n++], 256, "%.*s", (int)k, line);
			}
		fclose(f);
	}
	free(line);
	free(file);
	return n;
}

/* Is CUR the value postfix_apply gives NAME?  RELAY: the relay of a
 * removed one-relay line (NULL: none). */
static int
set_by_us(const char *name, const char *cur, const char *relay,
    const char *pw_map, const char *relay_map)
{
	if (strcmp(name, "relayhost") == 0)
		return relay != NULL && strcmp(cur, relay) == 0;
	if (strcmp(name, "smtp_sasl_password_maps") == 0)
		return strcmp(cur, pw_map) == 0;
	if (strcmp(name, "sender_dependent_relayhost_maps") == 0)
		return strcmp(cur, relay_map) == 0;
	if (strcmp(name, "smtp_tls_security_level") == 0)
		return strcmp(cur, "encrypt") == 0 || strcmp(cur, "may") == 0;
	if (strcmp(name, "smtp_sasl_mechanism_filter") == 0)
		return strcmp(cur, "xoauth2") == 0;
	if (strcmp(name, "smtp_sasl_security_options") == 0)
		return strcmp(cur, "noanonymous") == 0;
	return strcmp(cur, "yes") == 0;	/* the two on/off switches */
}

int
postfix_unapply(const struct postfix *pf, const char *path, FILE *log,
    struct xo_err *err)
{
	char keys[16][256], *pw_map = NULL, *relay_map = NULL, saved[PATH_MAX];
	struct setting drop[MAX_SETTINGS], restore[MAX_SETTINGS];
	struct saved sv, now;
	const char *relay = NULL;
	int i, nkeys, dropped, relay_empty, r, ndrop = 0, nrestore = 0;

	xo_err_clear(err);
	if ((r = choose_map(pf, pf->password_maps, "sasl_passwd", &pw_map)) != 0 ||
	    (r = choose_map(pf, pf->relay_maps, "sender_relay", &relay_map)) != 0)
		goto out;
	nkeys = keys_for_path(pw_map, path, keys, 16);
	if ((r = map_drop(pf, pw_map, drop_path, path, &dropped, log, err)) != 0)
		goto out;
	for (i = 0; i < nkeys; i++) {
		if (strchr(keys[i], '@') == NULL)
			relay = keys[i];	/* a one-relay line */
		else if ((r = map_drop(pf, relay_map, drop_key, keys[i],
		    &dropped, log, err)) != 0)
			goto out;
	}
	if (nkeys == 0)
		fprintf(log, "no map line names %s\n", path);
	/* Other credentials still in the map need the SASL settings.  Of
	 * the rest, only what still has the value we gave it goes back to
	 * what main.cf said before (SAVED_NAME), or away. */
	if (map_count(pw_map) == 0) {
		relay_empty = map_count(relay_map) == 0;
		saved_read(pf, &sv);
		if ((r = explicit_settings(pf, &now, err)) != 0)
			goto out;
		for (i = 0; i < NOURS; i++) {
			if ((strncmp(ours[i], "sender_", 7) == 0 ||
			    strncmp(ours[i], "smtp_sender_", 12) == 0) &&
			    !relay_empty)
				continue;
			if (!now.set[i] || !set_by_us(ours[i], now.value[i],
			    relay, pw_map, relay_map))
				continue;
			if (sv.known[i] && sv.set[i]) {
				restore[nrestore].name = ours[i];
				memcpy(restore[nrestore].value, sv.value[i],
				    sizeof(restore[nrestore].value));
				nrestore++;
			} else {
				drop[ndrop].name = ours[i];
				memcpy(drop[ndrop].value, now.value[i],
				    sizeof(drop[ndrop].value));
				ndrop++;
			}
		}
		if ((r = postconf_setv(pf, drop, ndrop, 1, log, err)) != 0 ||
		    (r = postconf_setv(pf, restore, nrestore, 0, log, err)) != 0)
			goto out;
		saved_explain(pf, log);
		if (relay_empty && saved_path(pf, saved, sizeof(saved)) == 0)
			(void)unlink(saved);
	}
	r = reload(pf, log, err);
 out:
	free(pw_map);
	free(relay_map);
	return said(err, r);
}

int
postfix_enable_timer(const char *unit, struct xo_err *err)
{
	const char *argv[] = { "systemctl", "enable", "--now", unit, NULL };
	char *out = NULL;
	int r;

	if ((r = run(argv, 0, &out)) != 0) {
		r = xo_err_set(err, XO_E_UNAVAILABLE, "systemctl enable --now "
		    "%s failed: %.200s", unit, out ? out : "");
		free(out);
		return r;
	}
	free(out);
	return 0;
}
