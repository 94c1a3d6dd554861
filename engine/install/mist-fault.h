/* mist-fault.h: named crash and delay points for the crash and interruption tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * When the environment variable MIST_FAULT_POINT names a point, the process kills itself
 * with SIGKILL on reaching it, as a crash or a power cut would stop it. A point is hit
 * when its name matches exactly ("before-commit") or matches with the count of times the
 * point was reached so far ("after-rename-3" is the third rename). Without the variable
 * a point costs one branch.
 *
 * When MIST_FAULT_DELAY is NAME:MILLISECONDS ("stage-file:500"), the delay point NAME
 * waits that long each time it is reached, as a slow disk would make it.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

void mist_fault_point (const char *name);
/* Waits for the delay that MIST_FAULT_DELAY sets for name, returning early once
 * cancellable (nullable) is cancelled. */
void mist_fault_delay (const char *name, GCancellable *cancellable);

G_END_DECLS
