/* The replication method: the target loads the data with its own loader, as
 * a replica doing a full synchronisation from this process.
 *
 *   control connection                       replication connection (accepted)
 *   CONFIG GET repl-diskless-load, masterauth
 *   FLUSHALL, FUNCTION FLUSH
 *   CONFIG SET repl-diskless-load on-empty-db   (load straight from the socket)
 *   CONFIG SET masterauth <one-time token>      (only the target gets the data)
 *   REPLICAOF <our address> <port>  --------->  PING, AUTH <token>, REPLCONF...,
 *                                               PSYNC -> +FULLRESYNC <id> 0
 *                                               $EOF:<mark> RDB (written for the
 *                                               target's version) <mark>
 *   INFO until master_link_status:up, loading:0
 *   REPLICAOF NO ONE, CONFIG SET back
 *
 * A full synchronisation replaces everything the target holds, which is what
 * a load without --no-flush means. Until the replication connection is
 * accepted nothing is lost: any refusal (CONFIG or REPLICAOF not allowed, no
 * connection back, an old replica) undoes the settings and asks the caller
 * to use RESTORE. A replica that meets a key twice panics, so every key is
 * looked up in a set of those met before its bytes go out (keyset.c). Only
 * one input: shards that share a key would fail after the flush, where
 * RESTORE loads them. */
#include "redis/redis_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_TIMEOUT_MS    15000
#define HANDSHAKE_TIMEOUT_MS 15000

struct master {
    const struct master_plan *plan;
    struct rconn *ctl;
    struct rconn *replica;
    int listen_fd;
    char host[INET6_ADDRSTRLEN + 2];
    unsigned port;
    /* Settings to put back. */
    char *old_diskless_load;
    char *old_masterauth;
    bool set_diskless_load, set_masterauth, replicaof;
    char token[33];
    char replid[41];
    char mark[41];
    /* Writing the RDB. */
    int databases; /* the target's number of databases */
    bool in_module_aux;
    struct rk_buf held; /* written, not yet sent: see write_replica */
    struct rdb_writer *writer;
    struct keyset *met; /* every key read so far, with its database */
    size_t file_index;
    uint64_t keys;
};

static void random_hex(char *out, size_t n)
{
    unsigned char bytes[32];
    if (RAND_bytes(bytes, (int)(n + 1) / 2) != 1) rk_panic("no random bytes");
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) out[i] = hex[(bytes[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    out[n] = '\0';
}

/* A command on the control connection that must succeed. */
static int ctl_call(struct master *m, struct rk_err *err, const char *what, const char *a,
                    const char *b, const char *c, const char *d)
{
    redisReply *r = rconn_callv(m->ctl, err, a, b, c, d, NULL);
    if (!r) return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) rc = rk_err_set(err, "%s: %s", what, r->str);
    freeReplyObject(r);
    return rc;
}

static char *config_get(struct master *m, const char *name, bool *refused, struct rk_err *err)
{
    *refused = false;
    redisReply *r = rconn_callv(m->ctl, err, "CONFIG", "GET", name, NULL);
    if (!r) return NULL;
    char *v = NULL;
    if (r->type == REDIS_REPLY_ERROR) {
        *refused = true;
        rk_err_set(err, "CONFIG GET %s: %s", name, r->str);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
               r->element[1]->type == REDIS_REPLY_STRING) {
        v = xstrndup(r->element[1]->str, r->element[1]->len);
    } else {
        v = xstrdup(""); /* the server does not know the setting */
    }
    freeReplyObject(r);
    return v;
}

/* Puts back what was changed; best effort (errors are in the target's hands). */
static void undo(struct master *m)
{
    struct rk_err ignored;
    if (m->replicaof) {
        /* A replica still inside a failed load answers LOADING for a moment. */
        uint64_t deadline = rk_monotonic_ns() + (uint64_t)rconn_io_timeout(m->ctl) * 1000000u;
        for (;;) {
            redisReply *r =
                rconn_callv(m->ctl, &ignored, m->plan->caps->major >= 5 ? "REPLICAOF" : "SLAVEOF",
                            "NO", "ONE", NULL);
            bool loading = r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "LOADING", 7) == 0;
            if (r) freeReplyObject(r);
            if (!loading || rk_monotonic_ns() >= deadline) break;
            usleep(20000);
        }
        m->replicaof = false;
    }
    if (m->set_masterauth) {
        ctl_call(m, &ignored, "CONFIG SET", "CONFIG", "SET", "masterauth", m->old_masterauth);
        m->set_masterauth = false;
    }
    if (m->set_diskless_load) {
        ctl_call(m, &ignored, "CONFIG SET", "CONFIG", "SET", "repl-diskless-load",
                 m->old_diskless_load);
        m->set_diskless_load = false;
    }
}

/* ---- the listener ------------------------------------------------------------------ */

static int open_listener(struct master *m, struct rk_err *err)
{
    const struct master_plan *p = m->plan;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (p->listen_host) {
        struct addrinfo hints = {
            .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
        struct addrinfo *res;
        if (getaddrinfo(p->listen_host, NULL, &hints, &res) != 0)
            return rk_err_set(err, "the listen address %s is not an IP address", p->listen_host);
        memcpy(&ss, res->ai_addr, res->ai_addrlen);
        sl = res->ai_addrlen;
        freeaddrinfo(res);
    } else if (getsockname(rconn_fd(m->ctl), (struct sockaddr *)&ss, &sl) < 0) {
        return rk_err_set(err, "getsockname: %s", strerror(errno));
    }
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_port = htons((uint16_t)p->listen_port);
        inet_ntop(AF_INET, &a->sin_addr, m->host, sizeof(m->host));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_port = htons((uint16_t)p->listen_port);
        inet_ntop(AF_INET6, &a->sin6_addr, m->host, sizeof(m->host));
    } else {
        return rk_err_set(err, "the connection to the target is not TCP/IP");
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return rk_err_set(err, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 4) < 0) {
        int e = errno;
        close(fd);
        return rk_err_set(err, "cannot listen on %s port %u: %s", m->host, p->listen_port,
                          strerror(e));
    }
    sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    m->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
    m->listen_fd = fd;
    return 0;
}

/* Accepts connections until one authenticates with the token and asks for
 * a full synchronisation with the EOF capability. */
static int await_replica(struct master *m, struct rk_err *err)
{
    uint64_t deadline = rk_monotonic_ns() + (uint64_t)ACCEPT_TIMEOUT_MS * 1000000u;
    for (;;) {
        uint64_t now = rk_monotonic_ns();
        if (now >= deadline)
            return rk_err_set(err,
                              "the target did not connect back to %s port %u within %d s "
                              "(give an address it can reach with --listen-host)",
                              m->host, m->port, ACCEPT_TIMEOUT_MS / 1000);
        if (m->plan->cfg->cancelled && m->plan->cfg->cancelled(m->plan->cfg->cancel_arg))
            return rk_err_set(err, "cancelled");
        struct pollfd pfd = {.fd = m->listen_fd, .events = POLLIN};
        if (poll(&pfd, 1, 200) <= 0) continue;
        int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        struct redis_config rc = *m->plan->cfg;
        rc.io_timeout_ms = HANDSHAKE_TIMEOUT_MS;
        struct rconn *c = rconn_adopt(&rc, fd, "the target's replication connection");
        redisReader *rd = redisReaderCreate();
        bool authed = false, eof = false;
        int state = 0; /* 0: handshake, 1: PSYNC seen, -1: rejected */
        char buf[4096];
        while (state == 0) {
            void *reply = NULL;
            if (redisReaderGetReply(rd, &reply) != REDIS_OK) {
                state = -1;
                break;
            }
            if (!reply) {
                ssize_t n = rconn_read(c, buf, sizeof(buf), err);
                if (n <= 0 || redisReaderFeed(rd, buf, (size_t)n) != REDIS_OK) state = -1;
                continue;
            }
            redisReply *r = reply;
            const char *answer = "+OK\r\n";
            if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 ||
                r->element[0]->type != REDIS_REPLY_STRING) {
                answer = "-ERR unexpected\r\n";
            } else {
                const char *cmd = r->element[0]->str;
                if (strcasecmp(cmd, "PING") == 0) {
                    answer = "+PONG\r\n";
                } else if (strcasecmp(cmd, "AUTH") == 0) {
                    redisReply *pw = r->element[r->elements - 1];
                    authed = r->elements >= 2 && pw->type == REDIS_REPLY_STRING &&
                             pw->len == strlen(m->token) && memcmp(pw->str, m->token, pw->len) == 0;
                    answer = authed ? "+OK\r\n" : "-WRONGPASS invalid password\r\n";
                } else if (strcasecmp(cmd, "REPLCONF") == 0) {
                    for (size_t i = 1; i + 1 < r->elements; i++)
                        if (r->element[i]->type == REDIS_REPLY_STRING &&
                            strcasecmp(r->element[i]->str, "capa") == 0 &&
                            r->element[i + 1]->type == REDIS_REPLY_STRING &&
                            strcasecmp(r->element[i + 1]->str, "eof") == 0)
                            eof = true;
                } else if (strcasecmp(cmd, "PSYNC") == 0 || strcasecmp(cmd, "SYNC") == 0) {
                    state = authed && eof ? 1 : -1;
                    answer = NULL;
                } else {
                    answer = "-ERR unknown command\r\n";
                }
            }
            freeReplyObject(r);
            if (answer && rconn_write_all(c, answer, strlen(answer), err)) state = -1;
        }
        redisReaderFree(rd);
        if (state == 1) {
            m->replica = c;
            return 0;
        }
        rconn_close(c);
        if (authed && !eof)
            return rk_err_set(err, "the target's replica cannot receive a diskless transfer "
                                   "(no \"capa eof\": Redis before 2.8.18)");
    }
}

/* ---- the RDB ------------------------------------------------------------------------------ */

/* A replica that finds a corrupt value in what it loads exits (Redis's
 * rdbReportError), while one whose stream merely ends resumes. So bytes go
 * to the target only once the reader has checked every key they hold: the
 * writer's output waits in `held` until the key it belongs to ends. A key
 * bigger than HOLD_MAX is sent as it comes (the reader checks it as
 * thoroughly, just not before the target sees it). */
#define HOLD_MAX (32u << 20)
#define SEND_AT  (256u << 10)

static int send_held(struct master *m, struct rk_err *err)
{
    if (!m->held.len) return 0;
    int rc = rconn_write_all(m->replica, m->held.data, m->held.len, err);
    rk_buf_reset(&m->held);
    if (rc) rk_err_prefix(err, "the target stopped receiving (see its log for why)");
    return rc;
}

static int write_replica(void *ctx, const void *data, size_t len, struct rk_err *err)
{
    struct master *m = ctx;
    rk_buf_append(&m->held, data, len);
    return m->held.len > HOLD_MAX ? send_held(m, err) : 0;
}

static int feed_event(void *ctx, const struct rdb_event *ev, struct rk_err *err)
{
    struct master *m = ctx;
    int rc;
    if (m->in_module_aux) { /* dropped, as the RESTORE method drops it */
        if (ev->type == RDB_EVENT_MODULE_AUX_END) m->in_module_aux = false;
        return 0;
    }
    switch (ev->type) {
    case RDB_EVENT_AUX: return 0; /* the source server's facts, not the target's */
    case RDB_EVENT_MODULE_AUX:
        /* A replica without the module exits on its aux data. */
        m->in_module_aux = true;
        m->plan->stats->module_aux_dropped++;
        return 0;
    case RDB_EVENT_RESIZE_DB:
        keyset_reserve(m->met, ev->u.resize.db_size);
        return rdb_writer_event(m->writer, ev, err);
    case RDB_EVENT_KEY: {
        const struct rdb_key_info *k = ev->u.key;
        char name[300];
        if (rdb_encoding_kind(k->enc) == RDB_KIND_MODULE) {
            /* ... and on a value of a module type it lacks, which cannot be
             * told from here: RESTORE only fails the one command. */
            key_quote(k->key, k->key_len, name, sizeof(name));
            return rk_err_set(err,
                              "key \"%s\" holds a module value: load it with --method "
                              "restore (a replica without the module would exit)",
                              name);
        }
        /* A replica panics on a key it already holds ("Duplicated key found
         * in RDB file"), expired or not: unlike a master it keeps expired
         * keys. Every key read counts, also one the writer drops (expired by
         * our clock, or empty), so the check does not hang on the writer's
         * choices; a file no server writes may then be refused although its
         * repeat would not have reached the target, and RESTORE loads it.
         * Two different keys with one fingerprint (about n^2 / 2^65 for n
         * keys) raise the same error, which RESTORE answers as well. */
        if (!keyset_add(m->met, k->db, k->key, k->key_len)) {
            key_quote(k->key, k->key_len, name, sizeof(name));
            return rk_err_set(err,
                              "offset %llu: key \"%s\" appears twice in database %d (a replica "
                              "would stop on it): --method restore loads the last one",
                              (unsigned long long)ev->offset, name, k->db);
        }
        return rdb_writer_event(m->writer, ev, err);
    }
    case RDB_EVENT_SELECT_DB:
        /* A replica exits on a database it does not have. */
        if (ev->u.db >= m->databases)
            return rk_err_set(err, "offset %llu: database %d, and the target has %d (databases)",
                              (unsigned long long)ev->offset, ev->u.db, m->databases);
        return rdb_writer_event(m->writer, ev, err);
    case RDB_EVENT_KEY_END: {
        if ((rc = rdb_writer_event(m->writer, ev, err)) != 0) return rc;
        uint64_t keys = rdb_writer_stats(m->writer)->keys;
        if (keys != m->keys && m->plan->progress)
            atomic_fetch_add_explicit(&m->plan->progress->keys, keys - m->keys,
                                      memory_order_relaxed);
        m->keys = keys;
        /* Everything handed over so far belongs to checked keys. */
        return m->held.len >= SEND_AT ? send_held(m, err) : 0;
    }
    case RDB_EVENT_END:
        if ((rc = rdb_writer_event(m->writer, ev, err)) != 0) return rc;
        return send_held(m, err);
    default: return rdb_writer_event(m->writer, ev, err);
    }
}

static int wait_loaded(struct master *m, struct rk_err *err)
{
    uint64_t deadline = rk_monotonic_ns() + (uint64_t)rconn_io_timeout(m->ctl) * 1000000u;
    for (;;) {
        redisReply *r = rconn_callv(m->ctl, err, "INFO", NULL);
        if (!r) return -1;
        char link[16] = "", loading[8] = "";
        if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
            rconn_info_field(r->str, "master_link_status", link, sizeof(link));
            rconn_info_field(r->str, "loading", loading, sizeof(loading));
        }
        freeReplyObject(r);
        if (strcmp(link, "up") == 0 && strcmp(loading, "0") == 0) return 0;
        /* A replica that failed to load drops the link and tries again. */
        char probe;
        ssize_t n = recv(rconn_fd(m->replica), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0)
            return rk_err_set(err, "the target closed the replication connection while loading "
                                   "(see its log for why)");
        if (rk_monotonic_ns() >= deadline)
            return rk_err_set(err, "the target did not finish loading within %ld s",
                              rconn_io_timeout(m->ctl) / 1000);
        usleep(20000);
    }
}

static int transfer(struct master *m, struct rk_err *err)
{
    const struct master_plan *p = m->plan;
    char head[128];
    int n = snprintf(head, sizeof(head), "+FULLRESYNC %s 0\r\n$EOF:%s\r\n", m->replid, m->mark);
    if (rconn_write_all(m->replica, head, (size_t)n, err)) return -1;
    struct rdb_writer_options wo = {.target_version = p->caps->rdb_version, .drop_expired = true};
    m->writer = rdb_writer_new(&wo, write_replica, m, err);
    if (!m->writer) return -1;
    m->met = keyset_new();
    struct input_run run = {.in = p->in,
                            .progress = p->progress,
                            .stats = p->stats,
                            .cancelled = p->cfg->cancelled,
                            .cancel_arg = p->cfg->cancel_arg};
    if (input_run_all(&run, feed_event, m, err)) return -1;
    keyset_free(m->met); /* not needed while the target loads */
    m->met = NULL;
    if (!rdb_writer_complete(m->writer)) return rk_err_set(err, "the RDB written is incomplete");
    if (rconn_write_all(m->replica, m->mark, 40, err)) return -1;
    if (wait_loaded(m, err)) return -1;

    const struct rdb_writer_stats *ws = rdb_writer_stats(m->writer);
    redisReply *r = rconn_callv(m->ctl, err, "INFO", "keyspace", NULL);
    if (!r) return -1;
    uint64_t held = r->type == REDIS_REPLY_STRING ? rconn_info_keys(r->str) : ws->keys;
    freeReplyObject(r);
    if (held != ws->keys)
        return rk_err_set(err,
                          "the target holds %llu keys after the synchronisation, %llu were "
                          "sent",
                          (unsigned long long)held, (unsigned long long)ws->keys);
    struct redis_load_stats *st = p->stats;
    st->keys = ws->keys;
    st->keys_expired = ws->keys_expired;
    st->keys_empty = ws->keys_empty;
    st->fields_expired = ws->fields_expired;
    st->field_ttls_dropped = ws->field_ttls_dropped;
    st->functions_dropped = ws->functions_dropped;
    st->module_aux_dropped += ws->module_aux_dropped;
    st->stream_idmp_dropped = ws->stream_idmp_dropped;
    st->bytes_sent = ws->bytes;
    return 0;
}

int master_load(const struct master_plan *plan, bool *fallback, struct rk_err *err)
{
    *fallback = true;
    if (plan->in->count != 1)
        return rk_err_set(err, "it takes a single input (a key held by two of them would stop "
                               "the load after the flush)");
    struct master m = {.plan = plan, .ctl = plan->ctl, .listen_fd = -1};
    random_hex(m.token, 32);
    random_hex(m.replid, 40);
    random_hex(m.mark, 40);
    int rc = 0;
    bool refused;
    m.old_diskless_load = config_get(&m, "repl-diskless-load", &refused, err);
    if (m.old_diskless_load) m.old_masterauth = config_get(&m, "masterauth", &refused, err);
    if (!m.old_diskless_load || !m.old_masterauth) {
        if (!refused) *fallback = false; /* the connection failed */
        rc = -1;
        goto out;
    }
    char *tls = config_get(&m, "tls-replication", &refused, err);
    if (!tls) {
        if (!refused) *fallback = false;
        rc = -1;
        goto out;
    }
    bool over_tls = strcmp(tls, "yes") == 0;
    free(tls);
    char *dbs = config_get(&m, "databases", &refused, err);
    if (!dbs) {
        if (!refused) *fallback = false;
        rc = -1;
        goto out;
    }
    int64_t ndb;
    m.databases = rk_parse_i64(dbs, &ndb) == 0 && ndb > 0 && ndb < (1 << 30) ? (int)ndb : 16;
    free(dbs);
    if (over_tls) {
        rc = rk_err_set(err, "the target replicates over TLS (tls-replication yes)");
        goto out;
    }
    if ((rc = open_listener(&m, err)) != 0) goto out;
    /* FLUSHALL first: a replica loads from the socket only into an empty
     * dataset (on-empty-db), and a load means replacing it all anyway. */
    long io_timeout = rconn_set_io_timeout(m.ctl, 30L * 60 * 1000);
    rc = ctl_call(&m, err, "FLUSHALL", "FLUSHALL", NULL, NULL, NULL);
    rconn_set_io_timeout(m.ctl, io_timeout);
    if (rc) goto out;
    plan->stats->target_flushed = true;
    if (plan->caps->functions &&
        (rc = ctl_call(&m, err, "FUNCTION FLUSH", "FUNCTION", "FLUSH", NULL, NULL)) != 0)
        goto out;
    if (m.old_diskless_load[0] && strcmp(m.old_diskless_load, "on-empty-db") != 0) {
        rc = ctl_call(&m, err, "CONFIG SET repl-diskless-load", "CONFIG", "SET",
                      "repl-diskless-load", "on-empty-db");
        if (rc) goto out;
        m.set_diskless_load = true;
    }
    if ((rc = ctl_call(&m, err, "CONFIG SET masterauth", "CONFIG", "SET", "masterauth", m.token)))
        goto out;
    m.set_masterauth = true;
    char port[16];
    snprintf(port, sizeof(port), "%u", m.port);
    const char *replicaof = plan->caps->major >= 5 ? "REPLICAOF" : "SLAVEOF";
    if ((rc = ctl_call(&m, err, replicaof, replicaof, m.host, port, NULL)) != 0) goto out;
    m.replicaof = true;
    if ((rc = await_replica(&m, err)) != 0) goto out;

    /* From here on the target's data is being replaced: no way back. */
    *fallback = false;
    rc = transfer(&m, err);
out:
    if (rc) {
        /* A replica loading from the socket serves nothing else until the
         * stream ends: end it first, or REPLICAOF NO ONE would wait. */
        rconn_close(m.replica);
        m.replica = NULL;
        if (m.listen_fd >= 0) close(m.listen_fd);
        m.listen_fd = -1;
    }
    undo(&m);
    if (m.replica) rconn_close(m.replica);
    if (m.listen_fd >= 0) close(m.listen_fd);
    rdb_writer_free(m.writer);
    keyset_free(m.met);
    rk_buf_free(&m.held);
    free(m.old_diskless_load);
    if (m.old_masterauth) {
        memset(m.old_masterauth, 0, strlen(m.old_masterauth));
        free(m.old_masterauth);
    }
    return rc;
}
