/* Zipmap decoding (RDB type 9, hashes written by Redis 2.4 and early 2.6-dev).
 *
 *   <zmlen u8: count if < 254> { <len> key <len> <free u8> value <free bytes> }* 0xFF
 *   len = 1 byte if < 254; 254 + u32 LE; 255 is the end marker
 */
#include "rdb/blob.h"

enum { ZM_KEY_LEN = BLOB_STATE_FIRST, ZM_VALUE_LEN, ZM_FREE };

static int read_len(struct rdb_blob *b, size_t extra, uint64_t *len, size_t *used,
                    struct rk_err *err)
{
    const unsigned char *p = rdb_window_peek(&b->w, 1);
    if (!p) return BLOB_STEP_MORE;
    size_t n = p[0] < 254 ? 1 : 5;
    p = rdb_window_peek(&b->w, n + extra);
    if (!p) return BLOB_STEP_MORE;
    *len = n == 1 ? p[0]
                  : ((uint64_t)p[1] | (uint64_t)p[2] << 8 | (uint64_t)p[3] << 16 |
                     (uint64_t)p[4] << 24);
    *used = n;
    if (n + extra + *len >= rdb_blob_left(b))
        return rdb_blob_error(b, err, "entry %u of %llu bytes overruns the zipmap", b->index,
                              (unsigned long long)*len);
    return BLOB_STEP_OK;
}

int rdb_blob_zipmap_step(struct rdb_blob *b, rdb_blob_entry_fn fn, void *ctx, struct rk_err *err)
{
    const unsigned char *p;
    uint64_t len;
    size_t used;
    int rc;

    switch (b->state) {
    case BLOB_STATE_HEADER:
        if (b->size < 2) return rdb_blob_error(b, err, "too short for a zipmap");
        p = rdb_window_peek(&b->w, 1);
        if (!p) return BLOB_STEP_MORE;
        b->header_count = p[0] < 254 ? (uint64_t)p[0] * 2 : UINT64_MAX;
        rdb_window_skip(&b->w, 1);
        b->state = ZM_KEY_LEN;
        return BLOB_STEP_OK;

    case ZM_KEY_LEN:
        p = rdb_window_peek(&b->w, 1);
        if (!p) return BLOB_STEP_MORE;
        if (p[0] == 0xFF) {
            if (rdb_blob_left(b) != 1)
                return rdb_blob_error(b, err, "end marker with %llu bytes still to come",
                                      (unsigned long long)rdb_blob_left(b) - 1);
            /* Redis trusts a zmlen below 254 no more than we do: count it. */
            if (b->header_count != UINT64_MAX && b->header_count != b->index)
                return rdb_blob_error(b, err, "header counts %llu pairs, found %u",
                                      (unsigned long long)b->header_count / 2, b->index / 2);
            rdb_window_skip(&b->w, 1);
            b->state = BLOB_STATE_DONE;
            return BLOB_STEP_OK;
        }
        rc = read_len(b, 0, &len, &used, err);
        if (rc != BLOB_STEP_OK) return rc;
        rdb_window_skip(&b->w, used);
        return rdb_blob_begin_string(b, len, ZM_VALUE_LEN, fn, ctx, err);

    case ZM_VALUE_LEN:
        p = rdb_window_peek(&b->w, 1);
        if (!p) return BLOB_STEP_MORE;
        if (p[0] == 0xFF) return rdb_blob_error(b, err, "key %u has no value", b->index / 2);
        rc = read_len(b, 1, &len, &used, err);
        if (rc != BLOB_STEP_OK) return rc;
        p = rdb_window_peek(&b->w, used + 1);
        b->zm_free = p[used];
        if (used + 1 + len + b->zm_free >= rdb_blob_left(b))
            return rdb_blob_error(b, err, "value %u with %u free bytes overruns the zipmap",
                                  b->index / 2, b->zm_free);
        rdb_window_skip(&b->w, used + 1);
        return rdb_blob_begin_string(b, len, ZM_FREE, fn, ctx, err);

    default: /* ZM_FREE: unused bytes Redis left after a shrunk value */
        while (b->zm_free) {
            size_t n;
            rdb_window_take(&b->w, b->zm_free, &n);
            if (n == 0) return BLOB_STEP_MORE;
            b->zm_free -= (unsigned)n;
        }
        b->state = ZM_KEY_LEN;
        return BLOB_STEP_OK;
    }
}
