/* rdbkeep serve: placeholder until its issue lands. */
#include "cli/cli.h"

#include <stdio.h>

static int cmd_serve_run(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "rdbkeep %s: not available in this build yet\n", argv[0]);
    return CLI_EXIT_FAIL;
}

const struct cli_command cli_cmd_serve = {
    .name = "serve",
    .summary = "run the daemon: the Redis Cloud compatible API, databases, backups, imports",
    .help = "Usage: rdbkeep serve ...\n\n(not available in this build yet)\n",
    .run = cmd_serve_run,
};
