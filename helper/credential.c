/*
 * credential: secrets moved into systemd's encrypted credential store
 * and back.  See credential.h.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "become.h"
#include "child.h"
#include "credential.h"
#include "credfile.h"
#include "errors.h"
#include "msg.h"
#include "secret.h"
#include "tokfile.h"
#include "xo_err.h"
#include "xo_util.h"

/* What systemd may hand a unit (CREDENTIAL_SIZE_MAX is 1 MiB); what we
 * move is at most SECRET_MAX (secret.h reads no more). */
#define CRED_READ_MAX	(1024 * 1024)
#define CRED_NAME_MAX	CREDENTIAL_NAME_MAX
/* systemd-creds with a TPM2 takes seconds; one that does not answer is
 * killed after this. */
#define CRED_TIMEOUT_MS	(120 * 1000)
/* The pipe from the owner's child: every secret it may send at once. */
#define CRED_PIPE_SIZE	(1024 * 1024)


/* The secrets that move; which token file members hold each is
 * secret.c's (secret_where, secret_set). */
static const struct kind {
	unsigned	 bit;
	const char	*suffix;	/* the store file: ACCOUNT-SUFFIX */
	const char	*label;
	enum secret_slot slot;
} kinds[] = {
	{ CREDENTIAL_SECRET, "secret", "client secret", SECRET_CLIENT_SECRET },
	{ CREDENTIAL_KEY, "key", "private key", SECRET_PRIVATE_KEY },
	{ CREDENTIAL_PASSPHRASE, "passphrase", "key passphrase",
	  SECRET_KEY_PASSPHRASE },
	{ CREDENTIAL_SERVICE_ACCOUNT, "service-account", "service-account key",
	  SECRET_SERVICE_ACCOUNT },
};
#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))

/* One secret on its way: where it was (or goes), its store file name,
 * and (in the parent, for a moment) the secret. */
struct item {
	const struct kind *k;
	char		 file[PATH_MAX];	/* the plaintext file */
	char		 name[CRED_NAME_MAX + 1];	/* ACCOUNT-SUFFIX */
	char		*data;
	size_t		 len;
};

/* A whole move: the owner, the store directory, the items. */
struct move {
	const struct credential_move *m;
	char		 user[64];	/* the owner, who renews */
	char		 account[CRED_NAME_MAX + 1];
	char		 dir[PATH_MAX];	/* STORE/USER */
	int		 dirfd;
	int		 wfd;		/* the child's end of the pipe */
	int		 rfd;		/* ours */
	struct item	 items[NKINDS];
	size_t		 n;
};

/* Where TOK keeps K's secret, if it is of KIND: its value (and *MEMBERp
 * its member), else NULL.  A token file that names two places for it is
 * refused by the renewal, in its own words; here it is neither. */
static const char *
kind_at(const struct tokfile *tok, const struct kind *k,
    enum secret_kind kind, const char **memberp)
{
	struct secret_src src;
	struct xo_err err;

	if (secret_where(tok, k->slot, &src, &err) != 0 || src.kind != kind)
		return NULL;
	if (memberp != NULL)
		*memberp = src.member;
	return src.value;
}

const char *
credential_store(void)
{
	const char *s = secure_getenv(CREDENTIAL_STORE_ENV);

	return s != NULL && *s == '/' ? s : CREDENTIAL_STORE;
}

int
credential_named(const struct tokfile *tok)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (kind_at(tok, &kinds[i], SECRET_CREDENTIAL, NULL) != NULL)
			return 1;
	return 0;
}

/* credential_setup_note's words. */
static void
setup_note(const char *who, const char *renewer)
{
	int pf = renewer == NULL || strcmp(renewer, "postfix") == 0;

	msg(who, "renewal needs a systemd credential, which only %s%s%s "
	    "gets: the plugin's own refresh cannot renew this account, the "
	    "timer does; check it is enabled: systemctl enable --now %s%s%s",
	    pf ? "xoauth2-token-postfix.service" : "xoauth2-token-refresh@",
	    pf ? "" : renewer, pf ? "" : ".service",
	    pf ? "xoauth2-token-postfix.timer" : "xoauth2-token-refresh@",
	    pf ? "" : renewer, pf ? "" : ".timer");
}

void
credential_setup_note(const struct tokfile *tok, const char *who,
    const char *renewer)
{
	if (tok != NULL && credential_named(tok))
		setup_note(who, renewer);
}

void
credential_setup_note_file(const char *file, const char *who)
{
	struct tokfile *tok = NULL;
	struct passwd *pw = getpwuid(geteuid());

	if (tokfile_read(file, &tok) == 0)
		credential_setup_note(tok, who, pw != NULL ? pw->pw_name : NULL);
	tokfile_free(tok);
}

int
credential_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CRED_NAME_MAX || s[0] == '.')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._@+-") == n;
}

/* M's account (the token file's name less ".json") into MV->account,
 * and its owner's name into MV->user.  Returns 0 or XO_E_* after a
 * message. */
static int
move_names(struct move *mv, const struct become *b)
{
	const char *base = strrchr(mv->m->path, '/');
	struct passwd *pw;
	size_t n;

	base = base == NULL ? mv->m->path : base + 1;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	snprintf(mv->account, sizeof(mv->account), "%.*s", (int)n, base);
	if (n > CRED_NAME_MAX - 16 || !credential_name_ok(mv->account)) {
		msg(mv->m->who, "the account name '%s' cannot name a systemd "
		    "credential (letters, digits, . _ @ + -, not starting with "
		    "'.'); copy the token file to such a name first",
		    mv->account);
		return XO_E_USAGE;
	}
	if ((pw = getpwuid(b->uid)) == NULL ||
	    strlen(pw->pw_name) >= sizeof(mv->user) ||
	    !credential_name_ok(pw->pw_name)) {
		msg(mv->m->who, "%s belongs to uid %u, which has no usable user "
		    "name: the units load a user's directory by name; give the "
		    "file to a user first (chown)", mv->m->path,
		    (unsigned)b->uid);
		return XO_E_REFUSED;
	}
	snprintf(mv->user, sizeof(mv->user), "%s", pw->pw_name);
	return 0;
}

/* Opens NAME in DIRFD (AT_FDCWD: NAME is a path) as a directory of the
 * store, making it (0700) if CREATE and it is missing, into *FDp: it
 * must be root's with no group or other bit, or nobody could trust what
 * systemd decrypts from it.  Returns 0 or XO_E_* after a message. */
static int
store_dir_open(int dirfd, const char *name, const char *shown, int create,
    const char *who, int *fdp)
{
	struct stat st;
	int fd;

	*fdp = -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT && create) {
		if (mkdirat(dirfd, name, 0700) == -1 && errno != EEXIST) {
			msg(who, "cannot make %s: %s", shown, strerror(errno));
			return XO_E_CANTCREAT;
		}
		fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd == -1) {
		msg(who, "cannot open the credential store %s: %s%s", shown,
		    strerror(errno), errno == ENOENT ? " (nothing was moved "
		    "there for this user)" : "");
		return errno == ENOENT ? XO_E_NOINPUT : XO_E_CANTCREAT;
	}
	if (fstat(fd, &st) == -1 || st.st_uid != 0 || (st.st_mode & 077)) {
		close(fd);
		msg(who, "refusing the credential store %s: it must be root's "
		    "alone; run: chown root:root %s && chmod 700 %s", shown,
		    shown, shown);
		return XO_E_REFUSED;
	}
	*fdp = fd;
	return 0;
}

/* Opens (CREATE: makes) STORE/USER into MV->dirfd and MV->dir. */
static int
move_store(struct move *mv, int create)
{
	const char *store = credential_store();
	int rootfd, r;

	if (create && strcmp(store, CREDENTIAL_STORE) == 0 &&
	    mkdir("/etc/xoauth2", 0755) == -1 && errno != EEXIST) {
		msg(mv->m->who, "cannot make /etc/xoauth2: %s", strerror(errno));
		return XO_E_CANTCREAT;
	}
	if ((r = store_dir_open(AT_FDCWD, store, store, create, mv->m->who,
	    &rootfd)) != 0)
		return r;
	snprintf(mv->dir, sizeof(mv->dir), "%s/%s", store, mv->user);
	r = store_dir_open(rootfd, mv->user, mv->dir, create, mv->m->who,
	    &mv->dirfd);
	close(rootfd);
	return r;
}

/* Words R, the end of the run RES of systemd-creds, for WHO: 0 if it
 * ended well, else XO_E_* after a message (its own words, on stderr,
 * come first). */
static int
creds_outcome(int r, const struct child_result *res, const char *who)
{
	int e = res->exec_errno < 0 ? -res->exec_errno : res->exec_errno;

	if (r == CHILD_E_EXEC) {
		msg(who, "cannot run " CREDENTIAL_SYSTEMD_CREDS ": %s (Debian "
		    "package: systemd)", strerror(e));
		return XO_E_UNAVAILABLE;
	}
	if (r == CHILD_E_TIMEOUT) {
		msg(who, "systemd-creds did not finish in %d s and was killed "
		    "(a TPM2 that does not answer?); try again, or choose "
		    "--with-key=host", CRED_TIMEOUT_MS / 1000);
		return XO_E_TEMPFAIL;
	}
	if (r != 0) {
		msg(who, "cannot %s systemd-creds: %s", res->started ? "read "
		    "the output of" : "start", r == CHILD_E_TOOBIG ? "more than "
		    "1 MiB" : xo_errno_text(r));
		return res->started ? XO_E_IO : XO_E_OSERR;
	}
	if (!WIFEXITED(res->status) || WEXITSTATUS(res->status) != 0)
		return XO_E_REFUSED;
	return res->in_short ? XO_E_IO : 0;
}

/* Runs systemd-creds with ARGV: stdin IN (LEN bytes; NULL: /dev/null),
 * stdout OUTFD, or (OUTFD -1) captured into a new *OUTp (*OUTLENp bytes;
 * wipe it); stderr ours; at most CRED_TIMEOUT_MS.  Returns 0, or XO_E_*
 * after a message naming WHO. */
static int
creds_run(char *const argv[], const char *in, size_t len, int outfd,
    char **outp, size_t *outlenp, const char *who)
{
	const struct child_spec spec = { .argv = argv,
	    .path = CREDENTIAL_SYSTEMD_CREDS, .in = in, .inlen = len,
	    .out_fd = outfd, .out_max = CRED_READ_MAX,
	    .timeout_ms = CRED_TIMEOUT_MS, .err_mode = CHILD_STDERR_OURS };
	struct child_result res;
	int r;

	r = creds_outcome(child_run(&spec, &res, NULL), &res, who);
	if (r == 0 && outp != NULL) {
		*outp = res.out;
		*outlenp = res.out_len;
		res.out = NULL;
	}
	child_result_clear(&res);
	return r;
}

/* Decrypts the store file PATH, which must carry the name CRED, into a
 * new *DATAp (wipe it).  Returns 0 or XO_E_* after a message. */
static int
creds_decrypt(const char *path, const char *cred, char **datap,
    size_t *lenp, const char *who)
{
	char name[CRED_NAME_MAX + 32];
	char *argv[] = { (char *)"systemd-creds", (char *)"decrypt", name,
	    (char *)path, (char *)"-", NULL };
	int r;

	*datap = NULL;
	*lenp = 0;
	snprintf(name, sizeof(name), "--name=%s", cred);
	if ((r = creds_run(argv, NULL, 0, -1, datap, lenp, who)) != 0) {
		xo_freezero(*datap, *lenp);
		*datap = NULL;
		if (r != XO_E_UNAVAILABLE)
			msg(who, "systemd-creds cannot decrypt %s as %s (see its "
			    "words above): encrypted on another machine, or "
			    "with a key this one no longer has?", path, cred);
	}
	return r;
}

/* --- the owner's side (become.h: a child that is them) ------------------ */

/* Words for credfile_open's refusal R. */
static const char *
refusal(int r)
{
	return r == CREDFILE_E_NOTREG ? "not a regular file (a symlink, FIFO "
	    "or device)" : r == CREDFILE_E_OWNER ? "not the token file "
	    "owner's own" : r == CREDFILE_E_PERMS ? "others may read or "
	    "write it (chmod 600)" : r == -EACCES || r == -EPERM ? "the token "
	    "file's owner, who renews it, cannot read it" : xo_errno_text(r);
}

/* Sends one frame to the parent: BIT, then each of the N strings as a
 * length and its bytes. */
static int
frame_send(int fd, unsigned bit, const char *a, size_t alen, const char *b,
    size_t blen)
{
	uint32_t la = (uint32_t)alen, lb = (uint32_t)blen;
	unsigned char c = (unsigned char)bit;

	return xo_write_all(fd, &c, 1) != 0 ||
	    xo_write_all(fd, &la, sizeof(la)) != 0 ||
	    xo_write_all(fd, a, alen) != 0 ||
	    xo_write_all(fd, &lb, sizeof(lb)) != 0 ||
	    (blen > 0 && xo_write_all(fd, b, blen) != 0) ? -1 : 0;
}

/* As the owner: reads the secret file PATH of K and sends it up. */
static int
owner_send_file(const struct move *mv, const struct kind *k,
    const char *path)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd, r;

	if ((r = credfile_open(path, 1, &fd, &st)) != 0) {
		msg(mv->m->who, "refusing the %s file %s: %s; nothing moved",
		    k->label, path, refusal(r));
		return 1;
	}
	r = xo_read_max(fd, &st, SECRET_MAX, &data, &len);
	close(fd);
	if (r != 0 || len == 0) {
		msg(mv->m->who, "cannot use the %s file %s: %s; nothing moved",
		    k->label, path, r == 0 ? "it is empty" : r == -EFBIG ?
		    "larger than 64 KiB" : xo_errno_text(r));
		xo_freezero(data, len);
		return 1;
	}
	r = frame_send(mv->wfd, k->bit, path, strlen(path), data, len);
	xo_freezero(data, len);
	return r == 0 ? 0 : 3;
}

/* As the owner: the token file into *TOKp.  Returns 0, or 1 after a
 * message. */
static int
owner_tokfile(const struct become *b, const struct move *mv,
    struct tokfile **tokp)
{
	int r;

	if ((r = tokfile_read(b->at, tokp)) == 0)
		return 0;
	msg(mv->m->who, "cannot read %s: %s", mv->m->path, tokfile_strerror(r));
	return 1;
}

/* The child of encrypt: sends each asked-for secret kept in a file. */
static int
owner_read(const struct become *b, void *arg)
{
	const struct move *mv = arg;
	struct tokfile *tok = NULL;
	unsigned want = mv->m->slots ? mv->m->slots : CREDENTIAL_ALL;
	size_t i, sent = 0;
	int r;

	if (owner_tokfile(b, mv, &tok) != 0)
		return 1;
	for (i = 0, r = 0; i < NKINDS && r == 0; i++) {
		const struct kind *k = &kinds[i];
		const char *file = kind_at(tok, k, SECRET_FILE, NULL);

		if (!(want & k->bit))
			continue;
		if (file == NULL) {
			if (mv->m->slots & k->bit) {
				msg(mv->m->who, "names no %s file%s", k->label,
				    kind_at(tok, k, SECRET_CREDENTIAL, NULL) ?
				    ": it is a credential already" : "");
				r = 2;
			}
			continue;
		}
		if ((r = owner_send_file(mv, k, file)) == 0)
			sent++;
	}
	if (r == 0 && sent == 0) {
		msg(mv->m->who, "keeps no client secret, key, passphrase or "
		    "service-account key in a file: nothing to encrypt");
		r = 2;
	}
	tokfile_free(tok);
	return r;
}

/* Under the token file's lock: each moved secret named as a credential,
 * its file no longer -- if the file still names what we read. */
static int
owner_name_creds(struct tokfile *tok, void *arg)
{
	const struct move *mv = arg;
	char cred[CRED_NAME_MAX + 16];
	size_t i;

	for (i = 0; i < mv->n; i++) {
		const struct item *it = &mv->items[i];
		const char *file = kind_at(tok, it->k, SECRET_FILE, NULL);

		if (file == NULL || strcmp(file, it->file) != 0)
			return -ESTALE;
	}
	for (i = 0; i < mv->n; i++) {
		const struct item *it = &mv->items[i];

		snprintf(cred, sizeof(cred), CREDENTIAL_PREFIX "%s", it->name);
		if (secret_set(tok, it->k->slot, SECRET_CREDENTIAL, cred) != 0)
			return -ENOMEM;
	}
	return 0;
}

static int
owner_update(const struct become *b, void *arg)
{
	const struct move *mv = arg;
	int r;

	if ((r = tokfile_update_wait(b->at, 10000, owner_name_creds,
	    arg)) == 0)
		return 0;
	msg(mv->m->who, "cannot name the credentials in %s: %s; it still "
	    "names the files, which renewals keep using%s", mv->m->path,
	    r == -ESTALE ? "it changed meanwhile" : tokfile_strerror(r),
	    r == -ESTALE ? " (run the command again)" : "");
	return 1;
}

/* --- root's side -------------------------------------------------------- */

/* An owner's child's status (or become_run's code) as an XO_E_* class. */
static int
child_code(int st)
{
	return st == 0 ? 0 : st < 0 ? st : st == 2 ? XO_E_USAGE :
	    st == 1 ? XO_E_REFUSED : XO_E_OSERR;
}

/* Reads one frame into IT (the data into a new IT->data).  Returns 1,
 * 0 at the end, or -1 on a broken frame. */
static int
frame_recv(int fd, struct item *it)
{
	unsigned char bit;
	uint32_t la, lb;
	size_t got, i;

	if (xo_read_full(fd, &bit, 1, &got) != 0 || got == 0)
		return got == 0 ? 0 : -1;
	for (i = 0, it->k = NULL; i < NKINDS; i++)
		if (kinds[i].bit == bit)
			it->k = &kinds[i];
	if (it->k == NULL || xo_read_full(fd, &la, sizeof(la), &got) != 0 ||
	    got != sizeof(la) || la >= sizeof(it->file) ||
	    xo_read_full(fd, it->file, la, &got) != 0 || got != la)
		return -1;
	it->file[la] = '\0';
	if (xo_read_full(fd, &lb, sizeof(lb), &got) != 0 ||
	    got != sizeof(lb) || lb > CRED_READ_MAX ||
	    (it->data = malloc(lb + 1)) == NULL)
		return -1;
	it->len = lb;
	if (xo_read_full(fd, it->data, lb, &got) != 0 || got != lb)
		return -1;
	it->data[lb] = '\0';
	return 1;
}

/* Runs FN as the owner (become_run) writing to a new pipe (MV->wfd, of
 * CRED_PIPE_SIZE bytes: every frame fits before we read), whose read
 * end is then MV->rfd.  Returns 0 or XO_E_* after a message. */
static int
owner_run_piped(struct move *mv, struct become *b,
    int (*fn)(const struct become *, void *))
{
	int p[2] = { -1, -1 }, r;

	if (pipe2(p, O_CLOEXEC) == -1 ||
	    fcntl(p[1], F_SETPIPE_SZ, CRED_PIPE_SIZE) == -1) {
		msg(mv->m->who, "cannot make a pipe: %s", strerror(errno));
		r = XO_E_OSERR;
	} else {
		mv->wfd = p[1];
		r = child_code(become_run(b, fn, mv));
		mv->wfd = -1;
	}
	if (p[1] != -1)
		close(p[1]);
	if (r == 0)
		mv->rfd = p[0];
	else if (p[0] != -1)
		close(p[0]);
	return r;
}

/* Encrypts IT into MV's store as IT->name: a dot file first (systemd
 * skips those), checked to decrypt to the same bytes under the name the
 * unit will ask for, then renamed into place.  Returns 0 or XO_E_*. */
static int
encrypt_item(const struct move *mv, const struct item *it)
{
	char tmp[CRED_NAME_MAX + 8], tmppath[PATH_MAX + CRED_NAME_MAX + 16];
	char name[CRED_NAME_MAX + 32];
	char key[64], cred[CRED_NAME_MAX + 16], *back = NULL;
	char *argv[] = { (char *)"systemd-creds", (char *)"encrypt", name, key,
	    (char *)"-", (char *)"-", NULL };
	size_t backlen = 0;
	int fd, r;

	snprintf(cred, sizeof(cred), CREDENTIAL_PREFIX "%s", it->name);
	snprintf(name, sizeof(name), "--name=%s", cred);
	snprintf(key, sizeof(key), "--with-key=%s", mv->m->with_key ?
	    mv->m->with_key : "auto");
	snprintf(tmp, sizeof(tmp), ".%s.tmp", it->name);
	snprintf(tmppath, sizeof(tmppath), "%s/%s", mv->dir, tmp);
	(void)unlinkat(mv->dirfd, tmp, 0);
	if ((fd = openat(mv->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		msg(mv->m->who, "cannot write %s: %s", tmppath, strerror(errno));
		return XO_E_CANTCREAT;
	}
	r = creds_run(argv, it->data, it->len, fd, NULL, NULL, mv->m->who);
	if (r == 0 && fsync(fd) == -1)
		r = XO_E_IO;
	close(fd);
	if (r == XO_E_REFUSED)
		msg(mv->m->who, "systemd-creds could not encrypt the %s (see its "
		    "words above); nothing moved", it->k->label);
	if (r == 0 && (r = creds_decrypt(tmppath, cred, &back, &backlen,
	    mv->m->who)) == 0 && (backlen != it->len ||
	    memcmp(back, it->data, it->len) != 0)) {
		msg(mv->m->who, "%s does not decrypt to the %s; nothing moved",
		    tmppath, it->k->label);
		r = XO_E_SOFTWARE;
	}
	xo_freezero(back, backlen);
	if (r == 0 && (renameat(mv->dirfd, tmp, mv->dirfd, it->name) == -1 ||
	    fsync(mv->dirfd) == -1)) {
		msg(mv->m->who, "cannot put %s in place: %s", tmppath,
		    strerror(errno));
		r = XO_E_CANTCREAT;
	}
	if (r != 0)
		(void)unlinkat(mv->dirfd, tmp, 0);
	return r;
}

/* Reads the owner's frames into MV's items; wipes them on failure. */
static int
items_recv(struct move *mv, int rfd)
{
	int r = 0;

	while (mv->n < NKINDS &&
	    (r = frame_recv(rfd, &mv->items[mv->n])) == 1) {
		snprintf(mv->items[mv->n].name, sizeof(mv->items[mv->n].name),
		    "%.180s-%s", mv->account, mv->items[mv->n].k->suffix);
		mv->n++;
	}
	if (r == 0 || mv->n == NKINDS)
		return 0;
	/* (A broken frame's data is wiped with the rest: items_wipe.) */
	msg(mv->m->who, "lost the secrets on the way from the owner's "
	    "process; nothing moved");
	return XO_E_OSERR;
}

static void
items_wipe(struct move *mv)
{
	size_t i;

	for (i = 0; i < NKINDS; i++) {
		xo_freezero(mv->items[i].data, mv->items[i].len);
		mv->items[i].data = NULL;
		mv->items[i].len = 0;
	}
}

/* Root only, a known --with-key, the token file's owner and the store. */
static int
move_begin(struct move *mv, const struct credential_move *m,
    struct become *b, int create)
{
	static const char *keys[] = { "auto", "host", "tpm2", "host+tpm2" };
	size_t i;
	int r;

	memset(mv, 0, sizeof(*mv));
	mv->m = m;
	mv->dirfd = mv->wfd = mv->rfd = -1;
	b->dirfd = -1;
	for (i = 0; m->with_key != NULL && i < 4; i++)
		if (strcmp(m->with_key, keys[i]) == 0)
			break;
	if (i == 4) {
		msg(m->who, "--with-key: host, tpm2, host+tpm2 or auto (the "
		    "default: tpm2 too if this machine has one), not '%s'",
		    m->with_key);
		return XO_E_USAGE;
	}
	if (geteuid() != 0) {
		msg(m->who, "credential %s is root's work (the credential store "
		    "and systemd-creds' host key are root's): run it as root",
		    create ? "encrypt" : "decrypt");
		return XO_E_REFUSED;
	}
	if ((r = become_open(m->path, b)) != 0) {
		msg(m->who, "refusing %s: %s", m->path, tokfile_strerror(r));
		return r == -ENOENT ? XO_E_NOINPUT : XO_E_REFUSED;
	}
	if ((r = move_names(mv, b)) != 0)
		return r;
	return move_store(mv, create);
}

static void
move_end(struct move *mv, struct become *b)
{
	items_wipe(mv);
	if (mv->dirfd != -1)
		close(mv->dirfd);
	if (mv->rfd != -1)
		close(mv->rfd);
	become_close(b);
}

/* The unit that loads USER's credentials, for messages. */
static void
unit_of(const char *user, char *buf, size_t size)
{
	if (strcmp(user, "postfix") == 0)
		snprintf(buf, size, "xoauth2-token-postfix.service");
	else
		snprintf(buf, size, "xoauth2-token-refresh@%s.service", user);
}

/* What encrypt did, and what to do next. */
static void
encrypt_report(const struct move *mv)
{
	char unit[128], w[XO_SHELL_WORD_MAX], fw[XO_SHELL_WORD_MAX];
	size_t i;

	unit_of(mv->user, unit, sizeof(unit));
	xo_shell_word(w, sizeof(w), mv->m->path);
	for (i = 0; i < mv->n; i++)
		msg(mv->m->who, "the %s is now the systemd credential "
		    CREDENTIAL_PREFIX "%s (%s/%s, encrypted), which %s loads",
		    mv->items[i].k->label, mv->items[i].name, mv->dir,
		    mv->items[i].name, unit);
	/* A renewal forced in a unit with the same credentials proves the
	 * credential; the unit's own start proves it starts. */
	msg(mv->m->who, "check that a renewal works with it: systemd-run "
	    "--wait --pipe -p User=%s -p LoadCredentialEncrypted=xoauth2:%s "
	    PROG " refresh --force %s", mv->user, mv->dir, w);
	msg(mv->m->who, "check that the unit renews with it: systemctl "
	    "start %s && " PROG " status %s", unit, w);
	for (i = 0; i < mv->n; i++)
		msg(mv->m->who, "then remove the plaintext %s: shred -u %s",
		    mv->items[i].k->label,
		    xo_shell_word(fw, sizeof(fw), mv->items[i].file));
}

int
credential_encrypt(const struct credential_move *m)
{
	struct move mv;
	struct become b;
	int r;
	size_t i;

	if ((r = move_begin(&mv, m, &b, 1)) != 0 ||
	    (r = owner_run_piped(&mv, &b, owner_read)) != 0 ||
	    (r = items_recv(&mv, mv.rfd)) != 0)
		goto out;
	for (i = 0; i < mv.n; i++)
		if ((r = encrypt_item(&mv, &mv.items[i])) != 0)
			goto out;
	items_wipe(&mv);
	if ((r = child_code(become_run(&b, owner_update, &mv))) != 0)
		goto out;
	encrypt_report(&mv);
	setup_note(m->who, mv.user);
	r = 0;
 out:
	move_end(&mv, &b);
	return r;
}

/* --- going back ---------------------------------------------------------- */

/* The child of decrypt: finds the credential to bring back (M->slots,
 * or the only one named) and sends its kind and name up. */
static int
owner_find(const struct become *b, void *arg)
{
	const struct move *mv = arg;
	const struct kind *k = NULL;
	struct tokfile *tok = NULL;
	const char *cred, *name = NULL;
	size_t i, n = 0;
	int r;

	if (owner_tokfile(b, mv, &tok) != 0)
		return 1;
	for (i = 0; i < NKINDS; i++)
		if ((mv->m->slots == 0 || (mv->m->slots & kinds[i].bit)) &&
		    kind_at(tok, &kinds[i], SECRET_CREDENTIAL, NULL) != NULL) {
			k = &kinds[i];
			n++;
		}
	r = 2;
	if (n != 1)
		msg(mv->m->who, n == 0 ? "names no such systemd credential: "
		    "nothing to decrypt" : "names several credentials: give "
		    "one of --secret, --key, --passphrase, --service-account");
	else if (strncmp(cred = kind_at(tok, k, SECRET_CREDENTIAL, &name),
	    CREDENTIAL_PREFIX,
	    strlen(CREDENTIAL_PREFIX)) != 0 ||
	    !credential_name_ok(cred + strlen(CREDENTIAL_PREFIX)))
		msg(mv->m->who, "its %s %s was not made by `credential "
		    "encrypt' (not " CREDENTIAL_PREFIX "NAME): bring it back "
		    "with systemd-creds yourself", name, cred);
	else
		r = frame_send(mv->wfd, k->bit, cred, strlen(cred), "", 0) == 0 ?
		    0 : 3;
	tokfile_free(tok);
	return r;
}

/* Under the lock: the file named again, the credential no longer. */
static int
owner_name_file(struct tokfile *tok, void *arg)
{
	const struct move *mv = arg;
	const struct item *it = &mv->items[0];
	const char *cred = kind_at(tok, it->k, SECRET_CREDENTIAL, NULL);

	if (cred == NULL || strcmp(cred, it->file) != 0)
		return -ESTALE;
	if (secret_set(tok, it->k->slot, SECRET_FILE, mv->m->to) != 0)
		return -ENOMEM;
	return 0;
}

/* The second child of decrypt: writes the secret to a new file of the
 * owner's, then names it in the token file. */
static int
owner_write(const struct become *b, void *arg)
{
	const struct move *mv = arg;
	const struct item *it = &mv->items[0];
	int fd, r;

	if ((fd = open(mv->m->to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		msg(mv->m->who, "cannot make %s: %s%s", mv->m->to,
		    strerror(errno), errno == EEXIST ? " (name a new file)" : "");
		return 1;
	}
	r = xo_write_all(fd, it->data, it->len);
	if (r == 0 && fsync(fd) == -1)
		r = -errno;
	close(fd);
	if (r == 0 && (r = tokfile_update_wait(b->at, 10000, owner_name_file,
	    arg)) == 0)
		return 0;
	(void)unlink(mv->m->to);
	msg(mv->m->who, "cannot bring the %s back to %s: %s; the token file "
	    "still names the credential", it->k->label, mv->m->to,
	    r == -ESTALE ? "the token file changed meanwhile" :
	    tokfile_strerror(r));
	return 1;
}

int
credential_decrypt(const struct credential_move *m)
{
	struct move mv;
	struct become b;
	struct item *it = &mv.items[0];
	char path[PATH_MAX + CRED_NAME_MAX + 2];
	int r;

	if ((r = move_begin(&mv, m, &b, 0)) != 0 ||
	    (r = owner_run_piped(&mv, &b, owner_find)) != 0 ||
	    (r = frame_recv(mv.rfd, it) == 1 ? 0 : XO_E_OSERR) != 0)
		goto out;
	/* IT->file is the credential's name here. */
	snprintf(it->name, sizeof(it->name), "%.*s", CRED_NAME_MAX,
	    it->file + strlen(CREDENTIAL_PREFIX));
	xo_free_secret(it->data);
	it->data = NULL;
	snprintf(path, sizeof(path), "%s/%s", mv.dir, it->name);
	if ((r = creds_decrypt(path, it->file, &it->data, &it->len,
	    m->who)) != 0)
		goto out;
	if ((r = child_code(become_run(&b, owner_write, &mv))) != 0)
		goto out;
	if (unlinkat(mv.dirfd, it->name, 0) == -1)
		msg(m->who, "could not remove %s: %s", path, strerror(errno));
	msg(m->who, "the %s is back in %s (the token file owner's, mode "
	    "600), which the token file names again; %s removed",
	    it->k->label, m->to, path);
	r = 0;
 out:
	move_end(&mv, &b);
	return r;
}
