/* net-test-util.h: games on a real backend-stub for the engine's network tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The helpers assert on failure, so a test reads as its steps.
 */
#pragma once

#include "mist-test-server.h"

G_BEGIN_DECLS

typedef struct
{
  MistTestServer *server;
  char *admin_token;
  char *work_dir; /* build folders and client state of the test; removed by stop */
} NetServer;

/* Starts a server (skipping the test when it cannot start) and logs the admin in.
 * Returns FALSE when the test was skipped. */
gboolean net_server_start (NetServer *net);
/* The same with options for the server (NULL for the defaults). */
gboolean net_server_start_with_options (NetServer *net, const MistTestServerOptions *options);
void net_server_stop (NetServer *net);

/* Writes a build folder under the work folder: a start script "bin/game" that prints
 * its arguments, plus `count` data files whose bytes depend on seed, so that two seeds
 * give builds that differ in every data file but share the script. Returns its path. */
char *net_write_build (NetServer *net, const char *name, guint count, gsize size, guint32 seed);

/* Creates a public game and pushes build_dir as version_name, with bin/game as the
 * launch executable. */
void net_create_game (NetServer *net, const char *slug);
void net_push (NetServer *net, const char *slug, const char *version_name, const char *build_dir);

/* Asserts that every file of build_dir is in install_dir with the same bytes. */
void net_assert_tree_equal (const char *build_dir, const char *install_dir);

void net_remove_tree (const char *path);

G_END_DECLS
