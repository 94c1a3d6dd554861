/* test-hash.c: SHA-256 against the FIPS 180-2 test vectors and sha256sum
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-hash.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

static void
test_hash_known_vectors (void)
{
  g_autofree char *empty = mist_sha256_hex_data ("", 0);
  g_autofree char *abc = mist_sha256_hex_data ("abc", 3);

  g_assert_cmpstr (empty, ==, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  g_assert_cmpstr (abc, ==, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_hash_file_matches_sha256sum (void)
{
  g_autofree char *path = NULL;
  g_autofree guint8 *data = g_malloc (3 * 1024 * 1024 + 17);
  g_autofree char *ours = NULL;
  g_autofree char *output = NULL;
  g_autofree char *argv_path = NULL;
  g_autoptr (GError) error = NULL;
  int status;
  int fd;

  fd = g_file_open_tmp ("mist-hash-XXXXXX", &path, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < 3 * 1024 * 1024 + 17; i++)
    data[i] = (guint8) (i * 2654435761u >> 13);
  g_assert_cmpint (write (fd, data, 3 * 1024 * 1024 + 17), ==, 3 * 1024 * 1024 + 17);
  close (fd);

  ours = mist_sha256_hex_file (path, NULL, &error);
  g_assert_no_error (error);

  argv_path = g_shell_quote (path);
  {
    g_autofree char *command = g_strdup_printf ("sha256sum %s", argv_path);

    g_spawn_command_line_sync (command, &output, NULL, &status, &error);
  }
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (g_str_has_prefix (output, ours));
  g_assert_true (mist_sha256_hex_is_valid (ours));
  g_unlink (path);
}

static void
test_hash_missing_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *hex = mist_sha256_hex_file ("/nonexistent/mist-file", NULL, &error);

  g_assert_null (hex);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/nonexistent/mist-file"));
}

static void
test_hash_hex_validation (void)
{
  g_assert_false (mist_sha256_hex_is_valid (NULL));
  g_assert_false (mist_sha256_hex_is_valid ("abc"));
  g_assert_false (mist_sha256_hex_is_valid (
    "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  g_assert_true (mist_sha256_hex_is_valid (
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/hash/known-vectors", test_hash_known_vectors);
  g_test_add_func ("/engine/hash/file-matches-sha256sum", test_hash_file_matches_sha256sum);
  g_test_add_func ("/engine/hash/missing-file", test_hash_missing_file);
  g_test_add_func ("/engine/hash/hex-validation", test_hash_hex_validation);
  return g_test_run ();
}
