/* The staging redis-server of an import, the swap that puts it in the
 * database's place, and what a restart does with an import the daemon died
 * in the middle of. The layout and the commit point are in import.h. */
#include "service/import.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FIFO_NAME      "dump.rdb"   /* what redis-server loads at start-up */
#define KEPT_NAME      "import.rdb" /* the stream kept for snapshot persistence */
#define PIPE_BYTES     (1 << 20)
#define POLL_MS        200
/* A loading redis-server reads its input without pause (even while it builds
 * a big value, the bytes of the value are what it reads); this long without
 * a byte read, it is stuck. RDBKEEP_TEST_IMPORT_STALL_SEC shortens it for
 * tests. */
#define STALL_SEC      300
#define WATCH_MS       200
#define START_ATTEMPTS 3
#define EXIT_WAIT_MS   5000

struct staging {
    struct rk_service *svc;
    struct rk_db db;
    bool keep_rdb;
    bool (*cancelled)(void *arg);
    void *cancel_arg;
    char *dir;      /* <db_root>/<id>.import */
    char *final;    /* <db_root>/<id> */
    char *replaced; /* <db_root>/<id>.replaced */
    unsigned port;
    pid_t pid;        /* 0: not running, or handed to the supervisor */
    pid_t logged_pid; /* the last one started: its log lines carry it */
    int fifo_fd, keep_fd;
    int pipe_size;
    unsigned stall_sec; /* STALL_SEC, or the test's */
    redisContext *ctl;  /* once it has loaded */
    bool committed;
    uint64_t limit; /* the database's maxmemory */
    /* The memory watch while it loads: loading ignores maxmemory. */
    pthread_t watch;
    bool watching;
    atomic_bool watch_stop;
    atomic_bool over;
    _Atomic uint64_t used;
};

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

/* A port nothing listens on now, from the kernel. redis-server binds it a
 * moment later; a start that finds it taken meanwhile tries another. */
static unsigned pick_port(const char *host)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *res;
    if (getaddrinfo(host, "0", &hints, &res) != 0) return 0;
    unsigned port = 0;
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (bind(fd, res->ai_addr, res->ai_addrlen) == 0 &&
            getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
            port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                  : ((struct sockaddr_in *)&ss)->sin_port);
        close(fd);
    }
    freeaddrinfo(res);
    return port;
}

struct marker {
    unsigned port;
    pid_t pid; /* 0 until the staging server runs */
    bool swapping;
};

static bool read_marker(const char *dir, struct marker *m)
{
    char path[PATH_MAX], buf[128];
    memset(m, 0, sizeof(*m));
    snprintf(path, sizeof(path), "%s/" IMPORT_MARKER, dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        uint64_t v;
        if (strncmp(line, "port=", 5) == 0 && rk_parse_u64(line + 5, &v) == 0 && v > 0 && v < 65536)
            m->port = (unsigned)v;
        else if (strncmp(line, "pid=", 4) == 0 && rk_parse_u64(line + 4, &v) == 0 && v > 0 &&
                 v < INT32_MAX)
            m->pid = (pid_t)v;
        else if (strcmp(line, "state=swapping") == 0)
            m->swapping = true;
    }
    return true;
}

/* Written whole under a temporary name and renamed: a crash leaves the old
 * one or the new one. */
static int write_marker(const struct staging *st, bool swapping, struct rk_err *err)
{
    char path[PATH_MAX], tmp[PATH_MAX], text[96];
    snprintf(path, sizeof(path), "%s/" IMPORT_MARKER, st->dir);
    snprintf(tmp, sizeof(tmp), "%s/" IMPORT_MARKER ".tmp", st->dir);
    int len = snprintf(text, sizeof(text), "port=%u\npid=%d\nstate=%s\n", st->port, (int)st->pid,
                       swapping ? "swapping" : "loading");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return rk_err_set(err, "%s: cannot create: %s", tmp, strerror(errno));
    bool ok = write(fd, text, (size_t)len) == len && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) < 0) {
        rk_err_set(err, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    fsync_dir(st->dir);
    return 0;
}

static unsigned stall_sec(void)
{
    const char *v = getenv("RDBKEEP_TEST_IMPORT_STALL_SEC");
    uint64_t n;
    if (v && rk_parse_u64(v, &n) == 0 && n >= 1 && n < STALL_SEC) return (unsigned)n;
    return STALL_SEC;
}

/* Where a test stops the daemon dead (RDBKEEP_TEST_IMPORT_CRASH=before-swap,
 * before-commit or after-commit), to check what the next start makes of it. */
static void test_crash_point(const char *name)
{
    const char *at = getenv("RDBKEEP_TEST_IMPORT_CRASH");
    if (at && strcmp(at, name) == 0) {
        rk_log(RK_LOG_WARN, "import",
               "msg=\"RDBKEEP_TEST_IMPORT_CRASH: the daemon dies here\" at=%s", name);
        raise(SIGKILL);
    }
}

/* Waits for a process that is not our child to be gone (a zombie counts). */
static void wait_gone(pid_t pid)
{
    for (unsigned waited = 0; waited < EXIT_WAIT_MS; waited += 20) {
        if (kill(pid, 0) < 0 && errno == ESRCH) return;
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0) return;
        buf[n] = '\0';
        const char *paren = strrchr(buf, ')');
        if (paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X')) return;
        rk_sleep_ms(20);
    }
}

/* ---- connections ---- */

static redisContext *connect_to(const char *host, unsigned port, const char *password,
                                bool *loading, struct rk_err *err)
{
    struct timeval tv = {2, 0};
    *loading = false;
    redisContext *c = redisConnectWithTimeout(host, (int)port, tv);
    if (!c || c->err) {
        rk_err_set(err, "cannot connect to port %u: %s", port, c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    redisReply *r = redisCommand(c, "AUTH %s", password);
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "LOADING", 7) == 0) *loading = true;
    if (!ok && !*loading)
        rk_err_set(err, "port %u refuses the database's password: %s", port,
                   r ? r->str : c->errstr);
    freeReplyObject(r);
    if (!ok) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* One field of INFO section, as text. */
static int info_field(redisContext *c, const char *section, const char *field, char *out,
                      size_t outlen, struct rk_err *err)
{
    redisReply *r = redisCommand(c, "INFO %s", section);
    if (!r || r->type != REDIS_REPLY_STRING) {
        rk_err_set(err, "INFO %s: %s", section,
                   r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
        freeReplyObject(r);
        return -1;
    }
    size_t fl = strlen(field);
    int rc = rk_err_set(err, "INFO %s has no %s", section, field);
    for (const char *line = r->str; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > fl && strncmp(line, field, fl) == 0 && line[fl] == ':') {
            size_t vl = len - fl - 1;
            while (vl && (line[fl + 1 + vl - 1] == '\r')) vl--;
            if (vl >= outlen) vl = outlen - 1;
            memcpy(out, line + fl + 1, vl);
            out[vl] = '\0';
            rc = 0;
            break;
        }
        line = end ? end + 1 : NULL;
    }
    freeReplyObject(r);
    return rc;
}

static int info_u64(redisContext *c, const char *section, const char *field, uint64_t *out,
                    struct rk_err *err)
{
    char v[64];
    if (info_field(c, section, field, v, sizeof(v), err) < 0) return -1;
    if (rk_parse_u64(v, out) < 0) return rk_err_set(err, "INFO %s: %s is '%s'", section, field, v);
    return 0;
}

static int config_set(redisContext *c, const char *name, const char *value, struct rk_err *err)
{
    redisReply *r = redisCommand(c, "CONFIG SET %s %s", name, value);
    int rc = 0;
    if (!r || r->type == REDIS_REPLY_ERROR)
        rc = rk_err_set(err, "CONFIG SET %s: %s", name, r ? r->str : c->errstr);
    freeReplyObject(r);
    return rc;
}

static void *watch_main(void *arg)
{
    struct staging *st = arg;
    redisContext *c = NULL;
    while (!atomic_load(&st->watch_stop)) {
        struct rk_err err;
        bool loading;
        if (!c) c = connect_to(st->svc->cfg.db_host, st->port, st->db.password, &loading, &err);
        uint64_t used;
        if (c && info_u64(c, "memory", "used_memory", &used, &err) == 0) {
            atomic_store(&st->used, used);
            if (used > st->limit) {
                atomic_store(&st->over, true);
                break;
            }
        } else if (c) {
            redisFree(c);
            c = NULL;
        }
        for (unsigned i = 0; i < WATCH_MS / 20 && !atomic_load(&st->watch_stop); i++)
            rk_sleep_ms(20);
    }
    redisFree(c);
    return NULL;
}

static void watch_stop(struct staging *st)
{
    if (!st->watching) return;
    atomic_store(&st->watch_stop, true);
    pthread_join(st->watch, NULL);
    st->watching = false;
}

/* ---- the staging server ---- */

struct staging *staging_new(struct rk_service *svc, const struct rk_db *db, bool keep_rdb,
                            bool (*cancelled)(void *arg), void *arg)
{
    struct staging *st = xcalloc(1, sizeof(*st));
    st->svc = svc;
    db_copy(&st->db, db);
    st->keep_rdb = keep_rdb;
    st->cancelled = cancelled;
    st->cancel_arg = arg;
    st->final = service_db_dir(svc, db->id);
    st->dir = xasprintf("%s.import", st->final);
    st->replaced = xasprintf("%s.replaced", st->final);
    st->fifo_fd = st->keep_fd = -1;
    st->limit = db_maxmemory_bytes(db);
    st->stall_sec = stall_sec();
    atomic_init(&st->watch_stop, false);
    atomic_init(&st->over, false);
    atomic_init(&st->used, 0);
    return st;
}

unsigned staging_port(const struct staging *st)
{
    return st->port;
}

bool staging_committed(const struct staging *st)
{
    return st->committed;
}

bool staging_over_limit(struct staging *st, uint64_t *used)
{
    *used = atomic_load(&st->used);
    return atomic_load(&st->over);
}

/* The database's own config with what staging needs: its port, no
 * maxmemory while it loads (loading ignores it; the size is checked after),
 * no persistence until it has the data, a log where it will live after the
 * swap. */
static int write_conf(struct staging *st, char **conf, struct rk_err *err)
{
    struct rk_db sdb;
    db_copy(&sdb, &st->db);
    sdb.memory_limit_gb = 0;
    snprintf(sdb.data_persistence, sizeof(sdb.data_persistence), "none");
    char *log = xasprintf("%s/redis.log", st->final);
    struct redis_instance in = {
        .db = &sdb, .dir = st->dir, .bind = st->svc->cfg.db_host, .port = st->port, .logfile = log};
    *conf = xasprintf("%s/redis.conf", st->dir);
    int rc = redisconf_write(*conf, &in, err);
    free(log);
    rk_db_clear(&sdb);
    return rc;
}

static void describe_exit(int status, char *out, size_t outlen)
{
    if (WIFSIGNALED(status))
        snprintf(out, outlen, "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(out, outlen, "exited with status %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* The first error the staging server logged: its lines start "<pid>:", an
 * error is logged at level '#' ("12:M 25 Nov 2026 16:24:33.033 # RDB has
 * duplicated key 'k' in DB 0"); the start-up warnings are not the reason. */
static bool first_error(const struct staging *st, char *out, size_t outlen)
{
    char path[PATH_MAX], prefix[24];
    snprintf(path, sizeof(path), "%s/redis.log", st->final);
    int plen = snprintf(prefix, sizeof(prefix), "%d:", (int)st->logged_pid);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    /* Its lines are near the end; a crash report follows them. */
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : 0;
    fseek(f, size > 262144 ? size - 262144 : 0, SEEK_SET);
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        if (strncmp(line, prefix, (size_t)plen) != 0) continue;
        char *level = strstr(line, " # ");
        if (!level || strstr(level, "WARNING") || strstr(level, "Redis version=") ||
            strstr(level, "Configuration loaded") || strstr(level, "Server initialized") ||
            strstr(level, "oO0OoO0OoO0Oo"))
            continue;
        char *msg = level + 3;
        msg[strcspn(msg, "\r\n")] = '\0';
        snprintf(out, outlen, "%s", msg);
        for (char *p = out; *p; p++)
            if (*p == '"') *p = '\'';
        found = true;
    }
    fclose(f);
    return found;
}

/* The staging server has exited (status from waitpid): why, from its log. */
static int died(struct staging *st, int status, const char *when, struct rk_err *err)
{
    char how[64], why[400];
    describe_exit(status, how, sizeof(how));
    /* A server killed from outside (the OOM killer, an operator) logged no
     * reason: its last lines would only mislead. */
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        snprintf(why, sizeof(why), "no reason in its log (the kernel's OOM killer, or kill -9)");
    else if (!first_error(st, why, sizeof(why)))
        sup_log_tail(st->final, why, sizeof(why));
    st->pid = 0;
    return rk_err_set(err, "the staging redis-server %s %s: %s", how, when,
                      why[0] ? why : "no log");
}

static void kill_staging(struct staging *st)
{
    if (st->pid <= 0) return;
    kill(st->pid, SIGKILL);
    while (waitpid(st->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    st->pid = 0;
}

/* Waits until the staging server opens the FIFO. 1: it could not bind its
 * port (taken since it was picked): start it again on another. */
static int open_fifo(struct staging *st, const char *fifo, struct rk_err *err)
{
    uint64_t deadline =
        rk_monotonic_ns() + (uint64_t)st->svc->cfg.redis_start_timeout_sec * 1000000000u;
    for (;;) {
        int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            st->fifo_fd = fd;
            fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES); /* fewer wake-ups; the default is fine too */
            int size = fcntl(fd, F_GETPIPE_SZ);
            st->pipe_size = size > 0 ? size : 65536;
            return 0;
        }
        if (errno != ENXIO && errno != EINTR)
            return rk_err_set(err, "%s: %s", fifo, strerror(errno));
        int status;
        if (waitpid(st->pid, &status, WNOHANG) == st->pid) {
            died(st, status, "while starting", err);
            return strstr(err->msg, "Address already in use") ? 1 : -1;
        }
        if (st->cancelled(st->cancel_arg)) {
            kill_staging(st);
            return rk_err_set(err, "cancelled");
        }
        if (rk_monotonic_ns() > deadline) {
            kill_staging(st);
            return rk_err_set(err, "the staging redis-server did not start reading within %u s",
                              st->svc->cfg.redis_start_timeout_sec);
        }
        rk_sleep_ms(10);
    }
}

int staging_start(struct staging *st, struct rk_err *err)
{
    struct rk_err rerr;
    if (remove_tree(st->dir, &rerr) < 0) return rk_err_set(err, "%s", rerr.msg);
    /* Left by a swap whose clean-up failed: in the way of the next one. */
    if (exists(st->final) && remove_tree(st->replaced, &rerr) < 0)
        return rk_err_set(err, "%s", rerr.msg);
    if (mkdir(st->dir, 0700) < 0)
        return rk_err_set(err, "%s: cannot create: %s", st->dir, strerror(errno));
    char *fifo = xasprintf("%s/" FIFO_NAME, st->dir);
    int rc = 0;
    if (mkfifo(fifo, 0600) < 0)
        rc = rk_err_set(err, "%s: cannot create a FIFO: %s", fifo, strerror(errno));
    if (rc == 0 && st->keep_rdb) {
        char *kept = xasprintf("%s/" KEPT_NAME, st->dir);
        st->keep_fd = open(kept, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (st->keep_fd < 0) rc = rk_err_set(err, "%s: cannot create: %s", kept, strerror(errno));
        free(kept);
    }
    for (int attempt = 1; rc == 0 && attempt <= START_ATTEMPTS; attempt++) {
        st->port = pick_port(st->svc->cfg.db_host);
        if (!st->port) {
            rc = rk_err_set(err, "no free port on %s for the staging redis-server",
                            st->svc->cfg.db_host);
            break;
        }
        char *conf = NULL;
        if (write_marker(st, false, err) < 0 || write_conf(st, &conf, err) < 0) {
            free(conf);
            rc = -1;
            break;
        }
        fsync_dir(st->dir);
        fsync_dir(st->svc->db_root);
        st->pid = sup_spawn(st->svc->sup, conf, err);
        free(conf);
        if (st->pid < 0) {
            st->pid = 0;
            rc = -1;
            break;
        }
        st->logged_pid = st->pid;
        rk_log(RK_LOG_INFO, "import", "msg=\"staging redis-server started\" db=%lld port=%u pid=%d",
               (long long)st->db.id, st->port, (int)st->pid);
        /* A restart finds it by this pid (its pidfile is not enough: see commit). */
        if (write_marker(st, false, err) < 0) {
            kill_staging(st);
            rc = -1;
            break;
        }
        rc = open_fifo(st, fifo, err);
        if (rc == 1 && attempt < START_ATTEMPTS)
            rc = 0;
        else if (rc == 1)
            rc = -1;
        if (st->fifo_fd >= 0) break;
    }
    free(fifo);
    if (rc == 0) {
        atomic_store(&st->watch_stop, false);
        if (pthread_create(&st->watch, NULL, watch_main, st) == 0) st->watching = true;
    }
    return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Between writes: is there still a reason to go on. */
static int still_loading(struct staging *st, struct rk_err *err)
{
    uint64_t used;
    if (staging_over_limit(st, &used)) return rk_err_set(err, "over the memory limit");
    if (st->cancelled(st->cancel_arg)) return rk_err_set(err, "cancelled");
    int status;
    if (st->pid > 0 && waitpid(st->pid, &status, WNOHANG) == st->pid)
        return died(st, status, "while loading", err);
    return 0;
}

/* The pipe is full. redis-server reads it 4 KiB at a time, and a writer
 * that waits for room (poll, or a blocking write) is woken by every read of
 * a full pipe to write 4 KiB more: hundreds of thousands of wake-ups on
 * both sides, which cost redis-server's loader a sixth of its speed. So
 * the writer sleeps until the pipe is half empty and fills it again in
 * large writes; redis-server, meanwhile, never waits. */
static int refill_wait(struct staging *st, struct rk_err *err)
{
    uint64_t last_check = rk_monotonic_ns(), last_read = last_check;
    int last_queued = -1;
    for (;;) {
        /* Sleep first: with a pipe of one page (the kernel refuses a bigger
         * one past a user's pipe quota) half empty is not room enough, and
         * returning at once would spin on EAGAIN. Half a 1 MiB pipe lasts
         * about 7 ms at redis-server's pace. */
        struct timespec ts = {0, st->pipe_size >= (1 << 20) ? 1000000L : 100000L};
        nanosleep(&ts, NULL);
        int queued = 0;
        if (ioctl(st->fifo_fd, FIONREAD, &queued) < 0 || queued <= st->pipe_size / 2) return 0;
        uint64_t now = rk_monotonic_ns();
        if (queued != last_queued) last_read = now;
        last_queued = queued;
        if (now - last_check >= (uint64_t)POLL_MS * 1000000u) {
            if (still_loading(st, err) < 0) return -1;
            last_check = now;
        }
        /* Alive but reading nothing (stopped, or hung): without this the
         * import would wait until someone cancels it. */
        if (now - last_read >= (uint64_t)st->stall_sec * 1000000000u) {
            kill_staging(st);
            return rk_err_set(err, "the staging redis-server has read nothing for %u s",
                              st->stall_sec);
        }
    }
}

int staging_write(void *arg, const void *data, size_t len, struct rk_err *err)
{
    struct staging *st = arg;
    if (st->keep_fd >= 0 && write_all(st->keep_fd, data, len) < 0)
        return rk_err_set(err, "%s/" KEPT_NAME ": %s", st->dir, strerror(errno));
    uint64_t used;
    if (staging_over_limit(st, &used)) return rk_err_set(err, "over the memory limit");
    const unsigned char *p = data;
    while (len) {
        ssize_t n = write(st->fifo_fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            if (refill_wait(st, err) < 0) return -1;
            continue;
        }
        if (n < 0 && errno == EPIPE) {
            /* It stopped reading: it is on its way out. */
            for (unsigned waited = 0; st->pid > 0 && waited < EXIT_WAIT_MS; waited += 20) {
                int status;
                if (waitpid(st->pid, &status, WNOHANG) == st->pid)
                    return died(st, status, "while loading", err);
                rk_sleep_ms(20);
            }
            kill_staging(st);
            return rk_err_set(err, "the staging redis-server stopped reading the data");
        }
        return rk_err_set(err, "writing to the staging redis-server: %s", strerror(errno));
    }
    return 0;
}

int staging_end_input(struct staging *st, struct rk_err *err)
{
    if (st->fifo_fd >= 0) close(st->fifo_fd);
    st->fifo_fd = -1;
    if (st->keep_fd < 0) return 0;
    /* It becomes dump.rdb: on disk before the swap can commit. */
    int rc = fsync(st->keep_fd) == 0
                 ? 0
                 : rk_err_set(err, "%s/" KEPT_NAME ": %s", st->dir, strerror(errno));
    if (close(st->keep_fd) < 0 && rc == 0)
        rc = rk_err_set(err, "%s/" KEPT_NAME ": %s", st->dir, strerror(errno));
    st->keep_fd = -1;
    return rc;
}

int staging_wait_loaded(struct staging *st, struct rk_err *err)
{
    for (;;) {
        if (still_loading(st, err) < 0) return -1;
        if (st->pid <= 0) return rk_err_set(err, "the staging redis-server is gone");
        bool loading;
        struct rk_err cerr;
        redisContext *c =
            connect_to(st->svc->cfg.db_host, st->port, st->db.password, &loading, &cerr);
        if (c) {
            redisReply *r = redisCommand(c, "PING");
            bool up = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
            freeReplyObject(r);
            if (up) {
                st->ctl = c;
                watch_stop(st);
                return 0;
            }
            redisFree(c);
        }
        rk_sleep_ms(50);
    }
}

int staging_used_memory(struct staging *st, uint64_t *used, struct rk_err *err)
{
    if (!st->ctl) return rk_err_set(err, "the staging redis-server is not up");
    return info_u64(st->ctl, "memory", "used_memory", used, err);
}

/* After CONFIG SET appendonly yes: until the rewrite has written the AOF. */
static int wait_aof(struct staging *st, struct rk_err *err)
{
    for (;;) {
        uint64_t in_progress, scheduled;
        if (info_u64(st->ctl, "persistence", "aof_rewrite_in_progress", &in_progress, err) < 0 ||
            info_u64(st->ctl, "persistence", "aof_rewrite_scheduled", &scheduled, err) < 0)
            return -1;
        if (!in_progress && !scheduled) break;
        if (st->cancelled(st->cancel_arg)) return rk_err_set(err, "cancelled");
        rk_sleep_ms(50);
    }
    char status[32];
    if (info_field(st->ctl, "persistence", "aof_last_bgrewrite_status", status, sizeof(status),
                   err) < 0)
        return -1;
    if (strcmp(status, "ok") != 0) {
        char tail[400];
        sup_log_tail(st->final, tail, sizeof(tail));
        return rk_err_set(err, "the staging redis-server could not write its AOF: %s", tail);
    }
    return 0;
}

int staging_settle(struct staging *st, struct rk_err *err)
{
    if (!st->ctl) return rk_err_set(err, "the staging redis-server is not up");
    char maxmemory[32];
    snprintf(maxmemory, sizeof(maxmemory), "%" PRIu64, st->limit);
    if (config_set(st->ctl, "maxmemory", maxmemory, err) < 0) return -1;
    char *fifo = xasprintf("%s/" FIFO_NAME, st->dir);
    int rc = 0;
    if (st->keep_rdb) {
        /* The stream as written is what the server holds: the dump.rdb its
         * snapshot persistence starts from. */
        char *kept = xasprintf("%s/" KEPT_NAME, st->dir);
        if (rename(kept, fifo) < 0)
            rc = rk_err_set(err, "%s: cannot rename: %s", kept, strerror(errno));
        free(kept);
    } else if (unlink(fifo) < 0) {
        rc = rk_err_set(err, "%s: cannot remove: %s", fifo, strerror(errno));
    }
    free(fifo);
    fsync_dir(st->dir);
    struct redis_persistence ps = redisconf_persistence(st->db.data_persistence);
    if (rc == 0 && ps.save[0]) rc = config_set(st->ctl, "save", ps.save, err);
    if (rc == 0 && strcmp(ps.appendonly, "yes") == 0) {
        rc = config_set(st->ctl, "appendfsync", ps.appendfsync, err);
        if (rc == 0) rc = config_set(st->ctl, "appendonly", "yes", err);
        if (rc == 0) rc = wait_aof(st, err);
    }
    return rc;
}

/* ---- the swap ---- */

/* Puts the old log's lines before the newer one's, the result at newer
 * (redis-server reopens its log by path for every line). */
static void merge_log(const char *older, const char *newer)
{
    if (!exists(newer)) {
        rename(older, newer);
        return;
    }
    int in = open(newer, O_RDONLY | O_CLOEXEC);
    int out = open(older, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (in >= 0 && out >= 0) {
        char buf[65536];
        ssize_t n;
        while ((n = read(in, buf, sizeof(buf))) > 0)
            if (write_all(out, buf, (size_t)n) < 0) break;
    }
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    rename(older, newer);
}

/* What stays with the database from the old directory: everything but the
 * old server's own data and config (the replica's directory, the log). */
static bool old_server_file(const char *name)
{
    return strcmp(name, "dump.rdb") == 0 || strcmp(name, "appendonlydir") == 0 ||
           strcmp(name, "redis.conf") == 0 || strcmp(name, "redis.conf.tmp") == 0 ||
           strcmp(name, "redis.pid") == 0 ||
           strncmp(name, IMPORT_MARKER, strlen(IMPORT_MARKER)) == 0 ||
           strncmp(name, "temp-", 5) == 0;
}

/* After the commit: carries over what stays, removes the old directory and
 * the marker. Safe to run again (the recovery does, after a crash). */
static void finish_swap(const char *db_root, const char *final, const char *replaced)
{
    DIR *d = opendir(replaced);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                old_server_file(e->d_name))
                continue;
            char *from = xasprintf("%s/%s", replaced, e->d_name);
            char *to = xasprintf("%s/%s", final, e->d_name);
            if (strcmp(e->d_name, "redis.log") == 0)
                merge_log(from, to);
            else if (!exists(to) && rename(from, to) < 0)
                rk_log(RK_LOG_WARN, "import", "msg=\"not carried over\" file=\"%s\" err=\"%s\"",
                       from, strerror(errno));
            free(from);
            free(to);
        }
        closedir(d);
        struct rk_err err;
        if (remove_tree(replaced, &err) < 0)
            rk_log(RK_LOG_WARN, "import", "msg=\"old data not removed\" err=\"%s\"", err.msg);
    }
    char *marker = xasprintf("%s/" IMPORT_MARKER, final);
    unlink(marker);
    free(marker);
    fsync_dir(final);
    fsync_dir(db_root);
}

/* Runs with the old primary stopped (sup_db_swap). */
static int commit(void *arg, pid_t *new_pid, struct rk_err *err)
{
    struct staging *st = arg;
    char port[16];
    snprintf(port, sizeof(port), "%u", st->db.port);
    /* Redis 7.0 moves its listener (and its process title) at once. */
    if (config_set(st->ctl, "port", port, err) < 0)
        return rk_err_prefix(err, "the staging redis-server cannot take the database's port %u",
                             st->db.port);
    /* The pidfile the database's directory will hold. The old primary, when
     * it was itself a staging server once, removed this very path as it
     * exited. */
    char pidfile[PATH_MAX], tmp[PATH_MAX], text[24];
    snprintf(pidfile, sizeof(pidfile), "%s/redis.pid", st->dir);
    snprintf(tmp, sizeof(tmp), "%s/redis.pid.tmp", st->dir);
    int len = snprintf(text, sizeof(text), "%d\n", (int)st->pid);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool written = fd >= 0 && write(fd, text, (size_t)len) == len;
    if (fd >= 0 && close(fd) < 0) written = false;
    if (!written || rename(tmp, pidfile) < 0)
        rk_log(RK_LOG_WARN, "import", "msg=\"pidfile not written\" path=\"%s\" err=\"%s\"", pidfile,
               strerror(errno));
    test_crash_point("before-commit");
    if (rename(st->final, st->replaced) < 0) {
        rk_err_set(err, "%s: cannot rename: %s", st->final, strerror(errno));
        goto undo;
    }
    /* The commit point. */
    if (rename(st->dir, st->final) < 0) {
        rk_err_set(err, "%s: cannot rename: %s", st->dir, strerror(errno));
        if (rename(st->replaced, st->final) < 0)
            rk_log(RK_LOG_ERROR, "import",
                   "msg=\"old directory not put back\" dir=\"%s\" err=\"%s\"", st->replaced,
                   strerror(errno));
        goto undo;
    }
    fsync_dir(st->svc->db_root);
    test_crash_point("after-commit");
    st->committed = true;
    *new_pid = st->pid;
    st->pid = 0;
    return 0;
undo:
    /* It holds the port: the old primary needs it back. */
    kill_staging(st);
    return -1;
}

int staging_swap(struct staging *st, struct rk_err *err)
{
    if (!st->ctl) return rk_err_set(err, "the staging redis-server is not up");
    /* From here a crash that finds the old primary stopped and this server
     * holding the data finishes the swap rather than losing both. */
    if (write_marker(st, true, err) < 0) return -1;
    test_crash_point("before-swap");
    if (sup_db_swap(st->svc->sup, &st->db, commit, st, err) < 0) return -1;
    finish_swap(st->svc->db_root, st->final, st->replaced);
    return 0;
}

void staging_free(struct staging *st)
{
    if (!st) return;
    watch_stop(st);
    if (st->fifo_fd >= 0) close(st->fifo_fd);
    if (st->keep_fd >= 0) close(st->keep_fd);
    redisFree(st->ctl);
    if (!st->committed) {
        kill_staging(st);
        struct rk_err err;
        if (remove_tree(st->dir, &err) < 0)
            rk_log(RK_LOG_WARN, "import", "msg=\"staging files left\" err=\"%s\"", err.msg);
    }
    rk_db_clear(&st->db);
    free(st->dir);
    free(st->final);
    free(st->replaced);
    free(st);
}

/* ---- after a crash ---- */

static void record_pid(struct rk_service *svc, int64_t db_id, pid_t pid)
{
    struct rk_err err;
    struct catalog_procs cp;
    if (catalog_begin(svc->cat, &err) < 0) goto fail;
    if (catalog_db_get_procs(svc->cat, db_id, &cp, &err) < 0) {
        catalog_rollback(svc->cat);
        goto fail;
    }
    cp.pid = pid;
    cp.supervised = true;
    if (catalog_db_set_procs(svc->cat, db_id, &cp, &err) < 0) {
        catalog_rollback(svc->cat);
        goto fail;
    }
    if (catalog_commit(svc->cat, &err) < 0) goto fail;
    return;
fail:
    rk_log(RK_LOG_ERROR, "import", "msg=\"pid not recorded\" db=%lld err=\"%s\"", (long long)db_id,
           err.msg);
}

/* The staging server of an interrupted swap takes the database's port. */
static bool move_port(const struct rk_service *svc, const struct rk_db *db, unsigned from)
{
    bool loading;
    struct rk_err err;
    redisContext *c = connect_to(svc->cfg.db_host, from, db->password, &loading, &err);
    if (!c) return false;
    char port[16];
    snprintf(port, sizeof(port), "%u", db->port);
    bool ok = config_set(c, "port", port, &err) == 0;
    redisFree(c);
    return ok;
}

static void kill_other(pid_t pid)
{
    kill(pid, SIGKILL);
    wait_gone(pid);
}

/* An import the daemon died in the middle of. Before the swap began: the
 * staging server goes and the old primary serves on (or is started again
 * from its files). In the swap, after the old primary stopped and before
 * the commit: the staging server holds the complete new data, the old one is
 * down, so the swap is finished rather than losing both. After the commit:
 * the new primary is adopted (or started from its files) and the old
 * directory goes. */
static void recover_one(struct rk_service *svc, int64_t id)
{
    struct rk_err err;
    struct rk_db db;
    struct catalog_procs cp = {0};
    int found = catalog_db_get(svc->cat, id, &db, &err);
    if (found > 0 && catalog_db_get_procs(svc->cat, id, &cp, &err) < 0) {
        rk_db_clear(&db);
        found = -1;
    }
    if (found < 0) {
        rk_log(RK_LOG_ERROR, "import", "msg=\"recovery skipped\" db=%lld err=\"%s\"", (long long)id,
               err.msg);
        return;
    }
    char *final = service_db_dir(svc, id);
    char *dir = xasprintf("%s.import", final);
    char *replaced = xasprintf("%s.replaced", final);
    struct marker m;
    if (read_marker(dir, &m) || exists(dir)) {
        pid_t pid = m.pid ? m.pid : sup_read_pidfile(dir);
        unsigned on = 0;
        if (pid > 0 && m.port && sup_is_redis(svc->sup, pid, m.port))
            on = m.port;
        else if (pid > 0 && found && sup_is_redis(svc->sup, pid, db.port))
            on = db.port;
        bool old_alive =
            found && cp.pid > 0 && cp.pid != pid && sup_is_redis(svc->sup, cp.pid, db.port);
        /* The daemon may have died just after sup_db_swap sent the old
         * primary SIGTERM: it is on its way out, and with persistence none
         * takes the old data with it. Killing the staging server then would
         * lose both; an old primary still there after the time an exit gets
         * was never told to stop. */
        if (m.swapping && on && old_alive) {
            wait_gone(cp.pid);
            old_alive = sup_is_redis(svc->sup, cp.pid, db.port);
        }
        bool forward = found && m.swapping && on && !old_alive;
        if (forward && on != db.port) forward = move_port(svc, &db, on);
        if (forward && exists(final) && rename(final, replaced) < 0) forward = false;
        if (forward && rename(dir, final) < 0) {
            rename(replaced, final);
            forward = false;
        }
        if (forward) {
            fsync_dir(svc->db_root);
            rk_log(RK_LOG_WARN, "import",
                   "msg=\"the daemon died in the middle of a swap, after the old "
                   "primary stopped: the swap is finished\" db=%lld",
                   (long long)id);
        } else {
            if (exists(replaced) && !exists(final) && rename(replaced, final) < 0)
                rk_log(RK_LOG_ERROR, "import",
                       "msg=\"old directory not put back\" dir=\"%s\" err=\"%s\"", replaced,
                       strerror(errno));
            if (on) kill_other(pid);
            if (remove_tree(dir, &err) < 0)
                rk_log(RK_LOG_WARN, "import", "msg=\"staging files left\" err=\"%s\"", err.msg);
            fsync_dir(svc->db_root);
            rk_log(RK_LOG_WARN, "import",
                   "msg=\"import interrupted before its swap: staging server "
                   "stopped, its files removed; the old data serves\" db=%lld",
                   (long long)id);
        }
    }
    if (exists(replaced) && !exists(final) && rename(replaced, final) < 0)
        rk_log(RK_LOG_ERROR, "import", "msg=\"old directory not put back\" dir=\"%s\" err=\"%s\"",
               replaced, strerror(errno));
    bool committed = read_marker(final, &m);
    if (committed) {
        /* Committed: the new data is the database's. */
        pid_t pid = m.pid ? m.pid : sup_read_pidfile(final);
        bool adopted = found && pid > 0 && sup_is_redis(svc->sup, pid, db.port);
        if (adopted) {
            record_pid(svc, id, pid);
            /* The staging config is still there: the next start reads this. */
            char *conf = xasprintf("%s/redis.conf", final);
            struct redis_instance in = {
                .db = &db, .dir = final, .bind = svc->cfg.db_host, .port = db.port};
            if (redisconf_write(conf, &in, &err) < 0)
                rk_log(RK_LOG_WARN, "import", "msg=\"config not rewritten\" err=\"%s\"", err.msg);
            free(conf);
        } else if (pid > 0 && m.port && sup_is_redis(svc->sup, pid, m.port))
            kill_other(pid);
        rk_log(RK_LOG_WARN, "import",
               "msg=\"import interrupted after its swap committed: finished\" "
               "db=%lld new_primary=%s",
               (long long)id, adopted ? "adopted" : "started from its files");
    }
    if (exists(replaced) || committed) finish_swap(svc->db_root, final, replaced);
    if (found) rk_db_clear(&db);
    free(final);
    free(dir);
    free(replaced);
}

int import_recover(struct rk_service *svc, struct rk_err *err)
{
    int64_t *ids = NULL;
    size_t n = 0;
    DIR *d = opendir(svc->db_root);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            const char *dot = strchr(e->d_name, '.');
            if (!dot || (strcmp(dot, ".import") != 0 && strcmp(dot, ".replaced") != 0)) continue;
            char num[32];
            size_t len = (size_t)(dot - e->d_name);
            if (len == 0 || len >= sizeof(num)) continue;
            memcpy(num, e->d_name, len);
            num[len] = '\0';
            int64_t id;
            if (rk_parse_i64(num, &id) < 0 || id <= 0) continue;
            ids = xrealloc(ids, (n + 1) * sizeof(*ids));
            ids[n++] = id;
        }
        closedir(d);
    }
    struct rk_db *dbs;
    size_t ndbs;
    if (catalog_db_list(svc->cat, 0, 0, INT64_MAX, &dbs, &ndbs, err) < 0) {
        free(ids);
        return -1;
    }
    for (size_t i = 0; i < ndbs; i++) {
        char *marker = xasprintf("%s/%lld/" IMPORT_MARKER, svc->db_root, (long long)dbs[i].id);
        if (exists(marker)) {
            ids = xrealloc(ids, (n + 1) * sizeof(*ids));
            ids[n++] = dbs[i].id;
        }
        free(marker);
    }
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++) seen |= ids[j] == ids[i];
        if (!seen) recover_one(svc, ids[i]);
    }
    free(ids);
    int rc = 0;
    if (catalog_begin(svc->cat, err) < 0) {
        rc = -1;
    } else {
        for (size_t i = 0; i < ndbs && rc == 0; i++)
            if (strcmp(dbs[i].status, "import-pending") == 0)
                rc = catalog_db_set_status(svc->cat, dbs[i].id, "active", NULL, err);
        if (rc == 0)
            rc = catalog_commit(svc->cat, err);
        else
            catalog_rollback(svc->cat);
    }
    for (size_t i = 0; i < ndbs; i++) rk_db_clear(&dbs[i]);
    free(dbs);
    return rc;
}
