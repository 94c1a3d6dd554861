/* test-queue.c: install, update, pause, cancel and restart jobs against a backend-stub
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-error.h"
#include "mist-hash.h"
#include "mist-http.h"
#include "mist-launcher.h"
#include "mist-queue.h"
#include "net-test-util.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  NetServer net;
  gboolean started;
  MistClient *client;
  MistStateDb *db;
  MistDownloader *downloader;
  MistQueue *queue;
  char *games_dir;
  char *cache_dir;
  char *db_path;
} Fixture;

static void
on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

/* A new queue over the same database and cache, as after a restart of the launcher. */
static void
open_queue (Fixture *fixture)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  g_clear_object (&fixture->queue);
  g_clear_object (&fixture->downloader);
  g_clear_pointer (&fixture->db, mist_state_db_unref);
  fixture->db = mist_state_db_open (fixture->db_path, &error);
  g_assert_no_error (error);
  fixture->downloader = mist_downloader_new (mist_client_get_session (fixture->client),
                                             fixture->cache_dir);
  fixture->queue = mist_queue_new (fixture->client, fixture->downloader, fixture->db,
                                   fixture->games_dir);
  mist_queue_load_async (fixture->queue, NULL, on_done, &result);
  g_assert_true (mist_queue_load_finish (fixture->queue, wait_for (&result), &error));
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  fixture->started = net_server_start (&fixture->net);
  if (!fixture->started)
    return;
  fixture->games_dir = g_build_filename (fixture->net.work_dir, "games", NULL);
  fixture->cache_dir = g_build_filename (fixture->net.work_dir, "objects", NULL);
  fixture->db_path = g_build_filename (fixture->net.work_dir, "state.db", NULL);
  fixture->client = mist_client_new (mist_test_server_get_url (fixture->net.server), NULL,
                                     &error);
  g_assert_no_error (error);
  mist_client_login_async (fixture->client, MIST_TEST_USER_NAME, MIST_TEST_USER_PASSWORD,
                           NULL, on_done, &result);
  g_assert_true (mist_client_login_finish (fixture->client, wait_for (&result), &error));
  g_assert_no_error (error);
  open_queue (fixture);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->queue);
  g_clear_object (&fixture->downloader);
  g_clear_pointer (&fixture->db, mist_state_db_unref);
  g_clear_object (&fixture->client);
  if (fixture->started)
    net_server_stop (&fixture->net);
  g_free (fixture->games_dir);
  g_free (fixture->cache_dir);
  g_free (fixture->db_path);
}

static MistJob *
add_job (Fixture *fixture, const char *game, MistJobKind kind, gint64 ordinal, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mist_queue_add_async (fixture->queue, game, kind, ordinal, NULL, NULL, on_done, &result);
  return mist_queue_add_finish (fixture->queue, wait_for (&result), error);
}

static void
on_finished (MistQueue *queue, MistJob *job, gpointer data)
{
  *(MistJob **) data = job;
}

/* Runs the main context until job stops (done, failed, cancelled or paused). */
static MistJobState
wait_for_job (Fixture *fixture, MistJob *job)
{
  MistJob *finished = NULL;
  gulong handler = g_signal_connect (fixture->queue, "job-finished", G_CALLBACK (on_finished),
                                     &finished);

  while (finished != job)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handler_disconnect (fixture->queue, handler);
  return mist_job_get_state (job);
}

static guint
count_cache_files (Fixture *fixture)
{
  g_autoptr (GDir) dir = g_dir_open (fixture->cache_dir, 0, NULL);
  guint count = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    count++;
  return count;
}

static MistInstalledGame *
get_installed (Fixture *fixture, const char *game)
{
  g_autoptr (GError) error = NULL;
  MistInstalledGame *installed = mist_state_db_get_installed (fixture->db, game, &error);

  g_assert_no_error (error);
  return installed;
}

static void
test_queue_install_and_update (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *v1 = NULL;
  g_autofree char *v2 = NULL;
  g_autofree char *install_path = NULL;
  g_autoptr (MistJob) install = NULL;
  g_autoptr (MistJob) update = NULL;
  g_autoptr (MistInstalledGame) installed = NULL;
  g_autoptr (MistInstalledGame) updated = NULL;
  g_autoptr (GAsyncResult) plan_result = NULL;
  g_autoptr (MistPlan) preview = NULL;
  MistPlan *plan;

  if (!fixture->started)
    return;
  v1 = net_write_build (&fixture->net, "v1", 4, 64 * 1024, 1);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", v1);

  install = g_object_ref (add_job (fixture, "tetris", MIST_JOB_KIND_INSTALL, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mist_job_get_target_ordinal (install), ==, 1);
  g_assert_cmpint (wait_for_job (fixture, install), ==, MIST_JOB_STATE_DONE);
  g_assert_null (mist_job_get_error_message (install));
  g_assert_cmpuint (mist_job_get_bytes_done (install), ==, mist_job_get_bytes_total (install));
  g_assert_cmpuint (mist_job_get_bytes_total (install), >, 0);

  install_path = g_build_filename (fixture->games_dir, "tetris", NULL);
  net_assert_tree_equal (v1, install_path);
  installed = get_installed (fixture, "tetris");
  g_assert_nonnull (installed);
  g_assert_cmpint (installed->version_ordinal, ==, 1);
  g_assert_cmpuint (mist_queue_get_jobs (fixture->queue)->len, ==, 0);
  /* Nothing can resume any more, so the downloaded objects are gone. */
  g_assert_cmpuint (count_cache_files (fixture), ==, 0);

  /* Version 2 has other bytes in every data file and the same script. */
  v2 = net_write_build (&fixture->net, "v2", 4, 64 * 1024, 2);
  net_push (&fixture->net, "tetris", "2.0", v2);
  /* A plan for version 0, as the launcher's game page requests, goes to the newest. */
  mist_queue_plan_async (fixture->queue, "tetris", 0, NULL, on_done, &plan_result);
  preview = mist_queue_plan_finish (fixture->queue, wait_for (&plan_result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (preview);
  g_assert_cmpint (mist_plan_get_from (preview), ==, 1);
  g_assert_cmpint (mist_plan_get_to (preview), ==, 2);
  update = g_object_ref (add_job (fixture, "tetris", MIST_JOB_KIND_UPDATE, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mist_job_get_target_ordinal (update), ==, 2);
  g_assert_cmpint (wait_for_job (fixture, update), ==, MIST_JOB_STATE_DONE);
  plan = mist_job_get_plan (update);
  g_assert_nonnull (plan);
  g_assert_cmpint (mist_plan_get_from (plan), ==, 1);
  net_assert_tree_equal (v2, install_path);
  updated = get_installed (fixture, "tetris");
  g_assert_cmpint (updated->version_ordinal, ==, 2);
  g_assert_cmpstr (updated->version_name, ==, "2.0");
}

/* A job queued for an entry of the game list needs no lookup for the newest version,
 * and looks the game up for an older one or one that does not exist. */
static void
test_queue_add_for_listed_game (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GPtrArray) games = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MistJob) install = NULL;
  g_autofree char *v1 = NULL;
  g_autofree char *v2 = NULL;
  g_autofree char *install_path = NULL;
  const MistGameEntry *entry = NULL;
  MistJob *job;

  if (!fixture->started)
    return;
  v1 = net_write_build (&fixture->net, "v1", 3, 16 * 1024, 1);
  v2 = net_write_build (&fixture->net, "v2", 3, 16 * 1024, 2);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", v1);
  net_push (&fixture->net, "tetris", "2.0", v2);

  mist_client_list_games_async (fixture->client, NULL, on_done, &result);
  games = mist_client_list_games_finish (fixture->client, wait_for (&result), &error);
  g_assert_no_error (error);
  for (guint i = 0; i < games->len; i++)
    if (g_strcmp0 (((MistGameEntry *)g_ptr_array_index (games, i))->slug, "tetris") == 0)
      entry = g_ptr_array_index (games, i);
  g_assert_nonnull (entry);
  g_assert_cmpuint (entry->versions->len, ==, 0);

  g_clear_object (&result);
  mist_queue_add_for_game_async (fixture->queue, entry, MIST_JOB_KIND_INSTALL, 7, NULL, NULL,
                                 on_done, &result);
  job = mist_queue_add_finish (fixture->queue, wait_for (&result), &error);
  g_assert_null (job);
  g_assert_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "1 (1.0), 2 (2.0)"));
  g_clear_error (&error);

  g_clear_object (&result);
  mist_queue_add_for_game_async (fixture->queue, entry, MIST_JOB_KIND_INSTALL, 1, NULL, NULL,
                                 on_done, &result);
  install = mist_queue_add_finish (fixture->queue, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpint (mist_job_get_target_ordinal (install), ==, 1);
  g_assert_cmpint (wait_for_job (fixture, install), ==, MIST_JOB_STATE_DONE);
  g_clear_object (&install);

  g_clear_object (&result);
  mist_queue_add_for_game_async (fixture->queue, entry, MIST_JOB_KIND_UPDATE, 0, NULL, NULL,
                                 on_done, &result);
  install = mist_queue_add_finish (fixture->queue, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpint (mist_job_get_target_ordinal (install), ==, 2);
  g_assert_cmpint (wait_for_job (fixture, install), ==, MIST_JOB_STATE_DONE);
  install_path = g_build_filename (fixture->games_dir, "tetris", NULL);
  net_assert_tree_equal (v2, install_path);
}

/* A job another process recorded in the shared database keeps the object cache from
 * being cleared when this queue runs out of jobs: its downloads may be in there. */
static void
test_queue_other_process_keeps_cache (Fixture *fixture, gconstpointer data)
{
  MistQueueJob other = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (MistJob) install = NULL;
  g_autofree char *v1 = NULL;
  g_autofree char *marker_id = NULL;
  g_autofree char *marker = NULL;

  if (!fixture->started)
    return;
  v1 = net_write_build (&fixture->net, "v1", 4, 64 * 1024, 1);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", v1);

  /* Another process's job and an object it downloaded. */
  other.game_id = (char *)"doom";
  other.kind = MIST_JOB_KIND_INSTALL;
  other.target_ordinal = 1;
  other.state = MIST_JOB_STATE_QUEUED;
  g_assert_true (mist_state_db_queue_add (fixture->db, &other, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (fixture->cache_dir, 0755), ==, 0);
  marker_id = mist_sha256_hex_data ("doom", 4);
  marker = g_build_filename (fixture->cache_dir, marker_id, NULL);
  g_assert_true (g_file_set_contents (marker, "doom", -1, &error));

  install = g_object_ref (add_job (fixture, "tetris", MIST_JOB_KIND_INSTALL, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait_for_job (fixture, install), ==, MIST_JOB_STATE_DONE);
  g_assert_true (g_file_test (marker, G_FILE_TEST_IS_REGULAR));
}

static void
test_queue_restart_resumes (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *v1 = NULL;
  g_autofree char *install_path = NULL;
  g_autoptr (MistJob) job = NULL;
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (MistJob) resumed = NULL;
  gint64 id;
  gint64 deadline;

  if (!fixture->started)
    return;
  v1 = net_write_build (&fixture->net, "v1", 2, 600 * 1024, 3);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", v1);

  /* Slow enough that the download is cut off in the middle. */
  mist_downloader_set_rate_limit (fixture->downloader, 200 * 1024);
  job = g_object_ref (add_job (fixture, "tetris", MIST_JOB_KIND_INSTALL, 0, &error));
  g_assert_no_error (error);
  id = mist_job_get_id (job);
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (mist_job_get_bytes_done (job) < 300 * 1024 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (mist_job_get_bytes_done (job), >=, 300 * 1024);

  /* Stop the queue, then leave the job "running" in the database as a crash would. */
  mist_queue_stop (fixture->queue);
  while (mist_queue_is_busy (fixture->queue))
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (mist_state_db_queue_set_state (fixture->db, id, MIST_JOB_STATE_RUNNING, NULL,
                                                &error));
  g_assert_no_error (error);
  g_clear_object (&job);
  open_queue (fixture);
  records = mist_state_db_queue_list (fixture->db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, 1);

  resumed = mist_queue_lookup (fixture->queue, id);
  g_assert_nonnull (resumed);
  g_object_ref (resumed);
  /* The saved progress is shown before the download continues. */
  g_assert_cmpuint (mist_job_get_bytes_done (resumed), >, 0);
  g_assert_cmpint (wait_for_job (fixture, resumed), ==, MIST_JOB_STATE_DONE);
  install_path = g_build_filename (fixture->games_dir, "tetris", NULL);
  net_assert_tree_equal (v1, install_path);
}

static void
test_queue_pause_resume_cancel (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *v1 = NULL;
  g_autofree char *other = NULL;
  g_autoptr (MistJob) first = NULL;
  g_autoptr (MistJob) second = NULL;
  g_autoptr (MistJob) again = NULL;
  g_autoptr (MistInstalledGame) not_installed = NULL;
  GPtrArray *jobs;

  if (!fixture->started)
    return;
  v1 = net_write_build (&fixture->net, "v1", 2, 400 * 1024, 4);
  other = net_write_build (&fixture->net, "other", 2, 400 * 1024, 5);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", v1);
  net_create_game (&fixture->net, "pong");
  net_push (&fixture->net, "pong", "1.0", other);

  mist_downloader_set_rate_limit (fixture->downloader, 300 * 1024);
  first = g_object_ref (add_job (fixture, "tetris", MIST_JOB_KIND_INSTALL, 0, &error));
  g_assert_no_error (error);
  second = g_object_ref (add_job (fixture, "pong", MIST_JOB_KIND_INSTALL, 0, &error));
  g_assert_no_error (error);

  /* A second request for the same game and version gets the job queued already. */
  again = add_job (fixture, "tetris", MIST_JOB_KIND_INSTALL, 0, &error);
  g_assert_no_error (error);
  g_assert_true (again == first);
  g_assert_cmpuint (mist_queue_get_jobs (fixture->queue)->len, ==, 2);

  /* pong moves to the front; it starts once tetris is paused. */
  g_assert_true (mist_queue_move (fixture->queue, second, 0, &error));
  g_assert_no_error (error);
  jobs = mist_queue_get_jobs (fixture->queue);
  g_assert_true (g_ptr_array_index (jobs, 0) == second);

  while (mist_job_get_bytes_done (first) == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (mist_queue_pause (fixture->queue, first, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait_for_job (fixture, first), ==, MIST_JOB_STATE_PAUSED);
  g_assert_cmpuint (count_cache_files (fixture), >, 0);

  /* Cancelling pong while it downloads deletes its objects but not tetris' ones. */
  while (mist_job_get_phase (second) != MIST_JOB_PHASE_DOWNLOADING ||
         mist_job_get_bytes_done (second) == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (mist_queue_cancel (fixture->queue, second, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait_for_job (fixture, second), ==, MIST_JOB_STATE_CANCELLED);
  g_assert_cmpuint (mist_queue_get_jobs (fixture->queue)->len, ==, 1);
  not_installed = get_installed (fixture, "pong");
  g_assert_null (not_installed);

  mist_downloader_set_rate_limit (fixture->downloader, 0);
  g_assert_true (mist_queue_resume (fixture->queue, first, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait_for_job (fixture, first), ==, MIST_JOB_STATE_DONE);
  g_assert_cmpuint (count_cache_files (fixture), ==, 0);
}

static gboolean
folder_has_files (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);

  return dir != NULL && g_dir_read_name (dir) != NULL;
}

/* Files are staged while the download runs. Cancelling the install deletes them, with
 * the folder it made, and leaves no transaction behind. */
static void
test_queue_cancel_deletes_staging (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistJob) job = NULL;
  g_autoptr (MistJournalEntry) entry = NULL;
  g_autofree char *v1 = NULL;
  g_autofree char *install_path = NULL;
  g_autofree char *staging = NULL;

  if (!fixture->started)
    return;
  v1 = net_write_build (&fixture->net, "v1", 40, 32 * 1024, 5);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", v1);
  install_path = g_build_filename (fixture->games_dir, "tetris", NULL);
  staging = g_build_filename (install_path, ".mist-staging", NULL);

  mist_downloader_set_rate_limit (fixture->downloader, 100 * 1024);
  job = g_object_ref (add_job (fixture, "tetris", MIST_JOB_KIND_INSTALL, 0, &error));
  g_assert_no_error (error);
  while (!folder_has_files (staging))
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (mist_job_get_phase (job), ==, MIST_JOB_PHASE_DOWNLOADING);

  g_assert_true (mist_queue_cancel (fixture->queue, job, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait_for_job (fixture, job), ==, MIST_JOB_STATE_CANCELLED);
  while (mist_queue_is_busy (fixture->queue))
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (g_file_test (install_path, G_FILE_TEST_EXISTS));
  entry = mist_state_db_journal_get (fixture->db, "tetris", &error);
  g_assert_no_error (error);
  g_assert_null (entry);
}

static void
test_queue_running_game_blocks_update (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *v1 = NULL;
  g_autofree char *v2 = NULL;
  g_autofree char *running_dir = g_build_filename (g_get_user_runtime_dir (), "mist", "running",
                                                   NULL);
  g_autofree char *marker = g_build_filename (running_dir, "tetris.pid", NULL);
  g_autofree char *pid = g_strdup_printf ("%d", (int) getpid ());
  g_autoptr (MistJob) install = NULL;
  g_autoptr (MistJob) update = NULL;
  g_autoptr (MistInstalledGame) installed = NULL;

  if (!fixture->started)
    return;
  v1 = net_write_build (&fixture->net, "v1", 1, 1000, 6);
  v2 = net_write_build (&fixture->net, "v2", 1, 1000, 7);
  net_create_game (&fixture->net, "tetris");
  net_push (&fixture->net, "tetris", "1.0", v1);
  install = g_object_ref (add_job (fixture, "tetris", MIST_JOB_KIND_INSTALL, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait_for_job (fixture, install), ==, MIST_JOB_STATE_DONE);

  /* The marker names this process, which plays the running game. */
  net_push (&fixture->net, "tetris", "2.0", v2);
  g_assert_cmpint (g_mkdir_with_parents (running_dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (marker, pid, -1, NULL));
  g_assert_true (mist_launcher_is_running ("tetris"));
  update = g_object_ref (add_job (fixture, "tetris", MIST_JOB_KIND_UPDATE, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait_for_job (fixture, update), ==, MIST_JOB_STATE_FAILED);
  g_assert_error (mist_job_get_error (update), MIST_ERROR, MIST_ERROR_BUSY);
  installed = get_installed (fixture, "tetris");
  g_assert_cmpint (installed->version_ordinal, ==, 1);

  /* Once the game quit, resuming the job applies the update. */
  g_unlink (marker);
  g_assert_true (mist_queue_resume (fixture->queue, update, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait_for_job (fixture, update), ==, MIST_JOB_STATE_DONE);
}

/* Moving and cancelling change the queue at once and leave the database writes to the
 * state worker, so they return while another connection holds the write lock. */
static void
test_queue_edits_do_not_block (Fixture *fixture, gconstpointer data)
{
  const char *const games[] = { "alpha", "beta", "gamma" };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) records = NULL;
  GPtrArray *jobs;
  MistJob *alpha;
  MistJob *gamma;
  sqlite3 *handle = NULL;
  gint64 start;
  gint64 elapsed;

  if (!fixture->started)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (games); i++)
    {
      g_autoptr (MistQueueJob) record = mist_queue_job_new (games[i], MIST_JOB_KIND_INSTALL, 1);

      record->state = MIST_JOB_STATE_PAUSED;
      g_assert_cmpint (mist_state_db_queue_add (fixture->db, record, &error), >, 0);
      g_assert_no_error (error);
    }
  open_queue (fixture);
  jobs = mist_queue_get_jobs (fixture->queue);
  g_assert_cmpuint (jobs->len, ==, 3);
  alpha = g_ptr_array_index (jobs, 0);
  gamma = g_ptr_array_index (jobs, 2);

  g_assert_cmpint (sqlite3_open (fixture->db_path, &handle), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (handle, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);
  start = g_get_monotonic_time ();
  g_assert_true (mist_queue_move (fixture->queue, gamma, 0, &error));
  g_assert_no_error (error);
  g_assert_true (mist_queue_cancel (fixture->queue, alpha, &error));
  g_assert_no_error (error);
  elapsed = g_get_monotonic_time () - start;
  /* A blocking write would wait for SQLite's 5 s busy timeout. */
  g_assert_cmpint (elapsed, <, G_USEC_PER_SEC);
  g_assert_cmpuint (jobs->len, ==, 2);
  g_assert_cmpstr (mist_job_get_game_id (g_ptr_array_index (jobs, 0)), ==, "gamma");
  g_assert_cmpstr (mist_job_get_game_id (g_ptr_array_index (jobs, 1)), ==, "beta");
  g_assert_cmpint (sqlite3_exec (handle, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (handle);

  /* The worker runs operations in order, so this listing comes after both writes. */
  records = mist_state_db_queue_list (fixture->db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, 2);
  g_assert_cmpstr (((MistQueueJob *) g_ptr_array_index (records, 0))->game_id, ==, "gamma");
  g_assert_cmpstr (((MistQueueJob *) g_ptr_array_index (records, 1))->game_id, ==, "beta");
}

/* The names of the files in folder, sorted. */
static GPtrArray *
list_files (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc)g_strcmp0);
  return names;
}

static void
on_job_added (MistQueue *queue, MistJob *job, gpointer data)
{
  g_ptr_array_add (data, g_object_ref (job));
}

/* A paused job meets a request for a newer version: the new job takes its place, keeps
 * its objects and leaves no staging behind. A job that runs is not replaced. */
static void
test_queue_replace_paused_job (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *v1 = NULL;
  g_autofree char *v2 = NULL;
  g_autofree char *v3 = NULL;
  g_autofree char *install_path = NULL;
  g_autofree char *staging = NULL;
  g_autoptr (MistJob) first = NULL;
  g_autoptr (MistJob) other = NULL;
  g_autoptr (MistJob) replacement = NULL;
  g_autoptr (MistJob) running = NULL;
  g_autoptr (GPtrArray) added = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) cached = NULL;
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GPtrArray) journal = NULL;
  g_autoptr (MistInstalledGame) installed = NULL;
  MistJob *finished = NULL;
  gulong added_handler;
  gulong finished_handler;

  if (!fixture->started)
    return;
  v1 = net_write_build (&fixture->net, "v1", 2, 400 * 1024, 41);
  v2 = net_write_build (&fixture->net, "v2", 2, 400 * 1024, 42);
  v3 = net_write_build (&fixture->net, "v3", 2, 400 * 1024, 43);
  net_create_game (&fixture->net, "tetris");
  net_create_game (&fixture->net, "pong");
  net_push (&fixture->net, "tetris", "1.0", v1);
  net_push (&fixture->net, "pong", "1.0", v1);

  mist_downloader_set_rate_limit (fixture->downloader, 300 * 1024);
  first = add_job (fixture, "tetris", MIST_JOB_KIND_INSTALL, 0, &error);
  g_assert_no_error (error);
  other = add_job (fixture, "pong", MIST_JOB_KIND_INSTALL, 0, &error);
  g_assert_no_error (error);
  while (mist_job_get_bytes_done (first) == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (mist_queue_pause (fixture->queue, first, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait_for_job (fixture, first), ==, MIST_JOB_STATE_PAUSED);
  g_assert_true (mist_queue_pause (fixture->queue, other, &error));
  g_assert_no_error (error);
  while (mist_queue_is_busy (fixture->queue))
    g_main_context_iteration (NULL, TRUE);
  cached = list_files (fixture->cache_dir);
  g_assert_cmpuint (cached->len, >, 0);

  net_push (&fixture->net, "tetris", "2.0", v2);
  added_handler = g_signal_connect (fixture->queue, "job-added", G_CALLBACK (on_job_added), added);
  finished_handler
    = g_signal_connect (fixture->queue, "job-finished", G_CALLBACK (on_finished), &finished);
  replacement = add_job (fixture, "tetris", MIST_JOB_KIND_INSTALL, 0, &error);
  g_assert_no_error (error);
  g_signal_handler_disconnect (fixture->queue, added_handler);
  g_signal_handler_disconnect (fixture->queue, finished_handler);

  /* The new job has the old one's place, and the old one left as cancelled. */
  g_assert_true (replacement != first);
  g_assert_cmpint (mist_job_get_target_ordinal (replacement), ==, 2);
  g_assert_cmpint (mist_job_get_state (first), ==, MIST_JOB_STATE_CANCELLED);
  g_assert_true (finished == first);
  g_assert_cmpuint (added->len, ==, 1);
  g_assert_true (g_ptr_array_index (added, 0) == replacement);
  g_assert_cmpuint (mist_queue_get_jobs (fixture->queue)->len, ==, 2);
  g_assert_true (g_ptr_array_index (mist_queue_get_jobs (fixture->queue), 0) == replacement);
  records = mist_state_db_queue_list (fixture->db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, 2);
  g_assert_cmpint (((MistQueueJob *)g_ptr_array_index (records, 0))->id, ==,
                   mist_job_get_id (replacement));

  /* What the paused job downloaded is still in the cache. */
  for (guint i = 0; i < cached->len; i++)
    {
      g_autofree char *path
        = g_build_filename (fixture->cache_dir, (char *)g_ptr_array_index (cached, i), NULL);

      if (!g_str_has_suffix (path, ".part"))
        g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
    }

  /* The new job runs now, so a request for another version is rejected. */
  while (mist_job_get_phase (replacement) != MIST_JOB_PHASE_DOWNLOADING)
    g_main_context_iteration (NULL, TRUE);
  net_push (&fixture->net, "tetris", "3.0", v3);
  g_assert_null (add_job (fixture, "tetris", MIST_JOB_KIND_INSTALL, 0, &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_CONFLICT);
  g_clear_error (&error);
  /* A request for the version it goes to gets the running job. */
  running = add_job (fixture, "tetris", MIST_JOB_KIND_INSTALL, 2, &error);
  g_assert_no_error (error);
  g_assert_true (running == replacement);

  mist_downloader_set_rate_limit (fixture->downloader, 0);
  g_assert_cmpint (wait_for_job (fixture, replacement), ==, MIST_JOB_STATE_DONE);
  install_path = g_build_filename (fixture->games_dir, "tetris", NULL);
  net_assert_tree_equal (v2, install_path);
  installed = get_installed (fixture, "tetris");
  g_assert_cmpint (installed->version_ordinal, ==, 2);
  staging = g_build_filename (install_path, ".mist-staging", NULL);
  g_assert_false (g_file_test (staging, G_FILE_TEST_EXISTS));
  journal = mist_state_db_journal_list (fixture->db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (journal->len, ==, 0);
}

static void
add_test (const char *path, void (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down);
}

int
main (int argc, char **argv)
{
  g_autofree char *runtime = g_dir_make_tmp ("mist-queue-runtime-XXXXXX", NULL);
  int status;

  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  g_test_init (&argc, &argv, NULL);
  add_test ("/net/queue/install-and-update", test_queue_install_and_update);
  add_test ("/net/queue/add-for-listed-game", test_queue_add_for_listed_game);
  add_test ("/net/queue/restart-resumes", test_queue_restart_resumes);
  add_test ("/net/queue/other-process-keeps-cache", test_queue_other_process_keeps_cache);
  add_test ("/net/queue/pause-resume-cancel", test_queue_pause_resume_cancel);
  add_test ("/net/queue/replace-paused-job", test_queue_replace_paused_job);
  add_test ("/net/queue/cancel-deletes-staging", test_queue_cancel_deletes_staging);
  add_test ("/net/queue/running-game-blocks-update", test_queue_running_game_blocks_update);
  add_test ("/net/queue/edits-do-not-block", test_queue_edits_do_not_block);
  status = g_test_run ();
  net_remove_tree (runtime);
  return status;
}
