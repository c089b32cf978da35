/* redis_int.h: the pieces of src/redis shared between its files (private). */
#ifndef RDBKEEP_REDIS_INT_H
#define RDBKEEP_REDIS_INT_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "redis/redis.h"

/* ---- conn.c: one connection (TCP or TLS), non-blocking, with deadlines ---- */

#define RCONN_AGAIN (-2) /* nothing could be done without waiting */

struct rconn;

/* Connects to host:port (TLS if tls), within cfg->connect_timeout_ms. */
struct rconn *rconn_connect(const struct redis_config *cfg, const char *host, unsigned port,
                            bool tls, struct rk_err *err);
/* Wraps an accepted socket (the replication method's listener); plain TCP. */
struct rconn *rconn_adopt(const struct redis_config *cfg, int fd, const char *name);
void rconn_close(struct rconn *c);
const char *rconn_name(const struct rconn *c);
int rconn_fd(const struct rconn *c);

/* Non-blocking: bytes moved, 0 at the end of the stream (for recv), RCONN_AGAIN,
 * or -1 with err. */
ssize_t rconn_recv(struct rconn *c, void *buf, size_t cap, struct rk_err *err);
ssize_t rconn_send(struct rconn *c, const void *data, size_t len, struct rk_err *err);
/* Waits until the connection can be read (rd) or written (wr), at most
 * timeout_ms. Sets can_read and can_write. Returns 0 (also on timeout: both
 * false), or -1 when cancelled or poll fails. */
int rconn_wait(struct rconn *c, bool rd, bool wr, long timeout_ms, bool *can_read, bool *can_write,
               struct rk_err *err);
/* Blocking forms, failing after cfg->io_timeout_ms without progress. */
ssize_t rconn_read(struct rconn *c, void *buf, size_t cap, struct rk_err *err);
int rconn_write_all(struct rconn *c, const void *data, size_t len, struct rk_err *err);
bool rconn_cancelled(const struct rconn *c);
long rconn_io_timeout(const struct rconn *c);
/* Sets the silence allowed (a FLUSHALL of a big dataset takes a while);
 * returns the previous value. */
long rconn_set_io_timeout(struct rconn *c, long ms);

/* A synchronous command: formatted by hiredis, reply read with hiredis's
 * reader. Returns the reply (free with freeReplyObject; may be an error
 * reply) or NULL with err on an I/O or protocol failure. */
redisReply *rconn_call(struct rconn *c, int argc, const char **argv, const size_t *lens,
                       struct rk_err *err);
/* The same with C strings, NULL-terminated. */
redisReply *rconn_callv(struct rconn *c, struct rk_err *err, ...);
/* Bytes the reply reader holds beyond the last reply (after PSYNC the
 * replication stream may follow a reply in the same read). */
size_t rconn_take_buffered(struct rconn *c, unsigned char *out, size_t cap);
/* AUTH with user and/or password (either may be NULL). */
int rconn_auth(struct rconn *c, const char *user, const char *password, struct rk_err *err);
/* Connects as the URI says and authenticates. */
struct rconn *rconn_open_uri(const struct redis_config *cfg, const struct store_uri *uri,
                             struct rk_err *err);
/* Copies the value of "field:" in an INFO text into out (empty if absent). */
void rconn_info_field(const char *info, const char *field, char *out, size_t outlen);
/* The sum of keys= over the db lines of an INFO keyspace section. */
uint64_t rconn_info_keys(const char *info);

/* ---- framing.c: the replication stream after PSYNC/SYNC -------------------- */

enum repl_state {
    REPL_WAIT_REPLY, /* PSYNC sent: waiting for +FULLRESYNC */
    REPL_WAIT_BULK,  /* waiting for "$<len>" or "$EOF:<mark>" */
    REPL_BODY_LENGTH,
    REPL_BODY_EOF,
    REPL_DONE,
    REPL_FAILED,
};

#define REPL_MARK_LEN 40
#define REPL_LINE_MAX 512

struct repl_framing {
    enum repl_state state;
    char line[REPL_LINE_MAX];
    size_t line_len;
    uint64_t remaining;                /* BODY_LENGTH */
    unsigned char mark[REPL_MARK_LEN]; /* BODY_EOF */
    unsigned char tail[REPL_MARK_LEN]; /* held back: maybe the mark */
    size_t tail_len;
    uint64_t body_bytes; /* payload handed out */
    uint64_t in_bytes;   /* bytes fed */
    /* learned */
    char replid[41];
    long long offset;
    enum redis_framing framing;
    uint64_t declared;
    uint64_t keepalives;
    /* PSYNC was refused with an error (kept in error_reply): the caller may
     * try SYNC. */
    bool psync_refused;
    char error_reply[512];
};

typedef void (*repl_out_fn)(void *ctx, const unsigned char *data, size_t len);

/* psync: the first line is the answer to PSYNC; otherwise to SYNC. */
void repl_framing_init(struct repl_framing *f, bool psync);
/* Consumes up to len bytes (all of them unless the payload ends inside
 * them), handing payload bytes to out. Returns the bytes consumed, or -1
 * with err (state REPL_FAILED; psync_refused says whether it was PSYNC's
 * error answer). */
ssize_t repl_framing_feed(struct repl_framing *f, const unsigned char *data, size_t len,
                          repl_out_fn out, void *ctx, struct rk_err *err);

/* ---- pipe.c: pipelined commands with every reply checked ------------------- */

/* The commands the loader sends, for messages and reply checks. */
enum rcmd {
    RC_FLUSHALL,
    RC_FUNCTION_FLUSH,
    RC_FUNCTION_LOAD,
    RC_SELECT,
    RC_RESTORE,
    RC_DEL,
    RC_SET,
    RC_APPEND,
    RC_RPUSH,
    RC_SADD,
    RC_ZADD,
    RC_HSET,
    RC_HDEL,
    RC_HPEXPIREAT,
    RC_XADD,
    RC_XSETID,
    RC_XGROUP_CREATE,
    RC_XGROUP_DESTROY,
    RC_XGROUP_CREATECONSUMER,
    RC_XCLAIM,
    RC_PEXPIREAT,
    RC_PING,
    RC_COUNT
};

const char *rcmd_name(enum rcmd cmd);

struct rpipe;

/* Called for replies the pipe cannot judge alone: XCLAIM answered with an
 * empty array (the entry no longer exists). */
typedef void (*rpipe_note_fn)(void *ctx, enum rcmd cmd);

struct rpipe *rpipe_new(struct rconn *c, rpipe_note_fn note, void *note_ctx);
void rpipe_free(struct rpipe *p);

/* Starts a command: its reply will be checked, and an error names key. */
void rpipe_begin(struct rpipe *p, enum rcmd cmd, const void *key, size_t key_len);
/* The command's bytes, RESP-encoded: an array header, whole arguments, or an
 * argument streamed in pieces (head, raw..., end). */
void rpipe_argc(struct rpipe *p, uint64_t argc);
void rpipe_arg(struct rpipe *p, const void *data, size_t len);
void rpipe_arg_str(struct rpipe *p, const char *s);
void rpipe_arg_u64(struct rpipe *p, uint64_t v);
void rpipe_arg_i64(struct rpipe *p, int64_t v);
void rpipe_arg_head(struct rpipe *p, uint64_t len);
int rpipe_raw(struct rpipe *p, const void *data, size_t len, struct rk_err *err);
void rpipe_arg_end(struct rpipe *p);
/* An argument sent from the caller's memory without copying it (for big
 * payloads): blocks until it is written, reading replies meanwhile. */
int rpipe_arg_direct(struct rpipe *p, const void *data, size_t len, struct rk_err *err);
/* After each command: sends when enough is buffered; waits (reading
 * replies) while too much is buffered or in flight. */
int rpipe_commit(struct rpipe *p, struct rk_err *err);
/* Sends everything and waits for every reply. */
int rpipe_drain(struct rpipe *p, long timeout_ms, struct rk_err *err);
uint64_t rpipe_commands(const struct rpipe *p);
/* True once an operation of the pipe failed. */
bool rpipe_failed(const struct rpipe *p);
uint64_t rpipe_bytes_sent(const struct rpipe *p);

/* The reply checker on its own (fuzzed): feeds reply bytes, checks each
 * reply against the queue of commands. */
struct rreplies;
struct rreplies *rreplies_new(rpipe_note_fn note, void *note_ctx);
void rreplies_free(struct rreplies *q);
void rreplies_expect(struct rreplies *q, enum rcmd cmd, const void *key, size_t key_len);
uint64_t rreplies_pending(const struct rreplies *q);
/* Returns 0, or -1 with the first error reply ("key "k" (RESTORE): OOM ...")
 * or a protocol error, or replies nobody expected. */
int rreplies_feed(struct rreplies *q, const void *data, size_t len, struct rk_err *err);

/* ---- loader.c: RDB events -> RESTORE or typed commands ---------------------- */

struct target_caps {
    int rdb_version;  /* payloads and files are written for this */
    int major, minor; /* the server's version (Redis numbering) */
    uint64_t proto_max_bulk_len;
    bool abs_ttl;         /* RESTORE ... ABSTTL (5.0) */
    bool functions;       /* FUNCTION LOAD (7.0) */
    bool stream_ext;      /* XSETID ENTRIESADDED/MAXDELETEDID, XGROUP ... ENTRIESREAD (7.0) */
    bool create_consumer; /* XGROUP CREATECONSUMER (6.2) */
    bool hash_field_ttl;  /* HPEXPIREAT (7.4) */
};

struct loader;

struct loader *loader_new(struct rpipe *p, const struct target_caps *caps, uint64_t max_payload,
                          struct redis_load_stats *stats, struct redis_progress *progress,
                          struct rk_err *err);
void loader_free(struct loader *l);
/* The reader handler: one reader per input file, all into one loader. */
int loader_event(void *loader, const struct rdb_event *ev, struct rk_err *err);
/* Copies the dumper's counts into the stats. */
void loader_finish_stats(struct loader *l);
/* True once an error came from the target (or the connection to it). */
const bool *loader_target_failed(const struct loader *l);

/* ---- typed.c: a value as commands ------------------------------------------ */

struct typed;

struct typed *typed_new(struct rpipe *p, const struct target_caps *caps,
                        struct redis_load_stats *st);
void typed_free(struct typed *t);
/* The key begins (after SELECT and DEL were sent). */
void typed_begin(struct typed *t, const struct rdb_key_info *k);
int typed_value(struct typed *t, const struct rdb_value *v, struct rk_err *err);
/* The value is complete: remaining batches, TTLs. */
int typed_end(struct typed *t, struct rk_err *err);

/* ---- keyset.c: the keys a replication load has met, as fingerprints ------------ */

struct keyset;

struct keyset *keyset_new(void);
void keyset_free(struct keyset *set);
/* Room for `more` keys beyond those held, so that they come without a
 * rehash (an RDB's resize hint; a hint beyond reason is trusted only in
 * part). */
void keyset_reserve(struct keyset *set, uint64_t more);
/* Adds (db, key) and returns true; returns false when it was met before,
 * or, about once in 2^65 / n^2 loads of n keys, when a different key has
 * the same 64-bit fingerprint. */
bool keyset_add(struct keyset *set, int db, const void *key, size_t len);
bool keyset_contains(const struct keyset *set, int db, const void *key, size_t len);
uint64_t keyset_count(const struct keyset *set);
uint64_t keyset_capacity(const struct keyset *set); /* slots, 8 bytes each */

/* ---- master.c: the replication method ---------------------------------------- */

struct master_plan {
    const struct redis_config *cfg;
    struct rconn *ctl; /* the control connection to the target (authenticated) */
    const struct target_caps *caps;
    const struct redis_load_inputs *in;
    const char *listen_host;
    unsigned listen_port;
    struct redis_load_stats *stats;
    struct redis_progress *progress;
};

/* Returns 0 when loaded; -1 with err on failure. *fallback is set when the
 * method could not be started and nothing was changed on the target (the
 * caller may use RESTORE instead); err then says why. */
int master_load(const struct master_plan *plan, bool *fallback, struct rk_err *err);

/* ---- shared helpers ----------------------------------------------------------- */

/* Reads every input through gunzip-by-magic and a reader with the handler. */
struct input_run {
    const struct redis_load_inputs *in;
    struct redis_progress *progress;
    struct redis_load_stats *stats;
    bool (*cancelled)(void *arg);
    void *cancel_arg;
    /* Called before each file with its reader (may be NULL). */
    void (*file_begin)(void *ctx, size_t index, struct rdb_reader *r);
    void *ctx;
    /* Set by the handler when its error is the target's, not the input's
     * (the message then gets no file name). */
    const bool *handler_error;
};
int input_run_all(const struct input_run *run, rdb_handler_fn handler, void *ctx,
                  struct rk_err *err);

/* Quoted key for messages: "name" with \xNN escapes, cut at 64 chars. */
void key_quote(const void *key, size_t len, char *out, size_t outlen);

#endif
