/* The catalog in SQLite. WAL mode with synchronous=FULL: a request that was
 * answered 202 survives a crash of the daemon or of the machine, and a daemon
 * killed in the middle of a write leaves the last committed state. */
#include "service/catalog.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_VERSION 1

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS meta ("
    "  key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS subscriptions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, status TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS databases ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  subscription_id INTEGER NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,"
    "  protocol TEXT NOT NULL, port INTEGER NOT NULL, replica_port INTEGER NOT NULL DEFAULT 0,"
    "  password TEXT NOT NULL, memory_limit_gb REAL NOT NULL, dataset_size_gb REAL NOT NULL,"
    "  data_persistence TEXT NOT NULL, eviction_policy TEXT NOT NULL,"
    "  replication INTEGER NOT NULL, shards INTEGER NOT NULL,"
    "  periodic_backup_path TEXT, remote_backup TEXT, redis_version TEXT NOT NULL,"
    "  status_reason TEXT, pid INTEGER NOT NULL DEFAULT 0, replica_pid INTEGER NOT NULL DEFAULT 0,"
    "  supervised INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  UNIQUE (subscription_id, name));"
    "CREATE UNIQUE INDEX IF NOT EXISTS databases_port ON databases(port);"
    "CREATE TABLE IF NOT EXISTS tasks ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    "  command_type TEXT NOT NULL, status TEXT NOT NULL, description TEXT NOT NULL,"
    "  subscription_id INTEGER NOT NULL, database_id INTEGER NOT NULL,"
    "  resource_id INTEGER NOT NULL DEFAULT 0, params TEXT, resource TEXT,"
    "  error_type TEXT, error_status TEXT, error_description TEXT,"
    "  bytes INTEGER NOT NULL DEFAULT 0, total_bytes INTEGER NOT NULL DEFAULT 0,"
    "  keys INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS tasks_status ON tasks(status);"
    "CREATE TABLE IF NOT EXISTS backups ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, database_id INTEGER NOT NULL,"
    "  task_id TEXT, status TEXT NOT NULL, destination TEXT NOT NULL,"
    "  started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL DEFAULT 0,"
    "  size_bytes INTEGER NOT NULL DEFAULT 0, keys INTEGER NOT NULL DEFAULT 0,"
    "  rdb_version INTEGER NOT NULL DEFAULT 0, redis_version TEXT, sha256 TEXT,"
    "  files TEXT, manifest TEXT, error TEXT);"
    "CREATE INDEX IF NOT EXISTS backups_db ON backups(database_id, id);";

#define TASK_COLS                                                                                  \
    "id, command_type, status, description, subscription_id, database_id, resource_id, resource, " \
    "error_type, error_status, error_description, bytes, total_bytes, keys, created_ms, "          \
    "updated_ms"
#define DB_COLS                                                                                    \
    "id, subscription_id, name, status, protocol, port, replica_port, password, memory_limit_gb, " \
    "dataset_size_gb, data_persistence, eviction_policy, replication, shards, "                    \
    "periodic_backup_path, remote_backup, redis_version, status_reason, created_ms, updated_ms"
#define SUB_COLS                                                                                   \
    "s.id, s.name, s.status, s.created_ms, "                                                       \
    "(SELECT COUNT(*) FROM databases d WHERE d.subscription_id = s.id)"
#define BACKUP_COLS                                                                                \
    "id, database_id, task_id, status, destination, started_ms, finished_ms, size_bytes, keys, "   \
    "rdb_version, redis_version, sha256, files, manifest, error"

enum stmt_id {
    S_META_GET,
    S_META_SET,
    S_SUB_INSERT,
    S_SUB_GET,
    S_SUB_LIST,
    S_SUB_STATUS,
    S_SUB_DELETE,
    S_SUB_COUNT,
    S_DB_INSERT,
    S_DB_GET,
    S_DB_LIST,
    S_DB_COUNT_ALL,
    S_DB_COUNT_SUB,
    S_DB_COUNT_STATUS,
    S_DB_UPDATE,
    S_DB_STATUS,
    S_DB_DELETE,
    S_DB_NAME_TAKEN,
    S_DB_PORT_TAKEN,
    S_DB_SET_PIDS,
    S_DB_GET_PIDS,
    S_TASK_INSERT,
    S_TASK_GET,
    S_TASK_PARAMS,
    S_TASK_LIST,
    S_TASK_COUNT_ALL,
    S_TASK_COUNT_STATUS,
    S_TASK_STATUS,
    S_TASK_PROGRESS,
    S_TASK_FINISH,
    S_TASK_FAIL_ALL,
    S_TASK_RECEIVED,
    S_TASK_PRUNE,
    S_BACKUP_INSERT,
    S_BACKUP_UPDATE,
    S_BACKUP_LIST,
    S_BACKUP_LATEST,
    S_BACKUP_COUNT_STATUS,
    S_BACKUP_LIST_STATUS,
    S_TASK_COUNT_ACTIVE,
    S_TASK_LATEST_OF_KIND,
    S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_META_SET] = "INSERT INTO meta(key, value) VALUES (?1, ?2) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [S_SUB_INSERT] = "INSERT INTO subscriptions(name, status, created_ms) VALUES (?1, ?2, ?3)",
    [S_SUB_GET] = "SELECT " SUB_COLS " FROM subscriptions s WHERE s.id = ?1",
    [S_SUB_LIST] = "SELECT " SUB_COLS " FROM subscriptions s ORDER BY s.id",
    [S_SUB_STATUS] = "UPDATE subscriptions SET status = ?2 WHERE id = ?1",
    [S_SUB_DELETE] = "DELETE FROM subscriptions WHERE id = ?1",
    [S_SUB_COUNT] = "SELECT COUNT(*) FROM subscriptions",
    [S_DB_INSERT] =
        "INSERT INTO databases(subscription_id, name, status, protocol, port, replica_port, "
        "password, memory_limit_gb, dataset_size_gb, data_persistence, eviction_policy, "
        "replication, shards, periodic_backup_path, remote_backup, redis_version, status_reason, "
        "created_ms, updated_ms) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
        "?15, ?16, ?17, ?18, ?19, ?20)",
    [S_DB_GET] = "SELECT " DB_COLS " FROM databases WHERE id = ?1",
    [S_DB_LIST] = "SELECT " DB_COLS " FROM databases WHERE ?1 = 0 OR subscription_id = ?1 "
                  "ORDER BY id LIMIT ?3 OFFSET ?2",
    [S_DB_COUNT_ALL] = "SELECT COUNT(*) FROM databases",
    [S_DB_COUNT_SUB] = "SELECT COUNT(*) FROM databases WHERE subscription_id = ?1",
    [S_DB_COUNT_STATUS] = "SELECT COUNT(*) FROM databases WHERE status = ?1",
    [S_DB_UPDATE] =
        "UPDATE databases SET subscription_id = ?2, name = ?3, status = ?4, protocol = ?5, "
        "port = ?6, replica_port = ?7, password = ?8, memory_limit_gb = ?9, dataset_size_gb = ?10, "
        "data_persistence = ?11, eviction_policy = ?12, replication = ?13, shards = ?14, "
        "periodic_backup_path = ?15, remote_backup = ?16, redis_version = ?17, "
        "status_reason = ?18, created_ms = ?19, updated_ms = ?20 WHERE id = ?1",
    /* A status is the service's doing, not a change of the database: lastModified,
     * and the backup schedule that counts from it, stay. */
    [S_DB_STATUS] = "UPDATE databases SET status = ?2, status_reason = ?3 WHERE id = ?1",
    [S_DB_DELETE] = "DELETE FROM databases WHERE id = ?1",
    [S_DB_NAME_TAKEN] = "SELECT 1 FROM databases WHERE subscription_id = ?1 AND name = ?2 "
                        "AND id != ?3",
    [S_DB_PORT_TAKEN] = "SELECT 1 FROM databases WHERE (port = ?1 OR replica_port = ?1) "
                        "AND id != ?2",
    [S_DB_SET_PIDS] = "UPDATE databases SET pid = ?2, replica_pid = ?3, supervised = ?4 "
                      "WHERE id = ?1",
    [S_DB_GET_PIDS] = "SELECT pid, replica_pid, supervised FROM databases WHERE id = ?1",
    [S_TASK_INSERT] = "INSERT INTO tasks(id, command_type, status, description, subscription_id, "
                      "database_id, resource_id, params, created_ms, updated_ms) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [S_TASK_GET] = "SELECT " TASK_COLS " FROM tasks WHERE id = ?1",
    [S_TASK_PARAMS] = "SELECT params FROM tasks WHERE id = ?1",
    [S_TASK_LIST] = "SELECT " TASK_COLS " FROM tasks ORDER BY seq DESC LIMIT ?2 OFFSET ?1",
    [S_TASK_COUNT_ALL] = "SELECT COUNT(*) FROM tasks",
    [S_TASK_COUNT_STATUS] = "SELECT COUNT(*) FROM tasks WHERE status = ?1",
    [S_TASK_STATUS] =
        "UPDATE tasks SET status = ?2, description = ?3, updated_ms = ?4 WHERE id = ?1",
    [S_TASK_PROGRESS] = "UPDATE tasks SET bytes = ?2, total_bytes = ?3, keys = ?4, updated_ms = ?5 "
                        "WHERE id = ?1",
    [S_TASK_FINISH] = "UPDATE tasks SET status = ?2, description = ?3, resource_id = ?4, "
                      "resource = ?5, error_type = ?6, error_status = ?7, error_description = ?8, "
                      "bytes = ?9, total_bytes = ?10, keys = ?11, updated_ms = ?12 WHERE id = ?1",
    [S_TASK_FAIL_ALL] = "UPDATE tasks SET status = 'processing-error', description = ?2, "
                        "error_type = 'GENERAL_ERROR', error_status = '500 INTERNAL_SERVER_ERROR', "
                        "error_description = ?2, updated_ms = ?3 WHERE status = ?1",
    [S_TASK_RECEIVED] = "SELECT " TASK_COLS " FROM tasks WHERE status = 'received' ORDER BY seq",
    [S_TASK_PRUNE] =
        "DELETE FROM tasks WHERE status IN ('processing-completed', 'processing-error') "
        "AND updated_ms < ?1",
    [S_BACKUP_INSERT] =
        "INSERT INTO backups(database_id, task_id, status, destination, started_ms, "
        "finished_ms, size_bytes, keys, rdb_version, redis_version, sha256, files, "
        "manifest, error) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
        "?13, ?14, ?15)",
    [S_BACKUP_UPDATE] = "UPDATE backups SET database_id = ?2, task_id = ?3, status = ?4, "
                        "destination = ?5, started_ms = ?6, finished_ms = ?7, size_bytes = ?8, "
                        "keys = ?9, rdb_version = ?10, redis_version = ?11, sha256 = ?12, "
                        "files = ?13, manifest = ?14, error = ?15 WHERE id = ?1",
    [S_BACKUP_LIST] = "SELECT " BACKUP_COLS " FROM backups WHERE database_id = ?1 ORDER BY id DESC",
    [S_BACKUP_LATEST] = "SELECT " BACKUP_COLS " FROM backups WHERE database_id = ?1 "
                        "ORDER BY id DESC LIMIT 1",
    [S_BACKUP_COUNT_STATUS] = "SELECT COUNT(*) FROM backups WHERE status = ?1",
    [S_BACKUP_LIST_STATUS] = "SELECT " BACKUP_COLS " FROM backups WHERE status = ?1 ORDER BY id",
    [S_TASK_COUNT_ACTIVE] =
        "SELECT COUNT(*) FROM tasks WHERE database_id = ?1 AND command_type = ?2 "
        "AND status IN ('received', 'processing-in-progress')",
    [S_TASK_LATEST_OF_KIND] = "SELECT " TASK_COLS " FROM tasks WHERE database_id = ?1 AND "
                              "command_type = ?2 ORDER BY seq DESC LIMIT 1",
};

struct cat_conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[S_COUNT];
    pthread_mutex_t mu;
};

struct rk_catalog {
    struct cat_conn writer;
    struct cat_conn *readers;
    unsigned nreaders;
    unsigned next_reader; /* round-robin start, racy on purpose: only a hint */
    pthread_t owner;      /* the thread inside a write transaction */
    bool owned;
};

static int conn_fail(struct cat_conn *cn, struct rk_err *err, const char *what)
{
    return rk_err_set(err, "catalog: %s: %s", what, sqlite3_errmsg(cn->db));
}

static int exec_sql(struct cat_conn *cn, const char *sql, struct rk_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(cn->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        rk_err_set(err, "catalog: %s", msg ? msg : sqlite3_errmsg(cn->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int conn_open(struct cat_conn *cn, const char *path, bool writer, struct rk_err *err)
{
    memset(cn, 0, sizeof(*cn));
    pthread_mutex_init(&cn->mu, NULL);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &cn->db, flags, NULL) != SQLITE_OK) {
        rk_err_set(err, "catalog %s: cannot open: %s", path,
                   cn->db ? sqlite3_errmsg(cn->db) : "out of memory");
        sqlite3_close(cn->db);
        cn->db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(cn->db, 10000);
    if (writer) return exec_sql(cn, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", err);
    return exec_sql(cn, "PRAGMA cache_size=-512;", err);
}

static void conn_close(struct cat_conn *cn)
{
    for (int i = 0; i < S_COUNT; i++) sqlite3_finalize(cn->stmts[i]);
    sqlite3_close(cn->db);
    pthread_mutex_destroy(&cn->mu);
}

static int migrate(struct cat_conn *cn, const char *path, struct rk_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cn->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return conn_fail(cn, err, "reading schema version");
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version < 0) return conn_fail(cn, err, "reading schema version");
    if (version > SCHEMA_VERSION)
        return rk_err_set(err, "catalog %s: schema version %d is newer than this rdbkeep (%d)",
                          path, version, SCHEMA_VERSION);
    if (version == SCHEMA_VERSION) return 0;
    if (exec_sql(cn, "BEGIN IMMEDIATE", err) < 0) return -1;
    char set_version[64];
    snprintf(set_version, sizeof(set_version), "PRAGMA user_version=%d", SCHEMA_VERSION);
    if (exec_sql(cn, schema_sql, err) < 0 || exec_sql(cn, set_version, err) < 0) {
        exec_sql(cn, "ROLLBACK", NULL);
        return -1;
    }
    return exec_sql(cn, "COMMIT", err);
}

struct rk_catalog *catalog_open(const char *path, unsigned readers, struct rk_err *err)
{
    struct rk_catalog *c = xcalloc(1, sizeof(*c));
    if (readers < 1) readers = 1;
    if (conn_open(&c->writer, path, true, err) < 0 || migrate(&c->writer, path, err) < 0) {
        conn_close(&c->writer);
        free(c);
        return NULL;
    }
    c->readers = xcalloc(readers, sizeof(*c->readers));
    for (unsigned i = 0; i < readers; i++) {
        if (conn_open(&c->readers[i], path, false, err) < 0) {
            c->nreaders = i + 1;
            catalog_close(c);
            return NULL;
        }
    }
    c->nreaders = readers;
    return c;
}

void catalog_close(struct rk_catalog *c)
{
    if (!c) return;
    for (unsigned i = 0; i < c->nreaders; i++) conn_close(&c->readers[i]);
    free(c->readers);
    /* The last connection to close checkpoints the WAL into the main file. */
    conn_close(&c->writer);
    free(c);
}

static bool in_write(struct rk_catalog *c)
{
    return c->owned && pthread_equal(c->owner, pthread_self());
}

/* A connection for one read: the writer inside this thread's transaction
 * (so the read sees it), else a free reader. */
static struct cat_conn *acquire(struct rk_catalog *c)
{
    if (in_write(c)) return &c->writer;
    unsigned start = __atomic_fetch_add(&c->next_reader, 1, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < c->nreaders; i++) {
        struct cat_conn *cn = &c->readers[(start + i) % c->nreaders];
        if (pthread_mutex_trylock(&cn->mu) == 0) return cn;
    }
    struct cat_conn *cn = &c->readers[start % c->nreaders];
    pthread_mutex_lock(&cn->mu);
    return cn;
}

static void release(struct rk_catalog *c, struct cat_conn *cn)
{
    if (cn != &c->writer) pthread_mutex_unlock(&cn->mu);
}

static struct cat_conn *writer(struct rk_catalog *c)
{
    if (!in_write(c)) rk_panic("catalog write outside a transaction");
    return &c->writer;
}

static sqlite3_stmt *prep(struct cat_conn *cn, enum stmt_id id, struct rk_err *err)
{
    if (!cn->stmts[id]) {
        if (sqlite3_prepare_v3(cn->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &cn->stmts[id],
                               NULL) != SQLITE_OK) {
            conn_fail(cn, err, "preparing a statement");
            return NULL;
        }
    }
    return cn->stmts[id];
}

static void done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? xstrdup((const char *)s) : NULL;
}

static void col_copy(sqlite3_stmt *st, int i, char *out, size_t outlen)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    snprintf(out, outlen, "%s", s ? (const char *)s : "");
}

/* Runs a write statement to completion. */
static int step_done(struct cat_conn *cn, sqlite3_stmt *st, struct rk_err *err)
{
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE ? 0 : conn_fail(cn, err, "write");
    done(st);
    return ret;
}

int catalog_begin(struct rk_catalog *c, struct rk_err *err)
{
    pthread_mutex_lock(&c->writer.mu);
    c->owner = pthread_self();
    c->owned = true;
    if (exec_sql(&c->writer, "BEGIN IMMEDIATE", err) < 0) {
        c->owned = false;
        pthread_mutex_unlock(&c->writer.mu);
        return -1;
    }
    return 0;
}

int catalog_commit(struct rk_catalog *c, struct rk_err *err)
{
    writer(c);
    int rc = exec_sql(&c->writer, "COMMIT", err);
    if (rc < 0) exec_sql(&c->writer, "ROLLBACK", NULL);
    c->owned = false;
    pthread_mutex_unlock(&c->writer.mu);
    return rc;
}

void catalog_rollback(struct rk_catalog *c)
{
    writer(c);
    exec_sql(&c->writer, "ROLLBACK", NULL);
    c->owned = false;
    pthread_mutex_unlock(&c->writer.mu);
}

/* Runs a SELECT returning one integer; 1 found, 0 no row, -1 error. */
static int query_int(struct rk_catalog *c, enum stmt_id id, int64_t a, const char *text,
                     int64_t *out, struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, id, err);
    int ret = -1;
    if (st) {
        if (text)
            bind_text(st, 1, text);
        else
            sqlite3_bind_int64(st, 1, a);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            if (out) *out = sqlite3_column_int64(st, 0);
            ret = 1;
        } else if (rc == SQLITE_DONE) {
            ret = 0;
        } else {
            conn_fail(cn, err, "read");
        }
        done(st);
    }
    release(c, cn);
    return ret;
}

/* ---- meta ---- */

int catalog_meta_get(struct rk_catalog *c, const char *key, char **value, struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_META_GET, err);
    int ret = -1;
    if (st) {
        bind_text(st, 1, key);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *value = col_dup(st, 0);
            ret = 1;
        } else if (rc == SQLITE_DONE) {
            ret = 0;
        } else {
            conn_fail(cn, err, "read meta");
        }
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_meta_set(struct rk_catalog *c, const char *key, const char *value, struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_META_SET, err);
    if (!st) return -1;
    bind_text(st, 1, key);
    bind_text(st, 2, value);
    return step_done(cn, st, err);
}

/* ---- subscriptions ---- */

/* Steps st to its end, one row of row_size bytes read by read_row per result
 * row, into a growing array in *rows (the caller frees it, also after an
 * error, when it holds the *n rows read before). */
static int collect_rows(struct cat_conn *cn, sqlite3_stmt *st, size_t row_size,
                        void (*read_row)(sqlite3_stmt *, void *), void **rows, size_t *n,
                        const char *what, struct rk_err *err)
{
    unsigned char *a = NULL;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            a = xrealloc(a, cap * row_size);
        }
        read_row(st, a + (*n)++ * row_size);
    }
    *rows = a;
    return rc == SQLITE_DONE ? 0 : conn_fail(cn, err, what);
}

static void read_sub(sqlite3_stmt *st, void *row)
{
    struct rk_subscription *s = row;
    memset(s, 0, sizeof(*s));
    s->id = sqlite3_column_int64(st, 0);
    s->name = col_dup(st, 1);
    col_copy(st, 2, s->status, sizeof(s->status));
    s->created_ms = (uint64_t)sqlite3_column_int64(st, 3);
    s->database_count = sqlite3_column_int64(st, 4);
}

int catalog_sub_insert(struct rk_catalog *c, const char *name, const char *status, uint64_t now,
                       int64_t *id, struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_SUB_INSERT, err);
    if (!st) return -1;
    bind_text(st, 1, name);
    bind_text(st, 2, status);
    sqlite3_bind_int64(st, 3, (int64_t)now);
    if (step_done(cn, st, err) < 0) return -1;
    *id = sqlite3_last_insert_rowid(cn->db);
    return 0;
}

int catalog_sub_get(struct rk_catalog *c, int64_t id, struct rk_subscription *out,
                    struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_SUB_GET, err);
    int ret = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            read_sub(st, out);
            ret = 1;
        } else if (rc == SQLITE_DONE) {
            ret = 0;
        } else {
            conn_fail(cn, err, "read subscription");
        }
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_sub_list(struct rk_catalog *c, struct rk_subscription **out, size_t *n,
                     struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_SUB_LIST, err);
    *out = NULL;
    *n = 0;
    int ret = -1;
    if (st) {
        void *rows = NULL;
        ret = collect_rows(cn, st, sizeof(**out), read_sub, &rows, n, "list subscriptions", err);
        *out = rows;
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_sub_set_status(struct rk_catalog *c, int64_t id, const char *status, struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_SUB_STATUS, err);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, status);
    return step_done(cn, st, err);
}

int catalog_sub_delete(struct rk_catalog *c, int64_t id, struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_SUB_DELETE, err);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, id);
    return step_done(cn, st, err);
}

int catalog_sub_count(struct rk_catalog *c, int64_t *n, struct rk_err *err)
{
    return query_int(c, S_SUB_COUNT, 0, NULL, n, err) < 0 ? -1 : 0;
}

/* ---- databases ---- */

static void read_db(sqlite3_stmt *st, void *row)
{
    struct rk_db *d = row;
    memset(d, 0, sizeof(*d));
    d->id = sqlite3_column_int64(st, 0);
    d->subscription_id = sqlite3_column_int64(st, 1);
    d->name = col_dup(st, 2);
    col_copy(st, 3, d->status, sizeof(d->status));
    col_copy(st, 4, d->protocol, sizeof(d->protocol));
    d->port = (unsigned)sqlite3_column_int(st, 5);
    d->replica_port = (unsigned)sqlite3_column_int(st, 6);
    d->password = col_dup(st, 7);
    d->memory_limit_gb = sqlite3_column_double(st, 8);
    d->dataset_size_gb = sqlite3_column_double(st, 9);
    col_copy(st, 10, d->data_persistence, sizeof(d->data_persistence));
    col_copy(st, 11, d->eviction_policy, sizeof(d->eviction_policy));
    d->replication = sqlite3_column_int(st, 12) != 0;
    d->shards = sqlite3_column_int(st, 13);
    d->periodic_backup_path = col_dup(st, 14);
    d->remote_backup = col_dup(st, 15);
    col_copy(st, 16, d->redis_version, sizeof(d->redis_version));
    d->status_reason = col_dup(st, 17);
    d->created_ms = (uint64_t)sqlite3_column_int64(st, 18);
    d->updated_ms = (uint64_t)sqlite3_column_int64(st, 19);
}

/* Binds ?2..?20 in DB_COLS order (the id, ?1, is the caller's). */
static void bind_db(sqlite3_stmt *st, const struct rk_db *d)
{
    sqlite3_bind_int64(st, 2, d->subscription_id);
    bind_text(st, 3, d->name);
    bind_text(st, 4, d->status);
    bind_text(st, 5, d->protocol);
    sqlite3_bind_int(st, 6, (int)d->port);
    sqlite3_bind_int(st, 7, (int)d->replica_port);
    bind_text(st, 8, d->password ? d->password : "");
    sqlite3_bind_double(st, 9, d->memory_limit_gb);
    sqlite3_bind_double(st, 10, d->dataset_size_gb);
    bind_text(st, 11, d->data_persistence);
    bind_text(st, 12, d->eviction_policy);
    sqlite3_bind_int(st, 13, d->replication);
    sqlite3_bind_int(st, 14, d->shards);
    bind_text(st, 15, d->periodic_backup_path);
    bind_text(st, 16, d->remote_backup);
    bind_text(st, 17, d->redis_version);
    bind_text(st, 18, d->status_reason);
    sqlite3_bind_int64(st, 19, (int64_t)d->created_ms);
    sqlite3_bind_int64(st, 20, (int64_t)d->updated_ms);
}

int catalog_db_insert(struct rk_catalog *c, struct rk_db *db, struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_DB_INSERT, err);
    if (!st) return -1;
    bind_db(st, db);
    if (step_done(cn, st, err) < 0) return -1;
    db->id = sqlite3_last_insert_rowid(cn->db);
    return 0;
}

int catalog_db_get(struct rk_catalog *c, int64_t id, struct rk_db *out, struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_DB_GET, err);
    int ret = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            read_db(st, out);
            ret = 1;
        } else if (rc == SQLITE_DONE) {
            ret = 0;
        } else {
            conn_fail(cn, err, "read database");
        }
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_db_list(struct rk_catalog *c, int64_t sub_id, int64_t offset, int64_t limit,
                    struct rk_db **out, size_t *n, struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_DB_LIST, err);
    *out = NULL;
    *n = 0;
    int ret = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, sub_id);
        sqlite3_bind_int64(st, 2, offset);
        sqlite3_bind_int64(st, 3, limit);
        void *rows = NULL;
        ret = collect_rows(cn, st, sizeof(**out), read_db, &rows, n, "list databases", err);
        *out = rows;
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_db_count(struct rk_catalog *c, int64_t sub_id, int64_t *n, struct rk_err *err)
{
    if (sub_id == 0) return query_int(c, S_DB_COUNT_ALL, 0, NULL, n, err) < 0 ? -1 : 0;
    return query_int(c, S_DB_COUNT_SUB, sub_id, NULL, n, err) < 0 ? -1 : 0;
}

int catalog_db_count_status(struct rk_catalog *c, const char *status, int64_t *n,
                            struct rk_err *err)
{
    return query_int(c, S_DB_COUNT_STATUS, 0, status, n, err) < 0 ? -1 : 0;
}

int catalog_db_update(struct rk_catalog *c, const struct rk_db *db, struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_DB_UPDATE, err);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, db->id);
    bind_db(st, db);
    return step_done(cn, st, err);
}

int catalog_db_set_status(struct rk_catalog *c, int64_t id, const char *status, const char *reason,
                          struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_DB_STATUS, err);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, status);
    bind_text(st, 3, reason);
    return step_done(cn, st, err);
}

int catalog_db_delete(struct rk_catalog *c, int64_t id, struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_DB_DELETE, err);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, id);
    return step_done(cn, st, err);
}

int catalog_db_name_taken(struct rk_catalog *c, int64_t sub_id, const char *name, int64_t except_id,
                          struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_DB_NAME_TAKEN, err);
    int ret = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, sub_id);
        bind_text(st, 2, name);
        sqlite3_bind_int64(st, 3, except_id);
        int rc = sqlite3_step(st);
        ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : conn_fail(cn, err, "read database");
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_db_port_taken(struct rk_catalog *c, unsigned port, int64_t except_id,
                          struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_DB_PORT_TAKEN, err);
    int ret = -1;
    if (st) {
        sqlite3_bind_int(st, 1, (int)port);
        sqlite3_bind_int64(st, 2, except_id);
        int rc = sqlite3_step(st);
        ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : conn_fail(cn, err, "read database");
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_db_set_procs(struct rk_catalog *c, int64_t id, const struct catalog_procs *p,
                         struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_DB_SET_PIDS, err);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, p->pid);
    sqlite3_bind_int(st, 3, p->replica_pid);
    sqlite3_bind_int(st, 4, p->supervised);
    return step_done(cn, st, err);
}

int catalog_db_get_procs(struct rk_catalog *c, int64_t id, struct catalog_procs *p,
                         struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_DB_GET_PIDS, err);
    int ret = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            p->pid = sqlite3_column_int(st, 0);
            p->replica_pid = sqlite3_column_int(st, 1);
            p->supervised = sqlite3_column_int(st, 2) != 0;
            ret = 1;
        } else {
            ret = rc == SQLITE_DONE ? 0 : conn_fail(cn, err, "read database");
        }
        done(st);
    }
    release(c, cn);
    return ret;
}

/* ---- tasks ---- */

static void read_task(sqlite3_stmt *st, void *row)
{
    struct rk_task *t = row;
    memset(t, 0, sizeof(*t));
    col_copy(st, 0, t->id, sizeof(t->id));
    col_copy(st, 1, t->command_type, sizeof(t->command_type));
    col_copy(st, 2, t->status, sizeof(t->status));
    t->description = col_dup(st, 3);
    t->subscription_id = sqlite3_column_int64(st, 4);
    t->database_id = sqlite3_column_int64(st, 5);
    t->resource_id = sqlite3_column_int64(st, 6);
    t->resource = col_dup(st, 7);
    t->error_type = col_dup(st, 8);
    t->error_status = col_dup(st, 9);
    t->error_description = col_dup(st, 10);
    t->bytes = (uint64_t)sqlite3_column_int64(st, 11);
    t->total_bytes = (uint64_t)sqlite3_column_int64(st, 12);
    t->keys = (uint64_t)sqlite3_column_int64(st, 13);
    t->created_ms = (uint64_t)sqlite3_column_int64(st, 14);
    t->updated_ms = (uint64_t)sqlite3_column_int64(st, 15);
}

int catalog_task_insert(struct rk_catalog *c, const struct rk_task *t, const char *params,
                        struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_TASK_INSERT, err);
    if (!st) return -1;
    bind_text(st, 1, t->id);
    bind_text(st, 2, t->command_type);
    bind_text(st, 3, t->status);
    bind_text(st, 4, t->description ? t->description : "");
    sqlite3_bind_int64(st, 5, t->subscription_id);
    sqlite3_bind_int64(st, 6, t->database_id);
    sqlite3_bind_int64(st, 7, t->resource_id);
    bind_text(st, 8, params);
    sqlite3_bind_int64(st, 9, (int64_t)t->created_ms);
    sqlite3_bind_int64(st, 10, (int64_t)t->updated_ms);
    return step_done(cn, st, err);
}

int catalog_task_get(struct rk_catalog *c, const char *id, struct rk_task *out, struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_TASK_GET, err);
    int ret = -1;
    if (st) {
        bind_text(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            read_task(st, out);
            ret = 1;
        } else {
            ret = rc == SQLITE_DONE ? 0 : conn_fail(cn, err, "read task");
        }
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_task_params(struct rk_catalog *c, const char *id, char **params, struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_TASK_PARAMS, err);
    int ret = -1;
    *params = NULL;
    if (st) {
        bind_text(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *params = col_dup(st, 0);
            ret = 1;
        } else {
            ret = rc == SQLITE_DONE ? 0 : conn_fail(cn, err, "read task");
        }
        done(st);
    }
    release(c, cn);
    return ret;
}

static int list_tasks(struct rk_catalog *c, enum stmt_id id, int64_t offset, int64_t limit,
                      struct rk_task **out, size_t *n, struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, id, err);
    *out = NULL;
    *n = 0;
    int ret = -1;
    if (st) {
        if (id == S_TASK_LIST) {
            sqlite3_bind_int64(st, 1, offset);
            sqlite3_bind_int64(st, 2, limit);
        }
        void *rows = NULL;
        ret = collect_rows(cn, st, sizeof(**out), read_task, &rows, n, "list tasks", err);
        *out = rows;
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_task_list(struct rk_catalog *c, int64_t offset, int64_t limit, struct rk_task **out,
                      size_t *n, struct rk_err *err)
{
    return list_tasks(c, S_TASK_LIST, offset, limit, out, n, err);
}

int catalog_task_list_received(struct rk_catalog *c, struct rk_task **out, size_t *n,
                               struct rk_err *err)
{
    return list_tasks(c, S_TASK_RECEIVED, 0, 0, out, n, err);
}

int catalog_task_count(struct rk_catalog *c, const char *status, int64_t *n, struct rk_err *err)
{
    if (!status) return query_int(c, S_TASK_COUNT_ALL, 0, NULL, n, err) < 0 ? -1 : 0;
    return query_int(c, S_TASK_COUNT_STATUS, 0, status, n, err) < 0 ? -1 : 0;
}

int catalog_task_set_status(struct rk_catalog *c, const char *id, const char *status,
                            const char *description, uint64_t now, struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_TASK_STATUS, err);
    if (!st) return -1;
    bind_text(st, 1, id);
    bind_text(st, 2, status);
    bind_text(st, 3, description);
    sqlite3_bind_int64(st, 4, (int64_t)now);
    return step_done(cn, st, err);
}

int catalog_task_set_progress(struct rk_catalog *c, const char *id, uint64_t bytes, uint64_t total,
                              uint64_t keys, uint64_t now, struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_TASK_PROGRESS, err);
    if (!st) return -1;
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, (int64_t)bytes);
    sqlite3_bind_int64(st, 3, (int64_t)total);
    sqlite3_bind_int64(st, 4, (int64_t)keys);
    sqlite3_bind_int64(st, 5, (int64_t)now);
    return step_done(cn, st, err);
}

int catalog_task_finish(struct rk_catalog *c, const struct rk_task *t, uint64_t now,
                        struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_TASK_FINISH, err);
    if (!st) return -1;
    bind_text(st, 1, t->id);
    bind_text(st, 2, t->error_type ? RK_TASK_ERROR : RK_TASK_COMPLETED);
    bind_text(st, 3, t->description ? t->description : "");
    sqlite3_bind_int64(st, 4, t->resource_id);
    bind_text(st, 5, t->resource);
    bind_text(st, 6, t->error_type);
    bind_text(st, 7, t->error_status);
    bind_text(st, 8, t->error_description);
    sqlite3_bind_int64(st, 9, (int64_t)t->bytes);
    sqlite3_bind_int64(st, 10, (int64_t)t->total_bytes);
    sqlite3_bind_int64(st, 11, (int64_t)t->keys);
    sqlite3_bind_int64(st, 12, (int64_t)now);
    return step_done(cn, st, err);
}

int catalog_task_fail_all(struct rk_catalog *c, const char *status, const char *reason,
                          uint64_t now, int64_t *n, struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_TASK_FAIL_ALL, err);
    if (!st) return -1;
    bind_text(st, 1, status);
    bind_text(st, 2, reason);
    sqlite3_bind_int64(st, 3, (int64_t)now);
    if (step_done(cn, st, err) < 0) return -1;
    if (n) *n = sqlite3_changes(cn->db);
    return 0;
}

int catalog_task_prune(struct rk_catalog *c, uint64_t cutoff_ms, int64_t *n, struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_TASK_PRUNE, err);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, (int64_t)cutoff_ms);
    if (step_done(cn, st, err) < 0) return -1;
    if (n) *n = sqlite3_changes(cn->db);
    return 0;
}

/* ---- backups ---- */

static void read_backup(sqlite3_stmt *st, void *row)
{
    struct rk_backup *b = row;
    memset(b, 0, sizeof(*b));
    b->id = sqlite3_column_int64(st, 0);
    b->database_id = sqlite3_column_int64(st, 1);
    col_copy(st, 2, b->task_id, sizeof(b->task_id));
    col_copy(st, 3, b->status, sizeof(b->status));
    b->destination = col_dup(st, 4);
    b->started_ms = (uint64_t)sqlite3_column_int64(st, 5);
    b->finished_ms = (uint64_t)sqlite3_column_int64(st, 6);
    b->size_bytes = (uint64_t)sqlite3_column_int64(st, 7);
    b->keys = (uint64_t)sqlite3_column_int64(st, 8);
    b->rdb_version = sqlite3_column_int(st, 9);
    b->redis_version = col_dup(st, 10);
    b->sha256 = col_dup(st, 11);
    b->files = col_dup(st, 12);
    b->manifest = col_dup(st, 13);
    b->error = col_dup(st, 14);
}

static void bind_backup(sqlite3_stmt *st, const struct rk_backup *b)
{
    sqlite3_bind_int64(st, 2, b->database_id);
    bind_text(st, 3, b->task_id[0] ? b->task_id : NULL);
    bind_text(st, 4, b->status);
    bind_text(st, 5, b->destination ? b->destination : "");
    sqlite3_bind_int64(st, 6, (int64_t)b->started_ms);
    sqlite3_bind_int64(st, 7, (int64_t)b->finished_ms);
    sqlite3_bind_int64(st, 8, (int64_t)b->size_bytes);
    sqlite3_bind_int64(st, 9, (int64_t)b->keys);
    sqlite3_bind_int(st, 10, b->rdb_version);
    bind_text(st, 11, b->redis_version);
    bind_text(st, 12, b->sha256);
    bind_text(st, 13, b->files);
    bind_text(st, 14, b->manifest);
    bind_text(st, 15, b->error);
}

int catalog_backup_insert(struct rk_catalog *c, const struct rk_backup *b, int64_t *id,
                          struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_BACKUP_INSERT, err);
    if (!st) return -1;
    bind_backup(st, b);
    if (step_done(cn, st, err) < 0) return -1;
    if (id) *id = sqlite3_last_insert_rowid(cn->db);
    return 0;
}

int catalog_backup_update(struct rk_catalog *c, const struct rk_backup *b, struct rk_err *err)
{
    struct cat_conn *cn = writer(c);
    sqlite3_stmt *st = prep(cn, S_BACKUP_UPDATE, err);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, b->id);
    bind_backup(st, b);
    return step_done(cn, st, err);
}

int catalog_backup_list(struct rk_catalog *c, int64_t db_id, struct rk_backup **out, size_t *n,
                        struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_BACKUP_LIST, err);
    *out = NULL;
    *n = 0;
    int ret = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, db_id);
        void *rows = NULL;
        ret = collect_rows(cn, st, sizeof(**out), read_backup, &rows, n, "list backups", err);
        *out = rows;
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_backup_latest(struct rk_catalog *c, int64_t db_id, struct rk_backup *out,
                          struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_BACKUP_LATEST, err);
    int ret = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, db_id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            read_backup(st, out);
            ret = 1;
        } else {
            ret = rc == SQLITE_DONE ? 0 : conn_fail(cn, err, "read backup");
        }
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_backup_count_status(struct rk_catalog *c, const char *status, int64_t *n,
                                struct rk_err *err)
{
    return query_int(c, S_BACKUP_COUNT_STATUS, 0, status, n, err) < 0 ? -1 : 0;
}

int catalog_backup_list_status(struct rk_catalog *c, const char *status, struct rk_backup **out,
                               size_t *n, struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_BACKUP_LIST_STATUS, err);
    *out = NULL;
    *n = 0;
    int ret = -1;
    if (st) {
        bind_text(st, 1, status);
        void *rows = NULL;
        ret = collect_rows(cn, st, sizeof(**out), read_backup, &rows, n, "list backups", err);
        *out = rows;
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_task_count_active(struct rk_catalog *c, int64_t db_id, const char *command_type,
                              int64_t *n, struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_TASK_COUNT_ACTIVE, err);
    int ret = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, db_id);
        bind_text(st, 2, command_type);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *n = sqlite3_column_int64(st, 0);
            ret = 0;
        } else {
            conn_fail(cn, err, "count tasks");
        }
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_task_latest(struct rk_catalog *c, int64_t db_id, const char *command_type,
                        struct rk_task *out, struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = prep(cn, S_TASK_LATEST_OF_KIND, err);
    int ret = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, db_id);
        bind_text(st, 2, command_type);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            read_task(st, out);
            ret = 1;
        } else {
            ret = rc == SQLITE_DONE ? 0 : conn_fail(cn, err, "read task");
        }
        done(st);
    }
    release(c, cn);
    return ret;
}

int catalog_check(struct rk_catalog *c, struct rk_err *err)
{
    struct cat_conn *cn = acquire(c);
    sqlite3_stmt *st = NULL;
    int ret = -1;
    if (sqlite3_prepare_v2(cn->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
        conn_fail(cn, err, "integrity check");
    } else if (sqlite3_step(st) != SQLITE_ROW) {
        conn_fail(cn, err, "integrity check");
    } else {
        const unsigned char *r = sqlite3_column_text(st, 0);
        if (r && strcmp((const char *)r, "ok") == 0)
            ret = 0;
        else
            rk_err_set(err, "catalog: integrity check failed: %s", r ? (const char *)r : "?");
    }
    sqlite3_finalize(st);
    /* Consistency the schema cannot state: a database belongs to a subscription
     * that exists; a running task was never left behind by a clean start. */
    if (ret == 0 &&
        sqlite3_prepare_v2(cn->db,
                           "SELECT COUNT(*) FROM databases d WHERE NOT EXISTS "
                           "(SELECT 1 FROM subscriptions s WHERE s.id = d.subscription_id)",
                           -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0)
            ret = rk_err_set(err, "catalog: %lld databases belong to no subscription",
                             (long long)sqlite3_column_int64(st, 0));
        sqlite3_finalize(st);
    }
    release(c, cn);
    return ret;
}
