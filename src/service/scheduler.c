/* The backup scheduler: one thread that wakes when the next backup of any
 * database is due (or every few seconds, to see changed settings), and
 * submits a databaseBackupRequest task for each database whose slot has
 * come. It never submits one while a backup of that database is queued or
 * running, nor twice for one slot; the task engine then runs it like any
 * backup (one per database, at most maxConcurrentBackups at once). The due
 * times are schedule.c's, computed from the catalog, so a restart changes
 * nothing: after downtime, one backup catches up, then the slots go on.
 *
 * It also removes, once at start, the files of backups that a crash
 * interrupted (backup_recover lists them). */
#include "service/backup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct submitted {
    int64_t db_id;
    uint64_t slot;
};

struct rk_scheduler {
    struct rk_service *svc;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    uint64_t cleanup_next_ms; /* when to look for interrupted backups again; 0: never */
    struct submitted *subs;
    size_t nsubs;
    uint64_t poll_ms;
};

/* An hour of the schedule. RDBKEEP_TEST_HOUR_MS shortens it so that tests can
 * watch hours of schedule go by in seconds (documented as for tests only). */
static uint64_t hour_ms_from_env(void)
{
    const char *v = getenv("RDBKEEP_TEST_HOUR_MS");
    int64_t n;
    if (v && *v && rk_parse_i64(v, &n) == 0 && n >= 10 && (uint64_t)n <= SCHEDULE_HOUR_MS) {
        rk_log(RK_LOG_WARN, "backup",
               "msg=\"RDBKEEP_TEST_HOUR_MS: backup schedules run on a test clock\" hour_ms=%lld",
               (long long)n);
        return (uint64_t)n;
    }
    return SCHEDULE_HOUR_MS;
}

struct rk_scheduler *scheduler_new(struct rk_service *svc)
{
    struct rk_scheduler *s = xcalloc(1, sizeof(*s));
    s->svc = svc;
    svc->backup_hour_ms = hour_ms_from_env();
    /* Settings changes show within a tenth of an hour, at most 5 s. */
    s->poll_ms = svc->backup_hour_ms / 10;
    if (s->poll_ms < 100) s->poll_ms = 100;
    if (s->poll_ms > 5000) s->poll_ms = 5000;
    pthread_mutex_init(&s->mu, NULL);
    rk_cond_init_monotonic(&s->cv);
    return s;
}

static bool stopping(struct rk_scheduler *s)
{
    pthread_mutex_lock(&s->mu);
    bool stop = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Removes what backups interrupted by a stop of the daemon left (their rows
 * say "interrupted"; backup_recover marks them at start), then calls them
 * failed. A store that refuses or is down keeps its row interrupted, and the
 * next look, a minute later or at the next start, tries again. */
static void clean_interrupted(struct rk_scheduler *s)
{
    struct rk_service *svc = s->svc;
    struct rk_err err;
    struct rk_backup *list;
    size_t n;
    s->cleanup_next_ms = 0;
    if (catalog_backup_list_status(svc->cat, BACKUP_INTERRUPTED, &list, &n, &err) < 0) {
        rk_log(RK_LOG_WARN, "backup", "msg=\"cannot list interrupted backups\" err=\"%s\"",
               err.msg);
        s->cleanup_next_ms = rk_now_ms() + 60000;
        return;
    }
    for (size_t i = 0; i < n && !stopping(s); i++) {
        struct rk_backup *b = &list[i];
        char *shown = store_uri_redact(b->destination ? b->destination : "");
        if (!b->destination || backup_remove_stored(svc->store, b, true, &err) == 0) {
            rk_log(
                RK_LOG_INFO, "backup",
                "msg=\"removed what an interrupted backup wrote\" backup=%lld destination=\"%s\"",
                (long long)b->id, shown);
            snprintf(b->status, sizeof(b->status), "%s", BACKUP_FAILED);
            free(b->error);
            b->error = xstrdup(
                "the daemon stopped while this backup was running; what it wrote was removed");
            if (rk_service_backup_update(svc, b, &err) < 0)
                s->cleanup_next_ms = rk_now_ms() + 60000;
        } else {
            rk_log(RK_LOG_WARN, "backup",
                   "msg=\"what an interrupted backup wrote could not be removed yet\" backup=%lld "
                   "destination=\"%s\" err=\"%s\"",
                   (long long)b->id, shown, err.msg);
            s->cleanup_next_ms = rk_now_ms() + 60000;
        }
        free(shown);
    }
    for (size_t i = 0; i < n; i++) rk_backup_clear(&list[i]);
    free(list);
}

static struct submitted *find_sub(struct rk_scheduler *s, int64_t db_id)
{
    for (size_t i = 0; i < s->nsubs; i++)
        if (s->subs[i].db_id == db_id) return &s->subs[i];
    return NULL;
}

static bool schedulable(const struct rk_db *db)
{
    return strcmp(db->status, "active") == 0 || strcmp(db->status, "active-change-pending") == 0;
}

/* One database: submits its backup if due. Returns when to look again. */
static uint64_t consider(struct rk_scheduler *s, const struct rk_db *db, uint64_t now)
{
    struct rk_service *svc = s->svc;
    struct rk_err err;
    struct backup_schedule sched;
    uint64_t wake = UINT64_MAX;
    schedule_from_db(db, &sched);
    if (!sched.enabled || !schedulable(db)) goto done;
    uint64_t due;
    if (backup_next_due(svc, db, &sched, &due, &err) < 0) {
        rk_log(RK_LOG_WARN, "backup", "msg=\"schedule: catalog read failed\" db=%lld err=\"%s\"",
               (long long)db->id, err.msg);
        goto done;
    }
    if (due > now) {
        wake = due;
        goto done;
    }
    struct submitted *sub = find_sub(s, db->id);
    if (sub && sub->slot == due) goto done; /* submitted; it did not start a backup */
    int64_t active = 0;
    if (catalog_task_count_active(svc->cat, db->id, BACKUP_COMMAND, &active, &err) < 0) {
        rk_log(RK_LOG_WARN, "backup", "msg=\"schedule: catalog read failed\" db=%lld err=\"%s\"",
               (long long)db->id, err.msg);
        goto done;
    }
    if (active > 0) goto done; /* the backup queued or running covers this slot */
    struct rk_task task;
    struct rk_fail f;
    if (rk_service_submit(svc, BACKUP_COMMAND, db->subscription_id, db->id, "{\"scheduled\":true}",
                          &task, &f) < 0) {
        rk_log(RK_LOG_WARN, "backup", "msg=\"scheduled backup not submitted\" db=%lld err=\"%s\"",
               (long long)db->id, f.description);
        goto done;
    }
    char slot[32];
    rk_format_iso8601(due, slot, sizeof(slot));
    rk_log(RK_LOG_INFO, "backup", "msg=\"scheduled backup submitted\" db=%lld task=%s slot=%s",
           (long long)db->id, task.id, slot);
    rk_task_clear(&task);
    if (!sub) {
        s->subs = xrealloc(s->subs, (s->nsubs + 1) * sizeof(*s->subs));
        sub = &s->subs[s->nsubs++];
        sub->db_id = db->id;
    }
    sub->slot = due;
done:
    schedule_clear(&sched);
    return wake;
}

/* Looks at every database; returns how long to sleep (ms). */
static uint64_t tick(struct rk_scheduler *s)
{
    struct rk_err err;
    struct rk_db *dbs;
    size_t n;
    uint64_t now = rk_now_ms();
    uint64_t wake = now + s->poll_ms;
    if (catalog_db_list(s->svc->cat, 0, 0, INT64_MAX, &dbs, &n, &err) < 0) {
        rk_log(RK_LOG_WARN, "backup", "msg=\"schedule: catalog read failed\" err=\"%s\"", err.msg);
        return s->poll_ms;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t w = consider(s, &dbs[i], now);
        if (w < wake) wake = w;
    }
    /* Forget databases that are gone. */
    size_t kept = 0;
    for (size_t i = 0; i < s->nsubs; i++) {
        bool present = false;
        for (size_t k = 0; k < n && !present; k++) present = dbs[k].id == s->subs[i].db_id;
        if (present) s->subs[kept++] = s->subs[i];
    }
    s->nsubs = kept;
    for (size_t i = 0; i < n; i++) rk_db_clear(&dbs[i]);
    free(dbs);
    now = rk_now_ms();
    return wake > now ? wake - now : 0;
}

static void *scheduler_main(void *arg)
{
    struct rk_scheduler *s = arg;
    clean_interrupted(s);
    while (!stopping(s)) {
        uint64_t sleep_ms = tick(s);
        if (s->cleanup_next_ms && rk_now_ms() >= s->cleanup_next_ms) clean_interrupted(s);
        struct timespec deadline = rk_deadline_after_ms(sleep_ms);
        pthread_mutex_lock(&s->mu);
        while (!s->stopping && pthread_cond_timedwait(&s->cv, &s->mu, &deadline) != ETIMEDOUT) {
        }
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

int scheduler_start(struct rk_scheduler *s, struct rk_err *err)
{
    int rc = pthread_create(&s->thread, NULL, scheduler_main, s);
    if (rc != 0) return rk_err_set(err, "cannot start the backup scheduler: %s", strerror(rc));
    s->started = true;
    return 0;
}

void scheduler_stop(struct rk_scheduler *s)
{
    if (!s || !s->started) return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    s->started = false;
}

void scheduler_free(struct rk_scheduler *s)
{
    if (!s) return;
    scheduler_stop(s);
    free(s->subs);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
