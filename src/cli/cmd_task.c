/* rdbkeep task: placeholder until its issue lands. */
#include "cli/cli.h"

#include <stdio.h>

static int cmd_task_run(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "rdbkeep %s: not available in this build yet\n", argv[0]);
    return CLI_EXIT_FAIL;
}

const struct cli_command cli_cmd_task = {
    .name = "task",
    .summary = "follow tasks through the API: list, get, wait",
    .help = "Usage: rdbkeep task ...\n\n(not available in this build yet)\n",
    .run = cmd_task_run,
};
