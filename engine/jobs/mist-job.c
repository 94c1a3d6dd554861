/* mist-job.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Download: server info → game → patch list → installed state (worker thread; a repair
 * verifies here) → target manifest → patch sets of the route → plan → objects.
 * Apply: install transaction (engine/install) → done. Each step is one callback.
 */
#include "mist-job-private.h"
#include "mist-download.h"
#include "mist-error.h"
#include "mist-install.h"
#include "mist-launcher.h"

struct _MistJob
{
  GObject parent_instance;

  MistJobContext context;   /* unowned: the queue owns both and outlives the job */
  MistQueueJob *record;     /* owned: the database row */
  char *install_path;       /* owned */
  MistJobPhase phase;
  guint64 speed;
  gint64 eta;

  MistVersionGraph *graph;  /* owned while planning */
  MistManifest *installed;  /* owned, nullable */
  MistManifest *target;     /* owned once fetched */
  char *target_name;        /* owned once known */
  MistPlan *plan;           /* owned once planned */
  MistDownload *download;   /* owned while downloading */
  GHashTable *staged;       /* owned, nullable: contents staged early by this process */
  GError *error;            /* owned, nullable: the last failure */
};

G_DEFINE_FINAL_TYPE (MistJob, mist_job, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_STATE,
  PROP_PHASE,
  PROP_BYTES_DONE,
  PROP_BYTES_TOTAL,
  PROP_SPEED,
  PROP_ETA,
  PROP_ERROR_MESSAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

const char *
mist_job_phase_to_string (MistJobPhase phase)
{
  switch (phase)
    {
    case MIST_JOB_PHASE_WAITING:
      return "waiting";
    case MIST_JOB_PHASE_PLANNING:
      return "planning";
    case MIST_JOB_PHASE_DOWNLOADING:
      return "downloading";
    case MIST_JOB_PHASE_APPLYING:
      return "applying";
    case MIST_JOB_PHASE_FINISHED:
      return "finished";
    }
  return "unknown";
}

static void
mist_job_finalize (GObject *object)
{
  MistJob *self = MIST_JOB (object);

  mist_queue_job_free (self->record);
  g_free (self->install_path);
  g_clear_pointer (&self->graph, mist_version_graph_unref);
  g_clear_pointer (&self->installed, mist_manifest_unref);
  g_clear_pointer (&self->target, mist_manifest_unref);
  g_free (self->target_name);
  g_clear_pointer (&self->plan, mist_plan_unref);
  g_clear_object (&self->download);
  g_clear_pointer (&self->staged, g_hash_table_unref);
  g_clear_error (&self->error);

  G_OBJECT_CLASS (mist_job_parent_class)->finalize (object);
}

static void
mist_job_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  MistJob *self = MIST_JOB (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->record->state);
      break;
    case PROP_PHASE:
      g_value_set_int (value, self->phase);
      break;
    case PROP_BYTES_DONE:
      g_value_set_uint64 (value, self->record->bytes_done);
      break;
    case PROP_BYTES_TOTAL:
      g_value_set_uint64 (value, self->record->bytes_total);
      break;
    case PROP_SPEED:
      g_value_set_uint64 (value, self->speed);
      break;
    case PROP_ETA:
      g_value_set_int64 (value, self->eta);
      break;
    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, self->record->error_message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mist_job_class_init (MistJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = mist_job_finalize;
  object_class->get_property = mist_job_get_property;

  properties[PROP_STATE] = g_param_spec_int ("state", NULL, NULL, MIST_JOB_STATE_QUEUED,
                                             MIST_JOB_STATE_CANCELLED, MIST_JOB_STATE_QUEUED,
                                             flags);
  properties[PROP_PHASE] = g_param_spec_int ("phase", NULL, NULL, MIST_JOB_PHASE_WAITING,
                                             MIST_JOB_PHASE_FINISHED, MIST_JOB_PHASE_WAITING,
                                             flags);
  properties[PROP_BYTES_DONE] = g_param_spec_uint64 ("bytes-done", NULL, NULL, 0, G_MAXUINT64,
                                                     0, flags);
  properties[PROP_BYTES_TOTAL] = g_param_spec_uint64 ("bytes-total", NULL, NULL, 0,
                                                      G_MAXUINT64, 0, flags);
  properties[PROP_SPEED] = g_param_spec_uint64 ("speed", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_ETA] = g_param_spec_int64 ("eta", NULL, NULL, -1, G_MAXINT64, -1, flags);
  properties[PROP_ERROR_MESSAGE] = g_param_spec_string ("error-message", NULL, NULL, NULL,
                                                        flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
mist_job_init (MistJob *self)
{
  self->eta = -1;
}

MistJob *
mist_job_new (const MistJobContext *context, const MistQueueJob *record, const char *install_path)
{
  MistJob *self = g_object_new (MIST_TYPE_JOB, NULL);

  self->context = *context;
  self->record = mist_queue_job_copy (record);
  self->install_path = g_strdup (install_path);
  return self;
}

gint64
mist_job_get_id (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), 0);
  return self->record->id;
}

const char *
mist_job_get_game_id (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), NULL);
  return self->record->game_id;
}

MistJobKind
mist_job_get_kind (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), MIST_JOB_KIND_INSTALL);
  return self->record->kind;
}

gint64
mist_job_get_target_ordinal (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), 0);
  return self->record->target_ordinal;
}

const char *
mist_job_get_install_path (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), NULL);
  return self->install_path;
}

MistJobState
mist_job_get_state (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), MIST_JOB_STATE_QUEUED);
  return self->record->state;
}

MistJobPhase
mist_job_get_phase (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), MIST_JOB_PHASE_WAITING);
  return self->phase;
}

guint64
mist_job_get_bytes_done (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), 0);
  return self->record->bytes_done;
}

guint64
mist_job_get_bytes_total (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), 0);
  return self->record->bytes_total;
}

guint64
mist_job_get_speed (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), 0);
  return self->speed;
}

gint64
mist_job_get_eta (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), -1);
  return self->eta;
}

MistPlan *
mist_job_get_plan (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), NULL);
  return self->plan;
}

const char *
mist_job_get_error_message (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), NULL);
  return self->record->error_message;
}

const GError *
mist_job_get_error (MistJob *self)
{
  g_return_val_if_fail (MIST_IS_JOB (self), NULL);
  return self->error;
}

void
mist_job_set_error (MistJob *self, const GError *error)
{
  g_clear_error (&self->error);
  if (error != NULL)
    self->error = g_error_copy (error);
}

MistQueueJob *
mist_job_get_record (MistJob *self)
{
  return self->record;
}

void
mist_job_set_state (MistJob *self, MistJobState state, const char *error_message)
{
  const char *message = state == MIST_JOB_STATE_FAILED ? error_message : NULL;

  if (self->record->state != state)
    {
      self->record->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
  if (g_strcmp0 (self->record->error_message, message) != 0)
    {
      g_free (self->record->error_message);
      self->record->error_message = g_strdup (message);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_MESSAGE]);
    }
}

void
mist_job_set_phase (MistJob *self, MistJobPhase phase)
{
  if (self->phase == phase)
    return;
  self->phase = phase;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PHASE]);
}

static void
set_progress (MistJob *self, guint64 done, guint64 total, guint64 speed, gint64 eta)
{
  GObject *object = G_OBJECT (self);

  g_object_freeze_notify (object);
  if (self->record->bytes_done != done)
    {
      self->record->bytes_done = done;
      g_object_notify_by_pspec (object, properties[PROP_BYTES_DONE]);
    }
  if (self->record->bytes_total != total)
    {
      self->record->bytes_total = total;
      g_object_notify_by_pspec (object, properties[PROP_BYTES_TOTAL]);
    }
  if (self->speed != speed)
    {
      self->speed = speed;
      g_object_notify_by_pspec (object, properties[PROP_SPEED]);
    }
  if (self->eta != eta)
    {
      self->eta = eta;
      g_object_notify_by_pspec (object, properties[PROP_ETA]);
    }
  g_object_thaw_notify (object);
}

/* Download: metadata and planning */

static void
job_fail (GTask *task, GError *error)
{
  MistJob *self = g_task_get_source_object (task);

  g_prefix_error (&error, "%s: ", self->record->game_id);
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void job_fetch_next_patch_set (GTask *task);
static void job_start_download (GTask *task);

typedef struct
{
  GArray *route;  /* gint64 ordinals from the installed version to the target */
  JsonNode *direct_patch_set; /* the installed → target patch set, asked for in advance */
  guint next_step; /* index in route of the next patch set's source */
  gint64 installed_ordinal; /* MIST_VERSION_NONE when not installed */
  gboolean plan_only;

  /* Early staging runs while the download does, and the task returns once both ended. */
  gint downloading;                /* atomic, read by the staging thread */
  GCancellable *early_cancellable; /* owned while early staging runs */
  gboolean download_ended;
  GError *download_error; /* owned, nullable */
} DownloadState;

static void
download_state_free (gpointer data)
{
  DownloadState *state = data;

  g_clear_pointer (&state->route, g_array_unref);
  g_clear_pointer (&state->direct_patch_set, json_node_unref);
  g_clear_object (&state->early_cancellable);
  g_clear_error (&state->download_error);
  g_free (state);
}

typedef struct
{
  MistManifest *installed;
  gint64 installed_ordinal;
  MistPlan *repair_plan;
  MistManifest *repair_manifest;
  char *installed_name;
} InstalledState;

static void
installed_state_free (gpointer data)
{
  InstalledState *state = data;

  g_clear_pointer (&state->installed, mist_manifest_unref);
  g_clear_pointer (&state->repair_plan, mist_plan_unref);
  g_clear_pointer (&state->repair_manifest, mist_manifest_unref);
  g_free (state->installed_name);
  g_free (state);
}

/* Worker thread: reads the installed version and, for a repair, verifies it. */
static void
read_installed_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  MistJob *self = source;
  InstalledState *state = g_new0 (InstalledState, 1);
  g_autoptr (MistInstalledGame) game = NULL;
  g_autoptr (GPtrArray) bad_paths = NULL;
  GError *error = NULL;

  game = mist_state_db_get_installed (self->context.db, self->record->game_id, &error);
  if (error != NULL)
    goto failed;
  if (game != NULL)
    {
      state->installed = mist_manifest_new_from_json (game->manifest_json, -1, &error);
      if (state->installed == NULL)
        goto failed;
      state->installed_ordinal = game->version_ordinal;
      state->installed_name = g_strdup (game->version_name);
    }

  if (self->record->kind == MIST_JOB_KIND_REPAIR)
    {
      if (game == NULL)
        {
          g_set_error (&error, MIST_ERROR, MIST_ERROR_NOT_FOUND,
                       "The game is not installed, so there is nothing to repair");
          goto failed;
        }
      bad_paths = mist_install_verify (self->context.db, self->record->game_id, NULL, NULL, NULL,
                                       cancellable, &error);
      if (bad_paths == NULL)
        goto failed;
      state->repair_plan = mist_install_plan_repair (self->context.db, self->record->game_id,
                                                     bad_paths, &state->repair_manifest, &error);
      if (state->repair_plan == NULL)
        goto failed;
    }

  g_task_return_pointer (task, state, installed_state_free);
  return;

failed:
  installed_state_free (state);
  g_task_return_error (task, error);
}

/* The replies that planning starts from. The requests go out together, so that a link
 * with latency costs one round trip for all of them. */
typedef struct
{
  guint pending;
  JsonNode *game;
  JsonNode *patches;
  InstalledState *installed;
  MistManifest *target; /* NULL for a repair, which plans from the installed files */
  GError *info_error;
  GError *game_error;
  GError *patches_error;
  GError *installed_error;
  GError *target_error;
} Replies;

static void
replies_free (Replies *replies)
{
  g_clear_pointer (&replies->game, json_node_unref);
  g_clear_pointer (&replies->patches, json_node_unref);
  g_clear_pointer (&replies->installed, installed_state_free);
  g_clear_pointer (&replies->target, mist_manifest_unref);
  g_clear_error (&replies->info_error);
  g_clear_error (&replies->game_error);
  g_clear_error (&replies->patches_error);
  g_clear_error (&replies->installed_error);
  g_clear_error (&replies->target_error);
  g_free (replies);
}

/* The error for a target version that the game's entry on the server does not list,
 * naming the versions it does list; job_fail() puts the game in front. A queued job's
 * version existed when it was queued. */
static GError *
version_not_found_error (MistJob *self, gboolean plan_only)
{
  GPtrArray *versions = mist_version_graph_get_versions (self->graph);
  g_autoptr (GString) list = g_string_new (NULL);

  for (guint i = 0; i < versions->len; i++)
    {
      const MistVersionInfo *version = g_ptr_array_index (versions, i);

      g_string_append_printf (list, "%s%" G_GINT64_FORMAT " (%s)", i > 0 ? ", " : "",
                              version->ordinal, version->name);
    }
  if (versions->len == 0)
    g_string_append (list, "none");

  if (plan_only)
    return g_error_new (MIST_ERROR, MIST_ERROR_NOT_FOUND,
                        "version %" G_GINT64_FORMAT " is not on the server; the versions are: "
                        "%s",
                        self->record->target_ordinal, list->str);
  return g_error_new (MIST_ERROR, MIST_ERROR_NOT_FOUND,
                      "version %" G_GINT64_FORMAT ", which this job was queued for, is no longer "
                      "on the server; the versions are: %s. Cancel the job and queue one for "
                      "an existing version",
                      self->record->target_ordinal, list->str);
}

/* Checks the replies in the order the requests depend on one another, so that the
 * first error a user sees is the cause (an unknown game, not its missing manifest). */
static gboolean
job_read_replies (GTask *task, Replies *replies, GError **error)
{
  MistJob *self = g_task_get_source_object (task);
  DownloadState *state = g_task_get_task_data (task);
  const MistVersionInfo *target;

  if (replies->info_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&replies->info_error));
      return FALSE;
    }
  if (replies->game_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&replies->game_error));
      return FALSE;
    }
  g_clear_pointer (&self->graph, mist_version_graph_unref);
  self->graph = mist_version_graph_new ();
  if (!mist_version_graph_add_game_json (self->graph, replies->game, error))
    return FALSE;

  target = mist_version_graph_lookup (self->graph, self->record->target_ordinal);
  if (target == NULL && self->record->kind != MIST_JOB_KIND_REPAIR)
    {
      g_propagate_error (error, version_not_found_error (self, state->plan_only));
      return FALSE;
    }
  if (target != NULL)
    {
      g_free (self->target_name);
      self->target_name = g_strdup (target->name);
    }

  if (replies->patches_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&replies->patches_error));
      return FALSE;
    }
  if (!mist_version_graph_add_patches_json (self->graph, replies->patches, error))
    return FALSE;
  if (replies->installed_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&replies->installed_error));
      return FALSE;
    }
  if (replies->target_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&replies->target_error));
      return FALSE;
    }
  return TRUE;
}

static void job_plan_from_target (GTask *task);

static void
job_plan_from_replies (GTask *task, Replies *replies)
{
  MistJob *self = g_task_get_source_object (task);
  DownloadState *state = g_task_get_task_data (task);
  InstalledState *installed;
  GError *error = NULL;

  if (!job_read_replies (task, replies, &error))
    {
      replies_free (replies);
      job_fail (task, error);
      return;
    }

  installed = replies->installed;
  self->installed = g_steal_pointer (&installed->installed);
  if (self->record->kind == MIST_JOB_KIND_REPAIR)
    {
      self->plan = g_steal_pointer (&installed->repair_plan);
      self->target = g_steal_pointer (&installed->repair_manifest);
      g_free (self->target_name);
      self->target_name = g_steal_pointer (&installed->installed_name);
      replies_free (replies);
      job_start_download (task);
      return;
    }

  state->installed_ordinal = installed->installed_ordinal;
  self->target = g_steal_pointer (&replies->target);
  replies_free (replies);
  job_plan_from_target (task);
}

static void
replies_settle (GTask *task, Replies *replies)
{
  if (--replies->pending == 0)
    job_plan_from_replies (task, replies);
}

typedef struct
{
  GTask *task; /* the download task, not owned */
  Replies *replies;
  JsonNode **node; /* where a JSON reply goes, for on_json_reply() */
  GError **error;
} ReplyCall;

static ReplyCall *
reply_call_new (GTask *task, Replies *replies)
{
  ReplyCall *call = g_new0 (ReplyCall, 1);

  call->task = task;
  call->replies = replies;
  replies->pending++;
  return call;
}

static ReplyCall *
json_reply_call_new (GTask *task, Replies *replies, JsonNode **node, GError **error)
{
  ReplyCall *call = reply_call_new (task, replies);

  call->node = node;
  call->error = error;
  return call;
}

/* The server's info matters only for its check of the API version and for the content
 * base URL that the client keeps from it. */
static void
on_server_info (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autofree ReplyCall *call = data;
  g_autoptr (MistServerInfo) info = NULL;

  info
    = mist_client_get_server_info_finish (MIST_CLIENT (source), result, &call->replies->info_error);
  replies_settle (call->task, call->replies);
}

static void
on_json_reply (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autofree ReplyCall *call = data;

  *call->node = mist_client_get_json_finish (MIST_CLIENT (source), result, call->error);
  replies_settle (call->task, call->replies);
}

static void
on_direct_patch_set (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autofree ReplyCall *call = data;
  DownloadState *state = g_task_get_task_data (call->task);
  g_autoptr (GError) error = NULL;

  /* A failure is no error yet: the route may not use this patch set. */
  state->direct_patch_set = mist_client_get_patch_set_finish (MIST_CLIENT (source), result, &error);
  if (error != NULL)
    g_debug ("No patch set from the installed version in advance: %s", error->message);
  replies_settle (call->task, call->replies);
}

static void
on_installed_read (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autofree ReplyCall *call = data;
  MistJob *self = g_task_get_source_object (call->task);
  InstalledState *installed;

  installed = g_task_propagate_pointer (G_TASK (result), &call->replies->installed_error);
  call->replies->installed = installed;
  /* An update most often goes straight from the installed version to the target, so its
   * patch set is asked for now instead of one round trip after planning. */
  if (installed != NULL && installed->installed != NULL
      && self->record->kind != MIST_JOB_KIND_REPAIR
      && installed->installed_ordinal != self->record->target_ordinal)
    mist_client_get_patch_set_async (self->context.client, self->record->game_id,
                                     installed->installed_ordinal, self->record->target_ordinal,
                                     g_task_get_cancellable (call->task), on_direct_patch_set,
                                     reply_call_new (call->task, call->replies));
  replies_settle (call->task, call->replies);
}

static void
on_target_manifest (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autofree ReplyCall *call = data;

  call->replies->target
    = mist_client_get_manifest_finish (MIST_CLIENT (source), result, &call->replies->target_error);
  replies_settle (call->task, call->replies);
}

/* Sends the requests that planning needs, all at once, and reads the installed version
 * in a worker thread meanwhile. */
static void
job_start_planning (GTask *task)
{
  MistJob *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  Replies *replies = g_new0 (Replies, 1);
  g_autoptr (GTask) thread_task = NULL;
  g_autofree char *game_path = g_strdup_printf ("/api/v1/games/%s", self->record->game_id);
  g_autofree char *patches_path
    = g_strdup_printf ("/api/v1/games/%s/patches", self->record->game_id);

  /* One count held until every request is out, so that no reply settles them early. */
  replies->pending = 1;
  mist_client_get_server_info_async (self->context.client, cancellable, on_server_info,
                                     reply_call_new (task, replies));
  mist_client_get_json_async (
    self->context.client, game_path, cancellable, on_json_reply,
    json_reply_call_new (task, replies, &replies->game, &replies->game_error));
  mist_client_get_json_async (
    self->context.client, patches_path, cancellable, on_json_reply,
    json_reply_call_new (task, replies, &replies->patches, &replies->patches_error));
  if (self->record->kind != MIST_JOB_KIND_REPAIR)
    mist_client_get_manifest_async (self->context.client, self->record->game_id,
                                    self->record->target_ordinal, cancellable, on_target_manifest,
                                    reply_call_new (task, replies));
  thread_task = g_task_new (self, cancellable, on_installed_read, reply_call_new (task, replies));
  g_task_run_in_thread (thread_task, read_installed_in_thread);
  replies_settle (task, replies);
}

static void
job_plan_from_target (GTask *task)
{
  MistJob *self = g_task_get_source_object (task);
  DownloadState *state = g_task_get_task_data (task);
  gint64 from = state->installed_ordinal;
  GError *error = NULL;

  if (self->installed == NULL || from == self->record->target_ordinal ||
      mist_version_graph_lookup (self->graph, from) == NULL)
    {
      /* A fresh install, a re-install of the same version, or an installed version the
       * server no longer lists: no patch route, files are reused by content only. */
      self->plan = mist_plan_new_full (self->installed != NULL ? from : MIST_VERSION_NONE,
                                       self->installed, self->record->target_ordinal,
                                       self->target);
      job_start_download (task);
      return;
    }

  state->route = mist_version_graph_find_route (self->graph, from, self->record->target_ordinal,
                                                NULL, &error);
  if (state->route == NULL)
    {
      job_fail (task, error);
      return;
    }
  state->next_step = 0;
  job_fetch_next_patch_set (task);
}

static void
job_compute_plan (GTask *task)
{
  MistJob *self = g_task_get_source_object (task);
  DownloadState *state = g_task_get_task_data (task);
  GError *error = NULL;

  self->plan = mist_plan_compute (self->graph, state->installed_ordinal, self->installed,
                                  self->record->target_ordinal, self->target, &error);
  if (self->plan == NULL)
    {
      job_fail (task, error);
      return;
    }
  job_start_download (task);
}

static gboolean
job_add_patch_set (MistJob *self, JsonNode *node, GError **error)
{
  g_autoptr (MistPatchSet) patch_set = mist_patch_set_new_from_json_node (node, error);

  return patch_set != NULL && mist_version_graph_add_patch_set (self->graph, patch_set, error);
}

static void
on_patch_set (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  MistJob *self = g_task_get_source_object (task);
  DownloadState *state = g_task_get_task_data (task);
  g_autoptr (JsonNode) node = NULL;
  GError *error = NULL;

  node = mist_client_get_patch_set_finish (MIST_CLIENT (source), result, &error);
  if (node == NULL || !job_add_patch_set (self, node, &error))
    {
      job_fail (task, error);
      return;
    }
  state->next_step++;
  job_fetch_next_patch_set (task);
}

static void
job_fetch_next_patch_set (GTask *task)
{
  MistJob *self = g_task_get_source_object (task);
  DownloadState *state = g_task_get_task_data (task);

  /* A route of one ordinal is a full download and has no patch sets. */
  while (state->next_step + 1 < state->route->len)
    {
      gint64 from = g_array_index (state->route, gint64, state->next_step);
      gint64 to = g_array_index (state->route, gint64, state->next_step + 1);
      g_autoptr (JsonNode) direct = NULL;
      GError *error = NULL;

      if (state->direct_patch_set == NULL || from != state->installed_ordinal
          || to != self->record->target_ordinal)
        {
          mist_client_get_patch_set_async (self->context.client, self->record->game_id, from, to,
                                           g_task_get_cancellable (task), on_patch_set, task);
          return;
        }
      direct = g_steal_pointer (&state->direct_patch_set);
      if (!job_add_patch_set (self, direct, &error))
        {
          job_fail (task, error);
          return;
        }
      state->next_step++;
    }
  job_compute_plan (task);
}

/* Download: objects */

static void
on_download_progress (GObject *object, GParamSpec *pspec, gpointer data)
{
  MistJob *self = data;
  MistDownload *download = MIST_DOWNLOAD (object);
  guint64 total = mist_download_get_bytes_total (download);
  /* A pack entry cut off by a stop or a failed request is dropped and later fetched
   * whole: the job keeps the bytes it showed instead of moving back. */
  guint64 done = MAX (mist_download_get_bytes_done (download), self->record->bytes_done);

  set_progress (self, MIN (done, total), total, mist_download_get_speed (download),
                mist_download_get_eta (download));
}

/* Runs download with the task's cancellable, as the job's downloading phase. Progress
 * starts at the bytes that the object cache contains already, so a resumed job does not
 * start from 0. NOTE: pack entries that a stop cut off are not kept, so a resumed job
 * may start a little below the bytes it showed when it stopped. */
static void
job_run_download (GTask *task, MistDownload *download, GAsyncReadyCallback callback)
{
  MistJob *self = g_task_get_source_object (task);

  mist_download_run_async (download, g_task_get_cancellable (task), callback, task);
  mist_job_set_phase (self, MIST_JOB_PHASE_DOWNLOADING);
  set_progress (self, mist_download_get_bytes_done (download),
                mist_download_get_bytes_total (download), 0, -1);
  g_signal_connect (download, "notify::bytes-done", G_CALLBACK (on_download_progress), self);
}

/* Returns the download task once both the download and early staging ended. */
static void
download_task_complete (GTask *task)
{
  MistJob *self = g_task_get_source_object (task);
  DownloadState *state = g_task_get_task_data (task);

  if (!state->download_ended || state->early_cancellable != NULL)
    return;
  if (state->download_error != NULL)
    {
      job_fail (task, g_steal_pointer (&state->download_error));
      return;
    }
  set_progress (self, self->record->bytes_total, self->record->bytes_total, 0, 0);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
on_objects_downloaded (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  MistJob *self = g_task_get_source_object (task);
  DownloadState *state = g_task_get_task_data (task);

  g_signal_handlers_disconnect_by_data (source, self);
  if (!mist_download_run_finish (MIST_DOWNLOAD (source), result, &state->download_error)
      && state->early_cancellable != NULL)
    g_cancellable_cancel (state->early_cancellable);
  state->download_ended = TRUE;
  g_atomic_int_set (&state->downloading, FALSE);
  mist_object_cache_wake (mist_downloader_get_object_cache (self->context.downloader));
  download_task_complete (task);
}

typedef struct
{
  MistStateDb *db;            /* owned */
  MistInstallRequest request; /* its strings, manifest, plan, cache and set owned */
  gint *downloading;          /* in the download task's state, which outlives the thread */
} EarlyStaging;

static void
early_staging_free (gpointer data)
{
  EarlyStaging *early = data;

  mist_state_db_unref (early->db);
  g_free ((char *)early->request.game_id);
  g_free ((char *)early->request.install_path);
  g_free ((char *)early->request.version_name);
  g_free ((char *)early->request.objects_dir);
  mist_manifest_unref (early->request.target);
  mist_plan_unref (early->request.plan);
  mist_object_cache_unref (early->request.objects);
  g_clear_pointer (&early->request.staged, g_hash_table_unref);
  g_free (early);
}

static gboolean
early_staging_more (gpointer data)
{
  EarlyStaging *early = data;

  return g_atomic_int_get (early->downloading);
}

static void
stage_early_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  EarlyStaging *early = data;

  g_task_return_pointer (
    task,
    mist_install_stage_early (early->db, &early->request, early_staging_more, early, cancellable),
    (GDestroyNotify)g_hash_table_unref);
}

static void
on_staged_early (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  MistJob *self = g_task_get_source_object (task);
  DownloadState *state = g_task_get_task_data (task);
  GHashTable *staged = g_task_propagate_pointer (G_TASK (result), NULL);

  /* What an earlier run of the job staged is still good. */
  if (self->staged != NULL && staged != NULL)
    {
      GHashTableIter iter;
      gpointer sha256;

      g_hash_table_iter_init (&iter, self->staged);
      while (g_hash_table_iter_next (&iter, &sha256, NULL))
        g_hash_table_add (staged, g_strdup (sha256));
    }
  if (staged != NULL)
    {
      g_clear_pointer (&self->staged, g_hash_table_unref);
      self->staged = staged;
    }
  g_clear_object (&state->early_cancellable);
  download_task_complete (task);
}

/* Starts staging the files whose pack entries the download stores, on a thread of its
 * own, so that the apply finds most of them staged. */
static void
job_start_early_staging (GTask *task)
{
  MistJob *self = g_task_get_source_object (task);
  DownloadState *state = g_task_get_task_data (task);
  g_autoptr (GTask) thread_task = NULL;
  EarlyStaging *early;

  if (self->install_path == NULL || self->target == NULL
      || mist_plan_get_files (self->plan)->len == 0)
    return;
  early = g_new0 (EarlyStaging, 1);
  early->db = mist_state_db_ref (self->context.db);
  early->request.game_id = g_strdup (self->record->game_id);
  early->request.install_path = g_strdup (self->install_path);
  early->request.version_name = g_strdup (self->target_name);
  early->request.objects_dir = g_strdup (mist_downloader_get_cache_dir (self->context.downloader));
  early->request.target = mist_manifest_ref (self->target);
  early->request.plan = mist_plan_ref (self->plan);
  early->request.objects
    = mist_object_cache_ref (mist_downloader_get_object_cache (self->context.downloader));
  early->request.staged = self->staged != NULL ? g_hash_table_ref (self->staged) : NULL;
  early->downloading = &state->downloading;
  g_atomic_int_set (&state->downloading, TRUE);
  state->early_cancellable = g_cancellable_new ();

  thread_task = g_task_new (self, state->early_cancellable, on_staged_early, task);
  g_task_set_task_data (thread_task, early, early_staging_free);
  g_task_run_in_thread (thread_task, stage_early_in_thread);
}

static void
add_packs (MistJob *self, MistDownload *download, GPtrArray *packs)
{
  for (guint i = 0; i < packs->len; i++)
    {
      const MistPack *pack = g_ptr_array_index (packs, i);
      g_autofree char *url = mist_client_get_object_url (self->context.client, pack->id);

      mist_download_add_pack (download, pack, url);
    }
}

/* Offers the download the packs of the patch sets on the plan's route and of the target
 * version, so that small objects come in a few Range requests. */
static void
job_add_packs (MistJob *self, MistDownload *download)
{
  GArray *route = mist_plan_get_route_ordinals (self->plan);

  /* The patch sets' packs come first: they hold an update's objects in one run, while
   * the version's packs hold them among the unchanged files. */
  for (guint i = 0; self->graph != NULL && route != NULL && i + 1 < route->len; i++)
    {
      MistPatchSet *patch_set = mist_version_graph_lookup_patch_set (
        self->graph, g_array_index (route, gint64, i), g_array_index (route, gint64, i + 1));

      if (patch_set != NULL)
        add_packs (self, download, mist_patch_set_get_packs (patch_set));
    }
  if (self->target != NULL)
    add_packs (self, download, mist_manifest_get_packs (self->target));
}

static MistDownload *
job_create_download (MistJob *self, GPtrArray *objects)
{
  MistDownload *download = mist_download_new (self->context.downloader);

  for (guint i = 0; i < objects->len; i++)
    {
      const MistPlanObject *object = g_ptr_array_index (objects, i);
      g_autofree char *url = mist_client_get_object_url (self->context.client,
                                                         object->object_id);

      mist_download_add_object (download, object->object_id, url, object->size);
    }
  job_add_packs (self, download);
  return download;
}

static void
job_download_objects (GTask *task)
{
  MistJob *self = g_task_get_source_object (task);
  g_autoptr (GPtrArray) objects = mist_plan_list_objects (self->plan);
  g_autofree char *authorization = NULL;
  g_autofree char *probe_url = NULL;

  if (objects->len > 0)
    {
      const MistPlanObject *first = g_ptr_array_index (objects, 0);

      probe_url = mist_client_get_object_url (self->context.client, first->object_id);
      authorization = mist_client_get_authorization_for (self->context.client, probe_url);
    }
  mist_downloader_set_authorization (self->context.downloader, authorization);

  g_clear_object (&self->download);
  self->download = job_create_download (self, objects);
  job_run_download (task, self->download, on_objects_downloaded);
  job_start_early_staging (task);
}

/* Worker thread: checks the install folder, so that a folder the game cannot go into
 * fails the job before anything is downloaded. */
static void
check_folder_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  MistJob *self = source;
  GError *error = NULL;

  if (!mist_install_check_folder (self->context.db, self->record->game_id, self->install_path,
                                  mist_plan_get_staging_size (self->plan), &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_folder_checked (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      job_fail (task, error);
      return;
    }
  job_download_objects (task);
}

static void
job_start_download (GTask *task)
{
  MistJob *self = g_task_get_source_object (task);
  DownloadState *state = g_task_get_task_data (task);
  g_autoptr (GTask) check_task = NULL;

  if (state->plan_only)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  check_task = g_task_new (self, g_task_get_cancellable (task), on_folder_checked, task);
  g_task_run_in_thread (check_task, check_folder_in_thread);
}

void
mist_job_download_async (MistJob *self,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  GTask *task;

  g_return_if_fail (MIST_IS_JOB (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mist_job_download_async);
  g_task_set_task_data (task, g_new0 (DownloadState, 1), download_state_free);
  g_clear_pointer (&self->plan, mist_plan_unref);
  g_clear_pointer (&self->target, mist_manifest_unref);
  g_clear_pointer (&self->installed, mist_manifest_unref);
  mist_job_set_phase (self, MIST_JOB_PHASE_PLANNING);
  job_start_planning (task);
}

void
mist_job_plan_async (MistJob *self,
                     GCancellable *cancellable,
                     GAsyncReadyCallback callback,
                     gpointer user_data)
{
  GTask *task;
  DownloadState *state;

  g_return_if_fail (MIST_IS_JOB (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mist_job_download_async);
  state = g_new0 (DownloadState, 1);
  state->plan_only = TRUE;
  g_task_set_task_data (task, state, download_state_free);
  mist_job_set_phase (self, MIST_JOB_PHASE_PLANNING);
  job_start_planning (task);
}

gboolean
mist_job_download_finish (MistJob *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Apply */

static void job_apply_with_request (GTask *task);

static void
on_install_progress (const MistInstallProgress *progress, gpointer data)
{
  MistJob *self = data;

  /* The checking phase reports no byte count; keep the last one meanwhile. */
  if (progress->bytes_total > 0)
    set_progress (self, progress->bytes_done, progress->bytes_total, 0, -1);
}

static void
on_missing_downloaded (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  MistJob *self = g_task_get_source_object (task);
  GError *error = NULL;

  g_signal_handlers_disconnect_by_data (source, self);
  if (!mist_download_run_finish (MIST_DOWNLOAD (source), result, &error))
    {
      job_fail (task, error);
      return;
    }
  mist_job_set_phase (self, MIST_JOB_PHASE_APPLYING);
  job_apply_with_request (task);
}

static void
on_applied (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  MistJob *self = g_task_get_source_object (task);
  g_autoptr (GPtrArray) missing = NULL;
  GError *error = NULL;

  if (mist_install_apply_finish (result, &missing, &error))
    {
      g_clear_pointer (&self->staged, g_hash_table_unref);
      set_progress (self, self->record->bytes_total, self->record->bytes_total, 0, 0);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  /* An object deleted from the cache since the download (by hand, or a full disk):
   * fetch the missing ones once more, and apply again, which resumes the staging. The
   * fetch is a download phase of its own, which a stop of the queue's downloads ends. */
  if (g_error_matches (error, MIST_ERROR, MIST_ERROR_NOT_FOUND) && missing != NULL &&
      missing->len > 0 && g_object_get_data (G_OBJECT (task), "refetched") == NULL)
    {
      g_autoptr (MistDownload) download = job_create_download (self, missing);

      g_debug ("%s: %u objects missing when applying; fetching them again",
               self->record->game_id, missing->len);
      g_clear_error (&error);
      g_object_set_data (G_OBJECT (task), "refetched", GINT_TO_POINTER (TRUE));
      job_run_download (task, download, on_missing_downloaded);
      return;
    }
  if (g_error_matches (error, MIST_ERROR, MIST_ERROR_NOT_FOUND) && missing != NULL
      && missing->len > 0)
    {
      /* Downloaded twice and still not readable: the cache's disk is the suspect, not the
       * game or the version, which exist. NOTE: no test reaches this branch, which needs a
       * cache that loses entries twice within one job. */
      GError *explained = g_error_new (
        MIST_ERROR, MIST_ERROR_FAILED,
        "Cannot install %s: %u objects are still missing or damaged in the object cache %s after "
        "downloading them again (the first is %s). Check that disk, then retry the job",
        self->record->game_id, missing->len,
        mist_downloader_get_cache_dir (self->context.downloader),
        ((MistPlanObject *)g_ptr_array_index (missing, 0))->object_id);

      g_clear_error (&error);
      error = explained;
    }
  job_fail (task, error);
}

static void
job_apply_with_request (GTask *task)
{
  MistJob *self = g_task_get_source_object (task);
  MistInstallRequest request = {
    .game_id = self->record->game_id,
    .install_path = self->install_path,
    .target = self->target,
    .version_name = self->target_name,
    .plan = self->plan,
    .objects_dir = mist_downloader_get_cache_dir (self->context.downloader),
    .objects = mist_downloader_get_object_cache (self->context.downloader),
    .staged = self->staged,
  };

  mist_install_apply_async (self->context.db, &request, on_install_progress, self,
                            g_task_get_cancellable (task), on_applied, task);
}

void
mist_job_apply_async (MistJob *self,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  GTask *task;

  g_return_if_fail (MIST_IS_JOB (self));
  g_return_if_fail (self->plan != NULL && self->target != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mist_job_apply_async);
  /* A commit that began completes although cancellable is cancelled meanwhile. */
  g_task_set_check_cancellable (task, FALSE);
  if (mist_launcher_is_running (self->record->game_id))
    {
      job_fail (task, g_error_new (MIST_ERROR, MIST_ERROR_BUSY,
                                   "The game is running: quit it, then resume the job"));
      return;
    }

  mist_job_set_phase (self, MIST_JOB_PHASE_APPLYING);
  job_apply_with_request (task);
}

gboolean
mist_job_apply_finish (MistJob *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Object bookkeeping */

void
mist_job_collect_objects (MistJob *self, GHashTable *set)
{
  g_autoptr (GPtrArray) objects = NULL;

  if (self->plan == NULL)
    return;
  objects = mist_plan_list_objects (self->plan);
  for (guint i = 0; i < objects->len; i++)
    {
      const MistPlanObject *object = g_ptr_array_index (objects, i);

      g_hash_table_add (set, g_strdup (object->object_id));
    }
}

void
mist_job_discard_objects (MistJob *self, GHashTable *keep)
{
  g_autoptr (GPtrArray) objects = NULL;

  if (self->plan == NULL)
    return;
  objects = mist_plan_list_objects (self->plan);
  for (guint i = 0; i < objects->len; i++)
    {
      const MistPlanObject *object = g_ptr_array_index (objects, i);
      g_autoptr (GError) error = NULL;

      if (keep != NULL && g_hash_table_contains (keep, object->object_id))
        continue;
      if (!mist_downloader_discard_object (self->context.downloader, object->object_id, &error))
        g_warning ("%s: %s", self->record->game_id, error->message);
    }
}
