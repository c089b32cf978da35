/* Azure Blob Storage: SharedKey signing (azure_sign.c) with the account key
 * from the URI or the config, or a SAS token appended to every request.
 * Writes: Put Blob streamed for a known size, else Put Block per part and Put
 * Block List at close (parts.c). Uncommitted blocks never form a blob, so an
 * abort has nothing to undo (Azure drops them after a week). */
#include "store/parts.h"
#include "store/reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AZ_VERSION "2021-08-06"

struct az {
    const struct store_config *cfg;
    char *account, *container;
    char *key;    /* base64 account key, or NULL */
    char *sas;    /* SAS token without '?', or NULL */
    char *origin; /* scheme://host[:port] */
    char *prefix; /* URL path before the container: "" or "/account" (emulator) */
};

static void az_free(struct az *c)
{
    if (!c) return;
    free(c->account);
    free(c->container);
    if (c->key) {
        memset(c->key, 0, strlen(c->key));
        free(c->key);
    }
    if (c->sas) {
        memset(c->sas, 0, strlen(c->sas));
        free(c->sas);
    }
    free(c->origin);
    free(c->prefix);
    free(c);
}

static struct az *az_new(const struct store_config *cfg, const struct store_uri *u, int *result,
                         struct rk_err *err)
{
    struct az *c = xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    c->account = xstrdup(u->account);
    c->container = xstrdup(u->bucket);
    if (u->password)
        c->key = xstrdup(u->password);
    else if (cfg->azure.key)
        c->key = xstrdup(cfg->azure.key);
    else if (cfg->azure.sas_token)
        c->sas = xstrdup(cfg->azure.sas_token[0] == '?' ? cfg->azure.sas_token + 1
                                                        : cfg->azure.sas_token);
    if (!c->key && !c->sas) {
        rk_err_set(err,
                   "Azure: no credentials for account %s: put the account key in the URI "
                   "(abs://:KEY@%s/...) or set AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN",
                   u->account, u->account);
        *result = STORE_DENIED;
        az_free(c);
        return NULL;
    }
    if (c->key) {
        unsigned char tmp[256];
        size_t n;
        if (base64_decode(c->key, strlen(c->key), tmp, sizeof(tmp), &n) < 0 || n == 0) {
            rk_err_set(err, "Azure: the account key is not valid base64");
            *result = STORE_BAD_URI;
            az_free(c);
            return NULL;
        }
    }
    if (cfg->azure.endpoint) {
        /* An emulator: the account is the first path segment. */
        size_t n = strlen(cfg->azure.endpoint);
        while (n && cfg->azure.endpoint[n - 1] == '/') n--;
        c->origin = xstrndup(cfg->azure.endpoint, n);
        c->prefix = xasprintf("/%s", c->account);
    } else {
        c->origin = xasprintf("https://%s.blob.core.windows.net", c->account);
        c->prefix = xstrdup("");
    }
    return c;
}

struct az_req {
    const char *method;
    const char *blob;  /* NULL: the container */
    const char *query; /* without SAS */
    const void *body;
    size_t body_len;
    bool stream_up;
    uint64_t stream_size;
    const char *content_type;
    const char *range;
    const char *blob_type; /* x-ms-blob-type */
};

static struct curl_slist *az_prepare(const struct az *c, struct xfer *x, const struct az_req *r)
{
    CURL *e = x->easy;
    struct rk_buf path = {0};
    rk_buf_printf(&path, "%s/%s", c->prefix, c->container);
    if (r->blob) {
        rk_buf_append_byte(&path, '/');
        pct_encode(&path, r->blob, strlen(r->blob), "/");
    }
    rk_buf_append_byte(&path, '\0');
    const char *p = (const char *)path.data;
    char *url;
    if (c->sas)
        url = xasprintf("%s%s?%s%s%s", c->origin, p, r->query ? r->query : "", r->query ? "&" : "",
                        c->sas);
    else
        url = xasprintf("%s%s%s%s", c->origin, p, r->query ? "?" : "", r->query ? r->query : "");
    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url);

    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    char *xms_date = xasprintf("x-ms-date:%s", date);
    char *xms_type = r->blob_type ? xasprintf("x-ms-blob-type:%s", r->blob_type) : NULL;
    const char *xms[4] = {xms_date, "x-ms-version:" AZ_VERSION, xms_type, NULL};
    struct curl_slist *h = NULL;
    h = xfer_header(h, "x-ms-date", date);
    h = xfer_header(h, "x-ms-version", AZ_VERSION);
    if (r->blob_type) h = xfer_header(h, "x-ms-blob-type", r->blob_type);
    if (r->content_type) h = xfer_header(h, "Content-Type", r->content_type);
    if (r->range) h = xfer_header(h, "Range", r->range);

    uint64_t clen = 0;
    if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(r->method, "PUT")) {
        if (r->stream_up) {
            xfer_upload_stream(x, (int64_t)r->stream_size);
            clen = r->stream_size;
        } else {
            xfer_upload_mem(x, r->body, r->body_len);
            clen = r->body_len;
        }
    } else if (!strcmp(r->method, "DELETE")) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    if (!c->sas) {
        struct azure_request ar = {.method = r->method,
                                   .account = c->account,
                                   .path = p,
                                   .query = r->query,
                                   .content_length = clen,
                                   .content_type = r->content_type,
                                   .range = r->range,
                                   .x_ms = xms};
        char *auth = azure_authorization(&ar, c->key);
        h = xfer_header(h, "Authorization", auth);
        free(auth);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    free(xms_date);
    free(xms_type);
    rk_buf_free(&path);
    return h;
}

static char *az_what(const struct az *c, const char *method, const char *blob)
{
    return xasprintf("Azure %s abs://%s/%s/%s", method, c->account, c->container, blob ? blob : "");
}

static int az_http_error(struct xfer *x, const char *what, struct rk_err *err)
{
    if (x->result != CURLE_OK) return xfer_transport_error(x, what, err);
    char *code = xml_first((const char *)x->body.data, x->body.len, "Code");
    char *msg = xml_first((const char *)x->body.data, x->body.len, "Message");
    /* Azure's messages end with "\nRequestId:...\nTime:..."; the first line says it. */
    if (msg) msg[strcspn(msg, "\r\n")] = '\0';
    const char *c = code ? code : x->hdr.ms_error[0] ? x->hdr.ms_error : NULL;
    if (c)
        rk_err_set(err, "%s: the server answered %ld %s%s%s", what, x->status, c, msg ? ": " : "",
                   msg ? msg : "");
    else if (x->status == 404)
        rk_err_set(err, "%s: not found (404)", what);
    else
        rk_err_set(err, "%s: the server answered %ld", what, x->status);
    free(code);
    free(msg);
    return xfer_status_result(x->status);
}

static int az_do(const struct az *c, struct xfer *x, const struct az_req *r, struct rk_err *err)
{
    char *what = az_what(c, r->method, r->blob);
    int rc;
    for (int attempt = 0;; attempt++) {
        xfer_reset(x);
        struct curl_slist *h = az_prepare(c, x, r);
        rc = xfer_run(x, what, err);
        curl_slist_free_all(h);
        if (rc == STORE_OK && xfer_status_ok(x)) break;
        if (!xfer_retryable(x) || attempt >= c->cfg->max_retries) {
            rc = az_http_error(x, what, err);
            break;
        }
        if ((rc = xfer_backoff(x, attempt)) < 0) {
            rk_err_set(err, "%s: cancelled", what);
            break;
        }
    }
    free(what);
    return rc;
}

static int az_stat(const struct store_config *cfg, const struct store_uri *u, struct store_stat *st,
                   struct rk_err *err)
{
    int rc = STORE_OK;
    struct az *c = az_new(cfg, u, &rc, err);
    if (!c) return rc;
    struct xfer x;
    xfer_init(&x, cfg);
    struct az_req r = {.method = "HEAD", .blob = u->path};
    rc = az_do(c, &x, &r, err);
    if (rc == STORE_DENIED || (rc == STORE_FAIL && x.result == CURLE_OK && x.status >= 400)) {
        /* A HEAD answer carries only a code: a one-byte GET gets the message. */
        struct az_req g = {.method = "GET", .blob = u->path, .range = "bytes=0-0"};
        int grc = az_do(c, &x, &g, err);
        rc = grc == STORE_OK ? az_do(c, &x, &r, err) : grc;
    }
    if (rc == STORE_OK) {
        st->size = x.hdr.content_length >= 0 ? (uint64_t)x.hdr.content_length : 0;
        st->size_known = x.hdr.content_length >= 0;
        st->mtime_ms = store_parse_date(x.hdr.last_modified);
        snprintf(st->etag, sizeof(st->etag), "%s", x.hdr.etag);
    }
    xfer_cleanup(&x);
    az_free(c);
    return rc;
}

static int az_list(const struct store_config *cfg, const struct store_uri *u, store_list_fn fn,
                   void *arg, struct rk_err *err)
{
    int rc = STORE_OK;
    struct az *c = az_new(cfg, u, &rc, err);
    if (!c) return rc;
    struct xfer x;
    xfer_init(&x, cfg);
    char *marker = NULL;
    struct rk_buf q = {0};
    for (int page = 0; rc == STORE_OK; page++) {
        q.len = 0;
        rk_buf_printf(&q, "restype=container&comp=list&prefix=");
        pct_encode(&q, u->path, strlen(u->path), NULL);
        if (marker) {
            rk_buf_printf(&q, "&marker=");
            pct_encode(&q, marker, strlen(marker), NULL);
        }
        rk_buf_append_byte(&q, '\0');
        struct az_req r = {.method = "GET", .query = (const char *)q.data};
        rc = az_do(c, &x, &r, err);
        if (rc != STORE_OK) break;
        const char *doc = (const char *)x.body.data;
        size_t len = x.body.len, pos = 0, s, e;
        while (rc == STORE_OK && xml_span(doc, len, &pos, "Blob", &s, &e) == 0) {
            char *name = xml_first(doc + s, e - s, "Name");
            char *size = xml_first(doc + s, e - s, "Content-Length");
            char *mod = xml_first(doc + s, e - s, "Last-Modified");
            uint64_t sz = 0;
            if (name && size && rk_parse_u64(size, &sz) == 0) {
                struct store_entry ent = {name, sz, store_parse_date(mod)};
                rc = fn(arg, &ent);
            } else {
                rc = rk_err_set(err,
                                "Azure: malformed listing (a blob without Name or Content-Length)");
            }
            free(name);
            free(size);
            free(mod);
        }
        if (rc != STORE_OK) break;
        char *next = xml_first(doc, len, "NextMarker");
        if (!next || !*next) {
            free(next);
            break;
        }
        if ((marker && !strcmp(marker, next)) || page > 1000000) {
            free(next);
            rc = rk_err_set(err, "Azure: the listing repeats its continuation marker");
            break;
        }
        free(marker);
        marker = next;
    }
    free(marker);
    rk_buf_free(&q);
    xfer_cleanup(&x);
    az_free(c);
    return rc;
}

static int az_remove(const struct store_config *cfg, const struct store_uri *u, struct rk_err *err)
{
    int rc = STORE_OK;
    struct az *c = az_new(cfg, u, &rc, err);
    if (!c) return rc;
    struct xfer x;
    xfer_init(&x, cfg);
    struct az_req r = {.method = "DELETE", .blob = u->path};
    rc = az_do(c, &x, &r, err);
    xfer_cleanup(&x);
    az_free(c);
    return rc;
}

/* ------------------------------------------------------------------ read -- */

struct az_read_ctx {
    struct az *c;
    char *blob, *what;
    char range[48];
    struct curl_slist *headers;
};

static void az_read_prepare(void *arg, struct xfer *x, uint64_t offset)
{
    struct az_read_ctx *r = arg;
    curl_slist_free_all(r->headers);
    struct az_req q = {.method = "GET", .blob = r->blob};
    if (offset) {
        snprintf(r->range, sizeof(r->range), "bytes=%llu-", (unsigned long long)offset);
        q.range = r->range;
    }
    r->headers = az_prepare(r->c, x, &q);
}

static const char *az_read_what(void *arg)
{
    return ((struct az_read_ctx *)arg)->what;
}

static int az_read_error(void *arg, struct xfer *x, struct rk_err *err)
{
    return az_http_error(x, ((struct az_read_ctx *)arg)->what, err);
}

static void az_read_free(void *arg)
{
    struct az_read_ctx *r = arg;
    curl_slist_free_all(r->headers);
    az_free(r->c);
    free(r->blob);
    free(r->what);
    free(r);
}

static const struct reader_ops az_reader_ops = {az_read_prepare, az_read_what, az_read_error,
                                                az_read_free};

static struct io_source *az_open_read(const struct store_config *cfg, const struct store_uri *u,
                                      uint64_t offset, struct store_stat *st, int *result,
                                      struct rk_err *err)
{
    struct az *c = az_new(cfg, u, result, err);
    if (!c) return NULL;
    struct az_read_ctx *r = xcalloc(1, sizeof(*r));
    r->c = c;
    r->blob = xstrdup(u->path);
    r->what = az_what(c, "GET", u->path);
    return reader_open(cfg, &az_reader_ops, r, offset, st, result, err);
}

/* ----------------------------------------------------------------- write -- */

struct az_write_ctx {
    struct az *c;
    char *blob, *what;
    struct rk_buf blocks; /* the Put Block List body so far */
    struct xfer aux;
};

/* Block IDs: base64 of a fixed-length string, as Azure requires equal lengths. */
static char *block_id(int number)
{
    char raw[32];
    snprintf(raw, sizeof(raw), "rdbkeep-%08d", number);
    return base64_encode((const unsigned char *)raw, strlen(raw));
}

static struct curl_slist *azw_prepare_stream(void *arg, struct xfer *x, uint64_t size)
{
    struct az_write_ctx *w = arg;
    struct az_req r = {.method = "PUT",
                       .blob = w->blob,
                       .stream_up = true,
                       .stream_size = size,
                       .content_type = "application/octet-stream",
                       .blob_type = "BlockBlob"};
    return az_prepare(w->c, x, &r);
}

static int azw_put_small(void *arg, const unsigned char *data, size_t len, struct rk_err *err)
{
    struct az_write_ctx *w = arg;
    struct az_req r = {.method = "PUT",
                       .blob = w->blob,
                       .body = data,
                       .body_len = len,
                       .content_type = "application/octet-stream",
                       .blob_type = "BlockBlob"};
    return az_do(w->c, &w->aux, &r, err);
}

static struct curl_slist *azw_prepare_part(void *arg, struct xfer *x, int number,
                                           const unsigned char *data, size_t len)
{
    struct az_write_ctx *w = arg;
    char *id = block_id(number);
    char *enc = pct_encode_str(id, NULL);
    char *q = xasprintf("comp=block&blockid=%s", enc);
    struct az_req r = {.method = "PUT",
                       .blob = w->blob,
                       .query = q,
                       .body = data,
                       .body_len = len,
                       .content_type = "application/octet-stream"};
    struct curl_slist *h = az_prepare(w->c, x, &r);
    free(q);
    free(enc);
    free(id);
    return h;
}

static int azw_part_done(void *arg, struct xfer *x, int number, struct rk_err *err)
{
    struct az_write_ctx *w = arg;
    char *id = block_id(number);
    if (!w->blocks.len)
        rk_buf_printf(&w->blocks, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    rk_buf_printf(&w->blocks, "<Latest>%s</Latest>", id);
    free(id);
    return STORE_OK;
}

static int azw_complete(void *arg, int parts, struct rk_err *err)
{
    struct az_write_ctx *w = arg;
    rk_buf_printf(&w->blocks, "</BlockList>");
    struct az_req r = {.method = "PUT",
                       .blob = w->blob,
                       .query = "comp=blocklist",
                       .body = w->blocks.data,
                       .body_len = w->blocks.len,
                       .content_type = "application/xml"};
    return az_do(w->c, &w->aux, &r, err);
}

static int azw_http_error(void *arg, struct xfer *x, const char *what, struct rk_err *err)
{
    return az_http_error(x, what, err);
}

static void azw_free(void *arg)
{
    struct az_write_ctx *w = arg;
    xfer_cleanup(&w->aux);
    rk_buf_free(&w->blocks);
    az_free(w->c);
    free(w->blob);
    free(w->what);
    free(w);
}

static const struct parts_ops az_parts_ops = {
    .prepare_stream = azw_prepare_stream,
    .put_small = azw_put_small,
    .prepare_part = azw_prepare_part,
    .part_done = azw_part_done,
    .complete = azw_complete,
    .http_error = azw_http_error,
    .free_ctx = azw_free,
};

static struct io_sink *az_open_write(const struct store_config *cfg, const struct store_uri *u,
                                     int64_t size_hint, int *result, struct rk_err *err)
{
    struct az *c = az_new(cfg, u, result, err);
    if (!c) return NULL;
    struct az_write_ctx *w = xcalloc(1, sizeof(*w));
    w->c = c;
    w->blob = xstrdup(u->path);
    w->what = az_what(c, "PUT", u->path);
    xfer_init(&w->aux, cfg);
    /* Put Blob takes up to 5000 MiB, a block up to 4000 MiB, 50,000 blocks. */
    struct parts_limits lim = {
        .part_size = cfg->part_size,
        .min_part = 1u << 20,
        .max_part = 4000ull << 20,
        .max_parts = 50000,
        .single_limit =
            cfg->single_put_limit < (5000ull << 20) ? cfg->single_put_limit : (5000ull << 20),
    };
    char *what = xstrdup(w->what);
    struct io_sink *sink =
        parts_writer_new(cfg, &az_parts_ops, w, what, size_hint, &lim, result, err);
    free(what);
    return sink;
}

const struct store_driver store_azure_driver = {
    .name = "azure",
    .stat = az_stat,
    .list = az_list,
    .remove = az_remove,
    .open_read = az_open_read,
    .open_write = az_open_write,
};
