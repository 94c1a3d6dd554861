/* test-vcdiff-format.c: hand-made VCDIFF patches for the cases xdelta3 never writes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each test builds a patch with the test encoder and, next to it, the expected output
 * with a byte-by-byte model of RFC 3284, so overlapping copies and every address mode
 * are checked against the specification rather than against another decoder.
 */
#include "mist-delta.h"
#include "mist-error.h"
#include "vcdiff-test-util.h"
#include "vcdiff-writer.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define VCD_SOURCE 0x01
#define VCD_TARGET 0x02
#define VCD_ADLER32 0x04

/* A window under construction and the output it must produce. */
typedef struct
{
  TestWindow *window;
  const guint8 *segment; /* the bytes the segment addresses */
  guint64 segment_length;
  GByteArray *expected; /* this window's output */
} Model;

static void
model_begin (Model *model,
             guint8 indicator,
             const guint8 *segment,
             guint64 segment_length,
             guint64 segment_offset)
{
  model->window = test_window_new (indicator, segment_length, segment_offset);
  model->segment = segment;
  model->segment_length = segment_length;
  model->expected = g_byte_array_new ();
}

static void
model_add (Model *model, const guint8 *data, gsize length)
{
  test_window_add (model->window, data, length);
  g_byte_array_append (model->expected, data, length);
}

static void
model_run (Model *model, guint8 byte, gsize length)
{
  test_window_run (model->window, byte, length);
  for (gsize i = 0; i < length; i++)
    g_byte_array_append (model->expected, &byte, 1);
}

static void
model_copy (Model *model, guint64 address, gsize length, guint mode)
{
  test_window_copy (model->window, address, length, mode);
  for (gsize i = 0; i < length; i++)
    {
      guint64 from = address + i;
      guint8 byte = from < model->segment_length
                      ? model->segment[from]
                      : model->expected->data[from - model->segment_length];

      g_byte_array_append (model->expected, &byte, 1);
    }
}

/* Appends the window to patch and its output to expected. */
static void
model_end (Model *model, GByteArray *patch, GByteArray *expected)
{
  test_window_finish (model->window, patch, model->expected->data);
  g_byte_array_append (expected, model->expected->data, model->expected->len);
  g_byte_array_unref (model->expected);
}

static void
assert_output (const guint8 *source, gsize source_length, GByteArray *patch, GByteArray *expected)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) output = NULL;
  gsize length;
  const guint8 *data;

  output = test_vcdiff_apply_bytes (source, source_length, patch->data, patch->len, &error);
  g_assert_no_error (error);
  data = g_bytes_get_data (output, &length);
  g_assert_cmpmem (data, length, expected->data, expected->len);
}

static void
test_address_modes (void)
{
  g_autoptr (GByteArray) patch = g_byte_array_new ();
  g_autoptr (GByteArray) expected = g_byte_array_new ();
  guint8 source[65536];
  Model model;

  test_fill_random (source, sizeof source, 21);
  test_vcdiff_append_header (patch, 0, 0, NULL);
  model_begin (&model, VCD_SOURCE | VCD_ADLER32, source + 4096, 32768, 4096);
  model_copy (&model, 1000, 100, 0);     /* self */
  model_copy (&model, 2000, 50, 2);      /* near[0] = 1000 */
  model_copy (&model, 2100, 60, 3);      /* near[1] = 2000 */
  model_copy (&model, 1000, 30, 6);      /* same, slot 1000 % 768 = 232 in block 0 */
  model_copy (&model, 32768 + 5, 40, 1); /* here: the target's own bytes */
  model_copy (&model, 3000, 20, 0);
  model_copy (&model, 3010, 20, 3); /* near[1] = 3000 */
  model_copy (&model, 3020, 20, 4); /* near[2] = 3010 */
  model_copy (&model, 600, 25, 0);
  model_copy (&model, 600, 25, 8); /* slot 600: block 2 */
  model_copy (&model, 300, 25, 0);
  model_copy (&model, 300, 25, 7); /* slot 300: block 1 */
  model_copy (&model, 1768, 25, 0);
  model_copy (&model, 1768, 10, 6); /* slot 1768 % 768 = 232, which held 1000 before */
  model_end (&model, patch, expected);

  assert_output (source, sizeof source, patch, expected);
}

/* Copies whose source range overlaps what they write repeat a pattern of period d. */
static void
test_overlapping_copies (void)
{
  g_autoptr (GByteArray) patch = g_byte_array_new ();
  g_autoptr (GByteArray) expected = g_byte_array_new ();
  const guint8 seed[] = "abcdefghij";
  Model model;

  test_vcdiff_append_header (patch, 0, 0, NULL);
  model_begin (&model, VCD_ADLER32, NULL, 0, 0);
  model_add (&model, seed, 10);
  for (guint period = 1; period <= 9; period++)
    {
      guint64 here = model.expected->len;

      model_copy (&model, here - period, 1000 + period * 77, 0);
    }
  model_run (&model, 'z', 5000);
  model_copy (&model, model.expected->len - 1, 4096, 1);
  model_end (&model, patch, expected);

  assert_output (NULL, 0, patch, expected);
}

/* Builds two windows, the second a VCD_TARGET window that copies from the first. */
static void
build_target_window_patch (GByteArray *patch, GByteArray *expected)
{
  guint8 fresh[20000];
  Model model;

  test_fill_random (fresh, sizeof fresh, 22);
  test_vcdiff_append_header (patch, 0, 0, NULL);
  model_begin (&model, VCD_ADLER32, NULL, 0, 0);
  model_add (&model, fresh, 10000);
  model_end (&model, patch, expected);

  model_begin (&model, VCD_TARGET | VCD_ADLER32, expected->data + 5000, 4000, 5000);
  model_copy (&model, 0, 4000, 0);
  model_add (&model, fresh + 10000, 500);
  model_copy (&model, 100, 2000, 0);
  model_copy (&model, 4000 + 100, 300, 1);
  model_end (&model, patch, expected);
}

static void
test_target_window (void)
{
  g_autoptr (GByteArray) patch = g_byte_array_new ();
  g_autoptr (GByteArray) expected = g_byte_array_new ();

  build_target_window_patch (patch, expected);
  assert_output (NULL, 0, patch, expected);
}

/* VCD_TARGET offsets count from where the output starts, not from the start of the fd. */
static void
test_target_window_output_offset (void)
{
  g_autoptr (GByteArray) patch = g_byte_array_new ();
  g_autoptr (GByteArray) expected = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *written = NULL;
  const char prefix[100] = "bytes before the output";
  int patch_fd = memfd_create ("patch", MFD_CLOEXEC);
  int output_fd = memfd_create ("output", MFD_CLOEXEC);

  build_target_window_patch (patch, expected);
  g_assert_cmpint (write (patch_fd, patch->data, patch->len), ==, patch->len);
  g_assert_cmpint (lseek (patch_fd, 0, SEEK_SET), ==, 0);
  g_assert_cmpint (write (output_fd, prefix, sizeof prefix), ==, sizeof prefix);

  g_assert_true (mist_vcdiff_apply_fd (-1, patch_fd, output_fd, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  written = g_malloc (expected->len);
  g_assert_cmpint (pread (output_fd, written, expected->len, sizeof prefix), ==, expected->len);
  g_assert_cmpmem (written, expected->len, expected->data, expected->len);
  close (patch_fd);
  close (output_fd);
}

/* A copy may start in the segment and continue at the start of the target window. */
static void
test_copy_across_segment_end (void)
{
  g_autoptr (GByteArray) patch = g_byte_array_new ();
  g_autoptr (GByteArray) expected = g_byte_array_new ();
  guint8 source[4096];
  Model model;

  test_fill_random (source, sizeof source, 23);
  test_vcdiff_append_header (patch, 0, 0, NULL);
  model_begin (&model, VCD_SOURCE | VCD_ADLER32, source, sizeof source, 0);
  model_copy (&model, 0, 200, 0);
  model_copy (&model, sizeof source - 10, 500, 0);
  model_end (&model, patch, expected);

  assert_output (source, sizeof source, patch, expected);
}

/* Windows with no instructions and a header carrying an application header. */
static void
test_empty_windows (void)
{
  g_autoptr (GByteArray) patch = g_byte_array_new ();
  g_autoptr (GByteArray) expected = g_byte_array_new ();
  const guint8 text[] = "hello";
  Model model;

  test_vcdiff_append_header (patch, 0x04, 0, "name//");
  for (guint i = 0; i < 3; i++)
    {
      model_begin (&model, VCD_ADLER32, NULL, 0, 0);
      model_end (&model, patch, expected);
    }
  model_begin (&model, 0, NULL, 0, 0);
  model_add (&model, text, 5);
  model_end (&model, patch, expected);

  assert_output (NULL, 0, patch, expected);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/vcdiff/format/address-modes", test_address_modes);
  g_test_add_func ("/engine/vcdiff/format/overlapping-copies", test_overlapping_copies);
  g_test_add_func ("/engine/vcdiff/format/target-window", test_target_window);
  g_test_add_func ("/engine/vcdiff/format/target-window-output-offset",
                   test_target_window_output_offset);
  g_test_add_func ("/engine/vcdiff/format/copy-across-segment-end", test_copy_across_segment_end);
  g_test_add_func ("/engine/vcdiff/format/empty-windows", test_empty_windows);

  return g_test_run ();
}
