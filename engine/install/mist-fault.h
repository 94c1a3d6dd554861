/* mist-fault.h: named crash points for the crash tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * When the environment variable MIST_FAULT_POINT names a point, the process kills itself
 * with SIGKILL on reaching it, as a crash or a power cut would stop it. A point is hit
 * when its name matches exactly ("before-commit") or matches with the count of times the
 * point was reached so far ("after-rename-3" is the third rename). Without the variable
 * a point costs one branch.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void mist_fault_point (const char *name);

G_END_DECLS
