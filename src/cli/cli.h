/* cli: the rdbkeep command line: subcommand dispatch, the offline tools, the
 * API client, and the terminal progress bar they share. */
#ifndef RDBKEEP_CLI_H
#define RDBKEEP_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Exit codes shared by every subcommand. */
#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1 /* the operation failed (bad file, server error, ...) */
#define CLI_EXIT_USAGE 2 /* the command line was wrong */

struct cli_command {
    const char *name;
    const char *summary; /* one line, for "rdbkeep --help" */
    const char *help;    /* the whole text, for "rdbkeep help NAME" */
    /* argv[0] is the command name; argv[argc] is NULL. Returns an exit code. */
    int (*run)(int argc, char **argv);
};

extern const struct cli_command cli_cmd_rdb;
extern const struct cli_command cli_cmd_store;
extern const struct cli_command cli_cmd_serve;
extern const struct cli_command cli_cmd_db;
extern const struct cli_command cli_cmd_task;

/* Runs the whole command line (argv[0] is the program). */
int cli_main(int argc, char **argv);

/* Prints "rdbkeep CMD: <message>" on stderr and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A one-line progress bar on stderr, drawn only when stderr is a terminal,
 * at most ten times a second. total may be 0 when unknown. */
struct cli_progress {
    const char *label;
    uint64_t total;
    uint64_t bytes;
    uint64_t keys;
    uint64_t start_ns;
    uint64_t last_draw_ns;
    bool enabled;
    bool drawn;
};

void cli_progress_start(struct cli_progress *p, const char *label, uint64_t total);
void cli_progress_update(struct cli_progress *p, uint64_t bytes, uint64_t keys);
/* Erases the bar; call before printing anything else. */
void cli_progress_finish(struct cli_progress *p);

#endif
