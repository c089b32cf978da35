/* listpack_enc.c: builds listpacks byte for byte as Redis 7.x lays them out.
 *
 * Each entry is self-contained, so a listpack's bytes depend only on its
 * entries in order, however Redis got there (appends, inserts, deletes); the
 * one exception is the count, which Redis leaves at "unknown" once it has
 * reached 65535 even if entries are deleted later.
 *
 *   <total_bytes u32 LE> <num_elements u16 LE> entry... 0xFF
 *   entry = <encoding + data> <backlen: size of encoding + data, 1..5 bytes>
 */
#include <string.h>

#include "rdb/codec.h"
#include "rdb/codec_bytes.h"

#define LP_HEADER_SIZE   6
#define LP_END           0xFF
#define LP_COUNT_UNKNOWN 65535

#define LP_STR6  0x80
#define LP_INT13 0xC0
#define LP_STR12 0xE0
#define LP_STR32 0xF0
#define LP_INT16 0xF1
#define LP_INT24 0xF2
#define LP_INT32 0xF3
#define LP_INT64 0xF4

void rdb_listpack_init(struct rdb_listpack_builder *l)
{
    memset(l, 0, sizeof(*l));
    rdb_listpack_reset(l);
}

void rdb_listpack_reset(struct rdb_listpack_builder *l)
{
    rk_buf_reset(&l->buf);
    rk_buf_reserve(&l->buf, LP_HEADER_SIZE);
    memset(l->buf.data, 0, LP_HEADER_SIZE);
    l->buf.len = LP_HEADER_SIZE;
    l->count = 0;
}

void rdb_listpack_free(struct rdb_listpack_builder *l)
{
    rk_buf_free(&l->buf);
    l->count = 0;
}

/* backlen stores the entry size in 7-bit groups, most significant first;
 * every byte but the first has bit 7 set so it can be read right to left.
 * The size thresholds are Redis's (lpEncodeBacklen), strict '<' included:
 * a 16383-byte entry takes three bytes although two would hold it. */
static size_t encode_backlen(unsigned char *out, uint64_t l)
{
    size_t n;
    if (l <= 127)
        n = 1;
    else if (l < 16383)
        n = 2;
    else if (l < 2097151)
        n = 3;
    else if (l < 268435455)
        n = 4;
    else
        n = 5;
    for (size_t i = 0; i < n; i++) {
        unsigned char group = (unsigned char)((l >> (7 * (n - 1 - i))) & 127);
        out[i] = i == 0 ? group : (unsigned char)(group | 128);
    }
    return n;
}

static void append_entry(struct rdb_listpack_builder *l, const unsigned char *head, size_t head_len,
                         const unsigned char *data, size_t data_len)
{
    unsigned char back[5];
    size_t back_len = encode_backlen(back, head_len + data_len);
    size_t entry_len = head_len + data_len + back_len;
    /* total_bytes is 32-bit; Redis keeps listpacks under 1 GiB and callers
     * split long before this. */
    if (entry_len > UINT32_MAX - 1 - l->buf.len)
        rk_panic("listpack would exceed 4 GiB (%zu + %zu bytes)", l->buf.len, entry_len);
    rk_buf_reserve(&l->buf, entry_len);
    rk_buf_append(&l->buf, head, head_len);
    rk_buf_append(&l->buf, data, data_len);
    rk_buf_append(&l->buf, back, back_len);
    l->count++;
}

void rdb_listpack_add_int(struct rdb_listpack_builder *l, long long v)
{
    unsigned char head[9];
    size_t head_len;
    if (v >= 0 && v <= 127) {
        head[0] = (unsigned char)v;
        head_len = 1;
    } else if (v >= -4096 && v <= 4095) {
        uint32_t u = (uint32_t)v & 0x1FFF; /* two's complement in 13 bits */
        head[0] = (unsigned char)(LP_INT13 | (u >> 8));
        head[1] = (unsigned char)u;
        head_len = 2;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
        head[0] = LP_INT16;
        codec_put_le16(head + 1, (uint16_t)v);
        head_len = 3;
    } else if (v >= -(1LL << 23) && v < (1LL << 23)) {
        uint32_t u = (uint32_t)v;
        head[0] = LP_INT24;
        head[1] = (unsigned char)u;
        head[2] = (unsigned char)(u >> 8);
        head[3] = (unsigned char)(u >> 16);
        head_len = 4;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        head[0] = LP_INT32;
        codec_put_le32(head + 1, (uint32_t)v);
        head_len = 5;
    } else {
        head[0] = LP_INT64;
        codec_put_le64(head + 1, (uint64_t)v);
        head_len = 9;
    }
    append_entry(l, head, head_len, NULL, 0);
}

void rdb_listpack_add(struct rdb_listpack_builder *l, const unsigned char *s, size_t len)
{
    long long v;
    /* lpStringToInt64 has exactly string2ll's rules. */
    if (rdb_str_to_ll(s, len, &v)) {
        rdb_listpack_add_int(l, v);
        return;
    }
    unsigned char head[5];
    size_t head_len;
    if (len < 64) {
        head[0] = (unsigned char)(LP_STR6 | len);
        head_len = 1;
    } else if (len < 4096) {
        head[0] = (unsigned char)(LP_STR12 | (len >> 8));
        head[1] = (unsigned char)len;
        head_len = 2;
    } else {
        if (len > UINT32_MAX) rk_panic("listpack entry of %zu bytes", len);
        head[0] = LP_STR32;
        codec_put_le32(head + 1, (uint32_t)len);
        head_len = 5;
    }
    append_entry(l, head, head_len, s, len);
}

void rdb_listpack_finish(struct rdb_listpack_builder *l)
{
    rk_buf_append_byte(&l->buf, LP_END);
    codec_put_le32(l->buf.data, (uint32_t)l->buf.len);
    /* Past 65534 Redis writes "unknown" and readers count the entries. */
    codec_put_le16(l->buf.data + 4,
                   (uint16_t)(l->count < LP_COUNT_UNKNOWN ? l->count : LP_COUNT_UNKNOWN));
}
