/* test-manifest.c: build manifests in JSON
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-error.h"
#include "mist-manifest.h"

#define HASH_A "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HASH_B "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static const char valid_manifest[] =
  "{\"format\": 1, \"files\": ["
  " {\"path\": \"data/b.pak\", \"size\": 3, \"sha256\": \"" HASH_B "\","
  "  \"object\": {\"id\": \"" HASH_A "\", \"size\": 12}},"
  " {\"path\": \"game\", \"size\": 0, \"sha256\": \"" HASH_A "\", \"executable\": true}"
  "], \"launch\": {\"executable\": \"game\", \"arguments\": [\"--fullscreen\", \"-v\"],"
  " \"working_directory\": \"data\", \"environment\": {\"SDL_AUDIODRIVER\": \"pulse\"}},"
  " \"unknown_future_member\": 42}";

static void
test_manifest_parse_valid (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistManifest) manifest = mist_manifest_new_from_json (valid_manifest, -1, &error);
  const MistManifestFile *file;
  const MistLaunchConfig *launch;

  g_assert_no_error (error);
  g_assert_nonnull (manifest);
  g_assert_cmpuint (mist_manifest_get_n_files (manifest), ==, 2);
  g_assert_cmpuint (mist_manifest_get_total_size (manifest), ==, 3);

  file = mist_manifest_lookup (manifest, "data/b.pak");
  g_assert_nonnull (file);
  g_assert_cmpstr (file->sha256, ==, HASH_B);
  g_assert_false (file->executable);
  g_assert_cmpstr (file->object_id, ==, HASH_A);
  g_assert_cmpuint (file->object_size, ==, 12);

  file = mist_manifest_lookup (manifest, "game");
  g_assert_nonnull (file);
  g_assert_true (file->executable);
  g_assert_null (file->object_id);

  launch = mist_manifest_get_launch (manifest);
  g_assert_nonnull (launch);
  g_assert_cmpstr (launch->executable, ==, "game");
  g_assert_cmpstrv (launch->arguments, ((const char *const[]){ "--fullscreen", "-v", NULL }));
  g_assert_cmpstr (launch->working_directory, ==, "data");
  g_assert_cmpstr (g_hash_table_lookup (launch->environment, "SDL_AUDIODRIVER"), ==, "pulse");
}

static void
test_manifest_round_trip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistManifest) first = mist_manifest_new_from_json (valid_manifest, -1, &error);
  g_autofree char *json = NULL;
  g_autofree char *again = NULL;
  g_autoptr (MistManifest) second = NULL;

  g_assert_no_error (error);
  json = mist_manifest_to_json (first, NULL);
  second = mist_manifest_new_from_json (json, -1, &error);
  g_assert_no_error (error);
  again = mist_manifest_to_json (second, NULL);
  g_assert_cmpstr (json, ==, again);
  g_assert_nonnull (strstr (json, "\"executable\":true"));
}

static void
test_manifest_files_sorted (void)
{
  g_autoptr (MistManifest) manifest = mist_manifest_new ();
  g_autoptr (GError) error = NULL;
  const char *const paths[] = { "z", "a/b", "m", "a/a" };
  GPtrArray *files;

  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      MistManifestFile file = { .path = (char *) paths[i], .size = i, .sha256 = (char *) HASH_A };

      g_assert_true (mist_manifest_add_file (manifest, &file, &error));
      g_assert_no_error (error);
    }

  files = mist_manifest_get_files (manifest);
  g_assert_cmpstr (((MistManifestFile *) files->pdata[0])->path, ==, "a/a");
  g_assert_cmpstr (((MistManifestFile *) files->pdata[1])->path, ==, "a/b");
  g_assert_cmpstr (((MistManifestFile *) files->pdata[2])->path, ==, "m");
  g_assert_cmpstr (((MistManifestFile *) files->pdata[3])->path, ==, "z");
  g_assert_nonnull (mist_manifest_lookup (manifest, "m"));
}

static void
test_manifest_rejects_bad_input (void)
{
  static const struct
  {
    const char *json;
    int code;
    const char *message;
  } cases[] = {
    { "not json", MIST_ERROR_INVALID_DATA, "JSON" },
    { "[]", MIST_ERROR_INVALID_DATA, "top level" },
    { "{\"files\": []}", MIST_ERROR_INVALID_DATA, "“format” is missing" },
    { "{\"format\": 2, \"files\": []}", MIST_ERROR_UNSUPPORTED, "format 2" },
    { "{\"format\": \"1\", \"files\": []}", MIST_ERROR_INVALID_DATA, "“format” must be" },
    { "{\"format\": 1}", MIST_ERROR_INVALID_DATA, "“files” is missing" },
    { "{\"format\": 1, \"files\": {}}", MIST_ERROR_INVALID_DATA, "“files” must be" },
    { "{\"format\": 1, \"files\": [1]}", MIST_ERROR_INVALID_DATA, "an object" },
    { "{\"format\": 1, \"files\": [{\"path\": \"../x\", \"size\": 1, \"sha256\": \"" HASH_A "\"}]}",
      MIST_ERROR_INVALID_PATH, "“..”" },
    { "{\"format\": 1, \"files\": [{\"path\": \"/x\", \"size\": 1, \"sha256\": \"" HASH_A "\"}]}",
      MIST_ERROR_INVALID_PATH, "absolute" },
    { "{\"format\": 1, \"files\": [{\"path\": \"a\\\\b\", \"size\": 1, \"sha256\": \"" HASH_A "\"}]}",
      MIST_ERROR_INVALID_PATH, "backslash" },
    { "{\"format\": 1, \"files\": [{\"path\": \"x\", \"size\": -1, \"sha256\": \"" HASH_A "\"}]}",
      MIST_ERROR_INVALID_DATA, "non-negative" },
    { "{\"format\": 1, \"files\": [{\"path\": \"x\", \"size\": 1.5, \"sha256\": \"" HASH_A "\"}]}",
      MIST_ERROR_INVALID_DATA, "“size” must be an integer" },
    { "{\"format\": 1, \"files\": [{\"path\": \"x\", \"size\": 1, \"sha256\": \"abc\"}]}",
      MIST_ERROR_INVALID_DATA, "SHA-256 “abc”" },
    { "{\"format\": 1, \"files\": [{\"path\": \"x\", \"size\": 1, \"sha256\": \"" HASH_A "\","
      " \"executable\": \"yes\"}]}",
      MIST_ERROR_INVALID_DATA, "true or false" },
    { "{\"format\": 1, \"files\": [{\"path\": \"x\", \"size\": 1, \"sha256\": \"" HASH_A "\"},"
      " {\"path\": \"X\", \"size\": 1, \"sha256\": \"" HASH_A "\"}]}",
      MIST_ERROR_INVALID_PATH, "letter case" },
    { "{\"format\": 1, \"files\": [], \"launch\": {\"executable\": \"missing\"}}",
      MIST_ERROR_INVALID_DATA, "no such file" },
    { "{\"format\": 1, \"files\": [{\"path\": \"x\", \"size\": 1, \"sha256\": \"" HASH_A "\"}],"
      " \"launch\": {\"executable\": \"x\", \"arguments\": [1]}}",
      MIST_ERROR_INVALID_DATA, "array of strings" },
    { "{\"format\": 1, \"files\": [{\"path\": \"x\", \"size\": 1, \"sha256\": \"" HASH_A "\"}],"
      " \"launch\": {\"executable\": \"x\", \"environment\": {\"A=B\": \"c\"}}}",
      MIST_ERROR_INVALID_DATA, "“A=B”" },
    { "{\"format\": 1, \"files\": [{\"path\": \"x\", \"size\": 1, \"sha256\": \"" HASH_A "\"}],"
      " \"launch\": {\"executable\": \"x\", \"working_directory\": \"../up\"}}",
      MIST_ERROR_INVALID_PATH, "working directory" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MistManifest) manifest = NULL;

      g_test_message ("case %zu: %s", i, cases[i].json);
      manifest = mist_manifest_new_from_json (cases[i].json, -1, &error);
      g_assert_null (manifest);
      g_assert_error (error, MIST_ERROR, cases[i].code);
      if (strstr (error->message, cases[i].message) == NULL)
        g_error ("message “%s” lacks “%s”", error->message, cases[i].message);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/manifest/parse-valid", test_manifest_parse_valid);
  g_test_add_func ("/engine/manifest/round-trip", test_manifest_round_trip);
  g_test_add_func ("/engine/manifest/files-sorted", test_manifest_files_sorted);
  g_test_add_func ("/engine/manifest/rejects-bad-input", test_manifest_rejects_bad_input);
  return g_test_run ();
}
