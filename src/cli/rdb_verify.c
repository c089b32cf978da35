/* rdbkeep rdb verify FILE...: is each file intact? */
#include "cli/rdb_tools.h"

#include <string.h>

struct verify_state {
    uint64_t keys;
    int version;
    enum rdb_magic magic;
    enum rdb_checksum_status checksum;
    char server[64];
};

static int verify_handler(void *ctx, const struct rdb_event *ev, struct rk_err *err)
{
    struct verify_state *v = ctx;
    (void)err;
    switch (ev->type) {
    case RDB_EVENT_START:
        v->version = ev->u.start.version;
        v->magic = ev->u.start.magic;
        break;
    case RDB_EVENT_AUX:
        if ((ev->u.aux.key_len == 9 && memcmp(ev->u.aux.key, "redis-ver", 9) == 0) ||
            (ev->u.aux.key_len == 10 && memcmp(ev->u.aux.key, "valkey-ver", 10) == 0)) {
            char ver[48];
            rdb_quote(ev->u.aux.value, ev->u.aux.value_len, 24, ver, sizeof(ver));
            snprintf(v->server, sizeof(v->server), "%s %s",
                     ev->u.aux.key[0] == 'v' ? "valkey" : "redis", ver);
        }
        break;
    case RDB_EVENT_KEY:
        ev->u.key->want = 0; /* checked all the same; nothing to hand out */
        v->keys++;
        break;
    case RDB_EVENT_END:
        v->checksum = ev->u.end.checksum;
        break;
    default:
        break;
    }
    return 0;
}

static const char *checksum_text(enum rdb_checksum_status s)
{
    switch (s) {
    case RDB_CHECKSUM_OK: return "checksum ok";
    case RDB_CHECKSUM_DISABLED: return "checksum disabled (stored as 0)";
    default: return "no checksum (RDB < 5)";
    }
}

/* Verifies one file; prints the outcome. Returns 0 if intact. */
static int verify_one(const char *path, bool quiet)
{
    struct rdb_input in;
    struct rk_err err;
    if (rdb_input_open(&in, path, &err)) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return -1;
    }
    struct verify_state v = {0};
    struct rdb_reader *r = rdb_reader_new(NULL, verify_handler, &v);
    int rc = rdb_input_run(&in, r, quiet ? NULL : "verifying", &err);
    if (rc) {
        fprintf(stderr, "%s%s: %s\n", in.name, in.gzip.gzip ? " (after gunzip)" : "", err.msg);
    } else if (!quiet) {
        char trailing[64] = "";
        uint64_t t = rdb_reader_trailing_bytes(r);
        if (t) snprintf(trailing, sizeof(trailing), ", %llu bytes after the checksum",
                        (unsigned long long)t);
        printf("%s: ok: %s RDB %d%s%s%s, %llu keys, %s%s\n", in.name,
               v.magic == RDB_MAGIC_VALKEY ? "Valkey" : "Redis", v.version, v.server[0] ? " (" : "",
               v.server, v.server[0] ? ")" : "", (unsigned long long)v.keys,
               checksum_text(v.checksum), trailing);
    }
    rdb_reader_free(r);
    rdb_input_close(&in);
    return rc;
}

int cli_rdb_verify(int argc, char **argv)
{
    bool quiet = false;
    int first = 1;
    for (; first < argc && argv[first][0] == '-' && argv[first][1]; first++) {
        if (strcmp(argv[first], "-q") == 0 || strcmp(argv[first], "--quiet") == 0) quiet = true;
        else if (strcmp(argv[first], "--") == 0) {
            first++;
            break;
        } else return cli_usage_error("rdb", "verify: unknown option %s", argv[first]);
    }
    if (first >= argc) return cli_usage_error("rdb", "verify: no file given");
    int failed = 0;
    for (int i = first; i < argc; i++)
        if (verify_one(argv[i], quiet)) failed++;
    return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
