/* mist-token-bucket.h: a token bucket that limits the total rate of all downloads
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MistTokenBucket MistTokenBucket;

/* rate is in bytes per second; 0 means no limit. The bucket starts empty, so the first
 * second of a transfer already keeps to the rate. */
MistTokenBucket *mist_token_bucket_new (guint64 rate);
void mist_token_bucket_free (MistTokenBucket *bucket);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistTokenBucket, mist_token_bucket_free)

/* Changes the rate at once, also for transfers already running. */
void mist_token_bucket_set_rate (MistTokenBucket *bucket, guint64 rate);
guint64 mist_token_bucket_get_rate (MistTokenBucket *bucket);

/* Takes up to requested bytes at monotonic time now (microseconds). Returns the number
 * of bytes granted; when that is 0, *wait_us is set to the time until the next grant is
 * possible. With no limit it grants all of requested. */
gsize mist_token_bucket_take (MistTokenBucket *bucket,
                              gsize requested,
                              gint64 now,
                              gint64 *wait_us);

/* Returns bytes that were granted but not used, for example after a short read. */
void mist_token_bucket_give_back (MistTokenBucket *bucket, gsize unused);

G_END_DECLS
