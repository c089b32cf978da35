/* The keys a replication load has met, as 64-bit fingerprints of (database,
 * key): a replica that loads the same key twice panics, so master.c asks
 * here before a key's bytes go out.
 *
 * Open addressing with linear probing over a flat array of fingerprints (0
 * marks an empty slot), at most 3/4 full: 8 / 0.75 = 10.7 bytes per key when
 * the RDB's resize hints size it up front (Redis writes them), up to twice
 * that between doublings without them. The keys themselves are not kept,
 * which is what makes a check of millions of keys cheap enough to do on
 * every load. The price: two different keys with the same fingerprint look
 * like a repeat, a false alarm with a chance of about n^2 / 2^65 for n keys
 * (1 in 6 million for 2.5 million keys); the error then points to
 * --method restore, which needs no check.
 *
 * The fingerprint is SipHash-1-3 under a key drawn at random per set, so a
 * file cannot be crafted to collide (a false alarm on purpose) or to pile
 * its keys into one run of slots (a slow load). */
#include "redis/redis_int.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* A hint is the file's word, not a fact: one claiming billions of keys must
 * not reserve gigabytes. Beyond this the set grows by doubling as keys come
 * (calloc'd slots cost memory only once touched, so even a false hint up to
 * here costs little). */
#define KEYSET_HINT_MAX (1u << 24)
#define KEYSET_MIN_CAP  16

struct keyset {
    uint64_t *slots;
    uint64_t cap; /* slots */
    uint64_t count;
    uint64_t k0, k1; /* the SipHash key */
};

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

struct sip {
    uint64_t v0, v1, v2, v3;
};

static void sip_round(struct sip *s)
{
    s->v0 += s->v1;
    s->v1 = ROTL64(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = ROTL64(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = ROTL64(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = ROTL64(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = ROTL64(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = ROTL64(s->v2, 32);
}

static void sip_word(struct sip *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    s->v0 ^= m;
}

/* SipHash-1-3 of the database number (8 bytes, little-endian) followed by
 * the key's bytes, without copying them into one message. */
static uint64_t fingerprint(const struct keyset *set, int db, const unsigned char *key, size_t len)
{
    struct sip s = {set->k0 ^ 0x736f6d6570736575u, set->k1 ^ 0x646f72616e646f6du,
                    set->k0 ^ 0x6c7967656e657261u, set->k1 ^ 0x7465646279746573u};
    sip_word(&s, (uint64_t)(uint32_t)db);
    size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8) sip_word(&s, load_le64(key + i));
    uint64_t last = (uint64_t)(len + 8) << 56;
    for (size_t i = whole; i < len; i++) last |= (uint64_t)key[i] << (8 * (i - whole));
    sip_word(&s, last);
    s.v2 ^= 0xff;
    sip_round(&s);
    sip_round(&s);
    sip_round(&s);
    uint64_t h = s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
    return h ? h : 1; /* 0 is the empty slot */
}

/* The high half of a * b: maps a fingerprint onto [0, cap) for any cap, so
 * a hinted set is sized to its keys rather than to a power of two. */
static uint64_t mul_high(uint64_t a, uint64_t b)
{
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32, b_lo = (uint32_t)b, b_hi = b >> 32;
    uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
    uint64_t mid = (lo_lo >> 32) + (uint32_t)hi_lo + lo_hi;
    return hi_hi + (hi_lo >> 32) + (mid >> 32);
}

/* The slot holding fp, or the empty one where it would go. */
static uint64_t *probe(uint64_t *slots, uint64_t cap, uint64_t fp)
{
    uint64_t i = mul_high(fp, cap);
    while (slots[i] && slots[i] != fp) i = i + 1 == cap ? 0 : i + 1;
    return &slots[i];
}

static void rehash(struct keyset *set, uint64_t cap)
{
    uint64_t *slots = xcalloc((size_t)cap, sizeof(*slots));
    for (uint64_t i = 0; i < set->cap; i++)
        if (set->slots[i]) *probe(slots, cap, set->slots[i]) = set->slots[i];
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
}

static bool fits(uint64_t count, uint64_t cap)
{
    return count <= cap / 4 * 3 + cap % 4 * 3 / 4;
}

struct keyset *keyset_new(void)
{
    struct keyset *set = xcalloc(1, sizeof(*set));
    unsigned char key[16];
    if (RAND_bytes(key, sizeof(key)) != 1) rk_panic("no random bytes");
    set->k0 = load_le64(key);
    set->k1 = load_le64(key + 8);
    set->cap = KEYSET_MIN_CAP;
    set->slots = xcalloc(KEYSET_MIN_CAP, sizeof(*set->slots));
    return set;
}

void keyset_free(struct keyset *set)
{
    if (!set) return;
    free(set->slots);
    free(set);
}

void keyset_reserve(struct keyset *set, uint64_t more)
{
    if (more > KEYSET_HINT_MAX) more = KEYSET_HINT_MAX;
    uint64_t want = set->count + more;
    if (fits(want, set->cap)) return;
    uint64_t cap = want / 3 * 4 + (want % 3 * 4 + 2) / 3; /* ceil(want * 4 / 3) */
    rehash(set, cap);
}

bool keyset_add(struct keyset *set, int db, const void *key, size_t len)
{
    uint64_t fp = fingerprint(set, db, key, len);
    uint64_t *slot = probe(set->slots, set->cap, fp);
    if (*slot) return false;
    if (!fits(set->count + 1, set->cap)) {
        rehash(set, set->cap * 2);
        slot = probe(set->slots, set->cap, fp);
    }
    *slot = fp;
    set->count++;
    return true;
}

bool keyset_contains(const struct keyset *set, int db, const void *key, size_t len)
{
    return *probe(set->slots, set->cap, fingerprint(set, db, key, len)) != 0;
}

uint64_t keyset_count(const struct keyset *set)
{
    return set->count;
}

uint64_t keyset_capacity(const struct keyset *set)
{
    return set->cap;
}
