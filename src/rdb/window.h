/* window.h: the input side of every push parser in src/rdb (private).
 *
 * A parser is fed chunks whose boundaries fall anywhere, but it reads tokens
 * (a length, a header, an 8-byte time) that must be seen whole. The window
 * hands out tokens straight from the caller's chunk when they fit in it (the
 * common case, no copy) and otherwise gathers the split token's bytes in a
 * small carry buffer. Tokens are at most RDB_WINDOW_CARRY bytes (the longest is a
 * text score: 1 + 255 bytes); anything
 * longer (string contents) is taken piece by piece with rdb_window_take().
 *
 * Consumed bytes can be shown to an observer (the reader uses it for the
 * CRC64 and for handing out a value's raw bytes). Bytes consumed straight from
 * the chunk are shown lazily, in spans, at rdb_window_flush() and before the
 * carry is filled; carried bytes are shown as they are consumed. Either way
 * the observer sees every consumed byte once, in order. */
#ifndef RDBKEEP_RDB_WINDOW_H
#define RDBKEEP_RDB_WINDOW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/base.h"

#define RDB_WINDOW_CARRY 320

typedef void (*rdb_window_observer_fn)(void *ctx, const unsigned char *data, size_t len);

struct rdb_window {
    const unsigned char *p;    /* next unconsumed byte of the chunk */
    const unsigned char *end;  /* end of the chunk */
    const unsigned char *seen; /* chunk bytes in [seen, p) are consumed, not yet observed */
    unsigned char carry[RDB_WINDOW_CARRY];
    size_t carry_off, carry_len; /* unconsumed carried bytes: carry[off .. off+len) */
    uint64_t pos;                /* bytes consumed since init */
    rdb_window_observer_fn observe;
    void *observe_ctx;
};

void rdb_window_init(struct rdb_window *w, rdb_window_observer_fn observe, void *ctx);
const unsigned char *rdb_window_peek_slow(struct rdb_window *w, size_t n);
void rdb_window_skip_slow(struct rdb_window *w, size_t n);
const unsigned char *rdb_window_take_slow(struct rdb_window *w, size_t max, size_t *len);

/* Shows the observer what was consumed from the chunk so far. */
static inline void rdb_window_flush(struct rdb_window *w)
{
    if (w->p != w->seen) {
        if (w->observe) w->observe(w->observe_ctx, w->seen, (size_t)(w->p - w->seen));
        w->seen = w->p;
    }
}

/* Starts a new chunk; the previous one must be used up (every parser loop
 * runs until a peek fails, which carries the remainder, or the chunk ends). */
static inline void rdb_window_set_input(struct rdb_window *w, const unsigned char *data, size_t len)
{
    w->p = w->seen = data;
    w->end = data + len;
}

/* Unconsumed bytes available now, carried or not. */
static inline size_t rdb_window_avail(const struct rdb_window *w)
{
    return w->carry_len + (size_t)(w->end - w->p);
}

/* n contiguous unconsumed bytes (n <= RDB_WINDOW_CARRY), or NULL if fewer are
 * available yet; then everything left in the chunk has been carried. */
static inline const unsigned char *rdb_window_peek(struct rdb_window *w, size_t n)
{
    if (RK_LIKELY(w->carry_len == 0 && (size_t)(w->end - w->p) >= n)) return w->p;
    return rdb_window_peek_slow(w, n);
}

/* Consumes n bytes a successful peek returned. */
static inline void rdb_window_skip(struct rdb_window *w, size_t n)
{
    w->pos += n;
    if (RK_LIKELY(w->carry_len == 0)) {
        w->p += n;
        return;
    }
    rdb_window_skip_slow(w, n);
}

/* Consumes and returns up to max contiguous bytes (*len of them; 0 when
 * nothing is available). The bytes stay valid until the next window call. */
static inline const unsigned char *rdb_window_take(struct rdb_window *w, size_t max, size_t *len)
{
    if (RK_LIKELY(w->carry_len == 0)) {
        size_t n = (size_t)(w->end - w->p);
        if (n > max) n = max;
        const unsigned char *data = w->p;
        w->p += n;
        w->pos += n;
        *len = n;
        return data;
    }
    return rdb_window_take_slow(w, max, len);
}

#endif
