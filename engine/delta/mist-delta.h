/* mist-delta.h: binary deltas, whatever their format
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every function here works on open file descriptors: the caller owns them, opens the
 * output as a temporary file and renames it into place only on success. The source is
 * read with mmap or pread, the patch and the output are streamed, so memory stays
 * bounded by the format's window size whatever the file sizes. On error the output
 * contains garbage and must be discarded.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  MIST_DELTA_FORMAT_UNKNOWN,
  MIST_DELTA_FORMAT_VCDIFF,
  MIST_DELTA_FORMAT_ZSTD,
} MistDeltaFormat;

/* Called from the applying thread with bytes of output written so far; total is the
 * final output size when the format declares it, or 0 when it is not known yet. */
typedef void (*MistDeltaProgressFunc) (guint64 done, guint64 total, gpointer user_data);

MistDeltaFormat mist_delta_format_detect (const guint8 *head, gsize length);
const char *mist_delta_format_to_string (MistDeltaFormat format);
MistDeltaFormat mist_delta_format_from_string (const char *name);

/* Applies a patch of either format, detected from its first bytes (read with pread at
 * offset 0). */
gboolean mist_delta_apply_fd (int source_fd,
                              int patch_fd,
                              int output_fd,
                              MistDeltaProgressFunc progress,
                              gpointer user_data,
                              GCancellable *cancellable,
                              GError **error);

/* Returns a multi-line, human-readable description of a patch of either format: its
 * format, sizes, windows or segments and checksums. */
char *mist_delta_describe_fd (int patch_fd, GCancellable *cancellable, GError **error);

/* VCDIFF (RFC 3284) with the xdelta3 extensions; see mist-vcdiff.c. */
gboolean mist_vcdiff_apply_fd (int source_fd,
                               int patch_fd,
                               int output_fd,
                               MistDeltaProgressFunc progress,
                               gpointer user_data,
                               GCancellable *cancellable,
                               GError **error);

/* Returns a multi-line, human-readable description of a VCDIFF patch: header bits,
 * secondary compressor, application header, and per window the copy segment, target
 * size, compressed sections and Adler-32. The patch is read to its end but not applied. */
char *mist_vcdiff_describe_fd (int patch_fd, GCancellable *cancellable, GError **error);

/* zstd with the source as reference prefix; see mist-zstd-patch.c. */
#define MIST_ZSTD_LEVEL_DEFAULT 19 /* publishing: smallest patches */
#define MIST_ZSTD_LEVEL_FAST 3     /* quick local patches */

gboolean mist_zstd_patch_create_fd (int source_fd,
                                    int target_fd,
                                    int patch_fd,
                                    int level,
                                    MistDeltaProgressFunc progress,
                                    gpointer user_data,
                                    GCancellable *cancellable,
                                    GError **error);

gboolean mist_zstd_patch_apply_fd (int source_fd,
                                   int patch_fd,
                                   int output_fd,
                                   MistDeltaProgressFunc progress,
                                   gpointer user_data,
                                   GCancellable *cancellable,
                                   GError **error);
char *mist_zstd_patch_describe_fd (int patch_fd, GCancellable *cancellable, GError **error);

G_END_DECLS
