/* mist-scan.h: build a manifest from a folder by hashing its files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-manifest.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* Called after each file with the files and bytes hashed so far. */
typedef void (*MistScanProgressFunc) (guint files_done,
                                      guint64 bytes_done,
                                      const char *path,
                                      gpointer user_data);

/* Walks root and returns a manifest (without launch) of every regular file under it:
 * relative path, size, SHA-256 and the executable bit (owner execute). Empty folders are
 * skipped. A symbolic link, a device, a socket or a FIFO fails with
 * MIST_ERROR_UNSUPPORTED naming it, and an invalid or clashing path with
 * MIST_ERROR_INVALID_PATH, so what is published is exactly what is on disk. Blocks:
 * run it off the main loop. */
MistManifest *mist_scan_directory (const char *root,
                                   MistScanProgressFunc progress,
                                   gpointer user_data,
                                   GCancellable *cancellable,
                                   GError **error);

G_END_DECLS
