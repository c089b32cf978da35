/* codec_tool: helper for tests/integration/rdb_codec_redis.sh, which holds
 * our codecs against a live redis-server. Not a test by itself.
 *
 *   codec_tool payload [-z] KIND ENTRY...
 *       Writes to stdout a DUMP payload (RDB version 10) whose value our
 *       builders made from the entries; -z stores the blob LZF-compressed
 *       (by our compressor) when that saves at least 4 bytes, as Redis does.
 *       KIND: list-qlp (type 18, one listpack node), hash-lp (16),
 *       zset-lp (17), set-intset (11), list-zl (10), zset-zl (12),
 *       hash-zl (13), list-ql (14, one ziplist node), string (0).
 *       zset entries are member/score pairs in any order. A single entry
 *       @FILE reads the entries from FILE, one per line.
 *   codec_tool extract < PAYLOAD
 *       Checks the footer CRC of a DUMP payload with our CRC64 and prints
 *       each blob it holds (each quicklist node) as one line of hex, LZF
 *       strings decompressed by our decoders (one-shot and streamed, which
 *       must agree). Reports LZF strings on stderr as "lzf CLEN LEN".
 *   codec_tool extract-raw < PAYLOAD
 *       The same, writing the blobs' bytes back to back to stdout.
 *   codec_tool lzf-size < FILE
 *       Prints the size of our LZF compression of the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/codec.h"

#define DUMP_RDB_VERSION 10

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "codec_tool: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

static struct rk_buf read_all(FILE *f)
{
    struct rk_buf b = {0};
    unsigned char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) rk_buf_append(&b, chunk, n);
    return b;
}

/* ---- building payloads ---------------------------------------------------- */

static void put_len(struct rk_buf *b, uint64_t len)
{
    if (len < 64) {
        rk_buf_append_byte(b, (unsigned char)len);
    } else if (len < 16384) {
        rk_buf_append_byte(b, (unsigned char)(0x40 | len >> 8));
        rk_buf_append_byte(b, (unsigned char)len);
    } else if (len <= UINT32_MAX) {
        rk_buf_append_byte(b, 0x80);
        for (int i = 3; i >= 0; i--) rk_buf_append_byte(b, (unsigned char)(len >> (8 * i)));
    } else {
        rk_buf_append_byte(b, 0x81);
        for (int i = 7; i >= 0; i--) rk_buf_append_byte(b, (unsigned char)(len >> (8 * i)));
    }
}

/* An RDB string: LZF when asked and worth it (Redis's rule: longer than 20
 * bytes and at least 4 bytes saved), else raw. */
static void put_string(struct rk_buf *b, const unsigned char *s, size_t len, bool compress)
{
    if (compress && len > 20) {
        unsigned char *packed = xmalloc(len);
        size_t plen = rdb_lzf_compress(s, len, packed, len - 4);
        if (plen > 0) {
            rk_buf_append_byte(b, 0xC3);
            put_len(b, plen);
            put_len(b, len);
            rk_buf_append(b, packed, plen);
            free(packed);
            return;
        }
        free(packed);
    }
    put_len(b, len);
    rk_buf_append(b, s, len);
}

struct pair {
    const char *member;
    double score;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->score < y->score) return -1;
    if (x->score > y->score) return 1;
    size_t lx = strlen(x->member), ly = strlen(y->member);
    int c = memcmp(x->member, y->member, lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

/* zset entries sorted as Redis keeps them, scores as Redis 7.0 writes them. */
static struct pair *zset_pairs(char **entries, int n)
{
    if (n % 2) die("%s", "zset entries come in member/score pairs");
    struct pair *p = xcalloc((size_t)n / 2 + 1, sizeof(*p));
    for (int i = 0; i < n; i += 2) {
        p[i / 2].member = entries[i];
        if (!rdb_str_to_double((const unsigned char *)entries[i + 1], strlen(entries[i + 1]),
                               &p[i / 2].score))
            die("bad score %s", entries[i + 1]);
    }
    qsort(p, (size_t)n / 2, sizeof(*p), cmp_pair);
    return p;
}

static void build_listpack(struct rdb_listpack_builder *l, const char *kind, char **entries, int n)
{
    rdb_listpack_init(l);
    if (strcmp(kind, "zset") == 0) {
        struct pair *p = zset_pairs(entries, n);
        for (int i = 0; i < n / 2; i++) {
            char text[32];
            size_t tl = rdb_double_to_str(p[i].score, text);
            rdb_listpack_add(l, (const unsigned char *)p[i].member, strlen(p[i].member));
            rdb_listpack_add(l, (const unsigned char *)text, tl);
        }
        free(p);
    } else {
        for (int i = 0; i < n; i++)
            rdb_listpack_add(l, (const unsigned char *)entries[i], strlen(entries[i]));
    }
    rdb_listpack_finish(l);
}

static void build_ziplist(struct rdb_ziplist_builder *z, const char *kind, char **entries, int n)
{
    rdb_ziplist_init(z);
    if (strcmp(kind, "zset") == 0) {
        struct pair *p = zset_pairs(entries, n);
        for (int i = 0; i < n / 2; i++) {
            char text[32];
            size_t tl = rdb_double_to_str(p[i].score, text);
            rdb_ziplist_add(z, (const unsigned char *)p[i].member, strlen(p[i].member));
            rdb_ziplist_add(z, (const unsigned char *)text, tl);
        }
        free(p);
    } else {
        for (int i = 0; i < n; i++)
            rdb_ziplist_add(z, (const unsigned char *)entries[i], strlen(entries[i]));
    }
    rdb_ziplist_finish(z);
}

static int cmd_payload(int argc, char **argv)
{
    bool compress = false;
    if (argc > 0 && strcmp(argv[0], "-z") == 0) {
        compress = true;
        argc--;
        argv++;
    }
    if (argc < 1) die("%s", "payload needs a KIND");
    const char *kind = argv[0];
    char **entries = argv + 1;
    int n = argc - 1;
    struct rk_buf out = {0}, file = {0};
    if (n == 1 && entries[0][0] == '@') {
        FILE *f = fopen(entries[0] + 1, "rb");
        if (!f) die("cannot open %s", entries[0] + 1);
        file = read_all(f);
        fclose(f);
        rk_buf_append_byte(&file, 0);
        n = 0;
        for (size_t i = 0; i + 1 < file.len; i++) n += file.data[i] == '\n';
        entries = xcalloc((size_t)n + 1, sizeof(*entries));
        char *line = (char *)file.data;
        for (int i = 0; i < n; i++) {
            char *nl = strchr(line, '\n');
            *nl = '\0';
            entries[i] = line;
            line = nl + 1;
        }
    }

    if (strcmp(kind, "list-qlp") == 0 || strcmp(kind, "hash-lp") == 0 ||
        strcmp(kind, "zset-lp") == 0) {
        struct rdb_listpack_builder l;
        build_listpack(&l, kind[0] == 'z' ? "zset" : "plain", entries, n);
        if (kind[0] == 'l') {
            rk_buf_append_byte(&out, 18);
            put_len(&out, 1); /* one node */
            put_len(&out, 2); /* PACKED */
        } else {
            rk_buf_append_byte(&out, kind[0] == 'h' ? 16 : 17);
        }
        put_string(&out, l.buf.data, l.buf.len, compress);
        rdb_listpack_free(&l);
    } else if (strcmp(kind, "list-zl") == 0 || strcmp(kind, "hash-zl") == 0 ||
               strcmp(kind, "zset-zl") == 0 || strcmp(kind, "list-ql") == 0) {
        struct rdb_ziplist_builder z;
        build_ziplist(&z, kind[0] == 'z' ? "zset" : "plain", entries, n);
        if (strcmp(kind, "list-ql") == 0) {
            rk_buf_append_byte(&out, 14);
            put_len(&out, 1);
        } else {
            rk_buf_append_byte(&out, kind[0] == 'l' ? 10 : kind[0] == 'z' ? 12 : 13);
        }
        put_string(&out, z.buf.data, z.buf.len, compress);
        rdb_ziplist_free(&z);
    } else if (strcmp(kind, "set-intset") == 0) {
        struct rdb_intset_builder s;
        rdb_intset_init(&s);
        for (int i = 0; i < n; i++) {
            long long v;
            if (!rdb_str_to_ll((const unsigned char *)entries[i], strlen(entries[i]), &v))
                die("not an integer: %s", entries[i]);
            rdb_intset_add(&s, v);
        }
        if (rdb_intset_finish(&s) != 0) die("%s", "duplicate intset values");
        rk_buf_append_byte(&out, 11);
        put_string(&out, s.buf.data, s.buf.len, compress);
        rdb_intset_free(&s);
    } else if (strcmp(kind, "string") == 0) {
        if (n != 1) die("%s", "string takes one entry");
        rk_buf_append_byte(&out, 0);
        put_string(&out, (const unsigned char *)entries[0], strlen(entries[0]), compress);
    } else {
        die("unknown kind %s", kind);
    }

    rk_buf_append_byte(&out, DUMP_RDB_VERSION & 0xff);
    rk_buf_append_byte(&out, DUMP_RDB_VERSION >> 8);
    uint64_t crc = rdb_crc64(0, out.data, out.len);
    for (int i = 0; i < 8; i++) rk_buf_append_byte(&out, (unsigned char)(crc >> (8 * i)));
    fwrite(out.data, 1, out.len, stdout);
    rk_buf_free(&out);
    if (file.data) {
        free(entries);
        rk_buf_free(&file);
    }
    return 0;
}

/* ---- taking payloads apart ----------------------------------------------- */

struct cursor {
    const unsigned char *p, *end;
};

static uint64_t get_len(struct cursor *c, int *special)
{
    if (c->p >= c->end) die("%s", "payload ends early");
    unsigned char b = *c->p++;
    *special = -1;
    switch (b >> 6) {
    case 0: return b & 0x3f;
    case 1:
        if (c->p >= c->end) die("%s", "payload ends early");
        return (uint64_t)(b & 0x3f) << 8 | *c->p++;
    case 2: {
        int n = b == 0x80 ? 4 : b == 0x81 ? 8 : 0;
        if (!n || c->end - c->p < n) die("%s", "bad length");
        uint64_t v = 0;
        for (int i = 0; i < n; i++) v = v << 8 | *c->p++;
        return v;
    }
    default: *special = b & 0x3f; return 0;
    }
}

static int append_emit(void *ctx, const unsigned char *data, size_t len)
{
    rk_buf_append(ctx, data, len);
    return 0;
}

static struct rk_buf get_string(struct cursor *c)
{
    int special;
    uint64_t len = get_len(c, &special);
    struct rk_buf out = {0};
    if (special < 0) {
        if ((uint64_t)(c->end - c->p) < len) die("%s", "payload ends early");
        rk_buf_append(&out, c->p, len);
        c->p += len;
        return out;
    }
    if (special != 3) die("%s", "integer-encoded string where a blob was expected");
    int s1, s2;
    uint64_t clen = get_len(c, &s1), ulen = get_len(c, &s2);
    if (s1 >= 0 || s2 >= 0 || (uint64_t)(c->end - c->p) < clen) die("%s", "bad LZF header");
    struct rk_err err = {{0}};
    rk_buf_reserve(&out, ulen + 1);
    if (rdb_lzf_decompress(c->p, clen, out.data, ulen, &err) != 0) die("%s", err.msg);
    out.len = ulen;
    /* the streaming decoder, fed in awkward pieces, must agree */
    struct rk_buf streamed = {0};
    struct rdb_lzf_stream st;
    rdb_lzf_stream_init(&st, ulen);
    for (size_t at = 0, k = 0; at < clen; k++) {
        size_t n = 1 + (k * 7919) % 97;
        if (n > clen - at) n = clen - at;
        if (rdb_lzf_stream_feed(&st, c->p + at, n, append_emit, &streamed, &err) != 0)
            die("%s", err.msg);
        at += n;
    }
    if (rdb_lzf_stream_finish(&st, append_emit, &streamed, &err) != 0) die("%s", err.msg);
    rdb_lzf_stream_free(&st);
    if (streamed.len != out.len || memcmp(streamed.data, out.data, out.len) != 0)
        die("%s", "streamed and one-shot LZF disagree");
    rk_buf_free(&streamed);
    fprintf(stderr, "lzf %llu %llu\n", (unsigned long long)clen, (unsigned long long)ulen);
    c->p += clen;
    return out;
}

static void emit_blob(const struct rk_buf *b, bool raw)
{
    if (raw) {
        fwrite(b->data, 1, b->len, stdout);
        return;
    }
    for (size_t i = 0; i < b->len; i++) printf("%02x", b->data[i]);
    printf("\n");
}

static int cmd_extract(bool raw)
{
    struct rk_buf in = read_all(stdin);
    if (in.len < 11) die("%s", "payload too short");
    size_t body = in.len - 8;
    uint64_t stored = 0;
    for (int i = 0; i < 8; i++) stored |= (uint64_t)in.data[body + i] << (8 * i);
    uint64_t crc = rdb_crc64(0, in.data, body);
    if (crc != stored || rdb_crc64_portable(0, in.data, body) != stored)
        die("%s", "payload CRC does not match");
    unsigned version = in.data[body - 2] | in.data[body - 1] << 8;
    if (!raw) printf("version %u\n", version);
    struct cursor c = {in.data + 1, in.data + body - 2};
    unsigned type = in.data[0];
    if (!raw) printf("type %u\n", type);
    int special;
    if (type == 14 || type == 18) {
        uint64_t nodes = get_len(&c, &special);
        for (uint64_t i = 0; i < nodes; i++) {
            if (type == 18) {
                uint64_t container = get_len(&c, &special);
                if (!raw) printf("container %llu ", (unsigned long long)container);
            }
            struct rk_buf b = get_string(&c);
            emit_blob(&b, raw);
            rk_buf_free(&b);
        }
    } else if (type == 0 || (type >= 10 && type <= 13) || type == 16 || type == 17) {
        struct rk_buf b = get_string(&c);
        emit_blob(&b, raw);
        rk_buf_free(&b);
    } else {
        die("%s", "unsupported value type");
    }
    if (c.p != c.end) die("%s", "bytes left over after the value");
    rk_buf_free(&in);
    return 0;
}

static int cmd_lzf_size(void)
{
    struct rk_buf in = read_all(stdin);
    size_t cap = in.len + in.len / 32 + 2;
    unsigned char *out = xmalloc(cap);
    printf("%zu\n", rdb_lzf_compress(in.data, in.len, out, cap));
    free(out);
    rk_buf_free(&in);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) die("%s", "usage: codec_tool payload|extract|extract-raw|lzf-size ...");
    if (strcmp(argv[1], "payload") == 0) return cmd_payload(argc - 2, argv + 2);
    if (strcmp(argv[1], "extract") == 0) return cmd_extract(false);
    if (strcmp(argv[1], "extract-raw") == 0) return cmd_extract(true);
    if (strcmp(argv[1], "lzf-size") == 0) return cmd_lzf_size();
    die("unknown command %s", argv[1]);
    return 2;
}
