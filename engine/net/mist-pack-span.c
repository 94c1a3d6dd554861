/* mist-pack-span.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-pack-span.h"
#include "mist-error.h"
#include "mist-hash.h"

#include <string.h>

typedef enum
{
  ENTRY_PENDING,  /* not received, or received in part */
  ENTRY_STORING,  /* complete, being verified and written by a worker thread */
  ENTRY_STORED,   /* verified and in the object cache */
  ENTRY_REJECTED, /* its bytes did not have the SHA-256 of its id */
} EntryState;

typedef struct
{
  char *object_id;
  guint64 offset;
  guint64 size;
  EntryState state;
  GByteArray *received; /* owned while PENDING, NULL before the first byte */
} SpanEntry;

struct _MistPackSpan
{
  gatomicrefcount ref_count;
  char *pack_id;
  MistObjectCache *cache;
  SpanEntry *entries;
  guint n_entries;
  guint cursor; /* the entry where the last fed bytes ended, to avoid searching */
  MistTransferProgressFunc progress;
  gpointer progress_data;

  guint n_storing;
  GError *store_error; /* the first failed write, owned */
  GTask *wait_task;    /* owned while waiting */
};

MistPackSpan *
mist_pack_span_new (const char *pack_id,
                    MistObjectCache *cache,
                    const MistPackEntry *entries,
                    guint n_entries,
                    MistTransferProgressFunc progress,
                    gpointer progress_data)
{
  MistPackSpan *span = g_new0 (MistPackSpan, 1);

  g_atomic_ref_count_init (&span->ref_count);
  span->pack_id = g_strdup (pack_id);
  span->cache = mist_object_cache_ref (cache);
  span->entries = g_new0 (SpanEntry, n_entries);
  span->n_entries = n_entries;
  for (guint i = 0; i < n_entries; i++)
    {
      span->entries[i].object_id = g_strdup (entries[i].object_id);
      span->entries[i].offset = entries[i].offset;
      span->entries[i].size = entries[i].size;
    }
  span->progress = progress;
  span->progress_data = progress_data;
  return span;
}

MistPackSpan *
mist_pack_span_ref (MistPackSpan *span)
{
  g_atomic_ref_count_inc (&span->ref_count);
  return span;
}

void
mist_pack_span_unref (MistPackSpan *span)
{
  if (!g_atomic_ref_count_dec (&span->ref_count))
    return;
  /* Worker threads hold a reference until their result is back, so none runs here. */
  g_assert (span->n_storing == 0 && span->wait_task == NULL);
  for (guint i = 0; i < span->n_entries; i++)
    {
      g_free (span->entries[i].object_id);
      if (span->entries[i].received != NULL)
        g_byte_array_unref (span->entries[i].received);
    }
  g_free (span->entries);
  g_free (span->pack_id);
  mist_object_cache_unref (span->cache);
  g_clear_error (&span->store_error);
  g_free (span);
}

const char *
mist_pack_span_get_pack_id (MistPackSpan *span)
{
  return span->pack_id;
}

gboolean
mist_pack_span_get_range (MistPackSpan *span, guint64 *start, guint64 *end)
{
  gboolean found = FALSE;

  for (guint i = 0; i < span->n_entries; i++)
    {
      const SpanEntry *entry = &span->entries[i];

      if (entry->state != ENTRY_PENDING)
        continue;
      if (!found)
        *start = entry->offset;
      *end = entry->offset + entry->size;
      found = TRUE;
    }
  return found;
}

void
mist_pack_span_drop_partial (MistPackSpan *span)
{
  for (guint i = 0; i < span->n_entries; i++)
    {
      SpanEntry *entry = &span->entries[i];

      if (entry->state != ENTRY_PENDING || entry->received == NULL)
        continue;
      g_clear_pointer (&entry->received, g_byte_array_unref);
      if (span->progress != NULL)
        span->progress (entry->object_id, 0, span->progress_data);
    }
  span->cursor = 0;
}

/* Verification and storage, in a worker thread */

typedef struct
{
  MistPackSpan *span; /* owned */
  guint index;
  GBytes *bytes;
  char *object_id;
  guint64 offset;
} StoreJob;

static void
store_job_free (gpointer data)
{
  StoreJob *job = data;

  mist_pack_span_unref (job->span);
  g_bytes_unref (job->bytes);
  g_free (job->object_id);
  g_free (job);
}

static void
store_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  StoreJob *job = data;
  gsize length = 0;
  const guint8 *bytes = g_bytes_get_data (job->bytes, &length);
  g_autofree char *hash = mist_sha256_hex_data (bytes, length);
  GError *error = NULL;

  if (strcmp (hash, job->object_id) != 0)
    {
      g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH,
                               "The entry %s of pack %s has SHA-256 %s", job->object_id,
                               job->span->pack_id, hash);
      return;
    }
  if (!mist_object_cache_store_entry (job->span->cache, job->span->pack_id, job->object_id,
                                      job->offset, bytes, length, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
span_check_waiting (MistPackSpan *span)
{
  g_autoptr (GTask) task = NULL;

  if (span->n_storing > 0 || span->wait_task == NULL)
    return;
  task = g_steal_pointer (&span->wait_task);
  if (span->store_error != NULL)
    g_task_return_error (task, g_error_copy (span->store_error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_stored (GObject *source, GAsyncResult *result, gpointer data)
{
  StoreJob *job = g_task_get_task_data (G_TASK (result));
  MistPackSpan *span = job->span;
  SpanEntry *entry = &span->entries[job->index];
  g_autoptr (GError) error = NULL;

  span->n_storing--;
  if (g_task_propagate_boolean (G_TASK (result), &error))
    {
      entry->state = ENTRY_STORED;
    }
  else if (g_error_matches (error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH))
    {
      g_message ("%s; the object will be fetched on its own", error->message);
      entry->state = ENTRY_REJECTED;
      if (span->progress != NULL)
        span->progress (entry->object_id, 0, span->progress_data);
    }
  else
    {
      entry->state = ENTRY_PENDING;
      if (span->progress != NULL)
        span->progress (entry->object_id, 0, span->progress_data);
      if (span->store_error == NULL)
        span->store_error = g_steal_pointer (&error);
    }
  span_check_waiting (span);
}

static void
span_store_entry (MistPackSpan *span, guint index)
{
  SpanEntry *entry = &span->entries[index];
  StoreJob *job = g_new0 (StoreJob, 1);
  g_autoptr (GTask) task = g_task_new (NULL, NULL, on_stored, NULL);

  job->span = mist_pack_span_ref (span);
  job->index = index;
  job->bytes = g_byte_array_free_to_bytes (g_steal_pointer (&entry->received));
  job->object_id = g_strdup (entry->object_id);
  job->offset = entry->offset;
  entry->state = ENTRY_STORING;
  span->n_storing++;
  g_task_set_task_data (task, job, store_job_free);
  g_task_run_in_thread (task, store_in_thread);
}

/* Feeding */

/* Returns the index of the first entry that ends after offset, starting at the cursor. */
static guint
span_find_entry (MistPackSpan *span, guint64 offset)
{
  guint i = span->cursor;

  if (i < span->n_entries && span->entries[i].offset > offset)
    i = 0;
  while (i < span->n_entries && span->entries[i].offset + span->entries[i].size <= offset)
    i++;
  span->cursor = i;
  return i;
}

void
mist_pack_span_feed (MistPackSpan *span, guint64 offset, const guint8 *data, gsize length)
{
  while (length > 0)
    {
      guint index = span_find_entry (span, offset);
      SpanEntry *entry;
      guint64 skip;
      gsize take;

      if (index >= span->n_entries)
        return;
      entry = &span->entries[index];
      if (offset < entry->offset)
        {
          skip = MIN ((guint64) length, entry->offset - offset);
          offset += skip;
          data += skip;
          length -= (gsize) skip;
          continue;
        }

      take = (gsize) MIN ((guint64) length, entry->offset + entry->size - offset);
      /* Bytes of a finished entry, or not following the bytes received so far (a reply
       * that restarted from the beginning), do not join the entry. */
      if (entry->state == ENTRY_PENDING &&
          offset - entry->offset == (entry->received != NULL ? entry->received->len : 0))
        {
          if (entry->received == NULL)
            entry->received = g_byte_array_sized_new ((guint) entry->size);
          g_byte_array_append (entry->received, data, (guint) take);
          if (span->progress != NULL)
            span->progress (entry->object_id, entry->received->len, span->progress_data);
          if (entry->received->len == entry->size)
            span_store_entry (span, index);
        }
      offset += take;
      data += take;
      length -= take;
    }
}

void
mist_pack_span_wait_async (MistPackSpan *span,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_return_if_fail (span->wait_task == NULL);

  span->wait_task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (span->wait_task, mist_pack_span_wait_async);
  span_check_waiting (span);
}

gboolean
mist_pack_span_wait_finish (MistPackSpan *span, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
