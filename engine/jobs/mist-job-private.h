/* mist-job-private.h: what MistQueue uses to create and run jobs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-client.h"
#include "mist-downloader.h"
#include "mist-job.h"

G_BEGIN_DECLS

/* What every job of a queue works with; owned by the queue, unowned by the jobs. */
typedef struct
{
  MistClient *client;
  MistDownloader *downloader;
  MistStateDb *db;
} MistJobContext;

MistJob *mist_job_new (const MistJobContext *context,
                       const MistQueueJob *record,
                       const char *install_path);

MistQueueJob *mist_job_get_record (MistJob *self);
void mist_job_set_state (MistJob *self, MistJobState state, const char *error_message);
/* Keeps a copy of error (NULL clears it). */
void mist_job_set_error (MistJob *self, const GError *error);
void mist_job_set_phase (MistJob *self, MistJobPhase phase);

/* Fetches the metadata, plans and downloads every object of the plan. */
void mist_job_download_async (MistJob *self,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean mist_job_download_finish (MistJob *self, GAsyncResult *result, GError **error);

/* Fetches the metadata and plans, without downloading; finish with
 * mist_job_download_finish() and read mist_job_get_plan(). */
void mist_job_plan_async (MistJob *self,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data);

/* Applies the downloaded plan to the install folder; fails with MIST_ERROR_BUSY while
 * the game runs. */
void mist_job_apply_async (MistJob *self,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data);
gboolean mist_job_apply_finish (MistJob *self, GAsyncResult *result, GError **error);

/* Deletes the objects of the job's plan from the cache, keeping those in keep (object
 * id set, may be NULL). */
void mist_job_discard_objects (MistJob *self, GHashTable *keep);

/* Adds the object ids of the job's plan to set. */
void mist_job_collect_objects (MistJob *self, GHashTable *set);

G_END_DECLS
