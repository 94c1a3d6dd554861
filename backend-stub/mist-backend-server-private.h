/* mist-backend-server-private.h: what the route handlers share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Everything here runs on the main loop's thread unless a comment states otherwise.
 */
#pragma once

#include "mist-backend-db.h"
#include "mist-backend-patcher.h"
#include "mist-backend-server.h"
#include "mist-backend-store.h"
#include "mist-config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define MIST_ROUTE_MAX_PARAMS 4

typedef enum
{
  MIST_ACCESS_ANYONE,
  MIST_ACCESS_USER,
  MIST_ACCESS_ADMIN,
} MistAccess;

typedef struct _MistRequest MistRequest;
typedef void (*MistRouteHandler) (MistRequest *request);

typedef struct
{
  const char *method;
  const char *pattern; /* a path in which a "*" segment matches any one segment */
  MistAccess access;
  gsize body_limit;    /* bytes; 0 accepts no body */
  gboolean streaming;  /* the handler receives the body as an upload */
  MistRouteHandler handler;
} MistRoute;

struct _MistBackendServer
{
  MistBackendConfig config;
  SoupServer *soup;
  sqlite3 *db;
  MistBackendStore *store;
  MistBackendPatcher *patcher;
  char *dummy_hash;          /* verified for unknown users, so they cost a real check */
  char *base_url;
};

struct _MistRequest
{
  MistBackendServer *server;
  SoupServerMessage *message; /* owned */
  const MistRoute *route;     /* NULL when no route matches */
  gboolean method_mismatch;   /* the path matches a route, the method does not */
  char *params[MIST_ROUTE_MAX_PARAMS];
  MistBackendUser *user;      /* NULL for anonymous requests */
  char *token_hash;
  gint64 token_expires_at;
  GByteArray *body;
  gboolean body_too_large;
  MistBackendUpload *upload;  /* streaming routes only */
  GError *upload_error;
  gint64 started_us;
  guint status_sent;          /* the status line written, or 0 before the headers */
  gboolean body_sent;         /* the whole response was written */
  goffset body_bytes_sent;
  guint read_timeout_id;      /* closes the connection when the request stalls */
  gboolean read_timed_out;
};

/* Responses. */
void mist_request_respond_json (MistRequest *request, guint status, JsonNode *root);
void mist_request_respond_builder (MistRequest *request, guint status, JsonBuilder *builder);
void mist_request_respond_error (MistRequest *request,
                                 guint status,
                                 const char *code,
                                 const char *format,
                                 ...) G_GNUC_PRINTF (4, 5);
/* Responds with the status and code that match error's MistError code. */
void mist_request_respond_gerror (MistRequest *request, const GError *error);
void mist_request_respond_no_content (MistRequest *request, guint status);
void mist_request_respond_not_found (MistRequest *request);

/* Parses the body as a JSON object; on failure responds 400 and returns NULL. */
JsonObject *mist_request_parse_object (MistRequest *request, JsonParser **parser);

/* Reads an optional member of the type; a member of another type gets a 400 response and
 * returns FALSE. A missing or null member leaves the output untouched. */
gboolean mist_request_get_string (MistRequest *request,
                                  JsonObject *object,
                                  const char *member,
                                  const char **value);
gboolean mist_request_get_boolean (MistRequest *request,
                                   JsonObject *object,
                                   const char *member,
                                   int *value);

/* Games as the caller may see them: a private game is NULL for non-admins. */
typedef struct
{
  gint64 id;
  char *slug;
  char *title;
  char *description;
  gboolean is_private;
  char *cover_sha256;
  gint64 cover_size;
  char *cover_type;
  char *launch; /* JSON or NULL */
} MistGame;

void mist_game_free (MistGame *game);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistGame, mist_game_free)

/* Looks the game up; responds 404 (also for a private game and a non-admin) and
 * returns NULL when the caller may not see it. */
MistGame *mist_request_lookup_game (MistRequest *request, const char *slug);
gboolean mist_game_slug_is_valid (const char *slug);
gboolean mist_request_is_admin (MistRequest *request);

void mist_build_game (MistRequest *request, JsonBuilder *builder, MistGame *game, gboolean full);
/* Adds a version entry for the versions row id. */
gboolean mist_build_version (MistBackendServer *server, JsonBuilder *builder, sqlite3_stmt *row);
#define MIST_VERSION_COLUMNS \
  "ordinal, name, created_at, changelog, file_count, installed_size, download_size"

/* Handlers, one file per area. */
void mist_api_server_info (MistRequest *request);
void mist_api_login (MistRequest *request);
void mist_api_logout (MistRequest *request);
void mist_api_me (MistRequest *request);
void mist_api_change_password (MistRequest *request);

void mist_api_list_games (MistRequest *request);
void mist_api_get_game (MistRequest *request);
void mist_api_get_cover (MistRequest *request);
void mist_api_get_version (MistRequest *request);
void mist_api_get_manifest (MistRequest *request);
void mist_api_list_patches (MistRequest *request);
void mist_api_get_patch_set (MistRequest *request);

void mist_api_get_object (MistRequest *request);

void mist_api_admin_list_users (MistRequest *request);
void mist_api_admin_create_user (MistRequest *request);
void mist_api_admin_update_user (MistRequest *request);
void mist_api_admin_create_game (MistRequest *request);
void mist_api_admin_update_game (MistRequest *request);
void mist_api_admin_put_cover (MistRequest *request);
void mist_api_admin_delete_cover (MistRequest *request);
void mist_api_admin_put_launch (MistRequest *request);
void mist_api_admin_missing_files (MistRequest *request);
void mist_api_admin_put_file (MistRequest *request);
void mist_api_admin_create_version (MistRequest *request);
void mist_api_admin_retry_patch_set (MistRequest *request);

/* Starts a streaming upload for PUT /admin/files/{sha256} once its headers arrived. */
void mist_api_admin_begin_file_upload (MistRequest *request);

G_END_DECLS
