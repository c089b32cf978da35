/* The codecs against RDB files real Redis and Valkey servers wrote
 * (tests/data/rdb-corpus): an oracle we did not compute ourselves.
 *
 *  - CRC64: the trailer of every checksummed file equals our CRC of the
 *    bytes before it, through ISA-L and the portable code alike.
 *  - LZF: every compressed string decompresses (one-shot and streamed, fed in
 *    odd pieces) to the length the file claims, and recompressing it with our
 *    compressor round-trips.
 *  - Builders: every ziplist, listpack and intset is decoded here, rebuilt
 *    from the entries' text with our builders, and compared byte for byte.
 *
 * A minimal walker finds the values; it understands the top-level opcodes and
 * the value types that hold plain strings and blobs, and stops at the first
 * thing it does not (streams, modules), keeping what it found before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/codec.h"

#define CORPUS_DIR RK_TEST_DATA_DIR "/rdb-corpus"

struct tally {
    size_t files, crc_ok, crc_zero;
    size_t lzf, ziplist, listpack, intset;
    size_t noncanonical; /* blobs with wider fields than a fresh build: not compared */
    size_t intset_wide;  /* wider than needed: Redis never narrows */
};

struct walker {
    const char *name;
    const unsigned char *p, *end;
    int version;
    struct tally *t;
};

/* A file whose walk fails is listed here with the reason; any other failure
 * is a test failure. */
static const char *const expected_bad[] = {
    "corrupt_ziplist.rdb",          /* deliberately broken ziplist (Redis's own test asset) */
    "corrupt_empty_keys.rdb",       /* empty blobs in every encoding */
    "invalid_chksum_v8.rdb",        /* deliberately wrong CRC */
    "future_v19.rdb",               /* version 99, wrong CRC on purpose */
    "redis_ent_opcode_ram_lru.rdb", /* Redis Enterprise opcode 107 */
    /* crafted from encodings-rdb12.rdb by changing bytes, keeping its CRC */
    "encodings-rdb75-unknown-types.rdb",
    "encodings-rdb987-unknown-types.rdb",
    "encodings-rdb987.rdb",
    NULL,
};

static bool is_expected_bad(const char *path)
{
    for (size_t i = 0; expected_bad[i]; i++) {
        size_t n = strlen(expected_bad[i]), len = strlen(path);
        if (len >= n && strcmp(path + len - n, expected_bad[i]) == 0) return true;
    }
    return false;
}

static bool take(struct walker *w, size_t n, const unsigned char **out)
{
    if ((size_t)(w->end - w->p) < n) return false;
    *out = w->p;
    w->p += n;
    return true;
}

/* RDB length; *special is set for the 11xxxxxx string encodings. */
static bool read_len(struct walker *w, uint64_t *len, int *special)
{
    const unsigned char *b;
    if (special) *special = -1;
    if (!take(w, 1, &b)) return false;
    switch (b[0] >> 6) {
    case 0: *len = b[0] & 0x3f; return true;
    case 1: {
        const unsigned char *c;
        if (!take(w, 1, &c)) return false;
        *len = (uint64_t)(b[0] & 0x3f) << 8 | c[0];
        return true;
    }
    case 2: {
        size_t n = b[0] == 0x80 ? 4 : b[0] == 0x81 ? 8 : 0;
        const unsigned char *c;
        if (!n || !take(w, n, &c)) return false;
        *len = 0;
        for (size_t i = 0; i < n; i++) *len = *len << 8 | c[i];
        return true;
    }
    default:
        if (!special) return false;
        *special = b[0] & 0x3f;
        return true;
    }
}

static size_t split_odd(size_t i)
{
    static const size_t sizes[] = {1, 2, 3, 7, 64, 1, 1000, 5};
    return sizes[i % 8];
}

static int append_emit(void *ctx, const unsigned char *data, size_t len)
{
    rk_buf_append(ctx, data, len);
    return 0;
}

static void check_lzf(struct walker *w, const unsigned char *in, size_t clen, size_t len,
                      struct rk_buf *out)
{
    struct rk_err err = {{0}};
    rk_buf_reset(out);
    rk_buf_reserve(out, len + 1);
    if (rdb_lzf_decompress(in, clen, out->data, len, &err) != 0)
        fail_msg("%s: LZF string of %zu bytes: %s", w->name, clen, err.msg);
    out->len = len;

    struct rk_buf streamed = {0};
    struct rdb_lzf_stream s;
    rdb_lzf_stream_init(&s, len);
    size_t at = 0;
    for (size_t i = 0; at < clen; i++) {
        size_t n = split_odd(i);
        if (n > clen - at) n = clen - at;
        if (rdb_lzf_stream_feed(&s, in + at, n, append_emit, &streamed, &err) != 0)
            fail_msg("%s: streamed LZF: %s", w->name, err.msg);
        at += n;
    }
    if (rdb_lzf_stream_finish(&s, append_emit, &streamed, &err) != 0)
        fail_msg("%s: streamed LZF: %s", w->name, err.msg);
    rdb_lzf_stream_free(&s);
    assert_int_equal(streamed.len, len);
    assert_memory_equal(streamed.data, out->data, len);
    rk_buf_free(&streamed);

    /* Our compressor on the same data: it must round-trip, and with Redis's
     * budget (len - 4) it must not do much worse than Redis did. */
    size_t cap = len + len / 32 + 2;
    unsigned char *packed = malloc(cap), *back = malloc(len);
    size_t plen = rdb_lzf_compress(out->data, len, packed, cap);
    assert_true(plen > 0);
    assert_int_equal(rdb_lzf_decompress(packed, plen, back, len, &err), 0);
    assert_memory_equal(back, out->data, len);
    if (plen > clen + clen / 10 + 16)
        fail_msg("%s: our LZF gives %zu bytes where Redis gave %zu", w->name, plen, clen);
    free(packed);
    free(back);
    w->t->lzf++;
}

/* Reads an RDB string into out (decompressed, integers as text). */
static bool read_string(struct walker *w, struct rk_buf *out)
{
    uint64_t len;
    int special;
    if (!read_len(w, &len, &special)) return false;
    rk_buf_reset(out);
    if (special < 0) {
        const unsigned char *b;
        if (!take(w, len, &b)) return false;
        rk_buf_append(out, b, len);
        return true;
    }
    if (special <= 2) {
        size_t n = (size_t)1 << special;
        const unsigned char *b;
        if (!take(w, n, &b)) return false;
        int64_t v = 0;
        for (size_t i = 0; i < n; i++) v |= (int64_t)b[i] << (8 * i);
        if (n == 1) v = (int8_t)v;
        if (n == 2) v = (int16_t)v;
        if (n == 4) v = (int32_t)v;
        char text[21];
        rk_buf_append(out, text, rdb_ll_to_str(v, text));
        return true;
    }
    if (special != 3) return false;
    uint64_t clen, ulen;
    const unsigned char *b;
    if (!read_len(w, &clen, NULL) || !read_len(w, &ulen, NULL) || !take(w, clen, &b)) return false;
    check_lzf(w, b, clen, ulen, out);
    return true;
}

/* ---- blob decoders (just enough to get the entries back) ------------------ */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t le_signed(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    unsigned shift = (unsigned)(64 - 8 * n);
    return (int64_t)(v << shift) >> shift;
}

static void add_text(struct rk_buf *texts, const void *s, size_t n)
{
    uint32_t len = (uint32_t)n;
    rk_buf_append(texts, &len, sizeof(len));
    rk_buf_append(texts, s, n);
}

static void add_int_text(struct rk_buf *texts, int64_t v)
{
    char t[21];
    add_text(texts, t, rdb_ll_to_str(v, t));
}

/* Bytes the smallest integer encoding of v takes after the type byte; for a
 * ziplist, 0..12 fit in the type byte itself. */
static size_t zl_int_width(int64_t v)
{
    if (v >= 0 && v <= 12) return 0;
    if (v >= INT8_MIN && v <= INT8_MAX) return 1;
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= -(1 << 23) && v < (1 << 23)) return 3;
    if (v >= INT32_MIN && v <= INT32_MAX) return 4;
    return 8;
}

/* Ziplist entries as length-prefixed texts; false if malformed. *canonical
 * is cleared if some field is wider than a fresh push would make it, which
 * happens in real files: a ziplist is saved and loaded verbatim, so one made
 * by Redis 2.4 (no 8-bit or immediate integers) or reshaped by a cascade
 * update keeps that layout through later versions. */
static bool ziplist_entries(const unsigned char *zl, size_t size, struct rk_buf *texts,
                            bool *canonical)
{
    if (size < 11 || le32(zl) != size || zl[size - 1] != 0xff) return false;
    size_t at = 10, prev_size = 0, count = 0, last = 10;
    while (at < size - 1) {
        size_t start = at;
        size_t prevlen = zl[at];
        if (zl[at] == 0xfe) {
            if (at + 5 > size - 1) return false;
            prevlen = le32(zl + at + 1);
            if (prevlen < 254) *canonical = false;
            at += 5;
        } else {
            at += 1;
        }
        if (prevlen != prev_size || at >= size - 1) return false;
        unsigned char e = zl[at];
        size_t hlen, dlen;
        if (e >> 6 == 0) {
            hlen = 1;
            dlen = e & 0x3f;
        } else if (e >> 6 == 1) {
            hlen = 2;
            dlen = (size_t)(e & 0x3f) << 8 | zl[at + 1];
            if (dlen <= 63) *canonical = false;
        } else if (e == 0x80) {
            hlen = 5;
            dlen = (size_t)zl[at + 1] << 24 | (size_t)zl[at + 2] << 16 | (size_t)zl[at + 3] << 8 |
                   zl[at + 4];
            if (dlen <= 16383) *canonical = false;
        } else {
            size_t n = e == 0xc0   ? 2
                       : e == 0xd0 ? 4
                       : e == 0xe0 ? 8
                       : e == 0xf0 ? 3
                       : e == 0xfe ? 1
                                   : 0;
            int64_t v;
            if (e >= 0xf1 && e <= 0xfd) {
                v = (e & 0x0f) - 1;
            } else {
                if (!n || at + 1 + n > size - 1) return false;
                v = le_signed(zl + at + 1, n);
            }
            if (zl_int_width(v) != n) *canonical = false;
            add_int_text(texts, v);
            hlen = 1 + n;
            dlen = 0;
        }
        if (dlen) {
            if (at + hlen + dlen > size - 1) return false;
            add_text(texts, zl + at + hlen, dlen);
        } else if (e >> 6 != 3) {
            add_text(texts, "", 0);
        }
        at += hlen + dlen;
        prev_size = at - start;
        last = start;
        count++;
    }
    size_t zllen = (size_t)zl[8] | (size_t)zl[9] << 8;
    if (le32(zl + 4) != last || (zllen != 0xffff && zllen != count)) *canonical = false;
    if (count >= 0xffff && zllen != 0xffff) *canonical = false;
    return at == size - 1;
}

static size_t lp_int_width(int64_t v)
{
    if (v >= 0 && v <= 127) return 1;
    if (v >= -4096 && v <= 4095) return 2;
    if (v >= INT16_MIN && v <= INT16_MAX) return 3;
    if (v >= -(1 << 23) && v < (1 << 23)) return 4;
    if (v >= INT32_MIN && v <= INT32_MAX) return 5;
    return 9;
}

static bool listpack_entries(const unsigned char *lp, size_t size, struct rk_buf *texts,
                             bool *canonical)
{
    if (size < 7 || le32(lp) != size || lp[size - 1] != 0xff) return false;
    size_t at = 6, count = 0;
    while (at < size - 1) {
        unsigned char e = lp[at];
        size_t elen;
        int64_t v = 0;
        bool is_int = false;
        if (e < 0x80) {
            v = e;
            is_int = true;
            elen = 1;
        } else if (e >> 6 == 2) {
            elen = 1 + (e & 0x3f);
            if (at + elen > size - 1) return false;
            add_text(texts, lp + at + 1, e & 0x3f);
        } else if (e >> 5 == 6) {
            v = (int64_t)((e & 0x1f) << 8 | lp[at + 1]);
            if (v >= 4096) v -= 8192;
            is_int = true;
            elen = 2;
        } else if (e >> 4 == 14) {
            size_t n = (size_t)(e & 0x0f) << 8 | lp[at + 1];
            elen = 2 + n;
            if (at + elen > size - 1) return false;
            if (n < 64) *canonical = false;
            add_text(texts, lp + at + 2, n);
        } else if (e == 0xf0) {
            if (at + 5 > size - 1) return false;
            size_t n = le32(lp + at + 1);
            elen = 5 + n;
            if (at + elen > size - 1) return false;
            if (n < 4096) *canonical = false;
            add_text(texts, lp + at + 5, n);
        } else if (e >= 0xf1 && e <= 0xf4) {
            size_t n = e == 0xf1 ? 2 : e == 0xf2 ? 3 : e == 0xf3 ? 4 : 8;
            if (at + 1 + n > size - 1) return false;
            v = le_signed(lp + at + 1, n);
            is_int = true;
            elen = 1 + n;
        } else {
            return false;
        }
        if (is_int) {
            if (lp_int_width(v) != elen) *canonical = false;
            add_int_text(texts, v);
        }
        size_t back = elen <= 127        ? 1
                      : elen < 16383     ? 2
                      : elen < 2097151   ? 3
                      : elen < 268435455 ? 4
                                         : 5;
        at += elen + back;
        count++;
    }
    size_t num = (size_t)lp[4] | (size_t)lp[5] << 8;
    if (num != 65535 && num != count) *canonical = false;
    if (count >= 65535 && num != 65535) *canonical = false;
    return at == size - 1;
}

static void dump_pair(const unsigned char *ours, size_t ours_len, const unsigned char *theirs,
                      size_t theirs_len)
{
    fprintf(stderr, "ours:  ");
    for (size_t i = 0; i < ours_len; i++) fprintf(stderr, "%02x ", ours[i]);
    fprintf(stderr, "\nRedis: ");
    for (size_t i = 0; i < theirs_len; i++) fprintf(stderr, "%02x ", theirs[i]);
    fprintf(stderr, "\n");
}

static void check_ziplist(struct walker *w, const struct rk_buf *blob)
{
    struct rk_buf texts = {0};
    bool canonical = true;
    if (!ziplist_entries(blob->data, blob->len, &texts, &canonical))
        fail_msg("%s: bad ziplist", w->name);
    if (!canonical) {
        w->t->noncanonical++;
        rk_buf_free(&texts);
        return;
    }
    struct rdb_ziplist_builder z;
    rdb_ziplist_init(&z);
    for (size_t at = 0; at < texts.len;) {
        uint32_t n;
        memcpy(&n, texts.data + at, sizeof(n));
        rdb_ziplist_add(&z, texts.data + at + 4, n);
        at += 4 + n;
    }
    rdb_ziplist_finish(&z);
    if (z.buf.len != blob->len || memcmp(z.buf.data, blob->data, blob->len) != 0) {
        dump_pair(z.buf.data, z.buf.len, blob->data, blob->len);
        fail_msg("%s: rebuilt ziplist of %u entries differs from Redis's", w->name, z.count);
    }
    rdb_ziplist_free(&z);
    rk_buf_free(&texts);
    w->t->ziplist++;
}

static void check_listpack(struct walker *w, const struct rk_buf *blob)
{
    struct rk_buf texts = {0};
    bool canonical = true;
    if (!listpack_entries(blob->data, blob->len, &texts, &canonical))
        fail_msg("%s: bad listpack", w->name);
    if (!canonical) {
        w->t->noncanonical++;
        rk_buf_free(&texts);
        return;
    }
    struct rdb_listpack_builder l;
    rdb_listpack_init(&l);
    for (size_t at = 0; at < texts.len;) {
        uint32_t n;
        memcpy(&n, texts.data + at, sizeof(n));
        rdb_listpack_add(&l, texts.data + at + 4, n);
        at += 4 + n;
    }
    rdb_listpack_finish(&l);
    if (l.buf.len != blob->len || memcmp(l.buf.data, blob->data, blob->len) != 0)
        fail_msg("%s: rebuilt listpack of %u entries differs from Redis's", w->name, l.count);
    rdb_listpack_free(&l);
    rk_buf_free(&texts);
    w->t->listpack++;
}

static void check_intset(struct walker *w, const struct rk_buf *blob)
{
    const unsigned char *p = blob->data;
    if (blob->len < 8) fail_msg("%s: bad intset", w->name);
    uint32_t width = le32(p), count = le32(p + 4);
    if ((width != 2 && width != 4 && width != 8) || blob->len != 8 + (size_t)width * count)
        fail_msg("%s: bad intset", w->name);
    struct rdb_intset_builder s;
    rdb_intset_init(&s);
    for (uint32_t i = 0; i < count; i++) rdb_intset_add(&s, le_signed(p + 8 + i * width, width));
    assert_int_equal(rdb_intset_finish(&s), 0);
    if (le32(s.buf.data) < width) {
        /* Redis widened it for a value since removed; the values must agree. */
        w->t->intset_wide++;
        for (uint32_t i = 0; i < count; i++)
            assert_true(s.values[i] == le_signed(p + 8 + i * width, width));
    } else if (s.buf.len != blob->len || memcmp(s.buf.data, blob->data, blob->len) != 0) {
        fail_msg("%s: rebuilt intset of %u values differs from Redis's", w->name, count);
    }
    rdb_intset_free(&s);
    w->t->intset++;
}

/* ---- the walk ------------------------------------------------------------ */

enum walk_result { WALK_EOF, WALK_STOPPED, WALK_BROKEN };

static enum walk_result walk_value(struct walker *w, unsigned type, struct rk_buf *s)
{
    uint64_t n;
    const unsigned char *b;
    switch (type) {
    case 0: return read_string(w, s) ? WALK_EOF : WALK_BROKEN;
    case 1:
    case 2:
        if (!read_len(w, &n, NULL)) return WALK_BROKEN;
        while (n--)
            if (!read_string(w, s)) return WALK_BROKEN;
        return WALK_EOF;
    case 3:
    case 5:
        if (!read_len(w, &n, NULL)) return WALK_BROKEN;
        while (n--) {
            if (!read_string(w, s) || !take(w, 1, &b)) return WALK_BROKEN;
            if (type == 5) {
                if (!take(w, 7, &b)) return WALK_BROKEN;
            } else if (b[0] < 253) {
                double d;
                const unsigned char *text;
                if (!take(w, b[0], &text)) return WALK_BROKEN;
                assert_true(rdb_str_to_double(text, b[0], &d));
            }
        }
        return WALK_EOF;
    case 4:
        if (!read_len(w, &n, NULL)) return WALK_BROKEN;
        while (n--)
            if (!read_string(w, s) || !read_string(w, s)) return WALK_BROKEN;
        return WALK_EOF;
    case 9: return read_string(w, s) ? WALK_EOF : WALK_BROKEN; /* zipmap: not ours */
    case 10:
    case 12:
    case 13:
        if (!read_string(w, s)) return WALK_BROKEN;
        check_ziplist(w, s);
        return WALK_EOF;
    case 11:
        if (!read_string(w, s)) return WALK_BROKEN;
        check_intset(w, s);
        return WALK_EOF;
    case 14:
        if (!read_len(w, &n, NULL)) return WALK_BROKEN;
        while (n--) {
            if (!read_string(w, s)) return WALK_BROKEN;
            check_ziplist(w, s);
        }
        return WALK_EOF;
    case 16:
    case 17:
    case 20:
        if (!read_string(w, s)) return WALK_BROKEN;
        check_listpack(w, s);
        return WALK_EOF;
    case 18:
        if (!read_len(w, &n, NULL)) return WALK_BROKEN;
        while (n--) {
            uint64_t container;
            if (!read_len(w, &container, NULL) || !read_string(w, s)) return WALK_BROKEN;
            if (container == 2) check_listpack(w, s);
        }
        return WALK_EOF;
    default: return WALK_STOPPED; /* streams, modules, hash TTLs: not needed here */
    }
}

static enum walk_result walk(struct walker *w)
{
    struct rk_buf s = {0};
    enum walk_result r = WALK_STOPPED;
    uint64_t n;
    const unsigned char *b;
    for (;;) {
        if (!take(w, 1, &b)) {
            r = WALK_BROKEN;
            break;
        }
        unsigned op = b[0];
        if (op == 0xff) {
            r = WALK_EOF;
            break;
        }
        bool ok = true;
        switch (op) {
        case 0xfa: ok = read_string(w, &s) && read_string(w, &s); break;
        case 0xfb: ok = read_len(w, &n, NULL) && read_len(w, &n, NULL); break;
        case 0xfe: ok = read_len(w, &n, NULL); break;
        case 0xfd: ok = take(w, 4, &b); break;
        case 0xfc: ok = take(w, 8, &b); break;
        case 0xf8: ok = read_len(w, &n, NULL); break;
        case 0xf9: ok = take(w, 1, &b); break;
        case 0xf5: ok = read_string(w, &s); break; /* function library */
        default: {
            if (op >= 0xf0) {
                rk_buf_free(&s);
                return WALK_STOPPED;
            }
            if (!read_string(w, &s)) {
                ok = false;
                break;
            }
            enum walk_result v = walk_value(w, op, &s);
            if (v != WALK_EOF) {
                rk_buf_free(&s);
                return v;
            }
        }
        }
        if (!ok) {
            r = WALK_BROKEN;
            break;
        }
    }
    rk_buf_free(&s);
    return r;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct rk_buf b = {0};
    unsigned char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) rk_buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return b.data ? b.data : calloc(1, 1);
}

static void check_file(const char *path, struct tally *t)
{
    size_t len = 0;
    unsigned char *data = slurp(path, &len);
    if (!data) fail_msg("cannot read %s", path);
    /* "REDIS" + 4 digits or "VALKEY" + 3 digits */
    int version = -1;
    size_t hdr = 9, digits = 0;
    if (len >= hdr && memcmp(data, "REDIS", 5) == 0)
        digits = 4;
    else if (len >= hdr && memcmp(data, "VALKEY", 6) == 0)
        digits = 3;
    if (digits) {
        version = 0;
        for (size_t i = hdr - digits; i < hdr; i++) {
            if (data[i] < '0' || data[i] > '9') version = -1;
            if (version >= 0) version = version * 10 + (data[i] - '0');
        }
    }
    if (version < 0) { /* not an RDB file (e.g. an AOF) */
        free(data);
        return;
    }
    t->files++;
    bool bad = is_expected_bad(path);

    /* The CRC covers everything up to and including the EOF byte. */
    if (version >= 5 && len >= hdr + 9 && data[len - 9] == 0xff) {
        uint64_t stored = 0;
        for (int i = 0; i < 8; i++) stored |= (uint64_t)data[len - 8 + i] << (8 * i);
        uint64_t ours = rdb_crc64(0, data, len - 8);
        assert_true(ours == rdb_crc64_portable(0, data, len - 8));
        if (stored == 0)
            t->crc_zero++;
        else if (stored == ours)
            t->crc_ok++;
        else if (!bad)
            fail_msg("%s: CRC %016llx, file says %016llx", path, (unsigned long long)ours,
                     (unsigned long long)stored);
    }
    if (bad) {
        free(data);
        return;
    }
    struct walker w = {
        .name = path, .p = data + hdr, .end = data + len, .version = version, .t = t};
    enum walk_result r = walk(&w);
    if (r == WALK_BROKEN) fail_msg("%s: walk failed near byte %zu", path, (size_t)(w.p - data));
    free(data);
}

static void test_corpus(void **state)
{
    FILE *m = fopen(CORPUS_DIR "/manifest.tsv", "r");
    if (!m) fail_msg("cannot open %s", CORPUS_DIR "/manifest.tsv");
    struct tally t = {0};
    char line[4096];
    while (fgets(line, sizeof(line), m)) {
        char *cols[6] = {0};
        char *save = NULL, *tok = strtok_r(line, "\t\n", &save);
        for (int i = 0; tok && i < 6; i++, tok = strtok_r(NULL, "\t\n", &save)) cols[i] = tok;
        if (!cols[3]) continue;
        size_t l = strlen(cols[3]);
        if (l < 4 || strcmp(cols[3] + l - 4, ".rdb") != 0) continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s/%s", CORPUS_DIR, cols[0], cols[3]);
        check_file(path, &t);
    }
    fclose(m);
    print_message("corpus: %zu RDB files, %zu CRCs matched (%zu stored as 0), %zu LZF strings, "
                  "%zu ziplists, %zu listpacks, %zu intsets (%zu "
                  "wider than needed)\n",
                  t.files, t.crc_ok, t.crc_zero, t.lzf, t.ziplist, t.listpack, t.intset,
                  t.intset_wide);
    print_message("corpus: %zu blobs laid out wider than a fresh build (old encodings kept "
                  "verbatim), not compared\n",
                  t.noncanonical);
    /* The corpus has plenty of each; a walker that silently found nothing
     * must not pass. */
    assert_true(t.files >= 100);
    assert_true(t.crc_ok >= 50);
    assert_true(t.lzf >= 10);
    assert_true(t.ziplist >= 10);
    assert_true(t.listpack >= 10);
    assert_true(t.intset >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
