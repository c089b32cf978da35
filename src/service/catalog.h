/* The catalog: subscriptions, databases, tasks and backups in one SQLite file
 * in WAL mode. One writer connection (behind a mutex, one transaction at a
 * time) and a pool of reader connections, so readers never wait for a
 * writer's fsync. Private to the service module. */
#ifndef RDBKEEP_SERVICE_CATALOG_H
#define RDBKEEP_SERVICE_CATALOG_H

#include "service/service.h"

struct rk_catalog;

/* readers: how many reader connections (HTTP threads plus workers). */
struct rk_catalog *catalog_open(const char *path, unsigned readers, struct rk_err *err);
void catalog_close(struct rk_catalog *c);

/* Write transactions. Every catalog_* function that writes must run between
 * catalog_begin and catalog_commit/catalog_rollback on the same thread;
 * reads made inside see the transaction's own changes. */
int catalog_begin(struct rk_catalog *c, struct rk_err *err);
int catalog_commit(struct rk_catalog *c, struct rk_err *err);
void catalog_rollback(struct rk_catalog *c);

/* meta: small key/value settings. Returns 1 found, 0 missing, -1 error. */
int catalog_meta_get(struct rk_catalog *c, const char *key, char **value, struct rk_err *err);
int catalog_meta_set(struct rk_catalog *c, const char *key, const char *value, struct rk_err *err);

/* Subscriptions. get returns 1 found, 0 missing, -1 error. */
int catalog_sub_insert(struct rk_catalog *c, const char *name, const char *status, uint64_t now,
                       int64_t *id, struct rk_err *err);
int catalog_sub_get(struct rk_catalog *c, int64_t id, struct rk_subscription *out, struct rk_err *err);
int catalog_sub_list(struct rk_catalog *c, struct rk_subscription **out, size_t *n, struct rk_err *err);
int catalog_sub_set_status(struct rk_catalog *c, int64_t id, const char *status, struct rk_err *err);
int catalog_sub_delete(struct rk_catalog *c, int64_t id, struct rk_err *err);
int catalog_sub_count(struct rk_catalog *c, int64_t *n, struct rk_err *err);

/* Databases. insert assigns db->id. */
int catalog_db_insert(struct rk_catalog *c, struct rk_db *db, struct rk_err *err);
int catalog_db_get(struct rk_catalog *c, int64_t id, struct rk_db *out, struct rk_err *err);
int catalog_db_list(struct rk_catalog *c, int64_t sub_id, int64_t offset, int64_t limit,
                    struct rk_db **out, size_t *n, struct rk_err *err);
/* Every database (sub_id 0) or a subscription's. */
int catalog_db_count(struct rk_catalog *c, int64_t sub_id, int64_t *n, struct rk_err *err);
int catalog_db_count_status(struct rk_catalog *c, const char *status, int64_t *n, struct rk_err *err);
/* Writes every column of db (by db->id). */
int catalog_db_update(struct rk_catalog *c, const struct rk_db *db, struct rk_err *err);
int catalog_db_set_status(struct rk_catalog *c, int64_t id, const char *status, const char *reason,
                          struct rk_err *err);
int catalog_db_delete(struct rk_catalog *c, int64_t id, struct rk_err *err);
/* 1 if another database (not except_id) of the subscription has this name. */
int catalog_db_name_taken(struct rk_catalog *c, int64_t sub_id, const char *name, int64_t except_id,
                          struct rk_err *err);
/* 1 if a database (not except_id) uses this port, as primary or replica. */
int catalog_db_port_taken(struct rk_catalog *c, unsigned port, int64_t except_id, struct rk_err *err);
/* The processes last recorded for a database, for adoption after a restart;
 * supervised: the supervisor keeps it running (set once it first started). */
struct catalog_procs {
    int pid;
    int replica_pid;
    bool supervised;
};
int catalog_db_set_procs(struct rk_catalog *c, int64_t id, const struct catalog_procs *p,
                         struct rk_err *err);
int catalog_db_get_procs(struct rk_catalog *c, int64_t id, struct catalog_procs *p, struct rk_err *err);

/* Tasks. insert fills created/updated times from t. */
int catalog_task_insert(struct rk_catalog *c, const struct rk_task *t, const char *params,
                        struct rk_err *err);
int catalog_task_get(struct rk_catalog *c, const char *id, struct rk_task *out, struct rk_err *err);
int catalog_task_params(struct rk_catalog *c, const char *id, char **params, struct rk_err *err);
int catalog_task_list(struct rk_catalog *c, int64_t offset, int64_t limit, struct rk_task **out,
                      size_t *n, struct rk_err *err);
int catalog_task_count(struct rk_catalog *c, const char *status, int64_t *n, struct rk_err *err);
int catalog_task_set_status(struct rk_catalog *c, const char *id, const char *status,
                            const char *description, uint64_t now, struct rk_err *err);
int catalog_task_set_progress(struct rk_catalog *c, const char *id, uint64_t bytes, uint64_t total,
                              uint64_t keys, uint64_t now, struct rk_err *err);
/* Ends a task: completed (error_type NULL) or error. */
int catalog_task_finish(struct rk_catalog *c, const struct rk_task *t, uint64_t now, struct rk_err *err);
/* Ends every task in state `status` as processing-error with this reason;
 * *n says how many. */
int catalog_task_fail_all(struct rk_catalog *c, const char *status, const char *reason,
                          uint64_t now, int64_t *n, struct rk_err *err);
/* Received tasks, oldest first: the queue to rebuild after a restart. */
int catalog_task_list_received(struct rk_catalog *c, struct rk_task **out, size_t *n,
                               struct rk_err *err);
/* Removes finished tasks last updated before cutoff_ms. */
int catalog_task_prune(struct rk_catalog *c, uint64_t cutoff_ms, int64_t *n, struct rk_err *err);

/* Backups. */
int catalog_backup_insert(struct rk_catalog *c, const struct rk_backup *b, int64_t *id, struct rk_err *err);
int catalog_backup_update(struct rk_catalog *c, const struct rk_backup *b, struct rk_err *err);
int catalog_backup_list(struct rk_catalog *c, int64_t db_id, struct rk_backup **out, size_t *n,
                        struct rk_err *err);
int catalog_backup_latest(struct rk_catalog *c, int64_t db_id, struct rk_backup *out, struct rk_err *err);
int catalog_backup_count_status(struct rk_catalog *c, const char *status, int64_t *n, struct rk_err *err);
/* Every backup in this state (in-progress ones after a crash), oldest first. */
int catalog_backup_list_status(struct rk_catalog *c, const char *status, struct rk_backup **out,
                               size_t *n, struct rk_err *err);
/* Tasks of this kind for the database that are received or running. */
int catalog_task_count_active(struct rk_catalog *c, int64_t db_id, const char *command_type,
                              int64_t *n, struct rk_err *err);
/* The database's newest task of this kind: 1 found, 0 none, -1 error. */
int catalog_task_latest(struct rk_catalog *c, int64_t db_id, const char *command_type,
                        struct rk_task *out, struct rk_err *err);

/* "PRAGMA integrity_check" and foreign-key-free consistency rules; for tests
 * and for the start-up log. */
int catalog_check(struct rk_catalog *c, struct rk_err *err);

#endif
