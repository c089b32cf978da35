/* Identifiers, value rules of database settings, removing
 * a database's files, redis.conf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "service/internal.h"

static void test_identifiers(void **state)
{
    char a[RK_TASK_ID_LEN + 1], b[RK_TASK_ID_LEN + 1];
    rk_uuid4(a);
    rk_uuid4(b);
    assert_int_equal(strlen(a), 36);
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));
    for (int i = 0; i < 36; i++)
        if (i == 8 || i == 13 || i == 18 || i == 23) assert_int_equal(a[i], '-');
        else assert_non_null(strchr("0123456789abcdef", a[i]));
    char tok[65];
    rk_random_token(tok, 64);
    assert_int_equal(strlen(tok), 64);
    assert_int_equal(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"), 64);
    char st[48];
    rk_http_status_text(404, st, sizeof(st));
    assert_string_equal(st, "404 NOT_FOUND");
    rk_http_status_text(413, st, sizeof(st));
    assert_string_equal(st, "413 PAYLOAD_TOO_LARGE");
}

static int check(struct rk_db_spec *s, bool create, const char *type)
{
    struct rk_fail f;
    int rc = rk_db_spec_check(s, create, &f);
    if (type && (rc == 0 || strcmp(f.type, type) != 0)) fail_msg("want %s, got %s: %s", type, rc ? f.type : "ok", rc ? f.description : "");
    if (!type && rc != 0) fail_msg("refused: %s", f.description);
    return rc;
}

static void test_db_spec_rules(void **state)
{
    struct rk_db_spec s = {0};
    check(&s, true, "MISSING_FIELD");
    check(&s, false, NULL); /* an empty update is fine */
    s.has_name = true;
    const char *good[] = {"a", "cache-1", "A1234567890123456789012345678901234567Z"};
    const char *bad[] = {"", "1a", "-a", "a-", "a_b", "a b", "A12345678901234567890123456789012345678901"};
    for (size_t i = 0; i < 3; i++) s.name = (char *)good[i], check(&s, true, NULL);
    for (size_t i = 0; i < 7; i++) s.name = (char *)bad[i], check(&s, true, "INVALID_FIELD_VALUE");
    s.name = (char *)"ok";
    s.has_port = true, s.port = 1023, check(&s, true, "INVALID_FIELD_VALUE");
    s.port = 65536, check(&s, true, "INVALID_FIELD_VALUE");
    s.port = 1024, check(&s, true, NULL);
    s.has_password = true, s.password = (char *)"has space", check(&s, true, "INVALID_FIELD_VALUE");
    s.password = (char *)"", check(&s, true, "INVALID_FIELD_VALUE");
    s.password = (char *)"a\"b\\c!", check(&s, true, NULL);
    s.has_memory_limit_gb = true, s.memory_limit_gb = 0, check(&s, true, "INVALID_FIELD_VALUE");
    s.memory_limit_gb = 0.0005, check(&s, true, "INVALID_FIELD_VALUE"); /* under 1 MiB */
    s.memory_limit_gb = 2000, check(&s, true, "INVALID_FIELD_VALUE");
    s.memory_limit_gb = 0.1, check(&s, true, NULL);
    s.has_dataset_size_gb = true, s.dataset_size_gb = 0.1, check(&s, true, "INVALID_FIELD_VALUE");
    s.has_dataset_size_gb = false;
    s.has_data_persistence = true, s.data_persistence = (char *)"aof-every-hour", check(&s, true, "INVALID_FIELD_VALUE");
    s.data_persistence = (char *)"snapshot-every-12-hours", check(&s, true, NULL);
    s.has_eviction_policy = true, s.eviction_policy = (char *)"lru", check(&s, true, "INVALID_FIELD_VALUE");
    s.eviction_policy = (char *)"noeviction", check(&s, true, NULL);
    s.has_shards = true, s.shards = 0, check(&s, true, "INVALID_FIELD_VALUE");
    s.shards = 2, check(&s, true, "CLUSTERING_NOT_SUPPORTED");
    s.shards = 1, check(&s, true, NULL);
    s.has_protocol = true, s.protocol = (char *)"memcached", check(&s, true, "INVALID_FIELD_VALUE");
}

static void test_backup_settings_exclusive(void **state)
{
    struct rk_db_spec s = {0};
    struct rk_db current = {0};
    struct rk_fail f;
    s.has_periodic_backup_path = true;
    s.periodic_backup_path = (char *)"/b";
    s.has_remote_backup = true;
    s.remote_backup = (char *)"{}";
    s.remote_backup_active = true;
    assert_int_equal(backup_settings_check(&s, NULL, &f), -1);
    assert_string_equal(f.type, "DATABASE_INVALID_BACKUP_PATH");
    s.remote_backup_active = false; /* {"active": false} turns it off */
    assert_int_equal(backup_settings_check(&s, NULL, &f), 0);
    /* An update adding one while the database has the other. */
    s.has_remote_backup = false;
    current.remote_backup = (char *)"{\"active\":true}";
    assert_int_equal(backup_settings_check(&s, &current, &f), -1);
    s.periodic_backup_path = (char *)"";
    assert_int_equal(backup_settings_check(&s, &current, &f), 0);
}

static void test_import_spec_rules(void **state)
{
    char *two_same[] = {"http://a/x", "http://a/x"}, *two[] = {"redis://a:1", "redis://b:1"}, *one[] = {"http://a/x"},
         *empty[] = {""}, *one_ftp[] = {"ftp://a/x"}, *two_s3[] = {"s3://bucket/1.rdb", "s3://bucket/2.rdb"};
    struct {
        const char *type;
        char **uris;
        size_t n;
        const char *want;
    } cases[] = {
        {"ftp", one_ftp, 1, NULL},
        {"ftp", one, 1, "DATABASE_IMPORT_FTP_BAD_URI"},
        {"nfs", one, 1, "DATABASE_INVALID_IMPORT_SOURCE_TYPE"},
        {"http", one, 0, "DATABASE_IMPORT_URI_NOT_PROVIDED"},
        {"http", empty, 1, "DATABASE_IMPORT_URI_NOT_PROVIDED"},
        {"http", two_same, 2, "DUPLICATE_DATABASE_IMPORT_SOURCE_PATH"},
        {"redis", two, 2, "DATABASE_IMPORT_MULTIPLE_REDIS_SOURCES"},
        {"aws-s3", two_s3, 2, NULL},
        {"aws-s3", two, 2, "DATABASE_IMPORT_S3_BAD_URI"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rk_import_spec s = {(char *)cases[i].type, cases[i].uris, cases[i].n};
        struct rk_fail f;
        int rc = rk_import_spec_check(&s, &f);
        if (cases[i].want) {
            assert_int_equal(rc, -1);
            assert_string_equal(f.type, cases[i].want);
        } else {
            assert_int_equal(rc, 0);
        }
    }
}

static void test_update_delta_round_trip(void **state)
{
    struct rk_db_spec s = {0}, back;
    struct rk_err err;
    s.has_name = true, s.name = (char *)"n";
    s.has_memory_limit_gb = true, s.memory_limit_gb = 0.25;
    s.has_replication = true, s.replication = true;
    s.has_periodic_backup_path = true, s.periodic_backup_path = (char *)"";
    char *json = db_spec_to_json(&s);
    assert_int_equal(db_spec_from_json(json, &back, &err), 0);
    free(json);
    assert_true(back.has_name && strcmp(back.name, "n") == 0);
    assert_true(back.has_memory_limit_gb && back.memory_limit_gb == 0.25);
    assert_true(back.has_replication && back.replication);
    assert_true(back.has_periodic_backup_path && back.periodic_backup_path[0] == '\0');
    assert_false(back.has_password || back.has_port || back.has_remote_backup);

    struct rk_db db = {0};
    db.name = xstrdup("old");
    db.periodic_backup_path = xstrdup("/b");
    db.memory_limit_gb = 1;
    db_spec_apply(&back, &db);
    assert_string_equal(db.name, "n");
    assert_null(db.periodic_backup_path); /* "" removes it */
    assert_true(db.memory_limit_gb == 0.25);
    assert_true(db.replication);
    assert_int_equal(db_maxmemory_bytes(&db), 268435456);
    rk_db_clear(&db);
    rk_db_spec_clear(&back);
    assert_int_equal(db_spec_from_json("[1]", &back, &err), -1);
}

static void test_remove_tree(void **state)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/rk-tree-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[160];
    snprintf(path, sizeof(path), "%s/a/b/c", dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "mkdir -p %s && touch %s/f %s/a/g && ln -s /etc %s/a/link", path, path, dir, dir);
    assert_int_equal(system(cmd), 0);
    struct rk_err err;
    assert_int_equal(remove_tree(dir, &err), 0);
    struct stat st;
    assert_int_equal(stat(dir, &st), -1);
    assert_int_equal(stat("/etc/passwd", &st), 0); /* the link was removed, not followed */
    assert_int_equal(remove_tree(dir, &err), 0);      /* already gone: fine */
}

static void test_redisconf(void **state)
{
    struct rk_db db = {0};
    db.id = 7;
    db.password = (char *)"p\"w\\d";
    db.memory_limit_gb = 0.5;
    snprintf(db.eviction_policy, sizeof(db.eviction_policy), "allkeys-lru");
    const char *p[][2] = {
        {"none", "appendonly no\nappendfsync everysec\nsave \"\"\n"},
        {"aof-every-1-second", "appendonly yes\nappendfsync everysec\nsave \"\"\n"},
        {"aof-every-write", "appendonly yes\nappendfsync always\nsave \"\"\n"},
        {"snapshot-every-1-hour", "appendonly no\nappendfsync everysec\nsave 3600 1\n"},
        {"snapshot-every-6-hours", "appendonly no\nappendfsync everysec\nsave 21600 1\n"},
        {"snapshot-every-12-hours", "appendonly no\nappendfsync everysec\nsave 43200 1\n"},
    };
    for (size_t i = 0; i < 6; i++) {
        snprintf(db.data_persistence, sizeof(db.data_persistence), "%s", p[i][0]);
        struct redis_instance in = {.db = &db, .dir = "/d/7", .bind = "127.0.0.1", .port = 12000};
        char *conf = redisconf_render(&in);
        if (!strstr(conf, p[i][1])) fail_msg("%s: no '%s' in:\n%s", p[i][0], p[i][1], conf);
        assert_non_null(strstr(conf, "\nport 12000\n"));
        assert_non_null(strstr(conf, "\nrequirepass \"p\\\"w\\\\d\"\n"));
        assert_non_null(strstr(conf, "\nmaxmemory 536870912\n"));
        assert_non_null(strstr(conf, "\nmaxmemory-policy allkeys-lru\n"));
        assert_non_null(strstr(conf, "\ndir \"/d/7\"\n"));
        assert_null(strstr(conf, "replicaof"));
        free(conf);
    }
    struct redis_instance rep = {.db = &db, .dir = "/d/7/replica", .bind = "127.0.0.1", .port = 12001, .primary_port = 12000};
    char *conf = redisconf_render(&rep);
    assert_non_null(strstr(conf, "\nreplicaof \"127.0.0.1\" 12000\n"));
    assert_non_null(strstr(conf, "\nmasterauth \"p\\\"w\\\\d\"\n"));
    free(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identifiers),
        cmocka_unit_test(test_db_spec_rules),
        cmocka_unit_test(test_backup_settings_exclusive),
        cmocka_unit_test(test_import_spec_rules),
        cmocka_unit_test(test_update_delta_round_trip),
        cmocka_unit_test(test_remove_tree),
        cmocka_unit_test(test_redisconf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
