/* SPDX-License-Identifier: MIT */
/*
 * admin_show.h: internal to the admin module (admin.c is its only caller): the SHOW
 * renderers and the PostgreSQL messages the console sends, appended to a strbuf.
 * Appends follow strbuf's sticky-error rule: check strbuf_status() afterwards.
 */
#ifndef LG_ADMIN_SHOW_H
#define LG_ADMIN_SHOW_H

#include "admin.h"
#include "strbuf.h"

/* Render SHOW @what (case-insensitive: pools, stats, stats_totals, stats_averages,
 * clients, servers, databases, users, lists, config, version, help): RowDescription,
 * DataRows, CommandComplete "SHOW", ReadyForQuery. 0 rendered; 1 unknown @what (nothing
 * appended); -ENOMEM (a scratch allocation failed; partial bytes may be appended). */
int admin_show(struct strbuf *sb, const char *what, const struct admin_source *src) LG_MUSTCHECK;

/* CommandComplete @tag. */
void admin_msg_complete(struct strbuf *sb, const char *tag);
/* ReadyForQuery, idle. */
void admin_msg_ready(struct strbuf *sb);
/* @type 'N' (NoticeResponse) or 'E' (ErrorResponse) with severity, SQLSTATE, message and
 * an optional (NULL) detail. */
void admin_msg_notice(struct strbuf *sb, char type, const char *severity, const char *sqlstate,
                      const char *msg, const char *detail);
/* ErrorResponse (ERROR) then ReadyForQuery. */
void admin_msg_error_ready(struct strbuf *sb, const char *sqlstate, const char *msg);
/* EmptyQueryResponse then ReadyForQuery. */
void admin_msg_empty_query(struct strbuf *sb);

#endif
