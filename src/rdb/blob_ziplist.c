/* Ziplist decoding (RDB types 10, 12, 13 and quicklist v1 nodes).
 *
 *   <zlbytes u32 LE> <zltail u32 LE> <zllen u16 LE> entry* <0xFF>
 *   entry = <prevlen: 1 byte < 254, or 0xFE + u32 LE> <encoding> [data]
 *
 * Checked as Redis's ziplistValidateIntegrity does: zlbytes equals the blob
 * size, every prevlen equals the previous entry's length, zltail points at
 * the last entry, zllen (unless saturated) equals the count, and nothing
 * follows the end marker. */
#include "rdb/blob.h"

enum { ZL_ENTRY = BLOB_STATE_FIRST };

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int header_step(struct rdb_blob *b, struct rk_err *err)
{
    if (b->size < 11) return rdb_blob_error(b, err, "too short for a ziplist");
    const unsigned char *p = rdb_window_peek(&b->w, 10);
    if (!p) return BLOB_STEP_MORE;
    uint32_t zlbytes = le32(p), zltail = le32(p + 4);
    unsigned zllen = (unsigned)p[8] | (unsigned)p[9] << 8;
    if (zlbytes != b->size)
        return rdb_blob_error(b, err, "header says %u bytes, the string holds %llu", zlbytes,
                              (unsigned long long)b->size);
    if (zltail >= b->size)
        return rdb_blob_error(b, err, "tail offset %u is past the end", zltail);
    b->zl_tail = zltail;
    b->header_count = zllen == 0xFFFF ? UINT64_MAX : zllen;
    b->zl_prev_len = 0;
    b->zl_last_entry = 10; /* an empty ziplist's tail points at its end marker */
    rdb_window_skip(&b->w, 10);
    b->state = ZL_ENTRY;
    return BLOB_STEP_OK;
}

static int end_marker(struct rdb_blob *b, struct rk_err *err)
{
    if (rdb_blob_left(b) != 1)
        return rdb_blob_error(b, err, "end marker with %llu bytes still to come",
                              (unsigned long long)rdb_blob_left(b) - 1);
    if (b->index == 0 ? b->zl_tail != 10 : b->zl_tail != b->zl_last_entry)
        return rdb_blob_error(b, err, "tail offset %llu, but the last entry is at %llu",
                              (unsigned long long)b->zl_tail, (unsigned long long)b->zl_last_entry);
    if (b->header_count != UINT64_MAX && b->header_count != b->index)
        return rdb_blob_error(b, err, "header counts %llu entries, found %u",
                              (unsigned long long)b->header_count, b->index);
    rdb_window_skip(&b->w, 1);
    b->state = BLOB_STATE_DONE;
    return BLOB_STEP_OK;
}

int rdb_blob_ziplist_step(struct rdb_blob *b, rdb_blob_entry_fn fn, void *ctx, struct rk_err *err)
{
    if (b->state == BLOB_STATE_HEADER) return header_step(b, err);

    const unsigned char *p = rdb_window_peek(&b->w, 1);
    if (!p) return BLOB_STEP_MORE;
    if (p[0] == 0xFF) return end_marker(b, err);

    /* prevlen, then the first encoding byte. */
    size_t prevlen_size = p[0] < 254 ? 1 : 5;
    p = rdb_window_peek(&b->w, prevlen_size + 1);
    if (!p) return BLOB_STEP_MORE;
    uint64_t prevlen = prevlen_size == 1 ? p[0] : le32(p + 1);
    if (prevlen != b->zl_prev_len)
        return rdb_blob_error(b, err, "entry %u says the previous entry is %llu bytes, it is %llu",
                              b->index, (unsigned long long)prevlen,
                              (unsigned long long)b->zl_prev_len);

    unsigned char enc = p[prevlen_size];
    size_t enc_size, data_size = 0;
    bool is_str = true;
    uint64_t str_len = 0;
    switch (enc >> 6) {
    case 0:
        enc_size = 1;
        break;
    case 1:
        enc_size = 2;
        break;
    case 2:
        if (enc != 0x80) return rdb_blob_error(b, err, "invalid string encoding 0x%02x", enc);
        enc_size = 5;
        break;
    default:
        is_str = false;
        enc_size = 1;
        switch (enc) {
        case 0xC0: data_size = 2; break;
        case 0xD0: data_size = 4; break;
        case 0xE0: data_size = 8; break;
        case 0xF0: data_size = 3; break;
        case 0xFE: data_size = 1; break;
        default:
            if (enc < 0xF1 || enc > 0xFD)
                return rdb_blob_error(b, err, "invalid entry encoding 0x%02x", enc);
        }
    }
    size_t head = prevlen_size + enc_size;
    p = rdb_window_peek(&b->w, head + data_size);
    if (!p) return BLOB_STEP_MORE;
    const unsigned char *e = p + prevlen_size;
    if (is_str) {
        if (enc_size == 1) str_len = e[0] & 0x3F;
        else if (enc_size == 2) str_len = (uint64_t)(e[0] & 0x3F) << 8 | e[1];
        else str_len = (uint64_t)e[1] << 24 | (uint64_t)e[2] << 16 | (uint64_t)e[3] << 8 | e[4];
        data_size = 0;
    }
    uint64_t entry_len = head + (is_str ? str_len : data_size);
    /* The end marker must still fit after the entry. */
    if (entry_len >= rdb_blob_left(b))
        return rdb_blob_error(b, err, "entry %u of %llu bytes overruns the ziplist", b->index,
                              (unsigned long long)entry_len);
    b->zl_last_entry = b->w.pos;
    b->zl_prev_len = entry_len;
    if (is_str) {
        rdb_window_skip(&b->w, head);
        return rdb_blob_begin_string(b, str_len, ZL_ENTRY, fn, ctx, err);
    }
    const unsigned char *d = e + 1;
    long long v;
    switch (enc) {
    case 0xC0: v = (int16_t)(uint16_t)(d[0] | d[1] << 8); break;
    case 0xD0: v = (int32_t)le32(d); break;
    case 0xE0: v = (int64_t)((uint64_t)le32(d) | (uint64_t)le32(d + 4) << 32); break;
    case 0xF0: v = (int32_t)((uint32_t)d[0] << 8 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 24) >> 8; break;
    case 0xFE: v = (int8_t)d[0]; break;
    default: v = (enc & 0x0F) - 1; break;
    }
    rdb_window_skip(&b->w, head + data_size);
    return rdb_blob_emit_int(b, v, fn, ctx, err) ? BLOB_STEP_ERR : BLOB_STEP_OK;
}
