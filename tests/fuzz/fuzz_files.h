/*
 * fuzz_files.h - the scratch files of the fuzz targets that read from a path: two files
 * in a private temporary folder made on the first call and removed at exit. Included by
 * one target each.
 */
#ifndef DG_FUZZ_FILES_H
#define DG_FUZZ_FILES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

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

/* A copy of data with the framing that model and checkpoint files share made right (the
 * file's length in bytes 16-23, the CRC-32 of all before them in the last 4), so that the
 * fuzzer's changes reach the parser behind those checks; NULL when size < 28 or out of
 * memory. The caller frees it. */
static inline uint8_t *fuzz_with_valid_frame(const uint8_t *data, size_t size)
{
    if (size < 28) {
        return NULL;
    }
    uint8_t *fixed = malloc(size);
    if (!fixed) {
        return NULL;
    }
    memcpy(fixed, data, size);
    for (int i = 0; i < 8; i++) {
        fixed[16 + i] = (uint8_t)((uint64_t)size >> (8 * i));
    }
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), fixed, (uInt)(size - 4));
    for (int i = 0; i < 4; i++) {
        fixed[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    return fixed;
}

#endif
