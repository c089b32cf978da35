/* parts: the writer shared by S3/GCS (multipart upload) and Azure (blocks).
 *
 * A write of known size up to single_limit is one streamed request. Anything
 * else is cut into parts of part_size held in two buffers: part n uploads in
 * the background while part n+1 fills, so memory stays at two parts whatever
 * the size. A failed part is sent again from its buffer while the failure is
 * transient (5xx, reset, stall), with backoff. A stream that ends within the
 * first part goes out as one request. */
#ifndef RDBKEEP_STORE_PARTS_H
#define RDBKEEP_STORE_PARTS_H

#include "store/xfer.h"

struct parts_ops {
    /* Sets up x (reset) for the streamed single request of exactly size bytes. */
    struct curl_slist *(*prepare_stream)(void *ctx, struct xfer *x, uint64_t size);
    /* One request with the whole (small) object from memory; retries itself. */
    int (*put_small)(void *ctx, const unsigned char *data, size_t len, struct rk_err *err);
    /* Before the first part (S3: CreateMultipartUpload). May be NULL. */
    int (*begin)(void *ctx, struct rk_err *err);
    /* Sets up x (reset) to upload part number (1-based) from data. */
    struct curl_slist *(*prepare_part)(void *ctx, struct xfer *x, int number,
                                       const unsigned char *data, size_t len);
    /* A part was accepted (x holds the answer): remember what completion needs. */
    int (*part_done)(void *ctx, struct xfer *x, int number, struct rk_err *err);
    /* After the last part: make the object appear. */
    int (*complete)(void *ctx, int parts, struct rk_err *err);
    /* Discard the parts (best effort). */
    void (*abort)(void *ctx);
    /* Words a failed answer; returns its store_result. */
    int (*http_error)(void *ctx, struct xfer *x, const char *what, struct rk_err *err);
    void (*free_ctx)(void *ctx);
};

struct parts_limits {
    uint64_t part_size;
    uint64_t min_part; /* the store's minimum for all parts but the last */
    uint64_t max_part;
    int max_parts;
    uint64_t single_limit;
};

/* Takes ownership of ctx. what: the display name for messages. */
struct io_sink *parts_writer_new(const struct store_config *cfg, const struct parts_ops *ops,
                                 void *ctx, const char *what, int64_t size_hint,
                                 const struct parts_limits *lim, int *result, struct rk_err *err);

#endif
