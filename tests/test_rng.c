/*
 * test_rng.c - the explicit random generator: reproducible, in range, unbiased enough.
 */
#include "test.h"

#include <string.h>

DG_TEST(rng_reproducible_and_in_range)
{
    dg_rng a, b;
    dg_rng_seed(&a, 123);
    dg_rng_seed(&b, 123);
    int counts[10] = {0};
    for (int i = 0; i < 100000; i++) {
        uint64_t x = dg_rng_next(&a);
        CHECK(x == dg_rng_next(&b));
        float u = dg_rng_uniform(&a);
        dg_rng_uniform(&b);
        CHECK(u >= 0.0f && u < 1.0f);
        uint32_t k = dg_rng_below(&a, 10);
        dg_rng_below(&b, 10);
        CHECK(k < 10);
        counts[k]++;
    }
    for (int k = 0; k < 10; k++) {
        CHECK_MSG(counts[k] > 9500 && counts[k] < 10500, "value %d drawn %d times", k, counts[k]);
    }
}

DG_TEST(rng_shuffle_is_permutation)
{
    uint32_t idx[1000];
    for (uint32_t i = 0; i < 1000; i++) {
        idx[i] = i;
    }
    dg_rng rng;
    dg_rng_seed(&rng, 1);
    dg_rng_shuffle(&rng, idx, 1000);
    char seen[1000];
    memset(seen, 0, sizeof seen);
    int moved = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        CHECK(idx[i] < 1000 && !seen[idx[i]]);
        seen[idx[i]] = 1;
        moved += idx[i] != i;
    }
    CHECK(moved > 900);
}
