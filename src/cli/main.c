/* rdbkeep: the process entry point. Everything else lives in the modules. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
