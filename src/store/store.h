/* store: every place a backup can go or an import can come from, behind one
 * interface.
 *
 *   local path   /abs/path, file:///abs/path           read, write, list, delete
 *   S3           s3://bucket/key                        read, write, list, delete
 *   GCS          gs://bucket/key                        read, write, list, delete
 *   Azure Blob   abs://[:key@]account/[container/]blob  read, write, list, delete
 *   FTP, FTPS    ftp[s]://[user[:pass]@]host[:port]/path  read, write, list, delete
 *   HTTP(S)      http[s]://[user[:pass]@]host[:port]/path  read (and stat)
 *   Redis        redis[s]://[[user:]pass@]host:port     read, through a caller-supplied opener
 *
 * Objects are named by URI strings. A writer is an io sink: io_sink_close()
 * commits (the object appears under its name only then, complete), and
 * io_sink_abort() or io_sink_free() before close leaves nothing that looks
 * complete. A reader is an io source.
 *
 * Credentials come from a struct store_config (environment or the daemon's
 * config) and, for FTP, HTTP, Redis and Azure, from the URI. No secret ever
 * appears in an error message: render URIs for humans with store_uri_redact().
 *
 * Threads: every function may be called from any thread; calls on different
 * objects are independent. libcurl must be initialised once per process
 * before the first transfer (store_global_init(), called from main), as
 * curl_global_init() is not thread-safe. */
#ifndef RDBKEEP_STORE_H
#define RDBKEEP_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "io/io.h"

/* Results. Functions return STORE_OK (0) or one of the negative codes, with a
 * message in err. */
enum store_result {
    STORE_OK = 0,
    STORE_FAIL = -1,        /* anything else: I/O error, protocol error, ... */
    STORE_NOT_FOUND = -2,   /* no such object (or bucket, container, directory) */
    STORE_DENIED = -3,      /* the store refused our credentials or permissions */
    STORE_UNREACHABLE = -4, /* could not connect, resolve, or timed out */
    STORE_BAD_URI = -5,     /* the URI is malformed */
    STORE_UNSUPPORTED = -6, /* the store cannot do this (write to HTTP, list Redis) */
    STORE_CANCELLED = -7,   /* the caller's cancel hook said stop */
};

/* ------------------------------------------------------------------ URIs -- */

enum store_kind {
    STORE_LOCAL,
    STORE_S3,
    STORE_GCS,
    STORE_AZURE,
    STORE_FTP,
    STORE_FTPS,
    STORE_HTTP,
    STORE_HTTPS,
    STORE_REDIS,
    STORE_REDISS,
};

/* The API's sourceType / storageType values. STORE_TYPE_ANY takes the kind
 * from the URI's scheme (the command line). */
enum store_type {
    STORE_TYPE_ANY,
    STORE_TYPE_S3,    /* "aws-s3" */
    STORE_TYPE_GCS,   /* "google-blob-storage" */
    STORE_TYPE_AZURE, /* "azure-blob-storage" */
    STORE_TYPE_FTP,   /* "ftp" (ftp:// and ftps://) */
    STORE_TYPE_HTTP,  /* "http" (http:// and https://) */
    STORE_TYPE_REDIS, /* "redis" (redis:// and rediss://) */
    STORE_TYPE_LOCAL, /* "local" (ours): an absolute path */
};

/* What the URI must name. */
enum store_uri_role {
    STORE_URI_OBJECT, /* one object: an import source, a cp endpoint */
    STORE_URI_PREFIX, /* a place: a backup path, an ls argument (may be a bucket root) */
};

struct store_uri {
    enum store_kind kind;
    char *user;     /* decoded; NULL when absent */
    char *password; /* decoded; NULL when absent (Azure: the account key) */
    char *host;     /* FTP, HTTP, Redis: as written (IPv6 without brackets) */
    unsigned port;  /* 0: the scheme's default */
    char *bucket;   /* S3, GCS bucket; Azure container ("$root" when omitted) */
    char *account;  /* Azure account name */
    char *path;     /* S3/GCS/Azure: the key, literal. FTP: decoded path below
                     * the login directory. HTTP: the path and query, encoded as
                     * given. Local: the file system path. Redis: NULL. */
};

/* Parses and validates text as a URI for the given type and role. On error
 * returns NULL, fills err with what is wrong and where (never a password or
 * key), and, when error_type is not NULL, sets it to the API error type name:
 * DATABASE_IMPORT_S3_BAD_URI, ..._GCS_, _AZURE_, _FTP_, _HTTP_, _REDIS_ (also
 * when the scheme belongs to another type: "gs://..." given as aws-s3), or
 * DATABASE_INVALID_BACKUP_PATH for STORE_TYPE_LOCAL and STORE_TYPE_ANY. An
 * unknown sourceType name is the caller's DATABASE_INVALID_IMPORT_SOURCE_TYPE
 * (store_type_from_name() fails). */
struct store_uri *store_uri_parse(const char *text, enum store_type type, enum store_uri_role role,
                                  const char **error_type, struct rk_err *err);
void store_uri_free(struct store_uri *uri);

/* "aws-s3" -> STORE_TYPE_S3 ...; returns -1 for an unknown name. */
int store_type_from_name(const char *name, enum store_type *out);
const char *store_type_name(enum store_type type);
/* The API error type for a malformed URI of this type. */
const char *store_type_bad_uri_error(enum store_type type);
const char *store_kind_name(enum store_kind kind); /* "s3", "azure", ... */
/* Whether an object of this kind can be written (backups). */
bool store_kind_writable(enum store_kind kind);

/* Renders a URI with every secret masked ("ftp://user:***@host/x",
 * "abs://:***@acct/c/x", query values of HTTP URIs masked). Works on any
 * text, parsed or not, erring on the side of masking. Returns a new string. */
char *store_uri_redact(const char *text);

/* The URI of `name` inside the place `base` names, with base's credentials:
 * "s3://b/backups" + "db-1.rdb.gz" -> "s3://b/backups/db-1.rdb.gz". name is
 * literal (it is encoded as the scheme needs). Returns NULL if base does not
 * parse. */
char *store_uri_join(const char *base, const char *name, struct rk_err *err);

/* ---------------------------------------------------------------- config -- */

struct store_config;

/* The plug-in point for redis:// sources: the live-data-path module supplies a
 * function that opens a snapshot stream (an RDB byte stream) for the URI. */
typedef struct io_source *(*store_redis_open_fn)(void *arg, const struct store_uri *uri,
                                                 struct rk_err *err);

struct store_config {
    struct {
        char *access_key_id;     /* AWS_ACCESS_KEY_ID */
        char *secret_access_key; /* AWS_SECRET_ACCESS_KEY */
        char *session_token;     /* AWS_SESSION_TOKEN (optional) */
        char *region;            /* AWS_REGION (AWS_DEFAULT_REGION); default us-east-1 */
        char *endpoint;          /* AWS_ENDPOINT_URL: S3-compatible store; implies path style */
        bool path_style;         /* force path-style addressing */
    } s3;
    struct {
        char *credentials_file; /* GOOGLE_APPLICATION_CREDENTIALS: service-account JSON key */
        char *hmac_access_id;   /* GCS_HMAC_ACCESS_ID */
        char *hmac_secret;      /* GCS_HMAC_SECRET */
        char *endpoint;         /* GCS_ENDPOINT_URL; default https://storage.googleapis.com */
    } gcs;
    struct {
        char *key;       /* AZURE_STORAGE_KEY (base64); the key in the URI wins */
        char *sas_token; /* AZURE_STORAGE_SAS_TOKEN */
        char *endpoint;  /* AZURE_STORAGE_ENDPOINT: emulator base URL, account in the path */
    } azure;
    char *ca_file; /* RDBKEEP_CA_FILE: extra trust anchors for HTTPS/FTPS (self-signed servers) */

    long connect_timeout_ms;   /* default 10 s */
    long low_speed_time_s;     /* fail when slower than low_speed_limit for this long; default 60 */
    long low_speed_limit;      /* bytes per second; default 1 */
    uint64_t part_size;        /* S3/GCS part, Azure block; default 16 MiB, at least 5 MiB */
    uint64_t single_put_limit; /* larger objects go multipart; default 5 GiB (S3's limit) */
    int max_retries;           /* per request, on 5xx and timeouts; default 4 */
    long retry_base_ms;        /* first backoff; doubles each time; default 500 */

    /* Cancellation: polled during transfers; returning true stops them with
     * STORE_CANCELLED (a writer then aborts). */
    bool (*cancelled)(void *arg);
    void *cancel_arg;

    store_redis_open_fn redis_open;
    void *redis_open_arg;

    struct store_cache *cache; /* private: OAuth token cache, created by init */
};

/* Defaults, no credentials. Pair with store_config_free(). */
void store_config_init(struct store_config *cfg);
/* store_config_init() plus the environment variables named above; also
 * RDBKEEP_STORE_PART_SIZE, RDBKEEP_STORE_SINGLE_PUT_LIMIT,
 * RDBKEEP_STORE_CONNECT_TIMEOUT_MS, RDBKEEP_STORE_LOW_SPEED_TIME. Fails on a
 * malformed value. */
int store_config_from_env(struct store_config *cfg, struct rk_err *err);
void store_config_free(struct store_config *cfg);

/* "16M", "5MiB", "1G", "1048576" -> bytes. */
int store_parse_size(const char *s, uint64_t *out);

/* Once per process, before threads start (wraps curl_global_init). */
int store_global_init(struct rk_err *err);
void store_global_cleanup(void);

/* ------------------------------------------------------------ operations -- */

struct store_stat {
    uint64_t size;
    bool size_known;
    int64_t mtime_ms; /* -1: unknown */
    char etag[128];   /* may be empty */
};

struct store_entry {
    const char *key; /* the object's full key (S3/GCS/Azure), path (local,
                      * FTP): join with store_uri_with_key() to open it */
    uint64_t size;
    int64_t mtime_ms; /* -1: unknown */
};

/* Returns 0 to continue, non-zero to stop listing (store_list returns it). */
typedef int (*store_list_fn)(void *arg, const struct store_entry *entry);

/* Every function takes the URI as text and parses it with STORE_TYPE_ANY. */
int store_stat(const struct store_config *cfg, const char *uri, struct store_stat *st,
               struct rk_err *err);
/* Every object whose key starts with the URI's key, in the store's order
 * (sorted for S3/GCS/Azure and local), recursing into directories. */
int store_list(const struct store_config *cfg, const char *uri, store_list_fn fn, void *arg,
               struct rk_err *err);
int store_delete(const struct store_config *cfg, const char *uri, struct rk_err *err);

/* The URI of another object of the same store (same credentials). */
char *store_uri_with_key(const char *uri, const char *key, struct rk_err *err);

/* Opens an object for reading from byte offset. st (may be NULL) receives what
 * the store said about the object (size is the whole object's). Dropped
 * connections are resumed where they stopped (Range, REST) a few times.
 * *result (may be NULL) gets the store_result of a failure. */
struct io_source *store_open_read(const struct store_config *cfg, const char *uri, uint64_t offset,
                                  struct store_stat *st, int *result, struct rk_err *err);

/* Opens an object for writing. size_hint: the exact size if known, else -1
 * (a stream: S3/GCS go multipart, Azure goes block by block). The object
 * appears only at io_sink_close(). Parent directories (local, FTP) are
 * created. */
struct io_sink *store_open_write(const struct store_config *cfg, const char *uri, int64_t size_hint,
                                 int *result, struct rk_err *err);

/* The result code of the last failure of a sink returned by store_open_write
 * (STORE_OK when it has not failed). */
int store_sink_result(struct io_sink *sink);

/* Removes what a writer of uri that never reached close or abort (its
 * process was killed) left beside it: the temporary files of a local write.
 * Other stores: STORE_UNSUPPORTED (an S3/GCS multipart upload cannot be found
 * from here: a bucket lifecycle rule aborts those; Azure's uncommitted blocks
 * expire by themselves; an FTP write leaves a hidden temporary name). Only
 * for a writer known to be dead: a live one's file would go. */
int store_remove_partial(const struct store_config *cfg, const char *uri, struct rk_err *err);

/* Validates a backup destination: writes a small object under it and deletes
 * it again. */
int store_probe_write(const struct store_config *cfg, const char *uri, struct rk_err *err);

#endif
