/* Replays a redis fuzz target's inputs (FUZZ_NAME): the seed corpus and the
 * crash inputs fuzzing found (tests/data/fuzz-regressions/FUZZ_NAME/),
 * through the very checks the fuzz target makes (it aborts on a mismatch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char *path = xasprintf("%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) fail_msg("cannot open %s", path);
        struct rk_buf b = {0};
        unsigned char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) rk_buf_append(&b, chunk, got);
        fclose(f);
        LLVMFuzzerTestOneInput(b.data ? b.data : (const uint8_t *)"", b.len);
        rk_buf_free(&b);
        free(path);
        n++;
    }
    closedir(d);
    return n;
}

static void test_replay(void **state)
{
    (void)state;
    size_t regressions = replay_dir(RK_TEST_DATA_DIR "/fuzz-regressions/" FUZZ_NAME);
    size_t seeds = replay_dir(RK_TEST_DATA_DIR "/../fuzz/seeds/" FUZZ_NAME);
    print_message("replayed %zu regression inputs and %zu seeds\n", regressions, seeds);
    assert_true(regressions + seeds >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
