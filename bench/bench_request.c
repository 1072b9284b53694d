/*
 * bench_request.c - what one POST /api/predict of a picture costs inside digits serve,
 * phase by phase, without sockets: the picture decoded from its bytes
 * (dg_image_load_memory), preprocessed (dg_preprocess), and the whole answer
 * (dg_api_handle: decoding, preprocessing, the forward pass, the JSON with the 28x28 as
 * a PNG data URL). Each phase is timed on its own in a loop on one thread, in CPU time
 * of the thread (CLOCK_THREAD_CPUTIME_ID: on a shared machine, time spent waiting for a
 * core is not counted), after a warm-up; prints the minimum and the median in
 * microseconds. Memory is set up as digits serve sets it (cli/cmd_serve.c: blocks up to
 * 4 MiB from the heap). Prints figures, asserts nothing (docs/performance.md).
 *
 *   bench_request MODEL PICTURE [RUNS]      (RUNS default 200)
 */
#include "bench/bench_util.h"

#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static double thread_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return 1e6 * (double)ts.tv_sec + 1e-3 * (double)ts.tv_nsec;
}

/* One line: "decode  min 97 us  median 103 us" from the timings t[runs], sorted here. */
static void report(const char *phase, double *t, size_t runs)
{
    double median = bench_median(t, runs);
    printf("%-12s min %8.0f us   median %8.0f us\n", phase, t[0], median);
}

int main(int argc, char **argv)
{
    long runs = 200;
    if (argc < 3 || argc > 4 ||
        (argc == 4 && !bench_long_option("bench_request", "RUNS", argv[3], 1, 1000000, &runs))) {
        fprintf(stderr, "usage: bench_request MODEL PICTURE [RUNS]\n");
        return 2;
    }
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
#endif
    dg_net *net;
    dg_model_meta meta;
    uint8_t *bytes = NULL;
    size_t n = 0;
    dg_api *api = NULL;
    dg_status st = dg_model_load(argv[1], &net, &meta);
    if (st == DG_OK) {
        dg_api_config cfg = {0};
        st = dg_api_new(net, &meta, &cfg, &api);
        dg_net_free(net);
    }
    FILE *f = st == DG_OK ? fopen(argv[2], "rb") : NULL;
    if (st == DG_OK && !f) {
        fprintf(stderr, "bench_request: cannot open %s\n", argv[2]);
        dg_api_free(api);
        return 1;
    }
    if (f) {
        size_t cap = 1 << 16;
        bytes = malloc(cap);
        size_t got;
        while (bytes && (got = fread(bytes + n, 1, cap - n, f)) > 0) {
            n += got;
            if (n == cap) {
                uint8_t *grown = realloc(bytes, cap *= 2);
                if (!grown) {
                    free(bytes);
                }
                bytes = grown;
            }
        }
        fclose(f);
    }
    dg_image *img = NULL;
    if (st == DG_OK && (!bytes || (st = dg_image_load_memory(bytes, n, &img)) != DG_OK)) {
        st = bytes ? st : DG_ERR_NOMEM;
    }
    if (st != DG_OK) {
        fprintf(stderr, "bench_request: %s\n", dg_last_error());
        free(bytes);
        dg_api_free(api);
        return 1;
    }
    printf("picture: %s, %dx%d, %d channels, %zu bytes; %ld runs, thread CPU time\n", argv[2],
           img->w, img->h, img->channels, n, runs);
    dg_image_free(img);

    double *t = malloc(sizeof *t * (size_t)runs);
    if (!t) {
        free(bytes);
        dg_api_free(api);
        return 1;
    }
    dg_http_request req = {.method = "POST",
                           .target = "/api/predict",
                           .content_length = (int64_t)n,
                           .body = bytes,
                           .n_body = n};
    for (int phase = 0; phase < 3; phase++) {
        for (long i = -runs / 10 - 1; i < runs; i++) { /* the first tenth warms up */
            uint8_t digit[DG_MNIST_PIXELS];
            dg_preprocess_info info;
            dg_http_response resp;
            dg_image *pic = NULL;
            if (phase == 1) {
                dg_image_load_memory(bytes, n, &pic);
            }
            double t0 = thread_us();
            if (phase == 0) {
                dg_image_load_memory(bytes, n, &pic);
            } else if (phase == 1) {
                dg_preprocess(pic, digit, &info);
            } else {
                dg_api_handle(api, &req, &resp);
                dg_http_response_free(&resp);
            }
            double t1 = thread_us();
            dg_image_free(pic);
            if (i >= 0) {
                t[i] = t1 - t0;
            }
        }
        report(phase == 0 ? "decode" : phase == 1 ? "preprocess" : "answer", t, (size_t)runs);
    }
    free(t);
    free(bytes);
    dg_api_free(api);
    return 0;
}
