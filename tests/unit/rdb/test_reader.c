/* Unit tests of the RDB reader and writer on the real files of the corpus.
 *
 * A canonical digest of a file's content (keys, types, expiries, elements;
 * order-insensitive where Redis is: set members, hash fields, keys) is the
 * yardstick: the reader must give the same digest whatever the chunking, and
 * the writer's output must read back to the same digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rdb/rdb.h"

#define CORPUS RK_TEST_DATA_DIR "/rdb-corpus"

/* ---- Reading a file ---------------------------------------------------------- */

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct rk_buf b = {0};
    unsigned char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) rk_buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    if (!b.data) b.data = xmalloc(1);
    return b.data;
}

/* ---- Canonical digest -------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct digest {
    /* per file */
    uint64_t *keys;
    size_t nkeys, cap;
    uint64_t keys_seen;
    /* per key */
    enum rdb_kind kind;
    uint64_t key_h;
    uint64_t *elems;
    size_t nelems, ecap;
    uint64_t cur;        /* the element being hashed */
    bool ordered;
    unsigned want;
    bool seen_end;
};

static void push(uint64_t **arr, size_t *n, size_t *cap, uint64_t v)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *arr = xrealloc(*arr, *cap * sizeof(**arr));
    }
    (*arr)[(*n)++] = v;
}

static void elem_done(struct digest *d)
{
    push(&d->elems, &d->nelems, &d->ecap, d->cur);
    d->cur = 1469598103934665603ull;
}

static int digest_handler(void *ctx, const struct rdb_event *ev, struct rk_err *err)
{
    struct digest *d = ctx;
    (void)err;
    if (ev->type == RDB_EVENT_END) d->seen_end = true;
    if (ev->type == RDB_EVENT_KEY) {
        const struct rdb_key_info *k = ev->u.key;
        ev->u.key->want = d->want;
        d->kind = rdb_encoding_kind(k->enc);
        d->key_h = fnv(1469598103934665603ull, k->key, k->key_len);
        d->key_h = fnv(d->key_h, &d->kind, sizeof(d->kind));
        d->key_h = fnv(d->key_h, &k->expire_ms, sizeof(k->expire_ms));
        d->key_h = fnv(d->key_h, &k->db, sizeof(k->db));
        d->nelems = 0;
        d->cur = 1469598103934665603ull;
        d->ordered = d->kind == RDB_KIND_LIST || d->kind == RDB_KIND_STREAM ||
                     d->kind == RDB_KIND_STRING || d->kind == RDB_KIND_MODULE;
        return 0;
    }
    if (ev->type == RDB_EVENT_VALUE) {
        const struct rdb_value *v = ev->u.value;
        switch (v->kind) {
        case RDB_VALUE_STRING: case RDB_VALUE_LIST_ITEM: case RDB_VALUE_SET_MEMBER:
            d->cur = fnv(d->cur, v->data, v->len);
            if (rdb_value_complete(v)) elem_done(d);
            break;
        case RDB_VALUE_ZSET_MEMBER: case RDB_VALUE_HASH_FIELD: case RDB_VALUE_STREAM_FIELD:
        case RDB_VALUE_STREAM_VALUE:
            d->cur = fnv(d->cur, v->data, v->len);
            if (rdb_value_complete(v)) d->cur = fnv(d->cur, "|", 1);
            break;
        case RDB_VALUE_HASH_VALUE:
            /* A hash field ends after its value, or after its expiry: the
             * expiry (if any) comes next, so close the element lazily. */
            d->cur = fnv(d->cur, v->data, v->len);
            if (rdb_value_complete(v)) elem_done(d);
            break;
        case RDB_VALUE_HASH_FIELD_EXPIRE:
            /* Attach to the element just closed. */
            d->elems[d->nelems - 1] = fnv(d->elems[d->nelems - 1], &v->num, sizeof(v->num));
            break;
        case RDB_VALUE_ZSET_SCORE: {
            double s = v->score == 0 ? 0 : v->score; /* -0 and 0 are one score */
            d->cur = fnv(d->cur, &s, sizeof(s));
            elem_done(d);
            break;
        }
        case RDB_VALUE_STREAM_ENTRY:
            if (d->cur != 1469598103934665603ull) elem_done(d);
            if (!v->deleted) d->cur = fnv(d->cur, &v->id, sizeof(v->id));
            break;
        case RDB_VALUE_STREAM_META:
            if (d->cur != 1469598103934665603ull) elem_done(d);
            d->cur = fnv(d->cur, &v->u.stream.length, 8);
            d->cur = fnv(d->cur, &v->u.stream.last_id, sizeof(v->u.stream.last_id));
            elem_done(d);
            break;
        case RDB_VALUE_STREAM_GROUP: case RDB_VALUE_STREAM_CONSUMER:
            d->cur = fnv(d->cur, v->data, v->len);
            elem_done(d);
            break;
        case RDB_VALUE_STREAM_PEL: case RDB_VALUE_STREAM_CONSUMER_PEL:
            d->cur = fnv(d->cur, &v->id, sizeof(v->id));
            elem_done(d);
            break;
        case RDB_VALUE_MODULE_TYPE:
            d->cur = fnv(d->cur, &v->u.module.id, 8);
            break;
        case RDB_VALUE_MODULE_DATA: d->cur = fnv(d->cur, v->data, v->len); break;
        default: break;
        }
        return 0;
    }
    if (ev->type == RDB_EVENT_RAW) {
        d->cur = fnv(d->cur, ev->u.raw.data, ev->u.raw.len);
        return 0;
    }
    if (ev->type == RDB_EVENT_KEY_END) {
        if (d->cur != 1469598103934665603ull) elem_done(d);
        if (!d->ordered && d->nelems) qsort(d->elems, d->nelems, sizeof(uint64_t), cmp_u64);
        uint64_t h = d->key_h;
        for (size_t i = 0; i < d->nelems; i++) h = fnv(h, &d->elems[i], 8);
        /* Empty values are dropped by the writer as by Redis: leave them out. */
        if (d->nelems || d->want == RDB_WANT_RAW) push(&d->keys, &d->nkeys, &d->cap, h);
        d->keys_seen++;
    }
    return 0;
}

static uint64_t digest_result(struct digest *d)
{
    if (d->nkeys) qsort(d->keys, d->nkeys, sizeof(uint64_t), cmp_u64);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < d->nkeys; i++) h = fnv(h, &d->keys[i], 8);
    return h;
}

static void digest_free(struct digest *d)
{
    free(d->keys);
    free(d->elems);
}

/* Reads data in chunks of step bytes (0: all at once). Returns 0 and the
 * digest, or -1 with err. */
static int digest_of(const unsigned char *data, size_t len, size_t step, unsigned want,
                     uint64_t *out, uint64_t *keys, struct rk_err *err)
{
    struct digest d = {.want = want};
    struct rdb_reader *r = rdb_reader_new(NULL, digest_handler, &d);
    int rc = 0;
    for (size_t off = 0; off < len && !rc;) {
        size_t n = step && step < len - off ? step : len - off;
        rc = rdb_reader_feed(r, data + off, n, err);
        off += n;
    }
    if (!rc) rc = rdb_reader_finish(r, err);
    if (!rc) {
        *out = digest_result(&d);
        if (keys) *keys = d.keys_seen;
    }
    rdb_reader_free(r);
    digest_free(&d);
    return rc;
}

/* ---- The corpus ----------------------------------------------------------------- */

/* Files that must fail (PROVENANCE.md: intentionally corrupt, or versions the
 * reader does not claim), by the end of their path. */
static const char *const must_fail[] = {
    "future_v19.rdb", "invalid_chksum_v8.rdb", "corrupt_ziplist.rdb",
    "encodings-rdb75-unknown-types.rdb", "encodings-rdb987-unknown-types.rdb",
    "encodings-rdb987.rdb",
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool expected_to_fail(const char *path)
{
    for (size_t i = 0; i < sizeof(must_fail) / sizeof(must_fail[0]); i++)
        if (ends_with(path, must_fail[i])) return true;
    return false;
}

typedef void (*file_fn)(const char *path, const unsigned char *data, size_t len, void *arg);

static size_t walk(const char *dir, file_fn fn, void *arg)
{
    size_t files = 0;
    DIR *dh = opendir(dir);
    assert_non_null(dh);
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            files += walk(path, fn, arg);
        } else if (ends_with(path, ".rdb") || ends_with(path, "rdb-preamble.aof")) {
            size_t len;
            unsigned char *data = read_file(path, &len);
            assert_non_null(data);
            fn(path, data, len, arg);
            free(data);
            files++;
        }
    }
    closedir(dh);
    return files;
}

static void check_chunking(const char *path, const unsigned char *data, size_t len, void *arg)
{
    struct rk_err err;
    uint64_t whole, keys, split;
    (void)arg;
    int rc = digest_of(data, len, 0, RDB_WANT_VALUES, &whole, &keys, &err);
    if (expected_to_fail(path)) {
        if (rc == 0) fail_msg("%s: read without error, but it is corrupt", path);
        if (strncmp(err.msg, "offset ", 7) != 0) fail_msg("%s: error without offset: %s", path, err.msg);
        return;
    }
    if (rc) fail_msg("%s: %s", path, err.msg);
    /* Every chunking gives the same content. */
    size_t steps[] = {1, 2, 3, 7, 64, 1000};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (steps[i] == 1 && len > 200000) continue; /* slow, and covered by the small files */
        if (digest_of(data, len, steps[i], RDB_WANT_VALUES, &split, NULL, &err))
            fail_msg("%s in chunks of %zu: %s", path, steps[i], err.msg);
        if (split != whole) fail_msg("%s: chunks of %zu read differently", path, steps[i]);
    }
    /* Raw bytes only: the same keys pass. */
    uint64_t raw, raw_keys;
    if (digest_of(data, len, 5, RDB_WANT_RAW, &raw, &raw_keys, &err)) fail_msg("%s raw: %s", path, err.msg);
    assert_int_equal(raw_keys, keys);
}

static void test_corpus_reads_the_same_in_any_chunking(void **state)
{
    (void)state;
    size_t files = walk(CORPUS, check_chunking, NULL);
    assert_true(files > 100);
}

/* ---- Truncation ---------------------------------------------------------------- */

static void check_truncation(const char *path, const unsigned char *data, size_t len, void *arg)
{
    (void)arg;
    if (expected_to_fail(path) || len > 4096) return;
    struct rk_err err;
    uint64_t dg;
    uint64_t whole;
    if (digest_of(data, len, 0, RDB_WANT_VALUES, &whole, NULL, &err)) fail_msg("%s: %s", path, err.msg);
    /* Find where the file proper ends: trailing bytes may be cut freely. */
    for (size_t cut = 0; cut < len; cut++) {
        int rc = digest_of(data, cut, 0, RDB_WANT_VALUES, &dg, NULL, &err);
        if (rc == 0) {
            /* Only an intact prefix that already holds the EOF and checksum reads. */
            if (dg != whole) fail_msg("%s cut at %zu: read as a different file", path, cut);
            continue;
        }
        if (strncmp(err.msg, "offset ", 7) != 0)
            fail_msg("%s cut at %zu: error without an offset: %s", path, cut, err.msg);
    }
}

static void test_truncated_files_fail_with_an_offset(void **state)
{
    (void)state;
    walk(CORPUS, check_truncation, NULL);
}

/* ---- Writer round trips -------------------------------------------------------- */

static int collect(void *ctx, const void *data, size_t len, struct rk_err *err)
{
    (void)err;
    rk_buf_append(ctx, data, len);
    return 0;
}

static bool has_kind_the_target_lacks(const char *path)
{
    /* Content a lower target cannot carry is checked in the integration tests. */
    return strstr(path, "hfe") || strstr(path, "expire_v12") || strstr(path, "hexpire") ||
           strstr(path, "module") || strstr(path, "stream") || strstr(path, "issue27") ||
           strstr(path, "misc_with");
}

static void check_round_trip(const char *path, const unsigned char *data, size_t len, void *arg)
{
    int target = *(int *)arg;
    if (expected_to_fail(path)) return;
    if (target < 12 && has_kind_the_target_lacks(path)) return;
    struct rk_err err;
    uint64_t before, after;
    if (digest_of(data, len, 0, RDB_WANT_VALUES, &before, NULL, &err)) fail_msg("%s: %s", path, err.msg);

    struct rk_buf out = {0};
    struct rdb_writer_options wo = {.target_version = target, .now_ms = 1};
    struct rdb_writer *w = rdb_writer_new(&wo, collect, &out, &err);
    assert_non_null(w);
    struct rdb_reader *r = rdb_reader_new(NULL, rdb_writer_event, w);
    if (rdb_reader_feed(r, data, len, &err) || rdb_reader_finish(r, &err))
        fail_msg("%s -> RDB %d: %s", path, target, err.msg);
    assert_true(rdb_writer_complete(w));
    rdb_reader_free(r);
    rdb_writer_free(w);

    char magic[16];
    snprintf(magic, sizeof(magic), "REDIS%04d", target);
    assert_memory_equal(out.data, magic, 9);
    if (digest_of(out.data, out.len, 0, RDB_WANT_VALUES, &after, NULL, &err))
        fail_msg("%s -> RDB %d does not read back: %s", path, target, err.msg);
    if (before != after) fail_msg("%s -> RDB %d: the content changed", path, target);
    rk_buf_free(&out);
}

static void test_writer_round_trips_keep_the_content(void **state)
{
    (void)state;
    for (int target = 8; target <= 12; target++) walk(CORPUS, check_round_trip, &target);
}

/* ---- Hostile inputs --------------------------------------------------------------- */

static int read_bytes(const unsigned char *data, size_t len, struct rk_err *err)
{
    uint64_t dg;
    return digest_of(data, len, 0, RDB_WANT_VALUES, &dg, NULL, err);
}

static void test_huge_claimed_lengths_are_errors_not_allocations(void **state)
{
    (void)state;
    struct rk_err err;
    /* A key claiming 2^60 bytes (64-bit length form). */
    const unsigned char key_2_60[] = "REDIS0011\xfe\x00\x00\x81\x10\x00\x00\x00\x00\x00\x00\x00" "ab";
    assert_int_equal(read_bytes(key_2_60, sizeof(key_2_60) - 1, &err), -1);
    assert_non_null(strstr(err.msg, "at most"));
    /* A value string claiming 2^60 bytes: no allocation, just "ends early". */
    const unsigned char val_2_60[] = "REDIS0011\xfe\x00\x00\x01k\x81\x10\x00\x00\x00\x00\x00\x00\x00" "ab";
    assert_int_equal(read_bytes(val_2_60, sizeof(val_2_60) - 1, &err), -1);
    assert_non_null(strstr(err.msg, "ends early"));
    /* A list claiming 2^60 elements. */
    const unsigned char list_2_60[] = "REDIS0006\xfe\x00\x01\x01k\x81\x10\x00\x00\x00\x00\x00\x00\x00\x01x";
    assert_int_equal(read_bytes(list_2_60, sizeof(list_2_60) - 1, &err), -1);
    /* LZF claiming 2^40 output bytes from 3 compressed ones. */
    const unsigned char lzf[] = "REDIS0006\xfe\x00\x00\x01k\xc3\x03\x81\x00\x00\x01\x00\x00\x00\x00\x00\x01" "ab";
    assert_int_equal(read_bytes(lzf, sizeof(lzf) - 1, &err), -1);
    assert_non_null(strstr(err.msg, "offset "));
}

static void test_errors_name_offset_and_key(void **state)
{
    (void)state;
    struct rk_err err;
    /* A hash ziplist of 5 bytes (too short) for key "hk" at offset 12. */
    const unsigned char bad[] = "REDIS0006\xfe\x00\x0d\x02hk\x05\x00\x00\x00\x00\x00";
    assert_int_equal(read_bytes(bad, sizeof(bad) - 1, &err), -1);
    assert_non_null(strstr(err.msg, "offset 15"));
    assert_non_null(strstr(err.msg, "key \"hk\" (hash, ziplist)"));
    /* Not an RDB file at all. */
    const unsigned char text[] = "*1\r\n$4\r\nPING\r\n";
    assert_int_equal(read_bytes(text, sizeof(text) - 1, &err), -1);
    assert_non_null(strstr(err.msg, "not an RDB file"));
    /* An unknown type byte. */
    const unsigned char unknown[] = "REDIS0009\xfe\x00\x08\x01k";
    assert_int_equal(read_bytes(unknown, sizeof(unknown) - 1, &err), -1);
    assert_non_null(strstr(err.msg, "unknown type or opcode 8"));
}

struct dump_check {
    struct rk_buf payload;
    int payloads;
    uint64_t elements; /* of the key read back from the payload */
};

static int keep_payload(void *ctx, const struct rdb_dump_key *dk, struct rk_err *err)
{
    struct dump_check *c = ctx;
    (void)err;
    assert_false(dk->too_big);
    rk_buf_reset(&c->payload);
    rk_buf_append(&c->payload, dk->payload, dk->len);
    c->payloads++;
    return 0;
}

static int count_elements(void *ctx, const struct rdb_event *ev, struct rk_err *err)
{
    (void)err;
    if (ev->type == RDB_EVENT_KEY_END) *(uint64_t *)ctx = ev->u.key->elements;
    return 0;
}

static void test_dump_payloads_read_back(void **state)
{
    (void)state;
    /* One hash of 2 fields, written by Redis as a ziplist in RDB 9. */
    size_t len;
    unsigned char *data = read_file(CORPUS "/redis/tests/assets/hash-ziplist.rdb", &len);
    assert_non_null(data);
    struct rk_err err;
    for (int target = 6; target <= 12; target++) {
        struct dump_check c = {0};
        struct rdb_dump_options o = {.target_version = target};
        struct rdb_dumper *d = rdb_dumper_new(&o, keep_payload, &c, &err);
        assert_non_null(d);
        struct rdb_reader *r = rdb_reader_new(NULL, rdb_dumper_event, d);
        assert_int_equal(rdb_reader_feed(r, data, len, &err), 0);
        assert_int_equal(rdb_reader_finish(r, &err), 0);
        rdb_reader_free(r);
        rdb_dumper_free(d);
        assert_int_equal(c.payloads, 1);
        /* The footer carries the target version. */
        assert_int_equal(c.payload.data[c.payload.len - 10], target);

        struct rdb_reader_options ro = {.dump_payload = true, .dump_version = target};
        r = rdb_reader_new(&ro, count_elements, &c.elements);
        if (rdb_reader_feed(r, c.payload.data, c.payload.len, &err) || rdb_reader_finish(r, &err))
            fail_msg("payload for RDB %d: %s", target, err.msg);
        rdb_reader_free(r);
        assert_int_equal(c.elements, 2);

        /* A flipped byte is caught by the CRC. */
        c.payload.data[1] ^= 0x40;
        r = rdb_reader_new(&ro, count_elements, &c.elements);
        int rc = rdb_reader_feed(r, c.payload.data, c.payload.len, &err);
        if (rc == 0) rc = rdb_reader_finish(r, &err);
        assert_int_equal(rc, -1);
        rdb_reader_free(r);
        rk_buf_free(&c.payload);
    }
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_reads_the_same_in_any_chunking),
        cmocka_unit_test(test_truncated_files_fail_with_an_offset),
        cmocka_unit_test(test_writer_round_trips_keep_the_content),
        cmocka_unit_test(test_huge_claimed_lengths_are_errors_not_allocations),
        cmocka_unit_test(test_errors_name_offset_and_key),
        cmocka_unit_test(test_dump_payloads_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
