/* redis_cli.h: what "rdbkeep rdb pull" and "rdb push" share (private to src/cli). */
#ifndef RDBKEEP_CLI_REDIS_CLI_H
#define RDBKEEP_CLI_REDIS_CLI_H

#include <stdbool.h>

#include "redis/redis.h"
#include "store/store.h"

struct redis_cli {
    const char *tool; /* "pull", "push": for messages */
    struct redis_config redis;
    struct store_config store;
    bool quiet;
};

/* Defaults and the environment (store credentials, RDBKEEP_CA_FILE). Returns
 * a CLI exit code: CLI_EXIT_OK to go on. */
int redis_cli_init(struct redis_cli *c, const char *tool);
/* Consumes the option at argv[*i] (and its argument) if it is one of the
 * shared ones: 1 if it was, 0 if not, -1 after a usage error was printed. */
int redis_cli_option(struct redis_cli *c, int argc, char **argv, int *i);
/* Once the command line is parsed: libcurl, signals. */
int redis_cli_start(struct redis_cli *c);
void redis_cli_free(struct redis_cli *c);

/* Runs fn(arg) on a thread while the progress bar shows p (on a terminal,
 * unless quiet); returns fn's result. */
int redis_cli_run(struct redis_cli *c, int (*fn)(void *arg), void *arg, struct redis_progress *p,
                  const char *label);

/* An error line: "rdbkeep rdb TOOL: message". */
void redis_cli_error(const struct redis_cli *c, const char *msg);

#endif
