/* io: byte streams and the filters that sit on them.
 *
 * Two directions, because the data path needs both:
 *
 *   PUSH (backups): the producer owns the loop and writes into a sink.
 *     socket -> io_tee(verifier, io_gzip_sink -> io_sha256_sink -> io_count_sink -> store writer)
 *
 *   PULL (imports): the consumer owns the loop and reads from a source.
 *     store reader -> io_gunzip_source (gzip by magic, else passthrough) -> consumer
 *
 * Ownership: a filter takes ownership of the stream it wraps (its "next" sink
 * or its "upstream" source). Freeing the head of a chain frees the whole chain.
 * Results that outlive the chain (a digest, a byte count, what the gunzip
 * stage saw) go into small structs the caller owns and passes in.
 *
 * Sink life cycle: write* then exactly one of
 *   io_sink_close()  finish: flush, write trailers, then close the next stage
 *                    (for a store writer: commit, the object becomes visible);
 *   io_sink_abort()  discard: abort the next stage (a store writer removes its
 *                    temporary object or aborts its multipart upload);
 * then io_sink_free(). Freeing an open sink aborts it first. After a failed
 * write the sink only accepts abort/free.
 *
 * Source life cycle: io_source_read() until it returns 0 (end) or -1 (error),
 * then io_source_free().
 *
 * Nothing here is thread-safe except the counters in struct io_counter, which
 * another thread may read while the stream runs (progress reporting). */
#ifndef RDBKEEP_IO_H
#define RDBKEEP_IO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/base.h"

/* ---------------------------------------------------------------- sinks -- */

struct io_sink;
struct io_source;

struct io_sink_ops {
    const char *name;
    /* Consume all len bytes or fail. */
    int (*write)(struct io_sink *s, const void *data, size_t len, struct rk_err *err);
    /* Finish successfully; responsible for closing the next stage. */
    int (*close)(struct io_sink *s, struct rk_err *err);
    /* Discard; responsible for aborting the next stage. Must not fail. */
    void (*abort)(struct io_sink *s);
    /* Release memory only (the next stage is freed by the generic code). */
    void (*free)(struct io_sink *s);
};

/* Returned by the optional fast paths below: "use the ordinary loop". */
#define IO_DECLINED 1

enum io_state { IO_OPEN = 0, IO_CLOSED, IO_ABORTED, IO_FAILED };

/* Embed as the first member of an implementation's struct. */
struct io_sink {
    const struct io_sink_ops *ops;
    struct io_sink *next; /* owned; NULL for a terminal sink */
    enum io_state state;
    /* Optional fast path (NULL after io_sink_init): take everything src has,
     * reading it straight into the sink's own buffers (a network upload reads
     * into libcurl's buffer, one copy fewer). Returns 0, -1 on error, or
     * IO_DECLINED. Does not close. Kept out of the ops table so that tables
     * written before it existed still compile. */
    int (*write_from)(struct io_sink *s, struct io_source *src, uint64_t *copied,
                      struct rk_err *err);
};

/* For implementations: sets up the common part. */
void io_sink_init(struct io_sink *s, const struct io_sink_ops *ops, struct io_sink *next);

int io_sink_write(struct io_sink *s, const void *data, size_t len, struct rk_err *err);
/* Writes everything src has into s (until src ends): through the sink's
 * write_from, else the source's pump, else a loop with a large buffer. *copied
 * (may be NULL) gets the count. Does not close s. */
int io_sink_write_from(struct io_sink *s, struct io_source *src, uint64_t *copied,
                       struct rk_err *err);
int io_sink_close(struct io_sink *s, struct rk_err *err);
void io_sink_abort(struct io_sink *s);
void io_sink_free(struct io_sink *s);

/* Terminal sinks. */
/* Writes to fd. close_fd: close() it on close/abort. fsync_on_close: fsync
 * before reporting success. */
struct io_sink *io_fd_sink_new(int fd, bool close_fd, bool fsync_on_close);
/* Appends to a caller-owned buffer (tests, small objects). */
struct io_sink *io_buf_sink_new(struct rk_buf *out);
/* Discards everything. */
struct io_sink *io_null_sink_new(void);
/* Calls the caller's functions: the adapter for push parsers and verifiers.
 * close_fn and abort_fn may be NULL. */
typedef int (*io_write_fn)(void *arg, const void *data, size_t len, struct rk_err *err);
typedef int (*io_close_fn)(void *arg, struct rk_err *err);
typedef void (*io_abort_fn)(void *arg);
struct io_sink *io_fn_sink_new(io_write_fn write_fn, io_close_fn close_fn, io_abort_fn abort_fn,
                               void *arg);
/* Writes every byte to both a and b (owns both). Close closes a then b; a
 * failure of either aborts the other. */
struct io_sink *io_tee_new(struct io_sink *a, struct io_sink *b);

/* -------------------------------------------------------------- sources -- */

struct io_source;

struct io_source_ops {
    const char *name;
    /* Returns bytes read (> 0), 0 at the end, -1 on error. */
    ssize_t (*read)(struct io_source *s, void *buf, size_t cap, struct rk_err *err);
    void (*free)(struct io_source *s);
};

struct io_source {
    const struct io_source_ops *ops;
    struct io_source *upstream; /* owned; NULL for an origin */
    bool failed;
    bool ended;
    /* Optional fast path (NULL after io_source_init): write everything that
     * is left into dst from the source's own buffers (a download writes from
     * libcurl's buffer, one copy fewer). Returns 0, -1 on error, or
     * IO_DECLINED (nothing consumed). Does not close dst. */
    int (*pump)(struct io_source *s, struct io_sink *dst, uint64_t *copied, struct rk_err *err);
};

void io_source_init(struct io_source *s, const struct io_source_ops *ops,
                    struct io_source *upstream);

/* Returns bytes read (> 0), 0 at the end of the stream, -1 on error. Never
 * returns 0 before the end. */
ssize_t io_source_read(struct io_source *s, void *buf, size_t cap, struct rk_err *err);
/* Reads exactly len bytes unless the stream ends first; returns the count
 * read (short only at the end) or -1. */
ssize_t io_source_read_full(struct io_source *s, void *buf, size_t len, struct rk_err *err);
void io_source_free(struct io_source *s);

struct io_source *io_fd_source_new(int fd, bool close_fd);
/* The same for a pipe, a socket or a device, which can stall: reads wait in
 * poll() and give up with "cancelled" once cancelled(arg) says so (a signal
 * meant for another thread would not interrupt a blocked read). */
struct io_source *io_fd_source_new_cancellable(int fd, bool close_fd, bool (*cancelled)(void *),
                                               void *cancel_arg);
/* Reads a caller-owned memory region (borrowed; must outlive the source). */
struct io_source *io_mem_source_new(const void *data, size_t len);
typedef ssize_t (*io_read_fn)(void *arg, void *buf, size_t cap, struct rk_err *err);
typedef void (*io_free_fn)(void *arg);
struct io_source *io_fn_source_new(io_read_fn read_fn, io_free_fn free_fn, void *arg);

/* Pumps src into dst until src ends (io_sink_write_from). Does not close dst
 * (the caller decides between close and abort). *copied (may be NULL) gets
 * the byte count. */
int io_copy(struct io_source *src, struct io_sink *dst, uint64_t *copied, struct rk_err *err);

/* -------------------------------------------------------------- filters -- */

/* Counting: bytes seen so far, readable from another thread while the stream
 * runs. on_count (optional) is called in the stream's thread after each chunk
 * with the new total (a progress bar's hook); returning non-zero stops the
 * stream with an error ("cancelled"). */
struct io_counter {
    _Atomic uint64_t bytes;
    int (*on_count)(void *arg, uint64_t total);
    void *on_count_arg;
};
static inline uint64_t io_counter_get(const struct io_counter *c)
{
    return atomic_load_explicit(&c->bytes, memory_order_relaxed);
}
struct io_sink *io_count_sink_new(struct io_sink *next, struct io_counter *counter);
struct io_source *io_count_source_new(struct io_source *upstream, struct io_counter *counter);

/* SHA-256 of every byte that passes. The digest is filled when the sink
 * closes successfully or the source reaches its end; done says so. */
struct io_digest {
    unsigned char sha256[32];
    char hex[65];
    bool done;
};
struct io_sink *io_sha256_sink_new(struct io_sink *next, struct io_digest *digest);
struct io_source *io_sha256_source_new(struct io_source *upstream, struct io_digest *digest);

/* gzip compression with ISA-L. level 1..3 (ISA-L's levels; 1 is the fast one
 * and already matches gzip -1 in size on RDB data). One member. */
#define IO_GZIP_DEFAULT_LEVEL 1
struct io_sink *io_gzip_sink_new(struct io_sink *next, int level);
struct io_source *io_gzip_source_new(struct io_source *upstream, int level);

/* Decompression. The input is gzip if it starts with the gzip magic (1f 8b);
 * anything else passes through unchanged (unless require_gzip). Several
 * concatenated gzip members are one stream. Every member's CRC-32 and length
 * are checked. Errors name the compressed byte offset. */
struct io_gunzip_info {
    bool gzip;          /* the input was gzip */
    uint64_t members;   /* gzip members decoded */
    uint64_t bytes_in;  /* compressed bytes consumed */
    uint64_t bytes_out; /* bytes produced */
};
struct io_gunzip_opts {
    /* Fail once the output exceeds this many bytes (0: no limit). The guard
     * against decompression bombs: deflate expands at most about 1032:1, so
     * the damage a small input can do is bounded by output size, not ratio. */
    uint64_t max_output;
    /* Fail once the output exceeds max_ratio times the input read so far,
     * checked after the first MiB of output (0: no limit). */
    uint32_t max_ratio;
    bool require_gzip;
    struct io_gunzip_info *info; /* optional, filled as the stream runs */
};
struct io_source *io_gunzip_source_new(struct io_source *upstream,
                                       const struct io_gunzip_opts *opts);
struct io_sink *io_gunzip_sink_new(struct io_sink *next, const struct io_gunzip_opts *opts);

/* True when data starts with the gzip magic bytes. */
bool io_is_gzip_magic(const void *data, size_t len);

/* One-shot SHA-256 helpers for small data (signers, tests). hex needs 65 bytes. */
void io_sha256(const void *data, size_t len, unsigned char out[32]);
void io_hex(const unsigned char *bin, size_t len, char *hex);

#endif
