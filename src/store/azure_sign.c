/* Azure Storage SharedKey signing (the 2009-09-19 and later scheme):
 * HMAC-SHA256 with the decoded account key over a string made of the verb,
 * the standard headers, the x-ms-* headers and the canonicalized resource. */
#include "store/store_int.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

struct qparam {
    char *name;
    char *value;
};

static int cmp_qparam(const void *a, const void *b)
{
    const struct qparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *azure_string_to_sign(const struct azure_request *r)
{
    struct rk_buf b = {0};
    char len[32] = "";
    if (r->content_length)
        snprintf(len, sizeof(len), "%llu", (unsigned long long)r->content_length);
    rk_buf_printf(&b, "%s\n\n\n%s\n\n%s\n\n\n\n\n\n%s\n", r->method, len,
                  r->content_type ? r->content_type : "", r->range ? r->range : "");

    /* x-ms-* headers: lower-case names, sorted, "name:value". */
    size_t n = 0;
    while (r->x_ms && r->x_ms[n]) n++;
    char **hs = xcalloc(n + 1, sizeof(*hs));
    for (size_t i = 0; i < n; i++) {
        const char *h = r->x_ms[i];
        const char *colon = strchr(h, ':');
        size_t nl = colon ? (size_t)(colon - h) : strlen(h);
        const char *v = colon ? colon + 1 : "";
        while (*v == ' ') v++;
        char *name = xstrndup(h, nl);
        for (char *c = name; *c; c++) *c = (char)tolower((unsigned char)*c);
        hs[i] = xasprintf("%s:%s", name, v);
        free(name);
    }
    qsort(hs, n, sizeof(*hs), cmp_str);
    for (size_t i = 0; i < n; i++) {
        rk_buf_printf(&b, "%s\n", hs[i]);
        free(hs[i]);
    }
    free(hs);

    /* "/account/path", then each query parameter: "\nname:value" with the
     * name lower-cased and the value decoded, sorted by name; repeated
     * names join their values with ','. */
    rk_buf_printf(&b, "/%s%s", r->account, r->path);
    if (r->query && *r->query) {
        size_t cap = 8, m = 0;
        struct qparam *ps = xcalloc(cap, sizeof(*ps));
        char *q = xstrdup(r->query), *save = NULL;
        for (char *tok = strtok_r(q, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(tok, '=');
            if (eq) *eq = '\0';
            if (m == cap) ps = xrealloc(ps, (cap *= 2) * sizeof(*ps));
            size_t bad;
            char *name = pct_decode(tok, strlen(tok), &bad);
            char *value = eq ? pct_decode(eq + 1, strlen(eq + 1), &bad) : xstrdup("");
            if (!name) name = xstrdup(tok);
            if (!value) value = xstrdup(eq + 1);
            for (char *c = name; *c; c++) *c = (char)tolower((unsigned char)*c);
            ps[m++] = (struct qparam){name, value};
        }
        free(q);
        qsort(ps, m, sizeof(*ps), cmp_qparam);
        for (size_t i = 0; i < m; i++) {
            if (i && !strcmp(ps[i].name, ps[i - 1].name))
                rk_buf_printf(&b, ",%s", ps[i].value);
            else
                rk_buf_printf(&b, "\n%s:%s", ps[i].name, ps[i].value);
        }
        for (size_t i = 0; i < m; i++) {
            free(ps[i].name);
            free(ps[i].value);
        }
        free(ps);
    }
    rk_buf_append_byte(&b, '\0');
    return (char *)b.data;
}

char *azure_authorization(const struct azure_request *r, const char *key_base64)
{
    unsigned char key[128];
    size_t klen;
    if (base64_decode(key_base64, strlen(key_base64), key, sizeof(key), &klen) < 0) return NULL;
    char *sts = azure_string_to_sign(r);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)sts, strlen(sts), mac, &maclen))
        rk_panic("HMAC-SHA256 failed");
    memset(key, 0, sizeof(key));
    free(sts);
    char *sig = base64_encode(mac, maclen);
    char *auth = xasprintf("SharedKey %s:%s", r->account, sig);
    free(sig);
    return auth;
}
