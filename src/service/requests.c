/* The requests the api makes. Each checks what can be checked at once,
 * writes the catalog in one transaction and queues the task; none waits for
 * a redis-server or a store. */
#include "service/internal.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int internal(struct rk_fail *f, const struct rk_err *err)
{
    rk_log(RK_LOG_ERROR, "service", "msg=\"request failed\" err=\"%s\"", err->msg);
    return rk_fail_set(f, 500, "GENERAL_ERROR", "%s", err->msg);
}

/* Ends a transaction that failed with a catalog error. */
static int abort_internal(struct rk_service *svc, struct rk_fail *f, const struct rk_err *err)
{
    catalog_rollback(svc->cat);
    return internal(f, err);
}

static int sub_missing(struct rk_fail *f, int64_t id)
{
    return rk_fail_set(f, 404, "SUBSCRIPTION_NOT_FOUND", "subscription %lld not found", (long long)id);
}

static int db_missing(struct rk_fail *f, int64_t sub, int64_t id)
{
    return rk_fail_set(f, 404, "DATABASE_NOT_FOUND", "database %lld not found in subscription %lld",
                       (long long)id, (long long)sub);
}

/* Commits and queues a task recorded in the open transaction. */
static int commit_and_queue(struct rk_service *svc, struct rk_task *task, struct rk_fail *f)
{
    struct rk_err err;
    if (catalog_commit(svc->cat, &err) < 0) {
        rk_task_clear(task);
        return internal(f, &err);
    }
    if (svc->tasks) tasks_enqueue(svc->tasks, task->id, task->command_type, task->database_id);
    return 0;
}

/* ---- subscriptions ---- */

int rk_service_subscription_create(struct rk_service *svc, const char *name, struct rk_task *task,
                                   struct rk_fail *f)
{
    struct rk_err err;
    if (name) {
        size_t n = strlen(name);
        if (n < 1 || n > 100)
            return rk_fail_set(f, 400, "INVALID_FIELD_VALUE", "name: must be 1-100 characters");
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
                return rk_fail_set(f, 400, "INVALID_FIELD_VALUE",
                                   "name: character %zu is a control character", i + 1);
    }
    int64_t id;
    if (catalog_begin(svc->cat, &err) < 0) return internal(f, &err);
    if (catalog_sub_insert(svc->cat, name ? name : "subscription", "pending", rk_now_ms(), &id, &err) < 0 ||
        task_record(svc->cat, "subscriptionCreateRequest", id, 0, NULL, task, &err) < 0)
        return abort_internal(svc, f, &err);
    return commit_and_queue(svc, task, f);
}

int rk_service_subscription_get(struct rk_service *svc, int64_t id, struct rk_subscription *out,
                                struct rk_fail *f)
{
    struct rk_err err;
    int found = catalog_sub_get(svc->cat, id, out, &err);
    if (found < 0) return internal(f, &err);
    return found ? 0 : sub_missing(f, id);
}

int rk_service_subscription_list(struct rk_service *svc, struct rk_subscription **out, size_t *n,
                                 struct rk_fail *f)
{
    struct rk_err err;
    return catalog_sub_list(svc->cat, out, n, &err) < 0 ? internal(f, &err) : 0;
}

int rk_service_subscription_delete(struct rk_service *svc, int64_t id, struct rk_task *task,
                                   struct rk_fail *f)
{
    struct rk_err err;
    struct rk_subscription sub;
    if (catalog_begin(svc->cat, &err) < 0) return internal(f, &err);
    int found = catalog_sub_get(svc->cat, id, &sub, &err);
    if (found < 0) return abort_internal(svc, f, &err);
    if (!found) {
        catalog_rollback(svc->cat);
        return sub_missing(f, id);
    }
    int64_t count = sub.database_count;
    rk_subscription_clear(&sub);
    if (count > 0) {
        catalog_rollback(svc->cat);
        return rk_fail_set(f, 409, "SUBSCRIPTION_NOT_EMPTY",
                           "subscription %lld still holds %lld database(s): delete them first",
                           (long long)id, (long long)count);
    }
    if (catalog_sub_set_status(svc->cat, id, "deleting", &err) < 0 ||
        task_record(svc->cat, "subscriptionDeleteRequest", id, 0, NULL, task, &err) < 0)
        return abort_internal(svc, f, &err);
    return commit_and_queue(svc, task, f);
}

/* ---- databases ---- */

static int check_redis_version(const struct rk_service *svc, const struct rk_db_spec *spec,
                               struct rk_fail *f)
{
    if (!spec->has_redis_version) return 0;
    const char *want = spec->redis_version, *have = svc->redis_version;
    size_t n = strlen(want);
    /* "7", "7.0" and "7.0.15" all name the one version this daemon runs. */
    if (strcmp(want, "default") == 0 || strcmp(want, "latest") == 0 ||
        (n > 0 && strncmp(want, have, n) == 0 && (have[n] == '\0' || have[n] == '.')))
        return 0;
    return rk_fail_set(f, 400, "REDIS_VERSION_NOT_AVAILABLE",
                       "redisVersion: '%.32s' is not available; this daemon runs redis-server %s",
                       want, have);
}

/* A port for a new redis-server: free in the catalog and on the machine.
 * In the caller's transaction, so two requests never get the same port. */
static int allocate_port(struct rk_service *svc, int64_t except_db, unsigned avoid, unsigned *out,
                         struct rk_fail *f)
{
    struct rk_err err;
    for (unsigned port = svc->cfg.ports.first; port <= svc->cfg.ports.last; port++) {
        if (port == avoid) continue;
        int taken = catalog_db_port_taken(svc->cat, port, except_db, &err);
        if (taken < 0) return internal(f, &err);
        if (!taken && port_bindable(svc->cfg.db_host, port)) {
            *out = port;
            return 0;
        }
    }
    return rk_fail_set(f, 409, "NO_FREE_PORT", "no free port left in databasePorts %u-%u",
                       svc->cfg.ports.first, svc->cfg.ports.last);
}

static int claim_port(struct rk_service *svc, unsigned port, int64_t except_db, struct rk_fail *f)
{
    struct rk_err err;
    int taken = catalog_db_port_taken(svc->cat, port, except_db, &err);
    if (taken < 0) return internal(f, &err);
    if (taken)
        return rk_fail_set(f, 409, "DATABASE_PORT_IN_USE", "port %u is used by another database", port);
    if (!port_bindable(svc->cfg.db_host, port))
        return rk_fail_set(f, 409, "DATABASE_PORT_IN_USE",
                           "port %u is in use by another program on this machine", port);
    return 0;
}

static int check_name_free(struct rk_service *svc, int64_t sub_id, const char *name, int64_t except,
                           struct rk_fail *f)
{
    struct rk_err err;
    int taken = catalog_db_name_taken(svc->cat, sub_id, name, except, &err);
    if (taken < 0) return internal(f, &err);
    if (taken)
        return rk_fail_set(f, 409, "DATABASE_NAME_IN_USE",
                           "subscription %lld already has a database named '%s'", (long long)sub_id,
                           name);
    return 0;
}

int rk_service_db_create(struct rk_service *svc, int64_t sub_id, const struct rk_db_spec *spec,
                         struct rk_task *task, struct rk_fail *f)
{
    struct rk_err err;
    struct rk_subscription sub;
    if (rk_db_spec_check(spec, true, f) < 0 || backup_settings_check(spec, NULL, f) < 0 ||
        check_redis_version(svc, spec, f) < 0)
        return -1;
    if (catalog_begin(svc->cat, &err) < 0) return internal(f, &err);
    int found = catalog_sub_get(svc->cat, sub_id, &sub, &err);
    if (found < 0) return abort_internal(svc, f, &err);
    bool deleting = found && strcmp(sub.status, "deleting") == 0;
    if (found) rk_subscription_clear(&sub);
    if (!found || deleting) {
        catalog_rollback(svc->cat);
        return deleting ? rk_fail_set(f, 409, "SUBSCRIPTION_NOT_ACTIVE",
                                      "subscription %lld is being deleted", (long long)sub_id)
                        : sub_missing(f, sub_id);
    }
    struct rk_db db = {0};
    db.subscription_id = sub_id;
    db.memory_limit_gb = svc->cfg.default_memory_gb;
    snprintf(db.status, sizeof(db.status), "pending");
    snprintf(db.protocol, sizeof(db.protocol), "redis");
    snprintf(db.data_persistence, sizeof(db.data_persistence), "none");
    snprintf(db.eviction_policy, sizeof(db.eviction_policy), "volatile-lru");
    snprintf(db.redis_version, sizeof(db.redis_version), "%s", svc->redis_version);
    db.shards = 1;
    db_spec_apply(spec, &db);
    if (!spec->has_password) {
        char pw[33];
        rk_random_token(pw, 32);
        db.password = xstrdup(pw);
    }
    int rc = check_name_free(svc, sub_id, db.name, 0, f);
    if (rc == 0) rc = spec->has_port ? claim_port(svc, db.port, 0, f) : allocate_port(svc, 0, 0, &db.port, f);
    if (rc == 0 && db.replication) rc = allocate_port(svc, 0, db.port, &db.replica_port, f);
    if (rc < 0) {
        catalog_rollback(svc->cat);
        rk_db_clear(&db);
        return -1;
    }
    db.created_ms = db.updated_ms = rk_now_ms();
    if (catalog_db_insert(svc->cat, &db, &err) < 0 ||
        task_record(svc->cat, "databaseCreateRequest", sub_id, db.id, NULL, task, &err) < 0) {
        rk_db_clear(&db);
        return abort_internal(svc, f, &err);
    }
    rk_log(RK_LOG_INFO, "service", "msg=\"database accepted\" db=%lld sub=%lld port=%u task=%s",
           (long long)db.id, (long long)sub_id, db.port, task->id);
    rk_db_clear(&db);
    return commit_and_queue(svc, task, f);
}

/* Reads a database and checks it belongs to the subscription. */
static int load_db(struct rk_service *svc, int64_t sub_id, int64_t db_id, struct rk_db *out,
                   struct rk_fail *f)
{
    struct rk_err err;
    struct rk_subscription sub;
    int found = catalog_sub_get(svc->cat, sub_id, &sub, &err);
    if (found < 0) return internal(f, &err);
    if (!found) return sub_missing(f, sub_id);
    rk_subscription_clear(&sub);
    found = catalog_db_get(svc->cat, db_id, out, &err);
    if (found < 0) return internal(f, &err);
    if (!found || out->subscription_id != sub_id) {
        if (found) rk_db_clear(out);
        return db_missing(f, sub_id, db_id);
    }
    return 0;
}

int rk_service_db_get(struct rk_service *svc, int64_t sub_id, int64_t db_id, struct rk_db *out,
                      struct rk_fail *f)
{
    return load_db(svc, sub_id, db_id, out, f);
}

int rk_service_db_lookup(struct rk_service *svc, int64_t db_id, struct rk_db *out, struct rk_fail *f)
{
    struct rk_err err;
    int found = catalog_db_get(svc->cat, db_id, out, &err);
    if (found < 0) return internal(f, &err);
    if (!found) return rk_fail_set(f, 404, "DATABASE_NOT_FOUND", "database %lld not found", (long long)db_id);
    return 0;
}

int rk_service_db_list(struct rk_service *svc, int64_t sub_id, int64_t offset, int64_t limit,
                       struct rk_db **out, size_t *n, int64_t *total, struct rk_fail *f)
{
    struct rk_err err;
    struct rk_subscription sub;
    *out = NULL;
    *n = 0;
    int found = catalog_sub_get(svc->cat, sub_id, &sub, &err);
    if (found < 0) return internal(f, &err);
    if (!found) return sub_missing(f, sub_id);
    rk_subscription_clear(&sub);
    if (catalog_db_count(svc->cat, sub_id, total, &err) < 0 ||
        catalog_db_list(svc->cat, sub_id, offset, limit, out, n, &err) < 0)
        return internal(f, &err);
    return 0;
}

int rk_service_db_update(struct rk_service *svc, int64_t sub_id, int64_t db_id,
                         const struct rk_db_spec *spec, struct rk_task *task, struct rk_fail *f)
{
    struct rk_err err;
    struct rk_db db;
    if (rk_db_spec_check(spec, false, f) < 0 || check_redis_version(svc, spec, f) < 0)
        return -1;
    if (catalog_begin(svc->cat, &err) < 0) return internal(f, &err);
    if (load_db(svc, sub_id, db_id, &db, f) < 0) {
        catalog_rollback(svc->cat);
        return -1;
    }
    int rc = 0;
    if (strcmp(db.status, "deleting") == 0)
        rc = rk_fail_set(f, 409, "DATABASE_NOT_ACTIVE", "database %lld is being deleted", (long long)db_id);
    else if (spec->has_port && (unsigned)spec->port != db.port)
        rc = rk_fail_set(f, 400, "INVALID_FIELD_VALUE",
                         "port: a database keeps the port it was created with (%u)", db.port);
    else if (spec->has_name)
        rc = check_name_free(svc, sub_id, spec->name, db_id, f);
    if (rc == 0) rc = backup_settings_check(spec, &db, f);
    char *params = rc == 0 ? db_spec_to_json(spec) : NULL;
    if (rc == 0 && strcmp(db.status, "active") == 0 &&
        catalog_db_set_status(svc->cat, db_id, "active-change-pending", NULL, &err) < 0)
        rc = internal(f, &err);
    if (rc == 0 && task_record(svc->cat, "databaseUpdateRequest", sub_id, db_id, params, task, &err) < 0)
        rc = internal(f, &err);
    free(params);
    rk_db_clear(&db);
    if (rc < 0) {
        catalog_rollback(svc->cat);
        return -1;
    }
    return commit_and_queue(svc, task, f);
}

int rk_service_db_delete(struct rk_service *svc, int64_t sub_id, int64_t db_id,
                         struct rk_task *task, struct rk_fail *f)
{
    struct rk_err err;
    struct rk_db db;
    if (catalog_begin(svc->cat, &err) < 0) return internal(f, &err);
    if (load_db(svc, sub_id, db_id, &db, f) < 0) {
        catalog_rollback(svc->cat);
        return -1;
    }
    bool deleting = strcmp(db.status, "deleting") == 0;
    rk_db_clear(&db);
    if (deleting) {
        catalog_rollback(svc->cat);
        return rk_fail_set(f, 409, "DATABASE_NOT_ACTIVE", "database %lld is already being deleted",
                           (long long)db_id);
    }
    if (catalog_db_set_status(svc->cat, db_id, "deleting", NULL, &err) < 0 ||
        task_record(svc->cat, "databaseDeleteRequest", sub_id, db_id, NULL, task, &err) < 0)
        return abort_internal(svc, f, &err);
    if (catalog_commit(svc->cat, &err) < 0) {
        rk_task_clear(task);
        return internal(f, &err);
    }
    if (svc->tasks) {
        char reason[160];
        snprintf(reason, sizeof(reason), "cancelled: database %lld is being deleted (task %s)",
                 (long long)db_id, task->id);
        tasks_cancel_database(svc->tasks, db_id, task->id, reason);
        tasks_enqueue(svc->tasks, task->id, task->command_type, db_id);
    }
    return 0;
}

/* ---- tasks ---- */

int rk_service_submit(struct rk_service *svc, const char *command_type, int64_t sub_id,
                      int64_t db_id, const char *params, struct rk_task *task, struct rk_fail *f)
{
    struct rk_err err;
    if (svc->tasks && !tasks_kind(svc->tasks, command_type))
        return rk_fail_set(f, 501, "NOT_IMPLEMENTED",
                           "%s: this build of rdbkeep has no job for it yet", command_type);
    if (catalog_begin(svc->cat, &err) < 0) return internal(f, &err);
    if (db_id) {
        struct rk_db db;
        if (load_db(svc, sub_id, db_id, &db, f) < 0) {
            catalog_rollback(svc->cat);
            return -1;
        }
        bool deleting = strcmp(db.status, "deleting") == 0;
        rk_db_clear(&db);
        if (deleting) {
            catalog_rollback(svc->cat);
            return rk_fail_set(f, 409, "DATABASE_NOT_ACTIVE", "database %lld is being deleted",
                               (long long)db_id);
        }
    }
    if (task_record(svc->cat, command_type, sub_id, db_id, params, task, &err) < 0)
        return abort_internal(svc, f, &err);
    return commit_and_queue(svc, task, f);
}

int rk_service_task_get(struct rk_service *svc, const char *id, struct rk_task *out,
                        struct rk_fail *f)
{
    struct rk_err err;
    int found = strlen(id) <= RK_TASK_ID_LEN ? catalog_task_get(svc->cat, id, out, &err) : 0;
    if (found < 0) return internal(f, &err);
    if (!found) return rk_fail_set(f, 404, "TASK_NOT_FOUND", "task '%.40s' not found", id);
    return 0;
}

int rk_service_task_list(struct rk_service *svc, int64_t offset, int64_t limit,
                         struct rk_task **out, size_t *n, int64_t *total, struct rk_fail *f)
{
    struct rk_err err;
    if (catalog_task_count(svc->cat, NULL, total, &err) < 0 ||
        catalog_task_list(svc->cat, offset, limit, out, n, &err) < 0)
        return internal(f, &err);
    return 0;
}

/* ---- backups ---- */

int rk_service_backup_latest(struct rk_service *svc, int64_t db_id, struct rk_backup *out,
                             bool *found, struct rk_fail *f)
{
    struct rk_err err;
    int rc = catalog_backup_latest(svc->cat, db_id, out, &err);
    if (rc < 0) return internal(f, &err);
    *found = rc > 0;
    if (*found) {
        char *masked = store_uri_redact(out->destination);
        free(out->destination);
        out->destination = masked;
    }
    return 0;
}

int rk_service_backup_list(struct rk_service *svc, int64_t sub_id, int64_t db_id,
                           struct rk_backup **out, size_t *n, struct rk_fail *f)
{
    struct rk_err err;
    struct rk_db db;
    *out = NULL;
    *n = 0;
    if (load_db(svc, sub_id, db_id, &db, f) < 0) return -1;
    rk_db_clear(&db);
    if (catalog_backup_list(svc->cat, db_id, out, n, &err) < 0) return internal(f, &err);
    for (size_t i = 0; i < *n; i++) {
        char *masked = store_uri_redact((*out)[i].destination);
        free((*out)[i].destination);
        (*out)[i].destination = masked;
    }
    return 0;
}

int rk_service_backup_insert(struct rk_service *svc, const struct rk_backup *b, int64_t *id,
                             struct rk_err *err)
{
    if (catalog_begin(svc->cat, err) < 0) return -1;
    if (catalog_backup_insert(svc->cat, b, id, err) < 0) {
        catalog_rollback(svc->cat);
        return -1;
    }
    return catalog_commit(svc->cat, err);
}

int rk_service_backup_update(struct rk_service *svc, const struct rk_backup *b, struct rk_err *err)
{
    if (catalog_begin(svc->cat, err) < 0) return -1;
    if (catalog_backup_update(svc->cat, b, err) < 0) {
        catalog_rollback(svc->cat);
        return -1;
    }
    return catalog_commit(svc->cat, err);
}

/* ---- the rest ---- */

int rk_service_db_pause(struct rk_service *svc, int64_t db_id, struct rk_err *err)
{
    return sup_db_pause(svc->sup, db_id, err);
}

int rk_service_db_resume(struct rk_service *svc, int64_t db_id, struct rk_err *err)
{
    return sup_db_resume(svc->sup, db_id, err);
}

int rk_service_metrics(struct rk_service *svc, struct rk_metrics *m, struct rk_fail *f)
{
    struct rk_err err;
    memset(m, 0, sizeof(*m));
    if (catalog_task_count(svc->cat, RK_TASK_RECEIVED, &m->tasks_received, &err) < 0 ||
        catalog_task_count(svc->cat, RK_TASK_RUNNING, &m->tasks_running, &err) < 0 ||
        catalog_task_count(svc->cat, RK_TASK_COMPLETED, &m->tasks_completed, &err) < 0 ||
        catalog_task_count(svc->cat, RK_TASK_ERROR, &m->tasks_error, &err) < 0 ||
        catalog_db_count(svc->cat, 0, &m->databases, &err) < 0 ||
        catalog_db_count_status(svc->cat, "active", &m->databases_active, &err) < 0 ||
        catalog_db_count_status(svc->cat, "error", &m->databases_error, &err) < 0 ||
        catalog_sub_count(svc->cat, &m->subscriptions, &err) < 0)
        return internal(f, &err);
    m->backups_running = svc->tasks ? tasks_backups_running(svc->tasks) : 0;
    m->bytes_moved = atomic_load(&svc->bytes_moved);
    m->redis_restarts = svc->sup ? sup_restarts(svc->sup) : 0;
    return 0;
}
