/*
 * test_bf16.c - training with precision bf16: the bf16 matrix product worked out by hand
 * (rounding to nearest, ties to even) and against a reference that rounds its inputs the
 * same way and sums in double, over transposes, odd and edge sizes; a net trained in bf16
 * learns; the precision survives model files and checkpoints. Skipped where the CPU has
 * no AVX512_BF16 (or DIGITS_NO_BF16 is set); the fallback itself is tested in test_cli.c.
 */
#include "nn/cpu/cpu.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* x rounded to bf16 (its upper 16 bits), to nearest, ties to even; denormals to zero, as
 * VCVTNE2PS2BF16 reads them. Finite x only. */
static float round_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0) {
        u &= 0x80000000u;
    } else {
        u += 0x7fffu + ((u >> 16) & 1u);
        u &= 0xffff0000u;
    }
    float r;
    memcpy(&r, &u, sizeof r);
    return r;
}

DG_TEST(bf16_gemm_rounds_by_hand)
{
    if (!dg_bf16_available()) {
        SKIP("no AVX512_BF16 here (or DIGITS_NO_BF16 is set)");
    }
    /* 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: the even one, 1. 1 + 3*2^-8 lies
     * halfway between 1 + 2^-7 and 1 + 2^-6: the even one, 1 + 2^-6. 1 + 2^-10 rounds down
     * to 1; 3 * 2^-9 (1.5 * 2^-8, exact in bf16) stays. The sum 1 + (1 + 2^-6) + 1 +
     * 2 * 3 * 2^-9 = 3.02734375 is exact in fp32; unrounded inputs would give 3.0302734375. */
    const float a[4] = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-10f, 3 * 0x1p-9f};
    const float b[4] = {1.0f, 1.0f, 1.0f, 2.0f};
    float c = -7.0f;
    dg_gemm_bf16(false, false, 1, 1, 4, 1.0f, a, 4, b, 1, 0.0f, &c, 1);
    CHECK_NEAR(c, 3.02734375, 0.0);
    /* beta 1 adds to what C holds; alpha scales the product */
    dg_gemm_bf16(false, false, 1, 1, 4, 0.5f, a, 4, b, 1, 1.0f, &c, 1);
    CHECK_NEAR(c, 1.5 * 3.02734375, 0.0);
}

typedef struct gemm_case {
    int m, n, k;
} gemm_case;

static float uniform(dg_rng *rng)
{
    return 2.0f * dg_rng_uniform(rng) - 1.0f;
}

/* op(X)(i, p) of a matrix stored with row stride ld, transposed when trans */
static float at(const float *x, int ld, bool trans, int i, int p)
{
    return trans ? x[(size_t)p * ld + i] : x[(size_t)i * ld + p];
}

/* Every element of dg_gemm_bf16's C against the reference sum in double of bf16-rounded
 * inputs: fp32 summing may move it by at most (k + 2) * 2^-24 of the sum of |products|
 * (k additions and the alpha, beta steps). Against the unrounded product the bound adds the
 * rounding of both inputs, at most 2^-8 relative each (half a unit in the last of 8
 * significant bits): 2^-7 + 2^-16 of the sum of |products|. */
static void check_case(const gemm_case *g, bool ta, bool tb, float alpha, float beta, dg_rng *rng)
{
    int m = g->m, n = g->n, k = g->k;
    int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2; /* strides beyond rows */
    size_t na = (size_t)(ta ? k : m) * lda, nb = (size_t)(tb ? n : k) * ldb;
    size_t nc = (size_t)m * ldc;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = malloc(nc * sizeof *c);
    float *c0 = malloc(nc * sizeof *c0);
    CHECK(a && b && c && c0);
    for (size_t i = 0; i < na; i++) {
        a[i] = uniform(rng);
    }
    for (size_t i = 0; i < nb; i++) {
        b[i] = uniform(rng);
    }
    for (size_t i = 0; i < nc; i++) {
        c0[i] = c[i] = uniform(rng);
    }
    dg_gemm_bf16(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    bool ok = true;
    int bad_i = 0, bad_j = 0;
    for (int i = 0; i < m && ok; i++) {
        for (int j = 0; j < ldc && ok; j++) {
            size_t ij = (size_t)i * ldc + j;
            if (j >= n) {
                ok = c[ij] == c0[ij]; /* past the last column: untouched */
                bad_i = i, bad_j = j;
                continue;
            }
            double rounded = 0.0, exact = 0.0, mag = 0.0, mag_exact = 0.0;
            for (int p = 0; p < k; p++) {
                double x = at(a, lda, ta, i, p), y = at(b, ldb, tb, p, j);
                double rx = round_bf16((float)x), ry = round_bf16((float)y);
                rounded += rx * ry;
                exact += x * y;
                mag += fabs(rx * ry);
                mag_exact += fabs(x * y);
            }
            double old = beta * (double)c0[ij];
            double want = alpha * rounded + old, got = c[ij];
            double tol = (k + 2) * 0x1p-24 * (fabs(alpha) * mag + fabs(old)) + 1e-30;
            double tol_exact = (0x1p-7 + 0x1p-16) * fabs(alpha) * mag_exact + tol;
            double err = fabs(got - want);
            ok = err <= tol && fabs(got - (alpha * exact + old)) <= tol_exact;
            bad_i = i, bad_j = j;
        }
    }
    free(a);
    free(b);
    free(c);
    free(c0);
    CHECK_MSG(ok, "m %d n %d k %d, trans %d %d, alpha %g beta %g: element (%d, %d) off", m, n, k,
              ta, tb, (double)alpha, (double)beta, bad_i, bad_j);
}

DG_TEST(bf16_gemm_matches_rounded_reference)
{
    if (!dg_bf16_available()) {
        SKIP("no AVX512_BF16 here (or DIGITS_NO_BF16 is set)");
    }
    /* one element; odd k; exactly one tile; a tile plus one in each direction; several
     * blocks of k (256) with an odd rest; the shapes of seed-cnn's products; more rows than
     * one packing of A (384); few columns (C computed transposed); more columns than a
     * block (512) */
    static const gemm_case cases[] = {
        {1, 1, 1},     {3, 5, 7},     {12, 32, 2},   {13, 33, 3},  {25, 17, 257}, {64, 288, 90},
        {288, 60, 64}, {64, 40, 288}, {390, 40, 30}, {40, 9, 515}, {7, 600, 33},  {2, 1, 600},
    };
    dg_rng rng;
    dg_rng_seed(&rng, 21);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int t = 0; t < 4; t++) {
            check_case(&cases[i], t & 1, t & 2, 1.0f, t == 3 ? 0.0f : 1.0f, &rng);
        }
    }
    gemm_case scaled = {20, 50, 70};
    check_case(&scaled, false, true, -0.5f, 0.25f, &rng);
}

/* The same product twice gives the same bits. */
DG_TEST(bf16_gemm_reproducible)
{
    enum { M = 30, N = 70, K = 300 };
    static float a[M * K], b[K * N], c1[M * N], c2[M * N];
    dg_rng rng;
    dg_rng_seed(&rng, 5);
    for (int i = 0; i < M * K; i++) {
        a[i] = uniform(&rng);
    }
    for (int i = 0; i < K * N; i++) {
        b[i] = uniform(&rng);
    }
    dg_gemm_bf16(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c1, N);
    dg_gemm_bf16(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c2, N);
    CHECK(!memcmp(c1, c2, sizeof c1));
}

/* n images of 12x12: class c is a bright bar in row 1 + c, with noise. */
static dg_dataset *bars(uint32_t n, uint64_t seed)
{
    dg_dataset *ds = test_dataset_new(n, 12);
    if (!ds) {
        return NULL;
    }
    dg_rng rng;
    dg_rng_seed(&rng, seed);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *img = ds->images + (size_t)i * 144;
        int c = (int)dg_rng_below(&rng, 10);
        for (int p = 0; p < 144; p++) {
            img[p] = (uint8_t)dg_rng_below(&rng, 90);
        }
        for (int x = 2; x < 10; x++) {
            img[(1 + c) * 12 + x] = 255;
        }
        ds->labels[i] = (uint8_t)c;
    }
    return ds;
}

static const char *const bars_spec = "conv 8 3 relu, maxpool 2, flatten, dense 32 relu, dense 10";

/* Trains the bars net at precision p on two threads; its held-out accuracy in *acc. */
static dg_status train_bars(dg_precision p, const dg_dataset *ds, float *params, double *acc)
{
    dg_net *net;
    dg_status st = dg_net_new(bars_spec, (dg_shape){1, 12, 12}, &net);
    if (st != DG_OK) {
        return st;
    }
    dg_train_config cfg = dg_train_defaults();
    cfg.epochs = 4;
    cfg.batch = 16;
    cfg.val_split = 0.25;
    cfg.precision = p;
    st = dg_net_set_threads(net, 2);
    if (st == DG_OK) {
        st = dg_train(net, ds, &cfg, NULL);
    }
    dg_eval ev;
    if (st == DG_OK) {
        dg_norm norm = dg_norm_default();
        st = dg_evaluate(net, ds, &norm, 600, 200, &ev, NULL, NULL);
        *acc = ev.accuracy;
        memcpy(params, dg_net_params(net), dg_net_param_count(net) * sizeof *params);
    }
    /* training leaves the net's own precision as it was */
    if (st == DG_OK && dg_net_precision(net) != DG_PRECISION_FP32) {
        st = dg_fail(DG_ERR_ARG, "the net kept precision %s after training",
                     dg_precision_name(dg_net_precision(net)));
    }
    dg_net_free(net);
    return st;
}

DG_TEST(bf16_training_learns)
{
    if (!dg_bf16_available()) {
        SKIP("no AVX512_BF16 here (or DIGITS_NO_BF16 is set)");
    }
    dg_dataset *ds = bars(800, 3);
    CHECK(ds);
    enum { P = 8 * 9 + 8 + 200 * 32 + 32 + 330 };
    static float w32[P], w16[P];
    double acc32 = 0, acc16 = 0;
    dg_status st = train_bars(DG_PRECISION_FP32, ds, w32, &acc32);
    if (st == DG_OK) {
        st = train_bars(DG_PRECISION_BF16, ds, w16, &acc16);
    }
    dg_dataset_free(ds);
    CHECK_OK(st);
    CHECK_MSG(acc16 > 0.9, "bf16: held-out accuracy %.3f (fp32 %.3f)", acc16, acc32);
    CHECK_MSG(fabs(acc16 - acc32) < 0.05, "bf16 %.3f, fp32 %.3f", acc16, acc32);
    /* the products really were rounded: the weights are not fp32's */
    CHECK(memcmp(w32, w16, sizeof w32) != 0);
}

DG_TEST(bf16_precision_names)
{
    dg_precision p = DG_PRECISION_BF16;
    CHECK_OK(dg_precision_parse("fp32", &p));
    CHECK(p == DG_PRECISION_FP32);
    CHECK_OK(dg_precision_parse("bf16", &p));
    CHECK(p == DG_PRECISION_BF16);
    CHECK_STATUS(dg_precision_parse("fp16", &p), DG_ERR_ARG);
    CHECK(p == DG_PRECISION_BF16);
    CHECK(!strcmp(dg_precision_name(DG_PRECISION_FP32), "fp32"));
    CHECK(!strcmp(dg_precision_name(DG_PRECISION_BF16), "bf16"));
    dg_net *net;
    CHECK_OK(dg_net_new(bars_spec, (dg_shape){1, 12, 12}, &net));
    dg_precision got = dg_net_set_precision(net, DG_PRECISION_BF16);
    dg_precision now = dg_net_precision(net);
    dg_net_free(net);
    CHECK(got == now);
    CHECK(got == (dg_bf16_available() ? DG_PRECISION_BF16 : DG_PRECISION_FP32));
}

static dg_status save_ckpt(void *user, const dg_checkpoint *ck)
{
    return dg_checkpoint_save(user, ck);
}

/* A checkpoint keeps the precision the run asked for, its model the one it ran at; a model
 * file keeps it in its optional section, and a model without it reads as fp32. */
DG_TEST(bf16_checkpoint_and_model_keep_precision)
{
    dg_dataset *ds = bars(100, 4);
    CHECK(ds);
    char ckpt[512], model[512];
    const char *dir = test_tmp_dir();
    snprintf(ckpt, sizeof ckpt, "%s/p.ckpt", dir);
    snprintf(model, sizeof model, "%s/p.model", dir);
    dg_net *net = NULL, *loaded = NULL;
    dg_checkpoint *ck = NULL;
    dg_status st = dg_net_new(bars_spec, (dg_shape){1, 12, 12}, &net);
    dg_train_config cfg = dg_train_defaults();
    cfg.epochs = 1;
    cfg.precision = DG_PRECISION_BF16;
    dg_train_callbacks cb = {.user = ckpt, .on_checkpoint = save_ckpt};
    if (st == DG_OK) {
        st = dg_train(net, ds, &cfg, &cb);
    }
    if (st == DG_OK) {
        st = dg_checkpoint_load(ckpt, &ck);
    }
    dg_precision asked = ck ? dg_checkpoint_config(ck)->precision : DG_PRECISION_FP32;
    dg_precision ran = ck ? dg_checkpoint_meta(ck)->precision : DG_PRECISION_FP32;
    dg_model_meta meta, back;
    dg_model_meta_default(&meta);
    meta.precision = DG_PRECISION_BF16;
    if (st == DG_OK) {
        st = dg_model_save(model, net, &meta);
    }
    if (st == DG_OK) {
        st = dg_model_load(model, &loaded, &back);
    }
    dg_precision in_model = st == DG_OK ? back.precision : DG_PRECISION_FP32;
    size_t n_bf16 = 0, n_fp32 = 0;
    free(test_read_file(model, &n_bf16));
    meta.precision = DG_PRECISION_FP32;
    if (st == DG_OK) {
        st = dg_model_save(model, net, &meta);
    }
    dg_net_free(loaded);
    loaded = NULL;
    if (st == DG_OK) {
        st = dg_model_load(model, &loaded, &back);
    }
    free(test_read_file(model, &n_fp32));
    dg_checkpoint_free(ck);
    dg_net_free(net);
    dg_net_free(loaded);
    dg_dataset_free(ds);
    CHECK_OK(st);
    CHECK(asked == DG_PRECISION_BF16);
    CHECK(ran == (dg_bf16_available() ? DG_PRECISION_BF16 : DG_PRECISION_FP32));
    CHECK(in_model == DG_PRECISION_BF16);
    CHECK(back.precision == DG_PRECISION_FP32);
    CHECK(n_bf16 == n_fp32 + 16); /* the optional section: tag, length, u32 */
}

/* The bf16 forward convolution (no im2col) against sums in double of bf16-rounded weights
 * and inputs plus the bias, then ReLU: within fp32 summing's (C*K*K + 2) * 2^-24 of the sum
 * of |terms|. Shapes: MNIST's first layer, rows wider than a panel, rows narrower than a
 * vector, a 1x1 kernel, one output channel, a channel count past a multiple of the tile. */
DG_TEST(bf16_conv_forward_matches_rounded_reference)
{
    if (!dg_bf16_available()) {
        SKIP("no AVX512_BF16 here (or DIGITS_NO_BF16 is set)");
    }
    static const struct {
        int c, h, w, k, o;
        bool relu;
    } cases[] = {
        {1, 28, 28, 3, 32, true}, {3, 9, 40, 3, 13, false}, {2, 7, 5, 5, 7, true},
        {4, 6, 6, 1, 20, true},   {5, 3, 3, 3, 1, false},   {32, 13, 13, 3, 64, true},
    };
    dg_rng rng;
    dg_rng_seed(&rng, 8);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int c = cases[ci].c, h = cases[ci].h, w = cases[ci].w, k = cases[ci].k, o = cases[ci].o;
        int oh = h - k + 1, ow = w - k + 1, n = 3, ckk = c * k * k;
        dg_conv_args l = {{c, h, w}, {o, oh, ow}, o, k, cases[ci].relu, NULL, NULL, 0, 0};
        size_t nx = (size_t)n * c * h * w, ny = (size_t)n * o * oh * ow;
        float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y);
        float *wt = malloc((size_t)o * ckk * sizeof *wt), *b = malloc((size_t)o * sizeof *b);
        float *work = malloc(dg_conv_bf16_work_floats(&l) * sizeof *work);
        CHECK(x && y && wt && b && work);
        for (size_t i = 0; i < nx; i++) {
            x[i] = uniform(&rng);
        }
        for (int i = 0; i < o * ckk; i++) {
            wt[i] = uniform(&rng);
        }
        for (int i = 0; i < o; i++) {
            b[i] = uniform(&rng);
        }
        l.w = wt;
        l.b = b;
        bool ran = dg_conv_forward_bf16(&l, x, y, n, work);
        bool ok = ran;
        size_t bad = 0;
        for (int e = 0; e < n && ok; e++) {
            for (int oc = 0; oc < o && ok; oc++) {
                for (int i = 0; i < oh * ow && ok; i++) {
                    double s = b[oc], mag = fabs(b[oc]);
                    for (int t = 0; t < ckk; t++) {
                        int ch = t / (k * k), u = t / k % k, v = t % k;
                        float xv = x[(((size_t)e * c + ch) * h + i / ow + u) * w + i % ow + v];
                        double term = (double)round_bf16(wt[oc * ckk + t]) * round_bf16(xv);
                        s += term;
                        mag += fabs(term);
                    }
                    s = cases[ci].relu && s < 0 ? 0 : s;
                    bad = (((size_t)e * o + oc) * oh * ow) + i;
                    ok = fabs(y[bad] - s) <= (ckk + 2) * 0x1p-24 * mag + 1e-30;
                }
            }
        }
        free(x);
        free(y);
        free(wt);
        free(b);
        free(work);
        CHECK_MSG(ok, "case %zu: output %zu off (ran %d)", ci, bad, ran);
    }
}

/* One case of the bf16 convolution backward pass against sums in double of bf16-rounded
 * operands: the output gradient through the ReLU (exact in fp32) and the input or the
 * weights. fp32 summing may move each by at most (terms + 2) * 2^-24 of the sum of |terms|;
 * the bias gradient is an fp32 sum of unrounded values. dw and db are added into, dx
 * overwritten. */
static bool check_conv_backward(int c, int h, int w, int k, int o, int n, bool masked, bool with_dx,
                                dg_rng *rng, char *why, size_t why_size)
{
    int oh = h - k + 1, ow = w - k + 1, p = oh * ow, kk = k * k;
    dg_conv_args l = {{c, h, w}, {o, oh, ow}, o, k, masked, NULL, NULL, 0, 0};
    size_t nx = (size_t)n * c * h * w, ny = (size_t)n * o * p, nw = (size_t)o * c * kk;
    float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y), *dy = malloc(ny * sizeof *dy);
    float *dz = malloc(ny * sizeof *dz), *dx = malloc(nx * sizeof *dx);
    float *wt = malloc(nw * sizeof *wt), *dw = malloc(nw * sizeof *dw), *dw0 = malloc(nw * 4);
    float *db = malloc((size_t)o * sizeof *db), *db0 = malloc((size_t)o * sizeof *db0);
    float *work = malloc(dg_conv_bf16_backward_work_floats(&l, n) * sizeof *work);
    bool ok = x && y && dy && dz && dx && wt && dw && dw0 && db && db0 && work;
    snprintf(why, why_size, "out of memory");
    for (size_t i = 0; ok && i < nx; i++) {
        x[i] = uniform(rng);
        dx[i] = 1e30f; /* overwritten */
    }
    for (size_t i = 0; ok && i < ny; i++) {
        y[i] = uniform(rng);
        dy[i] = uniform(rng);
        dz[i] = masked && y[i] <= 0.0f ? 0.0f : dy[i];
    }
    for (size_t i = 0; ok && i < nw; i++) {
        wt[i] = uniform(rng);
        dw[i] = dw0[i] = uniform(rng);
    }
    for (int i = 0; ok && i < o; i++) {
        db[i] = db0[i] = uniform(rng);
    }
    l.w = wt;
    if (ok && !dg_conv_backward_bf16(&l, x, y, dy, with_dx ? dx : NULL, n, masked, dw, db, work)) {
        ok = false;
        snprintf(why, why_size, "did not run");
    }
    for (int oc = 0; ok && oc < o; oc++) {
        double s = db0[oc], mag = fabs(db0[oc]);
        for (int b = 0; b < n; b++) {
            for (int q = 0; q < p; q++) {
                s += dz[((size_t)b * o + oc) * p + q];
                mag += fabs(dz[((size_t)b * o + oc) * p + q]);
            }
        }
        ok = fabs(db[oc] - s) <= (n * p + 2) * 0x1p-24 * mag;
        snprintf(why, why_size, "db[%d] %g, want %g", oc, (double)db[oc], s);
        for (int r = 0; ok && r < c * kk; r++) {
            int ch = r / kk, u = r / k % k, v = r % k;
            double sw = dw0[(size_t)oc * c * kk + r], mw = fabs(sw);
            for (int b = 0; b < n; b++) {
                for (int q = 0; q < p; q++) {
                    float xv = x[(((size_t)b * c + ch) * h + q / ow + u) * w + q % ow + v];
                    double term =
                        (double)round_bf16(xv) * round_bf16(dz[((size_t)b * o + oc) * p + q]);
                    sw += term;
                    mw += fabs(term);
                }
            }
            float got = dw[(size_t)oc * c * kk + r];
            ok = fabs(got - sw) <= (n * p + 2) * 0x1p-24 * mw + 1e-30;
            snprintf(why, why_size, "dw[%d][%d] %g, want %g", oc, r, (double)got, sw);
        }
    }
    for (int b = 0; ok && with_dx && b < n; b++) {
        for (int ch = 0; ok && ch < c; ch++) {
            for (int q = 0; ok && q < h * w; q++) {
                int i = q / w, j = q % w;
                double s = 0.0, mag = 0.0;
                for (int oc = 0; oc < o; oc++) {
                    for (int u = 0; u < k; u++) {
                        for (int v = 0; v < k; v++) {
                            if (i - u < 0 || i - u >= oh || j - v < 0 || j - v >= ow) {
                                continue;
                            }
                            float g = dz[((size_t)b * o + oc) * p + (i - u) * ow + j - v];
                            float wv = wt[(((size_t)oc * c + ch) * k + u) * k + v];
                            double term = (double)round_bf16(g) * round_bf16(wv);
                            s += term;
                            mag += fabs(term);
                        }
                    }
                }
                float got = dx[((size_t)b * c + ch) * h * w + q];
                ok = fabs(got - s) <= (o * kk + 2) * 0x1p-24 * mag + 1e-30;
                snprintf(why, why_size, "dx[%d][%d][%d] %g, want %g", b, ch, q, (double)got, s);
            }
        }
    }
    free(x);
    free(y);
    free(dy);
    free(dz);
    free(dx);
    free(wt);
    free(dw);
    free(dw0);
    free(db);
    free(db0);
    free(work);
    return ok;
}

/* The bf16 backward pass (no im2col) on seed-cnn's second convolution, fast's (24 input
 * channels: the 256-bit half, 48 outputs: the wide weight-gradient tiles), odd numbers of
 * examples, channels and outputs, a 5x5 kernel, a plane of fewer positions than a tile,
 * planes ending in tiles of 4, 8 and 12 positions, the ReLU taken above (dy as it is), and
 * no input gradient. */
DG_TEST(bf16_conv_backward_matches_rounded_reference)
{
    if (!dg_bf16_available()) {
        SKIP("no AVX512_BF16 here (or DIGITS_NO_BF16 is set)");
    }
    static const struct {
        int c, h, w, k, o, n;
        bool masked, with_dx;
    } cases[] = {
        {32, 13, 13, 3, 64, 8, true, true}, {24, 12, 12, 3, 48, 4, true, true},
        {5, 9, 11, 3, 13, 3, true, true},   {4, 9, 8, 5, 20, 2, false, true},
        {7, 5, 5, 3, 33, 1, true, true},    {40, 6, 7, 3, 17, 5, false, false},
        {6, 4, 25, 3, 10, 2, true, true},
    };
    dg_rng rng;
    dg_rng_seed(&rng, 9);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[160];
        bool ok = check_conv_backward(cases[i].c, cases[i].h, cases[i].w, cases[i].k, cases[i].o,
                                      cases[i].n, cases[i].masked, cases[i].with_dx, &rng, why,
                                      sizeof why);
        CHECK_MSG(ok, "case %zu: %s", i, why);
    }
}

/* The weight gradient of a layer of few patch rows by bf16 dot products against sums in
 * double of bf16-rounded inputs and output gradients, and the bias gradient it may sum
 * against the unrounded output gradients: MNIST's first layers (rows of 26 and
 * 24 positions, one vector), an odd row length whose last pair is half empty, rows longer
 * than a vector, output channels and patch rows past a multiple of the tile. */
DG_TEST(bf16_conv_weight_grad_dots_matches_rounded_reference)
{
    if (!dg_bf16_available()) {
        SKIP("no AVX512_BF16 here (or DIGITS_NO_BF16 is set)");
    }
    static const struct {
        int c, h, w, k, o, n;
    } cases[] = {
        {1, 28, 28, 3, 32, 8}, {1, 28, 28, 5, 24, 3}, {1, 9, 13, 3, 5, 2},
        {3, 6, 40, 3, 4, 1},   {2, 5, 35, 3, 7, 2},
    };
    dg_rng rng;
    dg_rng_seed(&rng, 17);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int c = cases[ci].c, h = cases[ci].h, w = cases[ci].w, k = cases[ci].k;
        int o = cases[ci].o, n = cases[ci].n, oh = h - k + 1, ow = w - k + 1, p = oh * ow;
        int rows = c * k * k;
        dg_conv_args l = {{c, h, w}, {o, oh, ow}, o, k, false, NULL, NULL, 0, 0};
        size_t nx = (size_t)n * c * h * w, nz = (size_t)n * o * p, nw = (size_t)o * rows;
        float *x = malloc(nx * sizeof *x), *dz = malloc(nz * sizeof *dz);
        float *dw = malloc(nw * sizeof *dw), *dw0 = malloc(nw * sizeof *dw0);
        float *db = malloc((size_t)o * sizeof *db), *db0 = malloc((size_t)o * sizeof *db0);
        float *work = malloc(dg_conv_weight_grad_dots_bf16_work_floats(&l, n) * sizeof *work);
        CHECK(x && dz && dw && dw0 && db && db0 && work);
        for (size_t i = 0; i < nx; i++) {
            x[i] = uniform(&rng);
        }
        for (size_t i = 0; i < nz; i++) {
            dz[i] = uniform(&rng);
        }
        for (size_t i = 0; i < nw; i++) {
            dw[i] = dw0[i] = uniform(&rng);
        }
        for (int i = 0; i < o; i++) {
            db[i] = db0[i] = uniform(&rng);
        }
        /* the bias gradient too, in fp32, on every other case */
        bool with_db = ci % 2 == 0;
        bool ok = dg_conv_weight_grad_dots_bf16(&l, x, dz, n, dw, with_db ? db : NULL, work);
        size_t bad = 0;
        for (int oc = 0; oc < o && ok; oc++) {
            double sb = db0[oc], mb = fabs(sb);
            for (size_t q = 0; q < (size_t)n * p; q++) {
                float g = dz[(q / p * o + oc) * p + q % p];
                sb += g;
                mb += fabs(g);
            }
            bad = (size_t)oc;
            ok = with_db ? fabs(db[oc] - sb) <= (n * p + 2) * 0x1p-24 * mb : db[oc] == db0[oc];
        }
        for (int oc = 0; oc < o && ok; oc++) {
            for (int r = 0; r < rows && ok; r++) {
                int ch = r / (k * k), u = r / k % k, v = r % k;
                bad = (size_t)oc * rows + r;
                double s = dw0[bad], mag = fabs(s);
                for (int b = 0; b < n; b++) {
                    for (int q = 0; q < p; q++) {
                        float xv = x[(((size_t)b * c + ch) * h + q / ow + u) * w + q % ow + v];
                        double term =
                            (double)round_bf16(xv) * round_bf16(dz[((size_t)b * o + oc) * p + q]);
                        s += term;
                        mag += fabs(term);
                    }
                }
                ok = fabs(dw[bad] - s) <= (n * p + 2) * 0x1p-24 * mag;
            }
        }
        free(x);
        free(dz);
        free(dw);
        free(dw0);
        free(db);
        free(db0);
        free(work);
        CHECK_MSG(ok, "case %zu: db or dw element %zu off", ci, bad);
    }
}

/* Where the CPU reports AVX512_BF16 and nothing turns it off, the kernels are in the build
 * and in use: a build that compiled them out would only skip the tests above. */
DG_TEST(bf16_available_where_the_cpu_has_it)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    const char *off = getenv("DIGITS_NO_BF16");
    if (!__builtin_cpu_supports("avx512bf16") || (off && *off && strcmp(off, "0"))) {
        SKIP("this CPU has no AVX512_BF16, or DIGITS_NO_BF16 is set");
    }
    CHECK(dg_bf16_available());
#else
    SKIP("not an x86-64 build");
#endif
}

/* A bf16 net's training forward pass and gradients stay close to the fp32 reference loops on
 * a padded convolution, a valid one and a dense layer (bf16 keeps 8 significant bits: a few
 * parts in a thousand per product; no ReLU or max pooling, whose kinks a rounding may
 * cross), and its inference stays fp32, bit for bit the fp32 net's. */
DG_TEST(bf16_net_close_to_reference)
{
    if (!dg_bf16_available()) {
        SKIP("no AVX512_BF16 here (or DIGITS_NO_BF16 is set)");
    }
    enum { N = 6, S = 10 };
    const char *spec = "conv 6 3 pad 1, avgpool 2, conv 8 3, flatten, dense 10";
    static float x[N * S * S];
    uint8_t labels[N];
    dg_rng rng;
    dg_rng_seed(&rng, 13);
    for (int i = 0; i < N * S * S; i++) {
        x[i] = dg_rng_uniform(&rng);
    }
    for (int i = 0; i < N; i++) {
        labels[i] = (uint8_t)(i % 10);
    }
    dg_net *ref, *half, *plain;
    CHECK_OK(dg_net_new(spec, (dg_shape){1, S, S}, &ref));
    CHECK_OK(dg_net_new(spec, (dg_shape){1, S, S}, &half));
    CHECK_OK(dg_net_new(spec, (dg_shape){1, S, S}, &plain));
    dg_net_set_reference(ref, true);
    dg_net_init_params(ref, &rng);
    size_t np = dg_net_param_count(ref);
    memcpy(dg_net_params(half), dg_net_params(ref), np * sizeof(float));
    memcpy(dg_net_params(plain), dg_net_params(ref), np * sizeof(float));
    CHECK(dg_net_set_precision(half, DG_PRECISION_BF16) == DG_PRECISION_BF16);
    const float *pr, *ph;
    CHECK_OK(dg_net_forward(ref, x, N, true, &rng, &pr));
    CHECK_OK(dg_net_forward(half, x, N, true, &rng, &ph));
    for (int i = 0; i < N * 10; i++) {
        CHECK_NEAR(pr[i], ph[i], 0.005);
    }
    dg_net_backward(ref, labels, N);
    dg_net_backward(half, labels, N);
    const float *gr = dg_net_grads(ref), *gh = dg_net_grads(half);
    double max_g = 0.0, max_d = 0.0;
    for (size_t i = 0; i < np; i++) {
        max_g = fmax(max_g, fabs(gr[i]));
        max_d = fmax(max_d, fabs(gr[i] - gh[i]));
    }
    CHECK(max_g > 0.0);
    CHECK_MSG(max_d <= 0.01 * max_g, "largest gradient %g, largest difference %g", max_g, max_d);
    const float *p_half, *p_plain;
    float kept[N * 10];
    CHECK_OK(dg_net_forward(half, x, N, false, NULL, &p_half));
    memcpy(kept, p_half, sizeof kept);
    CHECK_OK(dg_net_forward(plain, x, N, false, NULL, &p_plain));
    CHECK(!memcmp(kept, p_plain, sizeof kept));
    dg_net_free(ref);
    dg_net_free(half);
    dg_net_free(plain);
}
