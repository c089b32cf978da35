/* The task engine with jobs of its own kinds: order, the backup limit, one
 * task per database, cancellation, shutdown, progress and results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "service/internal.h"

static char dir[64];
static struct rk_catalog *cat;

/* What the jobs saw. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int running_now, running_max, inside[16], overlap;
static char started[64][RK_TASK_ID_LEN + 1];
static int nstarted;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int run_sleep(struct rk_task_run *r)
{
    int64_t db = rk_task_database_id(r);
    pthread_mutex_lock(&mu);
    if (++running_now > running_max) running_max = running_now;
    if (++inside[db] > 1) overlap = 1;
    snprintf(started[nstarted++], RK_TASK_ID_LEN + 1, "%s", rk_task_id(r));
    pthread_mutex_unlock(&mu);
    sleep_ms(60);
    pthread_mutex_lock(&mu);
    running_now--;
    inside[db]--;
    pthread_mutex_unlock(&mu);
    return 0;
}

/* Runs until cancelled (at most 5 s). */
static int run_until_cancelled(struct rk_task_run *r)
{
    for (int i = 0; i < 500 && !rk_task_cancelled(r); i++) sleep_ms(10);
    if (rk_task_cancelled(r)) return rk_task_fail(r, "GENERAL_ERROR", 409, "cancelled as asked");
    return 0;
}

static int run_stubborn(struct rk_task_run *r)
{
    sleep_ms(1500);
    return 0;
}

static int run_progress(struct rk_task_run *r)
{
    rk_task_progress(r, 10, 100, 5);
    sleep_ms(700);
    rk_task_progress(r, 50, 100, 9);
    rk_task_set_resource(r, 77, "{\"files\":[\"a\"]}");
    return 0;
}

static int run_silent_failure(struct rk_task_run *r)
{
    return -1;
}

static int run_typed_failure(struct rk_task_run *r)
{
    return rk_task_fail(r, "DATABASE_BACKUP_DISABLED", 400, "no backup path for database %lld",
                        (long long)rk_task_database_id(r));
}

static const struct rk_task_kind k_backup = {"databaseBackupRequest", RK_TASK_PER_DATABASE | RK_TASK_BACKUP_SLOT, run_sleep};
static const struct rk_task_kind k_update = {"databaseUpdateRequest", RK_TASK_PER_DATABASE, run_sleep};
static const struct rk_task_kind k_long = {"databaseImportRequest", RK_TASK_PER_DATABASE, run_until_cancelled};
static const struct rk_task_kind k_stubborn = {"databaseDeleteRequest", RK_TASK_PER_DATABASE, run_stubborn};
static const struct rk_task_kind k_progress = {"databaseCreateRequest", RK_TASK_PER_DATABASE, run_progress};
static const struct rk_task_kind k_silent = {"subscriptionCreateRequest", 0, run_silent_failure};
static const struct rk_task_kind k_typed = {"subscriptionDeleteRequest", 0, run_typed_failure};
static const struct rk_task_kind *const kinds[] = {&k_backup, &k_update, &k_long, &k_stubborn,
                                                   &k_progress, &k_silent, &k_typed};

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/rk-tasks-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char path[128];
    struct rk_err err;
    snprintf(path, sizeof(path), "%s/catalog.db", dir);
    cat = catalog_open(path, 2, &err);
    running_now = running_max = overlap = nstarted = 0;
    memset(inside, 0, sizeof(inside));
    return cat ? 0 : -1;
}

static int teardown(void **state)
{
    catalog_close(cat);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void submit(struct rk_tasks *t, const char *type, int64_t db, char *id_out)
{
    struct rk_err err;
    struct rk_task task;
    assert_int_equal(catalog_begin(cat, &err), 0);
    assert_int_equal(task_record(cat, type, 1, db, NULL, &task, &err), 0);
    assert_int_equal(catalog_commit(cat, &err), 0);
    tasks_enqueue(t, task.id, type, db);
    if (id_out) memcpy(id_out, task.id, RK_TASK_ID_LEN + 1);
    rk_task_clear(&task);
}

static void get(const char *id, struct rk_task *out)
{
    struct rk_err err;
    assert_int_equal(catalog_task_get(cat, id, out, &err), 1);
}

static void wait_finished(const char *id)
{
    for (int i = 0; i < 1000; i++) {
        struct rk_task t;
        get(id, &t);
        bool done = strcmp(t.status, RK_TASK_COMPLETED) == 0 || strcmp(t.status, RK_TASK_ERROR) == 0;
        rk_task_clear(&t);
        if (done) return;
        sleep_ms(10);
    }
    fail_msg("task %s did not finish", id);
}

static void run_backups(unsigned max_backups, char ids[6][RK_TASK_ID_LEN + 1])
{
    struct rk_err err;
    struct rk_tasks *t = tasks_new(NULL, cat, kinds, 7, 6, max_backups);
    for (int i = 0; i < 6; i++) submit(t, "databaseBackupRequest", i + 1, ids[i]);
    /* Queued before the workers start: every one waits as received. */
    struct rk_task last;
    get(ids[5], &last);
    assert_string_equal(last.status, RK_TASK_RECEIVED);
    rk_task_clear(&last);
    assert_int_equal(tasks_start(t, &err), 0);
    for (int i = 0; i < 6; i++) wait_finished(ids[i]);
    assert_int_equal(nstarted, 6);
    assert_int_equal(tasks_stop(t, 5), 0);
    tasks_free(t);
}

static void test_backups_capped(void **state)
{
    char ids[6][RK_TASK_ID_LEN + 1];
    run_backups(3, ids);
    assert_int_equal(running_max, 3);
}

static void test_waiting_backups_start_in_order(void **state)
{
    char ids[6][RK_TASK_ID_LEN + 1];
    run_backups(1, ids);
    assert_int_equal(running_max, 1);
    for (int i = 0; i < 6; i++) assert_string_equal(started[i], ids[i]);
}

static void test_one_task_per_database_in_order(void **state)
{
    struct rk_err err;
    struct rk_tasks *t = tasks_new(NULL, cat, kinds, 7, 4, 4);
    char ids[8][RK_TASK_ID_LEN + 1];
    for (int i = 0; i < 8; i++)
        submit(t, i % 3 == 0 ? "databaseBackupRequest" : "databaseUpdateRequest", 1 + i % 2, ids[i]);
    assert_int_equal(tasks_start(t, &err), 0);
    for (int i = 0; i < 8; i++) wait_finished(ids[i]);
    assert_int_equal(overlap, 0);
    /* Two databases ran side by side. */
    assert_int_equal(running_max, 2);
    /* Per database, in the order submitted. */
    for (int db = 0; db < 2; db++) {
        int last = -1;
        for (int s = 0; s < nstarted; s++) {
            for (int i = db; i < 8; i += 2) {
                if (strcmp(started[s], ids[i]) == 0) {
                    assert_true(i > last);
                    last = i;
                }
            }
        }
    }
    assert_int_equal(tasks_stop(t, 5), 0);
    tasks_free(t);
}

static void test_cancel_database(void **state)
{
    struct rk_err err;
    struct rk_tasks *t = tasks_new(NULL, cat, kinds, 7, 2, 4);
    char running[RK_TASK_ID_LEN + 1], queued1[RK_TASK_ID_LEN + 1], queued2[RK_TASK_ID_LEN + 1],
        other[RK_TASK_ID_LEN + 1];
    assert_int_equal(tasks_start(t, &err), 0);
    submit(t, "databaseImportRequest", 5, running);
    for (int i = 0; i < 100; i++) {
        struct rk_task x;
        get(running, &x);
        bool go = strcmp(x.status, RK_TASK_RUNNING) == 0;
        rk_task_clear(&x);
        if (go) break;
        sleep_ms(10);
    }
    submit(t, "databaseUpdateRequest", 5, queued1);
    submit(t, "databaseUpdateRequest", 5, queued2);
    submit(t, "databaseUpdateRequest", 6, other);
    tasks_cancel_database(t, 5, queued2, "cancelled: database 5 is being deleted");
    wait_finished(running);
    wait_finished(queued1);
    wait_finished(queued2);
    wait_finished(other);
    struct rk_task a, b, c, d;
    get(running, &a);
    get(queued1, &b);
    get(queued2, &c);
    get(other, &d);
    assert_string_equal(a.status, RK_TASK_ERROR);
    assert_string_equal(a.error_description, "cancelled as asked");
    assert_string_equal(b.status, RK_TASK_ERROR);
    assert_string_equal(b.error_description, "cancelled: database 5 is being deleted");
    assert_string_equal(c.status, RK_TASK_COMPLETED); /* the one spared */
    assert_string_equal(d.status, RK_TASK_COMPLETED); /* another database */
    rk_task_clear(&a);
    rk_task_clear(&b);
    rk_task_clear(&c);
    rk_task_clear(&d);
    assert_int_equal(tasks_stop(t, 5), 0);
    tasks_free(t);
}

static void test_stop_cancels_and_marks_what_keeps_running(void **state)
{
    struct rk_err err;
    struct rk_tasks *t = tasks_new(NULL, cat, kinds, 7, 2, 4);
    char polite[RK_TASK_ID_LEN + 1], stubborn[RK_TASK_ID_LEN + 1], queued[RK_TASK_ID_LEN + 1];
    assert_int_equal(tasks_start(t, &err), 0);
    submit(t, "databaseImportRequest", 1, polite);
    submit(t, "databaseDeleteRequest", 2, stubborn);
    submit(t, "databaseUpdateRequest", 1, queued);
    sleep_ms(200);
    assert_int_equal(tasks_stop(t, 1), 1);
    struct rk_task a, b, q;
    get(polite, &a);
    get(stubborn, &b);
    get(queued, &q);
    assert_string_equal(a.status, RK_TASK_ERROR);
    assert_string_equal(b.status, RK_TASK_ERROR);
    assert_string_equal(b.error_description, "the daemon shut down while this task was running");
    /* Never started: it stays received and runs after the next start. */
    assert_string_equal(q.status, RK_TASK_RECEIVED);
    rk_task_clear(&a);
    rk_task_clear(&b);
    rk_task_clear(&q);
    /* The stubborn job ends on its own; then its worker exits. */
    sleep_ms(1800);
    tasks_free(t);
}

static void test_progress_result_and_errors(void **state)
{
    struct rk_err err;
    struct rk_tasks *t = tasks_new(NULL, cat, kinds, 7, 3, 4);
    char p[RK_TASK_ID_LEN + 1], s[RK_TASK_ID_LEN + 1], ty[RK_TASK_ID_LEN + 1];
    assert_int_equal(tasks_start(t, &err), 0);
    submit(t, "databaseCreateRequest", 3, p);
    submit(t, "subscriptionCreateRequest", 0, s);
    submit(t, "subscriptionDeleteRequest", 4, ty);
    sleep_ms(300);
    struct rk_task x;
    get(p, &x);
    assert_string_equal(x.status, RK_TASK_RUNNING);
    assert_int_equal(x.bytes, 10);
    assert_int_equal(x.total_bytes, 100);
    assert_int_equal(x.keys, 5);
    rk_task_clear(&x);
    wait_finished(p);
    wait_finished(s);
    wait_finished(ty);
    get(p, &x);
    assert_string_equal(x.status, RK_TASK_COMPLETED);
    assert_int_equal(x.bytes, 50);
    assert_int_equal(x.keys, 9);
    assert_int_equal(x.resource_id, 77);
    assert_string_equal(x.resource, "{\"files\":[\"a\"]}");
    assert_null(x.error_type);
    rk_task_clear(&x);
    get(s, &x);
    assert_string_equal(x.status, RK_TASK_ERROR);
    assert_string_equal(x.error_type, "GENERAL_ERROR");
    assert_string_equal(x.error_status, "500 INTERNAL_SERVER_ERROR");
    rk_task_clear(&x);
    get(ty, &x);
    assert_string_equal(x.error_type, "DATABASE_BACKUP_DISABLED");
    assert_string_equal(x.error_status, "400 BAD_REQUEST");
    assert_string_equal(x.error_description, "no backup path for database 4");
    rk_task_clear(&x);
    assert_int_equal(tasks_stop(t, 5), 0);
    tasks_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backups_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiting_backups_start_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_task_per_database_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_cancels_and_marks_what_keeps_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_result_and_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
