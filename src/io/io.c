/* The sink and source life cycles, and the terminal streams (fd, memory,
 * callbacks, tee). The generic wrappers enforce the state machine so that each
 * implementation only handles the happy path of its own stage. */
#include "io/io.h"
#include "io/io_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------- sink core -- */

void io_sink_init(struct io_sink *s, const struct io_sink_ops *ops, struct io_sink *next)
{
    s->ops = ops;
    s->next = next;
    s->state = IO_OPEN;
    s->write_from = NULL;
}

int io_sink_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err)
{
    if (s->state != IO_OPEN)
        return rk_err_set(err, "%s: write after %s", s->ops->name,
                          s->state == IO_FAILED ? "an error" : "close");
    if (len == 0) return 0;
    if (s->ops->write(s, data, len, err) < 0) {
        s->state = IO_FAILED;
        return -1;
    }
    return 0;
}

int io_sink_close(struct io_sink *s, struct rk_err *err)
{
    if (s->state != IO_OPEN) {
        if (s->state == IO_CLOSED) return 0;
        return rk_err_set(err, "%s: close after %s", s->ops->name,
                          s->state == IO_FAILED ? "an error" : "abort");
    }
    if (s->ops->close(s, err) < 0) {
        s->state = IO_FAILED;
        /* A stage that failed to finish must not leave its followers half
         * committed: abort whatever is still open downstream. */
        for (struct io_sink *n = s->next; n; n = n->next)
            if (n->state == IO_OPEN || n->state == IO_FAILED) {
                io_sink_abort(n);
                break;
            }
        return -1;
    }
    s->state = IO_CLOSED;
    return 0;
}

void io_sink_abort(struct io_sink *s)
{
    if (s->state == IO_CLOSED || s->state == IO_ABORTED) return;
    s->state = IO_ABORTED;
    s->ops->abort(s);
}

void io_sink_free(struct io_sink *s)
{
    while (s) {
        if (s->state == IO_OPEN || s->state == IO_FAILED) io_sink_abort(s);
        struct io_sink *next = s->next;
        s->ops->free(s);
        s = next;
    }
}

/* Helpers for filters: pass close/abort down the chain. */
static int close_next(struct io_sink *s, struct rk_err *err)
{
    return s->next ? io_sink_close(s->next, err) : 0;
}

static void abort_next(struct io_sink *s)
{
    if (s->next) io_sink_abort(s->next);
}

/* ----------------------------------------------------------- source core -- */

void io_source_init(struct io_source *s, const struct io_source_ops *ops,
                    struct io_source *upstream)
{
    s->ops = ops;
    s->upstream = upstream;
    s->failed = false;
    s->ended = false;
    s->pump = NULL;
}

ssize_t io_source_read(struct io_source *s, void *buf, size_t cap, struct rk_err *err)
{
    if (s->failed) return rk_err_set(err, "%s: read after an error", s->ops->name);
    if (s->ended || cap == 0) return 0;
    ssize_t n = s->ops->read(s, buf, cap, err);
    if (n < 0) {
        s->failed = true;
        return -1;
    }
    if (n == 0) s->ended = true;
    return n;
}

ssize_t io_source_read_full(struct io_source *s, void *buf, size_t len, struct rk_err *err)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = io_source_read(s, (char *)buf + got, len - got, err);
        if (n < 0) return -1;
        if (n == 0) break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

void io_source_free(struct io_source *s)
{
    while (s) {
        struct io_source *up = s->upstream;
        s->ops->free(s);
        s = up;
    }
}

static int copy_loop(struct io_source *src, struct io_sink *dst, uint64_t *copied,
                     struct rk_err *err)
{
    /* Large: a network source then delivers straight into it (one copy). */
    enum { CHUNK = 4 << 20 };
    unsigned char *buf = xmalloc(CHUNK);
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = io_source_read(src, buf, CHUNK, err);
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0) break;
        if (io_sink_write(dst, buf, (size_t)n, err) < 0) {
            rc = -1;
            break;
        }
        total += (uint64_t)n;
    }
    free(buf);
    *copied = total;
    return rc;
}

/* Runs src's pump into dst, if it has one and is still open (else
 * IO_DECLINED), and records how it ended. */
static int source_pump(struct io_source *src, struct io_sink *dst, uint64_t *copied,
                       struct rk_err *err)
{
    if (!src->pump || src->failed || src->ended) return IO_DECLINED;
    int rc = src->pump(src, dst, copied, err);
    if (rc < 0)
        src->failed = true;
    else if (rc == 0)
        src->ended = true;
    return rc;
}

int io_sink_write_from(struct io_sink *s, struct io_source *src, uint64_t *copied,
                       struct rk_err *err)
{
    uint64_t local = 0;
    if (!copied) copied = &local;
    *copied = 0;
    if (s->state != IO_OPEN)
        return rk_err_set(err, "%s: write after %s", s->ops->name,
                          s->state == IO_FAILED ? "an error" : "close");
    int rc = IO_DECLINED;
    if (s->write_from) rc = s->write_from(s, src, copied, err);
    if (rc == IO_DECLINED) rc = source_pump(src, s, copied, err);
    if (rc == IO_DECLINED) return copy_loop(src, s, copied, err);
    if (rc < 0 && s->state == IO_OPEN) s->state = IO_FAILED;
    return rc < 0 ? -1 : 0;
}

int io_copy(struct io_source *src, struct io_sink *dst, uint64_t *copied, struct rk_err *err)
{
    return io_sink_write_from(dst, src, copied, err);
}

/* --------------------------------------------------------------- fd sink -- */

struct fd_sink {
    struct io_sink base;
    int fd;
    bool close_fd;
    bool fsync_on_close;
    uint64_t offset;
};

static int fd_sink_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err)
{
    struct fd_sink *f = (struct fd_sink *)s;
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return rk_err_set(err, "write failed at byte %llu: %s", (unsigned long long)f->offset,
                              strerror(errno));
        }
        p += n;
        len -= (size_t)n;
        f->offset += (uint64_t)n;
    }
    return 0;
}

static int fd_sink_close(struct io_sink *s, struct rk_err *err)
{
    struct fd_sink *f = (struct fd_sink *)s;
    int rc = 0;
    /* fsync fails with EINVAL on pipes and terminals, which have nothing to sync. */
    if (f->fsync_on_close && fsync(f->fd) < 0 && errno != EINVAL && errno != EROFS)
        rc = rk_err_set(err, "fsync failed: %s", strerror(errno));
    if (f->close_fd) {
        if (close(f->fd) < 0 && rc == 0) rc = rk_err_set(err, "close failed: %s", strerror(errno));
        f->fd = -1;
    }
    return rc;
}

static void fd_sink_abort(struct io_sink *s)
{
    struct fd_sink *f = (struct fd_sink *)s;
    if (f->close_fd && f->fd >= 0) close(f->fd);
    f->fd = -1;
}

static void plain_free(struct io_sink *s)
{
    free(s);
}

static const struct io_sink_ops fd_sink_ops = {
    .name = "file",
    .write = fd_sink_write,
    .close = fd_sink_close,
    .abort = fd_sink_abort,
    .free = plain_free,
};

struct io_sink *io_fd_sink_new(int fd, bool close_fd, bool fsync_on_close)
{
    struct fd_sink *f = xcalloc(1, sizeof(*f));
    io_sink_init(&f->base, &fd_sink_ops, NULL);
    f->fd = fd;
    f->close_fd = close_fd;
    f->fsync_on_close = fsync_on_close;
    return &f->base;
}

/* ------------------------------------------------------- buf / null sink -- */

struct buf_sink {
    struct io_sink base;
    struct rk_buf *out;
};

static int buf_sink_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err)
{
    rk_buf_append(((struct buf_sink *)s)->out, data, len);
    return 0;
}

static int nothing_to_close(struct io_sink *s, struct rk_err *err)
{
    return 0;
}

static void nothing_to_abort(struct io_sink *s)
{
}

static const struct io_sink_ops buf_sink_ops = {
    .name = "memory",
    .write = buf_sink_write,
    .close = nothing_to_close,
    .abort = nothing_to_abort,
    .free = plain_free,
};

struct io_sink *io_buf_sink_new(struct rk_buf *out)
{
    struct buf_sink *b = xcalloc(1, sizeof(*b));
    io_sink_init(&b->base, &buf_sink_ops, NULL);
    b->out = out;
    return &b->base;
}

static int null_sink_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err)
{
    return 0;
}

static const struct io_sink_ops null_sink_ops = {
    .name = "null",
    .write = null_sink_write,
    .close = nothing_to_close,
    .abort = nothing_to_abort,
    .free = plain_free,
};

struct io_sink *io_null_sink_new(void)
{
    struct io_sink *s = xcalloc(1, sizeof(*s));
    io_sink_init(s, &null_sink_ops, NULL);
    return s;
}

/* --------------------------------------------------------- callback sink -- */

struct fn_sink {
    struct io_sink base;
    io_write_fn write_fn;
    io_close_fn close_fn;
    io_abort_fn abort_fn;
    void *arg;
};

static int fn_sink_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err)
{
    struct fn_sink *f = (struct fn_sink *)s;
    return f->write_fn(f->arg, data, len, err) < 0 ? -1 : 0;
}

static int fn_sink_close(struct io_sink *s, struct rk_err *err)
{
    struct fn_sink *f = (struct fn_sink *)s;
    return f->close_fn && f->close_fn(f->arg, err) < 0 ? -1 : 0;
}

static void fn_sink_abort(struct io_sink *s)
{
    struct fn_sink *f = (struct fn_sink *)s;
    if (f->abort_fn) f->abort_fn(f->arg);
}

static const struct io_sink_ops fn_sink_ops = {
    .name = "callback",
    .write = fn_sink_write,
    .close = fn_sink_close,
    .abort = fn_sink_abort,
    .free = plain_free,
};

struct io_sink *io_fn_sink_new(io_write_fn write_fn, io_close_fn close_fn, io_abort_fn abort_fn,
                               void *arg)
{
    struct fn_sink *f = xcalloc(1, sizeof(*f));
    io_sink_init(&f->base, &fn_sink_ops, NULL);
    f->write_fn = write_fn;
    f->close_fn = close_fn;
    f->abort_fn = abort_fn;
    f->arg = arg;
    return &f->base;
}

/* ------------------------------------------------------------------- tee -- */

/* The tee's second branch is not its "next" (a chain is a list), so it frees
 * that branch itself. */
struct tee_sink {
    struct io_sink base; /* next = branch a */
    struct io_sink *b;
};

static int tee_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err)
{
    struct tee_sink *t = (struct tee_sink *)s;
    if (io_sink_write(s->next, data, len, err) < 0) return -1;
    return io_sink_write(t->b, data, len, err);
}

static int tee_close(struct io_sink *s, struct rk_err *err)
{
    struct tee_sink *t = (struct tee_sink *)s;
    if (io_sink_close(s->next, err) < 0) {
        io_sink_abort(t->b);
        return -1;
    }
    /* a is already committed when b fails; nothing can undo that, so callers
     * put the stage that can fail for content reasons (a verifier) first. */
    return io_sink_close(t->b, err);
}

static void tee_abort(struct io_sink *s)
{
    struct tee_sink *t = (struct tee_sink *)s;
    abort_next(s);
    io_sink_abort(t->b);
}

static void tee_free(struct io_sink *s)
{
    struct tee_sink *t = (struct tee_sink *)s;
    io_sink_free(t->b);
    free(t);
}

static const struct io_sink_ops tee_ops = {
    .name = "tee",
    .write = tee_write,
    .close = tee_close,
    .abort = tee_abort,
    .free = tee_free,
};

struct io_sink *io_tee_new(struct io_sink *a, struct io_sink *b)
{
    struct tee_sink *t = xcalloc(1, sizeof(*t));
    io_sink_init(&t->base, &tee_ops, a);
    t->b = b;
    return &t->base;
}

/* ------------------------------------------------------- origin sources -- */

struct fd_source {
    struct io_source base;
    int fd;
    bool close_fd;
    uint64_t offset;
    bool (*cancelled)(void *);
    void *cancel_arg;
};

/* Until fd has something to read, or the caller gave up. */
static int fd_source_wait(struct fd_source *f, struct rk_err *err)
{
    for (;;) {
        if (f->cancelled(f->cancel_arg))
            return rk_err_set(err, "cancelled at byte %llu", (unsigned long long)f->offset);
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        int n = poll(&p, 1, 200);
        if (n > 0) return 0; /* readable, at its end, or failed: read says which */
        if (n < 0 && errno != EINTR)
            return rk_err_set(err, "poll failed at byte %llu: %s", (unsigned long long)f->offset,
                              strerror(errno));
    }
}

static ssize_t fd_source_read(struct io_source *s, void *buf, size_t cap, struct rk_err *err)
{
    struct fd_source *f = (struct fd_source *)s;
    if (f->cancelled && fd_source_wait(f, err) < 0) return -1;
    for (;;) {
        ssize_t n = read(f->fd, buf, cap);
        if (n >= 0) {
            f->offset += (uint64_t)n;
            return n;
        }
        if (errno != EINTR)
            return rk_err_set(err, "read failed at byte %llu: %s", (unsigned long long)f->offset,
                              strerror(errno));
    }
}

static void fd_source_free(struct io_source *s)
{
    struct fd_source *f = (struct fd_source *)s;
    if (f->close_fd && f->fd >= 0) close(f->fd);
    free(f);
}

static const struct io_source_ops fd_source_ops = {"file", fd_source_read, fd_source_free};

struct io_source *io_fd_source_new(int fd, bool close_fd)
{
    struct fd_source *f = xcalloc(1, sizeof(*f));
    io_source_init(&f->base, &fd_source_ops, NULL);
    f->fd = fd;
    f->close_fd = close_fd;
    return &f->base;
}

struct io_source *io_fd_source_new_cancellable(int fd, bool close_fd, bool (*cancelled)(void *),
                                               void *cancel_arg)
{
    struct io_source *s = io_fd_source_new(fd, close_fd);
    struct fd_source *f = (struct fd_source *)s;
    f->cancelled = cancelled;
    f->cancel_arg = cancel_arg;
    return s;
}

struct mem_source {
    struct io_source base;
    const unsigned char *data;
    size_t len, pos;
};

static ssize_t mem_source_read(struct io_source *s, void *buf, size_t cap, struct rk_err *err)
{
    struct mem_source *m = (struct mem_source *)s;
    size_t n = m->len - m->pos < cap ? m->len - m->pos : cap;
    if (n) memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static void plain_source_free(struct io_source *s)
{
    free(s);
}

static const struct io_source_ops mem_source_ops = {"memory", mem_source_read, plain_source_free};

struct io_source *io_mem_source_new(const void *data, size_t len)
{
    struct mem_source *m = xcalloc(1, sizeof(*m));
    io_source_init(&m->base, &mem_source_ops, NULL);
    m->data = data;
    m->len = len;
    return &m->base;
}

struct fn_source {
    struct io_source base;
    io_read_fn read_fn;
    io_free_fn free_fn;
    void *arg;
};

static ssize_t fn_source_read(struct io_source *s, void *buf, size_t cap, struct rk_err *err)
{
    struct fn_source *f = (struct fn_source *)s;
    ssize_t n = f->read_fn(f->arg, buf, cap, err);
    return n < 0 ? -1 : n;
}

static void fn_source_free(struct io_source *s)
{
    struct fn_source *f = (struct fn_source *)s;
    if (f->free_fn) f->free_fn(f->arg);
    free(f);
}

static const struct io_source_ops fn_source_ops = {"callback", fn_source_read, fn_source_free};

struct io_source *io_fn_source_new(io_read_fn read_fn, io_free_fn free_fn, void *arg)
{
    struct fn_source *f = xcalloc(1, sizeof(*f));
    io_source_init(&f->base, &fn_source_ops, NULL);
    f->read_fn = read_fn;
    f->free_fn = free_fn;
    f->arg = arg;
    return &f->base;
}

/* ------------------------------------------------------------- counting -- */

struct count_sink {
    struct io_sink base;
    struct io_counter *counter;
};

/* Adds n to the counter and tells its on_count hook. */
static int count_add(struct io_counter *counter, uint64_t n, struct rk_err *err)
{
    uint64_t total = atomic_fetch_add_explicit(&counter->bytes, n, memory_order_relaxed) + n;
    if (counter->on_count && counter->on_count(counter->on_count_arg, total))
        return rk_err_set(err, "cancelled");
    return 0;
}

static int count_sink_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err)
{
    struct count_sink *c = (struct count_sink *)s;
    if (io_sink_write(s->next, data, len, err) < 0) return -1;
    return count_add(c->counter, len, err);
}

static const struct io_sink_ops count_sink_ops = {
    .name = "counter",
    .write = count_sink_write,
    .close = close_next,
    .abort = abort_next,
    .free = plain_free,
};

struct io_sink *io_count_sink_new(struct io_sink *next, struct io_counter *counter)
{
    struct count_sink *c = xcalloc(1, sizeof(*c));
    io_sink_init(&c->base, &count_sink_ops, next);
    c->counter = counter;
    return &c->base;
}

struct count_source {
    struct io_source base;
    struct io_counter *counter;
};

static ssize_t count_source_read(struct io_source *s, void *buf, size_t cap, struct rk_err *err)
{
    struct count_source *c = (struct count_source *)s;
    ssize_t n = io_source_read(s->upstream, buf, cap, err);
    if (n > 0 && count_add(c->counter, (uint64_t)n, err) < 0) return -1;
    return n;
}

static const struct io_source_ops count_source_ops = {"counter", count_source_read,
                                                      plain_source_free};

static int count_source_pump(struct io_source *s, struct io_sink *dst, uint64_t *copied,
                             struct rk_err *err)
{
    struct count_source *c = (struct count_source *)s;
    /* The upstream pumps into a count sink that counts on its way to dst: on
     * the stack, never closed or freed, so it only borrows dst. */
    struct count_sink tap;
    io_sink_init(&tap.base, &count_sink_ops, dst);
    tap.counter = c->counter;
    return source_pump(s->upstream, &tap.base, copied, err);
}

struct io_source *io_count_source_new(struct io_source *upstream, struct io_counter *counter)
{
    struct count_source *c = xcalloc(1, sizeof(*c));
    io_source_init(&c->base, &count_source_ops, upstream);
    c->base.pump = count_source_pump;
    c->counter = counter;
    return &c->base;
}

int io_filter_close_next(struct io_sink *s, struct rk_err *err)
{
    return close_next(s, err);
}

void io_filter_abort_next(struct io_sink *s)
{
    abort_next(s);
}
