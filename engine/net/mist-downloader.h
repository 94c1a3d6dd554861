/* mist-downloader.h: resumable, verified downloads of objects into the object cache
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every object is named by the lowercase hex SHA-256 of its bytes (its object id). A
 * transfer writes <cache>/<id>.part, resumes it with Range and If-Range on the strong
 * ETag the server sent, hashes the whole file when it is complete and renames it to
 * <cache>/<id>. Transient failures (5xx, 408, 429, timeouts, dropped connections, a
 * stalled transfer) are retried with exponential backoff and jitter.
 *
 * A MistDownloader belongs to the thread whose main context was the thread-default one
 * when it was created; all its signals and callbacks run there.
 */
#pragma once

#include <libsoup/soup.h>

#include "mist-object-cache.h"

G_BEGIN_DECLS

#define MIST_TYPE_DOWNLOADER (mist_downloader_get_type ())
G_DECLARE_FINAL_TYPE (MistDownloader, mist_downloader, MIST, DOWNLOADER, GObject)

/* cache_dir NULL means $XDG_CACHE_HOME/mist/objects. The folder is created on first use. */
MistDownloader *mist_downloader_new (SoupSession *session, const char *cache_dir);

SoupSession *mist_downloader_get_session (MistDownloader *self);
const char *mist_downloader_get_cache_dir (MistDownloader *self);
MistObjectCache *mist_downloader_get_object_cache (MistDownloader *self);

/* Deletes every object in the cache, complete or partial. */
void mist_downloader_clear_cache (MistDownloader *self);

/* The value of the Authorization header sent with each request, or NULL for none. */
void mist_downloader_set_authorization (MistDownloader *self, const char *authorization);

/* Total rate of all transfers in bytes per second, 0 for no limit ("rate-limit"). */
void mist_downloader_set_rate_limit (MistDownloader *self, guint64 bytes_per_second);
guint64 mist_downloader_get_rate_limit (MistDownloader *self);

/* Number of objects transferred at the same time, from 1 to 64 ("max-parallel"); other
 * values are clamped. */
void mist_downloader_set_max_parallel (MistDownloader *self, guint max_parallel);
guint mist_downloader_get_max_parallel (MistDownloader *self);

/* A transfer that receives fewer than min_rate bytes per second over window_ms (while
 * not held back by the rate limit) is cancelled and retried. */
void mist_downloader_set_stall_limits (MistDownloader *self, guint window_ms, guint64 min_rate);

/* max_attempts counts the first try. The delay before attempt n+1 is
 * base_delay_ms * 2^(n-1), at most max_delay_ms, scaled by a random factor in
 * [0.5, 1.5); a Retry-After header replaces it. */
void mist_downloader_set_retry_policy (MistDownloader *self,
                                       guint max_attempts,
                                       guint base_delay_ms,
                                       guint max_delay_ms);

/* Path of the complete, verified object (which may not exist yet). */
char *mist_downloader_get_object_path (MistDownloader *self, const char *object_id);

/* Whether the verified object is in the cache, on its own or as a pack entry. */
gboolean mist_downloader_has_object (MistDownloader *self, const char *object_id);

/* Deletes the object (its file or its pack entry) and its partial file from the cache; a
 * missing file is no error. */
gboolean mist_downloader_discard_object (MistDownloader *self,
                                         const char *object_id,
                                         GError **error);

/* Bytes currently in the partial file of object_id, 0 when there is none. */
guint64 mist_downloader_get_partial_size (MistDownloader *self, const char *object_id);

G_END_DECLS
