/* FTP MLSD listings, line by line, as ftp.c splits them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *doc = (const char *)data;
    size_t pos = 0;
    while (pos < size) {
        const char *nl = memchr(doc + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - doc - pos) + 1 : size - pos;
        struct mlsd_entry e;
        if (ftp_parse_mlsd_line(doc + pos, len, &e) == 0) {
            if (!e.name || !e.name[0] || strchr(e.name, '/')) abort();
            free(e.name);
        }
        pos += len;
    }
    return 0;
}
