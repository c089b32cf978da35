/* rdbkeep rdb pull [OPTIONS] SRC DST: a snapshot of a running Redis, verified
 * as it passes, stored anywhere a backup can go. */
#include "cli/rdb_tools.h"
#include "cli/redis_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pull_job {
    struct redis_cli *cli;
    struct store_uri *src;
    const char *dst;
    struct redis_pull_options opts;
    struct redis_progress progress;
    struct redis_pull_result res;
    struct rk_err err;
};

static int pull_run(void *arg)
{
    struct pull_job *j = arg;
    struct io_sink *sink;
    if (strcmp(j->dst, "-") == 0) {
        sink = io_fd_sink_new(STDOUT_FILENO, false, false);
    } else {
        int result;
        sink = store_open_write(&j->cli->store, j->dst, -1, &result, &j->err);
        if (!sink) return -1;
    }
    return redis_pull(&j->cli->redis, j->src, sink, &j->opts, &j->res, &j->err);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *checksum_name(enum rdb_checksum_status s)
{
    switch (s) {
    case RDB_CHECKSUM_OK: return "CRC64 ok";
    case RDB_CHECKSUM_DISABLED: return "saved without a CRC64";
    default: return "no CRC64 in this version";
    }
}

int cli_rdb_pull(int argc, char **argv)
{
    struct redis_cli cli;
    int rc = redis_cli_init(&cli, "pull");
    if (rc != CLI_EXIT_OK) return rc;
    struct pull_job j = {.cli = &cli};
    const char *args[2];
    int nargs = 0;
    bool force_gzip = false, no_gzip = false;
    for (int i = 1; i < argc; i++) {
        int o = redis_cli_option(&cli, argc, argv, &i);
        if (o < 0) goto usage;
        if (o > 0) continue;
        const char *a = argv[i];
        if (strcmp(a, "--gzip") == 0) {
            force_gzip = true;
        } else if (strcmp(a, "--no-gzip") == 0) {
            no_gzip = true;
        } else if (strcmp(a, "--gzip-level") == 0) {
            int64_t v;
            if (i + 1 >= argc || rk_parse_i64(argv[++i], &v) || v < 1 || v > 3) {
                cli_usage_error("rdb", "pull: --gzip-level needs 1, 2 or 3");
                goto usage;
            }
            j.opts.gzip_level = (int)v;
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("rdb", "pull: unknown option %s", a);
            goto usage;
        } else if (nargs < 2) {
            args[nargs++] = a;
        } else {
            cli_usage_error("rdb", "pull: one source and one destination");
            goto usage;
        }
    }
    if (nargs != 2) {
        cli_usage_error("rdb", "pull: SRC (redis:// or rediss://) and DST are required");
        goto usage;
    }
    struct rk_err err;
    const char *etype;
    j.src = store_uri_parse(args[0], STORE_TYPE_REDIS, STORE_URI_OBJECT, &etype, &err);
    if (!j.src) {
        char *shown = store_uri_redact(args[0]);
        cli_usage_error("rdb", "pull: %s: %s", shown, err.msg);
        free(shown);
        goto usage;
    }
    j.dst = args[1];
    j.opts.gzip = !no_gzip && (force_gzip || ends_with(j.dst, ".gz"));
    j.opts.progress = &j.progress;
    if ((rc = redis_cli_start(&cli)) != CLI_EXIT_OK) goto done;

    uint64_t t0 = rk_monotonic_ns();
    rc = redis_cli_run(&cli, pull_run, &j, &j.progress, "pulling") ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    double secs = (double)(rk_monotonic_ns() - t0) / 1e9;
    char *src_shown = store_uri_redact(args[0]);
    char *dst_shown = store_uri_redact(j.dst);
    if (rc != CLI_EXIT_OK) {
        char msg[RK_ERR_MAX + 600];
        snprintf(msg, sizeof(msg), "%s -> %s: %s (nothing was stored)", src_shown, dst_shown,
                 j.err.msg);
        redis_cli_error(&cli, msg);
    } else if (!cli.quiet) {
        const struct redis_pull_result *r = &j.res;
        fprintf(stderr,
                "%s: %llu keys, RDB %d%s%s, %llu bytes (%s, %s snapshot%s), stored %llu "
                "bytes%s, sha256 %s, %.1f s\n",
                dst_shown, (unsigned long long)r->keys, r->rdb_version,
                r->snapshot.server[0] ? " from " : "", r->snapshot.server,
                (unsigned long long)r->rdb_bytes, checksum_name(r->checksum),
                r->snapshot.framing == REDIS_FRAMING_EOF ? "diskless" : "disk-based",
                r->snapshot.psync ? "" : ", legacy SYNC", (unsigned long long)r->stored_bytes,
                j.opts.gzip ? " gzip" : "", r->sha256, secs);
    }
    free(src_shown);
    free(dst_shown);
done:
    store_uri_free(j.src);
    redis_cli_free(&cli);
    return rc;
usage:
    store_uri_free(j.src);
    store_config_free(&cli.store);
    return CLI_EXIT_USAGE;
}
