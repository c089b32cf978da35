/* Percent-encoding and base64, as the URI forms and the signers need them. */
#include "store/store_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void pct_encode(struct rk_buf *out, const char *s, size_t len, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
            (keep && c && strchr(keep, c))) {
            rk_buf_append_byte(out, c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rk_buf_append(out, e, 3);
        }
    }
}

char *pct_encode_str(const char *s, const char *keep)
{
    struct rk_buf b = {0};
    pct_encode(&b, s, strlen(s), keep);
    rk_buf_append_byte(&b, '\0');
    return (char *)b.data;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *pct_decode(const char *s, size_t len, size_t *bad_at)
{
    char *out = xmalloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int hi = i + 2 < len ? hexval((unsigned char)s[i + 1]) : -1;
        int lo = i + 2 < len ? hexval((unsigned char)s[i + 2]) : -1;
        /* %00 would cut the C string short: a different name than written. */
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            if (bad_at) *bad_at = i;
            free(out);
            return NULL;
        }
        out[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[o] = '\0';
    return out;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode_with(const unsigned char *in, size_t len, const char *alphabet, bool pad)
{
    char *out = xmalloc((len + 2) / 3 * 4 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len) v |= in[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        if (i + 1 < len)
            out[o++] = alphabet[v >> 6 & 63];
        else if (pad)
            out[o++] = '=';
        if (i + 2 < len)
            out[o++] = alphabet[v & 63];
        else if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

char *base64_encode(const unsigned char *in, size_t len)
{
    return b64_encode_with(in, len, b64, true);
}

char *base64url_encode(const unsigned char *in, size_t len)
{
    return b64_encode_with(
        in, len, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", false);
}

/* Strict standard base64: length a multiple of 4, padding only at the end. */
int base64_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen)
{
    if (len % 4) return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = 0;
        int pads = 0;
        for (int k = 0; k < 4; k++) {
            char c = in[i + (size_t)k];
            const char *pos = c ? strchr(b64, c) : NULL;
            if (c == '=' && i + 4 == len && k >= 2) {
                pads++;
                v <<= 6;
                continue;
            }
            if (!pos || pads) return -1;
            v = v << 6 | (uint32_t)(pos - b64);
        }
        unsigned char bytes[3] = {(unsigned char)(v >> 16), (unsigned char)(v >> 8),
                                  (unsigned char)v};
        for (int k = 0; k < 3 - pads; k++) {
            if (o >= cap) return -1;
            out[o++] = bytes[k];
        }
    }
    *outlen = o;
    return 0;
}
