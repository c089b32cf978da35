/* Growable byte buffer. */
#include "base/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rk_buf_reserve(struct rk_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra) return;
    if (extra > SIZE_MAX / 2 - b->len) rk_panic("buffer size overflow");
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void rk_buf_append(struct rk_buf *b, const void *data, size_t len)
{
    if (!len) return;
    rk_buf_reserve(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void rk_buf_append_byte(struct rk_buf *b, unsigned char c)
{
    rk_buf_reserve(b, 1);
    b->data[b->len++] = c;
}

void rk_buf_printf(struct rk_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) rk_panic("bad format string: %s", fmt);
    rk_buf_reserve(b, (size_t)n + 1);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}

void rk_buf_reset(struct rk_buf *b)
{
    b->len = 0;
}

void rk_buf_free(struct rk_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
