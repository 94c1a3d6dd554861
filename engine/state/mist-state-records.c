/* mist-state-records.c: the tables of the state database and their operations
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each public function packs its arguments into a StateOpArgs and runs an op_* function
 * on the database's worker thread (mist-state-db.c).
 */
#include "mist-state-db.h"
#include "mist-state-db-private.h"
#include "mist-error.h"

#define TRUE_RESULT GINT_TO_POINTER (TRUE)

static const char *const job_kind_names[] = { "install", "update", "repair", "uninstall" };
static const char *const job_state_names[] = { "queued", "running", "paused", "failed", "done", "cancelled" };
static const char *const journal_state_names[] = { "staging", "committing" };

static gboolean
lookup_name (const char *const *names, guint n_names, const char *name, int *value)
{
  for (guint i = 0; i < n_names; i++)
    if (g_strcmp0 (names[i], name) == 0)
      {
        *value = (int) i;
        return TRUE;
      }
  return FALSE;
}

const char *
mist_job_kind_to_string (MistJobKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (job_kind_names), NULL);
  return job_kind_names[kind];
}

gboolean
mist_job_kind_from_string (const char *name, MistJobKind *kind)
{
  int value;

  if (!lookup_name (job_kind_names, G_N_ELEMENTS (job_kind_names), name, &value))
    return FALSE;
  *kind = value;
  return TRUE;
}

const char *
mist_job_state_to_string (MistJobState state)
{
  g_return_val_if_fail ((guint) state < G_N_ELEMENTS (job_state_names), NULL);
  return job_state_names[state];
}

gboolean
mist_job_state_from_string (const char *name, MistJobState *state)
{
  int value;

  if (!lookup_name (job_state_names, G_N_ELEMENTS (job_state_names), name, &value))
    return FALSE;
  *state = value;
  return TRUE;
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static StateOpArgs *
args_new (void)
{
  return g_new0 (StateOpArgs, 1);
}

static void
free_array (gpointer array)
{
  g_ptr_array_unref (array);
}

static void
free_int64 (gpointer number)
{
  g_free (number);
}

static gpointer
new_int64 (gint64 value)
{
  return g_memdup2 (&value, sizeof value);
}

/* Records. */

MistQueueJob *
mist_queue_job_new (const char *game_id, MistJobKind kind, gint64 target_ordinal)
{
  MistQueueJob *job = g_new0 (MistQueueJob, 1);

  job->game_id = g_strdup (game_id);
  job->kind = kind;
  job->target_ordinal = target_ordinal;
  job->state = MIST_JOB_STATE_QUEUED;
  return job;
}

MistQueueJob *
mist_queue_job_copy (const MistQueueJob *job)
{
  MistQueueJob *copy = g_memdup2 (job, sizeof *job);

  copy->game_id = g_strdup (job->game_id);
  copy->error_message = g_strdup (job->error_message);
  copy->install_path = g_strdup (job->install_path);
  return copy;
}

void
mist_queue_job_free (MistQueueJob *job)
{
  if (job == NULL)
    return;
  g_free (job->game_id);
  g_free (job->error_message);
  g_free (job->install_path);
  g_free (job);
}

MistInstalledGame *
mist_installed_game_copy (const MistInstalledGame *game)
{
  MistInstalledGame *copy = g_memdup2 (game, sizeof *game);

  copy->game_id = g_strdup (game->game_id);
  copy->version_name = g_strdup (game->version_name);
  copy->install_path = g_strdup (game->install_path);
  copy->manifest_json = g_strdup (game->manifest_json);
  return copy;
}

void
mist_installed_game_free (MistInstalledGame *game)
{
  if (game == NULL)
    return;
  g_free (game->game_id);
  g_free (game->version_name);
  g_free (game->install_path);
  g_free (game->manifest_json);
  g_free (game);
}

void
mist_installed_file_free (MistInstalledFile *file)
{
  if (file == NULL)
    return;
  g_free (file->path);
  g_free (file->sha256);
  g_free (file);
}

MistJournalEntry *
mist_journal_entry_copy (const MistJournalEntry *entry)
{
  MistJournalEntry *copy = g_memdup2 (entry, sizeof *entry);

  copy->game_id = g_strdup (entry->game_id);
  copy->target_name = g_strdup (entry->target_name);
  copy->install_path = g_strdup (entry->install_path);
  copy->target_manifest_json = g_strdup (entry->target_manifest_json);
  return copy;
}

void
mist_journal_entry_free (MistJournalEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->game_id);
  g_free (entry->target_name);
  g_free (entry->install_path);
  g_free (entry->target_manifest_json);
  g_free (entry);
}

void
mist_catalog_entry_free (MistCatalogEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->key);
  g_free (entry->json);
  g_free (entry);
}

void
mist_play_session_free (MistPlaySession *session)
{
  if (session == NULL)
    return;
  g_free (session->game_id);
  g_free (session);
}

/* Download queue. */

#define JOB_COLUMNS                                                                                \
  "id, game_id, kind, target_ordinal, state, position, bytes_done, bytes_total, error_message, " \
  "created_at, updated_at, install_path"

static MistQueueJob *
job_from_row (sqlite3_stmt *statement)
{
  MistQueueJob *job = g_new0 (MistQueueJob, 1);

  job->id = sqlite3_column_int64 (statement, 0);
  job->game_id = state_column_text (statement, 1);
  if (!mist_job_kind_from_string ((const char *) sqlite3_column_text (statement, 2), &job->kind))
    job->kind = MIST_JOB_KIND_INSTALL;
  job->target_ordinal = sqlite3_column_int64 (statement, 3);
  if (!mist_job_state_from_string ((const char *) sqlite3_column_text (statement, 4), &job->state))
    job->state = MIST_JOB_STATE_FAILED;
  job->position = sqlite3_column_int64 (statement, 5);
  job->bytes_done = (guint64) sqlite3_column_int64 (statement, 6);
  job->bytes_total = (guint64) sqlite3_column_int64 (statement, 7);
  job->error_message = state_column_text (statement, 8);
  job->created_at = sqlite3_column_int64 (statement, 9);
  job->updated_at = sqlite3_column_int64 (statement, 10);
  job->install_path = state_column_text (statement, 11);
  return job;
}

static gpointer
op_queue_add (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  MistQueueJob *job = args->record;
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle,
    "INSERT INTO queue_jobs (game_id, kind, target_ordinal, state, position, bytes_done, "
    "bytes_total, error_message, created_at, updated_at, install_path) VALUES (?, ?, ?, ?, "
    "(SELECT IFNULL(MAX(position), -1) + 1 FROM queue_jobs), ?, ?, ?, ?, ?, ?)", error);
  gint64 now = now_seconds ();

  if (statement == NULL)
    return NULL;
  state_bind_text (statement, 1, job->game_id);
  state_bind_text (statement, 2, mist_job_kind_to_string (job->kind));
  sqlite3_bind_int64 (statement, 3, job->target_ordinal);
  state_bind_text (statement, 4, mist_job_state_to_string (job->state));
  sqlite3_bind_int64 (statement, 5, (gint64) job->bytes_done);
  sqlite3_bind_int64 (statement, 6, (gint64) job->bytes_total);
  state_bind_text (statement, 7, job->error_message);
  sqlite3_bind_int64 (statement, 8, job->created_at != 0 ? job->created_at : now);
  sqlite3_bind_int64 (statement, 9, now);
  state_bind_text (statement, 10, job->install_path);
  if (!state_step_done (handle, statement, "add a download job", error))
    return NULL;
  return new_int64 (sqlite3_last_insert_rowid (handle));
}

static StateOpArgs *
queue_add_args (const MistQueueJob *job)
{
  StateOpArgs *args = args_new ();

  g_return_val_if_fail (job->game_id != NULL, NULL);
  args->record = mist_queue_job_copy (job);
  args->record_free = (GDestroyNotify) mist_queue_job_free;
  return args;
}

gint64
mist_state_db_queue_add (MistStateDb *db, MistQueueJob *job, GError **error)
{
  g_autofree gint64 *id = state_run_sync (db, op_queue_add, queue_add_args (job), error);

  if (id == NULL)
    return 0;
  job->id = *id;
  return *id;
}

void
mist_state_db_queue_add_async (MistStateDb *db,
                               const MistQueueJob *job,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  state_run_async (db, op_queue_add, queue_add_args (job), free_int64,
                   mist_state_db_queue_add_async, cancellable, callback, user_data);
}

gint64
mist_state_db_queue_add_finish (MistStateDb *db, GAsyncResult *result, GError **error)
{
  g_autofree gint64 *id = state_run_finish (db, result, error);

  return id != NULL ? *id : 0;
}

static gpointer
op_queue_list (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GPtrArray) jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_queue_job_free);
  int code;

  if (args->id != 0)
    statement = state_prepare (handle, "SELECT " JOB_COLUMNS " FROM queue_jobs WHERE id = ?", error);
  else
    statement = state_prepare (handle, "SELECT " JOB_COLUMNS " FROM queue_jobs ORDER BY position, id",
                               error);
  if (statement == NULL)
    return NULL;
  if (args->id != 0)
    sqlite3_bind_int64 (statement, 1, args->id);
  while ((code = sqlite3_step (statement)) == SQLITE_ROW)
    g_ptr_array_add (jobs, job_from_row (statement));
  if (code != SQLITE_DONE)
    {
      state_set_sqlite_error (handle, code, "list the download queue", error);
      return NULL;
    }
  return g_steal_pointer (&jobs);
}

GPtrArray *
mist_state_db_queue_list (MistStateDb *db, GError **error)
{
  return state_run_sync (db, op_queue_list, args_new (), error);
}

void
mist_state_db_queue_list_async (MistStateDb *db,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  state_run_async (db, op_queue_list, args_new (), free_array, mist_state_db_queue_list_async,
                   cancellable, callback, user_data);
}

GPtrArray *
mist_state_db_queue_list_finish (MistStateDb *db, GAsyncResult *result, GError **error)
{
  return state_run_finish (db, result, error);
}

MistQueueJob *
mist_state_db_queue_get (MistStateDb *db, gint64 id, GError **error)
{
  StateOpArgs *args = args_new ();
  g_autoptr (GPtrArray) jobs = NULL;

  args->id = id;
  jobs = state_run_sync (db, op_queue_list, args, error);
  if (jobs == NULL)
    return NULL;
  if (jobs->len == 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND, "No download job %" G_GINT64_FORMAT, id);
      return NULL;
    }
  return mist_queue_job_copy (g_ptr_array_index (jobs, 0));
}

/* Runs one UPDATE of a job by id and fails with NOT_FOUND when no row changed. */
static gpointer
update_job (sqlite3 *handle, sqlite3_stmt *statement, gint64 id, GError **error)
{
  if (!state_step_done (handle, statement, "update a download job", error))
    return NULL;
  if (sqlite3_changes (handle) == 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND, "No download job %" G_GINT64_FORMAT, id);
      return NULL;
    }
  return TRUE_RESULT;
}

static gpointer
op_queue_set_progress (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle,
    "UPDATE queue_jobs SET bytes_done = ?, bytes_total = ?, updated_at = ? WHERE id = ?", error);

  if (statement == NULL)
    return NULL;
  sqlite3_bind_int64 (statement, 1, (gint64) args->bytes_done);
  sqlite3_bind_int64 (statement, 2, (gint64) args->bytes_total);
  sqlite3_bind_int64 (statement, 3, now_seconds ());
  sqlite3_bind_int64 (statement, 4, args->id);
  return update_job (handle, statement, args->id, error);
}

static StateOpArgs *
progress_args (gint64 id, guint64 bytes_done, guint64 bytes_total)
{
  StateOpArgs *args = args_new ();

  args->id = id;
  args->bytes_done = bytes_done;
  args->bytes_total = bytes_total;
  return args;
}

gboolean
mist_state_db_queue_set_progress (MistStateDb *db,
                                  gint64 id,
                                  guint64 bytes_done,
                                  guint64 bytes_total,
                                  GError **error)
{
  return state_run_sync (db, op_queue_set_progress, progress_args (id, bytes_done, bytes_total),
                         error) != NULL;
}

void
mist_state_db_queue_set_progress_async (MistStateDb *db,
                                        gint64 id,
                                        guint64 bytes_done,
                                        guint64 bytes_total,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  state_run_async (db, op_queue_set_progress, progress_args (id, bytes_done, bytes_total), NULL,
                   mist_state_db_queue_set_progress_async, cancellable, callback, user_data);
}

static gpointer
op_queue_set_state (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle,
    "UPDATE queue_jobs SET state = ?, error_message = ?, updated_at = ? WHERE id = ?", error);
  MistJobState state = (MistJobState) args->number;

  if (statement == NULL)
    return NULL;
  state_bind_text (statement, 1, mist_job_state_to_string (state));
  state_bind_text (statement, 2, state == MIST_JOB_STATE_FAILED ? args->text : NULL);
  sqlite3_bind_int64 (statement, 3, now_seconds ());
  sqlite3_bind_int64 (statement, 4, args->id);
  return update_job (handle, statement, args->id, error);
}

static StateOpArgs *
set_state_args (gint64 id, MistJobState state, const char *error_message)
{
  StateOpArgs *args = args_new ();

  args->id = id;
  args->number = state;
  args->text = g_strdup (error_message);
  return args;
}

gboolean
mist_state_db_queue_set_state (MistStateDb *db,
                               gint64 id,
                               MistJobState state,
                               const char *error_message,
                               GError **error)
{
  return state_run_sync (db, op_queue_set_state, set_state_args (id, state, error_message), error) !=
         NULL;
}

void
mist_state_db_queue_set_state_async (MistStateDb *db,
                                     gint64 id,
                                     MistJobState state,
                                     const char *error_message,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  state_run_async (db, op_queue_set_state, set_state_args (id, state, error_message), NULL,
                   mist_state_db_queue_set_state_async, cancellable, callback, user_data);
}

/* Rewrites every position as 0..n-1 in the new order, inside one transaction. */
static gpointer
op_queue_move (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (GPtrArray) jobs = NULL;
  g_autoptr (sqlite3_stmt) update = NULL;
  StateOpArgs list_args = { 0 };
  gpointer moved = NULL;
  guint index = (guint) args->number;

  jobs = op_queue_list (handle, &list_args, error);
  if (jobs == NULL)
    return NULL;
  for (guint i = 0; i < jobs->len && moved == NULL; i++)
    if (((MistQueueJob *) g_ptr_array_index (jobs, i))->id == args->id)
      moved = g_ptr_array_steal_index (jobs, i);
  if (moved == NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND, "No download job %" G_GINT64_FORMAT,
                   args->id);
      return NULL;
    }
  g_ptr_array_insert (jobs, (gint) MIN (index, jobs->len), moved);

  update = state_prepare (handle, "UPDATE queue_jobs SET position = ? WHERE id = ?", error);
  if (update == NULL || !state_exec (handle, "BEGIN IMMEDIATE", "reorder the queue", error))
    return NULL;
  for (guint i = 0; i < jobs->len; i++)
    {
      sqlite3_reset (update);
      sqlite3_bind_int64 (update, 1, i);
      sqlite3_bind_int64 (update, 2, ((MistQueueJob *) g_ptr_array_index (jobs, i))->id);
      if (!state_step_done (handle, update, "reorder the queue", error))
        {
          state_exec (handle, "ROLLBACK", "roll back", NULL);
          return NULL;
        }
    }
  if (!state_exec (handle, "COMMIT", "reorder the queue", error))
    return NULL;
  return TRUE_RESULT;
}

static StateOpArgs *
move_args (gint64 id, guint index)
{
  StateOpArgs *args = args_new ();

  args->id = id;
  args->number = index;
  return args;
}

gboolean
mist_state_db_queue_move (MistStateDb *db, gint64 id, guint index, GError **error)
{
  return state_run_sync (db, op_queue_move, move_args (id, index), error) != NULL;
}

void
mist_state_db_queue_move_async (MistStateDb *db,
                                gint64 id,
                                guint index,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  state_run_async (db, op_queue_move, move_args (id, index), NULL,
                   mist_state_db_queue_move_async, cancellable, callback, user_data);
}

static gpointer
op_queue_remove (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle, "DELETE FROM queue_jobs WHERE id = ?", error);

  if (statement == NULL)
    return NULL;
  sqlite3_bind_int64 (statement, 1, args->id);
  return update_job (handle, statement, args->id, error);
}

static StateOpArgs *
id_args (gint64 id)
{
  StateOpArgs *args = args_new ();

  args->id = id;
  return args;
}

gboolean
mist_state_db_queue_remove (MistStateDb *db, gint64 id, GError **error)
{
  return state_run_sync (db, op_queue_remove, id_args (id), error) != NULL;
}

void
mist_state_db_queue_remove_async (MistStateDb *db,
                                  gint64 id,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  state_run_async (db, op_queue_remove, id_args (id), NULL, mist_state_db_queue_remove_async,
                   cancellable, callback, user_data);
}

/* Installed games and files. */

static MistInstalledGame *
game_from_row (sqlite3_stmt *statement)
{
  MistInstalledGame *game = g_new0 (MistInstalledGame, 1);

  game->game_id = state_column_text (statement, 0);
  game->version_ordinal = sqlite3_column_int64 (statement, 1);
  game->version_name = state_column_text (statement, 2);
  game->install_path = state_column_text (statement, 3);
  game->size = (guint64) sqlite3_column_int64 (statement, 4);
  game->installed_at = sqlite3_column_int64 (statement, 5);
  game->manifest_json = state_column_text (statement, 6);
  return game;
}

static gpointer
op_list_installed (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GPtrArray) games = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_installed_game_free);
  int code;

  statement = state_prepare (handle,
    "SELECT game_id, version_ordinal, version_name, install_path, size, installed_at, manifest_json "
    "FROM installed_games WHERE ?1 IS NULL OR game_id = ?1 ORDER BY game_id", error);
  if (statement == NULL)
    return NULL;
  state_bind_text (statement, 1, args->game_id);
  while ((code = sqlite3_step (statement)) == SQLITE_ROW)
    g_ptr_array_add (games, game_from_row (statement));
  if (code != SQLITE_DONE)
    {
      state_set_sqlite_error (handle, code, "list installed games", error);
      return NULL;
    }
  return g_steal_pointer (&games);
}

GPtrArray *
mist_state_db_list_installed (MistStateDb *db, GError **error)
{
  return state_run_sync (db, op_list_installed, args_new (), error);
}

void
mist_state_db_list_installed_async (MistStateDb *db,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  state_run_async (db, op_list_installed, args_new (), free_array, mist_state_db_list_installed_async,
                   cancellable, callback, user_data);
}

GPtrArray *
mist_state_db_list_installed_finish (MistStateDb *db, GAsyncResult *result, GError **error)
{
  return state_run_finish (db, result, error);
}

MistInstalledGame *
mist_state_db_get_installed (MistStateDb *db, const char *game_id, GError **error)
{
  StateOpArgs *args = args_new ();
  g_autoptr (GPtrArray) games = NULL;

  args->game_id = g_strdup (game_id);
  games = state_run_sync (db, op_list_installed, args, error);
  if (games == NULL || games->len == 0)
    return NULL;
  return mist_installed_game_copy (g_ptr_array_index (games, 0));
}

static gpointer
op_list_installed_files (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_installed_file_free);
  int code;

  statement = state_prepare (handle,
    "SELECT path, sha256, size, executable FROM installed_files WHERE game_id = ? ORDER BY path", error);
  if (statement == NULL)
    return NULL;
  state_bind_text (statement, 1, args->game_id);
  while ((code = sqlite3_step (statement)) == SQLITE_ROW)
    {
      MistInstalledFile *file = g_new0 (MistInstalledFile, 1);

      file->path = state_column_text (statement, 0);
      file->sha256 = state_column_text (statement, 1);
      file->size = (guint64) sqlite3_column_int64 (statement, 2);
      file->executable = sqlite3_column_int (statement, 3) != 0;
      g_ptr_array_add (files, file);
    }
  if (code != SQLITE_DONE)
    {
      state_set_sqlite_error (handle, code, "list installed files", error);
      return NULL;
    }
  return g_steal_pointer (&files);
}

GPtrArray *
mist_state_db_list_installed_files (MistStateDb *db, const char *game_id, GError **error)
{
  StateOpArgs *args = args_new ();

  args->game_id = g_strdup (game_id);
  return state_run_sync (db, op_list_installed_files, args, error);
}

static gboolean
delete_journal_entry (sqlite3 *handle, gint64 id, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  if (id == 0)
    return TRUE;
  statement = state_prepare (handle, "DELETE FROM journal WHERE id = ?", error);
  if (statement == NULL)
    return FALSE;
  sqlite3_bind_int64 (statement, 1, id);
  return state_step_done (handle, statement, "delete a journal entry", error);
}

static gboolean
insert_installed (sqlite3 *handle, const MistInstalledGame *game, GPtrArray *files, GError **error)
{
  g_autoptr (sqlite3_stmt) insert_game = NULL;
  g_autoptr (sqlite3_stmt) insert_file = NULL;

  insert_game = state_prepare (handle,
    "INSERT INTO installed_games (game_id, version_ordinal, version_name, install_path, size, "
    "installed_at, manifest_json) VALUES (?, ?, ?, ?, ?, ?, ?)", error);
  insert_file = state_prepare (handle,
    "INSERT INTO installed_files (game_id, path, sha256, size, executable) VALUES (?, ?, ?, ?, ?)",
    error);
  if (insert_game == NULL || insert_file == NULL)
    return FALSE;

  state_bind_text (insert_game, 1, game->game_id);
  sqlite3_bind_int64 (insert_game, 2, game->version_ordinal);
  state_bind_text (insert_game, 3, game->version_name);
  state_bind_text (insert_game, 4, game->install_path);
  sqlite3_bind_int64 (insert_game, 5, (gint64) game->size);
  sqlite3_bind_int64 (insert_game, 6, game->installed_at != 0 ? game->installed_at : now_seconds ());
  state_bind_text (insert_game, 7, game->manifest_json != NULL ? game->manifest_json : "{}");
  if (!state_step_done (handle, insert_game, "record an installed game", error))
    return FALSE;

  for (guint i = 0; files != NULL && i < files->len; i++)
    {
      const MistInstalledFile *file = g_ptr_array_index (files, i);

      sqlite3_reset (insert_file);
      state_bind_text (insert_file, 1, game->game_id);
      state_bind_text (insert_file, 2, file->path);
      state_bind_text (insert_file, 3, file->sha256);
      sqlite3_bind_int64 (insert_file, 4, (gint64) file->size);
      sqlite3_bind_int (insert_file, 5, file->executable ? 1 : 0);
      if (!state_step_done (handle, insert_file, "record an installed file", error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
delete_installed (sqlite3 *handle, const char *game_id, GError **error)
{
  g_autoptr (sqlite3_stmt) files = state_prepare (handle, "DELETE FROM installed_files WHERE game_id = ?", error);
  g_autoptr (sqlite3_stmt) game = state_prepare (handle, "DELETE FROM installed_games WHERE game_id = ?", error);

  if (files == NULL || game == NULL)
    return FALSE;
  state_bind_text (files, 1, game_id);
  state_bind_text (game, 1, game_id);
  return state_step_done (handle, files, "forget installed files", error) &&
         state_step_done (handle, game, "forget an installed game", error);
}

/* Replaces (record set) or deletes (record NULL) the game, with the journal entry, in one
 * SQLite transaction. */
static gpointer
op_set_installed (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  if (!state_exec (handle, "BEGIN IMMEDIATE", "start a transaction", error))
    return NULL;
  if (!delete_installed (handle, args->game_id, error) ||
      (args->record != NULL && !insert_installed (handle, args->record, args->files, error)) ||
      !delete_journal_entry (handle, args->id, error) ||
      !state_exec (handle, "COMMIT", "commit the installed state", error))
    {
      state_exec (handle, "ROLLBACK", "roll back", NULL);
      return NULL;
    }
  return TRUE_RESULT;
}

gboolean
mist_state_db_set_installed (MistStateDb *db,
                             const MistInstalledGame *game,
                             GPtrArray *files,
                             gint64 journal_id,
                             GError **error)
{
  StateOpArgs *args = args_new ();

  args->game_id = g_strdup (game->game_id);
  args->record = mist_installed_game_copy (game);
  args->record_free = (GDestroyNotify) mist_installed_game_free;
  args->files = files != NULL ? g_ptr_array_ref (files) : NULL;
  args->id = journal_id;
  return state_run_sync (db, op_set_installed, args, error) != NULL;
}

gboolean
mist_state_db_remove_installed (MistStateDb *db, const char *game_id, gint64 journal_id, GError **error)
{
  StateOpArgs *args = args_new ();

  args->game_id = g_strdup (game_id);
  args->id = journal_id;
  return state_run_sync (db, op_set_installed, args, error) != NULL;
}

/* Journal. */

static const char *
journal_state_to_string (MistJournalState state)
{
  return journal_state_names[state];
}

static gpointer
op_journal_begin (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  MistJournalEntry *entry = args->record;
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle,
    "INSERT INTO journal (game_id, kind, from_ordinal, target_ordinal, target_name, install_path, "
    "target_manifest_json, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  int code;

  if (statement == NULL)
    return NULL;
  state_bind_text (statement, 1, entry->game_id);
  state_bind_text (statement, 2, mist_job_kind_to_string (entry->kind));
  sqlite3_bind_int64 (statement, 3, entry->from_ordinal);
  sqlite3_bind_int64 (statement, 4, entry->target_ordinal);
  state_bind_text (statement, 5, entry->target_name != NULL ? entry->target_name : "");
  state_bind_text (statement, 6, entry->install_path);
  state_bind_text (statement, 7, entry->target_manifest_json);
  state_bind_text (statement, 8, journal_state_to_string (MIST_JOURNAL_STATE_STAGING));
  sqlite3_bind_int64 (statement, 9, now_seconds ());
  code = sqlite3_step (statement);
  if ((code & 0xff) == SQLITE_CONSTRAINT)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_BUSY,
                   "Game %s already has a transaction in progress; finish or recover it first",
                   entry->game_id);
      return NULL;
    }
  if (code != SQLITE_DONE)
    {
      state_set_sqlite_error (handle, code, "add a journal entry", error);
      return NULL;
    }
  return new_int64 (sqlite3_last_insert_rowid (handle));
}

gint64
mist_state_db_journal_begin (MistStateDb *db, MistJournalEntry *entry, GError **error)
{
  StateOpArgs *args = args_new ();
  g_autofree gint64 *id = NULL;

  args->record = mist_journal_entry_copy (entry);
  args->record_free = (GDestroyNotify) mist_journal_entry_free;
  id = state_run_sync (db, op_journal_begin, args, error);
  if (id == NULL)
    return 0;
  entry->id = *id;
  entry->state = MIST_JOURNAL_STATE_STAGING;
  return *id;
}

static gpointer
op_journal_set_state (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle, "UPDATE journal SET state = ? WHERE id = ?", error);

  if (statement == NULL)
    return NULL;
  state_bind_text (statement, 1, journal_state_to_string ((MistJournalState) args->number));
  sqlite3_bind_int64 (statement, 2, args->id);
  if (!state_step_done (handle, statement, "update a journal entry", error))
    return NULL;
  if (sqlite3_changes (handle) == 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND, "No journal entry %" G_GINT64_FORMAT, args->id);
      return NULL;
    }
  return TRUE_RESULT;
}

gboolean
mist_state_db_journal_set_state (MistStateDb *db, gint64 id, MistJournalState state, GError **error)
{
  StateOpArgs *args = args_new ();

  args->id = id;
  args->number = state;
  return state_run_sync (db, op_journal_set_state, args, error) != NULL;
}

static gpointer
op_journal_remove (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  return delete_journal_entry (handle, args->id, error) ? TRUE_RESULT : NULL;
}

gboolean
mist_state_db_journal_remove (MistStateDb *db, gint64 id, GError **error)
{
  StateOpArgs *args = args_new ();

  args->id = id;
  return state_run_sync (db, op_journal_remove, args, error) != NULL;
}

static gpointer
op_journal_list (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_journal_entry_free);
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle,
    "SELECT id, game_id, kind, from_ordinal, target_ordinal, target_name, install_path, "
    "target_manifest_json, state, created_at FROM journal WHERE ?1 IS NULL OR game_id = ?1 ORDER BY id",
    error);
  int code;

  if (statement == NULL)
    return NULL;
  state_bind_text (statement, 1, args->game_id);
  while ((code = sqlite3_step (statement)) == SQLITE_ROW)
    {
      MistJournalEntry *entry = g_new0 (MistJournalEntry, 1);
      int state = MIST_JOURNAL_STATE_STAGING;

      entry->id = sqlite3_column_int64 (statement, 0);
      entry->game_id = state_column_text (statement, 1);
      if (!mist_job_kind_from_string ((const char *) sqlite3_column_text (statement, 2), &entry->kind))
        entry->kind = MIST_JOB_KIND_INSTALL;
      entry->from_ordinal = sqlite3_column_int64 (statement, 3);
      entry->target_ordinal = sqlite3_column_int64 (statement, 4);
      entry->target_name = state_column_text (statement, 5);
      entry->install_path = state_column_text (statement, 6);
      entry->target_manifest_json = state_column_text (statement, 7);
      lookup_name (journal_state_names, G_N_ELEMENTS (journal_state_names),
                   (const char *) sqlite3_column_text (statement, 8), &state);
      entry->state = state;
      entry->created_at = sqlite3_column_int64 (statement, 9);
      g_ptr_array_add (entries, entry);
    }
  if (code != SQLITE_DONE)
    {
      state_set_sqlite_error (handle, code, "read the journal", error);
      return NULL;
    }
  return g_steal_pointer (&entries);
}

GPtrArray *
mist_state_db_journal_list (MistStateDb *db, GError **error)
{
  return state_run_sync (db, op_journal_list, args_new (), error);
}

MistJournalEntry *
mist_state_db_journal_get (MistStateDb *db, const char *game_id, GError **error)
{
  StateOpArgs *args = args_new ();
  g_autoptr (GPtrArray) entries = NULL;

  args->game_id = g_strdup (game_id);
  entries = state_run_sync (db, op_journal_list, args, error);
  if (entries == NULL || entries->len == 0)
    return NULL;
  return mist_journal_entry_copy (g_ptr_array_index (entries, 0));
}

/* Catalog cache. */

static gpointer
op_catalog_put (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle,
    "INSERT OR REPLACE INTO catalog_cache (key, json, fetched_at) VALUES (?, ?, ?)", error);

  if (statement == NULL)
    return NULL;
  state_bind_text (statement, 1, args->key);
  state_bind_text (statement, 2, args->text);
  sqlite3_bind_int64 (statement, 3, args->number);
  return state_step_done (handle, statement, "cache a catalog reply", error) ? TRUE_RESULT : NULL;
}

static StateOpArgs *
catalog_args (const char *key, const char *json, gint64 fetched_at)
{
  StateOpArgs *args = args_new ();

  args->key = g_strdup (key);
  args->text = g_strdup (json);
  args->number = fetched_at;
  return args;
}

gboolean
mist_state_db_catalog_put (MistStateDb *db, const char *key, const char *json, gint64 fetched_at, GError **error)
{
  g_return_val_if_fail (key != NULL && json != NULL, FALSE);
  return state_run_sync (db, op_catalog_put, catalog_args (key, json, fetched_at), error) != NULL;
}

void
mist_state_db_catalog_put_async (MistStateDb *db,
                                 const char *key,
                                 const char *json,
                                 gint64 fetched_at,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  state_run_async (db, op_catalog_put, catalog_args (key, json, fetched_at), NULL,
                   mist_state_db_catalog_put_async, cancellable, callback, user_data);
}

static gpointer
op_catalog_get (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle,
    "SELECT key, json, fetched_at FROM catalog_cache WHERE key = ?", error);
  MistCatalogEntry *entry;
  int code;

  if (statement == NULL)
    return NULL;
  state_bind_text (statement, 1, args->key);
  code = sqlite3_step (statement);
  if (code == SQLITE_DONE)
    return NULL;
  if (code != SQLITE_ROW)
    {
      state_set_sqlite_error (handle, code, "read the catalog cache", error);
      return NULL;
    }
  entry = g_new0 (MistCatalogEntry, 1);
  entry->key = state_column_text (statement, 0);
  entry->json = state_column_text (statement, 1);
  entry->fetched_at = sqlite3_column_int64 (statement, 2);
  return entry;
}

MistCatalogEntry *
mist_state_db_catalog_get (MistStateDb *db, const char *key, GError **error)
{
  return state_run_sync (db, op_catalog_get, catalog_args (key, NULL, 0), error);
}

void
mist_state_db_catalog_get_async (MistStateDb *db,
                                 const char *key,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  state_run_async (db, op_catalog_get, catalog_args (key, NULL, 0), (GDestroyNotify) mist_catalog_entry_free,
                   mist_state_db_catalog_get_async, cancellable, callback, user_data);
}

MistCatalogEntry *
mist_state_db_catalog_get_finish (MistStateDb *db, GAsyncResult *result, GError **error)
{
  return state_run_finish (db, result, error);
}

/* Play sessions. */

static gpointer
op_session_start (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle,
    "INSERT INTO play_sessions (game_id, started_at) VALUES (?, ?)", error);

  if (statement == NULL)
    return NULL;
  state_bind_text (statement, 1, args->game_id);
  sqlite3_bind_int64 (statement, 2, args->number);
  if (!state_step_done (handle, statement, "record a play session", error))
    return NULL;
  return new_int64 (sqlite3_last_insert_rowid (handle));
}

gint64
mist_state_db_session_start (MistStateDb *db, const char *game_id, gint64 started_at, GError **error)
{
  StateOpArgs *args = args_new ();
  g_autofree gint64 *id = NULL;

  args->game_id = g_strdup (game_id);
  args->number = started_at;
  id = state_run_sync (db, op_session_start, args, error);
  return id != NULL ? *id : 0;
}

static gpointer
op_session_end (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle,
    "UPDATE play_sessions SET ended_at = ? WHERE id = ?", error);

  if (statement == NULL)
    return NULL;
  sqlite3_bind_int64 (statement, 1, args->number);
  sqlite3_bind_int64 (statement, 2, args->id);
  if (!state_step_done (handle, statement, "end a play session", error))
    return NULL;
  if (sqlite3_changes (handle) == 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND, "No play session %" G_GINT64_FORMAT, args->id);
      return NULL;
    }
  return TRUE_RESULT;
}

gboolean
mist_state_db_session_end (MistStateDb *db, gint64 id, gint64 ended_at, GError **error)
{
  StateOpArgs *args = args_new ();

  args->id = id;
  args->number = ended_at;
  return state_run_sync (db, op_session_end, args, error) != NULL;
}

static gpointer
op_session_list (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (GPtrArray) sessions = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_play_session_free);
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle,
    "SELECT id, game_id, started_at, ended_at FROM play_sessions WHERE game_id = ? "
    "ORDER BY started_at DESC, id DESC", error);
  int code;

  if (statement == NULL)
    return NULL;
  state_bind_text (statement, 1, args->game_id);
  while ((code = sqlite3_step (statement)) == SQLITE_ROW)
    {
      MistPlaySession *session = g_new0 (MistPlaySession, 1);

      session->id = sqlite3_column_int64 (statement, 0);
      session->game_id = state_column_text (statement, 1);
      session->started_at = sqlite3_column_int64 (statement, 2);
      session->ended_at = sqlite3_column_int64 (statement, 3);
      g_ptr_array_add (sessions, session);
    }
  if (code != SQLITE_DONE)
    {
      state_set_sqlite_error (handle, code, "list play sessions", error);
      return NULL;
    }
  return g_steal_pointer (&sessions);
}

GPtrArray *
mist_state_db_session_list (MistStateDb *db, const char *game_id, GError **error)
{
  StateOpArgs *args = args_new ();

  args->game_id = g_strdup (game_id);
  return state_run_sync (db, op_session_list, args, error);
}
