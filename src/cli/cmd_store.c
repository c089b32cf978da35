/* rdbkeep store: ls, stat, cp and rm on every storage location. */
#include "cli/cli.h"
#include "base/base.h"
#include "io/io.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STORE_HELP                                                                                 \
    "Usage: rdbkeep store ls   [OPTIONS] URI\n"                                                    \
    "       rdbkeep store stat [OPTIONS] URI\n"                                                    \
    "       rdbkeep store cp   [OPTIONS] SRC DST\n"                                                \
    "       rdbkeep store rm   [OPTIONS] URI\n"                                                    \
    "\n"                                                                                           \
    "List, inspect, copy and delete objects in any store rdbkeep backs up to or imports from.\n"   \
    "\n"                                                                                           \
    "  ls URI      every object whose name starts with URI (recursing into folders):\n"            \
    "              size in bytes, modification time (UTC), URI; one per line\n"                    \
    "  stat URI    size, modification time and ETag of one object\n"                               \
    "  cp SRC DST  copy from any store to any writable store, streaming (no temporary\n"           \
    "              copy); the destination appears only once it is complete. SRC or DST\n"          \
    "              may be '-' (standard input or output). A DST ending in '/' gets\n"              \
    "              the source's file name.\n"                                                      \
    "  rm URI      delete one object\n"                                                            \
    "\n"                                                                                           \
    "Locations:\n"                                                                                 \
    "  /path, ./path, file:///path                      local files\n"                             \
    "  s3://bucket/key                                  Amazon S3 or an S3-compatible store\n"     \
    "  gs://bucket/key                                  Google Cloud Storage (XML API)\n"          \
    "  abs://[:KEY@]account/container/blob              Azure Blob Storage\n"                      \
    "  ftp://[user[:password]@]host[:port]/path         FTP (ftps:// for explicit TLS)\n"          \
    "  http://[user[:password]@]host[:port]/path        HTTP(S) downloads (read only)\n"           \
    "  Percent-encode special characters in user names and passwords.\n"                           \
    "\n"                                                                                           \
    "Options:\n"                                                                                   \
    "  -q, --quiet               no progress bar (it is shown only on a terminal anyway)\n"        \
    "      --gzip                cp: compress with gzip while copying\n"                           \
    "      --gunzip              cp: decompress while copying if the source is gzip\n"             \
    "      --offset N            cp: start reading the source at byte N\n"                         \
    "      --part-size SIZE      S3/GCS part and Azure block size (default 16M, at least 5M)\n"    \
    "      --single-put-limit SIZE\n"                                                              \
    "                            larger objects, or of unknown size, go up in parts (default "     \
    "5G)\n"                                                                                        \
    "      --connect-timeout S   seconds to connect before giving up (default 10)\n"               \
    "      --stall-timeout S     fail when no byte moves for S seconds (default 60)\n"             \
    "      --retries N           retries of a failed request or part (default 4)\n"                \
    "  SIZE takes K, M or G suffixes (powers of 1024).\n"                                          \
    "\n"                                                                                           \
    "Credentials (environment):\n"                                                                 \
    "  S3     AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,\n"          \
    "         AWS_ENDPOINT_URL (S3-compatible store, path-style addressing)\n"                     \
    "  GCS    GOOGLE_APPLICATION_CREDENTIALS (service-account JSON key), or GCS_HMAC_ACCESS_ID\n"  \
    "         and GCS_HMAC_SECRET; GCS_ENDPOINT_URL\n"                                             \
    "  Azure  the key in the URI, or AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN;\n"              \
    "         AZURE_STORAGE_ENDPOINT (an emulator such as http://127.0.0.1:10000)\n"               \
    "  TLS    RDBKEEP_CA_FILE: extra CA certificates (PEM) for HTTPS and FTPS\n"                   \
    "\n"                                                                                           \
    "Exit status: 0 done, 1 failed, 2 wrong command line.\n"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

static bool is_interrupted(void *arg)
{
    return interrupted != 0;
}

/* Standard input, giving up when a signal asks us to stop (the io module's
 * file source retries interrupted reads, as a library should). */
static ssize_t read_stdin(void *arg, void *buf, size_t cap, struct rk_err *err)
{
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, cap);
        if (n >= 0) return n;
        if (errno != EINTR) return rk_err_set(err, "reading standard input: %s", strerror(errno));
        if (interrupted) return rk_err_set(err, "interrupted");
    }
}

struct opts {
    bool quiet, gzip, gunzip;
    uint64_t offset;
};

static int parse_options(int argc, char **argv, struct store_config *cfg, struct opts *o)
{
    enum { O_GZIP = 256, O_GUNZIP, O_OFFSET, O_PART, O_SINGLE, O_CONNECT, O_STALL, O_RETRIES };
    static const struct option longopts[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"gzip", no_argument, NULL, O_GZIP},
        {"gunzip", no_argument, NULL, O_GUNZIP},
        {"offset", required_argument, NULL, O_OFFSET},
        {"part-size", required_argument, NULL, O_PART},
        {"single-put-limit", required_argument, NULL, O_SINGLE},
        {"connect-timeout", required_argument, NULL, O_CONNECT},
        {"stall-timeout", required_argument, NULL, O_STALL},
        {"retries", required_argument, NULL, O_RETRIES},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 2; /* argv[0] "store", argv[1] the action */
    int c;
    while ((c = getopt_long(argc, argv, "+q", longopts, NULL)) != -1) {
        uint64_t v;
        switch (c) {
        case 'q': o->quiet = true; break;
        case O_GZIP: o->gzip = true; break;
        case O_GUNZIP: o->gunzip = true; break;
        case O_OFFSET:
            if (rk_parse_u64(optarg, &o->offset) < 0)
                return cli_usage_error("store", "--offset needs a byte count");
            break;
        case O_PART:
            if (store_parse_size(optarg, &v) < 0 || v < (5u << 20))
                return cli_usage_error("store", "--part-size needs a size of at least 5M");
            cfg->part_size = v;
            break;
        case O_SINGLE:
            if (store_parse_size(optarg, &v) < 0)
                return cli_usage_error("store", "--single-put-limit needs a size");
            cfg->single_put_limit = v;
            break;
        case O_CONNECT:
            if (rk_parse_u64(optarg, &v) < 0 || v == 0 || v > 3600)
                return cli_usage_error("store", "--connect-timeout needs seconds from 1 to 3600");
            cfg->connect_timeout_ms = (long)v * 1000;
            break;
        case O_STALL:
            if (rk_parse_u64(optarg, &v) < 0 || v == 0 || v > 86400)
                return cli_usage_error("store", "--stall-timeout needs seconds from 1 to 86400");
            cfg->low_speed_time_s = (long)v;
            break;
        case O_RETRIES:
            if (rk_parse_u64(optarg, &v) < 0 || v > 100)
                return cli_usage_error("store", "--retries needs 0 to 100");
            cfg->max_retries = (int)v;
            break;
        default: return cli_usage_error("store", "unknown option '%s'", argv[optind - 1]);
        }
    }
    return 0;
}

static void fail_msg(const struct rk_err *err)
{
    fprintf(stderr, "rdbkeep store: %s\n", err->msg);
}

/* ------------------------------------------------------------------- ls -- */

struct ls_state {
    const char *uri;
};

static int print_entry(void *arg, const struct store_entry *e)
{
    struct ls_state *ls = arg;
    struct rk_err err;
    char *full = store_uri_with_key(ls->uri, e->key, &err);
    char *shown = store_uri_redact(full ? full : e->key);
    char when[32] = "-";
    if (e->mtime_ms >= 0) rk_format_iso8601((uint64_t)e->mtime_ms, when, sizeof(when));
    if (printf("%12" PRIu64 "  %-24s  %s\n", e->size, when, shown) < 0) {
        free(full);
        free(shown);
        return -1;
    }
    free(full);
    free(shown);
    return 0;
}

static int run_ls(const struct store_config *cfg, const char *uri)
{
    struct rk_err err;
    struct ls_state ls = {uri};
    int rc = store_list(cfg, uri, print_entry, &ls, &err);
    if (rc != STORE_OK) {
        fail_msg(&err);
        return CLI_EXIT_FAIL;
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* ----------------------------------------------------------------- stat -- */

static int run_stat(const struct store_config *cfg, const char *uri)
{
    struct rk_err err;
    struct store_stat st;
    int rc = store_stat(cfg, uri, &st, &err);
    if (rc != STORE_OK) {
        fail_msg(&err);
        return CLI_EXIT_FAIL;
    }
    char *shown = store_uri_redact(uri);
    char when[32] = "-";
    if (st.mtime_ms >= 0) rk_format_iso8601((uint64_t)st.mtime_ms, when, sizeof(when));
    printf("uri: %s\n", shown);
    if (st.size_known)
        printf("size: %" PRIu64 "\n", st.size);
    else
        printf("size: unknown\n");
    printf("modified: %s\n", when);
    if (st.etag[0]) printf("etag: %s\n", st.etag);
    free(shown);
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------- rm -- */

static int run_rm(const struct store_config *cfg, const char *uri)
{
    struct rk_err err;
    if (store_delete(cfg, uri, &err) != STORE_OK) {
        fail_msg(&err);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------- cp -- */

/* After every chunk: draw the bar, and stop if a signal asked us to. */
static int on_progress(void *arg, uint64_t total)
{
    cli_progress_update(arg, total, 0);
    return interrupted != 0;
}

/* "s3://b/dir/" + source "…/x.rdb" -> "s3://b/dir/x.rdb". */
static char *resolve_destination(const char *src, const char *dst)
{
    size_t n = strlen(dst);
    if (!n || dst[n - 1] != '/' || !strcmp(src, "-")) return xstrdup(dst);
    const char *q = strpbrk(src, "?#");
    size_t end = q && !strncmp(src, "http", 4) ? (size_t)(q - src) : strlen(src);
    size_t start = end;
    while (start > 0 && src[start - 1] != '/') start--;
    char *base = xstrndup(src + start, end - start);
    struct rk_err err;
    char *r = store_uri_join(dst, base, &err);
    free(base);
    return r ? r : xstrdup(dst);
}

static int run_cp(const struct store_config *cfg, const struct opts *o, const char *src_uri,
                  const char *dst_arg)
{
    struct rk_err err;
    struct store_stat st = {.mtime_ms = -1};
    struct io_source *src;
    int rc;
    if (!strcmp(src_uri, "-")) {
        if (o->offset) return cli_usage_error("store", "--offset does not apply to standard input");
        src = io_fn_source_new(read_stdin, NULL, NULL);
    } else {
        src = store_open_read(cfg, src_uri, o->offset, &st, &rc, &err);
        if (!src) {
            fail_msg(&err);
            return CLI_EXIT_FAIL;
        }
    }
    uint64_t total = st.size_known && st.size >= o->offset ? st.size - o->offset : 0;
    struct io_counter counter = {0};
    src = io_count_source_new(src, &counter);
    bool transformed = o->gzip || o->gunzip;
    if (o->gunzip) src = io_gunzip_source_new(src, NULL);
    if (o->gzip) src = io_gzip_source_new(src, IO_GZIP_DEFAULT_LEVEL);

    char *dst_uri = resolve_destination(src_uri, dst_arg);
    struct io_sink *dst;
    if (!strcmp(dst_uri, "-")) {
        dst = io_fd_sink_new(STDOUT_FILENO, false, false);
    } else {
        int64_t hint = st.size_known && !transformed ? (int64_t)total : -1;
        dst = store_open_write(cfg, dst_uri, hint, &rc, &err);
        if (!dst) {
            fail_msg(&err);
            io_source_free(src);
            free(dst_uri);
            return CLI_EXIT_FAIL;
        }
    }

    struct cli_progress progress;
    cli_progress_start(&progress, "copying", total);
    if (o->quiet) progress.enabled = false;
    counter.on_count = on_progress;
    counter.on_count_arg = &progress;
    /* Straight from buffer to buffer where the stores allow it: an upload
     * reads into libcurl's buffer, a download writes from it. */
    int status = CLI_EXIT_OK;
    if (io_sink_write_from(dst, src, NULL, &err) < 0) status = CLI_EXIT_FAIL;
    /* A signal stops the copy ("cancelled" from the counter): say why. */
    if (interrupted) {
        rk_err_set(&err, "interrupted");
        status = CLI_EXIT_FAIL;
    }
    if (status == CLI_EXIT_OK && io_sink_close(dst, &err) < 0) status = CLI_EXIT_FAIL;
    if (status != CLI_EXIT_OK) io_sink_abort(dst);
    cli_progress_finish(&progress);
    if (status != CLI_EXIT_OK) fail_msg(&err);
    io_sink_free(dst);
    io_source_free(src);
    free(dst_uri);
    return status;
}

/* ----------------------------------------------------------------- main -- */

static int cmd_store_run(int argc, char **argv)
{
    if (argc < 2) return cli_usage_error("store", "which action: ls, stat, cp or rm?");
    const char *action = argv[1];
    int nargs = !strcmp(action, "cp") ? 2 : 1;
    if (strcmp(action, "ls") && strcmp(action, "stat") && strcmp(action, "cp") &&
        strcmp(action, "rm"))
        return cli_usage_error("store", "unknown action '%s' (ls, stat, cp, rm)", action);

    struct store_config cfg;
    struct rk_err err;
    if (store_config_from_env(&cfg, &err) < 0) {
        fail_msg(&err);
        return CLI_EXIT_USAGE;
    }
    struct opts o = {0};
    int rc = parse_options(argc, argv, &cfg, &o);
    if (rc) {
        store_config_free(&cfg);
        return rc;
    }
    if (argc - optind != nargs) {
        store_config_free(&cfg);
        return cli_usage_error("store", "%s takes %d argument%s", action, nargs,
                               nargs > 1 ? "s" : "");
    }
    if (o.gzip && o.gunzip) {
        store_config_free(&cfg);
        return cli_usage_error("store", "--gzip and --gunzip exclude each other");
    }
    /* The CLI is single-threaded: initialising libcurl here is safe. */
    if (store_global_init(&err) < 0) {
        fail_msg(&err);
        store_config_free(&cfg);
        return CLI_EXIT_FAIL;
    }
    /* Ctrl-C and SIGTERM abort cleanly: no half-written object is left. */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    cfg.cancelled = is_interrupted;

    char **args = argv + optind;
    if (!strcmp(action, "ls"))
        rc = run_ls(&cfg, args[0]);
    else if (!strcmp(action, "stat"))
        rc = run_stat(&cfg, args[0]);
    else if (!strcmp(action, "rm"))
        rc = run_rm(&cfg, args[0]);
    else
        rc = run_cp(&cfg, &o, args[0], args[1]);

    store_config_free(&cfg);
    store_global_cleanup();
    if (interrupted && rc == CLI_EXIT_OK) rc = CLI_EXIT_FAIL;
    return rc;
}

const struct cli_command cli_cmd_store = {
    .name = "store",
    .summary =
        "copy, list, inspect and delete backups in every store (S3, GCS, Azure, FTP, HTTP, local)",
    .help = STORE_HELP,
    .run = cmd_store_run,
};
