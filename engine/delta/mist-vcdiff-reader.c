/* mist-vcdiff-reader.c: streamed parsing of VCDIFF headers, windows and sections
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Layout (RFC 3284 section 4, with the xdelta3 extensions marked):
 *   header: D6 C3 C4 00, indicator, [secondary id], [code table length + bytes],
 *           [application header length + bytes (xdelta3)]
 *   window: indicator, [segment length, segment offset], delta encoding length,
 *           target window length, delta indicator, data length, instructions length,
 *           addresses length, [Adler-32 of the target window, big-endian (xdelta3)],
 *           data section, instructions section, addresses section
 */
#include "mist-vcdiff-private.h"

#include "mist-error.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define MIST_VCDIFF_INPUT_BUFFER (1024 * 1024)
/* Sections grow in steps of this size while they are read, so a truncated patch that
 * declares a large section never allocates more than it holds. */
#define MIST_VCDIFF_SECTION_STEP ((gsize)4 * 1024 * 1024)

void
mist_vcdiff_input_init (MistVcdiffInput *input, int fd)
{
  memset (input, 0, sizeof *input);
  input->fd = fd;
  input->buffer = g_malloc (MIST_VCDIFF_INPUT_BUFFER);
}

void
mist_vcdiff_input_clear (MistVcdiffInput *input)
{
  g_clear_pointer (&input->buffer, g_free);
}

/* Returns the number of buffered bytes, refilling when empty: 0 at end of file. */
static gssize
input_fill (MistVcdiffInput *input, GError **error)
{
  gssize count;

  if (input->start < input->end)
    return input->end - input->start;
  if (input->eof)
    return 0;

  input->start = 0;
  input->end = 0;
  do
    count = read (input->fd, input->buffer, MIST_VCDIFF_INPUT_BUFFER);
  while (count < 0 && errno == EINTR);

  if (count < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Failed to read the patch at byte %" G_GUINT64_FORMAT ": %s", input->offset,
                   g_strerror (saved_errno));
      return -1;
    }
  if (count == 0)
    input->eof = TRUE;
  input->end = count;
  return count;
}

static void
set_truncated (MistVcdiffInput *input, const char *what, GError **error)
{
  g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
               "VCDIFF patch is truncated: it ends at byte %" G_GUINT64_FORMAT " inside %s",
               input->offset, what);
}

static gboolean
input_read_bytes (
  MistVcdiffInput *input, guint8 *out, gsize length, const char *what, GError **error)
{
  while (length > 0)
    {
      gssize available = input_fill (input, error);
      gsize take;

      if (available < 0)
        return FALSE;
      if (available == 0)
        {
          set_truncated (input, what, error);
          return FALSE;
        }
      take = MIN ((gsize)available, length);
      if (out != NULL)
        {
          memcpy (out, input->buffer + input->start, take);
          out += take;
        }
      input->start += take;
      input->offset += take;
      length -= take;
    }
  return TRUE;
}

static gboolean
input_read_byte (MistVcdiffInput *input, guint8 *value, const char *what, GError **error)
{
  return input_read_bytes (input, value, 1, what, error);
}

/* Reads a variable-length integer; the error names the field and its patch offset. */
static gboolean
input_read_varint (MistVcdiffInput *input, guint64 *value, const char *what, GError **error)
{
  guint64 start = input->offset;
  guint64 result = 0;

  for (;;)
    {
      guint8 byte;

      if (!input_read_byte (input, &byte, what, error))
        return FALSE;
      if (result > (G_MAXUINT64 >> 7))
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                       "VCDIFF %s at patch byte %" G_GUINT64_FORMAT " does not fit in 64 bits",
                       what, start);
          return FALSE;
        }
      result = (result << 7) | (byte & 0x7f);
      if ((byte & 0x80) == 0)
        break;
    }
  *value = result;
  return TRUE;
}

static guint
varint_length (guint64 value)
{
  guint length = 1;

  while (value >= 0x80)
    {
      value >>= 7;
      length++;
    }
  return length;
}

const char *
mist_vcdiff_secondary_name (guint8 id)
{
  switch (id)
    {
      case 0:
        return "none";
      case MIST_VCD_DJW_ID:
        return "DJW";
      case MIST_VCD_LZMA_ID:
        return "LZMA";
      case MIST_VCD_FGK_ID:
        return "FGK";
      default:
        return "unknown";
    }
}

const char *
mist_vcdiff_section_name (MistVcdiffSectionKind kind)
{
  switch (kind)
    {
      case MIST_VCDIFF_SECTION_DATA:
        return "data";
      case MIST_VCDIFF_SECTION_INST:
        return "instructions";
      case MIST_VCDIFF_SECTION_ADDR:
        return "addresses";
      case MIST_VCDIFF_N_SECTIONS:
      default:
        break;
    }
  g_return_val_if_reached ("unknown");
}

gboolean
mist_vcdiff_read_header (MistVcdiffInput *input, MistVcdiffHeader *header, GError **error)
{
  static const guint8 magic[3] = { 0xd6, 0xc3, 0xc4 };
  guint8 head[4];

  memset (header, 0, sizeof *header);

  if (!input_read_bytes (input, head, 4, "the file header", error))
    return FALSE;
  if (memcmp (head, magic, 3) != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Not a VCDIFF patch: it starts with %02x %02x %02x instead of d6 c3 c4", head[0],
                   head[1], head[2]);
      return FALSE;
    }
  if (head[3] != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
                   "VCDIFF version %u is not supported, only version 0 (RFC 3284)", head[3]);
      return FALSE;
    }

  if (!input_read_byte (input, &header->indicator, "the header indicator", error))
    return FALSE;
  if (header->indicator & ~(MIST_VCD_SECONDARY | MIST_VCD_CODETABLE | MIST_VCD_APPHEADER))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "VCDIFF header indicator 0x%02x at patch byte 4 has unknown bits set",
                   header->indicator);
      return FALSE;
    }

  if ((header->indicator & MIST_VCD_SECONDARY)
      && !input_read_byte (input, &header->secondary_id, "the secondary compressor id", error))
    return FALSE;

  if (header->indicator & MIST_VCD_CODETABLE)
    {
      /* Only the length is kept: the table itself is rejected by apply and skipped here
       * so that describe can still show the rest. */
      if (!input_read_varint (input, &header->code_table_length, "code table length", error))
        return FALSE;
      if (header->code_table_length > MIST_VCDIFF_MAX_WINDOW)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_TOO_LARGE,
                       "VCDIFF code table of %" G_GUINT64_FORMAT " bytes is too large",
                       header->code_table_length);
          return FALSE;
        }
      if (!input_read_bytes (input, NULL, header->code_table_length, "the code table", error))
        return FALSE;
    }

  if (header->indicator & MIST_VCD_APPHEADER)
    {
      guint64 length;

      if (!input_read_varint (input, &length, "application header length", error))
        return FALSE;
      if (length > MIST_VCDIFF_MAX_APP_HEADER)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_TOO_LARGE,
                       "VCDIFF application header of %" G_GUINT64_FORMAT
                       " bytes is above the limit of %" G_GUINT64_FORMAT " bytes",
                       length, MIST_VCDIFF_MAX_APP_HEADER);
          return FALSE;
        }
      header->app_header = g_malloc (length + 1);
      header->app_header[length] = '\0';
      header->app_header_length = length;
      if (!input_read_bytes (input, header->app_header, length, "the application header", error))
        return FALSE;
    }

  return TRUE;
}

void
mist_vcdiff_header_clear (MistVcdiffHeader *header)
{
  g_clear_pointer (&header->app_header, g_free);
}

void
mist_vcdiff_window_clear (MistVcdiffWindow *window)
{
  for (guint i = 0; i < MIST_VCDIFF_N_SECTIONS; i++)
    {
      g_clear_pointer (&window->raw[i].data, g_free);
      g_clear_pointer (&window->decoded[i].data, g_free);
    }
  memset (window, 0, sizeof *window);
}

void
mist_vcdiff_set_window_error (
  GError **error, MistError code, const MistVcdiffWindow *window, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, MIST_ERROR, code,
               "VCDIFF window %" G_GUINT64_FORMAT " (patch byte %" G_GUINT64_FORMAT "): %s",
               window->number, window->patch_offset, message);
}

/* Parses the fields between the window indicator and the first section. */
static gboolean
read_window_fields (MistVcdiffInput *input,
                    const MistVcdiffHeader *header,
                    MistVcdiffWindow *window,
                    GError **error)
{
  static const char *const length_names[MIST_VCDIFF_N_SECTIONS]
    = { "data section length", "instructions section length", "addresses section length" };
  guint8 copy_bits = window->indicator & (MIST_VCD_SOURCE | MIST_VCD_TARGET);
  guint64 encoding_length;
  guint64 expected;

  if (window->indicator & ~(MIST_VCD_SOURCE | MIST_VCD_TARGET | MIST_VCD_ADLER32))
    {
      mist_vcdiff_set_window_error (error, MIST_ERROR_INVALID_DATA, window,
                                    "window indicator 0x%02x has unknown bits set",
                                    window->indicator);
      return FALSE;
    }
  if (copy_bits == (MIST_VCD_SOURCE | MIST_VCD_TARGET))
    {
      mist_vcdiff_set_window_error (error, MIST_ERROR_INVALID_DATA, window,
                                    "window indicator sets both VCD_SOURCE and VCD_TARGET");
      return FALSE;
    }
  if (copy_bits != 0)
    {
      if (!input_read_varint (input, &window->segment_length, "source segment length", error)
          || !input_read_varint (input, &window->segment_offset, "source segment position", error))
        return FALSE;
      if (window->segment_offset > G_MAXUINT64 - window->segment_length)
        {
          mist_vcdiff_set_window_error (error, MIST_ERROR_INVALID_DATA, window,
                                        "source segment at %" G_GUINT64_FORMAT
                                        " of %" G_GUINT64_FORMAT " bytes overflows 64 bits",
                                        window->segment_offset, window->segment_length);
          return FALSE;
        }
    }

  if (!input_read_varint (input, &encoding_length, "delta encoding length", error)
      || !input_read_varint (input, &window->target_length, "target window length", error))
    return FALSE;
  if (window->target_length > MIST_VCDIFF_MAX_WINDOW)
    {
      mist_vcdiff_set_window_error (error, MIST_ERROR_TOO_LARGE, window,
                                    "target window of %" G_GUINT64_FORMAT
                                    " bytes is above the limit of %" G_GUINT64_FORMAT " bytes",
                                    window->target_length, MIST_VCDIFF_MAX_WINDOW);
      return FALSE;
    }

  if (!input_read_byte (input, &window->delta_indicator, "the delta indicator", error))
    return FALSE;
  if (window->delta_indicator & ~0x07)
    {
      mist_vcdiff_set_window_error (error, MIST_ERROR_INVALID_DATA, window,
                                    "delta indicator 0x%02x has unknown bits set",
                                    window->delta_indicator);
      return FALSE;
    }
  if (window->delta_indicator != 0 && !(header->indicator & MIST_VCD_SECONDARY))
    {
      mist_vcdiff_set_window_error (
        error, MIST_ERROR_INVALID_DATA, window,
        "delta indicator 0x%02x marks compressed sections but the patch "
        "declares no secondary compressor",
        window->delta_indicator);
      return FALSE;
    }

  expected = 1 + varint_length (window->target_length);
  for (guint i = 0; i < MIST_VCDIFF_N_SECTIONS; i++)
    {
      guint64 length;

      if (!input_read_varint (input, &length, length_names[i], error))
        return FALSE;
      if (length > MIST_VCDIFF_MAX_WINDOW)
        {
          mist_vcdiff_set_window_error (error, MIST_ERROR_TOO_LARGE, window,
                                        "%s section of %" G_GUINT64_FORMAT
                                        " bytes is above the limit of %" G_GUINT64_FORMAT " bytes",
                                        mist_vcdiff_section_name (i), length,
                                        MIST_VCDIFF_MAX_WINDOW);
          return FALSE;
        }
      window->section_length[i] = length;
      expected += varint_length (length) + length;
    }

  if (window->indicator & MIST_VCD_ADLER32)
    {
      guint8 sum[4];

      if (!input_read_bytes (input, sum, 4, "the window checksum", error))
        return FALSE;
      window->adler32
        = ((guint32)sum[0] << 24) | ((guint32)sum[1] << 16) | ((guint32)sum[2] << 8) | sum[3];
      expected += 4;
    }

  if (encoding_length != expected)
    {
      mist_vcdiff_set_window_error (
        error, MIST_ERROR_INVALID_DATA, window,
        "delta encoding length %" G_GUINT64_FORMAT
        " does not match its fields, which add up to %" G_GUINT64_FORMAT,
        encoding_length, expected);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_section (MistVcdiffInput *input,
              MistVcdiffWindow *window,
              MistVcdiffSectionKind kind,
              GError **error)
{
  MistVcdiffBuffer *buffer = &window->raw[kind];
  gsize length = window->section_length[kind];
  g_autofree char *what = g_strdup_printf ("the %s section of window %" G_GUINT64_FORMAT,
                                           mist_vcdiff_section_name (kind), window->number);

  window->section_offset[kind] = input->offset;
  buffer->length = 0;
  while (buffer->length < length)
    {
      gsize step = MIN (length - buffer->length, MIST_VCDIFF_SECTION_STEP);

      if (buffer->capacity < buffer->length + step)
        {
          buffer->capacity = buffer->length + step;
          buffer->data = g_realloc (buffer->data, buffer->capacity);
        }
      if (!input_read_bytes (input, buffer->data + buffer->length, step, what, error))
        return FALSE;
      buffer->length += step;
    }

  window->section[kind] = buffer->data;
  window->section_size[kind] = buffer->length;
  return TRUE;
}

gboolean
mist_vcdiff_read_window (MistVcdiffInput *input,
                         const MistVcdiffHeader *header,
                         guint64 number,
                         gboolean read_sections,
                         MistVcdiffWindow *window,
                         GError **error)
{
  gssize available = input_fill (input, error);

  if (available <= 0)
    return FALSE;

  window->number = number;
  window->patch_offset = input->offset;
  window->segment_length = 0;
  window->segment_offset = 0;
  window->adler32 = 0;
  if (!input_read_byte (input, &window->indicator, "the window indicator", error)
      || !read_window_fields (input, header, window, error))
    return FALSE;

  for (guint i = 0; i < MIST_VCDIFF_N_SECTIONS; i++)
    {
      if (!read_sections)
        {
          g_autofree char *what = g_strdup_printf ("the %s section of window %" G_GUINT64_FORMAT,
                                                   mist_vcdiff_section_name (i), number);

          window->section_offset[i] = input->offset;
          if (!input_read_bytes (input, NULL, window->section_length[i], what, error))
            return FALSE;
          continue;
        }
      if (!read_section (input, window, i, error))
        return FALSE;
    }
  return TRUE;
}
