/* mist-controller.c: the launcher's link to the engine: session, catalog, queue, games
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-controller.h"

#include "mist-client.h"
#include "mist-credentials.h"
#include "mist-downloader.h"
#include "mist-error.h"
#include "mist-format.h"
#include "mist-install.h"
#include "mist-launch-settings.h"
#include "mist-launcher.h"
#include "mist-queue.h"
#include "mist-state-db.h"
#include "mist-version-item.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

/* Key of the game list in the state database's catalog cache. */
#define CATALOG_KEY "games"

/* Main thread only. The engine objects exist while a user is logged in (client) or
 * from the first login on (database, downloader, queue). */
struct _MistController
{
  GObject parent_instance;

  GSettings *settings;      /* (owned) */
  GListStore *games;        /* MistGameItem, in the server's order (by title) */
  GHashTable *games_by_slug; /* slug → MistGameItem, borrowed from games */
  GListStore *jobs;         /* MistDownloadItem, in queue order */
  GHashTable *job_items;    /* MistJob → MistDownloadItem (owned) */
  char *username;           /* (nullable): NULL while logged out */
  gboolean is_admin;
  char *offline_reason;     /* (nullable): NULL while the server is reachable */

  MistClient *client;         /* (nullable) (owned) */
  MistStateDb *db;            /* (nullable) (owned) */
  MistDownloader *downloader; /* (nullable) (owned) */
  MistQueue *queue;           /* (nullable) (owned) */
  GCancellable *cancellable;  /* cancelled on dispose */
  MistGameItem *shown_game;   /* (nullable) (owned): the game page's, re-planned on refresh */
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
  SIGNAL_NOTICE,
  SIGNAL_SESSION_NOT_STORED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
set_username (MistController *self, const char *username, gboolean is_admin)
{
  g_free (self->username);
  self->username = g_strdup (username);
  self->is_admin = is_admin;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_USERNAME]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IS_ADMIN]);
}

static void
set_offline_reason (MistController *self, const char *reason)
{
  if (g_strcmp0 (self->offline_reason, reason) == 0)
    return;
  g_free (self->offline_reason);
  self->offline_reason = g_strdup (reason);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OFFLINE_REASON]);
}

static char *
describe_offline (MistController *self, const GError *error)
{
  return g_strdup_printf (_("Cannot reach %s (%s). The library shows the games known from "
                            "the last visit; installing and updating are off until the "
                            "server answers."),
                          mist_client_get_server_url (self->client), error->message);
}

static void ensure_cover (MistController *self, MistGameItem *game, const char *sha256);

/* Catalog: the game list as JSON, from the server or from the cache. */

static MistVersionItem *
version_from_json (JsonObject *object)
{
  g_autoptr (GDateTime) created = NULL;
  const char *created_text = json_object_get_string_member_with_default (object, "created_at",
                                                                         NULL);

  if (created_text != NULL)
    created = g_date_time_new_from_iso8601 (created_text, NULL);
  return mist_version_item_new (
    (guint) json_object_get_int_member_with_default (object, "ordinal", 0),
    json_object_get_string_member_with_default (object, "name", "?"), created,
    json_object_get_string_member_with_default (object, "changelog", ""),
    (guint64) json_object_get_int_member_with_default (object, "installed_size", 0),
    (guint64) json_object_get_int_member_with_default (object, "download_size", 0));
}

static MistGameItem *
lookup_or_add_game (MistController *self, const char *slug, const char *title)
{
  MistGameItem *game = g_hash_table_lookup (self->games_by_slug, slug);
  g_autoptr (MistGameItem) added = NULL;

  if (game != NULL)
    {
      mist_game_item_set_title (game, title);
      return game;
    }
  added = mist_game_item_new (slug, title);
  g_hash_table_insert (self->games_by_slug, g_strdup (slug), added);
  g_list_store_append (self->games, added);
  return added;
}

static void
update_game_from_json (MistController *self, MistGameItem *game, JsonObject *object)
{
  JsonObject *latest = NULL;

  mist_game_item_set_description (
    game, json_object_get_string_member_with_default (object, "description", ""));
  mist_game_item_set_is_private (
    game, g_strcmp0 (json_object_get_string_member_with_default (object, "visibility", ""),
                     "private") == 0);
  if (json_object_has_member (object, "latest_version") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "latest_version")))
    latest = json_object_get_object_member (object, "latest_version");
  if (latest != NULL)
    mist_game_item_set_latest_version (
      game, json_object_get_string_member_with_default (latest, "name", "?"),
      (guint64) json_object_get_int_member_with_default (latest, "download_size", 0),
      (guint64) json_object_get_int_member_with_default (latest, "installed_size", 0));
  else
    mist_game_item_set_latest_version (game, NULL, 0, 0);

  if (json_object_has_member (object, "cover") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "cover")))
    {
      const char *sha256 = json_object_get_string_member_with_default (
        json_object_get_object_member (object, "cover"), "sha256", NULL);

      if (sha256 != NULL && strlen (sha256) == 64 && strspn (sha256, "0123456789abcdef") == 64)
        ensure_cover (self, game, sha256);
    }
}

/* Replaces the library with the games of a "GET /api/v1/games" reply, keeping the
 * items of games that stay so views bound to them keep working. */
static gboolean
apply_catalog (MistController *self, const char *json, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  JsonNode *root;
  JsonArray *games;

  if (!json_parser_load_from_data (parser, json, -1, error))
    return FALSE;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root) ||
      !json_object_has_member (json_node_get_object (root), "games"))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "The game list has no \"games\" member");
      return FALSE;
    }
  games = json_object_get_array_member (json_node_get_object (root), "games");

  for (guint i = 0; i < json_array_get_length (games); i++)
    {
      JsonObject *object = json_array_get_object_element (games, i);
      const char *slug = json_object_get_string_member_with_default (object, "slug", NULL);
      MistGameItem *game;

      if (slug == NULL)
        continue;
      game = lookup_or_add_game (self, slug,
                                 json_object_get_string_member_with_default (object, "title",
                                                                             slug));
      update_game_from_json (self, game, object);
      g_hash_table_add (seen, (gpointer) mist_game_item_get_slug (game));
    }

  /* Games the server no longer lists leave the library, unless they are installed. */
  for (guint i = g_list_model_get_n_items (G_LIST_MODEL (self->games)); i > 0; i--)
    {
      g_autoptr (MistGameItem) game = g_list_model_get_item (G_LIST_MODEL (self->games), i - 1);

      if (g_hash_table_contains (seen, mist_game_item_get_slug (game)) ||
          mist_game_item_is_installed (game))
        continue;
      g_hash_table_remove (self->games_by_slug, mist_game_item_get_slug (game));
      g_list_store_remove (self->games, i - 1);
    }
  return TRUE;
}


/* Installed games, from the state database. */

static void
apply_installed (MistController *self, GPtrArray *installed)
{
  g_autoptr (GHashTable) present = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < installed->len; i++)
    {
      MistInstalledGame *record = g_ptr_array_index (installed, i);
      MistGameItem *game = g_hash_table_lookup (self->games_by_slug, record->game_id);

      if (game == NULL)
        game = lookup_or_add_game (self, record->game_id, record->game_id);
      mist_game_item_set_installed (game, record->version_name, record->size,
                                    record->install_path);
      g_hash_table_add (present, record->game_id);
    }

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->games)); i++)
    {
      g_autoptr (MistGameItem) game = g_list_model_get_item (G_LIST_MODEL (self->games), i);

      if (!g_hash_table_contains (present, mist_game_item_get_slug (game)))
        mist_game_item_set_installed (game, NULL, 0, NULL);
    }
}

static void
on_installed_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) installed =
    mist_state_db_list_installed_finish (self->db, result, &error);

  if (installed == NULL)
    {
      g_prefix_error (&error, "Cannot read the installed games: ");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  apply_installed (self, installed);
  /* The game page shows new versions and plans their update again after a refresh: a
   * patch set that the server finished since the last plan makes the update smaller. */
  if (self->shown_game != NULL)
    mist_controller_load_game (self, self->shown_game);

  /* A refresh that fell back to the cache still reports why the server failed. */
  if (g_task_get_task_data (task) != NULL)
    g_task_return_error (task, g_error_copy (g_task_get_task_data (task)));
  else
    g_task_return_boolean (task, TRUE);
}

static void
sync_installed (MistController *self, GTask *task)
{
  mist_state_db_list_installed_async (self->db, g_task_get_cancellable (task),
                                      on_installed_listed, g_object_ref (task));
}

/* Covers, cached by their SHA-256 under $XDG_CACHE_HOME/mist/covers. */

typedef struct
{
  MistController *controller; /* (owned) */
  MistGameItem *game;         /* (owned) */
  char *path;
} CoverRequest;

static void
cover_request_free (CoverRequest *request)
{
  g_object_unref (request->controller);
  g_object_unref (request->game);
  g_free (request->path);
  g_free (request);
}

static void
save_cover_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  CoverRequest *request = task_data;
  GBytes *bytes = g_object_get_data (G_OBJECT (task), "bytes");
  g_autofree char *folder = g_path_get_dirname (request->path);
  g_autoptr (GError) error = NULL;

  if (g_mkdir_with_parents (folder, 0700) != 0 ||
      !g_file_set_contents (request->path, g_bytes_get_data (bytes, NULL),
                            (gssize) g_bytes_get_size (bytes), &error))
    {
      g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_FAILED, "Cannot save the cover %s: %s",
                               request->path, error != NULL ? error->message : g_strerror (errno));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
on_cover_saved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CoverRequest *request = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;

  if (g_task_propagate_boolean (G_TASK (result), &error))
    mist_game_item_set_cover_path (request->game, request->path);
  else
    g_debug ("%s", error->message);
}

static void
on_cover_downloaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CoverRequest *request = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes =
    mist_client_get_cover_finish (MIST_CLIENT (source), result, NULL, &error);
  g_autoptr (GTask) task = NULL;

  if (bytes == NULL)
    {
      g_debug ("No cover for %s: %s", mist_game_item_get_slug (request->game), error->message);
      cover_request_free (request);
      return;
    }
  task = g_task_new (NULL, NULL, on_cover_saved, NULL);
  g_task_set_task_data (task, request, (GDestroyNotify) cover_request_free);
  g_object_set_data_full (G_OBJECT (task), "bytes", g_steal_pointer (&bytes),
                          (GDestroyNotify) g_bytes_unref);
  g_task_run_in_thread (task, save_cover_thread);
}

static void
on_cover_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CoverRequest *request = user_data;
  MistController *self = request->controller;
  g_autoptr (GFileInfo) info = g_file_query_info_finish (G_FILE (source), result, NULL);

  if (info != NULL)
    {
      mist_game_item_set_cover_path (request->game, request->path);
      cover_request_free (request);
      return;
    }
  if (self->client == NULL)
    {
      cover_request_free (request);
      return;
    }
  mist_client_get_cover_async (self->client, mist_game_item_get_slug (request->game),
                               self->cancellable, on_cover_downloaded, request);
}

/* Shows the cached cover with hash sha256, downloading it first when it is not cached. */
static void
ensure_cover (MistController *self, MistGameItem *game, const char *sha256)
{
  CoverRequest *request;
  g_autoptr (GFile) file = NULL;
  g_autofree char *path =
    g_build_filename (g_get_user_cache_dir (), "mist", "covers", sha256, NULL);

  if (g_strcmp0 (mist_game_item_get_cover_path (game), path) == 0)
    return;
  request = g_new0 (CoverRequest, 1);
  request->controller = g_object_ref (self);
  request->game = g_object_ref (game);
  request->path = g_steal_pointer (&path);
  file = g_file_new_for_path (request->path);
  g_file_query_info_async (file, G_FILE_ATTRIBUTE_STANDARD_TYPE, G_FILE_QUERY_INFO_NONE,
                           G_PRIORITY_LOW, self->cancellable, on_cover_checked, request);
}

/* Refresh: the game list from the server, or from the cache when it cannot be reached.
 * The task's error is the server's, also when the cache filled the library. */

static void
on_cached_catalog (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (MistCatalogEntry) entry =
    mist_state_db_catalog_get_finish (self->db, result, &error);

  if (entry == NULL && error != NULL)
    g_debug ("Cannot read the cached game list: %s", error->message);
  if (entry != NULL && !apply_catalog (self, entry->json, &error))
    g_debug ("Cannot use the cached game list: %s", error->message);
  sync_installed (self, task);
}

static void
on_catalog_cached (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MistController *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!mist_state_db_finish (self->db, result, &error))
    g_warning ("Cannot cache the game list for offline use: %s", error->message);
  g_object_unref (self);
}

static void
on_catalog_fetched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = mist_client_get_json_finish (MIST_CLIENT (source), result, &error);
  g_autofree char *json = NULL;

  if (node == NULL)
    {
      if (g_error_matches (error, MIST_ERROR, MIST_ERROR_NO_NETWORK) ||
          g_error_matches (error, MIST_ERROR, MIST_ERROR_SERVER_ERROR) ||
          g_error_matches (error, MIST_ERROR, MIST_ERROR_CERTIFICATE))
        {
          g_autofree char *reason = describe_offline (self, error);

          set_offline_reason (self, reason);
        }
      g_task_set_task_data (task, g_steal_pointer (&error), (GDestroyNotify) g_error_free);
      mist_state_db_catalog_get_async (self->db, CATALOG_KEY, g_task_get_cancellable (task),
                                       on_cached_catalog, g_object_ref (task));
      return;
    }

  set_offline_reason (self, NULL);
  json = json_to_string (node, FALSE);
  if (!apply_catalog (self, json, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  mist_state_db_catalog_put_async (self->db, CATALOG_KEY, json, g_get_real_time () / G_USEC_PER_SEC,
                                   NULL, on_catalog_cached, g_object_ref (self));
  sync_installed (self, task);
}

void
mist_controller_refresh_async (MistController *self,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, mist_controller_refresh_async);
  if (self->client == NULL || self->db == NULL)
    {
      g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED, "%s",
                               _("Log in to see the library."));
      return;
    }
  mist_client_get_json_async (self->client, "/api/v1/games", cancellable, on_catalog_fetched,
                              g_object_ref (task));
}

gboolean
mist_controller_refresh_finish (MistController *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Jobs: each MistJob of the queue is shown as a MistDownloadItem. */

static MistDownloadState
download_state_for (MistJob *job)
{
  switch (mist_job_get_state (job))
    {
    case MIST_JOB_STATE_PAUSED:
      return MIST_DOWNLOAD_STATE_PAUSED;
    case MIST_JOB_STATE_FAILED:
      return MIST_DOWNLOAD_STATE_FAILED;
    case MIST_JOB_STATE_DONE:
    case MIST_JOB_STATE_CANCELLED:
      return MIST_DOWNLOAD_STATE_FINISHED;
    case MIST_JOB_STATE_RUNNING:
      if (mist_job_get_phase (job) == MIST_JOB_PHASE_APPLYING)
        return MIST_DOWNLOAD_STATE_INSTALLING;
      if (mist_job_get_phase (job) == MIST_JOB_PHASE_DOWNLOADING ||
          mist_job_get_phase (job) == MIST_JOB_PHASE_PLANNING)
        return MIST_DOWNLOAD_STATE_DOWNLOADING;
      return MIST_DOWNLOAD_STATE_QUEUED;
    case MIST_JOB_STATE_QUEUED:
    default:
      return MIST_DOWNLOAD_STATE_QUEUED;
    }
}

static void
sync_job (MistDownloadItem *item, GParamSpec *pspec, MistJob *job)
{
  MistDownloadState state = download_state_for (job);

  mist_download_item_set_progress (item, mist_job_get_bytes_done (job),
                                   mist_job_get_bytes_total (job),
                                   (double) mist_job_get_speed (job), mist_job_get_eta (job));
  if (state == MIST_DOWNLOAD_STATE_FAILED)
    mist_download_item_set_error_message (item, mist_job_get_error_message (job));
  if (mist_download_item_get_state (item) != state)
    mist_download_item_set_state (item, state);
}

static void
on_job_notify (MistJob *job, GParamSpec *pspec, MistDownloadItem *item)
{
  sync_job (item, pspec, job);
}

/* The name of version ordinal of game, from its version history when it is loaded. */
static char *
version_name (MistGameItem *game, gint64 ordinal)
{
  GListModel *versions = mist_game_item_get_versions (game);

  for (guint i = 0; i < g_list_model_get_n_items (versions); i++)
    {
      g_autoptr (MistVersionItem) version = g_list_model_get_item (versions, i);

      if (mist_version_item_get_ordinal (version) == ordinal)
        return g_strdup (mist_version_item_get_name (version));
    }
  if (mist_game_item_get_latest_version (game) != NULL)
    return g_strdup (mist_game_item_get_latest_version (game));
  return g_strdup_printf ("#%" G_GINT64_FORMAT, ordinal);
}

static void
add_job_item (MistController *self, MistJob *job)
{
  const char *slug = mist_job_get_game_id (job);
  MistGameItem *game = g_hash_table_lookup (self->games_by_slug, slug);
  g_autofree char *target = NULL;
  g_autoptr (MistDownloadItem) item = NULL;

  if (g_hash_table_contains (self->job_items, job))
    return;
  if (game == NULL)
    game = lookup_or_add_game (self, slug, slug);
  target = version_name (game, mist_job_get_target_ordinal (job));
  item = mist_download_item_new (
    game,
    mist_job_get_kind (job) == MIST_JOB_KIND_INSTALL ? NULL
                                                      : mist_game_item_get_installed_version (game),
    target, mist_job_get_bytes_total (job));
  g_object_set_data_full (G_OBJECT (item), "mist-job", g_object_ref (job), g_object_unref);
  g_signal_connect_object (job, "notify", G_CALLBACK (on_job_notify), item, 0);
  sync_job (item, NULL, job);
  g_hash_table_insert (self->job_items, g_object_ref (job), g_object_ref (item));
  g_list_store_append (self->jobs, item);
}

/* Puts the job rows in the queue's order. */
static void
sort_jobs (MistController *self)
{
  GPtrArray *order = mist_queue_get_jobs (self->queue);
  g_autoptr (GPtrArray) items = g_ptr_array_new ();

  for (guint i = 0; i < order->len; i++)
    {
      MistDownloadItem *item = g_hash_table_lookup (self->job_items, order->pdata[i]);

      if (item != NULL)
        g_ptr_array_add (items, item);
    }
  /* Finished and failed rows stay below the queue until logout, as a record. */
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->jobs)); i++)
    {
      g_autoptr (MistDownloadItem) item = g_list_model_get_item (G_LIST_MODEL (self->jobs), i);

      if (!g_ptr_array_find (items, item, NULL))
        g_ptr_array_add (items, item);
    }
  g_list_store_splice (self->jobs, 0, g_list_model_get_n_items (G_LIST_MODEL (self->jobs)),
                       items->pdata, items->len);
}

static void
on_job_added (MistQueue *queue, MistJob *job, MistController *self)
{
  add_job_item (self, job);
  sort_jobs (self);
}

static void
on_sync_after_job (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_debug ("Cannot refresh the installed games: %s", error->message);
}

static void
on_job_finished (MistQueue *queue, MistJob *job, MistController *self)
{
  MistDownloadItem *item = g_hash_table_lookup (self->job_items, job);
  g_autoptr (GTask) task = NULL;

  if (item == NULL)
    return;
  sync_job (item, NULL, job);
  if (mist_job_get_state (job) == MIST_JOB_STATE_CANCELLED)
    {
      guint position;

      if (g_list_store_find (self->jobs, item, &position))
        g_list_store_remove (self->jobs, position);
      g_hash_table_remove (self->job_items, job);
      return;
    }

  /* The database now has the new installed version, or not if the job failed. */
  task = g_task_new (self, self->cancellable, on_sync_after_job, NULL);
  sync_installed (self, task);

  if (mist_job_get_state (job) == MIST_JOB_STATE_DONE)
    g_signal_emit (self, signals[SIGNAL_JOB_FINISHED], 0, item);
  else if (mist_job_get_state (job) == MIST_JOB_STATE_FAILED)
    {
      g_autoptr (GError) error = g_error_new (
        MIST_ERROR, MIST_ERROR_FAILED, _("%s: %s"),
        mist_game_item_get_title (mist_download_item_get_game (item)),
        mist_job_get_error_message (job) ? mist_job_get_error_message (job) : _("unknown error"));

      g_signal_emit (self, signals[SIGNAL_JOB_FAILED], 0, item, error);
    }
}

/* Engine: the state database, downloader and queue, created once per server. */

static void
apply_download_settings (MistController *self)
{
  if (self->downloader == NULL)
    return;
  /* The setting is in KiB/s, the downloader counts bytes. */
  mist_downloader_set_rate_limit (self->downloader,
                                  (guint64) g_settings_get_uint (self->settings,
                                                                 "bandwidth-limit") * 1024);
  mist_downloader_set_max_parallel (self->downloader,
                                    g_settings_get_uint (self->settings, "parallel-downloads"));
}

static char *
dup_games_dir (MistController *self)
{
  g_autofree char *folder = g_settings_get_string (self->settings, "install-folder");

  if (*folder != '\0')
    return g_steal_pointer (&folder);
  return g_build_filename (g_get_user_data_dir (), "mist", "games", NULL);
}

static void
on_queue_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  GPtrArray *jobs;

  if (!mist_queue_load_finish (MIST_QUEUE (source), result, &error))
    {
      g_prefix_error (&error, "Cannot load the download queue: ");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  jobs = mist_queue_get_jobs (self->queue);
  for (guint i = 0; i < jobs->len; i++)
    add_job_item (self, jobs->pdata[i]);
  sort_jobs (self);
  g_task_return_boolean (task, TRUE);
}

static void
create_queue (MistController *self, GTask *task)
{
  g_autofree char *games_dir = dup_games_dir (self);

  self->downloader = mist_downloader_new (mist_client_get_session (self->client), NULL);
  apply_download_settings (self);
  self->queue = mist_queue_new (self->client, self->downloader, self->db, games_dir);
  g_signal_connect_object (self->queue, "job-added", G_CALLBACK (on_job_added), self, 0);
  g_signal_connect_object (self->queue, "job-finished", G_CALLBACK (on_job_finished), self, 0);
  mist_queue_load_async (self->queue, g_task_get_cancellable (task), on_queue_loaded,
                         g_object_ref (task));
}

static void
on_state_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  self->db = mist_state_db_open_finish (result, &error);
  if (self->db == NULL)
    {
      g_prefix_error (&error, "Cannot open the launcher's database: ");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  create_queue (self, task);
}

/* Completes task once the database is open and the queue runs for the current client. */
static void
open_engine (MistController *self, GTask *task)
{
  g_autofree char *path = NULL;

  if (self->queue != NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (self->db != NULL)
    {
      create_queue (self, task);
      return;
    }
  path = mist_state_db_default_path ();
  mist_state_db_open_async (path, g_task_get_cancellable (task), on_state_opened,
                            g_object_ref (task));
}

static void
on_token_cleared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!mist_credentials_clear_finish (result, &error))
    g_debug ("Cannot delete the rejected session: %s", error->message);
}

/* The server rejected the session: delete it, so the next start shows the login page. */
static void
on_token_rejected (MistController *self)
{
  mist_credentials_clear_async (mist_client_get_server_url (self->client), NULL, NULL,
                                on_token_cleared, NULL);
}

/* Drops the client, and with it the queue and downloader that use its session, when the
 * server changes. */
static void
use_server (MistController *self, const char *server_url, GError **error)
{
  if (self->client != NULL &&
      g_strcmp0 (mist_client_get_server_url (self->client), server_url) == 0)
    return;
  if (self->queue != NULL)
    mist_queue_stop (self->queue);
  g_clear_object (&self->queue);
  g_clear_object (&self->downloader);
  g_clear_object (&self->client);
  g_hash_table_remove_all (self->job_items);
  g_list_store_remove_all (self->jobs);
  g_hash_table_remove_all (self->games_by_slug);
  g_list_store_remove_all (self->games);
  self->client = mist_client_new (server_url, NULL, error);
  if (self->client != NULL)
    g_signal_connect_object (self->client, "token-rejected", G_CALLBACK (on_token_rejected), self,
                             G_CONNECT_SWAPPED);
}

/* Session: login, a stored session, logout. */

static void
on_engine_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
finish_session (MistController *self, GTask *task)
{
  GTask *engine_task = g_task_new (self, g_task_get_cancellable (task), on_engine_ready,
                                   g_object_ref (task));

  open_engine (self, engine_task);
  g_object_unref (engine_task);
}

static void
on_me (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) me = mist_client_get_me_finish (MIST_CLIENT (source), result, &error);

  if (me == NULL && g_error_matches (error, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (me == NULL)
    {
      /* Offline with a stored session: the library comes from the cache. */
      g_autofree char *reason = describe_offline (self, error);

      set_offline_reason (self, reason);
      set_username (self, mist_client_get_username (self->client), FALSE);
    }
  else
    set_username (self, json_object_get_string_member_with_default (me, "name", "?"),
                  json_object_get_boolean_member_with_default (me, "is_admin", FALSE));
  finish_session (self, task);
}

static void
on_session_stored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  /* Without a Secret Service the session lasts until the launcher quits. */
  if (!mist_credentials_store_finish (result, &error))
    {
      g_debug ("Cannot store the session: %s", error->message);
      g_signal_emit (self, signals[SIGNAL_SESSION_NOT_STORED], 0, error);
    }
  mist_client_get_me_async (self->client, g_task_get_cancellable (task), on_me,
                            g_object_ref (task));
}

static void
on_logged_in (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  if (!mist_client_login_finish (MIST_CLIENT (source), result, &error))
    {
      g_object_set_data (G_OBJECT (task), "retry-after",
                         GUINT_TO_POINTER (mist_error_get_retry_after (error)));
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  mist_credentials_store_async (mist_client_get_server_url (self->client),
                                mist_client_get_username (self->client),
                                mist_client_get_token (self->client),
                                g_task_get_cancellable (task), on_session_stored,
                                g_object_ref (task));
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
  g_autoptr (GError) error = NULL;

  g_task_set_source_tag (task, mist_controller_login_async);
  use_server (self, server_url, &error);
  if (self->client == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  mist_client_login_async (self->client, username, password, cancellable, on_logged_in,
                           g_object_ref (task));
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
    *retry_after = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (result), "retry-after"));
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_credential_found (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (MistCredential) credential = mist_credentials_lookup_finish (result, &error);

  if (credential == NULL)
    {
      if (error != NULL)
        g_debug ("No stored session: %s", error->message);
      g_task_return_boolean (task, FALSE);
      return;
    }
  mist_client_set_session (self->client, credential->username, credential->token);
  mist_client_get_me_async (self->client, g_task_get_cancellable (task), on_me,
                            g_object_ref (task));
}

static void
on_restore_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  /* A stored session the server rejects means: log in again, not an error. */
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (error == NULL || g_error_matches (error, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED))
        g_task_return_boolean (task, FALSE);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* Logs in with the session kept in the secret service for the remembered server, if
 * any. Returns FALSE without an error when there is none or the server rejects it. */
void
mist_controller_restore_session_async (MistController *self,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GTask) inner = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *server_url = g_settings_get_string (self->settings, "server-url");

  g_task_set_source_tag (task, mist_controller_restore_session_async);
  if (*server_url == '\0')
    {
      g_task_return_boolean (task, FALSE);
      return;
    }
  use_server (self, server_url, &error);
  if (self->client == NULL)
    {
      g_debug ("Cannot use the remembered server: %s", error->message);
      g_task_return_boolean (task, FALSE);
      return;
    }
  inner = g_task_new (self, cancellable, on_restore_checked, g_object_ref (task));
  mist_credentials_lookup_async (server_url, cancellable, on_credential_found,
                                 g_steal_pointer (&inner));
}

gboolean
mist_controller_restore_session_finish (MistController *self,
                                        GAsyncResult *result,
                                        GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_logout_cleared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!mist_credentials_clear_finish (result, &error))
    g_debug ("Cannot delete the stored session: %s", error->message);
  g_task_return_boolean (task, TRUE);
}

static void
on_logged_out (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  /* The client forgets the token even when the server could not be told. */
  if (!mist_client_logout_finish (MIST_CLIENT (source), result, &error))
    g_debug ("The server did not confirm the logout: %s", error->message);
  mist_credentials_clear_async (mist_client_get_server_url (self->client), NULL, NULL,
                                on_logout_cleared, g_object_ref (task));
}

/* Ends the session on the server and forgets it here. Downloads stop and stay queued
 * for the next login; installed games stay. */
void
mist_controller_logout_async (MistController *self,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, mist_controller_logout_async);
  set_username (self, NULL, FALSE);
  set_offline_reason (self, NULL);
  if (self->queue != NULL)
    mist_queue_stop (self->queue);
  g_clear_object (&self->queue);
  g_clear_object (&self->downloader);
  g_hash_table_remove_all (self->job_items);
  g_list_store_remove_all (self->jobs);
  if (self->client == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  mist_client_logout_async (self->client, cancellable, on_logged_out, g_object_ref (task));
}

gboolean
mist_controller_logout_finish (MistController *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Game details: the version history and, for an installed game, the update's plan. */

static void
on_update_planned (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MistGameItem) game = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MistPlan) plan = mist_queue_plan_finish (MIST_QUEUE (source), result, &error);
  g_autofree char *summary = NULL;

  if (plan == NULL)
    {
      /* The patch sets may still be building on the server: show the full download. */
      g_debug ("Cannot plan the update of %s: %s", mist_game_item_get_slug (game),
               error->message);
      summary = mist_format_route (mist_game_item_get_installed_version (game),
                                   mist_game_item_get_latest_version (game),
                                   mist_game_item_get_download_size (game), 0,
                                   mist_game_item_get_download_size (game));
    }
  else
    summary = mist_format_route (mist_game_item_get_installed_version (game),
                                 mist_game_item_get_latest_version (game),
                                 mist_plan_get_download_size (plan),
                                 mist_plan_get_n_patch_sets (plan),
                                 mist_plan_get_full_download_size (plan));
  mist_game_item_set_update_summary (game, summary);
}

static void
plan_update (MistController *self, MistGameItem *game)
{
  if (self->queue == NULL || self->offline_reason != NULL ||
      mist_game_item_get_state (game) != MIST_GAME_STATE_UPDATE_AVAILABLE)
    return;
  /* The previous summary stays shown until the new plan replaces it. */
  mist_queue_plan_async (self->queue, mist_game_item_get_slug (game), 0, self->cancellable,
                         on_update_planned, g_object_ref (game));
}

static void
on_game_details (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MistGameItem) game = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = mist_client_get_json_finish (MIST_CLIENT (source), result, &error);
  g_autoptr (GPtrArray) versions = g_ptr_array_new_with_free_func (g_object_unref);
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_debug ("Cannot load the versions of %s: %s", mist_game_item_get_slug (game),
               error != NULL ? error->message : "not an object");
      return;
    }
  if (!json_object_has_member (json_node_get_object (node), "versions"))
    return;
  array = json_object_get_array_member (json_node_get_object (node), "versions");
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (versions, version_from_json (json_array_get_object_element (array, i)));
  mist_game_item_set_versions (game, versions);
}

/* Fetches the version history of the game the game page shows and plans its update, in
 * the background, and again after each refresh; the game item changes when they arrive.
 * NULL: the page shows no game. */
void
mist_controller_load_game (MistController *self, MistGameItem *game)
{
  g_autofree char *path = NULL;
  g_autofree char *escaped = NULL;

  g_set_object (&self->shown_game, game);
  if (game == NULL || self->client == NULL || self->offline_reason != NULL)
    return;
  escaped = g_uri_escape_string (mist_game_item_get_slug (game), NULL, FALSE);
  path = g_strdup_printf ("/api/v1/games/%s", escaped);
  mist_client_get_json_async (self->client, path, self->cancellable, on_game_details,
                              g_object_ref (game));
  plan_update (self, game);
}

/* Game actions */

static MistJob *
find_job (MistController *self, MistGameItem *game)
{
  GHashTableIter iter;
  gpointer job;
  gpointer item;

  g_hash_table_iter_init (&iter, self->job_items);
  while (g_hash_table_iter_next (&iter, &job, &item))
    if (mist_download_item_get_game (item) == game &&
        mist_download_item_is_active (MIST_DOWNLOAD_ITEM (item)))
      return job;
  return NULL;
}

/* The game's job before the request, kept on the task for on_job_queued(). */
#define PREVIOUS_JOB_KEY "mist-previous-job"

static void
on_job_queued (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = g_task_get_source_object (task);
  MistGameItem *game = g_task_get_task_data (task);
  MistJob *previous = g_object_get_data (G_OBJECT (task), PREVIOUS_JOB_KEY);
  g_autoptr (GError) error = NULL;
  g_autoptr (MistJob) job = mist_queue_add_finish (MIST_QUEUE (source), result, &error);

  if (job == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* The queue replaced a job that went to another version: its row is gone. */
  if (previous != NULL && previous != job)
    {
      g_autofree char *old_version = version_name (game, mist_job_get_target_ordinal (previous));
      g_autofree char *new_version = version_name (game, mist_job_get_target_ordinal (job));
      g_autofree char *notice
        = g_strdup_printf (_ ("%s now downloads version %s instead of %s."),
                           mist_game_item_get_title (game), new_version, old_version);

      g_signal_emit (self, signals[SIGNAL_NOTICE], 0, notice);
    }
  g_task_return_boolean (task, TRUE);
}

static void
on_game_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  int status = 0;

  if (!mist_launcher_run_finish (result, &status, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

/* Starts the game with the user's saved launch options. */
static void
on_play_settings_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = MIST_CONTROLLER (source);
  MistGameItem *game = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (MistLaunchSettings) settings =
    mist_controller_load_launch_settings_finish (self, result, &error);
  g_autoptr (GHashTable) environment = NULL;
  MistLaunchOptions options = { 0 };

  if (settings == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  environment = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  mist_launch_settings_to_options (settings, environment, &options);
  mist_launcher_run_async (self->db, mist_game_item_get_slug (game), &options, NULL,
                           on_game_exited, g_object_ref (task));
}

static void
on_verified (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistGameItem *game = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) bad = mist_install_verify_finish (result, NULL, &error);

  if (bad == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else if (bad->len > 0)
    g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH,
                             g_dngettext (GETTEXT_PACKAGE,
                                          "%u file of %s is missing or changed: use Repair.",
                                          "%u files of %s are missing or changed: use Repair.",
                                          bad->len),
                             bad->len, mist_game_item_get_title (game));
  else
    {
      g_autofree char *notice =
        g_strdup_printf (_("Every file of %s is intact."), mist_game_item_get_title (game));

      g_signal_emit (g_task_get_source_object (task), signals[SIGNAL_NOTICE], 0, notice);
      g_task_return_boolean (task, TRUE);
    }
}

static void
uninstall_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  MistController *self = source;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) kept = NULL;

  if (!mist_install_uninstall (self->db, mist_game_item_get_slug (task_data), &kept, cancellable,
                               &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_uninstalled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = MIST_CONTROLLER (source);
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  sync_installed (self, task);
}

static void
on_folder_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_app_info_launch_default_for_uri_finish (result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
run_job_change (MistController *self, MistGameItem *game, const char *action, GError **error)
{
  MistJob *job = find_job (self, game);

  if (job == NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND,
                   _("%s has no download to pause, resume or cancel."),
                   mist_game_item_get_title (game));
      return FALSE;
    }
  if (g_str_equal (action, "pause"))
    return mist_queue_pause (self->queue, job, error);
  if (g_str_equal (action, "resume"))
    return mist_queue_resume (self->queue, job, error);
  return mist_queue_cancel (self->queue, job, error);
}

static void
queue_job (MistController *self, GTask *task, MistGameItem *game, MistJobKind kind,
           const char *install_folder)
{
  g_autofree char *path = NULL;
  MistJob *previous = find_job (self, game);

  if (previous != NULL)
    g_object_set_data_full (G_OBJECT (task), PREVIOUS_JOB_KEY, g_object_ref (previous),
                            g_object_unref);
  if (kind == MIST_JOB_KIND_INSTALL && install_folder != NULL)
    path = g_build_filename (install_folder, mist_game_item_get_slug (game), NULL);
  mist_queue_add_async (self->queue, mist_game_item_get_slug (game), kind, 0, path,
                        g_task_get_cancellable (task), on_job_queued, g_object_ref (task));
}

/* Runs a game page action ("install", "update", "play", "pause", "resume", "cancel",
 * "verify", "repair", "uninstall", "open-folder"); install_folder is the folder
 * "install" puts the game's own folder into. "resume" requests the newest version as
 * "install" and "update" do, so the queue resumes the game's job only when it goes
 * there and replaces it otherwise, with a notice. */
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
  g_autoptr (GError) error = NULL;
  MistJob *job;

  g_task_set_source_tag (task, mist_controller_run_game_action_async);
  g_task_set_task_data (task, g_object_ref (game), g_object_unref);
  if (self->queue == NULL || self->db == NULL)
    {
      g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED, "%s",
                               _("Log in to install and play games."));
      return;
    }

  if (g_str_equal (action, "install"))
    queue_job (self, task, game, MIST_JOB_KIND_INSTALL, install_folder);
  else if (g_str_equal (action, "update"))
    queue_job (self, task, game, MIST_JOB_KIND_UPDATE, NULL);
  else if (g_str_equal (action, "repair"))
    queue_job (self, task, game, MIST_JOB_KIND_REPAIR, NULL);
  else if (g_str_equal (action, "resume") && (job = find_job (self, game)) != NULL)
    queue_job (self, task, game, mist_job_get_kind (job), NULL);
  else if (g_str_equal (action, "play"))
    mist_controller_load_launch_settings_async (self, game, cancellable, on_play_settings_loaded,
                                                g_object_ref (task));
  else if (g_str_equal (action, "verify"))
    mist_install_verify_async (self->db, mist_game_item_get_slug (game), NULL, NULL, cancellable,
                               on_verified, g_object_ref (task));
  else if (g_str_equal (action, "uninstall"))
    {
      GTask *thread_task = g_task_new (self, cancellable, on_uninstalled, g_object_ref (task));

      g_task_set_task_data (thread_task, g_object_ref (game), g_object_unref);
      g_task_run_in_thread (thread_task, uninstall_thread);
      g_object_unref (thread_task);
    }
  else if (g_str_equal (action, "open-folder"))
    {
      g_autoptr (GFile) folder = g_file_new_for_path (mist_game_item_get_install_path (game));
      g_autofree char *uri = g_file_get_uri (folder);

      g_app_info_launch_default_for_uri_async (uri, NULL, cancellable, on_folder_opened,
                                               g_object_ref (task));
    }
  else if (run_job_change (self, game, action, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

gboolean
mist_controller_run_game_action_finish (MistController *self,
                                        GAsyncResult *result,
                                        GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Launch options, per game in the state database. */

static void
on_launch_settings_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistGameItem *game = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  MistController *self = g_task_get_source_object (task);
  g_autoptr (MistCatalogEntry) entry =
    mist_state_db_catalog_get_finish (self->db, result, &error);
  MistLaunchSettings *settings;

  if (error != NULL)
    {
      g_prefix_error (&error, _("Cannot read the launch options of %s: "),
                      mist_game_item_get_title (game));
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (entry == NULL)
    {
      g_task_return_pointer (task, mist_launch_settings_new (),
                             (GDestroyNotify) mist_launch_settings_free);
      return;
    }
  settings = mist_launch_settings_from_json (entry->json, &error);
  if (settings == NULL)
    {
      /* A damaged record must not keep the game from starting: play without it. */
      g_debug ("Ignoring the launch options of %s: %s", mist_game_item_get_slug (game),
               error->message);
      settings = mist_launch_settings_new ();
    }
  g_task_return_pointer (task, settings, (GDestroyNotify) mist_launch_settings_free);
}

/* Reads the launch options saved for game, by the launcher or by `mist-cli launch
 * --save`; a game without any gets empty ones. */
void
mist_controller_load_launch_settings_async (MistController *self,
                                            MistGameItem *game,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *key = mist_launch_settings_key (mist_game_item_get_slug (game));

  g_task_set_source_tag (task, mist_controller_load_launch_settings_async);
  g_task_set_task_data (task, g_object_ref (game), g_object_unref);
  if (self->db == NULL)
    {
      g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED, "%s",
                               _("Log in to install and play games."));
      return;
    }
  mist_state_db_catalog_get_async (self->db, key, cancellable, on_launch_settings_read,
                                   g_object_ref (task));
}

MistLaunchSettings *
mist_controller_load_launch_settings_finish (MistController *self,
                                             GAsyncResult *result,
                                             GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_launch_settings_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MistController *self = g_task_get_source_object (task);
  MistGameItem *game = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!mist_state_db_finish (self->db, result, &error))
    {
      g_prefix_error (&error, _("Cannot save the launch options of %s: "),
                      mist_game_item_get_title (game));
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

void
mist_controller_save_launch_settings_async (MistController *self,
                                            MistGameItem *game,
                                            const MistLaunchSettings *settings,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *key = mist_launch_settings_key (mist_game_item_get_slug (game));
  g_autofree char *json = mist_launch_settings_to_json (settings);

  g_task_set_source_tag (task, mist_controller_save_launch_settings_async);
  g_task_set_task_data (task, g_object_ref (game), g_object_unref);
  if (self->db == NULL)
    {
      g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED, "%s",
                               _("Log in to install and play games."));
      return;
    }
  mist_state_db_catalog_put_async (self->db, key, json, g_get_real_time () / G_USEC_PER_SEC,
                                   cancellable, on_launch_settings_written, g_object_ref (task));
}

gboolean
mist_controller_save_launch_settings_finish (MistController *self,
                                             GAsyncResult *result,
                                             GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Runs a downloads page action on job: "pause", "resume", "cancel", or "move" to
 * position in the queue. */
gboolean
mist_controller_run_job_action (MistController *self,
                                MistDownloadItem *item,
                                const char *action,
                                guint position,
                                GError **error)
{
  MistJob *job = g_object_get_data (G_OBJECT (item), "mist-job");
  gboolean done;

  if (self->queue == NULL || job == NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND, "%s",
                   _("This download is no longer in the queue."));
      return FALSE;
    }
  if (g_str_equal (action, "pause"))
    done = mist_queue_pause (self->queue, job, error);
  else if (g_str_equal (action, "resume"))
    done = mist_queue_resume (self->queue, job, error);
  else if (g_str_equal (action, "cancel"))
    done = mist_queue_cancel (self->queue, job, error);
  else
    done = mist_queue_move (self->queue, job, position, error);
  if (done)
    sort_jobs (self);
  return done;
}

/* Runs "pause-all" or "resume-all" on the queue. */
void
mist_controller_run_queue_action (MistController *self, const char *action)
{
  if (self->queue == NULL)
    return;
  if (g_str_equal (action, "pause-all"))
    mist_queue_pause_all (self->queue);
  else
    mist_queue_resume_all (self->queue);
}

/* Object */

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

  g_cancellable_cancel (self->cancellable);
  if (self->queue != NULL)
    mist_queue_stop (self->queue);
  g_clear_object (&self->queue);
  g_clear_object (&self->downloader);
  g_clear_object (&self->client);
  g_clear_pointer (&self->db, mist_state_db_unref);
  g_clear_object (&self->shown_game);
  g_clear_pointer (&self->job_items, g_hash_table_unref);
  g_clear_pointer (&self->games_by_slug, g_hash_table_unref);
  g_clear_object (&self->settings);
  g_clear_object (&self->games);
  g_clear_object (&self->jobs);
  g_clear_object (&self->cancellable);

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
  /**
   * MistController::notice:
   * @text: a result to show briefly, such as a verify that found nothing wrong
   */
  signals[SIGNAL_NOTICE] = g_signal_new ("notice", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * MistController::session-not-stored:
   * @error: why the keyring did not take the session token; MIST_ERROR_NO_KEYRING when
   *   no Secret Service is running
   *
   * Emitted after a login whose session lasts only until the launcher quits.
   */
  signals[SIGNAL_SESSION_NOT_STORED] =
    g_signal_new ("session-not-stored", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
mist_controller_init (MistController *self)
{
  self->games = g_list_store_new (MIST_TYPE_GAME_ITEM);
  self->games_by_slug = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->jobs = g_list_store_new (MIST_TYPE_DOWNLOAD_ITEM);
  self->job_items = g_hash_table_new_full (NULL, NULL, g_object_unref, g_object_unref);
  self->cancellable = g_cancellable_new ();
}

MistController *
mist_controller_new (GSettings *settings)
{
  MistController *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (MIST_TYPE_CONTROLLER, NULL);
  self->settings = g_object_ref (settings);
  g_signal_connect_object (settings, "changed::bandwidth-limit",
                           G_CALLBACK (apply_download_settings), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (settings, "changed::parallel-downloads",
                           G_CALLBACK (apply_download_settings), self, G_CONNECT_SWAPPED);
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
