/*
 * replay.c - a plain main() for the fuzz targets: runs LLVMFuzzerTestOneInput once on
 * every file named on the command line and on every file inside the folders named there
 * (recursively, in name order), so that `make test` replays each corpus without
 * libFuzzer. Prints "replayed N inputs"; -v also names each input before running it.
 * Exit status: 0, 1 when an input cannot be read, 2 on bad usage.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int verbose;
static unsigned long replayed;

/* Reads the whole file and runs the target on it; 0 on success, -1 if unreadable. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fprintf(stderr, "%s: out of memory\n", path);
            fclose(f);
            return -1;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) {
            break;
        }
        uint8_t *grown = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!grown) {
            free(buf);
        }
        buf = grown;
        cap *= 2;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "%s: read error\n", path);
        free(buf);
        return -1;
    }
    if (verbose) {
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    }
    /* A copy of exactly n bytes, so that ASan sees any read past the input's end. */
    uint8_t *input = malloc(n ? n : 1);
    if (!input) {
        fprintf(stderr, "%s: out of memory\n", path);
        free(buf);
        return -1;
    }
    memcpy(input, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(input, n);
    free(input);
    replayed++;
    return 0;
}

static int replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        return replay_file(path);
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        perror(path);
        return -1;
    }
    int status = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (name[0] != '.') {
            size_t len = strlen(path) + strlen(name) + 2;
            char *child = malloc(len);
            if (!child) {
                fprintf(stderr, "%s: out of memory\n", path);
                status = -1;
            } else {
                snprintf(child, len, "%s/%s", path, name);
                if (replay_path(child) != 0) {
                    status = -1;
                }
                free(child);
            }
        }
        free(names[i]);
    }
    free(names);
    return status;
}

int main(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && !strcmp(argv[1], "-v")) {
        verbose = 1;
        first = 2;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [-v] FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    int status = 0;
    for (int i = first; i < argc; i++) {
        if (replay_path(argv[i]) != 0) {
            status = 1;
        }
    }
    printf("replayed %lu inputs\n", replayed);
    return status;
}
