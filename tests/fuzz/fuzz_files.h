/*
 * fuzz_files.h - the scratch files of the fuzz targets that read from a path: two files
 * in a private temporary folder made on the first call and removed at exit. Included by
 * one target each.
 */
#ifndef DG_FUZZ_FILES_H
#define DG_FUZZ_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_dir[64];
static char fuzz_path_a[96], fuzz_path_b[96];

static void fuzz_remove_files(void)
{
    unlink(fuzz_path_a);
    unlink(fuzz_path_b);
    rmdir(fuzz_dir);
}

/* Makes the folder once and names its two files; 0 when it cannot be made. */
static int fuzz_files_setup(const char *name_a, const char *name_b)
{
    if (fuzz_dir[0]) {
        return 1;
    }
    snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/digits-fuzz-XXXXXX");
    if (!mkdtemp(fuzz_dir)) {
        fuzz_dir[0] = '\0';
        return 0;
    }
    snprintf(fuzz_path_a, sizeof fuzz_path_a, "%s/%s", fuzz_dir, name_a);
    snprintf(fuzz_path_b, sizeof fuzz_path_b, "%s/%s", fuzz_dir, name_b);
    atexit(fuzz_remove_files);
    return 1;
}

/* data[0..size) to path, replacing it; 0 on failure */
static int fuzz_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        return 0;
    }
    int ok = size == 0 || fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

#endif
