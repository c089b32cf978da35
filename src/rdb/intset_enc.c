/* intset_enc.c: builds intsets as Redis lays them out.
 *
 *   <encoding u32 LE: 2, 4 or 8> <length u32 LE> <length x intN LE, ascending>
 *
 * Redis only ever widens an intset's encoding, so a set that once held a big
 * value and lost it keeps the wide encoding; a set built by adding its
 * members (SADD, or loading from RDB) has the smallest encoding that holds
 * them all, which is what this builds. */
#include <stdlib.h>
#include <string.h>

#include "rdb/codec.h"
#include "rdb/codec_bytes.h"

#define IS_HEADER_SIZE 8

void rdb_intset_init(struct rdb_intset_builder *s)
{
    memset(s, 0, sizeof(*s));
}

void rdb_intset_add(struct rdb_intset_builder *s, int64_t v)
{
    if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->values = xrealloc(s->values, s->cap * sizeof(*s->values));
    }
    s->values[s->count++] = v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int rdb_intset_finish(struct rdb_intset_builder *s)
{
    rk_buf_reset(&s->buf);
    qsort(s->values, s->count, sizeof(*s->values), cmp_i64);
    uint32_t width = 2;
    for (size_t i = 0; i < s->count; i++) {
        if (i > 0 && s->values[i] == s->values[i - 1]) return -1;
        int64_t v = s->values[i];
        if (v < INT32_MIN || v > INT32_MAX)
            width = 8;
        else if ((v < INT16_MIN || v > INT16_MAX) && width < 4)
            width = 4;
    }
    /* The length field is 32-bit; Redis caps intsets far below that. */
    if (s->count > UINT32_MAX / 8) rk_panic("intset of %zu values", s->count);
    size_t size = IS_HEADER_SIZE + s->count * width;
    rk_buf_reserve(&s->buf, size);
    unsigned char *p = s->buf.data;
    codec_put_le32(p, width);
    codec_put_le32(p + 4, (uint32_t)s->count);
    p += IS_HEADER_SIZE;
    for (size_t i = 0; i < s->count; i++, p += width) {
        uint64_t u = (uint64_t)s->values[i];
        if (width == 2)
            codec_put_le16(p, (uint16_t)u);
        else if (width == 4)
            codec_put_le32(p, (uint32_t)u);
        else
            codec_put_le64(p, u);
    }
    s->buf.len = size;
    return 0;
}

void rdb_intset_free(struct rdb_intset_builder *s)
{
    free(s->values);
    rk_buf_free(&s->buf);
    memset(s, 0, sizeof(*s));
}
