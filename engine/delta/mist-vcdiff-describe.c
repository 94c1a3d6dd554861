/* mist-vcdiff-describe.c: a readable summary of a VCDIFF patch, for mist-delta info
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-delta.h"
#include "mist-vcdiff-private.h"

#include "mist-error.h"

static void
append_header (GString *text, const MistVcdiffHeader *header)
{
  g_string_append (text, "Format: VCDIFF (RFC 3284), version 0\n");
  g_string_append_printf (text, "Header indicator: 0x%02x", header->indicator);
  if (header->indicator != 0)
    {
      g_autoptr (GPtrArray) bits = g_ptr_array_new ();
      g_autofree char *names = NULL;

      if (header->indicator & MIST_VCD_SECONDARY)
        g_ptr_array_add (bits, (gpointer) "VCD_SECONDARY");
      if (header->indicator & MIST_VCD_CODETABLE)
        g_ptr_array_add (bits, (gpointer) "VCD_CODETABLE");
      if (header->indicator & MIST_VCD_APPHEADER)
        g_ptr_array_add (bits, (gpointer) "VCD_APPHEADER");
      g_ptr_array_add (bits, NULL);
      names = g_strjoinv (", ", (char **)bits->pdata);
      g_string_append_printf (text, " (%s)", names);
    }
  g_string_append_c (text, '\n');

  if (header->indicator & MIST_VCD_SECONDARY)
    g_string_append_printf (text, "Secondary compressor: %s (id %u)\n",
                            mist_vcdiff_secondary_name (header->secondary_id),
                            header->secondary_id);
  else
    g_string_append (text, "Secondary compressor: none\n");

  if (header->indicator & MIST_VCD_CODETABLE)
    g_string_append_printf (text, "Code table: custom, %" G_GUINT64_FORMAT " bytes\n",
                            header->code_table_length);
  else
    g_string_append (text, "Code table: default (RFC 3284)\n");

  if (header->indicator & MIST_VCD_APPHEADER)
    {
      g_autofree char *escaped = g_strescape ((const char *)header->app_header, NULL);

      /* A NUL inside the header ends the escaped text early; the length shows it. */
      g_string_append_printf (text, "Application header: \"%s\" (%" G_GSIZE_FORMAT " bytes)\n",
                              escaped, header->app_header_length);
    }
  else
    g_string_append (text, "Application header: none\n");
}

static void
append_window (GString *text, const MistVcdiffWindow *window)
{
  g_string_append_printf (text, "Window %" G_GUINT64_FORMAT " at patch byte %" G_GUINT64_FORMAT ":",
                          window->number, window->patch_offset);
  if (window->indicator & MIST_VCD_SOURCE)
    g_string_append_printf (text,
                            " VCD_SOURCE %" G_GUINT64_FORMAT " bytes at %" G_GUINT64_FORMAT ",",
                            window->segment_length, window->segment_offset);
  else if (window->indicator & MIST_VCD_TARGET)
    g_string_append_printf (text,
                            " VCD_TARGET %" G_GUINT64_FORMAT " bytes at %" G_GUINT64_FORMAT ",",
                            window->segment_length, window->segment_offset);
  else
    g_string_append (text, " no copy segment,");
  g_string_append_printf (text, " target %" G_GUINT64_FORMAT " bytes\n", window->target_length);

  g_string_append (text, "  sections:");
  for (guint i = 0; i < MIST_VCDIFF_N_SECTIONS; i++)
    g_string_append_printf (text, " %s %" G_GUINT64_FORMAT "%s", mist_vcdiff_section_name (i),
                            window->section_length[i],
                            (window->delta_indicator & (1 << i)) ? " (compressed)" : "");
  g_string_append_c (text, '\n');

  if (window->indicator & MIST_VCD_ADLER32)
    g_string_append_printf (text, "  Adler-32: %08x\n", window->adler32);
  else
    g_string_append (text, "  Adler-32: none\n");
}

char *
mist_vcdiff_describe_fd (int patch_fd, GCancellable *cancellable, GError **error)
{
  g_autoptr (GString) text = g_string_new (NULL);
  MistVcdiffInput input;
  MistVcdiffHeader header = { 0 };
  MistVcdiffWindow window = { 0 };
  guint64 count = 0;
  guint64 total = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (patch_fd >= 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  mist_vcdiff_input_init (&input, patch_fd);
  if (!mist_vcdiff_read_header (&input, &header, error))
    goto out;
  append_header (text, &header);

  for (;;)
    {
      GError *local_error = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
      if (!mist_vcdiff_read_window (&input, &header, count, FALSE, &window, &local_error))
        {
          if (local_error != NULL)
            {
              g_propagate_error (error, local_error);
              goto out;
            }
          break;
        }
      append_window (text, &window);
      total += window.target_length;
      count++;
    }

  g_string_append_printf (text, "Windows: %" G_GUINT64_FORMAT "\n", count);
  g_string_append_printf (text, "Total target size: %" G_GUINT64_FORMAT " bytes\n", total);
  ok = TRUE;

out:
  mist_vcdiff_window_clear (&window);
  mist_vcdiff_header_clear (&header);
  mist_vcdiff_input_clear (&input);
  if (!ok)
    {
      g_prefix_error (error, "Failed to read the VCDIFF patch: ");
      return NULL;
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}
