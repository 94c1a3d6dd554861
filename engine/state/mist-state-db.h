/* mist-state-db.h: the per-user SQLite database of installation state
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One database per user ($XDG_DATA_HOME/mist/state.db) in WAL mode, its schema versioned
 * with PRAGMA user_version. Every statement runs on one worker thread owned by the
 * MistStateDb: the *_async functions queue an operation and call back on the thread-default
 * main context of the caller; the synchronous functions queue the same operation and block
 * until the worker has run it, so they suit CLIs, tests and install code that already runs
 * off the main loop, never the GUI's main thread.
 *
 * Records returned by the database are plain structs owned by the caller: free them with
 * their *_free function (or g_autoptr), arrays of them with g_ptr_array_unref.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MIST_STATE_DB_SCHEMA_VERSION 2

typedef struct _MistStateDb MistStateDb;

/* Job kinds and states of the download queue; the database stores their string names.
 * MIST_JOB_KIND_UNINSTALL is never a queue job: it marks an uninstall in the journal. */
typedef enum
{
  MIST_JOB_KIND_INSTALL,
  MIST_JOB_KIND_UPDATE,
  MIST_JOB_KIND_REPAIR,
  MIST_JOB_KIND_UNINSTALL,
} MistJobKind;

typedef enum
{
  MIST_JOB_STATE_QUEUED,
  MIST_JOB_STATE_RUNNING,
  MIST_JOB_STATE_PAUSED,
  MIST_JOB_STATE_FAILED,
  MIST_JOB_STATE_DONE,
  MIST_JOB_STATE_CANCELLED,
} MistJobState;

const char *mist_job_kind_to_string (MistJobKind kind);
gboolean mist_job_kind_from_string (const char *name, MistJobKind *kind);
const char *mist_job_state_to_string (MistJobState state);
gboolean mist_job_state_from_string (const char *name, MistJobState *state);

/* A persisted download queue job. The target version is pinned when the job is queued,
 * so a job never mixes objects of two versions. position orders the queue (lower runs
 * first); times are seconds since the Unix epoch. */
typedef struct
{
  gint64 id; /* assigned by mist_state_db_queue_add */
  char *game_id;
  MistJobKind kind;
  gint64 target_ordinal;
  MistJobState state;
  gint64 position;
  guint64 bytes_done;
  guint64 bytes_total;
  char *error_message; /* NULL unless state is FAILED */
  gint64 created_at;
  gint64 updated_at;
  char *install_path;  /* absolute; NULL leaves the folder to the queue's default */
} MistQueueJob;

MistQueueJob *mist_queue_job_new (const char *game_id, MistJobKind kind, gint64 target_ordinal);
MistQueueJob *mist_queue_job_copy (const MistQueueJob *job);
void mist_queue_job_free (MistQueueJob *job);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistQueueJob, mist_queue_job_free)

/* A game as installed: the version, where, how many bytes, and the manifest it was
 * installed from (JSON, docs/api.md "Build manifest"), which verify, repair and
 * uninstall work from. */
typedef struct
{
  char *game_id;
  gint64 version_ordinal;
  char *version_name;
  char *install_path; /* absolute */
  guint64 size;       /* bytes of all installed files */
  gint64 installed_at;
  char *manifest_json;
} MistInstalledGame;

MistInstalledGame *mist_installed_game_copy (const MistInstalledGame *game);
void mist_installed_game_free (MistInstalledGame *game);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistInstalledGame, mist_installed_game_free)

/* One file the engine installed, relative to the install folder. */
typedef struct
{
  char *path;
  char *sha256;
  guint64 size;
  gboolean executable;
} MistInstalledFile;

void mist_installed_file_free (MistInstalledFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistInstalledFile, mist_installed_file_free)

/* A journal entry for a running install, update, repair or uninstall. STAGING means the
 * installed files are untouched and the entry may be resumed or discarded; COMMITTING
 * means the staged files are complete and verified (for an uninstall: that deleting has
 * begun) and every step of the commit may be replayed until it finishes. */
typedef enum
{
  MIST_JOURNAL_STATE_STAGING,
  MIST_JOURNAL_STATE_COMMITTING,
} MistJournalState;

typedef struct
{
  gint64 id;
  char *game_id;
  MistJobKind kind;
  gint64 from_ordinal; /* 0 for a fresh install */
  gint64 target_ordinal;
  char *target_name;
  char *install_path;
  char *target_manifest_json;
  MistJournalState state;
  gint64 created_at;
} MistJournalEntry;

MistJournalEntry *mist_journal_entry_copy (const MistJournalEntry *entry);
void mist_journal_entry_free (MistJournalEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistJournalEntry, mist_journal_entry_free)

/* A cached server reply (raw JSON) kept for offline use, keyed by name such as
 * "games" or "game/<id>/versions". */
typedef struct
{
  char *key;
  char *json;
  gint64 fetched_at;
} MistCatalogEntry;

void mist_catalog_entry_free (MistCatalogEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistCatalogEntry, mist_catalog_entry_free)

typedef struct
{
  gint64 id;
  char *game_id;
  gint64 started_at;
  gint64 ended_at; /* 0 while the game runs */
} MistPlaySession;

void mist_play_session_free (MistPlaySession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistPlaySession, mist_play_session_free)

/* Opening and the generic operation runner. */

/* Returns $XDG_DATA_HOME/mist/state.db, or $MIST_STATE_DB when that is set. */
char *mist_state_db_default_path (void);

/* Opens (creating the file and its folder when needed) and migrates the database. */
MistStateDb *mist_state_db_open (const char *path, GError **error);
void mist_state_db_open_async (const char *path,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
MistStateDb *mist_state_db_open_finish (GAsyncResult *result, GError **error);

/* Waits until the operations queued so far, such as those started without a callback,
 * are done. A process that exits without it may lose them. */
void mist_state_db_flush (MistStateDb *db);

MistStateDb *mist_state_db_ref (MistStateDb *db);
/* Dropping the last reference finishes the queued operations, then closes the file. */
void mist_state_db_unref (MistStateDb *db);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistStateDb, mist_state_db_unref)

const char *mist_state_db_get_path (MistStateDb *db);

/* Runs PRAGMA integrity_check; FALSE with MIST_ERROR_INVALID_DATA listing the problems. */
gboolean mist_state_db_check_integrity (MistStateDb *db, GError **error);

/* Download queue. */

/* Inserts job at the end of the queue; returns the new id (and stores it in job->id). */
gint64 mist_state_db_queue_add (MistStateDb *db, MistQueueJob *job, GError **error);
/* Jobs in queue order, MistQueueJob elements. */
GPtrArray *mist_state_db_queue_list (MistStateDb *db, GError **error);
MistQueueJob *mist_state_db_queue_get (MistStateDb *db, gint64 id, GError **error);
gboolean mist_state_db_queue_set_progress (MistStateDb *db,
                                           gint64 id,
                                           guint64 bytes_done,
                                           guint64 bytes_total,
                                           GError **error);
/* error_message may be NULL; it is stored for MIST_JOB_STATE_FAILED and cleared otherwise. */
gboolean mist_state_db_queue_set_state (MistStateDb *db,
                                        gint64 id,
                                        MistJobState state,
                                        const char *error_message,
                                        GError **error);
/* Moves the job to index (0 = first) among the jobs, shifting the others. */
gboolean mist_state_db_queue_move (MistStateDb *db, gint64 id, guint index, GError **error);
gboolean mist_state_db_queue_remove (MistStateDb *db, gint64 id, GError **error);

void mist_state_db_queue_add_async (MistStateDb *db,
                                    const MistQueueJob *job,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
gint64 mist_state_db_queue_add_finish (MistStateDb *db, GAsyncResult *result, GError **error);
void mist_state_db_queue_list_async (MistStateDb *db,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
GPtrArray *mist_state_db_queue_list_finish (MistStateDb *db, GAsyncResult *result, GError **error);
/* callback may be NULL to write progress without waiting for the result. */
void mist_state_db_queue_set_progress_async (MistStateDb *db,
                                             gint64 id,
                                             guint64 bytes_done,
                                             guint64 bytes_total,
                                             GCancellable *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer user_data);
void mist_state_db_queue_set_state_async (MistStateDb *db,
                                          gint64 id,
                                          MistJobState state,
                                          const char *error_message,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);
/* callback may be NULL for these two as well. */
void mist_state_db_queue_move_async (MistStateDb *db,
                                     gint64 id,
                                     guint index,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
void mist_state_db_queue_remove_async (MistStateDb *db,
                                       gint64 id,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data);
/* Finishes every async call that returns only success or failure. */
gboolean mist_state_db_finish (MistStateDb *db, GAsyncResult *result, GError **error);

/* Installed games and files. */

/* NULL without an error when the game is not installed. */
MistInstalledGame *mist_state_db_get_installed (MistStateDb *db, const char *game_id, GError **error);
/* MistInstalledGame elements, sorted by game id. */
GPtrArray *mist_state_db_list_installed (MistStateDb *db, GError **error);
/* MistInstalledFile elements, sorted by path. */
GPtrArray *mist_state_db_list_installed_files (MistStateDb *db, const char *game_id, GError **error);
/* Replaces the game's record and its file list in one SQLite transaction and deletes
 * the journal entry journal_id when it is not 0, so the new version becomes visible at
 * once or not at all. */
gboolean mist_state_db_set_installed (MistStateDb *db,
                                      const MistInstalledGame *game,
                                      GPtrArray *files,
                                      gint64 journal_id,
                                      GError **error);
/* Deletes the game's record and file list, and the journal entry journal_id when not 0. */
gboolean mist_state_db_remove_installed (MistStateDb *db,
                                         const char *game_id,
                                         gint64 journal_id,
                                         GError **error);

void mist_state_db_list_installed_async (MistStateDb *db,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data);
GPtrArray *mist_state_db_list_installed_finish (MistStateDb *db, GAsyncResult *result, GError **error);

/* Transaction journal. Writes are durable (synchronous=FULL) before they return. */

/* Inserts entry (state STAGING) and returns its id; fails with MIST_ERROR_BUSY when the
 * game already has an entry. */
gint64 mist_state_db_journal_begin (MistStateDb *db, MistJournalEntry *entry, GError **error);
gboolean mist_state_db_journal_set_state (MistStateDb *db,
                                          gint64 id,
                                          MistJournalState state,
                                          GError **error);
gboolean mist_state_db_journal_remove (MistStateDb *db, gint64 id, GError **error);
/* NULL without an error when the game has no entry. */
MistJournalEntry *mist_state_db_journal_get (MistStateDb *db, const char *game_id, GError **error);
/* MistJournalEntry elements, oldest first. */
GPtrArray *mist_state_db_journal_list (MistStateDb *db, GError **error);

/* Catalog cache. */

gboolean mist_state_db_catalog_put (MistStateDb *db,
                                    const char *key,
                                    const char *json,
                                    gint64 fetched_at,
                                    GError **error);
/* NULL without an error when nothing is cached under key. */
MistCatalogEntry *mist_state_db_catalog_get (MistStateDb *db, const char *key, GError **error);

void mist_state_db_catalog_put_async (MistStateDb *db,
                                      const char *key,
                                      const char *json,
                                      gint64 fetched_at,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);
void mist_state_db_catalog_get_async (MistStateDb *db,
                                      const char *key,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);
/* NULL without an error when nothing is cached. */
MistCatalogEntry *mist_state_db_catalog_get_finish (MistStateDb *db,
                                                    GAsyncResult *result,
                                                    GError **error);

/* Play sessions. */

gint64 mist_state_db_session_start (MistStateDb *db, const char *game_id, gint64 started_at, GError **error);
gboolean mist_state_db_session_end (MistStateDb *db, gint64 id, gint64 ended_at, GError **error);
/* MistPlaySession elements of one game, newest first. */
GPtrArray *mist_state_db_session_list (MistStateDb *db, const char *game_id, GError **error);

G_END_DECLS
