/*
 * jobs: the same work for many items (`refresh --all': one token file
 * each), each in a child process of its own, at most MAX at a time, with
 * what they print passed on in the items' order.
 *
 * Why processes and not threads: a refresh is a libcurl request whose
 * global state (curl_global_init, OpenSSL's) is set up per process, it
 * says what happened through msg() on stderr, and as root it forks a
 * child that becomes the file's owner (become.h) -- setuid() in a thread
 * would change the whole process.  A child per item keeps each of those
 * as it is for one item, and its lock, failure and exit status its own.
 *
 * Each child's stdout and stderr go to pipes; the parent keeps what an
 * item prints until every item before it is done, then writes it to its
 * own stdout and stderr, so the output reads as if the items had run one
 * after another: the item at the head streams, those behind it wait in
 * memory.  A child that fails or hangs holds up no other child; it is
 * bounded by its own timeouts.  On a stop request (stop.h) no new child
 * is started and the running ones are sent the signal, waited for, and
 * their output passed on.
 */
#ifndef XO_JOBS_H
#define XO_JOBS_H

#include <stddef.h>

/* The work for item I: runs in the child, returns its exit status
 * (0..255). */
typedef int jobs_fn(size_t i, void *arg);

/* Runs FN(i, ARG) for i = 0 .. N-1, each in a child, at most MAX (>= 1)
 * at a time, in that order, and fills STATUS[i] (N of them) with FN's
 * status (a child killed by a signal: 128 + it), XO_E_OSERR if no child
 * could be started for it (after a message naming WHO[i]), or -1 if it
 * was not started (a stop request came first).  Returns 0, or -ENOMEM
 * (then nothing was started). */
int jobs_run(size_t n, size_t max, jobs_fn *fn, void *arg,
    char *const *who, int *status);

#endif
