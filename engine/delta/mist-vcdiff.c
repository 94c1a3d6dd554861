/* mist-vcdiff.c: applying VCDIFF (RFC 3284) patches as xdelta3 writes them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The work runs as a pipeline with one window per stage:
 *   - a reader thread reads a window's fields and sections from the patch,
 *   - three decoder threads, one per section kind, undo the LZMA secondary compression,
 *     each continuing its own stream from window to window,
 *   - the calling thread and a helper thread run the instructions of two windows at
 *     once, unless a window copies from earlier output (VCD_TARGET), and the calling
 *     thread hands the results on in window order,
 *   - a writer thread checks the Adler-32 and writes the window (mist-vcdiff-output.c).
 * The source is mapped, so a window that copies from anywhere in it costs no extra
 * reads. When mapping fails, the source is read with pread.
 *
 * Supported: VCD_SOURCE and VCD_TARGET windows, the default code table with all address
 * modes, and the xdelta3 extensions (application header, window checksum, LZMA
 * secondary compression). Custom code tables and the DJW and FGK secondary compressors
 * are rejected with MIST_ERROR_UNSUPPORTED.
 */
#include "mist-delta.h"
#include "mist-vcdiff-private.h"

#include "mist-error.h"

/* Windows in flight: one being read, one being decompressed, two being applied. */
#define MIST_VCDIFF_SLOTS 4

typedef struct
{
  MistVcdiffWindow window;
  GError *error;                                /* set by the reader thread */
  gboolean end;                                 /* the patch ended cleanly before this slot */
  GError *decode_error[MIST_VCDIFF_N_SECTIONS]; /* set by the decoder threads */
  guint pending;                                /* sections still being decompressed */
  MistVcdiffRun run;
} Slot;

typedef struct _Pipeline Pipeline;

typedef struct
{
  Pipeline *pipeline;
  MistVcdiffSectionKind kind;
  GAsyncQueue *jobs; /* Slot pointers, or &stop_job */
  GThread *thread;
} Decoder;

/* State shared between the threads. The input, header and secondary streams belong to
 * the reader and decoder threads while they run. Slots pass between the threads
 * through the queues, and lock guards each slot's pending count. */
struct _Pipeline
{
  MistVcdiffInput input;
  MistVcdiffHeader header;
  MistVcdiffSecondary secondary;
  Slot slots[MIST_VCDIFF_SLOTS];
  GAsyncQueue *free_slots;
  GAsyncQueue *filled_slots;
  Decoder decoders[MIST_VCDIFF_N_SECTIONS];
  GThread *reader;
  MistVcdiffApplier *applier;
  GAsyncQueue *runs;     /* Slot pointers for the helper thread, or &stop_job */
  GAsyncQueue *finished; /* Slot pointers the helper thread has run */
  GThread *helper;
  GMutex lock;
  GCond decoded;
  gint stop;
};

/* Tells a decoder thread to return. */
static Slot stop_job;

static gpointer
decode_sections (gpointer data)
{
  Decoder *decoder = data;
  Pipeline *pipeline = decoder->pipeline;
  gboolean failed = FALSE;

  for (;;)
    {
      Slot *slot = g_async_queue_pop (decoder->jobs);

      if (slot == &stop_job)
        return NULL;

      /* After an error the stream state is lost, so later windows of this kind fail too;
       * the applying thread reports the first error and stops. */
      if (failed)
        g_set_error (&slot->decode_error[decoder->kind], MIST_ERROR, MIST_ERROR_INVALID_DATA,
                     "VCDIFF window %" G_GUINT64_FORMAT
                     ": an earlier %s section failed to decompress",
                     slot->window.number, mist_vcdiff_section_name (decoder->kind));
      else if (!mist_vcdiff_secondary_decode (&pipeline->secondary, &slot->window, decoder->kind,
                                              &slot->decode_error[decoder->kind]))
        failed = TRUE;

      g_mutex_lock (&pipeline->lock);
      slot->pending--;
      if (slot->pending == 0)
        g_cond_broadcast (&pipeline->decoded);
      g_mutex_unlock (&pipeline->lock);
    }
}

static gpointer
run_windows (gpointer data)
{
  Pipeline *pipeline = data;

  for (;;)
    {
      Slot *slot = g_async_queue_pop (pipeline->runs);

      if (slot == &stop_job)
        return NULL;
      mist_vcdiff_run_execute (pipeline->applier, &slot->run);
      g_async_queue_push (pipeline->finished, slot);
    }
}

static gpointer
read_windows (gpointer data)
{
  Pipeline *pipeline = data;

  for (guint64 number = 0;; number++)
    {
      Slot *slot = g_async_queue_pop (pipeline->free_slots);
      guint8 compressed;

      if (g_atomic_int_get (&pipeline->stop))
        return NULL;
      if (!mist_vcdiff_read_window (&pipeline->input, &pipeline->header, number, TRUE,
                                    &slot->window, &slot->error))
        {
          slot->end = (slot->error == NULL);
          g_async_queue_push (pipeline->filled_slots, slot);
          return NULL;
        }

      compressed = slot->window.delta_indicator;
      slot->pending = 0;
      for (guint kind = 0; kind < MIST_VCDIFF_N_SECTIONS; kind++)
        if (compressed & (1 << kind))
          slot->pending++;
      for (guint kind = 0; kind < MIST_VCDIFF_N_SECTIONS; kind++)
        if (compressed & (1 << kind))
          g_async_queue_push (pipeline->decoders[kind].jobs, slot);
      g_async_queue_push (pipeline->filled_slots, slot);
    }
}

static void
wait_for_sections (Pipeline *pipeline, Slot *slot)
{
  g_mutex_lock (&pipeline->lock);
  while (slot->pending > 0)
    g_cond_wait (&pipeline->decoded, &pipeline->lock);
  g_mutex_unlock (&pipeline->lock);
}

static void
pipeline_start (Pipeline *pipeline)
{
  for (guint i = 0; i < MIST_VCDIFF_SLOTS; i++)
    g_async_queue_push (pipeline->free_slots, &pipeline->slots[i]);
  for (guint kind = 0; kind < MIST_VCDIFF_N_SECTIONS; kind++)
    {
      Decoder *decoder = &pipeline->decoders[kind];

      decoder->pipeline = pipeline;
      decoder->kind = kind;
      decoder->jobs = g_async_queue_new ();
      decoder->thread = g_thread_new ("mist-vcdiff-lzma", decode_sections, decoder);
    }
  pipeline->reader = g_thread_new ("mist-vcdiff-read", read_windows, pipeline);
  pipeline->runs = g_async_queue_new ();
  pipeline->finished = g_async_queue_new ();
  pipeline->helper = g_thread_new ("mist-vcdiff-apply", run_windows, pipeline);
}

static gboolean
check_header_supported (const MistVcdiffHeader *header, GError **error)
{
  if (header->indicator & MIST_VCD_CODETABLE)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
                   "VCDIFF patch uses a custom code table (VCD_CODETABLE), which is not "
                   "supported; create it with xdelta3, which uses the default table");
      return FALSE;
    }
  if ((header->indicator & MIST_VCD_SECONDARY) && header->secondary_id != MIST_VCD_LZMA_ID)
    {
      g_set_error (error, MIST_ERROR,
                   header->secondary_id == MIST_VCD_DJW_ID
                       || header->secondary_id == MIST_VCD_FGK_ID
                     ? MIST_ERROR_UNSUPPORTED
                     : MIST_ERROR_INVALID_DATA,
                   "VCDIFF patch uses the unsupported secondary compressor %s (id %u); "
                   "create it with xdelta3 -S lzma or -S none",
                   mist_vcdiff_secondary_name (header->secondary_id), header->secondary_id);
      return FALSE;
    }
  return TRUE;
}

/* Waits for the window on the helper thread, if any, and hands it on. */
static gboolean
finish_helper_run (Pipeline *pipeline,
                   Slot **on_helper,
                   MistDeltaProgressFunc progress,
                   gpointer user_data,
                   GError **error)
{
  Slot *slot = g_steal_pointer (on_helper);
  Slot *finished;
  gboolean ok;

  if (slot == NULL)
    return TRUE;
  finished = g_async_queue_pop (pipeline->finished);
  g_assert (finished == slot);
  ok = mist_vcdiff_applier_finish_run (pipeline->applier, &slot->run, error);
  g_async_queue_push (pipeline->free_slots, slot);
  if (ok && progress != NULL)
    progress (pipeline->applier->output_size, 0, user_data);
  return ok;
}

/* Returns the slot's reader or decoder error, if any. */
static gboolean
check_slot (Pipeline *pipeline, Slot *slot, GError **error)
{
  if (slot->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&slot->error));
      return FALSE;
    }
  wait_for_sections (pipeline, slot);
  for (guint kind = 0; kind < MIST_VCDIFF_N_SECTIONS; kind++)
    if (slot->decode_error[kind] != NULL)
      {
        g_propagate_error (error, g_steal_pointer (&slot->decode_error[kind]));
        return FALSE;
      }
  return TRUE;
}

/* Applies one window. It goes to the helper thread when that is free, so that the
 * next window runs here meanwhile. A window that copies from earlier output waits
 * until the window before it is handed on. */
static gboolean
apply_slot (Pipeline *pipeline,
            Slot *slot,
            Slot **on_helper,
            MistDeltaProgressFunc progress,
            gpointer user_data,
            GError **error)
{
  MistVcdiffApplier *applier = pipeline->applier;
  gboolean reads_output = (slot->window.indicator & MIST_VCD_TARGET) != 0;

  if (reads_output && !finish_helper_run (pipeline, on_helper, progress, user_data, error))
    return FALSE;
  if (!mist_vcdiff_applier_start_run (applier, &slot->window, &slot->run, error))
    return FALSE;

  if (*on_helper == NULL && !reads_output)
    {
      *on_helper = slot;
      g_async_queue_push (pipeline->runs, slot);
      return TRUE;
    }

  mist_vcdiff_run_execute (applier, &slot->run);
  /* The window on the helper thread comes first, and so does its error. */
  if (!finish_helper_run (pipeline, on_helper, progress, user_data, error))
    {
      mist_vcdiff_output_abandon (applier->output, g_steal_pointer (&slot->run.buffer));
      g_async_queue_push (pipeline->free_slots, slot);
      return FALSE;
    }
  if (!mist_vcdiff_applier_finish_run (applier, &slot->run, error))
    {
      g_async_queue_push (pipeline->free_slots, slot);
      return FALSE;
    }
  g_async_queue_push (pipeline->free_slots, slot);
  if (progress != NULL)
    progress (applier->output_size, 0, user_data);
  return TRUE;
}

/* Applies windows in order as the reader and decoder threads deliver them, until the
 * end, an error or cancellation. */
static gboolean
apply_windows (Pipeline *pipeline,
               MistDeltaProgressFunc progress,
               gpointer user_data,
               GCancellable *cancellable,
               GError **error)
{
  Slot *on_helper = NULL;

  for (;;)
    {
      Slot *slot = g_async_queue_pop (pipeline->filled_slots);
      g_autoptr (GError) local_error = NULL;

      if (!slot->end && check_slot (pipeline, slot, &local_error)
          && !g_cancellable_set_error_if_cancelled (cancellable, &local_error)
          && apply_slot (pipeline, slot, &on_helper, progress, user_data, &local_error))
        continue;

      /* At the end of the patch or on an error, the window on the helper thread is
       * handed on first. */
      if (!finish_helper_run (pipeline, &on_helper, progress, user_data, error))
        return FALSE;
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      return mist_vcdiff_applier_finish (pipeline->applier, error);
    }
}

/* Stops and joins the threads, then frees what they used. */
static void
pipeline_stop (Pipeline *pipeline)
{
  if (pipeline->reader != NULL)
    {
      /* Wake the reader if it waits for a slot, so that it finds stop set and returns. */
      g_atomic_int_set (&pipeline->stop, 1);
      g_async_queue_push (pipeline->free_slots, &pipeline->slots[0]);
      g_thread_join (pipeline->reader);
      pipeline->reader = NULL;
    }
  if (pipeline->helper != NULL)
    {
      g_async_queue_push (pipeline->runs, &stop_job);
      g_thread_join (pipeline->helper);
      g_async_queue_unref (pipeline->runs);
      g_async_queue_unref (pipeline->finished);
      pipeline->helper = NULL;
    }
  for (guint kind = 0; kind < MIST_VCDIFF_N_SECTIONS; kind++)
    {
      Decoder *decoder = &pipeline->decoders[kind];

      if (decoder->thread == NULL)
        continue;
      g_async_queue_push (decoder->jobs, &stop_job);
      g_thread_join (decoder->thread);
      g_async_queue_unref (decoder->jobs);
      decoder->thread = NULL;
    }

  for (guint i = 0; i < MIST_VCDIFF_SLOTS; i++)
    {
      mist_vcdiff_window_clear (&pipeline->slots[i].window);
      g_clear_error (&pipeline->slots[i].error);
      g_clear_error (&pipeline->slots[i].run.error);
      for (guint kind = 0; kind < MIST_VCDIFF_N_SECTIONS; kind++)
        g_clear_error (&pipeline->slots[i].decode_error[kind]);
    }
  g_async_queue_unref (pipeline->free_slots);
  g_async_queue_unref (pipeline->filled_slots);
  g_mutex_clear (&pipeline->lock);
  g_cond_clear (&pipeline->decoded);
  mist_vcdiff_secondary_clear (&pipeline->secondary);
  mist_vcdiff_header_clear (&pipeline->header);
  mist_vcdiff_input_clear (&pipeline->input);
}

gboolean
mist_vcdiff_apply_fd (int source_fd,
                      int patch_fd,
                      int output_fd,
                      MistDeltaProgressFunc progress,
                      gpointer user_data,
                      GCancellable *cancellable,
                      GError **error)
{
  Pipeline pipeline = { 0 };
  MistVcdiffApplier applier = { 0 };
  gboolean ok = FALSE;

  g_return_val_if_fail (patch_fd >= 0, FALSE);
  g_return_val_if_fail (output_fd >= 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  mist_vcdiff_input_init (&pipeline.input, patch_fd);
  mist_vcdiff_secondary_init (&pipeline.secondary);
  pipeline.free_slots = g_async_queue_new ();
  pipeline.filled_slots = g_async_queue_new ();
  g_mutex_init (&pipeline.lock);
  g_cond_init (&pipeline.decoded);

  if (mist_vcdiff_read_header (&pipeline.input, &pipeline.header, error)
      && check_header_supported (&pipeline.header, error)
      && mist_vcdiff_applier_open (&applier, source_fd, output_fd, error))
    {
      pipeline.applier = &applier;
      pipeline_start (&pipeline);
      ok = apply_windows (&pipeline, progress, user_data, cancellable, error);
    }

  pipeline_stop (&pipeline);
  mist_vcdiff_applier_clear (&applier);
  if (!ok)
    g_prefix_error (error, "Failed to apply the VCDIFF patch: ");
  return ok;
}
