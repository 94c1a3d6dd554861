/* mist-backend-db.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-db.h"
#include "mist-error.h"

#include <glib/gstdio.h>

/* Schema 1. Times are Unix seconds. A "file" is a file content uploaded by a publisher,
 * named by its SHA-256 and stored as the zstd object object_id. version_files and
 * deltas index the objects each version and patch set refer to, so the content routes
 * can authorize an object by the games that use it. */
static const char schema_1[] =
  "CREATE TABLE users ("
  "  id INTEGER PRIMARY KEY,"
  "  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
  "  password_hash TEXT NOT NULL,"
  "  is_admin INTEGER NOT NULL DEFAULT 0,"
  "  disabled INTEGER NOT NULL DEFAULT 0,"
  "  created_at INTEGER NOT NULL);"
  "CREATE TABLE tokens ("
  "  hash TEXT PRIMARY KEY,"
  "  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
  "  created_at INTEGER NOT NULL,"
  "  expires_at INTEGER NOT NULL);"
  "CREATE INDEX tokens_user ON tokens (user_id);"
  "CREATE TABLE games ("
  "  id INTEGER PRIMARY KEY,"
  "  slug TEXT NOT NULL UNIQUE,"
  "  title TEXT NOT NULL,"
  "  description TEXT NOT NULL DEFAULT '',"
  "  visibility TEXT NOT NULL CHECK (visibility IN ('public', 'private')),"
  "  cover_sha256 TEXT,"
  "  cover_size INTEGER,"
  "  cover_type TEXT,"
  "  launch TEXT,"
  "  created_at INTEGER NOT NULL);"
  "CREATE TABLE files ("
  "  sha256 TEXT PRIMARY KEY,"
  "  size INTEGER NOT NULL,"
  "  object_id TEXT NOT NULL,"
  "  object_size INTEGER NOT NULL,"
  "  created_at INTEGER NOT NULL);"
  "CREATE TABLE versions ("
  "  id INTEGER PRIMARY KEY,"
  "  game_id INTEGER NOT NULL REFERENCES games (id) ON DELETE CASCADE,"
  "  ordinal INTEGER NOT NULL,"
  "  name TEXT NOT NULL,"
  "  changelog TEXT NOT NULL DEFAULT '',"
  "  manifest TEXT NOT NULL,"
  "  launch TEXT,"
  "  file_count INTEGER NOT NULL,"
  "  installed_size INTEGER NOT NULL,"
  "  download_size INTEGER NOT NULL,"
  "  created_at INTEGER NOT NULL,"
  "  UNIQUE (game_id, ordinal),"
  "  UNIQUE (game_id, name));"
  "CREATE TABLE version_files ("
  "  version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,"
  "  path TEXT NOT NULL,"
  "  sha256 TEXT NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  object_id TEXT NOT NULL,"
  "  object_size INTEGER NOT NULL,"
  "  PRIMARY KEY (version_id, path));"
  "CREATE INDEX version_files_object ON version_files (object_id);"
  "CREATE TABLE patch_sets ("
  "  id INTEGER PRIMARY KEY,"
  "  game_id INTEGER NOT NULL REFERENCES games (id) ON DELETE CASCADE,"
  "  from_ordinal INTEGER NOT NULL,"
  "  to_ordinal INTEGER NOT NULL,"
  "  state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'ready', 'failed')),"
  "  error TEXT,"
  "  delta_count INTEGER,"
  "  download_size INTEGER,"
  "  updated_at INTEGER NOT NULL,"
  "  UNIQUE (game_id, from_ordinal, to_ordinal));"
  "CREATE TABLE deltas ("
  "  patch_set_id INTEGER NOT NULL REFERENCES patch_sets (id) ON DELETE CASCADE,"
  "  path TEXT NOT NULL,"
  "  source_path TEXT NOT NULL,"
  "  source_sha256 TEXT NOT NULL,"
  "  target_sha256 TEXT NOT NULL,"
  "  format TEXT NOT NULL,"
  "  object_id TEXT NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  PRIMARY KEY (patch_set_id, path));"
  "CREATE INDEX deltas_object ON deltas (object_id);"
  /* Deltas already built for a (source, target, format), reused by later patch sets
   * and retries; size NULL records that the delta was not smaller than the full file. */
  "CREATE TABLE delta_cache ("
  "  source_sha256 TEXT NOT NULL,"
  "  target_sha256 TEXT NOT NULL,"
  "  format TEXT NOT NULL,"
  "  object_id TEXT,"
  "  size INTEGER,"
  "  PRIMARY KEY (source_sha256, target_sha256, format));";

/* Schema 2: pack files (docs/api.md, "Pack files"). The "packs" columns hold the JSON
 * array the API returns, NULL until the worker wrote the packs of that version or patch
 * set. pack_refs indexes each pack object by the game, version or patch set that lists
 * it, for the same authorization as the objects inside it. */
static const char schema_2[] =
  "ALTER TABLE versions ADD COLUMN packs TEXT;"
  "ALTER TABLE patch_sets ADD COLUMN packs TEXT;"
  "CREATE TABLE pack_refs ("
  "  object_id TEXT NOT NULL,"
  "  game_id INTEGER NOT NULL REFERENCES games (id) ON DELETE CASCADE,"
  "  version_id INTEGER REFERENCES versions (id) ON DELETE CASCADE,"
  "  patch_set_id INTEGER REFERENCES patch_sets (id) ON DELETE CASCADE);"
  "CREATE INDEX pack_refs_object ON pack_refs (object_id);"
  "CREATE INDEX pack_refs_version ON pack_refs (version_id);"
  "CREATE INDEX pack_refs_patch_set ON pack_refs (patch_set_id);";

/* Schema 3. Failed logins by "user:NAME" or "address:IP" in the window that started at
 * window_start, so the rate limit survives a restart. */
static const char schema_3[] =
  "CREATE TABLE login_failures ("
  "  key TEXT PRIMARY KEY,"
  "  window_start INTEGER NOT NULL,"
  "  count INTEGER NOT NULL);";

gboolean
mist_backend_db_set_error (sqlite3 *db, GError **error)
{
  g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED, "SQLite: %s", sqlite3_errmsg (db));
  return FALSE;
}

sqlite3_stmt *
mist_backend_db_prepare (sqlite3 *db, const char *sql, GError **error)
{
  sqlite3_stmt *statement = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &statement, NULL) != SQLITE_OK)
    {
      mist_backend_db_set_error (db, error);
      return NULL;
    }
  return statement;
}

gboolean
mist_backend_db_exec (sqlite3 *db, const char *sql, GError **error)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED, "SQLite: %s", message);
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

gboolean
mist_backend_db_step_done (sqlite3 *db, sqlite3_stmt *statement, GError **error)
{
  if (sqlite3_step (statement) != SQLITE_DONE)
    return mist_backend_db_set_error (db, error);
  return TRUE;
}

char *
mist_backend_db_column_dup (sqlite3_stmt *statement, int column)
{
  const unsigned char *text = sqlite3_column_text (statement, column);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

static gboolean
migrate (sqlite3 *db, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  int version;

  statement = mist_backend_db_prepare (db, "PRAGMA user_version", error);
  if (statement == NULL || sqlite3_step (statement) != SQLITE_ROW)
    return statement == NULL ? FALSE : mist_backend_db_set_error (db, error);
  version = sqlite3_column_int (statement, 0);

  if (version > MIST_BACKEND_SCHEMA_VERSION)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
                   "The database has schema version %d, newer than this server's %d: "
                   "run a newer mist-backend-stub",
                   version, MIST_BACKEND_SCHEMA_VERSION);
      return FALSE;
    }
  if (version == MIST_BACKEND_SCHEMA_VERSION)
    return TRUE;

  if (!mist_backend_db_exec (db, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (version < 1 && !mist_backend_db_exec (db, schema_1, error))
    goto rollback;
  if (version < 2 && !mist_backend_db_exec (db, schema_2, error))
    goto rollback;
  if (version < 3 && !mist_backend_db_exec (db, schema_3, error))
    goto rollback;
  if (!mist_backend_db_exec (db, "PRAGMA user_version = " G_STRINGIFY (
                                   MIST_BACKEND_SCHEMA_VERSION),
                             error))
    goto rollback;
  return mist_backend_db_exec (db, "COMMIT", error);

rollback:
  mist_backend_db_exec (db, "ROLLBACK", NULL);
  g_prefix_error (error, "Cannot upgrade the database schema from version %d: ", version);
  return FALSE;
}

sqlite3 *
mist_backend_db_open (const char *data_dir, gboolean create, GError **error)
{
  g_autofree char *path = g_build_filename (data_dir, MIST_BACKEND_DB_FILE, NULL);
  g_autoptr (sqlite3) db = NULL;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

  if (create)
    flags |= SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2 (path, &db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, MIST_ERROR, create ? MIST_ERROR_FAILED : MIST_ERROR_NOT_FOUND,
                   "Cannot open the database %s: %s", path,
                   db != NULL ? sqlite3_errmsg (db) : "out of memory");
      return NULL;
    }

  sqlite3_busy_timeout (db, 10000);
  if (!mist_backend_db_exec (db, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;"
                                 "PRAGMA synchronous = NORMAL;", error) ||
      !migrate (db, error))
    {
      g_prefix_error (error, "Cannot open the database %s: ", path);
      return NULL;
    }
  return g_steal_pointer (&db);
}

void
mist_backend_db_close (sqlite3 *db)
{
  sqlite3_close (db);
}

gint64
mist_backend_now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

char *
mist_backend_format_time (gint64 unix_seconds)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_unix_utc (unix_seconds);

  return time != NULL ? g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("");
}

void
mist_backend_user_free (MistBackendUser *user)
{
  if (user == NULL)
    return;
  g_free (user->name);
  g_free (user->password_hash);
  g_free (user);
}

gboolean
mist_backend_user_name_is_valid (const char *name)
{
  gsize length = strlen (name);

  if (length == 0 || length > 64)
    return FALSE;
  for (const char *c = name; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && *c != '.' && *c != '_' && *c != '-')
      return FALSE;
  return TRUE;
}

#define USER_COLUMNS "id, name, password_hash, is_admin, disabled, created_at"

static MistBackendUser *
read_user (sqlite3_stmt *statement)
{
  MistBackendUser *user = g_new0 (MistBackendUser, 1);

  user->id = sqlite3_column_int64 (statement, 0);
  user->name = mist_backend_db_column_dup (statement, 1);
  user->password_hash = mist_backend_db_column_dup (statement, 2);
  user->is_admin = sqlite3_column_int (statement, 3) != 0;
  user->disabled = sqlite3_column_int (statement, 4) != 0;
  user->created_at = sqlite3_column_int64 (statement, 5);
  return user;
}

MistBackendUser *
mist_backend_db_lookup_user (sqlite3 *db, const char *name, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  int status;

  statement = mist_backend_db_prepare (db, "SELECT " USER_COLUMNS " FROM users WHERE name = ?",
                                       error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_text (statement, 1, name, -1, SQLITE_TRANSIENT);
  status = sqlite3_step (statement);
  if (status == SQLITE_ROW)
    return read_user (statement);
  if (status != SQLITE_DONE)
    mist_backend_db_set_error (db, error);
  return NULL;
}

GPtrArray *
mist_backend_db_list_users (sqlite3 *db, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GPtrArray) users = g_ptr_array_new_with_free_func (
    (GDestroyNotify) mist_backend_user_free);
  int status;

  statement = mist_backend_db_prepare (
    db, "SELECT " USER_COLUMNS " FROM users ORDER BY name COLLATE NOCASE", error);
  if (statement == NULL)
    return NULL;
  while ((status = sqlite3_step (statement)) == SQLITE_ROW)
    g_ptr_array_add (users, read_user (statement));
  if (status != SQLITE_DONE)
    {
      mist_backend_db_set_error (db, error);
      return NULL;
    }
  return g_steal_pointer (&users);
}

gint64
mist_backend_db_count_users (sqlite3 *db, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  statement = mist_backend_db_prepare (db, "SELECT count(*) FROM users", error);
  if (statement == NULL)
    return -1;
  if (sqlite3_step (statement) != SQLITE_ROW)
    {
      mist_backend_db_set_error (db, error);
      return -1;
    }
  return sqlite3_column_int64 (statement, 0);
}

gboolean
mist_backend_db_insert_user (sqlite3 *db,
                             const char *name,
                             const char *password_hash,
                             gboolean is_admin,
                             GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  int status;

  statement = mist_backend_db_prepare (db,
                                       "INSERT INTO users (name, password_hash, is_admin, "
                                       "created_at) VALUES (?, ?, ?, ?)",
                                       error);
  if (statement == NULL)
    return FALSE;
  sqlite3_bind_text (statement, 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 2, password_hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (statement, 3, is_admin ? 1 : 0);
  sqlite3_bind_int64 (statement, 4, mist_backend_now ());
  status = sqlite3_step (statement);
  if (status == SQLITE_CONSTRAINT)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_CONFLICT,
                   "A user named “%s” exists already (names ignore case)", name);
      return FALSE;
    }
  if (status != SQLITE_DONE)
    return mist_backend_db_set_error (db, error);
  return TRUE;
}

gboolean
mist_backend_db_update_user (sqlite3 *db,
                             gint64 user_id,
                             const char *password_hash,
                             int is_admin,
                             int disabled,
                             GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (sqlite3_stmt) revoke = NULL;

  statement = mist_backend_db_prepare (db,
                                       "UPDATE users SET"
                                       " password_hash = coalesce (?1, password_hash),"
                                       " is_admin = coalesce (?2, is_admin),"
                                       " disabled = coalesce (?3, disabled)"
                                       " WHERE id = ?4",
                                       error);
  if (statement == NULL)
    return FALSE;
  if (password_hash != NULL)
    sqlite3_bind_text (statement, 1, password_hash, -1, SQLITE_TRANSIENT);
  if (is_admin >= 0)
    sqlite3_bind_int (statement, 2, is_admin);
  if (disabled >= 0)
    sqlite3_bind_int (statement, 3, disabled);
  sqlite3_bind_int64 (statement, 4, user_id);
  if (!mist_backend_db_step_done (db, statement, error))
    return FALSE;

  if (password_hash == NULL && disabled != 1)
    return TRUE;
  revoke = mist_backend_db_prepare (db, "DELETE FROM tokens WHERE user_id = ?", error);
  if (revoke == NULL)
    return FALSE;
  sqlite3_bind_int64 (revoke, 1, user_id);
  return mist_backend_db_step_done (db, revoke, error);
}
