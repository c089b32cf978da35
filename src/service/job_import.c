/* The import job (databaseImportRequest) and the import status job
 * (databaseImportStatusRequest).
 *
 * An import: the sources one after the other (a store reader, or a live
 * server's replication snapshot) -> count -> gunzip by magic -> rdb reader
 * -> one writer for the RDB version of the database's redis-server (expired
 * keys dropped, several files merged into one stream) -> the staging
 * redis-server, which loads the stream as it is written -> the size check
 * -> the database's settings -> the swap. The database is not touched
 * before the swap; staging.c and import.h say how the swap stays atomic. */
#include "redis/redis.h"
#include "service/import.h"
#include "store/store.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_COMMAND        "databaseImportRequest"
#define IMPORT_STATUS_COMMAND "databaseImportStatusRequest"
#define CHUNK                 (1u << 20)

struct job {
    struct rk_task_run *run;
    struct rk_service *svc;
    int64_t db_id;
    struct rk_db db;
    char prev_status[32]; /* what the database shows again afterwards */
    char *source_type;
    enum store_type type;
    char **uris;  /* hold credentials */
    char **shown; /* the same, masked */
    size_t n;
    struct store_config scfg; /* the daemon's, with this task's cancel hook */
    struct redis_config rcfg;
    struct redis_snapshot_info snap;
    uint64_t total; /* the sources' sizes, 0 when one is unknown */
    bool total_known;
    struct io_counter read; /* source bytes, every input */
    struct staging *st;
    struct rdb_writer *w;
    int target_version;
    /* The merge. */
    size_t cur;
    bool in_module_aux;
    uint64_t module_aux_dropped;
    uint64_t functions_repeated;
    /* The SHA-256 of every function library met, in an open-addressing set
     * (a hostile file may carry millions: a list would take quadratic time). */
    unsigned char (*functions)[32];
    size_t functions_cap, nfunctions;
    char module_key[96]; /* a module value's key, quoted, until its type is known */
    bool sink_failed;    /* the writer's output failed, not the input */
    uint64_t rdb_bytes;  /* RDB bytes parsed, every input */
};

/* ---- cancellation and progress ---- */

static bool job_cancelled(void *arg)
{
    return rk_task_cancelled(arg);
}

static int cancel_fail(struct job *j)
{
    if (rk_task_cancelled_why(j->run) == RK_CANCEL_DATABASE_DELETED)
        return rk_task_fail(j->run, "GENERAL_ERROR", 409,
                            "cancelled: database %lld is being deleted", (long long)j->db_id);
    return rk_task_fail(j->run, "GENERAL_ERROR", 503,
                        "cancelled: the daemon is shutting down; the old data serves on");
}

static void report(struct job *j)
{
    uint64_t keys = j->w ? rdb_writer_stats(j->w)->keys : 0;
    uint64_t total = j->total_known ? j->total : 0;
    uint64_t bytes = io_counter_get(&j->read);
    /* A live source announces no size: estimate it from its key count. */
    if (!total && j->snap.keys_expected && keys) {
        double estimate = (double)bytes * (double)j->snap.keys_expected / (double)keys;
        total = estimate > (double)bytes ? (uint64_t)estimate : bytes;
    }
    rk_task_progress(j->run, bytes, total, keys);
}

/* ---- the merge: several files, one stream for the writer ---- */

static const unsigned char no_function[32]; /* an empty slot: no library hashes to zeros */

/* The slot holding sum, or the empty one where it goes (cap is a power of two). */
static unsigned char *function_slot(unsigned char (*set)[32], size_t cap, const unsigned char *sum)
{
    uint64_t h;
    memcpy(&h, sum, sizeof(h)); /* a SHA-256 is uniform already */
    for (size_t i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (memcmp(set[i], no_function, 32) == 0 || memcmp(set[i], sum, 32) == 0) return set[i];
}

static bool function_seen(struct job *j, const struct rdb_function_info *fn)
{
    unsigned char sum[32];
    io_sha256(fn->code, fn->code_len, sum);
    if (j->functions_cap &&
        memcmp(function_slot(j->functions, j->functions_cap, sum), sum, 32) == 0)
        return true;
    if (2 * (j->nfunctions + 1) > j->functions_cap) { /* at most half full */
        size_t cap = j->functions_cap ? 2 * j->functions_cap : 64;
        unsigned char(*set)[32] = xcalloc(cap, sizeof(*set));
        for (size_t i = 0; i < j->functions_cap; i++)
            if (memcmp(j->functions[i], no_function, 32) != 0)
                memcpy(function_slot(set, cap, j->functions[i]), j->functions[i], 32);
        free(j->functions);
        j->functions = set;
        j->functions_cap = cap;
    }
    memcpy(function_slot(j->functions, j->functions_cap, sum), sum, 32);
    j->nfunctions++;
    return false;
}

/* The writer hears one file: the header from the first input, the end from
 * the last. Aux fields of later inputs are left out, a function library the
 * shards all carry goes once, and module aux data goes nowhere (redis-server
 * refuses it without its module, as RESTORE drops it). A module value is an
 * error naming the key and its type. */
static int merge_event(void *ctx, const struct rdb_event *ev, struct rk_err *err)
{
    struct job *j = ctx;
    switch (ev->type) {
    case RDB_EVENT_START:
    case RDB_EVENT_AUX:
        if (j->cur > 0) return 0;
        break;
    case RDB_EVENT_END:
        if (j->cur + 1 < j->n) return 0;
        break;
    case RDB_EVENT_MODULE_AUX:
        j->in_module_aux = true;
        j->module_aux_dropped++;
        return 0;
    case RDB_EVENT_MODULE_AUX_END: j->in_module_aux = false; return 0;
    case RDB_EVENT_RAW:
        if (j->in_module_aux) return 0;
        break;
    case RDB_EVENT_FUNCTION:
        if (function_seen(j, &ev->u.function)) {
            j->functions_repeated++;
            return 0;
        }
        break;
    case RDB_EVENT_KEY:
        if (rdb_encoding_kind(ev->u.key->enc) == RDB_KIND_MODULE) {
            rdb_quote(ev->u.key->key, ev->u.key->key_len, 64, j->module_key, sizeof(j->module_key));
            return 0;
        }
        break;
    case RDB_EVENT_VALUE:
        if (j->in_module_aux) return 0;
        if (ev->u.value->kind == RDB_VALUE_MODULE_TYPE)
            return rk_err_set(err,
                              "key \"%s\" holds a value of module type %s (encoding version "
                              "%u): the database's redis-server %s runs without modules and "
                              "cannot hold it",
                              j->module_key, ev->u.value->u.module.name,
                              ev->u.value->u.module.encver, j->svc->redis_version);
        break;
    default: break;
    }
    return rdb_writer_event(j->w, ev, err);
}

static int sink_write(void *ctx, const void *data, size_t len, struct rk_err *err)
{
    struct job *j = ctx;
    if (staging_write(j->st, data, len, err) == 0) return 0;
    j->sink_failed = true;
    return -1;
}

/* ---- failures ---- */

static int wrong_size(struct job *j, uint64_t used, bool at_least)
{
    char need[32], limit[32];
    rk_format_bytes(used, need, sizeof(need));
    rk_format_bytes(db_maxmemory_bytes(&j->db), limit, sizeof(limit));
    return rk_task_fail(j->run, "DATABASE_IMPORT_WRONG_SIZE", 400,
                        "the imported dataset needs %s%s of memory (used_memory %llu bytes in "
                        "redis-server %s) but the database's memoryLimitInGb is %g (%s): raise "
                        "memoryLimitInGb or import less",
                        at_least ? "more than " : "", need, (unsigned long long)used,
                        j->svc->redis_version, j->db.memory_limit_gb, limit);
}

/* The writer's output failed: the staging server, the limit or a cancel. */
static int sink_fail(struct job *j, const struct rk_err *err)
{
    uint64_t used;
    if (staging_over_limit(j->st, &used)) return wrong_size(j, used, true);
    if (rk_task_cancelled(j->run)) return cancel_fail(j);
    return rk_task_fail(j->run, "DATABASE_IMPORT_FAILED", 400, "%s", err->msg);
}

static int source_fail(struct job *j, size_t i, int result, const char *what,
                       const struct rk_err *err)
{
    if (rk_task_cancelled(j->run)) return cancel_fail(j);
    if (result == STORE_NOT_FOUND)
        return rk_task_fail(j->run, "DATABASE_IMPORT_SOURCE_NOT_FOUND", 404, "%s: %s", j->shown[i],
                            err->msg);
    if (result == STORE_BAD_URI)
        return rk_task_fail(j->run, store_type_bad_uri_error(j->type), 400, "%s: %s", j->shown[i],
                            err->msg);
    return rk_task_fail(j->run, "DATABASE_IMPORT_FAILED", 400, "%s%s: %s", j->shown[i], what,
                        err->msg);
}

/* ---- the inputs ---- */

/* Sizes for the progress, and a missing shard found before anything starts. */
static int stat_sources(struct job *j)
{
    j->total_known = j->type != STORE_TYPE_REDIS;
    for (size_t i = 0; j->type != STORE_TYPE_REDIS && i < j->n; i++) {
        struct store_stat st;
        struct rk_err err;
        int rc = store_stat(&j->scfg, j->uris[i], &st, &err);
        if (rc == STORE_UNSUPPORTED) {
            j->total_known = false;
            continue;
        }
        if (rc != STORE_OK) return source_fail(j, i, rc, "", &err);
        if (st.size_known)
            j->total += st.size;
        else
            j->total_known = false;
    }
    return 0;
}

static struct io_source *open_source(struct job *j, size_t i, int *result, struct rk_err *err)
{
    *result = STORE_FAIL;
    if (j->type != STORE_TYPE_REDIS)
        return store_open_read(&j->scfg, j->uris[i], 0, NULL, result, err);
    const char *etype;
    struct store_uri *u =
        store_uri_parse(j->uris[i], STORE_TYPE_REDIS, STORE_URI_OBJECT, &etype, err);
    if (!u) {
        *result = STORE_BAD_URI;
        return NULL;
    }
    struct io_source *src = redis_snapshot_open(&j->rcfg, u, &j->snap, err);
    store_uri_free(u);
    return src;
}

/* One input through the reader into the writer. */
static int read_input(struct job *j, size_t i)
{
    struct rk_err err;
    int result;
    j->cur = i;
    struct io_source *src = open_source(j, i, &result, &err);
    if (!src) return source_fail(j, i, result, "", &err);
    src = io_count_source_new(src, &j->read);
    struct io_gunzip_info gz = {0};
    struct io_gunzip_opts go = {.info = &gz};
    src = io_gunzip_source_new(src, &go);
    struct rdb_reader *r = rdb_reader_new(NULL, merge_event, j);
    unsigned char *buf = xmalloc(CHUNK);
    int rc = 0;
    bool parse = false;
    for (;;) {
        ssize_t n = io_source_read(src, buf, CHUNK, &err);
        if (n < 0) {
            rc = -1;
            break;
        }
        parse = true;
        if (n == 0 ? rdb_reader_finish(r, &err) < 0
                   : rdb_reader_feed(r, buf, (size_t)n, &err) < 0) {
            rc = -1;
            break;
        }
        if (n == 0) break;
        parse = false;
        report(j);
    }
    j->rdb_bytes += rdb_reader_offset(r);
    if (rc == 0 && !rdb_reader_done(r))
        rc = rk_err_set(&err, "offset %llu: the file ended before its EOF marker",
                        (unsigned long long)rdb_reader_offset(r));
    rdb_reader_free(r);
    free(buf);
    io_source_free(src);
    if (rc == 0) return 0;
    if (j->sink_failed) return sink_fail(j, &err);
    if (rk_task_cancelled(j->run)) return cancel_fail(j);
    if (parse) return source_fail(j, i, STORE_FAIL, gz.gzip ? " (after gunzip)" : "", &err);
    /* The transfer or the gunzip failed. */
    return source_fail(j, i, result == STORE_OK ? STORE_FAIL : result, "", &err);
}

/* ---- the database's status ---- */

/* Sets the status unless the database is being deleted (or gone). */
static void set_status(struct job *j, const char *status)
{
    struct rk_err err;
    struct rk_db now;
    struct rk_catalog *cat = j->svc->cat;
    if (catalog_begin(cat, &err) < 0) goto fail;
    int found = catalog_db_get(cat, j->db_id, &now, &err);
    bool deleting = found > 0 && strcmp(now.status, "deleting") == 0;
    if (found > 0) rk_db_clear(&now);
    if (found < 0 ||
        (found > 0 && !deleting && catalog_db_set_status(cat, j->db_id, status, NULL, &err) < 0)) {
        catalog_rollback(cat);
        goto fail;
    }
    if (catalog_commit(cat, &err) < 0) goto fail;
    return;
fail:
    rk_log(RK_LOG_ERROR, "import", "msg=\"status not recorded\" db=%lld err=\"%s\"",
           (long long)j->db_id, err.msg);
}

/* ---- the job ---- */

static int parse_params(struct job *j)
{
    json_error_t jerr;
    const char *params = rk_task_params(j->run);
    json_t *p = params ? json_loads(params, 0, &jerr) : NULL;
    json_t *uris = json_object_get(p, "importFromUri");
    const char *type = json_string_value(json_object_get(p, "sourceType"));
    if (!type || !json_is_array(uris) || json_array_size(uris) == 0) {
        json_decref(p);
        return rk_task_fail(j->run, "GENERAL_ERROR", 500, "the task's parameters are damaged");
    }
    j->source_type = xstrdup(type);
    j->n = json_array_size(uris);
    j->uris = xcalloc(j->n, sizeof(*j->uris));
    j->shown = xcalloc(j->n, sizeof(*j->shown));
    for (size_t i = 0; i < j->n; i++) {
        const char *u = json_string_value(json_array_get(uris, i));
        j->uris[i] = xstrdup(u ? u : "");
        j->shown[i] = store_uri_redact(j->uris[i]);
    }
    json_decref(p);
    if (store_type_from_name(j->source_type, &j->type) < 0)
        return rk_task_fail(j->run, "DATABASE_INVALID_IMPORT_SOURCE_TYPE", 400,
                            "sourceType: '%.40s' is not a source type", j->source_type);
    return 0;
}

/* What the task answers with on success: counts, never a credential. */
static char *result_json(struct job *j, uint64_t used, uint64_t ms)
{
    const struct rdb_writer_stats *s = rdb_writer_stats(j->w);
    json_t *uris = json_array();
    for (size_t i = 0; i < j->n; i++) json_array_append_new(uris, json_string(j->shown[i]));
    json_t *o = json_object();
    json_object_set_new(o, "databaseId", json_integer(j->db_id));
    json_object_set_new(o, "sourceType", json_string(j->source_type));
    json_object_set_new(o, "importFromUri", uris);
    json_object_set_new(o, "keys", json_integer((json_int_t)s->keys));
    json_object_set_new(o, "keysRewritten", json_integer((json_int_t)s->keys_rewritten));
    json_object_set_new(o, "keysExpiredSkipped", json_integer((json_int_t)s->keys_expired));
    json_object_set_new(o, "keysEmptySkipped", json_integer((json_int_t)s->keys_empty));
    json_object_set_new(o, "hashFieldTtlsDropped", json_integer((json_int_t)s->field_ttls_dropped));
    json_object_set_new(o, "functionsDropped", json_integer((json_int_t)s->functions_dropped));
    json_object_set_new(o, "moduleAuxDropped", json_integer((json_int_t)j->module_aux_dropped));
    json_object_set_new(o, "sourceBytes", json_integer((json_int_t)io_counter_get(&j->read)));
    json_object_set_new(o, "rdbBytes", json_integer((json_int_t)j->rdb_bytes));
    json_object_set_new(o, "rdbVersion", json_integer(j->target_version));
    json_object_set_new(o, "usedMemory", json_integer((json_int_t)used));
    json_object_set_new(o, "durationMs", json_integer((json_int_t)ms));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static int import_data(struct job *j)
{
    struct rk_err err;
    uint64_t start = rk_monotonic_ns();
    if (stat_sources(j) < 0) return -1;
    if (rk_task_cancelled(j->run)) return cancel_fail(j);
    bool keep = strncmp(j->db.data_persistence, "snapshot-", 9) == 0;
    j->st = staging_new(j->svc, &j->db, keep, job_cancelled, j->run);
    if (staging_start(j->st, &err) < 0) {
        if (rk_task_cancelled(j->run)) return cancel_fail(j);
        return rk_task_fail(j->run, "DATABASE_IMPORT_FAILED", 500, "%s", err.msg);
    }
    struct rdb_writer_options wo = {.target_version = j->target_version, .drop_expired = true};
    j->w = rdb_writer_new(&wo, sink_write, j, &err);
    if (!j->w) return rk_task_fail(j->run, "GENERAL_ERROR", 500, "%s", err.msg);
    rk_task_set_description(j->run, "Importing %zu file%s into database %lld", j->n,
                            j->n == 1 ? "" : "s", (long long)j->db_id);
    for (size_t i = 0; i < j->n; i++)
        if (read_input(j, i) < 0) return -1;
    if (!rdb_writer_complete(j->w))
        return rk_task_fail(j->run, "DATABASE_IMPORT_FAILED", 400,
                            "the merged stream is incomplete");
    report(j);
    if (staging_end_input(j->st, &err) < 0 || staging_wait_loaded(j->st, &err) < 0)
        return sink_fail(j, &err);
    uint64_t used;
    if (staging_used_memory(j->st, &used, &err) < 0)
        return rk_task_fail(j->run, "DATABASE_IMPORT_FAILED", 500, "%s", err.msg);
    if (used > db_maxmemory_bytes(&j->db)) return wrong_size(j, used, false);
    if (rk_task_cancelled(j->run)) return cancel_fail(j);
    rk_task_set_description(j->run, "Swapping the imported data into database %lld",
                            (long long)j->db_id);
    if (staging_settle(j->st, &err) < 0) {
        if (rk_task_cancelled(j->run)) return cancel_fail(j);
        return rk_task_fail(j->run, "DATABASE_IMPORT_FAILED", 500, "%s", err.msg);
    }
    /* A delete must not be answered by a swap; a shutdown waits for it. */
    if (rk_task_cancelled_why(j->run) == RK_CANCEL_DATABASE_DELETED) return cancel_fail(j);
    if (staging_swap(j->st, &err) < 0)
        return rk_task_fail(j->run, "DATABASE_IMPORT_FAILED", 500,
                            "the swap failed, the old data serves: %s", err.msg);
    const struct rdb_writer_stats *s = rdb_writer_stats(j->w);
    uint64_t ms = (rk_monotonic_ns() - start) / 1000000;
    rk_log(RK_LOG_INFO, "import",
           "msg=\"import swapped in\" db=%lld keys=%llu expired=%llu bytes=%llu "
           "used_memory=%llu ms=%llu",
           (long long)j->db_id, (unsigned long long)s->keys, (unsigned long long)s->keys_expired,
           (unsigned long long)io_counter_get(&j->read), (unsigned long long)used,
           (unsigned long long)ms);
    char *res = result_json(j, used, ms);
    rk_task_set_resource(j->run, j->db_id, res);
    free(res);
    return 0;
}

static int run_import(struct rk_task_run *run)
{
    struct job j = {.run = run, .svc = rk_task_service(run), .db_id = rk_task_database_id(run)};
    atomic_init(&j.read.bytes, 0);
    struct rk_fail f;
    int rc = parse_params(&j);
    bool status_set = false;
    if (rc == 0 && rk_service_db_lookup(j.svc, j.db_id, &j.db, &f) < 0) {
        rc = rk_task_fail(run, f.type, f.http, "%s", f.description);
        memset(&j.db, 0, sizeof(j.db));
    } else if (rc == 0 && strcmp(j.db.status, "deleting") == 0) {
        rc = rk_task_fail(run, "DATABASE_NOT_ACTIVE", 409, "database %lld is being deleted",
                          (long long)j.db_id);
    } else if (rc == 0) {
        j.target_version = redis_rdb_version_for(j.svc->redis_version, NULL);
        if (j.target_version < RDB_WRITER_MIN_VERSION)
            rc = rk_task_fail(run, "GENERAL_ERROR", 500,
                              "redis-server %s: no RDB version rdbkeep can write",
                              j.svc->redis_version);
        else if (!import_swap_supported(j.svc->redis_version))
            rc = rk_task_fail(run, "GENERAL_ERROR", 500,
                              "redis-server %s cannot move to another port while it runs "
                              "(CONFIG SET port came with Redis 7.0), which the import's swap "
                              "needs: run the daemon with redis-server 7.0 or later",
                              j.svc->redis_version);
    }
    if (rc == 0) {
        snprintf(j.prev_status, sizeof(j.prev_status), "%s",
                 strcmp(j.db.status, "import-pending") == 0 ? "active" : j.db.status);
        set_status(&j, "import-pending");
        status_set = true;
        j.scfg = *j.svc->store;
        j.scfg.cancelled = job_cancelled;
        j.scfg.cancel_arg = run;
        redis_config_init(&j.rcfg);
        /* rediss:// sources trust what HTTPS and FTPS sources trust. */
        j.rcfg.tls_ca_file = j.scfg.ca_file;
        j.rcfg.cancelled = job_cancelled;
        j.rcfg.cancel_arg = run;
        rc = import_data(&j);
    }
    bool committed = j.st && staging_committed(j.st);
    staging_free(j.st);
    if (status_set) set_status(&j, committed ? "active" : j.prev_status);
    rdb_writer_free(j.w);
    for (size_t i = 0; i < j.n; i++) {
        free(j.uris[i]);
        free(j.shown[i]);
    }
    free(j.uris);
    free(j.shown);
    free(j.source_type);
    free(j.functions);
    rk_db_clear(&j.db);
    return rc;
}

/* ---- GET .../import: the latest import ---- */

static int run_import_status(struct rk_task_run *run)
{
    struct rk_service *svc = rk_task_service(run);
    int64_t db_id = rk_task_database_id(run);
    struct rk_err err;
    struct rk_task t;
    int found = catalog_task_latest(svc->cat, db_id, IMPORT_COMMAND, &t, &err);
    if (found < 0) return rk_task_fail(run, "GENERAL_ERROR", 500, "%s", err.msg);
    json_t *o = json_object();
    json_object_set_new(o, "databaseId", json_integer(db_id));
    if (!found) {
        json_object_set_new(o, "status", json_string("idle"));
    } else {
        const char *status = strcmp(t.status, RK_TASK_COMPLETED) == 0 ? "imported"
                             : strcmp(t.status, RK_TASK_ERROR) == 0   ? "failed"
                             : strcmp(t.status, RK_TASK_RUNNING) == 0 ? "importing"
                                                                      : "queued";
        json_object_set_new(o, "status", json_string(status));
        json_object_set_new(o, "taskId", json_string(t.id));
        char ts[32];
        rk_format_iso8601(t.created_ms, ts, sizeof(ts));
        json_object_set_new(o, "requestedAt", json_string(ts));
        if (strcmp(status, "imported") == 0 || strcmp(status, "failed") == 0) {
            rk_format_iso8601(t.updated_ms, ts, sizeof(ts));
            json_object_set_new(o, "finishedAt", json_string(ts));
        }
        char *params = NULL;
        json_t *p = catalog_task_params(svc->cat, t.id, &params, &err) > 0 && params
                        ? json_loads(params, 0, NULL)
                        : NULL;
        free(params);
        if (p) {
            json_t *src = json_object_get(p, "sourceType");
            if (json_is_string(src)) json_object_set(o, "sourceType", src);
            json_t *shown = json_array();
            size_t i;
            json_t *u;
            json_array_foreach(json_object_get(p, "importFromUri"), i, u)
            {
                char *m = store_uri_redact(json_string_value(u) ? json_string_value(u) : "");
                json_array_append_new(shown, json_string(m));
                free(m);
            }
            json_object_set_new(o, "importFromUri", shown);
            json_decref(p);
        }
        json_t *progress = json_object();
        json_object_set_new(progress, "bytes", json_integer((json_int_t)t.bytes));
        json_object_set_new(progress, "totalBytes", json_integer((json_int_t)t.total_bytes));
        json_object_set_new(progress, "keys", json_integer((json_int_t)t.keys));
        json_object_set_new(o, "progress", progress);
        if (t.error_type) {
            json_t *e = json_object();
            json_object_set_new(e, "type", json_string(t.error_type));
            json_object_set_new(e, "status", json_string(t.error_status ? t.error_status : ""));
            json_object_set_new(e, "description",
                                json_string(t.error_description ? t.error_description : ""));
            json_object_set_new(o, "error", e);
        }
        if (t.resource) {
            json_t *r = json_loads(t.resource, 0, NULL);
            if (r) json_object_set_new(o, "result", r);
        }
        rk_task_clear(&t);
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    rk_task_set_resource(run, db_id, text);
    free(text);
    return 0;
}

const struct rk_task_kind rk_kind_import = {IMPORT_COMMAND, RK_TASK_PER_DATABASE, run_import};
const struct rk_task_kind rk_kind_import_status = {IMPORT_STATUS_COMMAND, 0, run_import_status};
