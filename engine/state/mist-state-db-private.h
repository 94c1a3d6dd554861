/* mist-state-db-private.h: the operation runner shared by the state database's files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-state-db.h"

#include <sqlite3.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* Arguments of one operation; which fields are used depends on the operation. Strings,
 * record (with record_free) and files are owned. */
typedef struct
{
  gint64 id;
  char *game_id;
  char *key;
  char *text;
  gint64 number;
  guint64 bytes_done;
  guint64 bytes_total;
  gpointer record;
  GDestroyNotify record_free;
  GPtrArray *files;
} StateOpArgs;

/* Runs on the worker thread. Returns the result, or NULL with error set; an operation
 * whose result may be absent returns NULL without an error. */
typedef gpointer (*StateOpFunc) (sqlite3 *handle, StateOpArgs *args, GError **error);

void state_op_args_free (StateOpArgs *args);

gpointer state_run_sync (MistStateDb *db, StateOpFunc func, StateOpArgs *args, GError **error);
void state_run_async (MistStateDb *db,
                      StateOpFunc func,
                      StateOpArgs *args,
                      GDestroyNotify result_free,
                      gpointer source_tag,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data);
gpointer state_run_finish (MistStateDb *db, GAsyncResult *result, GError **error);

void state_set_sqlite_error (sqlite3 *handle, int code, const char *what, GError **error);
sqlite3_stmt *state_prepare (sqlite3 *handle, const char *sql, GError **error);
gboolean state_step_done (sqlite3 *handle, sqlite3_stmt *statement, const char *what, GError **error);
gboolean state_exec (sqlite3 *handle, const char *sql, const char *what, GError **error);
char *state_column_text (sqlite3_stmt *statement, int column);
void state_bind_text (sqlite3_stmt *statement, int index, const char *text);

G_END_DECLS
