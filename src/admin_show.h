/* SPDX-License-Identifier: MIT */
/*
 * admin_show.h: internal to the admin module (admin.c is its only caller): the SHOW
 * renderers and the PostgreSQL messages the console sends, appended to a strbuf.
 * Appends follow strbuf's sticky-error rule: check strbuf_status() afterwards.
 */
#ifndef LG_ADMIN_SHOW_H
#define LG_ADMIN_SHOW_H

#include "admin.h"
#include "admin_msg.h"
#include "strbuf.h"

/* Render SHOW @what (case-insensitive: pools, stats, stats_totals, stats_averages,
 * clients, servers, databases, users, lists, config, version, help): RowDescription,
 * DataRows, CommandComplete "SHOW", ReadyForQuery. 0 rendered; 1 unknown @what (nothing
 * appended); -ENOMEM (a scratch allocation failed; partial bytes may be appended). */
int admin_show(struct strbuf *sb, const char *what, const struct admin_source *src) LG_MUSTCHECK;

#endif
