/*
 * photo.h - private to synth/: the phone-photo conditions of a style (synth_photo.c),
 * applied by dg_synth_number to the composed page.
 */
#ifndef DG_SYNTH_PHOTO_H
#define DG_SYNTH_PHOTO_H

#include "synth/synth.h"

/* Whether style asks for any photo condition. */
bool dg_synth_photo_wanted(const dg_synth_style *st);
/* Applies the style's photo conditions to *img, which may be replaced by a larger image
 * (the desk around the page); boxes (n of them, may be NULL) follow the ink. On failure
 * *img is unchanged. */
dg_status dg_synth_photo(dg_rng *rng, const dg_synth_style *st, dg_image **img, dg_digit_box *boxes,
                         int n);

#endif
