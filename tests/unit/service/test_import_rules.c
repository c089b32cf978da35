/* What the import needs from the rest of the service, in isolation: the
 * per-source-type URI rule answered at once (with the store's error type
 * names and without secrets), the staging server's config (a log path of
 * its own, everything else the database's), and the catalog's latest task
 * of a kind (GET .../import). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/import.h"

static int check(const char *type, const char *uri, struct rk_fail *f)
{
    char *uris[] = {(char *)uri};
    struct rk_import_spec s = {(char *)type, uris, 1};
    return rk_import_spec_check(&s, f);
}

static void test_uris_fit_their_source_type(void **state)
{
    static const struct {
        const char *type, *uri;
    } good[] = {
        {"aws-s3", "s3://bucket/path/file.rdb.gz"},
        {"google-blob-storage", "gs://bucket/file.rdb"},
        {"azure-blob-storage", "abs://:a2V5@account/container/file.rdb"},
        {"ftp", "ftp://user:pass@host:2121/dir/file.rdb"},
        {"ftp", "ftps://host/file.rdb.gz"},
        {"http", "http://user:pa%20ss@host:8080/file.rdb"},
        {"http", "https://host/file.rdb.gz?sig=abc"},
        {"redis", "redis://secret@127.0.0.1:6379"},
        {"redis", "rediss://user:secret@host:6380"},
    };
    struct rk_fail f;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (check(good[i].type, good[i].uri, &f) != 0)
            fail_msg("%s %s: refused: %s %s", good[i].type, good[i].uri, f.type, f.description);

    static const struct {
        const char *type, *uri, *want;
    } bad[] = {
        {"aws-s3", "gs://bucket/file.rdb", "DATABASE_IMPORT_S3_BAD_URI"},
        {"aws-s3", "s3://bucket", "DATABASE_IMPORT_S3_BAD_URI"},
        {"google-blob-storage", "s3://bucket/file.rdb", "DATABASE_IMPORT_GCS_BAD_URI"},
        {"azure-blob-storage", "https://account.blob.core.windows.net/c/f",
         "DATABASE_IMPORT_AZURE_BAD_URI"},
        {"ftp", "http://user:s3cret@host/file.rdb", "DATABASE_IMPORT_FTP_BAD_URI"},
        {"http", "ftp://user:s3cret@host/file.rdb", "DATABASE_IMPORT_HTTP_BAD_URI"},
        {"http", "http://user:s3cret@/file.rdb", "DATABASE_IMPORT_HTTP_BAD_URI"},
        {"redis", "redis://s3cret@host", "DATABASE_IMPORT_REDIS_BAD_URI"},
        {"redis", "http://host:6379", "DATABASE_IMPORT_REDIS_BAD_URI"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(check(bad[i].type, bad[i].uri, &f), -1);
        assert_int_equal(f.http, 400);
        if (strcmp(f.type, bad[i].want) != 0)
            fail_msg("%s %s: %s, want %s (%s)", bad[i].type, bad[i].uri, f.type, bad[i].want,
                     f.description);
        if (strstr(f.description, "s3cret")) fail_msg("a secret in: %s", f.description);
        if (!strstr(f.description, "importFromUri[0]")) fail_msg("which URI? %s", f.description);
    }
}

static void test_earlier_rules_come_first(void **state)
{
    /* Two malformed redis URIs: the count is the error, not their syntax. */
    char *two[] = {"redis://nope", "redis://nope2"}, *same[] = {"s3://bucket/a", "s3://bucket/a"};
    struct rk_import_spec s = {"redis", two, 2};
    struct rk_fail f;
    assert_int_equal(rk_import_spec_check(&s, &f), -1);
    assert_string_equal(f.type, "DATABASE_IMPORT_MULTIPLE_REDIS_SOURCES");
    struct rk_import_spec d = {"aws-s3", same, 2};
    assert_int_equal(rk_import_spec_check(&d, &f), -1);
    assert_string_equal(f.type, "DUPLICATE_DATABASE_IMPORT_SOURCE_PATH");
}

static void test_staging_config_logs_where_it_will_live(void **state)
{
    struct rk_db db = {0};
    db.id = 7;
    db.password = (char *)"pw";
    db.memory_limit_gb = 0;
    snprintf(db.data_persistence, sizeof(db.data_persistence), "none");
    snprintf(db.eviction_policy, sizeof(db.eviction_policy), "allkeys-lru");
    struct redis_instance in = {.db = &db,
                                .dir = "/d/7.import",
                                .bind = "127.0.0.1",
                                .port = 41000,
                                .logfile = "/d/7/redis.log"};
    char *conf = redisconf_render(&in);
    assert_non_null(strstr(conf, "\nlogfile \"/d/7/redis.log\"\n"));
    assert_non_null(strstr(conf, "\ndir \"/d/7.import\"\n"));
    assert_non_null(strstr(conf, "\npidfile \"/d/7.import/redis.pid\"\n"));
    assert_non_null(strstr(conf, "\nport 41000\n"));
    assert_non_null(strstr(conf, "\nmaxmemory 0\n"));
    assert_non_null(strstr(conf, "\nmaxmemory-policy allkeys-lru\n"));
    assert_non_null(strstr(conf, "\nrequirepass \"pw\"\n"));
    assert_null(strstr(conf, "replicaof"));
    free(conf);
    in.logfile = NULL;
    conf = redisconf_render(&in);
    assert_non_null(strstr(conf, "\nlogfile \"/d/7.import/redis.log\"\n"));
    free(conf);
}

static void test_latest_task_of_a_kind(void **state)
{
    char dir[64], path[128], cmd[128];
    snprintf(dir, sizeof(dir), "/tmp/rk-import-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/catalog.db", dir);
    struct rk_err err;
    struct rk_catalog *c = catalog_open(path, 2, &err);
    assert_non_null(c);
    struct rk_task a, b, other, got;
    assert_int_equal(catalog_task_latest(c, 3, "databaseImportRequest", &got, &err), 0);
    assert_int_equal(catalog_begin(c, &err), 0);
    assert_int_equal(task_record(c, "databaseImportRequest", 1, 3, "{\"n\":1}", &a, &err), 0);
    assert_int_equal(task_record(c, "databaseImportRequest", 1, 3, "{\"n\":2}", &b, &err), 0);
    assert_int_equal(task_record(c, "databaseBackupRequest", 1, 3, NULL, &other, &err), 0);
    assert_int_equal(task_record(c, "databaseImportRequest", 1, 4, NULL, &got, &err), 0);
    rk_task_clear(&got);
    assert_int_equal(catalog_commit(c, &err), 0);
    assert_int_equal(catalog_task_latest(c, 3, "databaseImportRequest", &got, &err), 1);
    assert_string_equal(got.id, b.id);
    assert_int_equal(got.database_id, 3);
    rk_task_clear(&got);
    assert_int_equal(catalog_task_latest(c, 5, "databaseImportRequest", &got, &err), 0);
    rk_task_clear(&a);
    rk_task_clear(&b);
    rk_task_clear(&other);
    catalog_close(c);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Before 7.0, CONFIG SET port is refused, and only after the swap has
 * stopped the old primary: such a server must not be swapped at all. */
static void test_swap_needs_a_movable_port(void **state)
{
    static const char *movable[] = {"7.0.0", "7.0.15", "7.2.4", "8.0.1", "10.1.2"};
    static const char *fixed[] = {"6.2.14", "6.0.0", "5.0.7", "2.8.24", "", "7", "unknown"};
    for (size_t i = 0; i < sizeof(movable) / sizeof(movable[0]); i++)
        if (!import_swap_supported(movable[i])) fail_msg("%s: refused", movable[i]);
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (import_swap_supported(fixed[i])) fail_msg("%s: accepted", fixed[i]);
    assert_false(import_swap_supported(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uris_fit_their_source_type),
        cmocka_unit_test(test_earlier_rules_come_first),
        cmocka_unit_test(test_staging_config_logs_where_it_will_live),
        cmocka_unit_test(test_latest_task_of_a_kind),
        cmocka_unit_test(test_swap_needs_a_movable_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
