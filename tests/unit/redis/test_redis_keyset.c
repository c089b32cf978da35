/* keyset.c in isolation: the set of (database, key) fingerprints the
 * replication method checks every key against before a replica sees it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/redis_int.h"

/* Test data from a fixed seed, so a failure can be replayed; the set's own
 * SipHash key is random on every run all the same. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Key number i: its index in its first 4 bytes (so keys of different i
 * differ), then random bytes; 4 to 40 bytes in all. */
static size_t make_key(uint64_t *rng, uint32_t i, unsigned char *out)
{
    size_t len = 4 + next_random(rng) % 37;
    memcpy(out, &i, 4);
    for (size_t j = 4; j < len; j++) out[j] = (unsigned char)next_random(rng);
    return len;
}

static bool add_str(struct keyset *s, int db, const char *key)
{
    return keyset_add(s, db, key, strlen(key));
}

static void test_add_and_contains(void **state)
{
    (void)state;
    struct keyset *s = keyset_new();
    assert_false(keyset_contains(s, 0, "k", 1));
    assert_true(add_str(s, 0, "k"));
    assert_true(keyset_contains(s, 0, "k", 1));
    assert_false(add_str(s, 0, "k"));
    assert_int_equal(keyset_count(s), 1);
    /* Keys that differ only in their length or in one byte past the
     * eighth (the second SipHash word) are different keys. */
    assert_true(keyset_add(s, 0, "", 0));
    assert_false(keyset_add(s, 0, "", 0));
    assert_true(keyset_add(s, 0, "k\0", 2));
    assert_true(add_str(s, 0, "0123456789a"));
    assert_true(add_str(s, 0, "0123456789b"));
    assert_true(add_str(s, 0, "01234567"));
    assert_true(add_str(s, 0, "012345678"));
    assert_false(add_str(s, 0, "0123456789a"));
    unsigned char bin[] = {0, 0xff, '\r', '\n', 0};
    assert_true(keyset_add(s, 0, bin, sizeof(bin)));
    assert_false(keyset_add(s, 0, bin, sizeof(bin)));
    assert_int_equal(keyset_count(s), 8);
    keyset_free(s);
    keyset_free(NULL);
}

static void test_same_key_other_database(void **state)
{
    (void)state;
    struct keyset *s = keyset_new();
    for (int db = 0; db < 16; db++) assert_true(add_str(s, db, "k"));
    assert_true(add_str(s, 1000000, "k"));
    for (int db = 0; db < 16; db++) {
        assert_true(keyset_contains(s, db, "k", 1));
        assert_false(add_str(s, db, "k"));
    }
    assert_false(keyset_contains(s, 16, "k", 1));
    assert_int_equal(keyset_count(s), 17);
    keyset_free(s);
}

static void test_growth(void **state)
{
    (void)state;
    enum { N = 200000 };
    struct keyset *s = keyset_new();
    uint64_t first_cap = keyset_capacity(s);
    unsigned char key[64];
    uint64_t rng = 0x9d2c5680u;
    uint64_t prev_cap = first_cap;
    unsigned doublings = 0;
    for (uint32_t i = 0; i < N; i++) {
        size_t len = make_key(&rng, i, key);
        assert_true(keyset_add(s, (int)(i % 3), key, len));
        uint64_t cap = keyset_capacity(s);
        if (cap != prev_cap) {
            assert_int_equal(cap, 2 * prev_cap); /* grows by doubling */
            doublings++;
            prev_cap = cap;
        }
        /* never more than 3/4 full */
        assert_true(keyset_count(s) * 4 <= keyset_capacity(s) * 3);
    }
    assert_int_equal(keyset_count(s), N);
    assert_true(doublings > 0);
    /* Everything added before and after each rehash is still there. */
    rng = 0x9d2c5680u;
    for (uint32_t i = 0; i < N; i++) {
        size_t len = make_key(&rng, i, key);
        assert_true(keyset_contains(s, (int)(i % 3), key, len));
        assert_false(keyset_add(s, (int)(i % 3), key, len));
        assert_false(keyset_contains(s, (int)(i % 3) + 3, key, len));
    }
    assert_int_equal(keyset_count(s), N);
    keyset_free(s);
}

static void test_presize(void **state)
{
    (void)state;
    enum { N = 100000, M = 30000 };
    struct keyset *s = keyset_new();
    keyset_reserve(s, N); /* database 0's resize hint */
    uint64_t cap = keyset_capacity(s);
    /* Sized to the hint at 3/4: about 10.7 bytes per key, not a power of two. */
    assert_true(cap * 3 >= (uint64_t)N * 4);
    assert_true(cap * 8 <= (uint64_t)N * 11);
    unsigned char key[64];
    uint64_t rng = 0x51ed270bu;
    for (uint32_t i = 0; i < N; i++) {
        size_t len = make_key(&rng, i, key);
        assert_true(keyset_add(s, 0, key, len));
    }
    assert_int_equal(keyset_capacity(s), cap); /* no rehash */
    /* Database 1's hint comes after database 0's keys: room for M more. */
    keyset_reserve(s, M);
    cap = keyset_capacity(s);
    assert_true(cap * 3 >= (uint64_t)(N + M) * 4);
    for (uint32_t i = 0; i < M; i++) {
        size_t len = make_key(&rng, N + i, key);
        assert_true(keyset_add(s, 1, key, len));
    }
    assert_int_equal(keyset_capacity(s), cap);
    /* A hint of an empty database changes nothing. */
    keyset_reserve(s, 0);
    assert_int_equal(keyset_capacity(s), cap);
    assert_int_equal(keyset_count(s), N + M);
    keyset_free(s);

    /* A hint beyond reason (a hostile file) reserves a bounded amount. */
    s = keyset_new();
    keyset_reserve(s, UINT64_MAX);
    assert_true(keyset_capacity(s) * 8 <= (uint64_t)256 << 20);
    assert_true(add_str(s, 3, "k"));
    assert_false(add_str(s, 3, "k"));
    keyset_free(s);
}

/* A false "seen" for a new key would be a fingerprint collision: with a
 * 64-bit fingerprint, about n^2 / 2^65 (3e-8 here). */
static void test_random_keys_no_false_hits(void **state)
{
    (void)state;
    enum { N = 1000000 };
    struct keyset *s = keyset_new();
    unsigned char key[64];
    uint64_t rng = 0x2545f491u;
    for (uint32_t i = 0; i < N; i++) {
        size_t len = make_key(&rng, i, key);
        int db = (int)(next_random(&rng) % 16);
        if (!keyset_add(s, db, key, len)) fail_msg("key %u taken for a repeat", i);
    }
    assert_int_equal(keyset_count(s), N);
    /* Other keys (indexes N to 2N) are not found. */
    for (uint32_t i = N; i < 2u * N; i++) {
        size_t len = make_key(&rng, i, key);
        int db = (int)(next_random(&rng) % 16);
        if (keyset_contains(s, db, key, len)) fail_msg("key %u found but never added", i);
    }
    keyset_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_contains),
        cmocka_unit_test(test_same_key_other_database),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_presize),
        cmocka_unit_test(test_random_keys_no_false_hits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
