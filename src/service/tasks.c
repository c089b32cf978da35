/* The task engine: an in-memory queue over the catalog's received tasks and a
 * fixed pool of workers. The catalog is the truth (a task is committed before
 * it is queued, so a crash between the two only delays it: the next start
 * queues every received task again); the queue only orders the work.
 *
 * A worker takes the oldest task that may run now: no other task of a
 * per-database kind runs on its database, no older task of its database
 * waits, and, for backups, fewer than maxConcurrentBackups run. */
#include "service/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct pending {
    struct pending *next;
    char id[RK_TASK_ID_LEN + 1];
    const struct rk_task_kind *kind;
    int64_t db_id;
};

struct running {
    struct running *next;
    char id[RK_TASK_ID_LEN + 1];
    const struct rk_task_kind *kind;
    int64_t db_id;
    atomic_int cancel; /* enum rk_task_cancel */
};

struct rk_tasks {
    struct rk_service *svc;
    struct rk_catalog *cat;
    const struct rk_task_kind *const *kinds;
    size_t nkinds;
    unsigned nworkers;
    unsigned max_backups;
    pthread_t *threads;
    unsigned nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* the queue or the running set changed */
    struct pending *head, *tail;
    struct running *running;
    unsigned backups_running;
    bool stopping;
};

struct rk_task_run {
    struct rk_tasks *tasks;
    struct running *r;
    struct rk_task result;
    char *params;
    uint64_t last_write_ns;
    uint64_t written_bytes, written_total, written_keys;
};

#define PROGRESS_WRITE_NS 500000000ull

struct rk_tasks *tasks_new(struct rk_service *svc, struct rk_catalog *cat,
                           const struct rk_task_kind *const *kinds, size_t nkinds, unsigned workers,
                           unsigned max_backups)
{
    struct rk_tasks *t = xcalloc(1, sizeof(*t));
    t->svc = svc;
    t->cat = cat;
    t->kinds = kinds;
    t->nkinds = nkinds;
    t->nworkers = workers ? workers : 1;
    t->max_backups = max_backups ? max_backups : 1;
    pthread_mutex_init(&t->mu, NULL);
    rk_cond_init_monotonic(&t->cv);
    return t;
}

const struct rk_task_kind *tasks_kind(const struct rk_tasks *t, const char *command_type)
{
    for (size_t i = 0; i < t->nkinds; i++)
        if (strcmp(t->kinds[i]->command_type, command_type) == 0) return t->kinds[i];
    return NULL;
}

int task_record(struct rk_catalog *cat, const char *command_type, int64_t sub_id, int64_t db_id,
                const char *params, struct rk_task *out, struct rk_err *err)
{
    memset(out, 0, sizeof(*out));
    rk_uuid4(out->id);
    snprintf(out->command_type, sizeof(out->command_type), "%s", command_type);
    snprintf(out->status, sizeof(out->status), "%s", RK_TASK_RECEIVED);
    out->description = xstrdup("Task request received and is being queued for processing.");
    out->subscription_id = sub_id;
    out->database_id = db_id;
    out->created_ms = out->updated_ms = rk_now_ms();
    if (catalog_task_insert(cat, out, params, err) < 0) {
        rk_task_clear(out);
        return -1;
    }
    return 0;
}

void tasks_enqueue(struct rk_tasks *t, const char *id, const char *command_type, int64_t db_id)
{
    const struct rk_task_kind *kind = tasks_kind(t, command_type);
    if (!kind) {
        /* Only a catalog written by a newer rdbkeep can hold such a task. */
        rk_log(RK_LOG_ERROR, "task", "msg=\"unknown task kind: left received\" task=%s type=%s", id,
               command_type);
        return;
    }
    struct pending *p = xcalloc(1, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->kind = kind;
    p->db_id = db_id;
    pthread_mutex_lock(&t->mu);
    if (t->tail)
        t->tail->next = p;
    else
        t->head = p;
    t->tail = p;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static bool per_database(const struct rk_task_kind *k, int64_t db_id)
{
    return db_id > 0 && (k->flags & RK_TASK_PER_DATABASE);
}

static bool db_busy(const struct rk_tasks *t, int64_t db_id)
{
    for (const struct running *r = t->running; r; r = r->next)
        if (r->db_id == db_id && per_database(r->kind, r->db_id)) return true;
    return false;
}

/* The first pending task that may run now, unlinked; NULL if none. */
static struct pending *take_runnable(struct rk_tasks *t)
{
    int64_t *blocked = NULL;
    size_t nblocked = 0;
    struct pending *prev = NULL, *p;
    for (p = t->head; p; prev = p, p = p->next) {
        bool per_db = per_database(p->kind, p->db_id);
        bool wait = false;
        if (per_db) {
            for (size_t i = 0; i < nblocked && !wait; i++) wait = blocked[i] == p->db_id;
            wait = wait || db_busy(t, p->db_id);
        }
        if (!wait && (p->kind->flags & RK_TASK_BACKUP_SLOT) && t->backups_running >= t->max_backups)
            wait = true;
        if (!wait) break;
        /* Later tasks of this database wait behind this one: order per database. */
        if (per_db) {
            blocked = xrealloc(blocked, (nblocked + 1) * sizeof(*blocked));
            blocked[nblocked++] = p->db_id;
        }
    }
    free(blocked);
    if (!p) return NULL;
    if (prev)
        prev->next = p->next;
    else
        t->head = p->next;
    if (t->tail == p) t->tail = prev;
    return p;
}

static void write_progress(struct rk_task_run *run)
{
    struct rk_err err;
    struct rk_task *res = &run->result;
    if (res->bytes == run->written_bytes && res->total_bytes == run->written_total &&
        res->keys == run->written_keys)
        return;
    if (catalog_begin(run->tasks->cat, &err) < 0 ||
        catalog_task_set_progress(run->tasks->cat, res->id, res->bytes, res->total_bytes, res->keys,
                                  rk_now_ms(), &err) < 0 ||
        catalog_commit(run->tasks->cat, &err) < 0) {
        rk_log(RK_LOG_WARN, "task", "msg=\"progress not recorded\" task=%s err=\"%s\"", res->id,
               err.msg);
        return;
    }
    run->written_bytes = res->bytes;
    run->written_total = res->total_bytes;
    run->written_keys = res->keys;
}

static int set_status(struct rk_catalog *cat, const char *id, const char *status, const char *desc,
                      struct rk_err *err)
{
    if (catalog_begin(cat, err) < 0) return -1;
    if (catalog_task_set_status(cat, id, status, desc, rk_now_ms(), err) < 0) {
        catalog_rollback(cat);
        return -1;
    }
    return catalog_commit(cat, err);
}

static int finish(struct rk_catalog *cat, const struct rk_task *res, struct rk_err *err)
{
    if (catalog_begin(cat, err) < 0) return -1;
    if (catalog_task_finish(cat, res, rk_now_ms(), err) < 0) {
        catalog_rollback(cat);
        return -1;
    }
    return catalog_commit(cat, err);
}

static void run_one(struct rk_tasks *t, struct running *r)
{
    struct rk_err err;
    struct rk_task_run run = {.tasks = t, .r = r};
    int found = catalog_task_get(t->cat, r->id, &run.result, &err);
    if (found <= 0) {
        rk_log(RK_LOG_ERROR, "task", "msg=\"queued task not in the catalog\" task=%s err=\"%s\"",
               r->id, found < 0 ? err.msg : "missing");
        return;
    }
    if (catalog_task_params(t->cat, r->id, &run.params, &err) < 0) {
        rk_task_fail(&run, "GENERAL_ERROR", 500, "cannot read the task's parameters: %s", err.msg);
    } else if (set_status(t->cat, r->id, RK_TASK_RUNNING, "Request processing in progress", &err) <
               0) {
        rk_log(RK_LOG_ERROR, "task", "msg=\"cannot mark task running\" task=%s err=\"%s\"", r->id,
               err.msg);
    }
    run.written_bytes = run.result.bytes;
    run.written_total = run.result.total_bytes;
    run.written_keys = run.result.keys;
    uint64_t start = rk_monotonic_ns();
    rk_log(RK_LOG_INFO, "task", "msg=\"task started\" task=%s type=%s db=%lld", r->id,
           r->kind->command_type, (long long)r->db_id);
    int rc = run.result.error_type ? -1 : r->kind->run(&run);
    if ((rc < 0 || run.result.error_type) && !run.result.error_type)
        rk_task_fail(&run, "GENERAL_ERROR", 500, "the task failed without saying why");
    if (!run.result.error_type) {
        free(run.result.description);
        run.result.description = xstrdup("Request processing completed");
    }
    if (finish(t->cat, &run.result, &err) < 0)
        rk_log(RK_LOG_ERROR, "task", "msg=\"task result not recorded\" task=%s err=\"%s\"", r->id,
               err.msg);
    rk_log(run.result.error_type ? RK_LOG_WARN : RK_LOG_INFO, "task",
           "msg=\"task finished\" task=%s type=%s status=%s ms=%llu%s%s%s", r->id,
           r->kind->command_type, run.result.error_type ? RK_TASK_ERROR : RK_TASK_COMPLETED,
           (unsigned long long)((rk_monotonic_ns() - start) / 1000000),
           run.result.error_type ? " error=\"" : "",
           run.result.error_type ? run.result.error_description : "",
           run.result.error_type ? "\"" : "");
    free(run.params);
    rk_task_clear(&run.result);
}

static void *worker_main(void *arg)
{
    struct rk_tasks *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stopping) {
        struct pending *p = take_runnable(t);
        if (!p) {
            pthread_cond_wait(&t->cv, &t->mu);
            continue;
        }
        struct running *r = xcalloc(1, sizeof(*r));
        memcpy(r->id, p->id, sizeof(r->id));
        r->kind = p->kind;
        r->db_id = p->db_id;
        atomic_init(&r->cancel, RK_CANCEL_NONE);
        free(p);
        r->next = t->running;
        t->running = r;
        if (r->kind->flags & RK_TASK_BACKUP_SLOT) t->backups_running++;
        pthread_mutex_unlock(&t->mu);

        run_one(t, r);

        pthread_mutex_lock(&t->mu);
        for (struct running **pp = &t->running; *pp; pp = &(*pp)->next) {
            if (*pp == r) {
                *pp = r->next;
                break;
            }
        }
        if (r->kind->flags & RK_TASK_BACKUP_SLOT) t->backups_running--;
        free(r);
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int tasks_start(struct rk_tasks *t, struct rk_err *err)
{
    t->threads = xcalloc(t->nworkers, sizeof(*t->threads));
    for (unsigned i = 0; i < t->nworkers; i++) {
        int rc = pthread_create(&t->threads[i], NULL, worker_main, t);
        if (rc != 0) {
            tasks_stop(t, 0);
            return rk_err_set(err, "cannot start task worker %u: %s", i, strerror(rc));
        }
        t->nthreads++;
    }
    return 0;
}

void tasks_cancel_database(struct rk_tasks *t, int64_t db_id, const char *except_id,
                           const char *reason)
{
    struct pending *cancelled = NULL;
    pthread_mutex_lock(&t->mu);
    struct pending *prev = NULL, *p = t->head;
    while (p) {
        struct pending *next = p->next;
        if (p->db_id == db_id && strcmp(p->id, except_id) != 0) {
            if (prev)
                prev->next = next;
            else
                t->head = next;
            if (t->tail == p) t->tail = prev;
            p->next = cancelled;
            cancelled = p;
        } else {
            prev = p;
        }
        p = next;
    }
    for (struct running *r = t->running; r; r = r->next)
        if (r->db_id == db_id && strcmp(r->id, except_id) != 0)
            atomic_store(&r->cancel, RK_CANCEL_DATABASE_DELETED);
    pthread_mutex_unlock(&t->mu);

    while (cancelled) {
        struct pending *c = cancelled;
        cancelled = c->next;
        struct rk_task res = {0};
        struct rk_err err;
        memcpy(res.id, c->id, sizeof(res.id));
        res.description = (char *)reason;
        res.error_type = "GENERAL_ERROR";
        res.error_status = "409 CONFLICT";
        res.error_description = (char *)reason;
        if (finish(t->cat, &res, &err) < 0)
            rk_log(RK_LOG_ERROR, "task", "msg=\"cancel not recorded\" task=%s err=\"%s\"", c->id,
                   err.msg);
        else
            rk_log(RK_LOG_INFO, "task", "msg=\"task cancelled\" task=%s db=%lld", c->id,
                   (long long)db_id);
        free(c);
    }
}

int64_t tasks_backups_running(struct rk_tasks *t)
{
    pthread_mutex_lock(&t->mu);
    int64_t n = t->backups_running;
    pthread_mutex_unlock(&t->mu);
    return n;
}

unsigned tasks_stop(struct rk_tasks *t, unsigned timeout_sec)
{
    pthread_mutex_lock(&t->mu);
    t->stopping = true;
    for (struct running *r = t->running; r; r = r->next)
        atomic_store(&r->cancel, RK_CANCEL_SHUTDOWN);
    pthread_cond_broadcast(&t->cv);
    struct timespec deadline = rk_deadline_after_ms((uint64_t)timeout_sec * 1000);
    while (t->running) {
        if (pthread_cond_timedwait(&t->cv, &t->mu, &deadline) == ETIMEDOUT) break;
    }
    unsigned left = 0;
    char(*ids)[RK_TASK_ID_LEN + 1] = NULL;
    for (struct running *r = t->running; r; r = r->next) {
        ids = xrealloc(ids, (left + 1) * sizeof(*ids));
        memcpy(ids[left++], r->id, sizeof(*ids));
    }
    pthread_mutex_unlock(&t->mu);

    for (unsigned i = 0; i < left; i++) {
        static const char reason[] = "the daemon shut down while this task was running";
        struct rk_task res = {0};
        struct rk_err err;
        memcpy(res.id, ids[i], sizeof(res.id));
        res.description = (char *)reason;
        res.error_type = "GENERAL_ERROR";
        res.error_status = "500 INTERNAL_SERVER_ERROR";
        res.error_description = (char *)reason;
        if (finish(t->cat, &res, &err) < 0)
            rk_log(RK_LOG_ERROR, "task", "msg=\"shutdown not recorded\" task=%s err=\"%s\"", ids[i],
                   err.msg);
        rk_log(RK_LOG_WARN, "task", "msg=\"task still running at shutdown\" task=%s", ids[i]);
    }
    free(ids);
    for (unsigned i = 0; i < t->nthreads; i++) {
        if (left == 0)
            pthread_join(t->threads[i], NULL);
        else
            pthread_detach(t->threads[i]);
    }
    t->nthreads = 0;
    return left;
}

void tasks_free(struct rk_tasks *t)
{
    if (!t) return;
    while (t->head) {
        struct pending *p = t->head;
        t->head = p->next;
        free(p);
    }
    free(t->threads);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* ---- what a job sees ---- */

struct rk_service *rk_task_service(struct rk_task_run *run)
{
    return run->tasks->svc;
}

const char *rk_task_id(const struct rk_task_run *run)
{
    return run->result.id;
}

int64_t rk_task_subscription_id(const struct rk_task_run *run)
{
    return run->result.subscription_id;
}

int64_t rk_task_database_id(const struct rk_task_run *run)
{
    return run->result.database_id;
}

const char *rk_task_params(const struct rk_task_run *run)
{
    return run->params;
}

void rk_task_progress(struct rk_task_run *run, uint64_t bytes, uint64_t total_bytes, uint64_t keys)
{
    struct rk_task *res = &run->result;
    if (bytes > res->bytes && run->tasks->svc)
        atomic_fetch_add(&run->tasks->svc->bytes_moved, bytes - res->bytes);
    res->bytes = bytes;
    res->total_bytes = total_bytes;
    res->keys = keys;
    uint64_t now = rk_monotonic_ns();
    if (now - run->last_write_ns < PROGRESS_WRITE_NS) return;
    run->last_write_ns = now;
    write_progress(run);
}

bool rk_task_cancelled(const struct rk_task_run *run)
{
    return atomic_load(&run->r->cancel) != RK_CANCEL_NONE;
}

enum rk_task_cancel rk_task_cancelled_why(const struct rk_task_run *run)
{
    return (enum rk_task_cancel)atomic_load(&run->r->cancel);
}

void rk_task_set_description(struct rk_task_run *run, const char *fmt, ...)
{
    char text[RK_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    free(run->result.description);
    run->result.description = xstrdup(text);
    struct rk_err err;
    if (set_status(run->tasks->cat, run->result.id, RK_TASK_RUNNING, text, &err) < 0)
        rk_log(RK_LOG_WARN, "task", "msg=\"description not recorded\" task=%s err=\"%s\"",
               run->result.id, err.msg);
}

void rk_task_set_resource(struct rk_task_run *run, int64_t resource_id, const char *json)
{
    run->result.resource_id = resource_id;
    free(run->result.resource);
    run->result.resource = json ? xstrdup(json) : NULL;
}

int rk_task_fail(struct rk_task_run *run, const char *type, int http, const char *fmt, ...)
{
    char text[RK_ERR_MAX], status[48];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    rk_http_status_text(http, status, sizeof(status));
    struct rk_task *res = &run->result;
    free(res->error_type);
    free(res->error_status);
    free(res->error_description);
    free(res->description);
    res->error_type = xstrdup(type);
    res->error_status = xstrdup(status);
    res->error_description = xstrdup(text);
    res->description = xstrdup(text);
    return -1;
}
