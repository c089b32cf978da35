#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/internal.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/rk-catalog-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof(path), "%s/catalog.db", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct rk_db make_db(int64_t sub, const char *name, unsigned port)
{
    struct rk_db d = {0};
    d.subscription_id = sub;
    d.name = (char *)name;
    snprintf(d.status, sizeof(d.status), "pending");
    snprintf(d.protocol, sizeof(d.protocol), "redis");
    d.port = port;
    d.password = (char *)"pw";
    d.memory_limit_gb = 0.5;
    snprintf(d.data_persistence, sizeof(d.data_persistence), "none");
    snprintf(d.eviction_policy, sizeof(d.eviction_policy), "volatile-lru");
    snprintf(d.redis_version, sizeof(d.redis_version), "7.0.15");
    d.shards = 1;
    return d;
}

static void test_resources_round_trip_and_survive_reopen(void **state)
{
    struct rk_err err;
    struct rk_catalog *c = catalog_open(path, 2, &err);
    assert_non_null(c);
    int64_t sub;
    struct rk_task t;
    assert_int_equal(catalog_begin(c, &err), 0);
    assert_int_equal(catalog_sub_insert(c, "team", "pending", 1000, &sub, &err), 0);
    struct rk_db d = make_db(sub, "cache", 12000);
    d.periodic_backup_path = (char *)"s3://b/p";
    assert_int_equal(catalog_db_insert(c, &d, &err), 0);
    assert_int_equal(task_record(c, "databaseCreateRequest", sub, d.id, "{\"x\":1}", &t, &err), 0);
    /* Inside the transaction, reads see it. */
    struct rk_db got;
    assert_int_equal(catalog_db_get(c, d.id, &got, &err), 1);
    rk_db_clear(&got);
    assert_int_equal(catalog_commit(c, &err), 0);
    catalog_close(c);

    c = catalog_open(path, 2, &err);
    assert_non_null(c);
    assert_int_equal(catalog_db_get(c, d.id, &got, &err), 1);
    assert_string_equal(got.name, "cache");
    assert_int_equal(got.port, 12000);
    assert_string_equal(got.periodic_backup_path, "s3://b/p");
    assert_null(got.remote_backup);
    assert_true(got.memory_limit_gb == 0.5);
    rk_db_clear(&got);
    struct rk_subscription s;
    assert_int_equal(catalog_sub_get(c, sub, &s, &err), 1);
    assert_int_equal(s.database_count, 1);
    rk_subscription_clear(&s);
    struct rk_task back;
    assert_int_equal(catalog_task_get(c, t.id, &back, &err), 1);
    assert_string_equal(back.status, RK_TASK_RECEIVED);
    assert_int_equal(back.database_id, d.id);
    rk_task_clear(&back);
    char *params;
    assert_int_equal(catalog_task_params(c, t.id, &params, &err), 1);
    assert_string_equal(params, "{\"x\":1}");
    free(params);
    assert_int_equal(catalog_check(c, &err), 0);
    rk_task_clear(&t);
    catalog_close(c);
}

/* A status change is the service's doing: lastModified (updated_ms), which
 * the backup schedule counts from, must not move with it. */
static void test_status_keeps_last_modified(void **state)
{
    struct rk_err err;
    struct rk_catalog *c = catalog_open(path, 1, &err);
    int64_t sub;
    assert_int_equal(catalog_begin(c, &err), 0);
    assert_int_equal(catalog_sub_insert(c, "s", "active", 1, &sub, &err), 0);
    struct rk_db d = make_db(sub, "a", 12000);
    d.created_ms = d.updated_ms = 1000;
    assert_int_equal(catalog_db_insert(c, &d, &err), 0);
    assert_int_equal(catalog_db_set_status(c, d.id, "import-pending", NULL, &err), 0);
    assert_int_equal(catalog_db_set_status(c, d.id, "active", NULL, &err), 0);
    assert_int_equal(catalog_commit(c, &err), 0);
    struct rk_db got;
    assert_int_equal(catalog_db_get(c, d.id, &got, &err), 1);
    assert_string_equal(got.status, "active");
    assert_int_equal(got.updated_ms, d.updated_ms);
    rk_db_clear(&got);
    catalog_close(c);
}

static void test_rollback_leaves_nothing(void **state)
{
    struct rk_err err;
    struct rk_catalog *c = catalog_open(path, 1, &err);
    int64_t sub, n;
    assert_int_equal(catalog_begin(c, &err), 0);
    assert_int_equal(catalog_sub_insert(c, "gone", "pending", 1, &sub, &err), 0);
    catalog_rollback(c);
    assert_int_equal(catalog_sub_count(c, &n, &err), 0);
    assert_int_equal(n, 0);
    catalog_close(c);
}

static void test_uniqueness_of_names_and_ports(void **state)
{
    struct rk_err err;
    struct rk_catalog *c = catalog_open(path, 1, &err);
    int64_t sub;
    assert_int_equal(catalog_begin(c, &err), 0);
    assert_int_equal(catalog_sub_insert(c, "s", "active", 1, &sub, &err), 0);
    struct rk_db a = make_db(sub, "a", 12000), b = make_db(sub, "a", 12001), p = make_db(sub, "p", 12000);
    a.replica_port = 12005;
    assert_int_equal(catalog_db_insert(c, &a, &err), 0);
    assert_int_equal(catalog_db_name_taken(c, sub, "a", 0, &err), 1);
    assert_int_equal(catalog_db_name_taken(c, sub, "a", a.id, &err), 0);
    assert_int_equal(catalog_db_port_taken(c, 12005, 0, &err), 1);
    assert_int_equal(catalog_db_port_taken(c, 12001, 0, &err), 0);
    /* The schema refuses what the checks would have caught. */
    assert_int_equal(catalog_db_insert(c, &b, &err), -1);
    assert_int_equal(catalog_db_insert(c, &p, &err), -1);
    catalog_rollback(c);
    catalog_close(c);
}

static void test_running_tasks_fail_and_old_ones_are_pruned(void **state)
{
    struct rk_err err;
    struct rk_catalog *c = catalog_open(path, 1, &err);
    struct rk_task a, b, d;
    int64_t n;
    assert_int_equal(catalog_begin(c, &err), 0);
    assert_int_equal(task_record(c, "subscriptionCreateRequest", 1, 0, NULL, &a, &err), 0);
    assert_int_equal(task_record(c, "subscriptionCreateRequest", 1, 0, NULL, &b, &err), 0);
    assert_int_equal(task_record(c, "subscriptionCreateRequest", 1, 0, NULL, &d, &err), 0);
    assert_int_equal(catalog_task_set_status(c, a.id, RK_TASK_RUNNING, "busy", 5, &err), 0);
    assert_int_equal(catalog_task_fail_all(c, RK_TASK_RUNNING, "the daemon stopped", 6, &n, &err), 0);
    assert_int_equal(n, 1);
    struct rk_task done = {0};
    memcpy(done.id, b.id, sizeof(done.id));
    assert_int_equal(catalog_task_finish(c, &done, 7, &err), 0);
    assert_int_equal(catalog_commit(c, &err), 0);

    struct rk_task got;
    assert_int_equal(catalog_task_get(c, a.id, &got, &err), 1);
    assert_string_equal(got.status, RK_TASK_ERROR);
    assert_string_equal(got.error_description, "the daemon stopped");
    assert_string_equal(got.error_type, "GENERAL_ERROR");
    rk_task_clear(&got);

    struct rk_task *list;
    size_t count;
    assert_int_equal(catalog_task_list_received(c, &list, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_string_equal(list[0].id, d.id);
    rk_task_clear(&list[0]);
    free(list);
    /* Newest first. */
    assert_int_equal(catalog_task_list(c, 0, 10, &list, &count, &err), 0);
    assert_int_equal(count, 3);
    assert_string_equal(list[0].id, d.id);
    assert_string_equal(list[2].id, a.id);
    for (size_t i = 0; i < count; i++) rk_task_clear(&list[i]);
    free(list);

    assert_int_equal(catalog_begin(c, &err), 0);
    assert_int_equal(catalog_task_prune(c, 1000, &n, &err), 0);
    assert_int_equal(catalog_commit(c, &err), 0);
    assert_int_equal(n, 2); /* the finished ones; the received one stays */
    assert_int_equal(catalog_task_count(c, NULL, &n, &err), 0);
    assert_int_equal(n, 1);
    rk_task_clear(&a);
    rk_task_clear(&b);
    rk_task_clear(&d);
    catalog_close(c);
}

static void test_backups_table(void **state)
{
    struct rk_err err;
    struct rk_catalog *c = catalog_open(path, 1, &err);
    struct rk_backup b = {0};
    b.database_id = 3;
    snprintf(b.status, sizeof(b.status), "in-progress");
    b.destination = (char *)"ftp://u:p@h/x";
    b.started_ms = 10;
    int64_t id;
    assert_int_equal(catalog_begin(c, &err), 0);
    assert_int_equal(catalog_backup_insert(c, &b, &id, &err), 0);
    b.id = id;
    snprintf(b.status, sizeof(b.status), "succeeded");
    b.size_bytes = 1234;
    b.files = (char *)"[{\"name\":\"a.rdb.gz\"}]";
    assert_int_equal(catalog_backup_update(c, &b, &err), 0);
    assert_int_equal(catalog_commit(c, &err), 0);
    struct rk_backup got;
    assert_int_equal(catalog_backup_latest(c, 3, &got, &err), 1);
    assert_string_equal(got.status, "succeeded");
    assert_int_equal(got.size_bytes, 1234);
    assert_string_equal(got.files, "[{\"name\":\"a.rdb.gz\"}]");
    rk_backup_clear(&got);
    assert_int_equal(catalog_backup_latest(c, 4, &got, &err), 0);
    catalog_close(c);
}

static void test_newer_schema_is_refused(void **state)
{
    struct rk_err err;
    struct rk_catalog *c = catalog_open(path, 1, &err);
    catalog_close(c);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "sqlite3 %s 'PRAGMA user_version = 99'", path);
    assert_int_equal(system(cmd), 0);
    assert_null(catalog_open(path, 1, &err));
    assert_non_null(strstr(err.msg, "newer than this rdbkeep"));
}

struct reader_arg {
    struct rk_catalog *c;
    int64_t id;
    int errors;
};

static void *reader(void *p)
{
    struct reader_arg *a = p;
    for (int i = 0; i < 2000; i++) {
        struct rk_err err;
        struct rk_db d;
        int r = catalog_db_get(a->c, a->id, &d, &err);
        if (r != 1) a->errors++;
        else rk_db_clear(&d);
    }
    return NULL;
}

/* Readers on their own connections while a writer commits. */
static void test_readers_alongside_a_writer(void **state)
{
    struct rk_err err;
    struct rk_catalog *c = catalog_open(path, 3, &err);
    int64_t sub;
    assert_int_equal(catalog_begin(c, &err), 0);
    assert_int_equal(catalog_sub_insert(c, "s", "active", 1, &sub, &err), 0);
    struct rk_db d = make_db(sub, "r", 12000);
    assert_int_equal(catalog_db_insert(c, &d, &err), 0);
    assert_int_equal(catalog_commit(c, &err), 0);
    pthread_t th[4];
    struct reader_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct reader_arg){c, d.id, 0};
        pthread_create(&th[i], NULL, reader, &args[i]);
    }
    for (int i = 0; i < 50; i++) {
        assert_int_equal(catalog_begin(c, &err), 0);
        assert_int_equal(catalog_db_set_status(c, d.id, i % 2 ? "active" : "error", NULL, &err), 0);
        assert_int_equal(catalog_commit(c, &err), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].errors, 0);
    }
    catalog_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resources_round_trip_and_survive_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_keeps_last_modified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uniqueness_of_names_and_ports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_running_tasks_fail_and_old_ones_are_pruned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backups_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers_alongside_a_writer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
