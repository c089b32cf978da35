/* The store API's contract, on the local driver (no server needed): a writer
 * is an io sink whose close commits and whose abort leaves nothing; a reader
 * is an io source that starts at an offset; stat, list, delete and the write
 * probe; result codes; and the redis:// plug-in point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

static char dir[64];

static int setup(void **state)
{
    strcpy(dir, "/tmp/rdbkeep-test-store.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static char *path_of(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof(buf), "%s/%s", dir, name);
    return buf;
}

static int count_entries(const char *d)
{
    DIR *h = opendir(d);
    if (!h) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(h)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(h);
    return n;
}

static void test_writer_commits_only_at_close(void **state)
{
    struct store_config cfg;
    store_config_init(&cfg);
    struct rk_err err;
    int rc;
    char target[256];
    snprintf(target, sizeof(target), "%s/sub/dir/obj.rdb", dir);
    struct io_sink *w = store_open_write(&cfg, target, -1, &rc, &err);
    assert_non_null(w);
    assert_int_equal(rc, STORE_OK);
    assert_int_equal(io_sink_write(w, "hello ", 6, &err), 0);
    assert_int_equal(io_sink_write(w, "world", 5, &err), 0);
    struct stat sb;
    assert_int_equal(stat(target, &sb), -1);                /* not visible yet */
    assert_int_equal(count_entries(path_of("sub/dir")), 1); /* the temporary file */
    assert_int_equal(io_sink_close(w, &err), 0);
    assert_int_equal(store_sink_result(w), STORE_OK);
    io_sink_free(w);
    assert_int_equal(stat(target, &sb), 0);
    assert_int_equal(sb.st_size, 11);
    assert_int_equal(count_entries(path_of("sub/dir")), 1);

    /* Abort, and free without close, leave nothing behind. */
    char other[256];
    snprintf(other, sizeof(other), "%s/sub/dir/aborted.rdb", dir);
    w = store_open_write(&cfg, other, -1, &rc, &err);
    assert_int_equal(io_sink_write(w, "x", 1, &err), 0);
    io_sink_abort(w);
    io_sink_free(w);
    w = store_open_write(&cfg, other, -1, &rc, &err);
    assert_int_equal(io_sink_write(w, "x", 1, &err), 0);
    io_sink_free(w);
    assert_int_equal(stat(other, &sb), -1);
    assert_int_equal(count_entries(path_of("sub/dir")), 1);

    /* Composes with filters: gzip -> sha256 -> counter -> store writer. */
    struct io_digest digest;
    struct io_counter counter = {0};
    char gz[256];
    snprintf(gz, sizeof(gz), "%s/chain.rdb.gz", dir);
    struct io_sink *chain = io_gzip_sink_new(
        io_sha256_sink_new(io_count_sink_new(store_open_write(&cfg, gz, -1, &rc, &err), &counter),
                           &digest),
        1);
    assert_int_equal(io_sink_write(chain, "REDIS0011", 9, &err), 0);
    assert_int_equal(io_sink_close(chain, &err), 0);
    io_sink_free(chain);
    assert_int_equal(stat(gz, &sb), 0);
    assert_int_equal((uint64_t)sb.st_size, io_counter_get(&counter));
    char cmd[512], line[128] = "";
    snprintf(cmd, sizeof(cmd), "sha256sum '%s'", gz);
    FILE *f = popen(cmd, "r");
    assert_non_null(fgets(line, sizeof(line), f));
    pclose(f);
    assert_memory_equal(line, digest.hex, 64);
    store_config_free(&cfg);
}

static int collect(void *arg, const struct store_entry *e)
{
    strcat(arg, e->key);
    strcat(arg, ";");
    return 0;
}

static void test_read_stat_list_delete(void **state)
{
    struct store_config cfg;
    store_config_init(&cfg);
    struct rk_err err;
    int rc;
    const char *names[] = {"l/b.rdb", "l/a.rdb", "l/c/d.rdb", "lx.rdb"};
    for (size_t i = 0; i < 4; i++) {
        char *p = path_of(names[i]);
        char uri[300];
        snprintf(uri, sizeof(uri), "file://%s", p);
        struct io_sink *w = store_open_write(&cfg, uri, 3, &rc, &err);
        assert_non_null(w);
        assert_int_equal(io_sink_write(w, "abc", 3, &err), 0);
        assert_int_equal(io_sink_close(w, &err), 0);
        io_sink_free(w);
    }
    struct store_stat st;
    assert_int_equal(store_stat(&cfg, path_of("l/a.rdb"), &st, &err), STORE_OK);
    assert_true(st.size_known);
    assert_int_equal(st.size, 3);
    assert_true(st.mtime_ms > 0);
    assert_int_equal(store_stat(&cfg, path_of("l/none.rdb"), &st, &err), STORE_NOT_FOUND);

    struct io_source *r = store_open_read(&cfg, path_of("l/a.rdb"), 1, &st, &rc, &err);
    assert_non_null(r);
    char buf[8];
    assert_int_equal(io_source_read_full(r, buf, sizeof(buf), &err), 2);
    assert_memory_equal(buf, "bc", 2);
    io_source_free(r);
    assert_null(store_open_read(&cfg, path_of("l/none.rdb"), 0, NULL, &rc, &err));
    assert_int_equal(rc, STORE_NOT_FOUND);

    /* Every object under the prefix, sorted, recursing. */
    char listed[512] = "";
    assert_int_equal(store_list(&cfg, path_of("l/"), collect, listed, &err), STORE_OK);
    char expect[512];
    snprintf(expect, sizeof(expect), "%s/l/a.rdb;%s/l/b.rdb;%s/l/c/d.rdb;", dir, dir, dir);
    assert_string_equal(listed, expect);
    listed[0] = '\0';
    assert_int_equal(store_list(&cfg, path_of("l"), collect, listed, &err), STORE_OK);
    snprintf(expect, sizeof(expect), "%s/l/a.rdb;%s/l/b.rdb;%s/l/c/d.rdb;%s/lx.rdb;", dir, dir, dir,
             dir);
    assert_string_equal(listed, expect);

    assert_int_equal(store_delete(&cfg, path_of("l/a.rdb"), &err), STORE_OK);
    assert_int_equal(store_delete(&cfg, path_of("l/a.rdb"), &err), STORE_NOT_FOUND);
    assert_int_equal(store_delete(&cfg, path_of("l/c"), &err), STORE_FAIL);

    /* Malformed URIs are STORE_BAD_URI, with the reason. */
    assert_int_equal(store_stat(&cfg, "s3://No/x", &st, &err), STORE_BAD_URI);
    assert_non_null(strstr(err.msg, "bucket"));
    /* HTTP cannot be written, Redis cannot be listed. */
    assert_null(store_open_write(&cfg, "http://h/x.rdb", 1, &rc, &err));
    assert_int_equal(rc, STORE_UNSUPPORTED);
    assert_int_equal(store_list(&cfg, "redis://h:1", collect, listed, &err), STORE_UNSUPPORTED);
    store_config_free(&cfg);
}

static void test_probe(void **state)
{
    struct store_config cfg;
    store_config_init(&cfg);
    struct rk_err err;
    assert_int_equal(store_probe_write(&cfg, path_of("probe/here"), &err), STORE_OK);
    /* The probe went into the place and is gone again. */
    assert_int_equal(count_entries(path_of("probe/here")), 0);
    assert_int_not_equal(store_probe_write(&cfg, "/proc/rdbkeep-probe-test", &err), STORE_OK);
    assert_non_null(strstr(err.msg, "local"));
    assert_int_equal(store_probe_write(&cfg, "ftp://u:p@h:0/x", &err), STORE_BAD_URI);
    store_config_free(&cfg);
}

/* A stand-in for the live data path: it "snapshots" a fixed byte string. */
static const char snapshot[] = "REDIS0011 snapshot bytes";
static struct store_uri seen;

static struct io_source *fake_redis_open(void *arg, const struct store_uri *uri, struct rk_err *err)
{
    seen.port = uri->port;
    seen.kind = uri->kind;
    (*(int *)arg)++;
    if (uri->password && !strcmp(uri->password, "wrong")) {
        rk_err_set(err, "redis: NOAUTH");
        return NULL;
    }
    return io_mem_source_new(snapshot, sizeof(snapshot) - 1);
}

static void test_redis_plug_in_point(void **state)
{
    struct store_config cfg;
    store_config_init(&cfg);
    struct rk_err err;
    int rc, calls = 0;
    assert_null(store_open_read(&cfg, "redis://pw@127.0.0.1:6379", 0, NULL, &rc, &err));
    assert_int_equal(rc, STORE_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "replication client"));
    cfg.redis_open = fake_redis_open;
    cfg.redis_open_arg = &calls;
    struct io_source *s =
        store_open_read(&cfg, "rediss://default:p%40ss@127.0.0.1:6380", 0, NULL, &rc, &err);
    assert_non_null(s);
    assert_int_equal(calls, 1);
    assert_int_equal(seen.port, 6380);
    assert_int_equal(seen.kind, STORE_REDISS);
    char buf[64];
    ssize_t n = io_source_read_full(s, buf, sizeof(buf), &err);
    assert_int_equal(n, (ssize_t)sizeof(snapshot) - 1);
    io_source_free(s);
    assert_null(store_open_read(&cfg, "redis://wrong@127.0.0.1:6379", 0, NULL, &rc, &err));
    assert_int_equal(rc, STORE_FAIL);
    assert_string_equal(err.msg, "redis: NOAUTH");
    assert_null(store_open_read(&cfg, "redis://127.0.0.1:6379", 5, NULL, &rc, &err));
    assert_int_equal(rc, STORE_UNSUPPORTED);
    store_config_free(&cfg);
}

static void test_config_from_env(void **state)
{
    struct store_config cfg;
    struct rk_err err;
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SECRET", 1);
    setenv("AWS_REGION", "eu-west-3", 1);
    setenv("RDBKEEP_STORE_PART_SIZE", "8M", 1);
    setenv("AZURE_STORAGE_SAS_TOKEN", "?sv=1&sig=x", 1);
    assert_int_equal(store_config_from_env(&cfg, &err), 0);
    assert_string_equal(cfg.s3.access_key_id, "AKID");
    assert_string_equal(cfg.s3.region, "eu-west-3");
    assert_true(cfg.part_size == 8u << 20);
    assert_string_equal(cfg.azure.sas_token, "?sv=1&sig=x");
    assert_true(cfg.connect_timeout_ms == 10000);
    store_config_free(&cfg);
    setenv("RDBKEEP_STORE_PART_SIZE", "1M", 1);
    assert_int_equal(store_config_from_env(&cfg, &err), -1);
    assert_non_null(strstr(err.msg, "RDBKEEP_STORE_PART_SIZE"));
    store_config_free(&cfg);
    unsetenv("RDBKEEP_STORE_PART_SIZE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_commits_only_at_close),
        cmocka_unit_test(test_read_stat_list_delete),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_redis_plug_in_point),
        cmocka_unit_test(test_config_from_env),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
