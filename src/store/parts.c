/* The part-by-part writer described in parts.h. */
#include "store/parts.h"

#include <stdlib.h>
#include <string.h>

struct parts_writer {
    struct store_sink base;
    const struct store_config *cfg;
    const struct parts_ops *ops;
    void *ctx;
    char *what;
    int64_t size_hint;
    uint64_t written;
    struct parts_limits lim;
    bool streaming;
    struct xfer x;
    struct curl_slist *headers;
    size_t part_size;
    unsigned char *buf[2];
    size_t fill;
    int cur;       /* the buffer being filled */
    bool inflight; /* a part upload runs in x from buf[!cur] */
    size_t inflight_len;
    int parts; /* parts started */
    bool begun;
};

static int wfail(struct parts_writer *w, int rc)
{
    w->base.result = rc;
    return -1;
}

static int start_part(struct parts_writer *w, int k, size_t len, struct rk_err *err)
{
    if (w->parts >= w->lim.max_parts) {
        rk_err_set(err, "%s: the object needs more than %d parts of %zu bytes; raise the part size",
                   w->what, w->lim.max_parts, w->part_size);
        return wfail(w, STORE_FAIL);
    }
    w->parts++;
    xfer_reset(&w->x);
    curl_slist_free_all(w->headers);
    w->headers = w->ops->prepare_part(w->ctx, &w->x, w->parts, w->buf[k], len);
    w->inflight = true;
    w->inflight_len = len;
    if (xfer_start(&w->x, err) < 0) return wfail(w, STORE_FAIL);
    return 0;
}

/* Waits for the part in flight, sending it again while failures pass. */
static int finish_part(struct parts_writer *w, struct rk_err *err)
{
    if (!w->inflight) return 0;
    int k = !w->cur;
    char *what = xasprintf("%s (part %d)", w->what, w->parts);
    int rc = STORE_OK;
    for (int attempt = 0;; attempt++) {
        xfer_wait(&w->x);
        if (w->x.result == CURLE_OK && xfer_status_ok(&w->x)) break;
        if (!xfer_retryable(&w->x) || attempt >= w->cfg->max_retries) {
            rc = w->ops->http_error(w->ctx, &w->x, what, err);
            break;
        }
        rk_log(RK_LOG_WARN, "store",
               "msg=\"retrying part\" what=\"%s\" status=%ld curl=%d attempt=%d", what, w->x.status,
               (int)w->x.result, attempt + 1);
        if ((rc = xfer_backoff(&w->x, attempt)) < 0) {
            rk_err_set(err, "%s: cancelled", what);
            break;
        }
        xfer_reset(&w->x);
        curl_slist_free_all(w->headers);
        w->headers = w->ops->prepare_part(w->ctx, &w->x, w->parts, w->buf[k], w->inflight_len);
        if (xfer_start(&w->x, err) < 0) {
            rc = STORE_FAIL;
            break;
        }
    }
    w->inflight = false;
    if (rc == STORE_OK) rc = w->ops->part_done(w->ctx, &w->x, w->parts, err);
    free(what);
    return rc == STORE_OK ? 0 : wfail(w, rc);
}

/* The fill buffer is full (or final): hand it to the background upload. */
static int rotate(struct parts_writer *w, struct rk_err *err)
{
    if (!w->begun) {
        if (w->ops->begin) {
            int rc = w->ops->begin(w->ctx, err);
            if (rc != STORE_OK) return wfail(w, rc);
        }
        w->begun = true;
    }
    if (finish_part(w, err) < 0) return -1;
    if (start_part(w, w->cur, w->fill, err) < 0) return -1;
    w->cur = !w->cur;
    w->fill = 0;
    if (!w->buf[w->cur]) w->buf[w->cur] = xmalloc(w->part_size);
    return 0;
}

static int pw_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err)
{
    struct parts_writer *w = (struct parts_writer *)s;
    if (w->streaming) {
        if (w->written + len > (uint64_t)w->size_hint) {
            rk_err_set(err, "%s: more data than the %lld bytes announced", w->what,
                       (long long)w->size_hint);
            return wfail(w, STORE_FAIL);
        }
        int rc = xfer_push(&w->x, data, len, w->what, err);
        if (rc != STORE_OK) {
            if (w->x.done && w->x.result == CURLE_OK)
                rc = w->ops->http_error(w->ctx, &w->x, w->what, err);
            return wfail(w, rc);
        }
        w->written += len;
        return 0;
    }
    const unsigned char *p = data;
    while (len) {
        size_t n = w->part_size - w->fill < len ? w->part_size - w->fill : len;
        memcpy(w->buf[w->cur] + w->fill, p, n);
        w->fill += n;
        p += n;
        len -= n;
        w->written += n;
        if (w->fill == w->part_size && rotate(w, err) < 0) return -1;
    }
    /* Keep the part in flight moving while the caller produces. */
    if (w->inflight) xfer_poll(&w->x, 0);
    return 0;
}

static int pw_close(struct io_sink *s, struct rk_err *err)
{
    struct parts_writer *w = (struct parts_writer *)s;
    int rc;
    if (w->streaming) {
        if (w->written != (uint64_t)w->size_hint) {
            rk_err_set(err, "%s: %llu bytes written but %lld announced", w->what,
                       (unsigned long long)w->written, (long long)w->size_hint);
            return wfail(w, STORE_FAIL);
        }
        rc = xfer_finish_upload(&w->x, w->what, err);
        if (rc == STORE_OK && !xfer_status_ok(&w->x))
            rc = w->ops->http_error(w->ctx, &w->x, w->what, err);
        return rc == STORE_OK ? 0 : wfail(w, rc);
    }
    if (!w->begun && w->fill <= w->lim.single_limit) {
        rc = w->ops->put_small(w->ctx, w->buf[w->cur], w->fill, err);
        return rc == STORE_OK ? 0 : wfail(w, rc);
    }
    if ((w->fill || w->parts == 0) && rotate(w, err) < 0) return -1;
    if (finish_part(w, err) < 0) return -1;
    rc = w->ops->complete(w->ctx, w->parts, err);
    if (rc != STORE_OK) return wfail(w, rc);
    w->begun = false;
    return 0;
}

static void pw_abort(struct io_sink *s)
{
    struct parts_writer *w = (struct parts_writer *)s;
    /* Dropping the connection mid-body: a store keeps nothing of a request
     * whose Content-Length was not met. */
    xfer_reset(&w->x);
    w->inflight = false;
    if (w->begun && w->ops->abort) w->ops->abort(w->ctx);
    w->begun = false;
}

static void pw_free(struct io_sink *s)
{
    struct parts_writer *w = (struct parts_writer *)s;
    xfer_cleanup(&w->x);
    curl_slist_free_all(w->headers);
    free(w->buf[0]);
    free(w->buf[1]);
    if (w->ops->free_ctx) w->ops->free_ctx(w->ctx);
    free(w->what);
    free(w);
}

/* A streamed PUT reads its source straight into libcurl's buffer. */
static int pw_write_from(struct io_sink *s, struct io_source *src, uint64_t *copied,
                         struct rk_err *err)
{
    struct parts_writer *w = (struct parts_writer *)s;
    if (!w->streaming) return IO_DECLINED;
    int rc = xfer_push_source(&w->x, src, (uint64_t)w->size_hint, copied, w->what, err);
    w->written += *copied;
    if (rc != STORE_OK) {
        if (w->x.done && w->x.result == CURLE_OK && !w->x.source_failed && !xfer_status_ok(&w->x))
            rc = w->ops->http_error(w->ctx, &w->x, w->what, err);
        return wfail(w, rc);
    }
    return 0;
}

static const struct io_sink_ops parts_writer_ops = {
    .name = "upload",
    .write = pw_write,
    .close = pw_close,
    .abort = pw_abort,
    .free = pw_free,
};

struct io_sink *parts_writer_new(const struct store_config *cfg, const struct parts_ops *ops,
                                 void *ctx, const char *what, int64_t size_hint,
                                 const struct parts_limits *lim, int *result, struct rk_err *err)
{
    struct parts_writer *w = xcalloc(1, sizeof(*w));
    store_sink_init(&w->base, &parts_writer_ops);
    w->base.base.write_from = pw_write_from;
    w->cfg = cfg;
    w->ops = ops;
    w->ctx = ctx;
    w->what = xstrdup(what);
    w->size_hint = size_hint;
    w->lim = *lim;
    xfer_init(&w->x, cfg);
    if (size_hint >= 0 && (uint64_t)size_hint <= lim->single_limit) {
        w->streaming = true;
        w->headers = ops->prepare_stream(ctx, &w->x, (uint64_t)size_hint);
        if (xfer_start(&w->x, err) < 0) {
            *result = STORE_FAIL;
            pw_free(&w->base.base);
            return NULL;
        }
        return &w->base.base;
    }
    uint64_t part = lim->part_size < lim->min_part ? lim->min_part : lim->part_size;
    if (size_hint > 0 && (uint64_t)size_hint / part >= (uint64_t)lim->max_parts) {
        /* A known size: parts just big enough, in whole MiB. */
        part = ((uint64_t)size_hint / (uint64_t)(lim->max_parts - 1) + (1u << 20)) &
               ~(uint64_t)((1u << 20) - 1);
    }
    if (part > lim->max_part) part = lim->max_part;
    w->part_size = (size_t)part;
    /* The second buffer is allocated when the first part leaves. */
    w->buf[0] = xmalloc(w->part_size);
    return &w->base.base;
}
