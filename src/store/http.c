/* HTTP and HTTPS import sources: read only. Basic auth from the URI (sent
 * only to the URI's host, also across redirects), redirects followed within
 * http and https, dropped downloads resumed with Range (reader.c). */
#include "store/reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http_ctx {
    const struct store_config *cfg;
    char *url;
    char *user, *password;
    char *what;
    char range[48];
    struct curl_slist *headers;
};

static struct http_ctx *http_new(const struct store_config *cfg, const struct store_uri *u,
                                 const char *op)
{
    struct http_ctx *h = xcalloc(1, sizeof(*h));
    h->cfg = cfg;
    bool v6 = strchr(u->host, ':') != NULL;
    char port[16] = "";
    if (u->port) snprintf(port, sizeof(port), ":%u", u->port);
    h->url = xasprintf("%s://%s%s%s%s%s", store_kind_name(u->kind), v6 ? "[" : "", u->host,
                       v6 ? "]" : "", port, u->path);
    if (u->user) h->user = xstrdup(u->user);
    if (u->password) h->password = xstrdup(u->password);
    char *shown = store_uri_display(u);
    h->what = xasprintf("%s %s %s", u->kind == STORE_HTTPS ? "HTTPS" : "HTTP", op, shown);
    free(shown);
    return h;
}

static void http_free(struct http_ctx *h)
{
    if (!h) return;
    curl_slist_free_all(h->headers);
    free(h->url);
    free(h->user);
    if (h->password) {
        memset(h->password, 0, strlen(h->password));
        free(h->password);
    }
    free(h->what);
    free(h);
}

static void http_setup(struct http_ctx *h, struct xfer *x, uint64_t offset)
{
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, h->url);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
    if (h->user || h->password) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, h->user ? h->user : "");
        curl_easy_setopt(e, CURLOPT_PASSWORD, h->password ? h->password : "");
    }
    curl_slist_free_all(h->headers);
    h->headers = NULL;
    if (offset) {
        snprintf(h->range, sizeof(h->range), "bytes=%llu-", (unsigned long long)offset);
        h->headers = xfer_header(NULL, "Range", h->range);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
}

static int http_error(struct xfer *x, const char *what, struct rk_err *err)
{
    if (x->result != CURLE_OK) return xfer_transport_error(x, what, err);
    const char *reason = x->status == 401   ? " Unauthorized (wrong or missing user and password)"
                         : x->status == 403 ? " Forbidden"
                         : x->status == 404 ? " Not Found"
                                            : "";
    rk_err_set(err, "%s: the server answered %ld%s", what, x->status, reason);
    return xfer_status_result(x->status);
}

static int http_stat(const struct store_config *cfg, const struct store_uri *u,
                     struct store_stat *st, struct rk_err *err)
{
    struct http_ctx *h = http_new(cfg, u, "HEAD");
    struct xfer x;
    xfer_init(&x, cfg);
    int rc = STORE_FAIL;
    for (int attempt = 0;; attempt++) {
        xfer_reset(&x);
        http_setup(h, &x, 0);
        curl_easy_setopt(x.easy, CURLOPT_NOBODY, 1L);
        rc = xfer_run(&x, h->what, err);
        if (rc == STORE_OK && xfer_status_ok(&x)) break;
        if (!xfer_retryable(&x) || attempt >= cfg->max_retries || xfer_backoff(&x, attempt) < 0) {
            rc = http_error(&x, h->what, err);
            break;
        }
    }
    if (rc == STORE_OK) {
        st->size_known = x.hdr.content_length >= 0;
        st->size = st->size_known ? (uint64_t)x.hdr.content_length : 0;
        st->mtime_ms = store_parse_date(x.hdr.last_modified);
        snprintf(st->etag, sizeof(st->etag), "%s", x.hdr.etag);
    }
    xfer_cleanup(&x);
    http_free(h);
    return rc;
}

static void http_read_prepare(void *arg, struct xfer *x, uint64_t offset)
{
    http_setup(arg, x, offset);
}

static const char *http_read_what(void *arg)
{
    return ((struct http_ctx *)arg)->what;
}

static int http_read_error(void *arg, struct xfer *x, struct rk_err *err)
{
    return http_error(x, ((struct http_ctx *)arg)->what, err);
}

static void http_read_free(void *arg)
{
    http_free(arg);
}

static const struct reader_ops http_reader_ops = {http_read_prepare, http_read_what,
                                                  http_read_error, http_read_free};

static struct io_source *http_open_read(const struct store_config *cfg, const struct store_uri *u,
                                        uint64_t offset, struct store_stat *st, int *result,
                                        struct rk_err *err)
{
    return reader_open(cfg, &http_reader_ops, http_new(cfg, u, "GET"), offset, st, result, err);
}

const struct store_driver store_http_driver = {
    .name = "http",
    .stat = http_stat,
    .open_read = http_open_read,
};
