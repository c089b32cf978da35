/* The signers, against known answers:
 *   - SigV4: libcurl's CURLOPT_AWS_SIGV4 fed our canonical paths and queries
 *     must produce the signatures of AWS's published examples ("Examples:
 *     Signature Calculations in AWS Signature Version 4", S3 API reference:
 *     GET object, PUT object, GET bucket lifecycle, GET bucket). The request
 *     goes to a loopback listener in this test that records it.
 *   - Azure SharedKey: the string-to-sign as the Azure Storage documentation
 *     lays it out, and the HMAC computed by the openssl command line.
 *   - GCS service accounts: the RS256 JWT; its signature computed by the
 *     openssl command line with the same fixed test key (sa-test-key.json, a
 *     throwaway key made for these tests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_int.h"

/* ---------------------------------------------------------- capture server -- */

struct capture {
    int listen_fd;
    int port;
    char request[16384];
};

static void *capture_main(void *arg)
{
    struct capture *c = arg;
    int fd = accept(c->listen_fd, NULL, NULL);
    if (fd < 0) return NULL;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, c->request + len, sizeof(c->request) - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        c->request[len] = '\0';
        char *end = strstr(c->request, "\r\n\r\n");
        if (!end) continue;
        char *cl = strcasestr(c->request, "\r\nContent-Length:");
        size_t want =
            (size_t)(end + 4 - c->request) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        if (len >= want) break;
    }
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    if (write(fd, reply, sizeof(reply) - 1) < 0) {
    }
    close(fd);
    return NULL;
}

static void capture_start(struct capture *c, pthread_t *t)
{
    memset(c, 0, sizeof(*c));
    c->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(c->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(c->listen_fd, 1), 0);
    socklen_t alen = sizeof(a);
    getsockname(c->listen_fd, (struct sockaddr *)&a, &alen);
    c->port = ntohs(a.sin_port);
    pthread_create(t, NULL, capture_main, c);
}

/* The Signature= value of the captured request. */
static void signature_of(const char *request, char *out, size_t cap)
{
    const char *s = strstr(request, "Signature=");
    assert_non_null(s);
    s += 10;
    size_t n = strspn(s, "0123456789abcdef");
    assert_true(n < cap);
    memcpy(out, s, n);
    out[n] = '\0';
}

#define AWS_KEY    "AKIAIOSFODNN7EXAMPLE"
#define AWS_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EMPTY_SHA  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Sends one request for the AWS examples' host through curl's signer, the
 * way s3.c sets it up, and returns the signature. */
static void aws_example(const char *method, const char *key, const char *const *query_pairs,
                        const char *const *headers, const char *body, char *sig, size_t cap)
{
    struct capture c;
    pthread_t t;
    capture_start(&c, &t);
    struct rk_buf url = {0};
    rk_buf_printf(&url, "http://examplebucket.s3.amazonaws.com/");
    if (key) pct_encode(&url, key, strlen(key), "/");
    if (query_pairs) {
        char *q = s3_canonical_query(query_pairs);
        rk_buf_printf(&url, "?%s", q);
        free(q);
    }
    rk_buf_append_byte(&url, '\0');
    char connect_to[128];
    snprintf(connect_to, sizeof(connect_to), "examplebucket.s3.amazonaws.com:80:127.0.0.1:%d",
             c.port);
    struct curl_slist *ct = curl_slist_append(NULL, connect_to);
    struct curl_slist *h = NULL;
    for (size_t i = 0; headers[i]; i++) h = curl_slist_append(h, headers[i]);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, (const char *)url.data);
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, ct);
    curl_easy_setopt(e, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
    curl_easy_setopt(e, CURLOPT_USERNAME, AWS_KEY);
    curl_easy_setopt(e, CURLOPT_PASSWORD, AWS_SECRET);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    curl_slist_free_all(ct);
    pthread_join(t, NULL);
    close(c.listen_fd);
    signature_of(c.request, sig, cap);
    rk_buf_free(&url);
}

static void test_sigv4_aws_examples(void **state)
{
    char sig[80];
    const char *get_object[] = {"Range: bytes=0-9", "x-amz-content-sha256: " EMPTY_SHA,
                                "x-amz-date: 20130524T000000Z", NULL};
    aws_example("GET", "test.txt", NULL, get_object, NULL, sig, sizeof(sig));
    assert_string_equal(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");

    /* The key "test$file.text" must go out as /test%24file.text. */
    const char *put_object[] = {
        "Date: Fri, 24 May 2013 00:00:00 GMT", "x-amz-date: 20130524T000000Z",
        "x-amz-storage-class: REDUCED_REDUNDANCY",
        "x-amz-content-sha256: 44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
        NULL};
    aws_example("PUT", "test$file.text", NULL, put_object, "Welcome to Amazon S3.", sig,
                sizeof(sig));
    assert_string_equal(sig, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");

    /* "?lifecycle" must be sent as "lifecycle=". */
    const char *plain[] = {"x-amz-date: 20130524T000000Z", "x-amz-content-sha256: " EMPTY_SHA,
                           NULL};
    const char *lifecycle[] = {"lifecycle", "", NULL};
    aws_example("GET", NULL, lifecycle, plain, NULL, sig, sizeof(sig));
    assert_string_equal(sig, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");

    /* Unsorted on input: the canonical query sorts them. */
    const char *list[] = {"prefix", "J", "max-keys", "2", NULL};
    aws_example("GET", NULL, list, plain, NULL, sig, sizeof(sig));
    assert_string_equal(sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

static void test_canonical_query_and_path(void **state)
{
    const char *pairs[] = {"uploadId", "a/b+c=d", "partNumber", "10", NULL};
    char *q = s3_canonical_query(pairs);
    assert_string_equal(q, "partNumber=10&uploadId=a%2Fb%2Bc%3Dd");
    free(q);
    const char *list[] = {"list-type",          "2",     "prefix", "dir/sub dir/",
                          "continuation-token", "1/x==", NULL};
    q = s3_canonical_query(list);
    assert_string_equal(q, "continuation-token=1%2Fx%3D%3D&list-type=2&prefix=dir%2Fsub%20dir%2F");
    free(q);
    char *p = pct_encode_str("dir/odd name!(x)*'~.rdb", "/");
    assert_string_equal(p, "dir/odd%20name%21%28x%29%2A%27~.rdb");
    free(p);
    p = pct_encode_str("caf\xc3\xa9", "/");
    assert_string_equal(p, "caf%C3%A9");
    free(p);
}

/* ---------------------------------------------------------------- Azure -- */

/* Runs cmd and returns its first line of output. */
static char *run_capture(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[4096] = "";
    if (!fgets(line, sizeof(line), f)) line[0] = '\0';
    assert_int_equal(pclose(f), 0);
    line[strcspn(line, "\n")] = '\0';
    return strdup(line);
}

static char *tmp_file_with(const void *data, size_t len)
{
    char *path = strdup("/tmp/rdbkeep-test-sign.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

#define AZ_KEY "dGVzdGtleS10ZXN0a2V5LXRlc3RrZXktdGVzdGtleS10ZXN0a2V5LXRlc3RrZXktdGVzdGtleQ=="

/* The SharedKey signature of sts, by the openssl command line. */
static char *openssl_sharedkey(const char *sts)
{
    unsigned char key[128];
    size_t klen;
    assert_int_equal(base64_decode(AZ_KEY, strlen(AZ_KEY), key, sizeof(key), &klen), 0);
    char hex[257];
    for (size_t i = 0; i < klen; i++) sprintf(hex + 2 * i, "%02x", key[i]);
    char *file = tmp_file_with(sts, strlen(sts));
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl dgst -sha256 -mac HMAC -macopt hexkey:%s -binary %s | base64 -w0", hex, file);
    char *sig = run_capture(cmd);
    unlink(file);
    free(file);
    return sig;
}

static void check_azure(const struct azure_request *r, const char *expected_sts)
{
    char *sts = azure_string_to_sign(r);
    assert_string_equal(sts, expected_sts);
    char *auth = azure_authorization(r, AZ_KEY);
    char *sig = openssl_sharedkey(expected_sts);
    char expect[256];
    snprintf(expect, sizeof(expect), "SharedKey %s:%s", r->account, sig);
    assert_string_equal(auth, expect);
    free(sig);
    free(auth);
    free(sts);
}

static void test_azure_shared_key(void **state)
{
    const char *put_hdrs[] = {"x-ms-version:2021-08-06", "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT",
                              "x-ms-blob-type:BlockBlob", NULL};
    struct azure_request put = {.method = "PUT",
                                .account = "myaccount",
                                .path = "/mycontainer/dir/a%20b.rdb",
                                .content_length = 21,
                                .content_type = "application/octet-stream",
                                .x_ms = put_hdrs};
    check_azure(&put, "PUT\n\n\n21\n\napplication/octet-stream\n\n\n\n\n\n\n"
                      "x-ms-blob-type:BlockBlob\nx-ms-date:Fri, 26 Jun 2015 23:39:12 "
                      "GMT\nx-ms-version:2021-08-06\n"
                      "/myaccount/mycontainer/dir/a%20b.rdb");

    /* Query parameters: lower-cased names, decoded values, sorted. */
    const char *hdrs[] = {"x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT", "x-ms-version:2021-08-06",
                          NULL};
    struct azure_request list = {.method = "GET",
                                 .account = "myaccount",
                                 .path = "/myaccount/mycontainer",
                                 .query =
                                     "restype=container&comp=list&prefix=a%2Fb%20c&marker=2%212",
                                 .x_ms = hdrs};
    check_azure(
        &list,
        "GET\n\n\n\n\n\n\n\n\n\n\n\n"
        "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\nx-ms-version:2021-08-06\n"
        "/myaccount/myaccount/mycontainer\ncomp:list\nmarker:2!2\nprefix:a/b c\nrestype:container");

    /* A ranged GET, and a block upload whose id is percent-encoded. */
    struct azure_request get = {
        .method = "GET", .account = "acct", .path = "/c0n/x", .range = "bytes=100-", .x_ms = hdrs};
    check_azure(&get,
                "GET\n\n\n\n\n\n\n\n\n\n\nbytes=100-\n"
                "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\nx-ms-version:2021-08-06\n/acct/c0n/x");
    struct azure_request block = {.method = "PUT",
                                  .account = "acct",
                                  .path = "/c0n/x",
                                  .query = "comp=block&blockid=cmRia2VlcC0wMDAwMDAwMQ%3D%3D",
                                  .content_length = 5242880,
                                  .content_type = "application/octet-stream",
                                  .x_ms = hdrs};
    check_azure(&block, "PUT\n\n\n5242880\n\napplication/octet-stream\n\n\n\n\n\n\n"
                        "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\nx-ms-version:2021-08-06\n"
                        "/acct/c0n/x\nblockid:cmRia2VlcC0wMDAwMDAwMQ==\ncomp:block");
    /* A key that is not base64 signs nothing. */
    assert_null(azure_authorization(&get, "not base64!"));
}

/* ------------------------------------------------------------------ JWT -- */

static char *b64url_decode(const char *s, size_t len)
{
    char *std = calloc(1, len + 4);
    for (size_t i = 0; i < len; i++) std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    while (len % 4) std[len++] = '=';
    unsigned char *out = calloc(1, len);
    size_t n;
    assert_int_equal(base64_decode(std, len, out, len, &n), 0);
    out[n] = '\0';
    free(std);
    return (char *)out;
}

static void test_gcs_jwt_fixed_key(void **state)
{
    struct gcs_service_account sa;
    struct rk_err err;
    assert_int_equal(gcs_service_account_load(STORE_TEST_DIR "/sa-test-key.json", &sa, &err), 0);
    assert_string_equal(sa.client_email, "backup@rdbkeep-test.iam.gserviceaccount.com");
    const char *scope = "https://www.googleapis.com/auth/devstorage.read_write";
    char *jwt = gcs_jwt_assertion(&sa, scope, 1700000000, &err);
    assert_non_null(jwt);
    char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    assert_non_null(dot2);
    char *header = b64url_decode(jwt, (size_t)(dot1 - jwt));
    char *claims = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    assert_string_equal(header, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
    assert_string_equal(
        claims,
        "{\"iss\":\"backup@rdbkeep-test.iam.gserviceaccount.com\","
        "\"scope\":\"https://www.googleapis.com/auth/devstorage.read_write\","
        "\"aud\":\"https://oauth2.googleapis.com/token\",\"iat\":1700000000,\"exp\":1700003600}");

    /* RS256 (PKCS#1 v1.5) is deterministic: openssl must sign the same. */
    char *pem = tmp_file_with(sa.private_key_pem, strlen(sa.private_key_pem));
    char *input = tmp_file_with(jwt, (size_t)(dot2 - jwt));
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl dgst -sha256 -sign %s %s | base64 -w0 | tr '+/' '-_' | tr -d '='", pem,
             input);
    char *expect = run_capture(cmd);
    assert_string_equal(dot2 + 1, expect);
    unlink(pem);
    unlink(input);
    free(pem);
    free(input);
    free(expect);
    free(header);
    free(claims);
    free(jwt);

    /* A broken key is an error, not a crash. */
    free(sa.private_key_pem);
    sa.private_key_pem = strdup("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n");
    assert_null(gcs_jwt_assertion(&sa, scope, 1, &err));
    assert_non_null(strstr(err.msg, "not an RSA key"));
    gcs_service_account_free(&sa);

    char *notsa = tmp_file_with("{\"type\":\"authorized_user\"}", 26);
    assert_int_equal(gcs_service_account_load(notsa, &sa, &err), -1);
    assert_non_null(strstr(err.msg, "not a service-account key"));
    unlink(notsa);
    free(notsa);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigv4_aws_examples),
        cmocka_unit_test(test_canonical_query_and_path),
        cmocka_unit_test(test_azure_shared_key),
        cmocka_unit_test(test_gcs_jwt_fixed_key),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
