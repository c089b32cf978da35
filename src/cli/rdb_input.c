/* Opening RDB inputs and pumping them through the reader. */
#include "cli/rdb_tools.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (256u << 10)

int rdb_input_open(struct rdb_input *in, const char *path, struct rk_err *err)
{
    memset(in, 0, sizeof(*in));
    in->name = strcmp(path, "-") == 0 ? "stdin" : path;
    int fd = STDIN_FILENO;
    if (strcmp(path, "-") != 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return rk_err_set(err, "%s", strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) in->size = (uint64_t)st.st_size;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return rk_err_set(err, "is a directory");
    }
    struct io_source *src = io_fd_source_new(fd, fd != STDIN_FILENO);
    src = io_count_source_new(src, &in->read);
    struct io_gunzip_opts gz = {.info = &in->gzip};
    in->src = io_gunzip_source_new(src, &gz);
    return 0;
}

int rdb_input_run(struct rdb_input *in, struct rdb_reader *r, const char *label, struct rk_err *err)
{
    unsigned char *buf = xmalloc(CHUNK);
    struct cli_progress bar;
    cli_progress_start(&bar, label ? label : "", in->size);
    if (!label) bar.enabled = false;
    int rc = 0;
    for (;;) {
        ssize_t n = io_source_read(in->src, buf, CHUNK, err);
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0) {
            rc = rdb_reader_finish(r, err);
            break;
        }
        if (rdb_reader_feed(r, buf, (size_t)n, err)) {
            rc = -1;
            break;
        }
        cli_progress_update(&bar, io_counter_get(&in->read), 0);
    }
    cli_progress_finish(&bar);
    free(buf);
    return rc;
}

void rdb_input_close(struct rdb_input *in)
{
    if (in->src) io_source_free(in->src);
    in->src = NULL;
}
