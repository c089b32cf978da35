/* Reading a load's inputs one after the other: open -> count -> gunzip (by
 * magic) -> reader -> the caller's handler. */
#include "redis/redis_int.h"

#include <stdlib.h>
#include <string.h>

#define INPUT_CHUNK (1u << 20)

static int run_one(const struct input_run *run, size_t i, rdb_handler_fn handler, void *ctx,
                   unsigned char *buf, struct rk_err *err)
{
    const struct redis_load_inputs *in = run->in;
    uint64_t size = 0;
    struct io_source *src = in->open(in->arg, i, &size, err);
    if (!src) return -1;
    struct io_gunzip_info gz = {0};
    struct io_gunzip_opts go = {.info = &gz};
    if (run->progress) src = io_count_source_new(src, &run->progress->bytes);
    src = io_gunzip_source_new(src, &go);
    struct rdb_reader *r = rdb_reader_new(NULL, handler, ctx);
    if (run->file_begin) run->file_begin(run->ctx, i, r);
    int rc = 0;
    for (;;) {
        if (run->cancelled && run->cancelled(run->cancel_arg)) {
            rc = rk_err_set(err, "cancelled");
            break;
        }
        ssize_t n = io_source_read(src, buf, INPUT_CHUNK, err);
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0) {
            /* Bytes after the end (a captured replication stream's mark)
             * are ignored, as Redis's loader and rdb verify ignore them. */
            rc = rdb_reader_finish(r, err);
            break;
        }
        if (rdb_reader_feed(r, buf, (size_t)n, err)) {
            rc = -1;
            break;
        }
    }
    if (run->stats) {
        run->stats->files++;
        run->stats->rdb_bytes += rdb_reader_offset(r);
        run->stats->bytes_read += gz.gzip ? gz.bytes_in : rdb_reader_offset(r);
    }
    if (rc && in->names && in->names[i] && !(run->handler_error && *run->handler_error))
        rk_err_prefix(err, "%s%s", in->names[i], gz.gzip ? " (after gunzip)" : "");
    rdb_reader_free(r);
    io_source_free(src);
    return rc;
}

int input_run_all(const struct input_run *run, rdb_handler_fn handler, void *ctx,
                  struct rk_err *err)
{
    unsigned char *buf = xmalloc(INPUT_CHUNK);
    int rc = 0;
    for (size_t i = 0; i < run->in->count && rc == 0; i++)
        rc = run_one(run, i, handler, ctx, buf, err);
    free(buf);
    return rc;
}
