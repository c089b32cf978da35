/* rdbkeep rdb push [OPTIONS] SRC... DST: RDB files (the shards of one
 * dataset) loaded into a running Redis. */
#include "cli/rdb_tools.h"
#include "cli/redis_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct push_job {
    struct redis_cli *cli;
    const char **srcs;
    char **shown; /* redacted, for messages */
    size_t nsrcs;
    struct store_uri *dst;
    struct redis_load_options opts;
    struct redis_progress progress;
    struct redis_load_stats stats;
    struct rk_err err;
};

static struct io_source *open_input(void *arg, size_t i, uint64_t *size, struct rk_err *err)
{
    struct push_job *j = arg;
    *size = 0;
    if (strcmp(j->srcs[i], "-") == 0)
        return io_fd_source_new_cancellable(STDIN_FILENO, false, j->cli->store.cancelled,
                                            j->cli->store.cancel_arg);
    struct store_stat st;
    int result;
    struct io_source *src = store_open_read(&j->cli->store, j->srcs[i], 0, &st, &result, err);
    if (!src) {
        rk_err_prefix(err, "%s", j->shown[i]);
        return NULL;
    }
    if (st.size_known) *size = st.size;
    return src;
}

static int push_run(void *arg)
{
    struct push_job *j = arg;
    struct redis_load_inputs in = {
        .count = j->nsrcs, .names = (const char *const *)j->shown, .open = open_input, .arg = j};
    return redis_load(&j->cli->redis, j->dst, &in, &j->opts, &j->stats, &j->err);
}

/* Every input is looked at before the target is flushed: a missing file
 * must not be found after the target's data is gone. Also sums the sizes
 * for the progress bar (0 when any is unknown). */
static int check_inputs(struct push_job *j, uint64_t *total)
{
    *total = 0;
    bool known = true;
    int stdin_count = 0;
    for (size_t i = 0; i < j->nsrcs; i++) {
        if (strcmp(j->srcs[i], "-") == 0) {
            known = false;
            if (++stdin_count > 1) {
                redis_cli_error(j->cli, "standard input (-) can be given once");
                return -1;
            }
            continue;
        }
        struct rk_err err;
        const char *etype;
        struct store_uri *u =
            store_uri_parse(j->srcs[i], STORE_TYPE_ANY, STORE_URI_OBJECT, &etype, &err);
        if (!u) {
            char msg[RK_ERR_MAX + 300];
            snprintf(msg, sizeof(msg), "%s: %s", j->shown[i], err.msg);
            redis_cli_error(j->cli, msg);
            return -1;
        }
        bool live = u->kind == STORE_REDIS || u->kind == STORE_REDISS;
        store_uri_free(u);
        if (live) { /* a snapshot: its size is known only when it is taken */
            known = false;
            continue;
        }
        struct store_stat st;
        if (store_stat(&j->cli->store, j->srcs[i], &st, &err) < 0) {
            char msg[RK_ERR_MAX + 300];
            snprintf(msg, sizeof(msg), "%s: %s (nothing was loaded)", j->shown[i], err.msg);
            redis_cli_error(j->cli, msg);
            return -1;
        }
        if (st.size_known)
            *total += st.size;
        else
            known = false;
    }
    if (!known) *total = 0;
    return 0;
}

static void print_summary(const struct push_job *j, const char *dst, double secs)
{
    const struct redis_load_stats *s = &j->stats;
    fprintf(stderr, "%s: %llu keys loaded from %llu file%s into %s (RDB %d) with %s", dst,
            (unsigned long long)s->keys, (unsigned long long)s->files, s->files == 1 ? "" : "s",
            s->server[0] ? s->server : "the target", s->target_version,
            s->method == REDIS_LOAD_REPLICATION ? "a replication full sync" : "RESTORE");
    if (s->keys_typed)
        fprintf(stderr, " (%llu big value%s as %llu commands)", (unsigned long long)s->keys_typed,
                s->keys_typed == 1 ? "" : "s", (unsigned long long)s->typed_commands);
    fprintf(stderr, ", %llu expired keys skipped, %.1f s\n", (unsigned long long)s->keys_expired,
            secs);
    if (s->method_note[0])
        fprintf(stderr, "note: the replication method was not used: %s\n", s->method_note);
    if (s->field_ttls_dropped)
        fprintf(stderr,
                "warning: %llu hash field TTLs dropped: the target cannot store them "
                "(Redis 7.4 can)\n",
                (unsigned long long)s->field_ttls_dropped);
    if (s->functions_dropped)
        fprintf(stderr,
                "warning: %llu function libraries dropped: the target has no functions "
                "(Redis 7.0 has)\n",
                (unsigned long long)s->functions_dropped);
    if (s->module_aux_dropped)
        fprintf(stderr, "warning: %llu module aux records dropped\n",
                (unsigned long long)s->module_aux_dropped);
    if (s->stream_pel_dropped)
        fprintf(stderr,
                "warning: %llu pending stream entries dropped: their messages were "
                "deleted, and XCLAIM cannot recreate those\n",
                (unsigned long long)s->stream_pel_dropped);
    if (s->stream_idmp_dropped)
        fprintf(stderr, "warning: idempotency data of %llu streams dropped (RDB 13 only)\n",
                (unsigned long long)s->stream_idmp_dropped);
}

int cli_rdb_push(int argc, char **argv)
{
    struct redis_cli cli;
    int rc = redis_cli_init(&cli, "push");
    if (rc != CLI_EXIT_OK) return rc;
    struct push_job j = {.cli = &cli};
    const char **args = xcalloc((size_t)argc, sizeof(*args));
    size_t nargs = 0;
    for (int i = 1; i < argc; i++) {
        int o = redis_cli_option(&cli, argc, argv, &i);
        if (o < 0) goto usage;
        if (o > 0) continue;
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--no-flush") == 0) {
            j.opts.no_flush = true;
        } else if (strcmp(a, "--method") == 0) {
            if (next && strcmp(next, "auto") == 0)
                j.opts.method = REDIS_LOAD_AUTO;
            else if (next && strcmp(next, "restore") == 0)
                j.opts.method = REDIS_LOAD_RESTORE;
            else if (next && strcmp(next, "replication") == 0)
                j.opts.method = REDIS_LOAD_REPLICATION;
            else {
                cli_usage_error("rdb", "push: --method is auto, restore or replication");
                goto usage;
            }
            i++;
        } else if (strcmp(a, "--max-payload") == 0) {
            if (!next || store_parse_size(next, &j.opts.max_payload) < 0 ||
                j.opts.max_payload < 1024) {
                cli_usage_error("rdb", "push: --max-payload needs a size of at least 1K");
                goto usage;
            }
            i++;
        } else if (strcmp(a, "--target-version") == 0) {
            int64_t v;
            if (!next || rk_parse_i64(next, &v) || v < RDB_WRITER_MIN_VERSION ||
                v > RDB_WRITER_MAX_VERSION) {
                cli_usage_error("rdb", "push: --target-version needs %d to %d",
                                RDB_WRITER_MIN_VERSION, RDB_WRITER_MAX_VERSION);
                goto usage;
            }
            j.opts.target_version = (int)v;
            i++;
        } else if (strcmp(a, "--listen-host") == 0) {
            if (!next) {
                cli_usage_error("rdb", "push: --listen-host needs an address");
                goto usage;
            }
            j.opts.listen_host = next;
            i++;
        } else if (strcmp(a, "--listen-port") == 0) {
            int64_t v;
            if (!next || rk_parse_i64(next, &v) || v < 0 || v > 65535) {
                cli_usage_error("rdb", "push: --listen-port needs a port");
                goto usage;
            }
            j.opts.listen_port = (unsigned)v;
            i++;
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("rdb", "push: unknown option %s", a);
            goto usage;
        } else {
            args[nargs++] = a;
        }
    }
    if (nargs < 2) {
        cli_usage_error("rdb", "push: at least one SRC and the DST (redis:// or rediss://)");
        goto usage;
    }
    struct rk_err err;
    const char *etype;
    const char *dst_text = args[nargs - 1];
    char *dst_shown = store_uri_redact(dst_text);
    j.dst = store_uri_parse(dst_text, STORE_TYPE_REDIS, STORE_URI_OBJECT, &etype, &err);
    if (!j.dst) {
        cli_usage_error("rdb", "push: %s: %s", dst_shown, err.msg);
        free(dst_shown);
        goto usage;
    }
    j.srcs = args;
    j.nsrcs = nargs - 1;
    j.shown = xcalloc(j.nsrcs, sizeof(*j.shown));
    for (size_t i = 0; i < j.nsrcs; i++) j.shown[i] = store_uri_redact(j.srcs[i]);
    j.opts.progress = &j.progress;
    if ((rc = redis_cli_start(&cli)) != CLI_EXIT_OK) goto done;
    uint64_t total;
    if (check_inputs(&j, &total)) {
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    atomic_store(&j.progress.total, total);

    uint64_t t0 = rk_monotonic_ns();
    rc = redis_cli_run(&cli, push_run, &j, &j.progress, "loading") ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    double secs = (double)(rk_monotonic_ns() - t0) / 1e9;
    if (rc != CLI_EXIT_OK) {
        /* What the failure left in the target, as far as we changed it. */
        char left[160];
        if (!j.stats.target_flushed && j.stats.keys == 0)
            snprintf(left, sizeof(left), "the target was not changed");
        else if (j.stats.method == REDIS_LOAD_REPLICATION)
            snprintf(left, sizeof(left), "the target was emptied: it holds none of the data");
        else
            snprintf(left, sizeof(left),
                     "the target holds part of the data: %llu keys were sent before the error",
                     (unsigned long long)j.stats.keys);
        char msg[RK_ERR_MAX + 400];
        snprintf(msg, sizeof(msg), "%s: %s (%s)", dst_shown, j.err.msg, left);
        redis_cli_error(&cli, msg);
    } else if (!cli.quiet) {
        print_summary(&j, dst_shown, secs);
    }
done:
    for (size_t i = 0; j.shown && i < j.nsrcs; i++) free(j.shown[i]);
    free(j.shown);
    free(dst_shown);
    free(args);
    store_uri_free(j.dst);
    redis_cli_free(&cli);
    return rc;
usage:
    free(args);
    store_config_free(&cli.store);
    return CLI_EXIT_USAGE;
}
