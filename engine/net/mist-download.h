/* mist-download.h: a set of objects fetched together, with progress for a view to bind
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-downloader.h"
#include "mist-pack.h"

G_BEGIN_DECLS

#define MIST_TYPE_DOWNLOAD (mist_download_get_type ())
G_DECLARE_FINAL_TYPE (MistDownload, mist_download, MIST, DOWNLOAD, GObject)

MistDownload *mist_download_new (MistDownloader *downloader);

/* Adds an object; object_id is the hex SHA-256 of its size bytes, fetched from uri. An
 * object added twice is fetched once. Only before mist_download_run_async(). */
void mist_download_add_object (MistDownload *self,
                               const char *object_id,
                               const char *uri,
                               guint64 size);

/* Adds a pack at uri that objects may be fetched from (docs/api.md, "Pack files"). An
 * added object that is an entry of an added pack and not in the cache yet is fetched
 * from the pack, with one Range request per run of nearby entries; an entry whose bytes
 * do not match its id is fetched on its own instead. Only before
 * mist_download_run_async(). */
void mist_download_add_pack (MistDownload *self, const MistPack *pack, const char *uri);

/* Fetches every object into the downloader's cache. Fails with the first object that
 * fails for good; the others are cancelled, and every complete or partial file stays in
 * the cache for a later run. Progress properties are notified on the main context that
 * was the thread-default one here, at most every 100 ms and once at the end. */
void mist_download_run_async (MistDownload *self,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean mist_download_run_finish (MistDownload *self, GAsyncResult *result, GError **error);

/* Bytes of all objects that are on disk ("bytes-done") and their total ("bytes-total"). */
guint64 mist_download_get_bytes_done (MistDownload *self);
guint64 mist_download_get_bytes_total (MistDownload *self);
guint mist_download_get_n_objects (MistDownload *self);
guint mist_download_get_n_objects_done (MistDownload *self);

/* Bytes per second over the last few seconds ("speed"). */
guint64 mist_download_get_speed (MistDownload *self);

/* Seconds until done at the current speed, or -1 when unknown ("eta"). */
gint64 mist_download_get_eta (MistDownload *self);

G_END_DECLS
