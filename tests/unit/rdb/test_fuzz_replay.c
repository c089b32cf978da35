/* Replays a fuzz target's inputs through the target itself (linked in), so
 * every check it makes (it aborts on a mismatch) runs in the normal suite:
 * the crash inputs fuzzing found (REPLAY_REGRESSIONS) and a seed directory
 * (REPLAY_SEEDS), walked recursively. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t replay(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char *path = xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            n += replay(path);
        } else if (st.st_size <= (1 << 20)) {
            FILE *f = fopen(path, "rb");
            if (!f) fail_msg("cannot open %s", path);
            struct rk_buf b = {0};
            unsigned char chunk[65536];
            size_t got;
            while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) rk_buf_append(&b, chunk, got);
            fclose(f);
            LLVMFuzzerTestOneInput(b.data ? b.data : (const uint8_t *)"", b.len);
            rk_buf_free(&b);
            n++;
        }
        free(path);
    }
    closedir(d);
    return n;
}

static void test_replay(void **state)
{
    (void)state;
    size_t regressions = replay(REPLAY_REGRESSIONS);
    size_t seeds = replay(REPLAY_SEEDS);
    print_message("replayed %zu regression inputs and %zu seeds\n", regressions, seeds);
    assert_true(regressions >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
