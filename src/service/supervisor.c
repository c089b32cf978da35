/* The supervisor: every database is one redis-server (two with a replica)
 * started from a config written from the catalog. One thread watches them:
 * a process that dies is started again after a growing pause (0.5 s, 1 s,
 * 2 s, ... up to restartBackoffMaxSec), so a server that cannot start does
 * not spin. The processes run in their own session: they outlive the daemon
 * and are adopted again, by the pid recorded in the catalog, when it comes
 * back. Workers start, change and stop a database's processes; while they do,
 * the process is marked busy and the thread keeps off it. */
#include "service/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WATCH_INTERVAL_MS 200
#define STABLE_MS         30000 /* a process up this long has its failure count reset */
#define ERROR_AFTER       5     /* consecutive failures before the database shows error */
#define STOP_WAIT_MS      10000
#define PRUNE_INTERVAL_MS 3600000ull

struct sup_proc {
    struct sup_proc *next;
    int64_t db_id;
    bool replica;
    unsigned port;
    pid_t pid;  /* 0: not running */
    bool child; /* started by this daemon (waitpid works) rather than adopted */
    bool busy;  /* a worker is starting or stopping it */
    bool paused;
    bool marked_error;
    unsigned failures;
    uint64_t started_ms;
    uint64_t next_start_ms; /* 0: no start scheduled */
};

struct rk_supervisor {
    struct rk_service *svc;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sup_proc *procs;
    pthread_t thread;
    bool thread_running;
    bool stopping;
    atomic_uint_fast64_t restarts;
    char *bin_real;
    uint64_t next_prune_ms;
};

struct rk_supervisor *sup_new(struct rk_service *svc)
{
    struct rk_supervisor *s = xcalloc(1, sizeof(*s));
    s->svc = svc;
    pthread_mutex_init(&s->mu, NULL);
    rk_cond_init_monotonic(&s->cv);
    char real[PATH_MAX];
    s->bin_real = xstrdup(realpath(svc->cfg.redis_server, real) ? real : svc->cfg.redis_server);
    atomic_init(&s->restarts, 0);
    return s;
}

uint64_t sup_restarts(struct rk_supervisor *s)
{
    return atomic_load(&s->restarts);
}

static char *instance_dir(const struct rk_supervisor *s, int64_t db_id, bool replica)
{
    char *dir = service_db_dir(s->svc, db_id);
    if (!replica) return dir;
    char *r = xasprintf("%s/replica", dir);
    free(dir);
    return r;
}

static struct sup_proc *find_proc(struct rk_supervisor *s, int64_t db_id, bool replica)
{
    for (struct sup_proc *p = s->procs; p; p = p->next)
        if (p->db_id == db_id && p->replica == replica) return p;
    return NULL;
}

static struct sup_proc *add_proc(struct rk_supervisor *s, int64_t db_id, bool replica,
                                 unsigned port)
{
    struct sup_proc *p = xcalloc(1, sizeof(*p));
    p->db_id = db_id;
    p->replica = replica;
    p->port = port;
    p->next = s->procs;
    s->procs = p;
    return p;
}

static void unlink_proc(struct rk_supervisor *s, struct sup_proc *p)
{
    for (struct sup_proc **pp = &s->procs; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            return;
        }
    }
}

/* Waits (mu held) until no process of the database is busy. */
static void wait_not_busy(struct rk_supervisor *s, int64_t db_id)
{
    for (;;) {
        bool busy = false;
        for (struct sup_proc *p = s->procs; p; p = p->next) busy |= p->db_id == db_id && p->busy;
        if (!busy) return;
        struct timespec deadline = rk_deadline_after_ms(50);
        pthread_cond_timedwait(&s->cv, &s->mu, &deadline);
    }
}

/* The last non-empty lines of an instance's redis.log, on one line. */
static void log_tail(const char *dir, char *out, size_t outlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/redis.log", dir);
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    char buf[2048];
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        fseek(f, size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0, SEEK_SET);
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    /* Two lines are usually the cause and its consequence. */
    char *start = buf;
    int lines = 0;
    for (char *p = buf + n; p > buf; p--) {
        if (p[-1] == '\n' && ++lines == 2) {
            start = p;
            break;
        }
    }
    size_t len = strlen(start);
    if (len >= outlen) {
        start += len - (outlen - 1);
        len = outlen - 1;
    }
    memcpy(out, start, len);
    out[len] = '\0';
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '"') *p = *p == '\n' ? '|' : '\'';
}

static int write_config(struct rk_supervisor *s, const struct rk_db *db, bool replica, char **conf,
                        struct rk_err *err)
{
    char *dir = instance_dir(s, db->id, replica);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rk_err_set(err, "%s: cannot create: %s", dir, strerror(errno));
        free(dir);
        return -1;
    }
    struct redis_instance in = {
        .db = db,
        .dir = dir,
        .bind = s->svc->cfg.db_host,
        .port = replica ? db->replica_port : db->port,
        .primary_port = replica ? db->port : 0,
    };
    *conf = xasprintf("%s/redis.conf", dir);
    int rc = redisconf_write(*conf, &in, err);
    free(dir);
    if (rc < 0) {
        free(*conf);
        *conf = NULL;
    }
    return rc;
}

static pid_t spawn_redis(const char *bin, const char *conf, struct rk_err *err)
{
    pid_t pid = fork();
    if (pid < 0) return rk_err_set(err, "cannot fork: %s", strerror(errno)), -1;
    if (pid == 0) {
        /* Only async-signal-safe calls from here: the parent has threads. */
        setsid();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        syscall(SYS_close_range, 3u, ~0u, 0u);
        execl(bin, bin, conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* 1: answers PING; 0: not yet (refused, loading); -1: answers but refuses us. */
static int ping_ready(const char *host, unsigned port, const char *password, struct rk_err *err)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout(host, (int)port, tv);
    if (!c || c->err) {
        redisFree(c);
        return 0;
    }
    redisSetTimeout(c, tv);
    int ret = 0;
    redisReply *r = redisCommand(c, "AUTH %s", password);
    if (r && r->type == REDIS_REPLY_ERROR && strstr(r->str, "LOADING")) {
        ret = 0;
    } else if (!r || r->type == REDIS_REPLY_ERROR) {
        ret = rk_err_set(err, "port %u answers but refuses the database's password", port);
    } else {
        freeReplyObject(r);
        r = redisCommand(c, "PING");
        ret = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    }
    freeReplyObject(r);
    redisFree(c);
    return ret;
}

static void describe_exit(int status, char *out, size_t outlen)
{
    if (WIFSIGNALED(status))
        snprintf(out, outlen, "killed by signal %d", WTERMSIG(status));
    else if (WIFEXITED(status))
        snprintf(out, outlen, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(out, outlen, "stopped");
}

/* Starts one instance and waits until it answers; p is busy (ours alone). */
static int start_instance(struct rk_supervisor *s, const struct rk_db *db, struct sup_proc *p,
                          struct rk_err *err)
{
    char *conf = NULL;
    if (write_config(s, db, p->replica, &conf, err) < 0) return -1;
    pid_t pid = spawn_redis(s->svc->cfg.redis_server, conf, err);
    free(conf);
    if (pid < 0) return -1;
    pthread_mutex_lock(&s->mu);
    p->pid = pid;
    p->child = true;
    p->started_ms = rk_now_ms();
    pthread_mutex_unlock(&s->mu);

    uint64_t deadline =
        rk_monotonic_ns() + (uint64_t)s->svc->cfg.redis_start_timeout_sec * 1000000000u;
    for (;;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            char how[64], tail[400];
            char *dir = instance_dir(s, db->id, p->replica);
            describe_exit(status, how, sizeof(how));
            log_tail(dir, tail, sizeof(tail));
            pthread_mutex_lock(&s->mu);
            p->pid = 0;
            pthread_mutex_unlock(&s->mu);
            rk_err_set(err, "redis-server for port %u %s while starting: %s (log: %s/redis.log)",
                       p->port, how, tail[0] ? tail : "no log", dir);
            free(dir);
            return -1;
        }
        struct rk_err perr;
        int rc = ping_ready(s->svc->cfg.db_host, p->port, db->password, &perr);
        if (rc > 0) return 0;
        if (rc < 0 || rk_monotonic_ns() > deadline) {
            if (rc == 0)
                rk_err_set(err, "redis-server for port %u did not answer within %u s", p->port,
                           s->svc->cfg.redis_start_timeout_sec);
            else
                *err = perr;
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            pthread_mutex_lock(&s->mu);
            p->pid = 0;
            pthread_mutex_unlock(&s->mu);
            return -1;
        }
        rk_sleep_ms(50);
    }
}

/* Whether a process we did not start (adopted) still runs. Its parent may
 * not reap it: a zombie counts as gone. */
static bool adopted_alive(pid_t pid)
{
    if (kill(pid, 0) < 0 && errno == ESRCH) return false;
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return false;
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

/* Stops a process and waits for it: SIGTERM lets redis-server save as its
 * persistence says; SIGKILL when the data is being thrown away anyway. */
static void stop_pid(pid_t pid, bool child, int sig)
{
    if (pid <= 0) return;
    kill(pid, sig);
    unsigned killed_at = sig == SIGKILL ? 0 : UINT_MAX;
    for (unsigned waited = 0;; waited += 20) {
        if (child) {
            pid_t r = waitpid(pid, NULL, WNOHANG);
            if (r == pid || (r < 0 && errno == ECHILD)) return;
        } else if (!adopted_alive(pid)) {
            return;
        }
        if (waited >= STOP_WAIT_MS && killed_at == UINT_MAX) {
            rk_log(RK_LOG_WARN, "supervisor",
                   "msg=\"redis-server ignores SIGTERM: killing\" pid=%d", (int)pid);
            kill(pid, SIGKILL);
            killed_at = waited;
        }
        if (killed_at != UINT_MAX && waited - killed_at >= STOP_WAIT_MS) {
            rk_log(RK_LOG_ERROR, "supervisor",
                   "msg=\"process survives SIGKILL: giving up on it\" pid=%d", (int)pid);
            return;
        }
        rk_sleep_ms(20);
    }
}

static void record_procs(struct rk_supervisor *s, int64_t db_id, bool supervised)
{
    struct catalog_procs cp = {.supervised = supervised};
    pthread_mutex_lock(&s->mu);
    for (struct sup_proc *p = s->procs; p; p = p->next) {
        if (p->db_id != db_id) continue;
        if (p->replica)
            cp.replica_pid = p->pid;
        else
            cp.pid = p->pid;
    }
    pthread_mutex_unlock(&s->mu);
    struct rk_err err;
    struct rk_catalog *cat = s->svc->cat;
    if (catalog_begin(cat, &err) < 0) goto fail;
    if (catalog_db_set_procs(cat, db_id, &cp, &err) < 0) {
        catalog_rollback(cat);
        goto fail;
    }
    if (catalog_commit(cat, &err) < 0) goto fail;
    return;
fail:
    rk_log(RK_LOG_ERROR, "supervisor", "msg=\"pids not recorded\" db=%lld err=\"%s\"",
           (long long)db_id, err.msg);
}

/* Starts one role of a database from a worker, replacing what ran before. */
static int worker_start_role(struct rk_supervisor *s, const struct rk_db *db, bool replica,
                             struct rk_err *err)
{
    pthread_mutex_lock(&s->mu);
    wait_not_busy(s, db->id);
    struct sup_proc *p = find_proc(s, db->id, replica);
    if (!p) p = add_proc(s, db->id, replica, replica ? db->replica_port : db->port);
    pid_t old = p->pid;
    bool old_child = p->child;
    p->busy = true;
    p->paused = false;
    p->port = replica ? db->replica_port : db->port;
    pthread_mutex_unlock(&s->mu);

    stop_pid(old, old_child, SIGTERM);
    int rc = start_instance(s, db, p, err);

    pthread_mutex_lock(&s->mu);
    p->busy = false;
    p->failures = 0;
    p->next_start_ms = 0;
    if (rc < 0) {
        unlink_proc(s, p);
        free(p);
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (rc == 0)
        rk_log(RK_LOG_INFO, "supervisor", "msg=\"redis-server started\" db=%lld role=%s port=%u",
               (long long)db->id, replica ? "replica" : "primary",
               replica ? db->replica_port : db->port);
    return rc;
}

int sup_db_start(struct rk_supervisor *s, const struct rk_db *db, struct rk_err *err)
{
    if (worker_start_role(s, db, false, err) < 0) return -1;
    if (db->replication && db->replica_port && worker_start_role(s, db, true, err) < 0) {
        sup_db_stop(s, db);
        return -1;
    }
    record_procs(s, db->id, true);
    return 0;
}

/* Takes the database's processes out of the table (after any worker or
 * restart is done with them) and returns them. */
static struct sup_proc *take_procs(struct rk_supervisor *s, int64_t db_id, bool replica_only)
{
    struct sup_proc *taken = NULL;
    pthread_mutex_lock(&s->mu);
    wait_not_busy(s, db_id);
    for (struct sup_proc **pp = &s->procs; *pp;) {
        struct sup_proc *p = *pp;
        if (p->db_id == db_id && (!replica_only || p->replica)) {
            *pp = p->next;
            p->next = taken;
            taken = p;
        } else {
            pp = &p->next;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return taken;
}

static bool is_our_redis(const struct rk_supervisor *s, pid_t pid, unsigned port);

pid_t sup_read_pidfile(const char *dir)
{
    char path[PATH_MAX], buf[32];
    snprintf(path, sizeof(path), "%s/redis.pid", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    int64_t v;
    buf[strcspn(buf, "\n")] = '\0';
    return rk_parse_i64(buf, &v) == 0 && v > 0 && v < INT32_MAX ? (pid_t)v : 0;
}

void sup_db_stop(struct rk_supervisor *s, const struct rk_db *db)
{
    struct sup_proc *taken = take_procs(s, db->id, false);
    while (taken) {
        struct sup_proc *p = taken;
        taken = p->next;
        stop_pid(p->pid, p->child, SIGKILL);
        rk_log(RK_LOG_INFO, "supervisor", "msg=\"redis-server stopped\" db=%lld role=%s port=%u",
               (long long)db->id, p->replica ? "replica" : "primary", p->port);
        free(p);
    }
    /* One the table does not know: started just before the daemon died, or
     * while it was down. Its pidfile and port tell. */
    for (int role = 0; role < 2; role++) {
        unsigned port = role ? db->replica_port : db->port;
        if (!port) continue;
        char *dir = instance_dir(s, db->id, role == 1);
        pid_t pid = sup_read_pidfile(dir);
        free(dir);
        if (pid > 0 && is_our_redis(s, pid, port)) {
            stop_pid(pid, false, SIGKILL);
            rk_log(RK_LOG_INFO, "supervisor",
                   "msg=\"unwatched redis-server stopped\" db=%lld port=%u pid=%d",
                   (long long)db->id, port, (int)pid);
        }
    }
}

int sup_db_pause(struct rk_supervisor *s, int64_t db_id, struct rk_err *err)
{
    pthread_mutex_lock(&s->mu);
    wait_not_busy(s, db_id);
    struct sup_proc *list[2];
    size_t n = 0;
    for (struct sup_proc *p = s->procs; p && n < 2; p = p->next) {
        if (p->db_id != db_id) continue;
        p->busy = true;
        p->paused = true;
        list[n++] = p;
    }
    pthread_mutex_unlock(&s->mu);
    if (n == 0)
        return rk_err_set(err, "database %lld has no running redis-server", (long long)db_id);
    for (size_t i = 0; i < n; i++) stop_pid(list[i]->pid, list[i]->child, SIGTERM);
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n; i++) {
        list[i]->pid = 0;
        list[i]->busy = false;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    record_procs(s, db_id, true);
    return 0;
}

int sup_db_resume(struct rk_supervisor *s, int64_t db_id, struct rk_err *err)
{
    struct rk_db db;
    int found = catalog_db_get(s->svc->cat, db_id, &db, err);
    if (found <= 0) {
        if (found == 0) rk_err_set(err, "database %lld not found", (long long)db_id);
        return -1;
    }
    int rc = sup_db_start(s, &db, err);
    rk_db_clear(&db);
    return rc;
}

/* ---- the import's hooks ---- */

pid_t sup_spawn(struct rk_supervisor *s, const char *conf, struct rk_err *err)
{
    return spawn_redis(s->svc->cfg.redis_server, conf, err);
}

bool sup_is_redis(const struct rk_supervisor *s, pid_t pid, unsigned port)
{
    return is_our_redis(s, pid, port);
}

void sup_log_tail(const char *dir, char *out, size_t outlen)
{
    log_tail(dir, out, outlen);
}

int sup_db_swap(struct rk_supervisor *s, const struct rk_db *db, sup_swap_fn commit, void *arg,
                struct rk_err *err)
{
    pthread_mutex_lock(&s->mu);
    wait_not_busy(s, db->id);
    struct sup_proc *p = find_proc(s, db->id, false);
    if (!p) p = add_proc(s, db->id, false, db->port);
    struct sup_proc *replica = find_proc(s, db->id, true);
    pid_t old = p->pid;
    bool old_child = p->child;
    p->busy = true;
    p->port = db->port;
    /* Held too: its directory moves while the swap runs. */
    if (replica) replica->busy = true;
    pthread_mutex_unlock(&s->mu);

    stop_pid(old, old_child, SIGTERM);
    pthread_mutex_lock(&s->mu);
    p->pid = 0;
    pthread_mutex_unlock(&s->mu);
    pid_t new_pid = 0;
    int rc = commit(arg, &new_pid, err);
    if (rc == 0) {
        pthread_mutex_lock(&s->mu);
        p->pid = new_pid;
        p->child = true;
        p->paused = false;
        p->marked_error = false;
        p->failures = 0;
        p->next_start_ms = 0;
        p->started_ms = rk_now_ms();
        pthread_mutex_unlock(&s->mu);
        /* The next restart starts it as the database, not as a staging server. */
        char *conf = NULL;
        struct rk_err werr;
        if (write_config(s, db, false, &conf, &werr) < 0)
            rk_log(RK_LOG_ERROR, "supervisor",
                   "msg=\"config not rewritten after the swap\" db=%lld err=\"%s\"",
                   (long long)db->id, werr.msg);
        free(conf);
        rk_log(RK_LOG_INFO, "supervisor", "msg=\"primary swapped\" db=%lld port=%u pid=%d",
               (long long)db->id, db->port, (int)new_pid);
    } else {
        struct rk_err serr;
        if (start_instance(s, db, p, &serr) < 0) {
            rk_log(RK_LOG_ERROR, "supervisor",
                   "msg=\"old primary not restarted after a failed swap\" "
                   "db=%lld err=\"%s\"",
                   (long long)db->id, serr.msg);
            pthread_mutex_lock(&s->mu);
            p->failures++;
            p->next_start_ms = rk_now_ms() + 500;
            pthread_mutex_unlock(&s->mu);
        }
    }
    pthread_mutex_lock(&s->mu);
    p->busy = false;
    if (replica) replica->busy = false;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    record_procs(s, db->id, true);
    return rc;
}

/* CONFIG SET on one running instance, authenticated with the old password. */
static int apply_live(const char *host, unsigned port, const struct rk_db *old,
                      const struct rk_db *db, struct rk_err *err)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout(host, (int)port, tv);
    if (!c || c->err) {
        rk_err_set(err, "cannot connect to the redis-server on port %u: %s", port,
                   c ? c->errstr : "out of memory");
        redisFree(c);
        return -1;
    }
    redisSetTimeout(c, tv);
    char maxmemory[32];
    snprintf(maxmemory, sizeof(maxmemory), "%llu", (unsigned long long)db_maxmemory_bytes(db));
    struct redis_persistence ps = redisconf_persistence(db->data_persistence);
    /* The password goes last: the connection stays authenticated. */
    const char *settings[][2] = {
        {"maxmemory", maxmemory},
        {"maxmemory-policy", db->eviction_policy},
        {"appendonly", ps.appendonly},
        {"appendfsync", ps.appendfsync},
        {"save", ps.save},
        {"masterauth", db->password},
        {"requirepass", db->password},
    };
    int ret = 0;
    redisReply *r = redisCommand(c, "AUTH %s", old->password);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        ret = rk_err_set(err, "the redis-server on port %u refuses the database's password", port);
    }
    freeReplyObject(r);
    /* One CONFIG SET for them all: from Redis 7.0 it applies all or none, so
     * a refused value does not leave the server half updated. */
    enum { NSET = sizeof(settings) / sizeof(settings[0]) };
    const char *argv[2 + 2 * NSET] = {"CONFIG", "SET"};
    for (size_t i = 0; i < NSET; i++) {
        argv[2 + 2 * i] = settings[i][0];
        argv[3 + 2 * i] = settings[i][1];
    }
    bool one_by_one = false;
    if (ret == 0) {
        r = redisCommandArgv(c, 2 + 2 * NSET, argv, NULL);
        if (r && r->type == REDIS_REPLY_ERROR && strstr(r->str, "wrong number of arguments"))
            one_by_one = true; /* before 7.0: one parameter per call */
        else if (!r || r->type == REDIS_REPLY_ERROR)
            ret = rk_err_set(err, "CONFIG SET on port %u failed (nothing changed): %s", port,
                             r ? r->str : c->errstr);
        freeReplyObject(r);
    }
    for (size_t i = 0; ret == 0 && one_by_one && i < NSET; i++) {
        r = redisCommand(c, "CONFIG SET %s %s", settings[i][0], settings[i][1]);
        if (!r || r->type == REDIS_REPLY_ERROR)
            ret = rk_err_set(err, "CONFIG SET %s on port %u failed: %s", settings[i][0], port,
                             r ? r->str : c->errstr);
        freeReplyObject(r);
    }
    redisFree(c);
    return ret;
}

int sup_db_apply(struct rk_supervisor *s, const struct rk_db *old, const struct rk_db *db,
                 struct rk_err *err)
{
    bool roles[2] = {false, true};
    for (int i = 0; i < 2; i++) {
        pthread_mutex_lock(&s->mu);
        struct sup_proc *p = find_proc(s, db->id, roles[i]);
        bool running = p && p->pid > 0;
        unsigned port = p ? p->port : 0;
        pthread_mutex_unlock(&s->mu);
        if (!p) continue;
        if (running && apply_live(s->svc->cfg.db_host, port, old, db, err) < 0) return -1;
        /* The next restart reads the new settings. */
        char *conf = NULL;
        if (write_config(s, db, roles[i], &conf, err) < 0) return -1;
        free(conf);
    }
    if (db->replication && !old->replication) {
        if (worker_start_role(s, db, true, err) < 0) return -1;
    } else if (!db->replication && old->replication) {
        struct sup_proc *taken = take_procs(s, db->id, true);
        while (taken) {
            struct sup_proc *p = taken;
            taken = p->next;
            stop_pid(p->pid, p->child, SIGTERM);
            free(p);
        }
        char *dir = instance_dir(s, db->id, true);
        struct rk_err rerr;
        if (remove_tree(dir, &rerr) < 0)
            rk_log(RK_LOG_WARN, "supervisor", "msg=\"replica files left\" db=%lld err=\"%s\"",
                   (long long)db->id, rerr.msg);
        free(dir);
    }
    record_procs(s, db->id, true);
    return 0;
}

/* ---- adoption and the watch loop ---- */

/* Whether pid is the redis-server of this port that we started: the binary
 * (or its name in the process title) and ":port" in the title. */
static bool is_our_redis(const struct rk_supervisor *s, pid_t pid, unsigned port)
{
    if (pid <= 0 || !adopted_alive(pid)) return false;
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return false;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0') buf[i] = ' ';
    buf[n] = '\0';
    char needle[16];
    snprintf(needle, sizeof(needle), ":%u", port);
    const char *at = strstr(buf, needle);
    size_t nl = strlen(needle);
    if (!at || (at[nl] != '\0' && at[nl] != ' ')) return false;
    char exe[PATH_MAX];
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
    ssize_t e = readlink(path, exe, sizeof(exe) - 1);
    if (e > 0) {
        exe[e] = '\0';
        if (strncmp(exe, s->bin_real, strlen(s->bin_real)) == 0) return true;
    }
    /* Started through a wrapper, or the binary was replaced: the process
     * title still names the server. */
    const char *base = strrchr(s->bin_real, '/');
    return strstr(buf, base ? base + 1 : s->bin_real) != NULL || strstr(buf, "redis-server") ||
           strstr(buf, "valkey-server");
}

static void *sup_main(void *arg);

int sup_start(struct rk_supervisor *s, struct rk_err *err)
{
    struct rk_db *dbs;
    size_t n;
    if (catalog_db_list(s->svc->cat, 0, 0, INT64_MAX, &dbs, &n, err) < 0) return -1;
    uint64_t now = rk_now_ms();
    for (size_t i = 0; i < n; i++) {
        struct catalog_procs cp;
        if (catalog_db_get_procs(s->svc->cat, dbs[i].id, &cp, err) < 0) goto fail;
        if (!cp.supervised) continue;
        for (int role = 0; role < 2; role++) {
            bool replica = role == 1;
            unsigned port = replica ? dbs[i].replica_port : dbs[i].port;
            if (replica && (!dbs[i].replication || !port)) continue;
            pid_t pid = replica ? cp.replica_pid : cp.pid;
            pthread_mutex_lock(&s->mu);
            struct sup_proc *p = add_proc(s, dbs[i].id, replica, port);
            if (is_our_redis(s, pid, port)) {
                p->pid = pid;
                p->started_ms = now;
                rk_log(RK_LOG_INFO, "supervisor",
                       "msg=\"redis-server adopted\" db=%lld role=%s "
                       "port=%u pid=%d",
                       (long long)dbs[i].id, replica ? "replica" : "primary", port, (int)pid);
            } else {
                p->next_start_ms = now;
                rk_log(RK_LOG_INFO, "supervisor",
                       "msg=\"redis-server not running: starting\" "
                       "db=%lld role=%s port=%u",
                       (long long)dbs[i].id, replica ? "replica" : "primary", port);
            }
            pthread_mutex_unlock(&s->mu);
        }
    }
    for (size_t i = 0; i < n; i++) rk_db_clear(&dbs[i]);
    free(dbs);
    int rc = pthread_create(&s->thread, NULL, sup_main, s);
    if (rc != 0) return rk_err_set(err, "cannot start the supervisor thread: %s", strerror(rc));
    s->thread_running = true;
    return 0;
fail:
    for (size_t i = 0; i < n; i++) rk_db_clear(&dbs[i]);
    free(dbs);
    return -1;
}

static void set_db_status(struct rk_supervisor *s, int64_t db_id, const char *from, const char *to,
                          const char *reason)
{
    struct rk_err err;
    struct rk_db db;
    struct rk_catalog *cat = s->svc->cat;
    if (catalog_begin(cat, &err) < 0) goto fail;
    int found = catalog_db_get(cat, db_id, &db, &err);
    if (found < 0) {
        catalog_rollback(cat);
        goto fail;
    }
    if (found && strcmp(db.status, from) == 0 &&
        catalog_db_set_status(cat, db_id, to, reason, &err) < 0) {
        rk_db_clear(&db);
        catalog_rollback(cat);
        goto fail;
    }
    if (found) rk_db_clear(&db);
    if (catalog_commit(cat, &err) < 0) goto fail;
    return;
fail:
    rk_log(RK_LOG_ERROR, "supervisor", "msg=\"status not recorded\" db=%lld err=\"%s\"",
           (long long)db_id, err.msg);
}

/* Restarts one process from the watch thread; p is busy. */
static void restart(struct rk_supervisor *s, struct sup_proc *p)
{
    struct rk_err err;
    struct rk_db db;
    int found = catalog_db_get(s->svc->cat, p->db_id, &db, &err);
    char *conf = NULL;
    pid_t pid = -1;
    if (found > 0 && write_config(s, &db, p->replica, &conf, &err) == 0)
        pid = spawn_redis(s->svc->cfg.redis_server, conf, &err);
    free(conf);
    if (found > 0) rk_db_clear(&db);
    pthread_mutex_lock(&s->mu);
    p->busy = false;
    p->next_start_ms = 0;
    if (pid > 0) {
        p->pid = pid;
        p->child = true;
        p->started_ms = rk_now_ms();
    } else if (found == 0) {
        p->pid = 0;
    } else {
        p->failures++;
        p->next_start_ms = rk_now_ms() + (uint64_t)s->svc->cfg.restart_backoff_max_sec * 1000;
    }
    int64_t db_id = p->db_id;
    bool replica = p->replica;
    unsigned port = p->port;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (pid > 0) {
        atomic_fetch_add(&s->restarts, 1);
        rk_log(RK_LOG_INFO, "supervisor",
               "msg=\"redis-server restarted\" db=%lld role=%s port=%u pid=%d", (long long)db_id,
               replica ? "replica" : "primary", port, (int)pid);
        record_procs(s, db_id, true);
    } else if (found != 0) {
        rk_log(RK_LOG_ERROR, "supervisor",
               "msg=\"cannot restart redis-server\" db=%lld port=%u err=\"%s\"", (long long)db_id,
               port, err.msg);
    }
}

/* A process died: note it and schedule the next start after the backoff. */
static void on_death(struct rk_supervisor *s, struct sup_proc *p, const char *how, uint64_t now,
                     int64_t *mark_error)
{
    if (now - p->started_ms >= STABLE_MS) p->failures = 0;
    p->failures++;
    uint64_t backoff = 500;
    for (unsigned i = 1;
         i < p->failures && backoff < (uint64_t)s->svc->cfg.restart_backoff_max_sec * 1000; i++)
        backoff *= 2;
    if (backoff > (uint64_t)s->svc->cfg.restart_backoff_max_sec * 1000)
        backoff = (uint64_t)s->svc->cfg.restart_backoff_max_sec * 1000;
    p->pid = 0;
    p->next_start_ms = now + backoff;
    rk_log(RK_LOG_WARN, "supervisor",
           "msg=\"redis-server died\" db=%lld role=%s port=%u how=\"%s\" failures=%u "
           "restart_in_ms=%llu",
           (long long)p->db_id, p->replica ? "replica" : "primary", p->port, how, p->failures,
           (unsigned long long)backoff);
    if (p->failures >= ERROR_AFTER && !p->marked_error) {
        p->marked_error = true;
        *mark_error = p->db_id;
    }
}

static void prune_tasks(struct rk_supervisor *s)
{
    struct rk_err err;
    int64_t n = 0;
    uint64_t keep_ms = (uint64_t)s->svc->cfg.task_retention_days * 86400000ull;
    uint64_t now = rk_now_ms();
    struct rk_catalog *cat = s->svc->cat;
    if (catalog_begin(cat, &err) < 0) goto fail;
    if (catalog_task_prune(cat, now > keep_ms ? now - keep_ms : 0, &n, &err) < 0) {
        catalog_rollback(cat);
        goto fail;
    }
    if (catalog_commit(cat, &err) < 0) goto fail;
    if (n) rk_log(RK_LOG_INFO, "supervisor", "msg=\"old tasks removed\" count=%lld", (long long)n);
    return;
fail:
    rk_log(RK_LOG_WARN, "supervisor", "msg=\"task pruning failed\" err=\"%s\"", err.msg);
}

static void *sup_main(void *arg)
{
    struct rk_supervisor *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        uint64_t now = rk_now_ms();
        struct sup_proc *to_start = NULL;
        int64_t mark_error = 0, mark_active = 0;
        for (struct sup_proc *p = s->procs; p; p = p->next) {
            if (p->busy || p->paused) continue;
            if (p->pid > 0) {
                int status;
                char how[64] = "";
                if (p->child) {
                    if (waitpid(p->pid, &status, WNOHANG) == p->pid)
                        describe_exit(status, how, sizeof(how));
                } else if (!adopted_alive(p->pid)) {
                    snprintf(how, sizeof(how), "exited (adopted: status unknown)");
                }
                if (how[0]) on_death(s, p, how, now, &mark_error);
            }
            if (p->pid > 0 && p->marked_error && now - p->started_ms >= STABLE_MS / 3 &&
                !mark_active) {
                p->marked_error = false;
                mark_active = p->db_id;
            }
            if (p->pid == 0 && p->next_start_ms && now >= p->next_start_ms && !to_start) {
                p->busy = true;
                to_start = p;
            }
        }
        pthread_mutex_unlock(&s->mu);
        if (mark_error) {
            char reason[160];
            snprintf(reason, sizeof(reason),
                     "redis-server keeps exiting (%d times in a row); rdbkeep keeps restarting it",
                     ERROR_AFTER);
            set_db_status(s, mark_error, "active", "error", reason);
        }
        if (mark_active) set_db_status(s, mark_active, "error", "active", NULL);
        if (to_start) restart(s, to_start);
        if (now >= s->next_prune_ms) {
            prune_tasks(s);
            s->next_prune_ms = now + PRUNE_INTERVAL_MS;
        }
        pthread_mutex_lock(&s->mu);
        if (to_start || s->stopping) continue;
        struct timespec deadline = rk_deadline_after_ms(WATCH_INTERVAL_MS);
        pthread_cond_timedwait(&s->cv, &s->mu, &deadline);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

void sup_stop(struct rk_supervisor *s, bool stop_databases)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->thread_running) pthread_join(s->thread, NULL);
    s->thread_running = false;
    if (!stop_databases) return;
    /* Signal every process first, then wait: they save in parallel. */
    for (struct sup_proc *p = s->procs; p; p = p->next)
        if (p->pid > 0) kill(p->pid, SIGTERM);
    for (struct sup_proc *p = s->procs; p; p = p->next) {
        stop_pid(p->pid, p->child, SIGTERM);
        p->pid = 0;
    }
    rk_log(RK_LOG_INFO, "supervisor", "msg=\"databases stopped\"");
}

void sup_free(struct rk_supervisor *s)
{
    if (!s) return;
    while (s->procs) {
        struct sup_proc *p = s->procs;
        s->procs = p->next;
        free(p);
    }
    free(s->bin_real);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
