/* URI parsing and validation for every sourceType, redaction, and building
 * sibling URIs.
 *
 * The forms (api.md):
 *   s3://bucket/[path/]file                 gs://bucket/[path/]file
 *   abs://[:key@]account/[container/]blob   ftp[s]://[user][:password]@host[:port]/[path/]file
 *   http[s]://[user][:password]@host[:port]/[path/]file
 *   redis[s]://[[user:]password@]host:port  /absolute/path, file:///absolute/path
 *
 * Error messages quote a part of the URI only when it cannot hold a secret:
 * nothing up to the last '@' of the authority is ever echoed. */
#include "store/store_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct uri_full {
    struct store_uri pub;
    char *origin;
};

struct parse {
    const char *text;
    size_t len;
    size_t safe_from; /* bytes at or after this offset may be quoted */
    enum store_uri_role role;
    struct rk_err *err;
};

static int fail(struct parse *p, const char *fmt, ...) RK_PRINTF(2, 3);
static int fail(struct parse *p, const char *fmt, ...)
{
    if (!p->err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

/* A quotable rendering of text[start, start+len), or a placeholder. */
static const char *quote(struct parse *p, const char *start, size_t len, char *buf, size_t cap)
{
    size_t off = (size_t)(start - p->text);
    if (off < p->safe_from) return "(not shown: it may hold a secret)";
    if (len > 80) len = 80;
    snprintf(buf, cap, "'%.*s'", (int)len, start);
    return buf;
}

void store_uri_free(struct store_uri *uri)
{
    if (!uri) return;
    struct uri_full *u = (struct uri_full *)uri;
    free(uri->user);
    if (uri->password) {
        /* Keys do not linger in freed memory. */
        memset(uri->password, 0, strlen(uri->password));
        free(uri->password);
    }
    free(uri->host);
    free(uri->bucket);
    free(uri->account);
    free(uri->path);
    if (u->origin) {
        memset(u->origin, 0, strlen(u->origin));
        free(u->origin);
    }
    free(u);
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

struct store_uri *store_uri_dup(const struct store_uri *uri)
{
    const struct uri_full *src = (const struct uri_full *)uri;
    struct uri_full *d = xcalloc(1, sizeof(*d));
    d->pub.kind = uri->kind;
    d->pub.port = uri->port;
    d->pub.user = dup_or_null(uri->user);
    d->pub.password = dup_or_null(uri->password);
    d->pub.host = dup_or_null(uri->host);
    d->pub.bucket = dup_or_null(uri->bucket);
    d->pub.account = dup_or_null(uri->account);
    d->pub.path = dup_or_null(uri->path);
    d->origin = dup_or_null(src->origin);
    return &d->pub;
}

const char *store_uri_origin(const struct store_uri *uri)
{
    return ((const struct uri_full *)uri)->origin;
}

/* ------------------------------------------------------------ names, types -- */

static const struct {
    const char *name;
    enum store_type type;
    const char *bad_uri;
} types[] = {
    {"aws-s3", STORE_TYPE_S3, "DATABASE_IMPORT_S3_BAD_URI"},
    {"google-blob-storage", STORE_TYPE_GCS, "DATABASE_IMPORT_GCS_BAD_URI"},
    {"azure-blob-storage", STORE_TYPE_AZURE, "DATABASE_IMPORT_AZURE_BAD_URI"},
    {"ftp", STORE_TYPE_FTP, "DATABASE_IMPORT_FTP_BAD_URI"},
    {"http", STORE_TYPE_HTTP, "DATABASE_IMPORT_HTTP_BAD_URI"},
    {"redis", STORE_TYPE_REDIS, "DATABASE_IMPORT_REDIS_BAD_URI"},
    {"local", STORE_TYPE_LOCAL, "DATABASE_INVALID_BACKUP_PATH"},
};

int store_type_from_name(const char *name, enum store_type *out)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (name && strcmp(name, types[i].name) == 0) {
            *out = types[i].type;
            return 0;
        }
    return -1;
}

const char *store_type_name(enum store_type type)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (types[i].type == type) return types[i].name;
    return "any";
}

const char *store_type_bad_uri_error(enum store_type type)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (types[i].type == type) return types[i].bad_uri;
    return "DATABASE_INVALID_BACKUP_PATH";
}

const char *store_kind_name(enum store_kind kind)
{
    static const char *names[] = {"local", "s3",   "gcs",   "azure", "ftp",
                                  "ftps",  "http", "https", "redis", "rediss"};
    return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

bool store_kind_writable(enum store_kind kind)
{
    return kind == STORE_LOCAL || kind == STORE_S3 || kind == STORE_GCS || kind == STORE_AZURE ||
           kind == STORE_FTP || kind == STORE_FTPS;
}

static const struct {
    const char *scheme;
    enum store_kind kind;
} schemes[] = {
    {"s3", STORE_S3},         {"gs", STORE_GCS},     {"abs", STORE_AZURE},   {"ftp", STORE_FTP},
    {"ftps", STORE_FTPS},     {"http", STORE_HTTP},  {"https", STORE_HTTPS}, {"redis", STORE_REDIS},
    {"rediss", STORE_REDISS}, {"file", STORE_LOCAL},
};

static bool kind_fits_type(enum store_kind kind, enum store_type type)
{
    switch (type) {
    case STORE_TYPE_ANY: return true;
    case STORE_TYPE_S3: return kind == STORE_S3;
    case STORE_TYPE_GCS: return kind == STORE_GCS;
    case STORE_TYPE_AZURE: return kind == STORE_AZURE;
    case STORE_TYPE_FTP: return kind == STORE_FTP || kind == STORE_FTPS;
    case STORE_TYPE_HTTP: return kind == STORE_HTTP || kind == STORE_HTTPS;
    case STORE_TYPE_REDIS: return kind == STORE_REDIS || kind == STORE_REDISS;
    case STORE_TYPE_LOCAL: return kind == STORE_LOCAL;
    }
    return false;
}

static const char *type_forms(enum store_type type)
{
    switch (type) {
    case STORE_TYPE_S3: return "s3://bucket/[path/]file";
    case STORE_TYPE_GCS: return "gs://bucket/[path/]file";
    case STORE_TYPE_AZURE: return "abs://:account_key@account_name/[container/]file";
    case STORE_TYPE_FTP: return "ftp://[user][:password]@host[:port]/[path/]file (or ftps://)";
    case STORE_TYPE_HTTP: return "http://[user][:password]@host[:port]/[path/]file (or https://)";
    case STORE_TYPE_REDIS: return "redis://[password]@host:port (or rediss://, user:password@)";
    case STORE_TYPE_LOCAL: return "an absolute path or file:///path";
    case STORE_TYPE_ANY: break;
    }
    return "a path or a URI";
}

/* ------------------------------------------------------------- validators -- */

static bool is_unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_subdelim(unsigned char c)
{
    return strchr("!$&'()*+,;=", c) != NULL && c;
}

/* Characters allowed raw in a URL path (RFC 3986 pchar plus '/'), '%' being
 * checked separately. */
static bool is_path_char(unsigned char c)
{
    return is_unreserved(c) || is_subdelim(c) || c == ':' || c == '@' || c == '/';
}

/* Returns the offset of the first byte that is not valid UTF-8, or -1. */
static int check_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0 && c >= 0xc2)
            n = 1;
        else if ((c & 0xf0) == 0xe0)
            n = 2;
        else if ((c & 0xf8) == 0xf0 && c <= 0xf4)
            n = 3;
        else
            return (int)i;
        if (i + n >= len) return (int)i;
        for (size_t k = 1; k <= n; k++)
            if ((s[i + k] & 0xc0) != 0x80) return (int)i;
        i += n + 1;
    }
    return -1;
}

static bool valid_hostname(const char *h, size_t len)
{
    if (len == 0 || len > 253) return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-') return false;
            label = 0;
            continue;
        }
        if (!(isalnum(c) || c == '-' || c == '_')) return false;
        if (label == 0 && c == '-') return false;
        if (++label > 63) return false;
    }
    return h[len - 1] != '-';
}

/* Parses "host[:port]" or "[v6][:port]". port_required for Redis. */
static int parse_hostport(struct parse *p, const char *s, size_t len, struct store_uri *u,
                          bool port_required)
{
    char q[128];
    const char *host = s, *port = NULL;
    size_t hlen, plen = 0;
    if (len == 0) return fail(p, "the host is missing");
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close) return fail(p, "an IPv6 address must end with ']'");
        host = s + 1;
        hlen = (size_t)(close - host);
        const char *after = close + 1;
        size_t rest = len - (size_t)(after - s);
        if (rest) {
            if (*after != ':') return fail(p, "unexpected text after the IPv6 address");
            port = after + 1;
            plen = rest - 1;
        }
        char tmp[64];
        struct in6_addr a6;
        if (hlen == 0 || hlen >= sizeof(tmp)) return fail(p, "the IPv6 address is not valid");
        memcpy(tmp, host, hlen);
        tmp[hlen] = '\0';
        if (inet_pton(AF_INET6, tmp, &a6) != 1)
            return fail(p, "the IPv6 address %s is not valid", quote(p, host, hlen, q, sizeof(q)));
    } else {
        const char *colon = memchr(s, ':', len);
        hlen = colon ? (size_t)(colon - s) : len;
        if (colon) {
            port = colon + 1;
            plen = len - hlen - 1;
        }
        if (hlen == 0) return fail(p, "the host is missing");
        if (!valid_hostname(host, hlen))
            return fail(p, "the host %s is not a valid host name or address",
                        quote(p, host, hlen, q, sizeof(q)));
    }
    u->host = xstrndup(host, hlen);
    if (port) {
        unsigned long v = 0;
        bool ok = plen > 0 && plen <= 5;
        for (size_t i = 0; ok && i < plen; i++) {
            if (!isdigit((unsigned char)port[i]))
                ok = false;
            else
                v = v * 10 + (unsigned long)(port[i] - '0');
        }
        if (!ok || v == 0 || v > 65535)
            return fail(p, "the port %s is not a number from 1 to 65535",
                        quote(p, port, plen, q, sizeof(q)));
        u->port = (unsigned)v;
    } else if (port_required) {
        return fail(p, "the port is missing (the form is host:port)");
    }
    return 0;
}

/* user[:password] -> decoded fields. password_only: "secret" alone is a
 * password (Redis). Never quotes anything: it is all secret. */
static int parse_userinfo(struct parse *p, const char *s, size_t len, struct store_uri *u,
                          bool password_only)
{
    const char *colon = memchr(s, ':', len);
    size_t bad;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(is_unreserved(c) || is_subdelim(c) || c == ':' || c == '%' || c == '@' || c >= 0x80))
            return fail(p,
                        "the user or password contains a character that must be percent-encoded "
                        "(character %zu of the credentials)",
                        i + 1);
    }
    if (colon) {
        u->user = pct_decode(s, (size_t)(colon - s), &bad);
        if (!u->user) return fail(p, "the user name has a malformed percent-encoding");
        u->password = pct_decode(colon + 1, len - (size_t)(colon - s) - 1, &bad);
        if (!u->password) return fail(p, "the password has a malformed percent-encoding");
    } else if (password_only) {
        u->password = pct_decode(s, len, &bad);
        if (!u->password) return fail(p, "the password has a malformed percent-encoding");
    } else {
        u->user = pct_decode(s, len, &bad);
        if (!u->user) return fail(p, "the user name has a malformed percent-encoding");
    }
    /* A CR or LF would inject commands into FTP's USER/PASS or Redis's AUTH. */
    for (const char *f = u->user; f && *f; f++)
        if ((unsigned char)*f < 0x20 || *f == 0x7f)
            return fail(p, "the user name contains a control character");
    for (const char *f = u->password; f && *f; f++)
        if ((unsigned char)*f < 0x20 || *f == 0x7f)
            return fail(p, "the password contains a control character");
    if (u->user && !*u->user) {
        free(u->user);
        u->user = NULL;
    }
    if (u->password && !*u->password && !password_only) {
        free(u->password);
        u->password = NULL;
    }
    return 0;
}

/* Checks a literal object key (S3, GCS, Azure) starting at offset key_off. */
static int check_key(struct parse *p, const char *key, size_t len, size_t max, const char *what)
{
    char q[128];
    if (len > max) return fail(p, "the %s is longer than %zu bytes", what, max);
    int bad = check_utf8((const unsigned char *)key, len);
    if (bad >= 0) return fail(p, "the %s is not valid UTF-8 (at byte %d of it)", what, bad + 1);
    for (size_t i = 0; i < len; i++) {
        if (key[i] == '?' || key[i] == '#')
            return fail(p,
                        "'%c' is not allowed in the %s (query strings and fragments are not part "
                        "of this form)",
                        key[i], what);
    }
    /* Empty, "." and ".." segments: legal in some stores, but never what a
     * backup path means, and they turn into different keys on different tools. */
    size_t seg = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && key[i] != '/') continue;
        size_t slen = i - seg;
        bool last = i == len;
        if (slen == 0 && !last)
            return fail(p, "the %s has an empty path segment ('//') at %s", what,
                        quote(p, key + seg, len - seg, q, sizeof(q)));
        if ((slen == 1 && key[seg] == '.') || (slen == 2 && key[seg] == '.' && key[seg + 1] == '.'))
            return fail(p, "the %s has a '.' or '..' segment", what);
        seg = i + 1;
    }
    if (p->role == STORE_URI_OBJECT) {
        if (len == 0) return fail(p, "the %s is missing: the URI must name a file", what);
        if (key[len - 1] == '/')
            return fail(p, "the %s ends with '/': the URI must name a file, not a folder", what);
    }
    return 0;
}

static int check_s3_bucket(struct parse *p, const char *b, size_t len, bool gcs)
{
    char q[128];
    const char *name = gcs ? "GCS bucket" : "S3 bucket";
    if (len == 0) return fail(p, "the bucket name is missing");
    size_t max = gcs ? 222 : 63;
    bool ok = len >= 3 && len <= max && isalnum((unsigned char)b[0]) &&
              isalnum((unsigned char)b[len - 1]);
    size_t comp = 0;
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char)b[i];
        if (c == '.') {
            if (i && b[i - 1] == '.') ok = false;
            comp = 0;
            continue;
        }
        if (++comp > 63) ok = false;
        if (!(islower(c) || isdigit(c) || c == '-' || (gcs && c == '_'))) ok = false;
    }
    if (!ok)
        return fail(p,
                    "%s is not a valid %s name (3 to %zu characters: lower-case letters, digits, "
                    "'-', '.'%s; starting and ending with a letter or digit)",
                    quote(p, b, len, q, sizeof(q)), name, max, gcs ? ", '_'" : "");
    return 0;
}

static int check_container(struct parse *p, const char *c, size_t len)
{
    char q[128];
    if (len == 5 && memcmp(c, "$root", 5) == 0) return 0;
    bool ok = len >= 3 && len <= 63 && isalnum((unsigned char)c[0]) && c[len - 1] != '-';
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char ch = (unsigned char)c[i];
        if (!(islower(ch) || isdigit(ch) || ch == '-')) ok = false;
        if (ch == '-' && i && c[i - 1] == '-') ok = false;
    }
    if (!ok)
        return fail(p,
                    "%s is not a valid Azure container name (3 to 63 lower-case letters, digits "
                    "and single '-', starting with a letter or digit)",
                    quote(p, c, len, q, sizeof(q)));
    return 0;
}

/* A URL path (FTP, HTTP): raw characters must be legal, %XX well formed. */
static int check_url_path(struct parse *p, const char *s, size_t len, bool allow_query)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
                !isxdigit((unsigned char)s[i + 2]))
                return fail(p, "malformed percent-encoding at character %zu of the path", i + 1);
            i += 2;
            continue;
        }
        if (c == '?' && allow_query) continue;
        if (c == '#') return fail(p, "fragments ('#...') are not allowed");
        if (c == '?') return fail(p, "'?' is not allowed in the path (percent-encode it as %%3F)");
        if (!is_path_char(c) && !(allow_query && c == '?'))
            return fail(p, "the character '%c' at position %zu of the path must be percent-encoded",
                        c >= 0x20 && c < 0x7f ? c : '?', i + 1);
    }
    return 0;
}

/* -------------------------------------------------------------- per kind -- */

static int parse_local(struct parse *p, const char *path, size_t len, bool from_file_uri,
                       enum store_type type, struct store_uri *u)
{
    size_t bad;
    char *decoded = from_file_uri ? pct_decode(path, len, &bad) : xstrndup(path, len);
    if (!decoded)
        return fail(p, "malformed percent-encoding in the path at character %zu", bad + 1);
    u->path = decoded;
    size_t dlen = strlen(decoded);
    if (dlen == 0) return fail(p, "the path is empty");
    if (dlen > 4095) return fail(p, "the path is longer than 4095 bytes");
    for (size_t i = 0; i < dlen; i++)
        if ((unsigned char)decoded[i] < 0x20 || decoded[i] == 0x7f)
            return fail(p, "the path contains a control character at position %zu", i + 1);
    if (type == STORE_TYPE_LOCAL && decoded[0] != '/')
        return fail(p, "a local backup path must be absolute (start with '/')");
    if (p->role == STORE_URI_OBJECT && decoded[dlen - 1] == '/')
        return fail(p, "the path ends with '/': it must name a file, not a directory");
    u->kind = STORE_LOCAL;
    return 0;
}

static int parse_bucket_uri(struct parse *p, const char *rest, size_t len, struct store_uri *u)
{
    const bool gcs = u->kind == STORE_GCS;
    const char *slash = memchr(rest, '/', len);
    size_t blen = slash ? (size_t)(slash - rest) : len;
    if (memchr(rest, '@', blen))
        return fail(p, "credentials do not belong in %s URIs: give them in the configuration (%s)",
                    gcs ? "gs://" : "s3://",
                    gcs ? "GOOGLE_APPLICATION_CREDENTIALS or GCS_HMAC_ACCESS_ID/GCS_HMAC_SECRET"
                        : "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
    if (check_s3_bucket(p, rest, blen, gcs) < 0) return -1;
    u->bucket = xstrndup(rest, blen);
    const char *key = slash ? slash + 1 : rest + len;
    size_t klen = len - (size_t)(key - rest);
    if (check_key(p, key, klen, 1024, "object key") < 0) return -1;
    u->path = xstrndup(key, klen);
    return 0;
}

static int parse_azure(struct parse *p, const char *rest, size_t len, struct store_uri *u)
{
    char q[128];
    const char *acct = rest;
    size_t alen;
    if (len && rest[0] == ':') {
        /* The account key is base64: it may hold raw '/' and '+', so the
         * userinfo runs to the first '@' (base64 has none). */
        const char *at = memchr(rest, '@', len);
        if (!at) return fail(p, "the account key must be followed by '@account_name'");
        size_t bad;
        char *key = pct_decode(rest + 1, (size_t)(at - rest - 1), &bad);
        if (!key) return fail(p, "the account key has a malformed percent-encoding");
        u->password = key;
        unsigned char tmp[256];
        size_t klen;
        if (!*key || base64_decode(key, strlen(key), tmp, sizeof(tmp), &klen) < 0 || klen == 0)
            return fail(p, "the account key is not valid base64");
        p->safe_from = (size_t)(at + 1 - p->text);
        acct = at + 1;
    } else {
        if (memchr(rest, '@', len))
            return fail(p,
                        "the part before '@' must be ':account_key' (the user part must be empty; "
                        "the form is abs://:account_key@account_name/container/blob)");
    }
    size_t left = len - (size_t)(acct - rest);
    const char *slash = memchr(acct, '/', left);
    alen = slash ? (size_t)(slash - acct) : left;
    bool ok = alen >= 3 && alen <= 24;
    for (size_t i = 0; ok && i < alen; i++)
        if (!(islower((unsigned char)acct[i]) || isdigit((unsigned char)acct[i]))) ok = false;
    if (!ok)
        return fail(
            p, "%s is not a valid storage account name (3 to 24 lower-case letters and digits)",
            alen ? quote(p, acct, alen, q, sizeof(q)) : "''");
    u->account = xstrndup(acct, alen);
    const char *path = slash ? slash + 1 : acct + alen;
    size_t plen = left - (size_t)(path - acct);
    const char *sep = memchr(path, '/', plen);
    if (!sep && p->role == STORE_URI_OBJECT) {
        /* A single segment is a blob in the root container. */
        u->bucket = xstrdup("$root");
        if (check_key(p, path, plen, 1024, "blob name") < 0) return -1;
        u->path = xstrndup(path, plen);
        return 0;
    }
    size_t clen = sep ? (size_t)(sep - path) : plen;
    if (clen == 0) return fail(p, "the container name is missing");
    if (check_container(p, path, clen) < 0) return -1;
    u->bucket = xstrndup(path, clen);
    const char *blob = sep ? sep + 1 : path + plen;
    size_t bl = plen - (size_t)(blob - path);
    if (check_key(p, blob, bl, 1024, "blob name") < 0) return -1;
    u->path = xstrndup(blob, bl);
    return 0;
}

/* Authority of ftp/http/redis: [userinfo@]hostport. Returns the end of it. */
static int parse_authority(struct parse *p, const char *rest, size_t len, size_t *auth_len,
                           struct store_uri *u, bool password_only, bool port_required)
{
    size_t alen = len;
    for (size_t i = 0; i < len; i++)
        if (rest[i] == '/' || rest[i] == '?' || rest[i] == '#') {
            alen = i;
            break;
        }
    *auth_len = alen;
    /* The last '@' of the authority: a raw '@' in a password still parses. */
    const char *at = NULL;
    for (size_t i = alen; i-- > 0;)
        if (rest[i] == '@') {
            at = rest + i;
            break;
        }
    if (!at && memchr(rest + alen, '@', len - alen)) {
        /* Most likely a password holding a raw '/', '?' or '#': parsed as
         * written, part of it would become the path and show up in messages. */
        p->safe_from = p->len;
        return fail(p,
                    "an '@' follows the host: if it ends the credentials, percent-encode '/', '?' "
                    "and '#' in the password (%%2F, %%3F, %%23); in a path, write '@' as %%40");
    }
    if (at) {
        p->safe_from = (size_t)(at + 1 - p->text);
        if (parse_userinfo(p, rest, (size_t)(at - rest), u, password_only) < 0) return -1;
    }
    const char *hp = at ? at + 1 : rest;
    return parse_hostport(p, hp, alen - (size_t)(hp - rest), u, port_required);
}

static int parse_ftp(struct parse *p, const char *rest, size_t len, struct store_uri *u)
{
    size_t alen;
    if (parse_authority(p, rest, len, &alen, u, false, false) < 0) return -1;
    const char *path = rest + alen;
    size_t plen = len - alen;
    if (plen && path[0] != '/')
        return fail(p, "%s",
                    path[0] == '?' ? "query strings are not allowed in FTP URIs"
                                   : "fragments are not allowed");
    if (plen) {
        path++;
        plen--;
    }
    if (check_url_path(p, path, plen, false) < 0) return -1;
    size_t bad;
    char *dec = pct_decode(path, plen, &bad);
    if (!dec) return fail(p, "malformed percent-encoding in the path at character %zu", bad + 1);
    u->path = dec;
    for (const char *c = dec; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return fail(
                p, "the path contains an encoded control character (it would inject FTP commands)");
    /* %2F would be a '/' inside a segment, which FTP cannot name. */
    for (size_t i = 0; i + 2 < plen; i++)
        if (path[i] == '%' && path[i + 1] == '2' && (path[i + 2] == 'f' || path[i + 2] == 'F'))
            return fail(p, "an encoded '/' (%%2F) is not allowed in an FTP path");
    size_t dlen = strlen(dec);
    if (dlen != 0 || p->role == STORE_URI_OBJECT) {
        /* Same segment rules as object keys. */
        struct parse sub = *p;
        if (check_key(&sub, dec, dlen, 4095, "path") < 0) return -1;
    }
    return 0;
}

static int parse_http(struct parse *p, const char *rest, size_t len, struct store_uri *u)
{
    size_t alen;
    if (parse_authority(p, rest, len, &alen, u, false, false) < 0) return -1;
    const char *path = rest + alen;
    size_t plen = len - alen;
    if (plen && path[0] == '#') return fail(p, "fragments ('#...') are not allowed");
    if (check_url_path(p, path, plen, true) < 0) return -1;
    const char *q = memchr(path, '?', plen);
    size_t only_path = q ? (size_t)(q - path) : plen;
    if (p->role == STORE_URI_OBJECT && (only_path <= 1 || path[only_path - 1] == '/'))
        return fail(p, "the URI must name a file (the path is missing or ends with '/')");
    u->path = plen ? xstrndup(path, plen) : xstrdup("/");
    if (u->path[0] == '?') {
        char *fixed = xasprintf("/%s", u->path);
        free(u->path);
        u->path = fixed;
    }
    return 0;
}

static int parse_redis(struct parse *p, const char *rest, size_t len, struct store_uri *u)
{
    size_t alen;
    if (parse_authority(p, rest, len, &alen, u, true, true) < 0) return -1;
    if (alen != len)
        return fail(
            p, "nothing may follow host:port in a %s URI (no database number, path or options)",
            u->kind == STORE_REDISS ? "rediss://" : "redis://");
    return 0;
}

struct store_uri *store_uri_parse(const char *text, enum store_type type, enum store_uri_role role,
                                  const char **error_type, struct rk_err *err)
{
    struct parse p = {.text = text, .len = text ? strlen(text) : 0, .role = role, .err = err};
    struct uri_full *full = xcalloc(1, sizeof(*full));
    struct store_uri *u = &full->pub;
    int rc = -1;
    if (error_type) *error_type = NULL;
    if (!text || !*text) {
        fail(&p, "the %s is empty", type == STORE_TYPE_LOCAL ? "path" : "URI");
        goto done;
    }
    if (isspace((unsigned char)text[0]) || isspace((unsigned char)text[p.len - 1])) {
        fail(&p, "the URI has leading or trailing white space");
        goto done;
    }
    for (size_t i = 0; i < p.len; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
            fail(&p, "the URI contains a control character at position %zu", i + 1);
            goto done;
        }
    /* Until we know where credentials end, quote nothing. */
    p.safe_from = p.len;
    const char *sep = strstr(text, "://");
    size_t slen = sep ? (size_t)(sep - text) : 0;
    bool scheme_ok = sep && slen > 0 && slen <= 16 && isalpha((unsigned char)text[0]);
    for (size_t i = 0; scheme_ok && i < slen; i++)
        if (!(isalnum((unsigned char)text[i]) || text[i] == '+' || text[i] == '-' ||
              text[i] == '.'))
            scheme_ok = false;
    if (!scheme_ok || text[0] == '/') {
        if (type != STORE_TYPE_ANY && type != STORE_TYPE_LOCAL) {
            fail(&p, "expected %s", type_forms(type));
            goto done;
        }
        rc = parse_local(&p, text, p.len, false, type, u);
        goto done;
    }
    int kind = -1;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strlen(schemes[i].scheme) == slen && strncasecmp(text, schemes[i].scheme, slen) == 0)
            kind = (int)schemes[i].kind;
    if (kind < 0) {
        fail(&p, "unknown scheme '%.*s://' (expected %s)", (int)slen, text, type_forms(type));
        goto done;
    }
    u->kind = (enum store_kind)kind;
    if (!kind_fits_type(u->kind, type)) {
        fail(&p, "a %.*s:// URI is not a valid %s source: expected %s", (int)slen, text,
             store_type_name(type), type_forms(type));
        goto done;
    }
    const char *rest = sep + 3;
    size_t rlen = p.len - (size_t)(rest - text);
    /* Parts may be quoted once they are known not to hold credentials; each
     * parser narrows safe_from when it finds an '@'. */
    p.safe_from = memchr(rest, '@', rlen) ? p.len : 0;
    switch (u->kind) {
    case STORE_LOCAL:
        if (rlen == 0 || rest[0] != '/') {
            fail(&p, "a file URI must be file:///absolute/path (no host)");
            goto done;
        }
        rc = parse_local(&p, rest, rlen, true, type, u);
        break;
    case STORE_S3:
    case STORE_GCS: rc = parse_bucket_uri(&p, rest, rlen, u); break;
    case STORE_AZURE: rc = parse_azure(&p, rest, rlen, u); break;
    case STORE_FTP:
    case STORE_FTPS: rc = parse_ftp(&p, rest, rlen, u); break;
    case STORE_HTTP:
    case STORE_HTTPS: rc = parse_http(&p, rest, rlen, u); break;
    case STORE_REDIS:
    case STORE_REDISS: rc = parse_redis(&p, rest, rlen, u); break;
    }
    if (rc == 0 && u->kind != STORE_LOCAL) {
        /* The origin: scheme://authority as written (credentials included). */
        size_t olen = (size_t)(rest - text);
        if (u->kind == STORE_S3 || u->kind == STORE_GCS) {
            olen += strlen(u->bucket);
        } else {
            const char *end = rest;
            if (u->kind == STORE_AZURE) {
                const char *at = rest[0] == ':' ? strchr(rest, '@') : NULL;
                end = at ? at + 1 : rest;
                end += strlen(u->account);
            } else {
                while (*end && *end != '/' && *end != '?' && *end != '#') end++;
            }
            olen = (size_t)(end - text);
        }
        full->origin = xstrndup(text, olen);
    }
done:
    if (rc < 0) {
        if (error_type) *error_type = store_type_bad_uri_error(type);
        store_uri_free(u);
        return NULL;
    }
    return u;
}

/* ----------------------------------------------------- redaction, display -- */

/* Masks every query value: signed URLs carry their secret there. */
static void append_masked_query(struct rk_buf *b, const char *q)
{
    rk_buf_append_byte(b, '?');
    bool in_value = false;
    for (const char *c = q; *c; c++) {
        if (*c == '&') {
            in_value = false;
            rk_buf_append_byte(b, '&');
        } else if (*c == '=' && !in_value) {
            in_value = true;
            rk_buf_append(b, "=***", 4);
        } else if (!in_value) {
            rk_buf_append_byte(b, (unsigned char)*c);
        }
    }
}

char *store_uri_redact(const char *text)
{
    if (!text) return xstrdup("");
    struct rk_buf b = {0};
    const char *sep = strstr(text, "://");
    if (!sep || text[0] == '/') return xstrdup(text);
    const char *rest = sep + 3;
    size_t auth_end = strcspn(rest, "/?#");
    /* The credentials end at the last '@' of the authority, or, when a raw
     * '/' sits inside a password, at the last '@' anywhere: mask to there. */
    const char *at = NULL;
    for (size_t i = 0; i < auth_end; i++)
        if (rest[i] == '@') at = rest + i;
    if (!at && strchr(rest + auth_end, '@') && strncasecmp(text, "s3://", 5) &&
        strncasecmp(text, "gs://", 5))
        at = strrchr(rest, '@');
    rk_buf_append(&b, text, (size_t)(rest - text));
    const char *after = rest;
    if (at) {
        /* Keep the user name (before the first ':'): it is not a secret. */
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        const char *slash = memchr(rest, '/', (size_t)(at - rest));
        if (colon && (!slash || colon < slash)) rk_buf_append(&b, rest, (size_t)(colon - rest) + 1);
        rk_buf_append(&b, "***@", 4);
        after = at + 1;
    }
    const char *q = strchr(after, '?');
    if (q && (!strncasecmp(text, "http", 4))) {
        rk_buf_append(&b, after, (size_t)(q - after));
        const char *frag = strchr(q, '#');
        char *qs = xstrndup(q + 1, frag ? (size_t)(frag - q - 1) : strlen(q + 1));
        append_masked_query(&b, qs);
        free(qs);
    } else {
        rk_buf_append(&b, after, strlen(after));
    }
    rk_buf_append_byte(&b, '\0');
    return (char *)b.data;
}

char *store_uri_display(const struct store_uri *u)
{
    char *r = NULL;
    char port[16] = "";
    if (u->port) snprintf(port, sizeof(port), ":%u", u->port);
    bool v6 = u->host && strchr(u->host, ':');
    switch (u->kind) {
    case STORE_LOCAL: r = xstrdup(u->path); break;
    case STORE_S3: r = xasprintf("s3://%s/%s", u->bucket, u->path); break;
    case STORE_GCS: r = xasprintf("gs://%s/%s", u->bucket, u->path); break;
    case STORE_AZURE:
        r = xasprintf("abs://%s%s/%s/%s", u->password ? ":***@" : "", u->account, u->bucket,
                      u->path);
        break;
    case STORE_FTP:
    case STORE_FTPS: {
        char *enc = pct_encode_str(u->path, "/");
        r = xasprintf("%s://%s%s%s%s%s%s%s/%s", store_kind_name(u->kind), u->user ? u->user : "",
                      u->password ? ":***" : "", u->user || u->password ? "@" : "", v6 ? "[" : "",
                      u->host, v6 ? "]" : "", port, enc);
        free(enc);
        break;
    }
    case STORE_HTTP:
    case STORE_HTTPS: {
        char *head =
            xasprintf("%s://%s%s%s%s%s%s%s", store_kind_name(u->kind), u->user ? u->user : "",
                      u->password ? ":***" : "", u->user || u->password ? "@" : "", v6 ? "[" : "",
                      u->host, v6 ? "]" : "", port);
        char *full = xasprintf("%s%s", head, u->path);
        r = store_uri_redact(full);
        free(head);
        free(full);
        break;
    }
    case STORE_REDIS:
    case STORE_REDISS:
        r = xasprintf("%s://%s%s%s%s%s%s%s", store_kind_name(u->kind), u->user ? u->user : "",
                      u->password ? (u->user ? ":***" : "***") : "",
                      u->user || u->password ? "@" : "", v6 ? "[" : "", u->host, v6 ? "]" : "",
                      port);
        break;
    }
    return r;
}

/* ------------------------------------------------------------- siblings -- */

static char *with_path(const struct store_uri *u, const char *key)
{
    switch (u->kind) {
    case STORE_LOCAL: return xstrdup(key);
    case STORE_S3:
    case STORE_GCS: return xasprintf("%s/%s", store_uri_origin(u), key);
    case STORE_AZURE: return xasprintf("%s/%s/%s", store_uri_origin(u), u->bucket, key);
    case STORE_FTP:
    case STORE_FTPS:
    case STORE_HTTP:
    case STORE_HTTPS: {
        char *enc = pct_encode_str(key, "/");
        char *r = xasprintf("%s/%s", store_uri_origin(u), enc);
        free(enc);
        return r;
    }
    case STORE_REDIS:
    case STORE_REDISS: break;
    }
    return NULL;
}

char *store_uri_with_key(const char *uri, const char *key, struct rk_err *err)
{
    struct store_uri *u = store_uri_parse(uri, STORE_TYPE_ANY, STORE_URI_PREFIX, NULL, err);
    if (!u) return NULL;
    char *r = with_path(u, key);
    if (!r) rk_err_set(err, "%s URIs have no objects", store_kind_name(u->kind));
    store_uri_free(u);
    return r;
}

char *store_uri_join(const char *base, const char *name, struct rk_err *err)
{
    struct store_uri *u = store_uri_parse(base, STORE_TYPE_ANY, STORE_URI_PREFIX, NULL, err);
    if (!u) return NULL;
    char *r = NULL;
    if (u->kind == STORE_REDIS || u->kind == STORE_REDISS) {
        rk_err_set(err, "%s URIs have no objects", store_kind_name(u->kind));
    } else if (u->kind == STORE_HTTP || u->kind == STORE_HTTPS) {
        rk_err_set(err, "cannot name objects below an HTTP URI");
    } else {
        const char *path = u->path ? u->path : "";
        size_t plen = strlen(path);
        char *key = plen == 0               ? xstrdup(name)
                    : path[plen - 1] == '/' ? xasprintf("%s%s", path, name)
                                            : xasprintf("%s/%s", path, name);
        r = with_path(u, key);
        free(key);
    }
    store_uri_free(u);
    return r;
}
