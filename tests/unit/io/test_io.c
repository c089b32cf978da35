/* io streams and filters. zlib is the independent reference for gzip; the
 * SHA-256 expectations are the FIPS 180-2 example vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/io.h"

/* Deterministic pseudo-random bytes with some redundancy, like real data. */
static unsigned char *make_data(size_t len, uint32_t seed)
{
    unsigned char *p = malloc(len ? len : 1);
    uint32_t x = seed ? seed : 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (i / 64) % 3 == 0 ? (unsigned char)('a' + x % 4) : (unsigned char)x;
    }
    return p;
}

/* One gzip member made by zlib. */
static void zlib_gzip(const unsigned char *data, size_t len, int level, struct rk_buf *out)
{
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t bound = deflateBound(&z, len) + 64;
    rk_buf_reserve(out, bound);
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)len;
    z.next_out = out->data + out->len;
    z.avail_out = (uInt)bound;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    out->len += bound - z.avail_out;
    deflateEnd(&z);
}

/* Decodes every member with zlib. */
static void zlib_gunzip(const unsigned char *data, size_t len, struct rk_buf *out)
{
    size_t pos = 0;
    unsigned char chunk[65536];
    while (pos < len) {
        z_stream z = {0};
        assert_int_equal(inflateInit2(&z, 31), Z_OK);
        z.next_in = (unsigned char *)data + pos;
        z.avail_in = (uInt)(len - pos);
        int rc;
        do {
            z.next_out = chunk;
            z.avail_out = sizeof(chunk);
            rc = inflate(&z, Z_NO_FLUSH);
            assert_true(rc == Z_OK || rc == Z_STREAM_END);
            rk_buf_append(out, chunk, sizeof(chunk) - z.avail_out);
        } while (rc != Z_STREAM_END);
        pos = len - z.avail_in;
        inflateEnd(&z);
    }
}

/* An upstream that hands out at most `step` bytes per read, to exercise every
 * boundary inside the decoder. */
struct trickle {
    const unsigned char *data;
    size_t len, pos, step;
};

static ssize_t trickle_read(void *arg, void *buf, size_t cap, struct rk_err *err)
{
    struct trickle *t = arg;
    size_t n = t->len - t->pos;
    if (n > t->step) n = t->step;
    if (n > cap) n = cap;
    memcpy(buf, t->data + t->pos, n);
    t->pos += n;
    return (ssize_t)n;
}

/* Reads a whole source into out; returns 0 or -1 with err set. */
static int drain(struct io_source *src, struct rk_buf *out, size_t bufsize, struct rk_err *err)
{
    unsigned char *buf = malloc(bufsize);
    int rc = 0;
    for (;;) {
        ssize_t n = io_source_read(src, buf, bufsize, err);
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0) break;
        rk_buf_append(out, buf, (size_t)n);
    }
    free(buf);
    return rc;
}

static int gunzip_pull(const unsigned char *data, size_t len, size_t step, size_t bufsize,
                       const struct io_gunzip_opts *opts, struct rk_buf *out, struct rk_err *err)
{
    struct trickle *t = calloc(1, sizeof(*t));
    *t = (struct trickle){data, len, 0, step};
    struct io_source *src = io_gunzip_source_new(io_fn_source_new(trickle_read, free, t), opts);
    int rc = drain(src, out, bufsize, err);
    io_source_free(src);
    return rc;
}

static void test_gzip_sink_roundtrip_through_zlib(void **state)
{
    size_t sizes[] = {0, 1, 100, 65536, 3u << 20};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *data = make_data(sizes[i], 7 + (uint32_t)i);
        struct rk_buf gz = {0}, plain = {0};
        struct rk_err err;
        struct io_sink *s = io_gzip_sink_new(io_buf_sink_new(&gz), IO_GZIP_DEFAULT_LEVEL);
        /* Uneven writes. */
        for (size_t pos = 0; pos < sizes[i];) {
            size_t n = (pos % 7 + 1) * 1000;
            if (n > sizes[i] - pos) n = sizes[i] - pos;
            assert_int_equal(io_sink_write(s, data + pos, n, &err), 0);
            pos += n;
        }
        assert_int_equal(io_sink_close(s, &err), 0);
        io_sink_free(s);
        assert_true(io_is_gzip_magic(gz.data, gz.len));
        zlib_gunzip(gz.data, gz.len, &plain);
        assert_int_equal(plain.len, sizes[i]);
        if (sizes[i]) assert_memory_equal(plain.data, data, sizes[i]);
        rk_buf_free(&gz);
        rk_buf_free(&plain);
        free(data);
    }
}

static void test_gzip_source_roundtrip(void **state)
{
    size_t len = 1u << 20;
    unsigned char *data = make_data(len, 99);
    struct rk_buf gz = {0}, plain = {0};
    struct rk_err err;
    struct io_source *src = io_gzip_source_new(io_mem_source_new(data, len), 2);
    assert_int_equal(drain(src, &gz, 4096, &err), 0);
    io_source_free(src);
    zlib_gunzip(gz.data, gz.len, &plain);
    assert_int_equal(plain.len, len);
    assert_memory_equal(plain.data, data, len);
    rk_buf_free(&gz);
    rk_buf_free(&plain);
    free(data);
}

static void test_gunzip_multi_member_any_split(void **state)
{
    /* Three members from zlib at different levels, one of them empty. */
    size_t la = 200000, lb = 0, lc = 70000;
    unsigned char *a = make_data(la, 1), *c = make_data(lc, 3);
    struct rk_buf gz = {0}, expect = {0};
    zlib_gzip(a, la, 1, &gz);
    zlib_gzip(NULL, lb, 6, &gz);
    zlib_gzip(c, lc, 9, &gz);
    rk_buf_append(&expect, a, la);
    rk_buf_append(&expect, c, lc);
    size_t steps[] = {1, 2, 3, 17, 4096, 1u << 20};
    size_t bufs[] = {1, 7, 65536};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        for (size_t j = 0; j < sizeof(bufs) / sizeof(bufs[0]); j++) {
            if (steps[i] == 1 && bufs[j] == 1) continue; /* slow and adds nothing */
            struct rk_buf out = {0};
            struct rk_err err = {{0}};
            struct io_gunzip_info info;
            struct io_gunzip_opts opts = {.info = &info};
            int rc = gunzip_pull(gz.data, gz.len, steps[i], bufs[j], &opts, &out, &err);
            if (rc) fail_msg("step %zu buf %zu: %s", steps[i], bufs[j], err.msg);
            assert_int_equal(out.len, expect.len);
            assert_memory_equal(out.data, expect.data, expect.len);
            assert_true(info.gzip);
            assert_int_equal(info.members, 3);
            assert_int_equal(info.bytes_in, gz.len);
            rk_buf_free(&out);
        }
    rk_buf_free(&gz);
    rk_buf_free(&expect);
    free(a);
    free(c);
}

static void test_gunzip_passes_other_data_through(void **state)
{
    const char *cases[] = {"", "R", "\x1f", "\x1f\x8a more", "REDIS0011 binary"};
    size_t lens[] = {0, 1, 1, 8, 16};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t step = 1; step <= 3; step++) {
            struct rk_buf out = {0};
            struct rk_err err;
            struct io_gunzip_info info;
            struct io_gunzip_opts opts = {.info = &info};
            assert_int_equal(
                gunzip_pull((const unsigned char *)cases[i], lens[i], step, 5, &opts, &out, &err),
                0);
            assert_int_equal(out.len, lens[i]);
            if (lens[i]) assert_memory_equal(out.data, cases[i], lens[i]);
            assert_false(info.gzip);
            rk_buf_free(&out);
        }
    }
    /* require_gzip turns passthrough into an error. */
    struct rk_buf out = {0};
    struct rk_err err;
    struct io_gunzip_opts opts = {.require_gzip = true};
    assert_int_equal(
        gunzip_pull((const unsigned char *)"REDIS0011", 9, 100, 100, &opts, &out, &err), -1);
    assert_non_null(strstr(err.msg, "not gzip"));
    rk_buf_free(&out);
}

static void expect_gunzip_error(const unsigned char *data, size_t len, const char *needle)
{
    size_t steps[] = {1, 5, 1u << 20};
    for (size_t i = 0; i < 3; i++) {
        struct rk_buf out = {0};
        struct rk_err err = {{0}};
        int rc = gunzip_pull(data, len, steps[i], 65536, NULL, &out, &err);
        if (rc != -1) fail_msg("no error for '%s' (step %zu)", needle, steps[i]);
        if (!strstr(err.msg, needle)) fail_msg("'%s' not in: %s", needle, err.msg);
        rk_buf_free(&out);
    }
}

static void test_gunzip_malformed_inputs_name_the_offset(void **state)
{
    size_t len = 100000;
    unsigned char *data = make_data(len, 5);
    struct rk_buf gz = {0};
    zlib_gzip(data, len, 6, &gz);

    /* Truncated in the middle and just before the trailer. */
    expect_gunzip_error(gz.data, gz.len / 2, "truncated");
    expect_gunzip_error(gz.data, gz.len - 3, "truncated");
    expect_gunzip_error(gz.data, 5, "truncated");

    /* Wrong CRC in the trailer. */
    unsigned char *bad = malloc(gz.len);
    memcpy(bad, gz.data, gz.len);
    bad[gz.len - 8] ^= 0xff;
    expect_gunzip_error(bad, gz.len, "CRC");

    /* Garbage after a complete member. */
    struct rk_buf trail = {0};
    rk_buf_append(&trail, gz.data, gz.len);
    rk_buf_append(&trail, "junk", 4);
    char needle[64];
    snprintf(needle, sizeof(needle), "after member 1, at byte %zu", gz.len);
    expect_gunzip_error(trail.data, trail.len, needle);

    /* Not deflate (method byte). */
    memcpy(bad, gz.data, gz.len);
    bad[2] = 7;
    expect_gunzip_error(bad, gz.len, "gzip:");

    /* Corrupt deflate data: every corruption must end in a clean error or in
     * output that zlib also produces, never in a crash (ASan watches). */
    int errors = 0, tries = 0;
    for (size_t pos = 10; pos < gz.len - 8; pos += gz.len / 50) {
        tries++;
        memcpy(bad, gz.data, gz.len);
        bad[pos] ^= 0x55;
        struct rk_buf out = {0};
        struct rk_err err = {{0}};
        if (gunzip_pull(bad, gz.len, 4096, 65536, NULL, &out, &err) < 0) {
            assert_non_null(strstr(err.msg, "byte"));
            errors++;
        }
        rk_buf_free(&out);
    }
    /* The CRC catches what the decoder does not: all of them fail. */
    assert_int_equal(errors, tries);

    rk_buf_free(&trail);
    free(bad);
    rk_buf_free(&gz);
    free(data);
}

static void test_gunzip_bomb_limits(void **state)
{
    size_t len = 64u << 20;
    unsigned char *zeros = calloc(1, len);
    struct rk_buf gz = {0};
    zlib_gzip(zeros, len, 9, &gz);
    free(zeros);
    assert_true(gz.len < len / 500);

    struct rk_buf out = {0};
    struct rk_err err;
    struct io_gunzip_opts opts = {.max_output = 8u << 20};
    assert_int_equal(gunzip_pull(gz.data, gz.len, 65536, 65536, &opts, &out, &err), -1);
    assert_non_null(strstr(err.msg, "exceeds the limit of 8388608 bytes"));
    assert_non_null(strstr(err.msg, "compressed byte"));
    assert_true(out.len <= (8u << 20));
    rk_buf_free(&out);

    struct io_gunzip_opts ratio = {.max_ratio = 100};
    assert_int_equal(gunzip_pull(gz.data, gz.len, 65536, 65536, &ratio, &out, &err), -1);
    assert_non_null(strstr(err.msg, "expands more than 100 times"));
    rk_buf_free(&out);

    /* Under the limit it decodes. */
    struct io_gunzip_opts roomy = {.max_output = 64u << 20};
    assert_int_equal(gunzip_pull(gz.data, gz.len, 1u << 20, 1u << 20, &roomy, &out, &err), 0);
    assert_int_equal(out.len, len);
    rk_buf_free(&out);
    rk_buf_free(&gz);
}

static void test_gunzip_sink_push_direction(void **state)
{
    size_t len = 500000;
    unsigned char *data = make_data(len, 11);
    struct rk_buf gz = {0};
    zlib_gzip(data, len / 2, 3, &gz);
    zlib_gzip(data + len / 2, len - len / 2, 3, &gz);
    size_t chunks[] = {1, 333, 65536};
    for (size_t i = 0; i < 3; i++) {
        struct rk_buf out = {0};
        struct rk_err err = {{0}};
        struct io_sink *s = io_gunzip_sink_new(io_buf_sink_new(&out), NULL);
        for (size_t pos = 0; pos < gz.len; pos += chunks[i]) {
            size_t n = gz.len - pos < chunks[i] ? gz.len - pos : chunks[i];
            if (io_sink_write(s, gz.data + pos, n, &err)) fail_msg("%s", err.msg);
        }
        if (io_sink_close(s, &err)) fail_msg("%s", err.msg);
        io_sink_free(s);
        assert_int_equal(out.len, len);
        assert_memory_equal(out.data, data, len);
        rk_buf_free(&out);
    }
    /* Truncated input fails at close. */
    struct rk_buf out = {0};
    struct rk_err err;
    struct io_sink *s = io_gunzip_sink_new(io_buf_sink_new(&out), NULL);
    assert_int_equal(io_sink_write(s, gz.data, 1000, &err), 0);
    assert_int_equal(io_sink_close(s, &err), -1);
    assert_non_null(strstr(err.msg, "truncated"));
    io_sink_free(s);
    rk_buf_free(&out);
    rk_buf_free(&gz);
    free(data);
}

static void test_sha256_fips_vectors(void **state)
{
    struct {
        const char *msg;
        const char *hex;
    } v[] = {
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t i = 0; i < 3; i++) {
        struct io_digest d1, d2;
        struct rk_err err;
        struct rk_buf copy = {0};
        struct io_sink *s = io_sha256_sink_new(io_buf_sink_new(&copy), &d1);
        size_t len = strlen(v[i].msg);
        for (size_t pos = 0; pos < len; pos++)
            assert_int_equal(io_sink_write(s, v[i].msg + pos, 1, &err), 0);
        assert_false(d1.done);
        assert_int_equal(io_sink_close(s, &err), 0);
        io_sink_free(s);
        assert_true(d1.done);
        assert_string_equal(d1.hex, v[i].hex);
        assert_int_equal(copy.len, len);
        rk_buf_free(&copy);

        struct io_source *src = io_sha256_source_new(io_mem_source_new(v[i].msg, len), &d2);
        struct rk_buf out = {0};
        assert_int_equal(drain(src, &out, 2, &err), 0);
        io_source_free(src);
        assert_true(d2.done);
        assert_string_equal(d2.hex, v[i].hex);
        rk_buf_free(&out);
    }
    /* One million 'a'. */
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    unsigned char bin[32];
    char hex[65];
    io_sha256(a, 1000000, bin);
    io_hex(bin, 32, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* A sink that records what happened to it. */
struct recorder {
    char log[256];
    int fail_close;
};

static int rec_write(void *arg, const void *data, size_t len, struct rk_err *err)
{
    struct recorder *r = arg;
    snprintf(r->log + strlen(r->log), sizeof(r->log) - strlen(r->log), "w%zu ", len);
    return 0;
}

static int rec_close(void *arg, struct rk_err *err)
{
    struct recorder *r = arg;
    strcat(r->log, "close ");
    return r->fail_close ? rk_err_set(err, "commit refused") : 0;
}

static void rec_abort(void *arg)
{
    strcat(((struct recorder *)arg)->log, "abort ");
}

static void test_chain_close_abort_and_count(void **state)
{
    struct recorder a = {.fail_close = 0}, b = {.fail_close = 0};
    struct io_counter count = {0};
    struct io_digest digest;
    struct rk_err err;
    struct io_sink *chain = io_tee_new(
        io_fn_sink_new(rec_write, rec_close, rec_abort, &a),
        io_sha256_sink_new(
            io_count_sink_new(io_fn_sink_new(rec_write, rec_close, rec_abort, &b), &count),
            &digest));
    assert_int_equal(io_sink_write(chain, "abc", 3, &err), 0);
    assert_int_equal(io_sink_write(chain, "", 0, &err), 0);
    assert_int_equal(io_counter_get(&count), 3);
    assert_int_equal(io_sink_close(chain, &err), 0);
    assert_string_equal(a.log, "w3 close ");
    assert_string_equal(b.log, "w3 close ");
    assert_string_equal(digest.hex,
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* Writing after close is an error, not a crash. */
    assert_int_equal(io_sink_write(chain, "x", 1, &err), -1);
    io_sink_free(chain);

    /* Freeing an open chain aborts every stage once. */
    struct recorder c = {.fail_close = 0};
    chain = io_gzip_sink_new(io_fn_sink_new(rec_write, rec_close, rec_abort, &c), 1);
    assert_int_equal(io_sink_write(chain, "hello", 5, &err), 0);
    io_sink_free(chain);
    assert_string_equal(c.log, "abort ");

    /* A commit that fails leaves no digest: nothing was stored. */
    struct recorder d = {.fail_close = 0};
    d.fail_close = 1;
    chain = io_sha256_sink_new(io_fn_sink_new(rec_write, rec_close, rec_abort, &d), &digest);
    assert_int_equal(io_sink_write(chain, "abc", 3, &err), 0);
    assert_int_equal(io_sink_close(chain, &err), -1);
    assert_string_equal(err.msg, "commit refused");
    assert_false(digest.done);
    io_sink_free(chain);
    assert_string_equal(d.log, "w3 close abort ");
}

/* A source with a pump, as a network reader has: it writes from its own
 * buffer; pumped is set when the fast path ran. */
struct pumper {
    struct io_source base;
    const unsigned char *data;
    size_t len, pos;
    bool pumped;
};

static ssize_t pumper_read(struct io_source *s, void *buf, size_t cap, struct rk_err *err)
{
    struct pumper *p = (struct pumper *)s;
    size_t n = p->len - p->pos < cap ? p->len - p->pos : cap;
    memcpy(buf, p->data + p->pos, n);
    p->pos += n;
    return (ssize_t)n;
}

static int pumper_pump(struct io_source *s, struct io_sink *dst, uint64_t *copied,
                       struct rk_err *err)
{
    struct pumper *p = (struct pumper *)s;
    p->pumped = true;
    *copied = 0;
    while (p->pos < p->len) {
        size_t n = p->len - p->pos < 1000 ? p->len - p->pos : 1000;
        if (io_sink_write(dst, p->data + p->pos, n, err) < 0) return -1;
        p->pos += n;
        *copied += n;
    }
    return 0;
}

static void pumper_free(struct io_source *s)
{
    free(s);
}

static const struct io_source_ops pumper_ops = {"pumper", pumper_read, pumper_free};

static int stop_after(void *arg, uint64_t total)
{
    return total >= *(uint64_t *)arg;
}

static void test_write_from_and_pump(void **state)
{
    size_t len = 100000;
    unsigned char *data = make_data(len, 21);
    for (int variant = 0; variant < 3; variant++) {
        struct pumper *p = calloc(1, sizeof(*p));
        io_source_init(&p->base, &pumper_ops, NULL);
        p->base.pump = pumper_pump;
        p->data = data;
        p->len = len;
        uint64_t limit = 50000;
        struct io_counter counter = {0};
        if (variant == 2) {
            counter.on_count = stop_after;
            counter.on_count_arg = &limit;
        }
        struct io_source *src = io_count_source_new(&p->base, &counter);
        /* variant 1: a filter in between has no pump: the ordinary loop. */
        struct io_digest d;
        if (variant == 1) src = io_sha256_source_new(src, &d);
        struct rk_buf out = {0};
        struct io_sink *sink = io_buf_sink_new(&out);
        struct rk_err err;
        uint64_t copied = 0;
        int rc = io_sink_write_from(sink, src, &copied, &err);
        if (variant == 2) {
            /* The counter's hook stops the stream. */
            assert_int_equal(rc, -1);
            assert_string_equal(err.msg, "cancelled");
            assert_true(out.len >= limit && out.len < len);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(copied, len);
            assert_int_equal(out.len, len);
            assert_memory_equal(out.data, data, len);
            assert_int_equal(io_counter_get(&counter), len);
            assert_int_equal(p->pumped, variant == 0);
            /* The source is at its end. */
            char c;
            assert_int_equal(io_source_read(src, &c, 1, &err), 0);
        }
        assert_int_equal(io_sink_close(sink, &err), variant == 2 ? -1 : 0);
        io_sink_free(sink);
        io_source_free(src);
        rk_buf_free(&out);
    }
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip_sink_roundtrip_through_zlib),
        cmocka_unit_test(test_gzip_source_roundtrip),
        cmocka_unit_test(test_gunzip_multi_member_any_split),
        cmocka_unit_test(test_gunzip_passes_other_data_through),
        cmocka_unit_test(test_gunzip_malformed_inputs_name_the_offset),
        cmocka_unit_test(test_gunzip_bomb_limits),
        cmocka_unit_test(test_gunzip_sink_push_direction),
        cmocka_unit_test(test_sha256_fips_vectors),
        cmocka_unit_test(test_chain_close_abort_and_count),
        cmocka_unit_test(test_write_from_and_pump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
