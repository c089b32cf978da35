/* pull: an RDB stream -> tee(verifier, gzip -> sha256 -> count -> sink).
 * The verifier is the tee's first branch, so it closes first: a stream that
 * does not verify aborts the sink instead of committing it. */
#include "redis/redis_int.h"

#include <stdlib.h>
#include <string.h>

#define PULL_CHUNK (1u << 20)

struct verifier {
    struct rdb_reader *r;
    struct redis_pull_result *res;
    struct redis_progress *progress;
    bool ended;
};

static int verify_event(void *ctx, const struct rdb_event *ev, struct rk_err *err)
{
    struct verifier *v = ctx;
    switch (ev->type) {
    case RDB_EVENT_START:
        v->res->rdb_version = ev->u.start.version;
        v->res->magic = ev->u.start.magic;
        break;
    case RDB_EVENT_KEY: ev->u.key->want = 0; break; /* checked, not delivered */
    case RDB_EVENT_KEY_END:
        v->res->keys++;
        if (v->progress) atomic_fetch_add_explicit(&v->progress->keys, 1, memory_order_relaxed);
        break;
    case RDB_EVENT_END:
        v->ended = true;
        v->res->checksum = ev->u.end.checksum;
        v->res->rdb_bytes = ev->u.end.size;
        break;
    default: break;
    }
    return 0;
}

static int verify_write(void *arg, const void *data, size_t len, struct rk_err *err)
{
    struct verifier *v = arg;
    if (rdb_reader_feed(v->r, data, len, err)) return rk_err_prefix(err, "the RDB does not verify");
    return 0;
}

static int verify_close(void *arg, struct rk_err *err)
{
    struct verifier *v = arg;
    if (rdb_reader_finish(v->r, err)) return rk_err_prefix(err, "the RDB does not verify");
    if (!v->ended) return rk_err_set(err, "the RDB does not verify: it has no end marker");
    uint64_t trailing = rdb_reader_trailing_bytes(v->r);
    if (trailing)
        return rk_err_set(err, "the RDB does not verify: %llu bytes follow its end",
                          (unsigned long long)trailing);
    return 0;
}

int redis_pull_stream(struct io_source *src, struct io_sink *dst, const struct redis_pull_options *o,
                      struct redis_pull_result *res, struct rk_err *err)
{
    struct redis_pull_options defaults = {0};
    if (!o) o = &defaults;
    struct redis_pull_result local;
    if (!res) res = &local;
    struct redis_snapshot_info snap = res->snapshot;
    memset(res, 0, sizeof(*res));
    res->snapshot = snap;

    struct verifier v = {.res = res, .progress = o->progress};
    v.r = rdb_reader_new(NULL, verify_event, &v);
    struct io_counter stored = {0};
    struct io_digest digest = {0};
    struct io_sink *chain = io_count_sink_new(dst, &stored);
    chain = io_sha256_sink_new(chain, &digest);
    if (o->gzip) chain = io_gzip_sink_new(chain, o->gzip_level ? o->gzip_level : IO_GZIP_DEFAULT_LEVEL);
    struct io_sink *tee = io_tee_new(io_fn_sink_new(verify_write, verify_close, NULL, &v), chain);

    unsigned char *buf = xmalloc(PULL_CHUNK);
    int rc = 0;
    for (;;) {
        if (o->cancelled && o->cancelled(o->cancel_arg)) {
            rc = rk_err_set(err, "cancelled");
            break;
        }
        ssize_t n = io_source_read(src, buf, PULL_CHUNK, err);
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0) break;
        if (o->progress)
            atomic_fetch_add_explicit(&o->progress->bytes.bytes, (uint64_t)n, memory_order_relaxed);
        if (io_sink_write(tee, buf, (size_t)n, err)) {
            rc = -1;
            break;
        }
    }
    free(buf);
    if (rc == 0) rc = io_sink_close(tee, err);
    else io_sink_abort(tee);
    io_sink_free(tee);
    rdb_reader_free(v.r);
    if (rc == 0) {
        res->stored_bytes = io_counter_get(&stored);
        memcpy(res->sha256, digest.hex, sizeof(res->sha256));
    }
    return rc;
}

int redis_pull(const struct redis_config *cfg, const struct store_uri *uri, struct io_sink *dst,
               const struct redis_pull_options *o, struct redis_pull_result *res, struct rk_err *err)
{
    struct redis_pull_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof(*res));
    struct redis_pull_options opts = o ? *o : (struct redis_pull_options){0};
    if (!opts.cancelled && cfg) {
        opts.cancelled = cfg->cancelled;
        opts.cancel_arg = cfg->cancel_arg;
    }
    struct io_source *src = redis_snapshot_open(cfg, uri, &res->snapshot, err);
    if (!src) {
        io_sink_free(dst); /* never written: freeing aborts it */
        return -1;
    }
    int rc = redis_pull_stream(src, dst, &opts, res, err);
    io_source_free(src);
    return rc;
}
