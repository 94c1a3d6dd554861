/* mist-launcher.h: running an installed game
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The command comes from the installed manifest's launch configuration, plus the user's
 * extra arguments and environment and an optional wrapper command such as
 * "gamemoderun %command%" (the token %command% stands for the game's command line;
 * without it the command line is appended). The game runs as a child process with its
 * standard output and error appended to a log file per game, a play session is recorded
 * in the state database, and a file in $XDG_RUNTIME_DIR/mist/running marks the game as
 * running, so that no update is applied to it meanwhile, also from another process.
 */
#pragma once

#include "mist-state-db.h"

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  const char *const *extra_arguments; /* after the manifest's arguments; NULL for none */
  GHashTable *extra_environment;      /* char * → char *, over the manifest's; or NULL */
  const char *wrapper;                /* shell-quoted command line, or NULL */
} MistLaunchOptions;

/* Starts the game and completes when it exits; the result is its wait status as
 * g_subprocess_get_status() gives it. Fails with MIST_ERROR_NOT_FOUND when the game is
 * not installed or has no launch configuration, and MIST_ERROR_BUSY when it already
 * runs. Cancelling sends SIGTERM to the game and still waits for it to exit. */
void mist_launcher_run_async (MistStateDb *db,
                              const char *game_id,
                              const MistLaunchOptions *options,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean mist_launcher_run_finish (GAsyncResult *result, int *wait_status, GError **error);

/* Builds the command line without running it (for display and tests). */
char **mist_launcher_build_argv (const char *install_path,
                                 const char *executable,
                                 const char *const *arguments,
                                 const MistLaunchOptions *options,
                                 GError **error);

/* Whether a process started by mist_launcher_run_async(), in this or another process,
 * still runs the game. */
gboolean mist_launcher_is_running (const char *game_id);

/* $XDG_STATE_HOME/mist/logs/GAME.log */
char *mist_launcher_get_log_path (const char *game_id);

G_END_DECLS
