/* libmicrohttpd glue: its own thread pool serves the connections; each
 * request's body is gathered up to maxBodyBytes, then rk_api_handle answers.
 * A body announced larger than the limit is refused before it is read. */
#include "api/internal.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct rk_api {
    struct MHD_Daemon *daemon;
    struct rk_service *svc;
    uint64_t max_body;
    unsigned port;
};

struct request_state {
    struct rk_buf body;
    bool too_large;
    uint64_t start_ns;
};

static const char *query_lookup(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, const struct rk_api_response *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type ? r->content_type : "application/json");
    if (r->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void log_request(const char *method, const char *url, int status, uint64_t start_ns)
{
    char shown[128];
    size_t o = 0;
    for (const char *p = url; p && *p && o + 1 < sizeof(shown); p++)
        shown[o++] = (*p > 0x20 && *p < 0x7f && *p != '"') ? *p : '?';
    shown[o] = '\0';
    bool reading = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    rk_log(reading && status < 500 ? RK_LOG_DEBUG : RK_LOG_INFO, "http",
           "msg=\"request\" method=%.8s path=\"%s\" status=%d us=%llu", method, shown, status,
           (unsigned long long)((rk_monotonic_ns() - start_ns) / 1000));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct rk_api *api = cls;
    struct request_state *st = *con_cls;
    if (!st) {
        st = xcalloc(1, sizeof(*st));
        st->start_ns = rk_monotonic_ns();
        *con_cls = st;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t declared;
        if (cl && rk_parse_u64(cl, &declared) == 0 && declared > api->max_body) {
            /* Answer now: MHD then drops the body and closes the connection. */
            struct rk_api_request req = {.method = method, .path = url, .body_too_large = true};
            struct rk_api_response resp;
            rk_api_handle(api->svc, &req, &resp);
            log_request(method, url, resp.status, st->start_ns);
            return send_response(conn, &resp);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!st->too_large && st->body.len + *upload_size > api->max_body) {
            st->too_large = true;
            rk_buf_free(&st->body);
        }
        if (!st->too_large) rk_buf_append(&st->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    struct rk_api_request req = {
        .method = method,
        .path = url,
        .query = query_lookup,
        .query_ctx = conn,
        .api_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-api-key"),
        .api_secret = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-api-secret-key"),
        .content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .body = (const char *)st->body.data,
        .body_len = st->body.len,
        .body_too_large = st->too_large,
    };
    struct rk_api_response resp;
    rk_api_handle(api->svc, &req, &resp);
    log_request(method, url, resp.status, st->start_ns);
    return send_response(conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    struct request_state *st = *con_cls;
    if (!st) return;
    rk_buf_free(&st->body);
    free(st);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    for (char *p = line; *p; p++)
        if (*p == '"') *p = '\'';
    rk_log(RK_LOG_WARN, "http", "msg=\"%s\"", line);
}

/* HOST:PORT or [V6]:PORT into a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len, struct rk_err *err)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen) return rk_err_set(err, "listen: '%s' is not HOST:PORT", listen);
    char host[256];
    size_t hl = (size_t)(colon - listen);
    const char *h = listen;
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof(host)) return rk_err_set(err, "listen: host too long");
    memcpy(host, h, hl);
    host[hl] = '\0';
    uint64_t port;
    if (rk_parse_u64(colon + 1, &port) < 0 || port > 65535)
        return rk_err_set(err, "listen: '%s' is not a port", colon + 1);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0) return rk_err_set(err, "listen: %s: %s", host, gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

struct rk_api *rk_api_start(struct rk_service *svc, struct rk_err *err)
{
    const struct rk_config *cfg = rk_service_config(svc);
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (parse_listen(cfg->listen, &ss, &sslen, err) < 0) return NULL;
    /* jansson seeds its hash function on first use; do it before the
     * thread pool can race for it. */
    json_object_seed(0);
    struct rk_api *api = xcalloc(1, sizeof(*api));
    api->svc = svc;
    api->max_body = cfg->max_body_bytes;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    /* The logger goes first, so that MHD's own messages use it too. */
    api->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, api, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, api,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, api, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)1, MHD_OPTION_END);
    if (!api->daemon) {
        free(api);
        rk_err_set(err, "cannot listen on %s (in use, or not an address of this machine)", cfg->listen);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(api->daemon, MHD_DAEMON_INFO_BIND_PORT);
    api->port = info ? info->port : 0;
    return api;
}

unsigned rk_api_port(const struct rk_api *api)
{
    return api->port;
}

void rk_api_stop(struct rk_api *api)
{
    if (!api) return;
    MHD_stop_daemon(api->daemon);
    free(api);
}
