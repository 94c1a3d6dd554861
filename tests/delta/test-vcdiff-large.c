/* test-vcdiff-large.c: a source and a target over 4 GiB, with copies past the 4 GiB mark
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The source is a sparse file of 4 GiB + 32 MiB with random blocks at 1 GiB and past
 * 4 GiB. The hand-made patch copies the whole source in 64 MiB windows, then copies from
 * past 4 GiB of the source (VCD_SOURCE) and of the output (VCD_TARGET). The output's
 * SHA-256 is compared with a digest of the expected bytes computed alongside.
 */
#include "mist-delta.h"
#include "mist-error.h"
#include "mist-hash.h"
#include "vcdiff-test-util.h"
#include "vcdiff-writer.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define MIB ((guint64)1024 * 1024)
#define GIB (1024 * MIB)
#define SOURCE_SIZE (4 * GIB + 32 * MIB)
#define WINDOW_SIZE (64 * MIB)
#define LOW_BLOCK_OFFSET (1 * GIB)
#define HIGH_BLOCK_OFFSET (4 * GIB + 8 * MIB)
#define BLOCK_SIZE (1 * MIB)

#define VCD_SOURCE 0x01
#define VCD_TARGET 0x02
#define VCD_ADLER32 0x04

static void
pwrite_all (int fd, const guint8 *data, gsize length, guint64 offset)
{
  g_assert_cmpint (pwrite (fd, data, length, offset), ==, (gssize)length);
}

/* Fills out with source bytes [offset, offset + length): zeros but for the two blocks. */
static void
source_bytes (guint8 *out, guint64 offset, gsize length, const guint8 *low, const guint8 *high)
{
  const struct
  {
    guint64 offset;
    const guint8 *data;
  } blocks[] = { { LOW_BLOCK_OFFSET, low }, { HIGH_BLOCK_OFFSET, high } };

  memset (out, 0, length);
  for (guint i = 0; i < G_N_ELEMENTS (blocks); i++)
    {
      guint64 start = MAX (offset, blocks[i].offset);
      guint64 end = MIN (offset + length, blocks[i].offset + BLOCK_SIZE);

      if (start < end)
        memcpy (out + (start - offset), blocks[i].data + (start - blocks[i].offset), end - start);
    }
}

static void
test_copies_past_4_gib (void)
{
  g_autofree char *dir = test_dir_new ();
  g_autofree char *source_path = g_build_filename (dir, "source", NULL);
  g_autofree char *patch_path = g_build_filename (dir, "patch", NULL);
  g_autofree char *output_path = g_build_filename (dir, "output", NULL);
  g_autofree guint8 *low = g_malloc (BLOCK_SIZE);
  g_autofree guint8 *high = g_malloc (BLOCK_SIZE);
  g_autofree guint8 *window_bytes = g_malloc (WINDOW_SIZE);
  g_autoptr (GByteArray) patch = g_byte_array_new ();
  g_autoptr (GByteArray) tail = g_byte_array_new ();
  g_autoptr (MistSha256) expected_hash = mist_sha256_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *actual = NULL;
  char expected[MIST_SHA256_HEX_LENGTH + 1];
  guint64 expected_length = 0;
  TestWindow *window;
  int fd;

  /* The sparse source. */
  test_fill_random (low, BLOCK_SIZE, 41);
  test_fill_random (high, BLOCK_SIZE, 42);
  fd = open (source_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, SOURCE_SIZE), ==, 0);
  pwrite_all (fd, low, BLOCK_SIZE, LOW_BLOCK_OFFSET);
  pwrite_all (fd, high, BLOCK_SIZE, HIGH_BLOCK_OFFSET);
  close (fd);

  /* The whole source, window by window; checksums only where the data is not zeros. */
  test_vcdiff_append_header (patch, 0, 0, NULL);
  for (guint64 offset = 0; offset < SOURCE_SIZE; offset += WINDOW_SIZE)
    {
      gsize length = MIN (WINDOW_SIZE, SOURCE_SIZE - offset);
      gboolean has_data = (offset <= LOW_BLOCK_OFFSET && LOW_BLOCK_OFFSET < offset + length)
                          || (offset <= HIGH_BLOCK_OFFSET && HIGH_BLOCK_OFFSET < offset + length);

      source_bytes (window_bytes, offset, length, low, high);
      window = test_window_new (VCD_SOURCE | (has_data ? VCD_ADLER32 : 0), length, offset);
      test_window_copy (window, 0, length, 0);
      test_window_finish (window, patch, window_bytes);
      mist_sha256_update (expected_hash, window_bytes, length);
      expected_length += length;
    }

  /* Copies from the source segment past 4 GiB and from this window's own output. */
  window = test_window_new (VCD_SOURCE | VCD_ADLER32, BLOCK_SIZE, HIGH_BLOCK_OFFSET);
  test_window_copy (window, 0, BLOCK_SIZE, 0);
  test_window_copy (window, 4096, 65536, 2);
  test_window_copy (window, BLOCK_SIZE + 0, 1000, 1);
  g_byte_array_append (tail, high, BLOCK_SIZE);
  g_byte_array_append (tail, high + 4096, 65536);
  g_byte_array_append (tail, high, 1000);
  test_window_finish (window, patch, tail->data);
  mist_sha256_update (expected_hash, tail->data, tail->len);
  expected_length += tail->len;

  /* A VCD_TARGET segment past 4 GiB of the output, where the high block was copied,
   * then an overlapping copy that repeats its last 7 bytes. */
  g_byte_array_set_size (tail, 0);
  window = test_window_new (VCD_TARGET | VCD_ADLER32, BLOCK_SIZE, HIGH_BLOCK_OFFSET);
  test_window_copy (window, 0, BLOCK_SIZE, 0);
  test_window_copy (window, BLOCK_SIZE + BLOCK_SIZE - 7, 100, 0);
  g_byte_array_append (tail, high, BLOCK_SIZE);
  for (guint i = 0; i < 100; i++)
    g_byte_array_append (tail, high + BLOCK_SIZE - 7 + i % 7, 1);
  test_window_finish (window, patch, tail->data);
  mist_sha256_update (expected_hash, tail->data, tail->len);
  expected_length += tail->len;
  mist_sha256_finish_hex (expected_hash, expected);

  test_write_file (patch_path, patch->data, patch->len);
  g_assert_true (test_vcdiff_apply (source_path, patch_path, output_path, &error));
  g_assert_no_error (error);

  {
    GStatBuf info;

    g_assert_cmpint (g_stat (output_path, &info), ==, 0);
    g_assert_cmpuint (info.st_size, ==, expected_length);
    g_assert_cmpuint (info.st_size, >, 4 * GIB);
  }
  actual = test_sha256_file (output_path);
  g_assert_cmpstr (actual, ==, expected);

  test_dir_remove (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/vcdiff/large/copies-past-4-gib", test_copies_past_4_gib);

  return g_test_run ();
}
