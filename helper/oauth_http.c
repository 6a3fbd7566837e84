/*
 * oauth_http: the way to an OAuth endpoint -- an
 * application/x-www-form-urlencoded POST over HTTPS with libcurl (TLS
 * verification always on, the CA file, the proxy, the timeouts and the
 * stop flag), the checks of endpoint and proxy URLs, and the words for
 * a transfer that failed.  All network code of xoauth2 lives in
 * helper/, and in the OAuth module, here.
 *
 * Plain http:// is accepted only for a loopback host (the test server).
 * Redirects are not followed.  The request body and the answer hold
 * secrets: both live in buffers we own and wipe (CURLOPT_POSTFIELDS
 * does not copy).  libcurl still copies the body into the buffer it
 * sends the request from (with the headers, for a small one), and frees
 * that without wiping it: so libcurl's memory comes from our allocator,
 * which wipes every block it frees (oauth_init).  What the answer says
 * is oauth_answer.c's.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "errors.h"
#include "oauth.h"
#include "oauth_int.h"
#include "wipemem.h"
#include "xo_util.h"

struct body {
	char	*data;		/* OAUTH_RESPONSE_MAX + 1 bytes */
	size_t	 len;
	int	 overflow;
};

int
oauth_init(void)
{
	/* (A second init keeps the first one's allocator.) */
	return curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc,
	    wipemem_free, wipemem_realloc, strdup, calloc) == CURLE_OK ? 0 :
	    XO_E_SOFTWARE;
}

void
oauth_cleanup(void)
{
	curl_global_cleanup();
}

int
oauth_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t len = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (len > 2 && len < sizeof(buf) && host[0] == '[' && host[len - 1] == ']') {
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) == 1)
			return IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return 0;
}

/* Checks an endpoint URL (NAME: its member or option, for messages);
 * sets HOST (for messages).  Returns 0, -ENOMEM or XO_E_CONFIG. */
static int
endpoint_check(const char *url, const char *name, char *host,
    size_t hostsize, struct oauth_error *err)
{
	CURLU *u = NULL;
	char *scheme = NULL, *h = NULL;
	int r;

	host[0] = '\0';
	if ((u = curl_url()) == NULL) {
		return oauth_seterr(err, -ENOMEM, OAUTH_HINT_NONE,
		    "out of memory");
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK) {
		oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_ENDPOINT,
		    "%s is not a valid URL", name);
		r = XO_E_CONFIG;
		goto out;
	}
	oauth_printable(host, hostsize, h);
	if (strcmp(scheme, "https") == 0)
		r = 0;
	else if (strcmp(scheme, "http") == 0 && oauth_host_is_loopback(h))
		r = 0;	/* the test server; nothing leaves the machine */
	else {
		oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_ENDPOINT,
		    "%s must use https:// (plain http:// is only "
		    "allowed to a loopback host), not %s://%s", name, scheme,
		    host);
		r = XO_E_CONFIG;
	}
 out:
	curl_free(scheme);
	curl_free(h);
	curl_url_cleanup(u);
	return r;
}

int
oauth_form_build(const struct oauth_field *fields, size_t n, char **bodyp,
    size_t *lenp)
{
	char *esc[12] = { NULL }, *body = NULL, *p;
	size_t i, total = 0;
	int r = -ENOMEM;

	*bodyp = NULL;
	*lenp = 0;
	if (n > sizeof(esc) / sizeof(esc[0]))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (fields[i].value == NULL)
			continue;
		if ((esc[i] = curl_easy_escape(NULL, fields[i].value, 0)) == NULL)
			goto out;
		total += strlen(fields[i].name) + 1 + strlen(esc[i]) + 1;
	}
	if ((body = malloc(total + 1)) == NULL)
		goto out;
	p = body;
	for (i = 0; i < n; i++) {
		if (esc[i] == NULL)
			continue;
		p += sprintf(p, "%s%s=%s", p == body ? "" : "&",
		    fields[i].name, esc[i]);
	}
	*bodyp = body;
	*lenp = (size_t)(p - body);
	body = NULL;
	r = 0;
 out:
	free(body);
	for (i = 0; i < n; i++) {
		if (esc[i] == NULL)
			continue;
		xo_wipe(esc[i], strlen(esc[i]));
		curl_free(esc[i]);
	}
	return r;
}

int
oauth_authorize_url(const char *endpoint, const struct oauth_field *fields,
    size_t n, const char *extra, char **urlp)
{
	char *query = NULL, *url = NULL;
	size_t len = 0;
	int r;

	*urlp = NULL;
	if ((r = oauth_form_build(fields, n, &query, &len)) != 0)
		return r;
	if (len == 0 && extra == NULL)
		url = strdup(endpoint);
	else if (asprintf(&url, "%s%c%s%s%s", endpoint,
	    strchr(endpoint, '?') != NULL ? '&' : '?', query,
	    extra != NULL && len > 0 ? "&" : "", extra != NULL ? extra : "") == -1)
		url = NULL;
	if (url == NULL)
		r = -ENOMEM;
	else
		*urlp = url;
	free(query);
	return r;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;

	if (n > OAUTH_RESPONSE_MAX - b->len) {
		b->overflow = 1;
		return 0;		/* curl aborts with CURLE_WRITE_ERROR */
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	return n;
}

static void
seconds(char *buf, size_t size, long ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, size, "%ld s", ms / 1000);
	else
		snprintf(buf, size, "%.1f s", (double)ms / 1000);
}

/* The timeouts of one request, after oauth_options.deadline_ms, and
 * whether it cut them (the message then names the limit). */
struct request_limits {
	long	 connect_ms, total_ms;
	int	 connect_cut, total_cut;
	const char *limit_name;	/* what set the deadline, for messages */
	/* The stop flag (oauth_options.stop), and when it was first seen
	 * set while the answer was awaited (0: not yet). */
	const volatile sig_atomic_t *stop;
	int64_t	 stop_seen_ms;
	int	 stopped;
};

/* Cuts OPT's timeouts to what is left before its deadline.  Returns 0,
 * or XO_E_TEMPFAIL if nothing is left. */
static int
limits_init(struct request_limits *lim, const struct oauth_options *opt)
{
	int64_t left;

	memset(lim, 0, sizeof(*lim));
	lim->connect_ms = opt->connect_timeout_ms;
	lim->total_ms = opt->timeout_ms;
	lim->stop = opt->stop;
	lim->limit_name = opt->limit_name != NULL ? opt->limit_name :
	    "the time limit";
	if (opt->deadline_ms == 0)
		return 0;
	if ((left = opt->deadline_ms - xo_now_ms()) <= 0)
		return XO_E_TEMPFAIL;
	if (lim->connect_ms > left) {
		lim->connect_ms = (long)left;
		lim->connect_cut = 1;
	}
	if (lim->total_ms > left) {
		lim->total_ms = (long)left;
		lim->total_cut = 1;
	}
	return 0;
}

/* libcurl's progress callback: abandons the request when told to stop
 * (stop.h).  Until the request has gone out in full the server cannot
 * have acted on it; after that its answer may hold a rotated refresh
 * token, worth OAUTH_STOP_GRACE_MS more. */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct request_limits *lim = arg;
	int64_t now;

	(void)dltotal;
	(void)dlnow;
	if (lim->stop == NULL || *lim->stop == 0)
		return 0;
	if (ultotal <= 0 || ulnow < ultotal) {
		lim->stopped = 1;
		return 1;
	}
	now = xo_now_ms();
	if (lim->stop_seen_ms == 0)
		lim->stop_seen_ms = now;
	if (now - lim->stop_seen_ms < OAUTH_STOP_GRACE_MS)
		return 0;
	lim->stopped = 1;
	return 1;
}

/* HOST as a failed transfer's message names it: through a stored
 * proxy, say so, or the user checks the wrong thing.  Returns HOST, or
 * BUF (SIZE bytes) holding the longer name. */
static const char *
host_shown(const char *host, const struct oauth_options *opt, char *buf,
    size_t size)
{
	struct oauth_error ignored;
	char shown[200];

	if (opt->proxy == NULL || opt->proxy[0] == '\0' ||
	    oauth_proxy_check(opt->proxy, shown, sizeof(shown), &ignored) != 0)
		return host;
	snprintf(buf, size, "%s through the proxy %s", host, shown);
	return buf;
}

/* A transfer to LABEL HOST that timed out: says which limit ran out (no
 * connection, or no answer on it), and whether it was the option's or
 * what LIM left of the overall one.  Returns XO_E_TEMPFAIL. */
static int
timeout_error(CURL *c, const char *label, const char *host,
    const struct request_limits *lim, struct oauth_error *err)
{
	curl_off_t connected_us = 0;
	char limit[32];

	curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected_us);
	if (connected_us == 0) {
		seconds(limit, sizeof(limit), lim->connect_ms);
		oauth_seterr(err, XO_E_TEMPFAIL, OAUTH_HINT_LATER,
		    "no connection to %s %s within %s (%s%s)", label, host,
		    limit, lim->connect_cut ? "what was left of " : "",
		    lim->connect_cut ? lim->limit_name : "--connect-timeout");
	} else {
		seconds(limit, sizeof(limit), lim->total_ms);
		oauth_seterr(err, XO_E_TEMPFAIL, OAUTH_HINT_LATER,
		    "no answer from %s %s within %s (%s%s)", label, host, limit,
		    lim->total_cut ? "what was left of " : "",
		    lim->total_cut ? lim->limit_name : "--timeout");
	}
	return XO_E_TEMPFAIL;
}

/* Maps a failed transfer to ERR.  Returns its errors.h code. */
static int
transfer_error(CURL *c, CURLcode cc, const char *errbuf, const char *label,
    const char *host, const struct body *b, const struct oauth_options *opt,
    const struct request_limits *lim, struct oauth_error *err)
{
	long os_errno = 0;
	const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);
	char hostvia[512];

	host = host_shown(host, opt, hostvia, sizeof(hostvia));
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return timeout_error(c, label, host, lim, err);
	case CURLE_ABORTED_BY_CALLBACK:
		if (!lim->stopped)
			break;
		oauth_seterr(err, XO_E_TEMPFAIL, OAUTH_HINT_NONE,
		    "stopped before %s %s answered", label, host);
		err->stopped = 1;
		return XO_E_TEMPFAIL;
	case CURLE_COULDNT_CONNECT:
		/* curl says "Couldn't connect to server"; errno says why. */
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
		return oauth_seterr(err, XO_E_UNAVAILABLE, OAUTH_HINT_NETWORK,
		    "cannot connect to %s %s: %s", label, host,
		    os_errno != 0 ? strerror((int)os_errno) : why);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return oauth_seterr(err, XO_E_UNAVAILABLE, OAUTH_HINT_NETWORK,
		    "cannot reach %s %s: %s", label, host, why);
	case CURLE_SSL_CACERT_BADFILE:
		return oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_NONE,
		    "cannot load the CA certificates: %s", why);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		/* A refused certificate is an unknown CA or a wrong name:
		 * curl's words say which (the verify result's meaning depends
		 * on curl's TLS library).  The rest is our trust set-up. */
		return oauth_seterr(err, XO_E_UNAVAILABLE,
		    cc == CURLE_PEER_FAILED_VERIFICATION ? OAUTH_HINT_PEER :
		    OAUTH_HINT_CAFILE, "TLS with %s %s failed: %s", label, host,
		    why);
	case CURLE_WRITE_ERROR:
		if (b->overflow) {
			return oauth_seterr(err, XO_E_UNAVAILABLE,
			    OAUTH_HINT_NONE, "%s %s sent more than %d KiB; "
			    "refusing it", label, host,
			    OAUTH_RESPONSE_MAX / 1024);
		}
		break;
	case CURLE_OUT_OF_MEMORY:
		return oauth_seterr(err, -ENOMEM, OAUTH_HINT_NONE,
		    "out of memory");
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		return oauth_seterr(err, XO_E_TEMPFAIL, OAUTH_HINT_LATER,
		    "connection to %s %s broke: %s", label, host, why);
	default:
		break;
	}
	return oauth_seterr(err, XO_E_UNAVAILABLE, OAUTH_HINT_NONE,
	    "request to %s %s failed: %s", label, host, why);
}

/* Sets up C to POST FORM (FORMLEN bytes) with HEADERS to ENDPOINT as OPT
 * and LIM say, the answer into B and curl's words into ERRBUF.  Every
 * option matters: returns XO_E_SOFTWARE if one cannot be set, else 0. */
static int
transfer_setup(CURL *c, const char *endpoint, const struct oauth_options *opt,
    struct request_limits *lim, struct curl_slist *headers, const char *form,
    size_t formlen, struct body *b, char *errbuf)
{
	if (curl_easy_setopt(c, CURLOPT_URL, endpoint) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
#else
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK ||
#endif
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (opt->cafile != NULL &&
	    curl_easy_setopt(c, CURLOPT_CAINFO, opt->cafile) != CURLE_OK) ||
	    (opt->proxy != NULL &&
	    (curl_easy_setopt(c, CURLOPT_PROXY, opt->proxy) != CURLE_OK ||
	    /* The stored list, not the environment's: a stored proxy
	     * works the same from a shell, a timer and the plugin. */
	    curl_easy_setopt(c, CURLOPT_NOPROXY, opt->no_proxy != NULL ?
	    opt->no_proxy : "") != CURLE_OK)) ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, lim->connect_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, lim->total_ms) != CURLE_OK ||
	    (lim->stop != NULL &&
	    (curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFODATA, lim) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK)) ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, PACKAGE_NAME "-token/"
	    PACKAGE_VERSION) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)formlen) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, b) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK)
		return XO_E_SOFTWARE;
	return 0;
}

int
oauth_post_form(const char *endpoint, const char *label, const char *name,
    const struct oauth_field *fields, size_t n,
    const struct oauth_options *opt, struct oauth_reply *reply,
    struct oauth_error *err)
{
	char *host = reply->host;
	struct body b = { NULL, 0, 0 };
	struct curl_slist *headers = NULL, *more;
	struct request_limits lim;
	char errbuf[CURL_ERROR_SIZE] = "";
	char *form = NULL;
	size_t formlen = 0;
	CURL *c = NULL;
	CURLcode cc;
	int r;

	memset(reply, 0, sizeof(*reply));
	if ((r = endpoint_check(endpoint, name, host, sizeof(reply->host),
	    err)) != 0)
		return r;
	if (limits_init(&lim, opt) != 0) {
		return oauth_seterr(err, XO_E_TEMPFAIL, OAUTH_HINT_LATER,
		    "no time left to ask %s %s (%s)", label, host,
		    lim.limit_name);
	}
	if ((c = curl_easy_init()) == NULL ||
	    (b.data = malloc(OAUTH_RESPONSE_MAX + 1)) == NULL ||
	    oauth_form_build(fields, n, &form, &formlen) != 0 ||
	    (headers = curl_slist_append(NULL, "Accept: application/json")) == NULL ||
	    /* No "Expect: 100-continue" round trip for long refresh tokens. */
	    (more = curl_slist_append(headers, "Expect:")) == NULL) {
		oauth_seterr(err, -ENOMEM, OAUTH_HINT_NONE, "out of memory");
		r = -ENOMEM;
		goto out;
	}

	if (transfer_setup(c, endpoint, opt, &lim, headers, form, formlen,
	    &b, errbuf) != 0) {
		oauth_seterr(err, XO_E_SOFTWARE, OAUTH_HINT_NONE,
		    "cannot set up libcurl (too old? it needs TLS support)");
		r = XO_E_SOFTWARE;
		goto out;
	}

	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		r = transfer_error(c, cc, errbuf, label, host, &b, opt, &lim, err);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->http);
	b.data[b.len] = '\0';
	reply->body = b.data;
	reply->len = b.len;
	b.data = NULL;
	r = 0;
 out:
	xo_freezero(b.data, OAUTH_RESPONSE_MAX + 1);
	xo_freezero(form, formlen);
	curl_slist_free_all(headers);
	if (c != NULL)
		curl_easy_cleanup(c);
	return r;
}

void
oauth_reply_clear(struct oauth_reply *reply)
{
	xo_freezero(reply->body, OAUTH_RESPONSE_MAX + 1);
	memset(reply, 0, sizeof(*reply));
}

int
oauth_url_check(const char *url, const char *name, struct oauth_error *err)
{
	char host[256];

	memset(err, 0, sizeof(*err));
	return endpoint_check(url, name, host, sizeof(host), err);
}

int
oauth_proxy_check(const char *proxy, char *shown, size_t size,
    struct oauth_error *err)
{
	static const char *const schemes[] = { "http", "https", "socks4",
	    "socks4a", "socks5", "socks5h" };
	char *scheme = NULL, *host = NULL, *port = NULL;
	CURLU *u = NULL;
	size_t i;
	int r = XO_E_CONFIG, known = 0;

	memset(err, 0, sizeof(*err));
	shown[0] = '\0';
	if (xo_has_ctl(proxy, strlen(proxy)) || (u = curl_url()) == NULL ||
	    curl_url_set(u, CURLUPART_URL, proxy,
	    CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_NONE,
		    "the proxy is not a URL (e.g. http://proxy.example:3128)");
		goto out;
	}
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strcasecmp(scheme, schemes[i]) == 0)
			known = 1;
	if (!known) {
		oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_NONE, "the proxy's "
		    "scheme %s is not one of http, https, socks4, socks4a, "
		    "socks5, socks5h", scheme);
		goto out;
	}
	/* No credentials in what we show. */
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	snprintf(shown, size, "%s://%s%s%s", scheme, host, port ? ":" : "",
	    port ? port : "");
	r = 0;
 out:
	curl_free(port);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return r;
}

const char *
oauth_env_proxy(const char *url, const char **varp, const char **no_proxyp)
{
	static const char *const https_vars[] = { "https_proxy", "HTTPS_PROXY",
	    "all_proxy", "ALL_PROXY", NULL };
	/* libcurl ignores HTTP_PROXY (httpoxy: CGI puts the request's
	 * Proxy header there). */
	static const char *const http_vars[] = { "http_proxy", "all_proxy",
	    "ALL_PROXY", NULL };
	const char *const *vars = strncasecmp(url, "https:", 6) == 0 ?
	    https_vars : http_vars;
	const char *v;

	*varp = NULL;
	if ((*no_proxyp = getenv("no_proxy")) == NULL || **no_proxyp == '\0')
		*no_proxyp = getenv("NO_PROXY");
	if (*no_proxyp != NULL && **no_proxyp == '\0')
		*no_proxyp = NULL;
	for (; *vars != NULL; vars++)
		if ((v = getenv(*vars)) != NULL && *v != '\0') {
			*varp = *vars;
			return v;
		}
	return NULL;
}
