/* The slow paths of the byte window: tokens split across chunks. */
#include "rdb/window.h"

void rdb_window_init(struct rdb_window *w, rdb_window_observer_fn observe, void *ctx)
{
    memset(w, 0, sizeof(*w));
    w->observe = observe;
    w->observe_ctx = ctx;
}

const unsigned char *rdb_window_peek_slow(struct rdb_window *w, size_t n)
{
    if (n > RDB_WINDOW_CARRY) rk_panic("rdb window: token of %zu bytes is too long", n);
    if (w->carry_len < n) {
        size_t want = n - w->carry_len;
        size_t have = (size_t)(w->end - w->p);
        if (want > have) want = have;
        if (want) {
            /* The chunk's consumed bytes precede the carried ones: show them first. */
            rdb_window_flush(w);
            if (w->carry_off) {
                memmove(w->carry, w->carry + w->carry_off, w->carry_len);
                w->carry_off = 0;
            }
            memcpy(w->carry + w->carry_len, w->p, want);
            w->carry_len += want;
            w->p += want;
            w->seen = w->p;
        }
    }
    return w->carry_len >= n ? w->carry + w->carry_off : NULL;
}

void rdb_window_skip_slow(struct rdb_window *w, size_t n)
{
    size_t from_carry = n < w->carry_len ? n : w->carry_len;
    if (w->observe) w->observe(w->observe_ctx, w->carry + w->carry_off, from_carry);
    w->carry_off += from_carry;
    w->carry_len -= from_carry;
    if (w->carry_len == 0) w->carry_off = 0;
    /* A peek only ever returns bytes it carried, so nothing is left over. */
    w->p += n - from_carry;
}

const unsigned char *rdb_window_take_slow(struct rdb_window *w, size_t max, size_t *len)
{
    size_t n = w->carry_len < max ? w->carry_len : max;
    const unsigned char *data = w->carry + w->carry_off;
    if (w->observe) w->observe(w->observe_ctx, data, n);
    w->carry_off += n;
    w->carry_len -= n;
    w->pos += n;
    /* carry_off is left as is even when empty: data must stay valid until the
     * next call, and the next peek_slow compacts. */
    *len = n;
    return data;
}
