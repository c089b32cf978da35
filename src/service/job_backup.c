/* The backup job (databaseBackupRequest) and the backup status job
 * (databaseBackupStatusRequest).
 *
 * A backup: the database's redis-server -> replication snapshot -> verify +
 * gzip + SHA-256 + count -> a store writer under the final name of each
 * shard's file (committed only if the RDB verified), then the manifest as a
 * second object. The backup is complete only once the manifest is written:
 * it goes last, and a failure removes the files already committed, so no
 * file that looks complete stays behind. Storage errors are retried with
 * backoff (the whole snapshot again: it cannot be resumed), a cancel (the
 * database is being deleted, the daemon stops) ends it at once. */
#include "redis/redis.h"
#include "service/backup.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKUP_ATTEMPTS  4
#define BACKOFF_FIRST_MS 1000u

struct job {
    struct rk_task_run *run;
    struct rk_service *svc;
    int64_t db_id;
    struct rk_db db;
    struct store_config scfg; /* the daemon's, with this task's cancel hook */
    struct redis_config rcfg;
    struct redis_progress progress;
    bool scheduled;
    char *adhoc;       /* adhocBackupPath, or NULL */
    char *destination; /* where this backup goes (holds credentials) */
    char *shown;       /* the same, masked */
    enum store_type type;
    char error[RK_ERR_MAX]; /* the failure, for the catalog row */
};

static int job_fail(struct job *j, const char *type, int http, const char *fmt, ...)
    RK_PRINTF(4, 5);
static int job_fail(struct job *j, const char *type, int http, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->error, sizeof(j->error), fmt, ap);
    va_end(ap);
    return rk_task_fail(j->run, type, http, "%s", j->error);
}

/* ---- cancellation and progress ---- */

/* Polled from any thread (the store's, the snapshot reader's). */
static bool job_cancelled(void *arg)
{
    return rk_task_cancelled(arg);
}

static void report(struct job *j)
{
    uint64_t bytes = io_counter_get(&j->progress.bytes);
    uint64_t total = atomic_load(&j->progress.total);
    uint64_t keys = atomic_load(&j->progress.keys);
    uint64_t total_keys = atomic_load(&j->progress.total_keys);
    /* A diskless snapshot announces no size: estimate it from the keys the
     * server held when it began and the bytes per key so far. */
    if (!total && total_keys && keys) {
        double estimate = (double)bytes * (double)total_keys / (double)keys;
        total = estimate > (double)bytes ? (uint64_t)estimate : bytes;
    }
    rk_task_progress(j->run, bytes, total, keys);
}

/* Progress goes to the catalog from a thread of its own while the pull runs:
 * a catalog commit waits for an fsync, which on a disk busy with the backup's
 * own file can take long, and the snapshot must not wait for it. The task's
 * thread touches the progress only before and after (the reporter joined). */
struct reporter {
    struct job *j;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static void *reporter_main(void *arg)
{
    struct reporter *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        struct timespec deadline = rk_deadline_after_ms(250);
        pthread_cond_timedwait(&r->cv, &r->mu, &deadline);
        if (r->stop) break;
        pthread_mutex_unlock(&r->mu);
        report(r->j);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void reporter_start(struct reporter *r, struct job *j)
{
    memset(r, 0, sizeof(*r));
    r->j = j;
    pthread_mutex_init(&r->mu, NULL);
    rk_cond_init_monotonic(&r->cv);
    if (pthread_create(&r->thread, NULL, reporter_main, r) != 0) rk_panic("cannot start a thread");
}

static void reporter_stop(struct reporter *r)
{
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}

/* Called by the pull once per chunk. */
static bool pull_tick(void *arg)
{
    struct job *j = arg;
    return rk_task_cancelled(j->run);
}

static const char *cancel_reason(struct job *j, char *buf, size_t len)
{
    if (rk_task_cancelled_why(j->run) == RK_CANCEL_DATABASE_DELETED)
        snprintf(buf, len, "cancelled: database %lld is being deleted", (long long)j->db_id);
    else
        snprintf(buf, len, "cancelled: the daemon is shutting down");
    return buf;
}

/* Waits ms unless cancelled first; false if cancelled. */
static bool backoff(struct job *j, unsigned ms)
{
    for (unsigned waited = 0; waited < ms; waited += 50) {
        if (rk_task_cancelled(j->run)) return false;
        rk_sleep_ms(50);
    }
    return !rk_task_cancelled(j->run);
}

/* ---- a sink that remembers why the store failed ---- */

struct watch_sink {
    struct io_sink base;
    int *result;
};

static void watch_note(struct io_sink *s)
{
    struct watch_sink *w = (struct watch_sink *)s;
    int r = store_sink_result(s->next);
    *w->result = r != STORE_OK ? r : STORE_FAIL;
}

static int watch_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err)
{
    if (io_sink_write(s->next, data, len, err) < 0) {
        watch_note(s);
        return -1;
    }
    return 0;
}

static int watch_close(struct io_sink *s, struct rk_err *err)
{
    if (io_sink_close(s->next, err) < 0) {
        watch_note(s);
        return -1;
    }
    return 0;
}

static void watch_abort(struct io_sink *s)
{
    io_sink_abort(s->next);
}

static void watch_free(struct io_sink *s)
{
    free(s);
}

static const struct io_sink_ops watch_ops = {"store", watch_write, watch_close, watch_abort,
                                             watch_free};

static struct io_sink *watch_new(struct io_sink *store_sink, int *result)
{
    struct watch_sink *w = xcalloc(1, sizeof(*w));
    io_sink_init(&w->base, &watch_ops, store_sink);
    w->result = result;
    *result = STORE_OK;
    return &w->base;
}

/* ---- one attempt ---- */

/* What a failure says about trying again: a store that refused us or a path
 * that cannot work will not do better in a second. */
static bool retryable(int store_result)
{
    switch (store_result) {
    case STORE_BAD_URI:
    case STORE_UNSUPPORTED:
    case STORE_DENIED:
    case STORE_NOT_FOUND:
    case STORE_CANCELLED: return false;
    default: return true;
    }
}

static const char *connect_host(const char *bind)
{
    if (strcmp(bind, "0.0.0.0") == 0 || strcmp(bind, "*") == 0) return "127.0.0.1";
    if (strcmp(bind, "::") == 0) return "::1";
    return bind;
}

/* One shard's snapshot into its file. */
static int pull_shard(struct job *j, const char *file_uri, struct redis_pull_result *res,
                      int *store_result, struct rk_err *err)
{
    memset(&j->progress, 0, sizeof(j->progress));
    struct io_sink *sink = store_open_write(&j->scfg, file_uri, -1, store_result, err);
    if (!sink) {
        if (*store_result == STORE_OK) *store_result = STORE_FAIL;
        return -1;
    }
    struct store_uri src = {
        .kind = STORE_REDIS,
        .host = (char *)connect_host(j->svc->cfg.db_host),
        .port = j->db.port,
        .password = j->db.password,
    };
    struct redis_pull_options o = {
        .gzip = true,
        .progress = &j->progress,
        .cancelled = pull_tick,
        .cancel_arg = j,
    };
    struct reporter rep;
    reporter_start(&rep, j);
    int rc = redis_pull(&j->rcfg, &src, watch_new(sink, store_result), &o, res, err);
    reporter_stop(&rep);
    report(j);
    return rc;
}

static int write_small(struct job *j, const char *uri, const char *text, int *result,
                       struct rk_err *err)
{
    size_t len = strlen(text);
    struct io_sink *w = store_open_write(&j->scfg, uri, (int64_t)len, result, err);
    if (!w) {
        if (*result == STORE_OK) *result = STORE_FAIL;
        return -1;
    }
    int rc = 0;
    if (io_sink_write(w, text, len, err) < 0 || io_sink_close(w, err) < 0) {
        *result = store_sink_result(w);
        if (*result == STORE_OK) *result = STORE_FAIL;
        rc = -1;
    }
    io_sink_free(w);
    return rc;
}

/* Removes what a failed backup may have committed. Without the task's
 * cancel hook: a cleanup must run even when the task was cancelled. */
static void remove_object(struct job *j, const char *uri)
{
    struct rk_err err;
    int rc = store_delete(j->svc->store, uri, &err);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
        char *shown = store_uri_redact(uri);
        rk_log(RK_LOG_WARN, "backup",
               "msg=\"a file of a failed backup could not be removed\" uri=\"%s\" err=\"%s\"",
               shown, err.msg);
        free(shown);
    }
}

static void remove_objects(struct job *j, char **uris, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (uris[i]) remove_object(j, uris[i]);
}

/* ---- the job ---- */

static int load_params(struct job *j)
{
    const char *params = rk_task_params(j->run);
    if (!params) return 0;
    json_t *p = json_loads(params, 0, NULL);
    if (!json_is_object(p)) {
        json_decref(p);
        return job_fail(j, "GENERAL_ERROR", 500,
                        "the task's stored parameters are not a JSON object");
    }
    const char *adhoc = json_string_value(json_object_get(p, "adhocBackupPath"));
    if (adhoc && adhoc[0]) j->adhoc = xstrdup(adhoc);
    j->scheduled = json_is_true(json_object_get(p, "scheduled"));
    json_decref(p);
    return 0;
}

/* Where this backup goes: the ad-hoc path, else the configured one. */
static int choose_destination(struct job *j, const struct backup_schedule *sched)
{
    const char *type_name = "";
    if (j->adhoc) {
        j->destination = xstrdup(j->adhoc);
    } else if (sched->enabled) {
        j->destination = xstrdup(sched->path);
        type_name = sched->storage_type;
    } else {
        return job_fail(j, "DATABASE_BACKUP_DISABLED", 400,
                        "database %lld has no backup path (periodicBackupPath or remoteBackup) "
                        "and the request gave no adhocBackupPath",
                        (long long)j->db_id);
    }
    j->shown = store_uri_redact(j->destination);
    j->type = STORE_TYPE_ANY;
    if (type_name[0] && store_type_from_name(type_name, &j->type) < 0)
        return job_fail(j, "DATABASE_INVALID_BACKUP_PATH", 400,
                        "remoteBackup.storageType '%.40s' is not a backup destination type",
                        type_name);
    char *what = xasprintf("backup path %s", j->shown);
    struct rk_fail f;
    int rc = backup_path_check(what, j->destination, j->type, &f);
    free(what);
    return rc < 0 ? job_fail(j, f.type, f.http, "%s", f.description) : 0;
}

static void server_version(const char *server, const char *fallback, char *out, size_t len)
{
    const char *space = strchr(server, ' ');
    snprintf(out, len, "%s", space && space[1] ? space + 1 : fallback);
}

static json_t *backup_resource(const struct rk_backup *b, const struct backup_file *files, size_t n,
                               const char *manifest_uri)
{
    json_t *o = json_object();
    json_object_set_new(o, "backupId", json_integer(b->id));
    json_object_set_new(o, "status", json_string(b->status));
    char *shown = store_uri_redact(b->destination);
    json_object_set_new(o, "destination", json_string(shown));
    free(shown);
    json_t *fa = json_array();
    uint64_t size = 0;
    for (size_t i = 0; i < n; i++) {
        struct rk_err err;
        char *uri = store_uri_join(b->destination, files[i].name, &err);
        char *uri_shown = uri ? store_uri_redact(uri) : xstrdup(files[i].name);
        json_array_append_new(
            fa, json_pack("{s:s, s:s, s:I, s:I, s:s, s:I, s:i}", "name", files[i].name, "uri",
                          uri_shown, "sizeBytes", (json_int_t)files[i].size_bytes, "keys",
                          (json_int_t)files[i].keys, "sha256", files[i].sha256, "rdbBytes",
                          (json_int_t)files[i].rdb_bytes, "rdbVersion", files[i].rdb_version));
        free(uri);
        free(uri_shown);
        size += files[i].size_bytes;
    }
    json_object_set_new(o, "files", fa);
    shown = store_uri_redact(manifest_uri);
    json_object_set_new(o, "manifest", json_string(shown));
    free(shown);
    json_object_set_new(o, "sizeBytes", json_integer((json_int_t)size));
    json_object_set_new(o, "keys", json_integer((json_int_t)b->keys));
    json_object_set_new(o, "rdbVersion", json_integer(b->rdb_version));
    if (b->redis_version) json_object_set_new(o, "redisVersion", json_string(b->redis_version));
    char ts[32];
    rk_format_iso8601(b->started_ms, ts, sizeof(ts));
    json_object_set_new(o, "startedAt", json_string(ts));
    rk_format_iso8601(b->finished_ms, ts, sizeof(ts));
    json_object_set_new(o, "finishedAt", json_string(ts));
    json_object_set_new(o, "durationMs",
                        json_integer((json_int_t)(b->finished_ms - b->started_ms)));
    return o;
}

static void set_resource(struct rk_task_run *run, int64_t db_id, json_t *resource)
{
    char *text = json_dumps(resource, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(resource);
    rk_task_set_resource(run, db_id, text);
    free(text);
}

/* Takes the snapshots and writes the manifest; fills files. -1 after
 * rk_task_fail. */
static int take_backup(struct job *j, struct rk_backup *row, const char *stem,
                       struct backup_file *files, size_t n, char **file_uris,
                       const char *manifest_uri)
{
    struct rk_err err;
    char why[128];
    char server[64] = "";
    for (size_t i = 0; i < n; i++) {
        struct redis_pull_result res;
        int store_result = STORE_OK;
        int rc = -1;
        for (unsigned attempt = 1; attempt <= BACKUP_ATTEMPTS; attempt++) {
            rc = pull_shard(j, file_uris[i], &res, &store_result, &err);
            if (rc == 0 || rk_task_cancelled(j->run)) break;
            if (!retryable(store_result) || attempt == BACKUP_ATTEMPTS) break;
            unsigned wait_ms = BACKOFF_FIRST_MS << (attempt - 1);
            rk_log(RK_LOG_WARN, "backup",
                   "msg=\"backup attempt failed; trying again\" task=%s db=%lld attempt=%u "
                   "wait_ms=%u err=\"%s\"",
                   rk_task_id(j->run), (long long)j->db_id, attempt, wait_ms, err.msg);
            if (!backoff(j, wait_ms)) break;
        }
        if (rc < 0) {
            /* A write that failed in transport may have failed only in
             * its answer (the rename or the upload's completion done, the
             * reply lost): this shard's file may be there too. A refusal
             * wrote nothing, and its delete would only be refused again. */
            remove_objects(j, file_uris, retryable(store_result) ? i + 1 : i);
            if (rk_task_cancelled(j->run))
                return job_fail(j, "GENERAL_ERROR", 409, "%s", cancel_reason(j, why, sizeof(why)));
            if (!retryable(store_result))
                return job_fail(j, "DATABASE_BACKUP_FAILED", 400,
                                "backup of database %lld to %s failed: %s", (long long)j->db_id,
                                j->shown, err.msg);
            return job_fail(j, "DATABASE_BACKUP_FAILED", 400,
                            "backup of database %lld to %s failed after %d attempts: %s",
                            (long long)j->db_id, j->shown, BACKUP_ATTEMPTS, err.msg);
        }
        files[i].size_bytes = res.stored_bytes;
        files[i].rdb_bytes = res.rdb_bytes;
        files[i].keys = res.keys;
        files[i].rdb_version = res.rdb_version;
        memcpy(files[i].sha256, res.sha256, sizeof(files[i].sha256));
        if (!server[0]) snprintf(server, sizeof(server), "%s", res.snapshot.server);
    }

    char version[48];
    server_version(server, j->db.redis_version, version, sizeof(version));
    row->finished_ms = rk_now_ms();
    struct backup_manifest m = {
        .database_id = j->db_id,
        .subscription_id = j->db.subscription_id,
        .database_name = j->db.name,
        .task_id = rk_task_id(j->run),
        .started_ms = row->started_ms,
        .finished_ms = row->finished_ms,
        .redis_version = version,
        .server = server,
        .stem = stem,
        .scheduled = j->scheduled,
        .files = files,
        .nfiles = n,
    };
    char *text = backup_manifest_render(&m);
    int rc = -1, store_result = STORE_OK;
    for (unsigned attempt = 1; attempt <= BACKUP_ATTEMPTS; attempt++) {
        rc = write_small(j, manifest_uri, text, &store_result, &err);
        if (rc == 0 || rk_task_cancelled(j->run) || !retryable(store_result) ||
            attempt == BACKUP_ATTEMPTS)
            break;
        if (!backoff(j, BACKOFF_FIRST_MS << (attempt - 1))) break;
    }
    free(text);
    if (rc < 0) {
        /* The manifest first (the write may have failed only in its reply),
         * so that no manifest is left naming files that are gone. */
        remove_object(j, manifest_uri);
        remove_objects(j, file_uris, n);
        if (rk_task_cancelled(j->run))
            return job_fail(j, "GENERAL_ERROR", 409, "%s", cancel_reason(j, why, sizeof(why)));
        return job_fail(j, "DATABASE_BACKUP_FAILED", 400,
                        "backup of database %lld to %s: the manifest could not be written (the "
                        "backup's files were removed): %s",
                        (long long)j->db_id, j->shown, err.msg);
    }
    row->redis_version = xstrdup(version);
    return 0;
}

static int run_backup(struct rk_task_run *run)
{
    struct job j = {.run = run, .svc = rk_task_service(run), .db_id = rk_task_database_id(run)};
    struct rk_fail f;
    struct rk_err err;
    struct backup_schedule sched = {0};
    struct rk_backup row = {0};
    struct backup_file *files = NULL;
    char **file_uris = NULL;
    char *manifest_uri = NULL;
    char *stem = NULL;
    size_t n = 0;
    int rc = -1;

    if (rk_service_db_lookup(j.svc, j.db_id, &j.db, &f) < 0) {
        rk_task_fail(run, f.type, f.http, "%s", f.description);
        goto done;
    }
    if (strcmp(j.db.status, "deleting") == 0) {
        rk_task_fail(run, "DATABASE_NOT_ACTIVE", 409, "database %lld is being deleted",
                     (long long)j.db_id);
        goto done;
    }
    schedule_from_db(&j.db, &sched);
    if (load_params(&j) < 0 || choose_destination(&j, &sched) < 0) goto done;

    j.scfg = *j.svc->store; /* shares the token cache; never freed here */
    j.scfg.cancelled = job_cancelled;
    j.scfg.cancel_arg = run;
    redis_config_init(&j.rcfg);
    j.rcfg.cancelled = job_cancelled;
    j.rcfg.cancel_arg = run;

    /* Names: one file per shard and the manifest, under the destination. */
    row.started_ms = rk_now_ms();
    n = j.db.shards > 0 ? (size_t)j.db.shards : 1;
    stem = backup_stem(j.db.name, j.db_id, row.started_ms);
    files = xcalloc(n, sizeof(*files));
    file_uris = xcalloc(n, sizeof(*file_uris));
    for (size_t i = 0; i < n; i++) {
        files[i].name = backup_file_name(stem, (unsigned)i + 1, (unsigned)n);
        files[i].shard = (unsigned)i + 1;
        files[i].shards = (unsigned)n;
        file_uris[i] = store_uri_join(j.destination, files[i].name, &err);
    }
    char *manifest_name = backup_manifest_name(stem);
    manifest_uri = store_uri_join(j.destination, manifest_name, &err);
    free(manifest_name);
    for (size_t i = 0; i < n; i++)
        if (!file_uris[i]) manifest_uri = (free(manifest_uri), NULL);
    if (!manifest_uri) {
        rk_task_fail(run, "DATABASE_INVALID_BACKUP_PATH", 400, "backup path %s: %s", j.shown,
                     err.msg);
        goto done;
    }
    if (n > 1) {
        /* Databases are single-shard (numberOfShards > 1 is refused); the
         * names and the manifest already cover n files. */
        rk_task_fail(
            run, "DATABASE_BACKUP_FAILED", 400,
            "database %lld has %zu shards; this version backs up single-shard databases only",
            (long long)j.db_id, n);
        goto done;
    }

    /* The catalog knows the backup before anything is written: a crash
     * leaves an in-progress row, which the next start ends and cleans up. */
    row.database_id = j.db_id;
    snprintf(row.task_id, sizeof(row.task_id), "%s", rk_task_id(run));
    snprintf(row.status, sizeof(row.status), "%s", BACKUP_IN_PROGRESS);
    row.destination = xstrdup(j.destination);
    row.files = backup_files_json(files, n);
    row.manifest = xstrdup(manifest_uri);
    if (rk_service_backup_insert(j.svc, &row, &row.id, &err) < 0) {
        rk_task_fail(run, "GENERAL_ERROR", 500, "%s", err.msg);
        goto done;
    }
    rk_task_set_description(run, "Backing up database %lld to %s", (long long)j.db_id, j.shown);
    rk_log(RK_LOG_INFO, "backup",
           "msg=\"backup started\" task=%s db=%lld backup=%lld destination=\"%s\" scheduled=%s",
           rk_task_id(run), (long long)j.db_id, (long long)row.id, j.shown,
           j.scheduled ? "yes" : "no");

    if (take_backup(&j, &row, stem, files, n, file_uris, manifest_uri) < 0) {
        snprintf(row.status, sizeof(row.status), "%s", BACKUP_FAILED);
        row.finished_ms = rk_now_ms();
        free(row.error);
        row.error = xstrdup(j.error);
        if (rk_service_backup_update(j.svc, &row, &err) < 0)
            rk_log(RK_LOG_ERROR, "backup",
                   "msg=\"backup failure not recorded\" backup=%lld err=\"%s\"", (long long)row.id,
                   err.msg);
        goto done;
    }

    snprintf(row.status, sizeof(row.status), "%s", BACKUP_SUCCEEDED);
    row.size_bytes = 0;
    row.keys = 0;
    for (size_t i = 0; i < n; i++) {
        row.size_bytes += files[i].size_bytes;
        row.keys += files[i].keys;
    }
    row.rdb_version = files[0].rdb_version;
    row.sha256 = xstrdup(files[0].sha256);
    free(row.files);
    row.files = backup_files_json(files, n);
    if (rk_service_backup_update(j.svc, &row, &err) < 0) {
        /* The files are complete, but a backup the catalog does not know
         * would never be pruned: fail, and say where it is. */
        rk_task_fail(run, "GENERAL_ERROR", 500, "backup written to %s but not recorded: %s",
                     j.shown, err.msg);
        goto done;
    }
    set_resource(run, j.db_id, backup_resource(&row, files, n, manifest_uri));
    rk_log(RK_LOG_INFO, "backup",
           "msg=\"backup completed\" task=%s db=%lld backup=%lld bytes=%llu keys=%llu ms=%llu",
           rk_task_id(run), (long long)j.db_id, (long long)row.id,
           (unsigned long long)row.size_bytes, (unsigned long long)row.keys,
           (unsigned long long)(row.finished_ms - row.started_ms));
    if (sched.enabled && strcmp(sched.path, j.destination) == 0)
        backup_retention_apply(j.svc, j.svc->store, j.db_id, j.destination, row.id, &sched,
                               rk_now_ms());
    rc = 0;
done:
    for (size_t i = 0; i < n; i++) {
        backup_file_clear(&files[i]);
        free(file_uris[i]);
    }
    free(files);
    free(file_uris);
    free(manifest_uri);
    free(stem);
    rk_backup_clear(&row);
    schedule_clear(&sched);
    free(j.adhoc);
    free(j.destination);
    free(j.shown);
    rk_db_clear(&j.db);
    return rc;
}

/* ---- GET .../backup ---- */

static int run_backup_status(struct rk_task_run *run)
{
    struct rk_service *svc = rk_task_service(run);
    int64_t db_id = rk_task_database_id(run);
    struct rk_err err;
    struct rk_backup *list;
    size_t n;
    if (catalog_backup_list(svc->cat, db_id, &list, &n, &err) < 0)
        return rk_task_fail(run, "GENERAL_ERROR", 500, "%s", err.msg);
    json_t *o = json_object();
    json_object_set_new(o, "databaseId", json_integer(db_id));
    json_object_set_new(o, "status", json_string(n ? list[0].status : "idle"));
    if (n) {
        const struct rk_backup *b = &list[0];
        json_object_set_new(o, "backupId", json_integer(b->id));
        char *shown = store_uri_redact(b->destination ? b->destination : "");
        json_object_set_new(o, "destination", json_string(shown));
        free(shown);
        char ts[32];
        rk_format_iso8601(b->started_ms, ts, sizeof(ts));
        json_object_set_new(o, "startedAt", json_string(ts));
        if (b->finished_ms) {
            rk_format_iso8601(b->finished_ms, ts, sizeof(ts));
            json_object_set_new(o, "finishedAt", json_string(ts));
        }
        if (b->manifest) {
            shown = store_uri_redact(b->manifest);
            json_object_set_new(o, "manifest", json_string(shown));
            free(shown);
        }
        json_t *files = b->files ? json_loads(b->files, 0, NULL) : NULL;
        json_object_set_new(o, "files", files ? files : json_array());
        if (b->error) json_object_set_new(o, "error", json_string(b->error));
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].status, BACKUP_SUCCEEDED) == 0 && list[i].finished_ms) {
            char ts[32];
            rk_format_iso8601(list[i].finished_ms, ts, sizeof(ts));
            json_object_set_new(o, "lastBackupTime", json_string(ts));
            break;
        }
    }
    for (size_t i = 0; i < n; i++) rk_backup_clear(&list[i]);
    free(list);
    set_resource(run, db_id, o);
    return 0;
}

/* ---- what the rest of the service asks ---- */

int backup_next_due(struct rk_service *svc, const struct rk_db *db, const struct backup_schedule *s,
                    uint64_t *due, struct rk_err *err)
{
    *due = 0;
    if (!s->enabled) return 0;
    /* The newest backup usually went to the schedule's destination: one row
     * then, not the database's whole history on every scheduler tick. */
    struct rk_backup latest;
    int found = catalog_backup_latest(svc->cat, db->id, &latest, err);
    if (found < 0) return -1;
    uint64_t last_ms = found ? schedule_last_backup_ms(s, &latest, 1) : 0;
    bool elsewhere = found && !last_ms;
    if (found) rk_backup_clear(&latest);
    if (elsewhere) {
        struct rk_backup *list;
        size_t n;
        if (catalog_backup_list(svc->cat, db->id, &list, &n, err) < 0) return -1;
        last_ms = schedule_last_backup_ms(s, list, n);
        for (size_t i = 0; i < n; i++) rk_backup_clear(&list[i]);
        free(list);
    }
    *due = schedule_next_due(s, svc->backup_hour_ms, db->created_ms, schedule_since(db, last_ms));
    return 0;
}

uint64_t rk_service_backup_next(struct rk_service *svc, const struct rk_db *db)
{
    struct backup_schedule s;
    struct rk_err err;
    uint64_t next = 0;
    schedule_from_db(db, &s);
    if (backup_next_due(svc, db, &s, &next, &err) < 0) next = 0;
    schedule_clear(&s);
    return next;
}

int backup_recover(struct rk_service *svc, struct rk_err *err)
{
    struct rk_backup *list;
    size_t n;
    if (catalog_backup_list_status(svc->cat, BACKUP_IN_PROGRESS, &list, &n, err) < 0) return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct rk_backup *b = &list[i];
        /* The files may be committed without their manifest (the crash came
         * between the two), or the manifest too. The row says so until the
         * scheduler thread has removed them (scheduler.c), so that a daemon
         * stopping again before that, or a store that is down, does not
         * forget them. */
        snprintf(b->status, sizeof(b->status), "%s", BACKUP_INTERRUPTED);
        if (!b->finished_ms) b->finished_ms = rk_now_ms();
        free(b->error);
        b->error = xstrdup(
            "the daemon stopped while this backup was running; what it wrote is being removed");
        rc = rk_service_backup_update(svc, b, err);
    }
    if (n)
        rk_log(RK_LOG_WARN, "backup",
               "msg=\"backups interrupted by the last stop marked failed\" count=%zu", n);
    for (size_t i = 0; i < n; i++) rk_backup_clear(&list[i]);
    free(list);
    return rc;
}

const struct rk_task_kind rk_kind_backup = {BACKUP_COMMAND,
                                            RK_TASK_PER_DATABASE | RK_TASK_BACKUP_SLOT, run_backup};
const struct rk_task_kind rk_kind_backup_status = {BACKUP_STATUS_COMMAND, 0, run_backup_status};
