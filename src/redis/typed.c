/* A value too big for one RESTORE, sent as the commands that build it:
 *
 *   string   SET key <first chunk>, APPEND key <chunk>...
 *   list     RPUSH key item...          set   SADD key member...
 *   zset     ZADD key score member...   hash  HSET key field value...
 *            (+ HPEXPIREAT per field TTL on 7.4+)
 *   stream   XADD key <id> field value... per entry, XSETID with the last ID
 *            (and ENTRIESADDED, MAXDELETEDID on 7.0+), XGROUP CREATE per
 *            group (ENTRIESREAD on 7.0+), XCLAIM ... TIME RETRYCOUNT FORCE
 *            JUSTID per pending entry, XGROUP CREATECONSUMER for consumers
 *            without pending entries (6.2+)
 *   then     PEXPIREAT key <ms> for a key with an expiry.
 *
 * Elements are batched up to 1 MiB per command; an element of 256 KiB or
 * more gets a command of its own and is streamed piece by piece, so memory
 * stays bounded whatever the value. No argument exceeds the target's
 * proto-max-bulk-len. */
#include "redis/redis_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_BYTES    (1u << 20)
#define BATCH_MAX_ARGS 65536u
#define SOLO_MIN       (256u << 10)
#define STRING_CHUNK   (4u << 20)

struct pel_entry {
    struct rdb_stream_id id;
    uint64_t time;
    uint64_t count;
};

struct typed {
    struct rpipe *p;
    const struct target_caps *caps;
    struct redis_load_stats *st;
    uint64_t max_arg;
    uint64_t batch_limit;
    uint64_t chunk;

    /* The key. */
    struct rk_buf key;
    enum rdb_kind kind;
    enum rdb_encoding enc;
    int64_t expire_ms;
    uint64_t now_ms;

    /* The open batch: arguments after the key, RESP-encoded. */
    enum rcmd bcmd;
    const char *bname;
    struct rk_buf batch;
    uint64_t bargs;

    /* The element being assembled, or streamed in a command of its own. */
    struct rk_buf elem;
    bool solo;        /* a command of its own is open */
    bool streaming;   /* an argument of it is being streamed */
    bool str_started; /* strings: SET went out, APPEND follows */

    /* Hashes. */
    struct rk_buf field;
    bool field_kept;    /* the field's name is in field (not streamed) */
    bool pair_in_batch; /* the last pair is the tail of the batch */
    size_t pair_at;     /* where it starts in the batch */
    struct rk_buf ttls; /* [u64 ms][u64 len][field] for HPEXPIREAT after the batch */

    /* Streams. */
    bool entry_skip;
    uint64_t entry_args_left;
    bool stream_has_entries;
    struct rk_buf group;
    struct pel_entry *pel;
    size_t npel, pel_cap;
    struct rk_buf consumer;
};

struct typed *typed_new(struct rpipe *p, const struct target_caps *caps,
                        struct redis_load_stats *st)
{
    struct typed *t = xcalloc(1, sizeof(*t));
    t->p = p;
    t->caps = caps;
    t->st = st;
    t->max_arg = caps->proto_max_bulk_len ? caps->proto_max_bulk_len : 512ull << 20;
    t->batch_limit = t->max_arg < BATCH_BYTES ? t->max_arg : BATCH_BYTES;
    t->chunk = t->max_arg < STRING_CHUNK ? t->max_arg : STRING_CHUNK;
    return t;
}

void typed_free(struct typed *t)
{
    if (!t) return;
    rk_buf_free(&t->key);
    rk_buf_free(&t->batch);
    rk_buf_free(&t->elem);
    rk_buf_free(&t->field);
    rk_buf_free(&t->ttls);
    rk_buf_free(&t->group);
    rk_buf_free(&t->consumer);
    free(t->pel);
    free(t);
}

/* ---- output -------------------------------------------------------------------- */

static void cmd_key(struct typed *t, enum rcmd cmd, const char *name, uint64_t argc)
{
    rpipe_begin(t->p, cmd, t->key.data, t->key.len);
    rpipe_argc(t->p, argc);
    rpipe_arg_str(t->p, name);
    rpipe_arg(t->p, t->key.data, t->key.len);
    t->st->typed_commands++;
}

static void put_arg(struct rk_buf *b, const void *data, size_t len)
{
    char head[24];
    int n = snprintf(head, sizeof(head), "$%zu\r\n", len);
    rk_buf_append(b, head, (size_t)n);
    rk_buf_append(b, data, len);
    rk_buf_append(b, "\r\n", 2);
}

static int key_error(struct typed *t, struct rk_err *err, const char *fmt, ...) RK_PRINTF(3, 4);

static int key_error(struct typed *t, struct rk_err *err, const char *fmt, ...)
{
    char what[RK_ERR_MAX], name[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    key_quote(t->key.data, t->key.len, name, sizeof(name));
    return rk_err_set(err, "key \"%s\" (%s): %s", name, rdb_kind_name(t->kind), what);
}

static int too_long(struct typed *t, uint64_t len, struct rk_err *err)
{
    return key_error(t, err,
                     "an element of %llu bytes is longer than the target's "
                     "proto-max-bulk-len (%llu): raise it on the target",
                     (unsigned long long)len, (unsigned long long)t->max_arg);
}

static int ttls_flush(struct typed *t, struct rk_err *err)
{
    size_t off = 0;
    while (off < t->ttls.len) {
        uint64_t ms, len;
        memcpy(&ms, t->ttls.data + off, 8);
        memcpy(&len, t->ttls.data + off + 8, 8);
        cmd_key(t, RC_HPEXPIREAT, "HPEXPIREAT", 6);
        rpipe_arg_u64(t->p, ms);
        rpipe_arg_str(t->p, "FIELDS");
        rpipe_arg_str(t->p, "1");
        rpipe_arg(t->p, t->ttls.data + off + 16, (size_t)len);
        if (rpipe_commit(t->p, err)) return -1;
        off += 16 + (size_t)len;
    }
    rk_buf_reset(&t->ttls);
    return 0;
}

static int batch_flush(struct typed *t, struct rk_err *err)
{
    t->pair_in_batch = false;
    if (t->bargs) {
        cmd_key(t, t->bcmd, t->bname, 2 + t->bargs);
        if (rpipe_raw(t->p, t->batch.data, t->batch.len, err)) return -1;
        rk_buf_reset(&t->batch);
        t->bargs = 0;
        if (rpipe_commit(t->p, err)) return -1;
    }
    return ttls_flush(t, err);
}

static int batch_check(struct typed *t, struct rk_err *err)
{
    if (t->batch.len >= t->batch_limit || t->bargs >= BATCH_MAX_ARGS) return batch_flush(t, err);
    return 0;
}

/* ---- key life ---------------------------------------------------------------------- */

void typed_begin(struct typed *t, const struct rdb_key_info *k)
{
    rk_buf_reset(&t->key);
    rk_buf_append(&t->key, k->key, k->key_len);
    t->enc = k->enc;
    t->kind = rdb_encoding_kind(k->enc);
    t->expire_ms = k->expire_ms;
    t->now_ms = rk_now_ms();
    rk_buf_reset(&t->batch);
    t->bargs = 0;
    rk_buf_reset(&t->elem);
    rk_buf_reset(&t->ttls);
    t->solo = t->streaming = t->str_started = false;
    t->field_kept = t->pair_in_batch = false;
    t->entry_skip = false;
    t->entry_args_left = 0;
    t->stream_has_entries = false;
    t->npel = 0;
    switch (t->kind) {
    case RDB_KIND_LIST:
        t->bcmd = RC_RPUSH;
        t->bname = "RPUSH";
        break;
    case RDB_KIND_SET:
        t->bcmd = RC_SADD;
        t->bname = "SADD";
        break;
    case RDB_KIND_ZSET:
        t->bcmd = RC_ZADD;
        t->bname = "ZADD";
        break;
    case RDB_KIND_HASH:
        t->bcmd = RC_HSET;
        t->bname = t->caps->major >= 4 ? "HSET" : "HMSET"; /* several pairs per HSET: 4.0 */
        break;
    default:
        t->bcmd = RC_SET;
        t->bname = "SET";
        break;
    }
}

/* ---- strings ------------------------------------------------------------------------ */

static int string_emit(struct typed *t, const unsigned char *data, size_t len, struct rk_err *err)
{
    if (t->str_started)
        cmd_key(t, RC_APPEND, "APPEND", 3);
    else
        cmd_key(t, RC_SET, "SET", 3);
    t->str_started = true;
    if (len >= SOLO_MIN) {
        if (rpipe_arg_direct(t->p, data, len, err)) return -1;
    } else {
        rpipe_arg(t->p, data, len);
    }
    return rpipe_commit(t->p, err);
}

static int string_piece(struct typed *t, const struct rdb_value *v, struct rk_err *err)
{
    /* APPEND checks the whole string against proto-max-bulk-len. */
    if (v->offset == 0 && v->total > t->max_arg)
        return key_error(t, err,
                         "the string is %llu bytes, more than the target's "
                         "proto-max-bulk-len (%llu) allows to build: raise it on the target",
                         (unsigned long long)v->total, (unsigned long long)t->max_arg);
    const unsigned char *d = v->data;
    size_t len = v->len;
    while (len) {
        size_t room = (size_t)t->chunk - t->elem.len;
        size_t n = len < room ? len : room;
        if (t->elem.len == 0 && len >= t->chunk) {
            /* A whole chunk at hand: send it from where it is. */
            n = (size_t)t->chunk;
            if (string_emit(t, d, n, err)) return -1;
        } else {
            rk_buf_append(&t->elem, d, n);
            if (t->elem.len == t->chunk) {
                if (string_emit(t, t->elem.data, t->elem.len, err)) return -1;
                rk_buf_reset(&t->elem);
            }
        }
        d += n;
        len -= n;
    }
    if (rdb_value_complete(v) && (t->elem.len || !t->str_started)) {
        if (string_emit(t, t->elem.data ? t->elem.data : (const unsigned char *)"", t->elem.len,
                        err))
            return -1;
        rk_buf_reset(&t->elem);
    }
    return 0;
}

/* ---- lists and sets ------------------------------------------------------------------ */

static int element_piece(struct typed *t, const struct rdb_value *v, struct rk_err *err)
{
    if (v->offset == 0) {
        if (v->total > t->max_arg) return too_long(t, v->total, err);
        rk_buf_reset(&t->elem);
        if (v->total >= SOLO_MIN) {
            if (batch_flush(t, err)) return -1;
            cmd_key(t, t->bcmd, t->bname, 3);
            rpipe_arg_head(t->p, v->total);
            t->solo = true;
        }
    }
    if (t->solo) {
        if (rpipe_raw(t->p, v->data, v->len, err)) return -1;
    } else {
        rk_buf_append(&t->elem, v->data, v->len);
    }
    if (!rdb_value_complete(v)) return 0;
    if (t->solo) {
        rpipe_arg_end(t->p);
        t->solo = false;
        return rpipe_commit(t->p, err);
    }
    put_arg(&t->batch, t->elem.data, t->elem.len);
    t->bargs++;
    return batch_check(t, err);
}

/* ---- sorted sets ------------------------------------------------------------------------ */

static size_t score_text(double d, char *out)
{
    if (isinf(d)) return (size_t)sprintf(out, d > 0 ? "inf" : "-inf");
    return (size_t)sprintf(out, "%.17g", d);
}

static int zset_value(struct typed *t, const struct rdb_value *v, struct rk_err *err)
{
    if (v->kind == RDB_VALUE_ZSET_MEMBER) {
        if (v->offset == 0) {
            if (v->total > t->max_arg) return too_long(t, v->total, err);
            rk_buf_reset(&t->elem);
        }
        rk_buf_append(&t->elem, v->data, v->len);
        return 0;
    }
    char s[40];
    size_t sl = score_text(v->score, s);
    if (t->elem.len >= SOLO_MIN) {
        if (batch_flush(t, err)) return -1;
        cmd_key(t, RC_ZADD, "ZADD", 4);
        rpipe_arg(t->p, s, sl);
        rpipe_arg(t->p, t->elem.data, t->elem.len);
        return rpipe_commit(t->p, err);
    }
    put_arg(&t->batch, s, sl);
    put_arg(&t->batch, t->elem.data, t->elem.len);
    t->bargs += 2;
    return batch_check(t, err);
}

/* ---- hashes -------------------------------------------------------------------------------- */

static int hash_field(struct typed *t, const struct rdb_value *v, struct rk_err *err)
{
    if (v->offset == 0) {
        if (v->total > t->max_arg) return too_long(t, v->total, err);
        if (t->pair_in_batch) {
            t->pair_in_batch = false;
            if (batch_check(t, err)) return -1;
        }
        rk_buf_reset(&t->field);
        t->field_kept = v->total < SOLO_MIN;
        if (!t->field_kept) {
            if (batch_flush(t, err)) return -1;
            cmd_key(t, RC_HSET, "HSET", 4);
            rpipe_arg_head(t->p, v->total);
            t->solo = true;
        }
    }
    if (t->field_kept) {
        rk_buf_append(&t->field, v->data, v->len);
    } else {
        if (rpipe_raw(t->p, v->data, v->len, err)) return -1;
        if (rdb_value_complete(v)) rpipe_arg_end(t->p);
    }
    return 0;
}

static int hash_value(struct typed *t, const struct rdb_value *v, struct rk_err *err)
{
    if (v->offset == 0) {
        if (v->total > t->max_arg) return too_long(t, v->total, err);
        rk_buf_reset(&t->elem);
        if (!t->solo && v->total >= SOLO_MIN) {
            if (batch_flush(t, err)) return -1;
            cmd_key(t, RC_HSET, "HSET", 4);
            rpipe_arg(t->p, t->field.data, t->field.len);
            t->solo = true;
        }
        if (t->solo) {
            rpipe_arg_head(t->p, v->total);
            t->streaming = true;
        }
    }
    if (t->streaming) {
        if (rpipe_raw(t->p, v->data, v->len, err)) return -1;
    } else {
        rk_buf_append(&t->elem, v->data, v->len);
    }
    if (!rdb_value_complete(v)) return 0;
    if (t->streaming) {
        rpipe_arg_end(t->p);
        t->streaming = t->solo = false;
        return rpipe_commit(t->p, err);
    }
    t->pair_at = t->batch.len;
    put_arg(&t->batch, t->field.data, t->field.len);
    put_arg(&t->batch, t->elem.data, t->elem.len);
    t->bargs += 2;
    t->pair_in_batch = true;
    return 0;
}

static int hash_field_expire(struct typed *t, int64_t ms, struct rk_err *err)
{
    if (ms >= 0 && (uint64_t)ms <= t->now_ms) { /* gone already: take the pair back */
        t->st->fields_expired++;
        if (t->pair_in_batch) {
            t->batch.len = t->pair_at;
            t->bargs -= 2;
            t->pair_in_batch = false;
        } else if (t->field_kept) {
            cmd_key(t, RC_HDEL, "HDEL", 3);
            rpipe_arg(t->p, t->field.data, t->field.len);
            return rpipe_commit(t->p, err);
        }
        return 0;
    }
    if (!t->caps->hash_field_ttl || !t->field_kept) {
        t->st->field_ttls_dropped++;
        return 0;
    }
    uint64_t ums = (uint64_t)ms, len = t->field.len;
    rk_buf_append(&t->ttls, &ums, 8);
    rk_buf_append(&t->ttls, &len, 8);
    rk_buf_append(&t->ttls, t->field.data, t->field.len);
    return t->pair_in_batch ? 0 : ttls_flush(t, err);
}

/* ---- streams --------------------------------------------------------------------------------- */

static void id_text(struct rdb_stream_id id, char *out, size_t outlen)
{
    snprintf(out, outlen, "%llu-%llu", (unsigned long long)id.ms, (unsigned long long)id.seq);
}

static void arg_id(struct typed *t, struct rdb_stream_id id)
{
    char s[48];
    id_text(id, s, sizeof(s));
    rpipe_arg_str(t->p, s);
}

static int id_cmp(struct rdb_stream_id a, struct rdb_stream_id b)
{
    if (a.ms != b.ms) return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq) return a.seq < b.seq ? -1 : 1;
    return 0;
}

static const struct pel_entry *pel_find(const struct typed *t, struct rdb_stream_id id)
{
    size_t lo = 0, hi = t->npel;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = id_cmp(t->pel[mid].id, id);
        if (c == 0) return &t->pel[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int stream_element(struct typed *t, const struct rdb_value *v, struct rk_err *err)
{
    if (t->entry_skip || !t->entry_args_left) return 0;
    if (v->offset == 0) {
        if (v->total > t->max_arg) return too_long(t, v->total, err);
        rpipe_arg_head(t->p, v->total);
    }
    if (rpipe_raw(t->p, v->data, v->len, err)) return -1;
    if (!rdb_value_complete(v)) return 0;
    rpipe_arg_end(t->p);
    if (--t->entry_args_left == 0) return rpipe_commit(t->p, err);
    return 0;
}

static int stream_value(struct typed *t, const struct rdb_value *v, struct rk_err *err)
{
    switch (v->kind) {
    case RDB_VALUE_STREAM_ENTRY:
        /* Deleted entries stay in nodes as tombstones; a new stream has none. */
        t->entry_skip = v->deleted || v->count == 0;
        t->entry_args_left = t->entry_skip ? 0 : 2 * v->count;
        if (!t->entry_skip) {
            cmd_key(t, RC_XADD, "XADD", 3 + 2 * v->count);
            arg_id(t, v->id);
            t->stream_has_entries = true;
        }
        return 0;
    case RDB_VALUE_STREAM_FIELD:
    case RDB_VALUE_STREAM_VALUE: return stream_element(t, v, err);
    default: return 0;
    }
}

/* The XGROUP forms take the subcommand before the key, so they are written
 * by hand rather than with cmd_key. */
static void xgroup_begin(struct typed *t, enum rcmd cmd, const char *sub, uint64_t argc)
{
    rpipe_begin(t->p, cmd, t->key.data, t->key.len);
    rpipe_argc(t->p, argc);
    rpipe_arg_str(t->p, "XGROUP");
    rpipe_arg_str(t->p, sub);
    rpipe_arg(t->p, t->key.data, t->key.len);
    t->st->typed_commands++;
}

static int stream_meta(struct typed *t, const struct rdb_stream_meta *m, struct rk_err *err)
{
    if (!t->stream_has_entries) {
        /* An empty stream: created through a group that is dropped again. */
        xgroup_begin(t, RC_XGROUP_CREATE, "CREATE", 6);
        rpipe_arg_str(t->p, "rdbkeep-empty-stream");
        rpipe_arg_str(t->p, "0");
        rpipe_arg_str(t->p, "MKSTREAM");
        xgroup_begin(t, RC_XGROUP_DESTROY, "DESTROY", 4);
        rpipe_arg_str(t->p, "rdbkeep-empty-stream");
    }
    bool ext = t->caps->stream_ext;
    cmd_key(t, RC_XSETID, "XSETID", ext ? 7 : 3);
    arg_id(t, m->last_id);
    if (ext) {
        rpipe_arg_str(t->p, "ENTRIESADDED");
        rpipe_arg_u64(t->p, m->entries_added < m->length ? m->length : m->entries_added);
        rpipe_arg_str(t->p, "MAXDELETEDID");
        arg_id(t, id_cmp(m->max_deleted, m->last_id) > 0 ? m->last_id : m->max_deleted);
    }
    return rpipe_commit(t->p, err);
}

static int stream_group(struct typed *t, const struct rdb_value *v, struct rk_err *err)
{
    rk_buf_reset(&t->group);
    rk_buf_append(&t->group, v->data, v->len);
    t->npel = 0;
    bool read = t->caps->stream_ext && v->u.group.entries_read >= 0;
    xgroup_begin(t, RC_XGROUP_CREATE, "CREATE", read ? 7 : 5);
    rpipe_arg(t->p, t->group.data, t->group.len);
    arg_id(t, v->u.group.last_id);
    if (read) {
        rpipe_arg_str(t->p, "ENTRIESREAD");
        rpipe_arg_u64(t->p, (uint64_t)v->u.group.entries_read);
    }
    return rpipe_commit(t->p, err);
}

static int stream_consumer(struct typed *t, const struct rdb_value *v, struct rk_err *err)
{
    rk_buf_reset(&t->consumer);
    rk_buf_append(&t->consumer, v->data, v->len);
    if (v->u.consumer.pel_size || !t->caps->create_consumer) return 0;
    xgroup_begin(t, RC_XGROUP_CREATECONSUMER, "CREATECONSUMER", 5);
    rpipe_arg(t->p, t->group.data, t->group.len);
    rpipe_arg(t->p, t->consumer.data, t->consumer.len);
    return rpipe_commit(t->p, err);
}

static int stream_consumer_pel(struct typed *t, struct rdb_stream_id id, struct rk_err *err)
{
    const struct pel_entry *e = pel_find(t, id);
    if (!e) {
        t->st->stream_pel_dropped++;
        return 0;
    }
    cmd_key(t, RC_XCLAIM, "XCLAIM", 12);
    rpipe_arg(t->p, t->group.data, t->group.len);
    rpipe_arg(t->p, t->consumer.data, t->consumer.len);
    rpipe_arg_str(t->p, "0");
    arg_id(t, id);
    rpipe_arg_str(t->p, "TIME");
    rpipe_arg_u64(t->p, e->time);
    rpipe_arg_str(t->p, "RETRYCOUNT");
    rpipe_arg_u64(t->p, e->count);
    rpipe_arg_str(t->p, "FORCE");
    rpipe_arg_str(t->p, "JUSTID");
    return rpipe_commit(t->p, err);
}

static int stream_event(struct typed *t, const struct rdb_value *v, struct rk_err *err)
{
    switch (v->kind) {
    case RDB_VALUE_STREAM_ENTRY:
    case RDB_VALUE_STREAM_FIELD:
    case RDB_VALUE_STREAM_VALUE: return stream_value(t, v, err);
    case RDB_VALUE_STREAM_META: return stream_meta(t, &v->u.stream, err);
    case RDB_VALUE_STREAM_GROUP: return stream_group(t, v, err);
    case RDB_VALUE_STREAM_PEL:
        if (t->npel == t->pel_cap) {
            t->pel_cap = t->pel_cap ? 2 * t->pel_cap : 64;
            t->pel = xrealloc(t->pel, t->pel_cap * sizeof(*t->pel));
        }
        t->pel[t->npel++] =
            (struct pel_entry){v->id, v->u.pel.delivery_time, v->u.pel.delivery_count};
        return 0;
    case RDB_VALUE_STREAM_CONSUMER: return stream_consumer(t, v, err);
    case RDB_VALUE_STREAM_CONSUMER_PEL: return stream_consumer_pel(t, v->id, err);
    case RDB_VALUE_STREAM_IDMP: t->st->stream_idmp_dropped++; return 0;
    default: return 0;
    }
}

/* ---- dispatch ------------------------------------------------------------------------------- */

int typed_value(struct typed *t, const struct rdb_value *v, struct rk_err *err)
{
    switch (v->kind) {
    case RDB_VALUE_STRING: return string_piece(t, v, err);
    case RDB_VALUE_LIST_ITEM:
    case RDB_VALUE_SET_MEMBER: return element_piece(t, v, err);
    case RDB_VALUE_ZSET_MEMBER:
    case RDB_VALUE_ZSET_SCORE: return zset_value(t, v, err);
    case RDB_VALUE_HASH_FIELD: return hash_field(t, v, err);
    case RDB_VALUE_HASH_VALUE: return hash_value(t, v, err);
    case RDB_VALUE_HASH_FIELD_EXPIRE: return hash_field_expire(t, v->num, err);
    case RDB_VALUE_MODULE_TYPE:
        return key_error(t, err,
                         "a module value is bigger than one RESTORE may carry, and module "
                         "values have no commands to build them: raise the payload limit");
    case RDB_VALUE_LIST_NODE:
    case RDB_VALUE_MODULE_DATA: return 0;
    default: return stream_event(t, v, err);
    }
}

int typed_end(struct typed *t, struct rk_err *err)
{
    if (t->kind == RDB_KIND_STRING && !t->str_started) {
        static const struct rdb_value empty = {.kind = RDB_VALUE_STRING,
                                               .data = (const unsigned char *)""};
        if (string_piece(t, &empty, err)) return -1;
    }
    if (batch_flush(t, err)) return -1;
    if (t->expire_ms >= 0) {
        cmd_key(t, RC_PEXPIREAT, "PEXPIREAT", 3);
        rpipe_arg_i64(t->p, t->expire_ms);
        if (rpipe_commit(t->p, err)) return -1;
    }
    return 0;
}
