/* URI parsing, redaction, display and joining on arbitrary text: no crash,
 * no leak, and what the parser accepts and join builds parses again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    static const enum store_type types[] = {STORE_TYPE_ANY,   STORE_TYPE_S3,   STORE_TYPE_GCS,
                                            STORE_TYPE_AZURE, STORE_TYPE_FTP,  STORE_TYPE_HTTP,
                                            STORE_TYPE_REDIS, STORE_TYPE_LOCAL};
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        for (int role = 0; role < 2; role++) {
            struct rk_err err;
            const char *etype = NULL;
            struct store_uri *u =
                store_uri_parse(text, types[t], (enum store_uri_role)role, &etype, &err);
            if (!u) {
                if (!etype || !err.msg[0]) abort();
                continue;
            }
            char *shown = store_uri_display(u);
            struct store_uri *copy = store_uri_dup(u);
            store_uri_free(copy);
            free(shown);
            if (types[t] == STORE_TYPE_ANY && role == STORE_URI_PREFIX) {
                char *joined = store_uri_join(text, "x.rdb", &err);
                if (joined) {
                    struct store_uri *j =
                        store_uri_parse(joined, STORE_TYPE_ANY, STORE_URI_OBJECT, NULL, &err);
                    if (!j && u->kind != STORE_LOCAL) abort();
                    store_uri_free(j);
                    free(joined);
                }
            }
            store_uri_free(u);
        }
    }
    free(store_uri_redact(text));
    free(text);
    return 0;
}
