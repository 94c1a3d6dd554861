/* mist-backend-db.h: the server's SQLite database
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One connection per thread: the main loop has one, the patch worker has its own. The
 * database runs in WAL mode, so the worker's writes do not block readers.
 */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

G_BEGIN_DECLS

#define MIST_BACKEND_DB_FILE "mist.sqlite3"
#define MIST_BACKEND_SCHEMA_VERSION 3

/* Opens (creating when create is TRUE) DATA_DIR/mist.sqlite3 and brings its schema to
 * MIST_BACKEND_SCHEMA_VERSION. */
sqlite3 *mist_backend_db_open (const char *data_dir, gboolean create, GError **error);
void mist_backend_db_close (sqlite3 *db);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3, mist_backend_db_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* Prepares sql, or sets error with SQLite's message. */
sqlite3_stmt *mist_backend_db_prepare (sqlite3 *db, const char *sql, GError **error);
gboolean mist_backend_db_exec (sqlite3 *db, const char *sql, GError **error);
/* Steps a statement that returns no rows. */
gboolean mist_backend_db_step_done (sqlite3 *db, sqlite3_stmt *statement, GError **error);
gboolean mist_backend_db_set_error (sqlite3 *db, GError **error);

/* Returns the text of column as a new string, or NULL for SQL NULL. */
char *mist_backend_db_column_dup (sqlite3_stmt *statement, int column);

gint64 mist_backend_now (void);
/* Formats Unix seconds as an RFC 3339 UTC time: 2026-12-04T16:02:20Z. */
char *mist_backend_format_time (gint64 unix_seconds);

/* Users; the offline tools of mistpipe and the API share these. */
typedef struct
{
  gint64 id;
  char *name;
  char *password_hash;
  gboolean is_admin;
  gboolean disabled;
  gint64 created_at;
} MistBackendUser;

void mist_backend_user_free (MistBackendUser *user);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistBackendUser, mist_backend_user_free)

/* Returns the user, NULL with no error when there is none, or NULL with error. The name
 * is matched ignoring ASCII case. */
MistBackendUser *mist_backend_db_lookup_user (sqlite3 *db, const char *name, GError **error);
/* Returns every user sorted by name, as MistBackendUser. */
GPtrArray *mist_backend_db_list_users (sqlite3 *db, GError **error);
gint64 mist_backend_db_count_users (sqlite3 *db, GError **error);
gboolean mist_backend_db_insert_user (sqlite3 *db,
                                      const char *name,
                                      const char *password_hash,
                                      gboolean is_admin,
                                      GError **error);
/* Changes the columns whose argument is not NULL / not -1, and revokes every token of the
 * user when the password changes or the user is disabled. */
gboolean mist_backend_db_update_user (sqlite3 *db,
                                      gint64 user_id,
                                      const char *password_hash,
                                      int is_admin,
                                      int disabled,
                                      GError **error);

gboolean mist_backend_user_name_is_valid (const char *name);

G_END_DECLS
