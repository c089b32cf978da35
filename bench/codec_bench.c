/* codec_bench: throughput of the RDB byte codecs (src/rdb/codec.h) on
 * Redis-like data, against memcpy measured in the same run.
 *
 *   codec_bench [MB]             (default 100)
 *   codec_bench --data MB FILE   writes the benchmark's input to FILE
 *
 * Prints one "name MB/s ratio-to-memcpy" line per measurement; LZF rates are
 * in uncompressed bytes per second for both directions. Each figure is the
 * best of several runs, to keep scheduler noise out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "rdb/codec.h"

#define RUNS 5

static double seconds_since(uint64_t start_ns)
{
    return (double)(rk_monotonic_ns() - start_ns) / 1e9;
}

/* Values as a cache or session store holds them: short records that share
 * most of their bytes, with a varying number and some random-ish text. */
static void fill_redis_like(unsigned char *p, size_t n)
{
    uint64_t x = 88172645463325252ULL;
    size_t i = 0;
    for (unsigned k = 0; i < n; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        char rec[96];
        int len = snprintf(rec, sizeof(rec), "v%u-xxxxxxxxxxxxxxxx:%llu:user%llu@example.com;", k,
                           (unsigned long long)(x % 1000000), (unsigned long long)(x >> 40));
        for (int j = 0; j < len && i < n; j++) p[i++] = (unsigned char)rec[j];
    }
}

struct sink {
    uint64_t bytes;
    unsigned char last;
};

static int sink_emit(void *ctx, const unsigned char *data, size_t len)
{
    struct sink *s = ctx;
    s->bytes += len;
    s->last ^= data[len - 1];
    return 0;
}

static double rate(size_t bytes, double secs)
{
    return (double)bytes / secs / 1e6;
}

static int write_data(size_t n, const char *path)
{
    unsigned char *p = xmalloc(n);
    fill_redis_like(p, n);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) rk_panic("cannot write %s", path);
    free(p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--data") == 0)
        return write_data((size_t)atoi(argv[2]) * 1000 * 1000, argv[3]);
    size_t mb = argc > 1 ? (size_t)atoi(argv[1]) : 100;
    size_t n = mb * 1000 * 1000;
    unsigned char *src = xmalloc(n), *dst = xmalloc(n), *packed = xmalloc(n + n / 16 + 64);
    fill_redis_like(src, n);
    memset(dst, 1, n);
    struct rk_err err;
    double best;
    volatile uint64_t keep = 0;

    best = 1e9;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t = rk_monotonic_ns();
        memcpy(dst, src, n);
        double s = seconds_since(t);
        keep += dst[n / 2];
        if (s < best) best = s;
    }
    double memcpy_rate = rate(n, best);
    printf("%-28s %9.0f MB/s  1.00x memcpy\n", "memcpy (baseline)", memcpy_rate);

#define REPORT(name, bytes)                                                                        \
    printf("%-28s %9.0f MB/s  %.2fx memcpy\n", name, rate(bytes, best),                            \
           rate(bytes, best) / memcpy_rate)

    best = 1e9;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t = rk_monotonic_ns();
        keep += rdb_crc64(0, src, n);
        double s = seconds_since(t);
        if (s < best) best = s;
    }
    REPORT("crc64 (ISA-L)", n);

    best = 1e9;
    for (int r = 0; r < 2; r++) {
        uint64_t t = rk_monotonic_ns();
        keep += rdb_crc64_portable(0, src, n);
        double s = seconds_since(t);
        if (s < best) best = s;
    }
    REPORT("crc64 (portable)", n);

    size_t plen = 0;
    best = 1e9;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t = rk_monotonic_ns();
        plen = rdb_lzf_compress(src, n, packed, n + n / 16 + 64);
        double s = seconds_since(t);
        if (s < best) best = s;
    }
    REPORT("lzf compress (one buffer)", n);
    if (plen == 0) rk_panic("compression failed");

    /* The writer compresses one string at a time; 4 KiB values. */
    size_t chunk = 4096, chunked_total = 0;
    unsigned char chunk_out[4096];
    best = 1e9;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t = rk_monotonic_ns();
        chunked_total = 0;
        for (size_t at = 0; at + chunk <= n; at += chunk)
            chunked_total += rdb_lzf_compress(src + at, chunk, chunk_out, chunk - 4);
        double s = seconds_since(t);
        if (s < best) best = s;
    }
    REPORT("lzf compress (4 KiB values)", n / chunk * chunk);

    best = 1e9;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t = rk_monotonic_ns();
        if (rdb_lzf_decompress(packed, plen, dst, n, &err) != 0) rk_panic("%s", err.msg);
        double s = seconds_since(t);
        if (s < best) best = s;
    }
    REPORT("lzf decompress (one-shot)", n);
    if (memcmp(src, dst, n) != 0) rk_panic("round trip differs");

    best = 1e9;
    for (int r = 0; r < RUNS; r++) {
        struct rdb_lzf_stream st;
        struct sink sk = {0};
        rdb_lzf_stream_init(&st, n);
        uint64_t t = rk_monotonic_ns();
        for (size_t at = 0; at < plen; at += 65536) {
            size_t k = plen - at < 65536 ? plen - at : 65536;
            if (rdb_lzf_stream_feed(&st, packed + at, k, sink_emit, &sk, &err) != 0)
                rk_panic("%s", err.msg);
        }
        if (rdb_lzf_stream_finish(&st, sink_emit, &sk, &err) != 0) rk_panic("%s", err.msg);
        double s = seconds_since(t);
        rdb_lzf_stream_free(&st);
        keep += sk.last;
        if (sk.bytes != n) rk_panic("stream produced %llu bytes", (unsigned long long)sk.bytes);
        if (s < best) best = s;
    }
    REPORT("lzf decompress (streaming)", n);

    printf("lzf compressed size: %zu bytes in one buffer\n", plen);
    printf("lzf ratio: %.1f%% of the input in one buffer, %.1f%% as 4 KiB values\n",
           100.0 * (double)plen / (double)n,
           100.0 * (double)chunked_total / (double)(n / chunk * chunk));
    free(src);
    free(dst);
    free(packed);
    return keep == 42 ? 1 : 0;
}
