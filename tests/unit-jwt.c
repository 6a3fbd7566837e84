/*
 * Unit tests for helper/jwt.c: key and certificate loading (the key-file
 * permission rule, wrong and mismatched files), Google's JSON key file,
 * and signed assertions, checked independently: the header and claims
 * are decoded and compared as text, the thumbprint is recomputed from
 * the DER certificate, and the signature is verified with OpenSSL's
 * EVP_DigestVerify (PKCS#1 v1.5 for RS256, PSS with a 32-byte salt for
 * PS256), then again over a tampered payload, which must fail.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "jwt.h"
#include "xo_util.h"

static const char *where = "";
static char dir[] = "/tmp/unit-jwt.XXXXXX";

static void
fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: %s: ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
expect_r(int got, int want)
{
	if (got != want)
		fail("got %d (%s), want %d (%s)", got, jwt_strerror(got), want,
		    jwt_strerror(want));
}

static void
expect_str(const char *what, const char *got, const char *want)
{
	if ((got == NULL) != (want == NULL) ||
	    (got != NULL && strcmp(got, want) != 0))
		fail("%s: got \"%s\", want \"%s\"", what, got ? got : "(null)",
		    want ? want : "(null)");
}

static char *
path(const char *name)
{
	static char buf[8][256];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

#define write_str(name, text, mode) write_file(name, text, strlen(text), mode)

static void
write_file(const char *name, const char *text, size_t len, mode_t mode)
{
	FILE *f = fopen(path(name), "w");

	if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0 ||
	    chmod(path(name), mode) != 0)
		fail("cannot write %s", name);
}

/* Writes PKEY as PEM (PKCS#8) to NAME, encrypted with PASS if not NULL. */
static void
write_key(const char *name, EVP_PKEY *pkey, const char *pass, mode_t mode)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;

	if (b == NULL || PEM_write_bio_PKCS8PrivateKey(b, pkey,
	    pass ? EVP_aes_256_cbc() : NULL, pass, pass ? (int)strlen(pass) : 0,
	    NULL, NULL) != 1)
		fail("cannot encode key %s", name);
	len = BIO_get_mem_data(b, &data);
	write_file(name, data, (size_t)len, mode);
	BIO_free(b);
}

/* The PEM text of PKEY (a new string). */
static char *
key_pem(EVP_PKEY *pkey)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s;
	long len;

	if (b == NULL || PEM_write_bio_PKCS8PrivateKey(b, pkey, NULL, NULL, 0,
	    NULL, NULL) != 1)
		fail("cannot encode key");
	len = BIO_get_mem_data(b, &data);
	if ((s = strndup(data, (size_t)len)) == NULL)
		fail("out of memory");
	BIO_free(b);
	return s;
}

static X509 *
self_signed(EVP_PKEY *pkey)
{
	X509 *x = X509_new();
	X509_NAME *n;

	if (x == NULL)
		fail("X509_new");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pkey);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"xoauth2 unit-jwt", -1, -1, 0);
	X509_set_issuer_name(x, n);
	if (X509_sign(x, pkey, EVP_sha256()) == 0)
		fail("X509_sign");
	return x;
}

static void
write_cert(const char *name, X509 *x)
{
	FILE *f = fopen(path(name), "w");

	if (f == NULL || PEM_write_X509(f, x) != 1 || fclose(f) != 0)
		fail("cannot write %s", name);
}

/* base64url without padding, independently of helper/pkce.c. */
static void
b64url(char *out, const unsigned char *in, size_t len)
{
	char *p;
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
}

/* Decodes LEN bytes of base64url at IN into a new buffer (*OUTLENp). */
static unsigned char *
unb64url(const char *in, size_t len, size_t *outlenp)
{
	char *t = malloc(len + 4);
	unsigned char *out = malloc(len + 4);
	size_t i, pad = (4 - len % 4) % 4;
	int n;

	if (t == NULL || out == NULL)
		fail("out of memory");
	for (i = 0; i < len; i++) {
		if (in[i] == '+' || in[i] == '/' || in[i] == '=')
			fail("not base64url: %.*s", (int)len, in);
		t[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	}
	memset(t + len, '=', pad);
	if ((n = EVP_DecodeBlock(out, (unsigned char *)t, (int)(len + pad))) < 0)
		fail("bad base64url: %.*s", (int)len, in);
	*outlenp = (size_t)n - pad;
	out[*outlenp] = '\0';
	free(t);
	return out;
}

static EVP_PKEY *key_a, *key_b;
static X509 *cert_a;
static char thumb_a[64];

static void
setup(void)
{
	EVP_PKEY *small, *ec;
	X509 *cert_b;
	unsigned char der_md[32];
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int derlen;
	char *pem, *json;
	size_t cap;

	where = "setup";
	if (mkdtemp(dir) == NULL)
		fail("mkdtemp: %s", strerror(errno));
	if ((key_a = EVP_RSA_gen(2048)) == NULL ||
	    (key_b = EVP_RSA_gen(3072)) == NULL ||
	    (small = EVP_RSA_gen(1024)) == NULL ||
	    (ec = EVP_EC_gen("P-256")) == NULL)
		fail("cannot generate keys");
	cert_a = self_signed(key_a);
	cert_b = self_signed(key_b);
	write_key("a.key", key_a, NULL, 0600);
	write_key("a-0400.key", key_a, NULL, 0400);
	write_key("a-group.key", key_a, NULL, 0640);
	write_key("a-other.key", key_a, NULL, 0604);
	write_key("a-enc.key", key_a, "passphrase", 0600);
	write_key("b.key", key_b, NULL, 0600);
	write_key("small.key", small, NULL, 0600);
	write_key("ec.key", ec, NULL, 0600);
	write_cert("a.crt", cert_a);
	write_cert("b.crt", cert_b);
	write_str("junk", "not a key\n", 0600);
	write_file("empty", "", 0, 0600);
	if (symlink(path("a.key"), path("link.key")) != 0 ||
	    mkdir(path("dir.key"), 0700) != 0)
		fail("cannot make the link or directory");

	/* The thumbprint, from the DER certificate, not through jwt.c. */
	if ((derlen = i2d_X509(cert_a, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)derlen, der_md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32)
		fail("cannot hash the certificate");
	b64url(thumb_a, der_md, 32);
	OPENSSL_free(der);

	/* Google's JSON key file, with its key's PEM newlines escaped. */
	pem = key_pem(key_a);
	cap = strlen(pem) * 2 + 1024;
	if ((json = malloc(cap)) == NULL)
		fail("out of memory");
	{
		char *o = json, *p;

		o += sprintf(o, "{\n  \"type\": \"service_account\",\n"
		    "  \"project_id\": \"p\",\n  \"private_key_id\": \"kid1\",\n"
		    "  \"private_key\": \"");
		for (p = pem; *p; p++)
			o += *p == '\n' ? sprintf(o, "\\n") : sprintf(o, "%c", *p);
		sprintf(o, "\",\n  \"client_email\": \"relay@p.iam.gserviceaccount.com\",\n"
		    "  \"client_id\": \"1234567890\",\n"
		    "  \"token_uri\": \"https://oauth2.googleapis.com/token\"\n}\n");
	}
	write_file("sa.json", json, strlen(json), 0600);
	write_file("sa-group.json", json, strlen(json), 0640);
	{
		char *t = strstr(json, "service_account");

		memcpy(t, "authorized_user", 15);
		write_file("sa-type.json", json, strlen(json), 0600);
	}
	write_str("sa-nokey.json", "{\"type\":\"service_account\","
	    "\"client_email\":\"x@y\",\"token_uri\":\"https://t\"}", 0600);
	write_str("sa-noemail.json", "{\"private_key\":\"x\",\"token_uri\":"
	    "\"https://t\"}", 0600);
	write_str("sa-notjson.json", "private_key=x", 0600);
	write_str("sa-badkey.json", "{\"private_key\":\"-----BEGIN PRIVATE KEY"
	    "-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\",\"client_email\":"
	    "\"x@y\",\"token_uri\":\"https://t\"}", 0600);
	free(json);
	free(pem);
	EVP_PKEY_free(small);
	EVP_PKEY_free(ec);
	X509_free(cert_b);
}

/* --- loading ------------------------------------------------------------ */

static const struct load_case {
	const char	*name;
	const char	*key;
	const char	*cert;		/* or NULL */
	int		 want;
} load_cases[] = {
	{ "key and its certificate", "a.key", "a.crt", 0 },
	{ "key alone", "a.key", NULL, 0 },
	{ "mode 0400", "a-0400.key", "a.crt", 0 },
	/* Its owner could point it anywhere (a root-only key). */
	{ "a symlink to a good key", "link.key", "a.crt", JWT_E_NOTREG },
	{ "3072-bit key", "b.key", "b.crt", 0 },
	{ "group-readable key", "a-group.key", "a.crt", JWT_E_PERMS },
	{ "other-readable key", "a-other.key", NULL, JWT_E_PERMS },
	{ "another key's certificate", "a.key", "b.crt", JWT_E_MISMATCH },
	{ "the certificate as the key", "a.crt", NULL, JWT_E_PERMS },
	{ "not a key", "junk", NULL, JWT_E_KEY },
	{ "empty key file", "empty", NULL, JWT_E_KEY },
	{ "not a certificate", "a.key", "junk", JWT_E_CERT },
	{ "the key as the certificate", "a.key", "a.key", JWT_E_CERT },
	{ "encrypted key", "a-enc.key", NULL, JWT_E_ENCRYPTED },
	{ "1024-bit key", "small.key", NULL, JWT_E_KEYTYPE },
	{ "EC key", "ec.key", NULL, JWT_E_KEYTYPE },
	{ "missing key", "nonesuch.key", NULL, -ENOENT },
	{ "missing certificate", "a.key", "nonesuch.crt", -ENOENT },
	{ "a directory", "dir.key", NULL, JWT_E_NOTREG },
};

static void
test_load(void)
{
	struct jwt_key *key;
	const struct load_case *c;
	char tp[JWT_THUMBPRINT_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
		c = &load_cases[i];
		where = c->name;
		key = (struct jwt_key *)1;
		expect_r(jwt_key_load(path(c->key), c->cert ? path(c->cert) :
		    NULL, &key), c->want);
		if ((c->want == 0) != (key != NULL))
			fail("*keyp is %p", (void *)key);
		if (key != NULL && c->cert == NULL &&
		    jwt_key_thumbprint(key) != NULL)
			fail("a thumbprint without a certificate");
		jwt_key_free(key);
	}
	where = "thumbprint";
	expect_r(jwt_cert_thumbprint(path("a.crt"), tp), 0);
	expect_str("x5t#S256", tp, thumb_a);
	expect_r(jwt_key_load(path("a.key"), path("a.crt"), &key), 0);
	expect_str("key's x5t#S256", jwt_key_thumbprint(key), thumb_a);
	jwt_key_free(key);
	expect_r(jwt_cert_thumbprint(path("junk"), tp), JWT_E_CERT);
	jwt_key_free(NULL);
	/* A key file is its reader's: root does not use another user's. */
	if (geteuid() == 0) {
		where = "another user's key";
		if (chown(path("a-0400.key"), 4321, 4321) != 0)
			fail("chown: %s", strerror(errno));
		expect_r(jwt_key_load(path("a-0400.key"), NULL, &key),
		    JWT_E_OWNER);
		if (chown(path("a-0400.key"), 0, 0) != 0)
			fail("chown: %s", strerror(errno));
	}
	printf("ok: %zu key and certificate cases\n", i);
}

/* --- keys from memory, with a passphrase (issue 21) ---------------------- */

/* PKEY's PEM: PKCS#8 (FORM 'p'), traditional ('t'), encrypted with
 * aes-256-cbc under PASS unless it is NULL; a new string. */
static char *
pem_of(EVP_PKEY *pkey, char form, const char *pass)
{
	const EVP_CIPHER *c = pass != NULL ? EVP_aes_256_cbc() : NULL;
	int plen = pass != NULL ? (int)strlen(pass) : 0;
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s;
	long len;

	if (b == NULL || (form == 'p' ? PEM_write_bio_PKCS8PrivateKey(b, pkey,
	    c, pass, plen, NULL, NULL) : PEM_write_bio_PrivateKey_traditional(b,
	    pkey, c, (unsigned char *)pass, plen, NULL, NULL)) != 1)
		fail("cannot encode a key");
	len = BIO_get_mem_data(b, &data);
	if ((s = strndup(data, (size_t)len)) == NULL)
		fail("out of memory");
	BIO_free(b);
	return s;
}

static const struct parse_case {
	const char	*name;
	char		 form;		/* 'p' PKCS#8, 't' traditional, 'j' junk */
	const char	*encrypted_with;	/* or NULL */
	const char	*passphrase;	/* given to jwt_key_parse, or NULL */
	const char	*cert;		/* or NULL */
	int		 want;
} parse_cases[] = {
	{ "PKCS#8, encrypted, its passphrase", 'p', "pass phrase", "pass phrase", NULL, 0 },
	{ "PKCS#8, encrypted, and its certificate", 'p', "pass phrase", "pass phrase", "a.crt", 0 },
	{ "PKCS#8, encrypted, a wrong passphrase", 'p', "pass phrase", "pass phrasE", NULL, JWT_E_PASSPHRASE },
	{ "PKCS#8, encrypted, no passphrase", 'p', "pass phrase", NULL, NULL, JWT_E_ENCRYPTED },
	{ "traditional, encrypted, its passphrase", 't', "pass phrase", "pass phrase", "a.crt", 0 },
	{ "traditional, encrypted, a wrong passphrase", 't', "pass phrase", "x", NULL, JWT_E_PASSPHRASE },
	{ "traditional, encrypted, no passphrase", 't', "pass phrase", NULL, NULL, JWT_E_ENCRYPTED },
	{ "PKCS#8, not encrypted, a passphrase all the same", 'p', NULL, "pass phrase", "a.crt", 0 },
	{ "traditional, not encrypted, no passphrase", 't', NULL, NULL, NULL, 0 },
	{ "encrypted, another key's certificate", 'p', "pass phrase", "pass phrase", "b.crt", JWT_E_MISMATCH },
	{ "not a key, a passphrase", 'j', NULL, "pass phrase", NULL, JWT_E_KEY },
};

static void
test_parse(void)
{
	const struct parse_case *c;
	struct jwt_key *key;
	char *pem;
	size_t i;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		c = &parse_cases[i];
		where = c->name;
		pem = c->form == 'j' ? strdup("not a key\n") : pem_of(key_a,
		    c->form, c->encrypted_with);
		if (pem == NULL)
			fail("out of memory");
		key = (struct jwt_key *)1;
		expect_r(jwt_key_parse(pem, strlen(pem), c->passphrase,
		    c->cert != NULL ? path(c->cert) : NULL, &key), c->want);
		if ((c->want == 0) != (key != NULL))
			fail("*keyp is %p", (void *)key);
		if (key != NULL && c->cert != NULL)
			expect_str("x5t#S256", jwt_key_thumbprint(key), thumb_a);
		jwt_key_free(key);
		free(pem);
	}
	printf("ok: %zu keys parsed from memory, with and without a passphrase\n",
	    i);
}

static const struct sa_case {
	const char	*name;
	const char	*file;
	int		 want;
} sa_cases[] = {
	{ "Google's key file", "sa.json", 0 },
	{ "group-readable", "sa-group.json", JWT_E_PERMS },
	{ "not a service account", "sa-type.json", JWT_E_JSON },
	{ "no private_key", "sa-nokey.json", JWT_E_JSON },
	{ "no client_email", "sa-noemail.json", JWT_E_JSON },
	{ "not JSON", "sa-notjson.json", JWT_E_JSON },
	{ "broken key", "sa-badkey.json", JWT_E_KEY },
	{ "missing", "nonesuch.json", -ENOENT },
};

static void
test_service_account(void)
{
	struct jwt_service_account sa;
	struct jwt_key *key;
	size_t i;

	for (i = 0; i < sizeof(sa_cases) / sizeof(sa_cases[0]); i++) {
		where = sa_cases[i].name;
		expect_r(jwt_service_account_load(path(sa_cases[i].file), &key,
		    &sa), sa_cases[i].want);
		if (sa_cases[i].want != 0 && (key != NULL ||
		    sa.client_email != NULL || sa.token_uri != NULL))
			fail("a failed load left something behind");
		if (sa_cases[i].want == 0) {
			expect_str("client_email", sa.client_email,
			    "relay@p.iam.gserviceaccount.com");
			expect_str("client_id", sa.client_id, "1234567890");
			expect_str("token_uri", sa.token_uri,
			    "https://oauth2.googleapis.com/token");
			expect_str("private_key_id", sa.private_key_id, "kid1");
		}
		jwt_key_free(key);
		jwt_service_account_clear(&sa);
	}
	printf("ok: %zu service-account key file cases\n", i);
}

/* --- signing ------------------------------------------------------------ */

#define AUD	"https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
#define CID	"11111111-2222-3333-4444-555555555555"

static const struct sign_case {
	const char	*name;
	int		 keysrc;	/* 0: a.key+a.crt, 1: a.key, 2: sa.json */
	enum jwt_alg	 alg;
	struct jwt_claims claims;
	const char	*header;	/* TP: the thumbprint */
	const char	*payload;
} sign_cases[] = {
	{ "client assertion RS256", 0, JWT_RS256,
	  { CID, CID, AUD, NULL, "0f8fad5b-d9cb-469f-a165-70867728950e",
	    1764260400, 1764260400, 1764261000 },
	  "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5t#S256\":\"TP\"}",
	  "{\"iss\":\"" CID "\",\"sub\":\"" CID "\",\"aud\":\"" AUD "\","
	  "\"jti\":\"0f8fad5b-d9cb-469f-a165-70867728950e\","
	  "\"nbf\":1764260400,\"iat\":1764260400,\"exp\":1764261000}" },
	{ "client assertion PS256", 0, JWT_PS256,
	  { CID, CID, AUD, NULL, "j", 1, 2, 3 },
	  "{\"alg\":\"PS256\",\"typ\":\"JWT\",\"x5t#S256\":\"TP\"}",
	  "{\"iss\":\"" CID "\",\"sub\":\"" CID "\",\"aud\":\"" AUD "\","
	  "\"jti\":\"j\",\"nbf\":1,\"iat\":2,\"exp\":3}" },
	{ "no certificate: no x5t#S256", 1, JWT_RS256,
	  { "i", NULL, "a", NULL, NULL, 0, 0, 9 },
	  "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
	  "{\"iss\":\"i\",\"aud\":\"a\",\"exp\":9}" },
	{ "service account", 2, JWT_RS256,
	  { "relay@p.iam.gserviceaccount.com", "relay@example.com",
	    "https://oauth2.googleapis.com/token", "https://mail.google.com/",
	    NULL, 0, 1764260400, 1764264000 },
	  "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"kid1\"}",
	  "{\"iss\":\"relay@p.iam.gserviceaccount.com\","
	  "\"sub\":\"relay@example.com\","
	  "\"aud\":\"https://oauth2.googleapis.com/token\","
	  "\"scope\":\"https://mail.google.com/\","
	  "\"iat\":1764260400,\"exp\":1764264000}" },
	{ "escaping in claims", 1, JWT_RS256,
	  { "a\"b\\c", "\xc3\xa9", NULL, NULL, NULL, 0, 0, 0 },
	  "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
	  "{\"iss\":\"a\\\"b\\\\c\",\"sub\":\"\xc3\xa9\"}" },
};

static int
verify(EVP_PKEY *pub, enum jwt_alg alg, const char *input, size_t len,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (md == NULL || EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL,
	    pub) != 1)
		fail("EVP_DigestVerifyInit");
	if (alg == JWT_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1))
		fail("PSS parameters");
	ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)input,
	    len) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

static void
test_sign(void)
{
	struct jwt_service_account sa;
	struct jwt_key *key;
	const struct sign_case *c;
	unsigned char *hdr, *pay, *sig;
	size_t i, hlen, plen, slen;
	char want_hdr[256], *jwt, *dot1, *dot2, *tampered;

	for (i = 0; i < sizeof(sign_cases) / sizeof(sign_cases[0]); i++) {
		c = &sign_cases[i];
		where = c->name;
		if (c->keysrc == 2)
			expect_r(jwt_service_account_load(path("sa.json"), &key,
			    &sa), 0);
		else
			expect_r(jwt_key_load(path("a.key"), c->keysrc == 0 ?
			    path("a.crt") : NULL, &key), 0);
		expect_r(jwt_sign(key, c->alg, &c->claims, &jwt), 0);
		if ((dot1 = strchr(jwt, '.')) == NULL ||
		    (dot2 = strchr(dot1 + 1, '.')) == NULL ||
		    strchr(dot2 + 1, '.') != NULL)
			fail("not three parts: %s", jwt);
		hdr = unb64url(jwt, (size_t)(dot1 - jwt), &hlen);
		pay = unb64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), &plen);
		sig = unb64url(dot2 + 1, strlen(dot2 + 1), &slen);
		/* "TP" in the expected header stands for the thumbprint. */
		{
			const char *tp = strstr(c->header, "TP");

			if (tp == NULL)
				snprintf(want_hdr, sizeof(want_hdr), "%s", c->header);
			else
				snprintf(want_hdr, sizeof(want_hdr), "%.*s%s%s",
				    (int)(tp - c->header), c->header, thumb_a, tp + 2);
		}
		expect_str("header", (char *)hdr, want_hdr);
		expect_str("claims", (char *)pay, c->payload);
		if (slen != 256)
			fail("signature of %zu bytes, want 256", slen);
		if (!verify(key_a, c->alg, jwt, (size_t)(dot2 - jwt), sig, slen))
			fail("the signature does not verify");
		/* The other padding must not verify: the alg is honest. */
		if (verify(key_a, c->alg == JWT_RS256 ? JWT_PS256 : JWT_RS256,
		    jwt, (size_t)(dot2 - jwt), sig, slen))
			fail("the signature verifies with the other algorithm");
		if (verify(key_b, c->alg, jwt, (size_t)(dot2 - jwt), sig, slen))
			fail("the signature verifies with another key");
		if ((tampered = strdup(jwt)) == NULL)
			fail("out of memory");
		tampered[dot1 - jwt + 2] ^= 1;
		if (verify(key_a, c->alg, tampered, (size_t)(dot2 - jwt), sig,
		    slen))
			fail("a tampered assertion verifies");
		free(tampered);
		free(hdr);
		free(pay);
		free(sig);
		xo_free_secret(jwt);
		jwt_key_free(key);
		if (c->keysrc == 2)
			jwt_service_account_clear(&sa);
	}
	printf("ok: %zu signed assertions verified by OpenSSL\n", i);
}

static void
test_jti(void)
{
	char a[JWT_JTI_LEN + 1], b[JWT_JTI_LEN + 1];
	size_t i;

	where = "jti";
	expect_r(jwt_random_jti(a), 0);
	expect_r(jwt_random_jti(b), 0);
	if (strlen(a) != JWT_JTI_LEN || strcmp(a, b) == 0)
		fail("\"%s\", then \"%s\"", a, b);
	for (i = 0; i < JWT_JTI_LEN; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? a[i] != '-' :
		    strchr("0123456789abcdef", a[i]) == NULL)
			fail("not a UUID: %s", a);
	if (a[14] != '4' || strchr("89ab", a[19]) == NULL)
		fail("not a version 4 UUID: %s", a);
	printf("ok: jti\n");
}

static void
cleanup(void)
{
	static const char *const names[] = { "a.key", "a-0400.key",
	    "a-group.key", "a-other.key", "a-enc.key", "b.key", "small.key",
	    "ec.key", "a.crt", "b.crt", "junk", "empty", "link.key",
	    "sa.json", "sa-group.json", "sa-type.json", "sa-nokey.json",
	    "sa-noemail.json", "sa-notjson.json", "sa-badkey.json" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path(names[i]));
	rmdir(path("dir.key"));
	rmdir(dir);
}

int
main(void)
{
	setup();
	test_load();
	test_parse();
	test_service_account();
	test_sign();
	test_jti();
	cleanup();
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	X509_free(cert_a);
	printf("PASS\n");
	return 0;
}
