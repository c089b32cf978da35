/* FTP and FTPS (explicit TLS, AUTH TLS, on the control and data channels),
 * passive mode. A write creates missing directories, uploads to a temporary
 * name beside the target and renames it into place after the last byte (in
 * the same session, as post-transfer commands); an abort deletes the
 * temporary file. Listings use MLSD (type, size, time), recursing into
 * directories. Paths are below the login directory, as in curl's URLs. */
#include "store/reader.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TMP_MARK ".rdbkeep-tmp."

struct ftp {
    const struct store_config *cfg;
    const struct store_uri *u;
    char *origin; /* ftp://host:port */
    bool tls;
};

static void ftp_init(struct ftp *f, const struct store_config *cfg, const struct store_uri *u)
{
    f->cfg = cfg;
    f->u = u;
    f->tls = u->kind == STORE_FTPS;
    bool v6 = strchr(u->host, ':') != NULL;
    f->origin =
        xasprintf("ftp://%s%s%s:%u", v6 ? "[" : "", u->host, v6 ? "]" : "", u->port ? u->port : 21);
}

/* URL of path (decoded, below the login directory). */
static char *ftp_url(const struct ftp *f, const char *path)
{
    char *enc = pct_encode_str(path, "/");
    char *url = xasprintf("%s/%s", f->origin, enc);
    free(enc);
    return url;
}

static void ftp_setup(const struct ftp *f, struct xfer *x, const char *path)
{
    x->http = false;
    char *url = ftp_url(f, path);
    curl_easy_setopt(x->easy, CURLOPT_URL, url);
    free(url);
    if (f->u->user || f->u->password) {
        curl_easy_setopt(x->easy, CURLOPT_USERNAME, f->u->user ? f->u->user : "");
        curl_easy_setopt(x->easy, CURLOPT_PASSWORD, f->u->password ? f->u->password : "");
    }
    if (f->tls) {
        curl_easy_setopt(x->easy, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
        /* RFC 4217's AUTH TLS; curl would try the older AUTH SSL first,
         * after which some servers fail the data channel's handshake. */
        curl_easy_setopt(x->easy, CURLOPT_FTPSSLAUTH, (long)CURLFTPAUTH_TLS);
    }
    curl_easy_setopt(x->easy, CURLOPT_FTP_USE_EPSV, 1L);
}

static char *ftp_what(const struct ftp *f, const char *op, const char *path)
{
    char *shown = store_uri_display(f->u);
    char *w;
    if (path && strcmp(path, f->u->path)) {
        char *enc = pct_encode_str(path, "/");
        w = xasprintf("%s %s %s://%s:%u/%s", f->tls ? "FTPS" : "FTP", op, f->tls ? "ftps" : "ftp",
                      f->u->host, f->u->port ? f->u->port : 21, enc);
        free(enc);
    } else {
        w = xasprintf("%s %s %s", f->tls ? "FTPS" : "FTP", op, shown);
    }
    free(shown);
    return w;
}

/* FTP's codes, when curl reports a failure of a command it sent for us. */
static int ftp_error(struct xfer *x, const char *what, struct rk_err *err)
{
    int rc = xfer_transport_error(x, what, err);
    long code = x->status;
    if (x->result == CURLE_QUOTE_ERROR || x->result == CURLE_UPLOAD_FAILED) {
        const char *meaning = code == 550 || code == 450   ? " (no such file, or no permission)"
                              : code == 553                ? " (file name not allowed)"
                              : code == 530 || code == 532 ? " (not logged in)"
                              : code == 552                ? " (out of space)"
                                                           : "";
        if (code == 550 || code == 450)
            rc = STORE_NOT_FOUND;
        else if (code == 530 || code == 532)
            rc = STORE_DENIED;
        rk_err_set(err, "%s: the server answered %ld%s", what, code, meaning);
    }
    return rc;
}

static int ftp_run(const struct ftp *f, struct xfer *x, const char *what, struct rk_err *err)
{
    int rc = xfer_run(x, what, err);
    if (rc != STORE_OK) return ftp_error(x, what, err);
    return STORE_OK;
}

static int ftp_stat(const struct store_config *cfg, const struct store_uri *u,
                    struct store_stat *st, struct rk_err *err)
{
    struct ftp f;
    ftp_init(&f, cfg, u);
    char *what = ftp_what(&f, "SIZE", NULL);
    struct xfer x;
    xfer_init(&x, cfg);
    int rc = STORE_FAIL;
    for (int attempt = 0;; attempt++) {
        xfer_reset(&x);
        ftp_setup(&f, &x, u->path);
        curl_easy_setopt(x.easy, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(x.easy, CURLOPT_FILETIME, 1L);
        rc = ftp_run(&f, &x, what, err);
        if (rc == STORE_OK || !xfer_retryable(&x) || attempt >= cfg->max_retries) break;
        if (xfer_backoff(&x, attempt) < 0) break;
    }
    if (rc == STORE_OK) {
        curl_off_t cl = -1;
        long ft = -1;
        curl_easy_getinfo(x.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        curl_easy_getinfo(x.easy, CURLINFO_FILETIME, &ft);
        if (cl < 0) {
            /* SIZE failed: a directory, or a server without SIZE. */
            rk_err_set(err, "%s: no size (not a file?)", what);
            rc = STORE_NOT_FOUND;
        } else {
            st->size = (uint64_t)cl;
            st->size_known = true;
            st->mtime_ms = ft >= 0 ? (int64_t)ft * 1000 : -1;
        }
    }
    xfer_cleanup(&x);
    free(what);
    free(f.origin);
    return rc;
}

/* ------------------------------------------------------------------ list -- */

int ftp_parse_mlsd_line(const char *line, size_t len, struct mlsd_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->mtime_ms = -1;
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n')) len--;
    const char *sp = memchr(line, ' ', len);
    if (!sp || sp + 1 >= line + len) return -1;
    const char *name = sp + 1;
    size_t nlen = (size_t)(line + len - name);
    bool have_type = false;
    for (const char *p = line; p < sp;) {
        const char *semi = memchr(p, ';', (size_t)(sp - p));
        const char *end = semi ? semi : sp;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq) {
            size_t flen = (size_t)(eq - p), vlen = (size_t)(end - eq - 1);
            char val[64];
            if (vlen >= sizeof(val)) vlen = sizeof(val) - 1;
            memcpy(val, eq + 1, vlen);
            val[vlen] = '\0';
            if (flen == 4 && !strncasecmp(p, "type", 4)) {
                have_type = true;
                if (!strcasecmp(val, "file"))
                    e->dir = false;
                else if (!strcasecmp(val, "dir"))
                    e->dir = true;
                else
                    return -1;
            } else if (flen == 4 && !strncasecmp(p, "size", 4)) {
                if (rk_parse_u64(val, &e->size) < 0) return -1;
            } else if (flen == 6 && !strncasecmp(p, "modify", 6) && vlen >= 14) {
                char iso[32];
                snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", val, val + 4, val + 6,
                         val + 8, val + 10, val + 12);
                e->mtime_ms = store_parse_date(iso);
            }
        }
        if (!semi) break;
        p = semi + 1;
    }
    if (!have_type || nlen == 0 || memchr(name, '/', nlen) || memchr(name, '\0', nlen)) return -1;
    if ((nlen == 1 && name[0] == '.') || (nlen == 2 && name[0] == '.' && name[1] == '.')) return -1;
    e->name = xstrndup(name, nlen);
    return 0;
}

struct ftp_list {
    const struct ftp *f;
    struct xfer *x;
    store_list_fn fn;
    void *arg;
    struct rk_err *err;
};

static int ftp_cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct mlsd_entry *)a)->name, ((const struct mlsd_entry *)b)->name);
}

/* Lists dir (decoded, "" or ending in '/'), entries whose name starts with
 * prefix, recursing into directories. */
static int list_dir(struct ftp_list *l, const char *dir, const char *prefix, int depth)
{
    if (depth > 32) return rk_err_set(l->err, "FTP: directories nested too deeply under %s", dir);
    char *what = ftp_what(l->f, "MLSD", dir);
    int rc;
    for (int attempt = 0;; attempt++) {
        xfer_reset(l->x);
        ftp_setup(l->f, l->x, dir);
        curl_easy_setopt(l->x->easy, CURLOPT_CUSTOMREQUEST, "MLSD");
        rc = ftp_run(l->f, l->x, what, l->err);
        if (rc == STORE_OK || !xfer_retryable(l->x) || attempt >= l->f->cfg->max_retries) break;
        if (xfer_backoff(l->x, attempt) < 0) break;
    }
    free(what);
    if (rc != STORE_OK) {
        /* A missing directory lists as empty, as a missing S3 prefix does. */
        if (l->x->result == CURLE_REMOTE_ACCESS_DENIED && l->x->status == 550 && depth == 0)
            return STORE_OK;
        return rc;
    }
    size_t cap = 16, n = 0;
    struct mlsd_entry *items = xcalloc(cap, sizeof(*items));
    const char *doc = (const char *)l->x->body.data;
    size_t len = l->x->body.len, pos = 0, plen = strlen(prefix);
    while (pos < len) {
        const char *nl = memchr(doc + pos, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - doc - pos) + 1 : len - pos;
        struct mlsd_entry e;
        if (ftp_parse_mlsd_line(doc + pos, llen, &e) == 0) {
            if (strncmp(e.name, prefix, plen) || strstr(e.name, TMP_MARK)) {
                free(e.name);
            } else {
                if (n == cap) items = xrealloc(items, (cap *= 2) * sizeof(*items));
                items[n++] = e;
            }
        }
        pos += llen;
    }
    qsort(items, n, sizeof(*items), ftp_cmp_entry);
    for (size_t i = 0; i < n && rc == STORE_OK; i++) {
        char *path = xasprintf("%s%s", dir, items[i].name);
        if (items[i].dir) {
            char *sub = xasprintf("%s/", path);
            rc = list_dir(l, sub, "", depth + 1);
            free(sub);
        } else {
            struct store_entry ent = {path, items[i].size, items[i].mtime_ms};
            rc = l->fn(l->arg, &ent);
        }
        free(path);
    }
    for (size_t i = 0; i < n; i++) free(items[i].name);
    free(items);
    return rc;
}

static int ftp_list(const struct store_config *cfg, const struct store_uri *u, store_list_fn fn,
                    void *arg, struct rk_err *err)
{
    struct ftp f;
    ftp_init(&f, cfg, u);
    struct xfer x;
    xfer_init(&x, cfg);
    const char *slash = strrchr(u->path, '/');
    char *dir = slash ? xstrndup(u->path, (size_t)(slash - u->path) + 1) : xstrdup("");
    const char *prefix = slash ? slash + 1 : u->path;
    struct ftp_list l = {&f, &x, fn, arg, err};
    int rc = list_dir(&l, dir, prefix, 0);
    free(dir);
    xfer_cleanup(&x);
    free(f.origin);
    return rc;
}

/* ---------------------------------------------------------------- delete -- */

static int ftp_dele(const struct ftp *f, struct xfer *x, const char *path, struct rk_err *err)
{
    char *what = ftp_what(f, "DELE", path);
    char *cmd = xasprintf("DELE %s", path);
    struct curl_slist *q = curl_slist_append(NULL, cmd);
    int rc;
    for (int attempt = 0;; attempt++) {
        xfer_reset(x);
        ftp_setup(f, x, "");
        curl_easy_setopt(x->easy, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(x->easy, CURLOPT_QUOTE, q);
        rc = ftp_run(f, x, what, err);
        if (rc == STORE_OK || !xfer_retryable(x) || attempt >= f->cfg->max_retries) break;
        if (xfer_backoff(x, attempt) < 0) break;
    }
    curl_slist_free_all(q);
    free(cmd);
    free(what);
    return rc;
}

static int ftp_remove(const struct store_config *cfg, const struct store_uri *u, struct rk_err *err)
{
    struct ftp f;
    ftp_init(&f, cfg, u);
    struct xfer x;
    xfer_init(&x, cfg);
    int rc = ftp_dele(&f, &x, u->path, err);
    xfer_cleanup(&x);
    free(f.origin);
    return rc;
}

/* ------------------------------------------------------------------ read -- */

struct ftp_read_ctx {
    struct ftp f;
    struct store_uri *u; /* a copy the reader owns */
    char *what;
};

static void ftp_read_prepare(void *arg, struct xfer *x, uint64_t offset)
{
    struct ftp_read_ctx *r = arg;
    ftp_setup(&r->f, x, r->u->path);
    if (offset) curl_easy_setopt(x->easy, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)offset);
    curl_easy_setopt(x->easy, CURLOPT_FILETIME, 1L);
}

static const char *ftp_read_what(void *arg)
{
    return ((struct ftp_read_ctx *)arg)->what;
}

static int ftp_read_error(void *arg, struct xfer *x, struct rk_err *err)
{
    return ftp_error(x, ((struct ftp_read_ctx *)arg)->what, err);
}

static void ftp_read_free(void *arg)
{
    struct ftp_read_ctx *r = arg;
    free(r->f.origin);
    store_uri_free(r->u);
    free(r->what);
    free(r);
}

static const struct reader_ops ftp_reader_ops = {ftp_read_prepare, ftp_read_what, ftp_read_error,
                                                 ftp_read_free};

static struct io_source *ftp_open_read(const struct store_config *cfg, const struct store_uri *u,
                                       uint64_t offset, struct store_stat *st, int *result,
                                       struct rk_err *err)
{
    struct ftp_read_ctx *r = xcalloc(1, sizeof(*r));
    r->u = store_uri_dup(u);
    ftp_init(&r->f, cfg, r->u);
    r->what = ftp_what(&r->f, "RETR", NULL);
    return reader_open(cfg, &ftp_reader_ops, r, offset, st, result, err);
}

/* ----------------------------------------------------------------- write -- */

struct ftp_writer {
    struct store_sink base;
    struct ftp f;
    struct store_uri *u;
    char *what;
    char *tmp_path; /* below the login directory */
    struct xfer x;
    struct curl_slist *post;
    uint64_t written;
};

static int fw_fail(struct ftp_writer *w, int rc)
{
    w->base.result = rc;
    return -1;
}

static int fw_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err)
{
    struct ftp_writer *w = (struct ftp_writer *)s;
    int rc = xfer_push(&w->x, data, len, w->what, err);
    if (rc != STORE_OK) return fw_fail(w, w->x.done ? ftp_error(&w->x, w->what, err) : rc);
    w->written += len;
    return 0;
}

static int fw_close(struct io_sink *s, struct rk_err *err)
{
    struct ftp_writer *w = (struct ftp_writer *)s;
    int rc = xfer_finish_upload(&w->x, w->what, err);
    if (rc != STORE_OK) {
        rc = ftp_error(&w->x, w->what, err);
        /* The data may be there under the temporary name: remove it. */
        struct rk_err derr;
        w->x.ignore_cancel = true;
        ftp_dele(&w->f, &w->x, w->tmp_path, &derr);
        return fw_fail(w, rc);
    }
    return 0;
}

static void fw_abort(struct io_sink *s)
{
    struct ftp_writer *w = (struct ftp_writer *)s;
    /* Close the data connection without the rename, then delete the
     * partial file on a fresh session. */
    xfer_reset(&w->x);
    w->x.ignore_cancel = true;
    struct rk_err derr;
    if (ftp_dele(&w->f, &w->x, w->tmp_path, &derr) != STORE_OK && w->x.status != 550)
        rk_log(RK_LOG_WARN, "store",
               "msg=\"could not delete the temporary upload\" what=\"%s\" error=\"%s\"", w->what,
               derr.msg);
}

static void fw_free(struct io_sink *s)
{
    struct ftp_writer *w = (struct ftp_writer *)s;
    xfer_cleanup(&w->x);
    curl_slist_free_all(w->post);
    free(w->f.origin);
    store_uri_free(w->u);
    free(w->what);
    free(w->tmp_path);
    free(w);
}

static int fw_write_from(struct io_sink *s, struct io_source *src, uint64_t *copied,
                         struct rk_err *err)
{
    struct ftp_writer *w = (struct ftp_writer *)s;
    int rc = xfer_push_source(&w->x, src, 0, copied, w->what, err);
    w->written += *copied;
    if (rc != STORE_OK)
        return fw_fail(w, w->x.done && !w->x.source_failed ? ftp_error(&w->x, w->what, err) : rc);
    return 0;
}

static const struct io_sink_ops ftp_writer_ops = {
    .name = "ftp",
    .write = fw_write,
    .close = fw_close,
    .abort = fw_abort,
    .free = fw_free,
};

static struct io_sink *ftp_open_write(const struct store_config *cfg, const struct store_uri *u,
                                      int64_t size_hint, int *result, struct rk_err *err)
{
    struct ftp_writer *w = xcalloc(1, sizeof(*w));
    store_sink_init(&w->base, &ftp_writer_ops);
    w->base.base.write_from = fw_write_from;
    w->u = store_uri_dup(u);
    ftp_init(&w->f, cfg, w->u);
    w->what = ftp_what(&w->f, "STOR", NULL);
    const char *slash = strrchr(u->path, '/');
    const char *base = slash ? slash + 1 : u->path;
    char tmp_name[320];
    snprintf(tmp_name, sizeof(tmp_name), ".%.200s" TMP_MARK "%llx", base,
             (unsigned long long)(rk_monotonic_ns() ^ rk_now_ms() << 20));
    w->tmp_path = xasprintf("%.*s%s", slash ? (int)(slash - u->path) + 1 : 0, u->path, tmp_name);
    /* After the upload, still in the file's directory (curl changed into it). */
    char *rnfr = xasprintf("RNFR %s", tmp_name);
    char *rnto = xasprintf("RNTO %s", base);
    w->post = curl_slist_append(curl_slist_append(NULL, rnfr), rnto);
    free(rnfr);
    free(rnto);
    xfer_init(&w->x, cfg);
    ftp_setup(&w->f, &w->x, w->tmp_path);
    xfer_upload_stream(&w->x, size_hint);
    curl_easy_setopt(w->x.easy, CURLOPT_FTP_CREATE_MISSING_DIRS, (long)CURLFTP_CREATE_DIR_RETRY);
    curl_easy_setopt(w->x.easy, CURLOPT_POSTQUOTE, w->post);
    if (xfer_start(&w->x, err) < 0) {
        *result = STORE_FAIL;
        fw_free(&w->base.base);
        return NULL;
    }
    return &w->base.base;
}

const struct store_driver store_ftp_driver = {
    .name = "ftp",
    .stat = ftp_stat,
    .list = ftp_list,
    .remove = ftp_remove,
    .open_read = ftp_open_read,
    .open_write = ftp_open_write,
};
