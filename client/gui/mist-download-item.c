/* mist-download-item.c: one job of the download queue as the downloads page shows it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-download-item.h"

/* Main thread only. Every setter notifies "changed" once, so a row redraws once per
 * progress report rather than once per field. */
struct _MistDownloadItem
{
  GObject parent_instance;

  MistGameItem *game;
  char *from_version; /* (nullable): NULL for a fresh install */
  char *to_version;
  MistDownloadState state;
  guint64 bytes_done;
  guint64 bytes_total;
  double speed;       /* bytes per second, averaged by the engine */
  gint64 eta;         /* seconds left, -1 when unknown */
  char *error_message; /* (nullable) */
};

G_DEFINE_FINAL_TYPE (MistDownloadItem, mist_download_item, G_TYPE_OBJECT)
G_DEFINE_ENUM_TYPE (MistDownloadState, mist_download_state,
                    G_DEFINE_ENUM_VALUE (MIST_DOWNLOAD_STATE_QUEUED, "queued"),
                    G_DEFINE_ENUM_VALUE (MIST_DOWNLOAD_STATE_DOWNLOADING, "downloading"),
                    G_DEFINE_ENUM_VALUE (MIST_DOWNLOAD_STATE_INSTALLING, "installing"),
                    G_DEFINE_ENUM_VALUE (MIST_DOWNLOAD_STATE_PAUSED, "paused"),
                    G_DEFINE_ENUM_VALUE (MIST_DOWNLOAD_STATE_FINISHED, "finished"),
                    G_DEFINE_ENUM_VALUE (MIST_DOWNLOAD_STATE_FAILED, "failed"))

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
mist_download_item_dispose (GObject *object)
{
  MistDownloadItem *self = MIST_DOWNLOAD_ITEM (object);

  g_clear_object (&self->game);

  G_OBJECT_CLASS (mist_download_item_parent_class)->dispose (object);
}

static void
mist_download_item_finalize (GObject *object)
{
  MistDownloadItem *self = MIST_DOWNLOAD_ITEM (object);

  g_free (self->from_version);
  g_free (self->to_version);
  g_free (self->error_message);

  G_OBJECT_CLASS (mist_download_item_parent_class)->finalize (object);
}

static void
mist_download_item_class_init (MistDownloadItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mist_download_item_dispose;
  object_class->finalize = mist_download_item_finalize;

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
mist_download_item_init (MistDownloadItem *self)
{
  self->eta = -1;
}

MistDownloadItem *
mist_download_item_new (MistGameItem *game,
                        const char *from_version,
                        const char *to_version,
                        guint64 bytes_total)
{
  MistDownloadItem *self;

  g_return_val_if_fail (MIST_IS_GAME_ITEM (game), NULL);
  g_return_val_if_fail (to_version != NULL, NULL);

  self = g_object_new (MIST_TYPE_DOWNLOAD_ITEM, NULL);
  self->game = g_object_ref (game);
  self->from_version = g_strdup (from_version);
  self->to_version = g_strdup (to_version);
  self->bytes_total = bytes_total;
  return self;
}

MistGameItem *
mist_download_item_get_game (MistDownloadItem *self)
{
  return self->game;
}

const char *
mist_download_item_get_from_version (MistDownloadItem *self)
{
  return self->from_version;
}

const char *
mist_download_item_get_to_version (MistDownloadItem *self)
{
  return self->to_version;
}

MistDownloadState
mist_download_item_get_state (MistDownloadItem *self)
{
  return self->state;
}

guint64
mist_download_item_get_bytes_done (MistDownloadItem *self)
{
  return self->bytes_done;
}

guint64
mist_download_item_get_bytes_total (MistDownloadItem *self)
{
  return self->bytes_total;
}

double
mist_download_item_get_speed (MistDownloadItem *self)
{
  return self->speed;
}

gint64
mist_download_item_get_eta (MistDownloadItem *self)
{
  return self->eta;
}

const char *
mist_download_item_get_error_message (MistDownloadItem *self)
{
  return self->error_message;
}

double
mist_download_item_get_fraction (MistDownloadItem *self)
{
  if (self->state == MIST_DOWNLOAD_STATE_FINISHED)
    return 1.0;
  if (self->bytes_total == 0)
    return 0.0;
  return MIN (1.0, (double) self->bytes_done / (double) self->bytes_total);
}

/* Whether the job still has work to do: queued, running or paused. */
gboolean
mist_download_item_is_active (MistDownloadItem *self)
{
  return self->state != MIST_DOWNLOAD_STATE_FINISHED && self->state != MIST_DOWNLOAD_STATE_FAILED;
}

static MistGameState
game_state_for (MistDownloadState state)
{
  switch (state)
    {
    case MIST_DOWNLOAD_STATE_QUEUED:
      return MIST_GAME_STATE_QUEUED;
    case MIST_DOWNLOAD_STATE_DOWNLOADING:
    case MIST_DOWNLOAD_STATE_INSTALLING:
      return MIST_GAME_STATE_DOWNLOADING;
    case MIST_DOWNLOAD_STATE_PAUSED:
      return MIST_GAME_STATE_PAUSED;
    case MIST_DOWNLOAD_STATE_FINISHED:
    case MIST_DOWNLOAD_STATE_FAILED:
    default:
      return MIST_GAME_STATE_AVAILABLE; /* ends the job: the game derives its state */
    }
}

/* Sets the job's state and mirrors it on the game, so the library and the game page
 * follow the queue. */
void
mist_download_item_set_state (MistDownloadItem *self, MistDownloadState state)
{
  g_return_if_fail (MIST_IS_DOWNLOAD_ITEM (self));

  if (state != MIST_DOWNLOAD_STATE_DOWNLOADING)
    self->speed = 0;
  if (state != MIST_DOWNLOAD_STATE_DOWNLOADING)
    self->eta = -1;
  self->state = state;
  mist_game_item_set_state (self->game, game_state_for (state));
  if (mist_download_item_is_active (self))
    mist_game_item_set_progress (self->game, mist_download_item_get_fraction (self));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

/* Records a progress report: bytes so far and in all, the speed in bytes per second and
 * the seconds left (-1 when unknown). */
void
mist_download_item_set_progress (MistDownloadItem *self,
                                 guint64 bytes_done,
                                 guint64 bytes_total,
                                 double speed,
                                 gint64 eta)
{
  g_return_if_fail (MIST_IS_DOWNLOAD_ITEM (self));

  self->bytes_done = bytes_done;
  self->bytes_total = bytes_total;
  self->speed = MAX (0.0, speed);
  self->eta = eta;
  mist_game_item_set_progress (self->game, mist_download_item_get_fraction (self));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

void
mist_download_item_set_error_message (MistDownloadItem *self, const char *message)
{
  g_return_if_fail (MIST_IS_DOWNLOAD_ITEM (self));

  g_free (self->error_message);
  self->error_message = g_strdup (message);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}
