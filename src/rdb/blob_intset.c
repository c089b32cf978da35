/* Intset decoding (RDB type 11).
 *
 *   <encoding u32 LE: 2, 4 or 8> <length u32 LE> <length x intN LE, strictly ascending>
 *
 * Checked as Redis's intsetValidateIntegrity does, including the order (which
 * also rules out duplicates) and that an intset is never empty. */
#include "rdb/blob.h"

enum { IS_ENTRY = BLOB_STATE_FIRST };

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int rdb_blob_intset_step(struct rdb_blob *b, rdb_blob_entry_fn fn, void *ctx, struct rk_err *err)
{
    if (b->state == BLOB_STATE_HEADER) {
        const unsigned char *p = rdb_window_peek(&b->w, 8);
        if (!p) {
            if (b->size < 8) return rdb_blob_error(b, err, "too short for an intset");
            return BLOB_STEP_MORE;
        }
        uint32_t width = le32(p), count = le32(p + 4);
        if (width != 2 && width != 4 && width != 8)
            return rdb_blob_error(b, err, "invalid integer width %u", width);
        if (count == 0) return rdb_blob_error(b, err, "empty intset");
        if ((uint64_t)count * width + 8 != b->size)
            return rdb_blob_error(b, err, "%u entries of %u bytes do not fill %llu bytes", count,
                                  width, (unsigned long long)b->size);
        b->is_width = width;
        b->header_count = count;
        rdb_window_skip(&b->w, 8);
        b->state = IS_ENTRY;
        return BLOB_STEP_OK;
    }
    if (b->index == b->header_count) {
        b->state = BLOB_STATE_DONE;
        return BLOB_STEP_OK;
    }
    const unsigned char *p = rdb_window_peek(&b->w, b->is_width);
    if (!p) return BLOB_STEP_MORE;
    int64_t v;
    if (b->is_width == 2) v = (int16_t)(uint16_t)(p[0] | p[1] << 8);
    else if (b->is_width == 4) v = (int32_t)le32(p);
    else v = (int64_t)((uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32);
    if (b->index > 0 && v <= b->is_prev)
        return rdb_blob_error(b, err, "entry %u (%lld) is not greater than the one before (%lld)",
                              b->index, (long long)v, (long long)b->is_prev);
    b->is_prev = v;
    rdb_window_skip(&b->w, b->is_width);
    return rdb_blob_emit_int(b, v, fn, ctx, err) ? BLOB_STEP_ERR : BLOB_STEP_OK;
}
