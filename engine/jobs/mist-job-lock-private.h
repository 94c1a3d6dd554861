/* mist-job-lock-private.h: which process runs a job of the download queue
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every process that opens the same state database (the launcher, mist-cli) loads the
 * same queue, and two of them running one job would write the same partial files. A
 * process therefore holds an flock() on the job's lock file, locks/job-ID.lock in the
 * state database's folder, while it downloads or applies the job. The kernel drops the lock
 * when the process ends, even when it crashes, so a lock never outlives its process.
 */
#pragma once

#include "mist-state-db.h"

G_BEGIN_DECLS

/* Takes the lock of job job_id and writes this process's id and name into the lock file.
 * Returns the file descriptor of the lock, or -1 with MIST_ERROR_BUSY naming the process
 * that has it. what describes the job in that message, for example "install tetris". */
int mist_job_lock_acquire (MistStateDb *db, gint64 job_id, const char *what, GError **error);

/* Drops the lock taken by mist_job_lock_acquire(); -1 is ignored. */
void mist_job_lock_release (int fd);

/* Deletes the lock file of a job that left the queue. Call it while holding the lock. */
void mist_job_lock_delete (MistStateDb *db, gint64 job_id);

G_END_DECLS
