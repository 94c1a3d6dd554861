/* mist-test-server.h: a real mist-backend-stub for tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Starts the server built in this tree ($MIST_BUILD_ROOT/backend-stub) on an ephemeral
 * loopback port with a temporary data folder that already contains an admin and a user
 * account (created with mistpipe --data-dir), and stops it again. Tests use it from
 * the main thread.
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define MIST_TEST_ADMIN_NAME "admin"
#define MIST_TEST_ADMIN_PASSWORD "admin-password"
#define MIST_TEST_USER_NAME "player"
#define MIST_TEST_USER_PASSWORD "player-password"

typedef struct
{
  int direct_patches;           /* 0: the server's default */
  gboolean use_xdelta3;
  gint64 token_lifetime;        /* seconds; 0: the server's default */
  const char *content_base_url; /* NULL: the server's own */
  const char *data_dir;         /* reuse this folder (it is kept on stop); NULL: a new one */
  const char *log_file;         /* the server's standard error goes here; NULL: the test's */
  guint read_timeout;           /* seconds; 0: the server's default */
} MistTestServerOptions;

typedef struct _MistTestServer MistTestServer;

/* Returns NULL with error when a binary is missing or the server does not start. */
MistTestServer *mist_test_server_start (const MistTestServerOptions *options, GError **error);

/* Stops the server with SIGTERM, waits for it and removes its data folder unless the
 * options named one. Returns FALSE with error when it did not exit with status 0 (a
 * leak found by the sanitizers, a crash). */
gboolean mist_test_server_stop (MistTestServer *server, GError **error);
/* Stops the server if it still runs, ignoring how it exits, and frees it. */
void mist_test_server_free (MistTestServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistTestServer, mist_test_server_free)

/* "http://127.0.0.1:PORT", without a trailing slash. */
const char *mist_test_server_get_url (MistTestServer *server);
const char *mist_test_server_get_data_dir (MistTestServer *server);

/* Logs in over the API and returns the bearer token. */
char *mist_test_server_login (MistTestServer *server,
                              const char *name,
                              const char *password,
                              GError **error);

/* Runs mistpipe --server URL with args (NULL-terminated) and token in $MIST_TOKEN (NULL
 * for none), with input on standard input (NULL for none). Returns its exit status, or
 * -1 with error when it could not run; output receives its standard output and
 * errors its standard error, when not NULL. */
int mist_test_server_run_mistpipe (MistTestServer *server,
                                   const char *token,
                                   const char *const *args,
                                   const char *input,
                                   char **output,
                                   char **errors,
                                   GError **error);

/* Runs mistpipe --data-dir DATA with args while the server runs (SQLite allows it). */
int mist_test_server_run_mistpipe_offline (MistTestServer *server,
                                           const char *const *args,
                                           const char *input,
                                           GError **error);

/* Sends a request to the server with token as bearer (NULL for none) and body as a
 * JSON text (NULL for none); returns the message for its status and headers, and the
 * reply body in *reply when not NULL. Returns NULL with error when the server cannot be
 * reached. mist_test_server_send_message sends a message the test built itself (for
 * extra headers) and returns it with a new reference. */
SoupMessage *mist_test_server_send (MistTestServer *server,
                                    const char *method,
                                    const char *path,
                                    const char *token,
                                    const char *body,
                                    GBytes **reply,
                                    GError **error);
SoupMessage *mist_test_server_send_message (MistTestServer *server,
                                            SoupMessage *message,
                                            GBytes **reply,
                                            GError **error);

/* Waits until no patch set of the game is pending or running, up to timeout_seconds. */
gboolean mist_test_server_wait_for_patches (MistTestServer *server,
                                            const char *token,
                                            const char *slug,
                                            guint timeout_seconds,
                                            GError **error);

/* Waits until the manifest of version ordinal of the game has its "packs" member, up to
 * timeout_seconds. */
gboolean mist_test_server_wait_for_packs (MistTestServer *server,
                                          const char *token,
                                          const char *slug,
                                          gint64 ordinal,
                                          guint timeout_seconds,
                                          GError **error);

/* Writes a build of n_files small files into out with tests/lib/make-small-files-build,
 * or with source set, the next version of source with change_percent of them changed. */
gboolean mist_test_make_small_files_build (const char *out,
                                           guint n_files,
                                           const char *source,
                                           guint change_percent,
                                           GError **error);

/* Removes a folder and everything under it. */
void mist_test_remove_tree (const char *path);

G_END_DECLS
