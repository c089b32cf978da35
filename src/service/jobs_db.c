/* The jobs behind subscription and database requests. They run on task
 * workers, one at a time per database. */
#include "service/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int catalog_failure(struct rk_task_run *run, const struct rk_err *err)
{
    return rk_task_fail(run, "GENERAL_ERROR", 500, "%s", err->msg);
}

static int run_subscription_create(struct rk_task_run *run)
{
    struct rk_service *svc = rk_task_service(run);
    int64_t id = rk_task_subscription_id(run);
    struct rk_err err;
    if (catalog_begin(svc->cat, &err) < 0) return catalog_failure(run, &err);
    if (catalog_sub_set_status(svc->cat, id, "active", &err) < 0) {
        catalog_rollback(svc->cat);
        return catalog_failure(run, &err);
    }
    if (catalog_commit(svc->cat, &err) < 0) return catalog_failure(run, &err);
    rk_task_set_resource(run, id, NULL);
    return 0;
}

static int run_subscription_delete(struct rk_task_run *run)
{
    struct rk_service *svc = rk_task_service(run);
    int64_t id = rk_task_subscription_id(run);
    struct rk_err err;
    int64_t count;
    if (catalog_begin(svc->cat, &err) < 0) return catalog_failure(run, &err);
    if (catalog_db_count(svc->cat, id, &count, &err) < 0) {
        catalog_rollback(svc->cat);
        return catalog_failure(run, &err);
    }
    if (count > 0) {
        /* A database was created after the delete was accepted. */
        if (catalog_sub_set_status(svc->cat, id, "active", &err) < 0 || catalog_commit(svc->cat, &err) < 0)
            return catalog_failure(run, &err);
        return rk_task_fail(run, "SUBSCRIPTION_NOT_EMPTY", 409,
                            "subscription %lld holds %lld database(s) again: delete them first",
                            (long long)id, (long long)count);
    }
    if (catalog_sub_delete(svc->cat, id, &err) < 0) {
        catalog_rollback(svc->cat);
        return catalog_failure(run, &err);
    }
    if (catalog_commit(svc->cat, &err) < 0) return catalog_failure(run, &err);
    rk_task_set_resource(run, id, NULL);
    return 0;
}

/* Sets a database's status unless a delete was accepted meanwhile. */
static int set_status(struct rk_service *svc, int64_t id, const char *status, const char *reason,
                      struct rk_err *err)
{
    struct rk_db now;
    if (catalog_begin(svc->cat, err) < 0) return -1;
    int found = catalog_db_get(svc->cat, id, &now, err);
    bool deleting = found > 0 && strcmp(now.status, "deleting") == 0;
    if (found > 0) rk_db_clear(&now);
    if (found < 0 || (found > 0 && !deleting && catalog_db_set_status(svc->cat, id, status, reason, err) < 0)) {
        catalog_rollback(svc->cat);
        return -1;
    }
    return catalog_commit(svc->cat, err);
}

/* Writes the database's row; a delete accepted meanwhile keeps its
 * "deleting" (the delete task runs next and needs the row as it is). */
static int save(struct rk_service *svc, struct rk_db *db, struct rk_err *err)
{
    struct rk_db now;
    if (catalog_begin(svc->cat, err) < 0) return -1;
    int found = catalog_db_get(svc->cat, db->id, &now, err);
    if (found > 0) {
        if (strcmp(now.status, "deleting") == 0) snprintf(db->status, sizeof(db->status), "deleting");
        rk_db_clear(&now);
    }
    if (found < 0 || (found > 0 && catalog_db_update(svc->cat, db, err) < 0)) {
        catalog_rollback(svc->cat);
        return -1;
    }
    return catalog_commit(svc->cat, err);
}

/* The database as the catalog has it now; fails the task when it is gone. */
static int load(struct rk_task_run *run, struct rk_db *db)
{
    struct rk_err err;
    int64_t id = rk_task_database_id(run);
    int found = catalog_db_get(rk_task_service(run)->cat, id, db, &err);
    if (found < 0) return catalog_failure(run, &err);
    if (!found)
        return rk_task_fail(run, "DATABASE_NOT_FOUND", 404, "database %lld no longer exists",
                            (long long)id);
    return 0;
}

static int run_database_create(struct rk_task_run *run)
{
    struct rk_service *svc = rk_task_service(run);
    struct rk_db db;
    struct rk_err err;
    if (load(run, &db) < 0) return -1;
    int rc = -1;
    char *dir = service_db_dir(svc, db.id);
    /* A shutdown lets the start finish (it is bounded by redisStartTimeoutSec);
     * a delete does not. */
    if (rk_task_cancelled_why(run) == RK_CANCEL_DATABASE_DELETED) {
        rk_task_fail(run, "GENERAL_ERROR", 409, "cancelled: database %lld is being deleted",
                     (long long)db.id);
    } else if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rk_task_fail(run, "GENERAL_ERROR", 500, "%s: cannot create: %s", dir, strerror(errno));
    } else if (backup_settings_probe(run, &db) == 0) {
        if (sup_db_start(svc->sup, &db, &err) < 0) {
            rk_task_fail(run, "GENERAL_ERROR", 500, "database %lld did not start: %s",
                         (long long)db.id, err.msg);
            if (set_status(svc, db.id, "error", err.msg, &err) < 0)
                rk_log(RK_LOG_ERROR, "service", "msg=\"status not recorded\" db=%lld err=\"%s\"",
                       (long long)db.id, err.msg);
        } else if (rk_task_cancelled_why(run) == RK_CANCEL_DATABASE_DELETED) {
            /* Deleted while it started: the delete task stops it next. */
            rk_task_fail(run, "GENERAL_ERROR", 409, "cancelled: database %lld is being deleted",
                         (long long)db.id);
        } else if (set_status(svc, db.id, "active", NULL, &err) < 0) {
            catalog_failure(run, &err);
        } else {
            rk_task_set_resource(run, db.id, NULL);
            rc = 0;
        }
    }
    free(dir);
    rk_db_clear(&db);
    return rc;
}

/* Allocates a replica port in its own transaction. */
static int replica_port(struct rk_service *svc, struct rk_db *db, struct rk_err *err)
{
    if (catalog_begin(svc->cat, err) < 0) return -1;
    for (unsigned port = svc->cfg.ports.first; port <= svc->cfg.ports.last; port++) {
        if (port == db->port) continue;
        int taken = catalog_db_port_taken(svc->cat, port, 0, err);
        if (taken < 0) {
            catalog_rollback(svc->cat);
            return -1;
        }
        if (!taken && port_bindable(svc->cfg.db_host, port)) {
            /* Claimed in the catalog at once; the rest of the row follows
             * when the update is applied. */
            struct rk_db claim;
            int found = catalog_db_get(svc->cat, db->id, &claim, err);
            if (found <= 0) {
                catalog_rollback(svc->cat);
                return found < 0 ? -1 : rk_err_set(err, "database %lld vanished", (long long)db->id);
            }
            claim.replica_port = port;
            int rc = catalog_db_update(svc->cat, &claim, err);
            rk_db_clear(&claim);
            if (rc < 0) {
                catalog_rollback(svc->cat);
                return -1;
            }
            db->replica_port = port;
            return catalog_commit(svc->cat, err);
        }
    }
    catalog_rollback(svc->cat);
    return rk_err_set(err, "no free port left in databasePorts %u-%u for the replica",
                      svc->cfg.ports.first, svc->cfg.ports.last);
}

/* A rename takes the name first, in one transaction with the check, so
 * two renames to one name cannot both pass; nothing else is applied when
 * the name is taken. 1: taken, 0: now this database's, -1: error. */
static int claim_name(struct rk_service *svc, const struct rk_db *db, struct rk_err *err)
{
    struct rk_db now;
    if (catalog_begin(svc->cat, err) < 0) return -1;
    int taken = catalog_db_name_taken(svc->cat, db->subscription_id, db->name, db->id, err);
    int found = taken == 0 ? catalog_db_get(svc->cat, db->id, &now, err) : 0;
    int rc = taken;
    if (taken == 0 && found > 0) {
        free(now.name);
        now.name = xstrdup(db->name);
        rc = catalog_db_update(svc->cat, &now, err);
        rk_db_clear(&now);
    } else if (taken == 0 && found < 0) {
        rc = -1;
    }
    if (rc != 0) {
        catalog_rollback(svc->cat);
        return rc;
    }
    return catalog_commit(svc->cat, err);
}

static int run_database_update(struct rk_task_run *run)
{
    struct rk_service *svc = rk_task_service(run);
    struct rk_db old, db;
    struct rk_db_spec spec;
    struct rk_err err;
    if (load(run, &old) < 0) return -1;
    if (db_spec_from_json(rk_task_params(run), &spec, &err) < 0) {
        rk_db_clear(&old);
        return rk_task_fail(run, "GENERAL_ERROR", 500, "%s", err.msg);
    }
    db_copy(&db, &old);
    db_spec_apply(&spec, &db);
    int rc = 0;
    const char *restore = strcmp(old.status, "active-change-pending") == 0 ? "active" : old.status;
    int taken = spec.has_name ? claim_name(svc, &db, &err) : 0;
    if (taken < 0)
        rc = catalog_failure(run, &err);
    else if (taken)
        rc = rk_task_fail(run, "DATABASE_NAME_IN_USE", 409,
                          "subscription %lld already has a database named '%s'",
                          (long long)db.subscription_id, db.name);
    if (rc == 0 && db.replication && !old.replication && !db.replica_port &&
        replica_port(svc, &db, &err) < 0)
        rc = rk_task_fail(run, "GENERAL_ERROR", 409, "%s", err.msg);
    if (rc == 0 && backup_settings_probe(run, &db) < 0) rc = -1;
    if (rc == 0) {
        struct catalog_procs procs;
        if (catalog_db_get_procs(svc->cat, db.id, &procs, &err) < 0)
            rc = catalog_failure(run, &err);
        else if (procs.supervised && sup_db_apply(svc->sup, &old, &db, &err) < 0)
            rc = rk_task_fail(run, "GENERAL_ERROR", 500, "database %lld: the change was not applied: %s",
                              (long long)db.id, err.msg);
    }
    if (!db.replication) db.replica_port = 0;
    if (rc == 0) {
        snprintf(db.status, sizeof(db.status), "%s", restore);
        db.updated_ms = rk_now_ms();
        if (save(svc, &db, &err) < 0)
            rc = catalog_failure(run, &err);
        else
            rk_task_set_resource(run, db.id, NULL);
    } else {
        /* Nothing of a failed update stays, its name included. */
        if (spec.has_name && taken == 0 && claim_name(svc, &old, &err) != 0)
            rk_log(RK_LOG_ERROR, "service", "msg=\"old name not restored\" db=%lld", (long long)db.id);
        if (set_status(svc, db.id, restore, old.status_reason, &err) < 0)
            rk_log(RK_LOG_ERROR, "service", "msg=\"status not recorded\" db=%lld err=\"%s\"",
                   (long long)db.id, err.msg);
    }
    rk_db_spec_clear(&spec);
    rk_db_clear(&db);
    rk_db_clear(&old);
    return rc;
}

static int run_database_delete(struct rk_task_run *run)
{
    struct rk_service *svc = rk_task_service(run);
    int64_t id = rk_task_database_id(run);
    struct rk_err err;
    struct rk_db db;
    if (load(run, &db) < 0) return -1;
    sup_db_stop(svc->sup, &db);
    rk_db_clear(&db);
    char *dir = service_db_dir(svc, id);
    int rc = remove_tree(dir, &err);
    free(dir);
    if (rc < 0) return rk_task_fail(run, "GENERAL_ERROR", 500, "database %lld: %s", (long long)id, err.msg);
    if (catalog_begin(svc->cat, &err) < 0) return catalog_failure(run, &err);
    if (catalog_db_delete(svc->cat, id, &err) < 0) {
        catalog_rollback(svc->cat);
        return catalog_failure(run, &err);
    }
    if (catalog_commit(svc->cat, &err) < 0) return catalog_failure(run, &err);
    rk_task_set_resource(run, id, NULL);
    return 0;
}

const struct rk_task_kind rk_kind_subscription_create = {"subscriptionCreateRequest", 0,
                                                         run_subscription_create};
const struct rk_task_kind rk_kind_subscription_delete = {"subscriptionDeleteRequest", 0,
                                                         run_subscription_delete};
const struct rk_task_kind rk_kind_database_create = {"databaseCreateRequest", RK_TASK_PER_DATABASE,
                                                     run_database_create};
const struct rk_task_kind rk_kind_database_update = {"databaseUpdateRequest", RK_TASK_PER_DATABASE,
                                                     run_database_update};
const struct rk_task_kind rk_kind_database_delete = {"databaseDeleteRequest", RK_TASK_PER_DATABASE,
                                                     run_database_delete};
