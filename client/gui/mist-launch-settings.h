/* mist-launch-settings.h: a user's launch options for one game
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Extra arguments, environment variables and a wrapper command, kept in the state
 * database's catalog table under "launch-options/GAME" as the JSON object mist-cli's
 * `launch --save` writes: {"wrapper": "...", "environment": ["NAME=VALUE", ...],
 * "arguments": [...]}. Both programs read what the other saved.
 */
#pragma once

#include "mist-launcher.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  char *wrapper;      /* shell-quoted command line with %command%, "" for none */
  char **environment; /* "NAME=VALUE" each, NULL-terminated */
  char **arguments;   /* after the game's own arguments, NULL-terminated */
} MistLaunchSettings;

MistLaunchSettings *mist_launch_settings_new (void);
void mist_launch_settings_free (MistLaunchSettings *settings);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistLaunchSettings, mist_launch_settings_free)

char *mist_launch_settings_key (const char *game_id);
MistLaunchSettings *mist_launch_settings_from_json (const char *json, GError **error);
char *mist_launch_settings_to_json (const MistLaunchSettings *settings);

/* The three fields as a user types them: shell words for the arguments, shell words of
 * the form NAME=VALUE for the environment, and a command line for the wrapper. Each
 * fails with MIST_ERROR_INVALID_DATA naming the text that is wrong. */
gboolean mist_launch_settings_parse_arguments (const char *text, char ***arguments, GError **error);
gboolean mist_launch_settings_parse_environment (const char *text,
                                                 char ***environment,
                                                 GError **error);
gboolean mist_launch_settings_check_wrapper (const char *text, GError **error);

/* Shell-quotes words and joins them with spaces, the form the parsers read back. */
char *mist_launch_settings_join (const char *const *words);

/* Fills options from settings; environment receives the variables and must outlive
 * options. */
void mist_launch_settings_to_options (const MistLaunchSettings *settings,
                                      GHashTable *environment,
                                      MistLaunchOptions *options);

G_END_DECLS
