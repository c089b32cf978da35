/* fuzz_redis_framing: the replication stream parser (what a master sends
 * after PSYNC or SYNC: keep-alives, +FULLRESYNC, $<len> or $EOF:<mark>
 * framing, the payload).
 *
 * Input layout:
 *   byte 0     bit 0: the stream answers PSYNC (else SYNC)
 *   bytes 1..4 seed for the split points
 *   rest       the stream
 *
 * Checked: no memory error; feeding the stream in one piece and in random
 * pieces gives the same payload, the same end state, the same bytes
 * consumed and the same handshake facts (the parser's result never depends
 * on how reads split the stream); a failure always has a message; the
 * payload is never longer than the input, and a length-framed payload that
 * ended has exactly the announced length.
 *
 * The unit tests link this file too and replay the seeds and the inputs in
 * tests/data/fuzz-regressions/fuzz_redis_framing/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/redis_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_redis_framing: check failed: %s (line %d)\n", #cond, __LINE__);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void collect(void *ctx, const unsigned char *d, size_t len)
{
    CHECK(len > 0);
    rk_buf_append(ctx, d, len);
}

struct outcome {
    struct rk_buf payload;
    struct repl_framing f;
    size_t consumed;
    bool failed;
};

static void run(const uint8_t *s, size_t len, bool psync, uint32_t seed, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    repl_framing_init(&o->f, psync);
    size_t pos = 0;
    uint32_t x = seed | 1;
    while (pos < len) {
        size_t n = len - pos;
        if (seed) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            n = 1 + x % 67;
            if (n > len - pos) n = len - pos;
        }
        struct rk_err err = {{0}};
        ssize_t used = repl_framing_feed(&o->f, s + pos, n, collect, &o->payload, &err);
        if (used < 0) {
            CHECK(err.msg[0] != '\0');
            CHECK(o->f.state == REPL_FAILED);
            o->failed = true;
            break;
        }
        CHECK((size_t)used <= n);
        pos += (size_t)used;
        if (o->f.state == REPL_DONE) break;
        CHECK((size_t)used == n);
    }
    o->consumed = pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    bool psync = data[0] & 1;
    uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                    (uint32_t)data[4] << 24;
    const uint8_t *s = data + 5;
    size_t len = size - 5;

    struct outcome whole, split;
    run(s, len, psync, 0, &whole);
    run(s, len, psync, seed ? seed : 1, &split);

    CHECK(whole.failed == split.failed);
    CHECK(whole.f.state == split.f.state);
    CHECK(whole.failed || whole.consumed == split.consumed);
    CHECK(whole.payload.len == split.payload.len);
    CHECK(whole.payload.len == 0 ||
          memcmp(whole.payload.data, split.payload.data, whole.payload.len) == 0);
    CHECK(whole.payload.len <= len);
    CHECK(whole.f.body_bytes == whole.payload.len);
    CHECK(strcmp(whole.f.replid, split.f.replid) == 0);
    CHECK(whole.f.offset == split.f.offset);
    CHECK(whole.f.framing == split.f.framing);
    CHECK(whole.f.keepalives == split.f.keepalives);
    if (whole.f.state == REPL_DONE && whole.f.framing == REDIS_FRAMING_LENGTH)
        CHECK(whole.payload.len == whole.f.declared);
    rk_buf_free(&whole.payload);
    rk_buf_free(&split.payload);
    return 0;
}
