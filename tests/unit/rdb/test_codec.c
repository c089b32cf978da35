/* Unit tests for src/rdb/codec.h: CRC64, LZF, number text, blob builders.
 *
 * Byte-exactness against real Redis is checked elsewhere (test_codec_corpus
 * against RDB files Redis wrote, tests/integration/rdb_codec_redis.sh against
 * a live redis-server); here the expected values come from the format rules,
 * from a bitwise reference CRC, or from the other half of a round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/codec.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rng(void)
{
    /* splitmix64: deterministic, so a failure reproduces */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void fill_random(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)rng();
}

/* Data of several shapes, so LZF sees literals, short and long matches,
 * overlapping runs and far references. */
enum shape { SHAPE_RANDOM, SHAPE_ZEROS, SHAPE_RECORDS, SHAPE_PERIODIC, SHAPE_MIXED, SHAPE_COUNT };

static void fill_shape(unsigned char *p, size_t n, enum shape shape)
{
    switch (shape) {
    case SHAPE_RANDOM: fill_random(p, n); break;
    case SHAPE_ZEROS: memset(p, 0, n); break;
    case SHAPE_RECORDS: {
        size_t i = 0;
        unsigned k = 0;
        while (i < n) {
            char rec[64];
            int len = snprintf(rec, sizeof(rec), "v%u-xxxxxxxxxxxxxxxx:%llu;", k++,
                               (unsigned long long)(rng() % 100000));
            for (int j = 0; j < len && i < n; j++) p[i++] = (unsigned char)rec[j];
        }
        break;
    }
    case SHAPE_PERIODIC: {
        size_t period = 1 + rng() % 20;
        for (size_t i = 0; i < n; i++) p[i] = (unsigned char)('a' + i % period);
        break;
    }
    default:
        for (size_t i = 0; i < n;) {
            size_t run = 1 + rng() % 300;
            if (run > n - i) run = n - i;
            if (rng() % 2 && i > 0) {
                size_t back = 1 + rng() % (i < 9000 ? i : 9000);
                for (size_t j = 0; j < run; j++, i++) p[i] = p[i - back];
            } else {
                fill_random(p + i, run);
                i += run;
            }
        }
        break;
    }
}

struct collect {
    struct rk_buf out;
    size_t pieces;
    int stop_after; /* emit fails on this call number, 0 = never */
};

static int collect_emit(void *ctx, const unsigned char *data, size_t len)
{
    struct collect *c = ctx;
    assert_true(len > 0);
    assert_true(len <= RDB_LZF_PIECE);
    rk_buf_append(&c->out, data, len);
    c->pieces++;
    return c->stop_after && (int)c->pieces >= c->stop_after ? 1 : 0;
}

/* Feeds in with split points from split(i) (0 = rest of input). Returns the
 * result of the feeds and finish; out collects the output. */
static int stream_decode(const unsigned char *in, size_t in_len, uint64_t out_total,
                         size_t (*split)(size_t), struct collect *c, struct rk_err *err)
{
    struct rdb_lzf_stream s;
    rdb_lzf_stream_init(&s, out_total);
    int rc = 0;
    size_t at = 0;
    for (size_t i = 0; at < in_len && rc == 0; i++) {
        size_t n = split(i);
        if (n == 0 || n > in_len - at) n = in_len - at;
        rc = rdb_lzf_stream_feed(&s, in + at, n, collect_emit, c, err);
        at += n;
    }
    if (rc == 0) rc = rdb_lzf_stream_finish(&s, collect_emit, c, err);
    if (rc == 0) {
        assert_int_equal(s.out_done, out_total);
        assert_int_equal(s.in_done, in_len);
    }
    rdb_lzf_stream_free(&s);
    return rc;
}

static size_t split_one(size_t i)
{
    (void)i;
    return 1;
}

static size_t split_random(size_t i)
{
    (void)i;
    switch (rng() % 4) {
    case 0: return 1 + rng() % 3;
    case 1: return 1 + rng() % 64;
    case 2: return 1 + rng() % 5000;
    default: return 1 + rng() % 200000;
    }
}

static size_t split_none(size_t i)
{
    (void)i;
    return 0;
}

/* ---- CRC64 --------------------------------------------------------------- */

/* The definition, one bit at a time: reflected, poly 0xad93d23594c935a9. */
static uint64_t crc64_bitwise(uint64_t crc, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ ((crc & 1) ? 0x95ac9329ac4bc9b5ULL : 0);
    }
    return crc;
}

static void test_crc64_check_value(void **state)
{
    const char *check = "123456789";
    assert_true(crc64_bitwise(0, (const unsigned char *)check, 9) == 0xe9c6d914c4b8d9caULL);
    assert_true(rdb_crc64(0, check, 9) == 0xe9c6d914c4b8d9caULL);
    assert_true(rdb_crc64_portable(0, check, 9) == 0xe9c6d914c4b8d9caULL);
    assert_true(rdb_crc64(0, "", 0) == 0);
    assert_true(rdb_crc64(12345, "", 0) == 12345);
    assert_true(rdb_crc64_portable(12345, "", 0) == 12345);
    /* chaining */
    assert_true(rdb_crc64(rdb_crc64(0, "1234", 4), "56789", 5) == 0xe9c6d914c4b8d9caULL);
}

static void test_crc64_every_length(void **state)
{
    unsigned char buf[300 + 8];
    for (size_t len = 0; len <= 300; len++) {
        for (size_t align = 0; align < 8; align += 3) {
            fill_random(buf + align, len);
            uint64_t seed = len % 2 ? rng() : 0;
            uint64_t want = crc64_bitwise(seed, buf + align, len);
            assert_true(rdb_crc64(seed, buf + align, len) == want);
            assert_true(rdb_crc64_portable(seed, buf + align, len) == want);
            /* chained at a random point */
            size_t cut = len ? rng() % (len + 1) : 0;
            assert_true(
                rdb_crc64(rdb_crc64(seed, buf + align, cut), buf + align + cut, len - cut) == want);
            assert_true(rdb_crc64_portable(rdb_crc64_portable(seed, buf + align, cut),
                                           buf + align + cut, len - cut) == want);
        }
    }
}

static void test_crc64_large_chained(void **state)
{
    size_t n = 3 * 1024 * 1024 + 77;
    unsigned char *buf = malloc(n);
    fill_random(buf, n);
    uint64_t want = crc64_bitwise(0, buf, n);
    assert_true(rdb_crc64(0, buf, n) == want);
    assert_true(rdb_crc64_portable(0, buf, n) == want);
    uint64_t a = 0, b = 0;
    for (size_t at = 0; at < n;) {
        size_t k = 1 + rng() % 70000;
        if (k > n - at) k = n - at;
        a = rdb_crc64(a, buf + at, k);
        b = rdb_crc64_portable(b, buf + at, k);
        at += k;
    }
    assert_true(a == want);
    assert_true(b == want);
    free(buf);
}

/* ---- LZF ----------------------------------------------------------------- */

static size_t lzf_budget(size_t n)
{
    return n + n / 4 + 64;
}

static void roundtrip(const unsigned char *data, size_t n)
{
    size_t cap = lzf_budget(n);
    unsigned char *packed = malloc(cap);
    unsigned char *back = malloc(n ? n : 1);
    struct rk_err err = {{0}};

    size_t plen = rdb_lzf_compress(data, n, packed, cap);
    if (n == 0) {
        assert_int_equal(plen, 0);
    } else {
        assert_true(plen > 0);
        /* never worse than literal runs, whatever the data */
        assert_true(plen <= n + (n + 31) / 32);
        /* a budget one byte short makes it give up instead of overflowing */
        assert_int_equal(rdb_lzf_compress(data, n, packed, plen - 1), 0);
        assert_int_equal(rdb_lzf_compress(data, n, packed, plen), plen);
    }

    assert_int_equal(rdb_lzf_decompress(packed, plen, back, n, &err), 0);
    assert_memory_equal(back, data, n);

    struct collect c = {0};
    assert_int_equal(stream_decode(packed, plen, n, split_random, &c, &err), 0);
    assert_int_equal(c.out.len, n);
    if (n) assert_memory_equal(c.out.data, data, n);
    rk_buf_free(&c.out);

    if (plen <= 200000) {
        struct collect one = {0};
        assert_int_equal(stream_decode(packed, plen, n, split_one, &one, &err), 0);
        assert_int_equal(one.out.len, n);
        if (n) assert_memory_equal(one.out.data, data, n);
        rk_buf_free(&one.out);
    }
    free(packed);
    free(back);
}

static void test_lzf_roundtrip_many_sizes(void **state)
{
    static const size_t sizes[] = {0,     1,     2,     3,     4,      5,      6,      7,     8,
                                   9,     15,    16,    17,    31,     32,     33,     34,    63,
                                   64,    65,    100,   255,   256,    257,    263,    264,   265,
                                   1000,  4095,  4096,  8191,  8192,   8193,   16384,  65535, 65536,
                                   65537, 73727, 73728, 73729, 100000, 262144, 1000003};
    unsigned char *buf = malloc(1000003);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int shape = 0; shape < SHAPE_COUNT; shape++) {
            fill_shape(buf, sizes[i], (enum shape)shape);
            roundtrip(buf, sizes[i]);
        }
    }
    for (int k = 0; k < 300; k++) {
        size_t n = rng() % 3000;
        fill_shape(buf, n, (enum shape)(rng() % SHAPE_COUNT));
        roundtrip(buf, n);
    }
    free(buf);
}

static void test_lzf_compresses_redis_like_data(void **state)
{
    size_t n = 1 << 20;
    unsigned char *buf = malloc(n), *packed = malloc(lzf_budget(n));
    fill_shape(buf, n, SHAPE_RECORDS);
    size_t plen = rdb_lzf_compress(buf, n, packed, lzf_budget(n));
    /* records share most of their bytes; a working matcher halves them */
    assert_true(plen > 0 && plen < n / 2);
    fill_shape(buf, n, SHAPE_ZEROS);
    plen = rdb_lzf_compress(buf, n, packed, lzf_budget(n));
    /* 264 bytes per 3-byte token at best */
    assert_true(plen > 0 && plen < n / 80);
    free(buf);
    free(packed);
}

static void test_lzf_stream_pieces_and_history(void **state)
{
    /* One feed of the whole input yields several pieces, and references
     * cross the window slides. */
    size_t n = 5 * RDB_LZF_PIECE + 12345;
    unsigned char *buf = malloc(n), *packed = malloc(lzf_budget(n));
    fill_shape(buf, n, SHAPE_MIXED);
    size_t plen = rdb_lzf_compress(buf, n, packed, lzf_budget(n));
    struct rk_err err = {{0}};
    struct collect c = {0};
    assert_int_equal(stream_decode(packed, plen, n, split_none, &c, &err), 0);
    assert_true(c.pieces >= n / RDB_LZF_PIECE);
    assert_int_equal(c.out.len, n);
    assert_memory_equal(c.out.data, buf, n);
    rk_buf_free(&c.out);

    /* A hand-made stream whose references reach exactly 8192 bytes back. */
    struct rk_buf hand = {0};
    for (size_t i = 0; i < RDB_LZF_HISTORY; i += 32) {
        unsigned char lit[33];
        lit[0] = 31;
        fill_random(lit + 1, 32);
        rk_buf_append(&hand, lit, 33);
    }
    size_t total = RDB_LZF_HISTORY;
    for (int k = 0; k < 2000; k++) {
        unsigned char ref[3] = {(7 << 5) | 31, 255, 255}; /* 264 bytes from 8192 back */
        rk_buf_append(&hand, ref, 3);
        total += 264;
    }
    unsigned char *one = malloc(total);
    assert_int_equal(rdb_lzf_decompress(hand.data, hand.len, one, total, &err), 0);
    for (size_t i = RDB_LZF_HISTORY; i < total; i++) assert_int_equal(one[i], one[i - 8192]);
    struct collect c2 = {0};
    assert_int_equal(stream_decode(hand.data, hand.len, total, split_random, &c2, &err), 0);
    assert_memory_equal(c2.out.data, one, total);
    rk_buf_free(&c2.out);
    rk_buf_free(&hand);
    free(one);
    free(buf);
    free(packed);
}

static void test_lzf_stream_emit_stop(void **state)
{
    size_t n = 4 * RDB_LZF_PIECE;
    unsigned char *buf = malloc(n), *packed = malloc(lzf_budget(n));
    fill_shape(buf, n, SHAPE_RECORDS);
    size_t plen = rdb_lzf_compress(buf, n, packed, lzf_budget(n));
    struct rdb_lzf_stream s;
    rdb_lzf_stream_init(&s, n);
    struct collect c = {.stop_after = 2};
    struct rk_err err;
    strcpy(err.msg, "stale");
    assert_int_equal(rdb_lzf_stream_feed(&s, packed, plen, collect_emit, &c, &err), -1);
    assert_string_equal(err.msg, "");
    assert_int_equal(c.pieces, 2);
    rdb_lzf_stream_free(&s);
    rk_buf_free(&c.out);
    free(buf);
    free(packed);
}

static void test_lzf_backref_before_start(void **state)
{
    /* 16 literal bytes (compressed bytes 0..16), then at byte 17 a reference
     * 316 bytes back: 300 before the first output byte. */
    unsigned char in[20];
    in[0] = 15;
    memset(in + 1, 'a', 16);
    size_t off = 316 - 1;
    in[17] = (unsigned char)(1 << 5 | off >> 8);
    in[18] = (unsigned char)(off & 0xff);
    unsigned char out[64];
    struct rk_err err = {{0}};
    const char *want =
        "LZF back-reference at compressed byte 17 reaches 300 bytes before the start of the output";
    assert_int_equal(rdb_lzf_decompress(in, 19, out, 19, &err), -1);
    assert_string_equal(err.msg, want);
    for (int pass = 0; pass < 2; pass++) {
        struct collect c = {0};
        memset(&err, 0, sizeof(err));
        assert_int_equal(stream_decode(in, 19, 19, pass ? split_one : split_none, &c, &err), -1);
        assert_string_equal(err.msg, want);
        rk_buf_free(&c.out);
    }
}

static void expect_both_fail(const unsigned char *in, size_t in_len, size_t out_len,
                             const char *needle)
{
    unsigned char *out = malloc(out_len + 1);
    struct rk_err err = {{0}};
    assert_int_equal(rdb_lzf_decompress(in, in_len, out, out_len, &err), -1);
    if (!strstr(err.msg, needle)) fail_msg("one-shot: '%s' not in '%s'", needle, err.msg);
    for (int pass = 0; pass < 3; pass++) {
        struct collect c = {0};
        memset(&err, 0, sizeof(err));
        size_t (*split)(size_t) = pass == 0 ? split_none : pass == 1 ? split_one : split_random;
        assert_int_equal(stream_decode(in, in_len, out_len, split, &c, &err), -1);
        if (!strstr(err.msg, needle)) fail_msg("stream: '%s' not in '%s'", needle, err.msg);
        rk_buf_free(&c.out);
    }
    free(out);
}

static void test_lzf_corrupt_inputs(void **state)
{
    /* literal run cut short */
    expect_both_fail((const unsigned char *)"\x05"
                                            "abc",
                     4, 6, "ends inside");
    /* back-reference token cut short: 2- and 3-byte forms */
    expect_both_fail((const unsigned char *)"\x00"
                                            "a"
                                            "\x20",
                     3, 4, "ends inside");
    expect_both_fail((const unsigned char *)"\x00"
                                            "a"
                                            "\xe0\x05",
                     4, 20, "ends inside");
    /* output longer than the string claims */
    expect_both_fail((const unsigned char *)"\x03"
                                            "abcd",
                     5, 3, "decompresses past the 3 bytes");
    expect_both_fail((const unsigned char *)"\x00"
                                            "a"
                                            "\x20\x00",
                     4, 3, "past the 3 bytes");
    expect_both_fail((const unsigned char *)"\x00"
                                            "a"
                                            "\x20\x00"
                                            "\x00"
                                            "b",
                     6, 4, "past the 4");
    /* output shorter than the string claims */
    expect_both_fail((const unsigned char *)"\x03"
                                            "abcd",
                     5, 5, "claims 5");
    /* no data at all for a non-empty string */
    expect_both_fail((const unsigned char *)"", 0, 1, "claims 1");
    /* reference to distance 2 with one byte of output */
    expect_both_fail((const unsigned char *)"\x00"
                                            "a"
                                            "\x20\x01",
                     4, 4, "reaches 1 bytes before");

    /* Every truncation and every single-byte change of a valid stream gives
     * an error or (for changed literal bytes) other output, never a crash. */
    size_t n = 3000;
    unsigned char *data = malloc(n), *packed = malloc(lzf_budget(n)), *out = malloc(n);
    fill_shape(data, n, SHAPE_RECORDS);
    size_t plen = rdb_lzf_compress(data, n, packed, lzf_budget(n));
    struct rk_err err = {{0}};
    for (size_t cut = 0; cut < plen; cut++) {
        assert_int_equal(rdb_lzf_decompress(packed, cut, out, n, &err), -1);
        assert_true(err.msg[0] != '\0');
        struct collect c = {0};
        assert_int_equal(stream_decode(packed, cut, n, split_random, &c, &err), -1);
        assert_true(c.out.len <= n);
        rk_buf_free(&c.out);
    }
    for (size_t i = 0; i < plen; i++) {
        unsigned char saved = packed[i];
        for (int k = 0; k < 4; k++) {
            packed[i] = (unsigned char)rng();
            int one = rdb_lzf_decompress(packed, plen, out, n, &err);
            struct collect c = {0};
            int st = stream_decode(packed, plen, n, split_random, &c, &err);
            assert_int_equal(one, st);
            if (st == 0) assert_memory_equal(c.out.data, out, n);
            rk_buf_free(&c.out);
        }
        packed[i] = saved;
    }
    /* trailing garbage after a complete stream */
    packed[plen] = 0;
    packed[plen + 1] = 'x';
    expect_both_fail(packed, plen + 2, n, "decompresses past");
    free(data);
    free(packed);
    free(out);
}

static void test_lzf_random_garbage(void **state)
{
    unsigned char in[512], out[4096];
    struct rk_err err;
    for (int k = 0; k < 20000; k++) {
        size_t in_len = rng() % sizeof(in);
        size_t out_len = rng() % sizeof(out);
        fill_random(in, in_len);
        if (k % 2)
            for (size_t i = 0; i < in_len; i++) in[i] &= 0x3f; /* short references */
        int one = rdb_lzf_decompress(in, in_len, out, out_len, &err);
        struct collect c = {0};
        int st = stream_decode(in, in_len, out_len, split_random, &c, &err);
        assert_int_equal(one, st);
        if (st == 0) assert_memory_equal(c.out.data, out, out_len);
        rk_buf_free(&c.out);
    }
}

static void test_lzf_empty(void **state)
{
    unsigned char out[1];
    struct rk_err err = {{0}};
    assert_int_equal(rdb_lzf_compress("", 0, out, sizeof(out)), 0);
    assert_int_equal(rdb_lzf_decompress("", 0, out, 0, &err), 0);
    /* a token with nowhere to go */
    assert_int_equal(rdb_lzf_decompress("\x00"
                                        "a",
                                        2, out, 0, &err),
                     -1);
}

/* ---- numbers ------------------------------------------------------------- */

static bool str_to_ll(const char *s, long long *v)
{
    return rdb_str_to_ll((const unsigned char *)s, strlen(s), v);
}

static void test_str_to_ll(void **state)
{
    long long v = 0;
    assert_true(str_to_ll("0", &v) && v == 0);
    assert_true(str_to_ll("-5", &v) && v == -5);
    assert_true(str_to_ll("123", &v) && v == 123);
    assert_true(str_to_ll("9223372036854775807", &v) && v == INT64_MAX);
    assert_true(str_to_ll("-9223372036854775808", &v) && v == INT64_MIN);
    const char *bad[] = {"",
                         "-",
                         "-0",
                         "01",
                         "00",
                         "+1",
                         " 1",
                         "1 ",
                         "1a",
                         "0x1",
                         "1.0",
                         "9223372036854775808",
                         "-9223372036854775809",
                         "18446744073709551616",
                         "99999999999999999999",
                         "100000000000000000000",
                         "-100000000000000000000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (str_to_ll(bad[i], &v)) fail_msg("accepted \"%s\"", bad[i]);
    /* the length counts, not the NUL */
    assert_false(rdb_str_to_ll((const unsigned char *)"12\0", 3, &v));
    assert_true(rdb_str_to_ll((const unsigned char *)"129", 2, &v) && v == 12);
}

static void test_ll_to_str(void **state)
{
    char buf[21];
    assert_int_equal(rdb_ll_to_str(0, buf), 1);
    assert_string_equal(buf, "0");
    assert_int_equal(rdb_ll_to_str(INT64_MIN, buf), 20);
    assert_string_equal(buf, "-9223372036854775808");
    assert_int_equal(rdb_ll_to_str(INT64_MAX, buf), 19);
    assert_string_equal(buf, "9223372036854775807");
    for (int k = 0; k < 100000; k++) {
        long long v = (long long)rng() >> (rng() % 64);
        char want[32];
        snprintf(want, sizeof(want), "%lld", v);
        assert_int_equal(rdb_ll_to_str(v, buf), strlen(want));
        assert_string_equal(buf, want);
        long long back;
        assert_true(str_to_ll(buf, &back) && back == v);
    }
}

static const char *d2s(double d)
{
    static char buf[32];
    size_t n = rdb_double_to_str(d, buf);
    assert_int_equal(n, strlen(buf));
    return buf;
}

static void test_double_to_str(void **state)
{
    /* integral values in [-2^62, 2^62] become integers, -0 included */
    assert_string_equal(d2s(3.0), "3");
    assert_string_equal(d2s(-3.0), "-3");
    assert_string_equal(d2s(0.0), "0");
    assert_string_equal(d2s(-0.0), "0");
    assert_string_equal(d2s(4503599627370495.0), "4503599627370495");
    assert_string_equal(d2s(1e17), "100000000000000000");
    assert_string_equal(d2s(-1e17), "-100000000000000000");
    assert_string_equal(d2s(4611686018427387904.0), "4611686018427387904");
    assert_string_equal(d2s(-4611686018427387904.0), "-4611686018427387904");
    /* the next doubles out: 2^62 + 1024 */
    assert_string_equal(d2s(4611686018427388928.0), "4.6116860184273889e+18");
    assert_string_equal(d2s(-4611686018427388928.0), "-4.6116860184273889e+18");
    assert_string_equal(d2s(1e19), "1e+19");
    /* everything else: %.17g, inf, nan */
    assert_string_equal(d2s(INFINITY), "inf");
    assert_string_equal(d2s(-INFINITY), "-inf");
    assert_string_equal(d2s(NAN), "nan");
    assert_string_equal(d2s(1.5), "1.5");
    assert_string_equal(d2s(0.1), "0.10000000000000001");
    assert_string_equal(d2s(1e300), "1.0000000000000001e+300");
    char buf[32];
    assert_true(rdb_double_to_str(-1.7976931348623157e308, buf) < 32);
    assert_string_equal(buf, "-1.7976931348623157e+308");
    assert_true(rdb_double_to_str(-4.9406564584124654e-324, buf) < 32);
    assert_string_equal(buf, "-4.9406564584124654e-324");
    /* Every finite output parses back to the same double (zero's sign aside). */
    for (int k = 0; k < 100000; k++) {
        uint64_t bits = rng();
        double d;
        memcpy(&d, &bits, sizeof(d));
        if (k % 3 == 0) d = (double)(long long)(rng() >> (rng() % 64)) / (k % 2 ? 1 : 1024);
        size_t n = rdb_double_to_str(d, buf);
        assert_true(n > 0 && n < 32);
        double back;
        if (isnan(d)) {
            assert_false(rdb_str_to_double((unsigned char *)buf, n, &back));
            continue;
        }
        assert_true(rdb_str_to_double((unsigned char *)buf, n, &back));
        if (d == 0)
            assert_true(back == 0);
        else
            assert_memory_equal(&back, &d, sizeof(d));
    }
}

static bool str_to_double(const char *s, double *d)
{
    return rdb_str_to_double((const unsigned char *)s, strlen(s), d);
}

static void test_str_to_double(void **state)
{
    double d;
    assert_true(str_to_double("3", &d) && d == 3.0);
    assert_true(str_to_double("-0", &d) && d == 0 && signbit(d));
    assert_true(str_to_double("1.5", &d) && d == 1.5);
    assert_true(str_to_double("inf", &d) && isinf(d) && d > 0);
    assert_true(str_to_double("+inf", &d) && isinf(d) && d > 0);
    assert_true(str_to_double("-inf", &d) && isinf(d) && d < 0);
    assert_true(str_to_double("1e300", &d) && d == 1e300);
    assert_true(str_to_double("0.10000000000000001", &d) && d == 0.1);
    assert_true(str_to_double("4.9406564584124654e-324", &d) && d > 0);
    const char *bad[] = {"", " 1", "1 ", "abc", "1.5x", "nan", "-nan", "--1", "."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (str_to_double(bad[i], &d)) fail_msg("accepted \"%s\"", bad[i]);
    assert_false(rdb_str_to_double((const unsigned char *)"1\0"
                                                          "5",
                                   3, &d));
    assert_true(rdb_str_to_double((const unsigned char *)"2.50", 3, &d) && d == 2.5);
}

/* ---- builders ------------------------------------------------------------ */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void test_listpack_small(void **state)
{
    struct rdb_listpack_builder l;
    rdb_listpack_init(&l);
    rdb_listpack_finish(&l);
    const unsigned char empty[] = {7, 0, 0, 0, 0, 0, 0xff};
    assert_int_equal(l.buf.len, sizeof(empty));
    assert_memory_equal(l.buf.data, empty, sizeof(empty));

    rdb_listpack_reset(&l);
    rdb_listpack_add(&l, (const unsigned char *)"a", 1);
    rdb_listpack_add(&l, (const unsigned char *)"127", 3);
    rdb_listpack_add(&l, (const unsigned char *)"-1", 2);
    rdb_listpack_add(&l, (const unsigned char *)"01", 2);
    rdb_listpack_add_int(&l, 4096);
    rdb_listpack_add(&l, (const unsigned char *)"", 0);
    rdb_listpack_finish(&l);
    const unsigned char want[] = {25,   0,    0,    0, 6, 0, /* header */
                                  0x81, 'a',  2,             /* 6-bit string */
                                  127,  1,                   /* 7-bit uint */
                                  0xdf, 0xff, 2,             /* 13-bit -1 */
                                  0x82, '0',  '1',  3,       /* leading zero stays text */
                                  0xf1, 0x00, 0x10, 3,       /* int16 */
                                  0x80, 1,                   /* empty string */
                                  0xff};
    assert_int_equal(l.buf.len, sizeof(want));
    assert_memory_equal(l.buf.data, want, sizeof(want));
    rdb_listpack_free(&l);
}

/* Size of the entry encoding + data from its backlen, read right to left. */
static uint64_t lp_backlen_before(const unsigned char *end, size_t *nbytes)
{
    uint64_t v = 0;
    size_t i = 0;
    const unsigned char *p = end - 1;
    for (;;) {
        v |= (uint64_t)(*p & 127) << (7 * i);
        i++;
        if (!(*p & 128)) break;
        p--;
    }
    *nbytes = i;
    return v;
}

static void test_listpack_thresholds(void **state)
{
    /* integers: each boundary and its neighbour outside, with entry size */
    static const struct {
        long long v;
        size_t size;
    } ints[] = {{0, 2},         {127, 2},       {128, 3},           {-1, 3},
                {-4096, 3},     {4095, 3},      {4096, 4},          {-4097, 4},
                {32767, 4},     {-32768, 4},    {32768, 5},         {-32769, 5},
                {8388607, 5},   {-8388608, 5},  {8388608, 6},       {-8388609, 6},
                {INT32_MAX, 6}, {INT32_MIN, 6}, {2147483648LL, 10}, {INT64_MIN, 10}};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        struct rdb_listpack_builder l;
        rdb_listpack_init(&l);
        char text[24];
        size_t tl = rdb_ll_to_str(ints[i].v, text);
        rdb_listpack_add(&l, (const unsigned char *)text, tl);
        rdb_listpack_finish(&l);
        if (l.buf.len != 6 + ints[i].size + 1)
            fail_msg("%lld: entry of %zu bytes", ints[i].v, l.buf.len - 7);
        rdb_listpack_free(&l);
    }
    /* strings: encoding header size and backlen size at each threshold */
    static const struct {
        size_t len, head, back;
    } strs[] = {{63, 1, 1},   {64, 2, 1},    {125, 2, 1},   {126, 2, 2},     {4095, 2, 2},
                {4096, 5, 2}, {16377, 5, 2}, {16378, 5, 3}, {2097145, 5, 3}, {2097146, 5, 4}};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        size_t n = strs[i].len;
        unsigned char *s = malloc(n);
        memset(s, 'x', n);
        struct rdb_listpack_builder l;
        rdb_listpack_init(&l);
        rdb_listpack_add(&l, s, n);
        rdb_listpack_finish(&l);
        size_t nb;
        uint64_t back = lp_backlen_before(l.buf.data + l.buf.len - 1, &nb);
        assert_int_equal(back, strs[i].head + n);
        if (nb != strs[i].back || l.buf.len != 7 + strs[i].head + n + nb)
            fail_msg("string of %zu: backlen %zu bytes, total %zu", n, nb, l.buf.len);
        assert_int_equal(le32(l.buf.data), l.buf.len);
        rdb_listpack_free(&l);
        free(s);
    }
}

static void test_listpack_count_saturates(void **state)
{
    struct rdb_listpack_builder l;
    rdb_listpack_init(&l);
    for (int i = 0; i < 65534; i++) rdb_listpack_add_int(&l, i % 100);
    rdb_listpack_finish(&l);
    assert_int_equal(le16(l.buf.data + 4), 65534);
    rdb_listpack_reset(&l);
    for (int i = 0; i < 70000; i++) rdb_listpack_add_int(&l, 1);
    rdb_listpack_finish(&l);
    assert_int_equal(le16(l.buf.data + 4), 65535);
    assert_int_equal(l.count, 70000);
    assert_int_equal(le32(l.buf.data), l.buf.len);
    rdb_listpack_free(&l);
}

static void test_ziplist_small(void **state)
{
    struct rdb_ziplist_builder z;
    rdb_ziplist_init(&z);
    rdb_ziplist_finish(&z);
    const unsigned char empty[] = {11, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0xff};
    assert_int_equal(z.buf.len, sizeof(empty));
    assert_memory_equal(z.buf.data, empty, sizeof(empty));

    rdb_ziplist_reset(&z);
    rdb_ziplist_add(&z, (const unsigned char *)"a", 1);
    rdb_ziplist_add(&z, (const unsigned char *)"12", 2);
    rdb_ziplist_add(&z, (const unsigned char *)"13", 2);
    rdb_ziplist_add_int(&z, -1);
    rdb_ziplist_add_int(&z, 1000);
    rdb_ziplist_add_int(&z, 100000);
    rdb_ziplist_add_int(&z, 10000000);
    rdb_ziplist_add_int(&z, 10000000000LL);
    rdb_ziplist_finish(&z);
    const unsigned char want[] = {
        47,  0,    0,    0,    36,   0,    0,    0, 8, 0, /* header: tail entry at 36 */
        0,   0x01, 'a',                                   /* 10: 6-bit string */
        3,   0xfd,                                        /* 13: immediate 12 */
        2,   0xfe, 13,                                    /* 15: int8 */
        3,   0xfe, 0xff,                                  /* 18: int8 -1 */
        3,   0xc0, 0xe8, 0x03,                            /* 21: int16 */
        4,   0xf0, 0xa0, 0x86, 0x01,                      /* 25: int24 */
        5,   0xd0, 0x80, 0x96, 0x98, 0x00,                /* 30: int32 */
        6,   0xe0, 0x00, 0xe4, 0x0b, 0x54, 0x02, 0, 0, 0, /* 36: int64 */
        0xff};
    assert_int_equal(z.buf.len, sizeof(want));
    assert_memory_equal(z.buf.data, want, sizeof(want));
    rdb_ziplist_free(&z);
}

static void test_ziplist_prevlen_and_strings(void **state)
{
    static const struct {
        size_t len, head;
    } strs[] = {{63, 1}, {64, 2}, {16383, 2}, {16384, 5}};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        size_t n = strs[i].len;
        unsigned char *s = malloc(n);
        memset(s, 'y', n);
        struct rdb_ziplist_builder z;
        rdb_ziplist_init(&z);
        rdb_ziplist_add(&z, s, n);
        rdb_ziplist_add_int(&z, 7);
        rdb_ziplist_finish(&z);
        size_t first = 1 + strs[i].head + n;
        size_t second_prev = first < 254 ? 1 : 5;
        assert_int_equal(z.buf.len, 10 + first + second_prev + 1 + 1);
        assert_int_equal(le32(z.buf.data + 4), 10 + first);
        const unsigned char *e2 = z.buf.data + 10 + first;
        if (second_prev == 1) {
            assert_int_equal(e2[0], first);
        } else {
            assert_int_equal(e2[0], 0xfe);
            assert_int_equal(le32(e2 + 1), first);
        }
        if (strs[i].head == 2) { /* big-endian 14-bit length */
            assert_int_equal(z.buf.data[11], 0x40 | (n >> 8));
            assert_int_equal(z.buf.data[12], n & 0xff);
        } else if (strs[i].head == 5) {
            assert_int_equal(z.buf.data[11], 0x80);
            assert_int_equal(z.buf.data[14], (n >> 8) & 0xff);
            assert_int_equal(z.buf.data[15], n & 0xff);
        }
        rdb_ziplist_free(&z);
        free(s);
    }
    /* 253 is the largest one-byte prevlen, 254 the smallest five-byte one */
    for (size_t total = 253; total <= 254; total++) {
        size_t n = total - 3; /* prevlen 1 + header 2 */
        unsigned char *s = malloc(n);
        memset(s, 'z', n);
        struct rdb_ziplist_builder z;
        rdb_ziplist_init(&z);
        rdb_ziplist_add(&z, s, n);
        rdb_ziplist_add(&z, (const unsigned char *)"k", 1);
        rdb_ziplist_finish(&z);
        assert_int_equal(z.buf.data[10 + total], total == 253 ? 253 : 0xfe);
        rdb_ziplist_free(&z);
        free(s);
    }
}

static void test_ziplist_count_saturates(void **state)
{
    struct rdb_ziplist_builder z;
    rdb_ziplist_init(&z);
    for (int i = 0; i < 65535; i++) rdb_ziplist_add_int(&z, 3);
    rdb_ziplist_finish(&z);
    assert_int_equal(le16(z.buf.data + 8), 0xffff);
    rdb_ziplist_reset(&z);
    for (int i = 0; i < 65534; i++) rdb_ziplist_add_int(&z, 3);
    rdb_ziplist_finish(&z);
    assert_int_equal(le16(z.buf.data + 8), 65534);
    assert_int_equal(le32(z.buf.data), z.buf.len);
    assert_int_equal(le32(z.buf.data + 4), z.buf.len - 1 - 2);
    rdb_ziplist_free(&z);
}

static void test_intset(void **state)
{
    struct rdb_intset_builder s;
    rdb_intset_init(&s);
    rdb_intset_add(&s, 5);
    rdb_intset_add(&s, -3);
    rdb_intset_add(&s, 32767);
    assert_int_equal(rdb_intset_finish(&s), 0);
    const unsigned char w16[] = {2, 0, 0, 0, 3, 0, 0, 0, 0xfd, 0xff, 5, 0, 0xff, 0x7f};
    assert_int_equal(s.buf.len, sizeof(w16));
    assert_memory_equal(s.buf.data, w16, sizeof(w16));
    rdb_intset_add(&s, -32769);
    assert_int_equal(rdb_intset_finish(&s), 0);
    assert_int_equal(le32(s.buf.data), 4);
    assert_int_equal(s.buf.len, 8 + 4 * 4);
    assert_int_equal(le32(s.buf.data + 8), (uint32_t)-32769);
    rdb_intset_add(&s, INT64_MIN);
    assert_int_equal(rdb_intset_finish(&s), 0);
    assert_int_equal(le32(s.buf.data), 8);
    assert_int_equal(le32(s.buf.data + 4), 5);
    assert_int_equal(s.buf.len, 8 + 5 * 8);
    assert_int_equal(s.buf.data[8 + 7], 0x80);
    rdb_intset_add(&s, 5);
    assert_int_equal(rdb_intset_finish(&s), -1);
    rdb_intset_free(&s);

    rdb_intset_init(&s);
    rdb_intset_add(&s, 2147483647);
    rdb_intset_add(&s, -2147483648LL);
    assert_int_equal(rdb_intset_finish(&s), 0);
    assert_int_equal(le32(s.buf.data), 4);
    rdb_intset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc64_check_value),
        cmocka_unit_test(test_crc64_every_length),
        cmocka_unit_test(test_crc64_large_chained),
        cmocka_unit_test(test_lzf_roundtrip_many_sizes),
        cmocka_unit_test(test_lzf_compresses_redis_like_data),
        cmocka_unit_test(test_lzf_stream_pieces_and_history),
        cmocka_unit_test(test_lzf_stream_emit_stop),
        cmocka_unit_test(test_lzf_backref_before_start),
        cmocka_unit_test(test_lzf_corrupt_inputs),
        cmocka_unit_test(test_lzf_random_garbage),
        cmocka_unit_test(test_lzf_empty),
        cmocka_unit_test(test_str_to_ll),
        cmocka_unit_test(test_ll_to_str),
        cmocka_unit_test(test_double_to_str),
        cmocka_unit_test(test_str_to_double),
        cmocka_unit_test(test_listpack_small),
        cmocka_unit_test(test_listpack_thresholds),
        cmocka_unit_test(test_listpack_count_saturates),
        cmocka_unit_test(test_ziplist_small),
        cmocka_unit_test(test_ziplist_prevlen_and_strings),
        cmocka_unit_test(test_ziplist_count_saturates),
        cmocka_unit_test(test_intset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
