/* Checking an LZF stream without decompressing it.
 *
 * When nobody wants a string's contents (verifying a file, skipping a module
 * string), it is enough to prove that the compressed bytes decode: every token
 * is complete, every back-reference reaches inside what was produced so far,
 * and the output is exactly as long as the string says. That walk touches only
 * the control bytes, which is several times faster than producing the output. */
#include "rdb/codec.h"

int rdb_lzf_check(const void *in, size_t in_len, uint64_t out_len, struct rk_err *err)
{
    const unsigned char *start = in, *p = start, *end = start + in_len;
    uint64_t out = 0;
    while (p < end) {
        size_t at = (size_t)(p - start);
        unsigned c = *p++;
        if (c < 32) {
            size_t n = c + 1;
            if ((size_t)(end - p) < n)
                return rk_err_set(err, "literal run at compressed byte %zu runs past the end", at);
            p += n;
            out += n;
        } else {
            size_t len = c >> 5;
            if (len == 7) {
                if (p == end) goto truncated;
                len += *p++;
            }
            if (p == end) goto truncated;
            uint64_t dist = ((uint64_t)(c & 31) << 8) + *p++ + 1;
            if (dist > out)
                return rk_err_set(err, "back-reference at compressed byte %zu reaches %llu bytes "
                                       "before the start of the output", at,
                                  (unsigned long long)(dist - out));
            out += len + 2;
        }
        if (out > out_len)
            return rk_err_set(err, "output passes the %llu bytes the string claims at compressed "
                                   "byte %zu", (unsigned long long)out_len, at);
        continue;
    truncated:
        return rk_err_set(err, "back-reference at compressed byte %zu is cut off", at);
    }
    if (out != out_len)
        return rk_err_set(err, "decompresses to %llu bytes, the string claims %llu",
                          (unsigned long long)out, (unsigned long long)out_len);
    return 0;
}
