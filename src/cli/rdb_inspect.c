/* rdbkeep rdb inspect FILE [--json]: what a file holds. */
#include "cli/rdb_tools.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DBS     64
#define MAX_MODULES 32

struct db_stats {
    int db;
    uint64_t keys, expires;
};

struct module_stats {
    char name[10];
    unsigned encver;
    uint64_t values, aux;
};

struct inspect_state {
    int version;
    enum rdb_magic magic;
    struct rk_buf aux;      /* u32 klen, key, u32 vlen, value ... */
    size_t aux_count;
    struct db_stats dbs[MAX_DBS];
    size_t ndbs;
    bool dbs_truncated;
    uint64_t keys, expires, expired, elements;
    uint64_t by_kind[RDB_KIND_MODULE + 1];
    uint64_t by_enc[RDB_ENC_COUNT];
    uint64_t functions;
    struct rk_buf function_names; /* u32 len, name ... */
    struct module_stats modules[MAX_MODULES];
    size_t nmodules;
    uint64_t slot_infos, field_expires;
    enum rdb_checksum_status checksum;
    uint64_t crc, size;
    uint64_t now_ms;
};

static struct db_stats *db_slot(struct inspect_state *s, int db)
{
    for (size_t i = 0; i < s->ndbs; i++)
        if (s->dbs[i].db == db) return &s->dbs[i];
    if (s->ndbs == MAX_DBS) {
        s->dbs_truncated = true;
        return NULL;
    }
    s->dbs[s->ndbs] = (struct db_stats){.db = db};
    return &s->dbs[s->ndbs++];
}

static struct module_stats *module_slot(struct inspect_state *s, const struct rdb_module_info *m)
{
    for (size_t i = 0; i < s->nmodules; i++)
        if (strcmp(s->modules[i].name, m->name) == 0 && s->modules[i].encver == m->encver)
            return &s->modules[i];
    if (s->nmodules == MAX_MODULES) return NULL;
    struct module_stats *ms = &s->modules[s->nmodules++];
    memset(ms, 0, sizeof(*ms));
    memcpy(ms->name, m->name, sizeof(ms->name));
    ms->encver = m->encver;
    return ms;
}

static void add_pair(struct rk_buf *b, const unsigned char *s, size_t n)
{
    uint32_t len = (uint32_t)n;
    rk_buf_append(b, &len, 4);
    rk_buf_append(b, s, n);
}

/* "#!lua name=mylib ..." -> "mylib" */
static void function_name(const unsigned char *code, size_t len, struct rk_buf *names)
{
    const char *key = "name=";
    size_t line = 0;
    while (line < len && code[line] != '\n') line++;
    for (size_t i = 0; i + 5 <= line; i++) {
        if (memcmp(code + i, key, 5) == 0) {
            size_t end = i + 5;
            while (end < line && code[end] != ' ') end++;
            add_pair(names, code + i + 5, end - i - 5);
            return;
        }
    }
    add_pair(names, (const unsigned char *)"?", 1);
}

static int inspect_handler(void *ctx, const struct rdb_event *ev, struct rk_err *err)
{
    struct inspect_state *s = ctx;
    (void)err;
    switch (ev->type) {
    case RDB_EVENT_START:
        s->version = ev->u.start.version;
        s->magic = ev->u.start.magic;
        break;
    case RDB_EVENT_AUX:
        add_pair(&s->aux, ev->u.aux.key, ev->u.aux.key_len);
        add_pair(&s->aux, ev->u.aux.value, ev->u.aux.value_len);
        s->aux_count++;
        break;
    case RDB_EVENT_SLOT_INFO: s->slot_infos++; break;
    case RDB_EVENT_FUNCTION:
        s->functions++;
        function_name(ev->u.function.code, ev->u.function.code_len, &s->function_names);
        break;
    case RDB_EVENT_MODULE_AUX: {
        struct module_stats *m = module_slot(s, &ev->u.module);
        if (m) m->aux++;
        break;
    }
    case RDB_EVENT_KEY: {
        const struct rdb_key_info *k = ev->u.key;
        struct db_stats *d = db_slot(s, k->db);
        s->keys++;
        s->by_kind[rdb_encoding_kind(k->enc)]++;
        s->by_enc[k->enc]++;
        if (d) d->keys++;
        if (k->expire_ms >= 0) {
            s->expires++;
            if (d) d->expires++;
            if ((uint64_t)k->expire_ms <= s->now_ms) s->expired++;
        }
        /* Values are only looked at for modules and field TTLs. */
        bool wants = k->enc == RDB_ENC_MODULE_2 || rdb_encoding_kind(k->enc) == RDB_KIND_HASH;
        ev->u.key->want = wants ? RDB_WANT_VALUES : 0;
        break;
    }
    case RDB_EVENT_VALUE:
        if (ev->u.value->kind == RDB_VALUE_MODULE_TYPE) {
            struct module_stats *m = module_slot(s, &ev->u.value->u.module);
            if (m) m->values++;
        } else if (ev->u.value->kind == RDB_VALUE_HASH_FIELD_EXPIRE) {
            s->field_expires++;
        }
        break;
    case RDB_EVENT_KEY_END: s->elements += ev->u.key->elements; break;
    case RDB_EVENT_END:
        s->checksum = ev->u.end.checksum;
        s->crc = ev->u.end.crc;
        s->size = ev->u.end.size;
        break;
    default: break;
    }
    return 0;
}

static const char *checksum_name(enum rdb_checksum_status c)
{
    return c == RDB_CHECKSUM_OK ? "ok" : c == RDB_CHECKSUM_DISABLED ? "disabled" : "absent";
}

static void print_text(const struct inspect_state *s, const struct rdb_input *in, uint64_t trailing)
{
    printf("file:        %s\n", in->name);
    printf("format:      %s RDB %d\n", s->magic == RDB_MAGIC_VALKEY ? "Valkey" : "Redis",
           s->version);
    char sz[32];
    rk_format_bytes(s->size, sz, sizeof(sz));
    printf("size:        %" PRIu64 " bytes (%s)", s->size, sz);
    if (in->gzip.gzip) printf(", gzip-compressed to %" PRIu64 " bytes", in->gzip.bytes_in);
    printf("\nchecksum:    %s", checksum_name(s->checksum));
    if (s->checksum == RDB_CHECKSUM_OK) printf(" (%016" PRIx64 ")", s->crc);
    printf("\n");
    if (trailing) printf("trailing:    %" PRIu64 " bytes after the checksum\n", trailing);
    size_t off = 0;
    if (s->aux_count) printf("aux fields:\n");
    for (size_t i = 0; i < s->aux_count; i++) {
        uint32_t kl, vl;
        memcpy(&kl, s->aux.data + off, 4);
        const unsigned char *k = s->aux.data + off + 4;
        off += 4 + kl;
        memcpy(&vl, s->aux.data + off, 4);
        const unsigned char *v = s->aux.data + off + 4;
        off += 4 + vl;
        char kq[96], vq[160];
        printf("  %-22s %s\n", rdb_quote(k, kl, 64, kq, sizeof(kq)),
               rdb_quote(v, vl, 100, vq, sizeof(vq)));
    }
    printf("keys:        %" PRIu64 " (%" PRIu64 " with an expiry, %" PRIu64
           " of them already expired)\n", s->keys, s->expires, s->expired);
    printf("elements:    %" PRIu64 "\n", s->elements);
    for (size_t i = 0; i < s->ndbs; i++)
        printf("  db %-6d  %" PRIu64 " keys, %" PRIu64 " with an expiry\n", s->dbs[i].db,
               s->dbs[i].keys, s->dbs[i].expires);
    printf("by type:\n");
    for (int k = 0; k <= RDB_KIND_MODULE; k++)
        if (s->by_kind[k]) printf("  %-10s %" PRIu64 "\n", rdb_kind_name(k), s->by_kind[k]);
    printf("by encoding:\n");
    for (int e = 0; e < RDB_ENC_COUNT; e++)
        if (s->by_enc[e])
            printf("  %-6s %-17s %" PRIu64 "\n", rdb_kind_name(rdb_encoding_kind(e)),
                   rdb_encoding_name(e), s->by_enc[e]);
    if (s->field_expires) printf("hash fields with a TTL: %" PRIu64 "\n", s->field_expires);
    printf("functions:   %" PRIu64 "\n", s->functions);
    off = 0;
    for (uint64_t i = 0; i < s->functions; i++) {
        uint32_t n;
        memcpy(&n, s->function_names.data + off, 4);
        char q[96];
        printf("  %s\n", rdb_quote(s->function_names.data + off + 4, n, 64, q, sizeof(q)));
        off += 4 + n;
    }
    printf("modules:     %zu\n", s->nmodules);
    for (size_t i = 0; i < s->nmodules; i++)
        printf("  %s (encver %u): %" PRIu64 " values, %" PRIu64 " aux records\n",
               s->modules[i].name, s->modules[i].encver, s->modules[i].values, s->modules[i].aux);
    if (s->slot_infos) printf("slot info records: %" PRIu64 "\n", s->slot_infos);
}

static void print_json(const struct inspect_state *s, const struct rdb_input *in, uint64_t trailing)
{
    FILE *o = stdout;
    fputs("{\"file\":", o);
    json_write_string(o, (const unsigned char *)in->name, strlen(in->name));
    fprintf(o, ",\"magic\":\"%s\",\"version\":%d,\"size\":%" PRIu64 ",\"gzip\":%s",
            s->magic == RDB_MAGIC_VALKEY ? "VALKEY" : "REDIS", s->version, s->size,
            in->gzip.gzip ? "true" : "false");
    if (in->gzip.gzip) fprintf(o, ",\"compressed_size\":%" PRIu64, in->gzip.bytes_in);
    fprintf(o, ",\"checksum\":\"%s\",\"crc64\":\"%016" PRIx64 "\",\"trailing_bytes\":%" PRIu64,
            checksum_name(s->checksum), s->crc, trailing);
    fputs(",\"aux\":{", o);
    size_t off = 0;
    for (size_t i = 0; i < s->aux_count; i++) {
        uint32_t kl, vl;
        memcpy(&kl, s->aux.data + off, 4);
        if (i) putc(',', o);
        json_write_string(o, s->aux.data + off + 4, kl);
        off += 4 + kl;
        memcpy(&vl, s->aux.data + off, 4);
        putc(':', o);
        json_write_string(o, s->aux.data + off + 4, vl);
        off += 4 + vl;
    }
    fprintf(o, "},\"keys\":%" PRIu64 ",\"expires\":%" PRIu64 ",\"already_expired\":%" PRIu64
               ",\"elements\":%" PRIu64 ",\"databases\":[", s->keys, s->expires, s->expired,
            s->elements);
    for (size_t i = 0; i < s->ndbs; i++)
        fprintf(o, "%s{\"db\":%d,\"keys\":%" PRIu64 ",\"expires\":%" PRIu64 "}", i ? "," : "",
                s->dbs[i].db, s->dbs[i].keys, s->dbs[i].expires);
    fputs("],\"types\":{", o);
    bool first = true;
    for (int k = 0; k <= RDB_KIND_MODULE; k++)
        if (s->by_kind[k]) {
            fprintf(o, "%s\"%s\":%" PRIu64, first ? "" : ",", rdb_kind_name(k), s->by_kind[k]);
            first = false;
        }
    fputs("},\"encodings\":{", o);
    first = true;
    for (int e = 0; e < RDB_ENC_COUNT; e++)
        if (s->by_enc[e]) {
            fprintf(o, "%s\"%s/%s\":%" PRIu64, first ? "" : ",", rdb_kind_name(rdb_encoding_kind(e)),
                    rdb_encoding_name(e), s->by_enc[e]);
            first = false;
        }
    fprintf(o, "},\"hash_field_expires\":%" PRIu64 ",\"functions\":[", s->field_expires);
    off = 0;
    for (uint64_t i = 0; i < s->functions; i++) {
        uint32_t n;
        memcpy(&n, s->function_names.data + off, 4);
        if (i) putc(',', o);
        json_write_string(o, s->function_names.data + off + 4, n);
        off += 4 + n;
    }
    fputs("],\"modules\":[", o);
    for (size_t i = 0; i < s->nmodules; i++)
        fprintf(o, "%s{\"name\":\"%s\",\"encver\":%u,\"values\":%" PRIu64 ",\"aux\":%" PRIu64 "}",
                i ? "," : "", s->modules[i].name, s->modules[i].encver, s->modules[i].values,
                s->modules[i].aux);
    fprintf(o, "],\"slot_info_records\":%" PRIu64 "}\n", s->slot_infos);
}

int cli_rdb_inspect(int argc, char **argv)
{
    bool json = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = true;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("rdb", "inspect: unknown option %s", argv[i]);
        else if (path) return cli_usage_error("rdb", "inspect: one FILE at a time");
        else path = argv[i];
    }
    if (!path) return cli_usage_error("rdb", "inspect: no file given");
    struct rdb_input in;
    struct rk_err err;
    if (rdb_input_open(&in, path, &err)) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return CLI_EXIT_FAIL;
    }
    struct inspect_state *s = xcalloc(1, sizeof(*s));
    s->now_ms = rk_now_ms();
    struct rdb_reader *r = rdb_reader_new(NULL, inspect_handler, s);
    int rc = rdb_input_run(&in, r, "inspecting", &err);
    if (rc) {
        fprintf(stderr, "%s%s: %s\n", in.name, in.gzip.gzip ? " (after gunzip)" : "", err.msg);
    } else if (json) {
        print_json(s, &in, rdb_reader_trailing_bytes(r));
    } else {
        print_text(s, &in, rdb_reader_trailing_bytes(r));
    }
    rdb_reader_free(r);
    rdb_input_close(&in);
    rk_buf_free(&s->aux);
    rk_buf_free(&s->function_names);
    free(s);
    return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
