/* mist-queue.h: the persistent download queue
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Jobs (install, update, repair) are rows of the state database's queue table, so the
 * queue and each job's progress survive a restart or a crash: mist_queue_load_async()
 * picks up every job that was queued or running, and the downloads resume from the
 * partial files in the object cache. One job downloads at a time and one applies at a
 * time, so the next job downloads while the previous one is applied.
 *
 * All calls and signals happen on the main context that was the thread-default one
 * when the queue was created. The calls change the queue at once and leave the database
 * writes to the state database's worker thread, so none of them waits for SQLite.
 */
#pragma once

#include "mist-client.h"
#include "mist-downloader.h"
#include "mist-job.h"
#include "mist-state-db.h"

G_BEGIN_DECLS

#define MIST_TYPE_QUEUE (mist_queue_get_type ())
G_DECLARE_FINAL_TYPE (MistQueue, mist_queue, MIST, QUEUE, GObject)

/* games_dir is the folder new games are installed into (one folder per game). */
MistQueue *mist_queue_new (MistClient *client,
                           MistDownloader *downloader,
                           MistStateDb *db,
                           const char *games_dir);

/* Reads the jobs from the database and starts the ones that were queued or running. */
void mist_queue_load_async (MistQueue *self,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data);
gboolean mist_queue_load_finish (MistQueue *self, GAsyncResult *result, GError **error);

/* Queues a job for game_id. target_ordinal 0 means the newest version, looked up now and
 * fixed for the job; a repair always targets the installed version. install_path NULL
 * means the installed game's folder, or games_dir/game_id for a new install.
 *
 * A game has at most one job. When it has one already, the request does not fail
 * unless that job runs:
 * - a job with the same target (and folder, when install_path is given) is resumed if
 *   it is paused, queued or failed, and returned;
 * - a job with another target that is not running is replaced: it leaves the queue
 *   with "job-finished" in state CANCELLED, and the new job takes its place in the
 *   order, in its folder when install_path is NULL. Its objects stay in the cache for
 *   the new plan, and its staged files are reused or deleted by the new job's apply;
 * - a job that another process runs fails with MIST_ERROR_BUSY, and one running in
 *   this queue with MIST_ERROR_CONFLICT.
 * Callers tell a replacement from the returned job, which is then a new one. */
void mist_queue_add_async (MistQueue *self,
                           const char *game_id,
                           MistJobKind kind,
                           gint64 target_ordinal,
                           const char *install_path,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data);
/* Queues a job as mist_queue_add_async() does, for a game the caller has just read from
 * the server (an entry of the game list will do), without looking it up again.
 * Finish with mist_queue_add_finish(). */
void mist_queue_add_for_game_async (MistQueue *self,
                                    const MistGameEntry *game,
                                    MistJobKind kind,
                                    gint64 target_ordinal,
                                    const char *install_path,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
MistJob *mist_queue_add_finish (MistQueue *self, GAsyncResult *result, GError **error);

/* Jobs in queue order (MistJob, owned by the queue). Finished jobs leave the list. */
GPtrArray *mist_queue_get_jobs (MistQueue *self);
MistJob *mist_queue_lookup (MistQueue *self, gint64 job_id);

/* Stops a job and keeps what it downloaded for a resume. */
gboolean mist_queue_pause (MistQueue *self, MistJob *job, GError **error);
gboolean mist_queue_resume (MistQueue *self, MistJob *job, GError **error);
void mist_queue_pause_all (MistQueue *self);
void mist_queue_resume_all (MistQueue *self);

/* Stops a job, removes it from the queue and deletes the objects it downloaded that no
 * other job needs. */
gboolean mist_queue_cancel (MistQueue *self, MistJob *job, GError **error);

/* Moves a job to index (0 is first) in the queue order. */
gboolean mist_queue_move (MistQueue *self, MistJob *job, guint index, GError **error);

/* Stops every running job and leaves it queued in the database, so the next
 * mist_queue_load_async() (in this or another process) resumes it; nothing new starts
 * afterwards. For a program that is about to exit. "job-finished" is emitted for each
 * stopped job once its files are closed. */
void mist_queue_stop (MistQueue *self);
/* Stops as mist_queue_stop() does, and also the job being applied, which stays queued:
 * its staging stops before the commit, so the installed version stays as it was and the
 * next mist_queue_load_async() resumes the job from the staged files. A commit that has
 * begun completes, as only that keeps the game playable. */
void mist_queue_stop_applying (MistQueue *self);

/* Computes the plan a job with these arguments would follow, without queueing it or
 * downloading anything. target_ordinal 0 means the newest version. */
void mist_queue_plan_async (MistQueue *self,
                            const char *game_id,
                            gint64 target_ordinal,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data);
MistPlan *mist_queue_plan_finish (MistQueue *self, GAsyncResult *result, GError **error);

/* While blocked, no job starts, but running jobs go on. A caller that loads the queue and
 * then adds jobs blocks starts meanwhile, so that a loaded job it replaces has not
 * started. */
void mist_queue_block_starts (MistQueue *self, gboolean blocked);

/* Lets only the jobs of game_id start, or every job again with NULL: a command run for
 * one game leaves the other jobs queued for later. */
void mist_queue_set_only_game (MistQueue *self, const char *game_id);

/* Whether a job is downloading or applying, or a cancelled job's staged files are being
 * deleted ("busy"). */
gboolean mist_queue_is_busy (MistQueue *self);

G_END_DECLS
