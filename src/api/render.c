/* The service's structs in Cloud's JSON shapes (and /metrics as Prometheus
 * text). Secrets leave only through security.password of one database;
 * backup paths are masked. */
#include "api/internal.h"
#include "store/store.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *iso_time(uint64_t ms)
{
    char ts[32];
    rk_format_iso8601(ms, ts, sizeof(ts));
    return json_string(ts);
}

json_t *render_link(const char *rel, const char *href, const char *method)
{
    return json_pack("{s:s, s:s, s:s}", "rel", rel, "href", href, "type", method);
}

/* Text that came from outside (a redis-server's log in a status reason) may
 * not be UTF-8; JSON output must be. */
static json_t *text(const char *s)
{
    json_t *v = json_string(s ? s : "");
    return v ? v : json_string("(text not valid UTF-8)");
}

static json_t *masked(const char *uri)
{
    char *m = store_uri_redact(uri);
    json_t *v = json_string(m);
    free(m);
    return v ? v : json_string("(not valid UTF-8)");
}

json_t *render_error(const struct rk_fail *f)
{
    char status[48];
    rk_http_status_text(f->http, status, sizeof(status));
    return json_pack("{s:{s:s, s:s, s:o}}", "error", "type", f->type, "status", status,
                     "description", text(f->description));
}

json_t *render_task(const struct rk_task *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "taskId", json_string(t->id));
    json_object_set_new(o, "commandType", json_string(t->command_type));
    json_object_set_new(o, "status", json_string(t->status));
    json_object_set_new(o, "description", text(t->description));
    json_object_set_new(o, "timestamp", iso_time(t->updated_ms));
    /* Always an object: a client reading response.error must find one. */
    json_t *resp = json_object();
    if (t->resource_id > 0) json_object_set_new(resp, "resourceId", json_integer(t->resource_id));
    if (t->resource) {
        json_t *r = json_loads(t->resource, 0, NULL);
        if (r) json_object_set_new(resp, "resource", r);
    }
    if (t->error_type)
        json_object_set_new(resp, "error",
                            json_pack("{s:o, s:o, s:o}", "type", text(t->error_type), "status",
                                      text(t->error_status ? t->error_status : "400 BAD_REQUEST"),
                                      "description", text(t->error_description)));
    json_object_set_new(o, "response", resp);
    double percent = 0;
    if (strcmp(t->status, RK_TASK_COMPLETED) == 0)
        percent = 100;
    else if (t->total_bytes)
        percent = round((double)t->bytes * 1000.0 / (double)t->total_bytes) / 10.0;
    json_object_set_new(o, "progress",
                        json_pack("{s:I, s:I, s:I, s:f}", "bytes", (json_int_t)t->bytes, "totalBytes",
                                  (json_int_t)t->total_bytes, "keys", (json_int_t)t->keys, "percent",
                                  percent));
    char href[80];
    snprintf(href, sizeof(href), "/v1/tasks/%s", t->id);
    json_object_set_new(o, "links", json_pack("[o]", render_link("self", href, "GET")));
    return o;
}

/* backup: {enableRemoteBackup, interval, timeUTC, destination, status,
 * lastBackupTime} from the settings and the last backup. */
static json_t *render_backup_settings(const struct rk_db *db, const struct rk_backup *latest)
{
    json_t *b = json_object();
    json_t *remote = db->remote_backup ? json_loads(db->remote_backup, 0, NULL) : NULL;
    json_object_set_new(b, "enableRemoteBackup", json_boolean(db->periodic_backup_path || remote));
    if (db->periodic_backup_path) {
        json_object_set_new(b, "interval", json_string("every-24-hours"));
        json_object_set_new(b, "destination", masked(db->periodic_backup_path));
    } else if (remote) {
        json_t *v;
        if ((v = json_object_get(remote, "interval"))) json_object_set(b, "interval", v);
        if ((v = json_object_get(remote, "timeUTC"))) json_object_set(b, "timeUTC", v);
        if ((v = json_object_get(remote, "storageType"))) json_object_set(b, "storageType", v);
        if ((v = json_object_get(remote, "storagePath")) && json_is_string(v))
            json_object_set_new(b, "destination", masked(json_string_value(v)));
    }
    json_decref(remote);
    json_object_set_new(b, "status", json_string(latest ? latest->status : "idle"));
    if (latest && strcmp(latest->status, "succeeded") == 0 && latest->finished_ms)
        json_object_set_new(b, "lastBackupTime", iso_time(latest->finished_ms));
    return b;
}

json_t *render_db(const struct rk_db *db, const char *public_host, bool with_password,
                  const struct rk_backup *latest)
{
    json_t *o = json_object();
    char endpoint[300];
    json_object_set_new(o, "databaseId", json_integer(db->id));
    json_object_set_new(o, "name", text(db->name));
    json_object_set_new(o, "protocol", json_string(db->protocol));
    json_object_set_new(o, "status", json_string(db->status));
    if (db->status_reason) json_object_set_new(o, "statusReason", text(db->status_reason));
    json_object_set_new(o, "memoryLimitInGb", json_real(db->memory_limit_gb));
    if (db->dataset_size_gb > 0) json_object_set_new(o, "datasetSizeInGb", json_real(db->dataset_size_gb));
    json_object_set_new(o, "memoryStorage", json_string("ram"));
    json_object_set_new(o, "dataPersistence", json_string(db->data_persistence));
    json_object_set_new(o, "dataEvictionPolicy", json_string(db->eviction_policy));
    json_object_set_new(o, "replication", json_boolean(db->replication));
    json_object_set_new(o, "supportOSSClusterApi", json_false());
    snprintf(endpoint, sizeof(endpoint), "%s:%u", public_host, db->port);
    json_object_set_new(o, "publicEndpoint", json_string(endpoint));
    json_object_set_new(o, "privateEndpoint", json_string(endpoint));
    json_object_set_new(o, "redisVersion", json_string(db->redis_version));
    json_object_set_new(o, "redisVersionCompliance", json_string(db->redis_version));
    json_object_set_new(o, "clustering", json_pack("{s:i}", "numberOfShards", db->shards));
    json_t *security = json_object();
    if (with_password) json_object_set_new(security, "password", text(db->password));
    json_object_set_new(security, "enableTls", json_false());
    json_object_set_new(o, "security", security);
    json_object_set_new(o, "backup", render_backup_settings(db, latest));
    if (db->periodic_backup_path)
        json_object_set_new(o, "periodicBackupPath", masked(db->periodic_backup_path));
    if (db->remote_backup) {
        json_t *rb = json_loads(db->remote_backup, 0, NULL);
        json_t *path = rb ? json_object_get(rb, "storagePath") : NULL;
        if (path && json_is_string(path)) json_object_set_new(rb, "storagePath", masked(json_string_value(path)));
        if (rb) json_object_set_new(o, "remoteBackup", rb);
    }
    json_object_set_new(o, "activatedOn", iso_time(db->created_ms));
    json_object_set_new(o, "lastModified", iso_time(db->updated_ms));
    char href[96];
    snprintf(href, sizeof(href), "/v1/subscriptions/%lld/databases/%lld", (long long)db->subscription_id,
             (long long)db->id);
    json_object_set_new(o, "links", json_pack("[o]", render_link("self", href, "GET")));
    return o;
}

json_t *render_subscription(const struct rk_subscription *s)
{
    char href[64];
    snprintf(href, sizeof(href), "/v1/subscriptions/%lld", (long long)s->id);
    return json_pack("{s:I, s:o, s:s, s:I, s:s, s:[], s:o, s:[o]}", "id", (json_int_t)s->id, "name",
                     text(s->name), "status", s->status, "numberOfDatabases",
                     (json_int_t)s->database_count, "memoryStorage", "ram", "cloudDetails",
                     "createdTimestamp", iso_time(s->created_ms), "links",
                     render_link("self", href, "GET"));
}

json_t *render_backup(const struct rk_backup *b)
{
    json_t *o = json_object();
    json_object_set_new(o, "backupId", json_integer(b->id));
    json_object_set_new(o, "databaseId", json_integer(b->database_id));
    if (b->task_id[0]) json_object_set_new(o, "taskId", json_string(b->task_id));
    json_object_set_new(o, "status", json_string(b->status));
    json_object_set_new(o, "destination", masked(b->destination ? b->destination : ""));
    json_object_set_new(o, "startedAt", iso_time(b->started_ms));
    if (b->finished_ms) json_object_set_new(o, "finishedAt", iso_time(b->finished_ms));
    json_object_set_new(o, "sizeBytes", json_integer((json_int_t)b->size_bytes));
    json_object_set_new(o, "keys", json_integer((json_int_t)b->keys));
    if (b->rdb_version) json_object_set_new(o, "rdbVersion", json_integer(b->rdb_version));
    if (b->redis_version) json_object_set_new(o, "redisVersion", json_string(b->redis_version));
    if (b->sha256) json_object_set_new(o, "sha256", json_string(b->sha256));
    json_t *files = b->files ? json_loads(b->files, 0, NULL) : NULL;
    json_object_set_new(o, "files", files ? files : json_array());
    if (b->manifest) json_object_set_new(o, "manifest", masked(b->manifest));
    if (b->error) json_object_set_new(o, "error", text(b->error));
    return o;
}

char *render_metrics(const struct rk_metrics *m)
{
    struct rk_buf b = {0};
    rk_buf_printf(&b, "# HELP rdbkeep_tasks Tasks in the catalog by state.\n"
                      "# TYPE rdbkeep_tasks gauge\n");
    const struct {
        const char *state;
        int64_t n;
    } tasks[] = {{RK_TASK_RECEIVED, m->tasks_received},
                 {RK_TASK_RUNNING, m->tasks_running},
                 {RK_TASK_COMPLETED, m->tasks_completed},
                 {RK_TASK_ERROR, m->tasks_error}};
    for (size_t i = 0; i < 4; i++)
        rk_buf_printf(&b, "rdbkeep_tasks{state=\"%s\"} %lld\n", tasks[i].state, (long long)tasks[i].n);
    rk_buf_printf(&b,
                  "# HELP rdbkeep_backups_running Backups running now.\n"
                  "# TYPE rdbkeep_backups_running gauge\n"
                  "rdbkeep_backups_running %lld\n"
                  "# HELP rdbkeep_bytes_moved_total Bytes moved by backups and imports since the "
                  "daemon started.\n"
                  "# TYPE rdbkeep_bytes_moved_total counter\n"
                  "rdbkeep_bytes_moved_total %" PRIu64 "\n"
                  "# HELP rdbkeep_databases Databases in the catalog by status.\n"
                  "# TYPE rdbkeep_databases gauge\n"
                  "rdbkeep_databases{status=\"active\"} %lld\n"
                  "rdbkeep_databases{status=\"error\"} %lld\n"
                  "rdbkeep_databases{status=\"other\"} %lld\n"
                  "# HELP rdbkeep_subscriptions Subscriptions in the catalog.\n"
                  "# TYPE rdbkeep_subscriptions gauge\n"
                  "rdbkeep_subscriptions %lld\n"
                  "# HELP rdbkeep_redis_restarts_total redis-server processes restarted after they "
                  "died, since the daemon started.\n"
                  "# TYPE rdbkeep_redis_restarts_total counter\n"
                  "rdbkeep_redis_restarts_total %" PRIu64 "\n",
                  (long long)m->backups_running, m->bytes_moved, (long long)m->databases_active,
                  (long long)m->databases_error,
                  (long long)(m->databases - m->databases_active - m->databases_error),
                  (long long)m->subscriptions, m->redis_restarts);
    rk_buf_append_byte(&b, '\0');
    return (char *)b.data;
}
