/* test-path.c: path rules for files in a build
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-error.h"
#include "mist-path.h"

static void
test_path_valid (void)
{
  static const char *const valid[] = {
    "game",
    "bin/game.x86_64",
    "data/levels/1.pak",
    ".hidden",
    "a/.b/c",
    "..a",
    "a..",
    "名前/ファイル",
    "with space/and-dash_underscore",
    ".mist-staging-notes",
    "a/.mist-staging/b",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_true (mist_path_validate (valid[i], &error));
      g_assert_no_error (error);
    }
}

static void
test_path_invalid (void)
{
  static const struct
  {
    const char *path;
    const char *reason;
  } invalid[] = {
    { "", "empty" },
    { "/etc/passwd", "absolute" },
    { "..", ".." },
    { "../outside", ".." },
    { "a/../../b", ".." },
    { "a/..", ".." },
    { ".", "“.”" },
    { "a/./b", "“.”" },
    { "a//b", "empty component" },
    { "a/", "empty component" },
    { "a\\b", "backslash" },
    { "..\\windows", "backslash" },
    { "a\nb", "control character" },
    { "tab\there", "control character" },
    { "bad\xff utf8", "UTF-8" },
    { ".mist-staging/abc", "stages updates" },
    { ".mist-staging", "stages updates" },
    { ".Mist-Staging/abc", "stages updates" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr (GError) error = NULL;

      g_test_message ("path %zu", i);
      g_assert_false (mist_path_validate (invalid[i].path, &error));
      g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
      g_assert_nonnull (strstr (error->message, invalid[i].reason));
    }
}

static void
test_path_too_long (void)
{
  g_autofree char *long_component = g_strnfill (256, 'x');
  g_autoptr (GString) long_path = g_string_new (NULL);
  g_autoptr (GError) error = NULL;

  g_assert_false (mist_path_validate (long_component, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
  g_clear_error (&error);

  while (long_path->len <= MIST_PATH_MAX_LENGTH)
    g_string_append (long_path, "abcdefgh/");
  g_string_append (long_path, "file");
  g_assert_false (mist_path_validate (long_path->str, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
}

static void
test_path_set_duplicates (void)
{
  g_autoptr (MistPathSet) set = mist_path_set_new ();
  g_autoptr (GError) error = NULL;

  g_assert_true (mist_path_set_add (set, "Data/Level.pak", &error));
  g_assert_no_error (error);

  g_assert_false (mist_path_set_add (set, "Data/Level.pak", &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
  g_assert_nonnull (strstr (error->message, "twice"));
  g_clear_error (&error);

  g_assert_false (mist_path_set_add (set, "data/level.PAK", &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
  g_assert_nonnull (strstr (error->message, "letter case"));
  g_clear_error (&error);

  /* "é" precomposed and as "e" plus a combining accent name the same file on
   * normalization-insensitive file systems such as APFS. */
  g_assert_true (mist_path_set_add (set, "caf\xc3\xa9", &error));
  g_assert_false (mist_path_set_add (set, "cafe\xcc\x81", &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
}

static void
test_path_set_file_folder_clash (void)
{
  g_autoptr (MistPathSet) set = mist_path_set_new ();
  g_autoptr (GError) error = NULL;

  g_assert_true (mist_path_set_add (set, "bin/game", &error));
  g_assert_false (mist_path_set_add (set, "bin", &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
  g_clear_error (&error);

  g_assert_true (mist_path_set_add (set, "readme", &error));
  g_assert_false (mist_path_set_add (set, "README/notes.txt", &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
  g_clear_error (&error);

  g_assert_true (mist_path_set_add (set, "bin/tool", &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/path/valid", test_path_valid);
  g_test_add_func ("/engine/path/invalid", test_path_invalid);
  g_test_add_func ("/engine/path/too-long", test_path_too_long);
  g_test_add_func ("/engine/path/set-duplicates", test_path_set_duplicates);
  g_test_add_func ("/engine/path/set-file-folder-clash", test_path_set_file_folder_clash);
  return g_test_run ();
}
