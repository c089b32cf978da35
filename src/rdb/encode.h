/* encode.h: rewriting one key's value for a target RDB version (private).
 *
 * The key encoder takes a key's events (RDB_EVENT_KEY, its RAW or VALUE
 * events, RDB_EVENT_KEY_END) and produces the value as the target version
 * stores it: a type byte and the value bytes. It chooses, per key:
 *
 *   PASS      the target reads the source encoding: copy the stored bytes.
 *             The common case, and the fast one.
 *   STREAM    rewrite on the fly, element by element, in bounded memory:
 *             binary zset scores to text (RDB < 8), quicklist v2 to v1
 *             (RDB 7-9), newer stream forms to older ones.
 *   BUFFER    rebuild from the elements at the end of the key: compact
 *             encodings the target lacks (listpacks below 10, set listpacks
 *             below 11, hashes with field TTLs below 12, Valkey hashes).
 *             Such values are small by design; a per-key memory cap turns
 *             a pathological one into a clear error.
 *
 * Output goes straight into the owner's buffer (see struct enc_owner). Empty
 * values are dropped, as Redis itself drops them on load. */
#ifndef RDBKEEP_RDB_ENCODE_H
#define RDBKEEP_RDB_ENCODE_H

#include "rdb/codec.h"
#include "rdb/rdb.h"

enum enc_mode { ENC_SKIP, ENC_PASS, ENC_STREAM, ENC_BUFFER };

/* The owner (the file writer, the DUMP builder) lends the encoder its output
 * buffer and three hooks. */
struct enc_owner {
    struct rk_buf *out;
    /* The value's type byte is known: append the key's header to out. */
    int (*begin)(void *ctx, uint8_t type_byte, struct rk_err *err);
    /* Bytes were appended to out: hand them on if the owner wants to. */
    int (*check)(void *ctx, struct rk_err *err);
    /* The key turned out empty: take back what begin and the value appended
     * (if they are still in out). */
    void (*drop)(void *ctx);
    void *ctx;
};

struct key_encoder {
    /* Settings. */
    int target;
    uint64_t max_buffered;
    uint64_t now_ms;
    bool drop_expired;
    struct enc_owner owner;
    struct rdb_writer_stats *stats;

    /* The current key. */
    enum enc_mode mode;
    enum rdb_encoding src;
    enum rdb_kind kind;
    uint8_t type_byte;
    bool begun;
    bool too_big_ok; /* DUMP: a value over max_buffered is not an error... */
    bool too_big;    /* ...but reported here */

    /* BUFFER: the elements, each as a record (see encode.c). */
    struct rk_buf model;
    uint64_t model_items;
    size_t field_at; /* where the current hash field record starts */

    /* STREAM: rewriting state. */
    int stream_target_version; /* 1, 2 or 3 */
    struct rdb_ziplist_builder zl;
    bool node_open, node_plain;
    uint64_t plain_total;
};

void enc_init(struct key_encoder *e);
void enc_free(struct key_encoder *e);
/* A key begins: chooses the mode (sets k->want accordingly). */
int enc_key_begin(struct key_encoder *e, struct rdb_key_info *k, struct rk_err *err);
int enc_raw(struct key_encoder *e, const unsigned char *data, size_t len, struct rk_err *err);
int enc_value(struct key_encoder *e, const struct rdb_value *v, struct rk_err *err);
/* The key ends: finishes the value. *empty says it was dropped as empty. */
int enc_key_end(struct key_encoder *e, const struct rdb_key_info *k, bool *empty,
                struct rk_err *err);

/* RDB primitives, shared with the writers. */
size_t enc_len_bytes(uint64_t len, unsigned char out[9]);
void enc_put_len(struct rk_buf *b, uint64_t len);
void enc_put_string(struct rk_buf *b, const void *data, size_t len);

#endif
