/* rk_api_handle against a real service (catalog in a temporary directory,
 * workers not started): the order of the checks and the error bodies,
 * without HTTP in the way. */
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

static char dir[64];
static struct rk_service *svc;

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/rk-handle-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    struct rk_config cfg;
    struct rk_err err;
    rk_config_init(&cfg);
    rk_config_set(&cfg, "dataDir", dir, &err);
    rk_config_set(&cfg, "apiKey", "k", &err);
    rk_config_set(&cfg, "apiSecretKey", "s", &err);
    rk_config_set(&cfg, "logLevel", "error", &err);
    svc = rk_service_open(&cfg, &err);
    if (!svc) fprintf(stderr, "%s\n", err.msg);
    return svc ? 0 : -1;
}

static int teardown(void **state)
{
    rk_service_close(svc);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *no_query(void *ctx, const char *name)
{
    return NULL;
}

static const char *bad_limit(void *ctx, const char *name)
{
    return strcmp(name, "limit") == 0 ? "-3" : NULL;
}

struct reply {
    int status;
    json_t *body;
    const char *allow;
};

static struct reply call(const char *method, const char *path, const char *key, const char *secret,
                         const char *ct, const char *body, bool too_large)
{
    struct rk_api_request req = {
        .method = method, .path = path, .query = no_query, .api_key = key, .api_secret = secret,
        .content_type = ct, .body = body, .body_len = body ? strlen(body) : 0, .body_too_large = too_large,
    };
    struct rk_api_response resp;
    rk_api_handle(svc, &req, &resp);
    json_error_t je;
    struct reply r = {resp.status, json_loadb(resp.body, resp.len, 0, &je), resp.allow};
    if (!r.body && strncmp(resp.content_type, "application/json", 16) == 0)
        fail_msg("%s %s: body is not JSON: %.*s", method, path, (int)resp.len, resp.body);
    free(resp.body);
    return r;
}

static void expect_error(struct reply r, int status, const char *type)
{
    json_t *e = json_object_get(r.body, "error");
    if (r.status != status || !e || strcmp(json_string_value(json_object_get(e, "type")), type) != 0)
        fail_msg("got %d %s, want %d %s", r.status,
                 e ? json_string_value(json_object_get(e, "type")) : "(no error object)", status, type);
    char want_status[48];
    rk_http_status_text(status, want_status, sizeof(want_status));
    assert_string_equal(json_string_value(json_object_get(e, "status")), want_status);
    assert_true(strlen(json_string_value(json_object_get(e, "description"))) > 0);
    json_decref(r.body);
}

static void test_checks_and_their_order(void **state)
{
    const char *J = "application/json";
    /* Size first, then keys, then the path, the method, the content type. */
    expect_error(call("POST", "/nowhere", NULL, NULL, J, NULL, true), 413, "REQUEST_TOO_LARGE");
    expect_error(call("GET", "/nowhere", NULL, NULL, NULL, NULL, false), 401, "UNAUTHORIZED");
    expect_error(call("GET", "/v1/tasks", "k", "wrong", NULL, NULL, false), 401, "UNAUTHORIZED");
    expect_error(call("GET", "/v1/tasks", "K", "s", NULL, NULL, false), 401, "UNAUTHORIZED");
    expect_error(call("GET", "/nowhere", "k", "s", NULL, NULL, false), 404, "NOT_FOUND");
    struct reply r = call("PATCH", "/v1/subscriptions/1", "k", "s", NULL, NULL, false);
    assert_string_equal(r.allow, "GET, DELETE");
    expect_error(r, 405, "METHOD_NOT_ALLOWED");
    expect_error(call("POST", "/v1/subscriptions", "k", "s", "text/plain", "{}", false), 415, "UNSUPPORTED_MEDIA_TYPE");
    expect_error(call("GET", "/v1/subscriptions/0", "k", "s", NULL, NULL, false), 400, "INVALID_FIELD_VALUE");
    expect_error(call("GET", "/v1/subscriptions/01", "k", "s", NULL, NULL, false), 400, "INVALID_FIELD_VALUE");
    expect_error(call("GET", "/v1/subscriptions/99999999999999999999", "k", "s", NULL, NULL, false), 400,
                 "INVALID_FIELD_VALUE");
    expect_error(call("GET", "/v1/subscriptions/5", "k", "s", NULL, NULL, false), 404, "SUBSCRIPTION_NOT_FOUND");
    expect_error(call("GET", "/v1/tasks/x", "k", "s", NULL, NULL, false), 404, "TASK_NOT_FOUND");
    expect_error(call("POST", "/v1/subscriptions/5/databases", "k", "s", J, "{\"name\":\"a\"}", false), 404,
                 "SUBSCRIPTION_NOT_FOUND");
    expect_error(call("POST", "/v1/subscriptions/5/databases", "k", "s", J, "{", false), 400, "INVALID_JSON");
    /* Open endpoints. */
    r = call("GET", "/healthz", NULL, NULL, NULL, NULL, false);
    assert_int_equal(r.status, 200);
    json_decref(r.body);
    r = call("GET", "/metrics", NULL, NULL, NULL, NULL, false);
    assert_int_equal(r.status, 200);
    /* A query parameter out of range. */
    struct rk_api_request req = {.method = "GET", .path = "/v1/tasks", .query = bad_limit, .api_key = "k", .api_secret = "s"};
    struct rk_api_response resp;
    rk_api_handle(svc, &req, &resp);
    assert_int_equal(resp.status, 400);
    free(resp.body);
}

static void test_accepted_task_is_readable_at_once(void **state)
{
    struct reply r = call("POST", "/v1/subscriptions", "k", "s", "application/json; charset=utf-8",
                          "{\"name\":\"s\"}", false);
    assert_int_equal(r.status, 202);
    const char *id = json_string_value(json_object_get(r.body, "taskId"));
    assert_non_null(id);
    assert_string_equal(json_string_value(json_object_get(r.body, "status")), "received");
    char path[80];
    snprintf(path, sizeof(path), "/v1/tasks/%s", id);
    json_decref(r.body);
    r = call("GET", path, "k", "s", NULL, NULL, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.body, "commandType")), "subscriptionCreateRequest");
    json_decref(r.body);
    r = call("GET", "/v1/tasks", "k", "s", NULL, NULL, false);
    assert_int_equal(json_integer_value(json_object_get(r.body, "total")), 1);
    json_decref(r.body);
    /* Backup and import without their jobs: 404 for an unknown database
     * first, then 501 with the error body. */
    expect_error(call("POST", "/v1/subscriptions/1/databases/4/backup", "k", "s", NULL, NULL, false), 404,
                 "DATABASE_NOT_FOUND");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checks_and_their_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accepted_task_is_readable_at_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
