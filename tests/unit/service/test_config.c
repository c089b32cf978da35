#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/service.h"

static int load(struct rk_config *cfg, const char *text, struct rk_err *err)
{
    rk_config_init(cfg);
    return rk_config_load_text(cfg, text, strlen(text), "t.conf", err);
}

static void test_defaults_are_the_documented_ones(void **state)
{
    struct rk_config cfg;
    struct rk_err err;
    rk_config_init(&cfg);
    assert_string_equal(cfg.listen, "127.0.0.1:8080");
    assert_string_equal(cfg.data_dir, "./var");
    assert_string_equal(cfg.redis_server, "/usr/bin/redis-server");
    assert_int_equal(cfg.max_concurrent_backups, 4);
    assert_int_equal(cfg.ports.first, 12000);
    assert_int_equal(cfg.task_retention_days, 10);
    assert_false(cfg.stop_databases_on_exit);
    assert_int_equal(rk_config_check(&cfg, &err), 0);
    rk_config_free(&cfg);
}

static void test_file_format(void **state)
{
    struct rk_config cfg;
    struct rk_err err;
    const char *text = "# comment\n"
                       "\n"
                       "  listen = 0.0.0.0:9000  \r\n"
                       "maxConcurrentBackups=7\n"
                       "apiKey = \" spaced \\\"key\\\\ \"\n"
                       "apiSecretKey = s\n"
                       "databasePorts = 20000-20010\n"
                       "metricsAuth = yes\n"
                       "defaultMemoryLimitInGb = 0.5\n"
                       "logLevel = debug";
    assert_int_equal(load(&cfg, text, &err), 0);
    assert_string_equal(cfg.listen, "0.0.0.0:9000");
    assert_int_equal(cfg.max_concurrent_backups, 7);
    assert_string_equal(cfg.api_key, " spaced \"key\\ ");
    assert_int_equal(cfg.ports.first, 20000);
    assert_int_equal(cfg.ports.last, 20010);
    assert_true(cfg.metrics_auth);
    assert_true(cfg.default_memory_gb == 0.5);
    assert_int_equal(cfg.log_level, RK_LOG_DEBUG);
    assert_int_equal(rk_config_check(&cfg, &err), 0);
    rk_config_free(&cfg);
}

static void test_errors_name_file_line_and_key(void **state)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"listen = a:1\nbogus = 1\n", "t.conf:2: unknown key 'bogus'"},
        {"maxConcurrentBackups = many", "t.conf:1: maxConcurrentBackups: 'many' is not a whole number"},
        {"metricsAuth = perhaps", "t.conf:1: metricsAuth: 'perhaps' is not true or false"},
        {"databasePorts = 9-3", "t.conf:1: databasePorts: '9-3' is not a port range"},
        {"databasePorts = 70000-70001", "t.conf:1: databasePorts:"},
        {"just a line", "t.conf:1: expected 'key = value'"},
        {" = 3", "t.conf:1: missing key"},
        {"apiKey = \"open", "t.conf:1: apiKey: unterminated quoted value"},
        {"apiKey = \"a\" b", "t.conf:1: apiKey: unterminated quoted value or text after"},
        {"defaultMemoryLimitInGb = -1", "t.conf:1: defaultMemoryLimitInGb: '-1' is not a positive number"},
        {"logLevel = loud", "t.conf:1: logLevel: 'loud' is not one of"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rk_config cfg;
        struct rk_err err;
        assert_int_equal(load(&cfg, cases[i].text, &err), -1);
        if (strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("case %zu: '%s' does not start with '%s'", i, err.msg, cases[i].msg);
        rk_config_free(&cfg);
    }
}

static void test_nul_bytes_are_errors(void **state)
{
    struct rk_config cfg;
    struct rk_err err;
    rk_config_init(&cfg);
    static const char text[] = "apiKey = a\0b\n";
    assert_int_equal(rk_config_load_text(&cfg, text, sizeof(text) - 1, "n", &err), -1);
    assert_non_null(strstr(err.msg, "NUL"));
    rk_config_free(&cfg);
}

static void test_cross_key_checks(void **state)
{
    static const char *bad[] = {
        "apiKey = only-the-key",
        "taskWorkers = 0",
        "httpThreads = 100",
        "maxBodyBytes = 10",
        "databasePorts = 80-90",
        "listen = nocolon",
        "maxJsonDepth = 1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rk_config cfg;
        struct rk_err err;
        assert_int_equal(load(&cfg, bad[i], &err), 0);
        if (rk_config_check(&cfg, &err) != -1) fail_msg("'%s' passed the checks", bad[i]);
        rk_config_free(&cfg);
    }
}

static void test_environment_wins_over_the_file(void **state)
{
    struct rk_config cfg;
    struct rk_err err;
    assert_int_equal(load(&cfg, "maxConcurrentBackups = 2\ns3Region = file-region", &err), 0);
    setenv("RDBKEEP_MAX_CONCURRENT_BACKUPS", "9", 1);
    setenv("AWS_REGION", "env-region", 1);
    setenv("RDBKEEP_DATA_DIR", "/srv/rdbkeep", 1);
    assert_int_equal(rk_config_load_env(&cfg, &err), 0);
    assert_int_equal(cfg.max_concurrent_backups, 9);
    assert_string_equal(cfg.s3_region, "env-region");
    assert_string_equal(cfg.data_dir, "/srv/rdbkeep");
    setenv("RDBKEEP_TASK_WORKERS", "lots", 1);
    assert_int_equal(rk_config_load_env(&cfg, &err), -1);
    assert_non_null(strstr(err.msg, "RDBKEEP_TASK_WORKERS"));
    unsetenv("RDBKEEP_TASK_WORKERS");
    unsetenv("RDBKEEP_MAX_CONCURRENT_BACKUPS");
    unsetenv("AWS_REGION");
    unsetenv("RDBKEEP_DATA_DIR");
    rk_config_free(&cfg);
}

static void test_dump_reads_back_and_hides_secrets(void **state)
{
    struct rk_config cfg, again;
    struct rk_err err;
    assert_int_equal(load(&cfg, "apiKey = k\napiSecretKey = hush\ns3SecretAccessKey = hush2\n"
                                "publicHost = \"db.example\"\ntaskWorkers = 3",
                          &err),
                     0);
    struct rk_buf out = {0};
    rk_config_dump(&cfg, &out);
    rk_buf_append_byte(&out, '\0');
    assert_null(strstr((char *)out.data, "hush"));
    assert_int_equal(load(&again, (char *)out.data, &err), 0);
    assert_string_equal(again.public_host, "db.example");
    assert_int_equal(again.task_workers, 3);
    assert_int_equal(again.ports.last, cfg.ports.last);
    rk_buf_free(&out);
    rk_config_free(&cfg);
    rk_config_free(&again);
}

/* docs/daemon.md documents every key with its default. */
static void test_every_key_is_documented(void **state)
{
    FILE *f = fopen(RK_TEST_DATA_DIR "/../../docs/daemon.md", "rb");
    assert_non_null(f);
    static char doc[1 << 17];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = '\0';
#define CHECK_KEY(type, field, key, def, what)                                                     \
    do {                                                                                           \
        char row[160];                                                                             \
        snprintf(row, sizeof(row), "| `%s` | `%s` |", key, def);                                   \
        if (!strstr(doc, row)) fail_msg("docs/daemon.md lacks the row: %s", row);                  \
    } while (0);
    RK_CONFIG_KEYS(CHECK_KEY)
#undef CHECK_KEY
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_documented_ones),
        cmocka_unit_test(test_file_format),
        cmocka_unit_test(test_errors_name_file_line_and_key),
        cmocka_unit_test(test_nul_bytes_are_errors),
        cmocka_unit_test(test_cross_key_checks),
        cmocka_unit_test(test_environment_wins_over_the_file),
        cmocka_unit_test(test_dump_reads_back_and_hides_secrets),
        cmocka_unit_test(test_every_key_is_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
