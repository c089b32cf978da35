/* Request bodies as the API parses them: database create and update,
 * import, backup, subscription. Whatever the bytes, an answer and no leak. */
#include <stdint.h>
#include <stdlib.h>

#include "api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    struct rk_fail f;
    struct rk_db_spec spec;
    if (rk_api_parse_db_body(body, size, 32, true, &spec, &f) == 0) rk_db_spec_clear(&spec);
    if (rk_api_parse_db_body(body, size, 32, false, &spec, &f) == 0) rk_db_spec_clear(&spec);
    struct rk_import_spec import;
    if (rk_api_parse_import_body(body, size, 32, &import, &f) == 0) rk_import_spec_clear(&import);
    char *s = NULL;
    if (rk_api_parse_backup_body(body, size, 32, &s, &f) == 0) free(s);
    if (rk_api_parse_subscription_body(body, size, 32, &s, &f) == 0) free(s);
    return 0;
}
