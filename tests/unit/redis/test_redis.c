/* src/redis in isolation: the replication framing, the reply checker, the
 * pipe and the typed commands against a fake peer on a socketpair (it parses
 * what it receives with hiredis's reader, an independent RESP parser, and
 * answers as told), and the version mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "redis/redis_int.h"

/* ---- framing ----------------------------------------------------------------------- */

static const char MARK[] = "0123456789abcdef0123456789abcdef01234567";
static const char REPLID[] = "aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd";

static void collect(void *ctx, const unsigned char *d, size_t len)
{
    rk_buf_append(ctx, d, len);
}

/* Feeds s in chunks of `chunk` bytes; returns the bytes consumed (or -1). */
static long feed_all(struct repl_framing *f, const void *s, size_t len, size_t chunk,
                     struct rk_buf *payload, struct rk_err *err)
{
    size_t pos = 0;
    while (pos < len && f->state != REPL_DONE) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        ssize_t used =
            repl_framing_feed(f, (const unsigned char *)s + pos, n, collect, payload, err);
        if (used < 0) return -1;
        pos += (size_t)used;
        if ((size_t)used < n) break;
    }
    return (long)pos;
}

static void make_payload(struct rk_buf *p, size_t len)
{
    for (size_t i = 0; i < len; i++) rk_buf_append_byte(p, (unsigned char)(i * 7 + (i >> 5)));
}

static void test_framing_eof_any_split(void **state)
{
    (void)state;
    struct rk_buf payload = {0}, stream = {0};
    make_payload(&payload, 5000);
    /* A near miss of the mark inside the payload must not end it. */
    memcpy(payload.data + 1000, MARK, 39);
    rk_buf_printf(&stream, "\n\n+FULLRESYNC %s 4242\r\n\n\n$EOF:%s\r\n", REPLID, MARK);
    rk_buf_append(&stream, payload.data, payload.len);
    rk_buf_append(&stream, MARK, 40);
    size_t framed = stream.len;
    rk_buf_append(&stream, "*1\r\n$4\r\nPING\r\n", 14); /* what a master may send later */
    size_t chunks[] = {1, 2, 3, 7, 39, 40, 41, 64, 1000, 1 << 20};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        struct repl_framing f;
        repl_framing_init(&f, true);
        struct rk_buf out = {0};
        struct rk_err err = {{0}};
        long used = feed_all(&f, stream.data, stream.len, chunks[i], &out, &err);
        assert_int_equal(used, (long)framed);
        assert_int_equal(f.state, REPL_DONE);
        assert_int_equal(f.framing, REDIS_FRAMING_EOF);
        assert_string_equal(f.replid, REPLID);
        assert_int_equal(f.offset, 4242);
        assert_int_equal(f.keepalives, 4);
        assert_int_equal(out.len, payload.len);
        assert_memory_equal(out.data, payload.data, payload.len);
        rk_buf_free(&out);
    }
    rk_buf_free(&payload);
    rk_buf_free(&stream);
}

static void test_framing_length(void **state)
{
    (void)state;
    struct rk_buf payload = {0}, stream = {0};
    make_payload(&payload, 3000);
    rk_buf_printf(&stream, "\n$%zu\r\n", payload.len);
    rk_buf_append(&stream, payload.data, payload.len);
    size_t framed = stream.len;
    rk_buf_append(&stream, "trailing", 8);
    for (size_t chunk = 1; chunk < 100; chunk += 13) {
        struct repl_framing f;
        repl_framing_init(&f, false); /* SYNC: no +FULLRESYNC */
        struct rk_buf out = {0};
        struct rk_err err = {{0}};
        assert_int_equal(feed_all(&f, stream.data, stream.len, chunk, &out, &err), (long)framed);
        assert_int_equal(f.state, REPL_DONE);
        assert_int_equal(f.framing, REDIS_FRAMING_LENGTH);
        assert_int_equal(f.declared, payload.len);
        assert_int_equal(f.offset, -1);
        assert_memory_equal(out.data, payload.data, payload.len);
        rk_buf_free(&out);
    }
    rk_buf_free(&payload);
    rk_buf_free(&stream);
}

static void expect_framing_error(bool psync, const char *stream, const char *needle, bool refused)
{
    struct repl_framing f;
    repl_framing_init(&f, psync);
    struct rk_buf out = {0};
    struct rk_err err = {{0}};
    assert_int_equal(feed_all(&f, stream, strlen(stream), 5, &out, &err), -1);
    assert_int_equal(f.state, REPL_FAILED);
    if (!strstr(err.msg, needle)) fail_msg("\"%s\" not in \"%s\"", needle, err.msg);
    assert_int_equal(f.psync_refused, refused);
    assert_int_equal(out.len, 0);
    rk_buf_free(&out);
}

static void test_framing_errors(void **state)
{
    (void)state;
    expect_framing_error(true, "-ERR unknown command 'PSYNC'\r\n",
                         "refused PSYNC: ERR unknown command", true);
    expect_framing_error(true, "+CONTINUE\r\n", "partial resynchronisation", false);
    expect_framing_error(true, "+FULLRESYNC abc 1\r\n", "malformed", false);
    expect_framing_error(true, "+OK\r\n", "unexpected answer to PSYNC", false);
    expect_framing_error(false, "-NOMASTERLINK Can't SYNC while not connected with my master\r\n",
                         "refused the synchronisation: NOMASTERLINK", false);
    expect_framing_error(false, "$ENDOFF:1 x 0 1\r\n", "dual-channel", false);
    expect_framing_error(false, "+FULLRESYNC\r\n", "expected the snapshot's length", false);
    expect_framing_error(false, "$12x\r\n", "expected the snapshot's length", false);
    char longline[700];
    memset(longline, '9', sizeof(longline) - 1);
    longline[0] = '$';
    longline[sizeof(longline) - 1] = '\0';
    expect_framing_error(false, longline, "longer than 512 bytes", false);
    /* Control bytes from the server are quoted, not printed raw. */
    expect_framing_error(false, "-ERR \x1b[31mred\r\n", "\\x1b", false);
}

/* ---- replies -------------------------------------------------------------------------- */

static void count_note(void *ctx, enum rcmd cmd)
{
    assert_int_equal(cmd, RC_XCLAIM);
    (*(int *)ctx)++;
}

static void test_replies(void **state)
{
    (void)state;
    int notes = 0;
    struct rreplies *q = rreplies_new(count_note, &notes);
    rreplies_expect(q, RC_SELECT, "3", 1);
    rreplies_expect(q, RC_RESTORE, "k1", 2);
    rreplies_expect(q, RC_RPUSH, "k2", 2);
    rreplies_expect(q, RC_XADD, "k3", 2);
    rreplies_expect(q, RC_XCLAIM, "k3", 2);
    rreplies_expect(q, RC_XCLAIM, "k3", 2);
    struct rk_err err = {{0}};
    const char *ok = "+OK\r\n+OK\r\n:5\r\n$3\r\n1-1\r\n*0\r\n*1\r\n$3\r\n1-1\r\n";
    for (const char *p = ok; *p; p++) assert_int_equal(rreplies_feed(q, p, 1, &err), 0);
    assert_int_equal(rreplies_pending(q), 0);
    assert_int_equal(notes, 1);

    /* An error names the key, the command and the server's words. */
    rreplies_expect(q, RC_RESTORE, "user:\x01", 6);
    rreplies_expect(q, RC_RESTORE, "next", 4);
    const char *oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n+OK\r\n";
    assert_int_equal(rreplies_feed(q, oom, strlen(oom), &err), -1);
    assert_string_equal(err.msg, "key \"user:\\x01\" (RESTORE): OOM command not allowed when used "
                                 "memory > 'maxmemory'.");
    rreplies_free(q);

    /* A key longer than 64 bytes is cut; commands without a key say so. */
    q = rreplies_new(NULL, NULL);
    char longkey[200];
    memset(longkey, 'k', sizeof(longkey));
    rreplies_expect(q, RC_HSET, longkey, sizeof(longkey));
    assert_int_equal(rreplies_feed(q, "-ERR x\r\n", 8, &err), -1);
    assert_non_null(strstr(err.msg, "...\" (HSET): ERR x"));
    rreplies_free(q);
    q = rreplies_new(NULL, NULL);
    rreplies_expect(q, RC_FLUSHALL, NULL, 0);
    const char *ro = "-READONLY You can't write against a read only replica.\r\n";
    assert_int_equal(rreplies_feed(q, ro, strlen(ro), &err), -1);
    assert_string_equal(err.msg, "FLUSHALL: READONLY You can't write against a read only replica.");
    rreplies_free(q);

    /* Replies nobody asked for, and garbage. */
    q = rreplies_new(NULL, NULL);
    assert_int_equal(rreplies_feed(q, "+OK\r\n", 5, &err), -1);
    assert_non_null(strstr(err.msg, "nobody asked for"));
    rreplies_free(q);
    q = rreplies_new(NULL, NULL);
    rreplies_expect(q, RC_SET, "k", 1);
    assert_int_equal(rreplies_feed(q, "?\r\n", 3, &err), -1);
    assert_non_null(strstr(err.msg, "malformed"));
    rreplies_free(q);
}

/* ---- a fake peer ------------------------------------------------------------------------- */

#define MAX_CMDS 256

struct peer {
    int fd;
    pthread_t thread;
    int fail_at; /* answer this command (0-based) with an error, -1: never */
    int ncmds;
    struct rk_buf cmds[MAX_CMDS]; /* each: args joined by '|' (tests use no '|') */
    size_t sizes[MAX_CMDS][8];    /* lengths of the first arguments */
};

static void *peer_thread(void *arg)
{
    struct peer *p = arg;
    redisReader *r = redisReaderCreate();
    char buf[65536];
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(r, &reply) != REDIS_OK)
            abort(); /* no cmocka asserts off the main thread */
        if (!reply) {
            ssize_t n = read(p->fd, buf, sizeof(buf));
            if (n <= 0) break;
            redisReaderFeed(r, buf, (size_t)n);
            continue;
        }
        redisReply *c = reply;
        if (c->type != REDIS_REPLY_ARRAY) abort();
        if (p->ncmds < MAX_CMDS) {
            struct rk_buf *b = &p->cmds[p->ncmds];
            for (size_t i = 0; i < c->elements; i++) {
                if (i) rk_buf_append_byte(b, '|');
                if (c->element[i]->len > 64)
                    rk_buf_printf(b, "<%zu bytes>", c->element[i]->len);
                else
                    rk_buf_append(b, c->element[i]->str, c->element[i]->len);
                if (i < 8) p->sizes[p->ncmds][i] = c->element[i]->len;
            }
            rk_buf_append_byte(b, '\0');
        }
        const char *answer = p->ncmds == p->fail_at ? "-ERR refused by the peer\r\n" : "+OK\r\n";
        p->ncmds++;
        freeReplyObject(c);
        if (send(p->fd, answer, strlen(answer), MSG_NOSIGNAL) < 0) break;
    }
    redisReaderFree(r);
    return NULL;
}

struct rig {
    struct peer peer;
    struct rconn *conn;
    struct rpipe *pipe;
    struct target_caps caps;
    struct redis_load_stats stats;
    struct typed *typed;
};

static void rig_start(struct rig *g, uint64_t proto_max_bulk_len, int fail_at)
{
    memset(g, 0, sizeof(*g));
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    g->peer.fd = sv[1];
    g->peer.fail_at = fail_at;
    assert_int_equal(pthread_create(&g->peer.thread, NULL, peer_thread, &g->peer), 0);
    g->conn = rconn_adopt(NULL, sv[0], "fake peer");
    g->pipe = rpipe_new(g->conn, NULL, NULL);
    g->caps = (struct target_caps){.rdb_version = 10,
                                   .major = 7,
                                   .minor = 4,
                                   .proto_max_bulk_len = proto_max_bulk_len,
                                   .abs_ttl = true,
                                   .functions = true,
                                   .stream_ext = true,
                                   .create_consumer = true,
                                   .hash_field_ttl = true};
    g->typed = typed_new(g->pipe, &g->caps, &g->stats);
}

/* Sends everything, waits for the replies, stops the peer. */
static int rig_stop(struct rig *g, struct rk_err *err)
{
    int rc = rpipe_drain(g->pipe, 5000, err);
    typed_free(g->typed);
    rpipe_free(g->pipe);
    rconn_close(g->conn);
    pthread_join(g->peer.thread, NULL);
    close(g->peer.fd);
    return rc;
}

static void rig_free(struct rig *g)
{
    for (int i = 0; i < MAX_CMDS; i++) rk_buf_free(&g->peer.cmds[i]);
}

static const char *cmd(const struct rig *g, int i)
{
    if (i >= g->peer.ncmds) return "(none)";
    return (const char *)g->peer.cmds[i].data;
}

static struct rdb_key_info key_info(const char *name, enum rdb_encoding enc, int64_t expire_ms)
{
    struct rdb_key_info k = {.key = (const unsigned char *)name,
                             .key_len = strlen(name),
                             .enc = enc,
                             .expire_ms = expire_ms,
                             .idle = -1,
                             .freq = -1};
    return k;
}

/* One element, delivered in pieces of at most `piece` bytes. */
static void element(struct typed *t, enum rdb_value_kind kind, const void *data, size_t len,
                    size_t piece)
{
    struct rk_err err = {{0}};
    size_t off = 0;
    do {
        size_t n = len - off < piece ? len - off : piece;
        struct rdb_value v = {.kind = kind,
                              .data = (const unsigned char *)data + off,
                              .len = n,
                              .offset = off,
                              .total = len};
        if (typed_value(t, &v, &err)) fail_msg("typed_value: %s", err.msg);
        off += n;
    } while (off < len);
}

static void str(struct typed *t, enum rdb_value_kind kind, const char *s)
{
    element(t, kind, s, strlen(s), 1000);
}

static void test_typed_list(void **state)
{
    (void)state;
    struct rig g;
    rig_start(&g, 512u << 20, -1);
    struct rdb_key_info k = key_info("mylist", RDB_ENC_LIST_QUICKLIST_2, 1893456000000);
    typed_begin(g.typed, &k);
    str(g.typed, RDB_VALUE_LIST_ITEM, "a");
    str(g.typed, RDB_VALUE_LIST_ITEM, "b");
    size_t big_len = 300 << 10;
    char *big = malloc(big_len);
    memset(big, 'x', big_len);
    element(g.typed, RDB_VALUE_LIST_ITEM, big, big_len, 7000); /* streamed in its own command */
    str(g.typed, RDB_VALUE_LIST_ITEM, "c");
    struct rk_err err = {{0}};
    assert_int_equal(typed_end(g.typed, &err), 0);
    assert_int_equal(rig_stop(&g, &err), 0);
    assert_int_equal(g.peer.ncmds, 4);
    assert_string_equal(cmd(&g, 0), "RPUSH|mylist|a|b");
    assert_string_equal(cmd(&g, 1), "RPUSH|mylist|<307200 bytes>");
    assert_string_equal(cmd(&g, 2), "RPUSH|mylist|c");
    assert_string_equal(cmd(&g, 3), "PEXPIREAT|mylist|1893456000000");
    free(big);
    rig_free(&g);
}

static void hash_with_ttls(bool hash_field_ttl, struct rig *g)
{
    rig_start(g, 512u << 20, -1);
    g->caps.hash_field_ttl = hash_field_ttl;
    struct rdb_key_info k = key_info("h", RDB_ENC_HASH_METADATA, -1);
    typed_begin(g->typed, &k);
    struct rk_err err = {{0}};
    str(g->typed, RDB_VALUE_HASH_FIELD, "f1");
    str(g->typed, RDB_VALUE_HASH_VALUE, "v1");
    struct rdb_value ttl = {.kind = RDB_VALUE_HASH_FIELD_EXPIRE, .num = 4102444800000};
    assert_int_equal(typed_value(g->typed, &ttl, &err), 0);
    str(g->typed, RDB_VALUE_HASH_FIELD, "gone");
    str(g->typed, RDB_VALUE_HASH_VALUE, "v2");
    struct rdb_value past = {.kind = RDB_VALUE_HASH_FIELD_EXPIRE, .num = 1000};
    assert_int_equal(typed_value(g->typed, &past, &err), 0);
    str(g->typed, RDB_VALUE_HASH_FIELD, "f3");
    str(g->typed, RDB_VALUE_HASH_VALUE, "v3");
    assert_int_equal(typed_end(g->typed, &err), 0);
    assert_int_equal(rig_stop(g, &err), 0);
}

static void test_typed_hash_field_ttls(void **state)
{
    (void)state;
    struct rig g;
    hash_with_ttls(true, &g);
    assert_int_equal(g.peer.ncmds, 2);
    assert_string_equal(cmd(&g, 0), "HSET|h|f1|v1|f3|v3");
    assert_string_equal(cmd(&g, 1), "HPEXPIREAT|h|4102444800000|FIELDS|1|f1");
    assert_int_equal(g.stats.fields_expired, 1);
    assert_int_equal(g.stats.field_ttls_dropped, 0);
    rig_free(&g);
    hash_with_ttls(false, &g); /* a target before 7.4 */
    assert_int_equal(g.peer.ncmds, 1);
    assert_string_equal(cmd(&g, 0), "HSET|h|f1|v1|f3|v3");
    assert_int_equal(g.stats.field_ttls_dropped, 1);
    rig_free(&g);
}

static void test_typed_zset_scores(void **state)
{
    (void)state;
    struct rig g;
    rig_start(&g, 512u << 20, -1);
    struct rdb_key_info k = key_info("z", RDB_ENC_ZSET_2, -1);
    typed_begin(g.typed, &k);
    double scores[] = {INFINITY, -INFINITY, 0.1, -2.5e-300, 12345678901234567.0};
    const char *members[] = {"a", "b", "c", "d", "e"};
    struct rk_err err = {{0}};
    for (int i = 0; i < 5; i++) {
        str(g.typed, RDB_VALUE_ZSET_MEMBER, members[i]);
        struct rdb_value s = {.kind = RDB_VALUE_ZSET_SCORE, .score = scores[i]};
        assert_int_equal(typed_value(g.typed, &s, &err), 0);
    }
    assert_int_equal(typed_end(g.typed, &err), 0);
    assert_int_equal(rig_stop(&g, &err), 0);
    assert_int_equal(g.peer.ncmds, 1);
    /* Each score's text reads back as the very same double. */
    char *copy = strdup(cmd(&g, 0));
    char *save = NULL;
    assert_string_equal(strtok_r(copy, "|", &save), "ZADD");
    assert_string_equal(strtok_r(NULL, "|", &save), "z");
    for (int i = 0; i < 5; i++) {
        const char *s = strtok_r(NULL, "|", &save);
        double d = strcmp(s, "inf") == 0    ? INFINITY
                   : strcmp(s, "-inf") == 0 ? -INFINITY
                                            : strtod(s, NULL);
        assert_true(d == scores[i]);
        assert_string_equal(strtok_r(NULL, "|", &save), members[i]);
    }
    free(copy);
    rig_free(&g);
}

static void test_typed_string_chunks(void **state)
{
    (void)state;
    struct rig g;
    rig_start(&g, 512u << 20, -1);
    struct rdb_key_info k = key_info("s", RDB_ENC_STRING, -1);
    typed_begin(g.typed, &k);
    size_t len = (9u << 20) + 5;
    char *s = malloc(len);
    for (size_t i = 0; i < len; i++) s[i] = (char)('a' + i % 26);
    element(g.typed, RDB_VALUE_STRING, s, len, 65536);
    struct rk_err err = {{0}};
    assert_int_equal(typed_end(g.typed, &err), 0);
    assert_int_equal(rig_stop(&g, &err), 0);
    assert_int_equal(g.peer.ncmds, 3);
    assert_int_equal(strncmp(cmd(&g, 0), "SET|s|", 6), 0);
    assert_int_equal(strncmp(cmd(&g, 1), "APPEND|s|", 9), 0);
    assert_int_equal(strncmp(cmd(&g, 2), "APPEND|s|", 9), 0);
    assert_int_equal(g.peer.sizes[0][2] + g.peer.sizes[1][2] + g.peer.sizes[2][2], len);
    for (int i = 0; i < 3; i++) assert_true(g.peer.sizes[i][2] <= (4u << 20));
    rig_free(&g);

    /* Longer than the target's proto-max-bulk-len: APPEND could not build it. */
    rig_start(&g, 1u << 20, -1);
    typed_begin(g.typed, &k);
    struct rdb_value v = {.kind = RDB_VALUE_STRING,
                          .data = (const unsigned char *)s,
                          .len = 100,
                          .offset = 0,
                          .total = 2u << 20};
    assert_int_equal(typed_value(g.typed, &v, &err), -1);
    assert_non_null(strstr(err.msg, "key \"s\" (string)"));
    assert_non_null(strstr(err.msg, "proto-max-bulk-len (1048576)"));
    assert_int_equal(rig_stop(&g, &err), 0);
    rig_free(&g);
    free(s);
}

static void test_typed_stream(void **state)
{
    (void)state;
    struct rig g;
    rig_start(&g, 512u << 20, -1);
    struct rdb_key_info k = key_info("st", RDB_ENC_STREAM_LISTPACKS_3, -1);
    typed_begin(g.typed, &k);
    struct rk_err err = {{0}};
    struct rdb_value e1 = {.kind = RDB_VALUE_STREAM_ENTRY, .id = {5, 1}, .count = 1};
    assert_int_equal(typed_value(g.typed, &e1, &err), 0);
    str(g.typed, RDB_VALUE_STREAM_FIELD, "f");
    str(g.typed, RDB_VALUE_STREAM_VALUE, "v");
    struct rdb_value e2 = {
        .kind = RDB_VALUE_STREAM_ENTRY, .id = {6, 0}, .count = 1, .deleted = true};
    assert_int_equal(typed_value(g.typed, &e2, &err), 0);
    str(g.typed, RDB_VALUE_STREAM_FIELD, "dead");
    str(g.typed, RDB_VALUE_STREAM_VALUE, "dead");
    struct rdb_value e3 = {.kind = RDB_VALUE_STREAM_ENTRY, .id = {7, 0}, .count = 2};
    assert_int_equal(typed_value(g.typed, &e3, &err), 0);
    str(g.typed, RDB_VALUE_STREAM_FIELD, "a");
    str(g.typed, RDB_VALUE_STREAM_VALUE, "1");
    str(g.typed, RDB_VALUE_STREAM_FIELD, "b");
    str(g.typed, RDB_VALUE_STREAM_VALUE, "2");
    struct rdb_value meta = {.kind = RDB_VALUE_STREAM_META};
    meta.u.stream = (struct rdb_stream_meta){
        .length = 2, .last_id = {7, 0}, .max_deleted = {6, 0}, .entries_added = 3, .groups = 1};
    assert_int_equal(typed_value(g.typed, &meta, &err), 0);
    struct rdb_value grp = {
        .kind = RDB_VALUE_STREAM_GROUP, .data = (const unsigned char *)"g", .len = 1};
    grp.u.group = (struct rdb_stream_group){.last_id = {7, 0}, .entries_read = 2, .pel_size = 2};
    assert_int_equal(typed_value(g.typed, &grp, &err), 0);
    struct rdb_value pel1 = {.kind = RDB_VALUE_STREAM_PEL, .id = {5, 1}};
    pel1.u.pel = (struct rdb_stream_pel){.delivery_time = 1700000000123, .delivery_count = 3};
    struct rdb_value pel2 = {.kind = RDB_VALUE_STREAM_PEL, .id = {6, 0}};
    pel2.u.pel = (struct rdb_stream_pel){.delivery_time = 1700000000456, .delivery_count = 1};
    assert_int_equal(typed_value(g.typed, &pel1, &err), 0);
    assert_int_equal(typed_value(g.typed, &pel2, &err), 0);
    struct rdb_value cons = {
        .kind = RDB_VALUE_STREAM_CONSUMER, .data = (const unsigned char *)"alice", .len = 5};
    cons.u.consumer.pel_size = 2;
    assert_int_equal(typed_value(g.typed, &cons, &err), 0);
    struct rdb_value cp1 = {.kind = RDB_VALUE_STREAM_CONSUMER_PEL, .id = {5, 1}};
    struct rdb_value cp2 = {.kind = RDB_VALUE_STREAM_CONSUMER_PEL, .id = {6, 0}};
    struct rdb_value cp3 = {.kind = RDB_VALUE_STREAM_CONSUMER_PEL,
                            .id = {9, 9}}; /* not in the PEL */
    assert_int_equal(typed_value(g.typed, &cp1, &err), 0);
    assert_int_equal(typed_value(g.typed, &cp2, &err), 0);
    assert_int_equal(typed_value(g.typed, &cp3, &err), 0);
    struct rdb_value idle = {
        .kind = RDB_VALUE_STREAM_CONSUMER, .data = (const unsigned char *)"bob", .len = 3};
    assert_int_equal(typed_value(g.typed, &idle, &err), 0);
    assert_int_equal(typed_end(g.typed, &err), 0);
    assert_int_equal(rig_stop(&g, &err), 0);
    const char *want[] = {
        "XADD|st|5-1|f|v",
        "XADD|st|7-0|a|1|b|2",
        "XSETID|st|7-0|ENTRIESADDED|3|MAXDELETEDID|6-0",
        "XGROUP|CREATE|st|g|7-0|ENTRIESREAD|2",
        "XCLAIM|st|g|alice|0|5-1|TIME|1700000000123|RETRYCOUNT|3|FORCE|JUSTID",
        "XCLAIM|st|g|alice|0|6-0|TIME|1700000000456|RETRYCOUNT|1|FORCE|JUSTID",
        "XGROUP|CREATECONSUMER|st|g|bob",
    };
    assert_int_equal(g.peer.ncmds, 7);
    for (int i = 0; i < 7; i++) assert_string_equal(cmd(&g, i), want[i]);
    assert_int_equal(g.stats.stream_pel_dropped, 1);
    rig_free(&g);
}

static void test_typed_empty_stream(void **state)
{
    (void)state;
    struct rig g;
    rig_start(&g, 512u << 20, -1);
    g.caps.stream_ext = false; /* a 6.2 target */
    struct rdb_key_info k = key_info("e", RDB_ENC_STREAM_LISTPACKS, -1);
    typed_begin(g.typed, &k);
    struct rk_err err = {{0}};
    struct rdb_value meta = {.kind = RDB_VALUE_STREAM_META};
    meta.u.stream = (struct rdb_stream_meta){.last_id = {3, 3}};
    assert_int_equal(typed_value(g.typed, &meta, &err), 0);
    assert_int_equal(typed_end(g.typed, &err), 0);
    assert_int_equal(rig_stop(&g, &err), 0);
    assert_int_equal(g.peer.ncmds, 3);
    assert_string_equal(cmd(&g, 0), "XGROUP|CREATE|e|rdbkeep-empty-stream|0|MKSTREAM");
    assert_string_equal(cmd(&g, 1), "XGROUP|DESTROY|e|rdbkeep-empty-stream");
    assert_string_equal(cmd(&g, 2), "XSETID|e|3-3");
    rig_free(&g);
}

/* The pipe: a reply error stops everything and names the key. */
static void test_pipe_error_names_key(void **state)
{
    (void)state;
    struct rig g;
    rig_start(&g, 512u << 20, 2);
    struct rk_err err = {{0}};
    for (int i = 0; i < 5; i++) {
        char key[16];
        int n = snprintf(key, sizeof(key), "key%d", i);
        rpipe_begin(g.pipe, RC_RESTORE, key, (size_t)n);
        rpipe_argc(g.pipe, 2);
        rpipe_arg_str(g.pipe, "RESTORE");
        rpipe_arg(g.pipe, key, (size_t)n);
        assert_int_equal(rpipe_commit(g.pipe, &err), 0);
    }
    assert_int_equal(rig_stop(&g, &err), -1);
    assert_string_equal(err.msg, "key \"key2\" (RESTORE): ERR refused by the peer");
    rig_free(&g);
}

/* Many commands and a big direct argument flow both ways without deadlock. */
static void test_pipe_volume(void **state)
{
    (void)state;
    struct rig g;
    rig_start(&g, 512u << 20, -1);
    struct rk_err err = {{0}};
    size_t big = 5u << 20;
    unsigned char *payload = calloc(1, big);
    for (int i = 0; i < 20000; i++) {
        rpipe_begin(g.pipe, RC_SET, "k", 1);
        rpipe_argc(g.pipe, 3);
        rpipe_arg_str(g.pipe, "SET");
        rpipe_arg_str(g.pipe, "k");
        if (i == 10000)
            assert_int_equal(rpipe_arg_direct(g.pipe, payload, big, &err), 0);
        else
            rpipe_arg_str(g.pipe, "some value of a few bytes");
        assert_int_equal(rpipe_commit(g.pipe, &err), 0);
    }
    assert_int_equal(rig_stop(&g, &err), 0);
    assert_int_equal(g.peer.ncmds, 20000);
    free(payload);
    rig_free(&g);
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void test_rdb_versions(void **state)
{
    (void)state;
    assert_int_equal(redis_rdb_version_for("2.4.17", NULL), -1);
    assert_int_equal(redis_rdb_version_for("2.6.17", NULL), 6);
    assert_int_equal(redis_rdb_version_for("3.0.7", NULL), 6);
    assert_int_equal(redis_rdb_version_for("3.2.12", NULL), 7);
    assert_int_equal(redis_rdb_version_for("4.0.14", NULL), 8);
    assert_int_equal(redis_rdb_version_for("6.2.14", NULL), 9);
    assert_int_equal(redis_rdb_version_for("7.0.15", NULL), 10);
    assert_int_equal(redis_rdb_version_for("7.2.4", NULL), 11);
    assert_int_equal(redis_rdb_version_for("7.4.1", NULL), 12);
    assert_int_equal(redis_rdb_version_for("8.6.0", NULL), RDB_WRITER_MAX_VERSION);
    assert_int_equal(redis_rdb_version_for("7.2.4", "8.1.0"), 11);
    assert_int_equal(redis_rdb_version_for("7.2.4", "9.0.0"), 11);
    assert_int_equal(redis_rdb_version_for("garbage", NULL), -1);
    assert_int_equal(redis_rdb_version_for(NULL, NULL), -1);
}

static void test_info_field(void **state)
{
    (void)state;
    const char *info = "# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:0\r\n# Replication\r\n"
                       "role:master\r\nmaster_link_status:up\r\n";
    char v[32];
    rconn_info_field(info, "redis_version", v, sizeof(v));
    assert_string_equal(v, "7.0.15");
    rconn_info_field(info, "role", v, sizeof(v));
    assert_string_equal(v, "master");
    rconn_info_field(info, "master_link_status", v, sizeof(v));
    assert_string_equal(v, "up");
    rconn_info_field(info, "redis", v, sizeof(v)); /* a prefix is not a field */
    assert_string_equal(v, "");
    rconn_info_field(info, "redis_version", v, 4);
    assert_string_equal(v, "7.0");
    const char *ks = "# Keyspace\r\ndb0:keys=2510000,expires=400000,avg_ttl=0\r\n"
                     "db15:keys=3,expires=1,avg_ttl=5\r\n";
    assert_int_equal(rconn_info_keys(ks), 2510003);
    assert_int_equal(rconn_info_keys(info), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing_eof_any_split),
        cmocka_unit_test(test_framing_length),
        cmocka_unit_test(test_framing_errors),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_typed_list),
        cmocka_unit_test(test_typed_hash_field_ttls),
        cmocka_unit_test(test_typed_zset_scores),
        cmocka_unit_test(test_typed_string_chunks),
        cmocka_unit_test(test_typed_stream),
        cmocka_unit_test(test_typed_empty_stream),
        cmocka_unit_test(test_pipe_error_names_key),
        cmocka_unit_test(test_pipe_volume),
        cmocka_unit_test(test_rdb_versions),
        cmocka_unit_test(test_info_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
