/*
 * store: where token files live.  An ACCOUNT is ACCOUNT.json in
 * ${XDG_DATA_HOME:-$HOME/.local/share}/xoauth2/; an argument containing
 * a '/' is a path to a token file.
 */
#ifndef XO_STORE_H
#define XO_STORE_H

#include <stddef.h>

/* Errors beyond errno's range (errors.h lists every module's range). */
#define STORE_E_NAME	(-2001)	/* not a usable account name */
#define STORE_E_JSONEXT	(-2002)	/* account name ends in .json */
#define STORE_E_NOHOME	(-2003)	/* no XDG_DATA_HOME and no home directory */

/* Sets *DIRp to a new string naming the store directory.  Returns 0,
 * -ENOMEM or STORE_E_NOHOME. */
int store_dir(char **dirp);

/* Sets *PATHp to a new string naming the token file for ARG (an account
 * name or a path) and *IS_ACCOUNTp to 1 if ARG was an account name.
 * Returns 0, -ENOMEM, STORE_E_NAME, STORE_E_JSONEXT or STORE_E_NOHOME. */
int store_path(const char *arg, char **pathp, int *is_accountp);

/* Sets *NAMESp to a new NULL-terminated, sorted array of the account
 * names in the store (one per regular *.json file) and *Np to their
 * number; an absent store is an empty one.  Free with store_names_free.
 * Returns 0 or a negative errno. */
int store_list(char ***namesp, size_t *np);
void store_names_free(char **names);

/* Returns a static description of a STORE_E_* code or -errno. */
const char *store_strerror(int r);

#endif
