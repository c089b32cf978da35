/* The import of a managed database, shared by job_import.c (the data path)
 * and staging.c (the staging redis-server and the swap). Private.
 *
 * The new data goes to a staging redis-server of its own, in a directory
 * next to the database's, <db_root>/<id>.import, which loads it at start-up
 * from a FIFO as the RDB stream is written: the download, the conversion and
 * redis-server's own loader run at the same time. Once it has loaded (and
 * fits the database's memory limit) it is given the database's persistence
 * and maxmemory, and swapped in without loading anything again: the old
 * primary stops, the staging server takes the database's port (CONFIG SET
 * port) and its directory takes the database's name.
 *
 * The commit point is one rename: <id>.import -> <id>, made right after
 * <id> -> <id>.replaced. A daemon that dies before it leaves the old
 * directory (or puts it back: <id>.replaced without <id>), and the next start
 * kills the staging server and removes its directory; one that dies after it
 * leaves the marker file inside <id>, and the next start finishes the swap
 * (import_recover). */
#ifndef RDBKEEP_SERVICE_IMPORT_H
#define RDBKEEP_SERVICE_IMPORT_H

#include "service/internal.h"

#include <stdbool.h>
#include <stdint.h>

/* In the staging directory from its creation; inside the database's after the
 * commit until the swap is finished. "port=<staging port>\n". */
#define IMPORT_MARKER "rdbkeep-import"

/* The swap moves the staging server onto the database's port with CONFIG
 * SET port, which redis-server accepts from 7.0 on. An older one refuses it
 * only once the old primary has stopped, and the database is left with what
 * its persistence kept: such an import must not start. */
bool import_swap_supported(const char *redis_version);

struct staging;

/* cancelled(arg) is polled while the staging server loads. keep_rdb: the
 * stream is also kept as the new dump.rdb (snapshot persistence). */
struct staging *staging_new(struct rk_service *svc, const struct rk_db *db, bool keep_rdb,
                            bool (*cancelled)(void *arg), void *arg);
/* Makes the directory, the FIFO and the config, starts the staging server
 * and waits until it opens the FIFO. */
int staging_start(struct staging *st, struct rk_err *err);
/* The RDB stream, in order (an rdb_write_fn). Fails when the staging server
 * dies, the memory limit is passed or the task is cancelled. */
int staging_write(void *st, const void *data, size_t len, struct rk_err *err);
/* The stream is complete: closes the FIFO, flushes the kept file. */
int staging_end_input(struct staging *st, struct rk_err *err);
/* Waits until the staging server has loaded everything and answers. */
int staging_wait_loaded(struct staging *st, struct rk_err *err);
/* used_memory of the staging server now; the highest seen while it loaded
 * when that passed the limit (then true). */
int staging_used_memory(struct staging *st, uint64_t *used, struct rk_err *err);
bool staging_over_limit(struct staging *st, uint64_t *used);
/* The database's maxmemory and persistence on the staging server; for AOF
 * persistence, waits until its rewrite has written the AOF. */
int staging_settle(struct staging *st, struct rk_err *err);
/* The swap, then the clean-up of the old directory. 0 once committed (the
 * new data serves), -1 with the old data serving again. */
int staging_swap(struct staging *st, struct rk_err *err);
bool staging_committed(const struct staging *st);
unsigned staging_port(const struct staging *st);
/* Kills the staging server and removes its directory unless swapped in. */
void staging_free(struct staging *st);

#endif
