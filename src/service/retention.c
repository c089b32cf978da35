/* Retention (ours): remoteBackup.retention {keepLast, maxAgeDays}. Runs after
 * a backup completed, so the new one exists before any older one goes. Only
 * backups the catalog knows as succeeded, of this database, at the same
 * destination are candidates: an ad-hoc backup elsewhere is never touched. */
#include "service/backup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int delete_object(const struct store_config *scfg, const char *uri, bool partials,
                         struct rk_err *err)
{
    if (partials) {
        int rc = store_remove_partial(scfg, uri, err);
        if (rc != STORE_OK && rc != STORE_UNSUPPORTED && rc != STORE_NOT_FOUND) return -1;
    }
    int rc = store_delete(scfg, uri, err);
    return rc == STORE_OK || rc == STORE_NOT_FOUND ? 0 : -1;
}

int backup_remove_stored(const struct store_config *scfg, const struct rk_backup *b, bool partials,
                         struct rk_err *err)
{
    if (b->manifest && b->manifest[0] && delete_object(scfg, b->manifest, partials, err) < 0)
        return -1;
    size_t n;
    char **names = backup_files_names(b->files, &n);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char *uri = rc == 0 ? store_uri_join(b->destination, names[i], err) : NULL;
        if (rc == 0 && (!uri || delete_object(scfg, uri, partials, err) < 0)) rc = -1;
        free(uri);
        free(names[i]);
    }
    free(names);
    return rc;
}

unsigned backup_retention_apply(struct rk_service *svc, const struct store_config *scfg,
                                int64_t db_id, const char *destination, int64_t keep_id,
                                const struct backup_schedule *sched, uint64_t now_ms)
{
    if (!sched->keep_last && !sched->max_age_days) return 0;
    struct rk_err err;
    struct rk_backup *list;
    size_t n;
    if (catalog_backup_list(svc->cat, db_id, &list, &n, &err) < 0) {
        rk_log(RK_LOG_WARN, "backup", "msg=\"retention skipped\" db=%lld err=\"%s\"",
               (long long)db_id, err.msg);
        return 0;
    }
    /* A day of the schedule: 24 of its hours (tests shorten them). */
    uint64_t max_age_ms = (uint64_t)sched->max_age_days * 24 * svc->backup_hour_ms;
    unsigned kept = 0, deleted = 0;
    for (size_t i = 0; i < n; i++) { /* newest first */
        struct rk_backup *b = &list[i];
        if (strcmp(b->status, BACKUP_SUCCEEDED) != 0 || !b->destination ||
            strcmp(b->destination, destination) != 0)
            continue;
        kept++;
        if (b->id == keep_id) continue;
        bool beyond = sched->keep_last && kept > sched->keep_last;
        bool too_old = max_age_ms && b->started_ms + max_age_ms < now_ms;
        if (!beyond && !too_old) continue;
        char *shown = store_uri_redact(b->manifest ? b->manifest : destination);
        if (backup_remove_stored(scfg, b, false, &err) < 0) {
            rk_log(RK_LOG_WARN, "backup",
                   "msg=\"retention could not delete a backup; tried again after the next one\" "
                   "db=%lld backup=%lld manifest=\"%s\" err=\"%s\"",
                   (long long)db_id, (long long)b->id, shown, err.msg);
            free(shown);
            continue;
        }
        snprintf(b->status, sizeof(b->status), "%s", BACKUP_DELETED);
        free(b->error);
        b->error = xasprintf("deleted by retention (%s) after backup %lld",
                             beyond ? "keepLast" : "maxAgeDays", (long long)keep_id);
        if (rk_service_backup_update(svc, b, &err) < 0)
            rk_log(RK_LOG_WARN, "backup", "msg=\"retention not recorded\" backup=%lld err=\"%s\"",
                   (long long)b->id, err.msg);
        rk_log(RK_LOG_INFO, "backup",
               "msg=\"old backup deleted by retention\" db=%lld backup=%lld manifest=\"%s\"",
               (long long)db_id, (long long)b->id, shown);
        free(shown);
        deleted++;
    }
    for (size_t i = 0; i < n; i++) rk_backup_clear(&list[i]);
    free(list);
    return deleted;
}
