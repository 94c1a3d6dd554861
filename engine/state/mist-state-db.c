/* mist-state-db.c: the worker thread, schema migrations and records
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One GThread owns the sqlite3 handle and runs operations popped from a GAsyncQueue in
 * order. An operation is a function with its arguments; the synchronous API waits on a
 * GCond for its result, the asynchronous API hands it to a GTask, which calls back on the
 * caller's main context.
 */
#include "mist-state-db.h"
#include "mist-state-db-private.h"
#include "mist-error.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

struct _MistStateDb
{
  gint ref_count; /* atomic */
  char *path;
  GThread *thread;
  GAsyncQueue *queue; /* StateOp elements, owned by the queue until popped */
  sqlite3 *handle;    /* used only on the worker thread after open */
};

typedef struct
{
  StateOpFunc func;
  StateOpArgs *args;
  gboolean quit;

  /* Asynchronous operations: the task that receives the result (owned). */
  GTask *task;
  GDestroyNotify result_free;

  /* Synchronous operations: the caller waits until done is set under mutex. */
  GMutex mutex;
  GCond cond;
  gboolean done;
  gpointer result;
  GError *error;
} StateOp;

/* Each entry brings the schema from version index to index + 1. */
static const char *const migrations[] = {
  "CREATE TABLE queue_jobs ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  game_id TEXT NOT NULL,"
  "  kind TEXT NOT NULL,"
  "  target_ordinal INTEGER NOT NULL,"
  "  state TEXT NOT NULL,"
  "  position INTEGER NOT NULL,"
  "  bytes_done INTEGER NOT NULL DEFAULT 0,"
  "  bytes_total INTEGER NOT NULL DEFAULT 0,"
  "  error_message TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL);"
  "CREATE TABLE installed_games ("
  "  game_id TEXT PRIMARY KEY,"
  "  version_ordinal INTEGER NOT NULL,"
  "  version_name TEXT NOT NULL,"
  "  install_path TEXT NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  installed_at INTEGER NOT NULL,"
  "  manifest_json TEXT NOT NULL);"
  "CREATE TABLE installed_files ("
  "  game_id TEXT NOT NULL REFERENCES installed_games (game_id) ON DELETE CASCADE,"
  "  path TEXT NOT NULL,"
  "  sha256 TEXT NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  executable INTEGER NOT NULL,"
  "  PRIMARY KEY (game_id, path)) WITHOUT ROWID;"
  "CREATE TABLE journal ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  game_id TEXT NOT NULL UNIQUE,"
  "  kind TEXT NOT NULL,"
  "  from_ordinal INTEGER NOT NULL,"
  "  target_ordinal INTEGER NOT NULL,"
  "  target_name TEXT NOT NULL,"
  "  install_path TEXT NOT NULL,"
  "  target_manifest_json TEXT NOT NULL,"
  "  state TEXT NOT NULL,"
  "  created_at INTEGER NOT NULL);"
  "CREATE TABLE catalog_cache ("
  "  key TEXT PRIMARY KEY,"
  "  json TEXT NOT NULL,"
  "  fetched_at INTEGER NOT NULL);"
  "CREATE TABLE play_sessions ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  game_id TEXT NOT NULL,"
  "  started_at INTEGER NOT NULL,"
  "  ended_at INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX play_sessions_by_game ON play_sessions (game_id, started_at);",
  /* Version 1 kept a job's install folder in catalog_cache as {"install_path": ...} under
   * the key "job/<id>"; the folder moves into its own column. */
  "ALTER TABLE queue_jobs ADD COLUMN install_path TEXT;"
  "UPDATE queue_jobs SET install_path ="
  "  (SELECT json_extract (json, '$.install_path') FROM catalog_cache"
  "   WHERE key = 'job/' || queue_jobs.id);"
  "DELETE FROM catalog_cache WHERE key GLOB 'job/[0-9]*';",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == MIST_STATE_DB_SCHEMA_VERSION);

void
state_set_sqlite_error (sqlite3 *handle, int code, const char *what, GError **error)
{
  MistError mist_code = MIST_ERROR_FAILED;

  switch (code & 0xff)
    {
    case SQLITE_FULL:
      mist_code = MIST_ERROR_NO_SPACE;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      mist_code = MIST_ERROR_INVALID_DATA;
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      mist_code = MIST_ERROR_BUSY;
      break;
    case SQLITE_CONSTRAINT:
      mist_code = MIST_ERROR_CONFLICT;
      break;
    default:
      break;
    }
  g_set_error (error, MIST_ERROR, mist_code, "SQLite failed to %s: %s (%s)", what,
               handle != NULL ? sqlite3_errmsg (handle) : sqlite3_errstr (code),
               sqlite3_errstr (code));
}

sqlite3_stmt *
state_prepare (sqlite3 *handle, const char *sql, GError **error)
{
  sqlite3_stmt *statement = NULL;
  int code = sqlite3_prepare_v2 (handle, sql, -1, &statement, NULL);

  if (code != SQLITE_OK)
    {
      state_set_sqlite_error (handle, code, "prepare a statement", error);
      return NULL;
    }
  return statement;
}

gboolean
state_step_done (sqlite3 *handle, sqlite3_stmt *statement, const char *what, GError **error)
{
  int code = sqlite3_step (statement);

  if (code != SQLITE_DONE && code != SQLITE_ROW)
    {
      state_set_sqlite_error (handle, code, what, error);
      return FALSE;
    }
  return TRUE;
}

gboolean
state_exec (sqlite3 *handle, const char *sql, const char *what, GError **error)
{
  char *message = NULL;
  int code = sqlite3_exec (handle, sql, NULL, NULL, &message);

  if (code != SQLITE_OK)
    {
      g_set_error (error, MIST_ERROR, (code & 0xff) == SQLITE_FULL ? MIST_ERROR_NO_SPACE : MIST_ERROR_FAILED,
                   "SQLite failed to %s: %s", what, message != NULL ? message : sqlite3_errstr (code));
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

char *
state_column_text (sqlite3_stmt *statement, int column)
{
  const unsigned char *text = sqlite3_column_text (statement, column);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

void
state_bind_text (sqlite3_stmt *statement, int index, const char *text)
{
  if (text != NULL)
    sqlite3_bind_text (statement, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (statement, index);
}

/* Opening and migrations (worker thread). */

static gboolean
state_get_user_version (sqlite3 *handle, gint64 *version, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle, "PRAGMA user_version", error);

  if (statement == NULL)
    return FALSE;
  if (sqlite3_step (statement) != SQLITE_ROW)
    {
      state_set_sqlite_error (handle, sqlite3_errcode (handle), "read the schema version", error);
      return FALSE;
    }
  *version = sqlite3_column_int64 (statement, 0);
  return TRUE;
}

static gboolean
state_migrate (sqlite3 *handle, const char *path, GError **error)
{
  gint64 version;

  if (!state_get_user_version (handle, &version, error))
    return FALSE;
  if (version > MIST_STATE_DB_SCHEMA_VERSION)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
                   "State database %s has schema version %" G_GINT64_FORMAT
                   ", newer than %d that this Mist knows; update Mist",
                   path, version, MIST_STATE_DB_SCHEMA_VERSION);
      return FALSE;
    }

  for (; version < MIST_STATE_DB_SCHEMA_VERSION; version++)
    {
      g_autofree char *sql = g_strdup_printf ("BEGIN IMMEDIATE; %s; PRAGMA user_version = %" G_GINT64_FORMAT
                                              "; COMMIT;",
                                              migrations[version], version + 1);

      if (!state_exec (handle, sql, "migrate the schema", error))
        {
          sqlite3_exec (handle, "ROLLBACK", NULL, NULL, NULL);
          g_prefix_error (error, "Cannot upgrade %s to schema version %" G_GINT64_FORMAT ": ", path,
                          version + 1);
          return FALSE;
        }
      g_debug ("State database %s migrated to schema version %" G_GINT64_FORMAT, path, version + 1);
    }
  return TRUE;
}

static sqlite3 *
state_open_handle (const char *path, GError **error)
{
  g_autofree char *folder = g_path_get_dirname (path);
  sqlite3 *handle = NULL;
  int code;

  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot create folder %s for the state database: %s", folder,
                   g_strerror (saved_errno));
      return NULL;
    }

  code = sqlite3_open_v2 (path, &handle,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (code != SQLITE_OK)
    {
      state_set_sqlite_error (handle, code, "open the state database", error);
      g_prefix_error (error, "%s: ", path);
      sqlite3_close (handle);
      return NULL;
    }
  sqlite3_busy_timeout (handle, 5000);

  /* WAL keeps readers of other processes (a second mist-cli) working during writes;
   * synchronous=FULL makes each commit durable before it returns, which the install
   * journal relies on to order database writes against file renames. */
  if (!state_exec (handle,
                   "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                   "configure the connection", error) ||
      !state_migrate (handle, path, error))
    {
      g_prefix_error (error, "%s: ", path);
      sqlite3_close (handle);
      return NULL;
    }
  return handle;
}

/* The worker thread. */

static void
state_op_free (StateOp *op)
{
  if (op->args != NULL)
    state_op_args_free (op->args);
  g_clear_object (&op->task);
  g_mutex_clear (&op->mutex);
  g_cond_clear (&op->cond);
  g_free (op);
}

static gpointer
state_worker (gpointer data)
{
  MistStateDb *db = data;

  for (;;)
    {
      StateOp *op = g_async_queue_pop (db->queue);
      GError *error = NULL;
      gpointer result;

      if (op->quit)
        {
          state_op_free (op);
          break;
        }

      if (op->task != NULL && g_task_return_error_if_cancelled (op->task))
        {
          state_op_free (op);
          continue;
        }

      result = op->func (db->handle, op->args, &error);

      if (op->task != NULL)
        {
          if (error != NULL)
            g_task_return_error (op->task, error);
          else
            g_task_return_pointer (op->task, result, op->result_free);
          state_op_free (op);
        }
      else
        {
          g_mutex_lock (&op->mutex);
          op->result = result;
          op->error = error;
          op->done = TRUE;
          g_cond_signal (&op->cond);
          g_mutex_unlock (&op->mutex);
        }
    }

  sqlite3_close (db->handle);
  db->handle = NULL;
  return NULL;
}

static StateOp *
state_op_new (StateOpFunc func, StateOpArgs *args)
{
  StateOp *op = g_new0 (StateOp, 1);

  op->func = func;
  op->args = args;
  g_mutex_init (&op->mutex);
  g_cond_init (&op->cond);
  return op;
}

gpointer
state_run_sync (MistStateDb *db, StateOpFunc func, StateOpArgs *args, GError **error)
{
  StateOp *op = state_op_new (func, args);
  gpointer result;

  g_mutex_lock (&op->mutex);
  g_async_queue_push (db->queue, op);
  while (!op->done)
    g_cond_wait (&op->cond, &op->mutex);
  g_mutex_unlock (&op->mutex);

  result = op->result;
  if (op->error != NULL)
    g_propagate_error (error, op->error);
  state_op_free (op);
  return result;
}

void
state_run_async (MistStateDb *db,
                 StateOpFunc func,
                 StateOpArgs *args,
                 GDestroyNotify result_free,
                 gpointer source_tag,
                 GCancellable *cancellable,
                 GAsyncReadyCallback callback,
                 gpointer user_data)
{
  StateOp *op = state_op_new (func, args);

  op->task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (op->task, source_tag);
  g_task_set_task_data (op->task, db, NULL);
  op->result_free = result_free;
  g_async_queue_push (db->queue, op);
}

gpointer
state_run_finish (MistStateDb *db, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_task_data (G_TASK (result)) == db, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

char *
mist_state_db_default_path (void)
{
  const char *override = g_getenv ("MIST_STATE_DB");

  if (override != NULL && override[0] != '\0')
    return g_strdup (override);
  return g_build_filename (g_get_user_data_dir (), "mist", "state.db", NULL);
}

static gpointer
op_nothing (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  return NULL;
}

void
mist_state_db_flush (MistStateDb *db)
{
  g_return_if_fail (db != NULL);

  /* The worker runs operations in order: this one ends after those queued before it. */
  state_run_sync (db, op_nothing, NULL, NULL);
}

MistStateDb *
mist_state_db_open (const char *path, GError **error)
{
  MistStateDb *db;
  sqlite3 *handle;

  g_return_val_if_fail (path != NULL, NULL);

  /* The handle is opened here and then used only by the worker, which the thread
   * creation orders after this point (SQLITE_OPEN_NOMUTEX allows one thread at a time). */
  handle = state_open_handle (path, error);
  if (handle == NULL)
    return NULL;

  db = g_new0 (MistStateDb, 1);
  db->ref_count = 1;
  db->path = g_strdup (path);
  db->handle = handle;
  db->queue = g_async_queue_new ();
  db->thread = g_thread_new ("mist-state-db", state_worker, db);
  return db;
}

static void
state_open_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;
  MistStateDb *db = mist_state_db_open (task_data, &error);

  if (db == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, db, (GDestroyNotify) mist_state_db_unref);
}

void
mist_state_db_open_async (const char *path,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, mist_state_db_open_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, state_open_thread);
}

MistStateDb *
mist_state_db_open_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

MistStateDb *
mist_state_db_ref (MistStateDb *db)
{
  g_atomic_int_inc (&db->ref_count);
  return db;
}

void
mist_state_db_unref (MistStateDb *db)
{
  StateOp *quit;

  if (!g_atomic_int_dec_and_test (&db->ref_count))
    return;

  /* The queue is FIFO, so every operation queued before this one still runs. */
  quit = state_op_new (NULL, NULL);
  quit->quit = TRUE;
  g_async_queue_push (db->queue, quit);
  g_thread_join (db->thread);
  g_async_queue_unref (db->queue);
  g_free (db->path);
  g_free (db);
}

const char *
mist_state_db_get_path (MistStateDb *db)
{
  return db->path;
}

static gpointer
op_check_integrity (sqlite3 *handle, StateOpArgs *args, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = state_prepare (handle, "PRAGMA integrity_check", error);
  g_autoptr (GString) problems = g_string_new (NULL);
  int code;

  if (statement == NULL)
    return NULL;
  while ((code = sqlite3_step (statement)) == SQLITE_ROW)
    {
      const char *line = (const char *) sqlite3_column_text (statement, 0);

      if (g_strcmp0 (line, "ok") != 0)
        g_string_append_printf (problems, "%s%s", problems->len > 0 ? "; " : "", line);
    }
  if (code != SQLITE_DONE)
    {
      state_set_sqlite_error (handle, code, "check integrity", error);
      return NULL;
    }
  if (problems->len > 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA, "The state database is damaged: %s",
                   problems->str);
      return NULL;
    }
  return GINT_TO_POINTER (TRUE);
}

gboolean
mist_state_db_check_integrity (MistStateDb *db, GError **error)
{
  return state_run_sync (db, op_check_integrity, NULL, error) != NULL;
}

gboolean
mist_state_db_finish (MistStateDb *db, GAsyncResult *result, GError **error)
{
  return state_run_finish (db, result, error) != NULL;
}

void
state_op_args_free (StateOpArgs *args)
{
  g_free (args->game_id);
  g_free (args->key);
  g_free (args->text);
  if (args->record != NULL && args->record_free != NULL)
    args->record_free (args->record);
  g_clear_pointer (&args->files, g_ptr_array_unref);
  g_free (args);
}
