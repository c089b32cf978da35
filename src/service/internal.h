/* What the files of the service module share: the top-level context, the
 * task engine, the supervisor and the redis.conf writer. Private. */
#ifndef RDBKEEP_SERVICE_INTERNAL_H
#define RDBKEEP_SERVICE_INTERNAL_H

#include "service/catalog.h"
#include "service/service.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

struct rk_tasks;
struct rk_supervisor;
struct rk_scheduler;
struct store_config;

/* The daemon's one piece of shared state. */
struct rk_service {
    struct rk_config cfg;
    char *data_dir; /* absolute */
    char *db_root;  /* <data_dir>/databases */
    char *public_host;
    int lock_fd;
    struct rk_catalog *cat;
    struct rk_tasks *tasks;
    struct rk_supervisor *sup;
    char redis_version[32];
    char *api_key;
    unsigned char key_hash[32];
    unsigned char secret_salt[16];
    unsigned char secret_hash[32];
    char *generated_secret;
    atomic_uint_fast64_t bytes_moved;
    struct store_config *store; /* storage credentials for backups and imports */
    struct rk_scheduler *sched; /* periodic backups */
    uint64_t backup_hour_ms;    /* an hour of the backup schedule (tests shorten it) */
    bool started;
    bool stopped;
    bool unclean; /* tasks still ran at shutdown: leave memory to the exit */
};

/* ---- tasks.c: the queue and the workers ---- */

/* svc may be NULL (unit tests); the kinds table outlives the engine. */
struct rk_tasks *tasks_new(struct rk_service *svc, struct rk_catalog *cat,
                           const struct rk_task_kind *const *kinds, size_t nkinds, unsigned workers,
                           unsigned max_backups);
int tasks_start(struct rk_tasks *t, struct rk_err *err);
const struct rk_task_kind *tasks_kind(const struct rk_tasks *t, const char *command_type);
/* Queues a committed, received task. */
void tasks_enqueue(struct rk_tasks *t, const char *id, const char *command_type, int64_t db_id);
/* Ends the database's queued tasks (all but except_id) as processing-error
 * with reason, and flags its running task as cancelled. */
void tasks_cancel_database(struct rk_tasks *t, int64_t db_id, const char *except_id,
                           const char *reason);
int64_t tasks_backups_running(struct rk_tasks *t);
/* Stops taking tasks, cancels the running ones and waits up to timeout_sec;
 * returns how many still run (they were marked processing-error). */
unsigned tasks_stop(struct rk_tasks *t, unsigned timeout_sec);
void tasks_free(struct rk_tasks *t);

/* Records a new task and returns it read back; in the caller's transaction. */
int task_record(struct rk_catalog *cat, const char *command_type, int64_t sub_id, int64_t db_id,
                const char *params, struct rk_task *out, struct rk_err *err);

/* ---- jobs_db.c: the kinds this module runs itself ---- */

extern const struct rk_task_kind rk_kind_subscription_create;
extern const struct rk_task_kind rk_kind_subscription_delete;
extern const struct rk_task_kind rk_kind_database_create;
extern const struct rk_task_kind rk_kind_database_update;
extern const struct rk_task_kind rk_kind_database_delete;

/* ---- db_spec.c ---- */

/* The update delta as JSON for the task's params, and back. */
char *db_spec_to_json(const struct rk_db_spec *spec);
int db_spec_from_json(const char *json, struct rk_db_spec *spec, struct rk_err *err);
/* Applies the given fields of spec to db. */
void db_spec_apply(const struct rk_db_spec *spec, struct rk_db *db);
/* maxmemory in bytes for a database. */
uint64_t db_maxmemory_bytes(const struct rk_db *db);
/* A deep copy; clear dst with rk_db_clear. */
void db_copy(struct rk_db *dst, const struct rk_db *src);

/* ---- backup_settings.c: periodicBackupPath and remoteBackup ---- */

/* What can be said about the backup settings at once (answered 400); current
 * is the database an update changes, NULL on create. */
int backup_settings_check(const struct rk_db_spec *spec, const struct rk_db *current,
                          struct rk_fail *f);
/* Before a create or update completes: is the destination reachable and
 * writable. Fails the task (DATABASE_INVALID_BACKUP_PATH) when not. */
int backup_settings_probe(struct rk_task_run *run, const struct rk_db *db);

/* ---- backups: job_backup.c, scheduler.c, retention.c, manifest.c ---- */

/* The storage settings: the store module's environment variables, then the
 * config's s3*, gcs* and azure* keys over them. Pair with store_config_free. */
int service_store_config(const struct rk_config *cfg, struct store_config *out, struct rk_err *err);

extern const struct rk_task_kind rk_kind_backup;
extern const struct rk_task_kind rk_kind_backup_status;

/* Backups the last run left in progress end failed (at open, before any
 * thread); what they may have written is removed by the scheduler thread. */
int backup_recover(struct rk_service *svc, struct rk_err *err);

/* The scheduler: one thread that submits a database's backup when a slot of
 * its schedule is due (see schedule.h), never while one is queued or runs. */
struct rk_scheduler *scheduler_new(struct rk_service *svc);
int scheduler_start(struct rk_scheduler *s, struct rk_err *err);
void scheduler_stop(struct rk_scheduler *s);
void scheduler_free(struct rk_scheduler *s);

/* ---- imports: job_import.c, staging.c, import_rules.c ---- */

extern const struct rk_task_kind rk_kind_import;
extern const struct rk_task_kind rk_kind_import_status;
/* Each importFromUri parsed as its sourceType says (store_uri_parse): a 400
 * with the store's error type (DATABASE_IMPORT_S3_BAD_URI...) when one does
 * not fit. Never shows a secret. */
int import_uris_check(const struct rk_import_spec *spec, struct rk_fail *f);
/* Settles what an import left when the daemon died in the middle of it:
 * before the swap's commit the staging server is killed and its files go
 * (the old data serves on); after it the swap is finished. Databases still
 * marked import-pending become active. Runs before the supervisor adopts. */
int import_recover(struct rk_service *svc, struct rk_err *err);

/* ---- redisconf.c ---- */

struct redis_instance {
    const struct rk_db *db;
    const char *dir; /* absolute, the instance's own */
    const char *bind;
    unsigned port;
    unsigned primary_port; /* non-zero: this is a replica of that port */
    const char *logfile;   /* NULL: <dir>/redis.log (an import's staging server logs where it
                            * will live after the swap) */
};
/* The whole redis.conf for one instance. Caller frees. */
char *redisconf_render(const struct redis_instance *in);
/* Writes it (mode 0600: it holds the password) atomically. */
int redisconf_write(const char *path, const struct redis_instance *in, struct rk_err *err);
/* What a dataPersistence value means to redis-server: the config file, a
 * live update and a staging server's settle all read it here. */
struct redis_persistence {
    const char *save;        /* the save rule, "" for none */
    const char *appendonly;  /* "yes" or "no" */
    const char *appendfsync; /* "always" or "everysec" */
};
struct redis_persistence redisconf_persistence(const char *data_persistence);

/* ---- supervisor.c ---- */

struct rk_supervisor *sup_new(struct rk_service *svc);
/* Adopts the databases' redis-servers that still run (from the catalog's
 * pids), starts the others, then watches them from its own thread. */
int sup_start(struct rk_supervisor *s, struct rk_err *err);
void sup_stop(struct rk_supervisor *s, bool stop_databases);
void sup_free(struct rk_supervisor *s);
/* Writes the configs, starts the database's processes and waits until each
 * answers PING; from a worker. */
int sup_db_start(struct rk_supervisor *s, const struct rk_db *db, struct rk_err *err);
/* Applies changed settings to the running processes (CONFIG SET), rewrites
 * their configs, starts or stops the replica. old is the state before. */
int sup_db_apply(struct rk_supervisor *s, const struct rk_db *old, const struct rk_db *db,
                 struct rk_err *err);
/* Kills the database's processes (its data is going) and forgets them,
 * including one its pidfile names that the supervisor never knew. */
void sup_db_stop(struct rk_supervisor *s, const struct rk_db *db);
int sup_db_pause(struct rk_supervisor *s, int64_t db_id, struct rk_err *err);
int sup_db_resume(struct rk_supervisor *s, int64_t db_id, struct rk_err *err);
uint64_t sup_restarts(struct rk_supervisor *s);
/* For the import's staging server (staging.c). sup_spawn starts a
 * redis-server on conf as the supervisor starts its own (its own session, no
 * inherited descriptors; a child of this process). sup_is_redis: pid is a
 * redis-server whose title names this port. sup_log_tail: the last lines of
 * dir/redis.log on one line. */
pid_t sup_spawn(struct rk_supervisor *s, const char *conf, struct rk_err *err);
bool sup_is_redis(const struct rk_supervisor *s, pid_t pid, unsigned port);
/* The pid in DIR/redis.pid, or 0 when there is none that parses. */
pid_t sup_read_pidfile(const char *dir);
void sup_log_tail(const char *dir, char *out, size_t outlen);
/* The import's swap. With the database's processes held (the watch thread
 * keeps off them), stops the primary (SIGTERM: it saves as its persistence
 * says), then calls commit, which leaves a process serving the new data on
 * the database's port and gives its pid (a child of this process). The
 * supervisor watches that one as the primary from then on, rewrites its
 * config and records its pid. When commit fails, the old primary is started
 * again on its files before this returns. A replica keeps running and
 * resyncs from the new primary. */
typedef int (*sup_swap_fn)(void *arg, pid_t *new_pid, struct rk_err *err);
int sup_db_swap(struct rk_supervisor *s, const struct rk_db *db, sup_swap_fn commit, void *arg,
                struct rk_err *err);

/* ---- daemon.c helpers ---- */

char *service_db_dir(const struct rk_service *svc, int64_t db_id);
/* Removes a directory tree (a database's files). */
int remove_tree(const char *path, struct rk_err *err);
/* 1 if host:port can be bound now (SO_REUSEADDR, like redis-server). */
int port_bindable(const char *host, unsigned port);

#endif
