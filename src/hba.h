/* SPDX-License-Identifier: MIT */
/*
 * hba.h: pg_hba.conf rules for auth_type = hba, pure (no I/O but hba_load): parse
 * "TYPE DATABASE USER [ADDRESS] METHOD" lines and find the first rule matching a
 * connection, as PostgreSQL does. Supported: local, host, hostssl, hostnossl; database
 * and user lists with all/sameuser; CIDR addresses, "all", and address + mask;
 * methods trust, reject, md5, scram-sha-256, password, peer, cert. Not supported
 * (reported with file:line): @files, +groups, host names, samehost/samenet, options.
 */
#ifndef LG_HBA_H
#define LG_HBA_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "cfg.h"

enum hba_method {
    HBA_TRUST,
    HBA_REJECT,
    HBA_MD5,
    HBA_SCRAM,
    HBA_PASSWORD,
    HBA_PEER,
    HBA_CERT,
};

struct hba;

/* Parse @text. NULL if any line is invalid (all errors in @diag, file:line). */
struct hba *hba_parse(const char *text, size_t len, const char *file, struct cfg_diag *diag);
struct hba *hba_load(const char *path, struct cfg_diag *diag);
void hba_free(struct hba *h);
size_t hba_count(const struct hba *h);

/* The method of the first rule matching the connection, or HBA_REJECT if none does.
 * @addr is NULL for a Unix-socket connection. *@line gets the rule's line (0: none). */
enum hba_method hba_match(const struct hba *h, const struct sockaddr *addr, bool ssl,
                          const char *db, const char *user, int *line);
const char *hba_method_name(enum hba_method m);

#endif
