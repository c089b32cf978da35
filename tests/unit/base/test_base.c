#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"

static void test_err_set_and_prefix(void **state)
{
    struct rk_err err;
    assert_int_equal(rk_err_set(&err, "offset %d: bad byte", 17), -1);
    assert_string_equal(err.msg, "offset 17: bad byte");
    assert_int_equal(rk_err_prefix(&err, "file %s", "a.rdb"), -1);
    assert_string_equal(err.msg, "file a.rdb: offset 17: bad byte");
    assert_int_equal(rk_err_set(NULL, "ignored"), -1);
}

static void test_buf_grows_and_keeps_bytes(void **state)
{
    struct rk_buf b = {0};
    for (int i = 0; i < 1000; i++) rk_buf_append_byte(&b, (unsigned char)i);
    rk_buf_printf(&b, "%s-%d", "x", 42);
    assert_int_equal(b.len, 1004);
    assert_int_equal(b.data[999], (unsigned char)999);
    assert_memory_equal(b.data + 1000, "x-42", 4);
    rk_buf_free(&b);
    assert_null(b.data);
}

static void test_parse_numbers_strictly(void **state)
{
    uint64_t u;
    int64_t i;
    assert_int_equal(rk_parse_u64("18446744073709551615", &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(rk_parse_u64("18446744073709551616", &u), -1);
    assert_int_equal(rk_parse_u64("-1", &u), -1);
    assert_int_equal(rk_parse_u64("12x", &u), -1);
    assert_int_equal(rk_parse_u64("", &u), -1);
    assert_int_equal(rk_parse_i64("-9223372036854775808", &i), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(rk_parse_i64(" 1", &i), -1);
}

static void test_iso8601(void **state)
{
    char ts[32];
    rk_format_iso8601(1764076059826ULL, ts, sizeof(ts));
    assert_string_equal(ts, "2025-11-25T13:07:39.826Z");
    char sz[32];
    rk_format_bytes(1536, sz, sizeof(sz));
    assert_string_equal(sz, "1.5 KiB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_and_prefix),
        cmocka_unit_test(test_buf_grows_and_keeps_bytes),
        cmocka_unit_test(test_parse_numbers_strictly),
        cmocka_unit_test(test_iso8601),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
