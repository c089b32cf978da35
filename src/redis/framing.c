/* The replication stream a master sends after PSYNC or SYNC (rdb-format.md
 * section 16):
 *
 *   ["\n"...] "+FULLRESYNC <replid> <offset>\r\n"     (PSYNC only)
 *   ["\n"...] "$<len>\r\n" <len bytes>                 (disk-based: no CRLF after)
 *          or "$EOF:<40 chars>\r\n" <bytes> <the 40 chars>   (diskless)
 *
 * Bare newlines are keep-alives sent while the master forks and saves. A
 * push parser, so it can sit on any read size; bytes are handed out as they
 * come, except the last 40 of an EOF-framed body, held back until it is
 * known whether they are the end mark. The body ends where the mark first
 * appears, wherever the reads happen to split the stream (Redis's own
 * replica looks only at the end of each read, which works because a master
 * sends nothing after the mark until the replica acknowledges). */
#include "redis/redis_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void repl_framing_init(struct repl_framing *f, bool psync)
{
    memset(f, 0, sizeof(*f));
    f->state = psync ? REPL_WAIT_REPLY : REPL_WAIT_BULK;
    f->offset = -1;
}

static ssize_t fail(struct repl_framing *f, struct rk_err *err, const char *fmt, ...)
    RK_PRINTF(3, 4);

static ssize_t fail(struct repl_framing *f, struct rk_err *err, const char *fmt, ...)
{
    char msg[RK_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    f->state = REPL_FAILED;
    rk_err_set(err, "%s", msg);
    return -1;
}

/* A line for a message: printable ASCII kept, the rest as \xNN, cut short. */
static void line_quote(const char *s, size_t len, char *out, size_t outlen)
{
    rdb_quote((const unsigned char *)s, len, 100, out, outlen);
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

static int handle_reply_line(struct repl_framing *f, const char *line, size_t len,
                             struct rk_err *err)
{
    char q[512];
    if (len >= 12 && memcmp(line, "+FULLRESYNC ", 12) == 0) {
        const char *id = line + 12;
        size_t rest = len - 12;
        const char *sp = memchr(id, ' ', rest);
        if (!sp || sp - id != 40 || !all_hex(id, 40)) {
            line_quote(line, len, q, sizeof(q));
            return (int)fail(f, err, "the server's answer to PSYNC is malformed: \"%s\"", q);
        }
        memcpy(f->replid, id, 40);
        f->replid[40] = '\0';
        char num[32];
        size_t nl = len - (size_t)(sp + 1 - line);
        if (nl == 0 || nl >= sizeof(num)) {
            line_quote(line, len, q, sizeof(q));
            return (int)fail(f, err, "the server's answer to PSYNC is malformed: \"%s\"", q);
        }
        memcpy(num, sp + 1, nl);
        num[nl] = '\0';
        int64_t off;
        if (rk_parse_i64(num, &off) || off < -1) {
            line_quote(line, len, q, sizeof(q));
            return (int)fail(f, err, "the server's answer to PSYNC has a bad offset: \"%s\"", q);
        }
        f->offset = off;
        f->state = REPL_WAIT_BULK;
        return 0;
    }
    line_quote(line, len, q, sizeof(q));
    if (len >= 9 && memcmp(line, "+CONTINUE", 9) == 0)
        return (int)fail(f, err,
                         "the server offered a partial resynchronisation, which was not "
                         "asked for");
    if (len && line[0] == '-') {
        f->psync_refused = true;
        snprintf(f->error_reply, sizeof(f->error_reply), "%s", q + 1);
        return (int)fail(f, err, "the server refused PSYNC: %s", q + 1);
    }
    return (int)fail(f, err, "unexpected answer to PSYNC: \"%s\"", q);
}

static int handle_bulk_line(struct repl_framing *f, const char *line, size_t len,
                            struct rk_err *err)
{
    char q[512];
    line_quote(line, len, q, sizeof(q));
    if (len && line[0] == '-') {
        snprintf(f->error_reply, sizeof(f->error_reply), "%s", q + 1);
        return (int)fail(f, err, "the server refused the synchronisation: %s", q + 1);
    }
    if (len == 5 + REPL_MARK_LEN && memcmp(line, "$EOF:", 5) == 0) {
        memcpy(f->mark, line + 5, REPL_MARK_LEN);
        f->framing = REDIS_FRAMING_EOF;
        f->state = REPL_BODY_EOF;
        return 0;
    }
    if (len >= 2 && line[0] == '$' && line[1] >= '0' && line[1] <= '9' && len < 22) {
        char num[24];
        memcpy(num, line + 1, len - 1);
        num[len - 1] = '\0';
        uint64_t n;
        if (rk_parse_u64(num, &n) == 0) {
            f->declared = n;
            f->remaining = n;
            f->framing = REDIS_FRAMING_LENGTH;
            f->state = n ? REPL_BODY_LENGTH : REPL_DONE;
            return 0;
        }
    }
    if (len >= 8 && memcmp(line, "$ENDOFF:", 8) == 0)
        return (int)fail(f, err,
                         "the server answered with dual-channel replication, which was not "
                         "asked for");
    return (int)fail(f, err,
                     "expected the snapshot's length (\"$<len>\" or \"$EOF:<mark>\"), got "
                     "\"%s\"",
                     q);
}

/* Accumulates a line; returns 1 when one is complete (in f->line, without
 * the CRLF), 0 when more is needed, -1 on a line too long. *used gets the
 * bytes consumed. */
static int take_line(struct repl_framing *f, const unsigned char *d, size_t len, size_t *used,
                     struct rk_err *err)
{
    const unsigned char *nl = memchr(d, '\n', len);
    size_t n = nl ? (size_t)(nl - d) : len;
    *used = 0;
    if (f->line_len + n >= REPL_LINE_MAX)
        return (int)fail(f, err,
                         "the server sent a line longer than %d bytes where the "
                         "synchronisation's header was expected",
                         REPL_LINE_MAX);
    memcpy(f->line + f->line_len, d, n);
    f->line_len += n;
    *used = nl ? n + 1 : n;
    if (!nl) return 0;
    if (f->line_len && f->line[f->line_len - 1] == '\r') f->line_len--;
    return 1;
}

/* An EOF-framed body: the payload ends where the mark first appears, which
 * may be across the boundary of two feeds. Returns the bytes of d consumed. */
static size_t eof_body(struct repl_framing *f, const unsigned char *d, size_t len, repl_out_fn out,
                       void *ctx)
{
    /* A mark that starts in the held-back tail. */
    unsigned char edge[2 * REPL_MARK_LEN];
    size_t head = len < REPL_MARK_LEN - 1 ? len : REPL_MARK_LEN - 1;
    memcpy(edge, f->tail, f->tail_len);
    memcpy(edge + f->tail_len, d, head);
    const unsigned char *hit = memmem(edge, f->tail_len + head, f->mark, REPL_MARK_LEN);
    if (hit) {
        size_t at = (size_t)(hit - edge); /* < tail_len */
        size_t used = REPL_MARK_LEN - (f->tail_len - at);
        if (at) out(ctx, f->tail, at);
        f->body_bytes += at;
        f->tail_len = 0;
        f->state = REPL_DONE;
        return used;
    }
    hit = memmem(d, len, f->mark, REPL_MARK_LEN);
    if (hit) {
        size_t at = (size_t)(hit - d);
        if (f->tail_len) out(ctx, f->tail, f->tail_len);
        if (at) out(ctx, d, at);
        f->body_bytes += f->tail_len + at;
        f->tail_len = 0;
        f->state = REPL_DONE;
        return at + REPL_MARK_LEN;
    }
    /* No mark yet: hand out all but the last 40 bytes seen. */
    size_t total = f->tail_len + len;
    if (total <= REPL_MARK_LEN) {
        memcpy(f->tail + f->tail_len, d, len);
        f->tail_len += len;
        return len;
    }
    size_t emit = total - REPL_MARK_LEN;
    if (emit <= f->tail_len) { /* len < 40: part of the tail goes */
        out(ctx, f->tail, emit);
        memmove(f->tail, f->tail + emit, f->tail_len - emit);
        f->tail_len -= emit;
        memcpy(f->tail + f->tail_len, d, len);
        f->tail_len += len;
    } else {
        if (f->tail_len) out(ctx, f->tail, f->tail_len);
        out(ctx, d, emit - f->tail_len);
        memcpy(f->tail, d + len - REPL_MARK_LEN, REPL_MARK_LEN);
        f->tail_len = REPL_MARK_LEN;
    }
    f->body_bytes += emit;
    return len;
}

ssize_t repl_framing_feed(struct repl_framing *f, const unsigned char *data, size_t len,
                          repl_out_fn out, void *ctx, struct rk_err *err)
{
    size_t pos = 0;
    while (pos < len) {
        switch (f->state) {
        case REPL_WAIT_REPLY:
        case REPL_WAIT_BULK: {
            size_t used;
            int rc = take_line(f, data + pos, len - pos, &used, err);
            if (rc < 0) return -1;
            pos += used;
            f->in_bytes += used;
            if (rc == 0) break;
            size_t ll = f->line_len;
            f->line_len = 0;
            if (ll == 0) {
                f->keepalives++;
                break;
            }
            int r = f->state == REPL_WAIT_REPLY ? handle_reply_line(f, f->line, ll, err)
                                                : handle_bulk_line(f, f->line, ll, err);
            if (r) return -1;
            break;
        }
        case REPL_BODY_LENGTH: {
            size_t n = len - pos;
            if (n > f->remaining) n = (size_t)f->remaining;
            out(ctx, data + pos, n);
            pos += n;
            f->in_bytes += n;
            f->body_bytes += n;
            f->remaining -= n;
            if (!f->remaining) f->state = REPL_DONE;
            break;
        }
        case REPL_BODY_EOF: {
            size_t used = eof_body(f, data + pos, len - pos, out, ctx);
            f->in_bytes += used;
            pos += used;
            break;
        }
        case REPL_DONE: return (ssize_t)pos;
        case REPL_FAILED: return rk_err_set(err, "the replication stream already failed");
        }
    }
    return (ssize_t)pos;
}
