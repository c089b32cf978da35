/* Runs a transform (io_int.h) as a sink filter or as a source filter, so each
 * codec is written once and works in both directions. */
#include "io/io_int.h"

#include <stdlib.h>
#include <string.h>

enum { XFORM_BUF = 256 * 1024 };

/* ------------------------------------------------------------------ sink -- */

struct xform_sink {
    struct io_sink base;
    struct io_xform *x;
    unsigned char *out;
};

static int xform_sink_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err)
{
    struct xform_sink *xs = (struct xform_sink *)s;
    const unsigned char *in = data;
    size_t inlen = len;
    size_t produced = XFORM_BUF;
    /* Keep going while input remains or the last call filled the buffer (the
     * transform may hold more output than one buffer). */
    while (inlen > 0 || produced == XFORM_BUF) {
        size_t before = inlen;
        bool done = false;
        produced = 0;
        if (xs->x->step(xs->x, &in, &inlen, xs->out, XFORM_BUF, &produced, false, &done, err) < 0)
            return -1;
        if (produced && io_sink_write(s->next, xs->out, produced, err) < 0) return -1;
        if (done && inlen > 0)
            return rk_err_set(err, "%s: data after the end of the stream", xs->x->name);
        if (!produced && before == inlen) {
            if (inlen > 0) return rk_err_set(err, "%s: the codec made no progress", xs->x->name);
            break;
        }
    }
    return 0;
}

static int xform_sink_close(struct io_sink *s, struct rk_err *err)
{
    struct xform_sink *xs = (struct xform_sink *)s;
    bool done = false;
    while (!done) {
        const unsigned char *in = NULL;
        size_t inlen = 0, produced = 0;
        if (xs->x->step(xs->x, &in, &inlen, xs->out, XFORM_BUF, &produced, true, &done, err) < 0)
            return -1;
        if (produced && io_sink_write(s->next, xs->out, produced, err) < 0) return -1;
        if (!produced && !done)
            return rk_err_set(err, "%s: the encoder stopped before the end", xs->x->name);
    }
    return io_filter_close_next(s, err);
}

static void xform_sink_free(struct io_sink *s)
{
    struct xform_sink *xs = (struct xform_sink *)s;
    xs->x->free(xs->x);
    free(xs->out);
    free(xs);
}

static const struct io_sink_ops xform_sink_ops = {
    .name = "transform",
    .write = xform_sink_write,
    .close = xform_sink_close,
    .abort = io_filter_abort_next,
    .free = xform_sink_free,
};

struct io_sink *io_xform_sink_new(struct io_sink *next, struct io_xform *x)
{
    struct xform_sink *xs = xcalloc(1, sizeof(*xs));
    io_sink_init(&xs->base, &xform_sink_ops, next);
    xs->x = x;
    xs->out = xmalloc(XFORM_BUF);
    return &xs->base;
}

/* ---------------------------------------------------------------- source -- */

struct xform_source {
    struct io_source base;
    struct io_xform *x;
    unsigned char *in;
    size_t pos, len;
    bool upstream_ended;
    bool done;
};

static ssize_t xform_source_read(struct io_source *s, void *buf, size_t cap, struct rk_err *err)
{
    struct xform_source *xs = (struct xform_source *)s;
    for (;;) {
        if (xs->done) return 0;
        if (xs->pos == xs->len && !xs->upstream_ended) {
            ssize_t n = io_source_read(s->upstream, xs->in, XFORM_BUF, err);
            if (n < 0) return -1;
            xs->pos = 0;
            xs->len = (size_t)n;
            if (n == 0) xs->upstream_ended = true;
        }
        const unsigned char *in = xs->in + xs->pos;
        size_t inlen = xs->len - xs->pos, before = inlen, produced = 0;
        if (xs->x->step(xs->x, &in, &inlen, buf, cap, &produced, xs->upstream_ended, &xs->done,
                        err) < 0)
            return -1;
        xs->pos = xs->len - inlen;
        if (xs->done && inlen > 0)
            return rk_err_set(err, "%s: data after the end of the stream", xs->x->name);
        if (produced) return (ssize_t)produced;
        if (xs->done) return 0;
        if (before == inlen && (inlen > 0 || xs->upstream_ended))
            return rk_err_set(err, "%s: the decoder made no progress", xs->x->name);
    }
}

static void xform_source_free(struct io_source *s)
{
    struct xform_source *xs = (struct xform_source *)s;
    xs->x->free(xs->x);
    free(xs->in);
    free(xs);
}

static const struct io_source_ops xform_source_ops = {"transform", xform_source_read,
                                                      xform_source_free};

struct io_source *io_xform_source_new(struct io_source *upstream, struct io_xform *x)
{
    struct xform_source *xs = xcalloc(1, sizeof(*xs));
    io_source_init(&xs->base, &xform_source_ops, upstream);
    xs->x = x;
    xs->in = xmalloc(XFORM_BUF);
    return &xs->base;
}
