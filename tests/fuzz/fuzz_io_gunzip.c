/* gunzip (by magic, multi-member) on arbitrary input, pulled in small uneven
 * reads and pushed in small writes: no crash, a clean error or the data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct trickle {
    const uint8_t *data;
    size_t size, pos;
};

static ssize_t trickle_read(void *arg, void *buf, size_t cap, struct rk_err *err)
{
    struct trickle *t = arg;
    size_t n = t->size - t->pos;
    size_t step = 1 + (t->pos * 7) % 61;
    if (n > step) n = step;
    if (n > cap) n = cap;
    memcpy(buf, t->data + t->pos, n);
    t->pos += n;
    return (ssize_t)n;
}

static int discard(void *arg, const void *data, size_t len, struct rk_err *err)
{
    *(uint64_t *)arg += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Bombs stop at the limit instead of running the fuzzer out of time. */
    struct io_gunzip_opts opts = {.max_output = 16u << 20};
    struct trickle t = {data, size, 0};
    struct io_source *src = io_gunzip_source_new(io_fn_source_new(trickle_read, NULL, &t), &opts);
    unsigned char buf[4096];
    struct rk_err err;
    uint64_t pulled = 0;
    for (;;) {
        ssize_t n = io_source_read(src, buf, 1 + size % sizeof(buf), &err);
        if (n <= 0) break;
        pulled += (uint64_t)n;
    }
    io_source_free(src);

    uint64_t pushed = 0;
    struct io_sink *sink = io_gunzip_sink_new(io_fn_sink_new(discard, NULL, NULL, &pushed), &opts);
    int rc = 0;
    for (size_t pos = 0; pos < size && rc == 0;) {
        size_t n = size - pos < 97 ? size - pos : 97;
        rc = io_sink_write(sink, data + pos, n, &err);
        pos += n;
    }
    if (rc == 0) rc = io_sink_close(sink, &err);
    io_sink_free(sink);
    (void)pulled;
    return 0;
}
