/* fuzz_redis_replies: the reply checker of the pipelined loader (hiredis's
 * reader with object functions that allocate nothing, matched against the
 * queue of commands sent).
 *
 * Input layout:
 *   byte 0     how many commands are awaiting replies (0..255)
 *   bytes 1..4 seed for the split points
 *   rest       what the server answers
 *
 * Checked: no memory error and no allocation sized by the input; feeding
 * the replies in one piece and in random pieces gives the same result, the
 * same message and the same number of replies still awaited; an error has a
 * message naming the command. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/redis_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_redis_replies: check failed: %s (line %d)\n", #cond, __LINE__);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void note(void *ctx, enum rcmd cmd)
{
    CHECK(cmd == RC_XCLAIM);
    (*(unsigned *)ctx)++;
}

struct outcome {
    int rc;
    uint64_t pending;
    unsigned notes;
    struct rk_err err;
};

static void run(const uint8_t *s, size_t len, unsigned ncmds, uint32_t seed, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    struct rreplies *q = rreplies_new(note, &o->notes);
    for (unsigned i = 0; i < ncmds; i++) {
        char key[32];
        int n = snprintf(key, sizeof(key), "key:%u", i);
        rreplies_expect(q, (enum rcmd)(i % RC_COUNT), key, (size_t)n);
    }
    size_t pos = 0;
    uint32_t x = seed | 1;
    while (pos < len) {
        size_t n = len - pos;
        if (seed) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            n = 1 + x % 31;
            if (n > len - pos) n = len - pos;
        }
        o->rc = rreplies_feed(q, s + pos, n, &o->err);
        pos += n;
        if (o->rc) break;
    }
    o->pending = rreplies_pending(q);
    rreplies_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    unsigned ncmds = data[0];
    uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                    (uint32_t)data[4] << 24;
    struct outcome whole, split;
    run(data + 5, size - 5, ncmds, 0, &whole);
    run(data + 5, size - 5, ncmds, seed ? seed : 1, &split);
    CHECK(whole.rc == split.rc);
    CHECK(whole.pending == split.pending);
    CHECK(whole.notes == split.notes);
    CHECK(whole.pending <= ncmds);
    if (whole.rc) {
        CHECK(whole.err.msg[0] != '\0');
        CHECK(strcmp(whole.err.msg, split.err.msg) == 0);
    }
    return 0;
}
