/* rdbkeep rdb: placeholder until its issue lands. */
#include "cli/cli.h"

#include <stdio.h>

static int cmd_rdb_run(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "rdbkeep %s: not available in this build yet\n", argv[0]);
    return CLI_EXIT_FAIL;
}

const struct cli_command cli_cmd_rdb = {
    .name = "rdb",
    .summary = "offline tools for RDB files: verify, inspect, json, convert",
    .help = "Usage: rdbkeep rdb ...\n\n(not available in this build yet)\n",
    .run = cmd_rdb_run,
};
