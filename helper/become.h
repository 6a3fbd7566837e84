/*
 * become: the work for one token file, done with its owner's rights.
 *
 * Root refreshes users' files (cron, `refresh --all`) and logs in for
 * postfix; whoever owns a token file or its directory must get nothing
 * from that beyond what they had.  So the rule is not a check here and
 * there but an identity: become_open() opens the file's directory once
 * (O_DIRECTORY|O_NOFOLLOW, tokfile_dir_open's rule about where a token
 * file may live) and decides, once, whose file it is:
 *
 *   - the directory's owner, if that is not root (a file of yet another
 *     user there is refused to root: TOKFILE_E_DIROWNER);
 *   - else the file's owner, if that is not root;
 *   - else root.
 *
 * become_run() then runs the work: directly when no rights change
 * (the caller is not root, or the owner is root), else in a child that
 * has fully become the owner -- supplementary groups (initgroups, or
 * none without a passwd entry), gid, uid; setuid(0) must then fail; a
 * session keyring of its own, not root's --
 * and works in the opened directory (fchdir), by the file's name, so no
 * path is resolved twice.  Everything the file leads to happens there:
 * reading it and the credential files it names, the request, the lock,
 * the write, the notify command.  The parent only waits.
 */
#ifndef XO_BECOME_H
#define XO_BECOME_H

#include <sys/types.h>

struct become {
	int		 dirfd;	/* the token file's directory, opened once */
	const char	*path;	/* as given (points into the caller's string) */
	const char	*at;	/* where the file work goes: PATH, or (in a
				 * child that dropped) its name in DIRFD */
	uid_t		 uid;	/* whose rights the work runs with */
	gid_t		 gid;
	int		 drop;	/* root for another user: a child that is them */
};

/* Opens PATH's directory and decides its owner into B.  Returns 0 (the
 * caller calls become_close), or a tokfile.h code (TOKFILE_E_DIRPERMS,
 * TOKFILE_E_DIRLINK, TOKFILE_E_DIROWNER) or -errno. */
int become_open(const char *path, struct become *b);

/* Runs FN(B, ARG) as B's owner (see above): directly, or in a child
 * that has become the owner, with B->at its file name in the opened
 * directory.  FN returns an exit status (0..125).  Returns FN's status
 * (a child killed by a signal: 128 + it), or XO_E_OSERR after a message
 * if no child could be started or it could not become the owner. */
int become_run(struct become *b, int (*fn)(const struct become *, void *),
    void *arg);

/* Whether this process is a child that has become another user for
 * root (become_run): it holds root's environment, which must not reach
 * a program it starts as that user (a browser: --for postfix). */
int become_dropped(void);

/* Closes what become_open opened (also after it failed). */
void become_close(struct become *b);

#endif
