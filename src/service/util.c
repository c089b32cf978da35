/* Small helpers of the service: failure values, random identifiers. */
#include "service/service.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rk_fail_set(struct rk_fail *f, int http, const char *type, const char *fmt, ...)
{
    if (!f) return -1;
    f->http = http;
    snprintf(f->type, sizeof(f->type), "%s", type);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->description, sizeof(f->description), fmt, ap);
    va_end(ap);
    return -1;
}

void rk_http_status_text(int http, char *out, size_t outlen)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {200, "OK"},
        {202, "ACCEPTED"},
        {400, "BAD_REQUEST"},
        {401, "UNAUTHORIZED"},
        {403, "FORBIDDEN"},
        {404, "NOT_FOUND"},
        {405, "METHOD_NOT_ALLOWED"},
        {409, "CONFLICT"},
        {411, "LENGTH_REQUIRED"},
        {413, "PAYLOAD_TOO_LARGE"},
        {415, "UNSUPPORTED_MEDIA_TYPE"},
        {422, "UNPROCESSABLE_ENTITY"},
        {429, "TOO_MANY_REQUESTS"},
        {500, "INTERNAL_SERVER_ERROR"},
        {501, "NOT_IMPLEMENTED"},
        {503, "SERVICE_UNAVAILABLE"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].code == http) {
            snprintf(out, outlen, "%d %s", http, names[i].name);
            return;
        }
    }
    snprintf(out, outlen, "%d %s", http, http >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST");
}

static void random_bytes(unsigned char *buf, size_t n)
{
    if (RAND_bytes(buf, (int)n) != 1) rk_panic("OpenSSL RAND_bytes failed: no randomness");
}

void rk_uuid4(char out[RK_TASK_ID_LEN + 1])
{
    unsigned char b[16];
    random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, RK_TASK_ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

void rk_random_token(char *out, size_t n)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t i = 0;
    while (i < n) {
        unsigned char b[64];
        random_bytes(b, sizeof(b));
        /* 248 = 4 * 62: reject the tail so every character is equally likely. */
        for (size_t j = 0; j < sizeof(b) && i < n; j++)
            if (b[j] < 248) out[i++] = alphabet[b[j] % 62];
    }
    out[n] = '\0';
}
