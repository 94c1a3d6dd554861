/* mist-job.h: one install, update or repair in the download queue
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A job is created by MistQueue, which owns and runs it. A view binds to its properties;
 * they change on the queue's main context.
 */
#pragma once

#include "mist-plan.h"
#include "mist-state-db.h"

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  MIST_JOB_PHASE_WAITING,     /* queued, paused, or waiting for the apply slot */
  MIST_JOB_PHASE_PLANNING,    /* reading the catalog, manifest and patch sets */
  MIST_JOB_PHASE_DOWNLOADING, /* fetching the plan's objects */
  MIST_JOB_PHASE_APPLYING,    /* building and committing files in the install folder */
  MIST_JOB_PHASE_FINISHED,    /* done, failed or cancelled: see the state */
} MistJobPhase;

const char *mist_job_phase_to_string (MistJobPhase phase);

#define MIST_TYPE_JOB (mist_job_get_type ())
G_DECLARE_FINAL_TYPE (MistJob, mist_job, MIST, JOB, GObject)

gint64 mist_job_get_id (MistJob *self);
const char *mist_job_get_game_id (MistJob *self);
MistJobKind mist_job_get_kind (MistJob *self);
/* The version the job brings the game to, fixed when the job was queued. */
gint64 mist_job_get_target_ordinal (MistJob *self);
const char *mist_job_get_install_path (MistJob *self);

/* "state" (MistJobState) and "phase" (MistJobPhase). */
MistJobState mist_job_get_state (MistJob *self);
MistJobPhase mist_job_get_phase (MistJob *self);

/* Progress: "bytes-done", "bytes-total", "speed" (bytes/s) and "eta" (seconds, -1 when
 * unknown). While downloading, they count the objects of the download: bytes-done starts
 * at the bytes the object cache contains already and does not decrease, also when the job
 * stops. While applying, they count the bytes of the files staged. Before planning,
 * they are the last values saved. */
guint64 mist_job_get_bytes_done (MistJob *self);
guint64 mist_job_get_bytes_total (MistJob *self);
guint64 mist_job_get_speed (MistJob *self);
gint64 mist_job_get_eta (MistJob *self);

/* The plan once planning finished, else NULL. */
MistPlan *mist_job_get_plan (MistJob *self);

/* Why the job failed ("error-message"), NULL unless the state is FAILED. */
const char *mist_job_get_error_message (MistJob *self);

/* The error of the last failure in this process, with its MIST_ERROR code, or NULL (also
 * for a job that failed before a restart: then only the message is known). */
const GError *mist_job_get_error (MistJob *self);

G_END_DECLS
