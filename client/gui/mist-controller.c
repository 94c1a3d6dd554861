/* mist-controller.c: the launcher's link to the engine: session, catalog, queue, games
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-controller.h"

#include "mist-error.h"

#include <glib/gi18n.h>

/* Main thread only. */
struct _MistController
{
  GObject parent_instance;

  GSettings *settings;  /* (owned) */
  GListStore *games;    /* MistGameItem, in the server's order (by title) */
  GListStore *jobs;     /* MistDownloadItem, in queue order */
  char *username;       /* (nullable): NULL while logged out */
  gboolean is_admin;
  char *offline_reason; /* (nullable): NULL while the server answers */
};

G_DEFINE_FINAL_TYPE (MistController, mist_controller, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_USERNAME,
  PROP_IS_ADMIN,
  PROP_OFFLINE_REASON,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_JOB_FINISHED,
  SIGNAL_JOB_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
mist_controller_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  MistController *self = MIST_CONTROLLER (object);

  switch (prop_id)
    {
    case PROP_USERNAME:
      g_value_set_string (value, self->username);
      break;
    case PROP_IS_ADMIN:
      g_value_set_boolean (value, self->is_admin);
      break;
    case PROP_OFFLINE_REASON:
      g_value_set_string (value, self->offline_reason);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mist_controller_dispose (GObject *object)
{
  MistController *self = MIST_CONTROLLER (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->games);
  g_clear_object (&self->jobs);

  G_OBJECT_CLASS (mist_controller_parent_class)->dispose (object);
}

static void
mist_controller_finalize (GObject *object)
{
  MistController *self = MIST_CONTROLLER (object);

  g_free (self->username);
  g_free (self->offline_reason);

  G_OBJECT_CLASS (mist_controller_parent_class)->finalize (object);
}

static void
mist_controller_class_init (MistControllerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = mist_controller_get_property;
  object_class->dispose = mist_controller_dispose;
  object_class->finalize = mist_controller_finalize;

  properties[PROP_USERNAME] =
    g_param_spec_string ("username", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_IS_ADMIN] = g_param_spec_boolean ("is-admin", NULL, NULL, FALSE,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_OFFLINE_REASON] = g_param_spec_string (
    "offline-reason", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * MistController::job-finished:
   * @job: the MistDownloadItem that completed
   */
  signals[SIGNAL_JOB_FINISHED] =
    g_signal_new ("job-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, MIST_TYPE_DOWNLOAD_ITEM);
  /**
   * MistController::job-failed:
   * @job: the MistDownloadItem that failed
   * @error: why, as a MIST_ERROR
   */
  signals[SIGNAL_JOB_FAILED] =
    g_signal_new ("job-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, MIST_TYPE_DOWNLOAD_ITEM, G_TYPE_ERROR);
}

static void
mist_controller_init (MistController *self)
{
  self->games = g_list_store_new (MIST_TYPE_GAME_ITEM);
  self->jobs = g_list_store_new (MIST_TYPE_DOWNLOAD_ITEM);
}

MistController *
mist_controller_new (GSettings *settings)
{
  MistController *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (MIST_TYPE_CONTROLLER, NULL);
  self->settings = g_object_ref (settings);
  return self;
}

GListModel *
mist_controller_get_games (MistController *self)
{
  return G_LIST_MODEL (self->games);
}

GListModel *
mist_controller_get_jobs (MistController *self)
{
  return G_LIST_MODEL (self->jobs);
}

const char *
mist_controller_get_username (MistController *self)
{
  return self->username;
}

gboolean
mist_controller_get_is_admin (MistController *self)
{
  return self->is_admin;
}

const char *
mist_controller_get_offline_reason (MistController *self)
{
  return self->offline_reason;
}

/* TODO: every call below waits for the engine's server client, download queue and
 * install transactions; until they are built in, each one fails with this error and
 * the window shows it. */
static void
return_missing_engine (GTask *task)
{
  g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_UNSUPPORTED, "%s",
                           _("This build of Mist has no server client yet."));
}

/* Logs in with the session kept in the secret service, if any. Returns FALSE without
 * an error when there is none. */
void
mist_controller_restore_session_async (MistController *self,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, mist_controller_restore_session_async);
  g_task_return_boolean (task, FALSE);
}

gboolean
mist_controller_restore_session_finish (MistController *self,
                                        GAsyncResult *result,
                                        GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mist_controller_login_async (MistController *self,
                             const char *server_url,
                             const char *username,
                             const char *password,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, mist_controller_login_async);
  return_missing_engine (task);
}

/* Completes a login. On MIST_ERROR_RATE_LIMITED, *retry_after is the wait in seconds
 * the server asked for (0 when it gave none). */
gboolean
mist_controller_login_finish (MistController *self,
                              GAsyncResult *result,
                              guint *retry_after,
                              GError **error)
{
  if (retry_after != NULL)
    *retry_after = 0;
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mist_controller_logout_async (MistController *self,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, mist_controller_logout_async);
  g_clear_pointer (&self->username, g_free);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_USERNAME]);
  g_task_return_boolean (task, TRUE);
}

gboolean
mist_controller_logout_finish (MistController *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mist_controller_refresh_async (MistController *self,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, mist_controller_refresh_async);
  return_missing_engine (task);
}

gboolean
mist_controller_refresh_finish (MistController *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Fetches a game's version history and plans its update, in the background; the game
 * item changes when they arrive. */
void
mist_controller_load_game (MistController *self, MistGameItem *game)
{
}

/* Runs a game page action ("install", "update", "play", "pause", "resume", "cancel",
 * "verify", "repair", "uninstall", "open-folder"); install_folder is where "install"
 * puts the game. */
void
mist_controller_run_game_action_async (MistController *self,
                                       MistGameItem *game,
                                       const char *action,
                                       const char *install_folder,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, mist_controller_run_game_action_async);
  return_missing_engine (task);
}

gboolean
mist_controller_run_game_action_finish (MistController *self,
                                        GAsyncResult *result,
                                        GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Runs a downloads page action on job: "pause", "resume", "cancel", or "move" to
 * position in the queue. */
gboolean
mist_controller_run_job_action (MistController *self,
                                MistDownloadItem *job,
                                const char *action,
                                guint position,
                                GError **error)
{
  g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED, "%s",
               _("This build of Mist has no download queue yet."));
  return FALSE;
}

/* Runs "pause-all" or "resume-all" on the queue. */
void
mist_controller_run_queue_action (MistController *self, const char *action)
{
}
