/* mistpipe-commands.h: mistpipe's online commands; argv[0] is the command's name
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mistpipe-client.h"

G_BEGIN_DECLS

int mistpipe_command_login (Mistpipe *pipe, int argc, char **argv);
int mistpipe_command_logout (Mistpipe *pipe, int argc, char **argv);
int mistpipe_command_user (Mistpipe *pipe, int argc, char **argv);
int mistpipe_command_game (Mistpipe *pipe, int argc, char **argv);
int mistpipe_command_push (Mistpipe *pipe, int argc, char **argv);
int mistpipe_command_patches (Mistpipe *pipe, int argc, char **argv);
int mistpipe_command_launch_config (Mistpipe *pipe, int argc, char **argv);

/* Parses argv with entries; on failure prints the message and returns FALSE. The
 * remaining arguments, argv[0] excluded, go to *rest. */
gboolean mistpipe_parse_options (const char *command,
                                 const GOptionEntry *entries,
                                 int argc,
                                 char **argv,
                                 GStrv *rest);

/* Prints error and returns the exit status 1. */
int mistpipe_fail (const GError *error);

G_END_DECLS
