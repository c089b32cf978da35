/* The reader's value states: strings, lists, sets, sorted sets, hashes
 * (with field expiry), quicklists, packed blobs and module values. Streams
 * are in reader_stream.c. */
#include "rdb/reader_internal.h"

#include <math.h>
#include <string.h>

/* Longest text score accepted from a ziplist or listpack ("%.17g" needs 24). */
#define SCORE_TEXT_MAX 128

int rd_emit_piece(struct rdb_reader *r, enum rdb_value_kind kind, const unsigned char *data,
                  size_t len, uint64_t offset, uint64_t total, bool is_int, long long ival)
{
    if (!(r->want & RDB_WANT_VALUES)) return RD_OK;
    rd_value_reset(r, kind);
    if (is_int) {
        r->v.is_int = true;
        r->v.ival = ival;
        if (!data) {
            len = rdb_ll_to_str(ival, r->numtext);
            data = (const unsigned char *)r->numtext;
            offset = 0;
            total = len;
        }
    }
    r->v.data = data;
    r->v.len = len;
    r->v.offset = offset;
    r->v.total = total;
    return rd_emit_value(r);
}

static int emit_entry(struct rdb_reader *r, enum rdb_value_kind kind, const struct rdb_blob_entry *e)
{
    if (e->is_int) return rd_emit_piece(r, kind, NULL, 0, 0, 0, true, e->ival);
    return rd_emit_piece(r, kind, e->data, e->len, e->offset, e->total, false, 0);
}

static int emit_score(struct rdb_reader *r, double score)
{
    if (isnan(score)) return rd_error(r, "a sorted set score is NaN");
    if (!(r->want & RDB_WANT_VALUES)) return RD_OK;
    rd_value_reset(r, RDB_VALUE_ZSET_SCORE);
    r->v.score = score;
    return rd_emit_value(r);
}

static int emit_field_expire(struct rdb_reader *r, int64_t when)
{
    if (!(r->want & RDB_WANT_VALUES)) return RD_OK;
    rd_value_reset(r, RDB_VALUE_HASH_FIELD_EXPIRE);
    r->v.num = when;
    return rd_emit_value(r);
}

/* A ziplist or listpack score: an integer entry, or text gathered whole. */
static int score_entry(struct rdb_reader *r, const struct rdb_blob_entry *e)
{
    if (e->is_int) {
        r->elements++;
        return emit_score(r, (double)e->ival);
    }
    /* Redis does not check text scores when it loads a listpack either; parse
     * them only for someone who wants them. */
    if (!(r->want & RDB_WANT_VALUES)) {
        if (e->offset + e->len == e->total) r->elements++;
        return RD_OK;
    }
    if (e->offset == 0) rk_buf_reset(&r->score_text);
    if (r->score_text.len + e->len > SCORE_TEXT_MAX)
        return rd_error(r, "entry %u of the %s: a score of %llu bytes is not a number", e->index,
                        rdb_blob_kind_name(r->str.blob_kind), (unsigned long long)e->total);
    rk_buf_append(&r->score_text, e->data, e->len);
    if (e->offset + e->len < e->total) return RD_OK;
    double score;
    if (!rdb_str_to_double(r->score_text.data, r->score_text.len, &score)) {
        char shown[80];
        rdb_quote(r->score_text.data, r->score_text.len, 32, shown, sizeof(shown));
        return rd_error(r, "entry %u of the %s: score \"%s\" is not a number", e->index,
                        rdb_blob_kind_name(r->str.blob_kind), shown);
    }
    r->elements++;
    return emit_score(r, score);
}

int rd_route_entry(void *ctx, const struct rdb_blob_entry *e, struct rk_err *err)
{
    struct rdb_reader *r = ctx;
    (void)err; /* the same as r->err */
    bool complete = e->is_int || e->offset + e->len == e->total;
    int rc = RD_OK;
    switch (r->route) {
    case ROUTE_ITEMS:
        rc = emit_entry(r, r->route_kind, e);
        if (complete) r->elements++;
        break;
    case ROUTE_PAIRS:
        rc = emit_entry(r, (e->index & 1) ? RDB_VALUE_HASH_VALUE : RDB_VALUE_HASH_FIELD, e);
        if (complete && (e->index & 1)) r->elements++;
        break;
    case ROUTE_ZSET:
        rc = (e->index & 1) ? score_entry(r, e) : emit_entry(r, RDB_VALUE_ZSET_MEMBER, e);
        break;
    case ROUTE_TRIPLES:
        switch (e->index % 3) {
        case 0: rc = emit_entry(r, RDB_VALUE_HASH_FIELD, e); break;
        case 1: rc = emit_entry(r, RDB_VALUE_HASH_VALUE, e); break;
        default:
            if (!e->is_int)
                rc = rd_error(r, "entry %u of the listpack: a field expiry must be an integer",
                              e->index);
            else if (e->ival < 0)
                rc = rd_error(r, "entry %u of the listpack: negative field expiry %lld", e->index,
                              e->ival);
            else if (e->ival != 0)
                rc = emit_field_expire(r, e->ival);
            r->elements++;
            break;
        }
        break;
    case ROUTE_STREAM:
        rc = rd_stream_route(r, e);
        break;
    }
    if (rc == RD_OK) return 0;
    r->route_failed = true;
    return -1;
}

static void blob_value(struct rdb_reader *r, enum rdb_blob_kind kind, enum rd_route route,
                       enum rdb_value_kind item_kind)
{
    rd_string_blob(r, kind, route, item_kind, RS_BLOB_VALUE);
}

int rd_value_begin(struct rdb_reader *r)
{
    switch (r->enc) {
    case RDB_ENC_STRING:
        r->elements = 1;
        rd_string_pieces(r, RDB_VALUE_STRING, RS_KEY_END);
        break;
    case RDB_ENC_LIST: case RDB_ENC_SET: case RDB_ENC_ZSET: case RDB_ENC_ZSET_2:
    case RDB_ENC_HASH: case RDB_ENC_HASH_METADATA_PRE_GA: case RDB_ENC_VALKEY_HASH_2:
        r->state = RS_COLL_LEN;
        break;
    case RDB_ENC_HASH_METADATA: r->state = RS_HFE_MIN; break;
    case RDB_ENC_HASH_ZIPMAP: blob_value(r, RDB_BLOB_ZIPMAP, ROUTE_PAIRS, 0); break;
    case RDB_ENC_LIST_ZIPLIST:
        blob_value(r, RDB_BLOB_ZIPLIST, ROUTE_ITEMS, RDB_VALUE_LIST_ITEM);
        break;
    case RDB_ENC_SET_INTSET:
        blob_value(r, RDB_BLOB_INTSET, ROUTE_ITEMS, RDB_VALUE_SET_MEMBER);
        break;
    case RDB_ENC_ZSET_ZIPLIST: blob_value(r, RDB_BLOB_ZIPLIST, ROUTE_ZSET, 0); break;
    case RDB_ENC_HASH_ZIPLIST: blob_value(r, RDB_BLOB_ZIPLIST, ROUTE_PAIRS, 0); break;
    case RDB_ENC_HASH_LISTPACK: blob_value(r, RDB_BLOB_LISTPACK, ROUTE_PAIRS, 0); break;
    case RDB_ENC_ZSET_LISTPACK: blob_value(r, RDB_BLOB_LISTPACK, ROUTE_ZSET, 0); break;
    case RDB_ENC_SET_LISTPACK:
        blob_value(r, RDB_BLOB_LISTPACK, ROUTE_ITEMS, RDB_VALUE_SET_MEMBER);
        break;
    case RDB_ENC_HASH_LISTPACK_EX: r->state = RS_LPEX_MIN; break;
    case RDB_ENC_HASH_LISTPACK_EX_PRE_GA:
        blob_value(r, RDB_BLOB_LISTPACK, ROUTE_TRIPLES, 0);
        break;
    case RDB_ENC_LIST_QUICKLIST: case RDB_ENC_LIST_QUICKLIST_2: r->state = RS_QUICKLIST_LEN; break;
    case RDB_ENC_MODULE_2: r->state = RS_MODULE_ID; break;
    case RDB_ENC_STREAM_LISTPACKS: case RDB_ENC_STREAM_LISTPACKS_2:
    case RDB_ENC_STREAM_LISTPACKS_3: case RDB_ENC_STREAM_LISTPACKS_4:
        r->state = RS_STREAM_NODES;
        break;
    default:
        return rd_error(r, "encoding %s cannot be read", rdb_encoding_name(r->enc));
    }
    return RD_OK;
}

/* The length of a plain string whose header starts at p, if it is a raw
 * string (no integer or LZF encoding) with its header and contents all
 * within avail bytes; else false. */
static inline bool whole_raw_string(const unsigned char *p, size_t avail, size_t *head,
                                    size_t *len)
{
    if (avail == 0) return false;
    unsigned char b = p[0];
    switch (b >> 6) {
    case 0:
        *head = 1;
        *len = b & 0x3F;
        break;
    case 1:
        if (avail < 2) return false;
        *head = 2;
        *len = (size_t)(b & 0x3F) << 8 | p[1];
        break;
    default:
        if (b != 0x80 || avail < 5) return false;
        *head = 5;
        *len = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
        break;
    }
    return *len <= avail - *head;
}

/* Plain collections hold millions of small elements: while whole elements
 * sit in the chunk, read them in this loop rather than one state at a time.
 * Anything unusual (an encoded string, an element cut by the chunk's end)
 * goes to the state machine, which reads it and comes back here. */
static void collection_fast(struct rdb_reader *r)
{
    if (r->w.carry_len) return;
    bool pairs = r->enc == RDB_ENC_HASH;
    bool scored = r->enc == RDB_ENC_ZSET_2;
    if (!pairs && !scored && r->enc != RDB_ENC_LIST && r->enc != RDB_ENC_SET) return;
    enum rdb_value_kind kind = r->enc == RDB_ENC_LIST  ? RDB_VALUE_LIST_ITEM
                               : r->enc == RDB_ENC_SET ? RDB_VALUE_SET_MEMBER
                               : pairs                 ? RDB_VALUE_HASH_FIELD
                                                       : RDB_VALUE_ZSET_MEMBER;
    bool emit = r->want & RDB_WANT_VALUES;
    while (r->left) {
        const unsigned char *p = r->w.p;
        size_t avail = (size_t)(r->w.end - p);
        size_t h1, l1, h2 = 0, l2 = 0, used;
        if (!whole_raw_string(p, avail, &h1, &l1)) return;
        used = h1 + l1;
        if (pairs) {
            if (!whole_raw_string(p + used, avail - used, &h2, &l2)) return;
            used += h2 + l2;
        } else if (scored) {
            if (avail - used < 8) return;
            used += 8;
        }
        if (emit) {
            if (rd_emit_piece(r, kind, p + h1, l1, 0, l1, false, 0) != RD_OK) return;
            if (pairs &&
                rd_emit_piece(r, RDB_VALUE_HASH_VALUE, p + h1 + l1 + h2, l2, 0, l2, false, 0) !=
                    RD_OK)
                return;
        }
        if (scored) {
            uint64_t bits = rd_le64(p + h1 + l1);
            double score;
            memcpy(&score, &bits, sizeof(score));
            if (isnan(score)) return; /* the state machine reports it */
            if (emit) {
                rd_value_reset(r, RDB_VALUE_ZSET_SCORE);
                r->v.score = score;
                if (rd_emit_value(r) != RD_OK) return;
            }
        }
        rdb_window_skip(&r->w, used);
        r->elements++;
        r->left--;
    }
}

/* Begins the next element of a plain (length-prefixed) collection. */
static int collection_element(struct rdb_reader *r)
{
    collection_fast(r);
    if (r->handler_failed) return RD_ERR;
    if (r->left == 0) {
        r->state = RS_KEY_END;
        return RD_OK;
    }
    switch (r->enc) {
    case RDB_ENC_LIST: rd_string_pieces(r, RDB_VALUE_LIST_ITEM, RS_COLL_NEXT); break;
    case RDB_ENC_SET: rd_string_pieces(r, RDB_VALUE_SET_MEMBER, RS_COLL_NEXT); break;
    case RDB_ENC_ZSET: case RDB_ENC_ZSET_2:
        rd_string_pieces(r, RDB_VALUE_ZSET_MEMBER, RS_ZSET_SCORE);
        break;
    case RDB_ENC_HASH:
        r->after_value = RS_COLL_NEXT;
        rd_string_pieces(r, RDB_VALUE_HASH_FIELD, RS_HASH_VALUE);
        break;
    case RDB_ENC_HASH_METADATA: case RDB_ENC_HASH_METADATA_PRE_GA: r->state = RS_HFE_TTL; break;
    default: /* RDB_ENC_VALKEY_HASH_2 */
        r->after_value = RS_VALKEY_EXPIRY;
        rd_string_pieces(r, RDB_VALUE_HASH_FIELD, RS_HASH_VALUE);
        break;
    }
    return RD_OK;
}

static int zset_score(struct rdb_reader *r)
{
    const unsigned char *p;
    double score;
    if (r->enc == RDB_ENC_ZSET_2) {
        if (!(p = rdb_window_peek(&r->w, 8))) return RD_MORE;
        uint64_t bits = rd_le64(p);
        memcpy(&score, &bits, sizeof(score));
        rdb_window_skip(&r->w, 8);
    } else {
        if (!(p = rdb_window_peek(&r->w, 1))) return RD_MORE;
        unsigned n = p[0];
        if (n == 253) return rd_error(r, "a sorted set score is NaN");
        if (n == 254 || n == 255) {
            score = n == 254 ? INFINITY : -INFINITY;
            rdb_window_skip(&r->w, 1);
        } else {
            if (!(p = rdb_window_peek(&r->w, 1 + n))) return RD_MORE;
            if (!rdb_str_to_double(p + 1, n, &score)) {
                char shown[80];
                rdb_quote(p + 1, n, 32, shown, sizeof(shown));
                return rd_error(r, "score \"%s\" is not a number", shown);
            }
            rdb_window_skip(&r->w, 1 + n);
        }
    }
    r->state = RS_COLL_NEXT;
    return emit_score(r, score);
}

/* After a blob value: check that pairs and triples are complete. */
static int blob_value_done(struct rdb_reader *r)
{
    uint32_t n = r->blob.index;
    const char *what = rdb_blob_kind_name(r->str.blob_kind);
    if ((r->route == ROUTE_PAIRS || r->route == ROUTE_ZSET) && (n & 1))
        return rd_error(r, "the %s holds an odd number of entries (%u): one has no %s", what, n,
                        r->route == ROUTE_ZSET ? "score" : "value");
    if (r->route == ROUTE_TRIPLES && n % 3)
        return rd_error(r, "the %s holds %u entries, not field-value-expiry triples", what, n);
    r->state = RS_KEY_END;
    return RD_OK;
}

static int quicklist_node(struct rdb_reader *r)
{
    if (r->left == 0) {
        r->state = RS_KEY_END;
        return RD_OK;
    }
    bool plain = false;
    if (r->enc == RDB_ENC_LIST_QUICKLIST_2) {
        uint64_t container;
        int rc = rd_read_len(r, &container);
        if (rc != RD_OK) return rc;
        if (container != 1 && container != 2)
            return rd_error(r, "quicklist node container %llu is neither 1 (plain) nor 2 (packed)",
                            (unsigned long long)container);
        plain = container == 1;
    }
    if (r->want & RDB_WANT_VALUES) {
        rd_value_reset(r, RDB_VALUE_LIST_NODE);
        r->v.node_plain = plain;
        if (rd_emit_value(r) != RD_OK) return RD_ERR;
    }
    if (plain) rd_string_pieces(r, RDB_VALUE_LIST_ITEM, RS_QUICKLIST_PLAIN_DONE);
    else if (r->enc == RDB_ENC_LIST_QUICKLIST)
        rd_string_blob(r, RDB_BLOB_ZIPLIST, ROUTE_ITEMS, RDB_VALUE_LIST_ITEM, RS_QUICKLIST_NEXT);
    else
        rd_string_blob(r, RDB_BLOB_LISTPACK, ROUTE_ITEMS, RDB_VALUE_LIST_ITEM, RS_QUICKLIST_NEXT);
    return RD_OK;
}

int rd_module_op_step(struct rdb_reader *r)
{
    uint64_t v;
    int rc;
    if (r->state == RS_MOD_UINT) {
        if ((rc = rd_read_len(r, &v)) != RD_OK) return rc;
        r->state = RS_MOD_OP;
        return RD_OK;
    }
    if ((rc = rd_read_len(r, &v)) != RD_OK) return rc;
    switch (v) {
    case 0: r->state = r->mod_next; break;
    case 1: case 2: r->state = RS_MOD_UINT; break;
    case 3: case 4:
        r->skip_n = v == 3 ? 4 : 8;
        r->skip_next = RS_MOD_OP;
        r->state = RS_SKIP_BYTES;
        break;
    case 5: rd_string_begin(r, DEST_SKIP, RS_MOD_OP); break;
    default:
        return rd_error(r, "unknown module data opcode %llu", (unsigned long long)v);
    }
    return RD_OK;
}

int rd_value_step(struct rdb_reader *r)
{
    const unsigned char *p;
    uint64_t n;
    int rc;
    switch (r->state) {
    case RS_COLL_LEN:
        if ((rc = rd_read_len(r, &n)) != RD_OK) return rc;
        r->left = n;
        r->state = RS_COLL_ELEM;
        return RD_OK;
    case RS_COLL_ELEM: return collection_element(r);
    case RS_COLL_NEXT:
        r->elements++;
        r->left--;
        r->state = RS_COLL_ELEM;
        return RD_OK;
    case RS_HASH_VALUE: rd_string_pieces(r, RDB_VALUE_HASH_VALUE, r->after_value); return RD_OK;
    case RS_ZSET_SCORE: return zset_score(r);
    case RS_HFE_MIN:
        if (!(p = rdb_window_peek(&r->w, 8))) return RD_MORE;
        r->min_expire = rd_le64(p);
        rdb_window_skip(&r->w, 8);
        r->state = RS_COLL_LEN;
        return RD_OK;
    case RS_HFE_TTL:
        if ((rc = rd_read_len(r, &n)) != RD_OK) return rc;
        if (n == 0) r->ttl = -1;
        else if (r->enc == RDB_ENC_HASH_METADATA_PRE_GA) r->ttl = (int64_t)n;
        else r->ttl = (int64_t)(n + r->min_expire - 1); /* stored relative to the minimum, +1 */
        r->after_value = RS_HFE_EMIT;
        rd_string_pieces(r, RDB_VALUE_HASH_FIELD, RS_HASH_VALUE);
        return RD_OK;
    case RS_HFE_EMIT:
        r->state = RS_COLL_NEXT;
        return r->ttl >= 0 ? emit_field_expire(r, r->ttl) : RD_OK;
    case RS_VALKEY_EXPIRY: {
        if (!(p = rdb_window_peek(&r->w, 8))) return RD_MORE;
        int64_t when = (int64_t)rd_le64(p);
        rdb_window_skip(&r->w, 8);
        r->state = RS_COLL_NEXT;
        if (when == -1) return RD_OK;
        if (when < 0) return rd_error(r, "negative field expiry %lld", (long long)when);
        return emit_field_expire(r, when);
    }
    case RS_LPEX_MIN:
        if (!(p = rdb_window_peek(&r->w, 8))) return RD_MORE;
        rdb_window_skip(&r->w, 8);
        blob_value(r, RDB_BLOB_LISTPACK, ROUTE_TRIPLES, 0);
        return RD_OK;
    case RS_BLOB_VALUE: return blob_value_done(r);
    case RS_QUICKLIST_LEN:
        if ((rc = rd_read_len(r, &n)) != RD_OK) return rc;
        r->left = n;
        r->state = RS_QUICKLIST_NODE;
        return RD_OK;
    case RS_QUICKLIST_NODE: return quicklist_node(r);
    case RS_QUICKLIST_PLAIN_DONE:
        r->elements++;
        r->state = RS_QUICKLIST_NEXT;
        return RD_OK;
    case RS_QUICKLIST_NEXT:
        r->left--;
        r->state = RS_QUICKLIST_NODE;
        return RD_OK;
    case RS_MODULE_ID:
        if ((rc = rd_read_len(r, &n)) != RD_OK) return rc;
        if (r->want & RDB_WANT_VALUES) {
            rd_value_reset(r, RDB_VALUE_MODULE_TYPE);
            rd_module_info(n, &r->v.u.module);
            if (rd_emit_value(r) != RD_OK) return RD_ERR;
        }
        rd_set_capture(r, CAPTURE_MODULE);
        r->mod_next = RS_MOD_DONE;
        r->state = RS_MOD_OP;
        return RD_OK;
    case RS_MOD_OP: case RS_MOD_UINT: return rd_module_op_step(r);
    case RS_MOD_DONE:
        rd_set_capture(r, CAPTURE_NONE);
        r->elements = 1;
        r->state = RS_KEY_END;
        return RD_OK;
    default:
        return rd_error(r, "internal error: unexpected reader state %d", (int)r->state);
    }
}
