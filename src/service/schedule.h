/* A database's backup settings as a schedule, and the arithmetic of when the
 * next backup is due. Pure functions (no clock, no catalog), so that the
 * scheduler thread, GET database and the unit tests agree.
 *
 * Slots: with timeUTC, the due times are midnight UTC + timeUTC + k x interval
 * (12 and 24 hours divide a day, so every day has the same slots); without
 * it, the database's creation time + k x interval, which spreads databases
 * over the interval instead of starting them all at midnight.
 *
 * The next backup is due at the first slot after `since`: the start of the
 * database's last backup (or the last change of its settings, if later).
 * A daemon that was down over several slots finds one slot due, runs one
 * backup, and `since` then moves past every missed slot: one catch-up, not
 * one per slot.
 *
 * Hours are hour_ms long: 3600000, except in tests (RDBKEEP_TEST_HOUR_MS). */
#ifndef RDBKEEP_SERVICE_SCHEDULE_H
#define RDBKEEP_SERVICE_SCHEDULE_H

#include "base/base.h"
#include "service/service.h"

#include <stdbool.h>
#include <stdint.h>

#define SCHEDULE_HOUR_MS 3600000ull

struct backup_schedule {
    bool enabled;            /* a periodic destination is configured */
    char *path;              /* the destination (holds credentials: never show it raw) */
    char storage_type[32];   /* remoteBackup.storageType, "" for periodicBackupPath */
    unsigned interval_hours; /* 1, 2, 4, 6, 12 or 24 */
    bool has_time;           /* timeUTC given */
    unsigned time_minutes;   /* timeUTC as minutes after midnight */
    unsigned keep_last;      /* retention; 0: no limit */
    unsigned max_age_days;   /* retention; 0: no limit */
};

/* Every interval the API accepts, and the one periodicBackupPath means. */
int schedule_interval_hours(const char *interval); /* -1 if not one of them */
/* "HH:MM" -> minutes after midnight; -1 if malformed. */
int schedule_parse_time(const char *text);

/* The schedule of a database: periodicBackupPath (every 24 hours) or an
 * active remoteBackup. A remoteBackup that does not parse leaves it
 * disabled (the api validated it when it was set). */
void schedule_from_db(const struct rk_db *db, struct backup_schedule *out);
void schedule_clear(struct backup_schedule *s);

/* The first slot strictly after since_ms. anchor_ms is the database's
 * creation time (used without timeUTC). 0 when disabled. */
uint64_t schedule_next_due(const struct backup_schedule *s, uint64_t hour_ms, uint64_t anchor_ms,
                           uint64_t since_ms);

/* The start of the newest backup in list (newest first, as the catalog
 * lists them) that went to the schedule's destination, whatever its outcome;
 * 0 if none. An ad-hoc backup to another place does not stand in for a slot:
 * counting it would skip the schedule's backup of that slot. */
uint64_t schedule_last_backup_ms(const struct backup_schedule *s, const struct rk_backup *list,
                                 size_t n);

/* What `since` is for a database: its last backup's start, or the last change
 * of its settings when that is later (a schedule just set does not count the
 * slots before it). last_backup_ms 0: no backup yet. */
uint64_t schedule_since(const struct rk_db *db, uint64_t last_backup_ms);

#endif
