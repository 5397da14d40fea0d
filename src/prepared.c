/* SPDX-License-Identifier: MIT */
/*
 * prepared.c: client statement maps, per-server statement sets with LRU eviction,
 * and the queue of responses a server owes. Linear scans over small arrays: a
 * client holds tens of statements and a server at most max_prepared_statements.
 */
#include "prepared.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "htab.h"

struct ps_client {
    struct ps_entry *v;
    size_t n, cap;
    uint8_t *unnamed; /* the last unnamed Parse message, if kept */
    size_t unnamed_len, unnamed_cap;
    uint64_t unnamed_id;
};

/* @n consecutive responses of one kind: a pipeline of thousands of unnamed Parses and
 * one Sync (pgconn's ExecBatch) costs two entries. Only id 0 entries merge. */
struct owed {
    enum ps_owed what;
    uint32_t n;
    uint64_t id;
};

/* A DEALLOCATE ALL / DISCARD ALL on its way (ps_clear_expect). */
struct clear {
    uint64_t client_bound; /* the client's statements below this id go */
    uint64_t born_bound;   /* the server's statements born up to this stamp go */
    uint64_t seg;          /* Syncs owed before it: it is answered while syncs_done == seg */
};

struct ps_server {
    uint64_t *ids;  /* prepared instance ids */
    uint64_t *used; /* last-use stamp per id, for LRU */
    uint64_t *born; /* stamp of when each id was added (births) */
    size_t n, max;
    uint64_t clock, births;
    uint64_t syncs_owed, syncs_done; /* Syncs (and Queries) owed, and answered, ever */
    struct clear *cl;                /* ring of clears on their way */
    size_t cl_head, cl_len, cl_cap;
    uint64_t unnamed; /* id of the unnamed statement it holds, 0 if unknown */
    struct owed *q;   /* ring of owed responses */
    size_t q_head, q_len, q_cap;
    uint64_t check_id;   /* statement whose result type is being checked here */
    enum ps_check check; /* ... and how far that is */
    bool check_wakeup;   /* a check stopped being pending */
    bool erred;          /* an ErrorResponse since the last ReadyForQuery */
};

/* Result type of each statement id, noted when first prepared (ps_on_describe). */
struct shape {
    struct htab_node node; /* first */
    uint64_t id, fp;
};
static struct htab shapes;

static uint64_t id_hash(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static struct shape *shape_find(uint64_t id)
{
    uint64_t h = id_hash(id);
    for (struct htab_node *x = htab_chain(&shapes, h); x; x = x->next)
        if (x->hash == h && ((struct shape *)x)->id == id)
            return (struct shape *)x;
    return NULL;
}

void ps_shape_forget(uint64_t id)
{
    struct shape *sh = shape_find(id);
    if (sh) {
        htab_del(&shapes, &sh->node);
        lg_free(sh);
    }
}

int ps_shape_expect(uint64_t id)
{
    if (shape_find(id))
        return 0;
    struct shape *sh = lg_malloc(sizeof(*sh));
    if (!sh)
        return -ENOMEM;
    sh->id = id;
    sh->fp = 0;
    sh->node.hash = id_hash(id);
    if (!htab_add(&shapes, &sh->node)) {
        lg_free(sh);
        return -ENOMEM;
    }
    return 0;
}

bool ps_shape_known(uint64_t id)
{
    const struct shape *sh = shape_find(id);
    return sh && sh->fp;
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Fingerprint of a RowDescription payload: what PostgreSQL's equalTupleDescs compares
 * and a driver decodes by (names, type oids, lengths, modifiers), not the source table
 * and column, which a DROP and CREATE of the same table changes. 0 if malformed. */
static uint64_t row_fingerprint(const uint8_t *p, size_t len)
{
    if (len < 2)
        return 0;
    uint64_t h = fnv(0xcbf29ce484222325ULL, p, 2);
    size_t off = 2;
    for (unsigned nf = (unsigned)(p[0] << 8 | p[1]); nf > 0; nf--) {
        const uint8_t *z = off < len ? memchr(p + off, '\0', len - off) : NULL;
        if (!z || (size_t)(z - p) + 1 + 18 > len)
            return 0;
        size_t name_end = (size_t)(z - p) + 1;
        h = fnv(h, p + off, name_end - off);
        h = fnv(h, p + name_end + 6, 10); /* type oid, length, modifier */
        off = name_end + 18;
    }
    return h ? h : 1;
}

struct ps_client *ps_client_new(void)
{
    return lg_calloc(1, sizeof(struct ps_client));
}

static void entry_free(struct ps_entry *e)
{
    ps_shape_forget(e->id);
    lg_free(e->name);
    lg_free(e->body);
}

void ps_client_clear(struct ps_client *pc)
{
    if (!pc)
        return;
    for (size_t i = 0; i < pc->n; i++)
        entry_free(&pc->v[i]);
    pc->n = 0;
}

void ps_client_clear_before(struct ps_client *pc, uint64_t bound)
{
    if (!pc)
        return;
    for (size_t i = 0; i < pc->n;) {
        if (pc->v[i].id < bound) {
            entry_free(&pc->v[i]);
            pc->v[i] = pc->v[--pc->n];
        } else {
            i++;
        }
    }
}

void ps_client_free(struct ps_client *pc)
{
    if (!pc)
        return;
    ps_client_clear(pc);
    lg_free(pc->v);
    lg_free(pc->unnamed);
    lg_free(pc);
}

/* A copy of an unnamed Parse larger than this is freed as soon as it is not needed. */
#define UNNAMED_KEEP 65536

static void unnamed_release_large(struct ps_client *pc)
{
    if (pc->unnamed_cap > UNNAMED_KEEP) {
        lg_free(pc->unnamed);
        pc->unnamed = NULL;
        pc->unnamed_cap = 0;
    }
}

int ps_client_set_unnamed(struct ps_client *pc, uint64_t id, const uint8_t *msg, size_t len)
{
    pc->unnamed_id = 0;
    if (!id || !msg) {
        unnamed_release_large(pc);
        return 0;
    }
    if (len > pc->unnamed_cap || (pc->unnamed_cap > UNNAMED_KEEP && len < pc->unnamed_cap)) {
        uint8_t *m = lg_malloc(len);
        if (!m)
            return -ENOMEM;
        lg_free(pc->unnamed);
        pc->unnamed = m;
        pc->unnamed_cap = len;
    }
    memcpy(pc->unnamed, msg, len);
    pc->unnamed_len = len;
    pc->unnamed_id = id;
    return 0;
}

void ps_client_drop_unnamed(struct ps_client *pc)
{
    if (pc) {
        pc->unnamed_id = 0;
        unnamed_release_large(pc);
    }
}

uint64_t ps_client_unnamed(const struct ps_client *pc, const uint8_t **msg, size_t *len)
{
    if (!pc || !pc->unnamed_id)
        return 0;
    *msg = pc->unnamed;
    *len = pc->unnamed_len;
    return pc->unnamed_id;
}

static struct ps_entry *find(const struct ps_client *pc, const char *name)
{
    if (!pc)
        return NULL;
    for (size_t i = 0; i < pc->n; i++)
        if (strcmp(pc->v[i].name, name) == 0)
            return &pc->v[i];
    return NULL;
}

int ps_client_put(struct ps_client *pc, const char *name, uint64_t id, const uint8_t *body,
                  size_t len)
{
    char *n = lg_strdup(name);
    uint8_t *b = lg_malloc(len ? len : 1);
    if (!n || !b) {
        lg_free(n);
        lg_free(b);
        return -ENOMEM;
    }
    if (len)
        memcpy(b, body, len);
    struct ps_entry *e = find(pc, name);
    if (!e) {
        if (pc->n == pc->cap) {
            size_t cap = pc->cap ? pc->cap * 2 : 8;
            struct ps_entry *v = lg_realloc(pc->v, cap * sizeof(*v));
            if (!v) {
                lg_free(n);
                lg_free(b);
                return -ENOMEM;
            }
            pc->v = v;
            pc->cap = cap;
        }
        e = &pc->v[pc->n++];
    } else {
        entry_free(e);
    }
    e->name = n;
    e->id = id;
    e->body = b;
    e->body_len = len;
    return 0;
}

const struct ps_entry *ps_client_get(const struct ps_client *pc, const char *name)
{
    return find(pc, name);
}

void ps_client_del(struct ps_client *pc, const char *name)
{
    struct ps_entry *e = find(pc, name);
    if (!e)
        return;
    entry_free(e);
    *e = pc->v[--pc->n];
}

size_t ps_client_count(const struct ps_client *pc)
{
    return pc ? pc->n : 0;
}

void ps_server_name(uint64_t id, char out[PS_NAME_MAX])
{
    snprintf(out, PS_NAME_MAX, "lg_%llx", (unsigned long long)id);
}

struct ps_server *ps_server_new(size_t max_stmts)
{
    struct ps_server *ps = lg_calloc(1, sizeof(*ps));
    if (!ps)
        return NULL;
    ps->max = max_stmts ? max_stmts : 1;
    ps->ids = lg_malloc(ps->max * sizeof(*ps->ids));
    ps->used = lg_malloc(ps->max * sizeof(*ps->used));
    ps->born = lg_malloc(ps->max * sizeof(*ps->born));
    if (!ps->ids || !ps->used || !ps->born) {
        ps_server_free(ps);
        return NULL;
    }
    return ps;
}

void ps_server_free(struct ps_server *ps)
{
    if (!ps)
        return;
    lg_free(ps->ids);
    lg_free(ps->used);
    lg_free(ps->born);
    lg_free(ps->q);
    lg_free(ps->cl);
    lg_free(ps);
}

static long index_of(const struct ps_server *ps, uint64_t id)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->ids[i] == id)
            return (long)i;
    return -1;
}

bool ps_server_has(struct ps_server *ps, uint64_t id)
{
    long i = index_of(ps, id);
    if (i < 0)
        return false;
    ps->used[i] = ++ps->clock;
    return true;
}

int ps_server_add(struct ps_server *ps, uint64_t id, uint64_t *evicted)
{
    *evicted = 0;
    long i = index_of(ps, id);
    if (i >= 0) {
        ps->used[i] = ++ps->clock;
        return 0;
    }
    size_t slot = ps->n;
    if (ps->n == ps->max) {
        slot = 0;
        for (size_t k = 1; k < ps->n; k++)
            if (ps->used[k] < ps->used[slot])
                slot = k;
        *evicted = ps->ids[slot];
    } else {
        ps->n++;
    }
    ps->ids[slot] = id;
    ps->used[slot] = ++ps->clock;
    ps->born[slot] = ++ps->births;
    return 0;
}

void ps_server_del(struct ps_server *ps, uint64_t id)
{
    long i = index_of(ps, id);
    if (i < 0)
        return;
    ps->n--;
    ps->ids[i] = ps->ids[ps->n];
    ps->used[i] = ps->used[ps->n];
    ps->born[i] = ps->born[ps->n];
}

uint64_t ps_server_unnamed(const struct ps_server *ps)
{
    return ps->unnamed;
}

void ps_server_set_unnamed(struct ps_server *ps, uint64_t id)
{
    ps->unnamed = id;
}

void ps_server_clear(struct ps_server *ps)
{
    ps->n = 0;
}

size_t ps_server_count(const struct ps_server *ps)
{
    return ps->n;
}

static int owe_more(struct ps_server *ps, enum ps_owed what, uint64_t id);

int ps_owe(struct ps_server *ps, enum ps_owed what, uint64_t id)
{
    if (what == PS_OWED_SYNC)
        ps->syncs_owed++; /* counted even if it fails: the client is closed then */
    /* Nothing owed before it (a Query or a Sync, most of the time): no tail to merge with,
     * no room to make (apart, so this path saves no registers for the other). */
    if (ps->q_len == 0 && ps->q_cap) {
        ps->q[ps->q_head] = (struct owed){what, 1, id};
        ps->q_len = 1;
        return 0;
    }
    return owe_more(ps, what, id);
}

static LG_NOINLINE int owe_more(struct ps_server *ps, enum ps_owed what, uint64_t id)
{
    if (ps->q_len && id == 0) {
        struct owed *t = &ps->q[(ps->q_head + ps->q_len - 1) % ps->q_cap];
        if (t->what == what && t->id == 0 && t->n < UINT32_MAX) {
            t->n++;
            return 0;
        }
    }
    if (ps->q_len == ps->q_cap) {
        if (ps->q_cap >= PS_QUEUE_MAX)
            return -ENOSPC;
        size_t cap = ps->q_cap ? ps->q_cap * 2 : 16;
        struct owed *q = lg_malloc(cap * sizeof(*q));
        if (!q)
            return -ENOMEM;
        for (size_t i = 0; i < ps->q_len; i++)
            q[i] = ps->q[(ps->q_head + i) % ps->q_cap];
        lg_free(ps->q);
        ps->q = q;
        ps->q_cap = cap;
        ps->q_head = 0;
    }
    ps->q[(ps->q_head + ps->q_len) % ps->q_cap] = (struct owed){what, 1, id};
    ps->q_len++;
    return 0;
}

bool ps_owes_nothing(const struct ps_server *ps)
{
    return ps->q_len == 0 && ps->cl_len == 0;
}

/* ---- DEALLOCATE ALL / DISCARD ALL ---- */

int ps_clear_expect(struct ps_server *ps, uint64_t client_bound)
{
    if (ps->cl_len == ps->cl_cap) {
        if (ps->cl_cap >= PS_QUEUE_MAX)
            return -ENOSPC;
        size_t cap = ps->cl_cap ? ps->cl_cap * 2 : 4;
        struct clear *v = lg_malloc(cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        for (size_t i = 0; i < ps->cl_len; i++)
            v[i] = ps->cl[(ps->cl_head + i) % ps->cl_cap];
        lg_free(ps->cl);
        ps->cl = v;
        ps->cl_cap = cap;
        ps->cl_head = 0;
    }
    ps->cl[(ps->cl_head + ps->cl_len) % ps->cl_cap] =
            (struct clear){client_bound, ps->births, ps->syncs_owed};
    ps->cl_len++;
    return 0;
}

/* Forget the clears of segments up to @seg (the server skipped or finished them). */
static void clears_drop_upto(struct ps_server *ps, uint64_t seg)
{
    while (ps->cl_len && ps->cl[ps->cl_head].seg <= seg) {
        ps->cl_head = (ps->cl_head + 1) % ps->cl_cap;
        ps->cl_len--;
    }
}

bool ps_on_clear(struct ps_server *ps, uint64_t *client_bound)
{
    if (ps->syncs_done)
        clears_drop_upto(ps, ps->syncs_done - 1);
    if (!ps->cl_len || ps->cl[ps->cl_head].seg != ps->syncs_done)
        return false; /* not one lifeguard saw go out (a later statement of a Query) */
    struct clear c = ps->cl[ps->cl_head];
    ps->cl_head = (ps->cl_head + 1) % ps->cl_cap;
    ps->cl_len--;
    for (size_t i = 0; i < ps->n;) {
        if (ps->born[i] <= c.born_bound)
            ps_server_del(ps, ps->ids[i]);
        else
            i++;
    }
    *client_bound = c.client_bound;
    return true;
}

bool ps_clear_covers(const struct ps_server *ps, uint64_t id)
{
    for (size_t i = 0; i < ps->cl_len; i++) {
        const struct clear *c = &ps->cl[(ps->cl_head + i) % ps->cl_cap];
        if (c->seg >= ps->syncs_done && id < c->client_bound)
            return true;
    }
    return false;
}

bool ps_clear_expected(const struct ps_server *ps)
{
    return ps->cl_len > 0;
}

static struct owed *front(struct ps_server *ps)
{
    return ps->q_len ? &ps->q[ps->q_head] : NULL;
}

/* Settle one response of the front entry. */
static void pop(struct ps_server *ps)
{
    if (--ps->q[ps->q_head].n > 0)
        return;
    ps->q_head = (ps->q_head + 1) % ps->q_cap;
    ps->q_len--;
}

/* Settle every response of the front entry. */
static void pop_all(struct ps_server *ps)
{
    ps->q[ps->q_head].n = 1;
    pop(ps);
}

bool ps_on_complete(struct ps_server *ps, char type)
{
    struct owed *f = front(ps);
    if (!f || f->what == PS_OWED_SYNC || f->what == PS_OWED_DESCRIBE)
        return false; /* not one of ours to account for */
    bool parse = f->what == PS_OWED_PARSE || f->what == PS_OWED_PARSE_INJECTED ||
                 f->what == PS_OWED_GUARD;
    if ((type == '1') != parse)
        return false; /* out of step: let it through; the server knows best */
    bool injected = f->what == PS_OWED_PARSE_INJECTED || f->what == PS_OWED_CLOSE_INJECTED ||
                    f->what == PS_OWED_GUARD;
    pop(ps);
    return injected;
}

/* The check in progress was not answered (the server skipped its Describe). */
/* The front entry is settled without its answer (the server skipped the message). */
static void unanswered(struct ps_server *ps, const struct owed *f)
{
    if (f->what == PS_OWED_PARSE || f->what == PS_OWED_PARSE_INJECTED)
        ps_server_del(ps, f->id); /* never completed */
    if (f->what == PS_OWED_DESCRIBE && f->id == ps->check_id && ps->check == PS_CHECK_PENDING) {
        ps->check = PS_CHECK_UNCHECKED;
        ps->check_wakeup = true;
    }
}

void ps_on_error(struct ps_server *ps)
{
    struct owed *f;
    ps->erred = true;
    clears_drop_upto(ps, ps->syncs_done); /* skipped up to the Sync, or it failed */
    while ((f = front(ps)) && f->what != PS_OWED_SYNC) {
        unanswered(ps, f);
        pop_all(ps);
    }
}

void ps_on_ready(struct ps_server *ps)
{
    struct owed *f;
    ps->erred = false;
    if (ps->q_len == 1 && ps->q[ps->q_head].what == PS_OWED_SYNC && ps->q[ps->q_head].n == 1) {
        /* The one Sync owed (a Query's, most of the time): the loop below, in short. */
        ps->q_len = 0;
        ps->syncs_done = ps->syncs_owed;
        if (ps->cl_len && ps->syncs_done)
            clears_drop_upto(ps, ps->syncs_done - 1);
        return;
    }
    while ((f = front(ps))) {
        bool sync = f->what == PS_OWED_SYNC;
        unanswered(ps, f);
        if (sync)
            pop(ps); /* one ReadyForQuery answers one Sync */
        else
            pop_all(ps);
        if (sync) {
            ps->syncs_done++;
            break;
        }
    }
    if (!ps->q_len) /* every Sync owed is answered */
        ps->syncs_done = ps->syncs_owed;
    if (ps->syncs_done)
        clears_drop_upto(ps, ps->syncs_done - 1);
}

bool ps_on_describe(struct ps_server *ps, char type, const uint8_t *payload, size_t len)
{
    struct owed *f = front(ps);
    if (!f || f->what != PS_OWED_DESCRIBE || (type != 't' && type != 'T' && type != 'n'))
        return false;
    if (type == 't')
        return true; /* ParameterDescription: the row type follows */
    uint64_t id = f->id;
    pop(ps);
    uint64_t fp = type == 'n' ? 1 : row_fingerprint(payload, len);
    if (!fp)
        return true;
    struct shape *sh = shape_find(id);
    if (ps->check == PS_CHECK_PENDING && ps->check_id == id) {
        ps->check = !sh || !sh->fp || sh->fp == fp ? PS_CHECK_SAME : PS_CHECK_CHANGED;
        ps->check_wakeup = true;
    } else if (sh && !sh->fp) {
        sh->fp = fp; /* first prepared: note it (gone if the client dropped it since) */
    }
    return true;
}

bool ps_front_is(const struct ps_server *ps, enum ps_owed what)
{
    return ps->q_len && ps->q[ps->q_head].what == what;
}

void ps_check_start(struct ps_server *ps, uint64_t id)
{
    ps->check_id = id;
    ps->check = PS_CHECK_PENDING;
}

enum ps_check ps_check_state(const struct ps_server *ps, uint64_t id)
{
    return ps->check_id == id ? ps->check : PS_CHECK_NONE;
}

void ps_check_done(struct ps_server *ps)
{
    ps->check_id = 0;
    ps->check = PS_CHECK_NONE;
}

bool ps_check_take_wakeup(struct ps_server *ps)
{
    bool w = ps->check_wakeup;
    ps->check_wakeup = false;
    return w;
}

bool ps_server_erred(const struct ps_server *ps)
{
    return ps->erred;
}

void ps_drop_syncs(struct ps_server *ps, uint64_t n)
{
    struct owed *f;
    for (; n > 0 && (f = front(ps)) && f->what == PS_OWED_SYNC; n--) {
        pop(ps);
        ps->syncs_done++;
    }
}
