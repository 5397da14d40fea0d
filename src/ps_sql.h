/* SPDX-License-Identifier: MIT */
/*
 * ps_sql.h: the heads of SQL texts that change prepared statements (ps_sql.c).
 */
#ifndef LG_PS_SQL_H
#define LG_PS_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* @s after blanks (space, tab, CR, LF), at most @end. */
const char *ps_sql_skip_space(const char *s, const char *end);
/* Case-insensitive keyword @w at @s (after blanks), followed by a non-identifier byte:
 * the byte after it, or NULL. */
const char *ps_sql_word(const char *s, const char *end, const char *w);
/* "DEALLOCATE [PREPARE] name [;]" and nothing else in @q..@end: the name in @name (an
 * unquoted one folded to lower case, as PostgreSQL does). False otherwise, and for ALL. */
bool ps_sql_deallocate_one(const char *q, const char *end, char *name, size_t cap);
/* DISCARD ALL or DEALLOCATE [PREPARE] ALL at the start of @q. */
bool ps_sql_drops_all(const char *q, const char *end);
/* DEALLOCATE ALL / DISCARD ALL starting a statement after the first, in a Query. */
bool ps_sql_later_drops_all(const char *q, const char *end);
/* The same for query text @q of @n bytes or up to a NUL. */
bool ps_sql_text_drops_all(const uint8_t *q, size_t n);
/* SQL-level "PREPARE name AS ..." (not PREPARE TRANSACTION). */
bool ps_sql_prepare(const char *q, const char *end);

#endif
