/* SPDX-License-Identifier: MIT */
/*
 * test_stats.c: unit tests for stats.c and strbuf.c: histogram bucket edges, SQLSTATE
 * classes, stats_period averages, exact decimal seconds, JSON strings, and the
 * Prometheus exposition of two pools parsed back by a small parser written here (every
 * sample has HELP and TYPE, families are contiguous, histogram buckets are cumulative
 * and end with +Inf == _count, label values round-trip through escaping). Also the
 * /health/db JSON and bounded/failed allocation. Not a test of who fills the counters.
 * Invariant: every test ends with alloc_live_count() back at its starting value.
 */
#include "stats.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "alloc.h"
#include "base.h"
#include "strbuf.h"

/* ---- strbuf ---- */

static void test_strbuf_bounded_and_sticky(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct strbuf sb;
    strbuf_init(&sb, 10);
    strbuf_puts(&sb, "0123456789"); /* exactly max_bytes */
    assert_int_equal(strbuf_status(&sb), 0);
    assert_string_equal(sb.data, "0123456789");
    strbuf_putc(&sb, 'x');
    assert_int_equal(strbuf_status(&sb), -ENOSPC);
    strbuf_reset(&sb);
    strbuf_printf(&sb, "%d-%s", 42, "ab");
    assert_int_equal(strbuf_status(&sb), 0);
    assert_string_equal(sb.data, "42-ab");
    strbuf_printf(&sb, "%s", "toolongtoolong");
    assert_int_equal(strbuf_status(&sb), -ENOSPC);
    assert_string_equal(sb.data, "42-ab"); /* the failed append left nothing behind */
    strbuf_puts(&sb, "z");                 /* sticky: still failing */
    assert_string_equal(sb.data, "42-ab");
    strbuf_fini(&sb);
    assert_int_equal(alloc_live_count(), base);
}

static void test_strbuf_large_printf_and_oom(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    struct strbuf sb;
    strbuf_init(&sb, 1 << 20);
    char big[1000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    strbuf_printf(&sb, "<%s>", big);
    assert_int_equal(sb.len, 1001);
    assert_int_equal(sb.data[0], '<');
    assert_int_equal(sb.data[1000], '>');
    strbuf_fini(&sb);
    alloc_fail_after(1);
    strbuf_puts(&sb, "x");
    alloc_fail_reset();
    assert_int_equal(strbuf_status(&sb), -ENOMEM);
    strbuf_fini(&sb);
    assert_int_equal(alloc_live_count(), base);
}

static void test_strbuf_seconds_and_json(void **state)
{
    (void)state;
    static const struct {
        uint64_t us;
        const char *s;
    } cases[] = {{0, "0"},
                 {1, "0.000001"},
                 {100, "0.0001"},
                 {250, "0.00025"},
                 {1500000, "1.5"},
                 {60000000, "60"},
                 {1234567, "1.234567"},
                 {UINT64_MAX, "18446744073709.551615"}};
    struct strbuf sb;
    strbuf_init(&sb, 4096);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        strbuf_reset(&sb);
        strbuf_put_seconds(&sb, cases[i].us);
        assert_string_equal(sb.data, cases[i].s);
    }
    strbuf_reset(&sb);
    strbuf_put_json_string(&sb, "a\"b\\c\nd\x01\x7f\xc3\xa9");
    assert_string_equal(sb.data, "\"a\\\"b\\\\c\\nd\\u0001\x7f\xc3\xa9\"");
    strbuf_reset(&sb);
    strbuf_put_u64(&sb, 0);
    strbuf_put_u64(&sb, UINT64_MAX);
    assert_string_equal(sb.data, "018446744073709551615");
    strbuf_fini(&sb);
}

/* ---- histogram, classes, averages ---- */

static void test_histogram_bucket_edges(void **state)
{
    (void)state;
    struct stats_histogram h = {0};
    stats_histogram_observe(&h, 0);
    stats_histogram_observe(&h, 100); /* le is inclusive */
    stats_histogram_observe(&h, 101);
    stats_histogram_observe(&h, 60000000);
    stats_histogram_observe(&h, 60000001);
    assert_int_equal(h.buckets[0], 2);
    assert_int_equal(h.buckets[1], 1);
    assert_int_equal(h.buckets[STATS_HIST_BUCKETS - 1], 1);
    assert_int_equal(h.buckets[STATS_HIST_BUCKETS], 1);
    assert_int_equal(h.count, 5);
    assert_int_equal(h.sum_us, 0 + 100 + 101 + 60000000 + 60000001);
    for (size_t i = 1; i < STATS_HIST_BUCKETS; i++) {
        struct stats_histogram g = {0};
        stats_histogram_observe(&g, stats_hist_bounds_us[i]);
        stats_histogram_observe(&g, stats_hist_bounds_us[i - 1] + 1);
        assert_int_equal(g.buckets[i], 2);
        assert_true(stats_hist_bounds_us[i] > stats_hist_bounds_us[i - 1]);
    }
}

static void test_sqlstate_classes(void **state)
{
    (void)state;
    assert_int_equal(stats_sqlstate_class("08006"), STATS_ERR_08);
    assert_int_equal(stats_sqlstate_class("3D000"), STATS_ERR_3D);
    assert_int_equal(stats_sqlstate_class("57014"), STATS_ERR_57);
    assert_int_equal(stats_sqlstate_class("XX000"), STATS_ERR_XX);
    assert_int_equal(stats_sqlstate_class("P0001"), STATS_ERR_OTHER);
    assert_int_equal(stats_sqlstate_class("4"), STATS_ERR_OTHER);
    assert_int_equal(stats_sqlstate_class(NULL), STATS_ERR_OTHER);
    assert_string_equal(stats_err_class_name(STATS_ERR_42), "42");
    assert_string_equal(stats_err_class_name(STATS_ERR_OTHER), "other");
    struct stats_counters c = {0};
    stats_count_error(&c, "42P01");
    stats_count_error(&c, "42601");
    assert_int_equal(c.errors_by_class[STATS_ERR_42], 2);
}

static void test_averages(void **state)
{
    (void)state;
    struct stats_counters prev = {.xact_count = 100,
                                  .query_count = 200,
                                  .bytes_in = 1000,
                                  .xact_time_us = 5000,
                                  .query_time_us = 1000,
                                  .wait_time_us = 300};
    struct stats_counters cur = prev;
    cur.xact_count += 60; /* 60 in 60 s */
    cur.query_count += 120;
    cur.bytes_in += 6000;
    cur.bytes_out += 600000;
    cur.xact_time_us += 600;  /* 10 us per xact */
    cur.query_time_us += 240; /* 2 us per query */
    cur.wait_time_us += 60;   /* 1 us per xact */
    struct stats_averages a;
    stats_averages_compute(&prev, &cur, 60000000, &a);
    assert_int_equal(a.xact_count, 1);
    assert_int_equal(a.query_count, 2);
    assert_int_equal(a.bytes_in, 100);
    assert_int_equal(a.bytes_out, 10000);
    assert_int_equal(a.xact_time_us, 10);
    assert_int_equal(a.query_time_us, 2);
    assert_int_equal(a.wait_time_us, 1);
    stats_averages_compute(&prev, &cur, 0, &a);
    assert_int_equal(a.xact_count, 0);
    stats_averages_compute(&cur, &prev, 1000000, &a); /* counters never go back: zeros */
    assert_int_equal(a.xact_count, 0);
    assert_int_equal(a.xact_time_us, 0);
}

/* ---- a small exposition-format parser ---- */

#define MAX_FAM     128
#define MAX_SAMPLES 2048

struct sample {
    char name[128];
    char labels[8][2][128]; /* name, unescaped value */
    int n_labels;
    char value[64];
};

struct parsed {
    char fam[MAX_FAM][128];
    char type[MAX_FAM][16];
    bool help[MAX_FAM];
    bool closed[MAX_FAM];
    int n_fam;
    struct sample s[MAX_SAMPLES];
    int n;
};

static int fam_index(struct parsed *p, const char *name)
{
    for (int i = 0; i < p->n_fam; i++)
        if (strcmp(p->fam[i], name) == 0)
            return i;
    return -1;
}

/* The family a sample belongs to: histograms own their _bucket/_sum/_count samples. */
static int family_of(struct parsed *p, const char *sample)
{
    int f = fam_index(p, sample);
    if (f >= 0)
        return f;
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    for (size_t k = 0; k < ARRAY_SIZE(sfx); k++) {
        size_t n = strlen(sample), m = strlen(sfx[k]);
        if (n > m && strcmp(sample + n - m, sfx[k]) == 0) {
            char base[128];
            snprintf(base, sizeof(base), "%.*s", (int)(n - m), sample);
            f = fam_index(p, base);
            if (f >= 0 && strcmp(p->type[f], "histogram") == 0)
                return f;
        }
    }
    return -1;
}

static void parse_exposition(const char *text, struct parsed *p)
{
    memset(p, 0, sizeof(*p));
    int cur = -1;
    const char *line = text;
    while (*line) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl); /* every line ends with \n */
        size_t len = (size_t)(nl - line);
        char buf[1024];
        assert_true(len < sizeof(buf));
        memcpy(buf, line, len);
        buf[len] = '\0';
        line = nl + 1;
        char name[128], rest[900];
        if (sscanf(buf, "# HELP %127s %899[^\n]", name, rest) == 2) {
            assert_int_equal(fam_index(p, name), -1); /* one HELP per family */
            assert_true(p->n_fam < MAX_FAM);
            snprintf(p->fam[p->n_fam], 128, "%s", name);
            p->help[p->n_fam] = true;
            if (cur >= 0)
                p->closed[cur] = true;
            cur = p->n_fam++;
            continue;
        }
        if (sscanf(buf, "# TYPE %127s %15s", name, rest) == 2) {
            int f = fam_index(p, name);
            assert_int_equal(f, cur); /* TYPE right after its HELP */
            assert_true(strcmp(rest, "counter") == 0 || strcmp(rest, "gauge") == 0 ||
                        strcmp(rest, "histogram") == 0);
            snprintf(p->type[f], 16, "%.15s", rest);
            continue;
        }
        assert_true(buf[0] != '#');
        assert_true(p->n < MAX_SAMPLES);
        struct sample *s = &p->s[p->n++];
        size_t i = 0;
        while (buf[i] && buf[i] != '{' && buf[i] != ' ')
            i++;
        snprintf(s->name, sizeof(s->name), "%.*s", (int)i, buf);
        if (buf[i] == '{') {
            i++;
            while (buf[i] != '}') {
                assert_true(s->n_labels < 8);
                size_t k = 0;
                while (buf[i] != '=') {
                    assert_true(buf[i] != '\0');
                    s->labels[s->n_labels][0][k++] = buf[i++];
                }
                assert_int_equal(buf[++i], '"');
                i++;
                k = 0;
                while (buf[i] != '"') {
                    char c = buf[i++];
                    assert_true(c != '\0');
                    if (c == '\\') {
                        c = buf[i++];
                        assert_true(c == '\\' || c == '"' || c == 'n');
                        c = c == 'n' ? '\n' : c;
                    }
                    s->labels[s->n_labels][1][k++] = c;
                }
                i++;
                s->n_labels++;
                if (buf[i] == ',')
                    i++;
            }
            i++;
        }
        assert_int_equal(buf[i], ' ');
        snprintf(s->value, sizeof(s->value), "%s", buf + i + 1);
        char *end;
        if (strcmp(s->value, "+Inf") != 0) {
            strtod(s->value, &end);
            assert_true(*end == '\0' && end != s->value);
        }
        int f = family_of(p, s->name);
        assert_true(f >= 0);      /* every sample has HELP and TYPE */
        assert_int_equal(f, cur); /* and its family's samples are contiguous */
        assert_false(p->closed[f]);
        if (strcmp(p->type[f], "counter") == 0) {
            size_t n = strlen(s->name);
            assert_true(n > 6 && strcmp(s->name + n - 6, "_total") == 0);
        }
    }
}

static const char *label(const struct sample *s, const char *name)
{
    for (int i = 0; i < s->n_labels; i++)
        if (strcmp(s->labels[i][0], name) == 0)
            return s->labels[i][1];
    return NULL;
}

static const struct sample *find_sample(const struct parsed *p, const char *name, const char *db,
                                        const char *extra, const char *extra_val)
{
    for (int i = 0; i < p->n; i++) {
        const struct sample *s = &p->s[i];
        if (strcmp(s->name, name) != 0)
            continue;
        if (db && (!label(s, "database") || strcmp(label(s, "database"), db) != 0))
            continue;
        if (extra && (!label(s, extra) || strcmp(label(s, extra), extra_val) != 0))
            continue;
        return s;
    }
    return NULL;
}

/* Check every histogram series: le increasing, counts cumulative, +Inf last == _count. */
static int check_histograms(const struct parsed *p)
{
    int series = 0;
    for (int i = 0; i < p->n; i++) {
        const struct sample *s = &p->s[i];
        size_t n = strlen(s->name);
        if (n < 7 || strcmp(s->name + n - 7, "_bucket") != 0)
            continue;
        const char *le = label(s, "le");
        assert_non_null(le);
        if (i > 0 && strcmp(p->s[i - 1].name, s->name) == 0 &&
            strcmp(label(&p->s[i - 1], "database"), label(s, "database")) == 0 &&
            strcmp(label(&p->s[i - 1], "user"), label(s, "user")) == 0) {
            const char *ple = label(&p->s[i - 1], "le");
            assert_string_not_equal(ple, "+Inf");
            if (strcmp(le, "+Inf") != 0)
                assert_true(strtod(le, NULL) > strtod(ple, NULL));
            assert_true(strtoull(s->value, NULL, 10) >= strtoull(p->s[i - 1].value, NULL, 10));
        }
        if (strcmp(le, "+Inf") == 0) {
            series++;
            char cname[128];
            snprintf(cname, sizeof(cname), "%.*s_count", (int)(n - 7), s->name);
            const struct sample *c = NULL;
            for (int k = i + 1; k < p->n && !c; k++)
                if (strcmp(p->s[k].name, cname) == 0)
                    c = &p->s[k];
            assert_non_null(c);
            assert_string_equal(label(c, "database"), label(s, "database"));
            assert_string_equal(c->value, s->value);
        }
    }
    return series;
}

struct fixture {
    struct stats_counters c[2];
    struct stats_histogram wait[2], xact[2];
    struct stats_pool_snap pools[2];
    struct stats_process_snap proc;
};

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->c[0].xact_count = 1234;
    f->c[0].query_count = 2345;
    f->c[0].xact_time_us = 1500000;
    f->c[0].server_connects = 7;
    stats_count_error(&f->c[0], "57014");
    f->c[1].xact_count = 1;
    for (uint64_t us = 50; us < 100000000; us *= 3) {
        stats_histogram_observe(&f->wait[0], us);
        stats_histogram_observe(&f->xact[1], us / 2);
    }
    f->pools[0] = (struct stats_pool_snap){.database = "app",
                                           .user = "alice",
                                           .pool_mode = "transaction",
                                           .pool_size = 20,
                                           .max_overflow = 5,
                                           .cl_active = 3,
                                           .cl_waiting = 2,
                                           .sv_active = 3,
                                           .sv_idle = 1,
                                           .maxwait_us = 2500000,
                                           .c = &f->c[0],
                                           .wait_hist = &f->wait[0],
                                           .xact_hist = &f->xact[0]};
    f->pools[1] = (struct stats_pool_snap){.database = "we\"ird\\db\nname",
                                           .user = "bob",
                                           .pool_mode = "session",
                                           .pool_size = 10,
                                           .sv_login = 1,
                                           .c = &f->c[1],
                                           .wait_hist = &f->wait[1],
                                           .xact_hist = &f->xact[1]};
    f->proc = (struct stats_process_snap){.version = "0.1.0",
                                          .start_time_unix_us = 1700000000500000,
                                          .cpu_us = 1250000,
                                          .resident_bytes = 1 << 20,
                                          .open_fds = 12,
                                          .max_fds = 1024,
                                          .alloc_live = 42,
                                          .client_connections = 5};
}

static void test_prometheus_two_pools_parse_back(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    static struct fixture f;
    static struct parsed p;
    fixture_init(&f);
    struct strbuf sb;
    strbuf_init(&sb, 1 << 20);
    assert_int_equal(stats_render_prometheus(&sb, f.pools, 2, &f.proc), 0);
    parse_exposition(sb.data, &p);
    assert_int_equal(check_histograms(&p), 4); /* 2 pools x 2 histograms */

    const struct sample *s =
            find_sample(&p, "lifeguard_pool_transactions_total", "app", NULL, NULL);
    assert_non_null(s);
    assert_string_equal(label(s, "user"), "alice");
    assert_string_equal(s->value, "1234");
    s = find_sample(&p, "lifeguard_pool_transactions_total", "we\"ird\\db\nname", NULL, NULL);
    assert_non_null(s); /* escaped and unescaped back to the same bytes */
    assert_string_equal(s->value, "1");
    s = find_sample(&p, "lifeguard_pool_transaction_time_seconds_total", "app", NULL, NULL);
    assert_string_equal(s->value, "1.5");
    s = find_sample(&p, "lifeguard_pool_clients", "app", "state", "waiting");
    assert_string_equal(s->value, "2");
    s = find_sample(&p, "lifeguard_pool_servers", "we\"ird\\db\nname", "state", "login");
    assert_string_equal(s->value, "1");
    s = find_sample(&p, "lifeguard_pool_max_wait_seconds", "app", NULL, NULL);
    assert_string_equal(s->value, "2.5");
    s = find_sample(&p, "lifeguard_pool_errors_total", "app", "class", "57");
    assert_string_equal(s->value, "1");
    assert_null(find_sample(&p, "lifeguard_pool_errors_total", "app", "class", "42"));
    s = find_sample(&p, "lifeguard_pool_info", "app", "pool_mode", "transaction");
    assert_string_equal(s->value, "1");
    s = find_sample(&p, "lifeguard_pool_wait_seconds_bucket", "app", "le", "0.0001");
    assert_string_equal(s->value, "1"); /* 50us */
    s = find_sample(&p, "lifeguard_pool_wait_seconds_count", "app", NULL, NULL);
    assert_int_equal(strtoull(s->value, NULL, 10), f.wait[0].count);
    s = find_sample(&p, "process_start_time_seconds", NULL, NULL, NULL);
    assert_string_equal(s->value, "1700000000.5");
    s = find_sample(&p, "process_cpu_seconds_total", NULL, NULL, NULL);
    assert_string_equal(s->value, "1.25");
    s = find_sample(&p, "lifeguard_info", NULL, "version", "0.1.0");
    assert_non_null(s);
    s = find_sample(&p, "lifeguard_pools", NULL, NULL, NULL);
    assert_string_equal(s->value, "2");
    if (getenv("LG_DUMP_METRICS")) {
        FILE *out = fopen(getenv("LG_DUMP_METRICS"), "w");
        if (out) {
            fputs(sb.data, out);
            fclose(out);
        }
    }
    strbuf_fini(&sb);
    assert_int_equal(alloc_live_count(), base);
}

static void test_prometheus_no_pools_and_no_histograms(void **state)
{
    (void)state;
    static struct parsed p;
    struct strbuf sb;
    strbuf_init(&sb, 1 << 20);
    assert_int_equal(stats_render_prometheus(&sb, NULL, 0, NULL), 0);
    assert_int_equal(sb.len, 0);
    struct stats_counters c = {0};
    struct stats_pool_snap one = {.database = "d", .user = "u", .pool_mode = "session", .c = &c};
    assert_int_equal(stats_render_prometheus(&sb, &one, 1, NULL), 0);
    parse_exposition(sb.data, &p);
    assert_int_equal(check_histograms(&p), 0);
    assert_null(strstr(sb.data, "lifeguard_pool_wait_seconds"));
    strbuf_fini(&sb);
}

static void visit_fixture(void *arg, stats_pool_visit_fn *fn, void *fn_arg)
{
    struct fixture *f = arg;
    for (int i = 0; i < 2; i++)
        fn(fn_arg, &f->pools[i]);
}

static void test_prometheus_from_visitor_matches_array(void **state)
{
    (void)state;
    int64_t base = alloc_live_count();
    static struct fixture f;
    fixture_init(&f);
    struct strbuf a, b;
    strbuf_init(&a, 1 << 20);
    strbuf_init(&b, 1 << 20);
    assert_int_equal(stats_render_prometheus(&a, f.pools, 2, &f.proc), 0);
    assert_int_equal(stats_render_prometheus_from(&b, visit_fixture, &f, &f.proc), 0);
    assert_string_equal(a.data, b.data);
    /* Allocation failures at each step: a clean error, no leak. */
    for (uint64_t k = 1; k < 20; k++) {
        strbuf_fini(&b);
        alloc_fail_after(k);
        int rc = stats_render_prometheus_from(&b, visit_fixture, &f, &f.proc);
        alloc_fail_reset();
        assert_true(rc == 0 || rc == -ENOMEM);
        if (rc == 0)
            assert_string_equal(a.data, b.data);
    }
    /* Too small a bound: -ENOSPC, never a partial success. */
    strbuf_fini(&b);
    strbuf_init(&b, 1000);
    assert_int_equal(stats_render_prometheus(&b, f.pools, 2, &f.proc), -ENOSPC);
    strbuf_fini(&a);
    strbuf_fini(&b);
    assert_int_equal(alloc_live_count(), base);
}

static void test_health_json(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 4096);
    struct stats_health_result r[2] = {
            {.database = "app",
             .user = "alice",
             .ok = true,
             .latency_us = 1234,
             .servers_idle = 2,
             .servers_active = 1,
             .clients_waiting = 0},
            {.database = "b\"d",
             .user = "bob",
             .ok = false,
             .latency_us = 5000000,
             .sqlstate = "08006",
             .error = "connection refused"},
    };
    assert_int_equal(stats_render_health_json(&sb, r, 1), 200);
    assert_string_equal(sb.data, "{\"status\":\"ok\",\"pools\":[{\"database\":\"app\",\"user\":"
                                 "\"alice\",\"status\":\"ok\",\"latency_ms\":1.234,"
                                 "\"servers_idle\":2,\"servers_active\":1,"
                                 "\"clients_waiting\":0}]}\n");
    strbuf_reset(&sb);
    assert_int_equal(stats_render_health_json(&sb, r, 2), 503);
    assert_non_null(strstr(sb.data, "{\"status\":\"fail\","));
    assert_non_null(strstr(sb.data, "\"database\":\"b\\\"d\""));
    assert_non_null(strstr(sb.data, "\"latency_ms\":5000.000"));
    assert_non_null(strstr(sb.data, "\"sqlstate\":\"08006\",\"error\":\"connection refused\"}"));
    strbuf_reset(&sb);
    assert_int_equal(stats_render_health_json(&sb, NULL, 0), 503);
    assert_string_equal(sb.data, "{\"status\":\"fail\",\"pools\":[]}\n");
    strbuf_fini(&sb);
    strbuf_init(&sb, 10);
    assert_int_equal(stats_render_health_json(&sb, r, 2), -ENOSPC);
    strbuf_fini(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_strbuf_bounded_and_sticky),
            cmocka_unit_test(test_strbuf_large_printf_and_oom),
            cmocka_unit_test(test_strbuf_seconds_and_json),
            cmocka_unit_test(test_histogram_bucket_edges),
            cmocka_unit_test(test_sqlstate_classes),
            cmocka_unit_test(test_averages),
            cmocka_unit_test(test_prometheus_two_pools_parse_back),
            cmocka_unit_test(test_prometheus_no_pools_and_no_histograms),
            cmocka_unit_test(test_prometheus_from_visitor_matches_array),
            cmocka_unit_test(test_health_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
