/* mist-backend-patcher.h: the worker thread that builds patch sets
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Patch sets are rows of the database in state pending, running, ready or failed. The
 * worker takes the oldest pending set, builds its deltas with its own database
 * connection and marks it ready or failed. At start it puts sets left running by a
 * stopped server back to pending, so work resumes after a restart.
 */
#pragma once

#include "mist-backend-store.h"

#include <sqlite3.h>

G_BEGIN_DECLS

typedef struct _MistBackendPatcher MistBackendPatcher;

MistBackendPatcher *mist_backend_patcher_new (const char *data_dir,
                                              int direct_patches,
                                              gboolean use_xdelta3,
                                              GError **error);
/* Tells the worker that new pending sets exist. Thread-safe. */
void mist_backend_patcher_wake (MistBackendPatcher *patcher);
/* Cancels the current work and joins the worker; the set it was building stays running
 * and is resumed on the next start. */
void mist_backend_patcher_free (MistBackendPatcher *patcher);

/* Inserts the pending patch sets towards version to_ordinal of a game: from the
 * direct_patches versions before it. */
gboolean mist_backend_patcher_queue (sqlite3 *db,
                                     gint64 game_id,
                                     gint64 to_ordinal,
                                     int direct_patches,
                                     GError **error);

G_END_DECLS
