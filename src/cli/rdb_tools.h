/* rdb_tools.h: what the "rdbkeep rdb" subcommands share (private to src/cli). */
#ifndef RDBKEEP_CLI_RDB_TOOLS_H
#define RDBKEEP_CLI_RDB_TOOLS_H

#include <stdio.h>

#include "base/base.h"
#include "cli/cli.h"
#include "io/io.h"
#include "rdb/rdb.h"

/* An RDB input: a path or "-" (stdin), gunzipped when it starts with the gzip
 * magic, whatever its name. */
struct rdb_input {
    const char *name;
    struct io_source *src;
    struct io_counter read;     /* bytes read from the file (compressed, if gzip) */
    struct io_gunzip_info gzip;
    uint64_t size;              /* the file's size, 0 when unknown (a pipe) */
};

int rdb_input_open(struct rdb_input *in, const char *path, struct rk_err *err);
/* Feeds the whole input to the reader and finishes it. With a label, shows
 * a progress bar on a terminal. */
int rdb_input_run(struct rdb_input *in, struct rdb_reader *r, const char *label,
                  struct rk_err *err);
void rdb_input_close(struct rdb_input *in);

int cli_rdb_verify(int argc, char **argv);
int cli_rdb_inspect(int argc, char **argv);
int cli_rdb_json(int argc, char **argv);
int cli_rdb_convert(int argc, char **argv);
int cli_rdb_pull(int argc, char **argv);
int cli_rdb_push(int argc, char **argv);

/* JSON output of binary strings, streamed piece by piece. Bytes that are
 * valid UTF-8 are written as text; every other byte 0xNN becomes the escape
 * \udcNN (a lone surrogate, as in Python's "surrogateescape"), so any byte
 * string survives the round trip and text stays readable. */
struct json_str {
    FILE *out;
    unsigned char pending[4]; /* an incomplete UTF-8 sequence, maybe split across pieces */
    size_t pending_len;
    unsigned need;            /* continuation bytes it still needs */
    unsigned char lo, hi;     /* the range the next one must be in */
};

void json_str_begin(struct json_str *js, FILE *out);
void json_str_piece(struct json_str *js, const unsigned char *data, size_t len);
void json_str_end(struct json_str *js);
void json_write_string(FILE *out, const unsigned char *data, size_t len);
void json_write_double(FILE *out, double d);

#endif
