/* mist-pack-span.h: the entries of one pack fetched with one Range request
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A span is a run of pack entries (engine/model/mist-pack.h) that a download needs. The
 * downloader requests the bytes from the first entry not stored yet to the end of the
 * last one and feeds them in; the span cuts them into entries, verifies each against
 * its object id in a worker thread and stores it in the object cache's file of the pack. An
 * attempt that breaks off loses only the entry it was receiving, so the next request
 * starts at that entry. Main context only, except the worker threads it starts itself.
 */
#pragma once

#include "mist-downloader-private.h"
#include "mist-object-cache.h"
#include "mist-pack.h"

G_BEGIN_DECLS

typedef struct _MistPackSpan MistPackSpan;

/* entries: the MistPackEntry elements to fetch, sorted by offset (copied). progress is
 * called with an entry's object id and its bytes received so far, and with 0 when they
 * were dropped. */
MistPackSpan *mist_pack_span_new (const char *pack_id,
                                  MistObjectCache *cache,
                                  const MistPackEntry *entries,
                                  guint n_entries,
                                  MistTransferProgressFunc progress,
                                  gpointer progress_data);
MistPackSpan *mist_pack_span_ref (MistPackSpan *span);
void mist_pack_span_unref (MistPackSpan *span);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistPackSpan, mist_pack_span_unref)

const char *mist_pack_span_get_pack_id (MistPackSpan *span);

/* Sets [*start, *end) to the bytes of the pack still needed, from the first entry that
 * was neither stored nor rejected to the end of the last such entry. Returns FALSE when
 * no entry is left. */
gboolean mist_pack_span_get_range (MistPackSpan *span, guint64 *start, guint64 *end);

/* Feeds length bytes that start at byte offset of the pack. Bytes between entries and
 * bytes of entries already stored are skipped. */
void mist_pack_span_feed (MistPackSpan *span, guint64 offset, const guint8 *data, gsize length);

/* Drops the bytes of entries received only in part, after a failed attempt. */
void mist_pack_span_drop_partial (MistPackSpan *span);

/* Waits until every complete entry is verified and stored. Fails with the first error
 * that stopped an entry from being written. An entry whose bytes do not match its id is
 * no error: it is left out of the cache, and the caller may fetch it as a single
 * object. */
void mist_pack_span_wait_async (MistPackSpan *span,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data);
gboolean mist_pack_span_wait_finish (MistPackSpan *span, GAsyncResult *result, GError **error);

/* Fetches the span's pack entries from uri, the pack's URL, with the downloader's
 * slots, rate limit, stall watchdog and retries. */
void mist_downloader_fetch_span_async (MistDownloader *self,
                                       MistPackSpan *span,
                                       const char *uri,
                                       guint64 pack_size,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data);
gboolean mist_downloader_fetch_span_finish (MistDownloader *self,
                                            GAsyncResult *result,
                                            GError **error);

G_END_DECLS
