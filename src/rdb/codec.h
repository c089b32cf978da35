/* codec.h: the byte-level codecs under the RDB format (private to src/rdb/).
 *
 * CRC64, LZF, the number conversions Redis uses when it turns values into
 * text and back, and the encoders (builders) for the packed blobs: ziplist,
 * listpack and intset. The streaming decoders for those blobs live in
 * blob.h; this file only builds them. */
#ifndef RDBKEEP_RDB_CODEC_H
#define RDBKEEP_RDB_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* ---- CRC64 ---------------------------------------------------------------
 * Redis's CRC-64/Jones (reflected, poly 0xad93d23594c935a9, init 0, no final
 * xor): crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca. Chainable:
 * rdb_crc64(rdb_crc64(0, a, n), b, m) == rdb_crc64(0, a||b, n+m). */
uint64_t rdb_crc64(uint64_t crc, const void *data, size_t len);
/* The same function without ISA-L, table-driven; the unit tests check one
 * against the other. */
uint64_t rdb_crc64_portable(uint64_t crc, const void *data, size_t len);

/* ---- LZF -----------------------------------------------------------------
 * The liblzf format Redis writes (rdb-format.md section 5). */

/* Compresses in into out; returns the compressed length, or 0 if it does not
 * fit in out_cap (Redis then stores the string raw). */
size_t rdb_lzf_compress(const void *in, size_t in_len, void *out, size_t out_cap);

/* One-shot decompression of exactly out_len bytes. On corrupt input returns
 * -1 and says what is wrong and at which compressed byte offset. */
int rdb_lzf_decompress(const void *in, size_t in_len, void *out, size_t out_len,
                       struct rk_err *err);

/* Checks that in decompresses to exactly out_len bytes without producing
 * them (lzf_check.c): for strings whose contents nobody wants. */
int rdb_lzf_check(const void *in, size_t in_len, uint64_t out_len, struct rk_err *err);

/* Streaming decompression in bounded memory: back-references reach at most
 * 8 KiB back, so the decoder keeps that much history and hands out the output
 * in pieces of at most RDB_LZF_PIECE bytes through emit(). */
#define RDB_LZF_HISTORY 8192
#define RDB_LZF_PIECE   65536

typedef int (*rdb_lzf_emit_fn)(void *ctx, const unsigned char *data, size_t len);

struct rdb_lzf_stream {
    uint64_t out_total; /* the uncompressed length the RDB string claims */
    uint64_t out_done;  /* bytes produced so far */
    uint64_t in_done;   /* compressed bytes consumed so far */
    unsigned char pending[3]; /* a control token split across feeds */
    unsigned pending_len;
    unsigned literal_left; /* bytes of a literal run still to copy */
    size_t win_len;        /* bytes in win */
    unsigned char *win;    /* RDB_LZF_HISTORY + RDB_LZF_PIECE bytes */
};

void rdb_lzf_stream_init(struct rdb_lzf_stream *s, uint64_t out_total);
/* Consumes all of in, calling emit() for output as it is produced (emit
 * returning non-zero stops the feed and makes it return -1 with err empty).
 * Returns -1 on corrupt input, with the compressed byte offset in err. */
int rdb_lzf_stream_feed(struct rdb_lzf_stream *s, const unsigned char *in, size_t len,
                        rdb_lzf_emit_fn emit, void *ctx, struct rk_err *err);
/* Flushes the last output; fails if the input ended inside a token or the
 * output is shorter than out_total. */
int rdb_lzf_stream_finish(struct rdb_lzf_stream *s, rdb_lzf_emit_fn emit, void *ctx,
                          struct rk_err *err);
void rdb_lzf_stream_free(struct rdb_lzf_stream *s);

/* ---- Numbers as Redis writes them ----------------------------------------- */

/* Redis's string2ll(): true only for the canonical decimal form of a signed
 * 64-bit integer ("0", "-5", "123"; not "01", "+1", "-0", " 1", ""). */
bool rdb_str_to_ll(const unsigned char *s, size_t len, long long *out);
/* Decimal text of v; returns the length (at most 20). out needs 21 bytes. */
size_t rdb_ll_to_str(long long v, char *out);
/* A score as Redis 7.0 stores it as text in listpacks and ziplists
 * (zzlInsertAt): whole numbers between -2^62 and 2^62 as integers (-0 as
 * "0"; 1e17 as "100000000000000000"), anything else as "%.17g", "inf",
 * "-inf" or "nan". Returns the length; out needs 32 bytes. */
size_t rdb_double_to_str(double d, char *out);
/* Parses a score stored as text (ziplist/listpack entries, type-3 zsets):
 * strtod over exactly len bytes, with "inf"/"-inf"/"+inf". false if the text is
 * not a number. */
bool rdb_str_to_double(const unsigned char *s, size_t len, double *out);

/* ---- Blob encoders ---------------------------------------------------------
 * Each builder appends entries to a growable buffer it owns and produces the
 * finished blob bytes exactly as Redis would lay them out. */

struct rdb_ziplist_builder {
    struct rk_buf buf;
    uint32_t count;
    uint32_t last_entry_len; /* for the next entry's prevlen */
    uint32_t tail_offset;
};

void rdb_ziplist_init(struct rdb_ziplist_builder *z);
/* Adds a string entry; strings that Redis would store as integers (canonical,
 * 1 <= len < 32, see rdb_str_to_ll) become integer entries, as in Redis. */
void rdb_ziplist_add(struct rdb_ziplist_builder *z, const unsigned char *s, size_t len);
void rdb_ziplist_add_int(struct rdb_ziplist_builder *z, long long v);
/* Writes the header and end byte; the blob is z->buf.data, z->buf.len bytes. */
void rdb_ziplist_finish(struct rdb_ziplist_builder *z);
void rdb_ziplist_reset(struct rdb_ziplist_builder *z);
void rdb_ziplist_free(struct rdb_ziplist_builder *z);

struct rdb_listpack_builder {
    struct rk_buf buf;
    uint32_t count;
};

void rdb_listpack_init(struct rdb_listpack_builder *l);
/* Strings that lpStringToInt64 accepts become integers, as in Redis. */
void rdb_listpack_add(struct rdb_listpack_builder *l, const unsigned char *s, size_t len);
void rdb_listpack_add_int(struct rdb_listpack_builder *l, long long v);
void rdb_listpack_finish(struct rdb_listpack_builder *l);
void rdb_listpack_reset(struct rdb_listpack_builder *l);
void rdb_listpack_free(struct rdb_listpack_builder *l);

/* Intset: values in any order; finish sorts them. The encoding (2, 4 or 8
 * bytes) is the smallest that holds every value. */
struct rdb_intset_builder {
    int64_t *values;
    size_t count, cap;
    struct rk_buf buf;
};

void rdb_intset_init(struct rdb_intset_builder *s);
void rdb_intset_add(struct rdb_intset_builder *s, int64_t v);
/* Sorts, rejects duplicates (returns -1), and lays out the blob in s->buf. */
int rdb_intset_finish(struct rdb_intset_builder *s);
void rdb_intset_free(struct rdb_intset_builder *s);

#endif
