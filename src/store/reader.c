/* A resumable download as an io source, for every network store. The driver
 * says how to request the object from a byte offset and how to word an
 * error; this file runs the transfer, checks that each answer is the part it
 * asked for, and picks up where a dropped connection stopped (HTTP Range, FTP
 * REST), as long as the object is still the same one. */
#include "store/reader.h"

#include <stdlib.h>
#include <string.h>

#define PREFETCH    (64 * 1024)
#define MAX_RESUMES 50

struct reader {
    struct io_source base;
    const struct store_config *cfg;
    const struct reader_ops *ops;
    void *ctx;
    struct xfer x;
    uint64_t pos;   /* next byte the caller gets (object offset) */
    uint64_t total; /* object size when known */
    bool total_known;
    uint64_t skip; /* bytes to drop: a server that ignored our Range */
    bool fresh;    /* the current attempt has not been checked yet */
    char etag[128], last_modified[64];
    unsigned char *pending;
    size_t pending_len, pending_pos;
    int resumes;
    bool finished;
};

static int start_attempt(struct reader *r, struct rk_err *err)
{
    xfer_reset(&r->x);
    r->ops->prepare(r->ctx, &r->x, r->pos);
    xfer_download_stream(&r->x);
    r->fresh = true;
    r->skip = 0;
    return xfer_start(&r->x, err);
}

/* The first answer of an attempt: is it the object, from where we asked? */
static int check_answer(struct reader *r, struct rk_err *err)
{
    struct xfer *x = &r->x;
    r->fresh = false;
    if (!x->http) {
        curl_off_t cl = -1;
        curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        if (cl >= 0 && !r->total_known) {
            r->total = r->pos + (uint64_t)cl;
            r->total_known = true;
        }
        return STORE_OK;
    }
    const struct xfer_headers *h = &x->hdr;
    /* The same object as before? (Only comparable when the store says.) */
    if ((r->etag[0] && h->etag[0] && strcmp(r->etag, h->etag)) ||
        (r->last_modified[0] && h->last_modified[0] &&
         strcmp(r->last_modified, h->last_modified))) {
        rk_err_set(err, "%s: the object changed while it was being read (at byte %llu)",
                   r->ops->what(r->ctx), (unsigned long long)r->pos);
        return STORE_FAIL;
    }
    if (!r->etag[0]) snprintf(r->etag, sizeof(r->etag), "%s", h->etag);
    if (!r->last_modified[0])
        snprintf(r->last_modified, sizeof(r->last_modified), "%s", h->last_modified);
    if (x->status == 206) {
        if (!h->has_range || h->range_start != r->pos) {
            rk_err_set(err, "%s: asked for bytes from %llu, the server sent %s %llu",
                       r->ops->what(r->ctx), (unsigned long long)r->pos,
                       h->has_range ? "a range starting at" : "a partial answer without a range",
                       (unsigned long long)h->range_start);
            return STORE_FAIL;
        }
        if (h->range_total && !r->total_known) {
            r->total = h->range_total;
            r->total_known = true;
        }
    } else {
        /* 200: the whole object, whatever we asked for. */
        r->skip = r->pos;
        if (h->content_length >= 0 && !r->total_known) {
            r->total = (uint64_t)h->content_length;
            r->total_known = true;
        }
    }
    return STORE_OK;
}

static int fail_with(struct reader *r, int rc)
{
    r->finished = true;
    return rc;
}

/* One step: fills buf with up to cap bytes. >0 bytes, 0 end, <0 failure. */
static ssize_t reader_step(struct reader *r, void *buf, size_t cap, struct rk_err *err)
{
    for (;;) {
        ssize_t n = xfer_pull(&r->x, buf, cap, r->ops->what(r->ctx), err);
        if (n >= 0 && r->fresh) {
            int rc = check_answer(r, err);
            if (rc < 0) return fail_with(r, rc);
        }
        if (n > 0) {
            if (r->skip) {
                size_t drop = (uint64_t)n < r->skip ? (size_t)n : (size_t)r->skip;
                r->skip -= drop;
                if ((size_t)n == drop) continue;
                memmove(buf, (char *)buf + drop, (size_t)n - drop);
                n -= (ssize_t)drop;
            }
            r->pos += (uint64_t)n;
            if (r->total_known && r->pos > r->total) {
                rk_err_set(err, "%s: more data than the announced %llu bytes", r->ops->what(r->ctx),
                           (unsigned long long)r->total);
                return fail_with(r, STORE_FAIL);
            }
            return n;
        }
        bool short_end = n == 0 && r->total_known && r->pos < r->total;
        if (n == 0 && !short_end) {
            r->finished = true;
            return 0;
        }
        /* A failure, or an end before the announced size: resume if it is
         * the kind of failure that passes. */
        int rc = n < 0 ? (int)n : STORE_FAIL;
        /* Once data has flowed, a refused connection is a server restarting. */
        bool transient = short_end || xfer_retryable(&r->x) || r->x.result == CURLE_COULDNT_CONNECT;
        if (!transient || r->resumes >= MAX_RESUMES || r->cfg->max_retries <= 0) {
            if (short_end)
                rk_err_set(err, "%s: the transfer ended at byte %llu of %llu", r->ops->what(r->ctx),
                           (unsigned long long)r->pos, (unsigned long long)r->total);
            else if (r->x.result == CURLE_OK && !xfer_status_ok(&r->x))
                rc = r->ops->http_error(r->ctx, &r->x, err);
            return fail_with(r, rc);
        }
        r->resumes++;
        rk_log(RK_LOG_WARN, "store", "msg=\"resuming download\" what=\"%s\" offset=%llu attempt=%d",
               r->ops->what(r->ctx), (unsigned long long)r->pos, r->resumes);
        int brc = xfer_backoff(&r->x, r->resumes - 1 < 4 ? r->resumes - 1 : 4);
        if (brc < 0) {
            rk_err_set(err, "%s: cancelled", r->ops->what(r->ctx));
            return fail_with(r, brc);
        }
        if (start_attempt(r, err) < 0) return fail_with(r, STORE_FAIL);
    }
}

static ssize_t reader_read(struct io_source *s, void *buf, size_t cap, struct rk_err *err)
{
    struct reader *r = (struct reader *)s;
    if (r->pending_pos < r->pending_len) {
        size_t n = r->pending_len - r->pending_pos < cap ? r->pending_len - r->pending_pos : cap;
        memcpy(buf, r->pending + r->pending_pos, n);
        r->pending_pos += n;
        return (ssize_t)n;
    }
    if (r->finished) return 0;
    ssize_t n = reader_step(r, buf, cap, err);
    return n < 0 ? -1 : n;
}

/* The pump: every body byte goes from libcurl's buffer into dst, except
 * where an answer must be checked first (the first bytes of each attempt, a
 * server that ignored our Range), which take the ordinary path. */
static int reader_pump(struct io_source *s, struct io_sink *dst, uint64_t *copied,
                       struct rk_err *err)
{
    struct reader *r = (struct reader *)s;
    *copied = 0;
    if (r->pending_pos < r->pending_len) {
        size_t n = r->pending_len - r->pending_pos;
        if (io_sink_write(dst, r->pending + r->pending_pos, n, err) < 0) return -1;
        r->pending_pos = r->pending_len;
        *copied += n;
    }
    unsigned char buf[16384];
    while (!r->finished) {
        if (r->fresh || r->skip || r->x.done) {
            ssize_t n = reader_step(r, buf, sizeof(buf), err);
            if (n < 0) return -1;
            if (n == 0) break;
            if (io_sink_write(dst, buf, (size_t)n, err) < 0) return -1;
            *copied += (uint64_t)n;
            continue;
        }
        uint64_t moved;
        int rc = xfer_drain(&r->x, dst, &moved, err);
        r->pos += moved;
        *copied += moved;
        if (rc != STORE_OK) return -1;
        if (r->total_known && r->pos > r->total) {
            rk_err_set(err, "%s: more data than the announced %llu bytes", r->ops->what(r->ctx),
                       (unsigned long long)r->total);
            r->finished = true;
            return -1;
        }
        /* The transfer ended: reader_step says how (the end, a resume, an
         * error) on the next turn. */
    }
    return 0;
}

static void reader_free(struct io_source *s)
{
    struct reader *r = (struct reader *)s;
    xfer_cleanup(&r->x);
    if (r->ops->free_ctx) r->ops->free_ctx(r->ctx);
    free(r->pending);
    free(r);
}

static const struct io_source_ops reader_source_ops = {"download", reader_read, reader_free};

struct io_source *reader_open(const struct store_config *cfg, const struct reader_ops *ops,
                              void *ctx, uint64_t offset, struct store_stat *st, int *result,
                              struct rk_err *err)
{
    struct reader *r = xcalloc(1, sizeof(*r));
    io_source_init(&r->base, &reader_source_ops, NULL);
    r->base.pump = reader_pump;
    r->cfg = cfg;
    r->ops = ops;
    r->ctx = ctx;
    r->pos = offset;
    xfer_init(&r->x, cfg);
    r->pending = xmalloc(PREFETCH);
    /* Fetch the first bytes now, so that "not found" or "denied" is an open
     * error, with the store's own retries for transient ones. */
    for (int attempt = 0;; attempt++) {
        if (start_attempt(r, err) < 0) {
            *result = STORE_FAIL;
            break;
        }
        ssize_t n = xfer_pull(&r->x, r->pending, PREFETCH, ops->what(ctx), err);
        if (n >= 0) {
            int rc = check_answer(r, err);
            if (rc < 0) {
                *result = rc;
                break;
            }
            /* A server that ignored the Range: drop up to the offset. */
            while (n > 0 && r->skip) {
                size_t drop = (uint64_t)n < r->skip ? (size_t)n : (size_t)r->skip;
                r->skip -= drop;
                memmove(r->pending, r->pending + drop, (size_t)n - drop);
                n -= (ssize_t)drop;
                if (n == 0 && r->skip)
                    n = xfer_pull(&r->x, r->pending, PREFETCH, ops->what(ctx), err);
            }
            if (n < 0) {
                *result = (int)n;
                break;
            }
            r->pending_len = (size_t)n;
            r->pos += (uint64_t)n;
            if (n == 0) r->finished = true;
            if (r->finished && r->total_known && r->pos < r->total) {
                rk_err_set(err, "%s: the transfer ended at byte %llu of %llu", ops->what(ctx),
                           (unsigned long long)r->pos, (unsigned long long)r->total);
                *result = STORE_FAIL;
                break;
            }
            st->size = r->total;
            st->size_known = r->total_known;
            st->mtime_ms = store_parse_date(r->last_modified);
            snprintf(st->etag, sizeof(st->etag), "%s", r->etag);
            if (!r->x.http) {
                long ft = -1;
                curl_easy_getinfo(r->x.easy, CURLINFO_FILETIME, &ft);
                st->mtime_ms = ft >= 0 ? (int64_t)ft * 1000 : -1;
            }
            *result = STORE_OK;
            return &r->base;
        }
        if (r->x.http && r->x.status == 416 && offset > 0 && r->x.result == CURLE_OK) {
            /* Asked from the very end (or past it): nothing left to read. */
            if (r->x.hdr.range_total && offset > r->x.hdr.range_total) {
                rk_err_set(err, "%s: offset %llu is past the end (%llu bytes)", ops->what(ctx),
                           (unsigned long long)offset, (unsigned long long)r->x.hdr.range_total);
                *result = STORE_FAIL;
                break;
            }
            r->finished = true;
            st->size = r->x.hdr.range_total ? r->x.hdr.range_total : offset;
            st->size_known = true;
            *result = STORE_OK;
            return &r->base;
        }
        if (!xfer_retryable(&r->x) || attempt >= cfg->max_retries) {
            *result = r->x.result == CURLE_OK && !xfer_status_ok(&r->x)
                          ? ops->http_error(ctx, &r->x, err)
                          : (int)n;
            break;
        }
        if ((*result = xfer_backoff(&r->x, attempt)) < 0) {
            rk_err_set(err, "%s: cancelled", ops->what(ctx));
            break;
        }
    }
    reader_free(&r->base);
    return NULL;
}
