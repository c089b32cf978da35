/* Listpack decoding (RDB types 16, 17, 20, 23, 25, quicklist v2 nodes and
 * stream nodes).
 *
 *   <total_bytes u32 LE> <num_elements u16 LE> entry* <0xFF>
 *   entry = <encoding+data> <backlen>
 *
 * Checked as Redis's lpValidateIntegrity does: the total equals the blob
 * size, each entry's back-length encodes its length, the count (unless
 * saturated at 65535) matches, and nothing follows the end marker. */
#include "rdb/blob.h"

enum { LP_ENTRY = BLOB_STATE_FIRST, LP_BACKLEN };

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The back-length bytes Redis writes for an entry of len bytes (lpEncodeBacklen). */
static size_t encode_backlen(uint64_t len, unsigned char out[5])
{
    if (len <= 127) {
        out[0] = (unsigned char)len;
        return 1;
    }
    if (len < 16383) {
        out[0] = (unsigned char)(len >> 7);
        out[1] = (unsigned char)((len & 127) | 128);
        return 2;
    }
    if (len < 2097151) {
        out[0] = (unsigned char)(len >> 14);
        out[1] = (unsigned char)(((len >> 7) & 127) | 128);
        out[2] = (unsigned char)((len & 127) | 128);
        return 3;
    }
    if (len < 268435455) {
        out[0] = (unsigned char)(len >> 21);
        out[1] = (unsigned char)(((len >> 14) & 127) | 128);
        out[2] = (unsigned char)(((len >> 7) & 127) | 128);
        out[3] = (unsigned char)((len & 127) | 128);
        return 4;
    }
    out[0] = (unsigned char)(len >> 28);
    out[1] = (unsigned char)(((len >> 21) & 127) | 128);
    out[2] = (unsigned char)(((len >> 14) & 127) | 128);
    out[3] = (unsigned char)(((len >> 7) & 127) | 128);
    out[4] = (unsigned char)((len & 127) | 128);
    return 5;
}

static int header_step(struct rdb_blob *b, struct rk_err *err)
{
    if (b->size < 7) return rdb_blob_error(b, err, "too short for a listpack");
    const unsigned char *p = rdb_window_peek(&b->w, 6);
    if (!p) return BLOB_STEP_MORE;
    uint32_t total = le32(p);
    unsigned num = (unsigned)p[4] | (unsigned)p[5] << 8;
    if (total != b->size)
        return rdb_blob_error(b, err, "header says %u bytes, the string holds %llu", total,
                              (unsigned long long)b->size);
    b->header_count = num == 65535 ? UINT64_MAX : num;
    rdb_window_skip(&b->w, 6);
    b->state = LP_ENTRY;
    return BLOB_STEP_OK;
}

static int backlen_step(struct rdb_blob *b, struct rk_err *err)
{
    unsigned char want[5];
    size_t n = encode_backlen(b->lp_entry_len, want);
    const unsigned char *p = rdb_window_peek(&b->w, n);
    if (!p) return BLOB_STEP_MORE;
    bool same = true;
    for (size_t i = 0; i < n; i++) same &= p[i] == want[i];
    if (!same)
        return rdb_blob_error(b, err, "the back-length of entry %u does not match its %llu bytes",
                              b->index - 1, (unsigned long long)b->lp_entry_len);
    rdb_window_skip(&b->w, n);
    b->state = LP_ENTRY;
    return BLOB_STEP_OK;
}

/* Encoding bytes of the entry that starts with c (0 if c starts none). */
static size_t head_size(unsigned char c)
{
    if ((c & 0x80) == 0 || (c & 0xC0) == 0x80) return 1;
    if ((c & 0xE0) == 0xC0 || (c & 0xF0) == 0xE0) return 2;
    switch (c) {
    case 0xF0: return 5;
    case 0xF1: return 3;
    case 0xF2: return 4;
    case 0xF3: return 5;
    case 0xF4: return 9;
    default: return 0;
    }
}

struct entry_head {
    size_t head;   /* encoding bytes */
    uint64_t data; /* string bytes after them */
    bool is_str;
    long long ival;
};

/* Decodes an entry's encoding bytes (all head_size(p[0]) of them). */
static void decode_head(const unsigned char *p, struct entry_head *h)
{
    unsigned char c = p[0];
    h->head = head_size(c);
    h->data = 0;
    h->is_str = false;
    if ((c & 0x80) == 0) {
        h->ival = c;
    } else if ((c & 0xC0) == 0x80) {
        h->is_str = true;
        h->data = c & 0x3F;
    } else if ((c & 0xE0) == 0xC0) {
        uint64_t u = (uint64_t)(c & 0x1F) << 8 | p[1];
        h->ival = u >= 1u << 12 ? (long long)u - (1 << 13) : (long long)u;
    } else if ((c & 0xF0) == 0xE0) {
        h->is_str = true;
        h->data = (uint64_t)(c & 0x0F) << 8 | p[1];
    } else if (c == 0xF0) {
        h->is_str = true;
        h->data = le32(p + 1);
    } else if (c == 0xF1) {
        h->ival = (int16_t)(uint16_t)(p[1] | p[2] << 8);
    } else if (c == 0xF2) {
        h->ival = (int32_t)((uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24) >> 8;
    } else if (c == 0xF3) {
        h->ival = (int32_t)le32(p + 1);
    } else {
        h->ival = (int64_t)((uint64_t)le32(p + 1) | (uint64_t)le32(p + 5) << 32);
    }
}

static int end_marker(struct rdb_blob *b, struct rk_err *err)
{
    if (rdb_blob_left(b) != 1)
        return rdb_blob_error(b, err, "end marker with %llu bytes still to come",
                              (unsigned long long)rdb_blob_left(b) - 1);
    if (b->header_count != UINT64_MAX && b->header_count != b->index)
        return rdb_blob_error(b, err, "header counts %llu entries, found %u",
                              (unsigned long long)b->header_count, b->index);
    rdb_window_skip(&b->w, 1);
    b->state = BLOB_STATE_DONE;
    return BLOB_STEP_OK;
}

/* The rest of the blob is in the chunk (the usual case: a listpack comes
 * whole out of the LZF decoder or the input): walk it in one tight loop,
 * with the same checks as the step-by-step path below. */
static int bulk_step(struct rdb_blob *b, rdb_blob_entry_fn fn, void *ctx, struct rk_err *err)
{
    const unsigned char *p = b->w.p;
    const unsigned char *end = p + rdb_blob_left(b);
    struct entry_head h;
    int rc = BLOB_STEP_OK;
    while (p < end && *p != 0xFF) {
        size_t hs = head_size(*p);
        if (!hs) {
            rdb_window_skip(&b->w, (size_t)(p - b->w.p));
            return rdb_blob_error(b, err, "invalid entry encoding 0x%02x", *p);
        }
        if ((size_t)(end - p) <= hs) break; /* the slow path reports it */
        decode_head(p, &h);
        uint64_t entry_len = h.head + h.data;
        unsigned char bl[5];
        size_t bl_len = encode_backlen(entry_len, bl);
        if (entry_len + bl_len >= (uint64_t)(end - p)) break;
        const unsigned char *q = p + entry_len;
        bool same = true;
        for (size_t i = 0; i < bl_len; i++) same &= q[i] == bl[i];
        if (!same) break;
        if (fn) {
            struct rdb_blob_entry e = {.index = b->index};
            if (h.is_str) {
                e.data = p + h.head;
                e.len = (size_t)h.data;
                e.total = h.data;
            } else {
                e.is_int = true;
                e.ival = h.ival;
            }
            if (fn(ctx, &e, err)) {
                rc = BLOB_STEP_ERR;
                p = q + bl_len;
                b->index++;
                break;
            }
        }
        b->index++;
        p = q + bl_len;
    }
    rdb_window_skip(&b->w, (size_t)(p - b->w.p));
    return rc;
}

int rdb_blob_listpack_step(struct rdb_blob *b, rdb_blob_entry_fn fn, void *ctx, struct rk_err *err)
{
    if (b->state == BLOB_STATE_HEADER) return header_step(b, err);
    if (b->state == LP_BACKLEN) return backlen_step(b, err);

    if (b->w.carry_len == 0 && (uint64_t)(b->w.end - b->w.p) >= rdb_blob_left(b)) {
        uint32_t before = b->index;
        int rc = bulk_step(b, fn, ctx, err);
        if (rc != BLOB_STEP_OK || b->index != before) return rc;
        /* No progress: let the careful path below find and name the problem. */
    }

    const unsigned char *p = rdb_window_peek(&b->w, 1);
    if (!p) return BLOB_STEP_MORE;
    unsigned char c = p[0];
    if (c == 0xFF) return end_marker(b, err);
    size_t hs = head_size(c);
    if (!hs) return rdb_blob_error(b, err, "invalid entry encoding 0x%02x", c);
    p = rdb_window_peek(&b->w, hs);
    if (!p) return BLOB_STEP_MORE;
    struct entry_head h;
    decode_head(p, &h);

    uint64_t entry_len = h.head + h.data;
    unsigned char bl[5];
    uint64_t with_backlen = entry_len + encode_backlen(entry_len, bl);
    if (with_backlen >= rdb_blob_left(b))
        return rdb_blob_error(b, err, "entry %u of %llu bytes overruns the listpack", b->index,
                              (unsigned long long)with_backlen);
    b->lp_entry_len = entry_len;
    rdb_window_skip(&b->w, h.head);
    if (h.is_str) return rdb_blob_begin_string(b, h.data, LP_BACKLEN, fn, ctx, err);
    b->state = LP_BACKLEN;
    return rdb_blob_emit_int(b, h.ival, fn, ctx, err) ? BLOB_STEP_ERR : BLOB_STEP_OK;
}
