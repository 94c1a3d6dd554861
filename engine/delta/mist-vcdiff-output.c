/* mist-vcdiff-output.c: checking and writing target windows on a writer thread
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Three window buffers rotate: the applying threads fill up to two while the writer
 * thread verifies the Adler-32 of the third and writes it out. The first error stops
 * all later writes and is returned by mist_vcdiff_output_flush.
 */
#include "mist-vcdiff-private.h"

#include <errno.h>
#include <unistd.h>

#define N_BUFFERS 3

struct _MistVcdiffOutputBuffer
{
  guint8 *data; /* owned */
  gsize capacity;
  gsize length;
  gboolean check;
  guint32 adler32;
  guint64 window_number;
  guint64 patch_offset;
};

typedef MistVcdiffOutputBuffer OutputBuffer;

struct _MistVcdiffOutput
{
  int fd;
  OutputBuffer buffers[N_BUFFERS];
  GAsyncQueue *free_buffers;
  GAsyncQueue *full_buffers;
  GThread *thread;
  gint failed;
  GError *error; /* written by the writer thread before it sets failed */
};

/* Tells the writer thread to return. */
static OutputBuffer stop_buffer;

static gboolean
write_all (int fd, const guint8 *data, gsize length, GError **error)
{
  while (length > 0)
    {
      gssize count = write (fd, data, MIN (length, (gsize)1 << 30));

      if (count < 0 && errno == EINTR)
        continue;
      if (count < 0)
        {
          int saved_errno = errno;

          if (saved_errno == ENOSPC || saved_errno == EDQUOT)
            g_set_error (error, MIST_ERROR, MIST_ERROR_NO_SPACE,
                         "Failed to write the patched file: %s", g_strerror (saved_errno));
          else
            g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                         "Failed to write the patched file: %s", g_strerror (saved_errno));
          return FALSE;
        }
      data += count;
      length -= count;
    }
  return TRUE;
}

static gboolean
check_and_write (MistVcdiffOutput *output, OutputBuffer *buffer, GError **error)
{
  if (buffer->check)
    {
      guint32 actual = mist_vcdiff_adler32 (1, buffer->data, buffer->length);

      if (actual != buffer->adler32)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH,
                       "VCDIFF window %" G_GUINT64_FORMAT " (patch byte %" G_GUINT64_FORMAT
                       "): the Adler-32 of the %" G_GSIZE_FORMAT
                       " target bytes is %08x, the patch expects %08x; the source file is "
                       "probably not the one the patch was made from",
                       buffer->window_number, buffer->patch_offset, buffer->length, actual,
                       buffer->adler32);
          return FALSE;
        }
    }
  return write_all (output->fd, buffer->data, buffer->length, error);
}

static gpointer
write_windows (gpointer data)
{
  MistVcdiffOutput *output = data;

  for (;;)
    {
      OutputBuffer *buffer = g_async_queue_pop (output->full_buffers);

      if (buffer == &stop_buffer)
        return NULL;
      if (!g_atomic_int_get (&output->failed) && !check_and_write (output, buffer, &output->error))
        g_atomic_int_set (&output->failed, 1);
      g_async_queue_push (output->free_buffers, buffer);
    }
}

MistVcdiffOutput *
mist_vcdiff_output_new (int fd)
{
  MistVcdiffOutput *output = g_new0 (MistVcdiffOutput, 1);

  output->fd = fd;
  output->free_buffers = g_async_queue_new ();
  output->full_buffers = g_async_queue_new ();
  for (guint i = 0; i < N_BUFFERS; i++)
    g_async_queue_push (output->free_buffers, &output->buffers[i]);
  output->thread = g_thread_new ("mist-vcdiff-write", write_windows, output);
  return output;
}

MistVcdiffOutputBuffer *
mist_vcdiff_output_begin (MistVcdiffOutput *output, gsize length)
{
  OutputBuffer *buffer = g_async_queue_pop (output->free_buffers);

  if (buffer->data == NULL || buffer->capacity < length)
    {
      g_free (buffer->data);
      buffer->capacity = MAX (length, 1);
      buffer->data = g_malloc (buffer->capacity);
    }
  return buffer;
}

guint8 *
mist_vcdiff_output_buffer_get_data (MistVcdiffOutputBuffer *buffer)
{
  return buffer->data;
}

void
mist_vcdiff_output_commit (MistVcdiffOutput *output,
                           MistVcdiffOutputBuffer *buffer,
                           const MistVcdiffWindow *window)
{
  buffer->length = window->target_length;
  buffer->check = (window->indicator & MIST_VCD_ADLER32) != 0;
  buffer->adler32 = window->adler32;
  buffer->window_number = window->number;
  buffer->patch_offset = window->patch_offset;
  g_async_queue_push (output->full_buffers, buffer);
}

void
mist_vcdiff_output_abandon (MistVcdiffOutput *output, MistVcdiffOutputBuffer *buffer)
{
  g_async_queue_push (output->free_buffers, buffer);
}

gboolean
mist_vcdiff_output_check (MistVcdiffOutput *output, GError **error)
{
  /* The writer thread sets error before failed, and the atomic access orders the two. */
  if (!g_atomic_int_get (&output->failed))
    return TRUE;
  g_propagate_error (error, g_error_copy (output->error));
  return FALSE;
}

gboolean
mist_vcdiff_output_flush (MistVcdiffOutput *output, GError **error)
{
  OutputBuffer *taken[N_BUFFERS];

  /* Once the writer has returned every buffer, it has finished all writes. */
  for (guint i = 0; i < N_BUFFERS; i++)
    taken[i] = g_async_queue_pop (output->free_buffers);
  for (guint i = 0; i < N_BUFFERS; i++)
    g_async_queue_push (output->free_buffers, taken[i]);

  if (output->error != NULL)
    {
      g_propagate_error (error, g_error_copy (output->error));
      return FALSE;
    }
  return TRUE;
}

void
mist_vcdiff_output_free (MistVcdiffOutput *output)
{
  g_async_queue_push (output->full_buffers, &stop_buffer);
  g_thread_join (output->thread);
  for (guint i = 0; i < N_BUFFERS; i++)
    g_free (output->buffers[i].data);
  g_async_queue_unref (output->free_buffers);
  g_async_queue_unref (output->full_buffers);
  g_clear_error (&output->error);
  g_free (output);
}
