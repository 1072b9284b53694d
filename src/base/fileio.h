/*
 * fileio.h - whole files in and out: reading into memory for the loaders that parse
 * from a buffer, and atomic writes for the savers that build one (model files, images).
 */
#ifndef DG_FILEIO_H
#define DG_FILEIO_H

#include "digits.h"

/* Reads the regular file at path, of at most max_bytes, into a new buffer (*out, freed by
 * the caller; *n_out bytes). what names the expected content in messages ("a model
 * file"). DG_ERR_NOT_FOUND, DG_ERR_IO (also for a directory or a device), DG_ERR_TOO_LARGE
 * (before reading), DG_ERR_NOMEM; on failure *out is NULL. A file that shrinks while it
 * is read gives what was there. */
dg_status dg_read_file(const char *path, uint64_t max_bytes, const char *what, uint8_t **out,
                       size_t *n_out);

/* Writes bytes[n] to path atomically (see fileio.c): on any failure path is untouched,
 * no temporary file is left, and the status is DG_ERR_IO (DG_ERR_NOT_FOUND when the
 * folder does not exist, DG_ERR_NOMEM). */
dg_status dg_write_file_atomic(const char *path, const uint8_t *bytes, size_t n);

/* The folder part of path as a new string ("." when there is none); NULL on no memory. */
char *dg_parent_dir(const char *path);

#endif
