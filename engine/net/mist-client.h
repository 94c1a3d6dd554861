/* mist-client.h: the Mist server API (docs/api.md) for the launcher, asynchronously
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each call sends one request and parses the reply on the thread-default main context
 * of the caller. Server errors become MIST_ERROR codes from the reply's "error.code"
 * (auth-required, not-found, rate-limited with mist_error_get_retry_after(), ...), and
 * transport errors become NO_NETWORK or CERTIFICATE (mist-http.h). A 401 on a request
 * that carried the token clears the token and emits MistClient::token-rejected, so the
 * owner can forget the stored credentials and ask for a new login.
 *
 * The administration routes (for admin accounts) are in mist-client-admin.h.
 */
#pragma once

#include "mist-manifest.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define MIST_TYPE_CLIENT (mist_client_get_type ())
G_DECLARE_FINAL_TYPE (MistClient, mist_client, MIST, CLIENT, GObject)

typedef struct
{
  gint64 api_version;
  char *server;           /* server software, for example "mist-backend-stub" */
  char *version;          /* its version */
  char *content_base_url; /* absolute */
  char **delta_formats;   /* NULL-terminated */
} MistServerInfo;

void mist_server_info_free (MistServerInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistServerInfo, mist_server_info_free)

typedef struct
{
  gint64 ordinal;
  char *name;
  char *created_at;      /* RFC 3339, UTC */
  char *changelog;       /* "" when absent */
  gint64 file_count;     /* -1 when the reply had none */
  guint64 installed_size;
  guint64 download_size;
} MistVersionEntry;

void mist_version_entry_free (MistVersionEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistVersionEntry, mist_version_entry_free)

typedef struct
{
  char *slug;
  char *title;
  char *description;
  gboolean is_private;
  char *cover_url;                 /* absolute, NULL without a cover */
  char *cover_sha256;              /* NULL without a cover */
  MistVersionEntry *latest;        /* NULL before the first version */
  GPtrArray *versions;             /* MistVersionEntry, oldest first; empty in lists */
  JsonNode *launch;                /* the launch object, or NULL */
} MistGameEntry;

void mist_game_entry_free (MistGameEntry *entry);
/* Returns "1 (1.0), 2 (1.1)": the ordinals and names of the game's versions, or "none"
 * for an entry without versions. */
char *mist_game_entry_describe_versions (const MistGameEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistGameEntry, mist_game_entry_free)

/* Creates a client for server_url ("https://games.example.org"; a path prefix is kept).
 * extra_ca_file adds a CA certificate (PEM) for a self-hosted server, or is NULL. */
MistClient *mist_client_new (const char *server_url, const char *extra_ca_file, GError **error);

const char *mist_client_get_server_url (MistClient *self);

/* Sets how often a GET is sent again after a transient failure (a timeout, a dropped
 * connection, 408, 429 or a 5xx status). max_attempts counts the first try. The delay
 * before attempt n+1 is base_delay_ms * 2^(n-1), at most max_delay_ms, scaled by a random
 * factor from 0.5 to 1.5, and a Retry-After of up to 30 s replaces it. Other methods are
 * never sent again. The default is 4 attempts, 500 ms, 8000 ms. */
void mist_client_set_retry_policy (MistClient *self,
                                   guint max_attempts,
                                   guint base_delay_ms,
                                   guint max_delay_ms);
SoupSession *mist_client_get_session (MistClient *self);

/* The session: a bearer token and the name of its user, both NULL when logged out. */
void mist_client_set_session (MistClient *self, const char *username, const char *token);
const char *mist_client_get_username (MistClient *self);
const char *mist_client_get_token (MistClient *self);

/* The Authorization header value for a URL of content_base_url: the token goes only to
 * the API server's own origin (scheme, host and port). NULL for other origins. */
char *mist_client_get_authorization_for (MistClient *self, const char *url);

/* The URL of an object: {content_base_url}/objects/{h0h1}/{id}. content_base_url comes
 * from mist_client_get_server_info_async(); before that the API server's own
 * /api/v1/content is used. */
char *mist_client_get_object_url (MistClient *self, const char *object_id);

void mist_client_get_server_info_async (MistClient *self,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data);
MistServerInfo *mist_client_get_server_info_finish (MistClient *self,
                                                    GAsyncResult *result,
                                                    GError **error);

/* Logs in and keeps the token (mist_client_get_token()). A wrong user name or password
 * is MIST_ERROR_AUTH_REQUIRED; too many failures MIST_ERROR_RATE_LIMITED. */
void mist_client_login_async (MistClient *self,
                              const char *username,
                              const char *password,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean mist_client_login_finish (MistClient *self, GAsyncResult *result, GError **error);

/* Revokes the token on the server and clears it from the client. The token is cleared
 * even when the server cannot be reached, and then the error reports that. */
void mist_client_logout_async (MistClient *self,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
gboolean mist_client_logout_finish (MistClient *self, GAsyncResult *result, GError **error);

/* GET /api/v1/me: the "name", "is_admin" and "token_expires_at" members. */
void mist_client_get_me_async (MistClient *self,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
JsonObject *mist_client_get_me_finish (MistClient *self, GAsyncResult *result, GError **error);

/* Changes the password; the server revokes every token, so the client is logged out. */
void mist_client_change_password_async (MistClient *self,
                                        const char *current_password,
                                        const char *new_password,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data);
gboolean mist_client_change_password_finish (MistClient *self,
                                             GAsyncResult *result,
                                             GError **error);

/* The games the user may see, MistGameEntry elements sorted by title. */
void mist_client_list_games_async (MistClient *self,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
GPtrArray *mist_client_list_games_finish (MistClient *self, GAsyncResult *result, GError **error);

/* One game with every version and its launch configuration. */
void mist_client_get_game_async (MistClient *self,
                                 const char *slug,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
MistGameEntry *mist_client_get_game_finish (MistClient *self, GAsyncResult *result, GError **error);

void mist_client_get_version_async (MistClient *self,
                                    const char *slug,
                                    gint64 ordinal,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
MistVersionEntry *mist_client_get_version_finish (MistClient *self,
                                                  GAsyncResult *result,
                                                  GError **error);

void mist_client_get_manifest_async (MistClient *self,
                                     const char *slug,
                                     gint64 ordinal,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
MistManifest *mist_client_get_manifest_finish (MistClient *self,
                                               GAsyncResult *result,
                                               GError **error);

/* The cover image bytes; *content_type is set when not NULL. */
void mist_client_get_cover_async (MistClient *self,
                                  const char *slug,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
GBytes *mist_client_get_cover_finish (MistClient *self,
                                      GAsyncResult *result,
                                      char **content_type,
                                      GError **error);

/* GET /api/v1/games/{slug}/patches: the reply's "patches" array as JSON. */
void mist_client_list_patches_async (MistClient *self,
                                     const char *slug,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
JsonArray *mist_client_list_patches_finish (MistClient *self, GAsyncResult *result, GError **error);

/* GET /api/v1/games/{slug}/patches/{from}/{to}: the patch set with its deltas as JSON. */
void mist_client_get_patch_set_async (MistClient *self,
                                      const char *slug,
                                      gint64 from_ordinal,
                                      gint64 to_ordinal,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);
JsonNode *mist_client_get_patch_set_finish (MistClient *self, GAsyncResult *result, GError **error);

/* GET path (under the server URL, for example "/api/v1/games/tetris") and return the
 * reply as JSON, for callers that hand it to parsers such as
 * mist_version_graph_add_game_json(). */
void mist_client_get_json_async (MistClient *self,
                                 const char *path,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
JsonNode *mist_client_get_json_finish (MistClient *self, GAsyncResult *result, GError **error);

G_END_DECLS
