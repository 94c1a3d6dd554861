/* mist-window.h: the main window: login, library, game page and downloads
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-controller.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define MIST_TYPE_WINDOW (mist_window_get_type ())
G_DECLARE_FINAL_TYPE (MistWindow, mist_window, MIST, WINDOW, AdwApplicationWindow)

MistWindow *mist_window_new (AdwApplication *application,
                             MistController *controller,
                             GSettings *settings);

void mist_window_show_error (MistWindow *self, const GError *error);
void mist_window_show_login (MistWindow *self);
void mist_window_show_library (MistWindow *self);
void mist_window_login (MistWindow *self,
                        const char *server,
                        const char *username,
                        const char *password);

G_END_DECLS
