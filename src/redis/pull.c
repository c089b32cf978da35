/* pull: an RDB stream -> tee(verifier, gzip -> sha256 -> count -> sink).
 * The verifier is the tee's first branch, so it closes first: a stream that
 * does not verify aborts the sink instead of committing it. */
#include "redis/redis_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PULL_CHUNK    (1u << 20)
#define PREFETCH_BUFS 8

/* The source is read on a thread of its own, a few chunks ahead, so that the
 * server never waits on a full socket while a chunk is verified and
 * compressed: the transfer is what the pull should take, not the transfer
 * plus the work. */
struct prefetch {
    struct io_source *src;
    _Atomic bool *abandon; /* set when the reader stops early; the source polls it */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned char *buf[PREFETCH_BUFS];
    ssize_t len[PREFETCH_BUFS]; /* > 0 data, 0 end, -1 error */
    unsigned head, count;       /* filled buffers: head .. head+count */
    bool stop;
    struct rk_err err;
};

static void *prefetch_thread(void *arg)
{
    struct prefetch *pf = arg;
    unsigned slot = 0;
    for (;;) {
        pthread_mutex_lock(&pf->lock);
        while (pf->count == PREFETCH_BUFS && !pf->stop) pthread_cond_wait(&pf->cond, &pf->lock);
        bool stop = pf->stop;
        pthread_mutex_unlock(&pf->lock);
        if (stop) return NULL;
        ssize_t n = io_source_read(pf->src, pf->buf[slot], PULL_CHUNK, &pf->err);
        pthread_mutex_lock(&pf->lock);
        pf->len[slot] = n;
        pf->count++;
        pthread_cond_broadcast(&pf->cond);
        pthread_mutex_unlock(&pf->lock);
        if (n <= 0) return NULL;
        slot = (slot + 1) % PREFETCH_BUFS;
    }
}

static void prefetch_start(struct prefetch *pf, struct io_source *src, _Atomic bool *abandon)
{
    memset(pf, 0, sizeof(*pf));
    pf->src = src;
    pf->abandon = abandon;
    for (int i = 0; i < PREFETCH_BUFS; i++) pf->buf[i] = xmalloc(PULL_CHUNK);
    pthread_mutex_init(&pf->lock, NULL);
    pthread_cond_init(&pf->cond, NULL);
    if (pthread_create(&pf->thread, NULL, prefetch_thread, pf) != 0)
        rk_panic("cannot start a thread");
}

/* The next chunk: its length (0 at the end, -1 on error with err), and
 * *data. The chunk stays valid until the next call. */
static ssize_t prefetch_next(struct prefetch *pf, bool release_previous, unsigned char **data,
                             struct rk_err *err)
{
    pthread_mutex_lock(&pf->lock);
    if (release_previous) {
        pf->head = (pf->head + 1) % PREFETCH_BUFS;
        pf->count--;
        pthread_cond_broadcast(&pf->cond);
    }
    while (pf->count == 0) pthread_cond_wait(&pf->cond, &pf->lock);
    ssize_t n = pf->len[pf->head];
    *data = pf->buf[pf->head];
    pthread_mutex_unlock(&pf->lock);
    if (n < 0) *err = pf->err;
    return n;
}

/* Stops the thread. A source read in progress finishes first: the caller
 * makes the source give up (cancel hook) when it must not wait. */
static void prefetch_stop(struct prefetch *pf)
{
    pthread_mutex_lock(&pf->lock);
    pf->stop = true;
    if (pf->abandon) atomic_store(pf->abandon, true);
    pthread_cond_broadcast(&pf->cond);
    pthread_mutex_unlock(&pf->lock);
    pthread_join(pf->thread, NULL);
    for (int i = 0; i < PREFETCH_BUFS; i++) free(pf->buf[i]);
    pthread_mutex_destroy(&pf->lock);
    pthread_cond_destroy(&pf->cond);
}

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

static int pull_stream(struct io_source *src, struct io_sink *dst,
                       const struct redis_pull_options *o, struct redis_pull_result *res,
                       _Atomic bool *abandon, struct rk_err *err)
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
    if (o->gzip)
        chain = io_gzip_sink_new(chain, o->gzip_level ? o->gzip_level : IO_GZIP_DEFAULT_LEVEL);
    struct io_sink *tee = io_tee_new(io_fn_sink_new(verify_write, verify_close, NULL, &v), chain);

    struct prefetch pf;
    prefetch_start(&pf, src, abandon);
    int rc = 0;
    for (bool first = true;; first = false) {
        if (o->cancelled && o->cancelled(o->cancel_arg)) {
            rc = rk_err_set(err, "cancelled");
            break;
        }
        unsigned char *buf;
        ssize_t n = prefetch_next(&pf, !first, &buf, err);
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
    prefetch_stop(&pf);
    if (rc == 0)
        rc = io_sink_close(tee, err);
    else
        io_sink_abort(tee);
    io_sink_free(tee);
    rdb_reader_free(v.r);
    if (rc == 0) {
        res->stored_bytes = io_counter_get(&stored);
        memcpy(res->sha256, digest.hex, sizeof(res->sha256));
    }
    return rc;
}

int redis_pull_stream(struct io_source *src, struct io_sink *dst,
                      const struct redis_pull_options *o, struct redis_pull_result *res,
                      struct rk_err *err)
{
    return pull_stream(src, dst, o, res, NULL, err);
}

/* The snapshot's connection gives up when the caller cancels or when the
 * pull stopped reading (the sink failed). */
struct pull_cancel {
    const struct redis_config *cfg;
    _Atomic bool abandon;
};

static bool pull_cancelled(void *arg)
{
    struct pull_cancel *pc = arg;
    if (atomic_load(&pc->abandon)) return true;
    return pc->cfg && pc->cfg->cancelled && pc->cfg->cancelled(pc->cfg->cancel_arg);
}

int redis_pull(const struct redis_config *cfg, const struct store_uri *uri, struct io_sink *dst,
               const struct redis_pull_options *o, struct redis_pull_result *res,
               struct rk_err *err)
{
    struct redis_pull_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof(*res));
    struct redis_pull_options opts = o ? *o : (struct redis_pull_options){0};
    if (!opts.cancelled && cfg) {
        opts.cancelled = cfg->cancelled;
        opts.cancel_arg = cfg->cancel_arg;
    }
    struct redis_config c;
    if (cfg)
        c = *cfg;
    else
        redis_config_init(&c);
    struct pull_cancel pc = {.cfg = cfg};
    c.cancelled = pull_cancelled;
    c.cancel_arg = &pc;
    struct io_source *src = redis_snapshot_open(&c, uri, &res->snapshot, err);
    if (!src) {
        io_sink_free(dst); /* never written: freeing aborts it */
        return -1;
    }
    if (opts.progress) {
        atomic_store(&opts.progress->total, res->snapshot.declared_size);
        atomic_store(&opts.progress->total_keys, res->snapshot.keys_expected);
    }
    int rc = pull_stream(src, dst, &opts, res, &pc.abandon, err);
    io_source_free(src);
    return rc;
}
