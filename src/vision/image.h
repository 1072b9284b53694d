/*
 * image.h - private to the image readers: image.c (dg_image, PNG, JPEG, loading by
 * content), image_png_direct.c (the common PNG without libpng) and image_pnm_bmp.c
 * (PGM/PPM and BMP). Every message starts with the file's
 * name, "(memory)" for dg_image_load_memory.
 */
#ifndef DG_IMAGE_H
#define DG_IMAGE_H

#include "digits.h"

/* The common size check of every reader, with the reader's file name in the message:
 * DG_ERR_FORMAT for an empty image, DG_ERR_TOO_LARGE beyond DG_IMAGE_MAX_PIXELS. */
dg_status dg_image_check_size(const char *name, const char *kind, uint64_t w, uint64_t h);
/* dg_image_new with the file's name on failure. */
dg_status dg_image_new_named(const char *name, int w, int h, int channels, dg_image **out);
/* The same with the pixels left unset, for a reader that writes every one of them. */
dg_status dg_image_new_unset(const char *name, int w, int h, int channels, dg_image **out);

/* The readers of image_pnm_bmp.c, called by content: data starts with "P2", "P3", "P5" or
 * "P6" (dg_pnm_decode) or "BM" (dg_bmp_decode). On failure *out is untouched. */
dg_status dg_pnm_decode(const uint8_t *data, size_t n_bytes, const char *name, dg_image **out);
dg_status dg_bmp_decode(const uint8_t *data, size_t n_bytes, const char *name, dg_image **out);

/* image_png_direct.c: the common PNG (8-bit grey, RGB or RGBA, not interlaced, no palette
 * or transparency chunk), read without libpng. data starts with the PNG signature. True
 * with *out set when the file was read; false, *out untouched and no message set, when
 * libpng is to read it instead: the file is of another kind, unusual or damaged. */
bool dg_png_decode_direct(const uint8_t *data, size_t n_bytes, dg_image **out);

#endif
