/* Private to the io module: helpers its filters share. */
#ifndef RDBKEEP_IO_INT_H
#define RDBKEEP_IO_INT_H

#include "io/io.h"

/* A filter's close/abort once its own work is done: pass it down the chain. */
int io_filter_close_next(struct io_sink *s, struct rk_err *err);
void io_filter_abort_next(struct io_sink *s);

/* A transform turns input bytes into output bytes (compress, decompress). The
 * sink and source adapters in xform.c run any transform in either direction.
 *
 * step() consumes from *in and *inlen (advancing them) and writes at most outcap
 * bytes to out, reporting how many in *produced. finish says no more input will
 * come: the transform must then flush everything and set *done once its last
 * byte has been produced. It must make progress (consume or produce) whenever
 * it can; a call that does neither with input left and room for output is a
 * bug the adapters report instead of looping. */
struct io_xform {
    const char *name;
    int (*step)(struct io_xform *x, const unsigned char **in, size_t *inlen, unsigned char *out,
                size_t outcap, size_t *produced, bool finish, bool *done, struct rk_err *err);
    void (*free)(struct io_xform *x);
};

/* Both take ownership of the transform. */
struct io_sink *io_xform_sink_new(struct io_sink *next, struct io_xform *x);
struct io_source *io_xform_source_new(struct io_source *upstream, struct io_xform *x);

struct io_xform *io_deflate_xform_new(int level);
struct io_xform *io_inflate_xform_new(const struct io_gunzip_opts *opts);

#endif
