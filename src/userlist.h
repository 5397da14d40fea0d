/* SPDX-License-Identifier: MIT */
/*
 * userlist.h: PgBouncer's auth_file format, pure: one user per line,
 * "user" "password-or-md5-or-SCRAM-secret" [ignored fields]; ";" and "#" start
 * comments; a doubled quote inside quotes is a literal quote.
 */
#ifndef LG_USERLIST_H
#define LG_USERLIST_H

#include <stddef.h>

#include "cfg.h"

struct userlist;

/* Parse @text (@len bytes). Returns the list (possibly empty), or NULL on out-of-memory.
 * Malformed lines are reported in @diag (as errors, with @file:line) and skipped. */
struct userlist *userlist_parse(const char *text, size_t len, const char *file,
                                struct cfg_diag *diag);
/* Read and parse @path. NULL on I/O error or OOM (reason in @diag). */
struct userlist *userlist_load(const char *path, struct cfg_diag *diag);
void userlist_free(struct userlist *ul);
/* The stored password/secret for @user, or NULL. Owned by @ul. */
const char *userlist_lookup(const struct userlist *ul, const char *user);
size_t userlist_count(const struct userlist *ul);

#endif
