/*
 * png_write.h: a cairo image surface into PNG bytes (png_write.c).
 * Internal to dashboards/.
 */
#ifndef LABQCD_PNG_WRITE_H
#define LABQCD_PNG_WRITE_H

#include <cairo.h>

#include "dashboards/dash_int.h"

/* Append the PNG of an RGB24 or ARGB32 image surface to out. 0, or -1. */
int dash_png_encode(cairo_surface_t *s, struct sbuf *out);

#endif
