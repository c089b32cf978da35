/* The RESTORE loader: a reader handler that turns keys into commands on a
 * pipe.
 *
 * Every key goes through the dumper (rdb_dumper_*), which writes its DUMP
 * payload for the target's RDB version, or says it is too big. Which keys
 * are too big is known only at their end, and the elements are needed to
 * send such a key as typed commands, so the loader keeps a copy of each
 * key's stored bytes (RAW events) while it is read: a key that ends up too
 * big is then decoded from that copy by a second reader (in DUMP-payload
 * mode) into typed commands. A copy that outgrows the payload limit means
 * the key is too big whatever its payload would be: it is decoded right
 * away and the rest of its bytes follow as they arrive, so memory stays
 * within about twice the limit. */
#include "redis/redis_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum key_state { KEY_NONE, KEY_SKIP, KEY_COPY, KEY_TYPED };

struct loader {
    struct rpipe *p;
    struct target_caps caps;
    uint64_t max_payload;
    struct redis_load_stats *st;
    struct redis_progress *progress;
    struct rdb_dumper *dumper;
    struct typed *typed;
    int cur_db;
    unsigned char db_seen[2048]; /* bit per database number < 16384 */

    /* The file being read. */
    int src_version;

    /* The key being read. */
    enum key_state state;
    struct rdb_key_info *key;
    struct rk_buf raw;
    struct rdb_reader *nested;
    bool nested_done;
    bool typed_failed;
    bool target_failed;
};

static int on_payload(void *ctx, const struct rdb_dump_key *dk, struct rk_err *err);

struct loader *loader_new(struct rpipe *p, const struct target_caps *caps, uint64_t max_payload,
                          struct redis_load_stats *stats, struct redis_progress *progress,
                          struct rk_err *err)
{
    struct loader *l = xcalloc(1, sizeof(*l));
    l->p = p;
    l->caps = *caps;
    l->max_payload = max_payload;
    l->st = stats;
    l->progress = progress;
    l->cur_db = -1;
    struct rdb_dump_options o = {
        .target_version = caps->rdb_version, .drop_expired = true, .max_payload = max_payload};
    l->dumper = rdb_dumper_new(&o, on_payload, l, err);
    if (!l->dumper) {
        free(l);
        return NULL;
    }
    l->typed = typed_new(p, &l->caps, stats);
    return l;
}

void loader_free(struct loader *l)
{
    if (!l) return;
    rdb_dumper_free(l->dumper);
    typed_free(l->typed);
    rdb_reader_free(l->nested);
    rk_buf_free(&l->raw);
    free(l);
}

void loader_finish_stats(struct loader *l)
{
    const struct rdb_writer_stats *d = rdb_dumper_stats(l->dumper);
    l->st->keys_expired += d->keys_expired;
    l->st->keys_empty += d->keys_empty;
    l->st->fields_expired += d->fields_expired;
    l->st->field_ttls_dropped += d->field_ttls_dropped;
    l->st->stream_idmp_dropped += d->stream_idmp_dropped;
    l->st->commands = rpipe_commands(l->p);
    l->st->bytes_sent = rpipe_bytes_sent(l->p);
}

static void select_db(struct loader *l, int db)
{
    if (db == l->cur_db) return;
    char num[16];
    int n = snprintf(num, sizeof(num), "%d", db);
    rpipe_begin(l->p, RC_SELECT, num, (size_t)n);
    rpipe_argc(l->p, 2);
    rpipe_arg_str(l->p, "SELECT");
    rpipe_arg(l->p, num, (size_t)n);
    l->cur_db = db;
    if (db >= 0 && db < (int)(8 * sizeof(l->db_seen)) && !(l->db_seen[db / 8] & (1u << (db % 8)))) {
        l->db_seen[db / 8] |= (unsigned char)(1u << (db % 8));
        l->st->databases++;
    }
}

static void key_loaded(struct loader *l)
{
    l->st->keys++;
    if (l->progress) atomic_fetch_add_explicit(&l->progress->keys, 1, memory_order_relaxed);
}

/* ---- typed path ---------------------------------------------------------------------- */

static int nested_event(void *ctx, const struct rdb_event *ev, struct rk_err *err)
{
    struct loader *l = ctx;
    switch (ev->type) {
    case RDB_EVENT_KEY: ev->u.key->want = RDB_WANT_VALUES; return 0;
    case RDB_EVENT_VALUE:
        if (typed_value(l->typed, ev->u.value, err) == 0) return 0;
        l->typed_failed = true;
        return -1;
    case RDB_EVENT_KEY_END:
        l->nested_done = true;
        if (typed_end(l->typed, err) == 0) return 0;
        l->typed_failed = true;
        return -1;
    default: return 0;
    }
}

static int nested_feed(struct loader *l, const void *data, size_t len, struct rk_err *err)
{
    if (l->nested_done || !len) return 0;
    if (rdb_reader_feed(l->nested, data, len, err) == 0) return 0;
    /* Typed errors already name the key; reader errors do not. */
    if (strncmp(err->msg, "key \"", 5) != 0) {
        char name[300];
        key_quote(l->key->key, l->key->key_len, name, sizeof(name));
        rk_err_prefix(err, "key \"%s\" (decoding it to send as commands)", name);
    }
    return -1;
}

/* The key is sent as commands: decode what was copied, then what follows. */
static int go_typed(struct loader *l, struct rk_err *err)
{
    const struct rdb_key_info *k = l->key;
    select_db(l, k->db);
    rpipe_begin(l->p, RC_DEL, k->key, k->key_len);
    rpipe_argc(l->p, 2);
    rpipe_arg_str(l->p, "DEL");
    rpipe_arg(l->p, k->key, k->key_len);
    l->st->typed_commands++;
    typed_begin(l->typed, k);
    struct rdb_reader_options ro = {.dump_payload = true, .dump_version = l->src_version};
    rdb_reader_free(l->nested);
    l->nested = rdb_reader_new(&ro, nested_event, l);
    l->nested_done = false;
    l->state = KEY_TYPED;
    l->st->keys_typed++;
    unsigned char type = k->type_byte;
    if (nested_feed(l, &type, 1, err) || nested_feed(l, l->raw.data, l->raw.len, err)) return -1;
    rk_buf_free(&l->raw);
    return 0;
}

/* ---- RESTORE path ---------------------------------------------------------------------- */

static int on_payload(void *ctx, const struct rdb_dump_key *dk, struct rk_err *err)
{
    struct loader *l = ctx;
    const struct rdb_key_info *k = dk->key;
    if (l->state == KEY_TYPED) return 0; /* already on its way as commands */
    if (dk->too_big) return go_typed(l, err);

    int64_t ttl = 0;
    bool abs_ttl = false;
    if (k->expire_ms >= 0) {
        if (l->caps.abs_ttl) {
            ttl = k->expire_ms;
            abs_ttl = true;
        } else {
            ttl = k->expire_ms - (int64_t)rk_now_ms();
            if (ttl <= 0) { /* expired while loading */
                l->st->keys_expired++;
                return 0;
            }
        }
    }
    bool replace = l->caps.major >= 3;
    select_db(l, k->db);
    rpipe_begin(l->p, RC_RESTORE, k->key, k->key_len);
    rpipe_argc(l->p, 4 + abs_ttl + replace);
    rpipe_arg(l->p, "RESTORE", 7);
    rpipe_arg(l->p, k->key, k->key_len);
    rpipe_arg_i64(l->p, ttl);
    if (dk->len >= (1u << 20)) {
        if (rpipe_arg_direct(l->p, dk->payload, dk->len, err)) return -1;
    } else {
        rpipe_arg(l->p, dk->payload, dk->len);
    }
    if (abs_ttl) rpipe_arg(l->p, "ABSTTL", 6);
    if (replace) rpipe_arg(l->p, "REPLACE", 7);
    l->st->keys_restored++;
    key_loaded(l);
    return rpipe_commit(l->p, err);
}

/* ---- functions ------------------------------------------------------------------------------ */

static int load_function(struct loader *l, const struct rdb_function_info *f, struct rk_err *err)
{
    if (!l->caps.functions) {
        l->st->functions_dropped++;
        return 0;
    }
    struct rk_buf code = {0};
    if (f->pre_ga && !(f->code_len >= 2 && memcmp(f->code, "#!", 2) == 0)) {
        /* 7.0 release candidates kept name and engine apart; GA wants a shebang. */
        rk_buf_append(&code, "#!", 2);
        for (size_t i = 0; i < f->engine_len; i++) {
            unsigned char c = f->engine[i];
            rk_buf_append_byte(&code, c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c);
        }
        rk_buf_append(&code, " name=", 6);
        rk_buf_append(&code, f->name, f->name_len);
        rk_buf_append_byte(&code, '\n');
    }
    rk_buf_append(&code, f->code, f->code_len);
    /* The library's name, for messages: "#!lua name=mylib ...". */
    const unsigned char *name = code.data;
    size_t nlen = 0;
    const unsigned char *nl = memchr(code.data, '\n', code.len);
    size_t first = nl ? (size_t)(nl - code.data) : code.len;
    for (size_t i = 0; i + 5 <= first; i++)
        if (memcmp(code.data + i, "name=", 5) == 0) {
            name = code.data + i + 5;
            while (i + 5 + nlen < first && name[nlen] != ' ') nlen++;
            break;
        }
    rpipe_begin(l->p, RC_FUNCTION_LOAD, name, nlen);
    rpipe_argc(l->p, 4);
    rpipe_arg_str(l->p, "FUNCTION");
    rpipe_arg_str(l->p, "LOAD");
    rpipe_arg_str(l->p, "REPLACE");
    rpipe_arg(l->p, code.data, code.len);
    rk_buf_free(&code);
    l->st->functions++;
    return rpipe_commit(l->p, err);
}

/* ---- the handler ------------------------------------------------------------------------------
 */

static int key_begin(struct loader *l, const struct rdb_event *ev, struct rk_err *err)
{
    struct rdb_key_info *k = ev->u.key;
    l->key = k;
    if (rdb_dumper_event(l->dumper, ev, err)) return -1;
    if (k->want == 0) { /* expired: the dumper leaves it out */
        l->state = KEY_SKIP;
        return 0;
    }
    k->want |= RDB_WANT_RAW;
    l->state = KEY_COPY;
    rk_buf_reset(&l->raw);
    return 0;
}

static int key_raw(struct loader *l, const struct rdb_event *ev, struct rk_err *err)
{
    if (rdb_dumper_event(l->dumper, ev, err)) return -1;
    if (l->state == KEY_TYPED) return nested_feed(l, ev->u.raw.data, ev->u.raw.len, err);
    if (l->state != KEY_COPY) return 0;
    rk_buf_append(&l->raw, ev->u.raw.data, ev->u.raw.len);
    if (l->raw.len > l->max_payload) return go_typed(l, err);
    return 0;
}

static int key_end(struct loader *l, const struct rdb_event *ev, struct rk_err *err)
{
    int rc = rdb_dumper_event(l->dumper, ev, err);
    if (rc == 0 && l->state == KEY_TYPED) {
        if (!l->nested_done) {
            char name[300];
            key_quote(l->key->key, l->key->key_len, name, sizeof(name));
            rc = rk_err_set(err, "key \"%s\": its value did not decode to its end", name);
        } else {
            key_loaded(l);
        }
    }
    l->state = KEY_NONE;
    l->key = NULL;
    rdb_reader_free(l->nested);
    l->nested = NULL;
    if (l->raw.cap > (4u << 20)) rk_buf_free(&l->raw); /* give a big copy back */
    return rc;
}

const bool *loader_target_failed(const struct loader *l)
{
    return &l->target_failed;
}

static int dispatch(struct loader *l, const struct rdb_event *ev, struct rk_err *err);

int loader_event(void *ctx, const struct rdb_event *ev, struct rk_err *err)
{
    struct loader *l = ctx;
    int rc = dispatch(l, ev, err);
    if (rc && (rpipe_failed(l->p) || l->typed_failed)) l->target_failed = true;
    return rc;
}

static int dispatch(struct loader *l, const struct rdb_event *ev, struct rk_err *err)
{
    switch (ev->type) {
    case RDB_EVENT_START: l->src_version = ev->u.start.version; return 0;
    case RDB_EVENT_FUNCTION: return load_function(l, &ev->u.function, err);
    case RDB_EVENT_MODULE_AUX: l->st->module_aux_dropped++; return 0;
    case RDB_EVENT_KEY: return key_begin(l, ev, err);
    case RDB_EVENT_RAW: return key_raw(l, ev, err);
    case RDB_EVENT_VALUE:
        /* Outside a key (module aux values too): nothing to load. */
        if (l->state == KEY_NONE) return 0;
        return rdb_dumper_event(l->dumper, ev, err);
    case RDB_EVENT_KEY_END: return key_end(l, ev, err);
    default: return 0;
    }
}
