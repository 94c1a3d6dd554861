/* mist-vcdiff-lzma.c: xdelta3's LZMA secondary compression of VCDIFF sections
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * xdelta3 (3.0.x, xdelta3-lzma.h) keeps one .xz stream per section kind for the whole
 * patch and ends each window's part with LZMA_SYNC_FLUSH. A compressed section is the
 * decompressed size as a VCDIFF integer followed by that window's part of the stream, so
 * the decoder state carries over from window to window.
 */
#include "mist-vcdiff-private.h"

#include "mist-error.h"

#include <string.h>

/* Enough for LZMA2 dictionaries up to 64 MiB, the largest xdelta3 uses (-9). */
#define MIST_VCDIFF_LZMA_MEMLIMIT ((guint64)128 * 1024 * 1024)

void
mist_vcdiff_secondary_init (MistVcdiffSecondary *secondary)
{
  memset (secondary, 0, sizeof *secondary);
  for (guint i = 0; i < MIST_VCDIFF_N_SECTIONS; i++)
    secondary->stream[i] = (lzma_stream)LZMA_STREAM_INIT;
}

void
mist_vcdiff_secondary_clear (MistVcdiffSecondary *secondary)
{
  for (guint i = 0; i < MIST_VCDIFF_N_SECTIONS; i++)
    {
      if (secondary->started[i])
        lzma_end (&secondary->stream[i]);
      secondary->started[i] = FALSE;
    }
}

static void
set_section_error (GError **error,
                   MistError code,
                   const MistVcdiffWindow *window,
                   MistVcdiffSectionKind kind,
                   const char *problem)
{
  g_set_error (
    error, MIST_ERROR, code,
    "VCDIFF window %" G_GUINT64_FORMAT ", %s section at patch byte %" G_GUINT64_FORMAT ": %s",
    window->number, mist_vcdiff_section_name (kind), window->section_offset[kind], problem);
}

static const char *
describe_lzma_error (lzma_ret code)
{
  switch (code)
    {
      case LZMA_MEM_ERROR:
        return "out of memory";
      case LZMA_MEMLIMIT_ERROR:
        return "the LZMA dictionary is above the 128 MiB limit";
      case LZMA_FORMAT_ERROR:
        return "not an .xz stream";
      case LZMA_OPTIONS_ERROR:
        return "unsupported LZMA options";
      case LZMA_DATA_ERROR:
        return "corrupt LZMA data";
      case LZMA_BUF_ERROR:
        return "LZMA data is truncated";
      case LZMA_STREAM_END:
        return "the LZMA stream ended early";
      default:
        return "LZMA decoder failed";
    }
}

/* Decodes one compressed section into window->decoded[kind] and points the section at it. */
gboolean
mist_vcdiff_secondary_decode (MistVcdiffSecondary *secondary,
                              MistVcdiffWindow *window,
                              MistVcdiffSectionKind kind,
                              GError **error)
{
  const guint8 *cursor = window->section[kind];
  const guint8 *end;
  MistVcdiffBuffer *out = &window->decoded[kind];
  lzma_stream *stream = &secondary->stream[kind];
  guint64 size;
  lzma_ret code;

  /* An empty section has no buffer, so check before any pointer arithmetic. */
  if (window->section_size[kind] == 0)
    {
      set_section_error (error, MIST_ERROR_INVALID_DATA, window, kind,
                         "the compressed section is empty");
      return FALSE;
    }
  end = cursor + window->section_size[kind];
  if (!mist_vcdiff_decode_varint (&cursor, end, &size))
    {
      set_section_error (error, MIST_ERROR_INVALID_DATA, window, kind,
                         "the decompressed size is missing or invalid");
      return FALSE;
    }
  if (size > MIST_VCDIFF_MAX_WINDOW)
    {
      g_autofree char *problem = g_strdup_printf (
        "decompressed size %" G_GUINT64_FORMAT " is above the limit of %" G_GUINT64_FORMAT " bytes",
        size, MIST_VCDIFF_MAX_WINDOW);

      set_section_error (error, MIST_ERROR_TOO_LARGE, window, kind, problem);
      return FALSE;
    }
  if (size == 0)
    {
      set_section_error (error, MIST_ERROR_INVALID_DATA, window, kind,
                         "a compressed section must not be empty");
      return FALSE;
    }

  if (!secondary->started[kind])
    {
      code = lzma_stream_decoder (stream, MIST_VCDIFF_LZMA_MEMLIMIT, 0);
      if (code != LZMA_OK)
        {
          set_section_error (error, MIST_ERROR_FAILED, window, kind, describe_lzma_error (code));
          return FALSE;
        }
      secondary->started[kind] = TRUE;
    }

  if (out->capacity < size)
    {
      g_free (out->data);
      out->data = g_malloc (size);
      out->capacity = size;
    }
  out->length = size;

  stream->next_in = cursor;
  stream->avail_in = end - cursor;
  stream->next_out = out->data;
  stream->avail_out = size;
  /* liblzma returns LZMA_BUF_ERROR once a call makes no progress, which ends this loop
   * on truncated data. */
  do
    code = lzma_code (stream, LZMA_RUN);
  while (code == LZMA_OK && stream->avail_out > 0);

  /* The sync flush marker may still be unread once the output is complete: one more
   * call with no output space consumes it. */
  if (code == LZMA_OK && stream->avail_out == 0 && stream->avail_in > 0)
    {
      code = lzma_code (stream, LZMA_RUN);
      if (code == LZMA_BUF_ERROR)
        code = LZMA_OK;
    }

  if (code != LZMA_OK)
    {
      set_section_error (
        error, code == LZMA_MEMLIMIT_ERROR ? MIST_ERROR_TOO_LARGE : MIST_ERROR_INVALID_DATA, window,
        kind, describe_lzma_error (code));
      return FALSE;
    }
  if (stream->avail_out > 0)
    {
      set_section_error (error, MIST_ERROR_INVALID_DATA, window, kind,
                         "LZMA data ends before the declared decompressed size");
      return FALSE;
    }
  if (stream->avail_in > 0)
    {
      set_section_error (error, MIST_ERROR_INVALID_DATA, window, kind,
                         "LZMA data continues past the declared decompressed size");
      return FALSE;
    }

  window->section[kind] = out->data;
  window->section_size[kind] = size;
  return TRUE;
}
