#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/api.h"

static void test_every_endpoint(void **state)
{
    struct rk_api_match m;
    static const struct {
        const char *path;
        enum rk_api_route_id route;
        unsigned nparams;
        const char *p0, *p1;
    } cases[] = {
        {"/healthz", RK_ROUTE_HEALTHZ, 0, NULL, NULL},
        {"/metrics", RK_ROUTE_METRICS, 0, NULL, NULL},
        {"/v1/openapi.json", RK_ROUTE_OPENAPI, 0, NULL, NULL},
        {"/v1/subscriptions", RK_ROUTE_SUBSCRIPTIONS, 0, NULL, NULL},
        {"/v1/subscriptions/", RK_ROUTE_SUBSCRIPTIONS, 0, NULL, NULL},
        {"/v1/subscriptions/12", RK_ROUTE_SUBSCRIPTION, 1, "12", NULL},
        {"/v1/subscriptions/12/databases", RK_ROUTE_DATABASES, 1, "12", NULL},
        {"/v1/subscriptions/12/databases/7", RK_ROUTE_DATABASE, 2, "12", "7"},
        {"/v1/subscriptions/12/databases/7/", RK_ROUTE_DATABASE, 2, "12", "7"},
        {"/v1/subscriptions/12/databases/7/backup", RK_ROUTE_DATABASE_BACKUP, 2, "12", "7"},
        {"/v1/subscriptions/12/databases/7/import", RK_ROUTE_DATABASE_IMPORT, 2, "12", "7"},
        {"/v1/subscriptions/12/databases/7/backups", RK_ROUTE_DATABASE_BACKUPS, 2, "12", "7"},
        {"/v1/tasks", RK_ROUTE_TASKS, 0, NULL, NULL},
        {"/v1/tasks/0b0e5c9e-aaaa", RK_ROUTE_TASK, 1, "0b0e5c9e-aaaa", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (rk_api_route(cases[i].path, &m) != 0) fail_msg("%s: no route", cases[i].path);
        assert_int_equal(m.route, cases[i].route);
        assert_int_equal(m.nparams, cases[i].nparams);
        if (cases[i].p0) assert_string_equal(m.params[0], cases[i].p0);
        if (cases[i].p1) assert_string_equal(m.params[1], cases[i].p1);
    }
    assert_int_equal(rk_api_route("/v1/subscriptions/1/databases/2", &m), 0);
    assert_int_equal(m.methods, RK_METHOD_GET | RK_METHOD_PUT | RK_METHOD_DELETE);
    assert_string_equal(m.template_path, "/v1/subscriptions/{subscriptionId}/databases/{databaseId}");
}

static void test_no_route(void **state)
{
    struct rk_api_match m;
    static const char *paths[] = {
        "", "/", "v1/tasks", "/v1", "/v1/", "/v1//tasks", "/v1/tasks//", "/v1/tasks/a/b",
        "/v1/subscriptions//databases", "/v2/tasks", "/v1/Tasks", "/healthz/x", "/v1/tasks/" 
        "012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (rk_api_route(paths[i], &m) == 0) fail_msg("'%s' routed to %d", paths[i], m.route);
    assert_int_equal(rk_api_route(NULL, &m), -1);
    assert_int_equal(m.route, RK_ROUTE_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_endpoint),
        cmocka_unit_test(test_no_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
