/* mist-install-private.h: helpers shared by the install files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-install.h"
#include "mist-obstruction.h"

G_BEGIN_DECLS

void install_report (MistInstallProgressFunc progress, gpointer user_data, const MistInstallProgress *state);

/* Opens the install folder (an absolute path), creating it when create is TRUE. */
int install_open_root (const char *install_path, gboolean create, GError **error);

/* Records manifest as the installed version and deletes journal entry journal_id (when not
 * 0), in one database transaction. */
gboolean install_record (MistStateDb *db,
                         const char *game_id,
                         gint64 ordinal,
                         const char *version_name,
                         const char *install_path,
                         MistManifest *manifest,
                         gint64 journal_id,
                         GError **error);

/* Rewrites a MIST_ERROR_NO_SPACE error from a write into "Not enough space in PATH: N
 * needed, M free (cause)", with needed the bytes still to write. */
void install_explain_no_space (GError **error, const char *path, guint64 needed);

/* Replays the commit of entry (state COMMITTING) from wherever it stopped. */
gboolean install_roll_forward (MistStateDb *db, const MistJournalEntry *entry, GError **error);

/* Reads the game's journal entry into *entry, which is NULL when the game has none.
 * Returns FALSE only when the database cannot be read. */
gboolean install_get_journal_entry (MistStateDb *db,
                                    const char *game_id,
                                    MistJournalEntry **entry,
                                    GError **error);

/* Deletes the files of the uninstall that entry records, then the game's record and the
 * entry. Each step may be replayed after a crash. kept_paths (nullable) receives the
 * paths of files in the folder that the game did not install, which stay. */
gboolean install_uninstall_roll_forward (MistStateDb *db,
                                         const MistJournalEntry *entry,
                                         GPtrArray **kept_paths,
                                         GError **error);

/* Returns what blocks path (a game file) below root_fd, or NULL when nothing does. */
MistObstruction *install_find_obstruction (int root_fd, const char *path);

/* Clears the way for a game file: removes a replaceable obstruction, and moves any other
 * aside to "PATH.mist-moved-N" with a message, so that a commit past its journal mark can
 * complete without deleting data. */
gboolean
install_clear_obstruction (int root_fd, const MistObstruction *obstruction, GError **error);

/* Moves a regular file at path, which the installed version does not own (a file of the
 * player's, say), aside to "PATH.mist-moved-N" with a message, so that placing a new
 * game file there loses nothing. Does nothing when no regular file is at path. */
gboolean install_keep_unowned_file (int root_fd, const char *path, GError **error);

G_END_DECLS
