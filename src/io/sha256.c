/* SHA-256 taps (OpenSSL's EVP, which uses the CPU's SHA extensions). */
#include "io/io_int.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void io_hex(const unsigned char *bin, size_t len, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[bin[i] >> 4];
        hex[2 * i + 1] = digits[bin[i] & 15];
    }
    hex[2 * len] = '\0';
}

void io_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;
    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL)) rk_panic("SHA-256 failed");
}

static EVP_MD_CTX *sha256_begin(void)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) rk_panic("SHA-256 init failed");
    return ctx;
}

static void sha256_end(EVP_MD_CTX *ctx, struct io_digest *d)
{
    unsigned int n = 32;
    if (!EVP_DigestFinal_ex(ctx, d->sha256, &n)) rk_panic("SHA-256 final failed");
    io_hex(d->sha256, 32, d->hex);
    d->done = true;
}

struct sha_sink {
    struct io_sink base;
    EVP_MD_CTX *ctx;
    struct io_digest *digest;
};

static int sha_sink_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err)
{
    struct sha_sink *h = (struct sha_sink *)s;
    EVP_DigestUpdate(h->ctx, data, len);
    return s->next ? io_sink_write(s->next, data, len, err) : 0;
}

static int sha_sink_close(struct io_sink *s, struct rk_err *err)
{
    struct sha_sink *h = (struct sha_sink *)s;
    /* The digest describes what was committed, so it is final only then. */
    if (io_filter_close_next(s, err) < 0) return -1;
    sha256_end(h->ctx, h->digest);
    return 0;
}

static void sha_sink_free(struct io_sink *s)
{
    struct sha_sink *h = (struct sha_sink *)s;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

static const struct io_sink_ops sha_sink_ops = {
    .name = "sha256",
    .write = sha_sink_write,
    .close = sha_sink_close,
    .abort = io_filter_abort_next,
    .free = sha_sink_free,
};

struct io_sink *io_sha256_sink_new(struct io_sink *next, struct io_digest *digest)
{
    struct sha_sink *h = xcalloc(1, sizeof(*h));
    io_sink_init(&h->base, &sha_sink_ops, next);
    h->ctx = sha256_begin();
    h->digest = digest;
    memset(digest, 0, sizeof(*digest));
    return &h->base;
}

struct sha_source {
    struct io_source base;
    EVP_MD_CTX *ctx;
    struct io_digest *digest;
};

static ssize_t sha_source_read(struct io_source *s, void *buf, size_t cap, struct rk_err *err)
{
    struct sha_source *h = (struct sha_source *)s;
    ssize_t n = io_source_read(s->upstream, buf, cap, err);
    if (n > 0) EVP_DigestUpdate(h->ctx, buf, (size_t)n);
    if (n == 0 && !h->digest->done) sha256_end(h->ctx, h->digest);
    return n;
}

static void sha_source_free(struct io_source *s)
{
    struct sha_source *h = (struct sha_source *)s;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

static const struct io_source_ops sha_source_ops = {"sha256", sha_source_read, sha_source_free};

struct io_source *io_sha256_source_new(struct io_source *upstream, struct io_digest *digest)
{
    struct sha_source *h = xcalloc(1, sizeof(*h));
    io_source_init(&h->base, &sha_source_ops, upstream);
    h->ctx = sha256_begin();
    h->digest = digest;
    memset(digest, 0, sizeof(*digest));
    return &h->base;
}
