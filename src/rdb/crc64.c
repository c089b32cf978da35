/* crc64.c: Redis's CRC-64/Jones, through ISA-L and as a portable fallback.
 *
 * ISA-L's crc64_jones_refl() inverts the CRC on the way in and on the way
 * out (init ~0, final xor ~0), while Redis uses init 0 and no final xor, so
 * we undo both inversions around the call. */
#include <string.h>

#include <isa-l/crc64.h>

#include "rdb/codec.h"
#include "rdb/crc64_table.h"

uint64_t rdb_crc64(uint64_t crc, const void *data, size_t len)
{
    if (len == 0) return crc;
    return ~crc64_jones_refl(~crc, (const unsigned char *)data, len);
}

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

uint64_t rdb_crc64_portable(uint64_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    const uint64_t(*t)[256] = crc64_slice8;

    while (len >= 8) {
        uint64_t x = crc ^ load_le64(p);
        crc = t[7][x & 0xff] ^ t[6][(x >> 8) & 0xff] ^ t[5][(x >> 16) & 0xff] ^
              t[4][(x >> 24) & 0xff] ^ t[3][(x >> 32) & 0xff] ^ t[2][(x >> 40) & 0xff] ^
              t[1][(x >> 48) & 0xff] ^ t[0][x >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}
