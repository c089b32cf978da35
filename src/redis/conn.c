/* One connection to a Redis server: TCP or TLS, always non-blocking so that a
 * single thread can write a pipeline and read its replies at once, with
 * deadlines and a cancel hook on every wait. Synchronous commands are
 * formatted by hiredis and their replies parsed by hiredis's reader.
 *
 * hiredis 0.14 (Debian 12) has no TLS, so TLS is OpenSSL on our socket. */
#include "redis/redis_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_SLICE_MS 200 /* how often a wait looks at the cancel hook */

struct rconn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    bool read_wants_write; /* TLS: the last SSL_read needs the socket writable */
    bool write_wants_read; /* TLS: the last SSL_write needs the socket readable */
    char name[300];        /* host:port, for messages */
    long io_timeout_ms;
    bool (*cancelled)(void *arg);
    void *cancel_arg;
    redisReader *reader;
};

void redis_config_init(struct redis_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->connect_timeout_ms = 10000;
    cfg->io_timeout_ms = 60000;
}

const char *rconn_name(const struct rconn *c)
{
    return c->name;
}

int rconn_fd(const struct rconn *c)
{
    return c->fd;
}

long rconn_io_timeout(const struct rconn *c)
{
    return c->io_timeout_ms;
}

long rconn_set_io_timeout(struct rconn *c, long ms)
{
    long old = c->io_timeout_ms;
    c->io_timeout_ms = ms;
    return old;
}

bool rconn_cancelled(const struct rconn *c)
{
    return c->cancelled && c->cancelled(c->cancel_arg);
}

static struct rconn *conn_alloc(const struct redis_config *cfg, int fd, const char *name)
{
    struct rconn *c = xcalloc(1, sizeof(*c));
    c->fd = fd;
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->io_timeout_ms = cfg && cfg->io_timeout_ms > 0 ? cfg->io_timeout_ms : 60000;
    if (cfg) {
        c->cancelled = cfg->cancelled;
        c->cancel_arg = cfg->cancel_arg;
    }
    c->reader = redisReaderCreate();
    return c;
}

void rconn_close(struct rconn *c)
{
    if (!c) return;
    if (c->ssl) {
        SSL_shutdown(c->ssl); /* best effort; the socket is non-blocking */
        SSL_free(c->ssl);
    }
    if (c->ctx) SSL_CTX_free(c->ctx);
    if (c->fd >= 0) close(c->fd);
    if (c->reader) redisReaderFree(c->reader);
    free(c);
}

struct rconn *rconn_adopt(const struct redis_config *cfg, int fd, const char *name)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    return conn_alloc(cfg, fd, name);
}

/* ------------------------------------------------------------------ waiting -- */

static int cancelled_error(const struct rconn *c, struct rk_err *err)
{
    return rk_err_set(err, "%s: cancelled", c->name);
}

int rconn_wait(struct rconn *c, bool rd, bool wr, long timeout_ms, bool *can_read, bool *can_write,
               struct rk_err *err)
{
    *can_read = *can_write = false;
    if (rd && c->ssl && SSL_pending(c->ssl) > 0) {
        *can_read = true;
        return 0;
    }
    uint64_t deadline = rk_monotonic_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000u;
    for (;;) {
        if (rconn_cancelled(c)) return cancelled_error(c, err);
        struct pollfd pfd = {.fd = c->fd};
        /* TLS may need the other direction to make progress. */
        if ((rd && !c->read_wants_write) || (wr && c->write_wants_read)) pfd.events |= POLLIN;
        if ((wr && !c->write_wants_read) || (rd && c->read_wants_write)) pfd.events |= POLLOUT;
        uint64_t now = rk_monotonic_ns();
        if (now >= deadline) return 0;
        long left = (long)((deadline - now) / 1000000u) + 1;
        int n = poll(&pfd, 1, left < WAIT_SLICE_MS ? (int)left : WAIT_SLICE_MS);
        if (n < 0) {
            if (errno == EINTR) continue;
            return rk_err_set(err, "%s: poll: %s", c->name, strerror(errno));
        }
        if (n == 0) continue;
        /* Errors and hang-ups show up as readable: the read reports them. */
        bool in = pfd.revents & (POLLIN | POLLERR | POLLHUP);
        bool out = pfd.revents & (POLLOUT | POLLERR | POLLHUP);
        if (rd) *can_read = c->read_wants_write ? out : in;
        if (wr) *can_write = c->write_wants_read ? in : out;
        if (*can_read || *can_write) return 0;
    }
}

/* ---------------------------------------------------------------- TLS -- */

static void tls_error(char *out, size_t outlen)
{
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, out, outlen);
    else
        snprintf(out, outlen, "%s", "unknown TLS error");
    ERR_clear_error();
}

static int tls_start(struct rconn *c, const struct redis_config *cfg, const char *host,
                     struct rk_err *err)
{
    char msg[256];
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx) {
        tls_error(msg, sizeof(msg));
        return rk_err_set(err, "%s: TLS: %s", c->name, msg);
    }
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!cfg->tls_insecure) {
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
        if (cfg->tls_ca_file) {
            if (SSL_CTX_load_verify_locations(c->ctx, cfg->tls_ca_file, NULL) != 1) {
                tls_error(msg, sizeof(msg));
                return rk_err_set(err, "TLS: cannot load the CA file %s: %s", cfg->tls_ca_file,
                                  msg);
            }
        } else {
            SSL_CTX_set_default_verify_paths(c->ctx);
        }
    }
    if (cfg->tls_cert_file) {
        if (SSL_CTX_use_certificate_chain_file(c->ctx, cfg->tls_cert_file) != 1) {
            tls_error(msg, sizeof(msg));
            return rk_err_set(err, "TLS: cannot load the certificate %s: %s", cfg->tls_cert_file,
                              msg);
        }
        const char *key = cfg->tls_key_file ? cfg->tls_key_file : cfg->tls_cert_file;
        if (SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1) {
            tls_error(msg, sizeof(msg));
            return rk_err_set(err, "TLS: cannot load the private key %s: %s", key, msg);
        }
    }
    c->ssl = SSL_new(c->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        tls_error(msg, sizeof(msg));
        return rk_err_set(err, "%s: TLS: %s", c->name, msg);
    }
    const char *name = cfg->tls_server_name ? cfg->tls_server_name : host;
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(c->ssl, name);
    if (!cfg->tls_insecure) {
        X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name)
                       : X509_VERIFY_PARAM_set1_host(param, name, 0);
        if (ok != 1) return rk_err_set(err, "%s: TLS: cannot set the name to verify", c->name);
    }
    uint64_t deadline = rk_monotonic_ns() + (uint64_t)cfg->connect_timeout_ms * 1000000u;
    for (;;) {
        ERR_clear_error();
        int rc = SSL_connect(c->ssl);
        if (rc == 1) return 0;
        int e = SSL_get_error(c->ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            long vr = SSL_get_verify_result(c->ssl);
            if (vr != X509_V_OK)
                return rk_err_set(err, "%s: TLS: the server's certificate does not verify: %s",
                                  c->name, X509_verify_cert_error_string(vr));
            if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
                return rk_err_set(err,
                                  "%s: TLS handshake: the connection was closed (is it a "
                                  "TLS port?)",
                                  c->name);
            tls_error(msg, sizeof(msg));
            return rk_err_set(err, "%s: TLS handshake: %s", c->name, msg);
        }
        uint64_t now = rk_monotonic_ns();
        if (now >= deadline) return rk_err_set(err, "%s: TLS handshake timed out", c->name);
        if (rconn_cancelled(c)) return cancelled_error(c, err);
        struct pollfd pfd = {.fd = c->fd, .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
        poll(&pfd, 1, WAIT_SLICE_MS);
    }
}

/* ---------------------------------------------------------------- connect -- */

static int connect_one(struct rconn *c, const struct addrinfo *ai, long timeout_ms,
                       struct rk_err *err)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) return rk_err_set(err, "%s: socket: %s", c->name, strerror(errno));
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return rk_err_set(err, "%s: connect: %s", c->name, strerror(e));
    }
    uint64_t deadline = rk_monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        if (rconn_cancelled(c)) {
            close(fd);
            return cancelled_error(c, err);
        }
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int n = poll(&pfd, 1, WAIT_SLICE_MS);
        if (n < 0 && errno != EINTR) {
            int e = errno;
            close(fd);
            return rk_err_set(err, "%s: poll: %s", c->name, strerror(e));
        }
        if (n > 0) break;
        if (rk_monotonic_ns() >= deadline) {
            close(fd);
            return rk_err_set(err, "%s: connect timed out after %ld ms", c->name, timeout_ms);
        }
    }
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr) {
        close(fd);
        return rk_err_set(err, "%s: connect: %s", c->name, strerror(soerr));
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    c->fd = fd;
    return 0;
}

struct rconn *rconn_connect(const struct redis_config *cfg, const char *host, unsigned port,
                            bool tls, struct rk_err *err)
{
    struct redis_config defaults;
    if (!cfg) {
        redis_config_init(&defaults);
        cfg = &defaults;
    }
    char name[300];
    snprintf(name, sizeof(name), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    struct rconn *c = conn_alloc(cfg, -1, name);
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        rk_err_set(err, "%s: cannot resolve the host: %s", name, gai_strerror(gai));
        rconn_close(c);
        return NULL;
    }
    long timeout = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000;
    int rc = -1;
    for (struct addrinfo *ai = res; ai && rc != 0; ai = ai->ai_next)
        rc = connect_one(c, ai, timeout, err);
    freeaddrinfo(res);
    if (rc == 0 && tls) rc = tls_start(c, cfg, host, err);
    if (rc != 0) {
        rconn_close(c);
        return NULL;
    }
    return c;
}

/* ------------------------------------------------------------------- I/O -- */

ssize_t rconn_recv(struct rconn *c, void *buf, size_t cap, struct rk_err *err)
{
    if (c->ssl) {
        ERR_clear_error();
        c->read_wants_write = false;
        int n = SSL_read(c->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
        if (n > 0) return n;
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ) return RCONN_AGAIN;
        if (e == SSL_ERROR_WANT_WRITE) {
            c->read_wants_write = true;
            return RCONN_AGAIN;
        }
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
            if (n == 0 || errno == 0) return 0; /* closed without close_notify */
            return rk_err_set(err, "%s: read: %s", c->name, strerror(errno));
        }
        char msg[256];
        tls_error(msg, sizeof(msg));
        return rk_err_set(err, "%s: TLS read: %s", c->name, msg);
    }
    for (;;) {
        ssize_t n = recv(c->fd, buf, cap, 0);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return RCONN_AGAIN;
        return rk_err_set(err, "%s: read: %s", c->name, strerror(errno));
    }
}

ssize_t rconn_send(struct rconn *c, const void *data, size_t len, struct rk_err *err)
{
    if (c->ssl) {
        ERR_clear_error();
        c->write_wants_read = false;
        int n = SSL_write(c->ssl, data, len > INT32_MAX ? INT32_MAX : (int)len);
        if (n > 0) return n;
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_WRITE) return RCONN_AGAIN;
        if (e == SSL_ERROR_WANT_READ) {
            c->write_wants_read = true;
            return RCONN_AGAIN;
        }
        if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
            return rk_err_set(err, "%s: write: %s", c->name,
                              errno ? strerror(errno) : "the connection was closed");
        char msg[256];
        tls_error(msg, sizeof(msg));
        return rk_err_set(err, "%s: TLS write: %s", c->name, msg);
    }
    for (;;) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return RCONN_AGAIN;
        if (errno == EPIPE || errno == ECONNRESET)
            return rk_err_set(err, "%s: the server closed the connection", c->name);
        return rk_err_set(err, "%s: write: %s", c->name, strerror(errno));
    }
}

ssize_t rconn_read(struct rconn *c, void *buf, size_t cap, struct rk_err *err)
{
    uint64_t deadline = rk_monotonic_ns() + (uint64_t)c->io_timeout_ms * 1000000u;
    for (;;) {
        ssize_t n = rconn_recv(c, buf, cap, err);
        if (n != RCONN_AGAIN) return n;
        uint64_t now = rk_monotonic_ns();
        if (now >= deadline)
            return rk_err_set(err, "%s: no data from the server for %ld s", c->name,
                              c->io_timeout_ms / 1000);
        bool r, w;
        if (rconn_wait(c, true, false, (long)((deadline - now) / 1000000u) + 1, &r, &w, err))
            return -1;
    }
}

int rconn_write_all(struct rconn *c, const void *data, size_t len, struct rk_err *err)
{
    const unsigned char *p = data;
    uint64_t deadline = rk_monotonic_ns() + (uint64_t)c->io_timeout_ms * 1000000u;
    while (len) {
        ssize_t n = rconn_send(c, p, len, err);
        if (n < 0 && n != RCONN_AGAIN) return -1;
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            deadline = rk_monotonic_ns() + (uint64_t)c->io_timeout_ms * 1000000u;
            continue;
        }
        uint64_t now = rk_monotonic_ns();
        if (now >= deadline)
            return rk_err_set(err, "%s: the server accepted no data for %ld s", c->name,
                              c->io_timeout_ms / 1000);
        bool r, w;
        if (rconn_wait(c, false, true, (long)((deadline - now) / 1000000u) + 1, &r, &w, err))
            return -1;
    }
    return 0;
}

/* -------------------------------------------------------------- commands -- */

redisReply *rconn_call(struct rconn *c, int argc, const char **argv, const size_t *lens,
                       struct rk_err *err)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0) {
        rk_err_set(err, "%s: cannot format the command", c->name);
        return NULL;
    }
    int rc = rconn_write_all(c, cmd, (size_t)len, err);
    redisFreeCommand(cmd);
    if (rc) return NULL;
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
            rk_err_set(err, "%s: the server's reply is malformed: %s", c->name, c->reader->errstr);
            return NULL;
        }
        if (reply) return reply;
        char buf[16384];
        ssize_t n = rconn_read(c, buf, sizeof(buf), err);
        if (n < 0) return NULL;
        if (n == 0) {
            rk_err_set(err, "%s: the server closed the connection", c->name);
            return NULL;
        }
        if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK) {
            rk_err_set(err, "%s: the server's reply is malformed: %s", c->name, c->reader->errstr);
            return NULL;
        }
    }
}

redisReply *rconn_callv(struct rconn *c, struct rk_err *err, ...)
{
    const char *argv[16];
    size_t lens[16];
    int argc = 0;
    va_list ap;
    va_start(ap, err);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && argc < 16; argc++) {
        argv[argc] = a;
        lens[argc] = strlen(a);
    }
    va_end(ap);
    return rconn_call(c, argc, argv, lens, err);
}

size_t rconn_take_buffered(struct rconn *c, unsigned char *out, size_t cap)
{
    redisReader *r = c->reader;
    if (!r->buf || r->pos >= r->len) return 0;
    size_t n = r->len - r->pos;
    if (n > cap) n = cap;
    memcpy(out, r->buf + r->pos, n);
    r->pos += n;
    return n;
}

int rconn_auth(struct rconn *c, const char *user, const char *password, struct rk_err *err)
{
    if (!password && !user) return 0;
    const char *argv[3] = {"AUTH"};
    size_t lens[3] = {4};
    int argc = 1;
    if (user) {
        argv[argc] = user;
        lens[argc++] = strlen(user);
    }
    argv[argc] = password ? password : "";
    lens[argc] = strlen(argv[argc]);
    argc++;
    redisReply *r = rconn_call(c, argc, argv, lens, err);
    if (!r) return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        /* The server's words never contain the password. */
        rc = rk_err_set(err, "%s: authentication failed: %s", c->name, r->str);
    }
    freeReplyObject(r);
    return rc;
}

struct rconn *rconn_open_uri(const struct redis_config *cfg, const struct store_uri *uri,
                             struct rk_err *err)
{
    if (uri->kind != STORE_REDIS && uri->kind != STORE_REDISS) {
        rk_err_set(err, "not a redis:// or rediss:// URI");
        return NULL;
    }
    struct rconn *c =
        rconn_connect(cfg, uri->host, uri->port ? uri->port : 6379, uri->kind == STORE_REDISS, err);
    if (!c) return NULL;
    if (rconn_auth(c, uri->user, uri->password, err)) {
        rconn_close(c);
        return NULL;
    }
    return c;
}

void rconn_info_field(const char *info, const char *field, char *out, size_t outlen)
{
    out[0] = '\0';
    size_t fl = strlen(field);
    for (const char *p = info; p && *p;) {
        if (strncmp(p, field, fl) == 0 && p[fl] == ':') {
            const char *v = p + fl + 1;
            size_t n = strcspn(v, "\r\n");
            if (n >= outlen) n = outlen - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
}

uint64_t rconn_info_keys(const char *info)
{
    uint64_t total = 0;
    for (const char *p = info; p && *p;) {
        if (p[0] == 'd' && p[1] == 'b' && p[2] >= '0' && p[2] <= '9') {
            const char *k = strstr(p, ":keys=");
            const char *eol = strchr(p, '\n');
            if (k && (!eol || k < eol)) total += strtoull(k + 6, NULL, 10);
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return total;
}

void key_quote(const void *key, size_t len, char *out, size_t outlen)
{
    rdb_quote(key, len, 64, out, outlen);
}

/* The RDB version each release line writes (see rdb-format.md section 17). */
int redis_rdb_version_for(const char *redis_version, const char *valkey_version)
{
    int maj = 0, min = 0;
    if (valkey_version && *valkey_version && sscanf(valkey_version, "%d.%d", &maj, &min) == 2) {
        /* Valkey 7.2 and 8 write RDB 11; 9 writes its own 80 but reads 11. */
        return maj >= 7 ? 11 : -1;
    }
    if (!redis_version || sscanf(redis_version, "%d.%d", &maj, &min) != 2) return -1;
    int v;
    if (maj > 7 || (maj == 7 && min >= 4))
        v = 12;
    else if (maj == 7 && min >= 2)
        v = 11;
    else if (maj == 7)
        v = 10;
    else if (maj >= 5)
        v = 9;
    else if (maj == 4)
        v = 8;
    else if (maj == 3 && min >= 2)
        v = 7;
    else if (maj == 3 || (maj == 2 && min >= 6))
        v = 6;
    else
        return -1;
    return v > RDB_WRITER_MAX_VERSION ? RDB_WRITER_MAX_VERSION : v;
}
