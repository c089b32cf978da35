/* Local file system. A write goes to a temporary name in the target's own
 * directory (so the final rename cannot cross file systems), is fsynced,
 * renamed into place, and the directory is fsynced so the rename survives a
 * crash. An abort unlinks the temporary file. */
#include "store/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Temporary names carry this marker; listings hide them. */
#define TMP_MARK ".rdbkeep-tmp."

static int errno_result(int e)
{
    if (e == ENOENT || e == ENOTDIR) return STORE_NOT_FOUND;
    if (e == EACCES || e == EPERM || e == EROFS) return STORE_DENIED;
    return STORE_FAIL;
}

static int local_stat(const struct store_config *cfg, const struct store_uri *u,
                      struct store_stat *st, struct rk_err *err)
{
    struct stat sb;
    if (stat(u->path, &sb) < 0) {
        int e = errno;
        rk_err_set(err, "local: %s: %s", u->path, strerror(e));
        return errno_result(e);
    }
    if (S_ISDIR(sb.st_mode)) {
        rk_err_set(err, "local: %s is a directory", u->path);
        return STORE_FAIL;
    }
    /* A FIFO or a device (a process substitution, /dev/stdin) is read as a
     * stream whose size is known only at its end. */
    st->size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
    st->size_known = S_ISREG(sb.st_mode);
    st->mtime_ms = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
    return STORE_OK;
}

struct entry {
    char *key;
    uint64_t size;
    int64_t mtime_ms;
};

struct walk {
    struct entry *items;
    size_t n, cap;
};

static void walk_add(struct walk *w, const char *path, const struct stat *sb)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->items = xrealloc(w->items, w->cap * sizeof(*w->items));
    }
    w->items[w->n++] =
        (struct entry){xstrdup(path), (uint64_t)sb->st_size,
                       (int64_t)sb->st_mtim.tv_sec * 1000 + sb->st_mtim.tv_nsec / 1000000};
}

/* Adds every regular file under dir whose name starts with prefix (all names
 * when prefix is empty), recursing into matching directories. */
static int walk_dir(struct walk *w, const char *dir, const char *prefix, int depth,
                    struct rk_err *err)
{
    if (depth > 64) return rk_err_set(err, "local: %s: directories nested too deeply", dir);
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        rk_err_set(err, "local: %s: %s", dir, strerror(e));
        return errno_result(e);
    }
    size_t plen = strlen(prefix);
    struct dirent *de;
    int rc = STORE_OK;
    while (rc == STORE_OK && (de = readdir(d))) {
        const char *name = de->d_name;
        if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
        if (strncmp(name, prefix, plen) != 0) continue;
        if (strstr(name, TMP_MARK)) continue;
        char *path = xasprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
        struct stat sb;
        /* lstat first: a symlinked directory is not followed (no loops). */
        if (lstat(path, &sb) == 0) {
            if (S_ISDIR(sb.st_mode))
                rc = walk_dir(w, path, "", depth + 1, err);
            else if (S_ISREG(sb.st_mode) ||
                     (S_ISLNK(sb.st_mode) && stat(path, &sb) == 0 && S_ISREG(sb.st_mode)))
                walk_add(w, path, &sb);
        }
        free(path);
    }
    closedir(d);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

static int local_list(const struct store_config *cfg, const struct store_uri *u, store_list_fn fn,
                      void *arg, struct rk_err *err)
{
    const char *p = u->path;
    size_t len = strlen(p);
    char *dir, *prefix;
    if (p[len - 1] == '/') {
        dir = xstrdup(p);
        prefix = xstrdup("");
    } else {
        char *a = xstrdup(p), *b = xstrdup(p);
        dir = xstrdup(dirname(a));
        prefix = xstrdup(basename(b));
        free(a);
        free(b);
    }
    struct walk w = {0};
    int rc = walk_dir(&w, dir, prefix, 0, err);
    if (rc == STORE_OK) {
        if (w.n) qsort(w.items, w.n, sizeof(*w.items), cmp_entry);
        for (size_t i = 0; i < w.n && rc == STORE_OK; i++) {
            struct store_entry e = {w.items[i].key, w.items[i].size, w.items[i].mtime_ms};
            rc = fn(arg, &e);
        }
    }
    for (size_t i = 0; i < w.n; i++) free(w.items[i].key);
    free(w.items);
    free(dir);
    free(prefix);
    return rc;
}

static int local_remove(const struct store_config *cfg, const struct store_uri *u,
                        struct rk_err *err)
{
    struct stat sb;
    if (lstat(u->path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        rk_err_set(err, "local: %s is a directory (only files are deleted)", u->path);
        return STORE_FAIL;
    }
    if (unlink(u->path) < 0) {
        int e = errno;
        rk_err_set(err, "local: cannot delete %s: %s", u->path, strerror(e));
        return errno_result(e);
    }
    return STORE_OK;
}

int store_local_remove_partial(const struct store_uri *u, struct rk_err *err)
{
    const char *slash = strrchr(u->path, '/');
    if (!slash || !slash[1]) {
        rk_err_set(err, "local: %s names no file", u->path);
        return STORE_BAD_URI;
    }
    char *dir = slash == u->path ? xstrdup("/") : xstrndup(u->path, (size_t)(slash - u->path));
    /* The names local_open_write gives its temporary files. */
    char *prefix = xasprintf(".%.100s" TMP_MARK, slash + 1);
    size_t plen = strlen(prefix);
    int rc = STORE_OK;
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        if (errno_result(e) != STORE_NOT_FOUND) {
            rk_err_set(err, "local: cannot read %s: %s", dir, strerror(e));
            rc = errno_result(e);
        }
    } else {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strncmp(de->d_name, prefix, plen) != 0) continue;
            char *path = xasprintf("%s/%s", dir, de->d_name);
            if (unlink(path) < 0 && errno != ENOENT) {
                int e = errno;
                rk_err_set(err, "local: cannot delete %s: %s", path, strerror(e));
                rc = errno_result(e);
            }
            free(path);
        }
        closedir(d);
    }
    free(prefix);
    free(dir);
    return rc;
}

static struct io_source *local_open_read(const struct store_config *cfg, const struct store_uri *u,
                                         uint64_t offset, struct store_stat *st, int *result,
                                         struct rk_err *err)
{
    int fd = open(u->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        rk_err_set(err, "local: cannot open %s: %s", u->path, strerror(e));
        *result = errno_result(e);
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || S_ISDIR(sb.st_mode)) {
        if (S_ISDIR(sb.st_mode))
            rk_err_set(err, "local: %s is a directory", u->path);
        else
            rk_err_set(err, "local: %s: %s", u->path, strerror(errno));
        close(fd);
        *result = STORE_FAIL;
        return NULL;
    }
    if (!S_ISREG(sb.st_mode)) {
        /* A FIFO, a socket or a device: a stream, read once from its start. */
        if (offset) {
            rk_err_set(err, "local: %s is not a regular file: it cannot be read from offset %llu",
                       u->path, (unsigned long long)offset);
            close(fd);
            *result = STORE_FAIL;
            return NULL;
        }
        st->size = 0;
        st->size_known = false;
        st->mtime_ms = 0;
        if (cfg->cancelled)
            return io_fd_source_new_cancellable(fd, true, cfg->cancelled, cfg->cancel_arg);
        return io_fd_source_new(fd, true);
    }
    if (offset > (uint64_t)sb.st_size) {
        rk_err_set(err, "local: %s: offset %llu is past the end (%lld bytes)", u->path,
                   (unsigned long long)offset, (long long)sb.st_size);
        close(fd);
        *result = STORE_FAIL;
        return NULL;
    }
    if (offset && lseek(fd, (off_t)offset, SEEK_SET) < 0) {
        rk_err_set(err, "local: %s: cannot seek: %s", u->path, strerror(errno));
        close(fd);
        *result = STORE_FAIL;
        return NULL;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    st->size = (uint64_t)sb.st_size;
    st->size_known = true;
    st->mtime_ms = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
    return io_fd_source_new(fd, true);
}

/* mkdir -p for the parent of path. */
static int make_parents(const char *path, struct rk_err *err)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    int rc = STORE_OK;
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; rc == STORE_OK; p++) {
            if (*p != '/' && *p != '\0') continue;
            char saved = *p;
            *p = '\0';
            if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                int e = errno;
                rc = errno_result(e) == STORE_NOT_FOUND ? STORE_FAIL : errno_result(e);
                rk_err_set(err, "local: cannot create directory %s: %s", dir, strerror(e));
            }
            *p = saved;
            if (!saved) break;
        }
    }
    free(dir);
    return rc;
}

struct local_writer {
    struct store_sink base;
    int fd;
    char *path, *tmp;
    uint64_t written;
};

static int lw_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err)
{
    struct local_writer *w = (struct local_writer *)s;
    const char *p = data;
    while (len) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            w->base.result = errno_result(e);
            return rk_err_set(err, "local: writing %s failed at byte %llu: %s", w->path,
                              (unsigned long long)w->written, strerror(e));
        }
        p += n;
        len -= (size_t)n;
        w->written += (uint64_t)n;
    }
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (fd >= 0) {
        rc = fsync(fd);
        close(fd);
    }
    free(dir);
    return rc;
}

static int lw_close(struct io_sink *s, struct rk_err *err)
{
    struct local_writer *w = (struct local_writer *)s;
    if (fsync(w->fd) < 0) {
        w->base.result = STORE_FAIL;
        return rk_err_set(err, "local: fsync of %s failed: %s", w->path, strerror(errno));
    }
    int rc = close(w->fd);
    w->fd = -1;
    if (rc < 0) {
        w->base.result = STORE_FAIL;
        unlink(w->tmp);
        return rk_err_set(err, "local: closing %s failed: %s", w->path, strerror(errno));
    }
    if (rename(w->tmp, w->path) < 0) {
        int e = errno;
        unlink(w->tmp);
        w->base.result = errno_result(e);
        return rk_err_set(err, "local: cannot rename the temporary file to %s: %s", w->path,
                          strerror(e));
    }
    if (fsync_dir_of(w->path) < 0) {
        w->base.result = STORE_FAIL;
        return rk_err_set(err, "local: fsync of the directory of %s failed: %s", w->path,
                          strerror(errno));
    }
    return 0;
}

static void lw_abort(struct io_sink *s)
{
    struct local_writer *w = (struct local_writer *)s;
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    unlink(w->tmp);
}

static void lw_free(struct io_sink *s)
{
    struct local_writer *w = (struct local_writer *)s;
    free(w->path);
    free(w->tmp);
    free(w);
}

static const struct io_sink_ops local_writer_ops = {
    .name = "local",
    .write = lw_write,
    .close = lw_close,
    .abort = lw_abort,
    .free = lw_free,
};

static int special_close(struct io_sink *s, struct rk_err *err)
{
    struct local_writer *w = (struct local_writer *)s;
    int rc = close(w->fd);
    w->fd = -1;
    if (rc < 0) {
        w->base.result = STORE_FAIL;
        return rk_err_set(err, "local: closing %s failed: %s", w->path, strerror(errno));
    }
    return 0;
}

static void special_abort(struct io_sink *s)
{
    struct local_writer *w = (struct local_writer *)s;
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
}

static const struct io_sink_ops special_writer_ops = {
    .name = "local",
    .write = lw_write,
    .close = special_close,
    .abort = special_abort,
    .free = lw_free,
};

static struct io_sink *local_open_temp(const char *target, int *result, struct rk_err *err)
{
    if ((*result = make_parents(target, err)) != STORE_OK) return NULL;
    const char *slash = strrchr(target, '/');
    size_t dirlen = slash ? (size_t)(slash - target) + 1 : 0;
    const char *base = slash ? slash + 1 : target;
    char *tmp = NULL;
    int fd = -1;
    for (int attempt = 0; attempt < 20 && fd < 0; attempt++) {
        free(tmp);
        tmp = xasprintf("%.*s.%.100s" TMP_MARK "%d.%llx", (int)dirlen, target, base, (int)getpid(),
                        (unsigned long long)(rk_monotonic_ns() ^ ((uint64_t)attempt << 40)));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        rk_err_set(err, "local: cannot create a temporary file beside %s: %s", target, strerror(e));
        *result = errno_result(e) == STORE_NOT_FOUND ? STORE_FAIL : errno_result(e);
        free(tmp);
        return NULL;
    }
    struct local_writer *w = xcalloc(1, sizeof(*w));
    store_sink_init(&w->base, &local_writer_ops);
    w->fd = fd;
    w->path = xstrdup(target);
    w->tmp = tmp;
    return &w->base.base;
}

/* Through symbolic links (even to a file that does not exist yet), the file
 * replaced is the one they point to; the links stay. */
static char *follow_links(const char *path)
{
    char *cur = xstrdup(path);
    for (int hops = 0; hops < 40; hops++) {
        struct stat lsb;
        if (lstat(cur, &lsb) < 0 || !S_ISLNK(lsb.st_mode)) break;
        char target[4096];
        ssize_t n = readlink(cur, target, sizeof(target) - 1);
        if (n <= 0) break;
        target[n] = '\0';
        char *next;
        if (target[0] == '/') {
            next = xstrdup(target);
        } else {
            const char *slash = strrchr(cur, '/');
            next = xasprintf("%.*s%s", slash ? (int)(slash - cur) + 1 : 0, cur, target);
        }
        free(cur);
        cur = next;
    }
    return cur;
}

/* A device, a FIFO or a socket is written in place: there is nothing to
 * rename over it, and renaming over /dev/stdout would replace the device. */
static struct io_sink *open_special(const char *path, int *result, struct rk_err *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        rk_err_set(err, "local: cannot open %s: %s", path, strerror(e));
        *result = errno_result(e);
        return NULL;
    }
    struct local_writer *w = xcalloc(1, sizeof(*w));
    store_sink_init(&w->base, &special_writer_ops);
    w->fd = fd;
    w->path = xstrdup(path);
    return &w->base.base;
}

static struct io_sink *local_open_write(const struct store_config *cfg, const struct store_uri *u,
                                        int64_t size_hint, int *result, struct rk_err *err)
{
    struct stat sb;
    if (stat(u->path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            rk_err_set(err, "local: %s is a directory", u->path);
            *result = STORE_FAIL;
            return NULL;
        }
        if (!S_ISREG(sb.st_mode)) return open_special(u->path, result, err);
    }
    char *path = follow_links(u->path);
    struct io_sink *sink = local_open_temp(path, result, err);
    free(path);
    return sink;
}

const struct store_driver store_local_driver = {
    .name = "local",
    .stat = local_stat,
    .list = local_list,
    .remove = local_remove,
    .open_read = local_open_read,
    .open_write = local_open_write,
};
