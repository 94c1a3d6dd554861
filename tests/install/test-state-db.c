/* test-state-db.c: the SQLite state database on real files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-error.h"
#include "mist-state-db.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

typedef struct
{
  char *folder;
  char *path;
  MistStateDb *db;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->folder = g_dir_make_tmp ("mist-state-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->path = g_build_filename (fixture->folder, "sub", "state.db", NULL);
  fixture->db = mist_state_db_open (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture->db);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", fixture->folder);

  g_clear_pointer (&fixture->db, mist_state_db_unref);
  g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL));
  g_free (fixture->path);
  g_free (fixture->folder);
}

static void
test_state_schema_and_wal (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  sqlite3 *handle = NULL;
  sqlite3_stmt *statement = NULL;

  g_assert_true (mist_state_db_check_integrity (fixture->db, &error));
  g_assert_no_error (error);

  g_assert_cmpint (sqlite3_open_v2 (fixture->path, &handle, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (handle, "PRAGMA user_version", -1, &statement, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (statement), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (statement, 0), ==, MIST_STATE_DB_SCHEMA_VERSION);
  sqlite3_finalize (statement);
  g_assert_cmpint (sqlite3_prepare_v2 (handle, "PRAGMA journal_mode", -1, &statement, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (statement), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (statement, 0), ==, "wal");
  sqlite3_finalize (statement);
  sqlite3_close (handle);
}

static void
test_state_newer_schema_rejected (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistStateDb) db = NULL;
  sqlite3 *handle = NULL;

  g_clear_pointer (&fixture->db, mist_state_db_unref);
  g_assert_cmpint (sqlite3_open (fixture->path, &handle), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (handle, "PRAGMA user_version = 99", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (handle);

  db = mist_state_db_open (fixture->path, &error);
  g_assert_null (db);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "99"));
}

static void
test_state_queue_order (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) jobs = NULL;
  g_autoptr (MistQueueJob) first = mist_queue_job_new ("tetris", MIST_JOB_KIND_INSTALL, 3);
  g_autoptr (MistQueueJob) second = mist_queue_job_new ("doom", MIST_JOB_KIND_UPDATE, 7);
  g_autoptr (MistQueueJob) third = mist_queue_job_new ("quake", MIST_JOB_KIND_REPAIR, 2);
  g_autoptr (MistQueueJob) read = NULL;

  g_assert_cmpint (mist_state_db_queue_add (fixture->db, first, &error), >, 0);
  g_assert_cmpint (mist_state_db_queue_add (fixture->db, second, &error), >, 0);
  g_assert_cmpint (mist_state_db_queue_add (fixture->db, third, &error), >, 0);
  g_assert_no_error (error);

  g_assert_true (mist_state_db_queue_move (fixture->db, third->id, 0, &error));
  g_assert_true (mist_state_db_queue_set_progress (fixture->db, second->id, 500, 1000, &error));
  g_assert_true (mist_state_db_queue_set_state (fixture->db, second->id, MIST_JOB_STATE_FAILED,
                                                "Server unreachable", &error));
  g_assert_no_error (error);

  jobs = mist_state_db_queue_list (fixture->db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jobs->len, ==, 3);
  g_assert_cmpstr (((MistQueueJob *) jobs->pdata[0])->game_id, ==, "quake");
  g_assert_cmpstr (((MistQueueJob *) jobs->pdata[1])->game_id, ==, "tetris");
  g_assert_cmpstr (((MistQueueJob *) jobs->pdata[2])->game_id, ==, "doom");

  read = mist_state_db_queue_get (fixture->db, second->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (read->kind, ==, MIST_JOB_KIND_UPDATE);
  g_assert_cmpint (read->target_ordinal, ==, 7);
  g_assert_cmpint (read->state, ==, MIST_JOB_STATE_FAILED);
  g_assert_cmpuint (read->bytes_done, ==, 500);
  g_assert_cmpuint (read->bytes_total, ==, 1000);
  g_assert_cmpstr (read->error_message, ==, "Server unreachable");

  g_assert_true (mist_state_db_queue_remove (fixture->db, first->id, &error));
  g_assert_false (mist_state_db_queue_remove (fixture->db, first->id, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
}

/* The queue and catalog tables of schema version 1, with a job whose install folder is
 * kept in the catalog under "job/<id>", as that version did, and a catalog entry of its
 * own. */
static const char version_1_database[] =
  "CREATE TABLE queue_jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, game_id TEXT NOT NULL,"
  "  kind TEXT NOT NULL, target_ordinal INTEGER NOT NULL, state TEXT NOT NULL,"
  "  position INTEGER NOT NULL, bytes_done INTEGER NOT NULL DEFAULT 0,"
  "  bytes_total INTEGER NOT NULL DEFAULT 0, error_message TEXT, created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL);"
  "CREATE TABLE catalog_cache (key TEXT PRIMARY KEY, json TEXT NOT NULL,"
  "  fetched_at INTEGER NOT NULL);"
  "INSERT INTO queue_jobs VALUES (4, 'tetris', 'install', 2, 'paused', 0, 10, 20, NULL, 1, 1);"
  "INSERT INTO queue_jobs VALUES (5, 'doom', 'update', 3, 'queued', 1, 0, 0, NULL, 1, 1);"
  "INSERT INTO catalog_cache VALUES ('job/4', '{\"install_path\":\"/games/tetris\"}', 0);"
  "INSERT INTO catalog_cache VALUES ('games', '[]', 7);"
  "PRAGMA user_version = 1;";

static void
test_state_migrate_job_folder (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistStateDb) db = NULL;
  g_autoptr (GPtrArray) jobs = NULL;
  g_autoptr (MistCatalogEntry) job_entry = NULL;
  g_autoptr (MistCatalogEntry) games_entry = NULL;
  g_autoptr (MistQueueJob) added = mist_queue_job_new ("quake", MIST_JOB_KIND_INSTALL, 1);
  g_autoptr (MistQueueJob) read = NULL;
  g_autofree char *path = g_build_filename (fixture->folder, "version-1.db", NULL);
  sqlite3 *handle = NULL;

  g_assert_cmpint (sqlite3_open (path, &handle), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (handle, version_1_database, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (handle);

  db = mist_state_db_open (path, &error);
  g_assert_no_error (error);
  jobs = mist_state_db_queue_list (db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jobs->len, ==, 2);
  g_assert_cmpstr (((MistQueueJob *) jobs->pdata[0])->install_path, ==, "/games/tetris");
  g_assert_cmpuint (((MistQueueJob *) jobs->pdata[0])->bytes_done, ==, 10);
  g_assert_null (((MistQueueJob *) jobs->pdata[1])->install_path);

  job_entry = mist_state_db_catalog_get (db, "job/4", &error);
  g_assert_no_error (error);
  g_assert_null (job_entry);
  games_entry = mist_state_db_catalog_get (db, "games", &error);
  g_assert_no_error (error);
  g_assert_nonnull (games_entry);
  g_assert_cmpstr (games_entry->json, ==, "[]");

  added->install_path = g_strdup ("/games/quake");
  g_assert_cmpint (mist_state_db_queue_add (db, added, &error), >, 0);
  read = mist_state_db_queue_get (db, added->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (read->install_path, ==, "/games/quake");
}

static void
on_async_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_for_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static void
test_state_queue_async (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistQueueJob) job = mist_queue_job_new ("tetris", MIST_JOB_KIND_INSTALL, 1);
  g_autoptr (GPtrArray) jobs = NULL;
  GAsyncResult *added = NULL;
  GAsyncResult *listed = NULL;
  gint64 id;

  mist_state_db_queue_add_async (fixture->db, job, NULL, on_async_done, &added);
  id = mist_state_db_queue_add_finish (fixture->db, wait_for_result (&added), &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);

  mist_state_db_queue_list_async (fixture->db, NULL, on_async_done, &listed);
  jobs = mist_state_db_queue_list_finish (fixture->db, wait_for_result (&listed), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jobs->len, ==, 1);
  g_assert_cmpint (((MistQueueJob *) jobs->pdata[0])->id, ==, id);
  g_object_unref (added);
  g_object_unref (listed);
}

static MistInstalledFile *
installed_file_new (const char *path, const char *sha256, guint64 size, gboolean executable)
{
  MistInstalledFile *file = g_new0 (MistInstalledFile, 1);

  file->path = g_strdup (path);
  file->sha256 = g_strdup (sha256);
  file->size = size;
  file->executable = executable;
  return file;
}

static void
test_state_installed_and_journal (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_installed_file_free);
  g_autoptr (GPtrArray) read_files = NULL;
  g_autoptr (MistInstalledGame) read = NULL;
  g_autoptr (MistJournalEntry) pending = NULL;
  MistInstalledGame game = { 0 };
  MistJournalEntry entry = { 0 };
  MistJournalEntry second = { 0 };

  entry.game_id = (char *) "tetris";
  entry.kind = MIST_JOB_KIND_UPDATE;
  entry.from_ordinal = 1;
  entry.target_ordinal = 2;
  entry.target_name = (char *) "1.1";
  entry.install_path = (char *) "/games/tetris";
  entry.target_manifest_json = (char *) "{\"format\": 1, \"files\": []}";
  g_assert_cmpint (mist_state_db_journal_begin (fixture->db, &entry, &error), >, 0);
  g_assert_no_error (error);

  second = entry;
  g_assert_cmpint (mist_state_db_journal_begin (fixture->db, &second, &error), ==, 0);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_BUSY);
  g_clear_error (&error);

  g_assert_true (mist_state_db_journal_set_state (fixture->db, entry.id, MIST_JOURNAL_STATE_COMMITTING, &error));
  pending = mist_state_db_journal_get (fixture->db, "tetris", &error);
  g_assert_no_error (error);
  g_assert_nonnull (pending);
  g_assert_cmpint (pending->state, ==, MIST_JOURNAL_STATE_COMMITTING);
  g_assert_cmpint (pending->target_ordinal, ==, 2);
  g_assert_cmpstr (pending->target_name, ==, "1.1");

  g_ptr_array_add (files, installed_file_new ("bin/tetris", "aa", 10, TRUE));
  g_ptr_array_add (files, installed_file_new ("data/a.pak", "bb", 20, FALSE));
  game.game_id = (char *) "tetris";
  game.version_ordinal = 2;
  game.version_name = (char *) "1.1";
  game.install_path = (char *) "/games/tetris";
  game.size = 30;
  game.manifest_json = (char *) "{}";
  g_assert_true (mist_state_db_set_installed (fixture->db, &game, files, entry.id, &error));
  g_assert_no_error (error);

  g_clear_pointer (&pending, mist_journal_entry_free);
  pending = mist_state_db_journal_get (fixture->db, "tetris", &error);
  g_assert_no_error (error);
  g_assert_null (pending);

  read = mist_state_db_get_installed (fixture->db, "tetris", &error);
  g_assert_no_error (error);
  g_assert_cmpint (read->version_ordinal, ==, 2);
  g_assert_cmpstr (read->version_name, ==, "1.1");
  g_assert_cmpuint (read->size, ==, 30);
  read_files = mist_state_db_list_installed_files (fixture->db, "tetris", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (read_files->len, ==, 2);
  g_assert_cmpstr (((MistInstalledFile *) read_files->pdata[0])->path, ==, "bin/tetris");
  g_assert_true (((MistInstalledFile *) read_files->pdata[0])->executable);

  g_assert_true (mist_state_db_remove_installed (fixture->db, "tetris", 0, &error));
  g_clear_pointer (&read, mist_installed_game_free);
  read = mist_state_db_get_installed (fixture->db, "tetris", &error);
  g_assert_no_error (error);
  g_assert_null (read);
}

static void
test_state_catalog_and_sessions (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistCatalogEntry) entry = NULL;
  g_autoptr (MistCatalogEntry) missing = NULL;
  g_autoptr (GPtrArray) sessions = NULL;
  g_autoptr (MistStateDb) reopened = NULL;
  gint64 first;
  gint64 second;

  g_assert_true (mist_state_db_catalog_put (fixture->db, "games", "{\"games\": []}", 100, &error));
  g_assert_true (mist_state_db_catalog_put (fixture->db, "games", "{\"games\": [1]}", 200, &error));
  first = mist_state_db_session_start (fixture->db, "tetris", 1000, &error);
  second = mist_state_db_session_start (fixture->db, "tetris", 2000, &error);
  g_assert_true (mist_state_db_session_end (fixture->db, first, 1500, &error));
  g_assert_no_error (error);

  /* Everything written must survive closing and reopening the file. */
  g_clear_pointer (&fixture->db, mist_state_db_unref);
  reopened = mist_state_db_open (fixture->path, &error);
  g_assert_no_error (error);

  entry = mist_state_db_catalog_get (reopened, "games", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (entry->json, ==, "{\"games\": [1]}");
  g_assert_cmpint (entry->fetched_at, ==, 200);
  missing = mist_state_db_catalog_get (reopened, "game/doom", &error);
  g_assert_no_error (error);
  g_assert_null (missing);

  sessions = mist_state_db_session_list (reopened, "tetris", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sessions->len, ==, 2);
  g_assert_cmpint (((MistPlaySession *) sessions->pdata[0])->id, ==, second);
  g_assert_cmpint (((MistPlaySession *) sessions->pdata[0])->ended_at, ==, 0);
  g_assert_cmpint (((MistPlaySession *) sessions->pdata[1])->ended_at, ==, 1500);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/install/state/schema-and-wal", Fixture, NULL, fixture_set_up,
              test_state_schema_and_wal, fixture_tear_down);
  g_test_add ("/install/state/newer-schema-rejected", Fixture, NULL, fixture_set_up,
              test_state_newer_schema_rejected, fixture_tear_down);
  g_test_add ("/install/state/queue-order", Fixture, NULL, fixture_set_up,
              test_state_queue_order, fixture_tear_down);
  g_test_add ("/install/state/migrate-job-folder", Fixture, NULL, fixture_set_up,
              test_state_migrate_job_folder, fixture_tear_down);
  g_test_add ("/install/state/queue-async", Fixture, NULL, fixture_set_up,
              test_state_queue_async, fixture_tear_down);
  g_test_add ("/install/state/installed-and-journal", Fixture, NULL, fixture_set_up,
              test_state_installed_and_journal, fixture_tear_down);
  g_test_add ("/install/state/catalog-and-sessions", Fixture, NULL, fixture_set_up,
              test_state_catalog_and_sessions, fixture_tear_down);
  return g_test_run ();
}
