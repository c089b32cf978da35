/* The small parsers of server answers: XML (S3, Azure), MLSD lines (FTP),
 * HTTP and ISO dates, base64 and percent-encoding. Expected times come from
 * date(1), not from the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

static int64_t date_cmd(const char *when)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "date -u -d '%s' +%%s", when);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    long long v = -1;
    assert_int_equal(fscanf(f, "%lld", &v), 1);
    pclose(f);
    return (int64_t)v * 1000;
}

static void test_dates(void **state)
{
    assert_true(store_parse_date("Tue, 25 Nov 2026 13:07:39 GMT") ==
                date_cmd("2026-11-25 13:07:39"));
    assert_true(store_parse_date("2026-11-25T13:07:39.826Z") ==
                date_cmd("2026-11-25 13:07:39") + 826);
    assert_true(store_parse_date("2024-02-29T00:00:00Z") == date_cmd("2024-02-29 00:00:00"));
    assert_true(store_parse_date("2024-02-29T00:00:00.5Z") ==
                date_cmd("2024-02-29 00:00:00") + 500);
    assert_true(store_parse_date("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
    assert_true(store_parse_date("") == -1);
    assert_true(store_parse_date(NULL) == -1);
    assert_true(store_parse_date("Tue, 25 Foo 2026 13:07:39 GMT") == -1);
    assert_true(store_parse_date("2026-13-25T13:07:39Z") == -1);
    assert_true(store_parse_date("yesterday") == -1);
}

static void test_xml(void **state)
{
    const char *doc =
        "<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>true</IsTruncated>"
        "<Contents><Key>a&amp;b &lt;c&gt; &quot;d&quot; "
        "&#233;&#x41;</Key><Size>12</Size></Contents>"
        "<Contents><Key>second</Key><Size>0</Size><Owner/></Contents>"
        "<KeyCount>2</KeyCount><NextContinuationToken>tok/en==</NextContinuationToken>"
        "</ListBucketResult>";
    size_t len = strlen(doc), pos = 0, s, e;
    assert_int_equal(xml_span(doc, len, &pos, "Contents", &s, &e), 0);
    char *key = xml_first(doc + s, e - s, "Key");
    assert_string_equal(key, "a&b <c> \"d\" \xc3\xa9"
                             "A");
    free(key);
    assert_int_equal(xml_span(doc, len, &pos, "Contents", &s, &e), 0);
    key = xml_first(doc + s, e - s, "Key");
    assert_string_equal(key, "second");
    free(key);
    assert_int_equal(xml_span(doc, len, &pos, "Contents", &s, &e), -1);
    /* <Key> must not match <KeyCount>. */
    pos = 0;
    assert_int_equal(xml_span(doc, len, &pos, "KeyCount", &s, &e), 0);
    char *t = xml_first(doc, len, "NextContinuationToken");
    assert_string_equal(t, "tok/en==");
    free(t);
    t = xml_first(doc, len, "Owner");
    assert_string_equal(t, "");
    free(t);
    assert_null(xml_first(doc, len, "Missing"));
    /* Unterminated, bad entities: no crash, no invented text. */
    assert_null(xml_first("<Key>abc", 8, "Key"));
    t = xml_first("<Code>&bogus; &#0; &#xD800; &#99999999;</Code>", 46, "Code");
    assert_string_equal(t, "&bogus; &#0; &#xD800; &#99999999;");
    free(t);
}

static void test_mlsd(void **state)
{
    struct mlsd_entry e;
    assert_int_equal(
        ftp_parse_mlsd_line("type=file;size=123;modify=20240102030405; dump.rdb\r\n", 52, &e), 0);
    assert_string_equal(e.name, "dump.rdb");
    assert_false(e.dir);
    assert_true(e.size == 123);
    assert_true(e.mtime_ms == date_cmd("2024-01-02 03:04:05"));
    free(e.name);
    const char *dirline = "Type=dir;Modify=20240102030405.123;perm=flcdmpe; sub dir";
    assert_int_equal(ftp_parse_mlsd_line(dirline, strlen(dirline), &e), 0);
    assert_true(e.dir);
    assert_string_equal(e.name, "sub dir");
    free(e.name);
    const char *skip[] = {"type=cdir;modify=20240102030405; .",
                          "type=pdir; ..",
                          "type=OS.unix=slink; x",
                          "size=1; nofacttype",
                          "type=file;size=abc; x",
                          "type=file;size=1;",
                          "",
                          "garbage",
                          "type=file; a/b"};
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        assert_int_equal(ftp_parse_mlsd_line(skip[i], strlen(skip[i]), &e), -1);
}

static void test_base64_and_pct(void **state)
{
    unsigned char out[64];
    size_t n;
    assert_int_equal(base64_decode("aGVsbG8=", 8, out, sizeof(out), &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "hello", 5);
    assert_int_equal(base64_decode("aGVsbG8", 7, out, sizeof(out), &n), -1);
    assert_int_equal(base64_decode("aG=sbG8=", 8, out, sizeof(out), &n), -1);
    assert_int_equal(base64_decode("aGVs*G8=", 8, out, sizeof(out), &n), -1);
    assert_int_equal(base64_decode("aGVsbG8=", 8, out, 4, &n), -1);
    char *e = base64_encode((const unsigned char *)"hello", 5);
    assert_string_equal(e, "aGVsbG8=");
    free(e);
    e = base64url_encode((const unsigned char *)"\xfb\xff\xfe", 3);
    assert_string_equal(e, "-__-");
    free(e);
    size_t bad;
    char *d = pct_decode("a%20b%2Fc", 9, &bad);
    assert_string_equal(d, "a b/c");
    free(d);
    assert_null(pct_decode("a%2", 3, &bad));
    assert_int_equal(bad, 1);
    assert_null(pct_decode("a%zz", 4, &bad));
    assert_null(pct_decode("%00", 3, &bad));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_xml),
        cmocka_unit_test(test_mlsd),
        cmocka_unit_test(test_base64_and_pct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
