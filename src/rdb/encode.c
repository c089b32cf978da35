/* Rewriting one key's value for a target RDB version (see encode.h). */
#include "rdb/encode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis's defaults for compact encodings: a rebuilt value uses one only when
 * it is this small, as Redis itself would have kept it. */
#define COMPACT_MAX_ENTRIES 128
#define COMPACT_MAX_VALUE   64
#define INTSET_MAX_ENTRIES  512
#define ZIPLIST_LIST_MAX    512

/* Records of the BUFFER model: a kind byte, then for strings a u64 length
 * and the bytes, for numbers 8 bytes. */
enum rec_kind { REC_ITEM, REC_FIELD, REC_VALUE, REC_EXPIRE, REC_MEMBER, REC_SCORE };

/* ---- RDB primitives ------------------------------------------------------------ */

size_t enc_len_bytes(uint64_t len, unsigned char out[9])
{
    if (len < 64) {
        out[0] = (unsigned char)len;
        return 1;
    }
    if (len < 16384) {
        out[0] = (unsigned char)(0x40 | len >> 8);
        out[1] = (unsigned char)len;
        return 2;
    }
    if (len <= UINT32_MAX) {
        out[0] = 0x80;
        for (int i = 0; i < 4; i++) out[1 + i] = (unsigned char)(len >> (24 - 8 * i));
        return 5;
    }
    out[0] = 0x81;
    for (int i = 0; i < 8; i++) out[1 + i] = (unsigned char)(len >> (56 - 8 * i));
    return 9;
}

void enc_put_len(struct rk_buf *b, uint64_t len)
{
    unsigned char tmp[9];
    rk_buf_append(b, tmp, enc_len_bytes(len, tmp));
}

void enc_put_string(struct rk_buf *b, const void *data, size_t len)
{
    enc_put_len(b, len);
    rk_buf_append(b, data, len);
}

static void put_u64le(struct rk_buf *b, uint64_t v)
{
    unsigned char tmp[8];
    for (int i = 0; i < 8; i++) tmp[i] = (unsigned char)(v >> (8 * i));
    rk_buf_append(b, tmp, 8);
}

static void put_u64be(struct rk_buf *b, uint64_t v)
{
    unsigned char tmp[8];
    for (int i = 0; i < 8; i++) tmp[i] = (unsigned char)(v >> (56 - 8 * i));
    rk_buf_append(b, tmp, 8);
}

static void put_double_bin(struct rk_buf *b, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, 8);
    put_u64le(b, bits);
}

/* A score as RDB types 3 stores it (rdbSaveDoubleValue). */
static void put_double_text(struct rk_buf *b, double d)
{
    char text[64];
    unsigned char n;
    if (isnan(d)) n = 253;
    else if (isinf(d)) n = d > 0 ? 254 : 255;
    else {
        /* Redis prints whole numbers as integers, which loses the sign of -0;
         * "%.17g" keeps it, and every loader reads it back. */
        if (d > -4503599627370495.0 && d < 4503599627370496.0 && d == (double)(long long)d &&
            !(d == 0 && signbit(d)))
            snprintf(text, sizeof(text), "%lld", (long long)d);
        else
            snprintf(text, sizeof(text), "%.17g", d);
        n = (unsigned char)strlen(text);
        rk_buf_append_byte(b, n);
        rk_buf_append(b, text, n);
        return;
    }
    rk_buf_append_byte(b, n);
}

/* ---- Output ---------------------------------------------------------------------- */

static int begin(struct key_encoder *e, struct rk_err *err)
{
    e->begun = true;
    return e->owner.begin(e->owner.ctx, e->type_byte, err);
}

static int check(struct key_encoder *e, struct rk_err *err)
{
    return e->owner.check(e->owner.ctx, err);
}

static int key_error(const struct rdb_key_info *k, struct rk_err *err, const char *what)
{
    char name[160];
    rdb_quote(k->key, k->key_len, 64, name, sizeof(name));
    return rk_err_set(err, "key \"%s\" (%s, %s): %s", name, rdb_kind_name(rdb_encoding_kind(k->enc)),
                      rdb_encoding_name(k->enc), what);
}

/* ---- Choosing the mode ------------------------------------------------------------ */

static int stream_version_for(int target)
{
    return target >= 11 ? 3 : target >= 10 ? 2 : 1;
}

static uint8_t stream_type_for(int version)
{
    return version == 3 ? 21 : version == 2 ? 19 : 15;
}

void enc_init(struct key_encoder *e)
{
    memset(e, 0, sizeof(*e));
    rdb_ziplist_init(&e->zl);
}

void enc_free(struct key_encoder *e)
{
    rk_buf_free(&e->model);
    rdb_ziplist_free(&e->zl);
}

int enc_key_begin(struct key_encoder *e, struct rdb_key_info *k, struct rk_err *err)
{
    struct rk_buf *out = e->owner.out;
    e->src = k->enc;
    e->kind = rdb_encoding_kind(k->enc);
    e->begun = false;
    e->too_big = false;
    e->node_open = false;
    /* A big value rebuilt earlier must not pin its memory for the rest of the file. */
    if (e->model.cap > (4u << 20)) rk_buf_free(&e->model);
    else rk_buf_reset(&e->model);
    e->model_items = 0;
    e->type_byte = k->type_byte;

    if (e->drop_expired && k->expire_ms >= 0 && (uint64_t)k->expire_ms <= e->now_ms) {
        e->mode = ENC_SKIP;
        k->want = 0;
        e->stats->keys_expired++;
        return 0;
    }

    int t = e->target;
    int need = rdb_encoding_min_version(k->enc);
    e->mode = need <= t ? ENC_PASS : ENC_BUFFER;
    switch (k->enc) {
    case RDB_ENC_MODULE_2:
        if (t < 8) return key_error(k, err, "module values need RDB 8 (Redis 4.0) or later");
        break;
    case RDB_ENC_ZSET_2:
        if (t < 8) {
            e->mode = ENC_STREAM;
            e->type_byte = 3;
        }
        break;
    case RDB_ENC_LIST_QUICKLIST_2:
        if (t < 10 && t >= 7) {
            e->mode = ENC_STREAM;
            e->type_byte = 14;
        }
        break;
    case RDB_ENC_STREAM_LISTPACKS: case RDB_ENC_STREAM_LISTPACKS_2:
    case RDB_ENC_STREAM_LISTPACKS_3: case RDB_ENC_STREAM_LISTPACKS_4:
        if (t < 9) return key_error(k, err, "streams need RDB 9 (Redis 5.0) or later");
        if (e->mode != ENC_PASS) {
            e->mode = ENC_STREAM;
            e->stream_target_version = stream_version_for(t);
            e->type_byte = stream_type_for(e->stream_target_version);
        }
        break;
    case RDB_ENC_VALKEY_HASH_2:
        e->mode = ENC_BUFFER;
        break;
    case RDB_ENC_HASH_METADATA: case RDB_ENC_HASH_LISTPACK_EX:
    case RDB_ENC_HASH_METADATA_PRE_GA: case RDB_ENC_HASH_LISTPACK_EX_PRE_GA:
        /* Copied as they are, expired fields would stay: rebuild to leave them out. */
        if (e->drop_expired) e->mode = ENC_BUFFER;
        break;
    case RDB_ENC_HASH_ZIPMAP:
        /* Redis 2.4 hashes: tiny, and some in the wild carry a header Redis
         * 7's integrity check refuses; rebuilt, they load everywhere. */
        e->mode = ENC_BUFFER;
        break;
    default:
        break;
    }
    k->want = e->mode == ENC_PASS ? RDB_WANT_RAW : RDB_WANT_VALUES;
    if (e->mode == ENC_BUFFER) return 0; /* the type is known only at the end */
    if (begin(e, err)) return -1;
    if (e->mode == ENC_STREAM) enc_put_len(out, k->len_hint);
    return 0;
}

/* ---- PASS ---------------------------------------------------------------------------- */

int enc_raw(struct key_encoder *e, const unsigned char *data, size_t len, struct rk_err *err)
{
    if (e->mode != ENC_PASS) return 0;
    rk_buf_append(e->owner.out, data, len);
    return check(e, err);
}

/* ---- BUFFER: recording ------------------------------------------------------------- */

static int model_string(struct key_encoder *e, enum rec_kind kind, const struct rdb_value *v,
                        struct rk_err *err)
{
    if (v->offset == 0) {
        if (e->model.len + v->total + 16 > e->max_buffered) {
            if (e->too_big_ok) { /* DUMP: the caller sends this key another way */
                e->too_big = true;
                rk_buf_free(&e->model);
                return 0;
            }
            return rk_err_set(err, "the value is larger than the %llu bytes allowed to rewrite it "
                                   "in memory", (unsigned long long)e->max_buffered);
        }
        if (kind == REC_FIELD) e->field_at = e->model.len;
        rk_buf_append_byte(&e->model, (unsigned char)kind);
        rk_buf_append(&e->model, &v->total, 8);
        e->model_items++;
    }
    rk_buf_append(&e->model, v->data, v->len);
    return 0;
}

static void model_number(struct key_encoder *e, enum rec_kind kind, const void *eight)
{
    rk_buf_append_byte(&e->model, (unsigned char)kind);
    rk_buf_append(&e->model, eight, 8);
}

static int buffer_value(struct key_encoder *e, const struct rdb_value *v, struct rk_err *err)
{
    if (e->too_big) return 0;
    switch (v->kind) {
    case RDB_VALUE_LIST_ITEM: case RDB_VALUE_SET_MEMBER: return model_string(e, REC_ITEM, v, err);
    case RDB_VALUE_HASH_FIELD: return model_string(e, REC_FIELD, v, err);
    case RDB_VALUE_HASH_VALUE: return model_string(e, REC_VALUE, v, err);
    case RDB_VALUE_ZSET_MEMBER: return model_string(e, REC_MEMBER, v, err);
    case RDB_VALUE_ZSET_SCORE: model_number(e, REC_SCORE, &v->score); return 0;
    case RDB_VALUE_HASH_FIELD_EXPIRE: model_number(e, REC_EXPIRE, &v->num); return 0;
    default: return 0;
    }
}

/* ---- BUFFER: rebuilding ------------------------------------------------------------ */

struct rec {
    enum rec_kind kind;
    const unsigned char *data;
    uint64_t len;
    double score;
    int64_t num;
};

static bool next_rec(const struct rk_buf *m, size_t *off, struct rec *r)
{
    if (*off >= m->len) return false;
    const unsigned char *p = m->data + *off;
    r->kind = (enum rec_kind)p[0];
    if (r->kind == REC_SCORE || r->kind == REC_EXPIRE) {
        if (r->kind == REC_SCORE) memcpy(&r->score, p + 1, 8);
        else memcpy(&r->num, p + 1, 8);
        *off += 9;
        return true;
    }
    memcpy(&r->len, p + 1, 8);
    r->data = p + 9;
    *off += 9 + r->len;
    return true;
}

static void build_list(struct key_encoder *e)
{
    size_t off = 0;
    struct rec r = {0};
    uint64_t n = 0;
    bool small = true;
    while (next_rec(&e->model, &off, &r)) {
        n++;
        if (r.len > COMPACT_MAX_VALUE) small = false;
    }
    small = small && n <= ZIPLIST_LIST_MAX;
    off = 0;
    if (small) {
        e->type_byte = 10;
        rdb_ziplist_reset(&e->zl);
        while (next_rec(&e->model, &off, &r)) rdb_ziplist_add(&e->zl, r.data, (size_t)r.len);
        rdb_ziplist_finish(&e->zl);
        enc_put_string(e->owner.out, e->zl.buf.data, e->zl.buf.len);
        return;
    }
    e->type_byte = 1;
    enc_put_len(e->owner.out, n);
    while (next_rec(&e->model, &off, &r)) enc_put_string(e->owner.out, r.data, (size_t)r.len);
}

static int build_set(struct key_encoder *e, struct rk_err *err)
{
    size_t off = 0;
    struct rec r = {0};
    uint64_t n = 0;
    bool ints = true;
    long long v;
    while (next_rec(&e->model, &off, &r)) {
        n++;
        if (ints && !rdb_str_to_ll(r.data, (size_t)r.len, &v)) ints = false;
    }
    off = 0;
    if (ints && n <= INTSET_MAX_ENTRIES) {
        struct rdb_intset_builder is;
        rdb_intset_init(&is);
        while (next_rec(&e->model, &off, &r)) {
            rdb_str_to_ll(r.data, (size_t)r.len, &v);
            rdb_intset_add(&is, v);
        }
        int rc = rdb_intset_finish(&is);
        if (rc == 0) {
            e->type_byte = 11;
            enc_put_string(e->owner.out, is.buf.data, is.buf.len);
        }
        rdb_intset_free(&is);
        if (rc) return rk_err_set(err, "the set holds the same member twice");
        return 0;
    }
    e->type_byte = 2;
    enc_put_len(e->owner.out, n);
    while (next_rec(&e->model, &off, &r)) enc_put_string(e->owner.out, r.data, (size_t)r.len);
    return 0;
}

static void build_zset(struct key_encoder *e)
{
    size_t off = 0;
    struct rec r = {0};
    uint64_t n = 0;
    bool small = true;
    while (next_rec(&e->model, &off, &r)) {
        if (r.kind != REC_MEMBER) continue;
        n++;
        if (r.len > COMPACT_MAX_VALUE) small = false;
    }
    small = small && n <= COMPACT_MAX_ENTRIES;
    off = 0;
    if (small) {
        /* Below 10 the compact form is a ziplist of member, score-as-text. */
        e->type_byte = 12;
        rdb_ziplist_reset(&e->zl);
        while (next_rec(&e->model, &off, &r)) {
            if (r.kind == REC_MEMBER) {
                rdb_ziplist_add(&e->zl, r.data, (size_t)r.len);
            } else {
                char text[32];
                size_t len = rdb_double_to_str(r.score, text);
                rdb_ziplist_add(&e->zl, (const unsigned char *)text, len);
            }
        }
        rdb_ziplist_finish(&e->zl);
        enc_put_string(e->owner.out, e->zl.buf.data, e->zl.buf.len);
        return;
    }
    bool binary = e->target >= 8;
    e->type_byte = binary ? 5 : 3;
    enc_put_len(e->owner.out, n);
    while (next_rec(&e->model, &off, &r)) {
        if (r.kind == REC_MEMBER) enc_put_string(e->owner.out, r.data, (size_t)r.len);
        else if (binary) put_double_bin(e->owner.out, r.score);
        else put_double_text(e->owner.out, r.score);
    }
}

/* One hash field while rebuilding: its name, value and expiry (-1: none). */
struct field {
    struct rec name, value;
    int64_t expire;
};

static bool next_field(const struct rk_buf *m, size_t *off, struct field *f)
{
    if (!next_rec(m, off, &f->name)) return false;
    next_rec(m, off, &f->value);
    f->expire = -1;
    size_t peek = *off;
    struct rec r = {0};
    if (next_rec(m, &peek, &r) && r.kind == REC_EXPIRE) {
        f->expire = r.num;
        *off = peek;
    }
    return true;
}

static void build_hash(struct key_encoder *e, uint64_t *kept_out)
{
    size_t off = 0;
    struct field f = {0};
    uint64_t kept = 0, with_ttl = 0;
    int64_t min_expire = INT64_MAX;
    bool small = true;
    while (next_field(&e->model, &off, &f)) {
        if (f.expire >= 0 && (uint64_t)f.expire <= e->now_ms) continue; /* gone already */
        kept++;
        if (f.expire >= 0) {
            with_ttl++;
            if (f.expire < min_expire) min_expire = f.expire;
        }
        if (f.name.len > COMPACT_MAX_VALUE || f.value.len > COMPACT_MAX_VALUE) small = false;
    }
    small = small && kept <= COMPACT_MAX_ENTRIES;
    *kept_out = kept;
    off = 0;

    if (e->target >= 12 && with_ttl) {
        /* HASH_METADATA: TTLs relative to the smallest, plus one (0: none). */
        e->type_byte = 24;
        put_u64le(e->owner.out, (uint64_t)min_expire);
        enc_put_len(e->owner.out, kept);
        while (next_field(&e->model, &off, &f)) {
            if (f.expire >= 0 && (uint64_t)f.expire <= e->now_ms) continue;
            enc_put_len(e->owner.out, f.expire >= 0 ? (uint64_t)(f.expire - min_expire) + 1 : 0);
            enc_put_string(e->owner.out, f.name.data, (size_t)f.name.len);
            enc_put_string(e->owner.out, f.value.data, (size_t)f.value.len);
        }
        return;
    }
    e->stats->field_ttls_dropped += with_ttl;
    if (small) {
        bool listpack = e->target >= 10;
        struct rdb_listpack_builder lp;
        e->type_byte = listpack ? 16 : 13;
        if (listpack) rdb_listpack_init(&lp);
        else rdb_ziplist_reset(&e->zl);
        while (next_field(&e->model, &off, &f)) {
            if (f.expire >= 0 && (uint64_t)f.expire <= e->now_ms) continue;
            if (listpack) {
                rdb_listpack_add(&lp, f.name.data, (size_t)f.name.len);
                rdb_listpack_add(&lp, f.value.data, (size_t)f.value.len);
            } else {
                rdb_ziplist_add(&e->zl, f.name.data, (size_t)f.name.len);
                rdb_ziplist_add(&e->zl, f.value.data, (size_t)f.value.len);
            }
        }
        if (listpack) {
            rdb_listpack_finish(&lp);
            enc_put_string(e->owner.out, lp.buf.data, lp.buf.len);
            rdb_listpack_free(&lp);
        } else {
            rdb_ziplist_finish(&e->zl);
            enc_put_string(e->owner.out, e->zl.buf.data, e->zl.buf.len);
        }
        return;
    }
    e->type_byte = 4;
    enc_put_len(e->owner.out, kept);
    while (next_field(&e->model, &off, &f)) {
        if (f.expire >= 0 && (uint64_t)f.expire <= e->now_ms) continue;
        enc_put_string(e->owner.out, f.name.data, (size_t)f.name.len);
        enc_put_string(e->owner.out, f.value.data, (size_t)f.value.len);
    }
}

/* ---- STREAM: on-the-fly rewriting ------------------------------------------------------ */

static void node_finish(struct key_encoder *e)
{
    if (!e->node_open) return;
    rdb_ziplist_finish(&e->zl);
    enc_put_string(e->owner.out, e->zl.buf.data, e->zl.buf.len);
    e->node_open = false;
}

static int stream_value(struct key_encoder *e, const struct rdb_value *v, struct rk_err *err)
{
    struct rk_buf *b = e->owner.out;
    int sv = e->stream_target_version;
    switch (v->kind) {
    /* ZSET_2 -> ZSET */
    case RDB_VALUE_ZSET_MEMBER:
        if (v->offset == 0) enc_put_len(b, v->total);
        rk_buf_append(b, v->data, v->len);
        break;
    case RDB_VALUE_ZSET_SCORE: put_double_text(b, v->score); break;

    /* quicklist v2 -> v1: every node becomes a ziplist */
    case RDB_VALUE_LIST_NODE:
        node_finish(e);
        rdb_ziplist_reset(&e->zl);
        e->node_open = true;
        break;
    case RDB_VALUE_LIST_ITEM:
        if (v->offset == 0) rk_buf_reset(&e->model);
        if (e->model.len + v->len > e->max_buffered)
            return rk_err_set(err, "a list element larger than the %llu bytes allowed to rewrite "
                                   "it in memory", (unsigned long long)e->max_buffered);
        rk_buf_append(&e->model, v->data, v->len);
        if (rdb_value_complete(v)) rdb_ziplist_add(&e->zl, e->model.data, e->model.len);
        break;

    /* newer streams -> older: the nodes stay as they are */
    case RDB_VALUE_STREAM_NODE:
        enc_put_len(b, 16);
        put_u64be(b, v->id.ms);
        put_u64be(b, v->id.seq);
        break;
    case RDB_VALUE_STREAM_LISTPACK:
        if (v->offset == 0) enc_put_len(b, v->total);
        rk_buf_append(b, v->data, v->len);
        break;
    case RDB_VALUE_STREAM_META:
        enc_put_len(b, v->u.stream.length);
        enc_put_len(b, v->u.stream.last_id.ms);
        enc_put_len(b, v->u.stream.last_id.seq);
        if (sv >= 2) {
            enc_put_len(b, v->u.stream.first_id.ms);
            enc_put_len(b, v->u.stream.first_id.seq);
            enc_put_len(b, v->u.stream.max_deleted.ms);
            enc_put_len(b, v->u.stream.max_deleted.seq);
            enc_put_len(b, v->u.stream.entries_added);
        }
        enc_put_len(b, v->u.stream.groups);
        break;
    case RDB_VALUE_STREAM_GROUP:
        enc_put_string(b, v->data, v->len);
        enc_put_len(b, v->u.group.last_id.ms);
        enc_put_len(b, v->u.group.last_id.seq);
        if (sv >= 2) {
            /* A group read from a type-15 stream has no count; Redis then uses its own estimate. */
            enc_put_len(b, v->u.group.entries_read >= 0 ? (uint64_t)v->u.group.entries_read
                                                        : UINT64_MAX - 1);
        }
        enc_put_len(b, v->u.group.pel_size);
        break;
    case RDB_VALUE_STREAM_PEL:
        put_u64be(b, v->id.ms);
        put_u64be(b, v->id.seq);
        put_u64le(b, (uint64_t)v->u.pel.delivery_time);
        enc_put_len(b, v->u.pel.delivery_count);
        break;
    case RDB_VALUE_STREAM_CONSUMERS: enc_put_len(b, v->count); break;
    case RDB_VALUE_STREAM_CONSUMER:
        enc_put_string(b, v->data, v->len);
        put_u64le(b, (uint64_t)v->u.consumer.seen_time);
        if (sv >= 3) put_u64le(b, (uint64_t)v->u.consumer.active_time);
        enc_put_len(b, v->u.consumer.pel_size);
        break;
    case RDB_VALUE_STREAM_CONSUMER_PEL:
        put_u64be(b, v->id.ms);
        put_u64be(b, v->id.seq);
        break;
    case RDB_VALUE_STREAM_IDMP: e->stats->stream_idmp_dropped++; break;
    default: break; /* entries: the listpacks carry them */
    }
    return check(e, err);
}

int enc_value(struct key_encoder *e, const struct rdb_value *v, struct rk_err *err)
{
    if (e->mode == ENC_BUFFER) return buffer_value(e, v, err);
    if (e->mode == ENC_STREAM) return stream_value(e, v, err);
    return 0;
}

int enc_key_end(struct key_encoder *e, const struct rdb_key_info *k, bool *empty,
                struct rk_err *err)
{
    *empty = false;
    uint64_t elements = k->elements;
    switch (e->mode) {
    case ENC_SKIP: return 0;
    case ENC_STREAM: node_finish(e); break;
    case ENC_BUFFER: {
        if (e->too_big) return 0;
        /* Built aside: the key's header, with the type byte the build
         * chooses, must go out first. */
        struct rk_buf *out = e->owner.out;
        struct rk_buf built = {0};
        e->owner.out = &built;
        int rc = 0;
        switch (e->kind) {
        case RDB_KIND_LIST: build_list(e); break;
        case RDB_KIND_SET:
            if (build_set(e, err)) {
                char what[RK_ERR_MAX];
                memcpy(what, err->msg, sizeof(what));
                rc = key_error(k, err, what);
            }
            break;
        case RDB_KIND_ZSET: build_zset(e); break;
        case RDB_KIND_HASH: {
            uint64_t kept;
            build_hash(e, &kept);
            e->stats->fields_expired += elements - kept;
            elements = kept;
            break;
        }
        default: rc = key_error(k, err, "cannot be rewritten for this RDB version"); break;
        }
        e->owner.out = out;
        if (rc == 0 && elements && (rc = begin(e, err)) == 0) {
            rk_buf_append(out, built.data, built.len);
            rc = check(e, err);
        }
        rk_buf_free(&built);
        if (rc) return -1;
        break;
    }
    default: break;
    }
    if (elements == 0 && e->kind != RDB_KIND_STREAM && e->kind != RDB_KIND_MODULE &&
        e->kind != RDB_KIND_STRING) {
        *empty = true;
        e->stats->keys_empty++;
        if (e->begun) e->owner.drop(e->owner.ctx);
        return 0;
    }
    if (e->mode != ENC_PASS) e->stats->keys_rewritten++;
    return 0;
}
