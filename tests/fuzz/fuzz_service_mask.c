/* Masking credentials in backup paths and URIs: never longer than needed,
 * never showing what came after "user:" in the user info. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *uri = malloc(size + 1);
    memcpy(uri, data, size);
    uri[size] = '\0';
    char *m = rk_mask_uri(uri);
    /* Masking replaces, it does not grow a URI by more than the marks. */
    if (strlen(m) > strlen(uri) + 4 * (strlen(uri) + 1)) abort();
    free(m);
    free(uri);
    return 0;
}
