/* The replication client: a full synchronisation as an io source of the RDB
 * file's bytes. The handshake happens in redis_snapshot_open, up to the
 * first byte of the payload, so that a refusal (wrong password, a replica
 * without its master, no permission for PSYNC) is an error of the open. */
#include "redis/redis_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOCKET_CHUNK (1u << 20)

struct snapshot_source {
    struct io_source base;
    struct rconn *c;
    struct repl_framing fr;
    struct redis_snapshot_info *info;
    struct redis_snapshot_info own_info;
    unsigned char *in;
    /* Payload that did not fit the caller's buffer (header reads, the
     * bytes held back for the EOF mark). */
    struct rk_buf stash;
    size_t stash_pos;
    /* The caller's buffer during a read. */
    unsigned char *dst;
    size_t dst_cap, dst_len;
};

static void take_payload(void *ctx, const unsigned char *data, size_t len)
{
    struct snapshot_source *s = ctx;
    size_t room = s->dst_cap - s->dst_len;
    size_t n = len < room ? len : room;
    if (n) {
        memcpy(s->dst + s->dst_len, data, n);
        s->dst_len += n;
    }
    if (n < len) rk_buf_append(&s->stash, data + n, len - n);
}

static void sync_info(struct snapshot_source *s)
{
    struct redis_snapshot_info *i = s->info;
    memcpy(i->replid, s->fr.replid, sizeof(i->replid));
    i->offset = s->fr.offset;
    i->framing = s->fr.framing;
    i->declared_size = s->fr.declared;
    i->keepalives = s->fr.keepalives;
}

/* Reads from the socket and feeds the framing; payload goes to the caller's
 * buffer (dst) and the stash. Returns 0, or -1 with err. */
static int pump_once(struct snapshot_source *s, size_t want, struct rk_err *err)
{
    if (want > SOCKET_CHUNK) want = SOCKET_CHUNK;
    ssize_t n = rconn_read(s->c, s->in, want, err);
    if (n < 0) {
        rk_err_prefix(err, "after %llu bytes of the snapshot",
                      (unsigned long long)s->fr.body_bytes);
        return -1;
    }
    if (n == 0) {
        if (s->fr.state == REPL_BODY_LENGTH || s->fr.state == REPL_BODY_EOF)
            return rk_err_set(err,
                              "%s: the server closed the connection after %llu bytes of the "
                              "snapshot, before its end",
                              rconn_name(s->c), (unsigned long long)s->fr.body_bytes);
        return rk_err_set(err, "%s: the server closed the connection before the snapshot began",
                          rconn_name(s->c));
    }
    if (repl_framing_feed(&s->fr, s->in, (size_t)n, take_payload, s, err) < 0) return -1;
    sync_info(s);
    return 0;
}

static ssize_t snapshot_read(struct io_source *base, void *buf, size_t cap, struct rk_err *err)
{
    struct snapshot_source *s = (struct snapshot_source *)base;
    if (s->stash_pos < s->stash.len) {
        size_t n = s->stash.len - s->stash_pos;
        if (n > cap) n = cap;
        memcpy(buf, s->stash.data + s->stash_pos, n);
        s->stash_pos += n;
        if (s->stash_pos == s->stash.len) s->stash_pos = s->stash.len = 0;
        return (ssize_t)n;
    }
    s->dst = buf;
    s->dst_cap = cap;
    s->dst_len = 0;
    while (s->dst_len == 0 && s->fr.state != REPL_DONE) {
        if (pump_once(s, cap, err)) {
            rk_err_prefix(err, "snapshot from %s", rconn_name(s->c));
            s->dst = NULL;
            return -1;
        }
    }
    /* Then whatever else has arrived, without waiting: fewer, fuller chunks
     * cost fewer wake-ups downstream. An end or an error found here is found
     * again by the next read, which reports it. */
    while (s->fr.state != REPL_DONE && cap - s->dst_len >= (64u << 10)) {
        size_t want = cap - s->dst_len;
        ssize_t n = rconn_recv(s->c, s->in, want < SOCKET_CHUNK ? want : SOCKET_CHUNK, err);
        if (n <= 0) break;
        if (repl_framing_feed(&s->fr, s->in, (size_t)n, take_payload, s, err) < 0) {
            rk_err_prefix(err, "snapshot from %s", rconn_name(s->c));
            s->dst = NULL;
            return -1;
        }
        sync_info(s);
    }
    s->dst = NULL;
    return (ssize_t)s->dst_len;
}

static void snapshot_free(struct io_source *base)
{
    struct snapshot_source *s = (struct snapshot_source *)base;
    rconn_close(s->c);
    rk_buf_free(&s->stash);
    free(s->in);
    free(s);
}

static const struct io_source_ops snapshot_ops = {"redis snapshot", snapshot_read, snapshot_free};

static int send_command(struct rconn *c, const char *cmd, struct rk_err *err)
{
    return rconn_write_all(c, cmd, strlen(cmd), err);
}

/* A command of the handshake whose refusal is not fatal: returns 1 if the
 * server said OK, 0 if it refused, -1 on an I/O failure. */
static int optional_command(struct rconn *c, struct rk_err *err, const char *a, const char *b,
                            const char *d, const char *e, const char *f)
{
    redisReply *r = rconn_callv(c, err, a, b, d, e, f, NULL);
    if (!r) return -1;
    int ok = r->type != REDIS_REPLY_ERROR;
    freeReplyObject(r);
    return ok;
}

/* Reads until the payload begins (or the synchronisation is refused). */
static int await_payload(struct snapshot_source *s, struct rk_err *err)
{
    s->dst = NULL;
    s->dst_cap = s->dst_len = 0;
    unsigned char early[4096];
    size_t n = rconn_take_buffered(s->c, early, sizeof(early));
    if (n && repl_framing_feed(&s->fr, early, n, take_payload, s, err) < 0) return -1;
    while (s->fr.state == REPL_WAIT_REPLY || s->fr.state == REPL_WAIT_BULK)
        if (pump_once(s, SOCKET_CHUNK, err)) return -1;
    sync_info(s);
    return 0;
}

struct io_source *redis_snapshot_open(const struct redis_config *cfg, const struct store_uri *uri,
                                      struct redis_snapshot_info *info, struct rk_err *err)
{
    struct redis_config defaults;
    if (!cfg) {
        redis_config_init(&defaults);
        cfg = &defaults;
    }
    struct rconn *c = rconn_open_uri(cfg, uri, err);
    if (!c) return NULL;
    struct snapshot_source *s = xcalloc(1, sizeof(*s));
    io_source_init(&s->base, &snapshot_ops, NULL);
    s->c = c;
    s->info = info ? info : &s->own_info;
    memset(s->info, 0, sizeof(*s->info));
    s->info->offset = -1;
    s->in = xmalloc(SOCKET_CHUNK);

    redisReply *r = rconn_callv(c, err, "PING", NULL);
    if (!r) goto fail;
    if (r->type == REDIS_REPLY_ERROR) {
        rk_err_set(err, "%s: %s%s", rconn_name(c), r->str,
                   strncmp(r->str, "NOAUTH", 6) == 0 ? " (give the password in the URI)" : "");
        freeReplyObject(r);
        goto fail;
    }
    freeReplyObject(r);

    /* Only for messages and progress: a server may refuse INFO. */
    r = rconn_callv(c, err, "INFO", NULL);
    if (!r) goto fail;
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
        char rv[32], vv[32];
        rconn_info_field(r->str, "redis_version", rv, sizeof(rv));
        rconn_info_field(r->str, "valkey_version", vv, sizeof(vv));
        if (vv[0])
            snprintf(s->info->server, sizeof(s->info->server), "valkey %s", vv);
        else if (rv[0])
            snprintf(s->info->server, sizeof(s->info->server), "redis %s", rv);
        s->info->keys_expected = rconn_info_keys(r->str);
    }
    freeReplyObject(r);

    /* capa eof: the server may stream a diskless snapshot (required by
     * rdb-only). rdb-only (7.0+): no command stream after the snapshot, and
     * the server keeps no replica state for us. */
    int ok = optional_command(c, err, "REPLCONF", "capa", "eof", "capa", "psync2");
    if (ok < 0) goto fail;
    if (ok) {
        ok = optional_command(c, err, "REPLCONF", "rdb-only", "1", NULL, NULL);
        if (ok < 0) goto fail;
        s->info->rdb_only = ok == 1;
    }

    s->info->psync = true;
    repl_framing_init(&s->fr, true);
    if (send_command(c, "*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n", err)) goto fail;
    if (await_payload(s, err)) {
        if (!s->fr.psync_refused || !strstr(s->fr.error_reply, "unknown command")) goto fail;
        /* Before 2.8: the legacy SYNC. */
        s->info->psync = false;
        rk_buf_reset(&s->stash);
        repl_framing_init(&s->fr, false);
        if (send_command(c, "*1\r\n$4\r\nSYNC\r\n", err) || await_payload(s, err)) goto fail;
    }
    return &s->base;

fail:
    rk_err_prefix(err, "snapshot");
    snapshot_free(&s->base);
    return NULL;
}

struct io_source *redis_store_open(void *cfg, const struct store_uri *uri, struct rk_err *err)
{
    return redis_snapshot_open(cfg, uri, NULL, err);
}
