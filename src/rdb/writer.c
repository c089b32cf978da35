/* The RDB file writer: file framing around the key encoder (encode.c). */
#include "rdb/encode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_BUF (256u << 10)

struct rdb_writer {
    struct rdb_writer_options opt;
    rdb_write_fn write;
    void *ctx;
    struct rdb_writer_stats stats;
    struct rk_buf out;    /* not yet written; its CRC is taken as it is written */
    uint64_t crc;
    bool complete;
    bool module_aux_open; /* copying a module aux record */
    const struct rdb_key_info *key;
    size_t key_mark;      /* where the current key's header starts in out */
    bool key_flushed;     /* out was written since: the key can no longer be taken back */
    struct key_encoder enc;
};

static int out_flush(struct rdb_writer *w, struct rk_err *err)
{
    if (!w->out.len) return 0;
    w->crc = rdb_crc64(w->crc, w->out.data, w->out.len);
    w->stats.bytes += w->out.len;
    int rc = w->write(w->ctx, w->out.data, w->out.len, err);
    w->out.len = 0;
    w->key_flushed = true;
    return rc;
}

static int out_check(struct rdb_writer *w, struct rk_err *err)
{
    return w->out.len >= OUT_BUF ? out_flush(w, err) : 0;
}

/* Encoder hooks: the key's header goes out speculatively and is taken back
 * if the key turns out empty. */
static int key_begin(void *ctx, uint8_t type_byte, struct rk_err *err)
{
    struct rdb_writer *w = ctx;
    const struct rdb_key_info *k = w->key;
    struct rk_buf *out = &w->out;
    (void)err;
    w->key_mark = out->len;
    w->key_flushed = false;
    if (k->expire_ms >= 0) {
        unsigned char t[9] = {0xFC};
        for (int i = 0; i < 8; i++) t[1 + i] = (unsigned char)((uint64_t)k->expire_ms >> (8 * i));
        rk_buf_append(out, t, 9);
    }
    if (w->opt.target_version >= 9) {
        if (k->idle >= 0) {
            rk_buf_append_byte(out, 0xF8);
            enc_put_len(out, (uint64_t)k->idle);
        }
        if (k->freq >= 0) {
            rk_buf_append_byte(out, 0xF9);
            rk_buf_append_byte(out, (unsigned char)k->freq);
        }
    }
    rk_buf_append_byte(out, type_byte);
    enc_put_string(out, k->key, k->key_len);
    w->stats.keys++;
    return 0;
}

static int key_check(void *ctx, struct rk_err *err)
{
    return out_check(ctx, err);
}

static void key_drop(void *ctx)
{
    struct rdb_writer *w = ctx;
    w->stats.keys--;
    /* Already written (only a value bigger than the buffer gets there): Redis
     * skips an empty key on load, so leaving it is harmless. */
    if (!w->key_flushed) w->out.len = w->key_mark;
}

struct rdb_writer *rdb_writer_new(const struct rdb_writer_options *opts, rdb_write_fn write,
                                  void *ctx, struct rk_err *err)
{
    if (opts->target_version < RDB_WRITER_MIN_VERSION ||
        opts->target_version > RDB_WRITER_MAX_VERSION) {
        rk_err_set(err, "target RDB version %d: the writer writes versions %d to %d",
                   opts->target_version, RDB_WRITER_MIN_VERSION, RDB_WRITER_MAX_VERSION);
        return NULL;
    }
    struct rdb_writer *w = xcalloc(1, sizeof(*w));
    w->opt = *opts;
    if (!w->opt.now_ms) w->opt.now_ms = rk_now_ms();
    if (!w->opt.max_buffered) w->opt.max_buffered = 256ull << 20;
    w->write = write;
    w->ctx = ctx;
    rk_buf_reserve(&w->out, OUT_BUF + 4096);
    enc_init(&w->enc);
    w->enc.target = w->opt.target_version;
    w->enc.max_buffered = w->opt.max_buffered;
    w->enc.now_ms = w->opt.now_ms;
    w->enc.drop_expired = w->opt.drop_expired;
    w->enc.owner = (struct enc_owner){.out = &w->out, .begin = key_begin, .check = key_check,
                                      .drop = key_drop, .ctx = w};
    w->enc.stats = &w->stats;
    return w;
}

void rdb_writer_free(struct rdb_writer *w)
{
    if (!w) return;
    enc_free(&w->enc);
    rk_buf_free(&w->out);
    free(w);
}

bool rdb_writer_complete(const struct rdb_writer *w)
{
    return w->complete;
}

const struct rdb_writer_stats *rdb_writer_stats(const struct rdb_writer *w)
{
    return &w->stats;
}

static void put_function(struct rdb_writer *w, const struct rdb_function_info *f)
{
    struct rk_buf code = {0};
    if (f->pre_ga && !(f->code_len >= 2 && memcmp(f->code, "#!", 2) == 0)) {
        /* 7.0-rc libraries kept name and engine apart; GA wants them in a shebang line. */
        rk_buf_append(&code, "#!", 2);
        for (size_t i = 0; i < f->engine_len; i++) {
            unsigned char c = f->engine[i];
            rk_buf_append_byte(&code, c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c);
        }
        rk_buf_append(&code, " name=", 6);
        rk_buf_append(&code, f->name, f->name_len);
        rk_buf_append_byte(&code, '\n');
    }
    rk_buf_append(&code, f->code, f->code_len);
    rk_buf_append_byte(&w->out, 0xF5);
    enc_put_string(&w->out, code.data, code.len);
    rk_buf_free(&code);
}

static int write_end(struct rdb_writer *w, struct rk_err *err)
{
    rk_buf_append_byte(&w->out, 0xFF);
    if (out_flush(w, err)) return -1;
    unsigned char crc[8];
    for (int i = 0; i < 8; i++) crc[i] = (unsigned char)(w->crc >> (8 * i));
    rk_buf_append(&w->out, crc, 8);
    if (out_flush(w, err)) return -1;
    w->complete = true;
    return 0;
}

int rdb_writer_event(void *writer, const struct rdb_event *ev, struct rk_err *err)
{
    struct rdb_writer *w = writer;
    struct rk_buf *out = &w->out;
    int t = w->opt.target_version;
    bool empty;
    switch (ev->type) {
    case RDB_EVENT_START: {
        char magic[16];
        snprintf(magic, sizeof(magic), "REDIS%04d", t);
        rk_buf_append(out, magic, 9);
        if (t >= 7) {
            rk_buf_append_byte(out, 0xFA);
            enc_put_string(out, "rdbkeep-ver", 11);
            enc_put_string(out, RDBKEEP_VERSION, strlen(RDBKEEP_VERSION));
        }
        break;
    }
    case RDB_EVENT_AUX:
        if (t < 7) return 0; /* AUX came with RDB 7 */
        rk_buf_append_byte(out, 0xFA);
        enc_put_string(out, ev->u.aux.key, ev->u.aux.key_len);
        enc_put_string(out, ev->u.aux.value, ev->u.aux.value_len);
        break;
    case RDB_EVENT_SELECT_DB:
        rk_buf_append_byte(out, 0xFE);
        enc_put_len(out, (uint64_t)ev->u.db);
        break;
    case RDB_EVENT_RESIZE_DB:
        if (t < 7) return 0;
        rk_buf_append_byte(out, 0xFB);
        enc_put_len(out, ev->u.resize.db_size);
        enc_put_len(out, ev->u.resize.expires_size);
        break;
    case RDB_EVENT_SLOT_INFO:
        if (t < 12) return 0;
        rk_buf_append_byte(out, 0xF4);
        enc_put_len(out, ev->u.slot_info.slot);
        enc_put_len(out, ev->u.slot_info.slot_size);
        enc_put_len(out, ev->u.slot_info.expires_slot_size);
        break;
    case RDB_EVENT_FUNCTION:
        if (t < 10) {
            w->stats.functions_dropped++;
            return 0;
        }
        put_function(w, &ev->u.function);
        break;
    case RDB_EVENT_MODULE_AUX:
        if (t < 9) {
            w->stats.module_aux_dropped++;
            return 0;
        }
        w->module_aux_open = true;
        rk_buf_append_byte(out, 0xF7);
        enc_put_len(out, ev->u.module.id);
        enc_put_len(out, 2);
        enc_put_len(out, ev->u.module.when);
        break;
    case RDB_EVENT_MODULE_AUX_END: w->module_aux_open = false; return 0;
    case RDB_EVENT_KEY:
        w->key = ev->u.key;
        return enc_key_begin(&w->enc, ev->u.key, err);
    case RDB_EVENT_RAW: return enc_raw(&w->enc, ev->u.raw.data, ev->u.raw.len, err);
    case RDB_EVENT_VALUE:
        if (!w->module_aux_open) return enc_value(&w->enc, ev->u.value, err);
        if (ev->u.value->kind != RDB_VALUE_MODULE_DATA) return 0;
        rk_buf_append(out, ev->u.value->data, ev->u.value->len);
        break;
    case RDB_EVENT_KEY_END: return enc_key_end(&w->enc, ev->u.key, &empty, err);
    case RDB_EVENT_END: return write_end(w, err);
    }
    return out_check(w, err);
}
