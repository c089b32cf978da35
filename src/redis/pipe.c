/* A deep pipeline on one connection: commands are appended RESP-encoded to an
 * output buffer and written while replies are read and checked, all from
 * one thread on a non-blocking socket (which also works for TLS, where two
 * threads may not share an SSL object).
 *
 * Commands are encoded here rather than with redisFormatCommandArgv because
 * a value bigger than memory must be sent in pieces as it is read; replies
 * are parsed by hiredis's reader, with object functions that allocate
 * nothing: a reply only has to be matched to its command and told error
 * from success. */
#include "redis/redis_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLUSH_AT     (256u << 10) /* start writing once this much is buffered */
#define HIGH_WATER   (4u << 20)   /* wait while more than this is buffered */
#define MAX_INFLIGHT 200000u      /* commands whose reply is still to come */
#define IN_CHUNK     (256u << 10)
#define SEND_MAX     (4u << 20) /* bytes per write call */
#define KEY_KEEP     65         /* bytes of a key kept for messages (64 shown, then "...") */

static const char *const rcmd_names[RC_COUNT] = {
    [RC_FLUSHALL] = "FLUSHALL",
    [RC_FUNCTION_FLUSH] = "FUNCTION FLUSH",
    [RC_FUNCTION_LOAD] = "FUNCTION LOAD",
    [RC_SELECT] = "SELECT",
    [RC_RESTORE] = "RESTORE",
    [RC_DEL] = "DEL",
    [RC_SET] = "SET",
    [RC_APPEND] = "APPEND",
    [RC_RPUSH] = "RPUSH",
    [RC_SADD] = "SADD",
    [RC_ZADD] = "ZADD",
    [RC_HSET] = "HSET",
    [RC_HDEL] = "HDEL",
    [RC_HPEXPIREAT] = "HPEXPIREAT",
    [RC_XADD] = "XADD",
    [RC_XSETID] = "XSETID",
    [RC_XGROUP_CREATE] = "XGROUP CREATE",
    [RC_XGROUP_DESTROY] = "XGROUP DESTROY",
    [RC_XGROUP_CREATECONSUMER] = "XGROUP CREATECONSUMER",
    [RC_XCLAIM] = "XCLAIM",
    [RC_PEXPIREAT] = "PEXPIREAT",
    [RC_PING] = "PING",
};

const char *rcmd_name(enum rcmd cmd)
{
    return cmd < RC_COUNT && rcmd_names[cmd] ? rcmd_names[cmd] : "?";
}

/* ------------------------------------------------------------- replies -- */

/* What the object functions saw of the reply being parsed. */
struct reply_seen {
    bool error;
    char msg[300];
    long long top_elements; /* -1: not an array */
};

struct rreplies {
    redisReader *rr;
    /* The commands awaiting replies, oldest first: records of
     * [cmd u8][key length u8][key bytes]. */
    struct rk_buf fifo;
    size_t head;
    uint64_t pending;
    struct reply_seen seen;
    rpipe_note_fn note;
    void *note_ctx;
};

static char reply_marker; /* every reply object: nothing is allocated */

static void *obj_string(const redisReadTask *t, char *s, size_t len)
{
    struct rreplies *q = t->privdata;
    if (t->type == REDIS_REPLY_ERROR && !t->parent && !q->seen.error) {
        q->seen.error = true;
        rdb_quote((const unsigned char *)s, len, 200, q->seen.msg, sizeof(q->seen.msg));
    }
    return &reply_marker;
}

static void *obj_array(const redisReadTask *t, int elements)
{
    struct rreplies *q = t->privdata;
    if (!t->parent) q->seen.top_elements = elements;
    return &reply_marker;
}

static void *obj_integer(const redisReadTask *t, long long v)
{
    (void)t;
    (void)v;
    return &reply_marker;
}

static void *obj_nil(const redisReadTask *t)
{
    (void)t;
    return &reply_marker;
}

static void obj_free(void *o)
{
    (void)o;
}

static redisReplyObjectFunctions check_functions = {obj_string, obj_array, obj_integer, obj_nil,
                                                    obj_free};

struct rreplies *rreplies_new(rpipe_note_fn note, void *note_ctx)
{
    struct rreplies *q = xcalloc(1, sizeof(*q));
    q->rr = redisReaderCreateWithFunctions(&check_functions);
    if (!q->rr) rk_panic("out of memory for a reply reader");
    q->rr->privdata = q;
    q->seen.top_elements = -1;
    q->note = note;
    q->note_ctx = note_ctx;
    return q;
}

void rreplies_free(struct rreplies *q)
{
    if (!q) return;
    redisReaderFree(q->rr);
    rk_buf_free(&q->fifo);
    free(q);
}

void rreplies_expect(struct rreplies *q, enum rcmd cmd, const void *key, size_t key_len)
{
    unsigned char hdr[2] = {(unsigned char)cmd,
                            (unsigned char)(key_len > KEY_KEEP ? KEY_KEEP : key_len)};
    if (q->head && q->head == q->fifo.len) q->head = q->fifo.len = 0;
    if (q->head > (1u << 20) && q->head > q->fifo.len / 2) {
        memmove(q->fifo.data, q->fifo.data + q->head, q->fifo.len - q->head);
        q->fifo.len -= q->head;
        q->head = 0;
    }
    rk_buf_append(&q->fifo, hdr, 2);
    if (hdr[1]) rk_buf_append(&q->fifo, key, hdr[1]);
    q->pending++;
}

uint64_t rreplies_pending(const struct rreplies *q)
{
    return q->pending;
}

static int reply_error(struct rreplies *q, enum rcmd cmd, const unsigned char *key, size_t klen,
                       struct rk_err *err)
{
    char name[300];
    if (cmd == RC_SELECT || cmd == RC_FLUSHALL || cmd == RC_FUNCTION_FLUSH || cmd == RC_PING ||
        klen == 0) {
        char arg[80] = "";
        if (klen) snprintf(arg, sizeof(arg), " %.*s", (int)klen, (const char *)key);
        return rk_err_set(err, "%s%s: %s", rcmd_name(cmd), arg, q->seen.msg);
    }
    key_quote(key, klen, name, sizeof(name));
    if (cmd == RC_FUNCTION_LOAD)
        return rk_err_set(err, "function library \"%s\" (FUNCTION LOAD): %s", name, q->seen.msg);
    return rk_err_set(err, "key \"%s\" (%s): %s", name, rcmd_name(cmd), q->seen.msg);
}

int rreplies_feed(struct rreplies *q, const void *data, size_t len, struct rk_err *err)
{
    if (redisReaderFeed(q->rr, data, len) != REDIS_OK)
        return rk_err_set(err, "the server's replies are malformed: %s", q->rr->errstr);
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(q->rr, &reply) != REDIS_OK)
            return rk_err_set(err, "the server's replies are malformed: %s", q->rr->errstr);
        if (!reply) return 0;
        if (!q->pending) {
            if (q->seen.error)
                return rk_err_set(err, "the server sent an error nobody asked for: %s",
                                  q->seen.msg);
            return rk_err_set(err, "the server sent a reply nobody asked for");
        }
        const unsigned char *rec = q->fifo.data + q->head;
        enum rcmd cmd = (enum rcmd)rec[0];
        size_t klen = rec[1];
        q->head += 2 + klen;
        q->pending--;
        if (q->seen.error) return reply_error(q, cmd, rec + 2, klen, err);
        if (cmd == RC_XCLAIM && q->seen.top_elements == 0 && q->note) q->note(q->note_ctx, cmd);
        q->seen.top_elements = -1;
    }
}

/* ---------------------------------------------------------------- pipe -- */

struct rpipe {
    struct rconn *c;
    struct rreplies *q;
    struct rk_buf out;
    size_t out_pos;  /* out[out_pos, len) is still to be written */
    size_t next_try; /* unsent bytes at which the next write is tried */
    unsigned char *in;
    uint64_t commands;
    uint64_t bytes_sent;
    bool failed;
};

struct rpipe *rpipe_new(struct rconn *c, rpipe_note_fn note, void *note_ctx)
{
    struct rpipe *p = xcalloc(1, sizeof(*p));
    p->c = c;
    p->q = rreplies_new(note, note_ctx);
    p->in = xmalloc(IN_CHUNK);
    rk_buf_reserve(&p->out, HIGH_WATER + FLUSH_AT);
    p->next_try = FLUSH_AT;
    return p;
}

void rpipe_free(struct rpipe *p)
{
    if (!p) return;
    rreplies_free(p->q);
    rk_buf_free(&p->out);
    free(p->in);
    free(p);
}

uint64_t rpipe_commands(const struct rpipe *p)
{
    return p->commands;
}

uint64_t rpipe_bytes_sent(const struct rpipe *p)
{
    return p->bytes_sent;
}

/* Moves bytes both ways until at most out_limit bytes wait to be written,
 * the direct span is written, and at most inflight_limit replies are
 * outstanding. Fails after timeout_ms without any progress. */
static int pump_io(struct rpipe *p, size_t out_limit, uint64_t inflight_limit,
                   const unsigned char *direct, size_t direct_len, long timeout_ms,
                   struct rk_err *err);

static int pump(struct rpipe *p, size_t out_limit, uint64_t inflight_limit,
                const unsigned char *direct, size_t direct_len, long timeout_ms, struct rk_err *err)
{
    if (p->failed) return rk_err_set(err, "the connection to the target already failed");
    if (pump_io(p, out_limit, inflight_limit, direct, direct_len, timeout_ms, err) == 0) return 0;
    p->failed = true;
    return -1;
}

bool rpipe_failed(const struct rpipe *p)
{
    return p->failed;
}

static int pump_io(struct rpipe *p, size_t out_limit, uint64_t inflight_limit,
                   const unsigned char *direct, size_t direct_len, long timeout_ms,
                   struct rk_err *err)
{
    uint64_t last = rk_monotonic_ns();
    for (;;) {
        bool moved = false;
        for (;;) {
            size_t unsent = p->out.len - p->out_pos;
            const unsigned char *src = unsent ? p->out.data + p->out_pos : direct;
            size_t n = unsent ? unsent : direct_len;
            if (!n) break;
            ssize_t w = rconn_send(p->c, src, n > SEND_MAX ? SEND_MAX : n, err);
            if (w == RCONN_AGAIN) break;
            if (w < 0) return -1;
            moved = true;
            p->bytes_sent += (uint64_t)w;
            if (unsent) {
                p->out_pos += (size_t)w;
            } else {
                direct += w;
                direct_len -= (size_t)w;
            }
        }
        if (p->out_pos == p->out.len) p->out_pos = p->out.len = 0;
        for (;;) {
            ssize_t r = rconn_recv(p->c, p->in, IN_CHUNK, err);
            if (r == RCONN_AGAIN) break;
            if (r < 0) return -1;
            if (r == 0)
                return rk_err_set(err,
                                  "the server closed the connection with %llu replies "
                                  "outstanding",
                                  (unsigned long long)rreplies_pending(p->q));
            moved = true;
            if (rreplies_feed(p->q, p->in, (size_t)r, err)) return -1;
            if ((size_t)r < IN_CHUNK) break;
        }
        size_t unsent = p->out.len - p->out_pos;
        if (unsent <= out_limit && direct_len == 0 && rreplies_pending(p->q) <= inflight_limit)
            return 0;
        uint64_t now = rk_monotonic_ns();
        if (moved)
            last = now;
        else if (now - last > (uint64_t)timeout_ms * 1000000u)
            return rk_err_set(err,
                              "the server made no progress for %ld s (%llu replies "
                              "outstanding)",
                              timeout_ms / 1000, (unsigned long long)rreplies_pending(p->q));
        if (moved) continue;
        bool cr, cw;
        if (rconn_wait(p->c, true, unsent || direct_len, 200, &cr, &cw, err)) return -1;
    }
}

static int pump_normal(struct rpipe *p, struct rk_err *err)
{
    int rc = pump(p, HIGH_WATER, MAX_INFLIGHT, NULL, 0, rconn_io_timeout(p->c), err);
    /* Keep the buffer's live part at its front. */
    if (p->out_pos > (1u << 20) && p->out_pos > p->out.len / 2) {
        memmove(p->out.data, p->out.data + p->out_pos, p->out.len - p->out_pos);
        p->out.len -= p->out_pos;
        p->out_pos = 0;
    }
    p->next_try = p->out.len - p->out_pos + FLUSH_AT;
    return rc;
}

void rpipe_begin(struct rpipe *p, enum rcmd cmd, const void *key, size_t key_len)
{
    rreplies_expect(p->q, cmd, key, key_len);
    p->commands++;
}

static void put_num(struct rk_buf *b, char prefix, uint64_t n)
{
    char tmp[24];
    int i = 24;
    tmp[--i] = '\n';
    tmp[--i] = '\r';
    do {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    tmp[--i] = prefix;
    rk_buf_append(b, tmp + i, (size_t)(24 - i));
}

void rpipe_argc(struct rpipe *p, uint64_t argc)
{
    put_num(&p->out, '*', argc);
}

void rpipe_arg_head(struct rpipe *p, uint64_t len)
{
    put_num(&p->out, '$', len);
}

void rpipe_arg_end(struct rpipe *p)
{
    rk_buf_append(&p->out, "\r\n", 2);
}

void rpipe_arg(struct rpipe *p, const void *data, size_t len)
{
    rk_buf_reserve(&p->out, len + 24);
    put_num(&p->out, '$', len);
    memcpy(p->out.data + p->out.len, data, len);
    p->out.len += len;
    p->out.data[p->out.len++] = '\r';
    p->out.data[p->out.len++] = '\n';
}

void rpipe_arg_str(struct rpipe *p, const char *s)
{
    rpipe_arg(p, s, strlen(s));
}

void rpipe_arg_u64(struct rpipe *p, uint64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%llu", (unsigned long long)v);
    rpipe_arg(p, t, (size_t)n);
}

void rpipe_arg_i64(struct rpipe *p, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%lld", (long long)v);
    rpipe_arg(p, t, (size_t)n);
}

int rpipe_raw(struct rpipe *p, const void *data, size_t len, struct rk_err *err)
{
    const unsigned char *d = data;
    while (len) {
        size_t n = len < HIGH_WATER ? len : HIGH_WATER;
        rk_buf_append(&p->out, d, n);
        d += n;
        len -= n;
        if (p->out.len - p->out_pos > HIGH_WATER && pump_normal(p, err)) return -1;
    }
    return 0;
}

int rpipe_arg_direct(struct rpipe *p, const void *data, size_t len, struct rk_err *err)
{
    put_num(&p->out, '$', len);
    if (pump(p, 0, MAX_INFLIGHT, data, len, rconn_io_timeout(p->c), err)) return -1;
    rpipe_arg_end(p);
    return 0;
}

int rpipe_commit(struct rpipe *p, struct rk_err *err)
{
    size_t unsent = p->out.len - p->out_pos;
    if (unsent < p->next_try && rreplies_pending(p->q) < MAX_INFLIGHT) return 0;
    return pump_normal(p, err);
}

int rpipe_drain(struct rpipe *p, long timeout_ms, struct rk_err *err)
{
    if (timeout_ms <= 0) timeout_ms = rconn_io_timeout(p->c);
    int rc = pump(p, 0, 0, NULL, 0, timeout_ms, err);
    p->next_try = FLUSH_AT;
    return rc;
}
