/* rdb: the Redis/Valkey RDB format.
 *
 * The reader is a push parser: it is fed bytes in chunks of any size (from a
 * file, a socket, a gunzip or a download) and calls one handler function with
 * events as it recognises them. It never holds the whole file, nor a whole
 * value: strings and collection elements of any size arrive in bounded pieces.
 * Keys and small metadata strings (aux fields, names, function code) are
 * delivered whole, up to a configurable limit.
 *
 * Every length and offset is checked. A corrupt or hostile input ends with an
 * error naming the byte offset and what was expected, never with a crash, an
 * over-read, or an allocation sized by an unchecked length.
 *
 * The writer (rdb_writer_*) consumes the same events and writes an RDB file,
 * or DUMP payloads, for a chosen target version.
 *
 * Reference: docs/rdb.md and ../shared/docs/rdb-format.md. */
#ifndef RDBKEEP_RDB_H
#define RDBKEEP_RDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* The versions the reader knows. Valkey 9 writes "VALKEY080" headers; its
 * type numbers 22 and 23 and opcode 243 mean other things than Redis's, and
 * the header tells them apart. */
#define RDB_VERSION_MIN        1
#define RDB_VERSION_MAX_REDIS  13
#define RDB_VERSION_MIN_VALKEY 80
#define RDB_VERSION_MAX_VALKEY 81

enum rdb_magic { RDB_MAGIC_REDIS, RDB_MAGIC_VALKEY };

/* What a key holds. */
enum rdb_kind {
    RDB_KIND_STRING,
    RDB_KIND_LIST,
    RDB_KIND_SET,
    RDB_KIND_ZSET,
    RDB_KIND_HASH,
    RDB_KIND_STREAM,
    RDB_KIND_MODULE,
};

/* How a value is stored: one entry per type byte, with Valkey's meanings of
 * the conflicting numbers split out. The comment is the type byte. */
enum rdb_encoding {
    RDB_ENC_STRING,                  /* 0 */
    RDB_ENC_LIST,                    /* 1: linked list, RDB 1-6 */
    RDB_ENC_SET,                     /* 2 */
    RDB_ENC_ZSET,                    /* 3: scores as text, RDB < 8 */
    RDB_ENC_HASH,                    /* 4 */
    RDB_ENC_ZSET_2,                  /* 5: binary scores */
    RDB_ENC_MODULE_PRE_GA,           /* 6: cannot be read without the module */
    RDB_ENC_MODULE_2,                /* 7 */
    RDB_ENC_HASH_ZIPMAP,             /* 9 */
    RDB_ENC_LIST_ZIPLIST,            /* 10 */
    RDB_ENC_SET_INTSET,              /* 11 */
    RDB_ENC_ZSET_ZIPLIST,            /* 12 */
    RDB_ENC_HASH_ZIPLIST,            /* 13 */
    RDB_ENC_LIST_QUICKLIST,          /* 14: nodes are ziplists */
    RDB_ENC_STREAM_LISTPACKS,        /* 15 */
    RDB_ENC_HASH_LISTPACK,           /* 16 */
    RDB_ENC_ZSET_LISTPACK,           /* 17 */
    RDB_ENC_LIST_QUICKLIST_2,        /* 18: nodes are listpacks or plain */
    RDB_ENC_STREAM_LISTPACKS_2,      /* 19 */
    RDB_ENC_SET_LISTPACK,            /* 20 */
    RDB_ENC_STREAM_LISTPACKS_3,      /* 21 */
    RDB_ENC_HASH_METADATA_PRE_GA,    /* 22 (Redis 7.4 RCs): field TTLs, absolute */
    RDB_ENC_HASH_LISTPACK_EX_PRE_GA, /* 23 (Redis 7.4 RCs) */
    RDB_ENC_HASH_METADATA,           /* 24: field TTLs relative to a minimum */
    RDB_ENC_HASH_LISTPACK_EX,        /* 25 */
    RDB_ENC_STREAM_LISTPACKS_4,      /* 26 (Redis RDB 13): + idempotent producers */
    RDB_ENC_VALKEY_HASH_2,           /* 22 under a VALKEY header: field TTLs */
    RDB_ENC_COUNT
};

const char *rdb_kind_name(enum rdb_kind kind);
/* A stable lower-case name, e.g. "quicklist2", "listpack-ex", "valkey-hash2". */
const char *rdb_encoding_name(enum rdb_encoding enc);
enum rdb_kind rdb_encoding_kind(enum rdb_encoding enc);
/* The type byte an encoding is stored as. */
uint8_t rdb_encoding_type_byte(enum rdb_encoding enc);
/* The lowest Redis RDB version that can load the encoding (6 for everything
 * older than RDB 6: the writer targets 6 and up). */
int rdb_encoding_min_version(enum rdb_encoding enc);

struct rdb_stream_id {
    uint64_t ms;
    uint64_t seq;
};

/* ---- Events ---------------------------------------------------------------- */

enum rdb_event_type {
    RDB_EVENT_START,      /* the header: .start */
    RDB_EVENT_AUX,        /* an AUX field: .aux */
    RDB_EVENT_SELECT_DB,  /* .db */
    RDB_EVENT_RESIZE_DB,  /* .resize */
    RDB_EVENT_SLOT_INFO,  /* .slot_info */
    RDB_EVENT_FUNCTION,   /* a function library: .function */
    RDB_EVENT_MODULE_AUX, /* module aux data begins: .module; MODULE_DATA values follow */
    RDB_EVENT_MODULE_AUX_END,
    RDB_EVENT_KEY,        /* a key begins: .key; the handler may set .key->want */
    RDB_EVENT_RAW,        /* bytes of the current value as stored: .raw */
    RDB_EVENT_VALUE,      /* one piece of the current value: .value */
    RDB_EVENT_KEY_END,    /* the key's value is complete: .key */
    RDB_EVENT_END,        /* EOF opcode and checksum read: .end */
};

struct rdb_start_info {
    enum rdb_magic magic;
    int version;
};

/* Strings in events are views into the reader's memory, valid only during
 * the handler call. They are binary: never assume a terminating zero. */
struct rdb_aux_info {
    const unsigned char *key;
    size_t key_len;
    const unsigned char *value;
    size_t value_len;
};

struct rdb_resize_info {
    uint64_t db_size;
    uint64_t expires_size;
};

struct rdb_slot_info {
    uint64_t slot;
    uint64_t slot_size;
    uint64_t expires_slot_size;
};

struct rdb_function_info {
    const unsigned char *code; /* the library source ("#!lua name=...") */
    size_t code_len;
    bool pre_ga; /* 7.0-rc1/rc2 layout (opcode 246): name, engine, description */
    const unsigned char *name, *engine, *desc;
    size_t name_len, engine_len, desc_len;
};

struct rdb_module_info {
    uint64_t id;      /* 54-bit type name, 10-bit encoding version */
    char name[10];    /* the 9-character type name */
    unsigned encver;
    uint64_t when;    /* MODULE_AUX only: 1 before keys, 2 after */
};

/* What a handler wants for the key it was just told about (set .want in the
 * RDB_EVENT_KEY event; the default is RDB_WANT_VALUES). The reader checks
 * every value fully whatever the handler wants. */
#define RDB_WANT_VALUES 1u /* RDB_EVENT_VALUE pieces */
#define RDB_WANT_RAW    2u /* RDB_EVENT_RAW: the value's bytes exactly as stored */

struct rdb_key_info {
    const unsigned char *key;
    size_t key_len;
    enum rdb_encoding enc;
    uint8_t type_byte;
    int db;
    int64_t expire_ms; /* absolute unix time in ms, or -1 */
    int64_t idle;      /* LRU idle seconds, or -1 */
    int freq;          /* LFU counter, or -1 */
    /* The value's top-level count when its encoding starts with one: elements
     * of plain lists, sets, zsets and hashes; nodes of quicklists; listpacks
     * of streams. 0 otherwise. */
    uint64_t len_hint;
    /* RDB 13 KEY_META payload (class specs and their values), as stored. */
    const unsigned char *meta;
    size_t meta_len;
    uint64_t offset;   /* where the key's record starts in the file */
    /* Set at RDB_EVENT_KEY_END: the number of elements the value held (list
     * items, members, fields, stream entries; 1 for strings and modules). */
    uint64_t elements;
    /* Set by the handler during RDB_EVENT_KEY. */
    unsigned want;
};

enum rdb_value_kind {
    RDB_VALUE_STRING,       /* the value of a string key */
    RDB_VALUE_LIST_NODE,    /* a quicklist node begins: .node_plain */
    RDB_VALUE_LIST_ITEM,
    RDB_VALUE_SET_MEMBER,
    RDB_VALUE_ZSET_MEMBER,
    RDB_VALUE_ZSET_SCORE,   /* .score, after its member */
    RDB_VALUE_HASH_FIELD,
    RDB_VALUE_HASH_VALUE,
    RDB_VALUE_HASH_FIELD_EXPIRE, /* .num = absolute expiry in ms, after the value; only for fields with a TTL */
    RDB_VALUE_MODULE_TYPE,  /* .module (module values, before their data) */
    RDB_VALUE_MODULE_DATA,  /* the module's serialized opcodes, as stored, ending with EOF (0) */
    /* Streams, in file order. */
    RDB_VALUE_STREAM_NODE,      /* a listpack node begins: .id = its master ID */
    RDB_VALUE_STREAM_LISTPACK,  /* pieces of the node's listpack bytes (decompressed) */
    RDB_VALUE_STREAM_ENTRY,     /* an entry begins: .id, .deleted, .count = fields */
    RDB_VALUE_STREAM_FIELD,
    RDB_VALUE_STREAM_VALUE,
    RDB_VALUE_STREAM_META,      /* .stream (after the nodes) */
    RDB_VALUE_STREAM_GROUP,     /* .data = name, .group */
    RDB_VALUE_STREAM_PEL,       /* .id, .pel: one pending entry of the group */
    RDB_VALUE_STREAM_CONSUMERS, /* .count: the group's consumers follow */
    RDB_VALUE_STREAM_CONSUMER,  /* .data = name, .consumer */
    RDB_VALUE_STREAM_CONSUMER_PEL, /* .id: an entry the consumer owns */
    RDB_VALUE_STREAM_IDMP,      /* RDB 13: .idmp (the idempotency settings) */
    RDB_VALUE_STREAM_IDMP_PRODUCER, /* .data = producer id, .count = its entries */
    RDB_VALUE_STREAM_IDMP_ENTRY,    /* .data = idempotency id, .id = the entry */
    RDB_VALUE_STREAM_IDMP_STATS,    /* .idmp.iids_added, .idmp.iids_duplicates */
};

struct rdb_stream_meta {
    uint64_t length;
    struct rdb_stream_id last_id;
    struct rdb_stream_id first_id;    /* 0-0 in streams older than type 19 */
    struct rdb_stream_id max_deleted; /* 0-0 in streams older than type 19 */
    uint64_t entries_added;           /* = length in streams older than type 19 */
    uint64_t groups;
};

struct rdb_stream_group {
    struct rdb_stream_id last_id;
    int64_t entries_read; /* -1 when not stored (types 15) */
    uint64_t pel_size;
};

struct rdb_stream_pel {
    int64_t delivery_time; /* ms */
    uint64_t delivery_count;
};

struct rdb_stream_consumer {
    int64_t seen_time;   /* ms */
    int64_t active_time; /* ms; = seen_time before type 21; -1: never active (RDB 13) */
    uint64_t pel_size;
};

struct rdb_stream_idmp {
    uint64_t duration;
    uint64_t max_entries;
    uint64_t producers;
    uint64_t iids_added;      /* set in RDB_VALUE_STREAM_IDMP_STATS */
    uint64_t iids_duplicates;
};

struct rdb_value {
    enum rdb_value_kind kind;
    /* A piece of a string element: bytes [offset, offset+len) of an element
     * that is total bytes long. Small elements come in one piece. */
    const unsigned char *data;
    size_t len;
    uint64_t offset;
    uint64_t total;
    /* The element was stored as an integer (intsets, ziplists, listpacks,
     * int-encoded strings); data still holds its decimal text. */
    bool is_int;
    long long ival;
    double score;
    int64_t num;
    uint64_t count;
    bool deleted;
    bool node_plain;
    struct rdb_stream_id id;
    union {
        struct rdb_module_info module;
        struct rdb_stream_meta stream;
        struct rdb_stream_group group;
        struct rdb_stream_pel pel;
        struct rdb_stream_consumer consumer;
        struct rdb_stream_idmp idmp;
    } u;
};

/* True if v is the last piece of its element. */
static inline bool rdb_value_complete(const struct rdb_value *v)
{
    return v->offset + v->len == v->total;
}

enum rdb_checksum_status {
    RDB_CHECKSUM_OK,
    RDB_CHECKSUM_DISABLED, /* stored as 0: saved with rdbchecksum no */
    RDB_CHECKSUM_ABSENT,   /* RDB 1-4 have none */
};

struct rdb_end_info {
    enum rdb_checksum_status checksum;
    uint64_t crc;  /* the computed CRC64 */
    uint64_t size; /* bytes from the magic through the checksum */
};

struct rdb_event {
    enum rdb_event_type type;
    uint64_t offset; /* file offset where the event's record starts */
    union {
        struct rdb_start_info start;
        struct rdb_aux_info aux;
        int db;
        struct rdb_resize_info resize;
        struct rdb_slot_info slot_info;
        struct rdb_function_info function;
        struct rdb_module_info module;
        struct rdb_key_info *key; /* KEY and KEY_END; the handler may set ->want */
        struct {
            const unsigned char *data;
            size_t len;
        } raw;
        const struct rdb_value *value;
        struct rdb_end_info end;
    } u;
};

/* Returns 0 to go on. Non-zero stops the reader: rdb_reader_feed returns -1
 * with the handler's message if it wrote one into err. */
typedef int (*rdb_handler_fn)(void *ctx, const struct rdb_event *ev, struct rk_err *err);

/* ---- Reader ----------------------------------------------------------------- */

struct rdb_reader_options {
    /* Keys and metadata strings longer than this are refused (default:
     * 512 MiB, Redis's own limit on bulk strings). */
    uint64_t max_whole_string;
    /* Accept a DUMP payload body instead of a file: no header, one value
     * (type byte + value), used by rdb_dump_* below. */
    bool dump_payload;
    int dump_version; /* the RDB version the payload claims */
};

struct rdb_reader;

struct rdb_reader *rdb_reader_new(const struct rdb_reader_options *opts, rdb_handler_fn handler,
                                  void *ctx);
void rdb_reader_free(struct rdb_reader *r);

/* Feeds the next len bytes. Returns 0, or -1 with the error in err ("offset
 * 1234: key "foo" (hash, ziplist): ..."). After an error every call fails. */
int rdb_reader_feed(struct rdb_reader *r, const void *data, size_t len, struct rk_err *err);
/* Says the input has ended: fails if the file ended early. */
int rdb_reader_finish(struct rdb_reader *r, struct rk_err *err);

/* Facts known once the EOF opcode has been read. */
bool rdb_reader_done(const struct rdb_reader *r);
uint64_t rdb_reader_offset(const struct rdb_reader *r);        /* bytes consumed */
uint64_t rdb_reader_trailing_bytes(const struct rdb_reader *r); /* after the checksum */
int rdb_reader_version(const struct rdb_reader *r);
enum rdb_magic rdb_reader_magic(const struct rdb_reader *r);

/* ---- Writer ------------------------------------------------------------------
 *
 * Consumes reader events and writes them for a target Redis RDB version
 * (6 to 12) in encodings that version loads. Plug it in as the reader's
 * handler: rdb_reader_new(NULL, rdb_writer_event, writer). Values the target
 * reads as they are stored are copied byte for byte; the rest are rewritten
 * (see src/rdb/encode.h). Expiry stays absolute in milliseconds. */

#define RDB_WRITER_MIN_VERSION 6
#define RDB_WRITER_MAX_VERSION 12

struct rdb_writer_options {
    int target_version;
    /* Leave out keys, and hash fields, that have expired by now_ms. */
    bool drop_expired;
    uint64_t now_ms;        /* 0: the current time */
    /* Memory a single value may take while it is rebuilt (default 256 MiB);
     * a bigger one is an error naming the key. */
    uint64_t max_buffered;
};

struct rdb_writer_stats {
    uint64_t keys;                /* written */
    uint64_t keys_rewritten;      /* of which re-encoded for the target */
    uint64_t keys_expired;        /* left out: already expired */
    uint64_t keys_empty;          /* left out: empty, as Redis drops them on load */
    uint64_t fields_expired;      /* hash fields left out: already expired */
    uint64_t field_ttls_dropped;  /* hash field TTLs the target cannot store */
    uint64_t functions_dropped;   /* functions for a target without them (< 10) */
    uint64_t module_aux_dropped;  /* module aux data for a target without it (< 9) */
    uint64_t stream_idmp_dropped; /* RDB 13 stream idempotency data */
    uint64_t bytes;               /* written */
};

typedef int (*rdb_write_fn)(void *ctx, const void *data, size_t len, struct rk_err *err);

struct rdb_writer;

/* Returns NULL with err set if the options are invalid. */
struct rdb_writer *rdb_writer_new(const struct rdb_writer_options *opts, rdb_write_fn write,
                                  void *ctx, struct rk_err *err);
/* An rdb_handler_fn. The file is complete (EOF marker and CRC64 written)
 * once the reader has delivered RDB_EVENT_END. */
int rdb_writer_event(void *writer, const struct rdb_event *ev, struct rk_err *err);
bool rdb_writer_complete(const struct rdb_writer *w);
const struct rdb_writer_stats *rdb_writer_stats(const struct rdb_writer *w);
void rdb_writer_free(struct rdb_writer *w);

/* ---- DUMP payloads -------------------------------------------------------------
 *
 * The same rewriting, one key at a time, framed as RESTORE wants it:
 * type byte, value, RDB version (u16 LE), CRC64 (LE). */

struct rdb_dump_options {
    int target_version;
    bool drop_expired;
    uint64_t now_ms;
    /* Payloads bigger than this are not built (default 64 MiB): the callback
     * gets payload NULL and too_big set, and the caller sends the key another
     * way. */
    uint64_t max_payload;
};

struct rdb_dump_key {
    const struct rdb_key_info *key;
    const unsigned char *payload; /* NULL when too_big */
    size_t len;
    bool too_big;
};

typedef int (*rdb_dump_fn)(void *ctx, const struct rdb_dump_key *dk, struct rk_err *err);

struct rdb_dumper;

struct rdb_dumper *rdb_dumper_new(const struct rdb_dump_options *opts, rdb_dump_fn fn, void *ctx,
                                  struct rk_err *err);
/* An rdb_handler_fn: every key becomes one callback. Other records (aux,
 * functions, module aux) are ignored. */
int rdb_dumper_event(void *dumper, const struct rdb_event *ev, struct rk_err *err);
const struct rdb_writer_stats *rdb_dumper_stats(const struct rdb_dumper *d);
void rdb_dumper_free(struct rdb_dumper *d);

/* Formats a binary string for a message: printable ASCII as is, other bytes
 * as \xNN, cut at max characters with "...". Returns out. */
char *rdb_quote(const unsigned char *s, size_t len, size_t max, char *out, size_t outlen);

#endif
