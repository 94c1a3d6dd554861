/* install-test-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "install-test-util.h"
#include "mist-hash.h"

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <zstd.h>

static guint8 *
file_bytes (const TestFile *file, gsize *length)
{
  guint8 *data;

  if (file->content != NULL)
    {
      *length = strlen (file->content);
      return (guint8 *) g_strdup (file->content);
    }
  *length = file->size;
  data = g_malloc (file->size + 1);
  for (gsize i = 0; i < file->size; i++)
    data[i] = (guint8) ((i * 2654435761u) >> 13) ^ (guint8) strlen (file->path);
  return data;
}

static char *
write_object (const char *objects_dir, const void *data, gsize length)
{
  g_autoptr (GError) error = NULL;
  char *id = mist_sha256_hex_data (data, length);
  g_autofree char *path = g_build_filename (objects_dir, id, NULL);

  g_assert_true (g_file_set_contents (path, data, length, &error));
  g_assert_no_error (error);
  return id;
}

MistManifest *
test_make_version (const char *objects_dir, const TestFile *files, guint n_files)
{
  MistManifest *manifest = mist_manifest_new ();

  g_mkdir_with_parents (objects_dir, 0755);
  for (guint i = 0; i < n_files; i++)
    {
      g_autoptr (GError) error = NULL;
      gsize length;
      g_autofree guint8 *data = file_bytes (&files[i], &length);
      gsize bound = ZSTD_compressBound (length);
      g_autofree guint8 *compressed = g_malloc (bound);
      gsize compressed_length = ZSTD_compress (compressed, bound, data, length, 1);
      g_autofree char *sha256 = mist_sha256_hex_data (data, length);
      g_autofree char *object_id = NULL;
      MistManifestFile file = { 0 };

      g_assert_false (ZSTD_isError (compressed_length));
      object_id = write_object (objects_dir, compressed, compressed_length);
      file.path = (char *) files[i].path;
      file.size = length;
      file.sha256 = sha256;
      file.executable = files[i].executable;
      file.object_id = object_id;
      file.object_size = compressed_length;
      g_assert_true (mist_manifest_add_file (manifest, &file, &error));
      g_assert_no_error (error);
    }
  return manifest;
}

char *
test_make_delta (const char *objects_dir, const char *old_content, const char *new_content, guint64 *size)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = test_make_temporary_folder ();
  g_autofree char *old_path = g_build_filename (folder, "old", NULL);
  g_autofree char *new_path = g_build_filename (folder, "new", NULL);
  g_autofree char *delta_path = g_build_filename (folder, "delta", NULL);
  g_autofree char *delta = NULL;
  const char *argv[] = { "xdelta3", "-e", "-f", "-S", "none", "-s", old_path, new_path, delta_path, NULL };
  gsize length;
  int status;

  g_assert_true (g_file_set_contents (old_path, old_content, -1, NULL));
  g_assert_true (g_file_set_contents (new_path, new_content, -1, NULL));
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status,
                               &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (g_file_get_contents (delta_path, &delta, &length, NULL));
  test_remove_folder (folder);
  *size = length;
  return write_object (objects_dir, delta, length);
}

static gboolean
collect_tree (const char *folder, const char *prefix, GHashTable *paths)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;

  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *full = g_build_filename (folder, name, NULL);
      g_autofree char *relative = prefix[0] != '\0' ? g_strconcat (prefix, "/", name, NULL) : g_strdup (name);
      GStatBuf info;

      if (prefix[0] == '\0' && g_str_equal (name, MIST_INSTALL_STAGING_DIR))
        continue;
      if (g_lstat (full, &info) != 0)
        return FALSE;
      if (S_ISDIR (info.st_mode))
        collect_tree (full, relative, paths);
      else
        g_hash_table_add (paths, g_steal_pointer (&relative));
    }
  return TRUE;
}

gboolean
test_tree_matches (const char *folder, MistManifest *manifest)
{
  g_autoptr (GHashTable) paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *files = mist_manifest_get_files (manifest);

  if (!collect_tree (folder, "", paths))
    return FALSE;
  if (g_hash_table_size (paths) != files->len)
    {
      g_test_message ("%s has %u files, the manifest %u", folder, g_hash_table_size (paths), files->len);
      return FALSE;
    }
  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = g_ptr_array_index (files, i);
      g_autofree char *full = g_build_filename (folder, file->path, NULL);
      g_autofree char *sha256 = mist_sha256_hex_file (full, NULL, NULL);
      GStatBuf info;

      if (sha256 == NULL || strcmp (sha256, file->sha256) != 0 || g_lstat (full, &info) != 0)
        {
          g_test_message ("%s differs from the manifest", file->path);
          return FALSE;
        }
      if ((info.st_mode & 07777) != (file->executable ? 0755u : 0644u))
        {
          g_test_message ("%s has mode %o", file->path, info.st_mode & 07777);
          return FALSE;
        }
    }
  return TRUE;
}

char *
test_make_temporary_folder (void)
{
  g_autoptr (GError) error = NULL;
  char *folder = g_dir_make_tmp ("mist-install-XXXXXX", &error);

  g_assert_no_error (error);
  return folder;
}

void
test_remove_folder (const char *folder)
{
  const char *argv[] = { "rm", "-rf", folder, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
}
