/* A database's backup settings: periodicBackupPath and remoteBackup. This
 * version accepts and stores them with their JSON shape checked (by the api)
 * and the one rule that needs no store: not both at once. The backup issue
 * adds here the syntax of each store's paths, the interval and timeUTC
 * rules, and the probe that writes and deletes a small object before the
 * create or update task completes. */
#include "service/internal.h"

int backup_settings_check(const struct rk_db_spec *spec, const struct rk_db *current,
                          struct rk_fail *f)
{
    bool periodic = spec->has_periodic_backup_path ? spec->periodic_backup_path[0] != '\0'
                                                   : current && current->periodic_backup_path;
    bool remote = spec->has_remote_backup ? spec->remote_backup_active
                                          : current && current->remote_backup;
    if (periodic && remote)
        return rk_fail_set(f, 400, "DATABASE_INVALID_BACKUP_PATH",
                           "periodicBackupPath and remoteBackup: a database backs up to one of "
                           "them; remove one (periodicBackupPath \"\" or remoteBackup "
                           "{\"active\": false})");
    return 0;
}

int backup_settings_probe(struct rk_task_run *run, const struct rk_db *db)
{
    (void)run;
    (void)db;
    return 0;
}
