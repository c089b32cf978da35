/* The RDB reader: the driver, the file-level opcodes, lengths and strings.
 * Values are in reader_value.c and reader_stream.c. */
#include "rdb/reader_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* LZF strings up to this size are decompressed in one go when their
 * compressed bytes are at hand; bigger ones stream through the LZF decoder. */
#define LZF_ONESHOT_MAX (1u << 20)
#define KEY_META_MAX    (1u << 20)

char *rdb_quote(const unsigned char *s, size_t len, size_t max, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen == 0) return out;
    for (size_t i = 0; i < len; i++) {
        if (i == max || o + 8 >= outlen) {
            if (o + 4 < outlen) {
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
        }
    }
    out[o] = '\0';
    return out;
}

static int verror_at(struct rdb_reader *r, uint64_t offset, const char *fmt, va_list ap)
{
    char what[RK_ERR_MAX];
    vsnprintf(what, sizeof(what), fmt, ap);
    if (r->in_key) {
        char key[160];
        rdb_quote(r->key.key, r->key.key_len, 64, key, sizeof(key));
        rk_err_set(r->err, "offset %llu: key \"%s\" (%s, %s): %s", (unsigned long long)offset, key,
                   rdb_kind_name(rdb_encoding_kind(r->enc)), rdb_encoding_name(r->enc), what);
    } else {
        rk_err_set(r->err, "offset %llu: %s", (unsigned long long)offset, what);
    }
    return RD_ERR;
}

int rd_error(struct rdb_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror_at(r, r->w.pos, fmt, ap);
    va_end(ap);
    return RD_ERR;
}

static int error_at(struct rdb_reader *r, uint64_t offset, const char *fmt, ...) RK_PRINTF(3, 4);
static int error_at(struct rdb_reader *r, uint64_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror_at(r, offset, fmt, ap);
    va_end(ap);
    return RD_ERR;
}

/* ---- Handler calls ---------------------------------------------------------- */

int rd_emit(struct rdb_reader *r, const struct rdb_event *ev)
{
    r->err->msg[0] = '\0';
    if (r->handler(r->ctx, ev, r->err) == 0) return RD_OK;
    if (!r->err->msg[0]) rk_err_set(r->err, "stopped by the event handler");
    r->handler_failed = true;
    return RD_ERR;
}

void rd_value_reset(struct rdb_reader *r, enum rdb_value_kind kind)
{
    memset(&r->v, 0, sizeof(r->v));
    r->v.kind = kind;
}

int rd_emit_value(struct rdb_reader *r)
{
    struct rdb_event ev = {.type = RDB_EVENT_VALUE, .offset = r->w.pos, .u.value = &r->v};
    return rd_emit(r, &ev);
}

/* Every consumed byte passes here once, in order: the CRC, the raw tap, and
 * the captures of module data and key metadata. */
/* The CRC of consumed chunk bytes is taken lazily, over the longest run of
 * adjacent spans: the raw tap cuts spans at every key, and many small CRC
 * calls cost far more than one long one. */
static void crc_settle(struct rdb_reader *r)
{
    if (r->crc_from != r->crc_to) r->crc = rdb_crc64(r->crc, r->crc_from, (size_t)(r->crc_to - r->crc_from));
    r->crc_from = r->crc_to = NULL;
}

static void crc_add(struct rdb_reader *r, const unsigned char *data, size_t len)
{
    bool in_chunk = data >= r->chunk && data + len <= r->chunk_end;
    if (in_chunk && data == r->crc_to) {
        r->crc_to += len;
        return;
    }
    crc_settle(r);
    if (in_chunk) {
        r->crc_from = data;
        r->crc_to = data + len;
    } else {
        r->crc = rdb_crc64(r->crc, data, len); /* carried bytes: the buffer is reused */
    }
}

static void observe(void *ctx, const unsigned char *data, size_t len)
{
    struct rdb_reader *r = ctx;
    if (r->crc_on) crc_add(r, data, len);
    if (r->handler_failed) return;
    if (r->tap) {
        struct rdb_event ev = {.type = RDB_EVENT_RAW, .offset = r->w.pos};
        ev.u.raw.data = data;
        ev.u.raw.len = len;
        rd_emit(r, &ev);
    }
    if (r->capture == CAPTURE_MODULE && (!r->in_key || (r->want & RDB_WANT_VALUES))) {
        rd_value_reset(r, RDB_VALUE_MODULE_DATA);
        r->v.data = data;
        r->v.len = len;
        rd_emit_value(r);
    } else if (r->capture == CAPTURE_META) {
        rk_buf_append(&r->keymeta, data, len);
    }
}

void rd_set_capture(struct rdb_reader *r, enum rd_capture capture)
{
    rdb_window_flush(&r->w);
    r->capture = capture;
}

/* ---- Lengths ---------------------------------------------------------------- */

/* Bytes an RDB length takes, from its first byte; 0 if the byte cannot start
 * a length. */
static size_t len_size(unsigned char b)
{
    switch (b >> 6) {
    case 0: return 1;
    case 1: return 2;
    case 2: return b == 0x80 ? 5 : b == 0x81 ? 9 : 0;
    default: return 0;
    }
}

static uint64_t decode_len(const unsigned char *p, size_t size)
{
    switch (size) {
    case 1: return p[0] & 0x3F;
    case 2: return (uint64_t)(p[0] & 0x3F) << 8 | p[1];
    case 5: return (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 8 | p[4];
    default: {
        uint64_t v = 0;
        for (int i = 1; i < 9; i++) v = v << 8 | p[i];
        return v;
    }
    }
}

static int bad_len_marker(struct rdb_reader *r, unsigned char b)
{
    if ((b >> 6) == 3)
        return rd_error(r, "expected a length, found a string encoding marker 0x%02x", b);
    return rd_error(r, "invalid length marker 0x%02x", b);
}

/* Reads a length at the window without consuming it. */
int rd_peek_len(struct rdb_reader *r, size_t at, uint64_t *out, size_t *size)
{
    const unsigned char *p = rdb_window_peek(&r->w, at + 1);
    if (!p) return RD_MORE;
    size_t n = len_size(p[at]);
    if (!n) return bad_len_marker(r, p[at]);
    p = rdb_window_peek(&r->w, at + n);
    if (!p) return RD_MORE;
    *out = decode_len(p + at, n);
    *size = n;
    return RD_OK;
}

int rd_read_len(struct rdb_reader *r, uint64_t *out)
{
    size_t n = 0;
    int rc = rd_peek_len(r, 0, out, &n);
    if (rc == RD_OK) rdb_window_skip(&r->w, n);
    return rc;
}

/* Reads count lengths into r->nums; resumable. */
int rd_read_lens(struct rdb_reader *r, int count)
{
    while (r->nums_got < count) {
        int rc = rd_read_len(r, &r->nums[r->nums_got]);
        if (rc != RD_OK) return rc;
        r->nums_got++;
    }
    r->nums_got = 0;
    return RD_OK;
}

/* ---- Strings ---------------------------------------------------------------- */

void rd_string_begin(struct rdb_reader *r, enum rd_dest dest, int next)
{
    r->str.dest = dest;
    r->str.next = next;
    r->state = RS_STR_HEADER;
}

void rd_string_whole(struct rdb_reader *r, int slot, int next)
{
    r->str.slot = slot;
    rk_buf_reset(&r->whole[slot]);
    rd_string_begin(r, DEST_WHOLE, next);
}

void rd_string_pieces(struct rdb_reader *r, enum rdb_value_kind kind, int next)
{
    r->str.kind = kind;
    rd_string_begin(r, DEST_PIECES, next);
}

void rd_string_blob(struct rdb_reader *r, enum rdb_blob_kind kind, enum rd_route route,
                    enum rdb_value_kind route_kind, int next)
{
    r->str.blob_kind = kind;
    r->route = route;
    r->route_kind = route_kind;
    /* Nobody wants the entries: let the decoder check and count them alone. */
    r->route_counts_only = !(r->want & RDB_WANT_VALUES) &&
                           (route == ROUTE_ITEMS || route == ROUTE_PAIRS || route == ROUTE_ZSET);
    rd_string_begin(r, DEST_BLOB, next);
}

/* Hands string contents to their destination. */
static int deliver(struct rdb_reader *r, const unsigned char *data, size_t len, bool is_int,
                   long long ival)
{
    int rc = RD_OK;
    switch (r->str.dest) {
    case DEST_WHOLE:
        rk_buf_append(&r->whole[r->str.slot], data, len);
        break;
    case DEST_PIECES:
        if (r->want & RDB_WANT_VALUES)
            rc = rd_emit_piece(r, r->str.kind, data, len, r->str.done, r->str.total, is_int, ival);
        break;
    case DEST_BLOB:
        /* Stream nodes also go out as bytes: writers copy them as they are. */
        if (r->route == ROUTE_STREAM && (r->want & RDB_WANT_VALUES) &&
            rd_emit_piece(r, RDB_VALUE_STREAM_LISTPACK, data, len, r->str.done, r->str.total,
                          false, 0) != RD_OK) {
            r->str.failed = true;
            return RD_ERR;
        }
        if (rdb_blob_feed(&r->blob, data, len, r->route_counts_only ? NULL : rd_route_entry, r,
                          r->err)) {
            r->str.failed = true;
            if (r->handler_failed || r->route_failed) return RD_ERR;
            char msg[RK_ERR_MAX];
            memcpy(msg, r->err->msg, sizeof(msg));
            return error_at(r, r->str.start, "%s", msg);
        }
        break;
    case DEST_SKIP:
        break;
    }
    r->str.done += len;
    if (rc != RD_OK) r->str.failed = true;
    return rc;
}

static int string_finish(struct rdb_reader *r)
{
    if (r->str.dest == DEST_BLOB) {
        if (rdb_blob_finish(&r->blob, r->err)) {
            char msg[RK_ERR_MAX];
            memcpy(msg, r->err->msg, sizeof(msg));
            return error_at(r, r->str.start, "%s", msg);
        }
        if (r->route_counts_only)
            r->elements += r->route == ROUTE_ITEMS ? r->blob.index : r->blob.index / 2;
    }
    r->state = r->str.next;
    return RD_OK;
}

static const char *blob_what(const struct rdb_reader *r)
{
    return rdb_blob_kind_name(r->str.blob_kind);
}

static int lzf_emit(void *ctx, const unsigned char *data, size_t len)
{
    struct rdb_reader *r = ctx;
    return deliver(r, data, len, false, 0) == RD_OK ? 0 : -1;
}

static int string_header(struct rdb_reader *r)
{
    const unsigned char *p = rdb_window_peek(&r->w, 1);
    if (!p) return RD_MORE;
    /* The blob and LZF decoders report offsets inside the string; errors
     * also name the string's own offset so the user can find it. */
    r->str.start = r->w.pos;
    r->str.failed = false;
    unsigned char b = p[0];

    if ((b >> 6) != 3) {
        uint64_t len;
        size_t n;
        int rc = rd_peek_len(r, 0, &len, &n);
        if (rc != RD_OK) return rc;
        if (r->str.dest == DEST_WHOLE && len > r->opt.max_whole_string)
            return rd_error(r, "a string of %llu bytes where at most %llu are accepted",
                            (unsigned long long)len, (unsigned long long)r->opt.max_whole_string);
        rdb_window_skip(&r->w, n);
        if (r->str.dest == DEST_BLOB) rdb_blob_init(&r->blob, r->str.blob_kind, len);
        r->str.total = len;
        r->str.done = 0;
        /* The whole string is here: no streaming state. */
        if (r->w.carry_len == 0 && (uint64_t)(r->w.end - r->w.p) >= len) {
            const unsigned char *data = r->w.p;
            rdb_window_skip(&r->w, (size_t)len);
            if (deliver(r, data, (size_t)len, false, 0) != RD_OK) return RD_ERR;
            return string_finish(r);
        }
        r->state = RS_STR_RAW;
        return RD_OK;
    }

    unsigned enc = b & 0x3F;
    if (enc <= 2) {
        size_t width = enc == 0 ? 1 : enc == 1 ? 2 : 4;
        p = rdb_window_peek(&r->w, 1 + width);
        if (!p) return RD_MORE;
        long long v;
        if (width == 1) v = (int8_t)p[1];
        else if (width == 2) v = (int16_t)(uint16_t)(p[1] | p[2] << 8);
        else v = (int32_t)((uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 |
                           (uint32_t)p[4] << 24);
        if (r->str.dest == DEST_BLOB)
            return rd_error(r, "expected a %s, found an integer-encoded string", blob_what(r));
        rdb_window_skip(&r->w, 1 + width);
        size_t n = rdb_ll_to_str(v, r->numtext);
        r->str.total = n;
        r->str.done = 0;
        if (deliver(r, (const unsigned char *)r->numtext, n, true, v) != RD_OK) return RD_ERR;
        return string_finish(r);
    }
    if (enc != 3) return rd_error(r, "invalid string encoding 0x%02x", b);

    /* LZF: marker, compressed length, uncompressed length. */
    uint64_t clen, ulen;
    size_t n1, n2;
    int rc = rd_peek_len(r, 1, &clen, &n1);
    if (rc != RD_OK) return rc;
    rc = rd_peek_len(r, 1 + n1, &ulen, &n2);
    if (rc != RD_OK) return rc;
    if (clen == 0 || ulen == 0)
        return rd_error(r, "LZF string with %s length 0", clen == 0 ? "compressed" : "uncompressed");
    if (r->str.dest == DEST_WHOLE && ulen > r->opt.max_whole_string)
        return rd_error(r, "a string of %llu bytes where at most %llu are accepted",
                        (unsigned long long)ulen, (unsigned long long)r->opt.max_whole_string);
    rdb_window_skip(&r->w, 1 + n1 + n2);
    if (r->str.dest == DEST_BLOB) rdb_blob_init(&r->blob, r->str.blob_kind, ulen);
    r->str.total = ulen;
    r->str.done = 0;
    bool contents_unwanted = r->str.dest == DEST_SKIP ||
                             (r->str.dest == DEST_PIECES && !(r->want & RDB_WANT_VALUES));
    if (contents_unwanted && r->w.carry_len == 0 && (uint64_t)(r->w.end - r->w.p) >= clen) {
        if (rdb_lzf_check(r->w.p, (size_t)clen, ulen, r->err)) {
            char msg[RK_ERR_MAX];
            memcpy(msg, r->err->msg, sizeof(msg));
            return error_at(r, r->str.start, "LZF string: %s", msg);
        }
        rdb_window_skip(&r->w, (size_t)clen);
        r->str.done = ulen;
        return string_finish(r);
    }
    if (ulen <= LZF_ONESHOT_MAX && r->w.carry_len == 0 && (uint64_t)(r->w.end - r->w.p) >= clen) {
        const unsigned char *data = r->w.p;
        rk_buf_reset(&r->lzf_out);
        rk_buf_reserve(&r->lzf_out, (size_t)ulen);
        if (rdb_lzf_decompress(data, (size_t)clen, r->lzf_out.data, (size_t)ulen, r->err)) {
            char msg[RK_ERR_MAX];
            memcpy(msg, r->err->msg, sizeof(msg));
            return error_at(r, r->str.start, "LZF string: %s", msg);
        }
        rdb_window_skip(&r->w, (size_t)clen);
        if (deliver(r, r->lzf_out.data, (size_t)ulen, false, 0) != RD_OK) return RD_ERR;
        return string_finish(r);
    }
    rdb_lzf_stream_init(&r->lzf, ulen);
    r->lzf_active = true;
    r->str.lzf_left = clen;
    r->state = RS_STR_LZF;
    return RD_OK;
}

static int string_raw_step(struct rdb_reader *r)
{
    uint64_t left = r->str.total - r->str.done;
    if (left == 0) return string_finish(r);
    size_t n;
    const unsigned char *data = rdb_window_take(&r->w, left > SIZE_MAX ? SIZE_MAX : (size_t)left, &n);
    if (n == 0) return RD_MORE;
    if (deliver(r, data, n, false, 0) != RD_OK) return RD_ERR;
    return r->str.done == r->str.total ? string_finish(r) : RD_OK;
}

static int string_lzf_step(struct rdb_reader *r)
{
    int rc;
    if (r->str.lzf_left == 0) {
        rc = rdb_lzf_stream_finish(&r->lzf, lzf_emit, r, r->err);
        rdb_lzf_stream_free(&r->lzf);
        r->lzf_active = false;
    } else {
        size_t n;
        const unsigned char *data = rdb_window_take(
            &r->w, r->str.lzf_left > SIZE_MAX ? SIZE_MAX : (size_t)r->str.lzf_left, &n);
        if (n == 0) return RD_MORE;
        r->str.lzf_left -= n;
        rc = rdb_lzf_stream_feed(&r->lzf, data, n, lzf_emit, r, r->err);
    }
    if (rc) {
        /* A failed delivery has already said why; otherwise the LZF data is bad. */
        if (r->str.failed) return RD_ERR;
        char msg[RK_ERR_MAX];
        memcpy(msg, r->err->msg, sizeof(msg));
        return error_at(r, r->str.start, "LZF string: %s", msg);
    }
    if (r->str.lzf_left == 0 && !r->lzf_active) return string_finish(r);
    return RD_OK;
}

/* ---- File-level records ------------------------------------------------------ */

static int parse_magic(struct rdb_reader *r)
{
    const unsigned char *p = rdb_window_peek(&r->w, 9);
    if (!p) return RD_MORE;
    int version = 0;
    size_t digits;
    if (memcmp(p, "REDIS", 5) == 0) {
        r->magic = RDB_MAGIC_REDIS;
        digits = 4;
    } else if (memcmp(p, "VALKEY", 6) == 0) {
        r->magic = RDB_MAGIC_VALKEY;
        digits = 3;
    } else {
        char shown[64];
        rdb_quote(p, 9, 9, shown, sizeof(shown));
        return rd_error(r, "not an RDB file: it starts with \"%s\", not REDIS or VALKEY", shown);
    }
    for (size_t i = 9 - digits; i < 9; i++) {
        if (p[i] < '0' || p[i] > '9') return rd_error(r, "not an RDB file: bad version digits");
        version = version * 10 + (p[i] - '0');
    }
    if (r->magic == RDB_MAGIC_REDIS && (version < RDB_VERSION_MIN || version > RDB_VERSION_MAX_REDIS))
        return rd_error(r, "RDB version %d is not one this reader knows (Redis %d to %d, Valkey %d "
                           "to %d)", version, RDB_VERSION_MIN, RDB_VERSION_MAX_REDIS,
                        RDB_VERSION_MIN_VALKEY, RDB_VERSION_MAX_VALKEY);
    if (r->magic == RDB_MAGIC_VALKEY &&
        (version < RDB_VERSION_MIN_VALKEY || version > RDB_VERSION_MAX_VALKEY))
        return rd_error(r, "Valkey RDB version %d is not one this reader knows (%d to %d)", version,
                        RDB_VERSION_MIN_VALKEY, RDB_VERSION_MAX_VALKEY);
    r->version = version;
    rdb_window_skip(&r->w, 9);
    struct rdb_event ev = {.type = RDB_EVENT_START, .offset = 0};
    ev.u.start.magic = r->magic;
    ev.u.start.version = version;
    r->state = RS_OPCODE;
    return rd_emit(r, &ev);
}

/* Maps a type byte to its encoding: 0, or RD_ERR (with the error set) for
 * bytes that are not a value type this reader can read. */
static int type_to_encoding(struct rdb_reader *r, unsigned char t, enum rdb_encoding *enc)
{
    static const signed char redis_types[] = {
        [0] = RDB_ENC_STRING,
        [1] = RDB_ENC_LIST,
        [2] = RDB_ENC_SET,
        [3] = RDB_ENC_ZSET,
        [4] = RDB_ENC_HASH,
        [5] = RDB_ENC_ZSET_2,
        [6] = RDB_ENC_MODULE_PRE_GA,
        [7] = RDB_ENC_MODULE_2,
        [8] = -1,
        [9] = RDB_ENC_HASH_ZIPMAP,
        [10] = RDB_ENC_LIST_ZIPLIST,
        [11] = RDB_ENC_SET_INTSET,
        [12] = RDB_ENC_ZSET_ZIPLIST,
        [13] = RDB_ENC_HASH_ZIPLIST,
        [14] = RDB_ENC_LIST_QUICKLIST,
        [15] = RDB_ENC_STREAM_LISTPACKS,
        [16] = RDB_ENC_HASH_LISTPACK,
        [17] = RDB_ENC_ZSET_LISTPACK,
        [18] = RDB_ENC_LIST_QUICKLIST_2,
        [19] = RDB_ENC_STREAM_LISTPACKS_2,
        [20] = RDB_ENC_SET_LISTPACK,
        [21] = RDB_ENC_STREAM_LISTPACKS_3,
        [22] = RDB_ENC_HASH_METADATA_PRE_GA,
        [23] = RDB_ENC_HASH_LISTPACK_EX_PRE_GA,
        [24] = RDB_ENC_HASH_METADATA,
        [25] = RDB_ENC_HASH_LISTPACK_EX,
        [26] = RDB_ENC_STREAM_LISTPACKS_4,
    };
    if (r->magic == RDB_MAGIC_VALKEY && t >= 22) {
        if (t == 22) {
            *enc = RDB_ENC_VALKEY_HASH_2;
            return 0;
        }
        return rd_error(r, "type %u is not a Valkey %d type this reader knows", t, r->version);
    }
    if (t < sizeof(redis_types) && redis_types[t] >= 0) {
        *enc = (enum rdb_encoding)redis_types[t];
        if (*enc == RDB_ENC_MODULE_PRE_GA)
            return rd_error(r, "a module value in the pre-release format (type 6) of Redis 4.0 "
                               "release candidates: it cannot be read without its module");
        return 0;
    }
    if (t >= 27 && t <= 33)
        return rd_error(r, "type %u is from Redis RDB 14 or later, which this reader does not know",
                        t);
    return rd_error(r, "unknown type or opcode %u", t);
}

static void key_scope_reset(struct rdb_reader *r)
{
    r->expire_ms = -1;
    r->idle = -1;
    r->freq = -1;
    r->in_record = false;
    rk_buf_reset(&r->keymeta);
}

static int begin_key(struct rdb_reader *r, unsigned char type)
{
    enum rdb_encoding enc;
    if (type_to_encoding(r, type, &enc) != 0) return RD_ERR;
    r->enc = enc;
    r->key.type_byte = type;
    rdb_window_skip(&r->w, 1);
    rd_string_whole(r, 0, RS_KEY_NAME_DONE);
    return RD_OK;
}

static int opcode_step(struct rdb_reader *r)
{
    const unsigned char *p = rdb_window_peek(&r->w, 1);
    if (!p) return RD_MORE;
    unsigned char op = p[0];
    if (!r->in_record) {
        r->record_offset = r->w.pos;
        r->in_record = true;
    }
    switch (op) {
    case 0xFF: /* EOF */
        rdb_window_skip(&r->w, 1);
        rdb_window_flush(&r->w);
        crc_settle(r);
        r->crc_on = false;
        r->in_record = false;
        if (r->version >= 5) {
            r->state = RS_CHECKSUM;
            return RD_OK;
        }
        r->end_size = r->w.pos;
        r->done = true;
        r->state = RS_TRAILING;
        struct rdb_event ev = {.type = RDB_EVENT_END, .offset = r->w.pos};
        ev.u.end.checksum = RDB_CHECKSUM_ABSENT;
        ev.u.end.size = r->w.pos;
        return rd_emit(r, &ev);
    case 0xFE: rdb_window_skip(&r->w, 1); r->state = RS_SELECT_DB; return RD_OK;
    case 0xFD: rdb_window_skip(&r->w, 1); r->state = RS_EXPIRE_SEC; return RD_OK;
    case 0xFC: rdb_window_skip(&r->w, 1); r->state = RS_EXPIRE_MS; return RD_OK;
    case 0xFB: rdb_window_skip(&r->w, 1); r->state = RS_RESIZE_DB; return RD_OK;
    case 0xFA: rdb_window_skip(&r->w, 1); rd_string_whole(r, 0, RS_AUX_KEY_DONE); return RD_OK;
    case 0xF9: rdb_window_skip(&r->w, 1); r->state = RS_FREQ; return RD_OK;
    case 0xF8: rdb_window_skip(&r->w, 1); r->state = RS_IDLE; return RD_OK;
    case 0xF7: rdb_window_skip(&r->w, 1); r->state = RS_MODULE_AUX_HEADER; return RD_OK;
    case 0xF6:
        rdb_window_skip(&r->w, 1);
        rd_string_whole(r, 0, RS_FUNCTION_NAME_DONE);
        return RD_OK;
    case 0xF5: rdb_window_skip(&r->w, 1); rd_string_whole(r, 0, RS_FUNCTION2_DONE); return RD_OK;
    case 0xF4: rdb_window_skip(&r->w, 1); r->state = RS_SLOT_INFO; return RD_OK;
    case 0xF3:
        if (r->magic == RDB_MAGIC_VALKEY) { /* SLOT_IMPORT: a slot migration in progress */
            rdb_window_skip(&r->w, 1);
            rd_string_whole(r, 1, RS_SLOT_IMPORT_NAME_DONE);
            return RD_OK;
        }
        if (r->version < 13) return rd_error(r, "opcode 243 (KEY_META) in an RDB %d file", r->version);
        rdb_window_skip(&r->w, 1);
        rd_set_capture(r, CAPTURE_META);
        r->state = RS_KEY_META_COUNT;
        return RD_OK;
    case 0x6B: /* Redis Enterprise RAM_LRU and SLOT_NUM: one length each, safe to skip */
    case 0x79:
        if (r->magic != RDB_MAGIC_REDIS) break;
        rdb_window_skip(&r->w, 1);
        r->state = RS_SKIP_LEN;
        return RD_OK;
    case 0x64: case 0x65: case 0x66:
        return rd_error(r, "Redis Enterprise opcode %u cannot be skipped safely", op);
    default:
        break;
    }
    return begin_key(r, op);
}

static int aux_done(struct rdb_reader *r)
{
    struct rdb_event ev = {.type = RDB_EVENT_AUX, .offset = r->record_offset};
    ev.u.aux.key = r->whole[0].data;
    ev.u.aux.key_len = r->whole[0].len;
    ev.u.aux.value = r->whole[1].data;
    ev.u.aux.value_len = r->whole[1].len;
    r->in_record = false;
    r->state = RS_OPCODE;
    return rd_emit(r, &ev);
}

static int function_done(struct rdb_reader *r, bool pre_ga)
{
    struct rdb_event ev = {.type = RDB_EVENT_FUNCTION, .offset = r->record_offset};
    struct rdb_function_info *f = &ev.u.function;
    f->pre_ga = pre_ga;
    if (pre_ga) {
        f->name = r->whole[0].data, f->name_len = r->whole[0].len;
        f->engine = r->whole[1].data, f->engine_len = r->whole[1].len;
        f->desc = r->whole[2].data, f->desc_len = r->whole[2].len;
        f->code = r->whole[3].data, f->code_len = r->whole[3].len;
    } else {
        f->code = r->whole[0].data, f->code_len = r->whole[0].len;
    }
    r->in_record = false;
    r->state = RS_OPCODE;
    return rd_emit(r, &ev);
}

void rd_module_info(uint64_t id, struct rdb_module_info *m)
{
    static const char charset[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    m->id = id;
    for (int i = 0; i < 9; i++) m->name[i] = charset[(id >> (58 - 6 * i)) & 63];
    m->name[9] = '\0';
    m->encver = (unsigned)(id & 1023);
}

static int key_name_done(struct rdb_reader *r)
{
    /* Look at the value's leading count without consuming it, so the
     * handler hears about the key before any of its value's bytes pass: the
     * raw tap then starts exactly at the value. */
    uint64_t hint = 0;
    size_t n;
    int rc = RD_OK;
    switch (r->enc) {
    case RDB_ENC_LIST: case RDB_ENC_SET: case RDB_ENC_ZSET: case RDB_ENC_HASH:
    case RDB_ENC_ZSET_2: case RDB_ENC_LIST_QUICKLIST: case RDB_ENC_LIST_QUICKLIST_2:
    case RDB_ENC_STREAM_LISTPACKS: case RDB_ENC_STREAM_LISTPACKS_2:
    case RDB_ENC_STREAM_LISTPACKS_3: case RDB_ENC_STREAM_LISTPACKS_4:
    case RDB_ENC_HASH_METADATA_PRE_GA: case RDB_ENC_VALKEY_HASH_2:
        rc = rd_peek_len(r, 0, &hint, &n);
        break;
    case RDB_ENC_HASH_METADATA:
        rc = rd_peek_len(r, 8, &hint, &n);
        break;
    default:
        break;
    }
    if (rc != RD_OK) return rc;

    struct rdb_key_info *k = &r->key;
    k->key = r->whole[0].data;
    k->key_len = r->whole[0].len;
    k->enc = r->enc;
    k->db = r->db;
    k->expire_ms = r->expire_ms;
    k->idle = r->idle;
    k->freq = r->freq;
    k->len_hint = hint;
    k->meta = r->keymeta.len ? r->keymeta.data : NULL;
    k->meta_len = r->keymeta.len;
    k->offset = r->record_offset;
    k->elements = 0;
    k->want = RDB_WANT_VALUES;
    r->in_key = true;
    r->elements = 0;
    struct rdb_event ev = {.type = RDB_EVENT_KEY, .offset = r->record_offset};
    ev.u.key = k;
    if (rd_emit(r, &ev) != RD_OK) return RD_ERR;
    r->want = k->want;
    if (r->want & RDB_WANT_RAW) {
        rdb_window_flush(&r->w);
        r->tap = true;
    }
    return rd_value_begin(r);
}

static int key_end(struct rdb_reader *r)
{
    rdb_window_flush(&r->w);
    r->tap = false;
    if (r->handler_failed) return RD_ERR;
    r->key.elements = r->elements;
    struct rdb_event ev = {.type = RDB_EVENT_KEY_END, .offset = r->w.pos};
    ev.u.key = &r->key;
    int rc = rd_emit(r, &ev);
    r->in_key = false;
    key_scope_reset(r);
    r->state = r->opt.dump_payload ? RS_DUMP_FOOTER : RS_OPCODE;
    return rc;
}

static int checksum_step(struct rdb_reader *r)
{
    const unsigned char *p = rdb_window_peek(&r->w, 8);
    if (!p) return RD_MORE;
    uint64_t stored = rd_le64(p);
    struct rdb_event ev = {.type = RDB_EVENT_END, .offset = r->w.pos};
    if (stored == 0) {
        ev.u.end.checksum = RDB_CHECKSUM_DISABLED;
    } else if (stored != r->crc) {
        return rd_error(r, "checksum mismatch: the file says %016llx, its contents give %016llx",
                        (unsigned long long)stored, (unsigned long long)r->crc);
    } else {
        ev.u.end.checksum = RDB_CHECKSUM_OK;
    }
    rdb_window_skip(&r->w, 8);
    ev.u.end.crc = r->crc;
    ev.u.end.size = r->w.pos;
    r->end_size = r->w.pos;
    r->done = true;
    r->state = RS_TRAILING;
    return rd_emit(r, &ev);
}

static int dump_type_step(struct rdb_reader *r)
{
    const unsigned char *p = rdb_window_peek(&r->w, 1);
    if (!p) return RD_MORE;
    if (!r->in_record) {
        r->record_offset = r->w.pos;
        r->in_record = true;
    }
    if (p[0] == 0xF3 && r->magic == RDB_MAGIC_REDIS && r->version >= 13) {
        rdb_window_skip(&r->w, 1);
        rd_set_capture(r, CAPTURE_META);
        r->state = RS_KEY_META_COUNT;
        return RD_OK;
    }
    enum rdb_encoding enc;
    if (type_to_encoding(r, p[0], &enc) != 0) return RD_ERR;
    r->enc = enc;
    r->key.type_byte = p[0];
    rdb_window_skip(&r->w, 1);
    rk_buf_reset(&r->whole[0]);
    r->state = RS_KEY_NAME_DONE;
    return RD_OK;
}

static int dump_footer_step(struct rdb_reader *r)
{
    const unsigned char *p = rdb_window_peek(&r->w, 10);
    if (!p) return RD_MORE;
    unsigned version = (unsigned)p[0] | (unsigned)p[1] << 8;
    uint64_t stored = rd_le64(p + 2);
    rdb_window_skip(&r->w, 2);
    rdb_window_flush(&r->w);
    crc_settle(r);
    r->crc_on = false;
    if (stored != r->crc)
        return rd_error(r, "DUMP payload checksum mismatch: it says %016llx, its contents give "
                           "%016llx", (unsigned long long)stored, (unsigned long long)r->crc);
    if ((int)version != r->version)
        return rd_error(r, "DUMP payload footer says RDB %u, expected %d", version, r->version);
    rdb_window_skip(&r->w, 8);
    r->end_size = r->w.pos;
    r->done = true;
    r->state = RS_TRAILING;
    struct rdb_event ev = {.type = RDB_EVENT_END, .offset = r->w.pos};
    ev.u.end.checksum = RDB_CHECKSUM_OK;
    ev.u.end.crc = stored;
    ev.u.end.size = r->w.pos;
    return rd_emit(r, &ev);
}

static int file_step(struct rdb_reader *r)
{
    const unsigned char *p;
    int rc;
    switch (r->state) {
    case RS_MAGIC: return parse_magic(r);
    case RS_OPCODE: return opcode_step(r);
    case RS_EXPIRE_SEC:
        if (!(p = rdb_window_peek(&r->w, 4))) return RD_MORE;
        /* Written in host order by Redis <= 2.4; every such host was little endian. */
        r->expire_ms = (int64_t)(int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                                          (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24) * 1000;
        rdb_window_skip(&r->w, 4);
        r->state = RS_OPCODE;
        return RD_OK;
    case RS_EXPIRE_MS:
        if (!(p = rdb_window_peek(&r->w, 8))) return RD_MORE;
        r->expire_ms = (int64_t)rd_le64(p);
        rdb_window_skip(&r->w, 8);
        r->state = RS_OPCODE;
        return RD_OK;
    case RS_SELECT_DB: {
        uint64_t db;
        if ((rc = rd_read_len(r, &db)) != RD_OK) return rc;
        if (db > INT32_MAX) return rd_error(r, "database number %llu is out of range",
                                            (unsigned long long)db);
        r->db = (int)db;
        r->in_record = false;
        r->state = RS_OPCODE;
        struct rdb_event ev = {.type = RDB_EVENT_SELECT_DB, .offset = r->record_offset};
        ev.u.db = r->db;
        return rd_emit(r, &ev);
    }
    case RS_RESIZE_DB: {
        if ((rc = rd_read_lens(r, 2)) != RD_OK) return rc;
        r->in_record = false;
        r->state = RS_OPCODE;
        struct rdb_event ev = {.type = RDB_EVENT_RESIZE_DB, .offset = r->record_offset};
        ev.u.resize.db_size = r->nums[0];
        ev.u.resize.expires_size = r->nums[1];
        return rd_emit(r, &ev);
    }
    case RS_AUX_KEY_DONE: rd_string_whole(r, 1, RS_AUX_VALUE_DONE); return RD_OK;
    case RS_AUX_VALUE_DONE: return aux_done(r);
    case RS_IDLE: {
        uint64_t idle;
        if ((rc = rd_read_len(r, &idle)) != RD_OK) return rc;
        r->idle = idle > INT64_MAX ? INT64_MAX : (int64_t)idle;
        r->state = RS_OPCODE;
        return RD_OK;
    }
    case RS_FREQ:
        if (!(p = rdb_window_peek(&r->w, 1))) return RD_MORE;
        r->freq = p[0];
        rdb_window_skip(&r->w, 1);
        r->state = RS_OPCODE;
        return RD_OK;
    case RS_SKIP_LEN: {
        uint64_t ignored;
        if ((rc = rd_read_len(r, &ignored)) != RD_OK) return rc;
        r->state = RS_OPCODE;
        return RD_OK;
    }
    case RS_SLOT_INFO: {
        if ((rc = rd_read_lens(r, 3)) != RD_OK) return rc;
        r->in_record = false;
        r->state = RS_OPCODE;
        struct rdb_event ev = {.type = RDB_EVENT_SLOT_INFO, .offset = r->record_offset};
        ev.u.slot_info.slot = r->nums[0];
        ev.u.slot_info.slot_size = r->nums[1];
        ev.u.slot_info.expires_slot_size = r->nums[2];
        return rd_emit(r, &ev);
    }
    case RS_SLOT_IMPORT_NAME_DONE: {
        uint64_t ranges;
        if ((rc = rd_read_len(r, &ranges)) != RD_OK) return rc;
        r->left = ranges;
        r->state = RS_SLOT_IMPORT_RANGES;
        return RD_OK;
    }
    case RS_SLOT_IMPORT_RANGES:
        while (r->left) {
            if ((rc = rd_read_lens(r, 2)) != RD_OK) return rc;
            r->left--;
        }
        r->in_record = false;
        r->state = RS_OPCODE;
        return RD_OK;
    case RS_MODULE_AUX_HEADER: {
        if ((rc = rd_read_lens(r, 3)) != RD_OK) return rc;
        if (r->nums[1] != 2)
            return rd_error(r, "module aux data: expected opcode 2 before 'when', found %llu",
                            (unsigned long long)r->nums[1]);
        struct rdb_event ev = {.type = RDB_EVENT_MODULE_AUX, .offset = r->record_offset};
        rd_module_info(r->nums[0], &ev.u.module);
        ev.u.module.when = r->nums[2];
        if (rd_emit(r, &ev) != RD_OK) return RD_ERR;
        rd_set_capture(r, CAPTURE_MODULE);
        r->mod_next = RS_MODULE_AUX_END;
        r->state = RS_MOD_OP;
        return RD_OK;
    }
    case RS_MODULE_AUX_END: {
        rd_set_capture(r, CAPTURE_NONE);
        r->in_record = false;
        r->state = RS_OPCODE;
        struct rdb_event ev = {.type = RDB_EVENT_MODULE_AUX_END, .offset = r->w.pos};
        return rd_emit(r, &ev);
    }
    case RS_FUNCTION2_DONE: return function_done(r, false);
    case RS_FUNCTION_NAME_DONE: rd_string_whole(r, 1, RS_FUNCTION_ENGINE_DONE); return RD_OK;
    case RS_FUNCTION_ENGINE_DONE: r->state = RS_FUNCTION_HAS_DESC; return RD_OK;
    case RS_FUNCTION_HAS_DESC: {
        uint64_t has_desc;
        if ((rc = rd_read_len(r, &has_desc)) != RD_OK) return rc;
        rk_buf_reset(&r->whole[2]);
        if (has_desc) rd_string_whole(r, 2, RS_FUNCTION_DESC_DONE);
        else r->state = RS_FUNCTION_DESC_DONE;
        return RD_OK;
    }
    case RS_FUNCTION_DESC_DONE: rd_string_whole(r, 3, RS_FUNCTION_CODE_DONE); return RD_OK;
    case RS_FUNCTION_CODE_DONE: return function_done(r, true);
    case RS_KEY_META_COUNT: {
        uint64_t classes;
        if ((rc = rd_read_len(r, &classes)) != RD_OK) return rc;
        r->left2 = classes;
        r->state = RS_KEY_META_CLASS;
        return RD_OK;
    }
    case RS_KEY_META_CLASS:
        if (r->keymeta.len > KEY_META_MAX)
            return rd_error(r, "key metadata longer than %u bytes", KEY_META_MAX);
        if (r->left2 == 0) {
            rd_set_capture(r, CAPTURE_NONE);
            r->state = r->opt.dump_payload ? RS_DUMP_TYPE : RS_OPCODE;
            return RD_OK;
        }
        if (!(p = rdb_window_peek(&r->w, 4))) return RD_MORE;
        rdb_window_skip(&r->w, 4);
        r->left2--;
        r->mod_next = RS_KEY_META_CLASS;
        r->state = RS_MOD_OP;
        return RD_OK;
    case RS_CHECKSUM: return checksum_step(r);
    case RS_TRAILING: {
        size_t n;
        rdb_window_take(&r->w, SIZE_MAX, &n);
        r->trailing += n;
        return n ? RD_OK : RD_MORE;
    }
    case RS_DUMP_TYPE: return dump_type_step(r);
    case RS_DUMP_FOOTER: return dump_footer_step(r);
    case RS_SKIP_BYTES:
        while (r->skip_n) {
            size_t n;
            rdb_window_take(&r->w, r->skip_n > SIZE_MAX ? SIZE_MAX : (size_t)r->skip_n, &n);
            if (n == 0) return RD_MORE;
            r->skip_n -= n;
        }
        r->state = r->skip_next;
        return RD_OK;
    case RS_STR_HEADER: return string_header(r);
    case RS_STR_RAW: return string_raw_step(r);
    case RS_STR_LZF: return string_lzf_step(r);
    case RS_KEY_NAME_DONE: return key_name_done(r);
    case RS_KEY_END: return key_end(r);
    case RS_FAILED: return RD_ERR;
    default: break;
    }
    if (r->state >= RS_STREAM_NODES && r->state <= RS_STREAM_IDMP_STATS) return rd_stream_step(r);
    return rd_value_step(r);
}

/* ---- Public API ------------------------------------------------------------- */

struct rdb_reader *rdb_reader_new(const struct rdb_reader_options *opts, rdb_handler_fn handler,
                                  void *ctx)
{
    struct rdb_reader *r = xcalloc(1, sizeof(*r));
    if (opts) r->opt = *opts;
    if (!r->opt.max_whole_string) r->opt.max_whole_string = 512ull << 20;
    r->handler = handler;
    r->ctx = ctx;
    r->err = &r->error;
    rdb_window_init(&r->w, observe, r);
    r->crc_on = true;
    r->db = 0;
    key_scope_reset(r);
    if (r->opt.dump_payload) {
        r->version = r->opt.dump_version;
        r->magic = r->version >= RDB_VERSION_MIN_VALKEY ? RDB_MAGIC_VALKEY : RDB_MAGIC_REDIS;
        r->state = RS_DUMP_TYPE;
    } else {
        r->state = RS_MAGIC;
    }
    return r;
}

void rdb_reader_free(struct rdb_reader *r)
{
    if (!r) return;
    for (int i = 0; i < RD_WHOLE_SLOTS; i++) rk_buf_free(&r->whole[i]);
    rk_buf_free(&r->lzf_out);
    rk_buf_free(&r->keymeta);
    rk_buf_free(&r->score_text);
    rk_buf_free(&r->sn.master_names);
    if (r->lzf_active) rdb_lzf_stream_free(&r->lzf);
    free(r);
}

static int fail(struct rdb_reader *r, struct rk_err *err)
{
    r->failed = true;
    r->state = RS_FAILED;
    if (!r->error.msg[0]) rk_err_set(&r->error, "offset %llu: reading failed",
                                     (unsigned long long)r->w.pos);
    if (err) *err = r->error;
    return -1;
}

int rdb_reader_feed(struct rdb_reader *r, const void *data, size_t len, struct rk_err *err)
{
    if (r->failed) {
        if (err) *err = r->error;
        return -1;
    }
    rdb_window_set_input(&r->w, data, len);
    r->chunk = data;
    r->chunk_end = r->chunk + len;
    for (;;) {
        int rc = file_step(r);
        if (r->handler_failed) return fail(r, err);
        if (rc == RD_OK) continue;
        if (rc == RD_MORE) break;
        return fail(r, err);
    }
    rdb_window_flush(&r->w);
    crc_settle(r);
    r->chunk = r->chunk_end = NULL;
    if (r->handler_failed) return fail(r, err);
    return 0;
}

static const char *state_what(const struct rdb_reader *r)
{
    switch (r->state) {
    case RS_MAGIC: return "the header";
    case RS_CHECKSUM: return "the checksum";
    case RS_OPCODE: return "the next record (the EOF marker never came)";
    case RS_DUMP_FOOTER: return "the DUMP payload's footer";
    default: return r->in_key ? "the key's value" : "a record";
    }
}

int rdb_reader_finish(struct rdb_reader *r, struct rk_err *err)
{
    if (r->failed) {
        if (err) *err = r->error;
        return -1;
    }
    if (!r->done) {
        char key[160] = "";
        if (r->in_key) {
            char q[140];
            rdb_quote(r->key.key, r->key.key_len, 64, q, sizeof(q));
            snprintf(key, sizeof(key), " inside key \"%s\"", q);
        }
        rk_err_set(&r->error, "offset %llu: the input ends early, while reading %s%s",
                   (unsigned long long)(r->w.pos + r->w.carry_len), state_what(r), key);
        return fail(r, err);
    }
    if (r->opt.dump_payload && r->trailing) {
        rk_err_set(&r->error, "offset %llu: %llu bytes after the DUMP payload",
                   (unsigned long long)r->end_size, (unsigned long long)r->trailing);
        return fail(r, err);
    }
    return 0;
}

bool rdb_reader_done(const struct rdb_reader *r)
{
    return r->done;
}

uint64_t rdb_reader_offset(const struct rdb_reader *r)
{
    return r->w.pos;
}

uint64_t rdb_reader_trailing_bytes(const struct rdb_reader *r)
{
    return r->trailing;
}

int rdb_reader_version(const struct rdb_reader *r)
{
    return r->version;
}

enum rdb_magic rdb_reader_magic(const struct rdb_reader *r)
{
    return r->magic;
}
