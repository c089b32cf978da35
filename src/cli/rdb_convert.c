/* rdbkeep rdb convert --target-version N [--drop-expired] IN OUT */
#include "cli/rdb_tools.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The output file. A conversion writes hundreds of megabytes it will not
 * read back, so it bypasses the page cache (O_DIRECT) where the filesystem
 * allows: on this kind of machine that is several times faster and far
 * steadier than buffered writes. Direct writes block until the device has
 * the data, so a writer thread does them while parsing goes on, with a few
 * aligned buffers passed between the two. The tail, shorter than an aligned
 * block, is written after O_DIRECT is switched off. */
#define DIRECT_ALIGN 4096
#define DIRECT_BUF   (1u << 20)
#define NBUFS        4

struct out_buf {
    unsigned char *data;
    size_t len;
};

struct convert_out {
    int fd;
    const char *path;
    bool direct;
    /* direct mode: buffers cycle free -> filling -> queued -> written -> free */
    struct out_buf bufs[NBUFS];
    int filling;       /* index being filled by the parser */
    int queue[NBUFS];  /* indexes waiting for the writer thread, in order */
    int queued, head;
    bool busy[NBUFS];  /* queued or being written */
    bool stop;
    int error;         /* errno of the first failed write, 0 if none */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool thread_started;
};

static int write_fd(int fd, const unsigned char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *writer_thread(void *arg)
{
    struct convert_out *o = arg;
    pthread_mutex_lock(&o->lock);
    for (;;) {
        while (!o->queued && !o->stop) pthread_cond_wait(&o->cond, &o->lock);
        if (!o->queued) break;
        int i = o->queue[o->head];
        pthread_mutex_unlock(&o->lock);
        struct out_buf *b = &o->bufs[i];
        int e = 0;
        if (b->len % DIRECT_ALIGN) { /* the tail */
            int flags = fcntl(o->fd, F_GETFL);
            if (flags < 0 || fcntl(o->fd, F_SETFL, flags & ~O_DIRECT) < 0) e = errno;
        }
        if (!e) e = write_fd(o->fd, b->data, b->len);
        pthread_mutex_lock(&o->lock);
        if (e && !o->error) o->error = e;
        o->head = (o->head + 1) % NBUFS;
        o->queued--;
        o->busy[i] = false;
        pthread_cond_broadcast(&o->cond);
    }
    pthread_mutex_unlock(&o->lock);
    return NULL;
}

/* Hands the buffer being filled to the writer thread and takes a free one. */
static int queue_filling(struct convert_out *o, struct rk_err *err)
{
    pthread_mutex_lock(&o->lock);
    int i = o->filling;
    o->queue[(o->head + o->queued) % NBUFS] = i;
    o->queued++;
    o->busy[i] = true;
    pthread_cond_broadcast(&o->cond);
    int next = (i + 1) % NBUFS;
    while (o->busy[next] && !o->error) pthread_cond_wait(&o->cond, &o->lock);
    int e = o->error;
    pthread_mutex_unlock(&o->lock);
    o->filling = next;
    o->bufs[next].len = 0;
    if (e) return rk_err_set(err, "writing %s: %s", o->path, strerror(e));
    return 0;
}

static int write_out(void *ctx, const void *data, size_t len, struct rk_err *err)
{
    struct convert_out *o = ctx;
    if (!o->direct) {
        int e = write_fd(o->fd, data, len);
        return e ? rk_err_set(err, "writing %s: %s", o->path, strerror(e)) : 0;
    }
    const unsigned char *p = data;
    while (len) {
        struct out_buf *b = &o->bufs[o->filling];
        size_t n = DIRECT_BUF - b->len < len ? DIRECT_BUF - b->len : len;
        memcpy(b->data + b->len, p, n);
        b->len += n;
        p += n;
        len -= n;
        if (b->len == DIRECT_BUF && queue_filling(o, err)) return -1;
    }
    return 0;
}

/* Writes what is left and waits for the writer thread. */
static int finish_out(struct convert_out *o, bool ok, struct rk_err *err)
{
    if (!o->thread_started) return 0;
    int rc = 0;
    if (ok && o->bufs[o->filling].len) rc = queue_filling(o, err);
    pthread_mutex_lock(&o->lock);
    o->stop = true;
    pthread_cond_broadcast(&o->cond);
    pthread_mutex_unlock(&o->lock);
    pthread_join(o->thread, NULL);
    o->thread_started = false;
    if (ok && !rc && o->error)
        rc = rk_err_set(err, "writing %s: %s", o->path, strerror(o->error));
    return rc;
}

static int open_out(struct convert_out *o, const char *tmp)
{
    o->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0644);
    o->direct = o->fd >= 0;
    if (o->fd < 0 && errno == EINVAL) /* tmpfs and some others refuse O_DIRECT */
        o->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0) return -1;
    if (!o->direct) return 0;
    for (int i = 0; i < NBUFS; i++)
        if (posix_memalign((void **)&o->bufs[i].data, DIRECT_ALIGN, DIRECT_BUF) != 0)
            rk_panic("out of memory for the output buffers");
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->cond, NULL);
    if (pthread_create(&o->thread, NULL, writer_thread, o) != 0) rk_panic("cannot start a thread");
    o->thread_started = true;
    return 0;
}

static void free_out(struct convert_out *o)
{
    if (!o->direct) return;
    for (int i = 0; i < NBUFS; i++) free(o->bufs[i].data);
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->cond);
}

static void print_warnings(const struct rdb_writer_stats *s, int target)
{
    if (s->field_ttls_dropped)
        fprintf(stderr, "warning: %llu hash field TTLs dropped: RDB %d cannot store them (12 can)\n",
                (unsigned long long)s->field_ttls_dropped, target);
    if (s->functions_dropped)
        fprintf(stderr, "warning: %llu function libraries dropped: RDB %d has no functions\n",
                (unsigned long long)s->functions_dropped, target);
    if (s->module_aux_dropped)
        fprintf(stderr, "warning: %llu module aux records dropped: RDB %d cannot store them\n",
                (unsigned long long)s->module_aux_dropped, target);
    if (s->stream_idmp_dropped)
        fprintf(stderr, "warning: idempotency data of %llu streams dropped (RDB 13 only)\n",
                (unsigned long long)s->stream_idmp_dropped);
}

int cli_rdb_convert(int argc, char **argv)
{
    struct rdb_writer_options wo = {0};
    const char *paths[2] = {NULL, NULL};
    int npaths = 0;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--target-version") == 0 || strcmp(a, "-t") == 0) {
            int64_t v;
            if (i + 1 >= argc || rk_parse_i64(argv[++i], &v) || v < 0 || v > 1000)
                return cli_usage_error("rdb", "convert: --target-version needs a number");
            wo.target_version = (int)v;
        } else if (strcmp(a, "--drop-expired") == 0) {
            wo.drop_expired = true;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("rdb", "convert: unknown option %s", a);
        } else if (npaths < 2) {
            paths[npaths++] = a;
        } else {
            return cli_usage_error("rdb", "convert: one input and one output");
        }
    }
    if (!wo.target_version) return cli_usage_error("rdb", "convert: --target-version is required");
    if (npaths != 2) return cli_usage_error("rdb", "convert: IN and OUT are required");
    if (wo.target_version < RDB_WRITER_MIN_VERSION || wo.target_version > RDB_WRITER_MAX_VERSION)
        return cli_usage_error("rdb", "convert: target version %d: versions %d to %d can be written",
                               wo.target_version, RDB_WRITER_MIN_VERSION, RDB_WRITER_MAX_VERSION);

    struct rk_err err;
    struct rdb_input in;
    if (rdb_input_open(&in, paths[0], &err)) {
        fprintf(stderr, "%s: %s\n", paths[0], err.msg);
        return CLI_EXIT_FAIL;
    }
    /* A file appears under its name only once it is complete (temporary name,
     * then rename). Anything else that exists there (a device such as
     * /dev/null, a FIFO) is written in place: renaming over it would replace it. */
    struct convert_out out = {.fd = STDOUT_FILENO, .path = "stdout"};
    char *tmp = NULL;
    struct stat st;
    bool in_place = strcmp(paths[1], "-") != 0 && stat(paths[1], &st) == 0 && !S_ISREG(st.st_mode);
    if (in_place) {
        out.path = paths[1];
        out.fd = open(paths[1], O_WRONLY | O_CLOEXEC);
        if (out.fd < 0 || S_ISDIR(st.st_mode)) {
            fprintf(stderr, "%s: %s\n", paths[1], S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
            if (out.fd >= 0) close(out.fd);
            rdb_input_close(&in);
            return CLI_EXIT_FAIL;
        }
    } else if (strcmp(paths[1], "-") != 0) {
        tmp = xasprintf("%s.tmp-%ld", paths[1], (long)getpid());
        out.path = paths[1];
        if (open_out(&out, tmp) < 0) {
            fprintf(stderr, "%s: %s\n", paths[1], strerror(errno));
            free(tmp);
            rdb_input_close(&in);
            return CLI_EXIT_FAIL;
        }
    }
    struct rdb_writer *w = rdb_writer_new(&wo, write_out, &out, &err);
    struct rdb_reader *r = rdb_reader_new(NULL, rdb_writer_event, w);
    int rc = rdb_input_run(&in, r, quiet ? NULL : "converting", &err);
    if (!rc && !rdb_writer_complete(w)) rc = rk_err_set(&err, "the output is incomplete");
    if (finish_out(&out, rc == 0, rc ? NULL : &err)) rc = -1;
    if (!rc && tmp && (fsync(out.fd) || close(out.fd))) {
        rc = rk_err_set(&err, "writing %s: %s", paths[1], strerror(errno));
        out.fd = -1;
    } else if (tmp) {
        if (rc) close(out.fd);
        out.fd = -1;
    }
    if (!rc && tmp && rename(tmp, paths[1]))
        rc = rk_err_set(&err, "renaming to %s: %s", paths[1], strerror(errno));
    if (rc) {
        fprintf(stderr, "%s%s: %s\n", in.name, in.gzip.gzip ? " (after gunzip)" : "", err.msg);
        if (tmp) unlink(tmp);
    } else {
        const struct rdb_writer_stats *s = rdb_writer_stats(w);
        print_warnings(s, wo.target_version);
        if (!quiet)
            fprintf(stderr, "%s: %llu keys written for RDB %d (%llu rewritten, %llu expired and "
                            "%llu empty left out), %llu bytes\n", out.path,
                    (unsigned long long)s->keys, wo.target_version,
                    (unsigned long long)s->keys_rewritten, (unsigned long long)s->keys_expired,
                    (unsigned long long)s->keys_empty, (unsigned long long)s->bytes);
    }
    if (in_place) close(out.fd);
    rdb_reader_free(r);
    rdb_writer_free(w);
    rdb_input_close(&in);
    free(tmp);
    free_out(&out);
    return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
