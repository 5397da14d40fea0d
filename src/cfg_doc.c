/* SPDX-License-Identifier: MIT */
/*
 * cfg_doc.c: renders the key tables for people: cfg_show() feeds SHOW CONFIG one row at
 * a time, and cfg_write_doc() writes the Markdown of docs/config.md.
 * Not here: the rows (cfg_keys.c) or how a value is rendered (cfg_value.c); the only
 * I/O is writing to the caller's FILE.
 * Invariant: both walk cfg_keys[] in table order and list only real rows as settings.
 */
#include "cfg.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cfg_keys.h"

void cfg_show(const struct config *cfg, cfg_show_fn *fn, void *arg)
{
    char buf[64];
    for (const struct cfg_key *k = cfg_keys; k->name; k++) {
        if (!cfg_key_is_real(k))
            continue;
        fn(arg, k->name, cfg_value_render(cfg, k, buf, sizeof(buf)), k->def ? k->def : "",
           !(k->flags & CFG_RESTART));
    }
}

static void doc_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else
            fputc(*s, out);
    }
}

static void doc_default(FILE *out, const struct cfg_key *k)
{
    if (!k->def)
        fputs("(unset)", out);
    else if (!*k->def)
        fputs("(empty)", out);
    else {
        fputc('`', out);
        doc_cell(out, k->def);
        fputc('`', out);
    }
}

static void doc_params(FILE *out, const struct cfg_key *table, const char *deflt)
{
    fputs("| parameter | default | meaning |\n| --- | --- | --- |\n", out);
    for (const struct cfg_key *k = table; k->name; k++) {
        if (!cfg_key_is_real(k))
            continue;
        fprintf(out, "| `%s` | ", k->name);
        if (k->def)
            doc_default(out, k);
        else if (k->type != CFG_T_STR || strncmp(k->doc, "overrides", 9) == 0)
            fputs(deflt, out); /* falls back to the [lifeguard] setting */
        else
            fputs("(unset)", out);
        fputs(" | ", out);
        doc_cell(out, k->doc);
        fputs(" |\n", out);
    }
    for (const struct cfg_key *k = table; k->name; k++)
        if (k->type == CFG_T_ALIAS)
            fprintf(out, "\n`%s` is accepted as another name for `%s`.\n", k->name, k->alias_of);
    fputs("\nPgBouncer parameters accepted with a warning and ignored:", out);
    const char *sep = " ";
    for (const struct cfg_key *k = table; k->name; k++) {
        if (k->type == CFG_T_PGBOUNCER) {
            fprintf(out, "%s`%s`", sep, k->name);
            sep = ", ";
        }
    }
    fputs(". Any other parameter is an error.\n", out);
}

void cfg_write_doc(FILE *out)
{
    fputs("# lifeguard configuration reference\n\n"
          "<!-- Generated from src/cfg_keys.c by `make docs`; edit the table there. -->\n\n"
          "lifeguard reads a PgBouncer-style ini file: `[lifeguard]` (or `[pgbouncer]`, so an\n"
          "existing pgbouncer.ini works unchanged) holds the settings below, `[databases]` maps\n"
          "the database names clients use to servers, and `[users]` holds per-user overrides.\n"
          "`[peers]` is accepted with a warning and ignored. Lines starting with `;` or `#`\n"
          "are comments, key names are case-insensitive, and `%include path` reads another\n"
          "file (relative to the including one) in place. An unknown setting is an error\n"
          "with its file:line; a PgBouncer setting lifeguard does not implement is a warning.\n"
          "Every error in the file is reported, not only the first.\n\n"
          "Times are seconds and may have a fraction (`0.5`) or a unit (`250ms`, `2min`, `1h`);\n"
          "booleans accept `0/1`, `yes/no`, `on/off`, `true/false`.\n\n"
          "Every setting can be overridden from the environment as\n"
          "`LIFEGUARD_<UPPER_CASE_NAME>=value` (aliases too); `DB_POOL_SIZE` and\n"
          "`DB_MAX_OVERFLOW` set `default_pool_size` and `max_overflow`. The environment wins\n"
          "over the file, and `LIFEGUARD_` names win over the `DB_` ones.\n\n"
          "`restart` settings are read once at start: RELOAD keeps their old value and warns.\n\n"
          "## [lifeguard] settings\n\n"
          "| key | default | change | meaning |\n| --- | --- | --- | --- |\n",
          out);
    for (const struct cfg_key *k = cfg_keys; k->name; k++) {
        if (!cfg_key_is_real(k))
            continue;
        fprintf(out, "| `%s` | ", k->name);
        doc_default(out, k);
        fprintf(out, " | %s | ", k->flags & CFG_RESTART ? "restart" : "reload");
        doc_cell(out, k->doc);
        if (k->type == CFG_T_INT)
            fprintf(out, " (%" PRId64 "..%" PRId64 ")", k->min, k->max);
        fputs(" |\n", out);
    }
    fputs("\n## Aliases\n\n| alias | setting |\n| --- | --- |\n", out);
    for (const struct cfg_key *k = cfg_keys; k->name; k++)
        if (k->type == CFG_T_ALIAS)
            fprintf(out, "| `%s` | `%s` |\n", k->name, k->alias_of);
    fputs("\n## [databases]\n\n"
          "`name = key=value ...` in libpq style; a value may be single-quoted, with `''` for\n"
          "a quote inside. The entry named `*` is used for any database not listed.\n"
          "`lifeguard` and `pgbouncer` are reserved for the admin console.\n\n",
          out);
    doc_params(out, cfg_db_params, "global");
    fputs("\n## [users]\n\n`name = key=value ...`, same syntax as [databases].\n\n", out);
    doc_params(out, cfg_user_params, "global");
    fputs("\n## PgBouncer settings lifeguard does not implement\n\n"
          "These are accepted in [lifeguard]/[pgbouncer] with a warning and ignored.\n\n"
          "| key | what it does in PgBouncer |\n| --- | --- |\n",
          out);
    for (const struct cfg_key *k = cfg_keys; k->name; k++)
        if (k->type == CFG_T_PGBOUNCER)
            fprintf(out, "| `%s` | %s |\n", k->name, k->doc);
}
