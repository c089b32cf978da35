/* libFuzzer target: the RDB reader, and the writer behind it.
 *
 * The input is fed as an RDB file (or, in one mode, as a DUMP payload). Its
 * last byte picks how: the chunking (whole, one byte at a time, pseudo-random
 * sizes), whether the handler takes values or raw bytes, and whether the
 * events also go through the writer. Bytes after an RDB's checksum are
 * allowed, so real files serve as seeds as they are.
 *
 * Beyond "no crash, no over-read": every value piece must lie within its
 * element, and whatever the writer produced from input the reader accepted
 * must itself read back without error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/rdb.h"

struct fuzz_state {
    unsigned want;
    uint64_t sum;
    struct rdb_writer *writer;
};

static int handler(void *ctx, const struct rdb_event *ev, struct rk_err *err)
{
    struct fuzz_state *s = ctx;
    if (ev->type == RDB_EVENT_KEY) ev->u.key->want = s->want;
    if (ev->type == RDB_EVENT_VALUE) {
        const struct rdb_value *v = ev->u.value;
        if (v->data) {
            if (v->offset + v->len > v->total && v->kind != RDB_VALUE_MODULE_DATA) abort();
            for (size_t i = 0; i < v->len; i++) s->sum += v->data[i];
        }
    } else if (ev->type == RDB_EVENT_RAW) {
        for (size_t i = 0; i < ev->u.raw.len; i++) s->sum += ev->u.raw.data[i];
    } else if (ev->type == RDB_EVENT_KEY) {
        for (size_t i = 0; i < ev->u.key->key_len; i++) s->sum += ev->u.key->key[i];
    }
    if (s->writer) {
        /* The writer sets want itself; the fuzz state's choice applies otherwise. */
        return rdb_writer_event(s->writer, ev, err);
    }
    return 0;
}

static int collect(void *ctx, const void *data, size_t len, struct rk_err *err)
{
    (void)err;
    rk_buf_append(ctx, data, len);
    return 0;
}

static int ignore(void *ctx, const struct rdb_event *ev, struct rk_err *err)
{
    (void)ctx;
    (void)ev;
    (void)err;
    return 0;
}

static int feed_all(struct rdb_reader *r, const uint8_t *data, size_t size, unsigned mode)
{
    struct rk_err err;
    uint32_t rng = mode * 2654435761u + 1;
    size_t off = 0;
    while (off < size) {
        size_t n;
        switch (mode & 3) {
        case 0: n = size - off; break;
        case 1: n = 1; break;
        case 2:
            rng = rng * 1103515245u + 12345u;
            n = 1 + (rng >> 16) % 97;
            break;
        default: n = 7; break;
        }
        if (n > size - off) n = size - off;
        if (rdb_reader_feed(r, data + off, n, &err)) return -1;
        off += n;
    }
    return rdb_reader_finish(r, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    unsigned mode = data[size - 1];
    struct fuzz_state s = {.want = (mode & 4) ? RDB_WANT_RAW : RDB_WANT_VALUES};
    if (mode & 8) s.want |= RDB_WANT_VALUES;
    struct rdb_reader_options ro = {.max_whole_string = 1u << 20};
    if ((mode & 0x30) == 0x30) {
        ro.dump_payload = true;
        ro.dump_version = 6 + (mode >> 6) * 2; /* 6, 8, 10, 12 */
    }
    struct rk_buf out = {0};
    struct rk_err err;
    bool write = (mode & 0x30) == 0x10;
    if (write) {
        struct rdb_writer_options wo = {.target_version = 6 + (int)((mode >> 6) * 2),
                                        .max_buffered = 1u << 20};
        s.writer = rdb_writer_new(&wo, collect, &out, &err);
    }
    struct rdb_reader *r = rdb_reader_new(&ro, handler, &s);
    int rc = feed_all(r, data, size, mode);
    rdb_reader_free(r);

    if (write && rc == 0 && rdb_writer_complete(s.writer)) {
        /* What we write, we must read. */
        struct rdb_reader *back = rdb_reader_new(NULL, ignore, NULL);
        if (rdb_reader_feed(back, out.data, out.len, &err) || rdb_reader_finish(back, &err)) abort();
        rdb_reader_free(back);
    }
    rdb_writer_free(s.writer);
    rk_buf_free(&out);
    return 0;
}
