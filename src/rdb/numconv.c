/* numconv.c: numbers as Redis turns them into text and back.
 *
 * These decide whether a value becomes an integer entry in a ziplist or
 * listpack and what a zset score looks like as text, so they follow Redis
 * 7.0's rules to the byte (string2ll, and double2ll + d2string as
 * zzlInsertAt uses them), not what would be most natural in C. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/codec.h"

/* The longest canonical int64 text is "-9223372036854775808", 20 bytes. */
#define LL_TEXT_MAX 20

bool rdb_str_to_ll(const unsigned char *s, size_t len, long long *out)
{
    if (len == 0 || len > LL_TEXT_MAX) return false;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return true;
    }
    size_t i = 0;
    bool negative = false;
    if (s[0] == '-') {
        negative = true;
        i = 1;
        if (len == 1) return false;
    }
    /* No leading zeros, so that the text round-trips through the integer. */
    if (s[i] < '1' || s[i] > '9') return false;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10) return false;
        v = v * 10 + digit;
    }
    if (negative) {
        if (v > (uint64_t)INT64_MAX + 1) return false;
        *out = (long long)(0 - v);
    } else {
        if (v > (uint64_t)INT64_MAX) return false;
        *out = (long long)v;
    }
    return true;
}

size_t rdb_ll_to_str(long long v, char *out)
{
    char tmp[LL_TEXT_MAX];
    size_t n = 0;
    /* Work in unsigned so LLONG_MIN needs no special case. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0) out[len++] = '-';
    while (n) out[len++] = tmp[--n];
    out[len] = '\0';
    return len;
}

/* What Redis 7.0 stores for a zset score in a listpack (zzlInsertAt): an
 * integer when double2ll() says the value is one, else d2string()'s text.
 *
 * double2ll accepts integral values in [-2^62, 2^62], -0.0 included (it
 * becomes 0: -0.0 == 0). Outside that range d2string's integer shortcut
 * (|d| < 2^52) cannot apply, so what is left is "%.17g" or inf/nan. The
 * caller adds the text with rdb_listpack_add(), which turns integer text into
 * the same integer entry lpAppendInteger() makes. */
size_t rdb_double_to_str(double d, char *out)
{
    if (isnan(d)) {
        memcpy(out, "nan", 4);
        return 3;
    }
    if (isinf(d)) {
        if (d < 0) {
            memcpy(out, "-inf", 5);
            return 4;
        }
        memcpy(out, "inf", 4);
        return 3;
    }
    const double limit = 4611686018427387904.0; /* (double)(LLONG_MAX / 2) == 2^62 */
    if (d >= -limit && d <= limit && d == (double)(long long)d)
        return rdb_ll_to_str((long long)d, out);
    int n = snprintf(out, 32, "%.17g", d);
    return n > 0 ? (size_t)n : 0;
}

/* The longest score text we accept. Redis writes at most 24 bytes ("%.17g"),
 * and a type-3 score has a one-byte length, so this is generous. */
#define SCORE_TEXT_MAX 255

bool rdb_str_to_double(const unsigned char *s, size_t len, double *out)
{
    char buf[SCORE_TEXT_MAX + 1];
    if (len == 0 || len > SCORE_TEXT_MAX) return false;
    /* strtod would skip leading space; a stored score never has any. */
    if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')) return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    /* ERANGE is not an error here: Redis prints subnormal scores with %.17g
     * and reads them back with sscanf, which strtod flags as underflow. */
    double v = strtod(buf, &end);
    if (end != buf + len || isnan(v)) return false;
    *out = v;
    return true;
}
