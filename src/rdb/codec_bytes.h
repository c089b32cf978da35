/* codec_bytes.h: little-endian stores for the blob encoders (private to the
 * codec files). Byte by byte, so they work at any alignment and on any host;
 * compilers turn them into single stores. */
#ifndef RDBKEEP_RDB_CODEC_BYTES_H
#define RDBKEEP_RDB_CODEC_BYTES_H

#include <stdint.h>

static inline void codec_put_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline void codec_put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static inline void codec_put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

#endif
