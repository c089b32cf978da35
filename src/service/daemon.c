/* The daemon's lifecycle: open the data directory and the catalog, recover
 * from whatever the last run left, settle the API keys, then start the
 * supervisor and the workers; stop them in the opposite order. */
#include "service/internal.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Every kind of task the daemon runs. Backup and import jobs add theirs here. */
static const struct rk_task_kind *const service_kinds[] = {
    &rk_kind_subscription_create, &rk_kind_subscription_delete, &rk_kind_database_create,
    &rk_kind_database_update,     &rk_kind_database_delete,
    &rk_kind_backup,              &rk_kind_backup_status,
    &rk_kind_import,              &rk_kind_import_status,
};

static void sha256(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 32;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, a, alen) != 1 || (blen && EVP_DigestUpdate(ctx, b, blen) != 1) ||
        EVP_DigestFinal_ex(ctx, out, &len) != 1)
        rk_panic("SHA-256 failed");
    EVP_MD_CTX_free(ctx);
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int from_hex(const char *s, unsigned char *out, size_t n)
{
    if (strlen(s) != 2 * n) return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = s[2 * i + (size_t)j];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return -1;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

static void set_secret(struct rk_service *svc, const char *secret)
{
    char salt_hex[33];
    rk_random_token(salt_hex, 16);
    memcpy(svc->secret_salt, salt_hex, 16);
    sha256(svc->secret_salt, 16, secret, strlen(secret), svc->secret_hash);
}

static int store_keys(struct rk_service *svc, struct rk_err *err)
{
    char salt[33], hash[65];
    to_hex(svc->secret_salt, 16, salt);
    to_hex(svc->secret_hash, 32, hash);
    if (catalog_begin(svc->cat, err) < 0) return -1;
    if (catalog_meta_set(svc->cat, "api_key", svc->api_key, err) < 0 ||
        catalog_meta_set(svc->cat, "api_secret_salt", salt, err) < 0 ||
        catalog_meta_set(svc->cat, "api_secret_sha256", hash, err) < 0) {
        catalog_rollback(svc->cat);
        return -1;
    }
    return catalog_commit(svc->cat, err);
}

/* Keys from the config or environment win; else the ones generated on the
 * first start (the account key kept as is, the secret only as a salted
 * SHA-256); else new ones, whose secret is shown once. */
static int settle_keys(struct rk_service *svc, struct rk_err *err)
{
    if (svc->cfg.api_key[0]) {
        svc->api_key = xstrdup(svc->cfg.api_key);
        set_secret(svc, svc->cfg.api_secret_key);
    } else {
        char *key = NULL, *salt = NULL, *hash = NULL;
        int found = catalog_meta_get(svc->cat, "api_key", &key, err);
        if (found < 0) return -1;
        if (found && catalog_meta_get(svc->cat, "api_secret_salt", &salt, err) > 0 &&
            catalog_meta_get(svc->cat, "api_secret_sha256", &hash, err) > 0 &&
            from_hex(salt, svc->secret_salt, 16) == 0 && from_hex(hash, svc->secret_hash, 32) == 0) {
            svc->api_key = key;
            key = NULL;
        } else if (found) {
            free(key);
            free(salt);
            free(hash);
            return rk_err_set(err, "catalog: the stored API secret is damaged; start once with "
                                   "RDBKEEP_API_KEY and RDBKEEP_API_SECRET_KEY set, or run "
                                   "rdbkeep serve --reset-api-secret");
        } else {
            char k[25], s[41];
            rk_random_token(k, 24);
            rk_random_token(s, 40);
            svc->api_key = xstrdup(k);
            set_secret(svc, s);
            if (store_keys(svc, err) < 0) return -1;
            svc->generated_secret = xstrdup(s);
            rk_log(RK_LOG_INFO, "service", "msg=\"API keys generated; the secret is shown once\"");
        }
        free(key);
        free(salt);
        free(hash);
    }
    sha256(svc->api_key, strlen(svc->api_key), NULL, 0, svc->key_hash);
    return 0;
}

char *rk_service_reset_secret(struct rk_service *svc, struct rk_err *err)
{
    if (svc->cfg.api_key[0]) {
        rk_err_set(err, "the API keys come from the config or the environment (apiKey, "
                        "apiSecretKey); change them there");
        return NULL;
    }
    char s[41];
    rk_random_token(s, 40);
    set_secret(svc, s);
    if (store_keys(svc, err) < 0) return NULL;
    rk_log(RK_LOG_INFO, "service", "msg=\"API secret replaced\"");
    return xstrdup(s);
}

bool rk_service_auth(const struct rk_service *svc, const char *key, const char *secret)
{
    if (!key || !secret) return false;
    unsigned char kh[32], sh[32];
    sha256(key, strlen(key), NULL, 0, kh);
    sha256(svc->secret_salt, 16, secret, strlen(secret), sh);
    /* Both compared, always, in constant time. */
    int bad = CRYPTO_memcmp(kh, svc->key_hash, 32);
    bad |= CRYPTO_memcmp(sh, svc->secret_hash, 32);
    return bad == 0;
}

const char *rk_service_api_key(const struct rk_service *svc)
{
    return svc->api_key;
}

const char *rk_service_generated_secret(const struct rk_service *svc)
{
    return svc->generated_secret;
}

const struct rk_config *rk_service_config(const struct rk_service *svc)
{
    return &svc->cfg;
}

const char *rk_service_redis_version(const struct rk_service *svc)
{
    return svc->redis_version;
}

const char *rk_service_public_host(const struct rk_service *svc)
{
    return svc->public_host;
}

/* Runs "redis-server --version" and keeps the "v=7.0.15" part. */
static int find_redis_version(const char *bin, char *out, size_t outlen, struct rk_err *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return rk_err_set(err, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return rk_err_set(err, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        execl(bin, bin, "--version", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[512];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof(buf) - 1 && ((r = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0 ||
                                   (r < 0 && errno == EINTR)))
        if (r > 0) n += (size_t)r;
    close(fds[0]);
    buf[n] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const char *v = strstr(buf, " v=");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !v)
        return rk_err_set(err, "redisServer %s: cannot run it to learn its version (%s); install "
                               "redis-server or set redisServer",
                          bin, WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "not found" : "bad output");
    v += 3;
    size_t len = strcspn(v, " \n");
    if (len == 0 || len >= outlen) return rk_err_set(err, "redisServer %s: unreadable version", bin);
    memcpy(out, v, len);
    out[len] = '\0';
    return 0;
}

static int make_dir(const char *path, struct rk_err *err)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return rk_err_set(err, "%s: cannot create: %s", path, strerror(errno));
    return 0;
}

static int mkdir_parents(const char *path, struct rk_err *err)
{
    char *copy = xstrdup(path);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
            rk_err_set(err, "%s: cannot create: %s", copy, strerror(errno));
            free(copy);
            return -1;
        }
        *p = '/';
    }
    free(copy);
    return make_dir(path, err);
}

/* One daemon per data directory: a second one would fight over the
 * redis-servers. The lock goes with the process, however it ends. */
static int lock_data_dir(struct rk_service *svc, struct rk_err *err)
{
    char *path = xasprintf("%s/rdbkeep.lock", svc->data_dir);
    svc->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (svc->lock_fd < 0) {
        rk_err_set(err, "%s: cannot open: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    if (flock(svc->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t n = pread(svc->lock_fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        rk_err_set(err, "%s is in use by another rdbkeep serve (pid %s)", svc->data_dir,
                   pid[0] ? pid : "unknown");
        free(path);
        return -1;
    }
    free(path);
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(svc->lock_fd, 0) < 0 || pwrite(svc->lock_fd, pid, (size_t)len, 0) != len)
        rk_log(RK_LOG_WARN, "service", "msg=\"cannot write the pid into the lock file\"");
    return 0;
}

static bool has_received(const struct rk_task *tasks, size_t n, int64_t db_id)
{
    for (size_t i = 0; i < n; i++)
        if (tasks[i].database_id == db_id) return true;
    return false;
}

/* What the last run left: tasks it was running end processing-error, and
 * databases caught half-way settle into a state a user can act on. */
static int recover(struct rk_service *svc, struct rk_err *err)
{
    struct rk_catalog *cat = svc->cat;
    char when[32], reason[200];
    rk_format_iso8601(rk_now_ms(), when, sizeof(when));
    snprintf(reason, sizeof(reason),
             "the daemon stopped while this task was running (noticed at the restart at %s); "
             "submit it again",
             when);
    struct rk_task *received = NULL;
    struct rk_db *dbs = NULL;
    size_t nreceived = 0, ndbs = 0;
    int64_t failed = 0;
    if (catalog_begin(cat, err) < 0) return -1;
    if (catalog_task_fail_all(cat, RK_TASK_RUNNING, reason, rk_now_ms(), &failed, err) < 0 ||
        catalog_task_list_received(cat, &received, &nreceived, err) < 0 ||
        catalog_db_list(cat, 0, 0, INT64_MAX, &dbs, &ndbs, err) < 0)
        goto fail;
    for (size_t i = 0; i < ndbs; i++) {
        struct rk_db *d = &dbs[i];
        if (has_received(received, nreceived, d->id)) continue;
        const char *to = NULL, *why = NULL;
        if (strcmp(d->status, "pending") == 0) {
            to = "error";
            why = "its creation was interrupted by a daemon restart: delete it and create it again";
        } else if (strcmp(d->status, "deleting") == 0) {
            to = "error";
            why = "its deletion was interrupted by a daemon restart: delete it again";
        } else if (strcmp(d->status, "active-change-pending") == 0) {
            to = "active";
        }
        if (to && catalog_db_set_status(cat, d->id, to, why, err) < 0) goto fail;
    }
    if (catalog_commit(cat, err) < 0) goto done;
    if (failed)
        rk_log(RK_LOG_WARN, "service", "msg=\"tasks interrupted by the last stop marked failed\" count=%lld",
               (long long)failed);
    if (nreceived)
        rk_log(RK_LOG_INFO, "service", "msg=\"queued tasks resumed\" count=%zu", nreceived);
    for (size_t i = 0; i < nreceived; i++) rk_task_clear(&received[i]);
    for (size_t i = 0; i < ndbs; i++) rk_db_clear(&dbs[i]);
    free(received);
    free(dbs);
    return 0;
fail:
    catalog_rollback(cat);
done:
    for (size_t i = 0; i < nreceived; i++) rk_task_clear(&received[i]);
    for (size_t i = 0; i < ndbs; i++) rk_db_clear(&dbs[i]);
    free(received);
    free(dbs);
    return -1;
}

struct rk_service *rk_service_open(struct rk_config *cfg, struct rk_err *err)
{
    struct rk_service *svc = xcalloc(1, sizeof(*svc));
    svc->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    svc->lock_fd = -1;
    atomic_init(&svc->bytes_moved, 0);
    rk_log_set_level(svc->cfg.log_level);
    /* The catalog, its WAL and the databases' files hold passwords and data:
     * nothing the daemon or its redis-servers create is for other users. */
    umask(077);

    char real[PATH_MAX];
    if (mkdir_parents(svc->cfg.data_dir, err) < 0) goto fail;
    if (!realpath(svc->cfg.data_dir, real)) {
        rk_err_set(err, "%s: %s", svc->cfg.data_dir, strerror(errno));
        goto fail;
    }
    svc->data_dir = xstrdup(real);
    svc->db_root = xasprintf("%s/databases", svc->data_dir);
    if (make_dir(svc->db_root, err) < 0 || lock_data_dir(svc, err) < 0) goto fail;
    if (!svc->cfg.backup_dir[0]) {
        free(svc->cfg.backup_dir);
        svc->cfg.backup_dir = xasprintf("%s/backups", svc->data_dir);
    }
    svc->public_host = xstrdup(svc->cfg.public_host[0] ? svc->cfg.public_host : svc->cfg.db_host);
    if (find_redis_version(svc->cfg.redis_server, svc->redis_version, sizeof(svc->redis_version), err) < 0)
        goto fail;

    char *path = xasprintf("%s/catalog.db", svc->data_dir);
    svc->cat = catalog_open(path, svc->cfg.http_threads + svc->cfg.task_workers / 2 + 2, err);
    if (svc->cat) chmod(path, 0600);
    free(path);
    if (!svc->cat || settle_keys(svc, err) < 0 || recover(svc, err) < 0) goto fail;
    /* Backups: the storage settings, and the backups the last run left. */
    svc->store = xcalloc(1, sizeof(*svc->store));
    if (service_store_config(&svc->cfg, svc->store, err) < 0) goto fail;
    svc->sched = scheduler_new(svc);
    if (backup_recover(svc, err) < 0) goto fail;
    rk_log(RK_LOG_INFO, "service", "msg=\"catalog open\" dir=\"%s\" redis=%s", svc->data_dir,
           svc->redis_version);
    return svc;
fail:
    rk_service_close(svc);
    return NULL;
}

int rk_service_start(struct rk_service *svc, struct rk_err *err)
{
    svc->sup = sup_new(svc);
    /* An import cut short settles before anything is adopted. */
    if (import_recover(svc, err) < 0) return -1;
    if (sup_start(svc->sup, err) < 0) return -1;
    svc->tasks = tasks_new(svc, svc->cat, service_kinds, sizeof(service_kinds) / sizeof(service_kinds[0]),
                           svc->cfg.task_workers, svc->cfg.max_concurrent_backups);
    if (tasks_start(svc->tasks, err) < 0) return -1;
    if (scheduler_start(svc->sched, err) < 0) return -1;
    svc->started = true;
    struct rk_task *received;
    size_t n;
    if (catalog_task_list_received(svc->cat, &received, &n, err) < 0) return -1;
    for (size_t i = 0; i < n; i++) {
        tasks_enqueue(svc->tasks, received[i].id, received[i].command_type, received[i].database_id);
        rk_task_clear(&received[i]);
    }
    free(received);
    return 0;
}

void rk_service_stop(struct rk_service *svc)
{
    if (!svc || svc->stopped) return;
    svc->stopped = true;
    scheduler_stop(svc->sched);
    if (svc->tasks && tasks_stop(svc->tasks, svc->cfg.shutdown_timeout_sec) > 0) svc->unclean = true;
    if (svc->sup) sup_stop(svc->sup, svc->cfg.stop_databases_on_exit);
}

void rk_service_close(struct rk_service *svc)
{
    if (!svc) return;
    rk_service_stop(svc);
    /* Workers that did not stop in time may still touch these: the process
     * is about to exit, so leave them be. */
    if (svc->unclean) return;
    tasks_free(svc->tasks);
    scheduler_free(svc->sched);
    if (svc->store) store_config_free(svc->store);
    free(svc->store);
    sup_free(svc->sup);
    catalog_close(svc->cat);
    if (svc->lock_fd >= 0) close(svc->lock_fd);
    free(svc->data_dir);
    free(svc->db_root);
    free(svc->public_host);
    free(svc->api_key);
    if (svc->generated_secret) OPENSSL_cleanse(svc->generated_secret, strlen(svc->generated_secret));
    free(svc->generated_secret);
    rk_config_free(&svc->cfg);
    free(svc);
}
