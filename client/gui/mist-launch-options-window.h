/* mist-launch-options-window.h: editing a game's extra arguments, environment and wrapper
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-launch-settings.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define MIST_TYPE_LAUNCH_OPTIONS_WINDOW (mist_launch_options_window_get_type ())
G_DECLARE_FINAL_TYPE (MistLaunchOptionsWindow,
                      mist_launch_options_window,
                      MIST,
                      LAUNCH_OPTIONS_WINDOW,
                      AdwWindow)

GtkWidget *mist_launch_options_window_new (GtkWindow *parent,
                                           const char *game_title,
                                           const MistLaunchSettings *settings);
MistLaunchSettings *mist_launch_options_window_dup_settings (MistLaunchOptionsWindow *self);
const char *mist_launch_options_window_get_error (MistLaunchOptionsWindow *self);

G_END_DECLS
