/* mist-downloader.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One Transfer per object walks through: wait for a slot → attempt (send, read, write)
 * → verify (hash in a worker thread) → rename. A failed attempt goes back to attempt
 * after a backoff delay while attempts remain.
 */
#include "mist-downloader-private.h"
#include "mist-error.h"
#include "mist-hash.h"
#include "mist-http.h"
#include "mist-pack-span.h"
#include "mist-token-bucket.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixoutputstream.h>
#include <glib/gstdio.h>
#include <unistd.h>

#define READ_BUFFER_SIZE (64 * 1024)

#define DEFAULT_MAX_PARALLEL 8
/* The session allows as many connections per host (mist-http.c), so each transfer gets one. */
#define MAX_PARALLEL 64
#define DEFAULT_MAX_ATTEMPTS 6
#define DEFAULT_BASE_DELAY_MS 500
#define DEFAULT_MAX_DELAY_MS 30000
#define DEFAULT_STALL_WINDOW_MS 30000
#define DEFAULT_STALL_MIN_RATE 1024

struct _MistDownloader
{
  GObject parent_instance;

  SoupSession *session;  /* owned */
  char *cache_dir;       /* owned */
  MistObjectCache *cache; /* owned */
  char *authorization;   /* owned, nullable */
  MistTokenBucket *bucket;
  guint max_parallel;
  guint max_attempts;
  guint base_delay_ms;
  guint max_delay_ms;
  guint stall_window_ms;
  guint64 stall_min_rate;

  GQueue waiting; /* GTask * of transfers without a slot, owned */
  guint n_active;
  gboolean starting;
};

G_DEFINE_FINAL_TYPE (MistDownloader, mist_downloader, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_RATE_LIMIT,
  PROP_MAX_PARALLEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* State of one object's transfer; owned by its GTask (task data), main context only. */
typedef struct
{
  MistDownloader *downloader; /* owned */
  GTask *task;                /* unowned: the task owns this struct */
  char *object_id;
  char *uri;
  guint64 size;
  char *part_path;
  char *etag_path;
  char *final_path;
  MistTransferProgressFunc progress;
  gpointer progress_data;
  MistPackSpan *span; /* owned; set when the transfer fetches pack entries */

  guint attempt;
  GCancellable *attempt_cancellable; /* cancelled on user cancel or on a stall */
  gulong cancel_handler;
  SoupMessage *msg;
  GInputStream *body;
  GOutputStream *output;
  guint8 *buffer;
  gsize granted;
  guint64 offset; /* bytes in the partial file; for a span, the position in the pack */
  guint64 end;    /* where this attempt's bytes end: the size, or the span's range end */
  gboolean longer_reply; /* a span's reply goes on past the bytes needed */
  GError *final_error;   /* owned while a failed span waits for its entries' stores */

  guint watchdog_id;
  guint64 window_bytes;
  gboolean window_throttled;
  gboolean stalled;

  GSource *wait_source;
  GSource *wait_cancel_source;
  void (*wait_next) (gpointer transfer);
} Transfer;

static void transfer_attempt (gpointer data);
static void transfer_read_next (gpointer data);
static void transfer_fail_attempt (Transfer *transfer, GError *error);

static void
transfer_free (gpointer data)
{
  Transfer *transfer = data;

  g_assert (transfer->wait_source == NULL);
  g_assert (transfer->watchdog_id == 0);
  g_clear_object (&transfer->downloader);
  g_clear_object (&transfer->attempt_cancellable);
  g_clear_object (&transfer->msg);
  g_clear_object (&transfer->body);
  g_clear_object (&transfer->output);
  g_clear_pointer (&transfer->span, mist_pack_span_unref);
  g_free (transfer->buffer);
  g_free (transfer->object_id);
  g_free (transfer->uri);
  g_free (transfer->part_path);
  g_free (transfer->etag_path);
  g_free (transfer->final_path);
  g_free (transfer);
}

static void
mist_downloader_finalize (GObject *object)
{
  MistDownloader *self = MIST_DOWNLOADER (object);

  g_assert (g_queue_is_empty (&self->waiting));
  g_clear_object (&self->session);
  g_free (self->cache_dir);
  g_clear_pointer (&self->cache, mist_object_cache_unref);
  g_free (self->authorization);
  mist_token_bucket_free (self->bucket);

  G_OBJECT_CLASS (mist_downloader_parent_class)->finalize (object);
}

static void
mist_downloader_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  MistDownloader *self = MIST_DOWNLOADER (object);

  switch (prop_id)
    {
    case PROP_RATE_LIMIT:
      g_value_set_uint64 (value, mist_downloader_get_rate_limit (self));
      break;
    case PROP_MAX_PARALLEL:
      g_value_set_uint (value, self->max_parallel);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mist_downloader_set_property (GObject *object,
                              guint prop_id,
                              const GValue *value,
                              GParamSpec *pspec)
{
  MistDownloader *self = MIST_DOWNLOADER (object);

  switch (prop_id)
    {
    case PROP_RATE_LIMIT:
      mist_downloader_set_rate_limit (self, g_value_get_uint64 (value));
      break;
    case PROP_MAX_PARALLEL:
      mist_downloader_set_max_parallel (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mist_downloader_class_init (MistDownloaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mist_downloader_finalize;
  object_class->get_property = mist_downloader_get_property;
  object_class->set_property = mist_downloader_set_property;

  properties[PROP_RATE_LIMIT] =
    g_param_spec_uint64 ("rate-limit", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_PARALLEL]
    = g_param_spec_uint ("max-parallel", NULL, NULL, 1, MAX_PARALLEL, DEFAULT_MAX_PARALLEL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
mist_downloader_init (MistDownloader *self)
{
  self->bucket = mist_token_bucket_new (0);
  self->max_parallel = DEFAULT_MAX_PARALLEL;
  self->max_attempts = DEFAULT_MAX_ATTEMPTS;
  self->base_delay_ms = DEFAULT_BASE_DELAY_MS;
  self->max_delay_ms = DEFAULT_MAX_DELAY_MS;
  self->stall_window_ms = DEFAULT_STALL_WINDOW_MS;
  self->stall_min_rate = DEFAULT_STALL_MIN_RATE;
  g_queue_init (&self->waiting);
}

MistDownloader *
mist_downloader_new (SoupSession *session, const char *cache_dir)
{
  MistDownloader *self;

  g_return_val_if_fail (SOUP_IS_SESSION (session), NULL);

  self = g_object_new (MIST_TYPE_DOWNLOADER, NULL);
  self->session = g_object_ref (session);
  if (cache_dir != NULL)
    self->cache_dir = g_strdup (cache_dir);
  else
    self->cache_dir = g_build_filename (g_get_user_cache_dir (), "mist", "objects", NULL);
  self->cache = mist_object_cache_new (self->cache_dir);
  return self;
}

SoupSession *
mist_downloader_get_session (MistDownloader *self)
{
  g_return_val_if_fail (MIST_IS_DOWNLOADER (self), NULL);
  return self->session;
}

const char *
mist_downloader_get_cache_dir (MistDownloader *self)
{
  g_return_val_if_fail (MIST_IS_DOWNLOADER (self), NULL);
  return self->cache_dir;
}

MistObjectCache *
mist_downloader_get_object_cache (MistDownloader *self)
{
  g_return_val_if_fail (MIST_IS_DOWNLOADER (self), NULL);
  return self->cache;
}

void
mist_downloader_clear_cache (MistDownloader *self)
{
  g_return_if_fail (MIST_IS_DOWNLOADER (self));
  mist_object_cache_clear (self->cache);
}

void
mist_downloader_set_authorization (MistDownloader *self, const char *authorization)
{
  g_return_if_fail (MIST_IS_DOWNLOADER (self));
  g_free (self->authorization);
  self->authorization = g_strdup (authorization);
}

void
mist_downloader_set_rate_limit (MistDownloader *self, guint64 bytes_per_second)
{
  g_return_if_fail (MIST_IS_DOWNLOADER (self));

  if (mist_token_bucket_get_rate (self->bucket) == bytes_per_second)
    return;
  mist_token_bucket_set_rate (self->bucket, bytes_per_second);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RATE_LIMIT]);
}

guint64
mist_downloader_get_rate_limit (MistDownloader *self)
{
  g_return_val_if_fail (MIST_IS_DOWNLOADER (self), 0);
  return mist_token_bucket_get_rate (self->bucket);
}

static void downloader_start_waiting (MistDownloader *self);

void
mist_downloader_set_max_parallel (MistDownloader *self, guint max_parallel)
{
  g_return_if_fail (MIST_IS_DOWNLOADER (self));

  max_parallel = CLAMP (max_parallel, 1, MAX_PARALLEL);
  if (self->max_parallel == max_parallel)
    return;
  self->max_parallel = max_parallel;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_PARALLEL]);
  downloader_start_waiting (self);
}

guint
mist_downloader_get_max_parallel (MistDownloader *self)
{
  g_return_val_if_fail (MIST_IS_DOWNLOADER (self), 0);
  return self->max_parallel;
}

void
mist_downloader_set_stall_limits (MistDownloader *self, guint window_ms, guint64 min_rate)
{
  g_return_if_fail (MIST_IS_DOWNLOADER (self));
  g_return_if_fail (window_ms > 0);
  self->stall_window_ms = window_ms;
  self->stall_min_rate = min_rate;
}

void
mist_downloader_set_retry_policy (MistDownloader *self,
                                  guint max_attempts,
                                  guint base_delay_ms,
                                  guint max_delay_ms)
{
  g_return_if_fail (MIST_IS_DOWNLOADER (self));
  self->max_attempts = MAX (1, max_attempts);
  self->base_delay_ms = base_delay_ms;
  self->max_delay_ms = MAX (base_delay_ms, max_delay_ms);
}

char *
mist_downloader_get_object_path (MistDownloader *self, const char *object_id)
{
  g_return_val_if_fail (MIST_IS_DOWNLOADER (self), NULL);
  return g_build_filename (self->cache_dir, object_id, NULL);
}

gboolean
mist_downloader_has_object (MistDownloader *self, const char *object_id)
{
  g_return_val_if_fail (MIST_IS_DOWNLOADER (self), FALSE);
  return mist_object_cache_contains (self->cache, object_id);
}

static gboolean
remove_if_present (const char *path, GError **error)
{
  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Failed to delete %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

gboolean
mist_downloader_discard_object (MistDownloader *self, const char *object_id, GError **error)
{
  g_autofree char *path = mist_downloader_get_object_path (self, object_id);
  g_autofree char *part_path = g_strconcat (path, ".part", NULL);
  g_autofree char *etag_path = g_strconcat (path, ".etag", NULL);

  return remove_if_present (part_path, error) && remove_if_present (etag_path, error)
         && mist_object_cache_discard (self->cache, object_id, error);
}

guint64
mist_downloader_get_partial_size (MistDownloader *self, const char *object_id)
{
  g_autofree char *path = mist_downloader_get_object_path (self, object_id);
  g_autofree char *part_path = g_strconcat (path, ".part", NULL);
  GStatBuf info;

  if (g_stat (part_path, &info) != 0)
    return 0;
  return (guint64) info.st_size;
}

/* Slots */

static void transfer_finish (Transfer *transfer, GError *error);

static void
transfer_begin (Transfer *transfer)
{
  GError *error = NULL;

  if (g_cancellable_set_error_if_cancelled (g_task_get_cancellable (transfer->task), &error))
    {
      transfer_finish (transfer, error);
      return;
    }
  if (transfer->span == NULL
      && mist_object_cache_contains (transfer->downloader->cache, transfer->object_id))
    {
      if (transfer->progress != NULL)
        transfer->progress (transfer->object_id, transfer->size, transfer->progress_data);
      transfer_finish (transfer, NULL);
      return;
    }
  transfer_attempt (transfer);
}

static void
downloader_start_waiting (MistDownloader *self)
{
  /* transfer_begin() may finish a transfer at once, which calls this again: the outer
   * loop picks up the freed slot instead of recursing once per cached object. */
  if (self->starting)
    return;
  self->starting = TRUE;
  while (self->n_active < self->max_parallel && !g_queue_is_empty (&self->waiting))
    {
      GTask *task = g_queue_pop_head (&self->waiting);

      self->n_active++;
      transfer_begin (g_task_get_task_data (task));
    }
  self->starting = FALSE;
}

/* Ends the transfer's task; the task reference taken in fetch_async is dropped here. */
static void
transfer_finish (Transfer *transfer, GError *error)
{
  MistDownloader *self = g_object_ref (transfer->downloader);
  GTask *task = transfer->task;

  if (transfer->cancel_handler != 0)
    {
      g_cancellable_disconnect (g_task_get_cancellable (task), transfer->cancel_handler);
      transfer->cancel_handler = 0;
    }

  self->n_active--;
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);

  downloader_start_waiting (self);
  g_object_unref (self);
}

/* Waiting (backoff and the rate limit), cancellable by the caller */

static void
transfer_stop_waiting (Transfer *transfer)
{
  if (transfer->wait_source != NULL)
    {
      g_source_destroy (transfer->wait_source);
      g_clear_pointer (&transfer->wait_source, g_source_unref);
    }
  if (transfer->wait_cancel_source != NULL)
    {
      g_source_destroy (transfer->wait_cancel_source);
      g_clear_pointer (&transfer->wait_cancel_source, g_source_unref);
    }
}

static gboolean
on_wait_over (gpointer data)
{
  Transfer *transfer = data;
  void (*next) (gpointer) = transfer->wait_next;

  transfer_stop_waiting (transfer);
  next (transfer);
  return G_SOURCE_REMOVE;
}

static gboolean
on_wait_cancelled (GCancellable *cancellable, gpointer data)
{
  Transfer *transfer = data;
  GError *error = NULL;

  transfer_stop_waiting (transfer);
  g_cancellable_set_error_if_cancelled (cancellable, &error);
  transfer_fail_attempt (transfer, error);
  return G_SOURCE_REMOVE;
}

static void
transfer_wait (Transfer *transfer, gint64 delay_us, void (*next) (gpointer))
{
  GCancellable *cancellable = transfer->attempt_cancellable;

  g_assert (transfer->wait_source == NULL);
  transfer->wait_next = next;
  transfer->wait_source = g_timeout_source_new ((guint) MAX (1, delay_us / 1000));
  g_source_set_callback (transfer->wait_source, on_wait_over, transfer, NULL);
  g_source_attach (transfer->wait_source, g_task_get_context (transfer->task));

  transfer->wait_cancel_source = g_cancellable_source_new (cancellable);
  g_source_set_callback (transfer->wait_cancel_source, G_SOURCE_FUNC (on_wait_cancelled),
                         transfer, NULL);
  g_source_attach (transfer->wait_cancel_source, g_task_get_context (transfer->task));
}

/* Stall watchdog */

static gboolean
on_watchdog (gpointer data)
{
  Transfer *transfer = data;
  MistDownloader *self = transfer->downloader;
  guint64 expected = self->stall_min_rate * self->stall_window_ms / 1000;

  if (transfer->window_bytes < expected && !transfer->window_throttled)
    {
      g_debug ("Object %s: %" G_GUINT64_FORMAT " bytes in %u ms, below the minimum rate; "
               "restarting the transfer",
               transfer->object_id, transfer->window_bytes, self->stall_window_ms);
      transfer->stalled = TRUE;
      transfer->watchdog_id = 0;
      g_cancellable_cancel (transfer->attempt_cancellable);
      return G_SOURCE_REMOVE;
    }

  transfer->window_bytes = 0;
  transfer->window_throttled = FALSE;
  return G_SOURCE_CONTINUE;
}

static void
transfer_start_watchdog (Transfer *transfer)
{
  GSource *source = g_timeout_source_new (transfer->downloader->stall_window_ms);

  transfer->window_bytes = 0;
  transfer->window_throttled = FALSE;
  transfer->stalled = FALSE;
  g_source_set_callback (source, on_watchdog, transfer, NULL);
  transfer->watchdog_id = g_source_attach (source, g_task_get_context (transfer->task));
  g_source_unref (source);
}

static void
transfer_stop_watchdog (Transfer *transfer)
{
  if (transfer->watchdog_id != 0)
    {
      GSource *source = g_main_context_find_source_by_id (g_task_get_context (transfer->task),
                                                          transfer->watchdog_id);

      if (source != NULL)
        g_source_destroy (source);
      transfer->watchdog_id = 0;
    }
}

/* Failure and retry */

static void
on_user_cancelled (GCancellable *cancellable, gpointer data)
{
  GCancellable *attempt_cancellable = data;

  g_cancellable_cancel (attempt_cancellable);
}

static gint64
compute_backoff_us (MistDownloader *self, guint attempt)
{
  double delay = self->base_delay_ms;

  for (guint i = 1; i < attempt && delay < self->max_delay_ms; i++)
    delay *= 2;
  delay = MIN (delay, (double) self->max_delay_ms);
  return (gint64) (delay * g_random_double_range (0.5, 1.5) * 1000);
}

static void
transfer_reset_attempt (Transfer *transfer)
{
  transfer_stop_watchdog (transfer);
  g_clear_object (&transfer->body);
  g_clear_object (&transfer->output);
  g_clear_object (&transfer->msg);
}

static void
on_stores_settled (GObject *source, GAsyncResult *result, gpointer data)
{
  Transfer *transfer = data;

  mist_pack_span_wait_finish (transfer->span, result, NULL);
  transfer_finish (transfer, g_steal_pointer (&transfer->final_error));
}

/* Fails the transfer with error (owned). A span first waits for the entries still being
 * stored, because they report their progress to the caller. */
static void
transfer_finish_failed (Transfer *transfer, GError *error)
{
  if (transfer->span == NULL)
    {
      transfer_finish (transfer, error);
      return;
    }
  transfer->final_error = error;
  mist_pack_span_wait_async (transfer->span, NULL, on_stores_settled, transfer);
}

/* Ends the current attempt with error (owned) and either schedules the next attempt or
 * fails the transfer. The partial file stays for a later resume. */
/* Adds what to do to an error of writing into the object cache, which is on the user's
 * disk and not the server's fault. */
static void
explain_cache_error (MistDownloader *self, GError **error)
{
  GError *explained;

  if (!g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED)
      && !g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_NO_SPACE)
      && !g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_READ_ONLY)
      && !g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY))
    return;
  explained
    = g_error_new ((*error)->domain, (*error)->code,
                   "%s. Check that the object cache %s is writable and its disk has free space",
                   (*error)->message, self->cache_dir);
  g_error_free (*error);
  *error = explained;
}

static void
transfer_fail_attempt (Transfer *transfer, GError *error)
{
  MistDownloader *self = transfer->downloader;
  GCancellable *user_cancellable = g_task_get_cancellable (transfer->task);
  gint64 delay_us;

  transfer_reset_attempt (transfer);

  /* A write that was cancelled may still have reached the file: report what is there. */
  if (transfer->span != NULL)
    mist_pack_span_drop_partial (transfer->span);
  else if (transfer->progress != NULL)
    transfer->progress (transfer->object_id,
                        mist_downloader_get_partial_size (self, transfer->object_id),
                        transfer->progress_data);

  if (g_cancellable_is_cancelled (user_cancellable))
    {
      g_clear_error (&error);
      g_cancellable_set_error_if_cancelled (user_cancellable, &error);
      transfer_finish_failed (transfer, error);
      return;
    }

  if (transfer->stalled)
    {
      g_clear_error (&error);
      error = g_error_new (MIST_ERROR, MIST_ERROR_NO_NETWORK,
                           "The transfer of %s stalled: less than %" G_GUINT64_FORMAT
                           " bytes/s over %u ms",
                           transfer->uri, self->stall_min_rate, self->stall_window_ms);
      mist_error_set_transient (error, TRUE);
    }

  if (!mist_error_is_transient (error) || transfer->attempt >= self->max_attempts)
    {
      if (mist_error_is_transient (error))
        g_prefix_error (&error, "Gave up after %u attempts: ", transfer->attempt);
      g_prefix_error (&error,
                      "Failed to download %s %s: ", transfer->span != NULL ? "pack" : "object",
                      transfer->object_id);
      explain_cache_error (self, &error);
      transfer_finish_failed (transfer, error);
      return;
    }

  if (mist_error_get_retry_after (error) > 0)
    delay_us = (gint64) mist_error_get_retry_after (error) * G_USEC_PER_SEC;
  else
    delay_us = compute_backoff_us (self, transfer->attempt);

  g_debug ("Object %s: attempt %u failed (%s); retrying in %" G_GINT64_FORMAT " ms",
           transfer->object_id, transfer->attempt, error->message, delay_us / 1000);
  g_error_free (error);

  /* A stall cancelled the attempt's cancellable; the wait needs a fresh one. */
  g_cancellable_disconnect (user_cancellable, transfer->cancel_handler);
  transfer->cancel_handler = 0;
  g_clear_object (&transfer->attempt_cancellable);
  transfer->attempt_cancellable = g_cancellable_new ();
  if (user_cancellable != NULL)
    transfer->cancel_handler = g_cancellable_connect (user_cancellable,
                                                      G_CALLBACK (on_user_cancelled),
                                                      g_object_ref (transfer->attempt_cancellable),
                                                      g_object_unref);
  transfer_wait (transfer, delay_us, transfer_attempt);
}

/* Verification */

static void
verify_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Transfer *transfer = data;
  GError *error = NULL;
  g_autofree char *hex = mist_sha256_hex_file (transfer->part_path, cancellable, &error);

  if (hex == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_strcmp0 (hex, transfer->object_id) != 0)
    {
      /* The bytes are wrong, so no resume can fix them: start over from zero. */
      g_unlink (transfer->part_path);
      g_unlink (transfer->etag_path);
      error = g_error_new (MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH,
                           "The data from %s has SHA-256 %s, expected %s", transfer->uri, hex,
                           transfer->object_id);
      mist_error_set_transient (error, TRUE);
      g_task_return_error (task, error);
      return;
    }
  if (g_rename (transfer->part_path, transfer->final_path) != 0)
    {
      int saved_errno = errno;

      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                               "Failed to rename %s to %s: %s", transfer->part_path,
                               transfer->final_path, g_strerror (saved_errno));
      return;
    }
  g_unlink (transfer->etag_path);
  g_task_return_boolean (task, TRUE);
}

static void
on_verified (GObject *source, GAsyncResult *result, gpointer data)
{
  Transfer *transfer = data;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (transfer->progress != NULL && !g_file_test (transfer->part_path, G_FILE_TEST_EXISTS))
        transfer->progress (transfer->object_id, 0, transfer->progress_data);
      transfer_fail_attempt (transfer, error);
      return;
    }
  transfer_finish (transfer, NULL);
}

static void
transfer_verify (Transfer *transfer)
{
  g_autoptr (GTask) task = g_task_new (NULL, transfer->attempt_cancellable, on_verified,
                                       transfer);

  transfer_reset_attempt (transfer);
  g_task_set_task_data (task, transfer, NULL);
  g_task_run_in_thread (task, verify_in_thread);
}

/* One attempt: request, response checks, body */

static char *
read_saved_etag (Transfer *transfer)
{
  char *etag = NULL;

  if (!g_file_get_contents (transfer->etag_path, &etag, NULL, NULL))
    return NULL;
  /* Only a strong validator may join two responses into one file (RFC 9110, 13.1.5). */
  if (etag[0] != '"')
    g_clear_pointer (&etag, g_free);
  return etag;
}

static gboolean
open_part_file (Transfer *transfer, GError **error)
{
  int fd = open (transfer->part_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

  if (fd < 0 || ftruncate (fd, (off_t) transfer->offset) != 0 ||
      lseek (fd, (off_t) transfer->offset, SEEK_SET) < 0)
    {
      int saved_errno = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Failed to open %s for writing: %s", transfer->part_path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  transfer->output = g_unix_output_stream_new (fd, TRUE);
  return TRUE;
}

static void
save_etag (Transfer *transfer, const char *etag)
{
  g_autoptr (GError) error = NULL;

  if (etag == NULL || etag[0] != '"')
    {
      g_unlink (transfer->etag_path);
      return;
    }
  if (!g_file_set_contents (transfer->etag_path, etag, -1, &error))
    g_debug ("Object %s will not resume: %s", transfer->object_id, error->message);
}

static GError *
invalid_reply_error (Transfer *transfer, const char *problem)
{
  GError *error = g_error_new (MIST_ERROR, MIST_ERROR_SERVER_ERROR,
                               "The server sent an invalid reply for %s: %s", transfer->uri,
                               problem);

  mist_error_set_transient (error, TRUE);
  return error;
}

/* Checks a 206 reply against the requested offset and the declared size. */
static GError *
check_partial_reply (Transfer *transfer, SoupMessageHeaders *headers)
{
  goffset start = 0;
  goffset end = 0;
  goffset total = 0;

  if (!soup_message_headers_get_content_range (headers, &start, &end, &total))
    return invalid_reply_error (transfer, "a 206 reply without a valid Content-Range");
  if ((guint64) start != transfer->offset || (guint64) end + 1 != transfer->size ||
      (total >= 0 && (guint64) total != transfer->size))
    {
      g_autofree char *problem = g_strdup_printf (
        "bytes %" G_GOFFSET_FORMAT "-%" G_GOFFSET_FORMAT "/%" G_GOFFSET_FORMAT
        " instead of %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
        start, end, total, transfer->offset, transfer->size - 1, transfer->size);

      /* The partial file cannot be trusted to match this server's view of the object. */
      g_unlink (transfer->part_path);
      g_unlink (transfer->etag_path);
      return invalid_reply_error (transfer, problem);
    }
  return NULL;
}

static GError *
transfer_check_reply (Transfer *transfer)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (transfer->msg);
  guint status = soup_message_get_status (transfer->msg);
  goffset length;

  if (status == SOUP_STATUS_PARTIAL_CONTENT)
    {
      GError *error = check_partial_reply (transfer, headers);

      if (error != NULL)
        return error;
    }
  else if (status == SOUP_STATUS_OK)
    {
      /* The server ignored the Range (no ranges, or If-Range saw a changed object). */
      if (transfer->offset > 0)
        g_debug ("Object %s: the server sent the whole object; restarting from zero",
                 transfer->object_id);
      transfer->offset = 0;
      if (transfer->progress != NULL)
        transfer->progress (transfer->object_id, 0, transfer->progress_data);
    }
  else if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE)
    {
      g_unlink (transfer->part_path);
      g_unlink (transfer->etag_path);
      transfer->offset = 0;
      return invalid_reply_error (transfer, "the partial file is beyond the object's end");
    }
  else
    {
      return mist_http_error_from_status (transfer->msg, NULL);
    }

  length = soup_message_headers_get_content_length (headers);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      (guint64) length != transfer->size - transfer->offset)
    {
      g_autofree char *problem = g_strdup_printf (
        "Content-Length %" G_GOFFSET_FORMAT " where %" G_GUINT64_FORMAT " bytes were expected",
        length, transfer->size - transfer->offset);

      return invalid_reply_error (transfer, problem);
    }

  save_etag (transfer, soup_message_headers_get_one (headers, "ETag"));
  return NULL;
}

static void
on_written (GObject *source, GAsyncResult *result, gpointer data)
{
  Transfer *transfer = data;
  GError *error = NULL;
  gsize written = 0;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &written, &error))
    {
      g_prefix_error (&error, "Failed to write %s: ", transfer->part_path);
      transfer_fail_attempt (transfer, error);
      return;
    }

  transfer->offset += written;
  if (transfer->progress != NULL)
    transfer->progress (transfer->object_id, transfer->offset, transfer->progress_data);
  transfer_read_next (transfer);
}

static void
on_closed (GObject *source, GAsyncResult *result, gpointer data)
{
  Transfer *transfer = data;
  GError *error = NULL;

  if (!g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, &error))
    {
      g_prefix_error (&error, "Failed to write %s: ", transfer->part_path);
      transfer_fail_attempt (transfer, error);
      return;
    }
  transfer_verify (transfer);
}

/* Pack spans */

/* Checks the reply to a span's request: 206 from the requested start to at least the
 * requested end, or 200 with the whole pack from a server that ignored the Range. */
static GError *
span_check_reply (Transfer *transfer)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (transfer->msg);
  guint status = soup_message_get_status (transfer->msg);
  goffset start = 0;
  goffset end = 0;
  goffset total = 0;
  goffset length;

  if (status == SOUP_STATUS_OK)
    {
      transfer->offset = 0;
      start = 0;
      end = (goffset) transfer->size - 1;
    }
  else if (status != SOUP_STATUS_PARTIAL_CONTENT)
    {
      return mist_http_error_from_status (transfer->msg, NULL);
    }
  else if (!soup_message_headers_get_content_range (headers, &start, &end, &total) ||
           (guint64) start != transfer->offset || (guint64) end + 1 < transfer->end ||
           (guint64) end >= transfer->size || (total >= 0 && (guint64) total != transfer->size))
    {
      g_autofree char *problem = g_strdup_printf (
        "a Content-Range other than bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
        "/%" G_GUINT64_FORMAT,
        transfer->offset, transfer->end - 1, transfer->size);

      return invalid_reply_error (transfer, problem);
    }

  transfer->longer_reply = (guint64) end + 1 > transfer->end;
  length = soup_message_headers_get_content_length (headers);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      length != end - start + 1)
    return invalid_reply_error (transfer, "a Content-Length other than its Content-Range");
  return NULL;
}

static void
on_span_stored (GObject *source, GAsyncResult *result, gpointer data)
{
  Transfer *transfer = data;
  GError *error = NULL;

  if (!mist_pack_span_wait_finish (transfer->span, result, &error))
    {
      transfer_fail_attempt (transfer, error);
      return;
    }
  transfer_finish (transfer, NULL);
}

static void
span_complete (Transfer *transfer)
{
  transfer_reset_attempt (transfer);
  mist_pack_span_wait_async (transfer->span, transfer->attempt_cancellable, on_span_stored,
                             transfer);
}

/* Feeds n bytes read for a span. A reply of exactly the requested bytes is read to its
 * end, so that the connection can serve the next request. The rest of a longer reply is
 * not needed. */
static void
span_received (Transfer *transfer, gsize n)
{
  gsize useful = (gsize) MIN ((guint64) n, transfer->end - transfer->offset);

  if (n == 0 || (transfer->longer_reply && useful == 0))
    {
      span_complete (transfer);
      return;
    }
  if (useful < n && !transfer->longer_reply)
    {
      transfer_fail_attempt (transfer,
                             invalid_reply_error (transfer, "more bytes than the range"));
      return;
    }
  mist_pack_span_feed (transfer->span, transfer->offset, transfer->buffer, useful);
  transfer->offset += useful;
  if (transfer->longer_reply && transfer->offset == transfer->end)
    {
      span_complete (transfer);
      return;
    }
  transfer_read_next (transfer);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  Transfer *transfer = data;
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  guint64 remaining = transfer->end - transfer->offset;

  if (n < 0)
    {
      GError *converted = mist_http_error_from_send (transfer->msg, error);

      g_error_free (error);
      transfer_fail_attempt (transfer, converted);
      return;
    }

  mist_token_bucket_give_back (transfer->downloader->bucket, transfer->granted - (gsize) n);
  transfer->window_bytes += (guint64) n;
  if (transfer->span != NULL && (n > 0 || remaining == 0))
    {
      span_received (transfer, (gsize) n);
      return;
    }

  if (n == 0 && remaining > 0)
    {
      g_autofree char *problem = g_strdup_printf (
        "the connection closed after %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
        transfer->offset, transfer->size);

      transfer_fail_attempt (transfer, invalid_reply_error (transfer, problem));
      return;
    }
  if (n == 0)
    {
      g_output_stream_close_async (transfer->output, G_PRIORITY_DEFAULT,
                                   transfer->attempt_cancellable, on_closed, transfer);
      return;
    }
  if ((guint64) n > remaining)
    {
      /* Keep the declared bytes; the hash decides whether they are the object. */
      if (remaining > 0 && g_output_stream_write_all (transfer->output, transfer->buffer,
                                                      remaining, NULL, NULL, NULL))
        transfer->offset += remaining;
      transfer_fail_attempt (transfer,
                             invalid_reply_error (transfer, "more bytes than the object's size"));
      return;
    }

  g_output_stream_write_all_async (transfer->output, transfer->buffer, (gsize) n,
                                   G_PRIORITY_DEFAULT, transfer->attempt_cancellable,
                                   on_written, transfer);
}

static void
transfer_read_next (gpointer data)
{
  Transfer *transfer = data;
  /* One byte more than remains, so a server that sends too much is noticed. */
  gsize requested = (gsize) MIN ((guint64) READ_BUFFER_SIZE,
                                 transfer->end - transfer->offset + 1);
  gint64 wait_us = 0;

  transfer->granted = mist_token_bucket_take (transfer->downloader->bucket, requested,
                                              g_get_monotonic_time (), &wait_us);
  if (transfer->granted == 0)
    {
      transfer->window_throttled = TRUE;
      transfer_wait (transfer, wait_us, transfer_read_next);
      return;
    }

  g_input_stream_read_async (transfer->body, transfer->buffer, transfer->granted,
                             G_PRIORITY_DEFAULT, transfer->attempt_cancellable, on_read,
                             transfer);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  Transfer *transfer = data;
  GError *error = NULL;

  transfer->body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (transfer->body == NULL)
    {
      GError *converted = mist_http_error_from_send (transfer->msg, error);

      g_error_free (error);
      transfer_fail_attempt (transfer, converted);
      return;
    }

  error = transfer->span != NULL ? span_check_reply (transfer) : transfer_check_reply (transfer);
  if (error == NULL && transfer->span == NULL)
    open_part_file (transfer, &error);
  if (error != NULL)
    {
      transfer_fail_attempt (transfer, error);
      return;
    }
  transfer_read_next (transfer);
}

static void
transfer_attempt (gpointer data)
{
  Transfer *transfer = data;
  MistDownloader *self = transfer->downloader;
  g_autofree char *etag = NULL;
  SoupMessageHeaders *headers;
  GStatBuf info;

  transfer->attempt++;
  if (transfer->span != NULL)
    {
      if (!mist_pack_span_get_range (transfer->span, &transfer->offset, &transfer->end))
        {
          transfer_finish (transfer, NULL);
          return;
        }
    }
  else
    {
      transfer->end = transfer->size;
      transfer->offset = g_stat (transfer->part_path, &info) == 0 ? (guint64) info.st_size : 0;
      etag = read_saved_etag (transfer);
      if (transfer->offset > transfer->size || (transfer->offset > 0 && etag == NULL &&
                                                transfer->offset < transfer->size))
        transfer->offset = 0;
      if (transfer->offset == transfer->size)
        {
          transfer_verify (transfer);
          return;
        }
    }

  transfer->msg = soup_message_new (SOUP_METHOD_GET, transfer->uri);
  if (transfer->msg == NULL)
    {
      transfer_finish (transfer, g_error_new (MIST_ERROR, MIST_ERROR_INVALID_DATA,
                                              "Invalid object URL %s", transfer->uri));
      return;
    }
  mist_http_message_prepare (self->session, transfer->msg);
  headers = soup_message_get_request_headers (transfer->msg);
  soup_message_headers_replace (headers, "Accept-Encoding", "identity");
  if (self->authorization != NULL)
    soup_message_headers_replace (headers, "Authorization", self->authorization);
  /* Packs are immutable and every entry is verified, so a span needs no If-Range. */
  if (transfer->span != NULL)
    {
      soup_message_headers_set_range (headers, (goffset) transfer->offset,
                                      (goffset) transfer->end - 1);
    }
  else if (transfer->offset > 0)
    {
      soup_message_headers_set_range (headers, (goffset) transfer->offset, -1);
      soup_message_headers_replace (headers, "If-Range", etag);
    }

  transfer_start_watchdog (transfer);
  soup_session_send_async (self->session, transfer->msg, G_PRIORITY_DEFAULT,
                           transfer->attempt_cancellable, on_sent, transfer);
}

/* Creates the transfer of uri as the data of task and queues it for a slot. Returns NULL
 * after failing the task when the cache folder cannot be created. */
static Transfer *
downloader_queue_transfer (MistDownloader *self,
                           GTask *task,
                           const char *object_id,
                           const char *uri,
                           guint64 size)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  Transfer *transfer;

  if (g_mkdir_with_parents (self->cache_dir, 0755) != 0)
    {
      int saved_errno = errno;

      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                               "Failed to create the object cache %s: %s", self->cache_dir,
                               g_strerror (saved_errno));
      g_object_unref (task);
      return NULL;
    }

  transfer = g_new0 (Transfer, 1);
  transfer->downloader = g_object_ref (self);
  transfer->task = task;
  transfer->object_id = g_strdup (object_id);
  transfer->uri = g_strdup (uri);
  transfer->size = size;
  transfer->buffer = g_malloc (READ_BUFFER_SIZE);
  transfer->attempt_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    transfer->cancel_handler = g_cancellable_connect (cancellable,
                                                      G_CALLBACK (on_user_cancelled),
                                                      g_object_ref (transfer->attempt_cancellable),
                                                      g_object_unref);
  g_task_set_task_data (task, transfer, transfer_free);
  g_queue_push_tail (&self->waiting, task);
  return transfer;
}

void
mist_downloader_fetch_async (MistDownloader *self,
                             const char *object_id,
                             const char *uri,
                             guint64 size,
                             MistTransferProgressFunc progress,
                             gpointer progress_data,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  GTask *task;
  Transfer *transfer;

  g_return_if_fail (MIST_IS_DOWNLOADER (self));
  g_return_if_fail (object_id != NULL && uri != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mist_downloader_fetch_async);

  if (!mist_sha256_hex_is_valid (object_id))
    {
      g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                               "Invalid object id %s: expected 64 lowercase hex digits",
                               object_id);
      g_object_unref (task);
      return;
    }
  transfer = downloader_queue_transfer (self, task, object_id, uri, size);
  if (transfer == NULL)
    return;
  transfer->final_path = mist_downloader_get_object_path (self, object_id);
  transfer->part_path = g_strconcat (transfer->final_path, ".part", NULL);
  transfer->etag_path = g_strconcat (transfer->final_path, ".etag", NULL);
  transfer->progress = progress;
  transfer->progress_data = progress_data;
  downloader_start_waiting (self);
}

gboolean
mist_downloader_fetch_finish (MistDownloader *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mist_downloader_fetch_span_async (MistDownloader *self,
                                  MistPackSpan *span,
                                  const char *uri,
                                  guint64 pack_size,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  GTask *task;
  Transfer *transfer;

  g_return_if_fail (MIST_IS_DOWNLOADER (self));
  g_return_if_fail (span != NULL && uri != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mist_downloader_fetch_span_async);
  transfer = downloader_queue_transfer (self, task, mist_pack_span_get_pack_id (span), uri,
                                        pack_size);
  if (transfer == NULL)
    return;
  transfer->span = mist_pack_span_ref (span);
  downloader_start_waiting (self);
}

gboolean
mist_downloader_fetch_span_finish (MistDownloader *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
