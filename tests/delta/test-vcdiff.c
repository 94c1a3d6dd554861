/* test-vcdiff.c: patches made by the real xdelta3 applied by the VCDIFF decoder
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every case generates a source and an edited target, has xdelta3 encode the patch with
 * particular settings, applies it and compares the SHA-256 of the output with the
 * target's.
 */
#include "mist-delta.h"
#include "mist-error.h"
#include "vcdiff-test-util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024 * 1024)

typedef struct
{
  char *dir;
  char *source;
  char *target;
  char *patch;
  char *output;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  fixture->dir = test_dir_new ();
  fixture->source = g_build_filename (fixture->dir, "source", NULL);
  fixture->target = g_build_filename (fixture->dir, "target", NULL);
  fixture->patch = g_build_filename (fixture->dir, "patch.vcdiff", NULL);
  fixture->output = g_build_filename (fixture->dir, "output", NULL);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  test_dir_remove (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->source);
  g_free (fixture->target);
  g_free (fixture->patch);
  g_free (fixture->output);
}

/* Writes a random source of source_length bytes and an edited copy as the target. */
static void
write_edited_pair (Fixture *fixture, gsize source_length, guint64 seed)
{
  g_autofree guint8 *source = g_malloc (MAX (source_length, 1));
  g_autoptr (GByteArray) target = NULL;

  test_fill_random (source, source_length, seed);
  target = test_edit_data (source, source_length, seed + 1);
  test_write_file (fixture->source, source, source_length);
  test_write_file (fixture->target, target->data, target->len);
}

static char *
describe_patch (const char *path)
{
  g_autoptr (GError) error = NULL;
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  char *text;

  g_assert_cmpint (fd, >=, 0);
  text = mist_vcdiff_describe_fd (fd, NULL, &error);
  close (fd);
  g_assert_no_error (error);
  g_assert_nonnull (text);
  return text;
}

/* Encodes with xdelta3 and the given options, applies, and compares the output. */
static void
assert_round_trip (Fixture *fixture, const char *const *options, gboolean with_source)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *actual = NULL;
  g_autofree char *description = NULL;
  g_autofree char *total_line = NULL;
  g_autoptr (GFile) target_file = g_file_new_for_path (fixture->target);
  g_autoptr (GFileInfo) info = NULL;
  const char *source = with_source ? fixture->source : NULL;

  test_xdelta3_encode (options, source, fixture->target, fixture->patch);
  g_assert_true (test_vcdiff_apply (source, fixture->patch, fixture->output, &error));
  g_assert_no_error (error);

  expected = test_sha256_file (fixture->target);
  actual = test_sha256_file (fixture->output);
  g_assert_cmpstr (actual, ==, expected);

  info = g_file_query_info (target_file, G_FILE_ATTRIBUTE_STANDARD_SIZE, 0, NULL, &error);
  g_assert_no_error (error);
  description = describe_patch (fixture->patch);
  total_line = g_strdup_printf ("Total target size: %" G_GUINT64_FORMAT " bytes\n",
                                (guint64)g_file_info_get_size (info));
  g_assert_nonnull (strstr (description, total_line));
}

static void
test_default_settings (Fixture *fixture, gconstpointer data)
{
  g_autofree char *description = NULL;

  write_edited_pair (fixture, 3 * MIB, 1);
  assert_round_trip (fixture, NULL, TRUE);

  /* xdelta3 3.0 defaults to LZMA secondary compression and window checksums. */
  description = describe_patch (fixture->patch);
  g_assert_nonnull (strstr (description, "Secondary compressor: LZMA (id 2)\n"));
  g_assert_nonnull (strstr (description, "(compressed)"));
  g_assert_nonnull (strstr (description, "VCD_SOURCE"));
  g_assert_null (strstr (description, "Adler-32: none"));
}

static void
test_lzma_secondary (Fixture *fixture, gconstpointer data)
{
  const char *const options[] = { "-S", "lzma", NULL };

  write_edited_pair (fixture, 2 * MIB, 2);
  assert_round_trip (fixture, options, TRUE);
}

static void
test_no_secondary (Fixture *fixture, gconstpointer data)
{
  const char *const options[] = { "-S", "none", NULL };
  g_autofree char *description = NULL;

  write_edited_pair (fixture, 2 * MIB, 3);
  assert_round_trip (fixture, options, TRUE);
  description = describe_patch (fixture->patch);
  g_assert_nonnull (strstr (description, "Secondary compressor: none\n"));
  g_assert_null (strstr (description, "(compressed)"));
}

static void
test_level_0 (Fixture *fixture, gconstpointer data)
{
  const char *const options[] = { "-0", NULL };

  write_edited_pair (fixture, 2 * MIB, 4);
  assert_round_trip (fixture, options, TRUE);
}

static void
test_level_9 (Fixture *fixture, gconstpointer data)
{
  const char *const options[] = { "-9", NULL };

  write_edited_pair (fixture, 2 * MIB, 5);
  assert_round_trip (fixture, options, TRUE);
}

/* A source window (-B) much smaller than the source: xdelta3 then moves its source
 * segment through the file window by window. */
static void
test_small_source_window (Fixture *fixture, gconstpointer data)
{
  const char *const options[] = { "-B", "524288", "-W", "65536", NULL };
  g_autofree char *description = NULL;

  write_edited_pair (fixture, 8 * MIB, 6);
  assert_round_trip (fixture, options, TRUE);
  description = describe_patch (fixture->patch);
  g_assert_nonnull (strstr (description, "Window 50 "));
}

/* -W 16777216 is the largest input window xdelta3 accepts. */
static void
test_max_window (Fixture *fixture, gconstpointer data)
{
  const char *const options[] = { "-W", "16777216", NULL };
  g_autofree char *description = NULL;

  write_edited_pair (fixture, 20 * MIB, 7);
  assert_round_trip (fixture, options, TRUE);
  description = describe_patch (fixture->patch);
  g_assert_nonnull (strstr (description, "target 16777216 bytes\n"));
}

static void
test_no_checksum (Fixture *fixture, gconstpointer data)
{
  const char *const options[] = { "-n", NULL };
  g_autofree char *description = NULL;

  write_edited_pair (fixture, 1 * MIB, 8);
  assert_round_trip (fixture, options, TRUE);
  description = describe_patch (fixture->patch);
  g_assert_nonnull (strstr (description, "Adler-32: none\n"));
  g_assert_null (strstr (description, "VCD_ADLER32"));
}

static void
test_app_header (Fixture *fixture, gconstpointer data)
{
  const char *const options[] = { "-A=mist test header", NULL };
  g_autofree char *description = NULL;

  write_edited_pair (fixture, 1 * MIB, 9);
  assert_round_trip (fixture, options, TRUE);
  description = describe_patch (fixture->patch);
  g_assert_nonnull (strstr (description, "Application header: \"mist test header\" (16 bytes)\n"));
  g_assert_nonnull (strstr (description, "VCD_APPHEADER"));
}

static void
test_no_app_header (Fixture *fixture, gconstpointer data)
{
  const char *const options[] = { "-A", NULL };
  g_autofree char *description = NULL;

  write_edited_pair (fixture, 1 * MIB, 10);
  assert_round_trip (fixture, options, TRUE);
  description = describe_patch (fixture->patch);
  g_assert_nonnull (strstr (description, "Application header: none\n"));
}

static void
test_empty_source (Fixture *fixture, gconstpointer data)
{
  g_autofree guint8 *target = g_malloc (300000);

  test_fill_random (target, 300000, 11);
  test_write_file (fixture->source, NULL, 0);
  test_write_file (fixture->target, target, 300000);
  assert_round_trip (fixture, NULL, TRUE);
}

static void
test_empty_target (Fixture *fixture, gconstpointer data)
{
  write_edited_pair (fixture, 100000, 12);
  test_write_file (fixture->target, NULL, 0);
  assert_round_trip (fixture, NULL, TRUE);
}

/* A small source used many times over in a target 64 times its size. */
static void
test_target_larger_than_source (Fixture *fixture, gconstpointer data)
{
  g_autofree guint8 *source = g_malloc (64 * 1024);
  g_autoptr (GByteArray) target = g_byte_array_new ();

  test_fill_random (source, 64 * 1024, 13);
  for (guint i = 0; i < 64; i++)
    {
      g_autoptr (GByteArray) copy = test_edit_data (source, 64 * 1024, 100 + i);

      g_byte_array_append (target, copy->data, copy->len);
    }
  test_write_file (fixture->source, source, 64 * 1024);
  test_write_file (fixture->target, target->data, target->len);
  assert_round_trip (fixture, NULL, TRUE);
}

/* Runs of one byte and of short patterns become RUN instructions and overlapping copies. */
static void
test_repeated_bytes (Fixture *fixture, gconstpointer data)
{
  const char *const options[] = { "-S", "none", NULL };
  g_autofree guint8 *source = g_malloc (256 * 1024);
  g_autoptr (GByteArray) target = g_byte_array_new ();
  guint8 block[4096];

  test_fill_random (source, 256 * 1024, 14);
  for (guint i = 0; i < 200; i++)
    {
      guint period = 1 + i % 7;

      for (guint j = 0; j < sizeof block; j++)
        block[j] = (guint8)(j % period + i);
      g_byte_array_append (target, block, 100 + (i * 37) % (sizeof block - 100));
      g_byte_array_append (target, source + i * 1000, 300);
    }
  test_write_file (fixture->source, source, 256 * 1024);
  test_write_file (fixture->target, target->data, target->len);
  assert_round_trip (fixture, options, TRUE);
  assert_round_trip (fixture, NULL, TRUE);
}

/* Without -s the patch copies only from the target itself. */
static void
test_no_source (Fixture *fixture, gconstpointer data)
{
  g_autofree char *description = NULL;

  write_edited_pair (fixture, 2 * MIB, 15);
  assert_round_trip (fixture, NULL, FALSE);
  description = describe_patch (fixture->patch);
  g_assert_null (strstr (description, "VCD_SOURCE"));
}

static void
assert_secondary_unsupported (Fixture *fixture, const char *compressor)
{
  const char *const options[] = { "-S", compressor, NULL };
  g_autoptr (GError) error = NULL;

  write_edited_pair (fixture, 1 * MIB, 16);
  test_xdelta3_encode (options, fixture->source, fixture->target, fixture->patch);
  g_assert_false (test_vcdiff_apply (fixture->source, fixture->patch, fixture->output, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "unsupported secondary compressor"));
}

static void
test_djw_unsupported (Fixture *fixture, gconstpointer data)
{
  assert_secondary_unsupported (fixture, "djw");
}

static void
test_fgk_unsupported (Fixture *fixture, gconstpointer data)
{
  assert_secondary_unsupported (fixture, "fgk");
}

/* A source that differs from the one the patch was made from fails the Adler-32 check. */
static void
test_wrong_source (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length;

  write_edited_pair (fixture, 1 * MIB, 17);
  test_xdelta3_encode (NULL, fixture->source, fixture->target, fixture->patch);
  g_file_get_contents (fixture->source, &contents, &length, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < length; i += 4096)
    contents[i] ^= 0x5a;
  test_write_file (fixture->source, (const guint8 *)contents, length);

  g_assert_false (test_vcdiff_apply (fixture->source, fixture->patch, fixture->output, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH);
  g_assert_nonnull (strstr (error->message, "Adler-32"));
}

static void
test_missing_source (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  write_edited_pair (fixture, 1 * MIB, 18);
  test_xdelta3_encode (NULL, fixture->source, fixture->target, fixture->patch);
  g_assert_false (test_vcdiff_apply (NULL, fixture->patch, fixture->output, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_WRONG_SOURCE);
}

typedef struct
{
  guint calls;
  guint64 last_done;
} ProgressRecord;

static void
record_progress (guint64 done, guint64 total, gpointer user_data)
{
  ProgressRecord *record = user_data;

  g_assert_cmpuint (done, >=, record->last_done);
  record->last_done = done;
  record->calls++;
}

static void
test_progress_and_cancel (Fixture *fixture, gconstpointer data)
{
  const char *const options[] = { "-W", "65536", NULL };
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  ProgressRecord record = { 0 };
  struct stat info;
  int source_fd;
  int patch_fd;
  int output_fd;

  write_edited_pair (fixture, 1 * MIB, 19);
  test_xdelta3_encode (options, fixture->source, fixture->target, fixture->patch);
  g_assert_cmpint (stat (fixture->target, &info), ==, 0);

  source_fd = open (fixture->source, O_RDONLY | O_CLOEXEC);
  patch_fd = open (fixture->patch, O_RDONLY | O_CLOEXEC);
  output_fd = open (fixture->output, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  g_assert_true (mist_vcdiff_apply_fd (source_fd, patch_fd, output_fd, record_progress, &record,
                                       cancellable, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (record.calls, >, 10);
  g_assert_cmpuint (record.last_done, ==, (guint64)info.st_size);

  g_cancellable_cancel (cancellable);
  g_assert_cmpint (lseek (patch_fd, 0, SEEK_SET), ==, 0);
  g_assert_false (
    mist_vcdiff_apply_fd (source_fd, patch_fd, output_fd, NULL, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  close (source_fd);
  close (patch_fd);
  close (output_fd);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, function)                                                                        \
  g_test_add ("/engine/vcdiff/" path, Fixture, NULL, fixture_set_up, function, fixture_tear_down)

  ADD ("xdelta3/default-settings", test_default_settings);
  ADD ("xdelta3/lzma-secondary", test_lzma_secondary);
  ADD ("xdelta3/no-secondary", test_no_secondary);
  ADD ("xdelta3/level-0", test_level_0);
  ADD ("xdelta3/level-9", test_level_9);
  ADD ("xdelta3/small-source-window", test_small_source_window);
  ADD ("xdelta3/max-window", test_max_window);
  ADD ("xdelta3/no-checksum", test_no_checksum);
  ADD ("xdelta3/app-header", test_app_header);
  ADD ("xdelta3/no-app-header", test_no_app_header);
  ADD ("xdelta3/empty-source", test_empty_source);
  ADD ("xdelta3/empty-target", test_empty_target);
  ADD ("xdelta3/target-larger-than-source", test_target_larger_than_source);
  ADD ("xdelta3/repeated-bytes", test_repeated_bytes);
  ADD ("xdelta3/no-source", test_no_source);
  ADD ("xdelta3/djw-unsupported", test_djw_unsupported);
  ADD ("xdelta3/fgk-unsupported", test_fgk_unsupported);
  ADD ("wrong-source-checksum", test_wrong_source);
  ADD ("missing-source", test_missing_source);
  ADD ("progress-and-cancel", test_progress_and_cancel);

#undef ADD
  return g_test_run ();
}
