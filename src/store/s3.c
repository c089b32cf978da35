/* S3, and GCS through its S3-compatible XML API (HMAC keys, or an OAuth
 * bearer token from a service account).
 *
 * Signing is libcurl's CURLOPT_AWS_SIGV4. libcurl 7.88 signs what it is given
 * and canonicalises nothing, so this file hands it canonical requests:
 *   - x-amz-content-sha256 (x-goog-... for GOOG4) is always sent, which also
 *     makes curl sign that value instead of hashing a (streamed) body;
 *   - the path is the key percent-encoded except unreserved characters and '/';
 *   - query parameters are sorted, encoded, and each has '=' ("uploads=").
 *
 * Writes: an object of known size up to single_put_limit is one streamed PUT.
 * Anything else is buffered into parts (part_size, at least 5 MiB): part n
 * uploads in the background while part n+1 fills, so at most two parts are in
 * memory. Parts are retried on 5xx, resets and stalls, with backoff; an
 * aborted write aborts the multipart upload. A stream that ends within the
 * first part is sent as one PUT. */
#include "store/parts.h"
#include "store/reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct s3 {
    const struct store_config *cfg;
    bool gcs;
    const char *name; /* "S3" or "GCS" */
    char *bucket;
    char *base;  /* URL up to the bucket, no trailing '/': .../bucket or https://bucket.host */
    char *sigv4; /* CURLOPT_AWS_SIGV4, NULL for bearer or anonymous */
    const char *access_key, *secret_key, *session_token;
    char *bearer; /* GCS OAuth token */
    const char *sha_header;
    bool anonymous;
};

static void s3_free(struct s3 *c)
{
    if (!c) return;
    free(c->bucket);
    free(c->base);
    free(c->sigv4);
    if (c->bearer) {
        memset(c->bearer, 0, strlen(c->bearer));
        free(c->bearer);
    }
    free(c);
}

static char *strip_slash(const char *url)
{
    size_t n = strlen(url);
    while (n && url[n - 1] == '/') n--;
    return xstrndup(url, n);
}

static struct s3 *s3_new(const struct store_config *cfg, const struct store_uri *u, int *result,
                         struct rk_err *err)
{
    struct s3 *c = xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    c->gcs = u->kind == STORE_GCS;
    c->name = c->gcs ? "GCS" : "S3";
    c->bucket = xstrdup(u->bucket);
    if (c->gcs) {
        char *ep =
            strip_slash(cfg->gcs.endpoint ? cfg->gcs.endpoint : "https://storage.googleapis.com");
        c->base = xasprintf("%s/%s", ep, u->bucket);
        free(ep);
        if (cfg->gcs.credentials_file) {
            c->bearer = gcs_access_token(cfg, result, err);
            if (!c->bearer) {
                s3_free(c);
                return NULL;
            }
        } else if (cfg->gcs.hmac_access_id && cfg->gcs.hmac_secret) {
            c->sigv4 = xstrdup("goog:goog:auto:storage");
            c->access_key = cfg->gcs.hmac_access_id;
            c->secret_key = cfg->gcs.hmac_secret;
            c->sha_header = "x-goog-content-sha256";
        } else {
            c->anonymous = true;
        }
    } else {
        const char *region = cfg->s3.region ? cfg->s3.region : "us-east-1";
        if (cfg->s3.endpoint) {
            char *ep = strip_slash(cfg->s3.endpoint);
            c->base = xasprintf("%s/%s", ep, u->bucket);
            free(ep);
        } else if (cfg->s3.path_style || strchr(u->bucket, '.')) {
            /* Dotted bucket names break the TLS wildcard of virtual hosts. */
            c->base = xasprintf("https://s3.%s.amazonaws.com/%s", region, u->bucket);
        } else {
            c->base = xasprintf("https://%s.s3.%s.amazonaws.com", u->bucket, region);
        }
        if (cfg->s3.access_key_id && cfg->s3.secret_access_key) {
            c->sigv4 = xasprintf("aws:amz:%s:s3", region);
            c->access_key = cfg->s3.access_key_id;
            c->secret_key = cfg->s3.secret_access_key;
            c->session_token = cfg->s3.session_token;
            c->sha_header = "x-amz-content-sha256";
        } else {
            c->anonymous = true;
        }
    }
    return c;
}

struct qpair {
    char *name, *value;
};

static int cmp_qpair(const void *a, const void *b)
{
    const struct qpair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

char *s3_canonical_query(const char *const *pairs)
{
    size_t n = 0;
    while (pairs[2 * n]) n++;
    struct qpair *q = xcalloc(n + 1, sizeof(*q));
    for (size_t i = 0; i < n; i++) {
        q[i].name = pct_encode_str(pairs[2 * i], NULL);
        q[i].value = pct_encode_str(pairs[2 * i + 1] ? pairs[2 * i + 1] : "", NULL);
    }
    /* Sorting the encoded forms is what SigV4 specifies (byte order). */
    qsort(q, n, sizeof(*q), cmp_qpair);
    struct rk_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        rk_buf_printf(&b, "%s%s=%s", i ? "&" : "", q[i].name, q[i].value);
        free(q[i].name);
        free(q[i].value);
    }
    rk_buf_append_byte(&b, '\0');
    free(q);
    return (char *)b.data;
}

/* Builds the URL for key (NULL: the bucket) and an already canonical query. */
static char *s3_url(const struct s3 *c, const char *key, const char *query)
{
    struct rk_buf b = {0};
    rk_buf_printf(&b, "%s/", c->base);
    if (key) pct_encode(&b, key, strlen(key), "/");
    if (query && *query) rk_buf_printf(&b, "?%s", query);
    rk_buf_append_byte(&b, '\0');
    return (char *)b.data;
}

struct s3_req {
    const char *method; /* GET HEAD PUT POST DELETE */
    const char *key;
    const char *query;
    const void *body; /* PUT/POST from memory */
    size_t body_len;
    const char *content_type;
    const char *range;
    const char *op; /* the operation's name in messages, if not method */
    bool stream_up; /* PUT streamed with xfer_push */
    int64_t stream_size;
};

/* Sets up x for r. The header list is kept by the caller until the transfer
 * ends and freed with curl_slist_free_all. */
static struct curl_slist *s3_prepare(const struct s3 *c, struct xfer *x, const struct s3_req *r)
{
    CURL *e = x->easy;
    char *url = s3_url(c, r->key, r->query);
    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url);
    struct curl_slist *h = NULL;
    if (c->sha_header) h = xfer_header(h, c->sha_header, "UNSIGNED-PAYLOAD");
    if (c->session_token) h = xfer_header(h, "x-amz-security-token", c->session_token);
    if (c->bearer) {
        char *auth = xasprintf("Bearer %s", c->bearer);
        h = xfer_header(h, "Authorization", auth);
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    if (r->range) h = xfer_header(h, "Range", r->range);
    if (r->content_type) h = xfer_header(h, "Content-Type", r->content_type);
    if (c->sigv4) {
        curl_easy_setopt(e, CURLOPT_AWS_SIGV4, c->sigv4);
        curl_easy_setopt(e, CURLOPT_USERNAME, c->access_key);
        curl_easy_setopt(e, CURLOPT_PASSWORD, c->secret_key);
    }
    if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(r->method, "PUT")) {
        if (r->stream_up)
            xfer_upload_stream(x, r->stream_size);
        else
            xfer_upload_mem(x, r->body, r->body_len);
    } else if (!strcmp(r->method, "POST")) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, r->body ? (const char *)r->body : "");
    } else if (!strcmp(r->method, "DELETE")) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    return h;
}

/* "S3 PUT s3://bucket/key" */
static char *s3_what(const struct s3 *c, const char *method, const char *key)
{
    return xasprintf("%s %s %s://%s/%s", c->name, method, c->gcs ? "gs" : "s3", c->bucket,
                     key ? key : "");
}

/* Words an HTTP failure: the store's name, what we did, its status and its
 * own error code and message (never our credentials: only Code and Message
 * are taken from the answer). */
static int s3_http_error(const struct s3 *c, struct xfer *x, const char *what, struct rk_err *err)
{
    if (x->result != CURLE_OK) return xfer_transport_error(x, what, err);
    char *code = xml_first((const char *)x->body.data, x->body.len, "Code");
    char *msg = xml_first((const char *)x->body.data, x->body.len, "Message");
    const char *hint = "";
    if ((x->status == 401 || x->status == 403) && c->anonymous)
        hint =
            c->gcs
                ? " (no credentials configured: set GOOGLE_APPLICATION_CREDENTIALS or "
                  "GCS_HMAC_ACCESS_ID and GCS_HMAC_SECRET)"
                : " (no credentials configured: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)";
    if (code)
        rk_err_set(err, "%s: the server answered %ld %s%s%s%s", what, x->status, code,
                   msg ? ": " : "", msg ? msg : "", hint);
    else if (x->status == 404)
        rk_err_set(err, "%s: not found (404)", what);
    else
        rk_err_set(err, "%s: the server answered %ld%s", what, x->status, hint);
    free(code);
    free(msg);
    int rc = xfer_status_result(x->status);
    return rc;
}

/* Runs r with retries; STORE_OK only for a 2xx answer (body in x->body). */
static int s3_do(const struct s3 *c, struct xfer *x, const struct s3_req *r, struct rk_err *err)
{
    char *what = s3_what(c, r->op ? r->op : r->method, r->key);
    int rc = STORE_FAIL;
    for (int attempt = 0;; attempt++) {
        xfer_reset(x);
        struct curl_slist *h = s3_prepare(c, x, r);
        rc = xfer_run(x, what, err);
        curl_slist_free_all(h);
        if (rc == STORE_OK && xfer_status_ok(x)) break;
        if (!xfer_retryable(x) || attempt >= c->cfg->max_retries) {
            rc = s3_http_error(c, x, what, err);
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

/* ------------------------------------------------------------------ stat -- */

/* HEAD, worded as op ("HEAD", or "DELETE" when it checks before one). */
static int s3_head(const struct store_config *cfg, const struct store_uri *u, const char *op,
                   struct store_stat *st, struct rk_err *err)
{
    int rc = STORE_OK;
    struct s3 *c = s3_new(cfg, u, &rc, err);
    if (!c) return rc;
    struct xfer x;
    xfer_init(&x, cfg);
    struct s3_req r = {.method = "HEAD", .key = u->path, .op = op};
    rc = s3_do(c, &x, &r, err);
    if (rc == STORE_DENIED || (rc == STORE_FAIL && x.result == CURLE_OK && x.status >= 400)) {
        /* A HEAD answer has no body to explain itself: ask again with a GET
         * of one byte to get the store's error code for the message. */
        struct s3_req g = {.method = "GET", .key = u->path, .range = "bytes=0-0", .op = op};
        int grc = s3_do(c, &x, &g, err);
        if (grc == STORE_OK)
            rc = s3_do(c, &x, &r, err);
        else
            rc = grc;
    }
    if (rc == STORE_OK) {
        st->size = x.hdr.content_length >= 0 ? (uint64_t)x.hdr.content_length : 0;
        st->size_known = x.hdr.content_length >= 0;
        st->mtime_ms = store_parse_date(x.hdr.last_modified);
        snprintf(st->etag, sizeof(st->etag), "%s", x.hdr.etag);
    }
    xfer_cleanup(&x);
    s3_free(c);
    return rc;
}

static int s3_stat(const struct store_config *cfg, const struct store_uri *u, struct store_stat *st,
                   struct rk_err *err)
{
    return s3_head(cfg, u, "HEAD", st, err);
}

/* ------------------------------------------------------------------ list -- */

static int s3_list(const struct store_config *cfg, const struct store_uri *u, store_list_fn fn,
                   void *arg, struct rk_err *err)
{
    int rc = STORE_OK;
    struct s3 *c = s3_new(cfg, u, &rc, err);
    if (!c) return rc;
    struct xfer x;
    xfer_init(&x, cfg);
    char *token = NULL, *query = NULL;
    for (int page = 0; rc == STORE_OK; page++) {
        const char *pairs[] = {
            "list-type", "2", "prefix", u->path, token ? "continuation-token" : NULL, token, NULL};
        free(query);
        query = s3_canonical_query(pairs);
        struct s3_req r = {.method = "GET", .query = query};
        rc = s3_do(c, &x, &r, err);
        if (rc != STORE_OK) break;
        const char *doc = (const char *)x.body.data;
        size_t len = x.body.len, pos = 0, s, e;
        while (rc == STORE_OK && xml_span(doc, len, &pos, "Contents", &s, &e) == 0) {
            char *key = xml_first(doc + s, e - s, "Key");
            char *size = xml_first(doc + s, e - s, "Size");
            char *mod = xml_first(doc + s, e - s, "LastModified");
            uint64_t sz = 0;
            if (key && size && rk_parse_u64(size, &sz) == 0) {
                struct store_entry ent = {key, sz, store_parse_date(mod)};
                rc = fn(arg, &ent);
            } else {
                rc = rk_err_set(err, "%s: malformed listing (an entry without Key or Size)",
                                c->name);
            }
            free(key);
            free(size);
            free(mod);
        }
        if (rc != STORE_OK) break;
        char *truncated = xml_first(doc, len, "IsTruncated");
        char *next = xml_first(doc, len, "NextContinuationToken");
        bool more = truncated && !strcmp(truncated, "true");
        free(truncated);
        if (!more) {
            free(next);
            break;
        }
        if (!next || !*next || (token && !strcmp(token, next)) || page > 1000000) {
            free(next);
            rc = rk_err_set(
                err, "%s: the listing is truncated but has no usable continuation token", c->name);
            break;
        }
        free(token);
        token = next;
    }
    free(token);
    free(query);
    xfer_cleanup(&x);
    s3_free(c);
    return rc;
}

/* ---------------------------------------------------------------- delete -- */

static int s3_remove(const struct store_config *cfg, const struct store_uri *u, struct rk_err *err)
{
    struct store_stat st;
    /* S3 deletes a missing key "successfully"; say it was not there. */
    int rc = s3_head(cfg, u, "DELETE", &st, err);
    if (rc != STORE_OK) return rc;
    struct s3 *c = s3_new(cfg, u, &rc, err);
    if (!c) return rc;
    struct xfer x;
    xfer_init(&x, cfg);
    struct s3_req r = {.method = "DELETE", .key = u->path};
    rc = s3_do(c, &x, &r, err);
    xfer_cleanup(&x);
    s3_free(c);
    return rc;
}

/* ------------------------------------------------------------------ read -- */

struct s3_read_ctx {
    struct s3 *c;
    char *key;
    char *what;
    char range[48];
    struct curl_slist *headers;
};

static void s3_read_prepare(void *arg, struct xfer *x, uint64_t offset)
{
    struct s3_read_ctx *r = arg;
    curl_slist_free_all(r->headers);
    struct s3_req q = {.method = "GET", .key = r->key};
    if (offset) {
        snprintf(r->range, sizeof(r->range), "bytes=%llu-", (unsigned long long)offset);
        q.range = r->range;
    }
    r->headers = s3_prepare(r->c, x, &q);
}

static const char *s3_read_what(void *arg)
{
    return ((struct s3_read_ctx *)arg)->what;
}

static int s3_read_error(void *arg, struct xfer *x, struct rk_err *err)
{
    struct s3_read_ctx *r = arg;
    return s3_http_error(r->c, x, r->what, err);
}

static void s3_read_free(void *arg)
{
    struct s3_read_ctx *r = arg;
    curl_slist_free_all(r->headers);
    s3_free(r->c);
    free(r->key);
    free(r->what);
    free(r);
}

static const struct reader_ops s3_reader_ops = {s3_read_prepare, s3_read_what, s3_read_error,
                                                s3_read_free};

static struct io_source *s3_open_read(const struct store_config *cfg, const struct store_uri *u,
                                      uint64_t offset, struct store_stat *st, int *result,
                                      struct rk_err *err)
{
    struct s3 *c = s3_new(cfg, u, result, err);
    if (!c) return NULL;
    struct s3_read_ctx *r = xcalloc(1, sizeof(*r));
    r->c = c;
    r->key = xstrdup(u->path);
    r->what = s3_what(c, "GET", u->path);
    return reader_open(cfg, &s3_reader_ops, r, offset, st, result, err);
}

/* ----------------------------------------------------------------- write -- */

struct s3_write_ctx {
    struct s3 *c;
    char *key;
    char *what;
    char *upload_id;
    struct rk_buf complete; /* the CompleteMultipartUpload body so far */
    struct xfer aux;        /* create, complete, abort, small puts */
};

static struct curl_slist *s3w_prepare_stream(void *arg, struct xfer *x, uint64_t size)
{
    struct s3_write_ctx *w = arg;
    struct s3_req r = {
        .method = "PUT", .key = w->key, .stream_up = true, .stream_size = (int64_t)size};
    return s3_prepare(w->c, x, &r);
}

static int s3w_put_small(void *arg, const unsigned char *data, size_t len, struct rk_err *err)
{
    struct s3_write_ctx *w = arg;
    struct s3_req r = {.method = "PUT", .key = w->key, .body = data, .body_len = len};
    return s3_do(w->c, &w->aux, &r, err);
}

static int s3w_begin(void *arg, struct rk_err *err)
{
    struct s3_write_ctx *w = arg;
    struct s3_req r = {.method = "POST", .key = w->key, .query = "uploads="};
    int rc = s3_do(w->c, &w->aux, &r, err);
    if (rc != STORE_OK) return rc;
    free(w->upload_id);
    w->upload_id = xml_first((const char *)w->aux.body.data, w->aux.body.len, "UploadId");
    if (!w->upload_id || !*w->upload_id) {
        rk_err_set(err, "%s: CreateMultipartUpload answered without an UploadId", w->what);
        return STORE_FAIL;
    }
    w->complete.len = 0;
    rk_buf_printf(&w->complete, "<CompleteMultipartUpload>");
    return STORE_OK;
}

/* "uploadId=..." (or "partNumber=N&uploadId=..."). */
static char *upload_query(const struct s3_write_ctx *w, int part)
{
    char num[16];
    snprintf(num, sizeof(num), "%d", part);
    const char *pairs[] = {"uploadId", w->upload_id, part ? "partNumber" : NULL, num, NULL};
    return s3_canonical_query(pairs);
}

static struct curl_slist *s3w_prepare_part(void *arg, struct xfer *x, int number,
                                           const unsigned char *data, size_t len)
{
    struct s3_write_ctx *w = arg;
    char *q = upload_query(w, number);
    struct s3_req r = {.method = "PUT", .key = w->key, .query = q, .body = data, .body_len = len};
    struct curl_slist *h = s3_prepare(w->c, x, &r);
    free(q);
    return h;
}

static int s3w_part_done(void *arg, struct xfer *x, int number, struct rk_err *err)
{
    struct s3_write_ctx *w = arg;
    if (!x->hdr.etag[0]) {
        rk_err_set(err, "%s: the server accepted part %d without an ETag", w->what, number);
        return STORE_FAIL;
    }
    rk_buf_printf(&w->complete, "<Part><PartNumber>%d</PartNumber><ETag>", number);
    for (const char *p = x->hdr.etag; *p; p++) {
        if (*p == '&')
            rk_buf_printf(&w->complete, "&amp;");
        else if (*p == '<')
            rk_buf_printf(&w->complete, "&lt;");
        else
            rk_buf_append_byte(&w->complete, (unsigned char)*p);
    }
    rk_buf_printf(&w->complete, "</ETag></Part>");
    return STORE_OK;
}

static int s3w_complete(void *arg, int parts, struct rk_err *err)
{
    struct s3_write_ctx *w = arg;
    rk_buf_printf(&w->complete, "</CompleteMultipartUpload>");
    char *q = upload_query(w, 0);
    struct s3_req r = {.method = "POST",
                       .key = w->key,
                       .query = q,
                       .body = w->complete.data,
                       .body_len = w->complete.len,
                       .content_type = "application/xml"};
    int rc = s3_do(w->c, &w->aux, &r, err);
    free(q);
    if (rc != STORE_OK) return rc;
    /* S3 can answer 200 and still fail the completion in the body. */
    const char *body = (const char *)w->aux.body.data;
    char *code = xml_first(body, w->aux.body.len, "Code");
    if (code || !memmem(body, w->aux.body.len, "CompleteMultipartUploadResult", 29)) {
        char *msg = xml_first(body, w->aux.body.len, "Message");
        rk_err_set(err, "%s: completing the multipart upload of %d parts failed: %s%s%s", w->what,
                   parts, code ? code : "unexpected answer", msg ? ": " : "", msg ? msg : "");
        free(code);
        free(msg);
        return STORE_FAIL;
    }
    free(w->upload_id);
    w->upload_id = NULL;
    return STORE_OK;
}

static void s3w_abort(void *arg)
{
    struct s3_write_ctx *w = arg;
    if (!w->upload_id) return;
    char *q = upload_query(w, 0);
    struct s3_req r = {.method = "DELETE", .key = w->key, .query = q};
    struct rk_err aerr;
    /* Best effort, with the usual retries: a failure leaves parts (never an
     * object), which the bucket's lifecycle rules clean up. */
    w->aux.ignore_cancel = true;
    if (s3_do(w->c, &w->aux, &r, &aerr) != STORE_OK)
        rk_log(RK_LOG_WARN, "store",
               "msg=\"could not abort the multipart upload\" what=\"%s\" error=\"%s\"", w->what,
               aerr.msg);
    free(q);
    free(w->upload_id);
    w->upload_id = NULL;
}

static int s3w_http_error(void *arg, struct xfer *x, const char *what, struct rk_err *err)
{
    return s3_http_error(((struct s3_write_ctx *)arg)->c, x, what, err);
}

static void s3w_free(void *arg)
{
    struct s3_write_ctx *w = arg;
    xfer_cleanup(&w->aux);
    rk_buf_free(&w->complete);
    free(w->upload_id);
    free(w->key);
    free(w->what);
    s3_free(w->c);
    free(w);
}

static const struct parts_ops s3_parts_ops = {
    .prepare_stream = s3w_prepare_stream,
    .put_small = s3w_put_small,
    .begin = s3w_begin,
    .prepare_part = s3w_prepare_part,
    .part_done = s3w_part_done,
    .complete = s3w_complete,
    .abort = s3w_abort,
    .http_error = s3w_http_error,
    .free_ctx = s3w_free,
};

static struct io_sink *s3_open_write(const struct store_config *cfg, const struct store_uri *u,
                                     int64_t size_hint, int *result, struct rk_err *err)
{
    struct s3 *c = s3_new(cfg, u, result, err);
    if (!c) return NULL;
    struct s3_write_ctx *w = xcalloc(1, sizeof(*w));
    w->c = c;
    w->key = xstrdup(u->path);
    w->what = s3_what(c, "PUT", u->path);
    xfer_init(&w->aux, cfg);
    struct parts_limits lim = {
        .part_size = cfg->part_size,
        .min_part = 5u << 20,
        .max_part = 5ull << 30,
        .max_parts = 10000,
        .single_limit = cfg->single_put_limit < (5ull << 30) ? cfg->single_put_limit : (5ull << 30),
    };
    char *what = xstrdup(w->what);
    struct io_sink *sink =
        parts_writer_new(cfg, &s3_parts_ops, w, what, size_hint, &lim, result, err);
    free(what);
    return sink;
}

const struct store_driver store_s3_driver = {
    .name = "s3",
    .stat = s3_stat,
    .list = s3_list,
    .remove = s3_remove,
    .open_read = s3_open_read,
    .open_write = s3_open_write,
};
