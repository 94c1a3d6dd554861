/* mist-zstd-patch-private.h: the Mist zstd patch container, shared with the tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Layout and rules: docs/delta-formats.md.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* PNG-style: a high byte first catches 7-bit transfers, CR LF and ^Z catch text-mode
 * conversions. */
#define MIST_ZSTD_PATCH_MAGIC "\x89MZP\r\n\x1a\n"
#define MIST_ZSTD_PATCH_MAGIC_SIZE 8
#define MIST_ZSTD_PATCH_VERSION 1
#define MIST_ZSTD_PATCH_HEADER_SIZE 72
#define MIST_ZSTD_PATCH_SEGMENT_HEADER_SIZE 24

gboolean mist_zstd_patch_is_container (const guint8 *head, gsize length);
gboolean mist_zstd_patch_is_frame (const guint8 *head, gsize length);

G_END_DECLS
