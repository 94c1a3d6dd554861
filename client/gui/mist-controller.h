/* mist-controller.h: the launcher's link to the engine: session, catalog, queue, games
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The views never call the engine themselves. They show the controller's models (games
 * and jobs) and ask it to act; every call that touches the network, the disk or the
 * database runs in the engine, off the main loop, and reports back on it.
 */
#pragma once

#include "mist-download-item.h"
#include "mist-game-item.h"
#include "mist-launch-settings.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define MIST_TYPE_CONTROLLER (mist_controller_get_type ())
G_DECLARE_FINAL_TYPE (MistController, mist_controller, MIST, CONTROLLER, GObject)

MistController *mist_controller_new (GSettings *settings);

GListModel *mist_controller_get_games (MistController *self);
GListModel *mist_controller_get_jobs (MistController *self);
const char *mist_controller_get_username (MistController *self);
gboolean mist_controller_get_is_admin (MistController *self);
const char *mist_controller_get_offline_reason (MistController *self);

void mist_controller_restore_session_async (MistController *self,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data);
gboolean mist_controller_restore_session_finish (MistController *self,
                                                 GAsyncResult *result,
                                                 GError **error);

void mist_controller_login_async (MistController *self,
                                  const char *server_url,
                                  const char *username,
                                  const char *password,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean mist_controller_login_finish (MistController *self,
                                       GAsyncResult *result,
                                       guint *retry_after,
                                       GError **error);

void mist_controller_logout_async (MistController *self,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
gboolean mist_controller_logout_finish (MistController *self,
                                        GAsyncResult *result,
                                        GError **error);

void mist_controller_refresh_async (MistController *self,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean mist_controller_refresh_finish (MistController *self,
                                         GAsyncResult *result,
                                         GError **error);

void mist_controller_load_game (MistController *self, MistGameItem *game);

void mist_controller_run_game_action_async (MistController *self,
                                            MistGameItem *game,
                                            const char *action,
                                            const char *install_folder,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data);
gboolean mist_controller_run_game_action_finish (MistController *self,
                                                 GAsyncResult *result,
                                                 GError **error);

gboolean mist_controller_run_job_action (MistController *self,
                                         MistDownloadItem *job,
                                         const char *action,
                                         guint position,
                                         GError **error);
void mist_controller_load_launch_settings_async (MistController *self,
                                                 MistGameItem *game,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback,
                                                 gpointer user_data);
MistLaunchSettings *mist_controller_load_launch_settings_finish (MistController *self,
                                                                 GAsyncResult *result,
                                                                 GError **error);
void mist_controller_save_launch_settings_async (MistController *self,
                                                 MistGameItem *game,
                                                 const MistLaunchSettings *settings,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback,
                                                 gpointer user_data);
gboolean mist_controller_save_launch_settings_finish (MistController *self,
                                                      GAsyncResult *result,
                                                      GError **error);

void mist_controller_run_queue_action (MistController *self, const char *action);

G_END_DECLS
