/* mist-install.h: crash-safe install, update, verify, repair, uninstall and import
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An install or update builds every new or patched file in INSTALL/.mist-staging/ from
 * the installed files (opened read-only) and the downloaded objects, verifies each
 * result against its SHA-256, then commits: a journal entry is made durable, the staged
 * files are renamed into place, removed files are deleted, and the database records the
 * new version last. A crash before the commit leaves the old version untouched and the
 * staging folder ready to resume; a crash during the commit is rolled forward by
 * mist_install_recover(). The installed version is never shown as a mix of two.
 *
 * Objects are files in an objects folder named by the hex SHA-256 of their content:
 * full objects are zstd-compressed whole files, delta objects are raw VCDIFF or zstd
 * patches (mist-delta.h). The caller downloads and verifies them; this module checks
 * what it builds from them.
 *
 * The synchronous functions block and must run off the main loop (the *_async ones run
 * them on a GTask thread and report progress on the caller's main context).
 */
#pragma once

#include "mist-object-cache.h"
#include "mist-obstruction.h"
#include "mist-path.h"
#include "mist-plan.h"
#include "mist-state-db.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* Name of the staging folder inside an install folder. */
#define MIST_INSTALL_STAGING_DIR MIST_PATH_STAGING_FOLDER

typedef enum
{
  MIST_INSTALL_PHASE_CHECKING, /* disk space and the installed files */
  MIST_INSTALL_PHASE_STAGING,  /* building files from objects */
  MIST_INSTALL_PHASE_COMMITTING,
  MIST_INSTALL_PHASE_VERIFYING,
} MistInstallPhase;

typedef struct
{
  MistInstallPhase phase;
  const char *path; /* file being worked on, or NULL */
  guint files_done;
  guint files_total;
  guint64 bytes_done; /* bytes of target files written or hashed */
  guint64 bytes_total;
} MistInstallProgress;

/* Called on a thread that does the work for the synchronous functions (staging runs on
 * several, which take turns), and on the caller's main context, at most every 100 ms,
 * for the asynchronous ones. */
typedef void (*MistInstallProgressFunc) (const MistInstallProgress *progress, gpointer user_data);

typedef struct
{
  const char *game_id;
  const char *install_path; /* absolute; created when missing */
  MistManifest *target;     /* manifest of the plan's target version */
  const char *version_name; /* the target's name for people, recorded as installed */
  MistPlan *plan;
  const char *objects_dir;  /* downloaded objects, OBJECTS_DIR/<object id> */
  /* The cache of objects_dir to read them through, or NULL for a new one. The
   * downloader's own cache records which pack entries it checked already. */
  MistObjectCache *objects;
  /* Contents (sha256 set) staged and hashed by this process, or NULL: a resumed apply
   * hashes the other staged files again, as a crash may have cut them short. */
  GHashTable *staged;
} MistInstallRequest;

/* Installs, updates or repairs to the plan's target and returns TRUE once the database
 * records it.
 *
 * When a delta fails (wrong source file, corrupt delta, wrong result) the file falls
 * back to its full object, with a log message. When an object the work needs is not in
 * objects_dir, the function stops with MIST_ERROR_NOT_FOUND and sets *missing_objects
 * (MistPlanObject elements) when missing_objects is not NULL: fetch them and call again
 * with the same request, which resumes from the files already staged. A call for another
 * target version discards the staging of the previous one. Not enough disk space gives
 * MIST_ERROR_NO_SPACE with the bytes needed and free, and keeps the installed version
 * and what was staged. Something in the way of a file to place that cannot be replaced
 * without losing data (mist-obstruction.h) gives MIST_ERROR_INVALID_PATH naming it,
 * before the commit, and keeps the installed version and what was staged too.
 *
 * Cancelling stops the staging before the next file (or within a file read from disk in
 * chunks) and gives G_IO_ERROR_CANCELLED, with the installed version untouched and the
 * staged files kept for a resume. Once the journal marks the commit, cancelling has no
 * effect and the commit completes. */
gboolean mist_install_apply (MistStateDb *db,
                             const MistInstallRequest *request,
                             GPtrArray **missing_objects,
                             MistInstallProgressFunc progress,
                             gpointer user_data,
                             GCancellable *cancellable,
                             GError **error);

/* Abandons the game's unfinished transaction, if it has one: deletes its staged files,
 * the folder a first install leaves empty, and its journal entry. A transaction past
 * its journal mark is completed instead. */
gboolean mist_install_discard (MistStateDb *db, const char *game_id, GError **error);

/* Whether more objects may still arrive, for mist_install_stage_early(). */
typedef gboolean (*MistInstallMoreFunc) (gpointer user_data);

/* Stages the files of the plan that are ready while a download stores the pack entries
 * of the others into request->objects (required), until more() returns FALSE. Starts or
 * resumes the transaction as mist_install_apply() does, which then stages the rest,
 * completes the transaction and reports what failed here: failures are only logged.
 * Files whose objects are stored on their own are left to the apply. Returns the
 * contents staged, for request->staged of the apply. */
GHashTable *mist_install_stage_early (MistStateDb *db,
                                      const MistInstallRequest *request,
                                      MistInstallMoreFunc more,
                                      gpointer user_data,
                                      GCancellable *cancellable);

/* Copies request's strings and references its objects. */
void mist_install_apply_async (MistStateDb *db,
                               const MistInstallRequest *request,
                               MistInstallProgressFunc progress,
                               gpointer user_data,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer callback_data);
gboolean mist_install_apply_finish (GAsyncResult *result,
                                    GPtrArray **missing_objects,
                                    GError **error);

/* Finishes the transactions a crash interrupted. A commit in progress is completed, so
 * the game shows the new version. A transaction that was still staging had not touched
 * the installed version, and its staged files stay for a resume by mist_install_apply().
 * Run once at start, before any other install function, and only in a process that is
 * the only user of the database: the download queue instead completes each game's commit
 * under its job lock with mist_install_recover_game(). */
gboolean mist_install_recover (MistStateDb *db, GCancellable *cancellable, GError **error);

/* Completes the game's commit if a crash interrupted it, as mist_install_recover() does for
 * every game. The caller makes sure that no other process is committing the game. */
gboolean mist_install_recover_game (MistStateDb *db, const char *game_id, GError **error);

/* Hashes every installed file against the installed manifest and returns the paths
 * (char *, sorted) that are missing or differ in content or executable bit: an empty
 * array when all match. When obstructions is not NULL, it is set to what blocks those
 * paths (MistObstruction elements, each once): a folder where the game has a file, for
 * example. A repair replaces the replaceable ones; the others need the user to move or
 * delete them first. */
GPtrArray *mist_install_verify (MistStateDb *db,
                                const char *game_id,
                                GPtrArray **obstructions,
                                MistInstallProgressFunc progress,
                                gpointer user_data,
                                GCancellable *cancellable,
                                GError **error);
void mist_install_verify_async (MistStateDb *db,
                                const char *game_id,
                                MistInstallProgressFunc progress,
                                gpointer user_data,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer callback_data);
GPtrArray *
mist_install_verify_finish (GAsyncResult *result, GPtrArray **obstructions, GError **error);

/* Plans the repair of an installed game: the files in bad_paths (from verify) are fetched
 * as full objects and rebuilt by mist_install_apply() with this plan. Sets *manifest to
 * the installed manifest when manifest is not NULL. */
MistPlan *mist_install_plan_repair (MistStateDb *db,
                                    const char *game_id,
                                    GPtrArray *bad_paths,
                                    MistManifest **manifest,
                                    GError **error);

/* Deletes exactly the files the engine installed and the folders left empty, then the
 * database record. Files the user added (saves, mods) stay; their paths (char *, sorted)
 * go into *kept_paths when it is not NULL, and a message logs how many. */
gboolean mist_install_uninstall (MistStateDb *db,
                                 const char *game_id,
                                 GPtrArray **kept_paths,
                                 GCancellable *cancellable,
                                 GError **error);

/* Records an existing folder as version ordinal of game_id when every file of manifest is there
 * with the right hash; other files in the folder are left alone. Fails with
 * MIST_ERROR_CHECKSUM_MISMATCH naming the first files that differ. */
gboolean mist_install_import (MistStateDb *db,
                              const char *game_id,
                              gint64 ordinal,
                              const char *version_name,
                              const char *folder,
                              MistManifest *manifest,
                              MistInstallProgressFunc progress,
                              gpointer user_data,
                              GCancellable *cancellable,
                              GError **error);

/* Fails with MIST_ERROR_NO_SPACE ("Not enough space in /games: 1.2 GB needed, 300 MB
 * free") unless the file system of path (or its nearest existing parent) has needed
 * bytes available to this user. */
gboolean mist_install_check_space (const char *path, guint64 needed, GError **error);

/* Checks, before anything is downloaded, that install_path (absolute) can take the
 * game: that it is a folder or can be created, that a file can be written into it, that
 * it is empty when game_id is not installed yet, and that its file system has needed
 * bytes free. Blocking; run it off the main thread. Folders it creates to check are
 * removed again. */
gboolean mist_install_check_folder (MistStateDb *db,
                                    const char *game_id,
                                    const char *install_path,
                                    guint64 needed,
                                    GError **error);

G_END_DECLS
