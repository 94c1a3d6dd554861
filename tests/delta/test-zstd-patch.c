/* test-zstd-patch.c: zstd patch-from round trips, interop with the zstd tool, wrong
 * sources and hostile patches
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-delta.h"
#include "mist-error.h"
#include "mist-hash.h"
#include "mist-zstd-patch-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB ((gsize) 1024 * 1024)

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
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("mist-zstd-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->source = g_build_filename (fixture->dir, "source", NULL);
  fixture->target = g_build_filename (fixture->dir, "target", NULL);
  fixture->patch = g_build_filename (fixture->dir, "patch", NULL);
  fixture->output = g_build_filename (fixture->dir, "output", NULL);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  const char *paths[] = { fixture->source, fixture->target, fixture->patch, fixture->output };

  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
    g_unlink (paths[i]);
  g_rmdir (fixture->dir);
  g_free (fixture->source);
  g_free (fixture->target);
  g_free (fixture->patch);
  g_free (fixture->output);
  g_free (fixture->dir);
}

/* Deterministic bytes that zstd cannot compress on their own. */
static void
fill_random (guint8 *data, gsize length, guint64 seed)
{
  guint64 state = seed * 0x9E3779B97F4A7C15ull + 1;

  for (gsize i = 0; i < length; i++)
    {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      data[i] = (guint8) state;
    }
}

static int open_write (const char *path);

/* Without the fsync of g_file_set_contents(), which would make the loops over damaged
 * patches slow. */
static void
write_file (const char *path, const guint8 *data, gsize length)
{
  int fd = open_write (path);

  g_assert_cmpint (write (fd, data, length), ==, (gssize) length);
  g_assert_cmpint (close (fd), ==, 0);
}

static GBytes *
read_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static int
open_read (const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  return fd;
}

static int
open_write (const char *path)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  g_assert_cmpint (fd, >=, 0);
  return fd;
}

static gboolean
create_patch (const char *source, const char *target, const char *patch, int level, GError **error)
{
  int source_fd = open_read (source);
  int target_fd = open_read (target);
  int patch_fd = open_write (patch);
  gboolean ok = mist_zstd_patch_create_fd (source_fd, target_fd, patch_fd, level, NULL, NULL, NULL,
                                           error);

  close (source_fd);
  close (target_fd);
  close (patch_fd);
  return ok;
}

static gboolean
apply_patch (const char *source, const char *patch, const char *output, GError **error)
{
  int source_fd = open_read (source);
  int patch_fd = open_read (patch);
  int output_fd = open_write (output);
  gboolean ok = mist_delta_apply_fd (source_fd, patch_fd, output_fd, NULL, NULL, NULL, error);

  close (source_fd);
  close (patch_fd);
  close (output_fd);
  return ok;
}

static void
assert_files_equal (const char *a, const char *b)
{
  g_autoptr (GBytes) first = read_file (a);
  g_autoptr (GBytes) second = read_file (b);

  g_assert_cmpuint (g_bytes_get_size (first), ==, g_bytes_get_size (second));
  g_assert_true (g_bytes_equal (first, second));
}

static void
assert_round_trip (Fixture *fixture, int level)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch, level, &error));
  g_assert_no_error (error);
  g_assert_true (apply_patch (fixture->source, fixture->patch, fixture->output, &error));
  g_assert_no_error (error);
  assert_files_equal (fixture->target, fixture->output);
}

/* A 1 MiB source and a target with an insertion, a deletion and changed bytes. */
static void
write_edited_pair (Fixture *fixture, gsize size)
{
  g_autofree guint8 *source = g_malloc (size);
  g_autofree guint8 *target = g_malloc (size + 4096);
  gsize third = size / 3;

  fill_random (source, size, 1);
  memcpy (target, source, third);
  fill_random (target + third, 4096, 2);
  memcpy (target + third + 4096, source + third + 1000, size - third - 1000);
  for (gsize i = 0; i < 50; i++)
    target[(i * 7919) % (size + 3096)] ^= 0x5a;

  write_file (fixture->source, source, size);
  write_file (fixture->target, target, size + 3096);
}

static void
test_round_trip_edited (Fixture *fixture, gconstpointer data)
{
  struct stat info;

  write_edited_pair (fixture, 1024 * 1024);
  assert_round_trip (fixture, MIST_ZSTD_LEVEL_FAST);

  /* The patch reuses the source: it is a small fraction of the incompressible target. */
  g_assert_cmpint (g_stat (fixture->patch, &info), ==, 0);
  g_assert_cmpint (info.st_size, <, 64 * 1024);
}

static void
test_round_trip_default_level (Fixture *fixture, gconstpointer data)
{
  write_edited_pair (fixture, 256 * 1024);
  assert_round_trip (fixture, MIST_ZSTD_LEVEL_DEFAULT);
}

static void
test_round_trip_empty_target (Fixture *fixture, gconstpointer data)
{
  guint8 source[1000];

  fill_random (source, sizeof source, 3);
  write_file (fixture->source, source, sizeof source);
  write_file (fixture->target, (const guint8 *) "", 0);
  assert_round_trip (fixture, MIST_ZSTD_LEVEL_FAST);
}

static void
test_round_trip_one_byte (Fixture *fixture, gconstpointer data)
{
  guint8 source[1000];

  fill_random (source, sizeof source, 4);
  write_file (fixture->source, source, sizeof source);
  write_file (fixture->target, (const guint8 *) "x", 1);
  assert_round_trip (fixture, MIST_ZSTD_LEVEL_FAST);

  /* A one-byte source too. */
  write_file (fixture->source, (const guint8 *) "y", 1);
  assert_round_trip (fixture, MIST_ZSTD_LEVEL_DEFAULT);
}

static void
test_round_trip_empty_source (Fixture *fixture, gconstpointer data)
{
  guint8 target[5000];

  fill_random (target, sizeof target, 5);
  write_file (fixture->source, (const guint8 *) "", 0);
  write_file (fixture->target, target, sizeof target);
  assert_round_trip (fixture, MIST_ZSTD_LEVEL_FAST);

  write_file (fixture->target, (const guint8 *) "", 0);
  assert_round_trip (fixture, MIST_ZSTD_LEVEL_FAST);
}

static void
record_progress (guint64 done, guint64 total, gpointer user_data)
{
  GArray *calls = user_data;
  guint64 pair[2] = { done, total };

  g_array_append_vals (calls, pair, 2);
}

static void
test_progress_reports_output (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GArray) calls = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr (GError) error = NULL;
  int source_fd;
  int patch_fd;
  int output_fd;
  guint64 previous = 0;
  gboolean ok;

  write_edited_pair (fixture, 3 * 1024 * 1024);
  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch, 1, &error));

  source_fd = open_read (fixture->source);
  patch_fd = open_read (fixture->patch);
  output_fd = open_write (fixture->output);
  ok = mist_zstd_patch_apply_fd (source_fd, patch_fd, output_fd, record_progress, calls, NULL,
                                 &error);
  close (source_fd);
  close (patch_fd);
  close (output_fd);
  g_assert_no_error (error);
  g_assert_true (ok);

  g_assert_cmpuint (calls->len, >=, 2 * 2);
  for (guint i = 0; i < calls->len; i += 2)
    {
      guint64 done = g_array_index (calls, guint64, i);
      guint64 total = g_array_index (calls, guint64, i + 1);

      g_assert_cmpuint (done, >, previous);
      g_assert_cmpuint (total, ==, 3 * 1024 * 1024 + 3096);
      previous = done;
    }
  g_assert_cmpuint (previous, ==, 3 * 1024 * 1024 + 3096);
}

static void
test_cancelled_apply (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  int source_fd;
  int patch_fd;
  int output_fd;

  write_edited_pair (fixture, 64 * 1024);
  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch, 1, &error));

  g_cancellable_cancel (cancellable);
  source_fd = open_read (fixture->source);
  patch_fd = open_read (fixture->patch);
  output_fd = open_write (fixture->output);
  g_assert_false (mist_zstd_patch_apply_fd (source_fd, patch_fd, output_fd, NULL, NULL,
                                            cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  close (source_fd);
  close (patch_fd);
  close (output_fd);
}

static void
test_invalid_level (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  write_edited_pair (fixture, 4096);
  g_assert_false (create_patch (fixture->source, fixture->target, fixture->patch, 0, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "level 0"));
  g_clear_error (&error);
  g_assert_false (create_patch (fixture->source, fixture->target, fixture->patch, 23, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_FAILED);
}

/* Wrong sources */

static void
test_wrong_source_same_size (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) source = NULL;
  g_autofree guint8 *changed = NULL;

  write_edited_pair (fixture, 256 * 1024);
  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch, 1, &error));

  source = read_file (fixture->source);
  changed = g_memdup2 (g_bytes_get_data (source, NULL), g_bytes_get_size (source));
  changed[100000] ^= 1;
  write_file (fixture->source, changed, g_bytes_get_size (source));

  g_assert_false (apply_patch (fixture->source, fixture->patch, fixture->output, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_WRONG_SOURCE);
  g_assert_nonnull (strstr (error->message, "SHA-256"));
}

static void
test_wrong_source_other_size (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  write_edited_pair (fixture, 64 * 1024);
  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch, 1, &error));
  write_file (fixture->source, (const guint8 *) "short", 5);

  g_assert_false (apply_patch (fixture->source, fixture->patch, fixture->output, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_WRONG_SOURCE);
  g_assert_nonnull (strstr (error->message, "65536-byte"));
}

/* Interop with the zstd tool */

static char *
find_zstd (void)
{
  char *zstd = g_find_program_in_path ("zstd");

  if (zstd == NULL)
    g_test_skip ("The zstd tool is not installed (Debian package zstd)");
  return zstd;
}

static void
run_command (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("%s failed: %s\n%s", argv[0], error->message, err);
}

static void
test_interop_zstd_tool_patch (Fixture *fixture, gconstpointer data)
{
  g_autofree char *zstd = find_zstd ();
  g_autofree char *patch_from = NULL;
  g_autoptr (GError) error = NULL;

  if (zstd == NULL)
    return;
  write_edited_pair (fixture, 1024 * 1024);
  patch_from = g_strconcat ("--patch-from=", fixture->source, NULL);
  {
    const char *argv[] = { zstd, "-q", "-f", "-19", "--long", patch_from, fixture->target, "-o",
                           fixture->patch, NULL };

    run_command (argv);
  }

  g_assert_true (apply_patch (fixture->source, fixture->patch, fixture->output, &error));
  g_assert_no_error (error);
  assert_files_equal (fixture->target, fixture->output);
}

static void
test_interop_zstd_tool_wrong_source (Fixture *fixture, gconstpointer data)
{
  g_autofree char *zstd = find_zstd ();
  g_autofree char *patch_from = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) source = NULL;
  g_autofree guint8 *changed = NULL;

  if (zstd == NULL)
    return;
  write_edited_pair (fixture, 256 * 1024);
  patch_from = g_strconcat ("--patch-from=", fixture->source, NULL);
  {
    const char *argv[] = { zstd, "-q", "-f", "--long", patch_from, fixture->target, "-o",
                           fixture->patch, NULL };

    run_command (argv);
  }

  source = read_file (fixture->source);
  changed = g_memdup2 (g_bytes_get_data (source, NULL), g_bytes_get_size (source));
  for (gsize i = 0; i < g_bytes_get_size (source); i += 4096)
    changed[i] ^= 0x80;
  write_file (fixture->source, changed, g_bytes_get_size (source));

  g_assert_false (apply_patch (fixture->source, fixture->patch, fixture->output, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_WRONG_SOURCE);
}

static void
test_interop_zstd_tool_no_checksum (Fixture *fixture, gconstpointer data)
{
  g_autofree char *zstd = find_zstd ();
  g_autofree char *patch_from = NULL;
  g_autoptr (GError) error = NULL;

  if (zstd == NULL)
    return;
  write_edited_pair (fixture, 64 * 1024);
  patch_from = g_strconcat ("--patch-from=", fixture->source, NULL);
  {
    const char *argv[] = { zstd, "-q", "-f", "--no-check", patch_from, fixture->target, "-o",
                           fixture->patch, NULL };

    run_command (argv);
  }

  g_assert_false (apply_patch (fixture->source, fixture->patch, fixture->output, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "checksum"));
}

/* The frames inside a Mist container are standard: zstd decodes a one-segment patch's
 * frame with the same source. */
static void
test_interop_inner_frame_decodes_with_zstd (Fixture *fixture, gconstpointer data)
{
  g_autofree char *zstd = find_zstd ();
  g_autofree char *patch_from = NULL;
  g_autofree char *frame_path = NULL;
  g_autoptr (GBytes) patch = NULL;
  g_autoptr (GError) error = NULL;
  const guint8 *bytes;
  gsize size;
  gsize frame_start = MIST_ZSTD_PATCH_HEADER_SIZE + MIST_ZSTD_PATCH_SEGMENT_HEADER_SIZE;

  if (zstd == NULL)
    return;
  write_edited_pair (fixture, 1024 * 1024);
  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch,
                               MIST_ZSTD_LEVEL_FAST, &error));
  g_assert_no_error (error);

  patch = read_file (fixture->patch);
  bytes = g_bytes_get_data (patch, &size);
  g_assert_cmpuint (size, >, frame_start);
  g_assert_true (mist_zstd_patch_is_container (bytes, size));
  g_assert_true (mist_zstd_patch_is_frame (bytes + frame_start, size - frame_start));
  frame_path = g_build_filename (fixture->dir, "frame.zst", NULL);
  write_file (frame_path, bytes + frame_start, size - frame_start);

  patch_from = g_strconcat ("--patch-from=", fixture->source, NULL);
  {
    const char *argv[] = { zstd, "-q", "-f", "-d", "--long=31", patch_from, frame_path, "-o",
                           fixture->output, NULL };

    run_command (argv);
  }
  g_unlink (frame_path);
  assert_files_equal (fixture->target, fixture->output);
}

/* Damaged and hostile patches */

static void
assert_apply_fails_or_is_exact (Fixture *fixture, const char *what)
{
  g_autoptr (GError) error = NULL;

  if (apply_patch (fixture->source, fixture->patch, fixture->output, &error))
    {
      /* A change in a field that does not affect decoding may still give the target. */
      assert_files_equal (fixture->target, fixture->output);
      return;
    }
  if (error->domain != MIST_ERROR)
    g_error ("%s: unexpected error domain: %s", what, error->message);
}

static void
test_truncated_patch (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) patch = NULL;
  const guint8 *bytes;
  gsize size;

  write_edited_pair (fixture, 64 * 1024);
  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch, 1, NULL));
  patch = read_file (fixture->patch);
  bytes = g_bytes_get_data (patch, &size);

  for (gsize length = 0; length < size; length++)
    {
      g_autoptr (GError) error = NULL;

      write_file (fixture->patch, bytes, length);
      if (apply_patch (fixture->source, fixture->patch, fixture->output, &error))
        g_error ("A patch truncated to %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes applied",
                 length, size);
      g_assert_true (error->domain == MIST_ERROR);
    }
}

static void
test_corrupted_patch (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) patch = NULL;
  g_autofree guint8 *copy = NULL;
  gsize size;

  write_edited_pair (fixture, 64 * 1024);
  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch, 1, NULL));
  patch = read_file (fixture->patch);
  copy = g_memdup2 (g_bytes_get_data (patch, &size), g_bytes_get_size (patch));

  /* Every byte of the headers and the start of the frame, then a stride over the rest. */
  for (gsize i = 0; i < size; i += i < 160 ? 1 : 37)
    {
      g_autofree char *what = g_strdup_printf ("byte %" G_GSIZE_FORMAT " flipped", i);

      copy[i] ^= 0x41;
      write_file (fixture->patch, copy, size);
      assert_apply_fails_or_is_exact (fixture, what);
      copy[i] ^= 0x41;
    }
}

/* Writes a container header and segment headers followed by frame bytes. */
static void
write_container (Fixture *fixture,
                 guint64 source_size,
                 guint64 target_size,
                 guint32 segment_count,
                 const guint64 *segment_fields,
                 gsize n_segments,
                 const guint8 *frame,
                 gsize frame_size)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  guint8 header[MIST_ZSTD_PATCH_HEADER_SIZE] = { 0 };

  memcpy (header, MIST_ZSTD_PATCH_MAGIC, MIST_ZSTD_PATCH_MAGIC_SIZE);
  header[8] = MIST_ZSTD_PATCH_VERSION;
  header[12] = MIST_ZSTD_PATCH_HEADER_SIZE;
  for (int i = 0; i < 8; i++)
    {
      header[16 + i] = (guint8) (source_size >> (8 * i));
      header[24 + i] = (guint8) (target_size >> (8 * i));
    }
  for (int i = 0; i < 4; i++)
    header[64 + i] = (guint8) (segment_count >> (8 * i));

  /* The digest of the real source, so that only the field under test is wrong. The
   * sparse 2 GiB source is left with a zero digest: its case fails before the hash. */
  if (source_size < MIB)
    {
      g_autoptr (GBytes) source = read_file (fixture->source);
    g_autoptr (MistSha256) hash = mist_sha256_new ();

    mist_sha256_update (hash, g_bytes_get_data (source, NULL), g_bytes_get_size (source));
      mist_sha256_finish (hash, header + 32);
    }
  g_byte_array_append (bytes, header, sizeof header);

  for (gsize s = 0; s < n_segments; s++)
    for (int field = 0; field < 3; field++)
      for (int i = 0; i < 8; i++)
        {
          guint8 byte = (guint8) (segment_fields[3 * s + field] >> (8 * i));

          g_byte_array_append (bytes, &byte, 1);
        }
  g_byte_array_append (bytes, frame, (guint) frame_size);
  write_file (fixture->patch, bytes->data, bytes->len);
}

static void
assert_apply_error (Fixture *fixture, int code, const char *fragment)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (apply_patch (fixture->source, fixture->patch, fixture->output, &error));
  g_assert_error (error, MIST_ERROR, code);
  if (fragment != NULL && strstr (error->message, fragment) == NULL)
    g_error ("Expected \"%s\" in the message: %s", fragment, error->message);
}

/* A zstd frame header: single segment, 4-byte content size, checksum, no block. */
static const guint8 frame_header_fcs4[] = { 0x28, 0xb5, 0x2f, 0xfd, 0xa4, 0xff, 0xff, 0xff, 0x1f };

static void
test_hostile_huge_sizes (Fixture *fixture, gconstpointer data)
{
  guint64 huge_segment[] = { 0, 10, (guint64) 1 << 29 };
  guint64 over_window[] = { 0, (guint64) 1 << 31, 1 };
  guint64 outside_source[] = { 5, 10, 1 };

  write_file (fixture->source, (const guint8 *) "0123456789", 10);

  write_container (fixture, 10, G_GUINT64_CONSTANT (1) << 62, 1, NULL, 0, NULL, 0);
  assert_apply_error (fixture, MIST_ERROR_TOO_LARGE, "limit");

  write_container (fixture, 10, 100, G_MAXUINT32, NULL, 0, NULL, 0);
  assert_apply_error (fixture, MIST_ERROR_INVALID_DATA, "segment count");

  write_container (fixture, 10, (guint64) 1 << 40, 1, NULL, 0, NULL, 0);
  assert_apply_error (fixture, MIST_ERROR_INVALID_DATA, "segment count");

  /* A segment above the 512 MiB limit per segment. */
  huge_segment[2] = ((guint64) 1 << 29) + 1;
  write_container (fixture, 10, huge_segment[2], 2, huge_segment, 1, NULL, 0);
  assert_apply_error (fixture, MIST_ERROR_TOO_LARGE, "per segment");

  /* A reference range that the source cannot hold. */
  write_container (fixture, 10, 1, 1, outside_source, 1, NULL, 0);
  assert_apply_error (fixture, MIST_ERROR_INVALID_DATA, "outside");

  /* A reference range and output that need more than zstd's 2 GiB window. */
  {
    int fd = open_write (fixture->source);

    g_assert_cmpint (ftruncate (fd, (off_t) 1 << 31), ==, 0);
    close (fd);
  }
  write_container (fixture, (guint64) 1 << 31, 1, 1, over_window, 1, NULL, 0);
  assert_apply_error (fixture, MIST_ERROR_TOO_LARGE, "2 GiB");
  write_file (fixture->source, (const guint8 *) "0123456789", 10);

  /* A frame that declares another size than its segment. */
  huge_segment[2] = 4;
  write_container (fixture, 10, 4, 1, huge_segment, 1, frame_header_fcs4, sizeof frame_header_fcs4);
  assert_apply_error (fixture, MIST_ERROR_INVALID_DATA, "declare");

  /* The largest allowed segment with a frame that ends early. */
  huge_segment[2] = (guint64) 1 << 29;
  {
    guint8 frame[] = { 0x28, 0xb5, 0x2f, 0xfd, 0xa4, 0x00, 0x00, 0x00, 0x20 };

    write_container (fixture, 10, huge_segment[2], 1, huge_segment, 1, frame, sizeof frame);
    assert_apply_error (fixture, MIST_ERROR_INVALID_DATA, "truncated");
  }
}

static void
test_hostile_plain_frame_window (Fixture *fixture, gconstpointer data)
{
  /* No content size, checksum, a window descriptor for 2^31 bytes. */
  static const guint8 frame[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x04, 0xa8, 0x01, 0x00, 0x00 };

  write_file (fixture->source, (const guint8 *) "0123456789", 10);
  write_file (fixture->patch, frame, sizeof frame);
  assert_apply_error (fixture, MIST_ERROR_TOO_LARGE, "window");
}

static void
test_hostile_unknown_version (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) patch = NULL;
  g_autofree guint8 *copy = NULL;
  gsize size;

  write_edited_pair (fixture, 4096);
  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch, 1, NULL));
  patch = read_file (fixture->patch);
  copy = g_memdup2 (g_bytes_get_data (patch, &size), g_bytes_get_size (patch));

  copy[8] = 2;
  write_file (fixture->patch, copy, size);
  assert_apply_error (fixture, MIST_ERROR_UNSUPPORTED, "version 2");

  copy[8] = 1;
  copy[12] = 80;
  write_file (fixture->patch, copy, size);
  assert_apply_error (fixture, MIST_ERROR_INVALID_DATA, "header size");

  copy[12] = MIST_ZSTD_PATCH_HEADER_SIZE;
  write_file (fixture->patch, copy, size);
  {
    g_autoptr (GError) error = NULL;

    /* Data after the last frame. */
    g_autofree guint8 *longer = g_malloc (size + 1);

    memcpy (longer, copy, size);
    longer[size] = 0;
    write_file (fixture->patch, longer, size + 1);
    g_assert_false (apply_patch (fixture->source, fixture->patch, fixture->output, &error));
    g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA);
    g_assert_nonnull (strstr (error->message, "after the last"));
  }
}

/* Format detection and dispatch */

static void
test_format_names (void)
{
  static const guint8 vcdiff[] = { 0xd6, 0xc3, 0xc4, 0x00 };
  static const guint8 frame[] = { 0x28, 0xb5, 0x2f, 0xfd };
  static const guint8 other[] = { 0x1f, 0x8b, 0x08, 0x00 };

  g_assert_cmpint (mist_delta_format_detect (vcdiff, sizeof vcdiff), ==, MIST_DELTA_FORMAT_VCDIFF);
  g_assert_cmpint (mist_delta_format_detect (frame, sizeof frame), ==, MIST_DELTA_FORMAT_ZSTD);
  g_assert_cmpint (mist_delta_format_detect ((const guint8 *) MIST_ZSTD_PATCH_MAGIC,
                                             MIST_ZSTD_PATCH_MAGIC_SIZE),
                   ==, MIST_DELTA_FORMAT_ZSTD);
  g_assert_cmpint (mist_delta_format_detect (other, sizeof other), ==, MIST_DELTA_FORMAT_UNKNOWN);
  g_assert_cmpint (mist_delta_format_detect (frame, 3), ==, MIST_DELTA_FORMAT_UNKNOWN);
  g_assert_cmpint (mist_delta_format_detect (NULL, 0), ==, MIST_DELTA_FORMAT_UNKNOWN);

  g_assert_cmpstr (mist_delta_format_to_string (MIST_DELTA_FORMAT_VCDIFF), ==, "vcdiff");
  g_assert_cmpstr (mist_delta_format_to_string (MIST_DELTA_FORMAT_ZSTD), ==, "zstd");
  g_assert_cmpstr (mist_delta_format_to_string (MIST_DELTA_FORMAT_UNKNOWN), ==, "unknown");
  g_assert_cmpint (mist_delta_format_from_string ("zstd"), ==, MIST_DELTA_FORMAT_ZSTD);
  g_assert_cmpint (mist_delta_format_from_string ("VCDIFF"), ==, MIST_DELTA_FORMAT_VCDIFF);
  g_assert_cmpint (mist_delta_format_from_string ("bsdiff"), ==, MIST_DELTA_FORMAT_UNKNOWN);
  g_assert_cmpint (mist_delta_format_from_string (NULL), ==, MIST_DELTA_FORMAT_UNKNOWN);
}

static void
test_dispatch_unknown_format (Fixture *fixture, gconstpointer data)
{
  write_file (fixture->source, (const guint8 *) "abc", 3);
  write_file (fixture->patch, (const guint8 *) "PK\x03\x04rest", 8);
  assert_apply_error (fixture, MIST_ERROR_INVALID_DATA, "50 4b 03 04");

  write_file (fixture->patch, (const guint8 *) "", 0);
  assert_apply_error (fixture, MIST_ERROR_INVALID_DATA, "empty");
}

static void
test_describe_container (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  int fd;

  write_edited_pair (fixture, 64 * 1024);
  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch, 1, &error));
  fd = open_read (fixture->patch);
  text = mist_delta_describe_fd (fd, NULL, &error);
  close (fd);
  g_assert_no_error (error);

  g_assert_nonnull (strstr (text, "format: zstd (Mist container, version 1)"));
  g_assert_nonnull (strstr (text, "source: 65536 bytes, SHA-256 "));
  g_assert_nonnull (strstr (text, "target: 68632 bytes"));
  g_assert_nonnull (strstr (text, "segments: 1"));
  g_assert_nonnull (strstr (text, "reference source bytes 0 to 65536"));
  g_assert_nonnull (strstr (text, "content checksum"));
}

static void
test_describe_truncated (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) patch = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  int fd;

  write_edited_pair (fixture, 64 * 1024);
  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch, 1, NULL));
  patch = read_file (fixture->patch);
  write_file (fixture->patch, g_bytes_get_data (patch, NULL), g_bytes_get_size (patch) - 2);

  fd = open_read (fixture->patch);
  text = mist_delta_describe_fd (fd, NULL, &error);
  close (fd);
  g_assert_null (text);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA);
}

/* MistDeltaProgressFunc: truncates the file behind the path in user_data to 0 bytes. */
static void
truncate_on_progress (guint64 done, guint64 total, gpointer user_data)
{
  g_assert_cmpint (truncate (user_data, 0), ==, 0);
}

static void
assert_source_shrank (const GError *error)
{
  g_assert_error (error, MIST_ERROR, MIST_ERROR_WRONG_SOURCE);
  if (strstr (error->message, "source file shrank from 8388608 to 0 bytes") == NULL)
    g_error ("Expected the source's sizes in the error: %s", error->message);
}

/* A source truncated while it is mapped is an error naming the source, not a SIGBUS.
 * The first progress report cuts it while most of the target is still to come. */
static void
test_source_truncated_apply (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  int source_fd;
  int patch_fd;
  int output_fd;

  write_edited_pair (fixture, 8 * MIB);
  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch,
                               MIST_ZSTD_LEVEL_FAST, NULL));
  source_fd = open_read (fixture->source);
  patch_fd = open_read (fixture->patch);
  output_fd = open_write (fixture->output);
  g_assert_false (mist_zstd_patch_apply_fd (source_fd, patch_fd, output_fd, truncate_on_progress,
                                            fixture->source, NULL, &error));
  assert_source_shrank (error);
  close (source_fd);
  close (patch_fd);
  close (output_fd);
}

static void
test_source_truncated_create (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  int source_fd;
  int target_fd;
  int patch_fd;

  write_edited_pair (fixture, 8 * MIB);
  source_fd = open_read (fixture->source);
  target_fd = open_read (fixture->target);
  patch_fd = open_write (fixture->patch);
  g_assert_false (mist_zstd_patch_create_fd (source_fd, target_fd, patch_fd, MIST_ZSTD_LEVEL_FAST,
                                             truncate_on_progress, fixture->source, NULL, &error));
  assert_source_shrank (error);
  close (source_fd);
  close (target_fd);
  close (patch_fd);
}

/* A patch cut inside a block is reported as ending at its real last byte, not where the
 * block would end. */
static void
test_describe_truncated_names_end (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) patch = NULL;
  gsize size;

  write_edited_pair (fixture, 256 * 1024);
  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch, 1, NULL));
  patch = read_file (fixture->patch);
  size = g_bytes_get_size (patch);

  for (gsize length = 150; length < size; length += size / 7)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *text = NULL;
      g_autofree char *expected = g_strdup_printf ("it ends at byte %" G_GSIZE_FORMAT " ", length);
      int fd;

      write_file (fixture->patch, g_bytes_get_data (patch, NULL), length);
      fd = open_read (fixture->patch);
      text = mist_delta_describe_fd (fd, NULL, &error);
      close (fd);
      g_assert_null (text);
      g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA);
      if (strstr (error->message, expected) == NULL)
        g_error ("Patch cut to %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes: expected \"%s\" in: %s",
                 length, size, expected, error->message);
    }
}

/* Files over 2 GiB */

/* Writes a sparse file: a 1 MiB block of random bytes seeded by (seed_base + n) every
 * 16 MiB, starting at byte shift, and zeros elsewhere. */
static void
write_sparse_pattern (const char *path, guint64 size, guint64 shift, guint64 seed_base)
{
  g_autofree guint8 *block = g_malloc (MIB);
  int fd = open_write (path);

  g_assert_cmpint (ftruncate (fd, (off_t) size), ==, 0);
  for (guint64 offset = shift, n = 0; offset + MIB <= size; offset += 16 * MIB, n++)
    {
      fill_random (block, MIB, seed_base + n);
      g_assert_cmpint (pwrite (fd, block, MIB, (off_t) offset), ==, (ssize_t) MIB);
    }
  close (fd);
}

/* Thread function: returns the SHA-256 (hex) of everything read from a pipe. */
static gpointer
hash_pipe (gpointer data)
{
  int fd = GPOINTER_TO_INT (data);
  g_autoptr (MistSha256) hash = mist_sha256_new ();
  g_autofree guint8 *buffer = g_malloc (MIB);
  char *hex = g_malloc (MIST_SHA256_HEX_LENGTH + 1);
  ssize_t n;

  while ((n = read (fd, buffer, MIB)) > 0)
    mist_sha256_update (hash, buffer, (gsize) n);
  g_assert_cmpint (n, ==, 0);
  mist_sha256_finish_hex (hash, hex);
  return hex;
}

static void
test_round_trip_over_2gib (Fixture *fixture, gconstpointer data)
{
  guint64 size = ((guint64) 2 << 30) + 100 * MIB;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  struct stat info;
  int fd;

  /* The target is the source moved by 12 KiB, with four blocks of new data. */
  write_sparse_pattern (fixture->source, size, 0, 1000);
  write_sparse_pattern (fixture->target, size + 12 * 1024, 12 * 1024, 1000);
  fd = open (fixture->target, O_WRONLY | O_CLOEXEC);
  for (guint64 i = 0; i < 4; i++)
    {
      g_autofree guint8 *block = g_malloc (MIB);

      fill_random (block, MIB, 77 + i);
      g_assert_cmpint (pwrite (fd, block, MIB, (off_t) (i * 600 * MIB + 3 * MIB)), ==,
                       (ssize_t) MIB);
    }
  close (fd);

  g_assert_true (create_patch (fixture->source, fixture->target, fixture->patch, 1, &error));
  g_assert_no_error (error);

  /* The target holds 135 MiB of random bytes, of which 4 MiB are new: the segments
   * find the rest in their reference ranges. */
  g_assert_cmpint (g_stat (fixture->patch, &info), ==, 0);
  g_assert_cmpint (info.st_size, <, 8 * MIB);

  fd = open_read (fixture->patch);
  text = mist_delta_describe_fd (fd, NULL, &error);
  close (fd);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "segments: 5"));

  /* The output goes through a pipe into a hash, which spares writing 2.1 GiB. */
  {
    g_autofree char *expected = mist_sha256_hex_file (fixture->target, NULL, &error);
    g_autofree char *actual = NULL;
    int source_fd = open_read (fixture->source);
    int patch_fd = open_read (fixture->patch);
    int fds[2];
    GThread *reader;
    gboolean ok;

    g_assert_no_error (error);
    g_assert_cmpint (pipe (fds), ==, 0);
    reader = g_thread_new ("hash-output", hash_pipe, GINT_TO_POINTER (fds[0]));
    ok = mist_delta_apply_fd (source_fd, patch_fd, fds[1], NULL, NULL, NULL, &error);
    close (fds[1]);
    actual = g_thread_join (reader);
    close (fds[0]);
    close (source_fd);
    close (patch_fd);
    g_assert_no_error (error);
    g_assert_true (ok);
    g_assert_cmpstr (actual, ==, expected);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, function)                                                                        \
  g_test_add (path, Fixture, NULL, fixture_set_up, function, fixture_tear_down)

  ADD ("/delta/zstd/round-trip/edited", test_round_trip_edited);
  ADD ("/delta/zstd/round-trip/default-level", test_round_trip_default_level);
  ADD ("/delta/zstd/round-trip/empty-target", test_round_trip_empty_target);
  ADD ("/delta/zstd/round-trip/one-byte", test_round_trip_one_byte);
  ADD ("/delta/zstd/round-trip/empty-source", test_round_trip_empty_source);
  ADD ("/delta/zstd/progress", test_progress_reports_output);
  ADD ("/delta/zstd/cancelled", test_cancelled_apply);
  ADD ("/delta/zstd/invalid-level", test_invalid_level);
  ADD ("/delta/zstd/wrong-source/same-size", test_wrong_source_same_size);
  ADD ("/delta/zstd/wrong-source/other-size", test_wrong_source_other_size);
  ADD ("/delta/zstd/interop/zstd-tool-patch", test_interop_zstd_tool_patch);
  ADD ("/delta/zstd/interop/zstd-tool-wrong-source", test_interop_zstd_tool_wrong_source);
  ADD ("/delta/zstd/interop/zstd-tool-no-checksum", test_interop_zstd_tool_no_checksum);
  ADD ("/delta/zstd/interop/inner-frame", test_interop_inner_frame_decodes_with_zstd);
  ADD ("/delta/zstd/hostile/truncated", test_truncated_patch);
  ADD ("/delta/zstd/hostile/corrupted", test_corrupted_patch);
  ADD ("/delta/zstd/hostile/huge-sizes", test_hostile_huge_sizes);
  ADD ("/delta/zstd/hostile/plain-frame-window", test_hostile_plain_frame_window);
  ADD ("/delta/zstd/hostile/unknown-version", test_hostile_unknown_version);
  ADD ("/delta/zstd/describe/container", test_describe_container);
  ADD ("/delta/zstd/describe/truncated", test_describe_truncated);
  ADD ("/delta/zstd/describe/truncated-names-end", test_describe_truncated_names_end);
  ADD ("/delta/zstd/source-truncated/apply", test_source_truncated_apply);
  ADD ("/delta/zstd/source-truncated/create", test_source_truncated_create);
  ADD ("/delta/format/dispatch-unknown", test_dispatch_unknown_format);
  g_test_add_func ("/delta/format/names", test_format_names);
#ifdef MIST_SLOW_TESTS
  ADD ("/delta/zstd/round-trip/over-2gib", test_round_trip_over_2gib);
#else
  (void) test_round_trip_over_2gib;
#endif

#undef ADD
  return g_test_run ();
}
