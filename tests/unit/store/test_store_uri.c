/* URI parsing for every sourceType of api.md, the malformed forms, redaction
 * and building sibling URIs. The rule checked throughout: no error message
 * and no redacted form ever contains a secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_int.h"

static struct store_uri *ok(const char *text, enum store_type type, enum store_uri_role role)
{
    struct rk_err err = {{0}};
    const char *etype = "unset";
    struct store_uri *u = store_uri_parse(text, type, role, &etype, &err);
    if (!u) fail_msg("'%s' should parse, got: %s", text, err.msg);
    assert_null(etype);
    return u;
}

/* Expects a failure whose message contains needle and never secret. */
static void bad(const char *text, enum store_type type, enum store_uri_role role,
                const char *needle, const char *secret)
{
    struct rk_err err = {{0}};
    const char *etype = NULL;
    struct store_uri *u = store_uri_parse(text, type, role, &etype, &err);
    if (u) fail_msg("'%s' should be rejected", text);
    if (!strstr(err.msg, needle)) fail_msg("'%s': expected '%s' in: %s", text, needle, err.msg);
    if (secret && strstr(err.msg, secret))
        fail_msg("'%s': the message shows the secret: %s", text, err.msg);
    assert_string_equal(etype, store_type_bad_uri_error(type));
}

#define OBJ STORE_URI_OBJECT
#define PFX STORE_URI_PREFIX

static void test_s3_and_gcs_forms(void **state)
{
    struct store_uri *u = ok("s3://bucket/file.rdb", STORE_TYPE_S3, OBJ);
    assert_int_equal(u->kind, STORE_S3);
    assert_string_equal(u->bucket, "bucket");
    assert_string_equal(u->path, "file.rdb");
    store_uri_free(u);
    u = ok("s3://my-bucket.with.dots/path/to/file.rdb.gz", STORE_TYPE_S3, OBJ);
    assert_string_equal(u->bucket, "my-bucket.with.dots");
    assert_string_equal(u->path, "path/to/file.rdb.gz");
    store_uri_free(u);
    /* Keys are literal: no percent-decoding, odd characters kept. */
    u = ok("s3://bucket/a%20b/odd name!(x).rdb", STORE_TYPE_S3, OBJ);
    assert_string_equal(u->path, "a%20b/odd name!(x).rdb");
    store_uri_free(u);
    u = ok("S3://bucket/x", STORE_TYPE_ANY, OBJ);
    assert_int_equal(u->kind, STORE_S3);
    store_uri_free(u);
    u = ok("gs://bucket_name/path/file.rdb", STORE_TYPE_GCS, OBJ);
    assert_int_equal(u->kind, STORE_GCS);
    assert_string_equal(u->bucket, "bucket_name");
    store_uri_free(u);
    /* Places (backup paths, listings). */
    const char *places[] = {"s3://bucket", "s3://bucket/", "s3://bucket/prefix/",
                            "s3://bucket/db-1"};
    for (size_t i = 0; i < 4; i++) store_uri_free(ok(places[i], STORE_TYPE_S3, PFX));

    bad("s3://", STORE_TYPE_S3, OBJ, "bucket name is missing", NULL);
    bad("s3://Bucket/x", STORE_TYPE_S3, OBJ, "not a valid S3 bucket name", NULL);
    bad("s3://ab/x", STORE_TYPE_S3, OBJ, "not a valid S3 bucket name", NULL);
    bad("s3://-bucket/x", STORE_TYPE_S3, OBJ, "not a valid S3 bucket name", NULL);
    bad("s3://bu..cket/x", STORE_TYPE_S3, OBJ, "not a valid S3 bucket name", NULL);
    bad("s3://bucket_x/x", STORE_TYPE_S3, OBJ, "not a valid S3 bucket name", NULL);
    bad("s3://bucket", STORE_TYPE_S3, OBJ, "must name a file", NULL);
    bad("s3://bucket/dir/", STORE_TYPE_S3, OBJ, "ends with '/'", NULL);
    bad("s3://bucket/a//b", STORE_TYPE_S3, OBJ, "empty path segment", NULL);
    bad("s3://bucket/a/../b", STORE_TYPE_S3, OBJ, "'..'", NULL);
    bad("s3://bucket/./b", STORE_TYPE_S3, OBJ, "'.'", NULL);
    bad("s3://bucket/a?versionId=1", STORE_TYPE_S3, OBJ, "'?' is not allowed", NULL);
    bad("s3://bucket/a#frag", STORE_TYPE_S3, OBJ, "'#' is not allowed", NULL);
    bad("s3://bucket/\xff\xfe", STORE_TYPE_S3, OBJ, "not valid UTF-8", NULL);
    bad("s3://bucket/a\tb", STORE_TYPE_S3, OBJ, "control character", NULL);
    bad(" s3://bucket/x", STORE_TYPE_S3, OBJ, "white space", NULL);
    bad("s3://AKIDEXAMPLE:topsecret@bucket/x", STORE_TYPE_S3, OBJ, "credentials do not belong",
        "topsecret");
    bad("s3://akid:top/secret@bucket/x", STORE_TYPE_S3, OBJ, "not shown", "top");
    bad("gs://x/y", STORE_TYPE_GCS, OBJ, "not a valid GCS bucket name", NULL);
    bad("gs://bucket/x", STORE_TYPE_S3, OBJ, "not a valid aws-s3 source", NULL);
    bad("s3:/bucket/x", STORE_TYPE_S3, OBJ, "expected s3://bucket/[path/]file", NULL);
    bad("", STORE_TYPE_S3, OBJ, "empty", NULL);
    char longkey[1100];
    memset(longkey, 'k', sizeof(longkey));
    memcpy(longkey, "s3://bucket/", 12);
    longkey[sizeof(longkey) - 1] = '\0';
    bad(longkey, STORE_TYPE_S3, OBJ, "longer than 1024", NULL);
}

static void test_azure_forms(void **state)
{
    const char *key =
        "dGVzdGtleS10ZXN0a2V5LXRlc3RrZXktdGVzdGtleS10ZXN0a2V5LXRlc3RrZXktdGVzdGtleQ==";
    char text[512];
    snprintf(text, sizeof(text), "abs://:%s@account/container/dir/file.rdb", key);
    struct store_uri *u = ok(text, STORE_TYPE_AZURE, OBJ);
    assert_int_equal(u->kind, STORE_AZURE);
    assert_string_equal(u->password, key);
    assert_null(u->user);
    assert_string_equal(u->account, "account");
    assert_string_equal(u->bucket, "container");
    assert_string_equal(u->path, "dir/file.rdb");
    store_uri_free(u);

    /* A raw base64 key with '/' and '+', and the same key percent-encoded. */
    const char *raw = "ab/cd+ef/g==";
    snprintf(text, sizeof(text), "abs://:%s@account/container/f.rdb", raw);
    u = ok(text, STORE_TYPE_AZURE, OBJ);
    assert_string_equal(u->password, raw);
    store_uri_free(u);
    u = ok("abs://:ab%2Fcd%2Bef%2Fg%3D%3D@account/container/f.rdb", STORE_TYPE_AZURE, OBJ);
    assert_string_equal(u->password, raw);
    store_uri_free(u);

    /* [container/] is optional: one segment is a blob in $root. */
    snprintf(text, sizeof(text), "abs://:%s@account/file.rdb.gz", key);
    u = ok(text, STORE_TYPE_AZURE, OBJ);
    assert_string_equal(u->bucket, "$root");
    assert_string_equal(u->path, "file.rdb.gz");
    store_uri_free(u);
    /* Without a key (it comes from the config). */
    u = ok("abs://account/container/f.rdb", STORE_TYPE_AZURE, OBJ);
    assert_null(u->password);
    store_uri_free(u);
    store_uri_free(ok("abs://account/container", STORE_TYPE_AZURE, PFX));
    store_uri_free(ok("abs://account/container/prefix", STORE_TYPE_AZURE, PFX));

    bad("abs://user:c2VjcmV0a2V5@account/c0n/f", STORE_TYPE_AZURE, OBJ, "user part must be empty",
        "c2VjcmV0a2V5");
    bad("abs://:not*base64@account/container/f", STORE_TYPE_AZURE, OBJ, "not valid base64",
        "not*base64");
    bad("abs://:c2VjcmV0a2V5", STORE_TYPE_AZURE, OBJ, "followed by '@account_name'",
        "c2VjcmV0a2V5");
    bad("abs://:c2VjcmV0a2V5@Account/container/f", STORE_TYPE_AZURE, OBJ, "storage account name",
        "c2VjcmV0a2V5");
    bad("abs://:c2VjcmV0a2V5@ac/container/f", STORE_TYPE_AZURE, OBJ, "storage account name",
        "c2VjcmV0a2V5");
    bad("abs://:c2VjcmV0a2V5@account/Cont/f", STORE_TYPE_AZURE, OBJ, "container name",
        "c2VjcmV0a2V5");
    bad("abs://:c2VjcmV0a2V5@account/a--b/f", STORE_TYPE_AZURE, OBJ, "container name", NULL);
    bad("abs://:c2VjcmV0a2V5@account/container/", STORE_TYPE_AZURE, OBJ, "must name a file", NULL);
    bad("abs://:c2VjcmV0a2V5@account/", STORE_TYPE_AZURE, PFX, "container name is missing", NULL);
    bad("abs://account/container/a@b", STORE_TYPE_AZURE, OBJ, "':account_key'", NULL);
}

static void test_ftp_forms(void **state)
{
    struct store_uri *u =
        ok("ftp://user:pass@host.example:2121/path/file.rdb", STORE_TYPE_FTP, OBJ);
    assert_int_equal(u->kind, STORE_FTP);
    assert_string_equal(u->user, "user");
    assert_string_equal(u->password, "pass");
    assert_string_equal(u->host, "host.example");
    assert_int_equal(u->port, 2121);
    assert_string_equal(u->path, "path/file.rdb");
    store_uri_free(u);
    /* Decoded user, password and path. */
    u = ok("ftps://us%40er:p%40ss%3Aw%2Fd@10.0.0.1/a%20dir/f%21.rdb", STORE_TYPE_FTP, OBJ);
    assert_int_equal(u->kind, STORE_FTPS);
    assert_string_equal(u->user, "us@er");
    assert_string_equal(u->password, "p@ss:w/d");
    assert_string_equal(u->path, "a dir/f!.rdb");
    store_uri_free(u);
    /* [user][:password]@ in every combination, and none. */
    u = ok("ftp://:onlypass@host/f", STORE_TYPE_FTP, OBJ);
    assert_null(u->user);
    assert_string_equal(u->password, "onlypass");
    store_uri_free(u);
    u = ok("ftp://onlyuser@host/f", STORE_TYPE_FTP, OBJ);
    assert_string_equal(u->user, "onlyuser");
    assert_null(u->password);
    store_uri_free(u);
    u = ok("ftp://@host/f", STORE_TYPE_FTP, OBJ);
    assert_null(u->user);
    store_uri_free(u);
    u = ok("ftp://host/f", STORE_TYPE_FTP, OBJ);
    assert_int_equal(u->port, 0);
    store_uri_free(u);
    u = ok("ftp://u:p@[::1]:21/f", STORE_TYPE_FTP, OBJ);
    assert_string_equal(u->host, "::1");
    store_uri_free(u);
    /* A raw '@' in the password still parses (the last '@' ends it). */
    u = ok("ftp://u:p@ss@host/f", STORE_TYPE_FTP, OBJ);
    assert_string_equal(u->password, "p@ss");
    store_uri_free(u);
    store_uri_free(ok("ftp://host", STORE_TYPE_FTP, PFX));
    store_uri_free(ok("ftp://host/backups/", STORE_TYPE_FTP, PFX));

    bad("ftp://host", STORE_TYPE_FTP, OBJ, "missing", NULL);
    bad("ftp://user:pa ss@host/f", STORE_TYPE_FTP, OBJ, "must be percent-encoded", "pa ss");
    bad("ftp://user:p%zzs@host/f", STORE_TYPE_FTP, OBJ, "malformed percent-encoding", "p%zzs");
    bad("ftp://user:p%0aUSER%20x@host/f", STORE_TYPE_FTP, OBJ, "control character", "USER");
    bad("ftp://host:0/f", STORE_TYPE_FTP, OBJ, "port", NULL);
    bad("ftp://host:65536/f", STORE_TYPE_FTP, OBJ, "port", NULL);
    bad("ftp://host:21x/f", STORE_TYPE_FTP, OBJ, "port", NULL);
    bad("ftp://host:/f", STORE_TYPE_FTP, OBJ, "port", NULL);
    bad("ftp://u:secret@host:abc/f", STORE_TYPE_FTP, OBJ, "port", "secret");
    bad("ftp://u:top/secret@host/f", STORE_TYPE_FTP, OBJ, "percent-encode '/'", "secret");
    bad("ftp://u:top?secret@host/f", STORE_TYPE_FTP, OBJ, "percent-encode", "secret");
    bad("ftp://u:12/secret@host/f", STORE_TYPE_FTP, OBJ, "percent-encode", "secret");
    bad("ftp://host/a%0d%0aDELE%20x", STORE_TYPE_FTP, OBJ, "control character", NULL);
    bad("ftp://host/a%2Fb", STORE_TYPE_FTP, OBJ, "%2F", NULL);
    bad("ftp://host/a%00b", STORE_TYPE_FTP, OBJ, "malformed percent-encoding", NULL);
    bad("ftp://host/f?type=i", STORE_TYPE_FTP, OBJ, "not allowed", NULL);
    bad("ftp://host/../etc/passwd", STORE_TYPE_FTP, OBJ, "'..'", NULL);
    bad("ftp://ho_st!/f", STORE_TYPE_FTP, OBJ, "host", NULL);
    bad("ftp://-host/f", STORE_TYPE_FTP, OBJ, "host", NULL);
    bad("ftp://[::1/f", STORE_TYPE_FTP, OBJ, "IPv6", NULL);
    bad("ftp://[zz::1]/f", STORE_TYPE_FTP, OBJ, "IPv6", NULL);
    bad("ftp://:21/f", STORE_TYPE_FTP, OBJ, "host is missing", NULL);
    bad("ftp://u:secret@/f", STORE_TYPE_FTP, OBJ, "host is missing", "secret");
    bad("http://host/f", STORE_TYPE_FTP, OBJ, "not a valid ftp source", NULL);
}

static void test_http_forms(void **state)
{
    struct store_uri *u = ok("http://host/file.rdb", STORE_TYPE_HTTP, OBJ);
    assert_int_equal(u->kind, STORE_HTTP);
    assert_string_equal(u->path, "/file.rdb");
    store_uri_free(u);
    u = ok("https://u:p%20w@host.example:8443/a/b%20c.rdb?X-Amz-Signature=abc&x=1", STORE_TYPE_HTTP,
           OBJ);
    assert_int_equal(u->kind, STORE_HTTPS);
    assert_string_equal(u->password, "p w");
    assert_int_equal(u->port, 8443);
    /* HTTP paths stay encoded: they go to the server as written. */
    assert_string_equal(u->path, "/a/b%20c.rdb?X-Amz-Signature=abc&x=1");
    store_uri_free(u);
    u = ok("http://[2001:db8::1]:8080/f.rdb", STORE_TYPE_HTTP, OBJ);
    assert_string_equal(u->host, "2001:db8::1");
    store_uri_free(u);

    bad("http://host/", STORE_TYPE_HTTP, OBJ, "must name a file", NULL);
    bad("http://host", STORE_TYPE_HTTP, OBJ, "must name a file", NULL);
    bad("http://host/f#frag", STORE_TYPE_HTTP, OBJ, "fragment", NULL);
    bad("http://host/a b.rdb", STORE_TYPE_HTTP, OBJ, "must be percent-encoded", NULL);
    bad("http://host/%zz.rdb", STORE_TYPE_HTTP, OBJ, "malformed percent-encoding", NULL);
    bad("http://host/a\"b", STORE_TYPE_HTTP, OBJ, "must be percent-encoded", NULL);
    bad("http://u:s3cret@host:99999/f", STORE_TYPE_HTTP, OBJ, "port", "s3cret");
    bad("http://host/files/@me.rdb", STORE_TYPE_HTTP, OBJ, "'@'", NULL);
    bad("https://host/f", STORE_TYPE_S3, OBJ, "not a valid aws-s3 source", NULL);
}

static void test_redis_forms(void **state)
{
    struct store_uri *u = ok("redis://secretpw@host:6379", STORE_TYPE_REDIS, OBJ);
    assert_int_equal(u->kind, STORE_REDIS);
    assert_null(u->user);
    assert_string_equal(u->password, "secretpw");
    assert_string_equal(u->host, "host");
    assert_int_equal(u->port, 6379);
    assert_null(u->path);
    store_uri_free(u);
    u = ok("rediss://default:p%40ss@10.1.2.3:6380", STORE_TYPE_REDIS, OBJ);
    assert_int_equal(u->kind, STORE_REDISS);
    assert_string_equal(u->user, "default");
    assert_string_equal(u->password, "p@ss");
    store_uri_free(u);
    u = ok("redis://:pw@host:1", STORE_TYPE_REDIS, OBJ);
    assert_null(u->user);
    assert_string_equal(u->password, "pw");
    store_uri_free(u);
    u = ok("redis://host:6379", STORE_TYPE_REDIS, OBJ);
    assert_null(u->password);
    store_uri_free(u);

    bad("redis://host", STORE_TYPE_REDIS, OBJ, "port is missing", NULL);
    bad("redis://pw@host", STORE_TYPE_REDIS, OBJ, "port is missing", "pw@");
    bad("redis://host:6379/0", STORE_TYPE_REDIS, OBJ, "nothing may follow", NULL);
    bad("redis://host:6379?db=1", STORE_TYPE_REDIS, OBJ, "nothing may follow", NULL);
    bad("redis://topsecret@host:70000", STORE_TYPE_REDIS, OBJ, "port", "topsecret");
    bad("redis://top/secret@host:1", STORE_TYPE_REDIS, OBJ, "percent-encode", "secret");
    bad("s3://bucket/x", STORE_TYPE_REDIS, OBJ, "not a valid redis source", NULL);
}

static void test_local_forms(void **state)
{
    struct store_uri *u = ok("/var/backups/x.rdb", STORE_TYPE_LOCAL, OBJ);
    assert_int_equal(u->kind, STORE_LOCAL);
    assert_string_equal(u->path, "/var/backups/x.rdb");
    store_uri_free(u);
    u = ok("file:///var/backups/a%20b.rdb", STORE_TYPE_LOCAL, OBJ);
    assert_string_equal(u->path, "/var/backups/a b.rdb");
    store_uri_free(u);
    u = ok("relative/x.rdb", STORE_TYPE_ANY, OBJ);
    assert_string_equal(u->path, "relative/x.rdb");
    store_uri_free(u);
    /* A path that merely contains "://" is still a path. */
    u = ok("/tmp/a://b", STORE_TYPE_LOCAL, OBJ);
    assert_string_equal(u->path, "/tmp/a://b");
    store_uri_free(u);
    store_uri_free(ok("/var/backups/", STORE_TYPE_LOCAL, PFX));

    bad("relative/x.rdb", STORE_TYPE_LOCAL, OBJ, "must be absolute", NULL);
    bad("file://host/x", STORE_TYPE_LOCAL, OBJ, "no host", NULL);
    bad("file:///a%zz", STORE_TYPE_LOCAL, OBJ, "malformed percent-encoding", NULL);
    bad("/var/backups/", STORE_TYPE_LOCAL, OBJ, "ends with '/'", NULL);
    bad("/var/a\nb", STORE_TYPE_LOCAL, OBJ, "control character", NULL);
    bad("s3://bucket/x", STORE_TYPE_LOCAL, OBJ, "not a valid local source", NULL);
    bad("gopher://x/y", STORE_TYPE_ANY, OBJ, "unknown scheme 'gopher://'", NULL);
}

static void test_type_names_and_errors(void **state)
{
    struct {
        const char *name;
        enum store_type type;
        const char *error;
    } t[] = {
        {"aws-s3", STORE_TYPE_S3, "DATABASE_IMPORT_S3_BAD_URI"},
        {"google-blob-storage", STORE_TYPE_GCS, "DATABASE_IMPORT_GCS_BAD_URI"},
        {"azure-blob-storage", STORE_TYPE_AZURE, "DATABASE_IMPORT_AZURE_BAD_URI"},
        {"ftp", STORE_TYPE_FTP, "DATABASE_IMPORT_FTP_BAD_URI"},
        {"http", STORE_TYPE_HTTP, "DATABASE_IMPORT_HTTP_BAD_URI"},
        {"redis", STORE_TYPE_REDIS, "DATABASE_IMPORT_REDIS_BAD_URI"},
        {"local", STORE_TYPE_LOCAL, "DATABASE_INVALID_BACKUP_PATH"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        enum store_type type;
        assert_int_equal(store_type_from_name(t[i].name, &type), 0);
        assert_int_equal(type, t[i].type);
        assert_string_equal(store_type_name(type), t[i].name);
        assert_string_equal(store_type_bad_uri_error(type), t[i].error);
    }
    enum store_type type;
    assert_int_equal(store_type_from_name("aws", &type), -1);
    assert_int_equal(store_type_from_name(NULL, &type), -1);
    assert_true(store_kind_writable(STORE_S3));
    assert_false(store_kind_writable(STORE_HTTP));
    assert_false(store_kind_writable(STORE_REDIS));
}

static void check_redact(const char *in, const char *expect)
{
    char *r = store_uri_redact(in);
    if (strcmp(r, expect)) fail_msg("redact(%s) = %s, expected %s", in, r, expect);
    free(r);
}

static void test_redaction(void **state)
{
    check_redact("ftp://user:secret@host/x.rdb", "ftp://user:***@host/x.rdb");
    check_redact("ftp://user@host/x.rdb", "ftp://***@host/x.rdb");
    check_redact("ftps://:secret@host:21/a/b", "ftps://:***@host:21/a/b");
    check_redact("abs://:ab/cd+ef/gh==@acct/container/f.rdb", "abs://:***@acct/container/f.rdb");
    check_redact("abs://:ab%2Fcd@acct/c/f", "abs://:***@acct/c/f");
    check_redact("redis://secret@host:6379", "redis://***@host:6379");
    check_redact("rediss://default:secret@host:6379", "rediss://default:***@host:6379");
    check_redact("https://host/f.rdb?X-Amz-Signature=abc&X-Amz-Credential=def",
                 "https://host/f.rdb?X-Amz-Signature=***&X-Amz-Credential=***");
    check_redact("https://u:p@host/f.rdb?sig=abc", "https://u:***@host/f.rdb?sig=***");
    check_redact("ftp://u:top/secret@host/x", "ftp://u:***@host/x");
    check_redact("weird://a:b@c/d", "weird://a:***@c/d");
    check_redact("s3://bucket/key@2.rdb", "s3://bucket/key@2.rdb");
    check_redact("/tmp/a:b@c", "/tmp/a:b@c");
    check_redact("", "");

    /* Whatever the shape, the secret never survives redaction nor appears in
     * a parse error. */
    const char *secrets[] = {"Zq9secret",  "Zq9%2Fsecret", "Zq9/secret",
                             "Zq9@secret", "Zq9:secret",   "Zq9?secret"};
    const char *shapes[] = {"ftp://user:%s@host/f", "ftp://user:%s@host:99/f", "http://u:%s@h/f",
                            "abs://:%s@acct/c/f",   "redis://%s@host:1",       "rediss://u:%s@h:1",
                            "ftp://user:%s@host",   "http://u:%s@ho st/f",     "ftp://u:%s@-bad/f",
                            "abs://:%s@BAD/c/f",    "redis://%s@host",         "redis://u:%s@h:0"};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        for (size_t j = 0; j < sizeof(shapes) / sizeof(shapes[0]); j++) {
            char text[256];
            snprintf(text, sizeof(text), shapes[j], secrets[i]);
            char *r = store_uri_redact(text);
            if (strstr(r, "secret")) fail_msg("redact(%s) = %s", text, r);
            free(r);
            struct rk_err err = {{0}};
            struct store_uri *u = store_uri_parse(text, STORE_TYPE_ANY, OBJ, NULL, &err);
            if (u) {
                char *shown = store_uri_display(u);
                if (strstr(shown, "secret")) fail_msg("display(%s) = %s", text, shown);
                free(shown);
                store_uri_free(u);
            } else if (strstr(err.msg, "secret")) {
                fail_msg("parse(%s) error shows the secret: %s", text, err.msg);
            }
        }
}

static void check_join(const char *base, const char *name, const char *expect)
{
    struct rk_err err = {{0}};
    char *r = store_uri_join(base, name, &err);
    if (!r) fail_msg("join(%s, %s) failed: %s", base, name, err.msg);
    if (strcmp(r, expect)) fail_msg("join(%s, %s) = %s, expected %s", base, name, r, expect);
    free(r);
}

static void test_join_and_with_key(void **state)
{
    check_join("s3://b-1/backups", "x.rdb", "s3://b-1/backups/x.rdb");
    check_join("s3://b-1/backups/", "x.rdb", "s3://b-1/backups/x.rdb");
    check_join("s3://b-1", "x.rdb", "s3://b-1/x.rdb");
    check_join("gs://b-1/p", "x.rdb", "gs://b-1/p/x.rdb");
    check_join("abs://:a2V5@acct/cont", "x.rdb", "abs://:a2V5@acct/cont/x.rdb");
    check_join("abs://acct/cont/pre", "x.rdb", "abs://acct/cont/pre/x.rdb");
    check_join("ftp://u:p%40w@h:21/dir", "a b.rdb", "ftp://u:p%40w@h:21/dir/a%20b.rdb");
    check_join("ftp://h", "x.rdb", "ftp://h/x.rdb");
    check_join("/var/backups", "x.rdb", "/var/backups/x.rdb");
    check_join("file:///var/backups/", "x.rdb", "/var/backups/x.rdb");
    struct rk_err err;
    assert_null(store_uri_join("redis://h:1", "x", &err));
    assert_null(store_uri_join("http://h/f", "x", &err));
    assert_null(store_uri_join("s3://B/x", "x", &err));

    char *r = store_uri_with_key("s3://bucket/pre", "other/key.rdb", &err);
    assert_string_equal(r, "s3://bucket/other/key.rdb");
    free(r);
    r = store_uri_with_key("abs://:a2V5@acct/cont/pre", "k/x.rdb", &err);
    assert_string_equal(r, "abs://:a2V5@acct/cont/k/x.rdb");
    free(r);
    r = store_uri_with_key("ftp://u:p@h/pre", "d/x y.rdb", &err);
    assert_string_equal(r, "ftp://u:p@h/d/x%20y.rdb");
    free(r);
    r = store_uri_with_key("/var/b/pre", "/var/b/x.rdb", &err);
    assert_string_equal(r, "/var/b/x.rdb");
    free(r);
}

static void test_size_parsing(void **state)
{
    uint64_t v;
    assert_int_equal(store_parse_size("5M", &v), 0);
    assert_true(v == 5u << 20);
    assert_int_equal(store_parse_size("16MiB", &v), 0);
    assert_true(v == 16u << 20);
    assert_int_equal(store_parse_size("1G", &v), 0);
    assert_true(v == 1u << 30);
    assert_int_equal(store_parse_size("123", &v), 0);
    assert_true(v == 123);
    assert_int_equal(store_parse_size("12X", &v), -1);
    assert_int_equal(store_parse_size("-1", &v), -1);
    assert_int_equal(store_parse_size("", &v), -1);
    assert_int_equal(store_parse_size("99999999999999999999G", &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s3_and_gcs_forms),
        cmocka_unit_test(test_azure_forms),
        cmocka_unit_test(test_ftp_forms),
        cmocka_unit_test(test_http_forms),
        cmocka_unit_test(test_redis_forms),
        cmocka_unit_test(test_local_forms),
        cmocka_unit_test(test_type_names_and_errors),
        cmocka_unit_test(test_redaction),
        cmocka_unit_test(test_join_and_with_key),
        cmocka_unit_test(test_size_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
