/* The front door: parse the URI, pick the driver, keep the promises of
 * store.h that hold for every driver (messages name the store and the
 * redacted URI, unsupported operations say so). */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_sink_init(struct store_sink *s, const struct io_sink_ops *ops)
{
    io_sink_init(&s->base, ops, NULL);
    s->result = STORE_OK;
}

int store_sink_result(struct io_sink *sink)
{
    /* Only sinks made by store_open_write are store_sinks; the caller holds
     * one of those. */
    return ((struct store_sink *)sink)->result;
}

static const struct store_driver *driver_for(enum store_kind kind)
{
    switch (kind) {
    case STORE_LOCAL: return &store_local_driver;
    case STORE_S3:
    case STORE_GCS: return &store_s3_driver;
    case STORE_AZURE: return &store_azure_driver;
    case STORE_FTP:
    case STORE_FTPS: return &store_ftp_driver;
    case STORE_HTTP:
    case STORE_HTTPS: return &store_http_driver;
    case STORE_REDIS:
    case STORE_REDISS: return NULL;
    }
    return NULL;
}

static struct store_uri *parse_for(const char *uri, enum store_uri_role role, struct rk_err *err)
{
    struct rk_err perr;
    struct store_uri *u = store_uri_parse(uri, STORE_TYPE_ANY, role, NULL, &perr);
    if (!u) {
        char *shown = store_uri_redact(uri);
        rk_err_set(err, "%s: %s", shown, perr.msg);
        free(shown);
    }
    return u;
}

static int unsupported(const struct store_uri *u, const char *what, struct rk_err *err)
{
    rk_err_set(err, "%s: %s stores do not support %s", store_kind_name(u->kind),
               store_kind_name(u->kind), what);
    return STORE_UNSUPPORTED;
}

int store_stat(const struct store_config *cfg, const char *uri, struct store_stat *st,
               struct rk_err *err)
{
    struct store_uri *u = parse_for(uri, STORE_URI_OBJECT, err);
    if (!u) return STORE_BAD_URI;
    memset(st, 0, sizeof(*st));
    st->mtime_ms = -1;
    const struct store_driver *d = driver_for(u->kind);
    int rc = d && d->stat ? d->stat(cfg, u, st, err) : unsupported(u, "stat", err);
    store_uri_free(u);
    return rc;
}

int store_list(const struct store_config *cfg, const char *uri, store_list_fn fn, void *arg,
               struct rk_err *err)
{
    struct store_uri *u = parse_for(uri, STORE_URI_PREFIX, err);
    if (!u) return STORE_BAD_URI;
    const struct store_driver *d = driver_for(u->kind);
    int rc = d && d->list ? d->list(cfg, u, fn, arg, err) : unsupported(u, "listing", err);
    store_uri_free(u);
    return rc;
}

int store_delete(const struct store_config *cfg, const char *uri, struct rk_err *err)
{
    struct store_uri *u = parse_for(uri, STORE_URI_OBJECT, err);
    if (!u) return STORE_BAD_URI;
    const struct store_driver *d = driver_for(u->kind);
    int rc = d && d->remove ? d->remove(cfg, u, err) : unsupported(u, "deleting", err);
    store_uri_free(u);
    return rc;
}

int store_remove_partial(const struct store_config *cfg, const char *uri, struct rk_err *err)
{
    (void)cfg;
    struct store_uri *u = parse_for(uri, STORE_URI_OBJECT, err);
    if (!u) return STORE_BAD_URI;
    int rc = u->kind == STORE_LOCAL ? store_local_remove_partial(u, err)
                                    : unsupported(u, "removing an interrupted write", err);
    store_uri_free(u);
    return rc;
}

struct io_source *store_open_read(const struct store_config *cfg, const char *uri, uint64_t offset,
                                  struct store_stat *st, int *result, struct rk_err *err)
{
    int dummy;
    if (!result) result = &dummy;
    struct store_stat local_st;
    if (!st) st = &local_st;
    memset(st, 0, sizeof(*st));
    st->mtime_ms = -1;
    struct store_uri *u = parse_for(uri, STORE_URI_OBJECT, err);
    if (!u) {
        *result = STORE_BAD_URI;
        return NULL;
    }
    struct io_source *src = NULL;
    *result = STORE_OK;
    if (u->kind == STORE_REDIS || u->kind == STORE_REDISS) {
        if (!cfg->redis_open) {
            *result = STORE_UNSUPPORTED;
            rk_err_set(err,
                       "%s: reading a live Redis server needs the replication client, which "
                       "this program does not provide here",
                       store_kind_name(u->kind));
        } else if (offset) {
            *result = STORE_UNSUPPORTED;
            rk_err_set(err, "%s: a live snapshot cannot start at an offset",
                       store_kind_name(u->kind));
        } else {
            src = cfg->redis_open(cfg->redis_open_arg, u, err);
            if (!src) *result = STORE_FAIL;
        }
    } else {
        const struct store_driver *d = driver_for(u->kind);
        src = d->open_read(cfg, u, offset, st, result, err);
        if (!src && *result == STORE_OK) *result = STORE_FAIL;
    }
    store_uri_free(u);
    return src;
}

struct io_sink *store_open_write(const struct store_config *cfg, const char *uri, int64_t size_hint,
                                 int *result, struct rk_err *err)
{
    int dummy;
    if (!result) result = &dummy;
    struct store_uri *u = parse_for(uri, STORE_URI_OBJECT, err);
    if (!u) {
        *result = STORE_BAD_URI;
        return NULL;
    }
    struct io_sink *sink = NULL;
    const struct store_driver *d = driver_for(u->kind);
    *result = STORE_OK;
    if (!d || !d->open_write || !store_kind_writable(u->kind)) {
        *result = unsupported(u, "writing (they are import sources only)", err);
    } else {
        sink = d->open_write(cfg, u, size_hint, result, err);
        if (!sink && *result == STORE_OK) *result = STORE_FAIL;
    }
    store_uri_free(u);
    return sink;
}

int store_probe_write(const struct store_config *cfg, const char *uri, struct rk_err *err)
{
    char name[96];
    snprintf(name, sizeof(name), ".rdbkeep-probe-%llx-%llx", (unsigned long long)rk_now_ms(),
             (unsigned long long)(rk_monotonic_ns() & 0xffffffu));
    char *probe = store_uri_join(uri, name, err);
    if (!probe) return STORE_BAD_URI;
    int rc;
    static const char body[] = "rdbkeep write probe; it is deleted right away\n";
    struct io_sink *w = store_open_write(cfg, probe, (int64_t)sizeof(body) - 1, &rc, err);
    if (w) {
        if (io_sink_write(w, body, sizeof(body) - 1, err) < 0 || io_sink_close(w, err) < 0) {
            rc = store_sink_result(w);
            if (rc == STORE_OK) rc = STORE_FAIL;
        }
        io_sink_free(w);
    }
    if (rc == STORE_OK) rc = store_delete(cfg, probe, err);
    free(probe);
    return rc;
}
