/* backend-test-util.h: build folders, pushes and JSON replies for the server's tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The helpers assert on failure, so a test reads as its steps.
 */
#pragma once

#include "mist-test-server.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Starts a server with options (NULL for defaults) and logs the admin and the user in. */
typedef struct
{
  MistTestServer *server;
  char *admin_token;
  char *user_token;
  char *work_dir; /* build folders of the test; removed by teardown */
} BackendFixture;

void backend_fixture_setup (BackendFixture *fixture, const MistTestServerOptions *options);
void backend_fixture_teardown (BackendFixture *fixture);

/* Writes data to root/path, creating folders, with mode 0755 when executable. */
void write_build_file (const char *root,
                       const char *path,
                       const void *data,
                       gsize length,
                       gboolean executable);
/* Returns length bytes of a reproducible pseudo-random sequence. */
GBytes *pseudo_random_bytes (gsize length, guint32 seed);
/* Returns length bytes of text lines, seeded like pseudo_random_bytes, that compress
 * well and change locally with the seed. */
GBytes *text_bytes (gsize lines, guint32 seed);

void create_game (BackendFixture *fixture, const char *slug, gboolean is_public);
void push_build (BackendFixture *fixture, const char *slug, const char *version,
                 const char *dir);

/* GETs path and asserts the status; returns the parsed reply (NULL for none). */
JsonNode *get_json (BackendFixture *fixture, const char *token, const char *path,
                    guint expected_status);
/* Sends method path with body and returns the status. */
guint send_status (BackendFixture *fixture, const char *method, const char *path,
                   const char *token, const char *body);

/* Returns the bytes of a stored object from the data folder. */
GBytes *read_stored_object (BackendFixture *fixture, const char *object_id);
/* Decompresses a zstd frame. */
GBytes *zstd_decompress (GBytes *frame);
/* Returns the id of the object of path in the manifest reply. */
const char *manifest_object_id (JsonNode *manifest, const char *path);

G_END_DECLS
