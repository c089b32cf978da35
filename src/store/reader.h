/* reader: the resumable download shared by the network drivers (reader.c). */
#ifndef RDBKEEP_STORE_READER_H
#define RDBKEEP_STORE_READER_H

#include "store/xfer.h"

struct reader_ops {
    /* Sets up x (already reset) to fetch the object from byte offset. */
    void (*prepare)(void *ctx, struct xfer *x, uint64_t offset);
    /* The display name for messages ("S3 GET s3://b/k"). */
    const char *(*what)(void *ctx);
    /* Words a finished answer with a non-success status; returns its result. */
    int (*http_error)(void *ctx, struct xfer *x, struct rk_err *err);
    void (*free_ctx)(void *ctx);
};

/* Takes ownership of ctx (freed with free_ctx, also on failure). */
struct io_source *reader_open(const struct store_config *cfg, const struct reader_ops *ops,
                              void *ctx, uint64_t offset, struct store_stat *st, int *result,
                              struct rk_err *err);

#endif
