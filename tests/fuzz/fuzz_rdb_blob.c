/* libFuzzer target: the packed-blob decoders (ziplist, listpack, intset,
 * zipmap) on their own, where coverage builds up fastest.
 *
 * The first byte picks the format and the chunking; the rest is the blob.
 * The entries decoded from one whole feed must equal those decoded from the
 * same bytes fed in small pieces, and a blob must never both fail in one
 * feeding and succeed in the other. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/blob.h"

struct digest {
    uint64_t h;
    uint32_t entries;
};

static int on_entry(void *ctx, const struct rdb_blob_entry *e, struct rk_err *err)
{
    struct digest *d = ctx;
    (void)err;
    /* Once per entry, whatever the pieces. */
    if (e->is_int || e->offset == 0) d->h = d->h * 31 + e->index;
    if (e->is_int) {
        d->h = d->h * 31 + (uint64_t)e->ival;
    } else {
        if (e->offset + e->len > e->total) abort();
        for (size_t i = 0; i < e->len; i++) d->h = d->h * 131 + e->data[i];
        if (e->offset + e->len == e->total) d->entries++;
        return 0;
    }
    d->entries++;
    return 0;
}

static int decode(enum rdb_blob_kind kind, const uint8_t *p, size_t n, size_t step, struct digest *d)
{
    struct rdb_blob b;
    struct rk_err err;
    rdb_blob_init(&b, kind, n);
    for (size_t off = 0; off < n;) {
        size_t len = step && step < n - off ? step : n - off;
        if (rdb_blob_feed(&b, p + off, len, on_entry, d, &err)) return -1;
        off += len;
    }
    return rdb_blob_finish(&b, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    enum rdb_blob_kind kind = (enum rdb_blob_kind)(data[0] & 3);
    size_t step = 1 + (data[0] >> 2);
    struct digest whole = {0}, pieces = {0};
    int a = decode(kind, data + 1, size - 1, 0, &whole);
    int b = decode(kind, data + 1, size - 1, step, &pieces);
    if (a != b) abort();
    if (a == 0 && (whole.h != pieces.h || whole.entries != pieces.entries)) abort();
    return 0;
}
