/* reader_internal.h: the reader's state, shared by reader*.c (private).
 *
 * The reader is a state machine. Each step reads one token through the byte
 * window (a length, a header, a fixed-size field) or one piece of a string,
 * and either moves on, says it needs more input, or fails. Every piece of
 * state a step needs to resume lives in struct rdb_reader, so a feed may stop
 * between any two bytes. */
#ifndef RDBKEEP_RDB_READER_INTERNAL_H
#define RDBKEEP_RDB_READER_INTERNAL_H

#include "rdb/blob.h"
#include "rdb/codec.h"
#include "rdb/rdb.h"
#include "rdb/window.h"

/* Step results. */
enum { RD_OK, RD_MORE, RD_ERR };

enum rd_state {
    RS_MAGIC,
    RS_OPCODE,
    RS_EXPIRE_SEC,
    RS_EXPIRE_MS,
    RS_SELECT_DB,
    RS_RESIZE_DB,
    RS_AUX_KEY_DONE,
    RS_AUX_VALUE_DONE,
    RS_IDLE,
    RS_FREQ,
    RS_SKIP_LEN,           /* Redis Enterprise opcodes followed by one length */
    RS_SLOT_INFO,
    RS_MODULE_AUX_HEADER,
    RS_MODULE_AUX_END,
    RS_FUNCTION2_DONE,
    RS_FUNCTION_NAME_DONE,
    RS_FUNCTION_ENGINE_DONE,
    RS_FUNCTION_HAS_DESC,
    RS_FUNCTION_DESC_DONE,
    RS_FUNCTION_CODE_DONE,
    RS_KEY_META_COUNT,
    RS_KEY_META_CLASS,
    RS_KEY_META_END,
    RS_CHECKSUM,
    RS_TRAILING,
    RS_DUMP_TYPE,
    RS_DUMP_FOOTER,
    RS_SKIP_BYTES,
    RS_SLOT_IMPORT_NAME_DONE,
    RS_SLOT_IMPORT_RANGES,
    /* strings */
    RS_STR_HEADER,
    RS_STR_RAW,
    RS_STR_LZF,
    /* module opcodes (module values, MODULE_AUX, KEY_META classes) */
    RS_MOD_OP,
    RS_MOD_UINT,
    RS_MOD_DONE,
    /* keys */
    RS_KEY_NAME_DONE,
    RS_KEY_END,
    /* values */
    RS_COLL_LEN,
    RS_COLL_ELEM,
    RS_COLL_NEXT,
    RS_HASH_VALUE,
    RS_ZSET_SCORE,
    RS_HFE_MIN,
    RS_HFE_TTL,
    RS_HFE_EMIT,
    RS_VALKEY_EXPIRY,
    RS_LPEX_MIN,
    RS_BLOB_VALUE,
    RS_QUICKLIST_LEN,
    RS_QUICKLIST_NODE,
    RS_QUICKLIST_NEXT,
    RS_QUICKLIST_PLAIN_DONE,
    RS_MODULE_ID,
    /* streams */
    RS_STREAM_NODES,
    RS_STREAM_NODE,
    RS_STREAM_NODE_KEY_DONE,
    RS_STREAM_NODE_DONE,
    RS_STREAM_META,
    RS_STREAM_GROUP,
    RS_STREAM_GROUP_NAME_DONE,
    RS_STREAM_PEL,
    RS_STREAM_CONSUMERS,
    RS_STREAM_CONSUMER,
    RS_STREAM_CONSUMER_NAME_DONE,
    RS_STREAM_CONSUMER_PEL,
    RS_STREAM_GROUP_DONE,
    RS_STREAM_IDMP,
    RS_STREAM_PRODUCER,
    RS_STREAM_PRODUCER_NAME_DONE,
    RS_STREAM_IDMP_ENTRY,
    RS_STREAM_IDMP_ENTRY_NAME_DONE,
    RS_STREAM_IDMP_STATS,
    RS_FAILED,
};

/* Where a string's contents go. */
enum rd_dest {
    DEST_WHOLE,  /* gathered in r->whole[str.slot], delivered whole */
    DEST_PIECES, /* value events of kind str.kind, piece by piece */
    DEST_BLOB,   /* decoded as a packed blob, entries routed to value events */
    DEST_SKIP,   /* checked and dropped (module strings) */
};

/* How entries of a blob become value events. */
enum rd_route {
    ROUTE_ITEMS,    /* every entry is one element of kind route_kind */
    ROUTE_PAIRS,    /* field, value */
    ROUTE_ZSET,     /* member, score */
    ROUTE_TRIPLES,  /* field, value, expiry (listpack-ex hashes) */
    ROUTE_STREAM,   /* a stream node */
};

/* What the observer does with consumed bytes besides the CRC. */
enum rd_capture {
    CAPTURE_NONE,
    CAPTURE_MODULE, /* RDB_VALUE_MODULE_DATA events */
    CAPTURE_META,   /* appended to r->keymeta */
};

#define RD_WHOLE_SLOTS 4
#define RD_NUMS        10

struct rdb_reader {
    struct rdb_reader_options opt;
    rdb_handler_fn handler;
    void *ctx;
    struct rk_err *err; /* the caller's, during a feed */
    struct rdb_window w;
    enum rd_state state;
    bool failed;
    bool done;           /* EOF opcode and checksum read */
    bool handler_failed; /* a handler called from the observer asked to stop */
    struct rk_err error; /* the first error; kept for every later call */
    enum rdb_magic magic;
    int version;
    uint64_t crc;
    bool crc_on;
    const unsigned char *crc_from, *crc_to; /* consumed chunk bytes not yet in crc */
    const unsigned char *chunk, *chunk_end; /* the chunk being fed */
    bool tap;            /* RDB_EVENT_RAW for consumed bytes */
    enum rd_capture capture;
    uint64_t trailing;
    uint64_t end_size;

    /* Key-scoped opcodes seen since the last key. */
    int db;
    int64_t expire_ms, idle;
    int freq;
    uint64_t record_offset; /* where the current record began */
    bool in_record;
    struct rk_buf keymeta;

    /* The current key. */
    struct rdb_key_info key;
    enum rdb_encoding enc;
    bool in_key;
    unsigned want;
    uint64_t elements;
    uint64_t left;       /* elements, nodes, groups... left at the current level */
    uint64_t left2;      /* and one level down */
    uint64_t left3;
    int64_t ttl;         /* the field TTL being read */
    uint64_t min_expire; /* HASH_METADATA base */
    int after_value;     /* state after a hash value */
    int mod_next;        /* state after a module opcode stream's EOF */
    uint64_t skip_n;     /* RS_SKIP_BYTES: bytes left to skip */
    int skip_next;       /* and the state after them */
    uint64_t nums[RD_NUMS];
    int nums_got;

    /* The string being read. */
    struct {
        enum rd_dest dest;
        int next;
        int slot;
        enum rdb_value_kind kind;
        enum rdb_blob_kind blob_kind;
        uint64_t total, done;
        uint64_t lzf_left; /* compressed bytes still to read */
        uint64_t start;    /* offset of the string's header */
        bool failed;       /* delivering its contents failed (error already set) */
    } str;
    struct rk_buf whole[RD_WHOLE_SLOTS];
    struct rk_buf lzf_out;
    struct rdb_lzf_stream lzf;
    bool lzf_active;

    /* The blob being decoded, and how its entries are routed. */
    struct rdb_blob blob;
    enum rd_route route;
    enum rdb_value_kind route_kind;
    bool route_failed;      /* routing an entry failed (error already set) */
    bool route_counts_only; /* the blob decoder only checks and counts */
    struct rk_buf score_text;

    /* Stream node interpretation (ROUTE_STREAM). */
    struct {
        struct rdb_stream_id master;
        int state;
        int64_t count, deleted, master_fields;
        int64_t field_index, fields;
        int flags;
        struct rdb_stream_id id;
        uint64_t seen_valid, seen_deleted;
        struct rk_buf master_names; /* the master fields, each as u32 length + bytes */
    } sn;

    struct rdb_value v;   /* the event being built */
    char numtext[32];
};

/* reader.c */
int rd_error(struct rdb_reader *r, const char *fmt, ...) RK_PRINTF(2, 3);
int rd_read_len(struct rdb_reader *r, uint64_t *out);
/* Reads a length "at" bytes into the window without consuming anything. */
int rd_peek_len(struct rdb_reader *r, size_t at, uint64_t *out, size_t *size);
void rd_module_info(uint64_t id, struct rdb_module_info *m);
int rd_read_lens(struct rdb_reader *r, int count);
void rd_string_begin(struct rdb_reader *r, enum rd_dest dest, int next);
void rd_string_whole(struct rdb_reader *r, int slot, int next);
void rd_string_pieces(struct rdb_reader *r, enum rdb_value_kind kind, int next);
void rd_string_blob(struct rdb_reader *r, enum rdb_blob_kind kind, enum rd_route route,
                    enum rdb_value_kind route_kind, int next);
int rd_emit(struct rdb_reader *r, const struct rdb_event *ev);
int rd_emit_value(struct rdb_reader *r);
void rd_value_reset(struct rdb_reader *r, enum rdb_value_kind kind);
void rd_set_capture(struct rdb_reader *r, enum rd_capture capture);
static inline uint64_t rd_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* reader_value.c */
int rd_value_begin(struct rdb_reader *r);
int rd_value_step(struct rdb_reader *r);
int rd_module_op_step(struct rdb_reader *r);
int rd_route_entry(void *ctx, const struct rdb_blob_entry *e, struct rk_err *err);
int rd_emit_piece(struct rdb_reader *r, enum rdb_value_kind kind, const unsigned char *data,
                  size_t len, uint64_t offset, uint64_t total, bool is_int, long long ival);

/* reader_stream.c */
int rd_stream_step(struct rdb_reader *r);
int rd_stream_route(struct rdb_reader *r, const struct rdb_blob_entry *e);
void rd_stream_node_begin(struct rdb_reader *r);
int rd_stream_node_end(struct rdb_reader *r);

#endif
