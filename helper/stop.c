/*
 * stop: signals as a flag, for the commands that must not die between a
 * token endpoint's answer and the file that stores it (see stop.h).
 */
#include "config.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "stop.h"

static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP };
#define NSIGNALS	(sizeof(stop_signals) / sizeof(stop_signals[0]))

static volatile sig_atomic_t stop_sig;

/* Async-signal-safe: it only records the first signal. */
static void
on_signal(int sig)
{
	if (stop_sig == 0)
		stop_sig = sig;
}

static void
stop_set(sigset_t *set)
{
	size_t i;

	sigemptyset(set);
	for (i = 0; i < NSIGNALS; i++)
		sigaddset(set, stop_signals[i]);
}

void
stop_catch(void)
{
	struct sigaction sa, old;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* File writes and fsync go on after a signal (SA_RESTART); the
	 * waits that matter check the flag (poll and nanosleep return
	 * early whatever SA_RESTART says). */
	sa.sa_flags = SA_RESTART;
	stop_set(&sa.sa_mask);
	for (i = 0; i < NSIGNALS; i++) {
		/* nohup(1) and friends: keep ignoring what was ignored. */
		if (sigaction(stop_signals[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		(void)sigaction(stop_signals[i], &sa, NULL);
	}
	stop_release();
}

void
stop_release(void)
{
	sigset_t set;

	stop_set(&set);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void
stop_hold(void)
{
	sigset_t set;

	stop_set(&set);
	(void)sigprocmask(SIG_BLOCK, &set, NULL);
}

const volatile sig_atomic_t *
stop_flag(void)
{
	return &stop_sig;
}

int
stop_requested(void)
{
	return stop_sig;
}

const char *
stop_name(int sig)
{
	switch (sig) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	}
	return "a signal";
}

void
stop_exit(void)
{
	struct sigaction sa;
	sigset_t set;
	int sig = stop_sig;

	if (sig == 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(sig, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	(void)raise(sig);
}
