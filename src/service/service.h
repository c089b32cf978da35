/* service: the daemon's state and its work. It owns the configuration, the
 * catalog (SQLite in WAL mode), the tasks and their workers, and the
 * supervisor of redis-server processes. It knows nothing of HTTP: the api
 * module validates requests, turns them into these calls and renders what
 * they return.
 *
 * Threads: the api calls rk_service_* from libmicrohttpd's thread pool; those
 * calls only read or write the catalog and enqueue work, they never wait for
 * Redis or storage. Task workers (a fixed pool) run the tasks; one
 * supervisor thread keeps the redis-servers running. Everything they share
 * lives in struct rk_service. */
#ifndef RDBKEEP_SERVICE_H
#define RDBKEEP_SERVICE_H

#include "base/base.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

/* Every key of the daemon's config file: X(type, field, "key", "default", "what"),
 * the default written as in the file ("\"\"" is the empty string).
 * This one list drives the parser, the defaults, `rdbkeep help serve` and the
 * tests that keep docs/daemon.md complete. Each key can also be set in the
 * environment as RDBKEEP_<KEY IN UPPER SNAKE CASE> (maxConcurrentBackups:
 * RDBKEEP_MAX_CONCURRENT_BACKUPS); the environment wins over the file. */
#define RK_CONFIG_KEYS(X)                                                                          \
    X(STR, listen, "listen", "127.0.0.1:8080", "HOST:PORT the REST API listens on")               \
    X(STR, data_dir, "dataDir", "./var",                                                          \
      "the daemon's state: catalog.db, databases/<id>/ (one directory per database)")             \
    X(STR, backup_dir, "backupDir", "\"\"",                                                           \
      "where local backups go by default (empty: <dataDir>/backups)")                            \
    X(STR, redis_server, "redisServer", "/usr/bin/redis-server",                                  \
      "the redis-server binary that runs the databases")                                          \
    X(STR, db_host, "databaseBind", "127.0.0.1", "address the redis-servers listen on")           \
    X(STR, public_host, "publicHost", "\"\"",                                                         \
      "host shown in publicEndpoint (empty: the databaseBind address)")                           \
    X(PORTS, ports, "databasePorts", "12000-12999",                                               \
      "FIRST-LAST: ports given to databases that do not ask for one")                             \
    X(UINT, task_workers, "taskWorkers", "8", "threads that run tasks (1-64)")                    \
    X(UINT, max_concurrent_backups, "maxConcurrentBackups", "4",                                  \
      "backups running at once across the deployment; the rest wait as received, in order")      \
    X(UINT, http_threads, "httpThreads", "2", "threads serving the REST API (1-64)")              \
    X(SIZE, max_body_bytes, "maxBodyBytes", "1048576", "largest request body accepted (bytes)")   \
    X(UINT, max_json_depth, "maxJsonDepth", "32", "deepest nesting of arrays/objects accepted")  \
    X(UINT, max_connections, "maxConnections", "512", "HTTP connections served at once")          \
    X(BOOL, metrics_auth, "metricsAuth", "false", "require the API keys on GET /metrics too")     \
    X(UINT, task_retention_days, "taskRetentionDays", "10",                                       \
      "finished tasks older than this are removed")                                               \
    X(STR, api_key, "apiKey", "\"\"",                                                                 \
      "the account key (x-api-key); RDBKEEP_API_KEY wins; empty: generated on first start")      \
    X(SECRET, api_secret_key, "apiSecretKey", "\"\"",                                                    \
      "the secret (x-api-secret-key); RDBKEEP_API_SECRET_KEY wins; empty: generated, stored "     \
      "hashed, shown once")                                                                       \
    X(DOUBLE, default_memory_gb, "defaultMemoryLimitInGb", "1",                                   \
      "maxmemory of a database created without memoryLimitInGb or datasetSizeInGb")              \
    X(UINT, redis_start_timeout_sec, "redisStartTimeoutSec", "30",                                \
      "how long a redis-server may take to answer PING after it starts")                          \
    X(UINT, restart_backoff_max_sec, "restartBackoffMaxSec", "30",                                \
      "longest wait between restarts of a redis-server that keeps dying")                         \
    X(UINT, shutdown_timeout_sec, "shutdownTimeoutSec", "20",                                     \
      "on SIGTERM, how long running tasks get to stop before the daemon exits")                   \
    X(BOOL, stop_databases_on_exit, "stopDatabasesOnExit", "false",                               \
      "stop the redis-servers when the daemon exits (default: they keep serving and are "         \
      "adopted on the next start)")                                                               \
    X(LOGLEVEL, log_level, "logLevel", "info", "debug, info, warn or error")                      \
    X(STR, s3_access_key_id, "s3AccessKeyId", "\"\"", "S3 access key (AWS_ACCESS_KEY_ID wins)")       \
    X(SECRET, s3_secret_access_key, "s3SecretAccessKey", "\"\"",                                      \
      "S3 secret key (AWS_SECRET_ACCESS_KEY wins)")                                               \
    X(STR, s3_region, "s3Region", "\"\"", "S3 region (AWS_REGION wins)")                              \
    X(STR, s3_endpoint_url, "s3EndpointUrl", "\"\"",                                                  \
      "S3-compatible endpoint URL (AWS_ENDPOINT_URL wins)")                                       \
    X(BOOL, s3_path_style, "s3PathStyle", "false", "address buckets by path, not by host name")   \
    X(STR, gcs_service_account_file, "gcsServiceAccountFile", "\"\"",                                 \
      "Google Cloud Storage service-account JSON key file")                                       \
    X(STR, gcs_hmac_access_id, "gcsHmacAccessId", "\"\"", "GCS HMAC access id (XML API)")             \
    X(SECRET, gcs_hmac_secret, "gcsHmacSecret", "\"\"", "GCS HMAC secret")                            \
    X(STR, gcs_endpoint_url, "gcsEndpointUrl", "\"\"", "GCS endpoint URL (emulators)")                \
    X(STR, azure_account_name, "azureAccountName", "\"\"", "Azure storage account for config keys")  \
    X(SECRET, azure_account_key, "azureAccountKey", "\"\"",                                           \
      "Azure account key (else the key in the URI)")                                              \
    X(SECRET, azure_sas_token, "azureSasToken", "\"\"", "Azure SAS token")                            \
    X(STR, azure_endpoint_url, "azureEndpointUrl", "\"\"", "Azure Blob endpoint URL (Azurite)")

/* The same list as text, for `rdbkeep help serve`. */
#define RK_CONFIG_HELP_LINE_(type, field, key, def, doc) "  " key " = " def "\n      " doc "\n"
#define RK_CONFIG_HELP RK_CONFIG_KEYS(RK_CONFIG_HELP_LINE_)

struct rk_port_range {
    unsigned first, last;
};

#define RK_CONFIG_CTYPE_STR      char *
#define RK_CONFIG_CTYPE_SECRET   char *
#define RK_CONFIG_CTYPE_UINT     unsigned
#define RK_CONFIG_CTYPE_SIZE     uint64_t
#define RK_CONFIG_CTYPE_BOOL     bool
#define RK_CONFIG_CTYPE_DOUBLE   double
#define RK_CONFIG_CTYPE_PORTS    struct rk_port_range
#define RK_CONFIG_CTYPE_LOGLEVEL enum rk_log_level
#define RK_CONFIG_FIELD_(type, field, key, def, doc) RK_CONFIG_CTYPE_##type field;

struct rk_config {
    RK_CONFIG_KEYS(RK_CONFIG_FIELD_)
};

/* Fills cfg with the embedded defaults. Strings are owned by cfg. */
void rk_config_init(struct rk_config *cfg);
/* Applies a config file: "key = value" lines, '#' starts a comment, values
 * may be double-quoted. Unknown keys and bad values are errors naming the
 * file, line and key. */
int rk_config_load_file(struct rk_config *cfg, const char *path, struct rk_err *err);
/* The same from a buffer (name is used in messages); the fuzzer's entry. */
int rk_config_load_text(struct rk_config *cfg, const char *text, size_t len, const char *name,
                        struct rk_err *err);
/* Applies RDBKEEP_<KEY> variables and the documented AWS_* ones. */
int rk_config_load_env(struct rk_config *cfg, struct rk_err *err);
/* Sets one key from its text form (command-line flags use this). */
int rk_config_set(struct rk_config *cfg, const char *key, const char *value, struct rk_err *err);
/* Cross-key checks (port range, workers...) once everything is applied. */
int rk_config_check(const struct rk_config *cfg, struct rk_err *err);
/* The effective configuration in the file's format; secrets show as "(set)". */
void rk_config_dump(const struct rk_config *cfg, struct rk_buf *out);
void rk_config_free(struct rk_config *cfg);

/* ------------------------------------------------------------------------ */
/* Errors the API answers at once, and errors tasks end with                */
/* ------------------------------------------------------------------------ */

/* A failure with its HTTP status and Cloud error type, e.g. 404
 * "DATABASE_NOT_FOUND". The description never holds a secret. */
struct rk_fail {
    int http;
    char type[64];
    char description[RK_ERR_MAX];
};

/* Fills f and returns -1. */
int rk_fail_set(struct rk_fail *f, int http, const char *type, const char *fmt, ...)
    RK_PRINTF(4, 5);
/* "404 NOT_FOUND": the status string of Cloud's error bodies. out needs 48 bytes. */
void rk_http_status_text(int http, char *out, size_t outlen);

/* ------------------------------------------------------------------------ */
/* Resources                                                                */
/* ------------------------------------------------------------------------ */

struct rk_subscription {
    int64_t id;
    char *name;
    char status[24];
    uint64_t created_ms;
    int64_t database_count;
};
void rk_subscription_clear(struct rk_subscription *s);

/* A database as the catalog holds it. */
struct rk_db {
    int64_t id;
    int64_t subscription_id;
    char *name;
    char status[32]; /* pending, active, active-change-pending, deleting, error */
    char protocol[16];
    unsigned port;
    unsigned replica_port; /* 0: no replica */
    char *password;
    double memory_limit_gb;  /* what maxmemory is derived from */
    double dataset_size_gb;  /* 0 unless the client sized it by dataset */
    char data_persistence[32];
    char eviction_policy[32];
    bool replication;
    int shards;
    char *periodic_backup_path; /* NULL: none; holds credentials: mask before showing */
    char *remote_backup;        /* JSON object text or NULL */
    char redis_version[32];
    char *status_reason; /* why status is error, or NULL */
    uint64_t created_ms, updated_ms;
};
void rk_db_clear(struct rk_db *db);

/* The fields of a create or update request. has_* says a field was given;
 * update changes exactly the given ones. Strings are owned (xstrdup). */
struct rk_db_spec {
    bool has_name, has_protocol, has_port, has_password, has_memory_limit_gb,
        has_dataset_size_gb, has_data_persistence, has_eviction_policy, has_replication,
        has_shards, has_periodic_backup_path, has_remote_backup, has_redis_version;
    char *name;
    char *protocol;
    int64_t port;
    char *password;
    double memory_limit_gb;
    double dataset_size_gb;
    char *data_persistence;
    char *eviction_policy;
    bool replication;
    int64_t shards;
    char *periodic_backup_path;
    char *remote_backup; /* the remoteBackup object re-serialised compactly */
    bool remote_backup_active;
    char *redis_version;
};
void rk_db_spec_clear(struct rk_db_spec *spec);

/* Checks values (not JSON types: the api did that) and returns -1 with a 400
 * in f when one is wrong. create: name is required. */
int rk_db_spec_check(const struct rk_db_spec *spec, bool create, struct rk_fail *f);

/* The body of POST .../import, shape-checked by the api. */
struct rk_import_spec {
    char *source_type;
    char **uris;
    size_t nuris;
};
void rk_import_spec_clear(struct rk_import_spec *spec);
/* Source type, URI count, duplicates, and each URI's syntax for its source
 * type (store_uri_parse, whose error type the 400 carries). */
int rk_import_spec_check(const struct rk_import_spec *spec, struct rk_fail *f);

/* One backup in the catalog's backups table (written by the backup job). */
struct rk_backup {
    int64_t id;
    int64_t database_id;
    char task_id[40];
    char status[24]; /* in-progress, succeeded, failed */
    char *destination; /* masked when read through rk_service_backup_list */
    uint64_t started_ms, finished_ms;
    uint64_t size_bytes, keys;
    int rdb_version;
    char *redis_version;
    char *sha256;
    char *files;    /* JSON array text */
    char *manifest; /* location of the manifest */
    char *error;
};
void rk_backup_clear(struct rk_backup *b);

/* Task states, as Cloud names them. */
#define RK_TASK_RECEIVED  "received"
#define RK_TASK_RUNNING   "processing-in-progress"
#define RK_TASK_COMPLETED "processing-completed"
#define RK_TASK_ERROR     "processing-error"

#define RK_TASK_ID_LEN 36 /* a UUID */

struct rk_task {
    char id[RK_TASK_ID_LEN + 1];
    char command_type[48];
    char status[32];
    char *description;
    int64_t subscription_id;
    int64_t database_id;
    int64_t resource_id; /* 0: none yet */
    char *resource;      /* JSON text of response.resource, or NULL */
    char *error_type;    /* NULL unless the task failed */
    char *error_status;
    char *error_description;
    uint64_t bytes, total_bytes, keys;
    uint64_t created_ms, updated_ms;
};
void rk_task_clear(struct rk_task *t);

/* ------------------------------------------------------------------------ */
/* The daemon                                                               */
/* ------------------------------------------------------------------------ */

struct rk_service;

/* Opens the data directory (creating it), locks it against a second daemon,
 * opens and recovers the catalog (tasks that were running when the daemon
 * died end processing-error), settles the API keys, and finds the
 * redis-server version. Takes ownership of cfg's contents (cfg is zeroed).
 * No thread runs yet. */
struct rk_service *rk_service_open(struct rk_config *cfg, struct rk_err *err);
/* Starts the supervisor (adopting or restarting the databases' redis-servers)
 * and the task workers. */
int rk_service_start(struct rk_service *svc, struct rk_err *err);
/* Asks running tasks to stop, waits up to shutdownTimeoutSec, ends what is
 * still running as processing-error, stops the threads (and the databases if
 * stopDatabasesOnExit). Safe to call twice. */
void rk_service_stop(struct rk_service *svc);
void rk_service_close(struct rk_service *svc);

const struct rk_config *rk_service_config(const struct rk_service *svc);
/* The version of the configured redis-server ("7.0.15"). */
const char *rk_service_redis_version(const struct rk_service *svc);
/* The host shown in a database's publicEndpoint. */
const char *rk_service_public_host(const struct rk_service *svc);

/* API keys. When the daemon generated them on this start, *generated_secret
 * is the secret in clear (shown once, never stored); else NULL. */
const char *rk_service_api_key(const struct rk_service *svc);
const char *rk_service_generated_secret(const struct rk_service *svc);
/* Constant-time check of a request's keys. */
bool rk_service_auth(const struct rk_service *svc, const char *key, const char *secret);
/* Replaces the stored secret with a new random one and returns it (caller frees). */
char *rk_service_reset_secret(struct rk_service *svc, struct rk_err *err);

/* Requests. Each asynchronous one returns the new task in *task (read back
 * from the catalog, so it is visible to GET /v1/tasks/{id} before this
 * returns); on failure it returns -1 and fills f. */
int rk_service_subscription_create(struct rk_service *svc, const char *name, struct rk_task *task,
                                   struct rk_fail *f);
int rk_service_subscription_get(struct rk_service *svc, int64_t id, struct rk_subscription *out,
                                struct rk_fail *f);
/* *out is an array of *n, free each with rk_subscription_clear and then free(). */
int rk_service_subscription_list(struct rk_service *svc, struct rk_subscription **out, size_t *n,
                                 struct rk_fail *f);
int rk_service_subscription_delete(struct rk_service *svc, int64_t id, struct rk_task *task,
                                   struct rk_fail *f);

int rk_service_db_create(struct rk_service *svc, int64_t sub_id, const struct rk_db_spec *spec,
                         struct rk_task *task, struct rk_fail *f);
int rk_service_db_get(struct rk_service *svc, int64_t sub_id, int64_t db_id, struct rk_db *out,
                      struct rk_fail *f);
/* A page of the subscription's databases, by id; *total counts them all. */
int rk_service_db_list(struct rk_service *svc, int64_t sub_id, int64_t offset, int64_t limit,
                       struct rk_db **out, size_t *n, int64_t *total, struct rk_fail *f);
int rk_service_db_update(struct rk_service *svc, int64_t sub_id, int64_t db_id,
                         const struct rk_db_spec *spec, struct rk_task *task, struct rk_fail *f);
/* Cancels the database's queued tasks and asks its running one to stop. */
int rk_service_db_delete(struct rk_service *svc, int64_t sub_id, int64_t db_id,
                         struct rk_task *task, struct rk_fail *f);

/* The last backup of a database (status idle when there is none). */
int rk_service_backup_latest(struct rk_service *svc, int64_t db_id, struct rk_backup *out,
                             bool *found, struct rk_fail *f);
int rk_service_backup_list(struct rk_service *svc, int64_t sub_id, int64_t db_id,
                           struct rk_backup **out, size_t *n, struct rk_fail *f);
/* Ours: when the database's next periodic backup is due (ms since the epoch;
 * at or before now while it is due), 0 when it has no schedule. */
uint64_t rk_service_backup_next(struct rk_service *svc, const struct rk_db *db);
/* The adhocBackupPath of POST .../backup, checked at once: a 400
 * DATABASE_INVALID_BACKUP_PATH naming what is wrong (never a secret). */
int rk_service_backup_path_check(const char *path, struct rk_fail *f);

int rk_service_task_get(struct rk_service *svc, const char *id, struct rk_task *out,
                        struct rk_fail *f);
/* Newest first; *total counts every task kept. */
int rk_service_task_list(struct rk_service *svc, int64_t offset, int64_t limit,
                         struct rk_task **out, size_t *n, int64_t *total, struct rk_fail *f);

/* What /metrics shows. */
struct rk_metrics {
    int64_t tasks_received, tasks_running, tasks_completed, tasks_error;
    int64_t backups_running;
    uint64_t bytes_moved;
    int64_t databases;
    int64_t databases_active;
    int64_t databases_error;
    uint64_t redis_restarts;
    int64_t subscriptions;
};
int rk_service_metrics(struct rk_service *svc, struct rk_metrics *m, struct rk_fail *f);

/* ------------------------------------------------------------------------ */
/* Tasks: how a job plugs in                                                */
/* ------------------------------------------------------------------------ */

/* A running task as its job sees it. */
struct rk_task_run;

enum rk_task_flags {
    /* One at a time per database: create, update, delete, backup, import. */
    RK_TASK_PER_DATABASE = 1 << 0,
    /* Takes one of maxConcurrentBackups while it runs. */
    RK_TASK_BACKUP_SLOT = 1 << 1,
};

/* A kind of task. The job returns 0 when done (the task completes with
 * response.resourceId = the database, or what rk_task_set_resource set) or
 * -1 after rk_task_fail. */
struct rk_task_kind {
    const char *command_type; /* "databaseBackupRequest" */
    unsigned flags;
    int (*run)(struct rk_task_run *run);
};

/* Enqueues a task of a registered kind for a database (db_id may be 0 for
 * subscription-level work). params is JSON text the job reads back (may be
 * NULL). The task is committed before this returns. */
int rk_service_submit(struct rk_service *svc, const char *command_type, int64_t sub_id,
                      int64_t db_id, const char *params, struct rk_task *task, struct rk_fail *f);

struct rk_service *rk_task_service(struct rk_task_run *run);
const char *rk_task_id(const struct rk_task_run *run);
int64_t rk_task_subscription_id(const struct rk_task_run *run);
int64_t rk_task_database_id(const struct rk_task_run *run);
const char *rk_task_params(const struct rk_task_run *run); /* NULL if none */
/* Progress for GET /v1/tasks/{id}: written to the catalog at most twice a
 * second (and always at the end); bytes also feed the bytes-moved metric. */
void rk_task_progress(struct rk_task_run *run, uint64_t bytes, uint64_t total_bytes,
                      uint64_t keys);
/* True once the task must stop: its database is being deleted or the daemon
 * is shutting down. A job checks it between steps and then fails. */
bool rk_task_cancelled(const struct rk_task_run *run);
/* Why, for a job that acts differently: a step about to finish may finish at
 * a shutdown, but never for a database being deleted. */
enum rk_task_cancel { RK_CANCEL_NONE, RK_CANCEL_DATABASE_DELETED, RK_CANCEL_SHUTDOWN };
enum rk_task_cancel rk_task_cancelled_why(const struct rk_task_run *run);
void rk_task_set_description(struct rk_task_run *run, const char *fmt, ...) RK_PRINTF(2, 3);
/* response.resourceId and response.resource (JSON text, may be NULL). */
void rk_task_set_resource(struct rk_task_run *run, int64_t resource_id, const char *json);
/* Records the failure (type as in api.md, http status for "400 BAD_REQUEST")
 * and returns -1. */
int rk_task_fail(struct rk_task_run *run, const char *type, int http, const char *fmt, ...)
    RK_PRINTF(4, 5);

/* What a job needs from a managed database: where it listens and its
 * password (do not log it), and its directory. Caller clears *out. */
int rk_service_db_lookup(struct rk_service *svc, int64_t db_id, struct rk_db *out,
                         struct rk_fail *f);
char *rk_service_db_dir(struct rk_service *svc, int64_t db_id); /* caller frees */
/* Stops the database's redis-server and keeps the supervisor from restarting
 * it until rk_service_db_resume, which starts it again (on the files in its
 * directory) and waits until it answers. For an import that swaps data. */
int rk_service_db_pause(struct rk_service *svc, int64_t db_id, struct rk_err *err);
int rk_service_db_resume(struct rk_service *svc, int64_t db_id, struct rk_err *err);

/* Backups table, for the backup job. */
int rk_service_backup_insert(struct rk_service *svc, const struct rk_backup *b, int64_t *id,
                             struct rk_err *err);
int rk_service_backup_update(struct rk_service *svc, const struct rk_backup *b,
                             struct rk_err *err);

/* ------------------------------------------------------------------------ */
/* Helpers shared with the api and the tests                                */
/* ------------------------------------------------------------------------ */

/* A random UUID v4 in out (37 bytes). */
void rk_uuid4(char out[RK_TASK_ID_LEN + 1]);
/* n random characters from [A-Za-z0-9] and a NUL. */
void rk_random_token(char *out, size_t n);

#endif
