/* SPDX-License-Identifier: MIT */
/*
 * cfg_value.c: the typed values the key tables describe: parsing ini text into a field
 * (integers, booleans, durations, octal modes, enums) with range checks and file:line
 * messages, rendering a field back as ini text, and comparing, copying, defaulting and
 * freeing the fields of a whole table.
 * Not here: the rows themselves (cfg_keys.c) or any ini syntax (cfg.c). No I/O.
 * Invariant: a value is only stored after it parsed and passed its range check.
 */
#include "cfg_keys.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <strings.h>

#include "alloc.h"
#include "base.h"

int cfg_parse_int(const char *s, int64_t *out)
{
    char *end;
    if (!isdigit((unsigned char)*s) && !((*s == '-' || *s == '+') && isdigit((unsigned char)s[1])))
        return -EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *out = v;
    return 0;
}

int cfg_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "yes", "on", "true"};
    static const char *const no[] = {"0", "no", "off", "false"};
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

int cfg_parse_usec(const char *s, uint64_t *out)
{
    static const struct {
        const char *name;
        uint64_t us;
    } units[] = {{"", 1000000},
                 {"s", 1000000},
                 {"us", 1},
                 {"ms", 1000},
                 {"min", 60000000},
                 {"h", UINT64_C(3600000000)},
                 {"d", UINT64_C(86400000000)}};
    uint64_t whole = 0, frac = 0, scale = 1;
    const char *p = s;
    if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        if (whole > UINT64_C(1000000000000)) /* far above any range; stop before overflow */
            return -EINVAL;
        whole = whole * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++) {
            if (scale < UINT64_C(1000000)) { /* six digits: finer than 1 us is noise */
                frac = frac * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
        }
    }
    while (*p == ' ' || *p == '\t')
        p++;
    for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
        if (strcasecmp(p, units[i].name) != 0)
            continue;
        /* frac < scale <= 1e6 and a unit is at most 8.64e10 us: frac * us fits; the
         * check leaves room for the fraction, which adds less than one unit. */
        if (whole >= UINT64_MAX / units[i].us)
            return -EINVAL;
        *out = whole * units[i].us + frac * units[i].us / scale;
        return 0;
    }
    return -EINVAL;
}

const char *cfg_render_usec(uint64_t us, char *buf, size_t size)
{
    uint64_t frac = us % 1000000;
    if (!frac) {
        snprintf(buf, size, "%" PRIu64, us / 1000000);
        return buf;
    }
    int n = snprintf(buf, size, "%" PRIu64 ".%06" PRIu64, us / 1000000, frac);
    if (n > 0 && (size_t)n < size) {
        while (buf[n - 1] == '0')
            buf[--n] = '\0';
    }
    return buf;
}

int cfg_parse_tls_protocols(const char *s, unsigned *mask, char *why, size_t whylen)
{
    static const struct {
        const char *name;
        unsigned bits;
    } words[] = {
            {"tlsv1.0", CFG_TLS_1_0},
            {"tlsv1.1", CFG_TLS_1_1},
            {"tlsv1.2", CFG_TLS_1_2},
            {"tlsv1.3", CFG_TLS_1_3},
            {"tlsv1", CFG_TLS_ALL},
            {"all", CFG_TLS_ALL},
            {"legacy", CFG_TLS_ALL},
            {"secure", CFG_TLS_1_2 | CFG_TLS_1_3},
            {"default", CFG_TLS_1_2 | CFG_TLS_1_3},
    };
    unsigned set = 0;
    bool any = false;
    const char *p = s;
    for (;;) {
        p += strspn(p, ",: \t");
        if (!*p)
            break;
        size_t n = strcspn(p, ",: \t");
        bool negate = *p == '!';
        const char *w = p + negate;
        size_t wn = n - negate;
        unsigned bits = 0;
        for (size_t i = 0; i < ARRAY_SIZE(words) && !bits; i++)
            if (strlen(words[i].name) == wn && strncasecmp(w, words[i].name, wn) == 0)
                bits = words[i].bits;
        if (!bits) {
            snprintf(why, whylen,
                     "unknown TLS protocol \"%.*s\" (use tlsv1.0, tlsv1.1, tlsv1.2, tlsv1.3, "
                     "secure, all or legacy)",
                     (int)LG_MIN(n, (size_t)32), p);
            return -EINVAL;
        }
        if (negate && !any)
            set = CFG_TLS_ALL;
        set = negate ? set & ~bits : set | bits;
        any = true;
        p += n;
    }
    if (!set) {
        snprintf(why, whylen, "no TLS protocol left");
        return -EINVAL;
    }
    *mask = set;
    return 0;
}

/* String rows whose text has a syntax lifeguard can check without OpenSSL. */
static int check_tls_protocols(const char *val, char *why, size_t whylen)
{
    unsigned mask;
    return cfg_parse_tls_protocols(val, &mask, why, whylen);
}

static const struct {
    const char *key;
    int (*check)(const char *val, char *why, size_t whylen);
} string_checks[] = {
        {"client_tls_protocols", check_tls_protocols},
        {"server_tls_protocols", check_tls_protocols},
};

static int check_string(const struct cfg_key *k, const char *val, char *why, size_t whylen)
{
    for (size_t i = 0; i < ARRAY_SIZE(string_checks); i++)
        if (strcmp(k->name, string_checks[i].key) == 0)
            return string_checks[i].check(val, why, whylen);
    return 0;
}

static const struct cfg_enum *enum_find(const struct cfg_enum *e, const char *s)
{
    for (; e->name; e++)
        if (strcasecmp(e->name, s) == 0)
            return e;
    return NULL;
}

static const char *enum_name(const struct cfg_enum *e, int v)
{
    for (; e->name; e++)
        if (e->value == v && e->support == CFG_SUPPORTED)
            return e->name;
    return "?";
}

/* "session, transaction, statement": the accepted names, for messages. */
static const char *enum_choices(const struct cfg_enum *e, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (; e->name; e++) {
        if (e->support == CFG_REFUSED)
            continue;
        int w = snprintf(buf + n, size - n, "%s%s", n ? ", " : "", e->name);
        if (w < 0 || (size_t)w >= size - n)
            break;
        n += (size_t)w;
    }
    return buf;
}

static const char *range_text(const struct cfg_key *k, char *buf, size_t size)
{
    char a[32], b[32];
    if (k->type == CFG_T_USEC)
        snprintf(buf, size, "%s..%s seconds", cfg_render_usec((uint64_t)k->min, a, sizeof(a)),
                 cfg_render_usec((uint64_t)k->max, b, sizeof(b)));
    else if (k->type == CFG_T_OCTAL)
        snprintf(buf, size, "%#" PRIo64 "..%#" PRIo64, k->min, k->max);
    else
        snprintf(buf, size, "%" PRId64 "..%" PRId64, k->min, k->max);
    return buf;
}

static int set_string(char **field, const char *val)
{
    char *s = lg_strdup(val);
    if (!s)
        return -ENOMEM;
    lg_free(*field);
    *field = s;
    return 0;
}

int cfg_value_set(void *base, const struct cfg_key *k, const char *shown, const char *val,
                  struct cfg_diag *d, const char *file, int line)
{
    void *field = (char *)base + k->offset;
    char buf[160];
    int64_t v = 0;
    uint64_t us = 0;
    bool b = false;
    const struct cfg_enum *e;

    switch (k->type) {
    case CFG_T_STR:
    case CFG_T_LIST:
        if (check_string(k, val, buf, sizeof(buf)) < 0) {
            cfg_diag_add(d, true, file, line, "%s = %.64s: %s", shown, val, buf);
            return -EINVAL;
        }
        if ((k->flags & CFG_NOOP) && k->def && strcmp(val, k->def) != 0)
            cfg_diag_add(d, false, file, line, "%s = %.64s: accepted but has no effect", shown,
                         val);
        return set_string(field, val);
    case CFG_T_INT:
    case CFG_T_OCTAL:
        if (k->type == CFG_T_INT
                    ? cfg_parse_int(val, &v) < 0
                    : (!*val || strspn(val, "01234567") != strlen(val) || strlen(val) > 8)) {
            cfg_diag_add(d, true, file, line, "%s = %.64s: %s", shown, val,
                         k->type == CFG_T_INT ? "not an integer" : "not an octal mode (e.g. 0777)");
            return -EINVAL;
        }
        if (k->type == CFG_T_OCTAL)
            v = strtoll(val, NULL, 8);
        if (v < k->min || v > k->max) {
            cfg_diag_add(d, true, file, line, "%s = %.64s: out of range (%s)", shown, val,
                         range_text(k, buf, sizeof(buf)));
            return -EINVAL;
        }
        *(int *)field = (int)v;
        return 0;
    case CFG_T_BOOL:
        if (cfg_parse_bool(val, &b) < 0) {
            cfg_diag_add(d, true, file, line,
                         "%s = %.64s: not a boolean (use 0/1, yes/no, on/off, true/false)", shown,
                         val);
            return -EINVAL;
        }
        *(bool *)field = b;
        return 0;
    case CFG_T_USEC:
        if (cfg_parse_usec(val, &us) < 0) {
            cfg_diag_add(d, true, file, line,
                         "%s = %.64s: not a duration in seconds (e.g. 30, 0.5, 250ms)", shown, val);
            return -EINVAL;
        }
        if (us < (uint64_t)k->min || us > (uint64_t)k->max) {
            cfg_diag_add(d, true, file, line, "%s = %.64s: out of range (%s)", shown, val,
                         range_text(k, buf, sizeof(buf)));
            return -EINVAL;
        }
        *(uint64_t *)field = us;
        return 0;
    case CFG_T_ENUM:
    case CFG_T_STRENUM:
        e = enum_find(k->enums, val);
        if (!e) {
            cfg_diag_add(d, true, file, line, "%s = %.64s: must be one of: %s", shown, val,
                         enum_choices(k->enums, buf, sizeof(buf)));
            return -EINVAL;
        }
        if (e->support == CFG_REFUSED) {
            cfg_diag_add(d, true, file, line, "%s = %s: %s", shown, e->name, e->note);
            return -EINVAL;
        }
        if (k->type == CFG_T_STRENUM && set_string(field, e->name) < 0)
            return -ENOMEM;
        if (e->support == CFG_DEGRADED)
            cfg_diag_add(d, false, file, line, "%s = %s: %s", shown, e->name, e->note);
        if (k->type == CFG_T_ENUM)
            *(int *)field = e->value;
        return 0;
    case CFG_T_ALIAS:
    case CFG_T_PGBOUNCER:
        break;
    }
    LG_ASSERT(0 && "cfg_value_set on a row without a field");
    return -EINVAL;
}

const char *cfg_value_render(const void *base, const struct cfg_key *k, char *buf, size_t size)
{
    const void *field = (const char *)base + k->offset;
    const char *s;
    switch (k->type) {
    case CFG_T_STR:
    case CFG_T_LIST:
    case CFG_T_STRENUM:
        s = *(char *const *)field;
        return s ? s : "";
    case CFG_T_INT:
        snprintf(buf, size, "%d", *(const int *)field);
        return buf;
    case CFG_T_OCTAL:
        snprintf(buf, size, "0%o", (unsigned)*(const int *)field);
        return buf;
    case CFG_T_BOOL:
        return *(const bool *)field ? "1" : "0";
    case CFG_T_ENUM:
        return enum_name(k->enums, *(const int *)field);
    case CFG_T_USEC:
        return cfg_render_usec(*(const uint64_t *)field, buf, size);
    case CFG_T_ALIAS:
    case CFG_T_PGBOUNCER:
        break;
    }
    return "";
}

static bool is_string(const struct cfg_key *k)
{
    return k->type == CFG_T_STR || k->type == CFG_T_LIST || k->type == CFG_T_STRENUM;
}

bool cfg_value_equal(const void *a, const void *b, const struct cfg_key *k)
{
    const void *fa = (const char *)a + k->offset, *fb = (const char *)b + k->offset;
    if (is_string(k)) {
        const char *sa = *(char *const *)fa, *sb = *(char *const *)fb;
        return sa == sb || (sa && sb && strcmp(sa, sb) == 0);
    }
    switch (k->type) {
    case CFG_T_BOOL:
        return *(const bool *)fa == *(const bool *)fb;
    case CFG_T_USEC:
        return *(const uint64_t *)fa == *(const uint64_t *)fb;
    default:
        return *(const int *)fa == *(const int *)fb;
    }
}

int cfg_value_copy(void *dst, const void *src, const struct cfg_key *k)
{
    void *fd = (char *)dst + k->offset;
    const void *fs = (const char *)src + k->offset;
    if (is_string(k)) {
        const char *s = *(char *const *)fs;
        char *c = NULL;
        if (s && !(c = lg_strdup(s)))
            return -ENOMEM;
        lg_free(*(char **)fd);
        *(char **)fd = c;
        return 0;
    }
    size_t n = k->type == CFG_T_BOOL   ? sizeof(bool)
               : k->type == CFG_T_USEC ? sizeof(uint64_t)
                                       : sizeof(int);
    memcpy(fd, fs, n);
    return 0;
}

int cfg_table_defaults(void *base, const struct cfg_key *table)
{
    struct cfg_diag d;
    cfg_diag_init(&d);
    int rc = 0;
    for (const struct cfg_key *k = table; k->name && rc == 0; k++) {
        if (!cfg_key_is_real(k))
            continue;
        if (!k->def) {
            if (is_string(k)) {
                lg_free(*(char **)((char *)base + k->offset));
                *(char **)((char *)base + k->offset) = NULL;
            }
            continue;
        }
        rc = cfg_value_set(base, k, k->name, k->def, &d, "defaults", 0);
    }
    /* A default that does not parse is a bug in the table above, not a user error. */
    LG_ASSERT(rc == -ENOMEM || d.errors == 0);
    cfg_diag_fini(&d);
    return rc;
}

int cfg_table_dup_strings(void *dst, const void *src, const struct cfg_key *table)
{
    for (const struct cfg_key *k = table; k->name; k++)
        if (cfg_key_is_real(k) && is_string(k))
            *(char **)((char *)dst + k->offset) = NULL;
    for (const struct cfg_key *k = table; k->name; k++)
        if (cfg_key_is_real(k) && is_string(k) && cfg_value_copy(dst, src, k) < 0)
            return -ENOMEM;
    return 0;
}

void cfg_table_free(void *base, const struct cfg_key *table)
{
    for (const struct cfg_key *k = table; k->name; k++) {
        if (cfg_key_is_real(k) && is_string(k)) {
            char **f = (char **)((char *)base + k->offset);
            lg_free(*f);
            *f = NULL;
        }
    }
}
