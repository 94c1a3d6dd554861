/* mist-queue.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-queue.h"
#include "mist-error.h"
#include "mist-job-lock-private.h"
#include "mist-job-private.h"
#include "mist-install.h"

#include <glib/gstdio.h>
#include <string.h>

/* Progress is written to the database at most this often per job. */
#define PROGRESS_SAVE_INTERVAL_US (2 * G_USEC_PER_SEC)

typedef struct _MistQueue MistQueue;

/* Per-job run state the queue keeps next to the job. */
typedef struct
{
  MistQueue *queue;          /* unowned: the queue owns the entry */
  MistJob *job;              /* owned */
  GCancellable *cancellable; /* owned while downloading or applying */
  gboolean downloaded;       /* objects are complete; waiting for the apply slot */
  /* While a stop is requested: PAUSED, CANCELLED, or QUEUED from mist_queue_stop();
   * RUNNING otherwise. */
  MistJobState stop_state;
  gint64 last_saved;         /* monotonic time of the last progress write */
  gulong progress_handler;
  gulong phase_handler;
  int lock_fd;               /* holds the job's lock while it runs here, else -1 */
  /* Another process holds the job's lock: it is not started here until resumed. */
  gboolean locked_elsewhere;
  /* A job for another target is being queued in this one's place: it does not start. */
  gboolean replacing;
} Entry;

struct _MistQueue
{
  GObject parent_instance;

  MistJobContext context; /* client, downloader and db are owned */
  char *games_dir;
  GPtrArray *entries;     /* Entry *, owned, in queue order */
  GPtrArray *jobs;        /* MistJob *, unowned view of entries for callers */
  gboolean stopped;       /* mist_queue_stop() was called: start nothing new */
  Entry *downloading;     /* unowned, nullable */
  Entry *applying;        /* unowned, nullable */
  guint discarding;       /* cancelled jobs whose staged files are being deleted */
  char *only_game;        /* nullable: the one game whose jobs may start */
  gboolean starts_blocked; /* mist_queue_block_starts(): no job starts */
};

G_DEFINE_FINAL_TYPE (MistQueue, mist_queue, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_BUSY,
  N_PROPS
};

enum
{
  SIGNAL_JOB_ADDED,
  SIGNAL_JOB_FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void queue_schedule (MistQueue *self);

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  if (entry->progress_handler != 0)
    g_signal_handler_disconnect (entry->job, entry->progress_handler);
  if (entry->phase_handler != 0)
    g_signal_handler_disconnect (entry->job, entry->phase_handler);
  mist_job_lock_release (entry->lock_fd);
  g_clear_object (&entry->cancellable);
  g_clear_object (&entry->job);
  g_free (entry);
}

static void
mist_queue_dispose (GObject *object)
{
  MistQueue *self = MIST_QUEUE (object);

  for (guint i = 0; self->entries != NULL && i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->cancellable != NULL)
        g_cancellable_cancel (entry->cancellable);
    }
  G_OBJECT_CLASS (mist_queue_parent_class)->dispose (object);
}

static void
mist_queue_finalize (GObject *object)
{
  MistQueue *self = MIST_QUEUE (object);

  g_ptr_array_unref (self->jobs);
  g_ptr_array_unref (self->entries);
  g_free (self->only_game);
  g_clear_object (&self->context.client);
  g_clear_object (&self->context.downloader);
  g_clear_pointer (&self->context.db, mist_state_db_unref);
  g_free (self->games_dir);

  G_OBJECT_CLASS (mist_queue_parent_class)->finalize (object);
}

static void
mist_queue_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, mist_queue_is_busy (MIST_QUEUE (object)));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mist_queue_class_init (MistQueueClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mist_queue_dispose;
  object_class->finalize = mist_queue_finalize;
  object_class->get_property = mist_queue_get_property;

  properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                                                G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                                                  G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A job entered the queue (queued now, or loaded from the database). */
  signals[SIGNAL_JOB_ADDED] = g_signal_new ("job-added", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 1, MIST_TYPE_JOB);
  /* A job stopped for good or for now: done, failed, cancelled or paused. Done and
   * cancelled jobs have left the queue when this is emitted. */
  signals[SIGNAL_JOB_FINISHED] = g_signal_new ("job-finished", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 1, MIST_TYPE_JOB);
}

static void
mist_queue_init (MistQueue *self)
{
  self->entries = g_ptr_array_new_with_free_func (entry_free);
  self->jobs = g_ptr_array_new ();
}

MistQueue *
mist_queue_new (MistClient *client,
                MistDownloader *downloader,
                MistStateDb *db,
                const char *games_dir)
{
  MistQueue *self;

  g_return_val_if_fail (MIST_IS_CLIENT (client), NULL);
  g_return_val_if_fail (MIST_IS_DOWNLOADER (downloader), NULL);
  g_return_val_if_fail (db != NULL && games_dir != NULL, NULL);

  self = g_object_new (MIST_TYPE_QUEUE, NULL);
  self->context.client = g_object_ref (client);
  self->context.downloader = g_object_ref (downloader);
  self->context.db = mist_state_db_ref (db);
  self->games_dir = g_strdup (games_dir);
  return self;
}

GPtrArray *
mist_queue_get_jobs (MistQueue *self)
{
  g_return_val_if_fail (MIST_IS_QUEUE (self), NULL);
  return self->jobs;
}

static Entry *
find_entry (MistQueue *self, MistJob *job, guint *index)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->job == job)
        {
          if (index != NULL)
            *index = i;
          return entry;
        }
    }
  return NULL;
}

MistJob *
mist_queue_lookup (MistQueue *self, gint64 job_id)
{
  g_return_val_if_fail (MIST_IS_QUEUE (self), NULL);

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (mist_job_get_id (entry->job) == job_id)
        return entry->job;
    }
  return NULL;
}

gboolean
mist_queue_is_busy (MistQueue *self)
{
  g_return_val_if_fail (MIST_IS_QUEUE (self), FALSE);
  return self->downloading != NULL || self->applying != NULL || self->discarding > 0;
}

static void
rebuild_job_view (MistQueue *self)
{
  g_ptr_array_set_size (self->jobs, 0);
  for (guint i = 0; i < self->entries->len; i++)
    g_ptr_array_add (self->jobs, ((Entry *) g_ptr_array_index (self->entries, i))->job);
}

static void
on_job_progress (GObject *object, GParamSpec *pspec, gpointer data)
{
  Entry *entry = data;
  MistJob *job = entry->job;
  MistQueueJob *record = mist_job_get_record (job);
  gint64 now = g_get_monotonic_time ();

  if (mist_job_get_phase (job) != MIST_JOB_PHASE_DOWNLOADING ||
      now - entry->last_saved < PROGRESS_SAVE_INTERVAL_US)
    return;
  entry->last_saved = now;
  mist_state_db_queue_set_progress_async (entry->queue->context.db, record->id,
                                          record->bytes_done, record->bytes_total, NULL, NULL,
                                          NULL);
}

static void stop_entry (MistQueue *self, Entry *entry, MistJobState stop_state);

/* An apply that fetches the objects it found missing downloads again: once the queue is
 * stopped, that download stops as the others did. */
static void
on_job_phase (GObject *object, GParamSpec *pspec, gpointer data)
{
  Entry *entry = data;

  if (entry->queue->stopped && entry->cancellable != NULL
      && entry->stop_state == MIST_JOB_STATE_RUNNING
      && mist_job_get_phase (entry->job) == MIST_JOB_PHASE_DOWNLOADING)
    stop_entry (entry->queue, entry, MIST_JOB_STATE_QUEUED);
}

/* Adds job (owned) to the queue at index, at the end when index is past it. */
static Entry *
queue_insert (MistQueue *self, MistJob *job, guint index)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->queue = self;
  entry->job = job;
  entry->stop_state = MIST_JOB_STATE_RUNNING;
  entry->lock_fd = -1;
  entry->progress_handler = g_signal_connect (job, "notify::bytes-done",
                                              G_CALLBACK (on_job_progress), entry);
  entry->phase_handler = g_signal_connect (job, "notify::phase", G_CALLBACK (on_job_phase), entry);
  g_ptr_array_insert (self->entries, (gint)MIN (index, self->entries->len), entry);
  rebuild_job_view (self);
  g_signal_emit (self, signals[SIGNAL_JOB_ADDED], 0, job);
  return entry;
}

static Entry *
queue_append (MistQueue *self, MistJob *job)
{
  return queue_insert (self, job, self->entries->len);
}

static void
set_job_state (MistQueue *self, MistJob *job, MistJobState state, const char *message)
{
  MistQueueJob *record = mist_job_get_record (job);

  mist_job_set_state (job, state, message);
  mist_state_db_queue_set_state_async (self->context.db, record->id, state, message, NULL,
                                       NULL, NULL);
  mist_state_db_queue_set_progress_async (self->context.db, record->id, record->bytes_done,
                                          record->bytes_total, NULL, NULL, NULL);
}

/* Returns whether the database lists a job other than finished's. The launcher and
 * mist-cli share the database and the object cache, so such a job may be running in
 * another process. */
/* NOTE: reads the database synchronously on the main thread, once per finished job. */
static gboolean
other_jobs_recorded (MistQueue *self, Entry *finished)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) jobs = mist_state_db_queue_list (self->context.db, &error);

  if (jobs == NULL)
    {
      g_debug ("Keeping the object cache, as the queue cannot be read: %s", error->message);
      return TRUE;
    }
  for (guint i = 0; i < jobs->len; i++)
    if (((MistQueueJob *)g_ptr_array_index (jobs, i))->id != mist_job_get_id (finished->job))
      return TRUE;
  return FALSE;
}

/* Frees the disk space of a job that will not resume: its objects go unless another
 * job in the queue needs them. A job of an earlier run that was never planned in this
 * one has no object list, so the cache is only cleared when no other job is left. */
static void
free_job_objects (MistQueue *self, Entry *finished)
{
  g_autoptr (GHashTable) keep = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean others_unplanned = FALSE;

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry == finished)
        continue;
      if (mist_job_get_plan (entry->job) == NULL)
        others_unplanned = TRUE;
      mist_job_collect_objects (entry->job, keep);
    }

  if (self->entries->len <= 1 && !other_jobs_recorded (self, finished))
    mist_downloader_clear_cache (self->context.downloader);
  else if (!others_unplanned || mist_job_get_plan (finished->job) != NULL)
    mist_job_discard_objects (finished->job, keep);
}

/* Logs a failed write that no caller waits for; data is a reference to the database. */
static void
on_database_written (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (MistStateDb) db = data;
  g_autoptr (GError) error = NULL;

  mist_state_db_finish (db, result, &error);
  /* Another process may have removed a finished job's row already. */
  if (g_error_matches (error, MIST_ERROR, MIST_ERROR_NOT_FOUND))
    g_debug ("Download queue row already gone: %s", error->message);
  else if (error != NULL)
    g_warning ("Failed to update the download queue in %s: %s", mist_state_db_get_path (db),
               error->message);
}

typedef struct
{
  MistStateDb *db; /* owned */
  char *game_id;
} Discard;

static void
discard_free (gpointer data)
{
  Discard *discard = data;

  mist_state_db_unref (discard->db);
  g_free (discard->game_id);
  g_free (discard);
}

static void
discard_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Discard *discard = data;
  GError *error = NULL;

  if (!mist_install_discard (discard->db, discard->game_id, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_discarded (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (MistQueue) self = data;
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_warning ("Failed to delete the staged files of a cancelled job: %s", error->message);
  self->discarding--;
  if (!mist_queue_is_busy (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* Deletes what a cancelled job staged, on a worker thread: a large game's staging
 * folder takes a while to delete. */
static void
discard_staging (MistQueue *self, MistJob *job)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, on_discarded, g_object_ref (self));
  gboolean was_busy = mist_queue_is_busy (self);
  Discard *discard = g_new0 (Discard, 1);

  discard->db = mist_state_db_ref (self->context.db);
  discard->game_id = g_strdup (mist_job_get_game_id (job));
  g_task_set_task_data (task, discard, discard_free);
  self->discarding++;
  if (!was_busy)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  g_task_run_in_thread (task, discard_in_thread);
}

static void
queue_remove (MistQueue *self, Entry *entry)
{
  g_autoptr (MistJob) job = g_object_ref (entry->job);
  guint index = 0;

  free_job_objects (self, entry);
  if (mist_job_get_state (job) == MIST_JOB_STATE_CANCELLED)
    discard_staging (self, job);
  mist_job_lock_delete (self->context.db, mist_job_get_id (job));
  mist_state_db_queue_remove_async (self->context.db, mist_job_get_id (job), NULL,
                                    on_database_written, mist_state_db_ref (self->context.db));
  if (find_entry (self, job, &index) != NULL)
    g_ptr_array_remove_index (self->entries, index);
  rebuild_job_view (self);
}

/* Ends the current run of entry's job after error (owned, may be NULL for success). */
static void
finish_run (MistQueue *self, Entry *entry, GError *error)
{
  g_autoptr (MistJob) job = g_object_ref (entry->job);
  MistJobState stop_state = entry->stop_state;
  /* Released once the new state is queued for the database; entry may be freed first. */
  int lock_fd = entry->lock_fd;

  entry->lock_fd = -1;
  g_clear_object (&entry->cancellable);
  entry->stop_state = MIST_JOB_STATE_RUNNING;
  if (self->downloading == entry)
    self->downloading = NULL;
  if (self->applying == entry)
    self->applying = NULL;

  if (error == NULL)
    {
      set_job_state (self, job, MIST_JOB_STATE_DONE, NULL);
      mist_job_set_phase (job, MIST_JOB_PHASE_FINISHED);
      queue_remove (self, entry);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
           stop_state == MIST_JOB_STATE_CANCELLED)
    {
      set_job_state (self, job, MIST_JOB_STATE_CANCELLED, NULL);
      mist_job_set_phase (job, MIST_JOB_PHASE_FINISHED);
      queue_remove (self, entry);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
           stop_state == MIST_JOB_STATE_QUEUED)
    {
      /* Stopped by mist_queue_stop(): the next load resumes the job. */
      entry->downloaded = FALSE;
      set_job_state (self, job, MIST_JOB_STATE_QUEUED, NULL);
      mist_job_set_phase (job, MIST_JOB_PHASE_WAITING);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      entry->downloaded = FALSE;
      set_job_state (self, job, MIST_JOB_STATE_PAUSED, NULL);
      mist_job_set_phase (job, MIST_JOB_PHASE_WAITING);
    }
  else
    {
      g_message ("Job %" G_GINT64_FORMAT " failed: %s", mist_job_get_id (job), error->message);
      mist_job_set_error (job, error);
      entry->downloaded = FALSE;
      set_job_state (self, job, MIST_JOB_STATE_FAILED, error->message);
      mist_job_set_phase (job, MIST_JOB_PHASE_FINISHED);
    }
  g_clear_error (&error);
  mist_job_lock_release (lock_fd);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  g_signal_emit (self, signals[SIGNAL_JOB_FINISHED], 0, job);
  queue_schedule (self);
}

static void
on_applied (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (MistQueue) self = data;
  MistJob *job = MIST_JOB (source);
  Entry *entry = find_entry (self, job, NULL);
  GError *error = NULL;

  mist_job_apply_finish (job, result, &error);
  if (entry != NULL)
    finish_run (self, entry, error);
  else
    g_clear_error (&error);
}

static void
on_downloaded (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (MistQueue) self = data;
  MistJob *job = MIST_JOB (source);
  Entry *entry = find_entry (self, job, NULL);
  GError *error = NULL;

  if (!mist_job_download_finish (job, result, &error))
    {
      if (entry != NULL)
        finish_run (self, entry, error);
      else
        g_clear_error (&error);
      return;
    }
  if (entry == NULL)
    return;

  entry->downloaded = TRUE;
  mist_job_set_phase (job, MIST_JOB_PHASE_WAITING);
  self->downloading = NULL;
  queue_schedule (self);
}

typedef struct
{
  MistQueue *queue; /* owned */
  MistJob *job;     /* owned */
} FinishedEmission;

static void
finished_emission_free (gpointer data)
{
  FinishedEmission *emission = data;

  g_object_unref (emission->queue);
  g_object_unref (emission->job);
  g_free (emission);
}

static gboolean
emit_job_finished (gpointer data)
{
  FinishedEmission *emission = data;

  g_signal_emit (emission->queue, signals[SIGNAL_JOB_FINISHED], 0, emission->job);
  return G_SOURCE_REMOVE;
}

/* "install tetris", for messages about a job. */
static char *
describe_job (MistJob *job)
{
  return g_strdup_printf ("%s %s", mist_job_kind_to_string (mist_job_get_kind (job)),
                          mist_job_get_game_id (job));
}

/* Takes the job's lock, or marks the job as run by another process and reports it with
 * "job-finished" from an idle callback (so that a caller that has just resumed the job
 * has connected to the signal). Returns whether the lock is held. */
static gboolean
lock_entry (MistQueue *self, Entry *entry)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *what = describe_job (entry->job);
  FinishedEmission *emission;

  entry->lock_fd = mist_job_lock_acquire (self->context.db, mist_job_get_id (entry->job), what,
                                          &error);
  if (entry->lock_fd >= 0)
    return TRUE;

  g_debug ("Not starting job %" G_GINT64_FORMAT ": %s", mist_job_get_id (entry->job),
           error->message);
  entry->locked_elsewhere = TRUE;
  mist_job_set_error (entry->job, error);
  emission = g_new0 (FinishedEmission, 1);
  emission->queue = g_object_ref (self);
  emission->job = g_object_ref (entry->job);
  g_idle_add_full (G_PRIORITY_DEFAULT, emit_job_finished, emission, finished_emission_free);
  return FALSE;
}

static void
start_download (MistQueue *self, Entry *entry)
{
  if (!lock_entry (self, entry))
    return;
  self->downloading = entry;
  entry->cancellable = g_cancellable_new ();
  set_job_state (self, entry->job, MIST_JOB_STATE_RUNNING, NULL);
  mist_job_download_async (entry->job, entry->cancellable, on_downloaded, g_object_ref (self));
}

static void
start_apply (MistQueue *self, Entry *entry)
{
  self->applying = entry;
  mist_job_apply_async (entry->job, entry->cancellable, on_applied, g_object_ref (self));
}

/* Fills the download slot with the first queued job and the apply slot with the first
 * downloaded one, in queue order. */
static void
queue_schedule (MistQueue *self)
{
  gboolean was_busy = mist_queue_is_busy (self);

  if (self->stopped || self->starts_blocked)
    return;
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);
      MistJobState state = mist_job_get_state (entry->job);

      if (self->only_game != NULL
          && g_strcmp0 (mist_job_get_game_id (entry->job), self->only_game) != 0)
        continue;
      if (self->applying == NULL && entry->downloaded && state == MIST_JOB_STATE_RUNNING)
        start_apply (self, entry);
      else if (self->downloading == NULL && state == MIST_JOB_STATE_QUEUED
               && !entry->locked_elsewhere && !entry->replacing)
        start_download (self, entry);
    }
  if (was_busy != mist_queue_is_busy (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* Control */

void
mist_queue_set_only_game (MistQueue *self, const char *game_id)
{
  g_return_if_fail (MIST_IS_QUEUE (self));

  g_free (self->only_game);
  self->only_game = g_strdup (game_id);
  queue_schedule (self);
}

void
mist_queue_block_starts (MistQueue *self, gboolean blocked)
{
  g_return_if_fail (MIST_IS_QUEUE (self));

  self->starts_blocked = blocked;
  queue_schedule (self);
}

static gboolean
check_entry (MistQueue *self, MistJob *job, Entry **entry, GError **error)
{
  *entry = find_entry (self, job, NULL);
  if (*entry == NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND, "Job %" G_GINT64_FORMAT
                   " is not in the queue", mist_job_get_id (job));
      return FALSE;
    }
  return TRUE;
}

/* Returns whether entry's job builds or commits files, which a pause, a cancel or
 * mist_queue_stop() leaves to finish. A job in the apply slot that fetches missing
 * objects downloads, and stops like any download. */
static gboolean
entry_is_applying (MistQueue *self, Entry *entry)
{
  return self->applying == entry && mist_job_get_phase (entry->job) == MIST_JOB_PHASE_APPLYING;
}

/* Stops a running job; finish_run() sets stop_state once the work has stopped. */
static void
stop_entry (MistQueue *self, Entry *entry, MistJobState stop_state)
{
  entry->stop_state = stop_state;
  if (entry->cancellable != NULL)
    g_cancellable_cancel (entry->cancellable);
}

gboolean
mist_queue_pause (MistQueue *self, MistJob *job, GError **error)
{
  g_autofree char *description = NULL;
  Entry *entry;
  int lock_fd;

  g_return_val_if_fail (MIST_IS_QUEUE (self), FALSE);
  if (!check_entry (self, job, &entry, error))
    return FALSE;

  if (entry->cancellable != NULL)
    {
      if (entry_is_applying (self, entry))
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_BUSY,
                       "%s is being applied and finishes in a moment; it cannot be paused now",
                       mist_job_get_game_id (job));
          return FALSE;
        }
      stop_entry (self, entry, MIST_JOB_STATE_PAUSED);
      return TRUE;
    }

  /* A job that another process runs is paused there: marking it here would not stop it. */
  description = describe_job (job);
  lock_fd = mist_job_lock_acquire (self->context.db, mist_job_get_id (job), description, error);
  if (lock_fd < 0)
    return FALSE;
  if (mist_job_get_state (job) == MIST_JOB_STATE_QUEUED ||
      mist_job_get_state (job) == MIST_JOB_STATE_FAILED)
    set_job_state (self, job, MIST_JOB_STATE_PAUSED, NULL);
  mist_job_lock_release (lock_fd);
  return TRUE;
}

gboolean
mist_queue_resume (MistQueue *self, MistJob *job, GError **error)
{
  Entry *entry;
  MistJobState state;

  g_return_val_if_fail (MIST_IS_QUEUE (self), FALSE);
  if (!check_entry (self, job, &entry, error))
    return FALSE;

  state = mist_job_get_state (job);
  if (entry->locked_elsewhere)
    {
      entry->locked_elsewhere = FALSE;
      mist_job_set_error (job, NULL);
      queue_schedule (self);
    }
  if (state == MIST_JOB_STATE_PAUSED || state == MIST_JOB_STATE_FAILED)
    {
      mist_job_set_error (job, NULL);
      set_job_state (self, job, MIST_JOB_STATE_QUEUED, NULL);
      mist_job_set_phase (job, MIST_JOB_PHASE_WAITING);
      queue_schedule (self);
    }
  return TRUE;
}

/* A referenced copy of the job list, safe to walk while jobs leave the queue. */
static GPtrArray *
copy_jobs (MistQueue *self)
{
  GPtrArray *jobs = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < self->jobs->len; i++)
    g_ptr_array_add (jobs, g_object_ref (g_ptr_array_index (self->jobs, i)));
  return jobs;
}

void
mist_queue_pause_all (MistQueue *self)
{
  g_autoptr (GPtrArray) jobs = copy_jobs (self);

  for (guint i = 0; i < jobs->len; i++)
    mist_queue_pause (self, g_ptr_array_index (jobs, i), NULL);
}

void
mist_queue_resume_all (MistQueue *self)
{
  g_autoptr (GPtrArray) jobs = copy_jobs (self);

  for (guint i = 0; i < jobs->len; i++)
    mist_queue_resume (self, g_ptr_array_index (jobs, i), NULL);
}

gboolean
mist_queue_cancel (MistQueue *self, MistJob *job, GError **error)
{
  Entry *entry;
  g_autofree char *what = NULL;
  int lock_fd;

  g_return_val_if_fail (MIST_IS_QUEUE (self), FALSE);
  if (!check_entry (self, job, &entry, error))
    return FALSE;

  if (entry_is_applying (self, entry))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_BUSY,
                   "%s is being applied and finishes in a moment; it cannot be cancelled now",
                   mist_job_get_game_id (job));
      return FALSE;
    }
  if (entry->cancellable != NULL)
    {
      stop_entry (self, entry, MIST_JOB_STATE_CANCELLED);
      return TRUE;
    }

  /* A job that another process runs is cancelled there, or once that process stopped. */
  what = describe_job (job);
  lock_fd = mist_job_lock_acquire (self->context.db, mist_job_get_id (job), what, error);
  if (lock_fd < 0)
    return FALSE;

  g_object_ref (job);
  set_job_state (self, job, MIST_JOB_STATE_CANCELLED, NULL);
  mist_job_set_phase (job, MIST_JOB_PHASE_FINISHED);
  queue_remove (self, entry);
  mist_job_lock_release (lock_fd);
  g_signal_emit (self, signals[SIGNAL_JOB_FINISHED], 0, job);
  g_object_unref (job);
  return TRUE;
}

gboolean
mist_queue_move (MistQueue *self, MistJob *job, guint index, GError **error)
{
  Entry *entry;
  guint current = 0;

  g_return_val_if_fail (MIST_IS_QUEUE (self), FALSE);
  if (!check_entry (self, job, &entry, error))
    return FALSE;

  /* The worker runs operations in order, so a later load sees the new order. */
  mist_state_db_queue_move_async (self->context.db, mist_job_get_id (job), index, NULL,
                                  on_database_written, mist_state_db_ref (self->context.db));
  find_entry (self, job, &current);
  g_ptr_array_steal_index (self->entries, current);
  g_ptr_array_insert (self->entries, (gint) MIN (index, self->entries->len), entry);
  rebuild_job_view (self);
  queue_schedule (self);
  return TRUE;
}

/* Loading */

typedef struct
{
  MistQueueJob *record;
  char *install_path;
} LoadedJob;

static void
loaded_job_free (gpointer data)
{
  LoadedJob *loaded = data;

  mist_queue_job_free (loaded->record);
  g_free (loaded->install_path);
  g_free (loaded);
}

/* Returns the unfinished job of game_id in records, or NULL. */
static const MistQueueJob *
find_unfinished_job (GPtrArray *records, const char *game_id)
{
  for (guint i = 0; i < records->len; i++)
    {
      const MistQueueJob *record = g_ptr_array_index (records, i);

      if (record->state != MIST_JOB_STATE_DONE && record->state != MIST_JOB_STATE_CANCELLED
          && strcmp (record->game_id, game_id) == 0)
        return record;
    }
  return NULL;
}

/* Completes the commits that a crash or a kill interrupted, so that each such game is
 * playable at its new version before anything else runs. A game whose job is locked by
 * another process is left to that process, which may be committing it right now. */
static void
complete_interrupted_commits (MistQueue *self, GPtrArray *records)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = mist_state_db_journal_list (self->context.db, &error);

  if (entries == NULL)
    {
      g_warning ("Cannot read the install journal in %s: %s",
                 mist_state_db_get_path (self->context.db), error->message);
      return;
    }
  for (guint i = 0; i < entries->len; i++)
    {
      const MistJournalEntry *entry = g_ptr_array_index (entries, i);
      const MistQueueJob *record;
      g_autofree char *description = NULL;
      int lock_fd = -1;

      if (entry->state != MIST_JOURNAL_STATE_COMMITTING)
        continue;
      record = find_unfinished_job (records, entry->game_id);
      if (record != NULL)
        {
          description
            = g_strdup_printf ("%s %s", mist_job_kind_to_string (record->kind), record->game_id);
          lock_fd = mist_job_lock_acquire (self->context.db, record->id, description, &error);
          if (lock_fd < 0)
            {
              g_debug ("Not completing the commit of %s here: %s", entry->game_id, error->message);
              g_clear_error (&error);
              continue;
            }
        }
      /* The entry may have changed before the lock was taken, so it is read again. */
      if (!mist_install_recover_game (self->context.db, entry->game_id, &error))
        {
          g_warning ("Cannot complete the interrupted commit of %s in %s: %s", entry->game_id,
                     entry->install_path, error->message);
          g_clear_error (&error);
        }
      mist_job_lock_release (lock_fd);
    }
}

static void
load_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  MistQueue *self = source;
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GPtrArray) loaded = g_ptr_array_new_with_free_func (loaded_job_free);
  GError *error = NULL;

  records = mist_state_db_queue_list (self->context.db, &error);
  if (records == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  complete_interrupted_commits (self, records);

  for (guint i = 0; i < records->len; i++)
    {
      MistQueueJob *record = g_ptr_array_index (records, i);
      LoadedJob *job;

      if (record->state == MIST_JOB_STATE_DONE || record->state == MIST_JOB_STATE_CANCELLED)
        {
          mist_state_db_queue_remove (self->context.db, record->id, NULL);
          continue;
        }
      job = g_new0 (LoadedJob, 1);
      job->record = mist_queue_job_copy (record);
      job->install_path = g_strdup (record->install_path);
      if (job->install_path == NULL)
        job->install_path = g_build_filename (self->games_dir, record->game_id, NULL);
      g_ptr_array_add (loaded, job);
    }
  g_task_return_pointer (task, g_steal_pointer (&loaded), (GDestroyNotify) g_ptr_array_unref);
}

void
mist_queue_load_async (MistQueue *self,
                       GCancellable *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_return_if_fail (MIST_IS_QUEUE (self));
  g_task_set_source_tag (task, mist_queue_load_async);
  g_task_run_in_thread (task, load_in_thread);
}

gboolean
mist_queue_load_finish (MistQueue *self, GAsyncResult *result, GError **error)
{
  g_autoptr (GPtrArray) loaded = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  loaded = g_task_propagate_pointer (G_TASK (result), error);
  if (loaded == NULL)
    return FALSE;

  for (guint i = 0; i < loaded->len; i++)
    {
      LoadedJob *job = g_ptr_array_index (loaded, i);

      if (mist_queue_lookup (self, job->record->id) != NULL)
        continue;
      /* A job that was running when the last process ended continues from its files. */
      if (job->record->state == MIST_JOB_STATE_RUNNING)
        job->record->state = MIST_JOB_STATE_QUEUED;
      queue_append (self, mist_job_new (&self->context, job->record, job->install_path));
    }
  g_debug ("Loaded %u unfinished jobs from %s", loaded->len,
           mist_state_db_get_path (self->context.db));
  queue_schedule (self);
  return TRUE;
}

/* Adding */

typedef struct
{
  char *game_id;
  MistJobKind kind;
  gint64 target_ordinal;
  char *install_path;   /* absolute, or NULL for the default folder */
  gboolean looked_up;   /* the game's own entry was fetched */
  MistQueueJob *record; /* set by add_in_thread */
  MistJob *replaced;    /* (nullable) (owned): the job the new one takes the place of */
  int replaced_lock_fd; /* the lock of replaced until it has left the queue, else -1 */
} AddRequest;

static void
add_request_free (gpointer data)
{
  AddRequest *request = data;

  g_free (request->game_id);
  g_free (request->install_path);
  g_clear_pointer (&request->record, mist_queue_job_free);
  g_clear_object (&request->replaced);
  mist_job_lock_release (request->replaced_lock_fd);
  g_free (request);
}

static void
add_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  MistQueue *self = source;
  AddRequest *request = data;
  g_autoptr (MistInstalledGame) installed = NULL;
  GError *error = NULL;

  installed = mist_state_db_get_installed (self->context.db, request->game_id, &error);
  if (error != NULL)
    goto failed;
  if (installed == NULL && request->kind != MIST_JOB_KIND_INSTALL)
    {
      error = g_error_new (MIST_ERROR, MIST_ERROR_NOT_FOUND,
                           "%s is not installed: install it first", request->game_id);
      goto failed;
    }
  if (request->kind == MIST_JOB_KIND_REPAIR)
    request->target_ordinal = installed->version_ordinal;
  if (installed != NULL && request->install_path == NULL)
    request->install_path = g_strdup (installed->install_path);
  if (request->install_path == NULL)
    request->install_path = g_build_filename (self->games_dir, request->game_id, NULL);
  if (!g_path_is_absolute (request->install_path))
    {
      g_autofree char *relative = g_steal_pointer (&request->install_path);
      g_autofree char *current = g_get_current_dir ();

      request->install_path = g_build_filename (current, relative, NULL);
    }

  request->record = mist_queue_job_new (request->game_id, request->kind,
                                        request->target_ordinal);
  request->record->install_path = g_strdup (request->install_path);
  if (mist_state_db_queue_add (self->context.db, request->record, &error) <= 0)
    goto failed;

  g_task_return_boolean (task, TRUE);
  return;

failed:
  g_task_return_error (task, error);
}

/* Lets the job that request was to replace start again, as the new job was not queued. */
static void
release_replaced (MistQueue *self, AddRequest *request)
{
  Entry *entry;

  if (request->replaced == NULL)
    return;
  entry = find_entry (self, request->replaced, NULL);
  if (entry != NULL)
    entry->replacing = FALSE;
  mist_job_lock_release (request->replaced_lock_fd);
  request->replaced_lock_fd = -1;
  g_clear_object (&request->replaced);
  queue_schedule (self);
}

/* Puts job in the place of request->replaced in the queue. The replaced job's files stay,
 * so that no deletion here can race with the new job's staging. Its objects are in the
 * cache for the new plan to use. The new job's apply resumes its staging for the same
 * target and folder, or else deletes it before staging anything (mist_install_apply()). */
static void
replace_job (MistQueue *self, AddRequest *request, MistJob *job)
{
  g_autoptr (MistJob) replaced = g_steal_pointer (&request->replaced);
  gint64 replaced_id = mist_job_get_id (replaced);
  guint index = self->entries->len;

  /* A job cancelled while the new one was being added has left the queue already. */
  if (find_entry (self, replaced, &index) != NULL)
    {
      g_ptr_array_remove_index (self->entries, index);
      rebuild_job_view (self);
      mist_job_set_state (replaced, MIST_JOB_STATE_CANCELLED, NULL);
      mist_job_set_phase (replaced, MIST_JOB_PHASE_FINISHED);
      /* NOTE: a crash before this removal reaches the database leaves both rows, and
       * the next load then runs the two jobs of the game one after the other. */
      mist_state_db_queue_remove_async (self->context.db, replaced_id, NULL, on_database_written,
                                        mist_state_db_ref (self->context.db));
      mist_job_lock_delete (self->context.db, replaced_id);
      g_signal_emit (self, signals[SIGNAL_JOB_FINISHED], 0, replaced);
    }
  mist_job_lock_release (request->replaced_lock_fd);
  request->replaced_lock_fd = -1;

  g_debug ("Job %" G_GINT64_FORMAT " of %s replaces job %" G_GINT64_FORMAT, mist_job_get_id (job),
           mist_job_get_game_id (job), replaced_id);
  queue_insert (self, job, index);
  mist_state_db_queue_move_async (self->context.db, mist_job_get_id (job), index, NULL,
                                  on_database_written, mist_state_db_ref (self->context.db));
}

static void
on_added (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  MistQueue *self = g_task_get_source_object (task);
  AddRequest *request = g_task_get_task_data (G_TASK (result));
  MistJob *job;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      release_replaced (self, request);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  job = mist_job_new (&self->context, request->record, request->install_path);
  if (request->replaced != NULL)
    replace_job (self, request, job);
  else
    queue_append (self, job);
  g_task_return_pointer (task, g_object_ref (job), g_object_unref);
  g_object_unref (task);
  queue_schedule (self);
}

static void
add_with_target (GTask *task, AddRequest *request)
{
  MistQueue *self = g_task_get_source_object (task);
  g_autoptr (GTask) thread_task = g_task_new (self, g_task_get_cancellable (task), on_added,
                                              task);

  g_task_set_task_data (thread_task, request, add_request_free);
  g_task_run_in_thread (thread_task, add_in_thread);
}

static Entry *
find_game_entry (MistQueue *self, const char *game_id)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (g_strcmp0 (mist_job_get_game_id (entry->job), game_id) == 0)
        return entry;
    }
  return NULL;
}

/* Whether job goes where request leads: to the same target, in the same folder or in any
 * folder when the request names none. A repair's target is the installed version, so
 * two repairs match, and a repair never matches an install or an update. */
static gboolean
job_matches_request (MistJob *job, const AddRequest *request)
{
  gboolean job_repairs = mist_job_get_kind (job) == MIST_JOB_KIND_REPAIR;

  if (job_repairs != (request->kind == MIST_JOB_KIND_REPAIR))
    return FALSE;
  if (!job_repairs && mist_job_get_target_ordinal (job) != request->target_ordinal)
    return FALSE;
  return request->install_path == NULL
         || g_strcmp0 (mist_job_get_install_path (job), request->install_path) == 0;
}

/* Resumes entry's job for a request it matches, unless the job runs here already.
 * Fails with MIST_ERROR_BUSY when another process runs it. */
static gboolean
reuse_entry (MistQueue *self, Entry *entry, GError **error)
{
  g_autofree char *description = NULL;
  int lock_fd;

  if (entry->cancellable != NULL)
    return TRUE;
  description = describe_job (entry->job);
  lock_fd
    = mist_job_lock_acquire (self->context.db, mist_job_get_id (entry->job), description, error);
  if (lock_fd < 0)
    return FALSE;
  mist_job_lock_release (lock_fd);
  return mist_queue_resume (self, entry->job, error);
}

/* Prepares request to replace entry's job, which goes elsewhere: holds the job's lock
 * and keeps it from starting until the new job is queued. Fails with MIST_ERROR_BUSY
 * when another process runs the job, and with MIST_ERROR_CONFLICT when this one does. */
static gboolean
claim_entry (MistQueue *self, Entry *entry, AddRequest *request, GError **error)
{
  MistJob *job = entry->job;
  g_autofree char *description = describe_job (job);

  if (entry->cancellable != NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_CONFLICT,
                   "%s already has job %" G_GINT64_FORMAT " (%s to version %" G_GINT64_FORMAT
                   "), which is running: pause or cancel it first",
                   request->game_id, mist_job_get_id (job),
                   mist_job_kind_to_string (mist_job_get_kind (job)),
                   mist_job_get_target_ordinal (job));
      return FALSE;
    }
  request->replaced_lock_fd
    = mist_job_lock_acquire (self->context.db, mist_job_get_id (job), description, error);
  if (request->replaced_lock_fd < 0)
    return FALSE;

  entry->replacing = TRUE;
  request->replaced = g_object_ref (job);
  /* A first install goes on in the folder its job was given. */
  if (request->install_path == NULL)
    request->install_path = g_strdup (mist_job_get_install_path (job));
  return TRUE;
}

/* Queues request, whose target is known now, with the rule for a game that has a job
 * already: a job that goes to the same target is resumed and returned, and one that
 * goes elsewhere is replaced unless it runs, in this process or in another. */
static void
add_or_reuse (GTask *task, AddRequest *request)
{
  MistQueue *self = g_task_get_source_object (task);
  Entry *entry = find_game_entry (self, request->game_id);
  GError *error = NULL;

  if (entry == NULL)
    {
      add_with_target (task, request);
      return;
    }
  if (entry->replacing)
    g_set_error (&error, MIST_ERROR, MIST_ERROR_CONFLICT,
                 "%s: job %" G_GINT64_FORMAT " is being replaced already; try again in a moment",
                 request->game_id, mist_job_get_id (entry->job));
  else if (job_matches_request (entry->job, request))
    {
      if (reuse_entry (self, entry, &error))
        g_task_return_pointer (task, g_object_ref (entry->job), g_object_unref);
    }
  else if (claim_entry (self, entry, request, &error))
    {
      add_with_target (task, request);
      return;
    }

  if (error != NULL)
    g_task_return_error (task, error);
  add_request_free (request);
  g_object_unref (task);
}

static void on_game_for_add (GObject *source, GAsyncResult *result, gpointer data);

/* Fixes the request's target from game, as just read from the server, and queues it. */
static void
add_for_game (GTask *task, AddRequest *request, const MistGameEntry *game)
{
  MistQueue *self = g_task_get_source_object (task);
  gboolean found = FALSE;

  if (game->latest == NULL)
    {
      g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_NOT_FOUND,
                               "%s has no version on the server yet", request->game_id);
      add_request_free (request);
      g_object_unref (task);
      return;
    }
  if (request->target_ordinal == 0)
    request->target_ordinal = game->latest->ordinal;
  found = request->target_ordinal == game->latest->ordinal;
  for (guint i = 0; i < game->versions->len && !found; i++)
    found = ((MistVersionEntry *)g_ptr_array_index (game->versions, i))->ordinal
            == request->target_ordinal;
  if (!found && game->versions->len == 0 && !request->looked_up)
    {
      /* A list entry names only the newest version: the game's own entry lists the others. */
      g_object_set_data (G_OBJECT (task), "request", request);
      mist_client_get_game_async (self->context.client, request->game_id,
                                  g_task_get_cancellable (task), on_game_for_add, task);
      return;
    }
  if (!found)
    {
      g_autofree char *versions = mist_game_entry_describe_versions (game);

      g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_NOT_FOUND,
                               "%s has no version %" G_GINT64_FORMAT
                               " on the server; its versions are: %s",
                               request->game_id, request->target_ordinal, versions);
      add_request_free (request);
      g_object_unref (task);
      return;
    }
  add_or_reuse (task, request);
}

static void
on_game_for_add (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  AddRequest *request = g_object_steal_data (G_OBJECT (task), "request");
  g_autoptr (MistGameEntry) game = NULL;
  GError *error = NULL;

  game = mist_client_get_game_finish (MIST_CLIENT (source), result, &error);
  if (error != NULL)
    {
      add_request_free (request);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  request->looked_up = TRUE;
  add_for_game (task, request, game);
}

/* A relative install_path is taken from the current folder. */
static AddRequest *
add_request_new (const char *game_id,
                 MistJobKind kind,
                 gint64 target_ordinal,
                 const char *install_path)
{
  AddRequest *request = g_new0 (AddRequest, 1);

  request->game_id = g_strdup (game_id);
  request->kind = kind;
  request->target_ordinal = target_ordinal;
  if (install_path != NULL)
    request->install_path = g_canonicalize_filename (install_path, NULL);
  request->replaced_lock_fd = -1;
  return request;
}

void
mist_queue_add_async (MistQueue *self,
                      const char *game_id,
                      MistJobKind kind,
                      gint64 target_ordinal,
                      const char *install_path,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  GTask *task;
  AddRequest *request;

  g_return_if_fail (MIST_IS_QUEUE (self));
  g_return_if_fail (game_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mist_queue_add_async);
  request = add_request_new (game_id, kind, target_ordinal, install_path);
  if (kind == MIST_JOB_KIND_REPAIR)
    {
      add_or_reuse (task, request);
      return;
    }
  g_object_set_data (G_OBJECT (task), "request", request);
  mist_client_get_game_async (self->context.client, game_id, cancellable, on_game_for_add, task);
}

void
mist_queue_add_for_game_async (MistQueue *self,
                               const MistGameEntry *game,
                               MistJobKind kind,
                               gint64 target_ordinal,
                               const char *install_path,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  GTask *task;
  AddRequest *request;

  g_return_if_fail (MIST_IS_QUEUE (self));
  g_return_if_fail (game != NULL && game->slug != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mist_queue_add_async);
  request = add_request_new (game->slug, kind, target_ordinal, install_path);
  if (kind == MIST_JOB_KIND_REPAIR)
    add_or_reuse (task, request);
  else
    add_for_game (task, request, game);
}

MistJob *
mist_queue_add_finish (MistQueue *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mist_queue_stop (MistQueue *self)
{
  g_return_if_fail (MIST_IS_QUEUE (self));

  self->stopped = TRUE;
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      /* An apply is left to finish, as it is mostly short: mist_queue_stop_applying()
       * stops it too. */
      if (entry->cancellable != NULL && !entry_is_applying (self, entry))
        stop_entry (self, entry, MIST_JOB_STATE_QUEUED);
    }
}

void
mist_queue_stop_applying (MistQueue *self)
{
  g_return_if_fail (MIST_IS_QUEUE (self));

  mist_queue_stop (self);
  if (self->applying != NULL && self->applying->cancellable != NULL)
    stop_entry (self, self->applying, MIST_JOB_STATE_QUEUED);
}

/* Planning without a queue entry */

static void
on_planned (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  MistJob *job = MIST_JOB (source);
  GError *error = NULL;

  if (!mist_job_download_finish (job, result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, mist_plan_ref (mist_job_get_plan (job)),
                           (GDestroyNotify) mist_plan_unref);
  g_object_unref (task);
}

static void
plan_for_target (GTask *task, const char *game_id, gint64 target_ordinal)
{
  MistQueue *self = g_task_get_source_object (task);
  g_autoptr (MistQueueJob) record
    = mist_queue_job_new (game_id, MIST_JOB_KIND_UPDATE, target_ordinal);
  g_autoptr (MistJob) job = mist_job_new (&self->context, record, NULL);

  mist_job_plan_async (job, g_task_get_cancellable (task), on_planned, task);
}

static void
on_game_for_plan (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MistGameEntry) game
    = mist_client_get_game_finish (MIST_CLIENT (source), result, &error);

  if (game != NULL && game->latest == NULL)
    error = g_error_new (MIST_ERROR, MIST_ERROR_NOT_FOUND, "%s has no version on the server yet",
                         (const char *)g_task_get_task_data (task));
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  plan_for_target (task, g_task_get_task_data (task), game->latest->ordinal);
}

void
mist_queue_plan_async (MistQueue *self,
                       const char *game_id,
                       gint64 target_ordinal,
                       GCancellable *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer user_data)
{
  GTask *task;

  g_return_if_fail (MIST_IS_QUEUE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mist_queue_plan_async);
  g_task_set_task_data (task, g_strdup (game_id), g_free);
  if (target_ordinal != 0)
    {
      plan_for_target (task, game_id, target_ordinal);
      return;
    }
  /* The newest version: the game's entry names it. */
  mist_client_get_game_async (self->context.client, game_id, cancellable, on_game_for_plan, task);
}

MistPlan *
mist_queue_plan_finish (MistQueue *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
