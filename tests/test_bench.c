/*
 * test_bench.c - the benchmark's own tools, so that `make bench` keeps printing true
 * figures: bench_train --flops counts the FLOPs of a training image as worked out by hand
 * below, bench_peak prints a peak, and the readers of bench/bench_parse.sh (sourced by
 * scripts/bench.sh) find the values in the lines the programs print. The programs are
 * looked for beside $DIGITS_BIN (build/digits by default); tests run from the top folder.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* The folder of the digits program under test, where the bench programs are built too. */
static void bin_dir(char *dir, size_t size)
{
    const char *bin = getenv("DIGITS_BIN");
    snprintf(dir, size, "%s", bin ? bin : "build/digits");
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
    } else {
        snprintf(dir, size, ".");
    }
}

/* The output of a reader of bench/bench_parse.sh: `reader ARGS`, without its newline. */
static int parse_with(const char *reader, const char *args, char *out, size_t size)
{
    char line[2048];
    snprintf(line, sizeof line, "sh -c '. bench/bench_parse.sh && %s %s'", reader, args);
    int st = test_run_shell(line, out, size);
    out[strcspn(out, "\n")] = '\0';
    return st;
}

/*
 * seed-cnn on 28x28, multiply-adds of one forward pass:
 *   conv 32 3x3 on 1 channel, 26x26 out:   32*1*9 weights x 676 positions  =   194,688
 *   conv 64 3x3 on 32 channels, 11x11 out: 64*32*9 weights x 121 positions = 2,230,272
 *   dense 1600 -> 64, dense 64 -> 10:      102,400 + 640                   =   103,040
 * 2,528,000 multiply-adds: 5,056,000 FLOPs forward, 15,168,000 for training (3 forwards).
 * mlp: 784*128 + 128*128 + 128*10 = 118,016 multiply-adds: 236,032 and 708,096 FLOPs.
 */
DG_TEST(bench_train_counts_flops_by_hand)
{
    static const struct {
        const char *preset, *forward, *train;
    } cases[] = {
        {"seed-cnn", "5056000", "15168000"},
        {"mlp", "236032", "708096"},
    };
    char dir[1024], line[1200], out[1024], want[128];
    bin_dir(dir, sizeof dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(line, sizeof line, "%s/bench_train --preset %s --flops", dir, cases[i].preset);
        int st = test_run_shell(line, out, sizeof out);
        if (st == 127) {
            SKIP("%s/bench_train is not built", dir);
        }
        CHECK_MSG(st == 0, "%s: exit %d: %s", line, st, out);
        snprintf(want, sizeof want, "RESULT digits forward_flop_per_image %s\n", cases[i].forward);
        CHECK_MSG(strstr(out, want), "%s: want '%s', got: %s", cases[i].preset, want, out);
        snprintf(want, sizeof want, "RESULT digits train_flop_per_image %s\n", cases[i].train);
        CHECK_MSG(strstr(out, want), "%s: want '%s', got: %s", cases[i].preset, want, out);
    }
}

DG_TEST(bench_peak_prints_a_peak)
{
    char dir[1024], line[1200], out[1024], value[256];
    const char *tmp = test_tmp_dir();
    bin_dir(dir, sizeof dir);
    snprintf(line, sizeof line, "%s/bench_peak --seconds 0 >%s/peak.out", dir, tmp);
    int st = test_run_shell(line, out, sizeof out);
    if (st == 127) {
        SKIP("%s/bench_peak is not built", dir);
    }
    CHECK_MSG(st == 0, "%s: exit %d", line, st);
    snprintf(line, sizeof line, "%s/peak.out fp32_gflops", tmp);
    CHECK(parse_with("result_of", line, value, sizeof value) == 0);
    CHECK_MSG(atof(value) > 0.0, "fp32_gflops '%s'", value);
    snprintf(line, sizeof line, "%s/peak.out fp32_vector", tmp);
    CHECK(parse_with("result_of", line, value, sizeof value) == 0);
    CHECK_MSG(!strcmp(value, "avx512") || !strcmp(value, "avx2") || !strcmp(value, "scalar") ||
                  !strcmp(value, "scalar-fma"),
              "fp32_vector '%s'", value);
}

DG_TEST(bench_parse_reads_the_lines)
{
    char path[1024], args[1200], value[256];
    snprintf(path, sizeof path, "%s/lines.out", test_tmp_dir());
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs("RESULT torch train_images_per_s 3123.4\n"
          "RESULT torch test_accuracy 0.9875\n"
          "RESULT torch train_images_per_s 3200.0\n"
          "training seed-cnn (121,930 parameters) on 60,000 images from data/mnist, 2 threads\n"
          "epoch 1/1: 8.8s - 6779 images/s - loss: 0.1234 - accuracy: 0.9600\n"
          "test loss: 0.0400\n"
          "test accuracy: 98.91%\n",
          f);
    CHECK(fclose(f) == 0);

    snprintf(args, sizeof args, "%s train_images_per_s", path);
    CHECK(parse_with("result_of", args, value, sizeof value) == 0);
    CHECK_MSG(!strcmp(value, "3200.0"), "the last train_images_per_s: '%s'", value);
    snprintf(args, sizeof args, "%s infer1_us", path);
    CHECK(parse_with("result_of", args, value, sizeof value) == 0);
    CHECK_MSG(!strcmp(value, ""), "a missing measure: '%s'", value);
    CHECK(parse_with("digits_images_per_s", path, value, sizeof value) == 0);
    CHECK_MSG(!strcmp(value, "6779"), "images/s: '%s'", value);
    CHECK(parse_with("digits_accuracy", path, value, sizeof value) == 0);
    CHECK_MSG(!strcmp(value, "98.91"), "accuracy: '%s'", value);
    CHECK(parse_with("percent", "0.9875", value, sizeof value) == 0);
    CHECK_MSG(!strcmp(value, "98.75"), "percent: '%s'", value);
}
