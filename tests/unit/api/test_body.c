#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static int db_body(const char *body, bool create, struct rk_db_spec *s, struct rk_fail *f)
{
    return rk_api_parse_db_body(body, strlen(body), 32, create, s, f);
}

static void expect_fail(const char *body, bool create, const char *type, const char *in_description)
{
    struct rk_db_spec s;
    struct rk_fail f;
    if (db_body(body, create, &s, &f) != -1) fail_msg("accepted: %s", body);
    if (strcmp(f.type, type) != 0) fail_msg("%s: type %s, want %s (%s)", body, f.type, type, f.description);
    assert_int_equal(f.http, 400);
    if (in_description && !strstr(f.description, in_description))
        fail_msg("%s: '%s' not in '%s'", body, in_description, f.description);
}

static void test_create_body(void **state)
{
    struct rk_db_spec s;
    struct rk_fail f;
    const char *body = "{\"name\": \"cache\", \"protocol\": \"redis\", \"port\": 12345, \"password\": \"pw\","
                       " \"memoryLimitInGb\": 2, \"dataPersistence\": \"aof-every-write\", \"replication\": false,"
                       " \"clustering\": {\"numberOfShards\": 1}, \"periodicBackupPath\": \"s3://b/p\","
                       " \"dataEvictionPolicy\": \"noeviction\", \"replicaOf\": null, \"alerts\": [],"
                       " \"throughputMeasurement\": {\"by\": \"operations-per-second\", \"value\": 1000},"
                       " \"redisVersion\": \"7.0\", \"dryRun\": false}\n";
    assert_int_equal(db_body(body, true, &s, &f), 0);
    assert_true(s.has_name && strcmp(s.name, "cache") == 0);
    assert_true(s.has_port && s.port == 12345);
    assert_true(s.has_memory_limit_gb && s.memory_limit_gb == 2.0);
    assert_true(s.has_replication && !s.replication);
    assert_true(s.has_shards && s.shards == 1);
    assert_true(s.has_periodic_backup_path);
    assert_true(s.has_redis_version);
    assert_false(s.has_remote_backup || s.has_dataset_size_gb);
    rk_db_spec_clear(&s);
    /* null is absent */
    assert_int_equal(db_body("{\"name\": \"n\", \"password\": null, \"port\": null}", true, &s, &f), 0);
    assert_false(s.has_password || s.has_port);
    rk_db_spec_clear(&s);
}

static void test_remote_backup_kept_clean(void **state)
{
    struct rk_db_spec s;
    struct rk_fail f;
    assert_int_equal(db_body("{\"remoteBackup\": {\"active\": true, \"interval\": \"every-6-hours\", \"junk\": [1],"
                             " \"storageType\": \"aws-s3\", \"storagePath\": \"s3://b\","
                             " \"retention\": {\"keepLast\": 3, \"other\": 1}}}",
                             false, &s, &f),
                     0);
    assert_true(s.has_remote_backup && s.remote_backup_active);
    json_t *rb = json_loads(s.remote_backup, 0, NULL);
    assert_non_null(rb);
    assert_null(json_object_get(rb, "junk"));
    assert_string_equal(json_string_value(json_object_get(rb, "interval")), "every-6-hours");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rb, "retention"), "keepLast")), 3);
    assert_null(json_object_get(json_object_get(rb, "retention"), "other"));
    json_decref(rb);
    rk_db_spec_clear(&s);
    assert_int_equal(db_body("{\"remoteBackup\": {\"active\": false}}", false, &s, &f), 0);
    assert_false(s.remote_backup_active);
    rk_db_spec_clear(&s);
}

static void test_body_errors(void **state)
{
    expect_fail("", true, "INVALID_JSON", "needs a JSON object");
    expect_fail("  \n", false, "INVALID_JSON", NULL);
    expect_fail("{\"name\": \"x\"", true, "INVALID_JSON", "byte offset");
    expect_fail("[]", true, "INVALID_JSON", "not an array");
    expect_fail("\"str\"", true, "INVALID_JSON", NULL);
    expect_fail("{\"a\": 1} x", true, "INVALID_JSON", NULL);
    expect_fail("{\"name\": \"a\", \"name\": \"b\"}", true, "INVALID_JSON", NULL);
    expect_fail("{\"name\": \"\\u0000\"}", true, "INVALID_JSON", NULL);
    expect_fail("{\"name\": \"\xff\"}", true, "INVALID_JSON", NULL);
    expect_fail("{\"name\": 1}", true, "INVALID_FIELD_TYPE", "name: expected a string, got a number");
    expect_fail("{\"name\": \"n\", \"port\": \"1\"}", true, "INVALID_FIELD_TYPE", "port: expected an integer");
    expect_fail("{\"name\": \"n\", \"port\": 1.5}", true, "INVALID_FIELD_TYPE", NULL);
    expect_fail("{\"name\": \"n\", \"memoryLimitInGb\": [1]}", true, "INVALID_FIELD_TYPE", "got an array");
    expect_fail("{\"name\": \"n\", \"replication\": 1}", true, "INVALID_FIELD_TYPE", NULL);
    expect_fail("{\"name\": \"n\", \"clustering\": 2}", true, "INVALID_FIELD_TYPE", "clustering");
    expect_fail("{\"name\": \"n\", \"clustering\": {\"numberOfShards\": \"2\"}}", true, "INVALID_FIELD_TYPE",
                "clustering.numberOfShards");
    expect_fail("{\"remoteBackup\": {\"storagePath\": 5}}", false, "INVALID_FIELD_TYPE", "remoteBackup.storagePath");
    expect_fail("{\"remoteBackup\": {\"retention\": []}}", false, "INVALID_FIELD_TYPE", "remoteBackup.retention");
    expect_fail("{\"remoteBackup\": true}", false, "INVALID_FIELD_TYPE", "remoteBackup");
    expect_fail("{\"name\": \"n\", \"dryRun\": true}", true, "INVALID_FIELD_VALUE", "dryRun");
    expect_fail("{\"memoryLimitInGb\": 1}", true, "MISSING_FIELD", "name");
    expect_fail("{\"name\": \"n\", \"dataPersistence\": \"x\"}", true, "INVALID_FIELD_VALUE", "dataPersistence");
}

static void test_depth(void **state)
{
    struct rk_db_spec s;
    struct rk_fail f;
    char deep[256];
    /* 32 levels pass, 33 do not; brackets inside strings do not count. */
    int n = 0;
    n += snprintf(deep + n, sizeof(deep) - (size_t)n, "{\"note\":\"[[[[\",\"x\":");
    for (int i = 0; i < 31; i++) deep[n++] = '[';
    for (int i = 0; i < 31; i++) deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    assert_int_equal(db_body(deep, false, &s, &f), 0);
    rk_db_spec_clear(&s);
    size_t big = 1000000;
    char *huge = malloc(2 * big + 16);
    memcpy(huge, "{\"a\":", 5);
    memset(huge + 5, '[', big);
    memset(huge + 5 + big, ']', big);
    memcpy(huge + 5 + 2 * big, "}", 2);
    assert_int_equal(rk_api_parse_db_body(huge, strlen(huge), 32, false, &s, &f), -1);
    assert_string_equal(f.type, "INVALID_JSON");
    assert_non_null(strstr(f.description, "deeper than 32 levels at byte offset 36"));
    free(huge);
}

static void test_import_backup_subscription_bodies(void **state)
{
    struct rk_import_spec is;
    struct rk_fail f;
    const char *ok = "{\"sourceType\":\"aws-s3\",\"importFromUri\":[\"s3://bkt/1.rdb\",\"s3://bkt/2.rdb.gz\"]}\n";
    assert_int_equal(rk_api_parse_import_body(ok, strlen(ok), 32, &is, &f), 0);
    assert_int_equal(is.nuris, 2);
    assert_string_equal(is.uris[1], "s3://bkt/2.rdb.gz");
    rk_import_spec_clear(&is);
    static const struct {
        const char *body, *type;
    } bad[] = {
        {"{\"importFromUri\":[\"x\"]}", "DATABASE_INVALID_IMPORT_SOURCE_TYPE"},
        {"{\"sourceType\":\"ftp\"}", "DATABASE_IMPORT_URI_NOT_PROVIDED"},
        {"{\"sourceType\":\"ftp\",\"importFromUri\":[]}", "DATABASE_IMPORT_URI_NOT_PROVIDED"},
        {"{\"sourceType\":\"ftp\",\"importFromUri\":[1]}", "INVALID_FIELD_TYPE"},
        {"{\"sourceType\":7,\"importFromUri\":[\"x\"]}", "INVALID_FIELD_TYPE"},
        {"{\"sourceType\":\"gopher\",\"importFromUri\":[\"x\"]}", "DATABASE_INVALID_IMPORT_SOURCE_TYPE"},
        {"", "INVALID_JSON"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(rk_api_parse_import_body(bad[i].body, strlen(bad[i].body), 32, &is, &f), -1);
        if (strcmp(f.type, bad[i].type) != 0) fail_msg("%s: %s, want %s", bad[i].body, f.type, bad[i].type);
    }
    char *path;
    assert_int_equal(rk_api_parse_backup_body("", 0, 32, &path, &f), 0);
    assert_null(path);
    assert_int_equal(rk_api_parse_backup_body("{\"adhocBackupPath\":\"/b\"}", 24, 32, &path, &f), 0);
    assert_string_equal(path, "/b");
    free(path);
    assert_int_equal(rk_api_parse_backup_body("{\"adhocBackupPath\":[]}", 22, 32, &path, &f), -1);
    char *name;
    assert_int_equal(rk_api_parse_subscription_body("", 0, 32, &name, &f), 0);
    assert_null(name);
    const char *sub = "{\"name\":\"n\",\"cloudProviders\":[]}";
    assert_int_equal(rk_api_parse_subscription_body(sub, strlen(sub), 32, &name, &f), 0);
    assert_string_equal(name, "n");
    free(name);
    assert_int_equal(rk_api_parse_subscription_body("{\"name\":{}}", 11, 32, &name, &f), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_body),
        cmocka_unit_test(test_remote_backup_kept_clean),
        cmocka_unit_test(test_body_errors),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_import_backup_subscription_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
