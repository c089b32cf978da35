/* GCS service accounts: the OAuth2 JWT-bearer flow (RFC 7523). A signed
 * RS256 JWT naming the service account is exchanged at the key's token_uri
 * for a bearer token, which the XML API then accepts. Tokens are cached in
 * the config's cache until a minute before they expire. */
#include "store/xfer.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GCS_SCOPE         "https://www.googleapis.com/auth/devstorage.read_write"
#define DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"

struct store_cache {
    pthread_mutex_t mu;
    char *token;
    char *token_file; /* the key file the token belongs to */
    int64_t expires_ms;
};

struct store_cache *store_cache_new(void)
{
    struct store_cache *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void store_cache_free(struct store_cache *c)
{
    if (!c) return;
    if (c->token) {
        memset(c->token, 0, strlen(c->token));
        free(c->token);
    }
    free(c->token_file);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void gcs_service_account_free(struct gcs_service_account *sa)
{
    free(sa->client_email);
    if (sa->private_key_pem) {
        memset(sa->private_key_pem, 0, strlen(sa->private_key_pem));
        free(sa->private_key_pem);
    }
    free(sa->token_uri);
    memset(sa, 0, sizeof(*sa));
}

int gcs_service_account_load(const char *path, struct gcs_service_account *sa, struct rk_err *err)
{
    memset(sa, 0, sizeof(*sa));
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc)
        return rk_err_set(err, "GCS: cannot read the service-account key %s: %s (line %d)", path,
                          jerr.text, jerr.line);
    const char *type = json_string_value(json_object_get(doc, "type"));
    const char *email = json_string_value(json_object_get(doc, "client_email"));
    const char *key = json_string_value(json_object_get(doc, "private_key"));
    const char *uri = json_string_value(json_object_get(doc, "token_uri"));
    int rc = 0;
    if (!type || strcmp(type, "service_account"))
        rc = rk_err_set(
            err, "GCS: %s is not a service-account key (\"type\" is not \"service_account\")",
            path);
    else if (!email || !key)
        rc = rk_err_set(err, "GCS: the service-account key %s lacks client_email or private_key",
                        path);
    else {
        sa->client_email = xstrdup(email);
        sa->private_key_pem = xstrdup(key);
        sa->token_uri = xstrdup(uri && *uri ? uri : DEFAULT_TOKEN_URI);
    }
    json_decref(doc);
    return rc;
}

static char *b64url_json(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text) rk_panic("JSON encoding failed");
    char *out = base64url_encode((const unsigned char *)text, strlen(text));
    free(text);
    return out;
}

char *gcs_jwt_assertion(const struct gcs_service_account *sa, const char *scope, int64_t now_s,
                        struct rk_err *err)
{
    json_t *header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    json_t *claims =
        json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", sa->client_email, "scope", scope, "aud",
                  sa->token_uri, "iat", (json_int_t)now_s, "exp", (json_int_t)(now_s + 3600));
    if (!header || !claims) rk_panic("JSON encoding failed");
    char *h = b64url_json(header), *c = b64url_json(claims);
    json_decref(header);
    json_decref(claims);
    char *input = xasprintf("%s.%s", h, c);
    free(h);
    free(c);

    char *jwt = NULL;
    BIO *bio = BIO_new_mem_buf(sa->private_key_pem, -1);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!pkey || EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
        rk_err_set(err, "GCS: the service account's private_key is not an RSA key in PEM form");
        EVP_PKEY_free(pkey);
        free(input);
        return NULL;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t siglen = 0;
    unsigned char *sig = NULL;
    if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
        EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, strlen(input)) == 1) {
        sig = xmalloc(siglen);
        if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) == 1) {
            char *s64 = base64url_encode(sig, siglen);
            jwt = xasprintf("%s.%s", input, s64);
            free(s64);
        }
    }
    if (!jwt) rk_err_set(err, "GCS: signing the JWT with the service account's key failed");
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    free(sig);
    free(input);
    return jwt;
}

/* One token request; returns the token and its lifetime. */
static char *fetch_token(const struct store_config *cfg, const struct gcs_service_account *sa,
                         int64_t *expires_in, int *result, struct rk_err *err)
{
    char *jwt = gcs_jwt_assertion(sa, GCS_SCOPE, (int64_t)(rk_now_ms() / 1000), err);
    if (!jwt) {
        *result = STORE_FAIL;
        return NULL;
    }
    char *body = xasprintf(
        "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer&assertion=%s", jwt);
    free(jwt);
    char *what = xasprintf("GCS token endpoint %s", sa->token_uri);
    struct xfer x;
    xfer_init(&x, cfg);
    char *token = NULL;
    int rc = STORE_FAIL;
    for (int attempt = 0;; attempt++) {
        xfer_reset(&x);
        curl_easy_setopt(x.easy, CURLOPT_URL, sa->token_uri);
        curl_easy_setopt(x.easy, CURLOPT_POSTFIELDS, body);
        struct curl_slist *h =
            xfer_header(NULL, "Content-Type", "application/x-www-form-urlencoded");
        curl_easy_setopt(x.easy, CURLOPT_HTTPHEADER, h);
        rc = xfer_run(&x, what, err);
        curl_slist_free_all(h);
        if (rc == STORE_OK && xfer_status_ok(&x)) break;
        if (!xfer_retryable(&x) || attempt >= cfg->max_retries || xfer_backoff(&x, attempt) < 0) {
            if (rc == STORE_OK) {
                json_t *doc = json_loadb((const char *)x.body.data, x.body.len, 0, NULL);
                const char *e = json_string_value(json_object_get(doc, "error"));
                const char *d = json_string_value(json_object_get(doc, "error_description"));
                rk_err_set(err, "%s answered %ld%s%s%s%s", what, x.status, e ? " " : "", e ? e : "",
                           d ? ": " : "", d ? d : "");
                json_decref(doc);
                rc = x.status == 400 || x.status == 401 || x.status == 403 ? STORE_DENIED
                                                                           : STORE_FAIL;
            }
            goto out;
        }
    }
    json_t *doc = json_loadb((const char *)x.body.data, x.body.len, 0, NULL);
    const char *t = json_string_value(json_object_get(doc, "access_token"));
    json_int_t exp = json_integer_value(json_object_get(doc, "expires_in"));
    if (t && *t) {
        token = xstrdup(t);
        *expires_in = exp > 0 ? exp : 300;
    } else {
        rk_err_set(err, "%s: the answer has no access_token", what);
        rc = STORE_FAIL;
    }
    json_decref(doc);
out:
    memset(body, 0, strlen(body));
    free(body);
    free(what);
    xfer_cleanup(&x);
    *result = token ? STORE_OK : rc;
    return token;
}

char *gcs_access_token(const struct store_config *cfg, int *result, struct rk_err *err)
{
    struct store_cache *cache = cfg->cache;
    const char *file = cfg->gcs.credentials_file;
    if (cache) {
        pthread_mutex_lock(&cache->mu);
        if (cache->token && cache->token_file && !strcmp(cache->token_file, file) &&
            (int64_t)rk_now_ms() < cache->expires_ms) {
            char *t = xstrdup(cache->token);
            pthread_mutex_unlock(&cache->mu);
            *result = STORE_OK;
            return t;
        }
        pthread_mutex_unlock(&cache->mu);
    }
    struct gcs_service_account sa;
    if (gcs_service_account_load(file, &sa, err) < 0) {
        *result = STORE_FAIL;
        return NULL;
    }
    int64_t expires_in = 0;
    char *token = fetch_token(cfg, &sa, &expires_in, result, err);
    gcs_service_account_free(&sa);
    if (token && cache) {
        pthread_mutex_lock(&cache->mu);
        free(cache->token);
        free(cache->token_file);
        cache->token = xstrdup(token);
        cache->token_file = xstrdup(file);
        cache->expires_ms = (int64_t)rk_now_ms() + (expires_in - 60) * 1000;
        pthread_mutex_unlock(&cache->mu);
    }
    return token;
}
