/*
 * stop: SIGTERM, SIGINT and SIGHUP for the commands that store what a
 * token endpoint answered (refresh, token).  The provider may rotate the
 * refresh token with its answer: dying between that answer and the file
 * that stores it would lose the grant.  So these signals only set a flag
 * (stop_flag): whoever waits -- for the lock (tokfile_update_stoppable),
 * for a request still unanswered (oauth_http.c) -- gives up when it is set,
 * and an answer that has arrived is stored first.  At the end the
 * program dies of the signal it got (stop_exit), as its caller expects.
 *
 * The one piece of global state is the flag, which a signal handler
 * must be able to reach.
 */
#ifndef XO_STOP_H
#define XO_STOP_H

#include <signal.h>

/* Turns SIGTERM, SIGINT and SIGHUP into the flag (sigaction; a signal
 * ignored when the program started stays ignored), then unblocks them:
 * one that arrived while they were blocked (stop_hold, across the
 * front's exec) is seen now. */
void stop_catch(void);

/* Unblocks the three, leaving their handling as it is: for commands
 * that do not catch them, after the front's exec. */
void stop_release(void);

/* Blocks the three (they stay pending across exec(2)): the front calls
 * it before handing over, so that none is lost in the gap. */
void stop_hold(void);

/* The flag: the number of the first signal received, 0 if none. */
const volatile sig_atomic_t *stop_flag(void);
int stop_requested(void);

/* "SIGTERM", "SIGINT", "SIGHUP", or "a signal". */
const char *stop_name(int sig);

/* If a signal was received: restores its default action and dies of
 * it; else returns. */
void stop_exit(void);

#endif
