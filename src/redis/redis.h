/* redis: the live data path.
 *
 *   snapshot   a replication client takes an RDB snapshot from a running Redis
 *              or Valkey and hands it out as an io source, byte for byte as
 *              the server sends it: nothing is written to disk on the way.
 *   pull       snapshot (or any RDB source) -> verify + gzip + sha256 + count
 *              -> a sink (a store writer), committed only if the RDB verified.
 *   load       RDB sources (files, objects, snapshots; gzip by magic) ->
 *              reader -> DUMP payloads for the target's RDB version ->
 *              pipelined RESTORE into a running server, or, for the full
 *              replace case, a replication full sync the target loads with
 *              its own loader (see redis_load_options.method).
 *
 * Endpoints are named by parsed redis:// or rediss:// URIs (store_uri_parse
 * with STORE_TYPE_REDIS): host, port, and an optional password or user and
 * password. Passwords never appear in messages: endpoints are shown as
 * host:port.
 *
 * Threads: the functions block their caller. Progress counters may be read
 * from another thread while they run; the cancel hook is polled at least
 * every 200 ms. Different calls are independent. TLS writes may raise
 * SIGPIPE: the process must ignore it (the CLI and the daemon do). */
#ifndef RDBKEEP_REDIS_H
#define RDBKEEP_REDIS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "io/io.h"
#include "rdb/rdb.h"
#include "store/store.h"

/* ---------------------------------------------------------------- config -- */

struct redis_config {
    long connect_timeout_ms; /* TCP connect and TLS handshake; default 10 s */
    long io_timeout_ms;      /* a connection that moves no byte this long fails; default 60 s */
    /* rediss:// */
    const char *tls_ca_file;   /* trust anchors (PEM); NULL: the system's */
    const char *tls_cert_file; /* client certificate (PEM), for tls-auth-clients */
    const char *tls_key_file;
    const char *tls_server_name; /* name to verify and send as SNI; default: the host */
    bool tls_insecure;           /* do not verify the server's certificate */
    /* Polled while waiting; returning true stops the operation with
     * "cancelled". */
    bool (*cancelled)(void *arg);
    void *cancel_arg;
};

/* Defaults (the values above). */
void redis_config_init(struct redis_config *cfg);

/* Progress of a running pull or load, readable from any thread. */
struct redis_progress {
    struct io_counter bytes;     /* RDB bytes received (pull) or source bytes read (load) */
    _Atomic uint64_t keys;       /* keys verified (pull) or loaded (load) */
    _Atomic uint64_t total;      /* bytes expected when known (load: sum of source sizes, pull:
                                  * the announced size of a disk-based snapshot), else 0 */
    _Atomic uint64_t total_keys; /* pull: keys the server held when the snapshot began, else 0 */
};

/* -------------------------------------------------------------- snapshot -- */

enum redis_framing {
    REDIS_FRAMING_NONE,
    REDIS_FRAMING_LENGTH, /* "$<len>": a disk-based transfer */
    REDIS_FRAMING_EOF,    /* "$EOF:<mark>": diskless */
};

/* What the handshake learned; filled while the source runs. */
struct redis_snapshot_info {
    char server[64];  /* "redis 7.0.15", "valkey 8.1.0" (empty if INFO was refused) */
    char replid[41];  /* from +FULLRESYNC (empty after SYNC) */
    long long offset; /* replication offset of the snapshot, -1 after SYNC */
    bool psync;       /* PSYNC (else the legacy SYNC) */
    bool rdb_only;    /* the server accepted REPLCONF rdb-only */
    enum redis_framing framing;
    uint64_t declared_size; /* "$<len>" framing: the size announced */
    uint64_t keepalives;    /* newlines received while the server prepared the snapshot */
    uint64_t keys_expected; /* keys the server held (INFO keyspace) just before, else 0 */
};

/* Connects to the server named by uri (redis:// or rediss://), authenticates
 * and asks for a full synchronisation: PING, AUTH, REPLCONF capa eof capa
 * psync2, REPLCONF rdb-only 1 where the server has it, PSYNC ? -1 falling
 * back to SYNC. Returns a source of the RDB file's bytes (exactly the file:
 * the framing is removed). A connection that breaks or falls silent before
 * the end is a read error, never an early end. info may be NULL; when given
 * it must outlive the source. */
struct io_source *redis_snapshot_open(const struct redis_config *cfg, const struct store_uri *uri,
                                      struct redis_snapshot_info *info, struct rk_err *err);

/* A store_redis_open_fn: plug it into struct store_config (redis_open) with a
 * const struct redis_config * as its argument (NULL: defaults), and
 * store_open_read() reads redis:// and rediss:// URIs as snapshots. */
struct io_source *redis_store_open(void *cfg, const struct store_uri *uri, struct rk_err *err);

/* ------------------------------------------------------------------ pull -- */

struct redis_pull_options {
    bool gzip;                       /* compress what is stored */
    int gzip_level;                  /* ISA-L level 1..3; 0: IO_GZIP_DEFAULT_LEVEL */
    struct redis_progress *progress; /* optional */
    bool (*cancelled)(void *arg);    /* optional, polled per chunk */
    void *cancel_arg;
};

struct redis_pull_result {
    uint64_t rdb_bytes;    /* the RDB file's size */
    uint64_t stored_bytes; /* what went into the sink (after gzip) */
    uint64_t keys;
    int rdb_version;
    enum rdb_magic magic;
    enum rdb_checksum_status checksum;
    char sha256[65];                     /* of the stored bytes */
    struct redis_snapshot_info snapshot; /* redis_pull only */
};

/* Copies an RDB byte stream into dst: the stream is verified as it passes
 * (every structure, every encoding, the CRC64), and in parallel gzipped
 * (if asked), hashed and counted into dst. dst is committed (io_sink_close)
 * only if the stream was a complete RDB file whose checksum is right (or
 * was saved without one) with nothing after it; otherwise dst is aborted and
 * the error says what was wrong and where. Takes ownership of dst (freed on
 * return), not of src. */
int redis_pull_stream(struct io_source *src, struct io_sink *dst,
                      const struct redis_pull_options *o, struct redis_pull_result *res,
                      struct rk_err *err);

/* redis_snapshot_open() + redis_pull_stream(). Takes ownership of dst. */
int redis_pull(const struct redis_config *cfg, const struct store_uri *uri, struct io_sink *dst,
               const struct redis_pull_options *o, struct redis_pull_result *res,
               struct rk_err *err);

/* ------------------------------------------------------------------ load -- */

enum redis_load_method {
    REDIS_LOAD_AUTO,        /* replication when it can be used (see below), else RESTORE */
    REDIS_LOAD_RESTORE,     /* pipelined RESTORE, typed commands for big values */
    REDIS_LOAD_REPLICATION, /* only the replication full sync; fail if it cannot be used */
};

/* The inputs of a load: count RDB files (or gzipped files, or snapshots) that
 * together are one dataset, such as the shards of a cluster. They are opened
 * one after the other, when their turn comes, by open(arg, index, &size,
 * err), which returns a source (owned by the loader) and sets size to its
 * length in bytes when known (else 0). names[i] labels messages. */
struct redis_load_inputs {
    size_t count;
    const char *const *names;
    struct io_source *(*open)(void *arg, size_t index, uint64_t *size, struct rk_err *err);
    void *arg;
};

struct redis_load_options {
    enum redis_load_method method;
    /* Merge into what the target holds (RESTORE ... REPLACE, no FLUSHALL);
     * implies the RESTORE method. */
    bool no_flush;
    /* Largest RESTORE payload (default 64 MiB); always kept under the
     * target's proto-max-bulk-len. Bigger values go as typed commands. */
    uint64_t max_payload;
    /* The RDB version the target reads; 0: learned from INFO server. */
    int target_version;
    /* Replication method: the address the target connects back to (default:
     * our address on the connection to it) and the port to listen on (0: any
     * free one). */
    const char *listen_host;
    unsigned listen_port;
    struct redis_progress *progress; /* optional */
};

struct redis_load_stats {
    /* The target. */
    char server[64];    /* "redis 7.0.15" */
    int target_version; /* the RDB version payloads were written for */
    uint64_t proto_max_bulk_len;
    enum redis_load_method method; /* the one used (or that failed): RESTORE or REPLICATION */
    bool target_flushed;           /* FLUSHALL done: what the target held is gone */
    char method_note[RK_ERR_MAX];  /* why AUTO did not use replication, when it did not */
    /* The data. */
    uint64_t files;
    uint64_t bytes_read;    /* from the sources (compressed bytes, if gzip) */
    uint64_t rdb_bytes;     /* RDB bytes parsed */
    uint64_t keys;          /* loaded */
    uint64_t keys_restored; /* of which with RESTORE */
    uint64_t keys_typed;    /* of which as typed commands (bigger than a payload may be) */
    uint64_t typed_commands;
    uint64_t keys_expired;        /* skipped: already expired */
    uint64_t keys_empty;          /* skipped: empty collections (Redis drops them too) */
    uint64_t fields_expired;      /* hash fields skipped: already expired */
    uint64_t field_ttls_dropped;  /* hash field TTLs the target cannot store (< 7.4) */
    uint64_t functions;           /* function libraries loaded */
    uint64_t functions_dropped;   /* for a target without functions (< 7.0) */
    uint64_t module_aux_dropped;  /* module aux data (no command can load it) */
    uint64_t stream_pel_dropped;  /* pending entries whose message was deleted (XCLAIM cannot
                                   * recreate them) */
    uint64_t stream_idmp_dropped; /* RDB 13 stream idempotency data */
    uint64_t databases;           /* distinct databases written to */
    uint64_t commands;            /* commands sent */
    uint64_t bytes_sent;          /* to the target */
};

/* Loads the inputs into the server named by target (redis:// or rediss://).
 * Unless no_flush, the target ends up holding exactly the data of the
 * inputs: FLUSHALL (and FUNCTION FLUSH on 7.0+) first. Keys already expired
 * are skipped; expiry stays absolute. Every reply is checked: the first
 * error stops the load, and the message names the key and gives the
 * server's words. A failed load leaves the target partly loaded.
 *
 * Methods: RESTORE pipelines "RESTORE key ttl payload ABSTTL REPLACE" with
 * payloads written for the target's RDB version, SELECT between databases,
 * FUNCTION LOAD REPLACE for functions, and typed commands (RPUSH, SADD,
 * ZADD, HSET, SET+APPEND, XADD, XGROUP, XCLAIM...) in bounded batches for
 * values over max_payload. REPLICATION makes the target a replica of this
 * process for one full sync (the RDB written for its version), then
 * REPLICAOF NO ONE; it is used by AUTO when the target is a master outside a
 * cluster, without maxmemory, not replicating over TLS, allows CONFIG and
 * REPLICAOF, and can connect back to us, with a single input, and never
 * with no_flush. See docs/redis.md. */
int redis_load(const struct redis_config *cfg, const struct store_uri *target,
               const struct redis_load_inputs *in, const struct redis_load_options *o,
               struct redis_load_stats *stats, struct rk_err *err);

const char *redis_load_method_name(enum redis_load_method m);

/* --------------------------------------------------------------- helpers -- */

/* The RDB version a server writes and reads, from its INFO server fields
 * redis_version and valkey_version (valkey may be NULL), capped at what the
 * writer can write (RDB_WRITER_MAX_VERSION). Returns -1 for a version it
 * cannot tell or one that is too old (Redis < 2.6). */
int redis_rdb_version_for(const char *redis_version, const char *valkey_version);

#endif
