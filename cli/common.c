/*
 * common.c - what the commands share: one-line error messages in the "digits: CMD: ..."
 * form, option values parsed strictly with messages that name the option and what it
 * takes, and loading a model with a message that says what to do when there is none.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static void vreport(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "digits: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    return DG_EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "try 'digits %s --help'\n", cmd);
    return DG_EXIT_USAGE;
}

/* strtol and strtod skip leading blanks and accept a prefix; option values must be a
 * number and nothing else. */
static int starts_like_number(const char *s)
{
    return s && s[0] && (s[0] == '-' || s[0] == '+' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9'));
}

static bool parse_int(const char *s, long lo, long hi, long *out)
{
    if (!starts_like_number(s)) {
        return false;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    if (!starts_like_number(s) || strpbrk(s, "xX")) {
        return false;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* strtod also takes "nan", "inf" and hex floats; only plain finite decimals pass */
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

bool cli_int_option(const char *cmd, const char *option, const char *value, long lo, long hi,
                    long *out)
{
    if (!parse_int(value, lo, hi, out)) {
        cli_usage_error(cmd, "%s: '%s' is not a whole number in %ld..%ld", option, value, lo, hi);
        return false;
    }
    return true;
}

bool cli_float_option(const char *cmd, const char *option, const char *value, double lo, double hi,
                      double *out)
{
    if (!parse_double(value, lo, hi, out)) {
        cli_usage_error(cmd, "%s: '%s' is not a number in %g..%g", option, value, lo, hi);
        return false;
    }
    return true;
}

bool cli_choice_option(const char *cmd, const char *option, const char *value,
                       const char *const *names, int *out)
{
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; names[i]; i++) {
        if (!strcmp(value, names[i])) {
            *out = i;
            return true;
        }
        int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
        used += n > 0 && (size_t)n < sizeof list - used ? (size_t)n : 0;
    }
    cli_usage_error(cmd, "%s: '%s' is not one of %s", option, value, list);
    return false;
}

int cli_other_option(const char *cmd, const char *usage, int c, char **argv)
{
    if (c == 'h') {
        fputs(usage, stdout);
        return DG_EXIT_OK;
    }
    if (c == ':') {
        return cli_usage_error(cmd, "option %s needs a value", argv[optind - 1]);
    }
    return cli_usage_error(cmd, "unknown option %s", argv[optind - 1]);
}

int cli_parse_model_args(const char *cmd, const char *usage, int max_models, int argc, char **argv,
                         const char **models, int *n_models)
{
    static const struct option longs[] = {
        {"model", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *named = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hm:", longs, NULL)) != -1) {
        if (c != 'm') {
            return cli_other_option(cmd, usage, c, argv); /* --help or a usage error */
        }
        named = optarg;
    }
    *n_models = 0;
    if (named) {
        models[(*n_models)++] = named;
    }
    for (int i = optind; i < argc; i++) {
        if (*n_models == max_models) {
            return max_models == 1 && named
                       ? cli_usage_error(cmd, "two models: --model %s and '%s'; give one", named,
                                         argv[i])
                       : cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
        }
        models[(*n_models)++] = argv[i];
    }
    if (*n_models == 0) {
        models[(*n_models)++] = DG_DEFAULT_MODEL;
    }
    return -1;
}

const char *cli_one_model(const char *cmd, const char *named, int argc, char **argv)
{
    if (optind >= argc) {
        return named ? named : DG_DEFAULT_MODEL;
    }
    if (named) {
        cli_usage_error(cmd, "two models: --model %s and '%s'; give one", named, argv[optind]);
        return NULL;
    }
    if (argc - optind > 1) {
        cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
        return NULL;
    }
    return argv[optind];
}

void cli_history_path(const char *model, char *out, size_t size)
{
    size_t n = strlen(model);
    const char *ext = ".model";
    size_t e = strlen(ext);
    if (n >= e && !strcmp(model + n - e, ext)) {
        snprintf(out, size, "%.*s.history.csv", (int)(n - e), model);
    } else {
        snprintf(out, size, "%s.history.csv", model);
    }
}

/* The extension of path's last component ("" when none). */
static const char *extension(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    return dot && (!slash || dot > slash) ? dot : "";
}

bool cli_picture_path(const char *cmd, const char *option, const char *path)
{
    const char *ext = extension(path);
    if (!strcasecmp(ext, ".png") || !strcasecmp(ext, ".svg")) {
        return true;
    }
    cli_usage_error(cmd, "%s: '%s' is not a .png or .svg name: pictures are written as PNG or SVG",
                    option, path);
    return false;
}

bool cli_png_path(const char *cmd, const char *option, const char *path)
{
    if (!strcasecmp(extension(path), ".png")) {
        return true;
    }
    cli_usage_error(cmd, "%s: '%s' is not a .png name: this picture is written as PNG", option,
                    path);
    return false;
}

void cli_wrote(bool to_stderr, const char *fmt, ...)
{
    FILE *f = to_stderr ? stderr : stdout;
    va_list ap;
    va_start(ap, fmt);
    fputs("wrote ", f);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    va_end(ap);
}
void cli_show_preprocess(const dg_preprocess_info *info)
{
    printf("  preprocessing: %s ink, background %.0f, contrast %.0f, noise %.1f",
           info->inverted ? "dark" : "light", (double)info->background, (double)info->contrast,
           (double)info->noise);
    if (info->light_followed) {
        printf("; light followed at the scale of strokes");
    }
    if (info->desk) {
        printf("; the page lies on a desk, left out");
    }
    printf("\n  ink components: %d left", info->components);
    if (info->kept) {
        printf(", %d kept as the digit", info->kept);
    }
    const char *sep = "; dropped: ";
    for (int r = 0; r < DG_PREP_DROP_COUNT; r++) {
        if (info->dropped[r]) {
            printf("%s%d %s", sep, info->dropped[r], dg_prep_drop_name((dg_prep_drop)r));
            sep = ", ";
        }
    }
    printf("\n");
}

void cli_show_digit(const uint8_t *d, const dg_prediction *p, const dg_model_meta *meta)
{
    static const char ramp[] = " .:-=+*#%@";
    bool found = p && (p->answer == DG_ANSWER_DIGIT || p->answer == DG_ANSWER_UNSURE);
    for (int r = 0; r < DG_MNIST_SIDE; r++) {
        printf("  ");
        for (int c = 0; c < DG_MNIST_SIDE; c++) {
            char ch = ramp[d[r * DG_MNIST_SIDE + c] * 9 / 255];
            putchar(ch);
            putchar(ch);
        }
        int cls = r / 2 - 2;
        if (r % 2 == 0 && found && cls >= 0 && cls < p->classes) {
            char pct[16];
            int bar = (int)(p->probs[cls] * 30.0f + 0.5f);
            printf("   %-3.3s %6s ", meta->labels[cls], dg_format_percent(p->probs[cls], pct));
            for (int i = 0; i < bar; i++) {
                putchar('#');
            }
        }
        putchar('\n');
    }
}

dg_net *cli_load_model(const char *cmd, const char *path, dg_model_meta *meta)
{
    dg_net *net = NULL;
    dg_status st = dg_model_load(path, &net, meta);
    if (st == DG_ERR_NOT_FOUND) {
        cli_error(cmd, "no model at %s; train one first with: digits train -o %s", path, path);
        return NULL;
    }
    if (st != DG_OK) {
        cli_error(cmd, "%s", dg_last_error());
        return NULL;
    }
    return net;
}

void cli_print_csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') {
            putchar('"');
        }
        putchar(*s);
    }
    putchar('"');
}

static const char *const image_exts[] = {".png", ".jpg", ".jpeg", ".pgm",
                                         ".ppm", ".pnm", ".bmp",  NULL};

static bool has_image_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) {
        return false;
    }
    for (int i = 0; image_exts[i]; i++) {
        if (!strcasecmp(dot, image_exts[i])) {
            return true;
        }
    }
    return false;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

typedef struct walk {
    cli_visit_fn visit;
    cli_fail_fn fail;
    void *user;
    int count;
} walk;

static void walk_path(walk *w, const char *path, int depth)
{
    struct stat st;
    char message[1200];
    if (stat(path, &st) != 0) {
        snprintf(message, sizeof message, "%s: %s", path, strerror(errno));
        w->count++;
        w->fail(w->user, path, message);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        w->count++;
        w->visit(w->user, path);
        return;
    }
    if (depth > 16) {
        return;
    }
    struct dirent **entries;
    int n = scandir(path, &entries, NULL, by_name);
    if (n < 0) {
        snprintf(message, sizeof message, "%s: cannot read folder: %s", path, strerror(errno));
        w->count++;
        w->fail(w->user, path, message);
        return;
    }
    for (int i = 0; i < n; i++) {
        const char *name = entries[i]->d_name;
        if (name[0] != '.') {
            char child[4096];
            size_t len = strlen(path);
            bool slash = len > 0 && path[len - 1] == '/'; /* "samples/" gives no "//" */
            snprintf(child, sizeof child, "%s%s%s", path, slash ? "" : "/", name);
            struct stat cst;
            if (stat(child, &cst) == 0 && (S_ISDIR(cst.st_mode) || has_image_ext(name))) {
                walk_path(w, child, depth + 1);
            }
        }
        free(entries[i]);
    }
    free(entries);
}

int cli_walk_images(char **paths, int n, cli_visit_fn visit, cli_fail_fn fail, void *user)
{
    walk w = {visit, fail, user, 0};
    for (int i = 0; i < n; i++) {
        walk_path(&w, paths[i], 0);
    }
    return w.count;
}

int cli_parse_image_options(const char *cmd, const char *usage, bool with_save_dir, int argc,
                            char **argv, cli_image_options *o)
{
    /* the last two options are predict's alone: without them, the table ends two rows
     * earlier */
    struct option longs[] = {
        {"model", required_argument, 0, 'm'},   {"csv", no_argument, 0, 'c'},
        {"show", no_argument, 0, 's'},          {"min-confidence", required_argument, 0, 'k'},
        {"plot", required_argument, 0, 'P'},    {"show-steps", required_argument, 0, 'S'},
        {"help", no_argument, 0, 'h'},          {"save-preprocessed", required_argument, 0, 'p'},
        {"explain", required_argument, 0, 'E'}, {0, 0, 0, 0},
    };
    if (!with_save_dir) {
        longs[sizeof longs / sizeof longs[0] - 3] = (struct option){0, 0, 0, 0};
    }
    *o = (cli_image_options){.model = DG_DEFAULT_MODEL, .min_confidence = DG_MIN_CONFIDENCE};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hm:", longs, NULL)) != -1) {
        switch (c) {
        case 'm':
            o->model = optarg;
            break;
        case 'c':
            o->csv = true;
            break;
        case 's':
            o->show = true;
            break;
        case 'p':
            o->save_dir = optarg;
            break;
        case 'S':
            o->steps_dir = optarg;
            break;
        case 'P':
            if (!cli_picture_path(cmd, "--plot", optarg)) {
                return DG_EXIT_USAGE;
            }
            o->plot = optarg;
            break;
        case 'E':
            if (!cli_png_path(cmd, "--explain", optarg)) {
                return DG_EXIT_USAGE;
            }
            o->explain = optarg;
            break;
        case 'k':
            if (!cli_float_option(cmd, "--min-confidence", optarg, 0.0, 1.0, &o->min_confidence)) {
                return DG_EXIT_USAGE;
            }
            break;
        default:
            return cli_other_option(cmd, usage, c, argv);
        }
    }
    if (optind >= argc) {
        return cli_usage_error(cmd, "no image given");
    }
    if (o->plot && argc - optind != 1) {
        return cli_usage_error(cmd, "--plot takes exactly one image");
    }
    if (o->explain && argc - optind != 1) {
        return cli_usage_error(cmd, "--explain takes exactly one image");
    }
    return -1;
}

bool cli_output_dir(const char *cmd, const char *option, const char *dir)
{
    struct stat sb;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        cli_error(cmd, "%s: cannot create %s: %s", option, dir, strerror(errno));
        return false;
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        cli_error(cmd, "%s: %s is not a folder", option, dir);
        return false;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        cli_error(cmd, "%s: cannot write in %s: %s", option, dir, strerror(errno));
        return false;
    }
    return true;
}

bool cli_name_in_dir(const char *dir, const char *path, const char *suffix, char *out, size_t size)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    int len = dot && dot > base ? (int)(dot - base) : (int)strlen(base);
    int n = snprintf(out, size, "%s/%.*s.%s", dir, len, base, suffix);
    return n >= 0 && (size_t)n < size;
}

bool cli_write_steps(const char *cmd, const char *dir, const char *path, const dg_image *img,
                     bool all_kept, bool csv)
{
    char name[4096];
    if (!cli_name_in_dir(dir, path, "steps.png", name, sizeof name)) {
        cli_error(cmd, "--show-steps: the picture's name for %s is too long", path);
        return false;
    }
    dg_prep_steps steps;
    dg_status st = dg_preprocess_steps(img, &steps);
    if (st == DG_OK && all_kept) {
        /* read takes every component the filters left, not one digit among them */
        size_t n = (size_t)steps.page->w * steps.page->h;
        for (size_t i = 0; i < n; i++) {
            steps.decision[i] =
                steps.decision[i] == DG_STEP_LEFT ? DG_STEP_DIGIT : steps.decision[i];
        }
        steps.info.kept = steps.info.components;
    }
    if (st == DG_OK) {
        st = dg_plot_steps(img, &steps, name);
    }
    dg_prep_steps_free(&steps);
    if (st != DG_OK) {
        cli_error(cmd, "--show-steps: %s", dg_last_error());
        return false;
    }
    cli_wrote(csv, "%s", name);
    return true;
}

dg_status cli_read_number(dg_net *net, const dg_model_meta *meta, float min_confidence,
                          const dg_image *img, int side, dg_segmentation **seg,
                          dg_prediction pred[DG_SEGMENT_MAX_DIGITS])
{
    dg_status st = dg_segment_at(img, side, seg);
    for (int k = 0; st == DG_OK && k < (*seg)->n; k++) {
        uint8_t digit[DG_MNIST_PIXELS];
        st = dg_segment_to_mnist(*seg, k, digit);
        if (st == DG_OK) {
            st = dg_predict_mnist(net, &meta->norm, digit, min_confidence, &pred[k]);
        }
    }
    if (st != DG_OK) {
        dg_segmentation_free(*seg);
        *seg = NULL;
    }
    return st;
}

/* Two pieces whose columns touch or overlap (a gap between their boxes of at most this
 * part of the taller one's height), one of them read at under BROKEN_SURE: the two halves
 * of one digit that a shadow's edge, a fold or a faint crossing broke, not a number. The
 * digits of a written number stand apart, or touch and then each reads as a sure digit. */
#define BROKEN_GAP  0.02
#define BROKEN_SURE 0.95f

static bool one_broken_digit(const dg_segmentation *seg, const dg_prediction pred[])
{
    if (seg->n != 2 || (pred[0].confidence >= BROKEN_SURE && pred[1].confidence >= BROKEN_SURE)) {
        return false;
    }
    const dg_digit_box *a = &seg->boxes[0], *b = &seg->boxes[1];
    int gap = b->x - (a->x + a->w), h = a->h > b->h ? a->h : b->h;
    return gap <= BROKEN_GAP * h;
}

dg_segmentation *cli_number_check(dg_net *net, const dg_model_meta *meta, float min_confidence,
                                  const dg_image *img, const dg_prediction *whole,
                                  dg_prediction pred[DG_SEGMENT_MAX_DIGITS])
{
    dg_segmentation *seg = NULL;
    if (whole->answer == DG_ANSWER_EMPTY ||
        cli_read_number(net, meta, min_confidence, img, CLI_NUMBER_CHECK_SIDE, &seg, pred) !=
            DG_OK) {
        return NULL;
    }
    if (seg->n < 2 || one_broken_digit(seg, pred)) {
        dg_segmentation_free(seg);
        return NULL;
    }
    return seg;
}
