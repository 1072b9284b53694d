/*
 * rng.c - the explicit random generator: xoshiro256** seeded through splitmix64.
 * Every random draw in libdigits goes through a dg_rng passed in by the caller, so a
 * seed fixes initialisation, shuffling and dropout.
 */
#include "digits.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void dg_rng_seed(dg_rng *rng, uint64_t seed)
{
    uint64_t state = seed;
    for (int i = 0; i < 4; i++) {
        rng->s[i] = splitmix64(&state);
    }
}

uint64_t dg_rng_next(dg_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float dg_rng_uniform(dg_rng *rng)
{
    /* 24 high bits: every value is exactly representable and < 1 */
    return (float)(dg_rng_next(rng) >> 40) * (1.0f / 16777216.0f);
}

uint32_t dg_rng_below(dg_rng *rng, uint32_t n)
{
    /* Lemire's multiply-shift with rejection of the biased low range */
    uint64_t m = (dg_rng_next(rng) >> 32) * (uint64_t)n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (dg_rng_next(rng) >> 32) * (uint64_t)n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

float dg_rng_normal(dg_rng *rng)
{
    float u1 = dg_rng_uniform(rng);
    float u2 = dg_rng_uniform(rng);
    if (u1 < 1e-12f) {
        u1 = 1e-12f;
    }
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530718f * u2);
}

void dg_rng_shuffle(dg_rng *rng, uint32_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = dg_rng_below(rng, (uint32_t)i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
