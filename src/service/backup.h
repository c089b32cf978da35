/* What the backup files share: names, the manifest, retention. Private to
 * the service module (job_backup.c, manifest.c, retention.c, scheduler.c). */
#ifndef RDBKEEP_SERVICE_BACKUP_H
#define RDBKEEP_SERVICE_BACKUP_H

#include "service/internal.h"
#include "service/schedule.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

#define BACKUP_COMMAND        "databaseBackupRequest"
#define BACKUP_STATUS_COMMAND "databaseBackupStatusRequest"

/* Catalog states of a backup. */
#define BACKUP_IN_PROGRESS "in-progress"
#define BACKUP_SUCCEEDED   "succeeded"
#define BACKUP_FAILED      "failed"
#define BACKUP_DELETED     "deleted" /* removed by retention; the row stays as history */
/* The daemon stopped during it: what it may have written (files, manifest,
 * temporary names) is still to be removed; then it is "failed". */
#define BACKUP_INTERRUPTED "interrupted"

/* One file of a backup: one shard's RDB, gzipped. */
struct backup_file {
    char *name; /* relative to the destination */
    unsigned shard, shards;
    uint64_t size_bytes; /* as stored */
    uint64_t rdb_bytes;
    uint64_t keys;
    int rdb_version;
    char sha256[65]; /* of the stored bytes */
};

/* "<db name, first 30 chars>-<databaseId>-<UTC timestamp>": what every file
 * of one backup and its manifest start with. The timestamp has milliseconds
 * (20261125T130739.826Z), so two backups of a database never share a name. */
char *backup_stem(const char *db_name, int64_t db_id, uint64_t started_ms);
/* "<stem>-<i>_of_<n>.rdb.gz" and "<stem>.manifest.json". */
char *backup_file_name(const char *stem, unsigned i, unsigned n);
char *backup_manifest_name(const char *stem);

struct backup_manifest {
    int64_t database_id, subscription_id;
    const char *database_name;
    const char *task_id;
    const char *stem;
    uint64_t started_ms, finished_ms;
    const char *redis_version; /* the source's, "7.0.15" */
    const char *server;        /* what the replication handshake saw: "redis 7.0.15" */
    bool scheduled;
    const struct backup_file *files;
    size_t nfiles;
};
/* The manifest's JSON text (names only: no location, no credential). */
char *backup_manifest_render(const struct backup_manifest *m);
/* The files as the catalog keeps them (a JSON array), and back. */
char *backup_files_json(const struct backup_file *files, size_t n);
/* The names in a catalog files array; *n of them (free each, then the array). */
char **backup_files_names(const char *files_json, size_t *n);
void backup_file_clear(struct backup_file *f);

/* path parses as a backup place of this type (STORE_TYPE_ANY: by its
 * scheme), is absolute when local, and is writable; else a 400
 * DATABASE_INVALID_BACKUP_PATH. what starts the messages ("periodicBackupPath",
 * "backup path s3://..."): it must show no secret. */
int backup_path_check(const char *what, const char *path, enum store_type type, struct rk_fail *f);

/* When the schedule s of db is next due (schedule_next_due from the start of
 * its last backup to the schedule's destination). The scheduler thread and
 * GET database both ask this, so they agree. -1 if the catalog failed. */
int backup_next_due(struct rk_service *svc, const struct rk_db *db, const struct backup_schedule *s,
                    uint64_t *due, struct rk_err *err);

/* Deletes what backup b stored: its manifest first (from then on it no
 * longer looks complete), then its files; with partials also the temporary
 * names a write cut short may have left. 0 when nothing of it is left. */
int backup_remove_stored(const struct store_config *scfg, const struct rk_backup *b, bool partials,
                         struct rk_err *err);

/* After a successful backup (keep_id) to destination: deletes the database's
 * older succeeded backups at the same destination beyond keepLast or older
 * than maxAgeDays (their files, then their manifest; the catalog row becomes
 * "deleted"). A deletion that fails is logged and tried again after the next
 * backup. Returns how many backups were deleted. */
unsigned backup_retention_apply(struct rk_service *svc, const struct store_config *scfg,
                                int64_t db_id, const char *destination, int64_t keep_id,
                                const struct backup_schedule *sched, uint64_t now_ms);

#endif
