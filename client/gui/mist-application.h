/* mist-application.h: the launcher's application object: actions, settings, notifications
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-controller.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define MIST_TYPE_APPLICATION (mist_application_get_type ())
G_DECLARE_FINAL_TYPE (MistApplication, mist_application, MIST, APPLICATION, AdwApplication)

MistApplication *mist_application_new (void);
/* The controller is created when the application starts up (registers). */
MistController *mist_application_get_controller (MistApplication *self);

G_END_DECLS
