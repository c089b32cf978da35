/* What "rdbkeep rdb pull" and "rdb push" share: options for connections and
 * TLS, interruption, and running the work on a thread beside the progress
 * bar. */
#include "cli/redis_cli.h"
#include "cli/cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

static bool is_interrupted(void *arg)
{
    (void)arg;
    return interrupted != 0;
}

int redis_cli_init(struct redis_cli *c, const char *tool)
{
    memset(c, 0, sizeof(*c));
    c->tool = tool;
    redis_config_init(&c->redis);
    struct rk_err err;
    if (store_config_from_env(&c->store, &err) < 0) {
        fprintf(stderr, "rdbkeep rdb %s: %s\n", tool, err.msg);
        store_config_free(&c->store);
        return CLI_EXIT_USAGE;
    }
    c->redis.tls_ca_file = c->store.ca_file;
    c->redis.cancelled = is_interrupted;
    c->store.cancelled = is_interrupted;
    c->store.redis_open = redis_store_open;
    c->store.redis_open_arg = &c->redis;
    return CLI_EXIT_OK;
}

static int seconds(struct redis_cli *c, const char *opt, const char *arg, long *out_ms)
{
    uint64_t v;
    if (!arg || rk_parse_u64(arg, &v) < 0 || v == 0 || v > 86400) {
        cli_usage_error("rdb", "%s: %s needs seconds from 1 to 86400", c->tool, opt);
        return -1;
    }
    *out_ms = (long)v * 1000;
    return 1;
}

int redis_cli_option(struct redis_cli *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
        c->quiet = true;
        return 1;
    }
    if (strcmp(a, "--tls-insecure") == 0) {
        c->redis.tls_insecure = true;
        return 1;
    }
    const char **target = NULL;
    if (strcmp(a, "--tls-ca") == 0)
        target = &c->redis.tls_ca_file;
    else if (strcmp(a, "--tls-cert") == 0)
        target = &c->redis.tls_cert_file;
    else if (strcmp(a, "--tls-key") == 0)
        target = &c->redis.tls_key_file;
    else if (strcmp(a, "--tls-server-name") == 0)
        target = &c->redis.tls_server_name;
    if (target) {
        if (!next) {
            cli_usage_error("rdb", "%s: %s needs an argument", c->tool, a);
            return -1;
        }
        *target = next;
        (*i)++;
        return 1;
    }
    long *ms = NULL;
    if (strcmp(a, "--connect-timeout") == 0)
        ms = &c->redis.connect_timeout_ms;
    else if (strcmp(a, "--timeout") == 0)
        ms = &c->redis.io_timeout_ms;
    if (ms) {
        if (seconds(c, a, next, ms) < 0) return -1;
        (*i)++;
        if (ms == &c->redis.connect_timeout_ms) c->store.connect_timeout_ms = *ms;
        return 1;
    }
    return 0;
}

int redis_cli_start(struct redis_cli *c)
{
    struct rk_err err;
    if (store_global_init(&err) < 0) {
        redis_cli_error(c, err.msg);
        return CLI_EXIT_FAIL;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return CLI_EXIT_OK;
}

void redis_cli_free(struct redis_cli *c)
{
    store_config_free(&c->store);
    store_global_cleanup();
}

void redis_cli_error(const struct redis_cli *c, const char *msg)
{
    fprintf(stderr, "rdbkeep rdb %s: %s\n", c->tool, msg);
}

struct job {
    int (*fn)(void *arg);
    void *arg;
    int rc;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
};

static void *job_thread(void *arg)
{
    struct job *j = arg;
    int rc = j->fn(j->arg);
    pthread_mutex_lock(&j->lock);
    j->rc = rc;
    j->done = true;
    pthread_cond_signal(&j->cond);
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

int redis_cli_run(struct redis_cli *c, int (*fn)(void *arg), void *arg, struct redis_progress *p,
                  const char *label)
{
    struct cli_progress bar;
    cli_progress_start(&bar, label, 0);
    if (c->quiet) bar.enabled = false;
    if (!bar.enabled) return fn(arg);
    struct job j = {.fn = fn, .arg = arg};
    pthread_mutex_init(&j.lock, NULL);
    rk_cond_init_monotonic(&j.cond);
    pthread_t t;
    if (pthread_create(&t, NULL, job_thread, &j) != 0) rk_panic("cannot start a thread");
    pthread_mutex_lock(&j.lock);
    while (!j.done) {
        struct timespec deadline = rk_deadline_after_ms(100);
        pthread_cond_timedwait(&j.cond, &j.lock, &deadline);
        if (j.done) break;
        pthread_mutex_unlock(&j.lock);
        uint64_t bytes = io_counter_get(&p->bytes), keys = atomic_load(&p->keys);
        uint64_t total_keys = atomic_load(&p->total_keys);
        bar.total = atomic_load(&p->total);
        /* A diskless snapshot's size is known only at its end: estimated
         * from the keys the server said it held. */
        if (!bar.total && total_keys && keys > 1000 && keys < total_keys)
            bar.total = (uint64_t)((double)bytes * (double)total_keys / (double)keys);
        cli_progress_update(&bar, bytes, keys);
        pthread_mutex_lock(&j.lock);
    }
    pthread_mutex_unlock(&j.lock);
    pthread_join(t, NULL);
    cli_progress_finish(&bar);
    pthread_mutex_destroy(&j.lock);
    pthread_cond_destroy(&j.cond);
    return j.rc;
}
