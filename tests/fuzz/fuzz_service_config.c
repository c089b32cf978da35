/* The daemon's config file parser, then the checks and the dump of what it
 * accepted (which must read back). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rk_config cfg;
    struct rk_err err;
    rk_config_init(&cfg);
    if (rk_config_load_text(&cfg, (const char *)data, size, "fuzz", &err) == 0) {
        rk_config_check(&cfg, &err);
        struct rk_buf out = {0};
        rk_config_dump(&cfg, &out);
        struct rk_config again;
        rk_config_init(&again);
        if (rk_config_load_text(&again, (const char *)out.data, out.len, "dump", &err) != 0) abort();
        rk_config_free(&again);
        rk_buf_free(&out);
    }
    rk_config_free(&cfg);
    return 0;
}
