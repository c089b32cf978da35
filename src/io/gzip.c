/* gzip with ISA-L: a deflate transform (one member) and an inflate transform
 * that detects gzip by its magic, passes anything else through, decodes
 * concatenated members, and names the compressed byte offset of any fault. */
#include "io/io_int.h"

#include <isa-l/igzip_lib.h>
#include <stdlib.h>
#include <string.h>

bool io_is_gzip_magic(const void *data, size_t len)
{
    const unsigned char *p = data;
    return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* ISA-L counts in 32 bits; hand it at most this much at once. */
#define ISAL_CHUNK ((size_t)1 << 30)

/* --------------------------------------------------------------- deflate -- */

struct deflate_xform {
    struct io_xform base;
    struct isal_zstream zs;
    unsigned char *level_buf;
};

static int deflate_step(struct io_xform *x, const unsigned char **in, size_t *inlen,
                        unsigned char *out, size_t outcap, size_t *produced, bool finish,
                        bool *done, struct rk_err *err)
{
    struct deflate_xform *d = (struct deflate_xform *)x;
    size_t give = *inlen < ISAL_CHUNK ? *inlen : ISAL_CHUNK;
    d->zs.next_in = (uint8_t *)*in;
    d->zs.avail_in = (uint32_t)give;
    d->zs.next_out = out;
    d->zs.avail_out = (uint32_t)(outcap < ISAL_CHUNK ? outcap : ISAL_CHUNK);
    uint32_t out_before = d->zs.avail_out;
    /* end_of_stream only once the last input is being handed over. */
    d->zs.end_of_stream = finish && give == *inlen;
    int rc = isal_deflate(&d->zs);
    if (rc != COMP_OK) return rk_err_set(err, "gzip: the ISA-L encoder failed (code %d)", rc);
    size_t used = give - d->zs.avail_in;
    *in += used;
    *inlen -= used;
    *produced = out_before - d->zs.avail_out;
    if (d->zs.end_of_stream && d->zs.internal_state.state == ZSTATE_END) *done = true;
    return 0;
}

static void deflate_free(struct io_xform *x)
{
    struct deflate_xform *d = (struct deflate_xform *)x;
    free(d->level_buf);
    free(d);
}

struct io_xform *io_deflate_xform_new(int level)
{
    static const uint32_t level_buf_sizes[] = {0, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
                                               ISAL_DEF_LVL3_DEFAULT};
    if (level < 1) level = 1;
    if (level > ISAL_DEF_MAX_LEVEL) level = ISAL_DEF_MAX_LEVEL;
    struct deflate_xform *d = xcalloc(1, sizeof(*d));
    d->base.name = "gzip";
    d->base.step = deflate_step;
    d->base.free = deflate_free;
    isal_deflate_init(&d->zs);
    d->zs.level = (uint32_t)level;
    d->zs.level_buf_size = level_buf_sizes[level];
    d->level_buf = xmalloc(d->zs.level_buf_size);
    d->zs.level_buf = d->level_buf;
    d->zs.gzip_flag = IGZIP_GZIP;
    d->zs.flush = NO_FLUSH;
    return &d->base;
}

struct io_sink *io_gzip_sink_new(struct io_sink *next, int level)
{
    return io_xform_sink_new(next, io_deflate_xform_new(level));
}

struct io_source *io_gzip_source_new(struct io_source *upstream, int level)
{
    return io_xform_source_new(upstream, io_deflate_xform_new(level));
}

/* --------------------------------------------------------------- inflate -- */

enum inflate_mode {
    MODE_DETECT,  /* before the first two bytes: gzip or not? */
    MODE_PASS,    /* not gzip: copy */
    MODE_MEMBER,  /* inside a gzip member */
    MODE_BETWEEN, /* after a member: end, or the magic of the next one */
    MODE_DONE,
};

struct inflate_xform {
    struct io_xform base;
    struct inflate_state st;
    enum inflate_mode mode;
    unsigned char pend[2]; /* bytes held while deciding what comes next */
    size_t npend, pend_pos;
    uint64_t in_off;       /* compressed bytes consumed so far */
    uint64_t member_start; /* offset of the current member's header */
    uint64_t out_total;
    struct io_gunzip_opts opts;
    struct io_gunzip_info info_local;
    struct io_gunzip_info *info;
};

static const char *isal_error_text(int rc)
{
    switch (rc) {
    case ISAL_INVALID_BLOCK: return "invalid deflate block";
    case ISAL_INVALID_SYMBOL: return "invalid deflate code (corrupt data)";
    case ISAL_INVALID_LOOKBACK: return "back-reference before the start of the data (corrupt data)";
    case ISAL_INVALID_WRAPPER: return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method (not deflate)";
    case ISAL_INCORRECT_CHECKSUM:
        return "CRC-32 or length in the gzip trailer does not match the data";
    case ISAL_NEED_DICT: return "the stream needs a preset dictionary";
    default: return "corrupt data";
    }
}

static void begin_member(struct inflate_xform *f)
{
    isal_inflate_reset(&f->st);
    f->st.crc_flag = ISAL_GZIP;
    f->member_start = f->in_off;
    f->mode = MODE_MEMBER;
    f->info->gzip = true;
}

/* Runs the decoder over one input region; updates counters and the mode. */
static int inflate_region(struct inflate_xform *f, const unsigned char *src, size_t srclen,
                          size_t *consumed, unsigned char *out, size_t outcap, size_t *produced,
                          struct rk_err *err)
{
    size_t give = srclen < ISAL_CHUNK ? srclen : ISAL_CHUNK;
    f->st.next_in = (uint8_t *)src;
    f->st.avail_in = (uint32_t)give;
    f->st.next_out = out;
    f->st.avail_out = (uint32_t)(outcap < ISAL_CHUNK ? outcap : ISAL_CHUNK);
    uint32_t out_before = f->st.avail_out;
    int rc = isal_inflate(&f->st);
    *consumed = give - f->st.avail_in;
    *produced = out_before - f->st.avail_out;
    f->in_off += *consumed;
    f->out_total += *produced;
    f->info->bytes_in = f->in_off;
    f->info->bytes_out = f->out_total;
    if (rc < 0)
        return rk_err_set(
            err, "gzip: %s in member %llu (starting at byte %llu), at compressed byte %llu",
            isal_error_text(rc), (unsigned long long)f->info->members + 1,
            (unsigned long long)f->member_start, (unsigned long long)f->in_off);
    if (f->opts.max_output && f->out_total > f->opts.max_output)
        return rk_err_set(
            err,
            "gzip: decompressed data exceeds the limit of %llu bytes (at compressed byte %llu); "
            "refusing a possible decompression bomb",
            (unsigned long long)f->opts.max_output, (unsigned long long)f->in_off);
    if (f->opts.max_ratio && f->out_total > (1u << 20) &&
        f->out_total / (f->in_off ? f->in_off : 1) > f->opts.max_ratio)
        return rk_err_set(err,
                          "gzip: expands more than %u times (%llu bytes from %llu compressed); "
                          "refusing a possible decompression bomb",
                          f->opts.max_ratio, (unsigned long long)f->out_total,
                          (unsigned long long)f->in_off);
    if (f->st.block_state == ISAL_BLOCK_FINISH) {
        f->info->members++;
        f->mode = MODE_BETWEEN;
        f->npend = f->pend_pos = 0;
    }
    return 0;
}

static int inflate_step(struct io_xform *x, const unsigned char **in, size_t *inlen,
                        unsigned char *out, size_t outcap, size_t *produced, bool finish,
                        bool *done, struct rk_err *err)
{
    struct inflate_xform *f = (struct inflate_xform *)x;
    *produced = 0;
    for (;;) {
        switch (f->mode) {
        case MODE_DETECT:
        case MODE_BETWEEN:
            while (f->npend < 2 && *inlen > 0) {
                f->pend[f->npend++] = **in;
                (*in)++;
                (*inlen)--;
            }
            if (f->npend < 2) {
                if (!finish) return 0;
                if (f->mode == MODE_DETECT) {
                    if (f->opts.require_gzip)
                        return rk_err_set(err,
                                          "gzip: the input is not gzip (%zu bytes, no gzip header)",
                                          f->npend);
                    f->mode = MODE_PASS;
                    continue;
                }
                if (f->npend == 0) {
                    f->mode = MODE_DONE;
                    continue;
                }
                return rk_err_set(err, "gzip: unexpected data after member %llu, at byte %llu",
                                  (unsigned long long)f->info->members,
                                  (unsigned long long)f->in_off);
            }
            if (io_is_gzip_magic(f->pend, 2)) {
                f->pend_pos = 0;
                begin_member(f);
            } else if (f->mode == MODE_DETECT) {
                if (f->opts.require_gzip)
                    return rk_err_set(err, "gzip: the input is not gzip (it starts with %02x %02x)",
                                      f->pend[0], f->pend[1]);
                f->pend_pos = 0;
                f->mode = MODE_PASS;
            } else {
                return rk_err_set(
                    err,
                    "gzip: unexpected data after member %llu, at byte %llu (not a gzip header)",
                    (unsigned long long)f->info->members, (unsigned long long)f->in_off);
            }
            continue;

        case MODE_PASS: {
            size_t room = outcap - *produced;
            while (f->pend_pos < f->npend && room > 0) {
                out[(*produced)++] = f->pend[f->pend_pos++];
                f->in_off++;
                room--;
            }
            size_t n = *inlen < room ? *inlen : room;
            if (n) memcpy(out + *produced, *in, n);
            *in += n;
            *inlen -= n;
            *produced += n;
            f->in_off += n;
            f->out_total = f->in_off;
            f->info->bytes_in = f->info->bytes_out = f->in_off;
            if (finish && *inlen == 0 && f->pend_pos == f->npend) *done = true;
            return 0;
        }

        case MODE_MEMBER: {
            size_t used, made;
            if (f->pend_pos < f->npend) {
                /* The two magic bytes held back while deciding. */
                if (inflate_region(f, f->pend + f->pend_pos, f->npend - f->pend_pos, &used,
                                   out + *produced, outcap - *produced, &made, err) < 0)
                    return -1;
                f->pend_pos += used;
                *produced += made;
                if (f->mode != MODE_MEMBER) continue;
                if (f->pend_pos < f->npend) return 0; /* output full */
            }
            if (*inlen == 0 && !finish) return 0;
            size_t room = outcap - *produced;
            if (room == 0) return 0;
            if (inflate_region(f, *in, *inlen, &used, out + *produced, room, &made, err) < 0)
                return -1;
            *in += used;
            *inlen -= used;
            *produced += made;
            if (f->mode != MODE_MEMBER) continue;
            if (finish && *inlen == 0 && made < room)
                return rk_err_set(err,
                                  "gzip: truncated: the input ends inside member %llu (which "
                                  "starts at byte %llu), "
                                  "after %llu compressed bytes",
                                  (unsigned long long)f->info->members + 1,
                                  (unsigned long long)f->member_start,
                                  (unsigned long long)f->in_off);
            if (used == 0 && made == 0)
                return rk_err_set(err, "gzip: the decoder made no progress at byte %llu",
                                  (unsigned long long)f->in_off);
            return 0;
        }

        case MODE_DONE: *done = true; return 0;
        }
    }
}

static void inflate_free(struct io_xform *x)
{
    free(x);
}

struct io_xform *io_inflate_xform_new(const struct io_gunzip_opts *opts)
{
    struct inflate_xform *f = xcalloc(1, sizeof(*f));
    f->base.name = "gunzip";
    f->base.step = inflate_step;
    f->base.free = inflate_free;
    isal_inflate_init(&f->st);
    if (opts) f->opts = *opts;
    f->info = f->opts.info ? f->opts.info : &f->info_local;
    memset(f->info, 0, sizeof(*f->info));
    f->mode = MODE_DETECT;
    return &f->base;
}

struct io_source *io_gunzip_source_new(struct io_source *upstream,
                                       const struct io_gunzip_opts *opts)
{
    return io_xform_source_new(upstream, io_inflate_xform_new(opts));
}

struct io_sink *io_gunzip_sink_new(struct io_sink *next, const struct io_gunzip_opts *opts)
{
    return io_xform_sink_new(next, io_inflate_xform_new(opts));
}
