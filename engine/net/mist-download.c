/* mist-download.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-download.h"
#include "mist-downloader-private.h"
#include "mist-pack-span.h"

#define NOTIFY_INTERVAL_MS 100
/* The speed is the bytes received over this many notify intervals (2 s). */
#define SPEED_SAMPLES 20
/* Unneeded bytes between two needed pack entries that one request still spans. 128 KiB
 * take about 10 ms at 100 Mbit/s, less than a typical round trip over the internet. */
#define SPAN_MAX_GAP (128 * 1024)
/* The smallest span size a download chooses; gaps may still cut shorter spans. */
#define SPAN_MIN_SIZE (1024 * 1024)

typedef struct
{
  MistDownload *download; /* unowned: a running task holds a reference */
  char *object_id;
  char *uri;
  guint64 size;
  guint64 on_disk;
  gboolean done;
  gboolean in_span; /* fetched from a pack in this run */
} Entry;

/* A pack the objects may be fetched from. */
typedef struct
{
  MistPack *pack; /* owned copy */
  char *uri;
} PackSource;

/* A span being fetched, as the callback data of its transfer. */
typedef struct
{
  MistDownload *download; /* unowned: a running task holds a reference */
  PackSource *source;     /* unowned: the download owns it */
  MistPackSpan *span;     /* owned */
  GPtrArray *entries;     /* Entry *, unowned: the entries the span fetches */
} SpanFetch;

struct _MistDownload
{
  GObject parent_instance;

  MistDownloader *downloader; /* owned */
  GPtrArray *entries;         /* Entry *, owned */
  GHashTable *by_id;          /* object id → Entry *, unowned */
  GPtrArray *packs;           /* PackSource *, owned */

  GTask *task;                /* owned while running */
  GCancellable *cancellable;  /* owned while running: cancels the remaining objects */
  guint n_running;
  GError *first_error;

  guint64 bytes_done;
  guint64 bytes_total;
  guint n_done;
  guint64 speed;
  gint64 samples[SPEED_SAMPLES]; /* bytes_done at each tick, ring buffer */
  guint n_samples;
  GSource *tick; /* owned while running */
  gint64 started_us; /* monotonic time of the run's start */
  guint n_spans;     /* pack spans of the run */
  guint n_packed;    /* objects fetched from packs in the run */
};

G_DEFINE_FINAL_TYPE (MistDownload, mist_download, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_BYTES_DONE,
  PROP_BYTES_TOTAL,
  PROP_N_OBJECTS,
  PROP_N_OBJECTS_DONE,
  PROP_SPEED,
  PROP_ETA,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->object_id);
  g_free (entry->uri);
  g_free (entry);
}

static void
pack_source_free (gpointer data)
{
  PackSource *source = data;

  mist_pack_free (source->pack);
  g_free (source->uri);
  g_free (source);
}

static void
span_fetch_free (SpanFetch *fetch)
{
  mist_pack_span_unref (fetch->span);
  g_ptr_array_unref (fetch->entries);
  g_free (fetch);
}

static void
remove_tick (MistDownload *self)
{
  if (self->tick != NULL)
    {
      g_source_destroy (self->tick);
      g_clear_pointer (&self->tick, g_source_unref);
    }
}

static void
mist_download_dispose (GObject *object)
{
  MistDownload *self = MIST_DOWNLOAD (object);

  remove_tick (self);
  g_clear_object (&self->downloader);
  G_OBJECT_CLASS (mist_download_parent_class)->dispose (object);
}

static void
mist_download_finalize (GObject *object)
{
  MistDownload *self = MIST_DOWNLOAD (object);

  g_ptr_array_unref (self->entries);
  g_hash_table_unref (self->by_id);
  g_ptr_array_unref (self->packs);
  g_clear_error (&self->first_error);
  G_OBJECT_CLASS (mist_download_parent_class)->finalize (object);
}

static void
mist_download_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  MistDownload *self = MIST_DOWNLOAD (object);

  switch (prop_id)
    {
    case PROP_BYTES_DONE:
      g_value_set_uint64 (value, self->bytes_done);
      break;
    case PROP_BYTES_TOTAL:
      g_value_set_uint64 (value, self->bytes_total);
      break;
    case PROP_N_OBJECTS:
      g_value_set_uint (value, self->entries->len);
      break;
    case PROP_N_OBJECTS_DONE:
      g_value_set_uint (value, self->n_done);
      break;
    case PROP_SPEED:
      g_value_set_uint64 (value, self->speed);
      break;
    case PROP_ETA:
      g_value_set_int64 (value, mist_download_get_eta (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mist_download_class_init (MistDownloadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = mist_download_dispose;
  object_class->finalize = mist_download_finalize;
  object_class->get_property = mist_download_get_property;

  properties[PROP_BYTES_DONE] = g_param_spec_uint64 ("bytes-done", NULL, NULL, 0, G_MAXUINT64,
                                                     0, flags);
  properties[PROP_BYTES_TOTAL] = g_param_spec_uint64 ("bytes-total", NULL, NULL, 0,
                                                      G_MAXUINT64, 0, flags);
  properties[PROP_N_OBJECTS] = g_param_spec_uint ("n-objects", NULL, NULL, 0, G_MAXUINT, 0,
                                                  flags);
  properties[PROP_N_OBJECTS_DONE] = g_param_spec_uint ("n-objects-done", NULL, NULL, 0,
                                                       G_MAXUINT, 0, flags);
  properties[PROP_SPEED] = g_param_spec_uint64 ("speed", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_ETA] = g_param_spec_int64 ("eta", NULL, NULL, -1, G_MAXINT64, -1, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
mist_download_init (MistDownload *self)
{
  self->entries = g_ptr_array_new_with_free_func (entry_free);
  self->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->packs = g_ptr_array_new_with_free_func (pack_source_free);
}

MistDownload *
mist_download_new (MistDownloader *downloader)
{
  MistDownload *self;

  g_return_val_if_fail (MIST_IS_DOWNLOADER (downloader), NULL);

  self = g_object_new (MIST_TYPE_DOWNLOAD, NULL);
  self->downloader = g_object_ref (downloader);
  return self;
}

void
mist_download_add_object (MistDownload *self,
                          const char *object_id,
                          const char *uri,
                          guint64 size)
{
  Entry *entry;

  g_return_if_fail (MIST_IS_DOWNLOAD (self));
  g_return_if_fail (self->task == NULL);

  if (g_hash_table_contains (self->by_id, object_id))
    return;

  entry = g_new0 (Entry, 1);
  entry->download = self;
  entry->object_id = g_strdup (object_id);
  entry->uri = g_strdup (uri);
  entry->size = size;
  g_ptr_array_add (self->entries, entry);
  g_hash_table_insert (self->by_id, entry->object_id, entry);
  self->bytes_total += size;
}

void
mist_download_add_pack (MistDownload *self, const MistPack *pack, const char *uri)
{
  PackSource *source;

  g_return_if_fail (MIST_IS_DOWNLOAD (self));
  g_return_if_fail (self->task == NULL);

  source = g_new0 (PackSource, 1);
  source->pack = mist_pack_copy (pack);
  source->uri = g_strdup (uri);
  g_ptr_array_add (self->packs, source);
}

static void
notify_progress (MistDownload *self)
{
  GObject *object = G_OBJECT (self);

  g_object_freeze_notify (object);
  g_object_notify_by_pspec (object, properties[PROP_BYTES_DONE]);
  g_object_notify_by_pspec (object, properties[PROP_N_OBJECTS_DONE]);
  g_object_notify_by_pspec (object, properties[PROP_SPEED]);
  g_object_notify_by_pspec (object, properties[PROP_ETA]);
  g_object_thaw_notify (object);
}

static gboolean
on_tick (gpointer data)
{
  MistDownload *self = data;
  guint slot = self->n_samples % SPEED_SAMPLES;
  guint n = MIN (self->n_samples, SPEED_SAMPLES);

  /* samples[slot] is the oldest sample once the ring is full. */
  if (n > 0)
    {
      guint oldest = self->n_samples >= SPEED_SAMPLES ? slot : 0;
      gint64 received = (gint64) self->bytes_done - self->samples[oldest];

      self->speed = (guint64) MAX (0, received) * 1000 / ((guint64) n * NOTIFY_INTERVAL_MS);
    }
  self->samples[slot] = (gint64) self->bytes_done;
  self->n_samples++;
  notify_progress (self);
  return G_SOURCE_CONTINUE;
}

static void
on_object_progress (const char *object_id, guint64 bytes_on_disk, gpointer data)
{
  MistDownload *self = data;
  Entry *entry = g_hash_table_lookup (self->by_id, object_id);

  self->bytes_done = self->bytes_done - entry->on_disk + bytes_on_disk;
  entry->on_disk = bytes_on_disk;
}

static void
download_complete (MistDownload *self)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->task);

  remove_tick (self);
  g_clear_object (&self->cancellable);
  self->speed = 0;
  notify_progress (self);
  g_debug ("Fetched %u of %u objects (%" G_GUINT64_FORMAT " bytes, %u from %u pack spans) in "
           "%" G_GINT64_FORMAT " ms",
           self->n_done, self->entries->len, self->bytes_done, self->n_packed, self->n_spans,
           (g_get_monotonic_time () - self->started_us) / 1000);

  if (self->first_error != NULL)
    g_task_return_error (task, g_steal_pointer (&self->first_error));
  else
    g_task_return_boolean (task, TRUE);
}

/* Counts an object as fetched, or else the bytes of its partial file. */
static void
settle_entry (MistDownload *self, Entry *entry, gboolean fetched)
{
  guint64 on_disk;

  if (fetched)
    {
      entry->done = TRUE;
      self->n_done++;
      on_disk = entry->size;
    }
  else
    {
      /* A stopped transfer may have written past its last progress report: count what
       * the partial file holds, which is where a resume continues. */
      on_disk = mist_downloader_get_partial_size (self->downloader, entry->object_id);
    }
  self->bytes_done = self->bytes_done - entry->on_disk + on_disk;
  entry->on_disk = on_disk;
}

/* Ends one transfer: the first failure decides the result, and the others then see it
 * as a cancellation. */
static void
finish_transfer (MistDownload *self, GError *error)
{
  if (error == NULL)
    ;
  else if (self->first_error == NULL)
    {
      self->first_error = error;
      g_cancellable_cancel (self->cancellable);
    }
  else
    {
      g_error_free (error);
    }

  if (--self->n_running == 0)
    download_complete (self);
}

static void
on_object_fetched (GObject *source, GAsyncResult *result, gpointer data)
{
  Entry *entry = data;
  g_autoptr (MistDownload) self = g_object_ref (entry->download);
  GError *error = NULL;

  settle_entry (self, entry, mist_downloader_fetch_finish (MIST_DOWNLOADER (source), result,
                                                          &error));
  finish_transfer (self, error);
}

static void
fetch_object (MistDownload *self, Entry *entry)
{
  mist_downloader_fetch_async (self->downloader, entry->object_id, entry->uri, entry->size,
                               on_object_progress, self, self->cancellable, on_object_fetched,
                               entry);
}

/* Objects whose pack entry did not match their id are fetched on their own. */
static void
on_span_fetched (GObject *source, GAsyncResult *result, gpointer data)
{
  SpanFetch *fetch = data;
  g_autoptr (MistDownload) self = g_object_ref (fetch->download);
  GError *error = NULL;
  gboolean fetched = mist_downloader_fetch_span_finish (MIST_DOWNLOADER (source), result,
                                                        &error);

  for (guint i = 0; i < fetch->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (fetch->entries, i);

      if (mist_downloader_has_object (self->downloader, entry->object_id))
        settle_entry (self, entry, TRUE);
      else if (fetched && self->first_error == NULL)
        {
          self->n_running++;
          fetch_object (self, entry);
        }
      else
        settle_entry (self, entry, FALSE);
    }
  span_fetch_free (fetch);
  finish_transfer (self, error);
}

/* Returns the pack entry of each needed object that is not in the cache yet, as a table
 * of Entry * → MistPackEntry *, the first pack listing an object winning. */
static GHashTable *
locate_in_packs (MistDownload *self)
{
  GHashTable *located = g_hash_table_new (NULL, NULL);

  for (guint i = 0; i < self->packs->len; i++)
    {
      PackSource *source = g_ptr_array_index (self->packs, i);

      for (guint j = 0; j < source->pack->entries->len; j++)
        {
          MistPackEntry *pack_entry = &g_array_index (source->pack->entries, MistPackEntry, j);
          Entry *entry = g_hash_table_lookup (self->by_id, pack_entry->object_id);

          if (entry == NULL || entry->size != pack_entry->size ||
              g_hash_table_contains (located, entry) ||
              mist_downloader_has_object (self->downloader, entry->object_id))
            continue;
          g_hash_table_insert (located, entry, pack_entry);
        }
    }
  return located;
}

/* Cuts the needed entries of one pack into spans: runs of entries with gaps of at most
 * SPAN_MAX_GAP, each of at most max_span bytes unless a single entry is larger. Adds
 * them to fetches, or only counts them when fetches is NULL. Returns their number. */
static guint
plan_pack_spans (
  MistDownload *self, PackSource *source, GHashTable *located, guint64 max_span, GPtrArray *fetches)
{
  g_autoptr (GArray) run = g_array_new (FALSE, FALSE, sizeof (MistPackEntry));
  g_autoptr (GPtrArray) run_entries = g_ptr_array_new ();
  guint count = 0;

  for (guint j = 0; j <= source->pack->entries->len; j++)
    {
      MistPackEntry *pack_entry = NULL;
      Entry *entry = NULL;

      if (j < source->pack->entries->len)
        {
          pack_entry = &g_array_index (source->pack->entries, MistPackEntry, j);
          entry = g_hash_table_lookup (self->by_id, pack_entry->object_id);
          if (entry == NULL || g_hash_table_lookup (located, entry) != pack_entry)
            continue;
        }

      if (run->len > 0)
        {
          const MistPackEntry *first = &g_array_index (run, MistPackEntry, 0);
          const MistPackEntry *last = &g_array_index (run, MistPackEntry, run->len - 1);

          if (pack_entry == NULL || pack_entry->offset - (last->offset + last->size) > SPAN_MAX_GAP ||
              pack_entry->offset + pack_entry->size - first->offset > max_span)
            {
              count++;
              if (fetches != NULL)
                {
                  SpanFetch *fetch = g_new0 (SpanFetch, 1);

                  fetch->download = self;
                  fetch->source = source;
                  fetch->span = mist_pack_span_new (
                    source->pack->id, mist_downloader_get_object_cache (self->downloader),
                    (const MistPackEntry *)(void *)run->data, run->len, on_object_progress, self);
                  fetch->entries = g_ptr_array_copy (run_entries, NULL, NULL);
                  g_ptr_array_add (fetches, fetch);
                }
              g_array_set_size (run, 0);
              g_ptr_array_set_size (run_entries, 0);
            }
        }
      if (pack_entry == NULL)
        break;
      g_array_append_val (run, *pack_entry);
      g_ptr_array_add (run_entries, entry);
      if (fetches != NULL)
        entry->in_span = TRUE;
    }
  return count;
}

/* Returns how many spans of at most max_span bytes the needed entries make. */
static guint
count_spans (MistDownload *self, GHashTable *located, guint64 max_span)
{
  guint count = 0;

  for (guint i = 0; i < self->packs->len; i++)
    count += plan_pack_spans (self, g_ptr_array_index (self->packs, i), located, max_span, NULL);
  return count;
}

/* Picks the span size: the smallest from needed / max_parallel up for which the spans
 * are no more than the transfer slots, so that each slot sends one request and the
 * download costs one round trip, not one per span. Spans never cross packs or long
 * gaps, so many packs or scattered entries still take more. */
static guint64
choose_span_size (MistDownload *self, GHashTable *located)
{
  guint max_parallel = mist_downloader_get_max_parallel (self->downloader);
  GHashTableIter iter;
  gpointer key;
  guint64 needed = 0;
  guint64 max_span;

  g_hash_table_iter_init (&iter, located);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    needed += ((Entry *) key)->size;
  max_span = MAX (SPAN_MIN_SIZE, (needed + max_parallel - 1) / max_parallel);
  /* Past needed, every pack's entries fit in one span each: no larger size helps. */
  while (max_span < needed && count_spans (self, located, max_span) > max_parallel)
    max_span += max_span / 4;
  return max_span;
}

/* Returns the spans (SpanFetch *) that fetch the needed objects found in packs. */
static GPtrArray *
plan_spans (MistDownload *self)
{
  g_autoptr (GHashTable) located = locate_in_packs (self);
  GPtrArray *fetches = g_ptr_array_new ();
  guint64 max_span;

  if (g_hash_table_size (located) == 0)
    return fetches;
  max_span = choose_span_size (self, located);
  for (guint i = 0; i < self->packs->len; i++)
    plan_pack_spans (self, g_ptr_array_index (self->packs, i), located, max_span, fetches);
  return fetches;
}

void
mist_download_run_async (MistDownload *self,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GPtrArray) fetches = NULL;

  g_return_if_fail (MIST_IS_DOWNLOAD (self));
  g_return_if_fail (self->task == NULL);

  self->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (self->task, mist_download_run_async);
  self->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    g_signal_connect_object (cancellable, "cancelled", G_CALLBACK (g_cancellable_cancel),
                             self->cancellable, G_CONNECT_SWAPPED);
  g_clear_error (&self->first_error);
  self->n_done = 0;
  self->bytes_done = 0;
  self->n_samples = 0;
  self->started_us = g_get_monotonic_time ();
  /* An install or another process may have discarded or cleared pack entries since the
   * last download, so they must not count as stored.
   * NOTE: the next lookup then reads every index file on the main thread (about 0.5 MB
   * for 5,000 entries). */
  mist_object_cache_reload (mist_downloader_get_object_cache (self->downloader));

  if (self->entries->len == 0)
    {
      download_complete (self);
      return;
    }

  self->tick = g_timeout_source_new (NOTIFY_INTERVAL_MS);
  g_source_set_callback (self->tick, on_tick, self, NULL);
  g_source_attach (self->tick, g_task_get_context (self->task));
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      entry->done = FALSE;
      entry->in_span = FALSE;
      /* Objects stored by an earlier run count from the start, not once their turn for a
       * transfer slot comes. */
      if (mist_downloader_has_object (self->downloader, entry->object_id))
        entry->on_disk = entry->size;
      else
        entry->on_disk = mist_downloader_get_partial_size (self->downloader, entry->object_id);
      self->bytes_done += entry->on_disk;
    }
  fetches = plan_spans (self);
  self->n_spans = fetches->len;
  self->n_running = fetches->len;
  self->n_packed = 0;
  for (guint i = 0; i < self->entries->len; i++)
    {
      if (((Entry *) g_ptr_array_index (self->entries, i))->in_span)
        self->n_packed++;
      else
        self->n_running++;
    }

  /* Every transfer is counted before the first starts, since one may finish at once. */
  for (guint i = 0; i < fetches->len; i++)
    {
      SpanFetch *fetch = g_ptr_array_index (fetches, i);

      mist_downloader_fetch_span_async (self->downloader, fetch->span, fetch->source->uri,
                                        fetch->source->pack->size, self->cancellable,
                                        on_span_fetched, fetch);
    }
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (!entry->in_span)
        fetch_object (self, entry);
    }
}

gboolean
mist_download_run_finish (MistDownload *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

guint64
mist_download_get_bytes_done (MistDownload *self)
{
  g_return_val_if_fail (MIST_IS_DOWNLOAD (self), 0);
  return self->bytes_done;
}

guint64
mist_download_get_bytes_total (MistDownload *self)
{
  g_return_val_if_fail (MIST_IS_DOWNLOAD (self), 0);
  return self->bytes_total;
}

guint
mist_download_get_n_objects (MistDownload *self)
{
  g_return_val_if_fail (MIST_IS_DOWNLOAD (self), 0);
  return self->entries->len;
}

guint
mist_download_get_n_objects_done (MistDownload *self)
{
  g_return_val_if_fail (MIST_IS_DOWNLOAD (self), 0);
  return self->n_done;
}

guint64
mist_download_get_speed (MistDownload *self)
{
  g_return_val_if_fail (MIST_IS_DOWNLOAD (self), 0);
  return self->speed;
}

gint64
mist_download_get_eta (MistDownload *self)
{
  g_return_val_if_fail (MIST_IS_DOWNLOAD (self), -1);

  if (self->bytes_done >= self->bytes_total)
    return 0;
  if (self->speed == 0)
    return -1;
  return (gint64) ((self->bytes_total - self->bytes_done + self->speed - 1) / self->speed);
}
