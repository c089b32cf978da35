/* DUMP payloads for RESTORE, one per key, from the key encoder. */
#include "rdb/encode.h"

#include <stdlib.h>
#include <string.h>

/* Buffers bigger than this are given back after the key that grew them. */
#define KEEP_BUFFER (4u << 20)

struct rdb_dumper {
    struct rdb_dump_options opt;
    rdb_dump_fn fn;
    void *ctx;
    struct rdb_writer_stats stats;
    struct key_encoder enc;
    struct rk_buf payload;
};

/* Encoder hooks: the payload starts with the type byte; a payload over the
 * limit is dropped as it grows (memory stays bounded) and reported. */
static int payload_begin(void *ctx, uint8_t type_byte, struct rk_err *err)
{
    struct rdb_dumper *d = ctx;
    (void)err;
    rk_buf_reset(&d->payload);
    rk_buf_append_byte(&d->payload, type_byte);
    return 0;
}

static int payload_check(void *ctx, struct rk_err *err)
{
    struct rdb_dumper *d = ctx;
    (void)err;
    if (d->payload.len + 10 > d->opt.max_payload) {
        d->enc.too_big = true;
        rk_buf_reset(&d->payload);
    }
    return 0;
}

static void payload_drop(void *ctx)
{
    struct rdb_dumper *d = ctx;
    rk_buf_reset(&d->payload);
}

struct rdb_dumper *rdb_dumper_new(const struct rdb_dump_options *opts, rdb_dump_fn fn, void *ctx,
                                  struct rk_err *err)
{
    if (opts->target_version < RDB_WRITER_MIN_VERSION || opts->target_version > RDB_WRITER_MAX_VERSION) {
        rk_err_set(err, "target RDB version %d: payloads can be written for versions %d to %d",
                   opts->target_version, RDB_WRITER_MIN_VERSION, RDB_WRITER_MAX_VERSION);
        return NULL;
    }
    struct rdb_dumper *d = xcalloc(1, sizeof(*d));
    d->opt = *opts;
    if (!d->opt.now_ms) d->opt.now_ms = rk_now_ms();
    if (!d->opt.max_payload) d->opt.max_payload = 64ull << 20;
    d->fn = fn;
    d->ctx = ctx;
    enc_init(&d->enc);
    d->enc.target = d->opt.target_version;
    d->enc.max_buffered = d->opt.max_payload;
    d->enc.now_ms = d->opt.now_ms;
    d->enc.drop_expired = d->opt.drop_expired;
    d->enc.too_big_ok = true;
    d->enc.owner = (struct enc_owner){.out = &d->payload, .begin = payload_begin,
                                      .check = payload_check, .drop = payload_drop, .ctx = d};
    d->enc.stats = &d->stats;
    return d;
}

void rdb_dumper_free(struct rdb_dumper *d)
{
    if (!d) return;
    enc_free(&d->enc);
    rk_buf_free(&d->payload);
    free(d);
}

const struct rdb_writer_stats *rdb_dumper_stats(const struct rdb_dumper *d)
{
    return &d->stats;
}

static int key_end(struct rdb_dumper *d, const struct rdb_key_info *k, struct rk_err *err)
{
    bool empty;
    if (enc_key_end(&d->enc, k, &empty, err)) return -1;
    if (d->enc.mode == ENC_SKIP || empty) return 0;
    struct rdb_dump_key dk = {.key = k, .too_big = d->enc.too_big};
    if (!dk.too_big) {
        struct rk_buf *p = &d->payload;
        unsigned char footer[10];
        footer[0] = (unsigned char)d->opt.target_version;
        footer[1] = (unsigned char)(d->opt.target_version >> 8);
        rk_buf_append(p, footer, 2);
        uint64_t crc = rdb_crc64(0, p->data, p->len);
        for (int i = 0; i < 8; i++) footer[2 + i] = (unsigned char)(crc >> (8 * i));
        rk_buf_append(p, footer + 2, 8);
        dk.payload = p->data;
        dk.len = p->len;
    }
    d->stats.keys++;
    int rc = d->fn(d->ctx, &dk, err) ? -1 : 0;
    /* One big value must not pin its memory for the rest of the file. */
    if (d->payload.cap > KEEP_BUFFER) rk_buf_free(&d->payload);
    else rk_buf_reset(&d->payload);
    return rc;
}

int rdb_dumper_event(void *dumper, const struct rdb_event *ev, struct rk_err *err)
{
    struct rdb_dumper *d = dumper;
    switch (ev->type) {
    case RDB_EVENT_KEY: return enc_key_begin(&d->enc, ev->u.key, err);
    case RDB_EVENT_RAW: return enc_raw(&d->enc, ev->u.raw.data, ev->u.raw.len, err);
    case RDB_EVENT_VALUE: return d->enc.mode == ENC_SKIP ? 0 : enc_value(&d->enc, ev->u.value, err);
    case RDB_EVENT_KEY_END: return key_end(d, ev->u.key, err);
    default: return 0;
    }
}
