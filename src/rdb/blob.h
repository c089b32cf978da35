/* blob.h: streaming decoders for the packed encodings (private to src/rdb).
 *
 * Ziplists, listpacks, intsets and zipmaps are stored in an RDB string whose
 * bytes are the in-memory structure. These decoders take those bytes in
 * pieces of any size (straight from the input, or out of the LZF decoder),
 * check the structure the way Redis's deep integrity checks do (sizes, counts,
 * back-lengths, prevlens, ordering, the end marker), and hand out the entries.
 * String entries of any size come out in pieces; integer entries come out as
 * numbers. Errors name the byte offset inside the blob. */
#ifndef RDBKEEP_RDB_BLOB_H
#define RDBKEEP_RDB_BLOB_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "rdb/window.h"

enum rdb_blob_kind {
    RDB_BLOB_ZIPLIST,
    RDB_BLOB_LISTPACK,
    RDB_BLOB_INTSET,
    RDB_BLOB_ZIPMAP,
};

struct rdb_blob_entry {
    uint32_t index;   /* the entry's position in the blob */
    bool is_int;
    long long ival;   /* when is_int */
    /* When !is_int: bytes [offset, offset+len) of an entry total bytes long. */
    const unsigned char *data;
    size_t len;
    uint64_t offset;
    uint64_t total;
};

/* Returns 0 to go on; non-zero stops the decoder (the callee fills err).
 * A NULL function only checks and counts the entries. */
typedef int (*rdb_blob_entry_fn)(void *ctx, const struct rdb_blob_entry *e, struct rk_err *err);

struct rdb_blob {
    enum rdb_blob_kind kind;
    int state;
    uint64_t size;         /* the blob's length, from its RDB string */
    struct rdb_window w;   /* w.pos is the offset inside the blob */
    uint32_t index;        /* entries handed out */
    uint64_t header_count; /* entries the header claims, or UINT64_MAX if it does not know */
    /* the string entry being streamed */
    uint64_t str_total, str_done;
    int str_next;
    /* ziplist */
    uint64_t zl_tail, zl_prev_len, zl_entry_start, zl_last_entry;
    /* listpack: the current entry's encoding+data length, for its back-length */
    uint64_t lp_entry_len;
    /* intset */
    unsigned is_width;
    int64_t is_prev;
    /* zipmap */
    unsigned zm_free;
};

void rdb_blob_init(struct rdb_blob *b, enum rdb_blob_kind kind, uint64_t size);
/* Decodes the next len bytes of the blob. */
int rdb_blob_feed(struct rdb_blob *b, const unsigned char *data, size_t len, rdb_blob_entry_fn fn,
                  void *ctx, struct rk_err *err);
/* Checks that the blob ended where its structure says it ends. */
int rdb_blob_finish(struct rdb_blob *b, struct rk_err *err);
const char *rdb_blob_kind_name(enum rdb_blob_kind kind);

/* Per-format steps (blob_*.c), driven by rdb_blob_feed. Each consumes one
 * token and returns BLOB_STEP_OK, BLOB_STEP_MORE (needs more input) or
 * BLOB_STEP_ERR. */
enum { BLOB_STEP_OK, BLOB_STEP_MORE, BLOB_STEP_ERR };

/* States shared by every format: 0 is the header, BLOB_STATE_STRING streams a
 * string entry then goes to b->str_next, BLOB_STATE_DONE follows the end
 * marker. Formats number their own states from BLOB_STATE_FIRST. */
enum { BLOB_STATE_HEADER = 0, BLOB_STATE_STRING, BLOB_STATE_DONE, BLOB_STATE_FIRST };

int rdb_blob_ziplist_step(struct rdb_blob *b, rdb_blob_entry_fn fn, void *ctx, struct rk_err *err);
int rdb_blob_listpack_step(struct rdb_blob *b, rdb_blob_entry_fn fn, void *ctx, struct rk_err *err);
int rdb_blob_intset_step(struct rdb_blob *b, rdb_blob_entry_fn fn, void *ctx, struct rk_err *err);
int rdb_blob_zipmap_step(struct rdb_blob *b, rdb_blob_entry_fn fn, void *ctx, struct rk_err *err);

/* Helpers for the steps (blob.c). rdb_blob_error returns BLOB_STEP_ERR. */
int rdb_blob_error(struct rdb_blob *b, struct rk_err *err, const char *fmt, ...) RK_PRINTF(3, 4);
/* Bytes of the blob not yet consumed. */
static inline uint64_t rdb_blob_left(const struct rdb_blob *b)
{
    return b->size - b->w.pos;
}
int rdb_blob_emit_int(struct rdb_blob *b, long long v, rdb_blob_entry_fn fn, void *ctx,
                      struct rk_err *err);
/* Starts a string entry of len bytes whose header was just consumed: hands it
 * out in one piece if it is all here, else streams it (BLOB_STATE_STRING).
 * Either way the decoder continues in state next. */
int rdb_blob_begin_string(struct rdb_blob *b, uint64_t len, int next, rdb_blob_entry_fn fn,
                          void *ctx, struct rk_err *err);

#endif
