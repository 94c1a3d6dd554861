/* mist-downloader-private.h: single-object transfers, used by MistDownload
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-downloader.h"

G_BEGIN_DECLS

/* Reports the bytes of the object that are on disk; this goes down when a transfer has to
 * start over (changed object, failed hash). */
typedef void (*MistTransferProgressFunc) (const char *object_id,
                                          guint64 bytes_on_disk,
                                          gpointer user_data);

/* Fetches one object into the cache; waits for a free transfer slot first. progress is
 * called on the downloader's main context until the callback runs. */
void mist_downloader_fetch_async (MistDownloader *self,
                                  const char *object_id,
                                  const char *uri,
                                  guint64 size,
                                  MistTransferProgressFunc progress,
                                  gpointer progress_data,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean mist_downloader_fetch_finish (MistDownloader *self,
                                       GAsyncResult *result,
                                       GError **error);

G_END_DECLS
