/* Private to the store module: the driver interface and shared helpers. */
#ifndef RDBKEEP_STORE_INT_H
#define RDBKEEP_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* What each kind of store implements. uri is parsed; cfg is the caller's. A
 * NULL entry means "not supported" (store.c reports it). */
struct store_driver {
    const char *name;
    int (*stat)(const struct store_config *cfg, const struct store_uri *uri, struct store_stat *st,
                struct rk_err *err);
    int (*list)(const struct store_config *cfg, const struct store_uri *uri, store_list_fn fn,
                void *arg, struct rk_err *err);
    int (*remove)(const struct store_config *cfg, const struct store_uri *uri, struct rk_err *err);
    struct io_source *(*open_read)(const struct store_config *cfg, const struct store_uri *uri,
                                   uint64_t offset, struct store_stat *st, int *result,
                                   struct rk_err *err);
    struct io_sink *(*open_write)(const struct store_config *cfg, const struct store_uri *uri,
                                  int64_t size_hint, int *result, struct rk_err *err);
};

extern const struct store_driver store_local_driver;
/* The temporary files of interrupted writes of u (store_remove_partial). */
int store_local_remove_partial(const struct store_uri *u, struct rk_err *err);
extern const struct store_driver store_s3_driver; /* S3 and GCS */
extern const struct store_driver store_azure_driver;
extern const struct store_driver store_ftp_driver;
extern const struct store_driver store_http_driver;

/* Writers embed this so store_sink_result() can report their last failure. */
struct store_sink {
    struct io_sink base;
    int result;
};
void store_sink_init(struct store_sink *s, const struct io_sink_ops *ops);

/* ---- URI internals (uri.c) */

/* scheme://authority as written, credentials included: for building sibling
 * URIs only, never for messages. Kept beside the public struct. */
const char *store_uri_origin(const struct store_uri *uri);
/* A deep copy. */
struct store_uri *store_uri_dup(const struct store_uri *u);
/* The display form of uri's location (no secrets), e.g. "s3://bucket/key". */
char *store_uri_display(const struct store_uri *uri);

/* ---- percent-encoding (pct.c) */

/* Appends s, percent-encoding every byte except A-Z a-z 0-9 - _ . ~ and the
 * bytes in keep (e.g. "/"). Upper-case hex, as SigV4 requires. */
void pct_encode(struct rk_buf *out, const char *s, size_t len, const char *keep);
char *pct_encode_str(const char *s, const char *keep);
/* Decodes %XX sequences; returns NULL (and sets *bad_at) on a malformed one. */
char *pct_decode(const char *s, size_t len, size_t *bad_at);
int base64_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen);
char *base64_encode(const unsigned char *in, size_t len);
char *base64url_encode(const unsigned char *in, size_t len);

/* ---- S3 (s3.c) */

/* The canonical query string SigV4 wants from name/value pairs (a NULL-
 * terminated array: name, value, name, value, ...): each name and value
 * RFC 3986-encoded, every pair with '=', sorted by name then value. libcurl
 * 7.88 signs the query exactly as sent, so we send it in this form. */
char *s3_canonical_query(const char *const *pairs);

/* ---- small XML scanner (xml.c) for S3 and Azure answers */

/* Finds the next <tag>...</tag> at or after *pos in doc, decodes entities of
 * its text into a new string and advances *pos past it. Returns NULL when
 * there is none. Only for the flat, attribute-free elements these APIs use. */
char *xml_next(const char *doc, size_t len, size_t *pos, const char *tag);
/* Like xml_next but returns the raw inner span (no decoding): for nested
 * elements such as <Contents>...</Contents>. */
int xml_span(const char *doc, size_t len, size_t *pos, const char *tag, size_t *start, size_t *end);
/* The text of the first <tag> in doc[0..len), or NULL. */
char *xml_first(const char *doc, size_t len, const char *tag);

/* ---- FTP listings (ftp.c) */
struct mlsd_entry {
    char *name;
    bool dir;
    uint64_t size;
    int64_t mtime_ms;
};
/* Parses one MLSD line "fact=value;fact=value; name". Returns 0 for a file or
 * directory entry (name allocated), -1 for anything else (cdir, pdir,
 * malformed). */
int ftp_parse_mlsd_line(const char *line, size_t len, struct mlsd_entry *e);

/* ---- the per-config cache (gcs_auth.c) */
struct store_cache *store_cache_new(void);
void store_cache_free(struct store_cache *c);

/* ---- time */

/* Parses RFC 1123 ("Tue, 25 Nov 2026 13:07:39 GMT") and ISO 8601
 * ("2026-11-25T13:07:39.826Z") dates; returns ms since the epoch or -1. */
int64_t store_parse_date(const char *s);

/* ---- Azure SharedKey (azure_sign.c) */

struct azure_request {
    const char *method;
    const char *account;
    const char *path;  /* URL path as sent, percent-encoded, starting with '/' */
    const char *query; /* as sent, without '?' (may be NULL) */
    uint64_t content_length;
    const char *content_type; /* NULL: none */
    const char *range;        /* NULL: none */
    const char *const *x_ms;  /* "x-ms-name:value" strings, NULL-terminated */
};
/* The SharedKey string-to-sign (exposed for the known-answer tests). */
char *azure_string_to_sign(const struct azure_request *r);
/* "SharedKey account:signature" into a new string; NULL if the key is not base64. */
char *azure_authorization(const struct azure_request *r, const char *key_base64);

/* ---- GCS service accounts (gcs_auth.c) */

struct gcs_service_account {
    char *client_email;
    char *private_key_pem;
    char *token_uri;
};
int gcs_service_account_load(const char *path, struct gcs_service_account *sa, struct rk_err *err);
void gcs_service_account_free(struct gcs_service_account *sa);
/* The signed RS256 JWT assertion for the OAuth2 JWT-bearer flow. */
char *gcs_jwt_assertion(const struct gcs_service_account *sa, const char *scope, int64_t now_s,
                        struct rk_err *err);
/* A bearer token for cfg's service account, from the cache or the token
 * endpoint. Returns a new string or NULL. */
char *gcs_access_token(const struct store_config *cfg, int *result, struct rk_err *err);

#endif
