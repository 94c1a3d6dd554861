/* vcdiff-writer.h: a small VCDIFF encoder for crafting test patches instruction by
 * instruction, valid or broken on purpose
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * It writes only the single-instruction opcodes of the default code table with explicit
 * sizes, which is enough to reach every address mode and window kind; combined opcodes
 * come from patches that xdelta3 writes.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TestWindow TestWindow;

void test_vcdiff_append_varint (GByteArray *out, guint64 value);

/* Appends the file header: magic, indicator, then the optional fields the indicator
 * selects (secondary id, application header). */
void test_vcdiff_append_header (GByteArray *out,
                                guint8 indicator,
                                guint8 secondary_id,
                                const char *app_header);

/* Starts a window; indicator takes the VCD_SOURCE/VCD_TARGET/VCD_ADLER32 bits. */
TestWindow *test_window_new (guint8 indicator, guint64 segment_length, guint64 segment_offset);
void test_window_add (TestWindow *window, const guint8 *data, gsize length);
void test_window_run (TestWindow *window, guint8 byte, guint64 length);
/* Encodes a COPY of length bytes from address (segment first, then target window) with
 * address mode (0 self, 1 here, 2-5 near, 6-8 same); the mode must be able to express
 * the address. */
void test_window_copy (TestWindow *window, guint64 address, guint64 length, guint mode);
guint64 test_window_target_length (TestWindow *window);
/* Appends the window and frees it. target is the window's expected output, for the
 * Adler-32 when the indicator has VCD_ADLER32, else it may be NULL. */
void test_window_finish (TestWindow *window, GByteArray *out, const guint8 *target);

/* Adler-32 computed byte by byte, independent from the decoder's. */
guint32 test_adler32 (const guint8 *data, gsize length);

G_END_DECLS
