/*
 * login_options: what the command line asks of a login, the one struct
 * that the command layer (cmd.h) fills in and login.c and provider.c
 * read.  A header of its own, so that neither provider.h nor cmd.h
 * includes login.h for it (login.c includes provider.h: that would be a
 * circle).
 */
#ifndef XO_LOGIN_OPTIONS_H
#define XO_LOGIN_OPTIONS_H

/* What the command line asked for; every string belongs to the caller.
 * NULL means "not given". */
struct login_options {
	const char	*provider;	/* microsoft, google, custom */
	const char	*client_id;
	const char	*client_secret_file;	/* "-": stdin */
	const char	*tenant;	/* microsoft: common by default */
	const char	*cloud;		/* microsoft: global, usgov, china */
	const char	*flow;		/* browser, device; NULL: guess */
	const char	*scope;		/* replaces the provider's */
	const char	*login_hint;
	const char	*user;		/* the mail login name */
	const char	*auth_endpoint;
	const char	*token_endpoint;
	const char	*device_endpoint;
	const char	*redirect_host;	/* 127.0.0.1 (default) or localhost */
	int		 port;		/* loopback port; 0: any */
	int		 no_browser;	/* only print the URL */
	int		 no_qr;
	long		 wait_s;	/* browser flow: wait for the redirect */
	/* Stored in the token file; "" clears.  proxy NULL: the
	 * environment's (https_proxy...), else the previous file's. */
	const char	*proxy;
	const char	*no_proxy;
	const char	*notify;	/* NULL: the previous file's */
	/* App-only (helper/apponly.h): no person, no refresh token. */
	int		 app_only;
	const char	*certificate;
	const char	*private_key;
	const char	*service_account;	/* google; implies app_only */
	/* App-only secrets kept elsewhere than a file (helper/secret.h):
	 * a systemd credential's NAME, or a command (words, no shell). */
	const char	*client_secret_credential;
	const char	*client_secret_command;
	const char	*private_key_credential;
	const char	*key_passphrase_file;	/* "" (set): no passphrase */
	const char	*key_passphrase_credential;
	const char	*key_passphrase_command;
	const char	*service_account_credential;	/* implies app_only */
	/* --keyring: the refresh token in the desktop keyring (keyring.h),
	 * "refresh_token_store": "keyring" in the file; a person's only. */
	int		 keyring;
};

#endif
