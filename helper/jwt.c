/*
 * jwt: signed assertions for the app-only grants.  See jwt.h.
 *
 * The key file's text is read into a buffer we own and wipe; OpenSSL
 * parses it from a memory BIO.  What OpenSSL keeps inside the EVP_PKEY
 * is its business (EVP_PKEY_free clears RSA keys).  The assertion itself
 * is a credential for its few minutes of life: the caller wipes it.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base64url.h"
#include "credfile.h"
#include "jwt.h"
#include "xo_json.h"
#include "xo_util.h"

#define JWT_JSON_DEPTH	4	/* Google's key file is one flat object */

struct jwt_key {
	EVP_PKEY	*pkey;
	char		*kid;		/* or NULL */
	int		 has_thumbprint;
	char		 thumbprint[JWT_THUMBPRINT_LEN + 1];
};

void
jwt_key_free(struct jwt_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key->kid);
	xo_freezero(key, sizeof(*key));
}

/* Reads the file PATH into a new buffer *TEXTp (NUL-terminated, *LENp
 * bytes; the caller wipes and frees it).  A credential file named by a
 * token file is read by the file's owner (become.h) and must be theirs:
 * a regular file (no symlink, no FIFO or device: refused before it is
 * even opened), owned by us (JWT_E_OWNER), that nobody else may write;
 * if SECRET, with no group or other bit at all (credfile_open). */
static int
read_file(const char *path, int secret, char **textp, size_t *lenp)
{
	struct stat st;
	int fd, r;

	*textp = NULL;
	*lenp = 0;
	/* credfile.h's rule, the one setup checks with: not even opened
	 * unless regular (a device's open routine would run, a tape
	 * rewinds; a FIFO would block; a symlink could lead anywhere). */
	if ((r = credfile_open(path, secret, &fd, &st)) != 0)
		return r == CREDFILE_E_NOTREG ? JWT_E_NOTREG :
		    r == CREDFILE_E_OWNER ? JWT_E_OWNER :
		    r == CREDFILE_E_PERMS ? JWT_E_PERMS : r;
	if ((r = xo_read_max(fd, &st, JWT_KEYFILE_MAX, textp, lenp)) != 0)
		r = r == -EFBIG ? JWT_E_TOOBIG : r;
	close(fd);
	return r;
}

int
jwt_read_secret(const char *path, char **textp, size_t *lenp)
{
	return read_file(path, 1, textp, lenp);
}

/* What the passphrase callback is given, and what it saw. */
struct pem_pass {
	const char	*pass;		/* NULL: none configured */
	int		 asked;		/* OpenSSL asked: the key is encrypted */
};

/* PEM_read_bio_PrivateKey's passphrase callback: the configured
 * passphrase, if any; we never prompt (the helper runs from timers and
 * postfix, with nobody to type it).  OpenSSL wipes BUF after use. */
static int
pem_passphrase(char *buf, int size, int rwflag, void *u)
{
	struct pem_pass *p = u;
	size_t n;

	(void)rwflag;
	p->asked = 1;
	if (p->pass == NULL || size <= 0 || (n = strlen(p->pass)) == 0 ||
	    n > (size_t)size)
		return -1;
	memcpy(buf, p->pass, n);
	return (int)n;
}

/* Parses the PEM private key in the LEN bytes at TEXT, decrypting it
 * with PASS (or NULL) if it is encrypted, into *PKEYp. */
static int
parse_key(const char *text, size_t len, const char *pass, EVP_PKEY **pkeyp)
{
	struct pem_pass pp = { pass, 0 };
	EVP_PKEY *pkey = NULL;
	BIO *bio;
	int r;

	*pkeyp = NULL;
	if (len > JWT_KEYFILE_MAX ||
	    (bio = BIO_new_mem_buf(text, (int)len)) == NULL)
		return -ENOMEM;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, pem_passphrase, &pp);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL)
		return !pp.asked ? JWT_E_KEY : pass == NULL ? JWT_E_ENCRYPTED :
		    JWT_E_PASSPHRASE;
	/* RFC 7518 3.3: RSA keys of 2048 bits or more. */
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(pkey) < JWT_MIN_RSA_BITS) {
		r = JWT_E_KEYTYPE;
		goto out;
	}
	*pkeyp = pkey;
	pkey = NULL;
	r = 0;
 out:
	EVP_PKEY_free(pkey);
	return r;
}

/* Reads the first PEM certificate in PATH into *CERTp. */
static int
load_cert(const char *path, X509 **certp)
{
	char *text = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	int r;

	*certp = NULL;
	if ((r = read_file(path, 0, &text, &len)) != 0)
		return r;
	if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if ((*certp = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		r = JWT_E_CERT;
		goto out;
	}
	r = 0;
 out:
	BIO_free(bio);
	xo_freezero(text, len);
	return r;
}

static int
cert_thumbprint(X509 *cert, char out[JWT_THUMBPRINT_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
		ERR_clear_error();
		return JWT_E_CRYPTO;
	}
	if (b64url_encode(out, JWT_THUMBPRINT_LEN + 1, md, mdlen) !=
	    JWT_THUMBPRINT_LEN)
		return JWT_E_CRYPTO;
	return 0;
}

int
jwt_cert_thumbprint(const char *path, char out[JWT_THUMBPRINT_LEN + 1])
{
	X509 *cert = NULL;
	int r;

	out[0] = '\0';
	if ((r = load_cert(path, &cert)) != 0)
		return r;
	r = cert_thumbprint(cert, out);
	X509_free(cert);
	return r;
}

int
jwt_key_parse(const char *pem, size_t len, const char *passphrase,
    const char *cert_path, struct jwt_key **keyp)
{
	struct jwt_key *key = NULL;
	X509 *cert = NULL;
	int r;

	*keyp = NULL;
	if ((key = calloc(1, sizeof(*key))) == NULL)
		return -ENOMEM;
	if ((r = parse_key(pem, len, passphrase, &key->pkey)) != 0)
		goto out;
	if (cert_path != NULL) {
		if ((r = load_cert(cert_path, &cert)) != 0)
			goto out;
		/* The server checks the signature with the certificate's
		 * key: say so now rather than hear "invalid_client". */
		if (X509_get0_pubkey(cert) == NULL ||
		    EVP_PKEY_eq(X509_get0_pubkey(cert), key->pkey) != 1) {
			ERR_clear_error();
			r = JWT_E_MISMATCH;
			goto out;
		}
		if ((r = cert_thumbprint(cert, key->thumbprint)) != 0)
			goto out;
		key->has_thumbprint = 1;
	}
	*keyp = key;
	key = NULL;
	r = 0;
 out:
	X509_free(cert);
	jwt_key_free(key);
	return r;
}

int
jwt_key_load(const char *key_path, const char *cert_path,
    struct jwt_key **keyp)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	*keyp = NULL;
	if ((r = read_file(key_path, 1, &text, &len)) != 0)
		return r;
	r = jwt_key_parse(text, len, NULL, cert_path, keyp);
	xo_freezero(text, len);
	return r;
}

const char *
jwt_key_thumbprint(const struct jwt_key *key)
{
	return key->has_thumbprint ? key->thumbprint : NULL;
}

void
jwt_service_account_clear(struct jwt_service_account *sa)
{
	free(sa->client_email);
	free(sa->client_id);
	free(sa->token_uri);
	free(sa->private_key_id);
	memset(sa, 0, sizeof(*sa));
}

/* A string member NAME of OBJ, or NULL (absent, or not a string). */
static const char *
member(struct json_object *obj, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, name, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0)
		return NULL;
	return json_object_get_string(v);
}

static int
dup_member(struct json_object *obj, const char *name, char **outp)
{
	const char *s = member(obj, name);

	*outp = NULL;
	if (s == NULL)
		return 0;
	/* These go into headers, claims and the token file. */
	if (xo_has_ctl(s, strlen(s)))
		return JWT_E_JSON;
	return (*outp = strdup(s)) == NULL ? -ENOMEM : 0;
}

int
jwt_service_account_parse(const char *text, size_t len, struct jwt_key **keyp,
    struct jwt_service_account *sa)
{
	struct json_object *root = NULL;
	struct jwt_key *key = NULL;
	const char *type, *pem;
	int r;

	*keyp = NULL;
	memset(sa, 0, sizeof(*sa));
	if ((key = calloc(1, sizeof(*key))) == NULL)
		return -ENOMEM;
	if ((r = xo_json_parse(text, len, JWT_JSON_DEPTH, &root)) != 0) {
		r = r == -ENOMEM ? r : JWT_E_JSON;
		goto out;
	}
	type = member(root, "type");
	pem = member(root, "private_key");
	if (!json_object_is_type(root, json_type_object) || pem == NULL ||
	    (type != NULL && strcmp(type, "service_account") != 0)) {
		r = JWT_E_JSON;
		goto out;
	}
	if ((r = dup_member(root, "client_email", &sa->client_email)) != 0 ||
	    (r = dup_member(root, "client_id", &sa->client_id)) != 0 ||
	    (r = dup_member(root, "token_uri", &sa->token_uri)) != 0 ||
	    (r = dup_member(root, "private_key_id", &sa->private_key_id)) != 0)
		goto out;
	if (sa->client_email == NULL || sa->token_uri == NULL) {
		r = JWT_E_JSON;
		goto out;
	}
	if ((r = parse_key(pem, strlen(pem), NULL, &key->pkey)) != 0)
		goto out;
	if (sa->private_key_id != NULL &&
	    (key->kid = strdup(sa->private_key_id)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	*keyp = key;
	key = NULL;
	r = 0;
 out:
	if (r != 0)
		jwt_service_account_clear(sa);
	xo_json_free(root);
	jwt_key_free(key);
	return r;
}

int
jwt_service_account_load(const char *path, struct jwt_key **keyp,
    struct jwt_service_account *sa)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	*keyp = NULL;
	memset(sa, 0, sizeof(*sa));
	if ((r = read_file(path, 1, &text, &len)) != 0)
		return r;
	r = jwt_service_account_parse(text, len, keyp, sa);
	xo_freezero(text, len);
	return r;
}

int
jwt_random_jti(char out[JWT_JTI_LEN + 1])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1) {
		ERR_clear_error();
		return JWT_E_CRYPTO;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);	/* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	snprintf(out, JWT_JTI_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
	    b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	    b[15]);
	return 0;
}

static int
add_string(struct json_object *obj, const char *name, const char *value)
{
	return value == NULL ? 0 : xo_json_add(obj, name, json_object_new_string(value));
}

static int
add_time(struct json_object *obj, const char *name, int64_t value)
{
	return value <= 0 ? 0 : xo_json_add(obj, name, json_object_new_int64(value));
}

/* Appends base64url(the JSON text of OBJ) to OUT at *NP. */
static int
append_json(char *out, size_t size, size_t *np, struct json_object *obj)
{
	const char *s;
	size_t len = 0, n;

	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL)
		return -ENOMEM;
	n = b64url_encode(out + *np, size - *np, (const unsigned char *)s, len);
	if (n == 0 && len > 0)
		return -ENOMEM;
	*np += n;
	return 0;
}

static int
sign(EVP_PKEY *pkey, enum jwt_alg alg, const char *input, size_t len,
    unsigned char **sigp, size_t *siglenp)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int r = JWT_E_CRYPTO;

	*sigp = NULL;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return -ENOMEM;
	if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, pkey) != 1)
		goto out;
	/* RFC 7518 3.5: PSS with MGF1 over SHA-256 and a 32-byte salt. */
	if (alg == JWT_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1))
		goto out;
	if (EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input,
	    len) != 1)
		goto out;
	if ((sig = malloc(siglen)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input,
	    len) != 1)
		goto out;
	*sigp = sig;
	*siglenp = siglen;
	sig = NULL;
	r = 0;
 out:
	if (r != 0)
		ERR_clear_error();
	free(sig);
	EVP_MD_CTX_free(md);
	return r;
}

int
jwt_sign(const struct jwt_key *key, enum jwt_alg alg,
    const struct jwt_claims *c, char **jwtp)
{
	struct json_object *header = NULL, *claims = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0, size = 0, n = 0;
	char *out = NULL;
	int r;

	*jwtp = NULL;
	if ((header = json_object_new_object()) == NULL ||
	    (claims = json_object_new_object()) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = add_string(header, "alg", alg == JWT_PS256 ? "PS256" :
	    "RS256")) != 0 ||
	    (r = add_string(header, "typ", "JWT")) != 0 ||
	    (r = add_string(header, "x5t#S256", jwt_key_thumbprint(key))) != 0 ||
	    (r = add_string(header, "kid", key->kid)) != 0)
		goto out;
	if ((r = add_string(claims, "iss", c->iss)) != 0 ||
	    (r = add_string(claims, "sub", c->sub)) != 0 ||
	    (r = add_string(claims, "aud", c->aud)) != 0 ||
	    (r = add_string(claims, "scope", c->scope)) != 0 ||
	    (r = add_string(claims, "jti", c->jti)) != 0 ||
	    (r = add_time(claims, "nbf", c->nbf)) != 0 ||
	    (r = add_time(claims, "iat", c->iat)) != 0 ||
	    (r = add_time(claims, "exp", c->exp)) != 0)
		goto out;

	/* Room for header.claims.signature: base64url of each, and the
	 * signature is at most EVP_PKEY_get_size bytes. */
	size = (strlen(json_object_to_json_string_ext(header,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) +
	    strlen(json_object_to_json_string_ext(claims,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) +
	    (size_t)EVP_PKEY_get_size(key->pkey)) * 4 / 3 + 16;
	if ((out = malloc(size)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = append_json(out, size, &n, header)) != 0)
		goto out;
	out[n++] = '.';
	if ((r = append_json(out, size, &n, claims)) != 0)
		goto out;
	if ((r = sign(key->pkey, alg, out, n, &sig, &siglen)) != 0)
		goto out;
	out[n++] = '.';
	if (b64url_encode(out + n, size - n, sig, siglen) == 0) {
		r = -ENOMEM;
		goto out;
	}
	*jwtp = out;
	out = NULL;
	r = 0;
 out:
	xo_freezero(out, size);
	free(sig);
	json_object_put(header);
	json_object_put(claims);
	return r;
}

const char *
jwt_strerror(int r)
{
	switch (r) {
	case 0:
		return "success";
	case JWT_E_PERMS:
		return "accessible by group or others";
	case JWT_E_NOTREG:
		return "not a regular file";
	case JWT_E_OWNER:
		return "owned by another user";
	case JWT_E_TOOBIG:
		return "too large for a key file";
	case JWT_E_KEY:
		return "not a PEM private key";
	case JWT_E_KEYTYPE:
		return "not an RSA key of 2048 bits or more";
	case JWT_E_CERT:
		return "not a PEM certificate";
	case JWT_E_MISMATCH:
		return "the certificate is not the private key's";
	case JWT_E_JSON:
		return "not a service-account JSON key file (no private_key, "
		    "client_email or token_uri)";
	case JWT_E_CRYPTO:
		return "OpenSSL could not sign";
	case JWT_E_ENCRYPTED:
		return "the private key is protected by a passphrase";
	case JWT_E_PASSPHRASE:
		return "the passphrase does not open the private key";
	}
	return xo_errno_text(r);
}
