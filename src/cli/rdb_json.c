/* rdbkeep rdb json FILE: one JSON object per key per line.
 *
 * Values stream straight from the reader's events to stdout, so a key of any
 * size is written in bounded memory; the only thing kept is the list of hash
 * fields that carry a TTL, written after the hash's fields. */
#include "cli/rdb_tools.h"

#include <inttypes.h>
#include <string.h>

struct json_state {
    FILE *out;
    enum rdb_kind kind;
    bool first;          /* no element written yet at the current level */
    struct json_str str; /* the string being written */
    /* hashes with field TTLs */
    bool track_fields;
    struct rk_buf field;    /* the current field's name */
    struct rk_buf expires;  /* pairs written out at the end: u32 len, name, int64 ms */
    /* streams */
    uint64_t fields_left;
    bool entry_deleted;
    bool in_entries, in_groups, in_group, in_consumer, in_producers, in_producer;
    /* module data, base64 */
    unsigned char b64[3];
    size_t b64_len;
    uint64_t keys;
    bool in_key; /* module aux data arrives outside any key: not ours to print */
};

static void sep(struct json_state *j)
{
    if (!j->first) putc(',', j->out);
    j->first = false;
}

static void write_id(FILE *out, struct rdb_stream_id id)
{
    fprintf(out, "\"%" PRIu64 "-%" PRIu64 "\"", id.ms, id.seq);
}

static void string_piece(struct json_state *j, const struct rdb_value *v)
{
    if (v->offset == 0) json_str_begin(&j->str, j->out);
    json_str_piece(&j->str, v->data, v->len);
    if (rdb_value_complete(v)) json_str_end(&j->str);
}

static void base64_flush(struct json_state *j, bool final)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (j->b64_len == 3 || (final && j->b64_len)) {
        unsigned char *b = j->b64;
        uint32_t n = (uint32_t)b[0] << 16 | (j->b64_len > 1 ? (uint32_t)b[1] << 8 : 0) |
                     (j->b64_len > 2 ? b[2] : 0);
        char out[4] = {tab[n >> 18 & 63], tab[n >> 12 & 63],
                       j->b64_len > 1 ? tab[n >> 6 & 63] : '=', j->b64_len > 2 ? tab[n & 63] : '='};
        fwrite(out, 1, 4, j->out);
        j->b64_len = 0;
    }
}

static void base64_piece(struct json_state *j, const unsigned char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        j->b64[j->b64_len++] = data[i];
        base64_flush(j, false);
    }
}

/* Closing a nested list returns to the level above, which has at least one
 * element already: the next sibling needs a comma. */
static void close_consumer(struct json_state *j)
{
    if (j->in_consumer) {
        fputs("]}", j->out);
        j->first = false;
    }
    j->in_consumer = false;
}

static void close_group(struct json_state *j)
{
    close_consumer(j);
    if (j->in_group) {
        fputs("]}", j->out);
        j->first = false;
    }
    j->in_group = false;
}

static void close_stream_parts(struct json_state *j)
{
    if (j->in_entries) fputs("]", j->out); /* a stream always has its META event */
    j->in_entries = false;
    close_group(j);
    if (j->in_groups) fputs("]", j->out);
    j->in_groups = false;
    if (j->in_producer) fputs("]}", j->out);
    j->in_producer = false;
    if (j->in_producers) fputs("]", j->out);
    j->in_producers = false;
}

static void key_begin(struct json_state *j, const struct rdb_key_info *k)
{
    FILE *out = j->out;
    j->kind = rdb_encoding_kind(k->enc);
    fprintf(out, "{\"db\":%d,\"key\":", k->db);
    json_write_string(out, k->key, k->key_len);
    fprintf(out, ",\"type\":\"%s\",\"encoding\":\"%s\"", rdb_kind_name(j->kind),
            rdb_encoding_name(k->enc));
    if (k->expire_ms >= 0) fprintf(out, ",\"expire_ms\":%" PRId64, k->expire_ms);
    fputs(",\"value\":", out);
    j->first = true;
    j->track_fields = false;
    rk_buf_reset(&j->expires);
    switch (j->kind) {
    case RDB_KIND_STRING: break;
    case RDB_KIND_LIST: case RDB_KIND_SET: case RDB_KIND_ZSET: putc('[', out); break;
    case RDB_KIND_HASH:
        putc('{', out);
        j->track_fields = k->enc == RDB_ENC_HASH_METADATA || k->enc == RDB_ENC_HASH_LISTPACK_EX ||
                          k->enc == RDB_ENC_HASH_METADATA_PRE_GA ||
                          k->enc == RDB_ENC_HASH_LISTPACK_EX_PRE_GA ||
                          k->enc == RDB_ENC_VALKEY_HASH_2;
        break;
    case RDB_KIND_STREAM:
        fputs("{\"entries\":[", out);
        j->in_entries = true;
        j->fields_left = 0;
        break;
    case RDB_KIND_MODULE: putc('{', out); break;
    }
}

static void key_end(struct json_state *j)
{
    FILE *out = j->out;
    switch (j->kind) {
    case RDB_KIND_STRING: break;
    case RDB_KIND_LIST: case RDB_KIND_SET: case RDB_KIND_ZSET: putc(']', out); break;
    case RDB_KIND_HASH:
        putc('}', out);
        if (j->track_fields && j->expires.len) {
            fputs(",\"field_expires\":{", out);
            size_t off = 0;
            bool first = true;
            while (off < j->expires.len) {
                uint32_t n;
                int64_t ms;
                memcpy(&n, j->expires.data + off, 4);
                memcpy(&ms, j->expires.data + off + 4 + n, 8);
                if (!first) putc(',', out);
                first = false;
                json_write_string(out, j->expires.data + off + 4, n);
                fprintf(out, ":%" PRId64, ms);
                off += 4 + n + 8;
            }
            putc('}', out);
        }
        break;
    case RDB_KIND_STREAM:
        close_stream_parts(j);
        putc('}', out);
        break;
    case RDB_KIND_MODULE:
        base64_flush(j, true);
        fputs("\"}", out);
        break;
    }
    fputs("}\n", out);
    j->keys++;
}

static void stream_value(struct json_state *j, const struct rdb_value *v)
{
    FILE *out = j->out;
    switch (v->kind) {
    case RDB_VALUE_STREAM_ENTRY:
        j->entry_deleted = v->deleted;
        j->fields_left = v->count;
        if (v->deleted) return;
        sep(j);
        fputs("{\"id\":", out);
        write_id(out, v->id);
        /* A flat [field, value, ...] list, as XRANGE answers: an entry may
         * repeat a field, which an object could not hold. */
        fputs(",\"fields\":[", out);
        if (v->count == 0) fputs("]}", out);
        return;
    case RDB_VALUE_STREAM_FIELD:
        if (j->entry_deleted) return;
        string_piece(j, v);
        if (rdb_value_complete(v)) putc(',', out);
        return;
    case RDB_VALUE_STREAM_VALUE:
        if (j->entry_deleted) return;
        string_piece(j, v);
        if (rdb_value_complete(v)) {
            if (--j->fields_left == 0) fputs("]}", out);
            else putc(',', out);
        }
        return;
    case RDB_VALUE_STREAM_META:
        fputs("]", out);
        j->in_entries = false;
        fprintf(out, ",\"length\":%" PRIu64 ",\"last_id\":", v->u.stream.length);
        write_id(out, v->u.stream.last_id);
        fputs(",\"first_id\":", out);
        write_id(out, v->u.stream.first_id);
        fputs(",\"max_deleted_id\":", out);
        write_id(out, v->u.stream.max_deleted);
        fprintf(out, ",\"entries_added\":%" PRIu64 ",\"groups\":[", v->u.stream.entries_added);
        j->in_groups = true;
        j->first = true;
        return;
    case RDB_VALUE_STREAM_GROUP:
        close_group(j);
        sep(j);
        fputs("{\"name\":", out);
        json_write_string(out, v->data, v->len);
        fputs(",\"last_id\":", out);
        write_id(out, v->u.group.last_id);
        if (v->u.group.entries_read >= 0)
            fprintf(out, ",\"entries_read\":%" PRId64, v->u.group.entries_read);
        fputs(",\"pending\":[", out);
        j->in_group = true;
        j->first = true;
        return;
    case RDB_VALUE_STREAM_PEL:
        sep(j);
        fputs("{\"id\":", out);
        write_id(out, v->id);
        fprintf(out, ",\"delivery_time\":%" PRId64 ",\"delivery_count\":%" PRIu64 "}",
                v->u.pel.delivery_time, v->u.pel.delivery_count);
        return;
    case RDB_VALUE_STREAM_CONSUMERS:
        fputs("],\"consumers\":[", out);
        j->first = true;
        return;
    case RDB_VALUE_STREAM_CONSUMER:
        close_consumer(j);
        sep(j);
        fputs("{\"name\":", out);
        json_write_string(out, v->data, v->len);
        fprintf(out, ",\"seen_time\":%" PRId64 ",\"active_time\":%" PRId64 ",\"pending\":[",
                v->u.consumer.seen_time, v->u.consumer.active_time);
        j->in_consumer = true;
        j->first = true;
        return;
    case RDB_VALUE_STREAM_CONSUMER_PEL:
        sep(j);
        write_id(out, v->id);
        return;
    case RDB_VALUE_STREAM_IDMP:
        close_group(j);
        fputs("]", out);
        j->in_groups = false;
        fprintf(out, ",\"idmp\":{\"duration\":%" PRIu64 ",\"max_entries\":%" PRIu64
                     ",\"producers\":[", v->u.idmp.duration, v->u.idmp.max_entries);
        j->in_producers = true;
        j->first = true;
        return;
    case RDB_VALUE_STREAM_IDMP_PRODUCER:
        if (j->in_producer) {
            fputs("]}", out);
            j->first = false;
        }
        sep(j);
        fputs("{\"producer\":", out);
        json_write_string(out, v->data, v->len);
        fputs(",\"entries\":[", out);
        j->in_producer = true;
        j->first = true;
        return;
    case RDB_VALUE_STREAM_IDMP_ENTRY:
        sep(j);
        fputs("{\"iid\":", out);
        json_write_string(out, v->data, v->len);
        fputs(",\"id\":", out);
        write_id(out, v->id);
        putc('}', out);
        return;
    case RDB_VALUE_STREAM_IDMP_STATS:
        if (j->in_producer) fputs("]}", out);
        j->in_producer = false;
        fputs("]", out);
        j->in_producers = false;
        fprintf(out, ",\"iids_added\":%" PRIu64 ",\"iids_duplicates\":%" PRIu64 "}",
                v->u.idmp.iids_added, v->u.idmp.iids_duplicates);
        return;
    default:
        return; /* nodes and their raw listpacks */
    }
}

static void value(struct json_state *j, const struct rdb_value *v)
{
    FILE *out = j->out;
    switch (v->kind) {
    case RDB_VALUE_STRING: string_piece(j, v); return;
    case RDB_VALUE_LIST_ITEM: case RDB_VALUE_SET_MEMBER:
        if (v->offset == 0) sep(j);
        string_piece(j, v);
        return;
    case RDB_VALUE_ZSET_MEMBER:
        if (v->offset == 0) {
            sep(j);
            putc('[', out);
        }
        string_piece(j, v);
        if (rdb_value_complete(v)) putc(',', out);
        return;
    case RDB_VALUE_ZSET_SCORE:
        json_write_double(out, v->score);
        putc(']', out);
        return;
    case RDB_VALUE_HASH_FIELD:
        if (v->offset == 0) {
            sep(j);
            if (j->track_fields) rk_buf_reset(&j->field);
        }
        if (j->track_fields) rk_buf_append(&j->field, v->data, v->len);
        string_piece(j, v);
        if (rdb_value_complete(v)) putc(':', out);
        return;
    case RDB_VALUE_HASH_VALUE: string_piece(j, v); return;
    case RDB_VALUE_HASH_FIELD_EXPIRE: {
        uint32_t n = (uint32_t)j->field.len;
        int64_t ms = v->num;
        rk_buf_append(&j->expires, &n, 4);
        rk_buf_append(&j->expires, j->field.data, n);
        rk_buf_append(&j->expires, &ms, 8);
        return;
    }
    case RDB_VALUE_MODULE_TYPE:
        fprintf(out, "\"module\":\"%s\",\"encver\":%u,\"data\":\"", v->u.module.name,
                v->u.module.encver);
        j->b64_len = 0;
        return;
    case RDB_VALUE_MODULE_DATA: base64_piece(j, v->data, v->len); return;
    case RDB_VALUE_LIST_NODE: return;
    default: stream_value(j, v); return;
    }
}

static int json_handler(void *ctx, const struct rdb_event *ev, struct rk_err *err)
{
    struct json_state *j = ctx;
    switch (ev->type) {
    case RDB_EVENT_KEY:
        key_begin(j, ev->u.key);
        j->in_key = true;
        break;
    case RDB_EVENT_VALUE:
        if (j->in_key) value(j, ev->u.value);
        break;
    case RDB_EVENT_KEY_END:
        key_end(j);
        j->in_key = false;
        break;
    default: break;
    }
    if (ferror(j->out)) return rk_err_set(err, "writing the output failed");
    return 0;
}

int cli_rdb_json(int argc, char **argv)
{
    if (argc != 2) return cli_usage_error("rdb", "json: exactly one FILE (or -)");
    struct rdb_input in;
    struct rk_err err;
    if (rdb_input_open(&in, argv[1], &err)) {
        fprintf(stderr, "%s: %s\n", argv[1], err.msg);
        return CLI_EXIT_FAIL;
    }
    static char outbuf[1 << 20];
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
    struct json_state j = {.out = stdout};
    struct rdb_reader *r = rdb_reader_new(NULL, json_handler, &j);
    int rc = rdb_input_run(&in, r, NULL, &err);
    if (fflush(stdout) != 0 && !rc) {
        rc = -1;
        rk_err_set(&err, "writing the output failed");
    }
    if (rc) fprintf(stderr, "%s%s: %s\n", in.name, in.gzip.gzip ? " (after gunzip)" : "", err.msg);
    rdb_reader_free(r);
    rdb_input_close(&in);
    rk_buf_free(&j.field);
    rk_buf_free(&j.expires);
    return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
