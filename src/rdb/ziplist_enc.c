/* ziplist_enc.c: builds ziplists byte for byte as Redis 2.6 to 6.2 laid
 * them out for entries appended in order. (Redis could also leave wider
 * prevlen fields behind after inserting in the middle, and ziplists made by
 * Redis 2.4 lack the small integer encodings; both load fine but are not
 * what a fresh build gives, so we never produce them.)
 *
 *   <zlbytes u32 LE> <zltail u32 LE> <zllen u16 LE> entry... 0xFF
 *   entry = <prevlen: 1 byte, or 0xFE + u32 LE> <encoding> [data]
 */
#include <string.h>

#include "rdb/codec.h"
#include "rdb/codec_bytes.h"

#define ZL_HEADER_SIZE   10
#define ZL_END           0xFF
/* prevlen values from here on take the 5-byte form. */
#define ZL_BIG_PREVLEN   254
#define ZL_COUNT_UNKNOWN 0xFFFF

/* Integer encodings, as zipTryEncoding picks them. */
#define ZL_INT16    0xC0
#define ZL_INT32    0xD0
#define ZL_INT64    0xE0
#define ZL_INT24    0xF0
#define ZL_INT8     0xFE
#define ZL_IMM_BASE 0xF1 /* 0xF1..0xFD hold 0..12 */

/* Redis only tries the integer form for strings shorter than this. */
#define ZL_INT_TEXT_MAX 31

void rdb_ziplist_init(struct rdb_ziplist_builder *z)
{
    memset(z, 0, sizeof(*z));
    rdb_ziplist_reset(z);
}

void rdb_ziplist_reset(struct rdb_ziplist_builder *z)
{
    rk_buf_reset(&z->buf);
    rk_buf_reserve(&z->buf, ZL_HEADER_SIZE);
    memset(z->buf.data, 0, ZL_HEADER_SIZE);
    z->buf.len = ZL_HEADER_SIZE;
    z->count = 0;
    z->last_entry_len = 0;
    z->tail_offset = ZL_HEADER_SIZE;
}

void rdb_ziplist_free(struct rdb_ziplist_builder *z)
{
    rk_buf_free(&z->buf);
    z->count = 0;
    z->last_entry_len = 0;
    z->tail_offset = 0;
}

/* Appends one entry: prevlen, then the encoding header and data the caller
 * prepared. The header fields are 32-bit, so a ziplist cannot pass 4 GiB;
 * Redis never makes one bigger than 1 GiB and callers split long before. */
static void append_entry(struct rdb_ziplist_builder *z, const unsigned char *head, size_t head_len,
                         const unsigned char *data, size_t data_len)
{
    unsigned char prev[5];
    size_t prev_len;
    if (z->last_entry_len < ZL_BIG_PREVLEN) {
        prev[0] = (unsigned char)z->last_entry_len;
        prev_len = 1;
    } else {
        prev[0] = ZL_BIG_PREVLEN;
        codec_put_le32(prev + 1, z->last_entry_len);
        prev_len = 5;
    }
    size_t entry_len = prev_len + head_len + data_len;
    if (entry_len > UINT32_MAX - 1 - z->buf.len)
        rk_panic("ziplist would exceed 4 GiB (%zu + %zu bytes)", z->buf.len, entry_len);
    z->tail_offset = (uint32_t)z->buf.len;
    rk_buf_reserve(&z->buf, entry_len);
    rk_buf_append(&z->buf, prev, prev_len);
    rk_buf_append(&z->buf, head, head_len);
    rk_buf_append(&z->buf, data, data_len);
    z->last_entry_len = (uint32_t)entry_len;
    z->count++;
}

void rdb_ziplist_add_int(struct rdb_ziplist_builder *z, long long v)
{
    unsigned char head[9];
    size_t head_len;
    if (v >= 0 && v <= 12) {
        head[0] = (unsigned char)(ZL_IMM_BASE + v);
        head_len = 1;
    } else if (v >= INT8_MIN && v <= INT8_MAX) {
        head[0] = ZL_INT8;
        head[1] = (unsigned char)(int8_t)v;
        head_len = 2;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
        head[0] = ZL_INT16;
        codec_put_le16(head + 1, (uint16_t)v);
        head_len = 3;
    } else if (v >= -(1LL << 23) && v < (1LL << 23)) {
        head[0] = ZL_INT24;
        uint32_t u = (uint32_t)v;
        head[1] = (unsigned char)u;
        head[2] = (unsigned char)(u >> 8);
        head[3] = (unsigned char)(u >> 16);
        head_len = 4;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        head[0] = ZL_INT32;
        codec_put_le32(head + 1, (uint32_t)v);
        head_len = 5;
    } else {
        head[0] = ZL_INT64;
        codec_put_le64(head + 1, (uint64_t)v);
        head_len = 9;
    }
    append_entry(z, head, head_len, NULL, 0);
}

void rdb_ziplist_add(struct rdb_ziplist_builder *z, const unsigned char *s, size_t len)
{
    long long v;
    if (len <= ZL_INT_TEXT_MAX && rdb_str_to_ll(s, len, &v)) {
        rdb_ziplist_add_int(z, v);
        return;
    }
    unsigned char head[5];
    size_t head_len;
    if (len <= 0x3F) {
        head[0] = (unsigned char)len;
        head_len = 1;
    } else if (len <= 0x3FFF) {
        /* The only big-endian lengths in the format. */
        head[0] = (unsigned char)(0x40 | (len >> 8));
        head[1] = (unsigned char)len;
        head_len = 2;
    } else {
        if (len > UINT32_MAX) rk_panic("ziplist entry of %zu bytes", len);
        head[0] = 0x80;
        head[1] = (unsigned char)(len >> 24);
        head[2] = (unsigned char)(len >> 16);
        head[3] = (unsigned char)(len >> 8);
        head[4] = (unsigned char)len;
        head_len = 5;
    }
    append_entry(z, head, head_len, s, len);
}

void rdb_ziplist_finish(struct rdb_ziplist_builder *z)
{
    rk_buf_append_byte(&z->buf, ZL_END);
    codec_put_le32(z->buf.data, (uint32_t)z->buf.len);
    codec_put_le32(z->buf.data + 4, z->tail_offset);
    /* Redis stops counting at 0xFFFF and readers then walk the entries. */
    codec_put_le16(z->buf.data + 8,
                   (uint16_t)(z->count < ZL_COUNT_UNKNOWN ? z->count : ZL_COUNT_UNKNOWN));
}
