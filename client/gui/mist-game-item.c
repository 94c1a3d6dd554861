/* mist-game-item.c: a game of the library as the views show it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-game-item.h"

#include "mist-version-item.h"

#include <gio/gio.h>

/* Lives on the main thread; only the cover is decoded in a worker thread and handed
 * back through a GTask. */
struct _MistGameItem
{
  GObject parent_instance;

  char *slug;
  char *title;
  char *description;
  gboolean is_private;
  char *latest_version;     /* (nullable): NULL while the game has no version */
  guint64 download_size;    /* bytes of a full download of latest_version */
  guint64 latest_installed_size;
  MistGameState state;
  char *installed_version;  /* (nullable) */
  guint64 installed_size;
  char *install_path;       /* (nullable) */
  char *update_summary;     /* (nullable): the planned route, set by the controller */
  double progress;          /* 0 to 1, of the running job */
  char *cover_path;         /* (nullable): a file on disk */
  GdkPaintable *cover;      /* (nullable): loaded on demand */
  GdkPaintable *thumbnail;  /* (nullable): the cover at the library grid's size, with it */
  gboolean cover_loading;
  GListStore *versions;     /* MistVersionItem, oldest first */
};

G_DEFINE_FINAL_TYPE (MistGameItem, mist_game_item, G_TYPE_OBJECT)
G_DEFINE_ENUM_TYPE (MistGameState, mist_game_state,
                    G_DEFINE_ENUM_VALUE (MIST_GAME_STATE_AVAILABLE, "available"),
                    G_DEFINE_ENUM_VALUE (MIST_GAME_STATE_QUEUED, "queued"),
                    G_DEFINE_ENUM_VALUE (MIST_GAME_STATE_DOWNLOADING, "downloading"),
                    G_DEFINE_ENUM_VALUE (MIST_GAME_STATE_PAUSED, "paused"),
                    G_DEFINE_ENUM_VALUE (MIST_GAME_STATE_INSTALLED, "installed"),
                    G_DEFINE_ENUM_VALUE (MIST_GAME_STATE_UPDATE_AVAILABLE, "update-available"))

enum
{
  PROP_0,
  PROP_SLUG,
  PROP_TITLE,
  PROP_DESCRIPTION,
  PROP_IS_PRIVATE,
  PROP_LATEST_VERSION,
  PROP_DOWNLOAD_SIZE,
  PROP_STATE,
  PROP_INSTALLED_VERSION,
  PROP_INSTALLED_SIZE,
  PROP_UPDATE_SUMMARY,
  PROP_PROGRESS,
  PROP_COVER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
mist_game_item_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  MistGameItem *self = MIST_GAME_ITEM (object);

  switch (prop_id)
    {
    case PROP_SLUG:
      g_value_set_string (value, self->slug);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_DESCRIPTION:
      g_value_set_string (value, self->description);
      break;
    case PROP_IS_PRIVATE:
      g_value_set_boolean (value, self->is_private);
      break;
    case PROP_LATEST_VERSION:
      g_value_set_string (value, self->latest_version);
      break;
    case PROP_DOWNLOAD_SIZE:
      g_value_set_uint64 (value, self->download_size);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_INSTALLED_VERSION:
      g_value_set_string (value, self->installed_version);
      break;
    case PROP_INSTALLED_SIZE:
      g_value_set_uint64 (value, self->installed_size);
      break;
    case PROP_UPDATE_SUMMARY:
      g_value_set_string (value, self->update_summary);
      break;
    case PROP_PROGRESS:
      g_value_set_double (value, self->progress);
      break;
    case PROP_COVER:
      g_value_set_object (value, self->cover);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mist_game_item_set_property (GObject *object,
                             guint prop_id,
                             const GValue *value,
                             GParamSpec *pspec)
{
  MistGameItem *self = MIST_GAME_ITEM (object);

  switch (prop_id)
    {
    case PROP_SLUG:
      self->slug = g_value_dup_string (value);
      break;
    case PROP_TITLE:
      mist_game_item_set_title (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mist_game_item_dispose (GObject *object)
{
  MistGameItem *self = MIST_GAME_ITEM (object);

  g_clear_object (&self->cover);
  g_clear_object (&self->thumbnail);
  g_clear_object (&self->versions);

  G_OBJECT_CLASS (mist_game_item_parent_class)->dispose (object);
}

static void
mist_game_item_finalize (GObject *object)
{
  MistGameItem *self = MIST_GAME_ITEM (object);

  g_free (self->slug);
  g_free (self->title);
  g_free (self->description);
  g_free (self->latest_version);
  g_free (self->installed_version);
  g_free (self->install_path);
  g_free (self->update_summary);
  g_free (self->cover_path);

  G_OBJECT_CLASS (mist_game_item_parent_class)->finalize (object);
}

static void
mist_game_item_class_init (MistGameItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->get_property = mist_game_item_get_property;
  object_class->set_property = mist_game_item_set_property;
  object_class->dispose = mist_game_item_dispose;
  object_class->finalize = mist_game_item_finalize;

  properties[PROP_SLUG] =
    g_param_spec_string ("slug", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DESCRIPTION] = g_param_spec_string ("description", NULL, NULL, NULL, ro);
  properties[PROP_IS_PRIVATE] = g_param_spec_boolean ("is-private", NULL, NULL, FALSE, ro);
  properties[PROP_LATEST_VERSION] = g_param_spec_string ("latest-version", NULL, NULL, NULL, ro);
  properties[PROP_DOWNLOAD_SIZE] =
    g_param_spec_uint64 ("download-size", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, MIST_TYPE_GAME_STATE,
                                              MIST_GAME_STATE_AVAILABLE, ro);
  properties[PROP_INSTALLED_VERSION] =
    g_param_spec_string ("installed-version", NULL, NULL, NULL, ro);
  properties[PROP_INSTALLED_SIZE] =
    g_param_spec_uint64 ("installed-size", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_UPDATE_SUMMARY] = g_param_spec_string ("update-summary", NULL, NULL, NULL, ro);
  properties[PROP_PROGRESS] = g_param_spec_double ("progress", NULL, NULL, 0, 1, 0, ro);
  properties[PROP_COVER] = g_param_spec_object ("cover", NULL, NULL, GDK_TYPE_PAINTABLE, ro);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
mist_game_item_init (MistGameItem *self)
{
  self->versions = g_list_store_new (G_TYPE_OBJECT);
  self->description = g_strdup ("");
}

MistGameItem *
mist_game_item_new (const char *slug, const char *title)
{
  g_return_val_if_fail (slug != NULL, NULL);

  return g_object_new (MIST_TYPE_GAME_ITEM, "slug", slug, "title", title ? title : slug, NULL);
}

const char *
mist_game_item_get_slug (MistGameItem *self)
{
  return self->slug;
}

const char *
mist_game_item_get_title (MistGameItem *self)
{
  return self->title;
}

const char *
mist_game_item_get_description (MistGameItem *self)
{
  return self->description;
}

gboolean
mist_game_item_get_is_private (MistGameItem *self)
{
  return self->is_private;
}

const char *
mist_game_item_get_latest_version (MistGameItem *self)
{
  return self->latest_version;
}

guint64
mist_game_item_get_download_size (MistGameItem *self)
{
  return self->download_size;
}

guint64
mist_game_item_get_latest_installed_size (MistGameItem *self)
{
  return self->latest_installed_size;
}

MistGameState
mist_game_item_get_state (MistGameItem *self)
{
  return self->state;
}

const char *
mist_game_item_get_installed_version (MistGameItem *self)
{
  return self->installed_version;
}

guint64
mist_game_item_get_installed_size (MistGameItem *self)
{
  return self->installed_size;
}

const char *
mist_game_item_get_install_path (MistGameItem *self)
{
  return self->install_path;
}

const char *
mist_game_item_get_update_summary (MistGameItem *self)
{
  return self->update_summary;
}

double
mist_game_item_get_progress (MistGameItem *self)
{
  return self->progress;
}

GdkPaintable *
mist_game_item_get_cover (MistGameItem *self)
{
  return self->cover;
}

/* The cover scaled and cropped to MIST_GAME_ITEM_THUMBNAIL_WIDTH x _HEIGHT pixels; it is
 * loaded and dropped together with the cover. */
GdkPaintable *
mist_game_item_get_thumbnail (MistGameItem *self)
{
  return self->thumbnail;
}

const char *
mist_game_item_get_cover_path (MistGameItem *self)
{
  return self->cover_path;
}

GListModel *
mist_game_item_get_versions (MistGameItem *self)
{
  return G_LIST_MODEL (self->versions);
}

gboolean
mist_game_item_is_installed (MistGameItem *self)
{
  return self->installed_version != NULL;
}

gboolean
mist_game_item_has_job (MistGameItem *self)
{
  return self->state == MIST_GAME_STATE_QUEUED || self->state == MIST_GAME_STATE_DOWNLOADING ||
         self->state == MIST_GAME_STATE_PAUSED;
}

static gboolean
replace_string (char **field, const char *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

/* Without a job the state follows from the installed and the latest version. */
static MistGameState
idle_state (MistGameItem *self)
{
  if (self->installed_version == NULL)
    return MIST_GAME_STATE_AVAILABLE;
  if (self->latest_version != NULL && g_strcmp0 (self->installed_version, self->latest_version))
    return MIST_GAME_STATE_UPDATE_AVAILABLE;
  return MIST_GAME_STATE_INSTALLED;
}

static void
change_state (MistGameItem *self, MistGameState state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

void
mist_game_item_set_title (MistGameItem *self, const char *title)
{
  g_return_if_fail (MIST_IS_GAME_ITEM (self));

  if (replace_string (&self->title, title))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

void
mist_game_item_set_description (MistGameItem *self, const char *description)
{
  g_return_if_fail (MIST_IS_GAME_ITEM (self));

  if (replace_string (&self->description, description != NULL ? description : ""))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DESCRIPTION]);
}

void
mist_game_item_set_is_private (MistGameItem *self, gboolean is_private)
{
  g_return_if_fail (MIST_IS_GAME_ITEM (self));

  if (self->is_private == !!is_private)
    return;
  self->is_private = !!is_private;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IS_PRIVATE]);
}

/* Sets the newest version the server offers; name is NULL for a game without one. */
void
mist_game_item_set_latest_version (MistGameItem *self,
                                   const char *name,
                                   guint64 download_size,
                                   guint64 installed_size)
{
  g_return_if_fail (MIST_IS_GAME_ITEM (self));

  self->latest_installed_size = installed_size;
  if (replace_string (&self->latest_version, name))
    {
      mist_game_item_set_update_summary (self, NULL);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LATEST_VERSION]);
    }
  if (self->download_size != download_size)
    {
      self->download_size = download_size;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DOWNLOAD_SIZE]);
    }
  if (!mist_game_item_has_job (self))
    change_state (self, idle_state (self));
}

/* Sets the job state (QUEUED, DOWNLOADING, PAUSED); any other state ends the job, and
 * the state then follows from the installed and the latest version. */
void
mist_game_item_set_state (MistGameItem *self, MistGameState state)
{
  g_return_if_fail (MIST_IS_GAME_ITEM (self));

  switch (state)
    {
    case MIST_GAME_STATE_QUEUED:
    case MIST_GAME_STATE_DOWNLOADING:
    case MIST_GAME_STATE_PAUSED:
      change_state (self, state);
      break;
    case MIST_GAME_STATE_AVAILABLE:
    case MIST_GAME_STATE_INSTALLED:
    case MIST_GAME_STATE_UPDATE_AVAILABLE:
    default:
      mist_game_item_set_progress (self, 0);
      change_state (self, idle_state (self));
      break;
    }
}

/* Records the installed version, or that the game is not installed (version NULL). */
void
mist_game_item_set_installed (MistGameItem *self,
                              const char *version,
                              guint64 size,
                              const char *path)
{
  g_return_if_fail (MIST_IS_GAME_ITEM (self));

  replace_string (&self->install_path, path);
  if (replace_string (&self->installed_version, version))
    {
      mist_game_item_set_update_summary (self, NULL);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INSTALLED_VERSION]);
    }
  if (self->installed_size != size)
    {
      self->installed_size = size;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INSTALLED_SIZE]);
    }
  if (!mist_game_item_has_job (self))
    change_state (self, idle_state (self));
}

void
mist_game_item_set_update_summary (MistGameItem *self, const char *summary)
{
  g_return_if_fail (MIST_IS_GAME_ITEM (self));

  if (replace_string (&self->update_summary, summary))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UPDATE_SUMMARY]);
}

void
mist_game_item_set_progress (MistGameItem *self, double progress)
{
  g_return_if_fail (MIST_IS_GAME_ITEM (self));

  progress = CLAMP (progress, 0.0, 1.0);
  if (self->progress == progress)
    return;
  self->progress = progress;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
}

/* Sets the file the cover is loaded from; the loaded cover is dropped when it changes. */
void
mist_game_item_set_cover_path (MistGameItem *self, const char *path)
{
  g_return_if_fail (MIST_IS_GAME_ITEM (self));

  if (!replace_string (&self->cover_path, path))
    return;
  /* Views that show the game load the new file when they see the notification. */
  g_clear_object (&self->cover);
  g_clear_object (&self->thumbnail);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COVER]);
}

/* Replaces the version history with versions (MistVersionItem, oldest first). */
void
mist_game_item_set_versions (MistGameItem *self, GPtrArray *versions)
{
  g_return_if_fail (MIST_IS_GAME_ITEM (self));

  g_list_store_splice (self->versions, 0, g_list_model_get_n_items (G_LIST_MODEL (self->versions)),
                       versions->pdata, versions->len);
}

typedef struct
{
  GdkTexture *cover;
  GdkTexture *thumbnail;
} CoverTextures;

static void
cover_textures_free (CoverTextures *textures)
{
  g_clear_object (&textures->cover);
  g_clear_object (&textures->thumbnail);
  g_free (textures);
}

/* Scales pixbuf to fill the thumbnail size and crops the middle, as GtkPicture's
 * content-fit "cover" would on every frame: the software renderer spends most of a
 * scrolling frame on scaling covers otherwise. */
static GdkPixbuf *
create_thumbnail (GdkPixbuf *pixbuf)
{
  int width = gdk_pixbuf_get_width (pixbuf);
  int height = gdk_pixbuf_get_height (pixbuf);
  double scale = MAX ((double) MIST_GAME_ITEM_THUMBNAIL_WIDTH / width,
                      (double) MIST_GAME_ITEM_THUMBNAIL_HEIGHT / height);
  int scaled_width = MAX (MIST_GAME_ITEM_THUMBNAIL_WIDTH, (int) (width * scale + 0.5));
  int scaled_height = MAX (MIST_GAME_ITEM_THUMBNAIL_HEIGHT, (int) (height * scale + 0.5));
  g_autoptr (GdkPixbuf) scaled =
    gdk_pixbuf_scale_simple (pixbuf, scaled_width, scaled_height, GDK_INTERP_BILINEAR);

  return gdk_pixbuf_new_subpixbuf (scaled, (scaled_width - MIST_GAME_ITEM_THUMBNAIL_WIDTH) / 2,
                                   (scaled_height - MIST_GAME_ITEM_THUMBNAIL_HEIGHT) / 2,
                                   MIST_GAME_ITEM_THUMBNAIL_WIDTH,
                                   MIST_GAME_ITEM_THUMBNAIL_HEIGHT);
}

static void
load_cover_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  const char *path = task_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (path, &error);
  g_autoptr (GdkPixbuf) thumbnail = NULL;
  CoverTextures *textures;

  if (pixbuf == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  thumbnail = create_thumbnail (pixbuf);
  textures = g_new0 (CoverTextures, 1);
  textures->cover = gdk_texture_new_for_pixbuf (pixbuf);
  textures->thumbnail = gdk_texture_new_for_pixbuf (thumbnail);
  g_task_return_pointer (task, textures, (GDestroyNotify) cover_textures_free);
}

/* Covers are decoded by one thread, the most recent request first. With GLib's shared
 * pool, a grid that binds dozens of tiles at once kept every core decoding, so the main
 * loop waited for a CPU and the covers scrolled into view came last. */
static void
decode_cover (gpointer data, gpointer user_data)
{
  g_autoptr (GTask) task = data;

  load_cover_thread (task, g_task_get_source_object (task), g_task_get_task_data (task), NULL);
}

static int
compare_newest_first (gconstpointer a, gconstpointer b, gpointer user_data)
{
  guint64 sequence_a = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (a), "mist-sequence"));
  guint64 sequence_b = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (b), "mist-sequence"));

  return (sequence_a < sequence_b) - (sequence_a > sequence_b);
}

static void
queue_cover_decode (GTask *task)
{
  static GThreadPool *pool;
  static gsize sequence;

  if (g_once_init_enter (&pool))
    {
      GThreadPool *created = g_thread_pool_new (decode_cover, NULL, 1, FALSE, NULL);

      g_thread_pool_set_sort_function (created, compare_newest_first, NULL);
      g_once_init_leave (&pool, created);
    }
  g_object_set_data (G_OBJECT (task), "mist-sequence", GSIZE_TO_POINTER (++sequence));
  g_thread_pool_push (pool, task, NULL);
}

static void
load_cover_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MistGameItem *self = MIST_GAME_ITEM (source);
  g_autoptr (GTask) outer = user_data;
  g_autoptr (GError) error = NULL;
  CoverTextures *textures = g_task_propagate_pointer (G_TASK (result), &error);

  self->cover_loading = FALSE;
  if (textures == NULL)
    {
      g_task_return_error (outer, g_steal_pointer (&error));
      return;
    }
  g_set_object (&self->cover, GDK_PAINTABLE (textures->cover));
  g_set_object (&self->thumbnail, GDK_PAINTABLE (textures->thumbnail));
  cover_textures_free (textures);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COVER]);
  g_task_return_boolean (outer, TRUE);
}

/* Decodes the cover file in a worker thread and sets the cover property. Completes at
 * once when the cover is loaded, loading or there is no cover file. */
void
mist_game_item_load_cover_async (MistGameItem *self,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autoptr (GTask) outer = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GTask) inner = NULL;

  g_task_set_source_tag (outer, mist_game_item_load_cover_async);
  if (self->cover != NULL || self->cover_loading || self->cover_path == NULL)
    {
      g_task_return_boolean (outer, TRUE);
      return;
    }

  self->cover_loading = TRUE;
  /* The decode itself is not cancelled: a tile scrolled away and back wants it again. */
  inner = g_task_new (self, NULL, load_cover_done, g_steal_pointer (&outer));
  g_task_set_task_data (inner, g_strdup (self->cover_path), g_free);
  queue_cover_decode (g_steal_pointer (&inner));
}

gboolean
mist_game_item_load_cover_finish (MistGameItem *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
