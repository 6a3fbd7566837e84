/*
 * jwt: the signed assertions of the app-only grants (RFC 7523), built
 * with json-c and signed with OpenSSL's EVP interface:
 *
 *  - the client assertion of the client credentials grant (RFC 7523 2.2,
 *    Microsoft's certificate credentials): RS256 or PS256, the header
 *    names the certificate by its x5t#S256 thumbprint, the claims are
 *    aud (the token endpoint), iss = sub (the client id), jti, nbf, iat,
 *    exp;
 *  - the assertion of the JWT bearer grant (RFC 7523 2.1, Google service
 *    accounts): RS256 with the key of Google's JSON key file, claims iss
 *    (the account's e-mail), sub (the mailbox), scope, aud, iat, exp.
 *
 * Key files are read like token files (common/tokfile.h): a regular file
 * (a symlink to one is followed: certbot and friends link their keys)
 * with no group or other permission bit, else JWT_E_PERMS / JWT_E_NOTREG
 * before a byte is read.  Every buffer that held key material is wiped.
 * Nothing here prints or talks to the network.
 *
 * Every function returns 0 or a negative code: -errno or one of the
 * JWT_E_* below; jwt_strerror() words it.
 */
#ifndef XO_JWT_H
#define XO_JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_KEYFILE_MAX		(64 * 1024)	/* larger key files are refused */
#define JWT_THUMBPRINT_LEN	43	/* base64url of a SHA-256 digest */
#define JWT_JTI_LEN		36	/* a random UUID: 8-4-4-4-12 */
#define JWT_MIN_RSA_BITS	2048	/* RFC 7518 3.3 */

/* Errors beyond errno's range (errors.h lists every module's range). */
#define JWT_E_PERMS	(-2201)	/* key file: group/other permission bits */
#define JWT_E_NOTREG	(-2202)	/* key file: not a regular file */
#define JWT_E_TOOBIG	(-2203)	/* larger than JWT_KEYFILE_MAX */
#define JWT_E_KEY	(-2204)	/* no (unencrypted) PEM private key */
#define JWT_E_KEYTYPE	(-2205)	/* not RSA, or shorter than 2048 bits */
#define JWT_E_CERT	(-2206)	/* no PEM certificate */
#define JWT_E_MISMATCH	(-2207)	/* certificate is not the key's */
#define JWT_E_JSON	(-2208)	/* not a service-account JSON key file */
#define JWT_E_CRYPTO	(-2209)	/* OpenSSL failed (signing, digest) */
#define JWT_E_ENCRYPTED	(-2210)	/* the PEM key has a passphrase */
#define JWT_E_OWNER	(-2211)	/* key file: not the reader's (euid's) */
#define JWT_E_PASSPHRASE (-2212) /* the passphrase does not open the key */

enum jwt_alg {
	JWT_RS256,		/* RSASSA-PKCS1-v1_5 with SHA-256 */
	JWT_PS256,		/* RSASSA-PSS with SHA-256, salt 32 */
};

/* A private key, with what the header says about it. */
struct jwt_key;

/* The claims of an assertion.  NULL strings and times <= 0 are left out;
 * they are written in this order. */
struct jwt_claims {
	const char	*iss;
	const char	*sub;
	const char	*aud;
	const char	*scope;
	const char	*jti;
	int64_t		 nbf;
	int64_t		 iat;
	int64_t		 exp;
};

/* What Google's JSON key file says, besides the key (strings are NULL if
 * absent; token_uri and client_email are always there). */
struct jwt_service_account {
	char		*client_email;
	char		*client_id;	/* numeric; the admin console's id */
	char		*token_uri;
	char		*private_key_id;
};

/* Parses the PEM private key in the LEN bytes at PEM (RSA, >= 2048
 * bits; PKCS#8, encrypted PKCS#8, or the traditional form, encrypted or
 * not), read by the caller from wherever it lives (helper/secret.h), and,
 * unless CERT_PATH is NULL, the PEM certificate CERT_PATH as jwt_key_load
 * does.  PASSPHRASE (NUL-terminated, or NULL: none) opens an encrypted
 * key and is ignored for one that is not; JWT_E_ENCRYPTED: the key is
 * encrypted and no passphrase was given; JWT_E_PASSPHRASE: it does not
 * open the key.  PEM and PASSPHRASE stay the caller's (to wipe); the
 * caller owns *KEYp (jwt_key_free). */
int jwt_key_parse(const char *pem, size_t len, const char *passphrase,
    const char *cert_path, struct jwt_key **keyp);

/* Loads the PEM private key KEY_PATH (RSA, >= 2048 bits) and, unless
 * CERT_PATH is NULL, the PEM certificate CERT_PATH (its first one), which
 * must hold the key's public half: the header then carries its x5t#S256.
 * The caller owns *KEYp (jwt_key_free). */
int jwt_key_load(const char *key_path, const char *cert_path,
    struct jwt_key **keyp);

/* Loads Google's service-account JSON key file PATH: the key (its
 * private_key_id becomes the header's kid) into *KEYp and the rest into
 * *SA (the caller frees it with jwt_service_account_clear). */
int jwt_service_account_load(const char *path, struct jwt_key **keyp,
    struct jwt_service_account *sa);
/* As jwt_service_account_load, from the LEN bytes of JSON at TEXT (the
 * caller's, to wipe). */
int jwt_service_account_parse(const char *text, size_t len,
    struct jwt_key **keyp, struct jwt_service_account *sa);
void jwt_service_account_clear(struct jwt_service_account *sa);

/* Writes the x5t#S256 of the first certificate in the PEM file PATH
 * (base64url of the SHA-256 of its DER form) into OUT. */
int jwt_cert_thumbprint(const char *path, char out[JWT_THUMBPRINT_LEN + 1]);

/* The thumbprint the key's header carries, or NULL (no certificate). */
const char *jwt_key_thumbprint(const struct jwt_key *key);

/* Writes a new random (version 4) UUID into OUT. */
int jwt_random_jti(char out[JWT_JTI_LEN + 1]);

/* Signs CLAIMS with KEY as ALG: *JWTp is a new string
 * BASE64URL(header) "." BASE64URL(claims) "." BASE64URL(signature), with
 * the header {"alg":..,"typ":"JWT"} and the key's x5t#S256 and kid if it
 * has them.  The assertion is a credential for its lifetime: the caller
 * wipes and frees it (xo_free_secret). */
int jwt_sign(const struct jwt_key *key, enum jwt_alg alg,
    const struct jwt_claims *claims, char **jwtp);

/* Reads the credential file PATH (a client secret, say) under the key
 * file rule above into a new NUL-terminated *TEXTp of *LENp bytes, which
 * the caller wipes and frees. */
int jwt_read_secret(const char *path, char **textp, size_t *lenp);

/* Wipes and frees KEY.  Accepts NULL. */
void jwt_key_free(struct jwt_key *key);

/* Returns a static description of R (-errno or JWT_E_*). */
const char *jwt_strerror(int r);

#endif
