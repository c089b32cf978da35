/* The XML scanner and date parser on arbitrary server answers, walked the way
 * the S3 and Azure listings walk them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *doc = (const char *)data;
    static const char *const outer[] = {"Contents", "Blob", "Error"};
    static const char *const inner[] = {"Key",  "Size",           "LastModified",
                                        "Name", "Content-Length", "Last-Modified",
                                        "Code", "Message"};
    for (size_t o = 0; o < 3; o++) {
        size_t pos = 0, s, e;
        int guard = 0;
        while (xml_span(doc, size, &pos, outer[o], &s, &e) == 0 && guard++ < 10000) {
            if (s > e || e > size) abort();
            for (size_t i = 0; i < sizeof(inner) / sizeof(inner[0]); i++) {
                char *v = xml_first(doc + s, e - s, inner[i]);
                if (v) {
                    (void)store_parse_date(v);
                    free(v);
                }
            }
        }
    }
    char *t = xml_first(doc, size, "NextContinuationToken");
    free(t);
    /* A date parser that sees the raw bytes as a string. */
    char *str = malloc(size + 1);
    memcpy(str, data, size);
    str[size] = '\0';
    (void)store_parse_date(str);
    free(str);
    return 0;
}
