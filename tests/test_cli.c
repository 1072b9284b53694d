/*
 * test_cli.c - the digits program as a user meets it: exit status 2 and a message for
 * bad flags and values, 1 and a hint for missing files, 0 for --help, and a small train,
 * evaluate, predict and verify round on generated data. The program under test is
 * $DIGITS_BIN (build/digits by default).
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <zlib.h>

static const char *digits_bin(void)
{
    const char *bin = getenv("DIGITS_BIN");
    return bin ? bin : "build/digits";
}

/* Runs `digits ARGS` with stdin from /dev/null; returns its exit status (-1 if it did
 * not exit normally, e.g. a crash) and its combined output in out. */
static int run_digits(const char *args, char *out, size_t size)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1 </dev/null", digits_bin(), args);
    FILE *p = popen(cmd, "r");
    if (!p) {
        return -2;
    }
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    while (fgetc(p) != EOF) {
    }
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Whether the shell finds the program NAME. */
static bool have_command(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    int status = system(cmd);
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

typedef struct cli_case {
    const char *args;
    int want_status;
    const char *want_text; /* must appear in the output */
} cli_case;

/* Runs each case; records a failure for the first one whose exit status or output differs. */
static void check_cases(const cli_case *cases, size_t n)
{
    char out[8192];
    for (size_t i = 0; i < n; i++) {
        int st = run_digits(cases[i].args, out, sizeof out);
        CHECK_MSG(st == cases[i].want_status, "digits %s: exit %d, want %d; output: %s",
                  cases[i].args, st, cases[i].want_status, out);
        CHECK_MSG(strstr(out, cases[i].want_text), "digits %s: output lacks '%s': %s",
                  cases[i].args, cases[i].want_text, out);
    }
}

DG_TEST(cli_usage_errors)
{
    static const cli_case cases[] = {
        {"", 2, "usage"},
        {"frobnicate", 2, "unknown command"},
        {"train --bogus", 2, "unknown option"},
        {"train --epochs", 2, "needs a value"},
        {"train --preset nope", 2, "unknown preset"},
        {"train extra-argument", 2, "unexpected argument"},
        {"predict", 2, "no image"},
        {"info", 2, "which model file?"},
        {"info a.model b.model", 2, "unexpected argument 'b.model'"},
        {"verify", 2, "which model file?"},
        {"verify --bogus", 2, "unknown option --bogus"},
        {"plot", 2, ""},
    };
    check_cases(cases, sizeof cases / sizeof cases[0]);
}

/* A bad option value names the option, the value and what the option takes. */
DG_TEST(cli_option_values_named)
{
    static const cli_case cases[] = {
        {"train --epochs 0", 2, "--epochs: '0' is not a whole number in 1..10000"},
        {"train --epochs=12abc", 2, "--epochs: '12abc' is not a whole number in 1..10000"},
        {"train --lr 50", 2, "--lr: '50' is not a number in 1e-06..10"},
        {"train --lr -1", 2, "--lr: '-1' is not a number in 1e-06..10"},
        {"train --batch 0x10", 2, "--batch: '0x10' is not a whole number in 1..65536"},
        {"train --val-split 0.95", 2, "--val-split: '0.95' is not a number in 0..0.9"},
        {"train --threads 0", 2, "--threads: '0' is not a whole number in 1..64"},
        {"train --optimizer rmsprop", 2, "--optimizer: 'rmsprop' is not one of adam, sgd"},
        {"train --schedule step", 2, "--schedule: 'step' is not one of constant, cosine, onecycle"},
        {"evaluate --threads many", 2, "--threads: 'many' is not a whole number in 1..64"},
        {"predict --min-confidence 2 x.png", 2, "--min-confidence: '2' is not a number in 0..1"},
        {"read --min-confidence nan x.png", 2, "--min-confidence: 'nan' is not a number in 0..1"},
        {"plot predictions --n 0", 2, "--n: '0' is not a whole number in 1..1000"},
        {"plot confusion --threads 65", 2, "--threads: '65' is not a whole number in 1..64"},
        {"report --mistakes -1", 2, "--mistakes: '-1' is not a whole number in 0..1000"},
    };
    check_cases(cases, sizeof cases / sizeof cases[0]);
}

DG_TEST(cli_help_everywhere)
{
    static const char *const commands[] = {"",       "train", "evaluate", "predict", "info",
                                           "verify", "plot",  "report",   "read"};
    char out[8192], args[64];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        snprintf(args, sizeof args, "%s --help", commands[i]);
        int st = run_digits(args, out, sizeof out);
        CHECK_MSG(st == 0, "digits %s: exit %d; output: %s", args, st, out);
        CHECK_MSG(strstr(out, "usage"), "digits %s prints no usage: %s", args, out);
    }
}

DG_TEST(cli_missing_files)
{
    char out[8192];
    const char *dir = test_tmp_dir();
    char args[1024];
    snprintf(args, sizeof args, "evaluate --model %s/none.model", dir);
    CHECK(run_digits(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "digits train"), "no hint to train a model: %s", out);
    snprintf(args, sizeof args, "train --data %s/nothing-here -q -o %s/m.model", dir, dir);
    CHECK(run_digits(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "make data"), "no hint to get the data: %s", out);
    snprintf(args, sizeof args, "verify %s/none.model", dir);
    CHECK(run_digits(args, out, sizeof out) == 1);
}

/* A tiny IDX set: ten classes told apart by a bright bar's row. */
static void write_idx(const char *dir, const char *prefix, int n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    gzFile img = gzopen(path, "wb");
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
    FILE *lab = fopen(path, "wb");
    uint8_t head[16] = {0,
                        0,
                        8,
                        3,
                        (uint8_t)(n >> 24),
                        (uint8_t)(n >> 16),
                        (uint8_t)(n >> 8),
                        (uint8_t)n,
                        0,
                        0,
                        0,
                        28,
                        0,
                        0,
                        0,
                        28};
    gzwrite(img, head, 16);
    uint8_t lhead[8] = {0, 0, 8, 1, head[4], head[5], head[6], head[7]};
    fwrite(lhead, 1, 8, lab);
    for (int i = 0; i < n; i++) {
        uint8_t pix[DG_MNIST_PIXELS] = {0};
        int label = i % 10;
        for (int c = 4; c < 24; c++) {
            pix[(4 + 2 * label) * 28 + c] = 255;
            pix[(5 + 2 * label) * 28 + c] = 200;
        }
        gzwrite(img, pix, DG_MNIST_PIXELS);
        uint8_t l = (uint8_t)label;
        fwrite(&l, 1, 1, lab);
    }
    gzclose(img);
    fclose(lab);
}

/* A fresh folder with 200 training and 50 test images of bars in IDX files. */
static const char *small_dataset_dir(void)
{
    const char *dir = test_tmp_dir();
    write_idx(dir, "train", 200);
    write_idx(dir, "t10k", 50);
    return dir;
}

DG_TEST(cli_train_evaluate_predict_round)
{
    const char *dir = small_dataset_dir();
    char out[16384], args[2048];
    snprintf(args, sizeof args,
             "train --spec 'flatten, dense 16 relu, dense 10' --epochs 3 --threads 1 --data %s "
             "-o %s/m.model",
             dir, dir);
    int st = run_digits(args, out, sizeof out);
    CHECK_MSG(st == 0, "train: exit %d: %s", st, out);
    CHECK(strstr(out, "test accuracy: "));
    snprintf(args, sizeof args, "evaluate --model %s/m.model --data %s", dir, dir);
    st = run_digits(args, out, sizeof out);
    CHECK_MSG(st == 0, "evaluate: exit %d: %s", st, out);
    CHECK(strstr(out, "test accuracy: "));
    CHECK(strstr(out, "confusion matrix"));
    snprintf(args, sizeof args, "verify %s/m.model", dir);
    CHECK(run_digits(args, out, sizeof out) == 0);
    snprintf(args, sizeof args, "info %s/m.model", dir);
    CHECK(run_digits(args, out, sizeof out) == 0);
    CHECK(strstr(out, "Total params"));

    /* one good image, one broken file: CSV keeps a row for each, exit 1 */
    dg_image *img;
    CHECK_OK(dg_image_new(28, 28, 1, &img));
    memset(img->pixels, 0, DG_MNIST_PIXELS);
    for (int c = 4; c < 24; c++) {
        img->pixels[12 * 28 + c] = 255;
        img->pixels[13 * 28 + c] = 255;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/bar.png", dir);
    dg_status saved = dg_image_save_png(path, img);
    dg_image_free(img);
    CHECK_OK(saved);
    snprintf(path, sizeof path, "%s/broken.png", dir);
    FILE *f = fopen(path, "wb");
    fputs("\x89PNG\r\n\x1a\n truncated", f);
    fclose(f);
    snprintf(args, sizeof args, "predict --csv --model %s/m.model %s/bar.png %s/broken.png", dir,
             dir, dir);
    st = run_digits(args, out, sizeof out);
    CHECK_MSG(st == 1, "predict with a broken file: exit %d: %s", st, out);
    CHECK_MSG(strstr(out, "path,digit,confidence,status\n"), "no CSV header: %s", out);
    CHECK_MSG(strstr(out, "bar.png,") && strstr(out, "broken.png,,,"), "rows missing: %s", out);
}

static bool file_has(const char *path, const char *text)
{
    char *buf = test_read_file(path, NULL);
    bool found = buf && strstr(buf, text) != NULL;
    free(buf);
    return found;
}

/* --labels names the classes in the model and in what evaluate and info print. */
DG_TEST(cli_train_labels)
{
    const char *dir = small_dataset_dir();
    char out[16384], args[2048];
    snprintf(args, sizeof args,
             "train --spec 'flatten, dense 10' --epochs 1 --threads 1 --data %s -o %s/l.model "
             "--labels zero,one,two,three,four,five,six,seven,eight,nine",
             dir, dir);
    int st = run_digits(args, out, sizeof out);
    CHECK_MSG(st == 0, "train: exit %d: %s", st, out);
    snprintf(args, sizeof args, "evaluate --model %s/l.model --data %s", dir, dir);
    st = run_digits(args, out, sizeof out);
    CHECK_MSG(st == 0 && strstr(out, "seven"), "evaluate: exit %d: %s", st, out);
    snprintf(args, sizeof args, "info %s/l.model", dir);
    st = run_digits(args, out, sizeof out);
    CHECK_MSG(st == 0 && strstr(out, "eight"), "info: exit %d: %s", st, out);
    /* nine names for ten classes, an empty name: usage errors, nothing written */
    snprintf(args, sizeof args,
             "train --spec 'flatten, dense 10' --epochs 1 --data %s -o %s/bad.model "
             "--labels a,b,c,d,e,f,g,h,i",
             dir, dir);
    st = run_digits(args, out, sizeof out);
    CHECK_MSG(st == 2 && strstr(out, "--labels"), "nine labels: exit %d: %s", st, out);
    snprintf(args, sizeof args,
             "train --spec 'flatten, dense 10' --epochs 1 --data %s -o %s/bad.model "
             "--labels a,b,,d,e,f,g,h,i,j",
             dir, dir);
    st = run_digits(args, out, sizeof out);
    CHECK_MSG(st == 2, "an empty label: exit %d: %s", st, out);
    snprintf(args, sizeof args, "%s/bad.model", dir);
    FILE *f = fopen(args, "rb");
    CHECK_MSG(!f, "a failed train wrote %s", args);
    if (f) {
        fclose(f);
    }
}

/* A spec that does not build is a usage error; the net is built for the data's image
 * size, so the generated data stands in for MNIST. */
DG_TEST(cli_train_bad_spec)
{
    const char *dir = small_dataset_dir();
    char out[8192], args[2048];
    snprintf(args, sizeof args, "train --spec 'flatten, dense ten' --data %s -o %s/x.model", dir,
             dir);
    int st = run_digits(args, out, sizeof out);
    CHECK_MSG(st == 2 && strstr(out, "want 'dense OUT"), "exit %d: %s", st, out);
}

/* A training run that is killed leaves the previous model and its history as they were;
 * a finished one replaces both and leaves no partial file behind. */
DG_TEST(cli_train_killed_keeps_old_model_and_history)
{
    if (!have_command("timeout")) {
        SKIP("no timeout program (coreutils) to stop a training run");
    }
    const char *dir = small_dataset_dir();
    char out[16384], args[2048], model[1024], history[1100], part[1200];
    snprintf(model, sizeof model, "%s/k.model", dir);
    snprintf(history, sizeof history, "%s/k.history.csv", dir);
    snprintf(part, sizeof part, "%s.part", history);
    snprintf(args, sizeof args,
             "train --spec 'flatten, dense 10' --epochs 2 --threads 1 --data %s -o %s", dir, model);
    int st = run_digits(args, out, sizeof out);
    CHECK_MSG(st == 0, "train: exit %d: %s", st, out);
    CHECK(file_has(history, "\n2,"));
    CHECK(!file_has(part, "epoch"));
    dg_net *before;
    CHECK_OK(dg_model_load(model, &before, NULL));

    /* far more epochs than a second allows, stopped by SIGKILL */
    char cmd[3072];
    snprintf(cmd, sizeof cmd,
             "timeout -s KILL 1 %s train --spec 'flatten, dense 64 relu, dense 10' "
             "--epochs 10000 --threads 1 --data %s -o %s >/dev/null 2>&1",
             digits_bin(), dir, model);
    int status = system(cmd);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 137, "timeout: status %d", status);
    CHECK_MSG(file_has(history, "\n2,") && !file_has(history, "\n3,"),
              "the old history was replaced");
    dg_net *after;
    CHECK_OK(dg_model_load(model, &after, NULL));
    if (before && after) {
        CHECK(!strcmp(dg_net_spec(before), dg_net_spec(after)));
    }
    dg_net_free(before);
    dg_net_free(after);
}

/* docs/digits.1 is scripts/gen-man.sh's output from the --help texts: a change to a
 * command's help without regenerating the page fails here. */
DG_TEST(cli_man_page_matches_help)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "scripts/gen-man.sh %s 2>&1", digits_bin());
    FILE *p = popen(cmd, "r");
    CHECK(p);
    size_t cap = 1 << 20, n = 0;
    char *made = malloc(cap);
    if (made) {
        n = fread(made, 1, cap - 1, p);
        made[n] = '\0';
    }
    int status = pclose(p);
    size_t want_n = 0;
    char *want = test_read_file("docs/digits.1", &want_n);
    int same = made && want && n == want_n && !memcmp(made, want, n);
    int has_import = made && strstr(made, ".SS import") != NULL;
    free(made);
    free(want);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed", cmd);
    CHECK_MSG(same, "docs/digits.1 differs from the --help texts: run scripts/gen-man.sh "
                    "build/digits > docs/digits.1");
    CHECK(has_import);
}

DG_TEST(cli_onnx_export_import)
{
    static const cli_case usage[] = {
        {"export", 2, "which model?"},
        {"export some.model", 2, "add -o"},
        {"import", 2, "which ONNX file?"},
        {"import net.onnx", 2, "add -o"},
        {"import --input-std 0 net.onnx -o x.model", 2, "--input-std: '0' is not a number"},
        {"import tests/data/onnx/torch-tiny.txt -o x.model", 1, "digits: import: "},
        {"import no-such.onnx -o x.model", 1, "no-such.onnx"},
        {"export no-such.model -o x.onnx", 1, "no model at no-such.model"},
    };
    check_cases(usage, sizeof usage / sizeof usage[0]);
    const char *dir = test_tmp_dir();
    char args[1024], out[8192];
    snprintf(args, sizeof args,
             "import tests/data/onnx/torch-tiny.onnx -o %s/tiny.model --input-mean 0.5", dir);
    int st = run_digits(args, out, sizeof out);
    CHECK_MSG(st == 0 && strstr(out, "avgpool 2"), "digits %s: %d %s", args, st, out);
    snprintf(args, sizeof args, "export %s/tiny.model -o %s/tiny.onnx", dir, dir);
    st = run_digits(args, out, sizeof out);
    CHECK_MSG(st == 0, "digits %s: %d %s", args, st, out);
    snprintf(args, sizeof args, "import %s/tiny.onnx -o %s/back.model", dir, dir);
    st = run_digits(args, out, sizeof out);
    /* the normalisation travels in the ONNX metadata */
    CHECK_MSG(st == 0 && strstr(out, "- 0.5)"), "digits %s: %d %s", args, st, out);
    snprintf(args, sizeof args, "info %s/back.model", dir);
    st = run_digits(args, out, sizeof out);
    CHECK_MSG(st == 0 && strstr(out, "dense 16 relu"), "digits %s: %d %s", args, st, out);
    /* a one-line refusal naming the node */
    snprintf(args, sizeof args,
             "import tests/fuzz/corpus/onnx/"
             "control-bytes-in-domain.onnx -o %s/x.model",
             dir);
    st = run_digits(args, out, sizeof out);
    char *nl = strchr(out, '\n');
    CHECK_MSG(st == 1 && strstr(out, "node 'layer2.conv' (Conv)") && nl && !nl[1],
              "digits %s: %d %s", args, st, out);
}
