/* Error values: a message buffer the caller owns. */
#include "base/base.h"

#include <stdio.h>
#include <string.h>

int rk_err_set(struct rk_err *err, const char *fmt, ...)
{
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int rk_err_prefix(struct rk_err *err, const char *fmt, ...)
{
    if (!err) return -1;
    char prefix[RK_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof(prefix) - 2, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    size_t plen = strlen(prefix);
    memcpy(prefix + plen, ": ", 3);
    plen += 2;
    /* Shift the old message right to make room; truncation keeps the prefix. */
    size_t old = strnlen(err->msg, sizeof(err->msg) - 1);
    if (plen + old > sizeof(err->msg) - 1) old = sizeof(err->msg) - 1 - plen;
    memmove(err->msg + plen, err->msg, old);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + old] = '\0';
    return -1;
}

void rk_err_clear(struct rk_err *err)
{
    if (err) err->msg[0] = '\0';
}
