/* A database's backup settings: periodicBackupPath and remoteBackup.
 *
 * At once (a 400 before any task): not both; each path parses for its
 * storage type (store_uri_parse, as a place) and names a store backups can be
 * written to; remoteBackup's interval is one of Cloud's six, timeUTC is HH:MM
 * and only with 12 or 24 hours, retention numbers are positive.
 * Before the create or update task completes: the destination is reachable
 * and writable, proven by writing and deleting a small probe object. */
#include "service/backup.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const storage_types[] = {"aws-s3", "google-blob-storage", "azure-blob-storage",
                                            "ftp", "local"};

#define BAD_PATH "DATABASE_INVALID_BACKUP_PATH"

int backup_path_check(const char *what, const char *path, enum store_type type, struct rk_fail *f)
{
    struct rk_err err;
    struct store_uri *u = store_uri_parse(path, type, STORE_URI_PREFIX, NULL, &err);
    if (!u) return rk_fail_set(f, 400, BAD_PATH, "%s: %s", what, err.msg);
    bool writable = store_kind_writable(u->kind);
    enum store_kind kind = u->kind;
    bool relative = kind == STORE_LOCAL && (!u->path || u->path[0] != '/');
    store_uri_free(u);
    /* The daemon's working directory is no place for backups. */
    if (relative) return rk_fail_set(f, 400, BAD_PATH, "%s: a local path must be absolute", what);
    if (!writable)
        return rk_fail_set(f, 400, BAD_PATH, "%s: backups cannot be written to %s locations", what,
                           store_kind_name(kind));
    return 0;
}

int rk_service_backup_path_check(const char *path, struct rk_fail *f)
{
    if (!path[0]) return rk_fail_set(f, 400, BAD_PATH, "adhocBackupPath: empty");
    return backup_path_check("adhocBackupPath", path, STORE_TYPE_ANY, f);
}

static int check_retention(json_t *r, struct rk_fail *f)
{
    static const char *const keys[] = {"keepLast", "maxAgeDays"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(r, keys[i]);
        if (v && (json_integer_value(v) < 1 || json_integer_value(v) > 100000))
            return rk_fail_set(f, 400, "INVALID_FIELD_VALUE",
                               "remoteBackup.retention.%s: %lld is not within 1-100000", keys[i],
                               (long long)json_integer_value(v));
    }
    return 0;
}

static int check_remote(const char *text, struct rk_fail *f)
{
    json_t *rb = json_loads(text, 0, NULL);
    if (!json_is_object(rb)) {
        json_decref(rb);
        return rk_fail_set(f, 400, "INVALID_JSON", "remoteBackup: not an object");
    }
    int rc = 0;
    const char *interval = json_string_value(json_object_get(rb, "interval"));
    const char *time = json_string_value(json_object_get(rb, "timeUTC"));
    const char *type = json_string_value(json_object_get(rb, "storageType"));
    const char *path = json_string_value(json_object_get(rb, "storagePath"));
    int hours = interval ? schedule_interval_hours(interval) : 24;
    enum store_type st;
    if (hours < 0) {
        rc = rk_fail_set(
            f, 400, "DATABASE_INVALID_BACKUP_INTERVAL",
            "remoteBackup.interval: '%.40s' is not one of every-1-hours, every-2-hours, "
            "every-4-hours, every-6-hours, every-12-hours, every-24-hours",
            interval);
    } else if (time && schedule_parse_time(time) < 0) {
        rc = rk_fail_set(
            f, 400, "DATABASE_INVALID_BACKUP_TIME_UTC",
            "remoteBackup.timeUTC: '%.40s' is not a time as HH:MM (00:00 to 23:59, UTC)", time);
    } else if (time && hours != 12 && hours != 24) {
        rc = rk_fail_set(f, 400, "DATABASE_INVALID_BACKUP_INTERVAL_AND_TIME_UTC_MISMATCH",
                         "remoteBackup.timeUTC: a start time goes only with every-12-hours or "
                         "every-24-hours, not with %s",
                         interval);
    } else if (!type) {
        rc = rk_fail_set(f, 400, BAD_PATH,
                         "remoteBackup.storageType: required (aws-s3, google-blob-storage, "
                         "azure-blob-storage, ftp or local)");
    } else if (!path || !path[0]) {
        rc = rk_fail_set(f, 400, BAD_PATH, "remoteBackup.storagePath: required");
    } else {
        bool known = false;
        for (size_t i = 0; i < sizeof(storage_types) / sizeof(storage_types[0]); i++)
            known = known || strcmp(type, storage_types[i]) == 0;
        if (!known || store_type_from_name(type, &st) < 0)
            rc = rk_fail_set(f, 400, BAD_PATH,
                             "remoteBackup.storageType: '%.40s' is not one of aws-s3, "
                             "google-blob-storage, azure-blob-storage, ftp, local",
                             type);
        else
            rc = backup_path_check("remoteBackup.storagePath", path, st, f);
    }
    json_t *r = json_object_get(rb, "retention");
    if (rc == 0 && json_is_object(r)) rc = check_retention(r, f);
    json_decref(rb);
    return rc;
}

int backup_settings_check(const struct rk_db_spec *spec, const struct rk_db *current,
                          struct rk_fail *f)
{
    bool periodic = spec->has_periodic_backup_path ? spec->periodic_backup_path[0] != '\0'
                                                   : current && current->periodic_backup_path;
    bool remote =
        spec->has_remote_backup ? spec->remote_backup_active : current && current->remote_backup;
    if (periodic && remote)
        return rk_fail_set(f, 400, BAD_PATH,
                           "periodicBackupPath and remoteBackup: a database backs up to one of "
                           "them; remove one (periodicBackupPath \"\" or remoteBackup "
                           "{\"active\": false})");
    if (spec->has_periodic_backup_path && spec->periodic_backup_path[0] &&
        backup_path_check("periodicBackupPath", spec->periodic_backup_path, STORE_TYPE_ANY, f) < 0)
        return -1;
    if (spec->has_remote_backup && spec->remote_backup_active &&
        check_remote(spec->remote_backup, f) < 0)
        return -1;
    return 0;
}

/* Whether this task set the backup settings: a create always does; an update
 * only when its stored delta names them (an unrelated update must not fail
 * because a store is down for a moment). */
static bool settings_changed(struct rk_task_run *run)
{
    const char *params = rk_task_params(run);
    if (!params) return true;
    json_t *p = json_loads(params, 0, NULL);
    bool changed = !json_is_object(p) || json_object_get(p, "periodicBackupPath") ||
                   json_object_get(p, "remoteBackup");
    json_decref(p);
    return changed;
}

static bool probe_cancelled(void *arg)
{
    return rk_task_cancelled(arg);
}

int backup_settings_probe(struct rk_task_run *run, const struct rk_db *db)
{
    struct rk_service *svc = rk_task_service(run);
    struct backup_schedule sched;
    schedule_from_db(db, &sched);
    if (!sched.enabled || !settings_changed(run) || !svc || !svc->store) {
        schedule_clear(&sched);
        return 0;
    }
    struct store_config cfg = *svc->store;
    cfg.cancelled = probe_cancelled;
    cfg.cancel_arg = run;
    struct rk_err err;
    int rc = store_probe_write(&cfg, sched.path, &err);
    if (rc != STORE_OK) {
        char *shown = store_uri_redact(sched.path);
        rk_task_fail(run, BAD_PATH, 400, "backup path %s is not writable: %s", shown, err.msg);
        free(shown);
    }
    schedule_clear(&sched);
    return rc == STORE_OK ? 0 : -1;
}
