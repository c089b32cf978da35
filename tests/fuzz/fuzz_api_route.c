/* Request paths into endpoints and their parameters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = malloc(size + 1);
    memcpy(path, data, size);
    path[size] = '\0';
    struct rk_api_match m;
    if (rk_api_route(path, &m) == 0) {
        for (unsigned i = 0; i < m.nparams; i++)
            if (strlen(m.params[i]) >= sizeof(m.params[i])) abort();
    }
    free(path);
    return 0;
}
