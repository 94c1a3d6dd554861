/* test-install.c: install, update, resume, fallback, verify, repair, uninstall, import
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "install-test-util.h"
#include "mist-error.h"
#include "mist-hash.h"
#include "mist-object-cache.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

typedef struct
{
  char *folder;
  char *install;
  char *objects;
  MistStateDb *db;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db_path = NULL;

  fixture->folder = test_make_temporary_folder ();
  fixture->install = g_build_filename (fixture->folder, "games", "tetris", NULL);
  fixture->objects = g_build_filename (fixture->folder, "objects", NULL);
  db_path = g_build_filename (fixture->folder, "state.db", NULL);
  fixture->db = mist_state_db_open (db_path, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_pointer (&fixture->db, mist_state_db_unref);
  test_remove_folder (fixture->folder);
  g_free (fixture->folder);
  g_free (fixture->install);
  g_free (fixture->objects);
}

static gboolean
apply (Fixture *fixture, MistManifest *target, MistPlan *plan, GPtrArray **missing, GError **error)
{
  MistInstallRequest request = { 0 };

  request.game_id = "tetris";
  request.install_path = fixture->install;
  request.target = target;
  request.version_name = "1.x";
  request.plan = plan;
  request.objects_dir = fixture->objects;
  return mist_install_apply (fixture->db, &request, missing, NULL, NULL, NULL, error);
}

static MistManifest *
installed_manifest (Fixture *fixture)
{
  g_autoptr (MistInstalledGame) game = mist_state_db_get_installed (fixture->db, "tetris", NULL);

  if (game == NULL)
    return NULL;
  return mist_manifest_new_from_json (game->manifest_json, -1, NULL);
}

static void
install_full (Fixture *fixture, MistManifest *target, gint64 ordinal)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistManifest) installed = installed_manifest (fixture);
  g_autoptr (MistPlan) plan = mist_plan_new_full (installed != NULL ? 1 : 0, installed, ordinal, target);

  g_assert_true (apply (fixture, target, plan, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (fixture->install, target));
}

static const TestFile version_1[] = {
  { "bin/game", "#!/bin/sh\necho version 1\n", 0, TRUE },
  { "data/levels.dat", "level one\nlevel two\nlevel three\n", 0, FALSE },
  { "data/old.pak", "to be removed", 0, FALSE },
  { "docs/readme.txt", "Read me, version 1", 0, FALSE },
  { "empty", "", 0, FALSE },
  { "tool", "tool script", 0, FALSE },
};

static const TestFile version_2[] = {
  { "bin/game", "#!/bin/sh\necho version 2\n", 0, TRUE },
  { "data/levels.dat", "level one\nlevel two\nlevel three\nlevel four\n", 0, FALSE },
  { "docs/renamed.txt", "Read me, version 1", 0, FALSE },
  { "empty", "", 0, FALSE },
  { "new/big.bin", NULL, 300000, FALSE },
  { "tool", "tool script", 0, TRUE },
};

static void
test_install_fresh_and_update (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) first = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (MistManifest) second = test_make_version (fixture->objects, version_2, G_N_ELEMENTS (version_2));
  g_autoptr (MistInstalledGame) game = NULL;
  g_autoptr (GPtrArray) files = NULL;
  g_autofree char *staging = g_build_filename (fixture->install, MIST_INSTALL_STAGING_DIR, NULL);
  g_autoptr (GError) error = NULL;

  install_full (fixture, first, 1);
  install_full (fixture, second, 2);

  game = mist_state_db_get_installed (fixture->db, "tetris", &error);
  g_assert_no_error (error);
  g_assert_cmpint (game->version_ordinal, ==, 2);
  g_assert_cmpuint (game->size, ==, mist_manifest_get_total_size (second));
  files = mist_state_db_list_installed_files (fixture->db, "tetris", &error);
  g_assert_cmpuint (files->len, ==, G_N_ELEMENTS (version_2));
  g_assert_false (g_file_test (staging, G_FILE_TEST_EXISTS));
}

/* Paths that share one content take it from one staged file: copies first, the last
 * use renames it. */
static void
test_install_shared_content (Fixture *fixture, gconstpointer data)
{
  static const TestFile files[] = {
    { "a/first.txt", "the same content", 0, FALSE },
    { "b/second.txt", "the same content", 0, FALSE },
    { "c/other.txt", "other content", 0, FALSE },
    { "d/third.txt", "the same content", 0, TRUE },
  };
  g_autoptr (MistManifest) target
    = test_make_version (fixture->objects, files, G_N_ELEMENTS (files));

  install_full (fixture, target, 1);
}

/* Builds version 2 of two files from deltas, one of them through version 1.5. */
static void
test_install_delta_chain (Fixture *fixture, gconstpointer data)
{
  static const TestFile v1[] = { { "a.txt", "alpha one, with some shared text to diff against", 0, FALSE },
                                 { "b.txt", "beta one, with some shared text to diff against", 0, FALSE } };
  static const TestFile v2[] = { { "a.txt", "alpha one, with some shared text to diff against, twice", 0, FALSE },
                                 { "b.txt", "beta two, with some shared text to diff against", 0, FALSE } };
  g_autoptr (MistManifest) first = test_make_version (fixture->objects, v1, 2);
  g_autoptr (MistManifest) second = test_make_version (fixture->objects, v2, 2);
  g_autoptr (MistVersionGraph) graph = mist_version_graph_new ();
  g_autoptr (MistPatchSet) step_1 = mist_patch_set_new (1, 2, 10);
  g_autoptr (MistPatchSet) step_2 = mist_patch_set_new (2, 3, 10);
  g_autoptr (MistPlan) plan = NULL;
  g_autoptr (GError) error = NULL;
  const char *middle_a = "alpha one, with some shared text to diff against, once";
  g_autofree char *middle_sha = mist_sha256_hex_data (middle_a, strlen (middle_a));
  MistVersionInfo info = { 0 };
  MistPatchFile file = { 0 };
  guint64 size;
  g_autofree char *a_1 = test_make_delta (fixture->objects, v1[0].content, middle_a, &size);
  guint64 a_1_size = size;
  g_autofree char *a_2 = test_make_delta (fixture->objects, middle_a, v2[0].content, &size);
  guint64 a_2_size = size;
  g_autofree char *b_1 = test_make_delta (fixture->objects, v1[1].content, v2[1].content, &size);
  guint64 b_1_size = size;

  for (gint64 v = 1; v <= 3; v++)
    {
      info.ordinal = v;
      info.download_size = 100000;
      g_assert_true (mist_version_graph_add_version (graph, &info, NULL));
    }

  file.format = (char *) "vcdiff";
  file.path = (char *) "a.txt";
  file.object_id = a_1;
  file.object_size = MIN (a_1_size, 1);
  file.source_sha256 = mist_manifest_lookup (first, "a.txt")->sha256;
  file.target_sha256 = middle_sha;
  g_assert_true (mist_patch_set_add_file (step_1, &file, NULL));
  file.path = (char *) "b.txt";
  file.object_id = b_1;
  file.object_size = MIN (b_1_size, 1);
  file.source_sha256 = mist_manifest_lookup (first, "b.txt")->sha256;
  file.target_sha256 = mist_manifest_lookup (second, "b.txt")->sha256;
  g_assert_true (mist_patch_set_add_file (step_1, &file, NULL));
  file.path = (char *) "a.txt";
  file.object_id = a_2;
  file.object_size = MIN (a_2_size, 1);
  file.source_sha256 = middle_sha;
  file.target_sha256 = mist_manifest_lookup (second, "a.txt")->sha256;
  g_assert_true (mist_patch_set_add_file (step_2, &file, NULL));
  g_assert_true (mist_version_graph_add_patch_set (graph, step_1, NULL));
  g_assert_true (mist_version_graph_add_patch_set (graph, step_2, NULL));

  install_full (fixture, first, 1);
  plan = mist_plan_compute (graph, 1, first, 3, second, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mist_plan_lookup_file (plan, "a.txt")->deltas->len, ==, 2);
  g_assert_cmpuint (mist_plan_lookup_file (plan, "b.txt")->deltas->len, ==, 1);

  /* Delete the full objects: only the deltas may be used. */
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *path = g_build_filename (fixture->objects,
                                                ((MistManifestFile *) mist_manifest_get_files (second)->pdata[i])->object_id,
                                                NULL);

      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_true (apply (fixture, second, plan, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (fixture->install, second));
}

static void
test_install_missing_objects_then_resume (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) target = test_make_version (fixture->objects, version_2, G_N_ELEMENTS (version_2));
  g_autoptr (MistPlan) plan = mist_plan_new_full (0, NULL, 2, target);
  g_autoptr (GPtrArray) missing = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *hidden = g_build_filename (fixture->folder, "hidden", NULL);
  const char *object_id = mist_manifest_lookup (target, "new/big.bin")->object_id;
  g_autofree char *object_path = g_build_filename (fixture->objects, object_id, NULL);

  g_assert_cmpint (g_rename (object_path, hidden), ==, 0);
  g_assert_false (apply (fixture, target, plan, &missing, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_assert_nonnull (missing);
  g_assert_cmpuint (missing->len, ==, 1);
  g_assert_cmpstr (((MistPlanObject *) missing->pdata[0])->object_id, ==, object_id);
  g_assert_null (mist_state_db_get_installed (fixture->db, "tetris", NULL));
  g_clear_error (&error);

  g_assert_cmpint (g_rename (hidden, object_path), ==, 0);
  g_assert_true (apply (fixture, target, plan, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (fixture->install, target));
}

/* A version of n files in a few folders, each with its own content. names keeps the
 * paths alive. */
static MistManifest *
make_many_files (Fixture *fixture, guint n, GPtrArray *names)
{
  g_autofree TestFile *files = g_new0 (TestFile, n);

  for (guint i = 0; i < n; i++)
    {
      char *path = g_strdup_printf ("assets/%02u/file-%04u.dat", i / 50, i);

      g_ptr_array_add (names, path);
      files[i].path = path;
      files[i].size = 100 + i;
    }
  return test_make_version (fixture->objects, files, n);
}

/* Files are staged by several threads, but the missing objects still come in the order of
 * the files that need them, and the resume stages only what is left. */
static void
test_install_many_files_missing_in_order (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (MistManifest) target = make_many_files (fixture, 200, names);
  g_autoptr (MistPlan) plan = mist_plan_new_full (0, NULL, 1, target);
  g_autoptr (GPtrArray) hidden = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) missing = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *hidden_dir = g_build_filename (fixture->folder, "hidden", NULL);
  GPtrArray *files = mist_manifest_get_files (target);

  g_assert_cmpint (g_mkdir (hidden_dir, 0755), ==, 0);
  for (guint i = 0; i < files->len; i += 3)
    {
      const MistManifestFile *file = g_ptr_array_index (files, i);
      g_autofree char *path = g_build_filename (fixture->objects, file->object_id, NULL);
      g_autofree char *moved = g_build_filename (hidden_dir, file->object_id, NULL);

      g_assert_cmpint (g_rename (path, moved), ==, 0);
      g_ptr_array_add (hidden, g_strdup (file->object_id));
    }

  g_assert_false (apply (fixture, target, plan, &missing, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_assert_nonnull (missing);
  g_assert_cmpuint (missing->len, ==, hidden->len);
  for (guint i = 0; i < hidden->len; i++)
    g_assert_cmpstr (((MistPlanObject *)missing->pdata[i])->object_id, ==, hidden->pdata[i]);
  g_assert_null (mist_state_db_get_installed (fixture->db, "tetris", NULL));
  g_clear_error (&error);

  for (guint i = 0; i < hidden->len; i++)
    {
      g_autofree char *path = g_build_filename (fixture->objects, hidden->pdata[i], NULL);
      g_autofree char *moved = g_build_filename (hidden_dir, hidden->pdata[i], NULL);

      g_assert_cmpint (g_rename (moved, path), ==, 0);
    }
  g_assert_true (apply (fixture, target, plan, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (fixture->install, target));
}

/* One bad file among many stops the staging with its name, whichever thread finds it,
 * and installs nothing. */
static void
test_install_many_files_one_bad (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (MistManifest) target = make_many_files (fixture, 200, names);
  g_autoptr (MistPlan) plan = mist_plan_new_full (0, NULL, 1, target);
  const MistManifestFile *bad = g_ptr_array_index (mist_manifest_get_files (target), 150);
  const MistManifestFile *other = g_ptr_array_index (mist_manifest_get_files (target), 10);
  g_autofree char *bad_path = g_build_filename (fixture->objects, bad->object_id, NULL);
  g_autofree char *other_path = g_build_filename (fixture->objects, other->object_id, NULL);
  g_autofree char *kept = g_build_filename (fixture->folder, "kept", NULL);
  g_autoptr (GFile) other_file = g_file_new_for_path (other_path);
  g_autoptr (GFile) bad_file = g_file_new_for_path (bad_path);
  g_autoptr (GError) error = NULL;

  /* A valid object of another file's content in place of the bad file's object. */
  g_assert_cmpint (g_rename (bad_path, kept), ==, 0);
  g_assert_true (g_file_copy (other_file, bad_file, G_FILE_COPY_NONE, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  g_assert_false (apply (fixture, target, plan, NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH);
  g_assert_nonnull (strstr (error->message, bad->path));
  g_assert_null (mist_state_db_get_installed (fixture->db, "tetris", NULL));
  g_clear_error (&error);

  g_assert_cmpint (g_rename (kept, bad_path), ==, 0);
  g_assert_true (apply (fixture, target, plan, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (fixture->install, target));
}

/* Fills request for an apply of target through the pack entries in cache. */
static void
fill_request (MistInstallRequest *request,
              Fixture *fixture,
              MistManifest *target,
              MistPlan *plan,
              MistObjectCache *cache)
{
  request->game_id = "tetris";
  request->install_path = fixture->install;
  request->target = target;
  request->version_name = "1.0";
  request->plan = plan;
  request->objects_dir = fixture->objects;
  request->objects = cache;
}

/* Moves the objects of manifest into one pack of the cache, at offsets 100 bytes apart,
 * as a download of pack entries stores them. Returns the cache. */
static MistObjectCache *
move_objects_into_pack (Fixture *fixture, MistManifest *manifest, const char *pack_id)
{
  MistObjectCache *cache = mist_object_cache_new (fixture->objects);
  GPtrArray *files = mist_manifest_get_files (manifest);
  guint64 offset = 0;

  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = g_ptr_array_index (files, i);
      g_autofree char *path = g_build_filename (fixture->objects, file->object_id, NULL);
      g_autofree char *bytes = NULL;
      g_autoptr (GError) error = NULL;
      gsize length = 0;

      if (!g_file_get_contents (path, &bytes, &length, NULL))
        continue; /* a content shared by two paths, moved already */
      g_assert_true (mist_object_cache_store_entry (cache, pack_id, file->object_id, offset,
                                                    (const guint8 *)bytes, length, &error));
      g_assert_no_error (error);
      g_assert_cmpint (g_unlink (path), ==, 0);
      offset += length + 100;
    }
  return cache;
}

/* The cache that stored a pack entry hands it out without hashing it again. Damaged on
 * disk behind its back, the entry is still found out, when its file fails to build,
 * and reported missing so that it is fetched again. */
static void
test_install_trusted_entry_damaged (Fixture *fixture, gconstpointer data)
{
  static const char pack_id[] = "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  g_autoptr (MistManifest) target
    = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (MistPlan) plan = mist_plan_new_full (0, NULL, 1, target);
  g_autoptr (MistObjectCache) cache = move_objects_into_pack (fixture, target, pack_id);
  const MistManifestFile *damaged = mist_manifest_lookup (target, "data/levels.dat");
  g_autofree char *pack_name = g_strconcat ("pack-", pack_id, NULL);
  g_autofree char *pack_path = g_build_filename (fixture->objects, pack_name, NULL);
  g_autofree char *contents = NULL;
  g_autofree char *object_bytes = NULL;
  g_autoptr (GPtrArray) missing = NULL;
  g_autoptr (GError) error = NULL;
  MistInstallRequest request = { 0 };
  gsize length = 0;
  char *found;
  int fd;

  /* Overwrite the middle of the entry's bytes in the pack file. */
  fd = mist_object_cache_open (cache, damaged->object_id, &error);
  g_assert_no_error (error);
  object_bytes = g_malloc0 (damaged->object_size);
  g_assert_cmpint (read (fd, object_bytes, damaged->object_size), ==, (gssize)damaged->object_size);
  close (fd);
  g_assert_true (g_file_get_contents (pack_path, &contents, &length, &error));
  found = memmem (contents, length, object_bytes, damaged->object_size);
  g_assert_nonnull (found);
  memset (found + damaged->object_size / 2, 'x', 4);
  g_assert_true (g_file_set_contents (pack_path, contents, (gssize)length, &error));
  g_assert_no_error (error);

  fill_request (&request, fixture, target, plan, cache);
  g_assert_false (mist_install_apply (fixture->db, &request, &missing, NULL, NULL, NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_assert_nonnull (missing);
  g_assert_cmpuint (missing->len, ==, 1);
  g_assert_cmpstr (((MistPlanObject *)missing->pdata[0])->object_id, ==, damaged->object_id);
  g_assert_false (mist_object_cache_contains (cache, damaged->object_id));
  g_assert_null (mist_state_db_get_installed (fixture->db, "tetris", NULL));
}

/* Returns the bytes of an object and deletes its file, as if it were not downloaded. */
static GBytes *
take_object (Fixture *fixture, const char *object_id)
{
  g_autofree char *path = g_build_filename (fixture->objects, object_id, NULL);
  char *bytes = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &bytes, &length, NULL));
  g_assert_cmpint (g_unlink (path), ==, 0);
  return g_bytes_new_take (bytes, length);
}

typedef struct
{
  MistObjectCache *cache;
  GPtrArray *files;  /* MistManifestFile, in the order to store their objects */
  GHashTable *bytes; /* object id → GBytes, taken out of the objects folder */
  char *staging;     /* the staging folder to watch */
  gint storing;      /* atomic */
} Feeder;

static gboolean
feeder_more (gpointer data)
{
  Feeder *feeder = data;

  return g_atomic_int_get (&feeder->storing);
}

/* Stores the objects as pack entries one at a time, as a download does, each once the
 * file of the one before is staged, then ends. */
static gpointer
feed_entries (gpointer data)
{
  static const char pack_id[] = "2123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  Feeder *feeder = data;
  guint64 offset = 0;

  for (guint i = 0; i < feeder->files->len; i++)
    {
      const MistManifestFile *file = g_ptr_array_index (feeder->files, i);
      GBytes *bytes = g_hash_table_lookup (feeder->bytes, file->object_id);
      g_autofree char *staged = g_build_filename (feeder->staging, file->sha256, NULL);
      g_autoptr (GError) error = NULL;
      gsize length = 0;
      const guint8 *content = g_bytes_get_data (bytes, &length);
      gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

      g_assert_true (mist_object_cache_store_entry (feeder->cache, pack_id, file->object_id, offset,
                                                    content, length, &error));
      g_assert_no_error (error);
      offset += length;
      while (!g_file_test (staged, G_FILE_TEST_IS_REGULAR))
        {
          g_assert_cmpint (g_get_monotonic_time (), <, deadline);
          g_usleep (1000);
        }
    }
  g_atomic_int_set (&feeder->storing, FALSE);
  mist_object_cache_wake (feeder->cache);
  return NULL;
}

/* Early staging stages each file as its entry arrives and stops when the download ends.
 * The apply then installs the version from what was staged. */
static void
test_install_stage_early (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (MistManifest) target = make_many_files (fixture, 20, names);
  g_autoptr (MistPlan) plan = mist_plan_new_full (0, NULL, 1, target);
  g_autoptr (MistObjectCache) cache = mist_object_cache_new (fixture->objects);
  g_autoptr (GHashTable) staged = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *staging = g_build_filename (fixture->install, MIST_INSTALL_STAGING_DIR, NULL);
  GPtrArray *files = mist_manifest_get_files (target);
  Feeder feeder = { cache, files, NULL, staging, TRUE };
  MistInstallRequest request = { 0 };
  GThread *thread;

  feeder.bytes
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = g_ptr_array_index (files, i);

      g_hash_table_insert (feeder.bytes, g_strdup (file->object_id),
                           take_object (fixture, file->object_id));
    }

  fill_request (&request, fixture, target, plan, cache);
  thread = g_thread_new ("feed", feed_entries, &feeder);
  staged = mist_install_stage_early (fixture->db, &request, feeder_more, &feeder, NULL);
  g_thread_join (thread);
  g_assert_cmpuint (g_hash_table_size (staged), ==, files->len);
  g_assert_null (mist_state_db_get_installed (fixture->db, "tetris", NULL));

  request.staged = staged;
  g_assert_true (mist_install_apply (fixture->db, &request, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (fixture->install, target));
  g_hash_table_unref (feeder.bytes);
}

typedef struct
{
  MistStateDb *db;
  const MistInstallRequest *request;
  Feeder *feeder;
} EarlyRun;

static gpointer
stage_early_thread (gpointer data)
{
  EarlyRun *run = data;

  return mist_install_stage_early (run->db, run->request, feeder_more, run->feeder, NULL);
}

static guint
count_files (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  guint count = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    count++;
  return count;
}

/* A download that ends before all entries arrived leaves the other files to the apply,
 * which reports their objects as missing. */
static void
test_install_stage_early_partial (Fixture *fixture, gconstpointer data)
{
  static const char pack_id[] = "3123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (MistManifest) target = make_many_files (fixture, 20, names);
  g_autoptr (MistPlan) plan = mist_plan_new_full (0, NULL, 1, target);
  g_autoptr (MistObjectCache) cache = mist_object_cache_new (fixture->objects);
  g_autoptr (GHashTable) staged = NULL;
  g_autoptr (GPtrArray) missing = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *staging = g_build_filename (fixture->install, MIST_INSTALL_STAGING_DIR, NULL);
  GPtrArray *files = mist_manifest_get_files (target);
  Feeder feeder = { cache, files, NULL, staging, TRUE };
  MistInstallRequest request = { 0 };
  EarlyRun run = { fixture->db, &request, &feeder };
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  guint64 offset = 0;
  GThread *thread;

  /* Half the objects became pack entries; the download ends without the others. */
  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = g_ptr_array_index (files, i);
      g_autoptr (GBytes) object = take_object (fixture, file->object_id);
      gsize length = 0;
      const guint8 *bytes = g_bytes_get_data (object, &length);

      if (i % 2 == 1)
        continue;
      g_assert_true (mist_object_cache_store_entry (cache, pack_id, file->object_id, offset,
                                                    (const guint8 *)bytes, length, &error));
      g_assert_no_error (error);
      offset += length;
    }

  fill_request (&request, fixture, target, plan, cache);
  thread = g_thread_new ("stage-early", stage_early_thread, &run);
  while (count_files (staging) < files->len / 2)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (1000);
    }
  g_atomic_int_set (&feeder.storing, FALSE);
  mist_object_cache_wake (cache);
  staged = g_thread_join (thread);
  g_assert_cmpuint (g_hash_table_size (staged), ==, files->len / 2);

  request.staged = staged;
  g_assert_false (mist_install_apply (fixture->db, &request, &missing, NULL, NULL, NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_assert_cmpuint (missing->len, ==, files->len / 2);
  g_assert_null (mist_state_db_get_installed (fixture->db, "tetris", NULL));
}

/* An object that decompresses to other content than its file's hash fails the install,
 * naming the file, and leaves nothing installed. */
static void
test_install_object_content_mismatch (Fixture *fixture, gconstpointer data)
{
  static const char other[] = "not the content of levels.dat";
  g_autoptr (MistManifest) target
    = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (MistPlan) plan = mist_plan_new_full (0, NULL, 1, target);
  const MistManifestFile *file = mist_manifest_lookup (target, "data/levels.dat");
  g_autofree char *path = g_build_filename (fixture->objects, file->object_id, NULL);
  g_autofree char *compressed = g_malloc (ZSTD_compressBound (sizeof other));
  g_autoptr (GError) error = NULL;
  size_t length;

  length = ZSTD_compress (compressed, ZSTD_compressBound (sizeof other), other, sizeof other, 3);
  g_assert_false (ZSTD_isError (length));
  g_assert_true (g_file_set_contents (path, compressed, (gssize)length, &error));

  g_assert_false (apply (fixture, target, plan, NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH);
  g_assert_nonnull (strstr (error->message, "data/levels.dat"));
  g_assert_null (mist_state_db_get_installed (fixture->db, "tetris", NULL));
}

/* Objects stored as pack entries install as single objects do; a damaged entry is
 * reported missing and dropped, so that it is fetched again. */
static void
test_install_from_pack_entries (Fixture *fixture, gconstpointer data)
{
  static const char pack_id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  g_autoptr (MistManifest) target
    = test_make_version (fixture->objects, version_2, G_N_ELEMENTS (version_2));
  g_autoptr (MistPlan) plan = mist_plan_new_full (0, NULL, 2, target);
  g_autoptr (MistObjectCache) cache = move_objects_into_pack (fixture, target, pack_id);
  const MistManifestFile *damaged = mist_manifest_lookup (target, "data/levels.dat");
  g_autofree char *pack_name = g_strconcat ("pack-", pack_id, NULL);
  g_autofree char *pack_path = g_build_filename (fixture->objects, pack_name, NULL);
  g_autoptr (GPtrArray) missing = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *bytes = NULL;
  g_autofree char *garbage = NULL;
  GStatBuf info;
  int fd;

  /* Store the entry of one file again, at the end of the pack, with other bytes. */
  fd = mist_object_cache_open (cache, damaged->object_id, &error);
  g_assert_no_error (error);
  bytes = g_malloc0 (damaged->object_size);
  g_assert_cmpint (read (fd, bytes, damaged->object_size), ==, (gssize)damaged->object_size);
  close (fd);
  g_assert_cmpint (g_stat (pack_path, &info), ==, 0);
  garbage = g_strnfill (damaged->object_size, 'x');
  g_assert_true (mist_object_cache_store_entry (cache, pack_id, damaged->object_id,
                                                (guint64)info.st_size + 10, (const guint8 *)garbage,
                                                damaged->object_size, &error));
  g_assert_no_error (error);
  g_clear_pointer (&cache, mist_object_cache_unref);

  g_assert_false (apply (fixture, target, plan, &missing, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_assert_nonnull (missing);
  g_assert_cmpuint (missing->len, ==, 1);
  g_assert_cmpstr (((MistPlanObject *)missing->pdata[0])->object_id, ==, damaged->object_id);
  g_clear_error (&error);

  /* Fetched again, the object completes the install. */
  cache = mist_object_cache_new (fixture->objects);
  g_assert_false (mist_object_cache_contains (cache, damaged->object_id));
  g_assert_true (mist_object_cache_store_entry (cache, pack_id, damaged->object_id,
                                                (guint64)info.st_size + 10, (const guint8 *)bytes,
                                                damaged->object_size, &error));
  g_assert_no_error (error);
  g_assert_true (apply (fixture, target, plan, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (fixture->install, target));
}

/* A user-modified source file makes its delta fail; the full object takes over. */
static void
test_install_delta_fallback (Fixture *fixture, gconstpointer data)
{
  static const TestFile v1[] = { { "a.txt", "alpha one, some shared text to diff against", 0, FALSE } };
  static const TestFile v2[] = { { "a.txt", "alpha two, some shared text to diff against", 0, FALSE } };
  g_autoptr (MistManifest) first = test_make_version (fixture->objects, v1, 1);
  g_autoptr (MistManifest) second = test_make_version (fixture->objects, v2, 1);
  g_autoptr (MistVersionGraph) graph = mist_version_graph_new ();
  g_autoptr (MistPatchSet) patch_set = mist_patch_set_new (1, 2, 10);
  g_autoptr (MistPlan) plan = NULL;
  g_autoptr (GPtrArray) missing = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *modified = g_build_filename (fixture->install, "a.txt", NULL);
  const char *full_id = mist_manifest_lookup (second, "a.txt")->object_id;
  g_autofree char *full_path = g_build_filename (fixture->objects, full_id, NULL);
  g_autofree char *hidden = g_build_filename (fixture->folder, "hidden", NULL);
  MistVersionInfo info = { 0 };
  MistPatchFile file = { 0 };
  guint64 size;
  g_autofree char *delta = test_make_delta (fixture->objects, v1[0].content, v2[0].content, &size);

  for (gint64 v = 1; v <= 2; v++)
    {
      info.ordinal = v;
      info.download_size = 100000;
      g_assert_true (mist_version_graph_add_version (graph, &info, NULL));
    }
  file.path = (char *) "a.txt";
  file.format = (char *) "vcdiff";
  file.object_id = delta;
  file.object_size = 1; /* cheaper than the full object, so the plan takes it */
  file.source_sha256 = mist_manifest_lookup (first, "a.txt")->sha256;
  file.target_sha256 = mist_manifest_lookup (second, "a.txt")->sha256;
  g_assert_true (mist_patch_set_add_file (patch_set, &file, NULL));
  g_assert_true (mist_version_graph_add_patch_set (graph, patch_set, NULL));

  install_full (fixture, first, 1);
  g_assert_true (g_file_set_contents (modified, "the user edited this file entirely", -1, NULL));
  plan = mist_plan_compute (graph, 1, first, 2, second, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mist_plan_lookup_file (plan, "a.txt")->deltas->len, ==, 1);

  /* Without the full object, the apply reports it as missing... */
  g_assert_cmpint (g_rename (full_path, hidden), ==, 0);
  g_assert_false (apply (fixture, second, plan, &missing, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_assert_cmpuint (missing->len, ==, 1);
  g_assert_cmpstr (((MistPlanObject *) missing->pdata[0])->object_id, ==, full_id);
  g_assert_cmpuint (mist_plan_lookup_file (plan, "a.txt")->deltas->len, ==, 0);
  g_clear_error (&error);

  /* ...and with it, the update completes. */
  g_assert_cmpint (g_rename (hidden, full_path), ==, 0);
  g_assert_true (apply (fixture, second, plan, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (fixture->install, second));
}

static void
test_install_symlink_outside (Fixture *fixture, gconstpointer data)
{
  static const TestFile first_files[] = { { "readme", "version one", 0, FALSE } };
  static const TestFile second_files[] = { { "readme", "version one", 0, FALSE },
                                           { "data/payload", "must not escape", 0, FALSE } };
  g_autoptr (MistManifest) first = test_make_version (fixture->objects, first_files, 1);
  g_autoptr (MistManifest) second = test_make_version (fixture->objects, second_files, 2);
  g_autoptr (MistPlan) first_plan = mist_plan_new_full (0, NULL, 1, first);
  g_autoptr (MistPlan) second_plan = mist_plan_new_full (1, first, 2, second);
  g_autoptr (MistInstalledGame) installed = NULL;
  g_autoptr (MistJournalEntry) entry = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *outside = g_build_filename (fixture->folder, "outside", NULL);
  g_autofree char *link = g_build_filename (fixture->install, "data", NULL);
  g_autofree char *escaped = g_build_filename (outside, "payload", NULL);

  g_assert_true (apply (fixture, first, first_plan, NULL, &error));
  g_assert_no_error (error);

  /* A symlink planted in the installed game must not lead the update outside it. */
  g_assert_cmpint (g_mkdir_with_parents (outside, 0755), ==, 0);
  g_assert_cmpint (symlink (outside, link), ==, 0);

  g_assert_false (apply (fixture, second, second_plan, NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
  g_assert_false (g_file_test (escaped, G_FILE_TEST_EXISTS));
  entry = mist_state_db_journal_get (fixture->db, "tetris", NULL);
  g_assert_nonnull (entry);
  g_assert_cmpint (entry->state, ==, MIST_JOURNAL_STATE_STAGING);
  installed = mist_state_db_get_installed (fixture->db, "tetris", NULL);
  g_assert_nonnull (installed);
  g_assert_cmpint (installed->version_ordinal, ==, 1);
}

static void
test_install_rejects_non_empty_folder (Fixture *fixture, gconstpointer data)
{
  static const TestFile files[] = { { "levels.txt", "the game's levels", 0, FALSE } };
  g_autoptr (MistManifest) target = test_make_version (fixture->objects, files, 1);
  g_autoptr (MistPlan) plan = mist_plan_new_full (0, NULL, 1, target);
  g_autoptr (GError) error = NULL;
  g_autofree char *user_file = g_build_filename (fixture->install, "levels.txt", NULL);
  g_autofree char *content = NULL;

  g_assert_cmpint (g_mkdir_with_parents (fixture->install, 0755), ==, 0);
  g_assert_true (g_file_set_contents (user_file, "the user's own levels", -1, &error));

  g_assert_false (apply (fixture, target, plan, NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
  g_assert_nonnull (strstr (error->message, fixture->install));
  g_assert_null (mist_state_db_get_installed (fixture->db, "tetris", NULL));
  g_clear_error (&error);

  g_assert_true (g_file_get_contents (user_file, &content, NULL, &error));
  g_assert_cmpstr (content, ==, "the user's own levels");
}

static void
test_install_bad_manifest_paths (Fixture *fixture, gconstpointer data)
{
  const char *bad_paths[] = { "../escape", "/etc/passwd", "a/../../b", "a//b", "./a", "a\\\\b", "a/", "" };

  for (guint i = 0; i < G_N_ELEMENTS (bad_paths); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *json = g_strdup_printf (
        "{\"format\": 1, \"files\": [{\"path\": \"%s\", \"size\": 1, \"sha256\": "
        "\"%064d\", \"executable\": false, \"object\": {\"id\": \"%064d\", \"size\": 1}}]}",
        bad_paths[i], 0, 0);
      g_autoptr (MistManifest) manifest = mist_manifest_new_from_json (json, -1, &error);

      g_test_message ("path \"%s\"", bad_paths[i]);
      g_assert_null (manifest);
      g_assert_nonnull (error);
      g_assert_true (error->domain == MIST_ERROR);
    }
}

static void
test_install_verify_repair (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) target = test_make_version (fixture->objects, version_2, G_N_ELEMENTS (version_2));
  g_autoptr (MistManifest) manifest = NULL;
  g_autoptr (GPtrArray) bad = NULL;
  g_autoptr (GPtrArray) clean = NULL;
  g_autoptr (MistPlan) repair = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *modified = g_build_filename (fixture->install, "data", "levels.dat", NULL);
  g_autofree char *deleted = g_build_filename (fixture->install, "tool", NULL);
  g_autofree char *binary = g_build_filename (fixture->install, "bin", "game", NULL);

  install_full (fixture, target, 2);
  g_assert_true (g_file_set_contents (modified, "cheated", -1, NULL));
  g_assert_cmpint (g_unlink (deleted), ==, 0);
  g_assert_cmpint (g_chmod (binary, 0644), ==, 0);

  bad = mist_install_verify (fixture->db, "tetris", NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bad->len, ==, 3);
  g_assert_cmpstr (bad->pdata[0], ==, "bin/game");
  g_assert_cmpstr (bad->pdata[1], ==, "data/levels.dat");
  g_assert_cmpstr (bad->pdata[2], ==, "tool");

  repair = mist_install_plan_repair (fixture->db, "tetris", bad, &manifest, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mist_plan_get_files (repair)->len, ==, 3);
  g_assert_true (apply (fixture, manifest, repair, NULL, &error));
  g_assert_no_error (error);

  clean = mist_install_verify (fixture->db, "tetris", NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (clean->len, ==, 0);
  g_assert_true (test_tree_matches (fixture->install, target));
}

/* Verifies the installed game, checks that it finds exactly one obstruction, and returns
 * it. */
static MistObstruction *
verify_one_obstruction (Fixture *fixture, const char *bad_path)
{
  g_autoptr (GPtrArray) bad = NULL;
  g_autoptr (GPtrArray) obstructions = NULL;
  g_autoptr (GError) error = NULL;

  bad = mist_install_verify (fixture->db, "tetris", &obstructions, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_ptr_array_find_with_equal_func (bad, bad_path, g_str_equal, NULL));
  g_assert_nonnull (obstructions);
  g_assert_cmpuint (obstructions->len, ==, 1);
  return g_ptr_array_steal_index (obstructions, 0);
}

/* Verifies the installed game and applies the repair plan for what it found. */
static gboolean
repair (Fixture *fixture, GError **error)
{
  g_autoptr (GPtrArray) bad = NULL;
  g_autoptr (MistManifest) manifest = NULL;
  g_autoptr (MistPlan) plan = NULL;

  bad = mist_install_verify (fixture->db, "tetris", NULL, NULL, NULL, NULL, error);
  g_assert_nonnull (bad);
  plan = mist_install_plan_repair (fixture->db, "tetris", bad, &manifest, error);
  g_assert_nonnull (plan);
  return apply (fixture, manifest, plan, NULL, error);
}

static void
assert_journal_state (Fixture *fixture, MistJournalState state)
{
  g_autoptr (MistJournalEntry) entry = mist_state_db_journal_get (fixture->db, "tetris", NULL);

  g_assert_nonnull (entry);
  g_assert_cmpint (entry->state, ==, state);
}

/* An empty folder in place of a game file contains no data, so the repair replaces it. */
static void
test_install_obstruction_empty_folder (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) target
    = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (MistObstruction) obstruction = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *levels = g_build_filename (fixture->install, "data", "levels.dat", NULL);
  g_autofree char *description = NULL;

  install_full (fixture, target, 1);
  g_assert_cmpint (g_unlink (levels), ==, 0);
  g_assert_cmpint (g_mkdir (levels, 0755), ==, 0);

  obstruction = verify_one_obstruction (fixture, "data/levels.dat");
  g_assert_cmpstr (obstruction->path, ==, "data/levels.dat");
  g_assert_cmpint (obstruction->kind, ==, MIST_OBSTRUCTION_FOLDER_FOR_FILE);
  g_assert_true (obstruction->replaceable);
  description = mist_obstruction_describe (obstruction);
  g_assert_cmpstr (description, ==, "data/levels.dat is a folder where the game has a file");

  g_assert_true (repair (fixture, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (fixture->install, target));
}

/* A folder with files in place of a game file may hold the user's data: the repair fails
 * before its commit, naming the folder and what to do, and places no other file. Once
 * the folder is gone, the next repair completes. */
static void
test_install_obstruction_folder_with_files (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) target
    = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (MistObstruction) obstruction = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *levels = g_build_filename (fixture->install, "data", "levels.dat", NULL);
  g_autofree char *user_file = g_build_filename (levels, "notes.txt", NULL);
  g_autofree char *changed = g_build_filename (fixture->install, "tool", NULL);
  g_autofree char *content = NULL;

  install_full (fixture, target, 1);
  g_assert_cmpint (g_unlink (levels), ==, 0);
  g_assert_cmpint (g_mkdir (levels, 0755), ==, 0);
  g_assert_true (g_file_set_contents (user_file, "the user's notes", -1, NULL));
  g_assert_true (g_file_set_contents (changed, "changed", -1, NULL));

  obstruction = verify_one_obstruction (fixture, "data/levels.dat");
  g_assert_cmpint (obstruction->kind, ==, MIST_OBSTRUCTION_FOLDER_FOR_FILE);
  g_assert_false (obstruction->replaceable);

  g_assert_false (repair (fixture, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
  g_assert_nonnull (strstr (error->message, fixture->install));
  g_assert_nonnull (
    strstr (error->message, "data/levels.dat is a folder where the game has a file"));
  g_assert_nonnull (strstr (error->message, "not empty"));
  g_assert_nonnull (strstr (error->message, "move or delete it, then run the repair again"));
  g_clear_error (&error);
  assert_journal_state (fixture, MIST_JOURNAL_STATE_STAGING);
  g_assert_true (g_file_get_contents (user_file, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "the user's notes");
  g_clear_pointer (&content, g_free);
  g_assert_true (g_file_get_contents (changed, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "changed");

  g_assert_cmpint (g_unlink (user_file), ==, 0);
  g_assert_cmpint (g_rmdir (levels), ==, 0);
  g_assert_true (repair (fixture, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (fixture->install, target));
  g_assert_null (mist_state_db_journal_get (fixture->db, "tetris", NULL));
}

/* A file in place of a game folder is the user's: verify names the file, not only the
 * game files below it, and the repair fails before its commit, keeping the file. */
static void
test_install_obstruction_file_for_folder (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) target
    = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (MistObstruction) obstruction = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_build_filename (fixture->install, "data", NULL);
  g_autofree char *content = NULL;

  install_full (fixture, target, 1);
  test_remove_folder (folder);
  g_assert_true (g_file_set_contents (folder, "the user's file", -1, NULL));

  obstruction = verify_one_obstruction (fixture, "data/old.pak");
  g_assert_cmpstr (obstruction->path, ==, "data");
  g_assert_cmpint (obstruction->kind, ==, MIST_OBSTRUCTION_FILE_FOR_FOLDER);
  g_assert_false (obstruction->replaceable);

  g_assert_false (repair (fixture, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
  g_assert_nonnull (strstr (error->message, "data is a file where the game has a folder"));
  g_assert_nonnull (strstr (error->message, "move or delete it, then run the repair again"));
  g_clear_error (&error);
  assert_journal_state (fixture, MIST_JOURNAL_STATE_STAGING);
  g_assert_true (g_file_get_contents (folder, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "the user's file");

  g_assert_cmpint (g_unlink (folder), ==, 0);
  g_assert_true (repair (fixture, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (fixture->install, target));
}

/* A symbolic link in place of a game folder is never written through: the repair fails
 * before its commit and the folder it points to stays as it was. */
static void
test_install_obstruction_link_for_folder (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) target
    = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (MistObstruction) obstruction = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_build_filename (fixture->install, "data", NULL);
  g_autofree char *outside = g_build_filename (fixture->folder, "outside", NULL);
  g_autofree char *outside_file = g_build_filename (outside, "levels.dat", NULL);
  g_autofree char *content = NULL;

  install_full (fixture, target, 1);
  test_remove_folder (folder);
  g_assert_cmpint (g_mkdir (outside, 0755), ==, 0);
  g_assert_true (g_file_set_contents (outside_file, "outside the game", -1, NULL));
  g_assert_cmpint (symlink (outside, folder), ==, 0);

  obstruction = verify_one_obstruction (fixture, "data/levels.dat");
  g_assert_cmpstr (obstruction->path, ==, "data");
  g_assert_cmpint (obstruction->kind, ==, MIST_OBSTRUCTION_LINK_FOR_FOLDER);
  g_assert_false (obstruction->replaceable);

  g_assert_false (repair (fixture, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
  g_assert_nonnull (strstr (error->message, "data is a symbolic link where the game has a folder"));
  g_clear_error (&error);
  assert_journal_state (fixture, MIST_JOURNAL_STATE_STAGING);
  g_assert_true (g_file_get_contents (outside_file, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "outside the game");
  g_assert_cmpuint (count_files (outside), ==, 1);
}

/* A symbolic link in place of a game file is replaced by the file: the file it points to
 * is left as it was. */
static void
test_install_obstruction_link_for_file (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) target
    = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (MistObstruction) obstruction = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *levels = g_build_filename (fixture->install, "data", "levels.dat", NULL);
  g_autofree char *outside = g_build_filename (fixture->folder, "outside.dat", NULL);
  g_autofree char *content = NULL;

  install_full (fixture, target, 1);
  g_assert_true (g_file_set_contents (outside, "outside the game", -1, NULL));
  g_assert_cmpint (g_unlink (levels), ==, 0);
  g_assert_cmpint (symlink (outside, levels), ==, 0);

  obstruction = verify_one_obstruction (fixture, "data/levels.dat");
  g_assert_cmpint (obstruction->kind, ==, MIST_OBSTRUCTION_LINK_FOR_FILE);
  g_assert_true (obstruction->replaceable);

  g_assert_true (repair (fixture, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (fixture->install, target));
  g_assert_true (g_file_get_contents (outside, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "outside the game");
}

/* An update blocked by a folder with files fails before its commit, so the previous
 * version stays whole. A folder with files where a dropped file was stays. */
static void
test_install_obstruction_update (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) first
    = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (MistManifest) second
    = test_make_version (fixture->objects, version_2, G_N_ELEMENTS (version_2));
  g_autoptr (MistPlan) plan = NULL;
  g_autoptr (MistInstalledGame) installed = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *blocked = g_build_filename (fixture->install, "new", NULL);
  g_autofree char *blocking_folder = g_build_filename (blocked, "big.bin", NULL);
  g_autofree char *blocking_file = g_build_filename (blocking_folder, "mine.txt", NULL);
  g_autofree char *dropped = g_build_filename (fixture->install, "data", "old.pak", NULL);
  g_autofree char *kept_file = g_build_filename (dropped, "kept.txt", NULL);
  g_autofree char *game = g_build_filename (fixture->install, "bin", "game", NULL);
  g_autofree char *content = NULL;

  install_full (fixture, first, 1);
  g_assert_cmpint (g_unlink (dropped), ==, 0);
  g_assert_cmpint (g_mkdir (dropped, 0755), ==, 0);
  g_assert_true (g_file_set_contents (kept_file, "kept", -1, NULL));
  g_assert_cmpint (g_mkdir_with_parents (blocking_folder, 0755), ==, 0);
  g_assert_true (g_file_set_contents (blocking_file, "mine", -1, NULL));

  plan = mist_plan_new_full (1, first, 2, second);
  g_assert_false (apply (fixture, second, plan, NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
  g_assert_nonnull (strstr (error->message, "new/big.bin is a folder where the game has a file"));
  g_assert_nonnull (strstr (error->message, "then run the update again"));
  g_clear_error (&error);
  installed = mist_state_db_get_installed (fixture->db, "tetris", NULL);
  g_assert_cmpint (installed->version_ordinal, ==, 1);
  assert_journal_state (fixture, MIST_JOURNAL_STATE_STAGING);
  g_assert_true (g_file_get_contents (game, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, version_1[0].content);

  test_remove_folder (blocked);
  g_assert_true (apply (fixture, second, plan, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (kept_file, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (g_unlink (kept_file), ==, 0);
  g_assert_cmpint (g_rmdir (dropped), ==, 0);
  g_assert_true (test_tree_matches (fixture->install, second));
}

/* An update that adds a path where the player keeps a file of their own moves that file
 * aside instead of overwriting it. */
static void
test_install_update_keeps_unowned_file (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) first
    = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (MistManifest) second
    = test_make_version (fixture->objects, version_2, G_N_ELEMENTS (version_2));
  g_autoptr (MistPlan) plan = mist_plan_new_full (1, first, 2, second);
  g_autoptr (GError) error = NULL;
  g_autofree char *added = g_build_filename (fixture->install, "docs", "renamed.txt", NULL);
  g_autofree char *moved
    = g_build_filename (fixture->install, "docs", "renamed.txt.mist-moved-1", NULL);
  g_autofree char *content = NULL;
  g_autofree char *moved_content = NULL;

  install_full (fixture, first, 1);
  g_assert_true (g_file_set_contents (added, "the player's notes", -1, NULL));

  g_assert_true (apply (fixture, second, plan, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (added, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "Read me, version 1");
  g_assert_true (g_file_get_contents (moved, &moved_content, NULL, NULL));
  g_assert_cmpstr (moved_content, ==, "the player's notes");
  g_assert_cmpint (g_unlink (moved), ==, 0);
  g_assert_true (test_tree_matches (fixture->install, second));
}

/* A commit past its journal mark completes even when a folder with files was put in the
 * way since: recovery moves the folder aside, with its files, instead of failing on it
 * at every start. */
static void
test_install_obstruction_roll_forward (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) target
    = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (MistJournalEntry) entry = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *levels = g_build_filename (fixture->install, "data", "levels.dat", NULL);
  g_autofree char *user_file = g_build_filename (levels, "notes.txt", NULL);
  g_autofree char *moved_folder
    = g_build_filename (fixture->install, "data", "levels.dat.mist-moved-1", NULL);
  g_autofree char *moved = g_build_filename (moved_folder, "notes.txt", NULL);
  g_autofree char *content = NULL;

  install_full (fixture, target, 1);
  g_assert_cmpint (g_unlink (levels), ==, 0);
  g_assert_cmpint (g_mkdir (levels, 0755), ==, 0);
  g_assert_true (g_file_set_contents (user_file, "the user's notes", -1, NULL));
  g_assert_false (repair (fixture, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH);
  g_clear_error (&error);

  /* The state a crash right after the journal mark leaves, with the folder in the way. */
  entry = mist_state_db_journal_get (fixture->db, "tetris", &error);
  g_assert_no_error (error);
  g_assert_true (mist_state_db_journal_set_state (fixture->db, entry->id,
                                                  MIST_JOURNAL_STATE_COMMITTING, &error));
  g_assert_no_error (error);

  g_assert_true (mist_install_recover (fixture->db, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (mist_state_db_journal_get (fixture->db, "tetris", NULL));
  g_assert_true (g_file_get_contents (moved, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "the user's notes");
  g_assert_cmpint (g_unlink (moved), ==, 0);
  g_assert_cmpint (g_rmdir (moved_folder), ==, 0);
  g_assert_true (test_tree_matches (fixture->install, target));
}

static void
test_install_uninstall_keeps_user_files (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) target = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (GPtrArray) kept = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *save = g_build_filename (fixture->install, "data", "save.slot", NULL);
  g_autofree char *binary = g_build_filename (fixture->install, "bin", "game", NULL);
  g_autofree char *bin_folder = g_build_filename (fixture->install, "bin", NULL);

  install_full (fixture, target, 1);
  g_assert_true (g_file_set_contents (save, "progress", -1, NULL));

  g_assert_true (mist_install_uninstall (fixture->db, "tetris", &kept, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (kept->len, ==, 1);
  g_assert_cmpstr (kept->pdata[0], ==, "data/save.slot");
  g_assert_true (g_file_test (save, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (binary, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (bin_folder, G_FILE_TEST_EXISTS));
  g_assert_null (mist_state_db_get_installed (fixture->db, "tetris", NULL));
}

static void
test_install_import (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) target = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (MistInstalledGame) game = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *changed = g_build_filename (fixture->install, "empty", NULL);

  install_full (fixture, target, 1);
  g_assert_true (mist_state_db_remove_installed (fixture->db, "tetris", 0, NULL));

  g_assert_true (mist_install_import (fixture->db, "tetris", 1, "1.0", fixture->install, target, NULL, NULL, NULL,
                                      &error));
  g_assert_no_error (error);
  game = mist_state_db_get_installed (fixture->db, "tetris", NULL);
  g_assert_nonnull (game);
  g_assert_cmpstr (game->version_name, ==, "1.0");

  g_assert_true (g_file_set_contents (changed, "not empty", -1, NULL));
  g_assert_false (mist_install_import (fixture->db, "doom", 1, "1.0", fixture->install, target, NULL, NULL, NULL,
                                       &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH);
  g_assert_nonnull (strstr (error->message, "empty"));
}

static void
test_install_no_space_message (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (mist_install_check_space (fixture->install, G_MAXUINT64 / 2, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NO_SPACE);
  g_assert_true (g_str_has_prefix (error->message, "Not enough space in "));
  g_assert_nonnull (strstr (error->message, "needed"));
  g_assert_nonnull (strstr (error->message, "free"));
}

/* Staged files of an abandoned target are discarded when another target is applied. */
static void
test_install_new_target_discards_staging (Fixture *fixture, gconstpointer data)
{
  static const TestFile third[] = { { "bin/game", "#!/bin/sh\necho version 3\n", 0, TRUE },
                                    { "new/big.bin", NULL, 1000, FALSE } };
  g_autoptr (MistManifest) first = test_make_version (fixture->objects, version_1, G_N_ELEMENTS (version_1));
  g_autoptr (MistManifest) second = test_make_version (fixture->objects, version_2, G_N_ELEMENTS (version_2));
  g_autoptr (MistManifest) target = test_make_version (fixture->objects, third, G_N_ELEMENTS (third));
  g_autoptr (MistPlan) abandoned = NULL;
  g_autoptr (MistPlan) plan = NULL;
  g_autoptr (MistJournalEntry) entry = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *object = g_build_filename (fixture->objects,
                                              mist_manifest_lookup (second, "new/big.bin")->object_id, NULL);
  g_autofree char *staged = g_build_filename (fixture->install, MIST_INSTALL_STAGING_DIR,
                                              mist_manifest_lookup (second, "bin/game")->sha256, NULL);

  install_full (fixture, first, 1);
  abandoned = mist_plan_new_full (1, first, 2, second);
  g_assert_cmpint (g_unlink (object), ==, 0);
  g_assert_false (apply (fixture, second, abandoned, NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (g_file_test (staged, G_FILE_TEST_IS_REGULAR));
  entry = mist_state_db_journal_get (fixture->db, "tetris", NULL);
  g_assert_nonnull (entry);
  g_assert_cmpint (entry->target_ordinal, ==, 2);
  g_assert_cmpint (entry->state, ==, MIST_JOURNAL_STATE_STAGING);

  plan = mist_plan_new_full (1, first, 3, target);
  g_assert_true (apply (fixture, target, plan, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (staged, G_FILE_TEST_EXISTS));
  g_assert_true (test_tree_matches (fixture->install, target));
  g_clear_pointer (&entry, mist_journal_entry_free);
  entry = mist_state_db_journal_get (fixture->db, "tetris", NULL);
  g_assert_null (entry);
}

/* A first install that stopped in one folder and is then started in another leaves no
 * staged files behind in the first. */
static void
test_install_other_folder_discards_staging (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) target
    = test_make_version (fixture->objects, version_2, G_N_ELEMENTS (version_2));
  g_autoptr (MistPlan) plan = mist_plan_new_full (0, NULL, 2, target);
  g_autoptr (GError) error = NULL;
  g_autofree char *hidden = g_build_filename (fixture->folder, "hidden", NULL);
  g_autofree char *object_path = g_build_filename (
    fixture->objects, mist_manifest_lookup (target, "new/big.bin")->object_id, NULL);
  g_autofree char *first_folder = g_strdup (fixture->install);
  g_autofree char *first_staging = g_build_filename (first_folder, MIST_INSTALL_STAGING_DIR, NULL);

  g_assert_cmpint (g_rename (object_path, hidden), ==, 0);
  g_assert_false (apply (fixture, target, plan, NULL, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (g_file_test (first_staging, G_FILE_TEST_IS_DIR));

  g_assert_cmpint (g_rename (hidden, object_path), ==, 0);
  g_free (fixture->install);
  fixture->install = g_build_filename (fixture->folder, "games", "tetris-elsewhere", NULL);
  g_assert_true (apply (fixture, target, plan, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (test_tree_matches (fixture->install, target));
  g_assert_false (g_file_test (first_staging, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (first_folder, G_FILE_TEST_EXISTS));
}

typedef struct
{
  GThread *main_thread;
  guint reports;
  gboolean reports_on_main_thread;
  GAsyncResult *result;
} AsyncState;

static void
on_progress (const MistInstallProgress *progress, gpointer user_data)
{
  AsyncState *state = user_data;

  state->reports++;
  if (g_thread_self () != state->main_thread)
    state->reports_on_main_thread = FALSE;
}

static void
on_applied (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncState *state = user_data;

  state->result = g_object_ref (result);
}

static void
test_install_async_progress (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistManifest) target = test_make_version (fixture->objects, version_2, G_N_ELEMENTS (version_2));
  g_autoptr (MistPlan) plan = mist_plan_new_full (0, NULL, 2, target);
  g_autoptr (GError) error = NULL;
  MistInstallRequest request = { 0 };
  AsyncState state = { g_thread_self (), 0, TRUE, NULL };

  request.game_id = "tetris";
  request.install_path = fixture->install;
  request.target = target;
  request.version_name = "1.2";
  request.plan = plan;
  request.objects_dir = fixture->objects;
  mist_install_apply_async (fixture->db, &request, on_progress, &state, NULL, on_applied, &state);
  while (state.result == NULL)
    g_main_context_iteration (NULL, TRUE);

  g_assert_true (mist_install_apply_finish (state.result, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (state.reports, >, 0);
  g_assert_true (state.reports_on_main_thread);
  g_assert_true (test_tree_matches (fixture->install, target));
  g_object_unref (state.result);
}

static void
test_install_many_small_files (Fixture *fixture, gconstpointer data)
{
  guint n = GPOINTER_TO_UINT (data);
  g_autofree TestFile *files = g_new0 (TestFile, n);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (MistManifest) target = NULL;
  gint64 start;

  for (guint i = 0; i < n; i++)
    {
      char *path = g_strdup_printf ("assets/%03u/file-%05u.dat", i / 200, i);

      g_ptr_array_add (names, path);
      files[i].path = path;
      files[i].size = 64 + i % 512;
    }
  target = test_make_version (fixture->objects, files, n);
  start = g_get_monotonic_time ();
  install_full (fixture, target, 1);
  g_test_message ("%u files installed in %.2f s", n, (g_get_monotonic_time () - start) / 1e6);
}

/* The sanitizers make each system call several times slower, so their build installs a
 * tenth of the files: enough for correctness, while the release build measures the scale. */
#if defined(__SANITIZE_ADDRESS__)
#define MANY_FILES 2000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MANY_FILES 2000
#endif
#endif
#ifndef MANY_FILES
#define MANY_FILES 20000
#endif

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, function) g_test_add ("/install/" name, Fixture, NULL, fixture_set_up, function, fixture_tear_down)
  ADD ("fresh-and-update", test_install_fresh_and_update);
  ADD ("shared-content", test_install_shared_content);
  ADD ("delta-chain", test_install_delta_chain);
  ADD ("missing-objects-then-resume", test_install_missing_objects_then_resume);
  ADD ("many-files-missing-in-order", test_install_many_files_missing_in_order);
  ADD ("many-files-one-bad", test_install_many_files_one_bad);
  ADD ("from-pack-entries", test_install_from_pack_entries);
  ADD ("object-content-mismatch", test_install_object_content_mismatch);
  ADD ("trusted-entry-damaged", test_install_trusted_entry_damaged);
  ADD ("stage-early", test_install_stage_early);
  ADD ("stage-early-partial", test_install_stage_early_partial);
  ADD ("delta-fallback", test_install_delta_fallback);
  ADD ("symlink-outside", test_install_symlink_outside);
  ADD ("rejects-non-empty-folder", test_install_rejects_non_empty_folder);
  ADD ("bad-manifest-paths", test_install_bad_manifest_paths);
  ADD ("verify-repair", test_install_verify_repair);
  ADD ("obstruction/empty-folder", test_install_obstruction_empty_folder);
  ADD ("obstruction/folder-with-files", test_install_obstruction_folder_with_files);
  ADD ("obstruction/file-for-folder", test_install_obstruction_file_for_folder);
  ADD ("obstruction/link-for-folder", test_install_obstruction_link_for_folder);
  ADD ("obstruction/link-for-file", test_install_obstruction_link_for_file);
  ADD ("obstruction/update", test_install_obstruction_update);
  ADD ("update-keeps-unowned-file", test_install_update_keeps_unowned_file);
  ADD ("obstruction/roll-forward", test_install_obstruction_roll_forward);
  ADD ("uninstall-keeps-user-files", test_install_uninstall_keeps_user_files);
  ADD ("import", test_install_import);
  ADD ("no-space-message", test_install_no_space_message);
  ADD ("new-target-discards-staging", test_install_new_target_discards_staging);
  ADD ("other-folder-discards-staging", test_install_other_folder_discards_staging);
  ADD ("async-progress", test_install_async_progress);
#undef ADD
  g_test_add ("/install/many-small-files", Fixture, GUINT_TO_POINTER (MANY_FILES), fixture_set_up,
              test_install_many_small_files, fixture_tear_down);
  return g_test_run ();
}
