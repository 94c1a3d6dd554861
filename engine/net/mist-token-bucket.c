/* mist-token-bucket.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-token-bucket.h"

/* The bucket contains at most this fraction of a second's worth of bytes, so a transfer
 * that was idle cannot burst far above the rate afterwards. */
#define CAPACITY_SECONDS 0.1

/* A grant is at least a quarter of the capacity (or the whole request, if smaller), so a
 * slow rate gives few larger reads, not many one-byte reads. */
#define MIN_GRANT_FRACTION 0.25

struct _MistTokenBucket
{
  guint64 rate;
  double tokens;
  gint64 last_refill; /* monotonic microseconds, 0 before the first take */
};

MistTokenBucket *
mist_token_bucket_new (guint64 rate)
{
  MistTokenBucket *bucket = g_new0 (MistTokenBucket, 1);

  bucket->rate = rate;
  return bucket;
}

void
mist_token_bucket_free (MistTokenBucket *bucket)
{
  g_free (bucket);
}

static double
get_capacity (MistTokenBucket *bucket)
{
  return MAX (1.0, (double) bucket->rate * CAPACITY_SECONDS);
}

void
mist_token_bucket_set_rate (MistTokenBucket *bucket, guint64 rate)
{
  bucket->rate = rate;
  bucket->tokens = MIN (bucket->tokens, get_capacity (bucket));
}

guint64
mist_token_bucket_get_rate (MistTokenBucket *bucket)
{
  return bucket->rate;
}

static void
refill (MistTokenBucket *bucket, gint64 now)
{
  if (bucket->last_refill != 0 && now > bucket->last_refill)
    {
      double elapsed = (double) (now - bucket->last_refill) / G_USEC_PER_SEC;

      bucket->tokens = MIN (get_capacity (bucket), bucket->tokens + elapsed * bucket->rate);
    }
  bucket->last_refill = now;
}

gsize
mist_token_bucket_take (MistTokenBucket *bucket, gsize requested, gint64 now, gint64 *wait_us)
{
  double min_grant;
  gsize granted;

  *wait_us = 0;
  if (bucket->rate == 0)
    {
      bucket->last_refill = 0;
      return requested;
    }

  refill (bucket, now);
  min_grant = MIN ((double) requested, MAX (1.0, get_capacity (bucket) * MIN_GRANT_FRACTION));
  if (bucket->tokens < min_grant)
    {
      double missing = min_grant - bucket->tokens;

      *wait_us = MAX (1, (gint64) (missing * G_USEC_PER_SEC / bucket->rate));
      return 0;
    }

  granted = (gsize) MIN ((double) requested, bucket->tokens);
  bucket->tokens -= (double) granted;
  return granted;
}

void
mist_token_bucket_give_back (MistTokenBucket *bucket, gsize unused)
{
  if (bucket->rate == 0)
    return;
  bucket->tokens = MIN (get_capacity (bucket), bucket->tokens + (double) unused);
}
