/* rdbkeep serve: the daemon in the foreground. The main thread only sets up,
 * then waits for SIGTERM or SIGINT; libmicrohttpd's pool, the task workers
 * and the supervisor do the work. */
#include "api/api.h"
#include "cli/cli.h"
#include "service/service.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE "Usage: rdbkeep serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR]\n" \
              "                     [--reset-api-secret] [--print-config]\n"

static const char serve_help[] =
    USAGE
    "\n"
    "Runs the daemon in the foreground: the Redis Cloud compatible REST API (see\n"
    "docs/daemon.md), the databases' redis-servers and the task workers. Logs go to\n"
    "stderr, one logfmt line per event. SIGTERM, SIGINT or SIGHUP stops it cleanly:\n"
    "running tasks get shutdownTimeoutSec to stop; the databases keep serving (unless\n"
    "stopDatabasesOnExit) and are adopted again on the next start.\n"
    "\n"
    "API keys: RDBKEEP_API_KEY and RDBKEEP_API_SECRET_KEY (or apiKey and apiSecretKey in\n"
    "the config file). Without them the daemon generates keys on its first start and\n"
    "prints them once; the secret is stored only as a salted SHA-256.\n"
    "\n"
    "Options:\n"
    "  --config FILE        read settings from FILE (format below)\n"
    "  --listen HOST:PORT   where the API listens (default 127.0.0.1:8080)\n"
    "  --data-dir DIR       the daemon's state and the databases' files (default ./var)\n"
    "  --reset-api-secret   replace the stored API secret with a new one, print it, serve\n"
    "  --print-config       print the effective settings (secrets hidden) and exit\n"
    "\n"
    "Precedence: embedded defaults < config file < environment < command line.\n"
    "\n"
    "Config file: one \"key = value\" per line; lines starting with '#' are comments;\n"
    "a value may be \"double-quoted\" (\\\" and \\\\ escape inside quotes). Every key, with\n"
    "its default, can also be set in the environment as RDBKEEP_<KEY IN UPPER SNAKE\n"
    "CASE> (maxConcurrentBackups: RDBKEEP_MAX_CONCURRENT_BACKUPS):\n"
    "\n" RK_CONFIG_HELP
    "\n"
    "The AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ENDPOINT_URL\n"
    "variables set the s3* keys.\n";

static int usage(const char *fmt, const char *arg)
{
    char msg[256];
    snprintf(msg, sizeof(msg), fmt, arg);
    return cli_usage_error("serve", "%s", msg);
}

static void print_banner(struct rk_service *svc, unsigned port, const char *reset_secret)
{
    const struct rk_config *cfg = rk_service_config(svc);
    char host[256];
    const char *colon = strrchr(cfg->listen, ':');
    snprintf(host, sizeof(host), "%.*s", (int)(colon - cfg->listen), cfg->listen);
    printf("rdbkeep %s serves the Redis Cloud API at http://%s:%u/v1\n", RDBKEEP_VERSION, host, port);
    printf("  x-api-key:        %s\n", rk_service_api_key(svc));
    const char *secret = reset_secret ? reset_secret : rk_service_generated_secret(svc);
    if (secret)
        printf("  x-api-secret-key: %s\n"
               "  (the secret is shown only now and stored hashed: keep it)\n",
               secret);
    else if (cfg->api_secret_key[0])
        printf("  x-api-secret-key: the one set by RDBKEEP_API_SECRET_KEY or apiSecretKey\n");
    else
        printf("  x-api-secret-key: shown on the first start; for a new one: rdbkeep serve "
               "--reset-api-secret\n");
    printf("Try: curl -H \"x-api-key: $KEY\" -H \"x-api-secret-key: $SECRET\" "
           "http://%s:%u/v1/subscriptions\n",
           host, port);
    fflush(stdout);
}

static int cmd_serve_run(int argc, char **argv)
{
    const char *config_file = NULL, *listen = NULL, *data_dir = NULL;
    bool reset = false, print_config = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--config") == 0     ? &config_file
                            : strcmp(a, "--listen") == 0   ? &listen
                            : strcmp(a, "--data-dir") == 0 ? &data_dir
                                                           : NULL;
        if (slot) {
            if (i + 1 >= argc) return usage("%s needs a value", a);
            *slot = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            config_file = a + 9;
        } else if (strncmp(a, "--listen=", 9) == 0) {
            listen = a + 9;
        } else if (strncmp(a, "--data-dir=", 11) == 0) {
            data_dir = a + 11;
        } else if (strcmp(a, "--reset-api-secret") == 0) {
            reset = true;
        } else if (strcmp(a, "--print-config") == 0) {
            print_config = true;
        } else {
            return usage("unknown argument '%s'", a);
        }
    }

    struct rk_config cfg;
    struct rk_err err;
    rk_config_init(&cfg);
    if ((config_file && rk_config_load_file(&cfg, config_file, &err) < 0) ||
        rk_config_load_env(&cfg, &err) < 0 ||
        (listen && rk_config_set(&cfg, "listen", listen, &err) < 0) ||
        (data_dir && rk_config_set(&cfg, "dataDir", data_dir, &err) < 0) || rk_config_check(&cfg, &err) < 0) {
        fprintf(stderr, "rdbkeep serve: %s\n", err.msg);
        rk_config_free(&cfg);
        return CLI_EXIT_USAGE;
    }
    if (print_config) {
        struct rk_buf out = {0};
        rk_config_dump(&cfg, &out);
        fwrite(out.data, 1, out.len, stdout);
        rk_buf_free(&out);
        rk_config_free(&cfg);
        return CLI_EXIT_OK;
    }

    /* Every thread inherits this mask, so the signals reach only sigwait. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct rk_service *svc = rk_service_open(&cfg, &err);
    if (!svc) {
        rk_log(RK_LOG_ERROR, "serve", "msg=\"cannot start\" err=\"%s\"", err.msg);
        fprintf(stderr, "rdbkeep serve: %s\n", err.msg);
        rk_config_free(&cfg);
        return CLI_EXIT_FAIL;
    }
    char *new_secret = NULL;
    if (reset && !(new_secret = rk_service_reset_secret(svc, &err))) {
        fprintf(stderr, "rdbkeep serve: --reset-api-secret: %s\n", err.msg);
        rk_service_close(svc);
        return CLI_EXIT_FAIL;
    }
    struct rk_api *api = NULL;
    if (rk_service_start(svc, &err) < 0 || !(api = rk_api_start(svc, &err))) {
        rk_log(RK_LOG_ERROR, "serve", "msg=\"cannot start\" err=\"%s\"", err.msg);
        fprintf(stderr, "rdbkeep serve: %s\n", err.msg);
        free(new_secret);
        rk_service_close(svc);
        return CLI_EXIT_FAIL;
    }
    const struct rk_config *c = rk_service_config(svc);
    rk_log(RK_LOG_INFO, "serve", "msg=\"listening\" listen=%s port=%u databases=%u-%u workers=%u",
           c->listen, rk_api_port(api), c->ports.first, c->ports.last, c->task_workers);
    print_banner(svc, rk_api_port(api), new_secret);
    free(new_secret);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0) {
    }
    rk_log(RK_LOG_INFO, "serve", "msg=\"stopping\" signal=%d", sig);
    rk_api_stop(api);
    rk_service_stop(svc);
    rk_service_close(svc);
    rk_log(RK_LOG_INFO, "serve", "msg=\"stopped\"");
    return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_serve = {
    .name = "serve",
    .summary = "run the daemon: the Redis Cloud compatible API, databases, backups, imports",
    .help = serve_help,
    .run = cmd_serve_run,
};
