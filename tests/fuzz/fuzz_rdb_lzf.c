/* fuzz_rdb_lzf: both LZF decoders against each other and against a small,
 * obviously correct reference decoder written here.
 *
 * Input layout:
 *   byte 0     mode: bit 0 set = take the output length from bytes 1..3
 *              (mostly wrong, exercising the length checks); clear = use the
 *              length the reference decoder finds, so valid data gets deep
 *   bytes 1..3 output length (LE, used when bit 0 is set)
 *   bytes 4..7 seed for the stream's split points
 *   rest       compressed data (also compressed and decompressed back)
 *
 * Checked: no memory error; the one-shot and the streaming decoder succeed
 * exactly when the reference does and then produce its bytes, and the
 * check-only walk rdb_lzf_check() agrees; the stream hands out non-empty
 * pieces of at most RDB_LZF_PIECE bytes; an error always comes with a
 * message; compress + decompress is the identity.
 *
 * The unit tests link this file too and replay tests/data/fuzz-regressions/lzf/
 * through LLVMFuzzerTestOneInput. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_OUT_MAX (1u << 20)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_rdb_lzf: check failed: %s (line %d)\n", #cond, __LINE__);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The format taken literally, one byte at a time. Returns the output length,
 * or -1 if the data is invalid or would produce more than cap bytes. */
static long reference_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap)
{
    size_t ip = 0, op = 0;
    while (ip < in_len) {
        unsigned ctrl = in[ip++];
        if (ctrl < 32) {
            size_t n = ctrl + 1;
            if (in_len - ip < n || cap - op < n) return -1;
            for (size_t i = 0; i < n; i++) out[op++] = in[ip++];
        } else {
            size_t len = ctrl >> 5;
            if (len == 7) {
                if (ip >= in_len) return -1;
                len += in[ip++];
            }
            len += 2;
            if (ip >= in_len) return -1;
            size_t dist = ((size_t)(ctrl & 31) << 8) + in[ip++] + 1;
            if (dist > op || cap - op < len) return -1;
            for (size_t i = 0; i < len; i++, op++) out[op] = out[op - dist];
        }
    }
    return (long)op;
}

struct collect {
    uint8_t *buf;
    size_t len, cap;
};

static int collect_emit(void *ctx, const unsigned char *data, size_t len)
{
    struct collect *c = ctx;
    CHECK(len > 0 && len <= RDB_LZF_PIECE);
    CHECK(c->len + len <= c->cap);
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    return 0;
}

static uint32_t next_rand(uint32_t *state)
{
    uint32_t x = *state ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static void check_stream(const uint8_t *in, size_t in_len, size_t out_len, uint32_t seed,
                         int want_ok, const uint8_t *want)
{
    struct rdb_lzf_stream s;
    struct rk_err err = {{0}};
    struct collect c = {.buf = malloc(out_len ? out_len : 1), .len = 0, .cap = out_len};
    rdb_lzf_stream_init(&s, out_len);
    int rc = 0;
    size_t at = 0;
    while (at < in_len && rc == 0) {
        size_t n;
        switch (next_rand(&seed) % 4) {
        case 0: n = 1; break;
        case 1: n = 1 + next_rand(&seed) % 4; break;
        case 2: n = 1 + next_rand(&seed) % 300; break;
        default: n = in_len - at; break;
        }
        if (n > in_len - at) n = in_len - at;
        rc = rdb_lzf_stream_feed(&s, in + at, n, collect_emit, &c, &err);
        at += n;
    }
    if (rc == 0) rc = rdb_lzf_stream_finish(&s, collect_emit, &c, &err);
    CHECK((rc == 0) == want_ok);
    if (rc == 0) {
        CHECK(c.len == out_len);
        CHECK(out_len == 0 || memcmp(c.buf, want, out_len) == 0);
    } else {
        CHECK(err.msg[0] != '\0');
    }
    rdb_lzf_stream_free(&s);
    free(c.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8) return 0;
    const uint8_t *in = data + 8;
    size_t in_len = size - 8;
    uint32_t seed = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 |
                    (uint32_t)data[7] << 24;

    uint8_t *ref = malloc(FUZZ_OUT_MAX);
    long ref_len = reference_decode(in, in_len, ref, FUZZ_OUT_MAX);
    size_t out_len;
    if (data[0] & 1)
        out_len = (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16;
    else if (ref_len >= 0)
        out_len = (size_t)ref_len;
    else
        out_len = in_len * 4;
    int want_ok = ref_len >= 0 && (size_t)ref_len == out_len;

    uint8_t *out = malloc(out_len ? out_len : 1);
    struct rk_err err = {{0}};
    int rc = rdb_lzf_decompress(in, in_len, out, out_len, &err);
    CHECK((rc == 0) == want_ok);
    if (rc == 0)
        CHECK(out_len == 0 || memcmp(out, ref, out_len) == 0);
    else
        CHECK(err.msg[0] != '\0');

    check_stream(in, in_len, out_len, seed, want_ok, ref);

    /* The check-only walk (lzf_check.c) must agree without producing bytes. */
    memset(&err, 0, sizeof(err));
    rc = rdb_lzf_check(in, in_len, out_len, &err);
    CHECK((rc == 0) == want_ok);
    if (rc != 0) CHECK(err.msg[0] != '\0');

    /* Round trip. The budget covers the worst case: a literal byte then a
     * 3-byte match, 5 bytes out for 4 in, plus one control byte. */
    size_t cap = in_len + in_len / 4 + 2;
    uint8_t *packed = malloc(cap);
    size_t packed_len = rdb_lzf_compress(in, in_len, packed, cap);
    CHECK(in_len == 0 || packed_len > 0);
    if (packed_len > 0) {
        uint8_t *back = malloc(in_len);
        CHECK(rdb_lzf_decompress(packed, packed_len, back, in_len, &err) == 0);
        CHECK(memcmp(back, in, in_len) == 0);
        check_stream(packed, packed_len, in_len, seed, 1, in);
        /* One byte less room must make it give up, not overflow. */
        CHECK(rdb_lzf_compress(in, in_len, packed, packed_len - 1) == 0);
        free(back);
    }
    free(packed);
    free(out);
    free(ref);
    return 0;
}
