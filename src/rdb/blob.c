/* The driver shared by the packed-blob decoders: chunk handling, streamed
 * string entries, and the checks every format ends with. */
#include "rdb/blob.h"

#include <stdio.h>
#include <string.h>

void rdb_blob_init(struct rdb_blob *b, enum rdb_blob_kind kind, uint64_t size)
{
    memset(b, 0, sizeof(*b));
    b->kind = kind;
    b->size = size;
    b->header_count = UINT64_MAX;
    rdb_window_init(&b->w, NULL, NULL);
}

const char *rdb_blob_kind_name(enum rdb_blob_kind kind)
{
    switch (kind) {
    case RDB_BLOB_ZIPLIST: return "ziplist";
    case RDB_BLOB_LISTPACK: return "listpack";
    case RDB_BLOB_INTSET: return "intset";
    case RDB_BLOB_ZIPMAP: return "zipmap";
    }
    return "blob";
}

int rdb_blob_error(struct rdb_blob *b, struct rk_err *err, const char *fmt, ...)
{
    char what[RK_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    rk_err_set(err, "%s byte %llu of %llu: %s", rdb_blob_kind_name(b->kind),
               (unsigned long long)b->w.pos, (unsigned long long)b->size, what);
    return BLOB_STEP_ERR;
}

int rdb_blob_emit_int(struct rdb_blob *b, long long v, rdb_blob_entry_fn fn, void *ctx,
                      struct rk_err *err)
{
    struct rdb_blob_entry e = {.index = b->index, .is_int = true, .ival = v};
    b->index++;
    if (!fn) return 0;
    return fn(ctx, &e, err) ? -1 : 0;
}

static int emit_piece(struct rdb_blob *b, const unsigned char *data, size_t len,
                      rdb_blob_entry_fn fn, void *ctx, struct rk_err *err)
{
    struct rdb_blob_entry e = {.index = b->index, .data = data, .len = len,
                               .offset = b->str_done, .total = b->str_total};
    b->str_done += len;
    if (b->str_done == b->str_total) b->index++;
    if (!fn) return 0;
    return fn(ctx, &e, err) ? -1 : 0;
}

int rdb_blob_begin_string(struct rdb_blob *b, uint64_t len, int next, rdb_blob_entry_fn fn,
                          void *ctx, struct rk_err *err)
{
    b->str_total = len;
    b->str_done = 0;
    b->str_next = next;
    b->state = next;
    /* Whole and contiguous, or empty: one piece, no streaming state. */
    if (len == 0 || (b->w.carry_len == 0 && (uint64_t)(b->w.end - b->w.p) >= len)) {
        const unsigned char *data = b->w.p;
        rdb_window_skip(&b->w, (size_t)len);
        return emit_piece(b, data, (size_t)len, fn, ctx, err) ? BLOB_STEP_ERR : BLOB_STEP_OK;
    }
    b->state = BLOB_STATE_STRING;
    return BLOB_STEP_OK;
}

static int string_step(struct rdb_blob *b, rdb_blob_entry_fn fn, void *ctx, struct rk_err *err)
{
    uint64_t left = b->str_total - b->str_done;
    size_t n;
    const unsigned char *data = rdb_window_take(&b->w, left > SIZE_MAX ? SIZE_MAX : (size_t)left, &n);
    if (n == 0) return BLOB_STEP_MORE;
    if (emit_piece(b, data, n, fn, ctx, err)) return BLOB_STEP_ERR;
    if (b->str_done == b->str_total) b->state = b->str_next;
    return BLOB_STEP_OK;
}

int rdb_blob_feed(struct rdb_blob *b, const unsigned char *data, size_t len, rdb_blob_entry_fn fn,
                  void *ctx, struct rk_err *err)
{
    if ((uint64_t)len > rdb_blob_left(b) - b->w.carry_len) {
        rdb_blob_error(b, err, "more bytes than the blob holds");
        return -1;
    }
    rdb_window_set_input(&b->w, data, len);
    for (;;) {
        int rc;
        if (b->state == BLOB_STATE_DONE) {
            if (rdb_window_avail(&b->w)) {
                rdb_blob_error(b, err, "%zu bytes after the end marker", rdb_window_avail(&b->w));
                return -1;
            }
            return 0;
        }
        if (b->state == BLOB_STATE_STRING) {
            rc = string_step(b, fn, ctx, err);
        } else {
            switch (b->kind) {
            case RDB_BLOB_ZIPLIST: rc = rdb_blob_ziplist_step(b, fn, ctx, err); break;
            case RDB_BLOB_LISTPACK: rc = rdb_blob_listpack_step(b, fn, ctx, err); break;
            case RDB_BLOB_INTSET: rc = rdb_blob_intset_step(b, fn, ctx, err); break;
            default: rc = rdb_blob_zipmap_step(b, fn, ctx, err); break;
            }
        }
        if (rc == BLOB_STEP_ERR) return -1;
        if (rc == BLOB_STEP_MORE) return 0;
    }
}

int rdb_blob_finish(struct rdb_blob *b, struct rk_err *err)
{
    if (b->state != BLOB_STATE_DONE) {
        if (b->w.pos + b->w.carry_len < b->size) rdb_blob_error(b, err, "the blob ends early");
        else rdb_blob_error(b, err, "the blob ends without its end marker");
        return -1;
    }
    return 0;
}
