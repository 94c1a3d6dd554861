/* test-vcdiff-corrupt.c: truncated, corrupted and hostile VCDIFF patches
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every case must end in a MIST_ERROR and never crash. The sanitizer build runs the same
 * cases under AddressSanitizer and UBSan.
 */
#include "mist-delta.h"
#include "mist-error.h"
#include "mist-vcdiff-private.h"
#include "vcdiff-test-util.h"
#include "vcdiff-writer.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* An xdelta3 patch held in memory with the source and target it was made from. */
typedef struct
{
  GBytes *source;
  GBytes *target;
  GBytes *patch;
} Sample;

static void
sample_free (Sample *sample)
{
  g_bytes_unref (sample->source);
  g_bytes_unref (sample->target);
  g_bytes_unref (sample->patch);
  g_free (sample);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Sample, sample_free)

static GBytes *
read_file_bytes (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents;
  gsize length;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

/* Makes a patch of several small windows with xdelta3 and the given secondary setting. */
static Sample *
make_sample (const char *secondary)
{
  const char *const options[] = { "-S", secondary, "-W", "65536", "-B", "524288", NULL };
  g_autofree char *dir = test_dir_new ();
  g_autofree char *source_path = g_build_filename (dir, "source", NULL);
  g_autofree char *target_path = g_build_filename (dir, "target", NULL);
  g_autofree char *patch_path = g_build_filename (dir, "patch", NULL);
  g_autofree guint8 *source = g_malloc (300000);
  g_autoptr (GByteArray) target = NULL;
  Sample *sample = g_new0 (Sample, 1);

  test_fill_random (source, 300000, 31);
  target = test_edit_data (source, 300000, 32);
  test_write_file (source_path, source, 300000);
  test_write_file (target_path, target->data, target->len);
  test_xdelta3_encode (options, source_path, target_path, patch_path);

  sample->source = g_bytes_new (source, 300000);
  sample->target = g_bytes_new (target->data, target->len);
  sample->patch = read_file_bytes (patch_path);
  test_dir_remove (dir);
  return sample;
}

static GBytes *
apply_sample_patch (Sample *sample, const guint8 *patch, gsize length, GError **error)
{
  gsize source_length;
  const guint8 *source = g_bytes_get_data (sample->source, &source_length);

  return test_vcdiff_apply_bytes (source, source_length, patch, length, error);
}

/* Offsets in the patch where a field or section starts, with a flag for the offsets
 * where a window starts (cutting there leaves a valid, shorter patch). */
typedef struct
{
  GArray *offsets;
  GHashTable *window_starts;
  guint64 header_end;
} Boundaries;

static void
find_boundaries (GBytes *patch, Boundaries *boundaries)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  MistVcdiffInput input;
  MistVcdiffHeader header;
  MistVcdiffWindow window = { 0 };
  gsize length;
  const guint8 *data = g_bytes_get_data (patch, &length);
  int fd = g_file_open_tmp ("mist-vcdiff-XXXXXX", &path, &error);

  g_assert_no_error (error);
  g_assert_cmpint (write (fd, data, length), ==, (gssize)length);
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);

  boundaries->offsets = g_array_new (FALSE, FALSE, sizeof (guint64));
  boundaries->window_starts = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  mist_vcdiff_input_init (&input, fd);
  g_assert_true (mist_vcdiff_read_header (&input, &header, &error));
  g_assert_no_error (error);
  boundaries->header_end = input.offset;

  for (guint64 number = 0;; number++)
    {
      if (!mist_vcdiff_read_window (&input, &header, number, FALSE, &window, &error))
        break;
      g_array_append_val (boundaries->offsets, window.patch_offset);
      g_hash_table_add (boundaries->window_starts,
                        g_memdup2 (&window.patch_offset, sizeof (guint64)));
      for (guint i = 0; i < MIST_VCDIFF_N_SECTIONS; i++)
        {
          guint64 start = window.section_offset[i];
          guint64 end = start + window.section_length[i];

          g_array_append_val (boundaries->offsets, start);
          if (end > start + 1)
            {
              guint64 last = end - 1;

              g_array_append_val (boundaries->offsets, last);
            }
        }
    }
  g_assert_no_error (error);
  g_assert_cmpuint (input.offset, ==, length);

  mist_vcdiff_window_clear (&window);
  mist_vcdiff_header_clear (&header);
  mist_vcdiff_input_clear (&input);
  close (fd);
  g_unlink (path);
}

/* Cuts the patch at every field and section start and one byte after it. A cut at a
 * window start is a valid patch of fewer windows and yields a prefix of the target;
 * every other cut is an error. */
static void
assert_truncations_fail (const char *secondary)
{
  g_autoptr (Sample) sample = make_sample (secondary);
  gsize patch_length;
  const guint8 *patch = g_bytes_get_data (sample->patch, &patch_length);
  gsize target_length;
  const guint8 *target = g_bytes_get_data (sample->target, &target_length);
  Boundaries boundaries;
  guint failures = 0;

  find_boundaries (sample->patch, &boundaries);
  g_assert_cmpuint (g_hash_table_size (boundaries.window_starts), >, 4);
  for (guint64 cut = 0; cut < boundaries.header_end; cut++)
    g_array_append_val (boundaries.offsets, cut);

  for (guint i = 0; i < boundaries.offsets->len; i++)
    for (guint64 extra = 0; extra < 2; extra++)
      {
        guint64 cut = g_array_index (boundaries.offsets, guint64, i) + extra;
        g_autoptr (GError) error = NULL;
        g_autoptr (GBytes) output = NULL;

        if (cut >= patch_length)
          continue;
        output = apply_sample_patch (sample, patch, cut, &error);
        if (g_hash_table_contains (boundaries.window_starts, &cut))
          {
            gsize output_length;
            const guint8 *data;

            g_assert_no_error (error);
            data = g_bytes_get_data (output, &output_length);
            g_assert_cmpuint (output_length, <, target_length);
            g_assert_cmpmem (data, output_length, target, output_length);
          }
        else
          {
            g_assert_null (output);
            g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA);
            failures++;
          }
      }
  g_assert_cmpuint (failures, >, 20);

  g_array_unref (boundaries.offsets);
  g_hash_table_destroy (boundaries.window_starts);
}

static void
test_truncated_plain (void)
{
  assert_truncations_fail ("none");
}

static void
test_truncated_lzma (void)
{
  assert_truncations_fail ("lzma");
}

/* Flips bits in every byte of the file header and of each window's fields. A flip may
 * by chance leave a patch that still produces the target (a changed application
 * header, a copy address that reads equal bytes); anything else must be an error. */
static void
test_flipped_header_bytes (void)
{
  static const guint8 masks[] = { 0x01, 0x40, 0x80, 0xff };
  g_autoptr (Sample) sample = make_sample ("lzma");
  gsize patch_length;
  g_autofree guint8 *patch = g_bytes_unref_to_data (g_bytes_ref (sample->patch), &patch_length);
  gsize target_length;
  const guint8 *target = g_bytes_get_data (sample->target, &target_length);
  g_autoptr (GArray) positions = g_array_new (FALSE, FALSE, sizeof (guint64));
  Boundaries boundaries;
  guint errors = 0;
  guint trials = 0;

  find_boundaries (sample->patch, &boundaries);
  for (guint64 offset = 0; offset < boundaries.header_end; offset++)
    g_array_append_val (positions, offset);
  for (guint i = 0; i < boundaries.offsets->len; i++)
    {
      guint64 start = g_array_index (boundaries.offsets, guint64, i);

      if (!g_hash_table_contains (boundaries.window_starts, &start))
        continue;
      /* The window fields end where the data section starts, the next boundary. */
      for (guint64 offset = start; offset < g_array_index (boundaries.offsets, guint64, i + 1);
           offset++)
        g_array_append_val (positions, offset);
    }

  for (guint i = 0; i < positions->len; i++)
    for (guint m = 0; m < G_N_ELEMENTS (masks); m++)
      {
        guint64 offset = g_array_index (positions, guint64, i);
        g_autoptr (GError) error = NULL;
        g_autoptr (GBytes) output = NULL;

        patch[offset] ^= masks[m];
        output = apply_sample_patch (sample, patch, patch_length, &error);
        patch[offset] ^= masks[m];
        trials++;
        if (output == NULL)
          {
            g_assert_nonnull (error);
            g_assert_true (error->domain == MIST_ERROR);
            errors++;
            continue;
          }
        g_assert_true (g_bytes_get_size (output) == target_length);
        g_assert_cmpmem (g_bytes_get_data (output, NULL), target_length, target, target_length);
      }
  g_test_message ("%u of %u header bit flips were rejected", errors, trials);
  g_assert_cmpuint (errors, >, trials * 3 / 4);

  g_array_unref (boundaries.offsets);
  g_hash_table_destroy (boundaries.window_starts);
}

/* Flips bytes inside the LZMA-compressed sections: the LZMA decoder or the window
 * checksum must catch every flip that changes the output. */
static void
test_flipped_section_bytes (void)
{
  g_autoptr (Sample) sample = make_sample ("lzma");
  gsize patch_length;
  g_autofree guint8 *patch = g_bytes_unref_to_data (g_bytes_ref (sample->patch), &patch_length);
  Boundaries boundaries;

  find_boundaries (sample->patch, &boundaries);
  for (guint64 offset = boundaries.header_end + 40; offset < patch_length; offset += 97)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) output = NULL;

      if (g_hash_table_contains (boundaries.window_starts, &offset))
        continue;
      patch[offset] ^= 0x24;
      output = apply_sample_patch (sample, patch, patch_length, &error);
      patch[offset] ^= 0x24;
      if (output != NULL)
        {
          /* Only a flip in a field that does not change the output can pass. */
          g_assert_cmpmem (g_bytes_get_data (output, NULL), g_bytes_get_size (output),
                           g_bytes_get_data (sample->target, NULL),
                           g_bytes_get_size (sample->target));
          continue;
        }
      g_assert_true (error->domain == MIST_ERROR);
    }

  g_array_unref (boundaries.offsets);
  g_hash_table_destroy (boundaries.window_starts);
}

/* Applies a hand-made patch against a 4 KiB source and checks the error code. */
static void
assert_patch_error (GByteArray *patch, gint code, const char *message_part)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) output = NULL;
  guint8 source[4096];

  test_fill_random (source, sizeof source, 33);
  output = test_vcdiff_apply_bytes (source, sizeof source, patch->data, patch->len, &error);
  g_assert_null (output);
  g_assert_error (error, MIST_ERROR, code);
  if (message_part != NULL && strstr (error->message, message_part) == NULL)
    g_error ("expected \"%s\" in the message \"%s\"", message_part, error->message);
}

/* Appends a window whose fields are given directly, with empty-or-given sections. */
static void
append_raw_window (GByteArray *patch,
                   guint8 indicator,
                   guint64 segment_length,
                   guint64 segment_offset,
                   guint64 target_length,
                   guint8 delta_indicator,
                   guint64 data_length,
                   guint64 inst_length,
                   guint64 addr_length)
{
  g_byte_array_append (patch, &indicator, 1);
  if (indicator & 0x03)
    {
      test_vcdiff_append_varint (patch, segment_length);
      test_vcdiff_append_varint (patch, segment_offset);
    }
  test_vcdiff_append_varint (patch, 1000); /* delta encoding length, checked later */
  test_vcdiff_append_varint (patch, target_length);
  g_byte_array_append (patch, &delta_indicator, 1);
  test_vcdiff_append_varint (patch, data_length);
  test_vcdiff_append_varint (patch, inst_length);
  test_vcdiff_append_varint (patch, addr_length);
}

static void
test_huge_declared_sizes (void)
{
  const guint64 huge = G_GUINT64_CONSTANT (1) << 40;

  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();

    test_vcdiff_append_header (patch, 0, 0, NULL);
    append_raw_window (patch, 0, 0, 0, huge, 0, 0, 0, 0);
    assert_patch_error (patch, MIST_ERROR_TOO_LARGE, "target window of 1099511627776 bytes");
  }
  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();

    test_vcdiff_append_header (patch, 0, 0, NULL);
    append_raw_window (patch, 0, 0, 0, 100, 0, huge, 0, 0);
    assert_patch_error (patch, MIST_ERROR_TOO_LARGE, "data section of 1099511627776 bytes");
  }
  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    const guint8 indicator[] = { 0xd6, 0xc3, 0xc4, 0x00, 0x04 };

    g_byte_array_append (patch, indicator, sizeof indicator);
    test_vcdiff_append_varint (patch, huge);
    assert_patch_error (patch, MIST_ERROR_TOO_LARGE, "application header");
  }
  {
    /* An integer of eleven bytes cannot fit in 64 bits. */
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    const guint8 too_long[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
    guint8 indicator = 0;

    test_vcdiff_append_header (patch, 0, 0, NULL);
    g_byte_array_append (patch, &indicator, 1);
    g_byte_array_append (patch, too_long, sizeof too_long);
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "does not fit in 64 bits");
  }
  {
    /* An LZMA section that declares a huge decompressed size. */
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    g_autoptr (GByteArray) section = g_byte_array_new ();
    guint8 zero = 0;
    guint8 indicator = 0x01;
    guint8 delta = 0x01;

    test_vcdiff_append_varint (section, huge);
    g_byte_array_append (section,
                         (const guint8 *)"\xfd"
                                         "7zXZ",
                         5);
    test_vcdiff_append_header (patch, 0x01, 2, NULL);
    g_byte_array_append (patch, &indicator, 1);
    test_vcdiff_append_varint (patch, 100);
    test_vcdiff_append_varint (patch, 0);
    test_vcdiff_append_varint (patch, 1 + 1 + 1 + 1 + 1 + section->len);
    test_vcdiff_append_varint (patch, 100);
    g_byte_array_append (patch, &delta, 1);
    test_vcdiff_append_varint (patch, section->len);
    g_byte_array_append (patch, &zero, 1);
    g_byte_array_append (patch, &zero, 1);
    g_byte_array_append (patch, section->data, section->len);
    assert_patch_error (patch, MIST_ERROR_TOO_LARGE, "decompressed size 1099511627776");
  }
  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    TestWindow *window = test_window_new (0x01, huge, 0);

    test_vcdiff_append_header (patch, 0, 0, NULL);
    test_window_finish (window, patch, NULL);
    assert_patch_error (patch, MIST_ERROR_WRONG_SOURCE, "source file has 4096 bytes");
  }
  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    TestWindow *window = test_window_new (0x01, huge, G_MAXUINT64 - 10);

    test_vcdiff_append_header (patch, 0, 0, NULL);
    test_window_finish (window, patch, NULL);
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "overflows 64 bits");
  }
}

static void
test_copy_outside_window (void)
{
  {
    /* A self address at the current position reads bytes not written yet. */
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    TestWindow *window = test_window_new (0x01, 4096, 0);

    test_vcdiff_append_header (patch, 0, 0, NULL);
    test_window_copy (window, 4096, 10, 0);
    test_window_finish (window, patch, NULL);
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "not before the current address");
  }
  {
    /* A here offset larger than the position wraps below zero. */
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    const guint8 add[] = "abcd";
    TestWindow *window = test_window_new (0, 0, 0);

    test_vcdiff_append_header (patch, 0, 0, NULL);
    test_window_add (window, add, 4);
    test_window_copy (window, 0, 4, 1);
    test_window_finish (window, patch, NULL);
    /* The here offset is the last byte: 4 - 0 = 4, make it 9. */
    g_assert_cmpuint (patch->data[patch->len - 1], ==, 4);
    patch->data[patch->len - 1] = 9;
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "not before the current address");
  }
  {
    /* A source segment past the end of the source. */
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    TestWindow *window = test_window_new (0x01, 100, 4000);

    test_vcdiff_append_header (patch, 0, 0, NULL);
    test_window_copy (window, 0, 100, 0);
    test_window_finish (window, patch, NULL);
    assert_patch_error (patch, MIST_ERROR_WRONG_SOURCE, "4100");
  }
  {
    /* A VCD_TARGET segment past the output written so far. */
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    TestWindow *window = test_window_new (0x02, 10, 0);

    test_vcdiff_append_header (patch, 0, 0, NULL);
    test_window_copy (window, 0, 10, 0);
    test_window_finish (window, patch, NULL);
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "VCD_TARGET segment");
  }
}

static void
test_malformed_fields (void)
{
  const guint8 add[] = "0123456789";

  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    const guint8 bytes[] = { 0xd6, 0xc3, 0xc5, 0x00, 0x00 };

    g_byte_array_append (patch, bytes, sizeof bytes);
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "Not a VCDIFF patch");
  }
  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    const guint8 bytes[] = { 0xd6, 0xc3, 0xc4, 0x01, 0x00 };

    g_byte_array_append (patch, bytes, sizeof bytes);
    assert_patch_error (patch, MIST_ERROR_UNSUPPORTED, "version 1");
  }
  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    const guint8 bytes[] = { 0xd6, 0xc3, 0xc4, 0x00, 0x08 };

    g_byte_array_append (patch, bytes, sizeof bytes);
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "unknown bits");
  }
  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    const guint8 bytes[] = { 0xd6, 0xc3, 0xc4, 0x00, 0x02, 0x03, 0x04, 0x03, 0x00 };

    g_byte_array_append (patch, bytes, sizeof bytes);
    assert_patch_error (patch, MIST_ERROR_UNSUPPORTED, "custom code table");
  }
  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();

    test_vcdiff_append_header (patch, 0x01, 7, NULL);
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "secondary compressor unknown");
  }
  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();

    test_vcdiff_append_header (patch, 0, 0, NULL);
    append_raw_window (patch, 0x08, 0, 0, 0, 0, 0, 0, 0);
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "window indicator 0x08");
  }
  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();

    test_vcdiff_append_header (patch, 0, 0, NULL);
    append_raw_window (patch, 0x03, 0, 0, 0, 0, 0, 0, 0);
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "both VCD_SOURCE and VCD_TARGET");
  }
  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();

    test_vcdiff_append_header (patch, 0, 0, NULL);
    append_raw_window (patch, 0, 0, 0, 0, 0x01, 0, 0, 0);
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "no secondary compressor");
  }
  {
    g_autoptr (GByteArray) patch = g_byte_array_new ();

    test_vcdiff_append_header (patch, 0, 0, NULL);
    append_raw_window (patch, 0, 0, 0, 0, 0, 0, 0, 0);
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "delta encoding length 1000");
  }
  {
    /* An ADD of 11 bytes with 10 bytes of data. */
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    const guint8 instructions[] = { 1, 11 }; /* ADD with an explicit size */
    guint8 zero = 0;

    test_vcdiff_append_header (patch, 0, 0, NULL);
    g_byte_array_append (patch, &zero, 1);
    test_vcdiff_append_varint (patch, 1 + 1 + 1 + 1 + 1 + 10 + 2);
    test_vcdiff_append_varint (patch, 11);
    g_byte_array_append (patch, &zero, 1);
    test_vcdiff_append_varint (patch, 10);
    test_vcdiff_append_varint (patch, 2);
    test_vcdiff_append_varint (patch, 0);
    g_byte_array_append (patch, add, 10);
    g_byte_array_append (patch, instructions, 2);
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "runs past the data section");
  }
  {
    /* Instructions that produce less than the target window length. */
    g_autoptr (GByteArray) patch = g_byte_array_new ();
    const guint8 opcode_add_3 = 4; /* ADD of size 3 in the default table */
    guint8 zero = 0;
    guint8 indicator = 0;

    test_vcdiff_append_header (patch, 0, 0, NULL);
    g_byte_array_append (patch, &indicator, 1);
    test_vcdiff_append_varint (patch, 1 + 1 + 1 + 1 + 1 + 10 + 1);
    test_vcdiff_append_varint (patch, 10);
    g_byte_array_append (patch, &zero, 1);
    test_vcdiff_append_varint (patch, 10);
    test_vcdiff_append_varint (patch, 1);
    test_vcdiff_append_varint (patch, 0);
    g_byte_array_append (patch, add, 10);
    g_byte_array_append (patch, &opcode_add_3, 1);
    assert_patch_error (patch, MIST_ERROR_INVALID_DATA, "produce 3 bytes");
  }
}

/* Writing to /dev/full fails with ENOSPC, which must surface as MIST_ERROR_NO_SPACE. */
static void
test_output_device_full (void)
{
  g_autoptr (GByteArray) patch = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = test_dir_new ();
  g_autofree char *patch_path = g_build_filename (dir, "patch", NULL);
  TestWindow *window = test_window_new (0, 0, 0);
  int patch_fd;
  int output_fd;

  test_vcdiff_append_header (patch, 0, 0, NULL);
  test_window_run (window, 'x', 100000);
  test_window_finish (window, patch, NULL);
  test_write_file (patch_path, patch->data, patch->len);

  patch_fd = open (patch_path, O_RDONLY | O_CLOEXEC);
  output_fd = open ("/dev/full", O_WRONLY | O_CLOEXEC);
  g_assert_cmpint (patch_fd, >=, 0);
  g_assert_cmpint (output_fd, >=, 0);
  g_assert_false (mist_vcdiff_apply_fd (-1, patch_fd, output_fd, NULL, NULL, NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NO_SPACE);
  close (patch_fd);
  close (output_fd);
  test_dir_remove (dir);
}

/* MistDeltaProgressFunc: truncates the file behind the path in user_data to 0 bytes. */
static void
truncate_on_progress (guint64 done, guint64 total, gpointer user_data)
{
  g_assert_cmpint (truncate (user_data, 0), ==, 0);
}

/* A source truncated while the patch reads it through its mapping is an error naming
 * the source, not a SIGBUS. */
static void
test_source_truncated_meanwhile (void)
{
  g_autoptr (GByteArray) patch = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = test_dir_new ();
  g_autofree char *source_path = g_build_filename (dir, "source", NULL);
  g_autofree char *patch_path = g_build_filename (dir, "patch", NULL);
  g_autofree char *output_path = g_build_filename (dir, "output", NULL);
  g_autofree guint8 *source = g_malloc (1024 * 1024);
  int source_fd;
  int patch_fd;
  int output_fd;

  test_fill_random (source, 1024 * 1024, 7);
  test_write_file (source_path, source, 1024 * 1024);
  test_vcdiff_append_header (patch, 0, 0, NULL);
  for (guint i = 0; i < 4; i++)
    {
      TestWindow *window = test_window_new (MIST_VCD_SOURCE, 4096, i * 256 * 1024);

      test_window_copy (window, 0, 4096, 0);
      test_window_finish (window, patch, NULL);
    }
  test_write_file (patch_path, patch->data, patch->len);

  source_fd = open (source_path, O_RDONLY | O_CLOEXEC);
  patch_fd = open (patch_path, O_RDONLY | O_CLOEXEC);
  output_fd = open (output_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  g_assert_cmpint (source_fd, >=, 0);
  g_assert_cmpint (patch_fd, >=, 0);
  g_assert_cmpint (output_fd, >=, 0);

  /* The source is cut once the first window is written. Two windows are built at a
   * time, so the third and fourth copy from the cut source. */
  g_assert_false (mist_vcdiff_apply_fd (source_fd, patch_fd, output_fd, truncate_on_progress,
                                        source_path, NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_WRONG_SOURCE);
  g_assert_nonnull (strstr (error->message, "VCDIFF window "));
  g_assert_nonnull (strstr (error->message, "source file shrank from 1048576 to 0 bytes"));
  close (source_fd);
  close (patch_fd);
  close (output_fd);
  test_dir_remove (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/vcdiff/corrupt/truncated-plain", test_truncated_plain);
  g_test_add_func ("/engine/vcdiff/corrupt/truncated-lzma", test_truncated_lzma);
  g_test_add_func ("/engine/vcdiff/corrupt/flipped-header-bytes", test_flipped_header_bytes);
  g_test_add_func ("/engine/vcdiff/corrupt/flipped-section-bytes", test_flipped_section_bytes);
  g_test_add_func ("/engine/vcdiff/corrupt/huge-declared-sizes", test_huge_declared_sizes);
  g_test_add_func ("/engine/vcdiff/corrupt/copy-outside-window", test_copy_outside_window);
  g_test_add_func ("/engine/vcdiff/corrupt/malformed-fields", test_malformed_fields);
  g_test_add_func ("/engine/vcdiff/corrupt/output-device-full", test_output_device_full);
  g_test_add_func ("/engine/vcdiff/corrupt/source-truncated-meanwhile",
                   test_source_truncated_meanwhile);

  return g_test_run ();
}
