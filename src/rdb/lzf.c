/* lzf.c: the LZF format Redis uses for compressed strings.
 *
 * The stream is a sequence of tokens, each starting with a control byte c:
 *   c < 32                 literal run: the next c + 1 bytes are output as is
 *   c >> 5 = 1..6          back-reference of (c >> 5) + 2 bytes
 *   c >> 5 = 7, then n     back-reference of n + 9 bytes
 * A back-reference's last byte b gives the distance ((c & 31) << 8) + b + 1
 * back from the current output position (1..8192); the copy may overlap the
 * bytes it produces (distance 1 repeats one byte).
 *
 * The input is untrusted: every token is checked against the input end, the
 * output start and the output size before anything is written. */
#include <stdlib.h>
#include <string.h>

#include "rdb/codec.h"

#define LZF_MAX_LITERAL  32 /* bytes in one literal run */
#define LZF_MAX_DISTANCE 8192
#define LZF_MIN_MATCH    3
#define LZF_MAX_MATCH    264 /* 7 + 255 + 2 */

/* The decoder's fast path copies back-references in blocks of up to 32
 * bytes and a literal run as one 32-byte block, so it may write up to 31
 * bytes past a token's end (never past out_end). It runs only while this
 * much input and output room is left, so no token there needs a bounds
 * check. */
#define FAST_IN_ROOM  (1 + LZF_MAX_LITERAL)
#define FAST_OUT_ROOM (LZF_MAX_MATCH + 32)

#define WIN_CAP (RDB_LZF_HISTORY + RDB_LZF_PIECE)

/* ---- compression ---------------------------------------------------------
 *
 * Greedy LZ77 over a hash table of recent positions, as liblzf does: hash
 * the next three bytes, look up where they last occurred, and if that is
 * within reach and really matches, extend the match as far as it goes. */

/* At most 2^14 slots (64 KiB of stack); small inputs use a smaller table so
 * a 30-byte string does not pay for clearing 64 KiB. */
#define HASH_LOG_MIN 8
#define HASH_LOG_MAX 14

static uint32_t load_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t load_u64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t load_3(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

/* load_3 with one 4-byte load; needs 4 readable bytes. */
static uint32_t load_first_3(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return load_3(p);
#else
    return load_u32(p) & 0xFFFFFF;
#endif
}

static unsigned hash_3(uint32_t v, unsigned hash_log)
{
    return (v * 2654435761u) >> (32 - hash_log);
}

/* Bytes the two positions have in common, up to max. */
static size_t match_length(const unsigned char *a, const unsigned char *b, size_t len, size_t max)
{
    while (len + 8 <= max) {
        uint64_t diff = load_u64(a + len) ^ load_u64(b + len);
        if (diff) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            return len + (size_t)(__builtin_clzll(diff) >> 3);
#else
            return len + (size_t)(__builtin_ctzll(diff) >> 3);
#endif
        }
        len += 8;
    }
    while (len < max && a[len] == b[len]) len++;
    return len;
}

size_t rdb_lzf_compress(const void *in_, size_t in_len, void *out_, size_t out_cap)
{
    const unsigned char *in = in_;
    unsigned char *out = out_;
    if (in_len == 0) return 0;

    unsigned hash_log = HASH_LOG_MIN;
    while (hash_log < HASH_LOG_MAX && ((size_t)1 << hash_log) < in_len) hash_log++;
    /* Positions are kept modulo 2^32 and every candidate is verified against
     * the input, so inputs past 4 GiB and stale slots cost only misses. */
    uint32_t table[1u << HASH_LOG_MAX];
    memset(table, 0, sizeof(table[0]) << hash_log);

    size_t ip = 0, lit = 0, op = 0;
    /* A match needs three bytes to hash; a 4-byte load needs one more. */
    size_t hash_end = in_len >= LZF_MIN_MATCH ? in_len - (LZF_MIN_MATCH - 1) : 0;
    while (ip < hash_end) {
        uint32_t v = ip + 4 <= in_len ? load_first_3(in + ip) : load_3(in + ip);
        unsigned h = hash_3(v, hash_log);
        uint32_t dist = (uint32_t)ip - table[h];
        table[h] = (uint32_t)ip;
        if (dist - 1 >= LZF_MAX_DISTANCE || dist > ip || load_3(in + ip - dist) != v) {
            ip++;
            continue;
        }
        size_t max = in_len - ip < LZF_MAX_MATCH ? in_len - ip : LZF_MAX_MATCH;
        size_t len = match_length(in + ip - dist, in + ip, LZF_MIN_MATCH, max);

        while (lit < ip) {
            size_t n = ip - lit < LZF_MAX_LITERAL ? ip - lit : LZF_MAX_LITERAL;
            if (out_cap - op < 1 + n) return 0;
            out[op++] = (unsigned char)(n - 1);
            memcpy(out + op, in + lit, n);
            op += n;
            lit += n;
        }
        size_t code = len - 2, off = dist - 1;
        if (out_cap - op < (code < 7 ? 2u : 3u)) return 0;
        if (code < 7) {
            out[op++] = (unsigned char)(code << 5 | off >> 8);
        } else {
            out[op++] = (unsigned char)(7 << 5 | off >> 8);
            out[op++] = (unsigned char)(code - 7);
        }
        out[op++] = (unsigned char)off;

        ip += len;
        lit = ip;
        /* Index the match's last two positions too: runs and repeated
         * records then chain into each other without hashing every byte. */
        for (size_t p = ip - 2; p < ip && p < hash_end; p++)
            table[hash_3(load_3(in + p), hash_log)] = (uint32_t)p;
    }
    while (lit < in_len) {
        size_t n = in_len - lit < LZF_MAX_LITERAL ? in_len - lit : LZF_MAX_LITERAL;
        if (out_cap - op < 1 + n) return 0;
        out[op++] = (unsigned char)(n - 1);
        memcpy(out + op, in + lit, n);
        op += n;
        lit += n;
    }
    return op;
}

/* ---- decompression ------------------------------------------------------- */

enum lzf_stop {
    LZF_STOP_INPUT,   /* input used up, or the next token is not all there */
    LZF_STOP_SPACE,   /* the next token does not fit before out_end */
    LZF_STOP_CORRUPT, /* the next token reaches before out_lo */
};

/* The distance of the back-reference token at p (complete). */
static size_t token_distance(const unsigned char *p)
{
    size_t at = (p[0] >> 5) == 7 ? 2 : 1;
    return ((size_t)(p[0] & 31) << 8) + p[at] + 1;
}

/* Copies a back-reference of len bytes from dist bytes back, exactly. */
static void copy_match_exact(unsigned char *op, size_t dist, size_t len)
{
    const unsigned char *ref = op - dist;
    if (dist >= len) {
        memcpy(op, ref, len);
    } else if (dist == 1) {
        memset(op, ref[0], len);
    } else {
        for (size_t i = 0; i < len; i++) op[i] = ref[i];
    }
}

/* Decodes whole tokens from *ipp into *opp until the input ends, a token is
 * incomplete, a token does not fit before out_end, or a back-reference
 * reaches before out_lo. Stops at the start of the token it could not
 * decode, so the caller can report it, make room, or wait for more input. */
static enum lzf_stop lzf_run(const unsigned char **ipp, const unsigned char *in_end,
                             unsigned char **opp, const unsigned char *out_lo,
                             unsigned char *out_end)
{
    const unsigned char *ip = *ipp;
    unsigned char *op = *opp;
    enum lzf_stop stop = LZF_STOP_INPUT;

    while (ip < in_end) {
        unsigned ctrl = *ip;
        if (RK_LIKELY((size_t)(in_end - ip) >= FAST_IN_ROOM &&
                      (size_t)(out_end - op) >= FAST_OUT_ROOM)) {
            if (ctrl < 32) {
                memcpy(op, ip + 1, LZF_MAX_LITERAL);
                op += ctrl + 1;
                ip += ctrl + 2;
                continue;
            }
            size_t len = ctrl >> 5, at = 1;
            if (len == 7) len += ip[at++];
            len += 2;
            size_t dist = ((size_t)(ctrl & 31) << 8) + ip[at] + 1;
            if (RK_UNLIKELY(dist > (size_t)(op - out_lo))) {
                stop = LZF_STOP_CORRUPT;
                break;
            }
            ip += at + 1;
            const unsigned char *ref = op - dist;
            if (dist >= 32) {
                for (size_t i = 0; i < len; i += 32) memcpy(op + i, ref + i, 32);
            } else if (dist >= 16) {
                for (size_t i = 0; i < len; i += 16) memcpy(op + i, ref + i, 16);
            } else if (dist >= 8) {
                for (size_t i = 0; i < len; i += 8) memcpy(op + i, ref + i, 8);
            } else if (dist == 1) {
                memset(op, ref[0], len);
            } else {
                for (size_t i = 0; i < len; i++) op[i] = ref[i];
            }
            op += len;
            continue;
        }

        /* Near an end: check everything. */
        if (ctrl < 32) {
            size_t n = ctrl + 1;
            if ((size_t)(in_end - ip) < 1 + n) break;
            if ((size_t)(out_end - op) < n) {
                stop = LZF_STOP_SPACE;
                break;
            }
            memcpy(op, ip + 1, n);
            op += n;
            ip += 1 + n;
            continue;
        }
        size_t len = ctrl >> 5, at = 1;
        if ((size_t)(in_end - ip) < (len == 7 ? 3u : 2u)) break;
        if (len == 7) len += ip[at++];
        len += 2;
        size_t dist = ((size_t)(ctrl & 31) << 8) + ip[at] + 1;
        if (dist > (size_t)(op - out_lo)) {
            stop = LZF_STOP_CORRUPT;
            break;
        }
        if ((size_t)(out_end - op) < len) {
            stop = LZF_STOP_SPACE;
            break;
        }
        copy_match_exact(op, dist, len);
        op += len;
        ip += at + 1;
    }
    *ipp = ip;
    *opp = op;
    return stop;
}

int rdb_lzf_decompress(const void *in_, size_t in_len, void *out_, size_t out_len,
                       struct rk_err *err)
{
    const unsigned char *in = in_, *ip = in;
    unsigned char *out = out_, *op = out;
    enum lzf_stop stop = lzf_run(&ip, in + in_len, &op, out, out + out_len);
    size_t at = (size_t)(ip - in);
    switch (stop) {
    case LZF_STOP_CORRUPT:
        return rk_err_set(err,
                          "LZF back-reference at compressed byte %zu reaches %zu bytes before "
                          "the start of the output",
                          at, token_distance(ip) - (size_t)(op - out));
    case LZF_STOP_SPACE:
        return rk_err_set(err,
                          "LZF data at compressed byte %zu decompresses past the %zu bytes "
                          "the string claims",
                          at, out_len);
    case LZF_STOP_INPUT: break;
    }
    if (ip != in + in_len)
        return rk_err_set(err, "LZF data ends inside the token at compressed byte %zu", at);
    if ((size_t)(op - out) != out_len)
        return rk_err_set(err,
                          "LZF data of %zu bytes decompresses to %zu bytes, but the string "
                          "claims %zu",
                          in_len, (size_t)(op - out), out_len);
    return 0;
}

/* ---- streaming decompression ---------------------------------------------
 *
 * The window s->win holds the last RDB_LZF_HISTORY bytes of output (all
 * already emitted) followed by new output. New output is emitted when a
 * piece is complete, when the window is full, and at the end of every feed,
 * so between feeds everything in the window has been emitted. When the
 * window fills, its last RDB_LZF_HISTORY bytes move to the front: that is as
 * far back as a back-reference can reach. */

struct lzf_feed {
    struct rdb_lzf_stream *s;
    size_t emit_from; /* first window byte not yet emitted */
    rdb_lzf_emit_fn emit;
    void *ctx;
    struct rk_err *err;
};

static int feed_flush(struct lzf_feed *f)
{
    struct rdb_lzf_stream *s = f->s;
    if (s->win_len > f->emit_from) {
        int rc = f->emit(f->ctx, s->win + f->emit_from, s->win_len - f->emit_from);
        f->emit_from = s->win_len;
        if (rc != 0) {
            rk_err_clear(f->err);
            return -1;
        }
    }
    return 0;
}

static int feed_make_room(struct lzf_feed *f)
{
    struct rdb_lzf_stream *s = f->s;
    if (feed_flush(f) != 0) return -1;
    if (s->win_len > RDB_LZF_HISTORY) {
        memmove(s->win, s->win + s->win_len - RDB_LZF_HISTORY, RDB_LZF_HISTORY);
        s->win_len = RDB_LZF_HISTORY;
        f->emit_from = RDB_LZF_HISTORY;
    }
    return 0;
}

/* Window room before a piece is complete or the window is full. */
static size_t feed_room(const struct lzf_feed *f)
{
    size_t end = f->emit_from + RDB_LZF_PIECE;
    if (end > WIN_CAP) end = WIN_CAP;
    return end - f->s->win_len;
}

static int overrun_error(struct lzf_feed *f, uint64_t at)
{
    return rk_err_set(f->err,
                      "LZF data at compressed byte %llu decompresses past the %llu bytes the "
                      "string claims",
                      (unsigned long long)at, (unsigned long long)f->s->out_total);
}

/* Decodes whole tokens of [*ipp, end); at_base is the compressed offset of
 * base, the start of the buffer *ipp points into. */
static int feed_run(struct lzf_feed *f, const unsigned char **ipp, const unsigned char *end,
                    const unsigned char *base, uint64_t at_base)
{
    struct rdb_lzf_stream *s = f->s;
    for (;;) {
        size_t room = feed_room(f);
        uint64_t left = s->out_total - s->out_done;
        bool total_bound = left <= room;
        unsigned char *op = s->win + s->win_len;
        unsigned char *out_end = op + (total_bound ? (size_t)left : room);
        enum lzf_stop stop = lzf_run(ipp, end, &op, s->win, out_end);
        size_t made = (size_t)(op - (s->win + s->win_len));
        s->win_len += made;
        s->out_done += made;
        uint64_t at = at_base + (uint64_t)(*ipp - base);
        switch (stop) {
        case LZF_STOP_INPUT: return 0;
        case LZF_STOP_CORRUPT:
            return rk_err_set(f->err,
                              "LZF back-reference at compressed byte %llu reaches %llu bytes "
                              "before the start of the output",
                              (unsigned long long)at,
                              (unsigned long long)(token_distance(*ipp) - s->out_done));
        case LZF_STOP_SPACE:
            if (total_bound) return overrun_error(f, at);
            if (feed_make_room(f) != 0) return -1;
            break;
        }
    }
}

/* Copies what this feed has of the current literal run. */
static int feed_literal(struct lzf_feed *f, const unsigned char **ipp, const unsigned char *end)
{
    struct rdb_lzf_stream *s = f->s;
    while (s->literal_left > 0 && *ipp < end) {
        size_t room = feed_room(f);
        if (room == 0) {
            if (feed_make_room(f) != 0) return -1;
            continue;
        }
        size_t n = s->literal_left;
        if (n > (size_t)(end - *ipp)) n = (size_t)(end - *ipp);
        if (n > room) n = room;
        memcpy(s->win + s->win_len, *ipp, n);
        s->win_len += n;
        s->out_done += n;
        s->literal_left -= (unsigned)n;
        *ipp += n;
    }
    return 0;
}

void rdb_lzf_stream_init(struct rdb_lzf_stream *s, uint64_t out_total)
{
    memset(s, 0, sizeof(*s));
    s->out_total = out_total;
    s->win = xmalloc(WIN_CAP);
}

void rdb_lzf_stream_free(struct rdb_lzf_stream *s)
{
    free(s->win);
    s->win = NULL;
}

static size_t backref_token_size(unsigned char ctrl)
{
    return (ctrl >> 5) == 7 ? 3 : 2;
}

int rdb_lzf_stream_feed(struct rdb_lzf_stream *s, const unsigned char *in, size_t len,
                        rdb_lzf_emit_fn emit, void *ctx, struct rk_err *err)
{
    struct lzf_feed f = {.s = s, .emit_from = s->win_len, .emit = emit, .ctx = ctx, .err = err};
    const unsigned char *ip = in, *end = in + len;
    int rc = 0;

    if (s->pending_len > 0) {
        /* Complete the back-reference token an earlier feed cut short. */
        size_t need = backref_token_size(s->pending[0]);
        uint64_t token_at = s->in_done - s->pending_len;
        size_t take = need - s->pending_len;
        if (take > len) take = len;
        memcpy(s->pending + s->pending_len, ip, take);
        s->pending_len += (unsigned)take;
        ip += take;
        if (s->pending_len < need) goto done;
        const unsigned char *pp = s->pending;
        rc = feed_run(&f, &pp, s->pending + need, s->pending, token_at);
        if (rc != 0) goto done;
        s->pending_len = 0;
    }
    if ((rc = feed_literal(&f, &ip, end)) != 0) goto done;

    while (ip < end) {
        if ((rc = feed_run(&f, &ip, end, in, s->in_done)) != 0) goto done;
        if (ip == end) break;
        /* The token at ip continues in the next feed. */
        uint64_t at = s->in_done + (uint64_t)(ip - in);
        if (*ip < 32) {
            unsigned n = *ip + 1u;
            if (s->out_total - s->out_done < n) {
                rc = overrun_error(&f, at);
                goto done;
            }
            ip++;
            s->literal_left = n;
            if ((rc = feed_literal(&f, &ip, end)) != 0) goto done;
        } else {
            s->pending_len = (unsigned)(end - ip);
            memcpy(s->pending, ip, s->pending_len);
            ip = end;
        }
    }
done:
    if (rc == 0) rc = feed_flush(&f);
    s->in_done += len;
    return rc;
}

int rdb_lzf_stream_finish(struct rdb_lzf_stream *s, rdb_lzf_emit_fn emit, void *ctx,
                          struct rk_err *err)
{
    if (s->pending_len > 0)
        return rk_err_set(err, "LZF data ends inside the back-reference at compressed byte %llu",
                          (unsigned long long)(s->in_done - s->pending_len));
    if (s->literal_left > 0)
        return rk_err_set(err,
                          "LZF data ends inside a literal run at compressed byte %llu, %u bytes "
                          "short",
                          (unsigned long long)s->in_done, s->literal_left);
    if (s->out_done != s->out_total)
        return rk_err_set(err,
                          "LZF data of %llu bytes decompresses to %llu bytes, but the string "
                          "claims %llu",
                          (unsigned long long)s->in_done, (unsigned long long)s->out_done,
                          (unsigned long long)s->out_total);
    struct lzf_feed f = {.s = s, .emit_from = s->win_len, .emit = emit, .ctx = ctx, .err = err};
    return feed_flush(&f);
}
