/* Names and facts about kinds and encodings. */
#include "rdb/rdb.h"

static const struct encoding_facts {
    const char *name;
    enum rdb_kind kind;
    uint8_t type_byte;
    int min_version;
} encodings[RDB_ENC_COUNT] = {
    [RDB_ENC_STRING] = {"string", RDB_KIND_STRING, 0, 6},
    [RDB_ENC_LIST] = {"linkedlist", RDB_KIND_LIST, 1, 6},
    [RDB_ENC_SET] = {"hashtable", RDB_KIND_SET, 2, 6},
    [RDB_ENC_ZSET] = {"skiplist", RDB_KIND_ZSET, 3, 6},
    [RDB_ENC_HASH] = {"hashtable", RDB_KIND_HASH, 4, 6},
    [RDB_ENC_ZSET_2] = {"skiplist2", RDB_KIND_ZSET, 5, 8},
    [RDB_ENC_MODULE_PRE_GA] = {"module-pre-ga", RDB_KIND_MODULE, 6, 8},
    [RDB_ENC_MODULE_2] = {"module", RDB_KIND_MODULE, 7, 8},
    [RDB_ENC_HASH_ZIPMAP] = {"zipmap", RDB_KIND_HASH, 9, 6},
    [RDB_ENC_LIST_ZIPLIST] = {"ziplist", RDB_KIND_LIST, 10, 6},
    [RDB_ENC_SET_INTSET] = {"intset", RDB_KIND_SET, 11, 6},
    [RDB_ENC_ZSET_ZIPLIST] = {"ziplist", RDB_KIND_ZSET, 12, 6},
    [RDB_ENC_HASH_ZIPLIST] = {"ziplist", RDB_KIND_HASH, 13, 6},
    [RDB_ENC_LIST_QUICKLIST] = {"quicklist", RDB_KIND_LIST, 14, 7},
    [RDB_ENC_STREAM_LISTPACKS] = {"stream", RDB_KIND_STREAM, 15, 9},
    [RDB_ENC_HASH_LISTPACK] = {"listpack", RDB_KIND_HASH, 16, 10},
    [RDB_ENC_ZSET_LISTPACK] = {"listpack", RDB_KIND_ZSET, 17, 10},
    [RDB_ENC_LIST_QUICKLIST_2] = {"quicklist2", RDB_KIND_LIST, 18, 10},
    [RDB_ENC_STREAM_LISTPACKS_2] = {"stream2", RDB_KIND_STREAM, 19, 10},
    [RDB_ENC_SET_LISTPACK] = {"listpack", RDB_KIND_SET, 20, 11},
    [RDB_ENC_STREAM_LISTPACKS_3] = {"stream3", RDB_KIND_STREAM, 21, 11},
    [RDB_ENC_HASH_METADATA_PRE_GA] = {"hashtable-ttl-rc", RDB_KIND_HASH, 22, 12},
    [RDB_ENC_HASH_LISTPACK_EX_PRE_GA] = {"listpack-ex-rc", RDB_KIND_HASH, 23, 12},
    [RDB_ENC_HASH_METADATA] = {"hashtable-ttl", RDB_KIND_HASH, 24, 12},
    [RDB_ENC_HASH_LISTPACK_EX] = {"listpack-ex", RDB_KIND_HASH, 25, 12},
    [RDB_ENC_STREAM_LISTPACKS_4] = {"stream4", RDB_KIND_STREAM, 26, 13},
    [RDB_ENC_VALKEY_HASH_2] = {"valkey-hash2", RDB_KIND_HASH, 22, 80},
};

const char *rdb_kind_name(enum rdb_kind kind)
{
    switch (kind) {
    case RDB_KIND_STRING: return "string";
    case RDB_KIND_LIST: return "list";
    case RDB_KIND_SET: return "set";
    case RDB_KIND_ZSET: return "zset";
    case RDB_KIND_HASH: return "hash";
    case RDB_KIND_STREAM: return "stream";
    case RDB_KIND_MODULE: return "module";
    }
    return "unknown";
}

const char *rdb_encoding_name(enum rdb_encoding enc)
{
    return (unsigned)enc < RDB_ENC_COUNT ? encodings[enc].name : "unknown";
}

enum rdb_kind rdb_encoding_kind(enum rdb_encoding enc)
{
    return (unsigned)enc < RDB_ENC_COUNT ? encodings[enc].kind : RDB_KIND_STRING;
}

uint8_t rdb_encoding_type_byte(enum rdb_encoding enc)
{
    return (unsigned)enc < RDB_ENC_COUNT ? encodings[enc].type_byte : 0;
}

int rdb_encoding_min_version(enum rdb_encoding enc)
{
    return (unsigned)enc < RDB_ENC_COUNT ? encodings[enc].min_version : 99;
}
