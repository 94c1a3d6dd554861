/* mist-preferences-window.h: download settings and the account, bound to GSettings
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MIST_TYPE_PREFERENCES_WINDOW (mist_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (MistPreferencesWindow, mist_preferences_window, MIST, PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

GtkWidget *mist_preferences_window_new (GtkWindow *parent,
                                        GSettings *settings,
                                        const char *username);
char *mist_preferences_window_dup_install_folder (GSettings *settings);

G_END_DECLS
