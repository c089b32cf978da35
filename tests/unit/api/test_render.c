/* The shapes the API answers with, and the OpenAPI document's coverage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

static const char *str(json_t *o, const char *path)
{
    /* "a.b.c" */
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *v = o;
    for (char *part = strtok(buf, "."); part && v; part = strtok(NULL, ".")) v = json_object_get(v, part);
    return json_string_value(v);
}

static void test_task_shape(void **state)
{
    struct rk_task t = {0};
    snprintf(t.id, sizeof(t.id), "0b0e5c9e-0000-4000-8000-000000000001");
    snprintf(t.command_type, sizeof(t.command_type), "databaseBackupRequest");
    snprintf(t.status, sizeof(t.status), RK_TASK_RUNNING);
    t.description = "Request processing in progress";
    t.bytes = 123456;
    t.total_bytes = 7890123;
    t.keys = 1000;
    t.updated_ms = 1764076059826ULL;
    json_t *o = render_task(&t);
    assert_string_equal(str(o, "taskId"), t.id);
    assert_string_equal(str(o, "timestamp"), "2025-11-25T13:07:39.826Z");
    assert_true(json_is_object(json_object_get(o, "response")));
    assert_int_equal(json_object_size(json_object_get(o, "response")), 0);
    json_t *p = json_object_get(o, "progress");
    assert_int_equal(json_integer_value(json_object_get(p, "bytes")), 123456);
    assert_int_equal(json_integer_value(json_object_get(p, "totalBytes")), 7890123);
    assert_true(json_real_value(json_object_get(p, "percent")) == 1.6);
    assert_string_equal(str(json_array_get(json_object_get(o, "links"), 0), "href"),
                        "/v1/tasks/0b0e5c9e-0000-4000-8000-000000000001");
    json_decref(o);

    snprintf(t.status, sizeof(t.status), RK_TASK_ERROR);
    t.error_type = "DATABASE_IMPORT_FAILED";
    t.error_status = "400 BAD_REQUEST";
    t.error_description = "key 'k': module type not supported";
    t.resource = "{\"files\":[]}";
    t.resource_id = 12;
    o = render_task(&t);
    assert_string_equal(str(o, "response.error.type"), "DATABASE_IMPORT_FAILED");
    assert_string_equal(str(o, "response.error.status"), "400 BAD_REQUEST");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "response"), "resourceId")), 12);
    assert_true(json_is_array(json_object_get(json_object_get(json_object_get(o, "response"), "resource"), "files")));
    json_decref(o);
    /* Text from outside that is not UTF-8 still gives valid JSON. */
    t.error_description = "bad \xff byte";
    o = render_task(&t);
    assert_non_null(str(o, "response.error.description"));
    json_decref(o);
}

static void test_database_shape(void **state)
{
    struct rk_db d = {0};
    d.id = 7;
    d.subscription_id = 3;
    d.name = "cache";
    snprintf(d.status, sizeof(d.status), "active");
    snprintf(d.protocol, sizeof(d.protocol), "redis");
    d.port = 12001;
    d.password = "s3cret";
    d.memory_limit_gb = 0.5;
    snprintf(d.data_persistence, sizeof(d.data_persistence), "none");
    snprintf(d.eviction_policy, sizeof(d.eviction_policy), "volatile-lru");
    snprintf(d.redis_version, sizeof(d.redis_version), "7.0.15");
    d.shards = 1;
    d.periodic_backup_path = "ftp://u:pw@h/dir";
    json_t *o = render_db(&d, "db.example", true, NULL);
    assert_string_equal(str(o, "publicEndpoint"), "db.example:12001");
    assert_string_equal(str(o, "security.password"), "s3cret");
    assert_string_equal(str(o, "periodicBackupPath"), "ftp://u:***@h/dir");
    assert_string_equal(str(o, "backup.destination"), "ftp://u:***@h/dir");
    assert_string_equal(str(o, "backup.interval"), "every-24-hours");
    assert_string_equal(str(o, "backup.status"), "idle");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "clustering"), "numberOfShards")), 1);
    char *text = json_dumps(o, 0);
    assert_null(strstr(text, "pw@"));
    free(text);
    json_decref(o);
    o = render_db(&d, "db.example", false, NULL);
    assert_null(str(o, "security.password"));
    json_decref(o);

    struct rk_backup b = {0};
    snprintf(b.status, sizeof(b.status), "succeeded");
    b.finished_ms = 1764076059826ULL;
    d.periodic_backup_path = NULL;
    d.remote_backup = "{\"active\":true,\"interval\":\"every-12-hours\",\"timeUTC\":\"03:00\","
                      "\"storageType\":\"azure-blob-storage\",\"storagePath\":\"abs://:key@acct/c\"}";
    o = render_db(&d, "h", true, &b);
    assert_string_equal(str(o, "backup.destination"), "abs://:***@acct/c");
    assert_string_equal(str(o, "backup.timeUTC"), "03:00");
    assert_string_equal(str(o, "backup.lastBackupTime"), "2025-11-25T13:07:39.826Z");
    assert_string_equal(str(o, "remoteBackup.storagePath"), "abs://:***@acct/c");
    json_decref(o);
}

static void test_error_shape(void **state)
{
    struct rk_fail f;
    rk_fail_set(&f, 404, "DATABASE_NOT_FOUND", "database %d not found", 9);
    json_t *o = render_error(&f);
    assert_string_equal(str(o, "error.type"), "DATABASE_NOT_FOUND");
    assert_string_equal(str(o, "error.status"), "404 NOT_FOUND");
    assert_string_equal(str(o, "error.description"), "database 9 not found");
    assert_int_equal(json_object_size(o), 1);
    json_decref(o);
}

static void test_metrics_text(void **state)
{
    struct rk_metrics m = {.tasks_received = 1, .tasks_completed = 5, .databases = 4, .databases_active = 3,
                           .bytes_moved = 99, .backups_running = 2};
    char *t = render_metrics(&m);
    assert_non_null(strstr(t, "\nrdbkeep_tasks{state=\"processing-completed\"} 5\n"));
    assert_non_null(strstr(t, "\nrdbkeep_databases{status=\"other\"} 1\n"));
    assert_non_null(strstr(t, "\nrdbkeep_bytes_moved_total 99\n"));
    assert_non_null(strstr(t, "# TYPE rdbkeep_backups_running gauge\nrdbkeep_backups_running 2\n"));
    free(t);
}

/* The OpenAPI document describes every route with every method it takes,
 * and nothing else. */
static void test_openapi_covers_the_routes(void **state)
{
    size_t len, n;
    const char *doc = rk_api_openapi(&len);
    json_error_t je;
    json_t *o = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) fail_msg("openapi.json: %s at line %d", je.text, je.line);
    json_t *paths = json_object_get(o, "paths");
    const struct rk_api_route_info *routes = rk_api_route_table(&n);
    assert_int_equal(json_object_size(paths), n);
    static const struct {
        unsigned bit;
        const char *name;
    } methods[] = {{RK_METHOD_GET, "get"}, {RK_METHOD_POST, "post"}, {RK_METHOD_PUT, "put"}, {RK_METHOD_DELETE, "delete"}};
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_object_get(paths, routes[i].template_path);
        if (!p) fail_msg("%s is not in openapi.json", routes[i].template_path);
        for (size_t m = 0; m < 4; m++) {
            bool documented = json_object_get(p, methods[m].name) != NULL;
            if (documented != ((routes[i].methods & methods[m].bit) != 0))
                fail_msg("%s %s: documented %d, routed %d", methods[m].name, routes[i].template_path,
                         documented, (routes[i].methods & methods[m].bit) != 0);
        }
    }
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_shape),
        cmocka_unit_test(test_database_shape),
        cmocka_unit_test(test_error_shape),
        cmocka_unit_test(test_metrics_text),
        cmocka_unit_test(test_openapi_covers_the_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
