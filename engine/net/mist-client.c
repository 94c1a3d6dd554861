/* mist-client.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-client.h"
#include "mist-client-private.h"
#include "mist-error.h"
#include "mist-hash.h"
#include "mist-http.h"

#include <string.h>

/* Largest reply body the client reads into memory (manifests of big games are the
 * largest replies). */
#define MAX_REPLY_SIZE (256 * 1024 * 1024)

/* Default retry policy of idempotent requests: four attempts in about 3.5 s, with 0.5, 1
 * and 2 s between them, each scaled by a random factor from 0.5 to 1.5. A server restart
 * or a dropped connection then does not fail a job, and an unreachable server is still
 * reported within seconds. */
#define DEFAULT_MAX_ATTEMPTS 4
#define DEFAULT_BASE_DELAY_MS 500
#define DEFAULT_MAX_DELAY_MS 8000

/* Longest Retry-After that a request waits for; a longer wait is returned as the
 * RATE_LIMITED error, whose retry-after the caller can show. */
#define MAX_RETRY_AFTER_SECONDS 30

struct _MistClient
{
  GObject parent_instance;

  GUri *server_uri;        /* owned, without a trailing '/' in its path */
  char *server_url;        /* owned */
  SoupSession *session;    /* owned */
  char *username;          /* owned, nullable */
  char *token;             /* owned, nullable */
  char *content_base_url;  /* owned */

  /* Retries of idempotent requests; see mist_client_set_retry_policy(). */
  guint max_attempts;
  guint base_delay_ms;
  guint max_delay_ms;
};

G_DEFINE_FINAL_TYPE (MistClient, mist_client, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_USERNAME,
  N_PROPS
};

enum
{
  SIGNAL_TOKEN_REJECTED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* One request in flight; the task data of its GTask. Each attempt sends a new msg. */
typedef struct
{
  char *method;
  char *url;
  GBytes *body;             /* request body, or NULL */
  char *content_type;       /* of body */
  SoupMessage *msg;         /* the current attempt */
  MistClientParseFunc parse; /* NULL when the reply has no body to parse */
  GDestroyNotify free_result;
  gboolean sent_token;
  guint attempt;            /* 1 for the first try */
  GSource *wait_source;     /* the delay before the next attempt, or NULL */
  GSource *cancel_source;   /* cancels that delay, or NULL */
} Request;

static void
request_stop_waiting (Request *request)
{
  if (request->wait_source != NULL)
    {
      g_source_destroy (request->wait_source);
      g_clear_pointer (&request->wait_source, g_source_unref);
    }
  if (request->cancel_source != NULL)
    {
      g_source_destroy (request->cancel_source);
      g_clear_pointer (&request->cancel_source, g_source_unref);
    }
}

static void
request_free (gpointer data)
{
  Request *request = data;

  request_stop_waiting (request);
  g_free (request->method);
  g_free (request->url);
  g_clear_pointer (&request->body, g_bytes_unref);
  g_free (request->content_type);
  g_clear_object (&request->msg);
  g_free (request);
}

void
mist_server_info_free (MistServerInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->server);
  g_free (info->version);
  g_free (info->content_base_url);
  g_strfreev (info->delta_formats);
  g_free (info);
}

void
mist_version_entry_free (MistVersionEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->name);
  g_free (entry->created_at);
  g_free (entry->changelog);
  g_free (entry);
}

void
mist_game_entry_free (MistGameEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->slug);
  g_free (entry->title);
  g_free (entry->description);
  g_free (entry->cover_url);
  g_free (entry->cover_sha256);
  mist_version_entry_free (entry->latest);
  g_ptr_array_unref (entry->versions);
  g_clear_pointer (&entry->launch, json_node_unref);
  g_free (entry);
}

char *
mist_game_entry_describe_versions (const MistGameEntry *entry)
{
  GString *list = g_string_new (NULL);

  for (guint i = 0; i < entry->versions->len; i++)
    {
      const MistVersionEntry *version = g_ptr_array_index (entry->versions, i);

      g_string_append_printf (list, "%s%" G_GINT64_FORMAT " (%s)", i > 0 ? ", " : "",
                              version->ordinal, version->name);
    }
  if (entry->versions->len == 0)
    g_string_append (list, "none");
  return g_string_free (list, FALSE);
}

static void
mist_client_finalize (GObject *object)
{
  MistClient *self = MIST_CLIENT (object);

  g_clear_pointer (&self->server_uri, g_uri_unref);
  g_free (self->server_url);
  g_clear_object (&self->session);
  g_free (self->username);
  g_free (self->token);
  g_free (self->content_base_url);

  G_OBJECT_CLASS (mist_client_parent_class)->finalize (object);
}

static void
mist_client_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  MistClient *self = MIST_CLIENT (object);

  switch (prop_id)
    {
    case PROP_USERNAME:
      g_value_set_string (value, self->username);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mist_client_class_init (MistClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mist_client_finalize;
  object_class->get_property = mist_client_get_property;

  /* The logged-in user, NULL when logged out. */
  properties[PROP_USERNAME] = g_param_spec_string ("username", NULL, NULL, NULL,
                                                   G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                                                     G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Emitted after the server rejected the token with 401; the session is cleared. */
  signals[SIGNAL_TOKEN_REJECTED] = g_signal_new ("token-rejected", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 0);
}

static void
mist_client_init (MistClient *self)
{
  self->max_attempts = DEFAULT_MAX_ATTEMPTS;
  self->base_delay_ms = DEFAULT_BASE_DELAY_MS;
  self->max_delay_ms = DEFAULT_MAX_DELAY_MS;
}

void
mist_client_set_retry_policy (MistClient *self,
                              guint max_attempts,
                              guint base_delay_ms,
                              guint max_delay_ms)
{
  g_return_if_fail (MIST_IS_CLIENT (self));
  self->max_attempts = MAX (1, max_attempts);
  self->base_delay_ms = base_delay_ms;
  self->max_delay_ms = MAX (base_delay_ms, max_delay_ms);
}

MistClient *
mist_client_new (const char *server_url, const char *extra_ca_file, GError **error)
{
  g_autoptr (MistClient) self = NULL;
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *path = NULL;
  const char *scheme;

  uri = g_uri_parse (server_url, SOUP_HTTP_URI_FLAGS, &local_error);
  scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL || (g_strcmp0 (scheme, "http") != 0 && g_strcmp0 (scheme, "https") != 0) ||
      g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0')
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "Invalid server URL \"%s\": expected http:// or https:// and a host name, "
                   "for example https://games.example.org",
                   server_url);
      return NULL;
    }

  self = g_object_new (MIST_TYPE_CLIENT, NULL);
  self->session = mist_http_session_new (extra_ca_file, error);
  if (self->session == NULL)
    return NULL;

  path = g_strdup (g_uri_get_path (uri));
  while (g_str_has_suffix (path, "/"))
    path[strlen (path) - 1] = '\0';
  self->server_uri = g_uri_build (G_URI_FLAGS_NONE, scheme, NULL, g_uri_get_host (uri),
                                  g_uri_get_port (uri), path, NULL, NULL);
  self->server_url = g_uri_to_string (self->server_uri);
  self->content_base_url = g_strconcat (self->server_url, "/api/v1/content", NULL);
  return g_steal_pointer (&self);
}

const char *
mist_client_get_server_url (MistClient *self)
{
  g_return_val_if_fail (MIST_IS_CLIENT (self), NULL);
  return self->server_url;
}

SoupSession *
mist_client_get_session (MistClient *self)
{
  g_return_val_if_fail (MIST_IS_CLIENT (self), NULL);
  return self->session;
}

void
mist_client_set_session (MistClient *self, const char *username, const char *token)
{
  g_return_if_fail (MIST_IS_CLIENT (self));

  g_free (self->token);
  self->token = g_strdup (token);
  if (g_strcmp0 (self->username, username) != 0)
    {
      g_free (self->username);
      self->username = g_strdup (username);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_USERNAME]);
    }
}

const char *
mist_client_get_username (MistClient *self)
{
  g_return_val_if_fail (MIST_IS_CLIENT (self), NULL);
  return self->username;
}

const char *
mist_client_get_token (MistClient *self)
{
  g_return_val_if_fail (MIST_IS_CLIENT (self), NULL);
  return self->token;
}

char *
mist_client_get_authorization_for (MistClient *self, const char *url)
{
  g_autoptr (GUri) uri = NULL;

  g_return_val_if_fail (MIST_IS_CLIENT (self), NULL);

  if (self->token == NULL)
    return NULL;
  uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  if (uri == NULL || !mist_http_is_same_origin (uri, self->server_uri))
    return NULL;
  return g_strconcat ("Bearer ", self->token, NULL);
}

char *
mist_client_get_object_url (MistClient *self, const char *object_id)
{
  g_return_val_if_fail (MIST_IS_CLIENT (self), NULL);
  g_return_val_if_fail (mist_sha256_hex_is_valid (object_id), NULL);

  return g_strdup_printf ("%s/objects/%.2s/%s", self->content_base_url, object_id, object_id);
}

/* Request core */

static MistError
error_code_from_name (const char *name, guint status)
{
  for (int code = MIST_ERROR_FAILED; code <= MIST_ERROR_NO_KEYRING; code++)
    {
      if (g_strcmp0 (mist_error_code_to_string (code), name) == 0)
        return code;
    }
  if (status == SOUP_STATUS_UNAUTHORIZED)
    return MIST_ERROR_AUTH_REQUIRED;
  if (status == SOUP_STATUS_NOT_FOUND)
    return MIST_ERROR_NOT_FOUND;
  return MIST_ERROR_SERVER_ERROR;
}

/* Builds the error of a non-2xx reply from its JSON body ("error.code", "error.message")
 * and its status, keeping Retry-After and the transient mark of mist-http. */
static GError *
error_from_reply (SoupMessage *msg, GBytes *body)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) status_error = NULL;
  const char *code_name = NULL;
  const char *message = NULL;
  JsonObject *error_object = NULL;
  JsonNode *root;
  GError *error;

  if (body != NULL && g_bytes_get_size (body) > 0 &&
      json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                  (gssize) g_bytes_get_size (body), NULL))
    {
      root = json_parser_get_root (parser);
      if (JSON_NODE_HOLDS_OBJECT (root))
        error_object = json_object_get_object_member (json_node_get_object (root), "error");
    }
  if (error_object != NULL)
    {
      code_name = json_object_get_string_member_with_default (error_object, "code", NULL);
      message = json_object_get_string_member_with_default (error_object, "message", NULL);
    }

  status_error = mist_http_error_from_status (msg, message);
  if (code_name == NULL || message == NULL)
    return g_steal_pointer (&status_error);

  error = g_error_new_literal (MIST_ERROR,
                               error_code_from_name (code_name, soup_message_get_status (msg)),
                               message);
  mist_error_set_retry_after (error, mist_error_get_retry_after (status_error));
  mist_error_set_transient (error, mist_error_is_transient (status_error));
  return error;
}

static void request_send (GTask *task);

static gboolean
on_retry_wait_over (gpointer data)
{
  GTask *task = data;

  request_stop_waiting (g_task_get_task_data (task));
  request_send (task);
  return G_SOURCE_REMOVE;
}

static gboolean
on_retry_wait_cancelled (GCancellable *cancellable, gpointer data)
{
  GTask *task = data;

  request_stop_waiting (g_task_get_task_data (task));
  g_task_return_error_if_cancelled (task);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static gint64
compute_backoff_ms (MistClient *self, guint attempt)
{
  double delay = self->base_delay_ms;

  for (guint i = 1; i < attempt && delay < self->max_delay_ms; i++)
    delay *= 2;
  delay = MIN (delay, (double) self->max_delay_ms);
  return (gint64) (delay * g_random_double_range (0.5, 1.5));
}

/* Schedules the next attempt of a GET that failed with a transient error (a timeout, a
 * dropped connection, 408, 429 or 5xx), taking ownership of task. Returns FALSE, keeping
 * error for the caller, when the request may not be retried. */
static gboolean
request_retry (GTask *task, const GError *error)
{
  MistClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  guint retry_after = mist_error_get_retry_after (error);
  gint64 delay_ms;

  if (g_strcmp0 (request->method, SOUP_METHOD_GET) != 0 || !mist_error_is_transient (error) ||
      request->attempt >= self->max_attempts || retry_after > MAX_RETRY_AFTER_SECONDS ||
      g_cancellable_is_cancelled (cancellable))
    return FALSE;

  delay_ms = retry_after > 0 ? (gint64) retry_after * 1000
                             : compute_backoff_ms (self, request->attempt);
  g_debug ("%s %s: attempt %u failed (%s); retrying in %" G_GINT64_FORMAT " ms",
           request->method, request->url, request->attempt, error->message, delay_ms);

  request->wait_source = g_timeout_source_new ((guint) delay_ms);
  g_source_set_callback (request->wait_source, on_retry_wait_over, task, NULL);
  g_source_attach (request->wait_source, g_task_get_context (task));
  if (cancellable != NULL)
    {
      request->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (request->cancel_source, G_SOURCE_FUNC (on_retry_wait_cancelled),
                             task, NULL);
      g_source_attach (request->cancel_source, g_task_get_context (task));
    }
  return TRUE;
}

/* Returns error (owned) as the task's result, or retries the request. */
static void
request_fail (GTask *task, GError *error)
{
  Request *request = g_task_get_task_data (task);

  if (request_retry (task, error))
    {
      g_error_free (error);
      return;
    }
  if (mist_error_is_transient (error) && request->attempt > 1)
    g_prefix_error (&error, "Gave up after %u attempts: ", request->attempt);
  g_task_return_error (task, error);
  g_object_unref (task);
}

/* Fails with a transient NO_NETWORK error when the connection closed before the whole
 * body that Content-Length announced: libsoup 3.2.3 returns such a short body as read. */
static gboolean
check_body_complete (Request *request, GBytes *body, GError **error)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (request->msg);
  goffset expected;

  if (soup_message_headers_get_encoding (headers) != SOUP_ENCODING_CONTENT_LENGTH)
    return TRUE;
  expected = soup_message_headers_get_content_length (headers);
  if ((goffset) g_bytes_get_size (body) == expected)
    return TRUE;
  g_set_error (error, MIST_ERROR, MIST_ERROR_NO_NETWORK,
               "The connection to %s closed after %" G_GSIZE_FORMAT " of %" G_GOFFSET_FORMAT
               " bytes of the reply",
               request->url, g_bytes_get_size (body), expected);
  mist_error_set_transient (*error, TRUE);
  return FALSE;
}

static void
on_reply (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  MistClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (JsonParser) parser = NULL;
  guint status;
  gpointer parsed;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (body == NULL)
    {
      request_fail (task, mist_http_error_from_send (request->msg, error));
      return;
    }

  if (!check_body_complete (request, body, &error))
    {
      request_fail (task, g_steal_pointer (&error));
      return;
    }

  status = soup_message_get_status (request->msg);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      if (status == SOUP_STATUS_UNAUTHORIZED && request->sent_token)
        {
          mist_client_set_session (self, NULL, NULL);
          g_signal_emit (self, signals[SIGNAL_TOKEN_REJECTED], 0);
        }
      request_fail (task, error_from_reply (request->msg, body));
      return;
    }

  if (request->parse == NULL)
    {
      g_task_return_pointer (task, g_bytes_ref (body), (GDestroyNotify) g_bytes_unref);
      g_object_unref (task);
      return;
    }

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                   (gssize) g_bytes_get_size (body), &error))
    {
      g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_SERVER_ERROR,
                               "The reply of %s is not valid JSON: %s", request->url,
                               error->message);
      g_object_unref (task);
      return;
    }

  parsed = request->parse (json_parser_get_root (parser), &error);
  if (parsed == NULL)
    {
      g_prefix_error (&error, "Invalid reply from %s: ", request->url);
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  g_task_return_pointer (task, parsed, request->free_result);
  g_object_unref (task);
}

/* Sends one attempt of the task's request, with the session's token when there is one. */
static void
request_send (GTask *task)
{
  MistClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  SoupMessageHeaders *headers;

  request->attempt++;
  request->sent_token = FALSE;
  g_clear_object (&request->msg);
  request->msg = soup_message_new (request->method, request->url);
  mist_http_message_prepare (self->session, request->msg);
  headers = soup_message_get_request_headers (request->msg);
  soup_message_headers_replace (headers, "Accept", "application/json");
  if (self->token != NULL)
    {
      g_autofree char *authorization = g_strconcat ("Bearer ", self->token, NULL);

      soup_message_headers_replace (headers, "Authorization", authorization);
      request->sent_token = TRUE;
    }
  if (request->body != NULL)
    soup_message_set_request_body_from_bytes (request->msg, request->content_type,
                                              request->body);

  soup_session_send_and_read_async (self->session, request->msg, G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task), on_reply, task);
}

void
mist_client_request_async (MistClient *self,
                           const char *method,
                           const char *path,
                           const char *content_type,
                           GBytes *body,
                           MistClientParseFunc parse,
                           GDestroyNotify free_result,
                           gpointer source_tag,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (SoupMessage) probe = NULL;
  Request *request = g_new0 (Request, 1);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, request, request_free);
  request->method = g_strdup (method);
  request->url = g_strconcat (self->server_url, path, NULL);
  request->parse = parse;
  request->free_result = free_result;
  probe = soup_message_new (method, request->url);
  if (probe == NULL)
    {
      g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                               "Invalid request URL %s", request->url);
      return;
    }
  if (body != NULL)
    {
      request->body = g_bytes_ref (body);
      request->content_type = g_strdup (content_type);
    }

  request_send (g_steal_pointer (&task));
}

/* Sends method to path with body as JSON, or with no body when it is NULL. */
void
mist_client_request_json_async (MistClient *self,
                                const char *method,
                                const char *path,
                                JsonNode *body,
                                MistClientParseFunc parse,
                                GDestroyNotify free_result,
                                gpointer source_tag,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr (GBytes) bytes = NULL;

  if (body != NULL)
    {
      char *text = json_to_string (body, FALSE);

      bytes = g_bytes_new_take (text, strlen (text));
    }
  mist_client_request_async (self, method, path, "application/json", bytes, parse, free_result,
                             source_tag, cancellable, callback, user_data);
}

/* JSON helpers: each fails with INVALID_DATA naming the member. */

static gboolean
get_string (JsonObject *object, const char *member, gboolean nullable, char **value,
            GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if ((node == NULL || JSON_NODE_HOLDS_NULL (node)) && nullable)
    {
      *value = NULL;
      return TRUE;
    }
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "member \"%s\" is missing or not a string", member);
      return FALSE;
    }
  *value = g_strdup (json_node_get_string (node));
  return TRUE;
}

static gboolean
get_integer (JsonObject *object, const char *member, gint64 *value, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64 ||
      json_node_get_int (node) < 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "member \"%s\" is missing or not a non-negative integer", member);
      return FALSE;
    }
  *value = json_node_get_int (node);
  return TRUE;
}

static JsonObject *
get_root_object (JsonNode *root, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                           "expected a JSON object");
      return NULL;
    }
  return json_node_get_object (root);
}

static JsonArray *
get_array (JsonObject *object, const char *member, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "member \"%s\" is missing or not an array", member);
      return NULL;
    }
  return json_node_get_array (node);
}

/* Parsers of the replies */

static gpointer
parse_server_info (JsonNode *root, GError **error)
{
  g_autoptr (MistServerInfo) info = g_new0 (MistServerInfo, 1);
  JsonObject *object = get_root_object (root, error);
  JsonArray *formats;
  g_autoptr (GPtrArray) names = g_ptr_array_new ();

  if (object == NULL || !get_integer (object, "api_version", &info->api_version, error) ||
      !get_string (object, "server", FALSE, &info->server, error) ||
      !get_string (object, "version", FALSE, &info->version, error) ||
      !get_string (object, "content_base_url", FALSE, &info->content_base_url, error))
    return NULL;
  formats = get_array (object, "delta_formats", error);
  if (formats == NULL)
    return NULL;
  for (guint i = 0; i < json_array_get_length (formats); i++)
    {
      const char *name = json_array_get_string_element (formats, i);

      if (name != NULL)
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_add (names, NULL);
  info->delta_formats = (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
  return g_steal_pointer (&info);
}

gpointer
mist_client_parse_object (JsonNode *root, GError **error)
{
  JsonObject *object = get_root_object (root, error);

  return object != NULL ? json_object_ref (object) : NULL;
}

static MistVersionEntry *
parse_version_object (JsonObject *object, GError **error)
{
  g_autoptr (MistVersionEntry) entry = g_new0 (MistVersionEntry, 1);
  gint64 installed_size = 0;
  gint64 download_size = 0;

  if (!get_integer (object, "ordinal", &entry->ordinal, error) ||
      !get_string (object, "name", FALSE, &entry->name, error) ||
      !get_string (object, "created_at", TRUE, &entry->created_at, error) ||
      !get_string (object, "changelog", TRUE, &entry->changelog, error) ||
      !get_integer (object, "installed_size", &installed_size, error) ||
      !get_integer (object, "download_size", &download_size, error))
    {
      g_prefix_error (error, "version: ");
      return NULL;
    }
  entry->installed_size = (guint64) installed_size;
  entry->download_size = (guint64) download_size;
  if (entry->changelog == NULL)
    entry->changelog = g_strdup ("");
  entry->file_count = -1;
  if (json_object_has_member (object, "file_count") &&
      !get_integer (object, "file_count", &entry->file_count, error))
    return NULL;
  return g_steal_pointer (&entry);
}

gpointer
mist_client_parse_version (JsonNode *root, GError **error)
{
  JsonObject *object = get_root_object (root, error);

  return object != NULL ? parse_version_object (object, error) : NULL;
}

static gboolean
parse_game_cover (MistGameEntry *entry, JsonObject *object, GError **error)
{
  JsonNode *node = json_object_get_member (object, "cover");
  JsonObject *cover;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                           "member \"cover\" is not an object");
      return FALSE;
    }
  cover = json_node_get_object (node);
  return get_string (cover, "url", FALSE, &entry->cover_url, error) &&
         get_string (cover, "sha256", TRUE, &entry->cover_sha256, error);
}

static MistGameEntry *
parse_game_object (JsonObject *object, GError **error)
{
  g_autoptr (MistGameEntry) entry = g_new0 (MistGameEntry, 1);
  g_autofree char *visibility = NULL;
  JsonNode *node;

  entry->versions = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_version_entry_free);
  if (!get_string (object, "slug", FALSE, &entry->slug, error) ||
      !get_string (object, "title", FALSE, &entry->title, error) ||
      !get_string (object, "description", TRUE, &entry->description, error) ||
      !get_string (object, "visibility", TRUE, &visibility, error) ||
      !parse_game_cover (entry, object, error))
    return NULL;
  entry->is_private = g_strcmp0 (visibility, "private") == 0;
  if (entry->description == NULL)
    entry->description = g_strdup ("");

  node = json_object_get_member (object, "latest_version");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      entry->latest = parse_version_object (json_node_get_object (node), error);
      if (entry->latest == NULL)
        return NULL;
    }

  node = json_object_get_member (object, "versions");
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *versions = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (versions); i++)
        {
          JsonObject *version = json_array_get_object_element (versions, i);
          MistVersionEntry *parsed;

          if (version == NULL)
            {
              g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                           "versions[%u] is not an object", i);
              return NULL;
            }
          parsed = parse_version_object (version, error);
          if (parsed == NULL)
            return NULL;
          g_ptr_array_add (entry->versions, parsed);
        }
      if (entry->latest == NULL && entry->versions->len > 0)
        {
          const MistVersionEntry *last = g_ptr_array_index (entry->versions,
                                                            entry->versions->len - 1);

          entry->latest = g_new0 (MistVersionEntry, 1);
          *entry->latest = *last;
          entry->latest->name = g_strdup (last->name);
          entry->latest->created_at = g_strdup (last->created_at);
          entry->latest->changelog = g_strdup (last->changelog);
        }
    }

  node = json_object_get_member (object, "launch");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    entry->launch = json_node_copy (node);
  return g_steal_pointer (&entry);
}

gpointer
mist_client_parse_game (JsonNode *root, GError **error)
{
  JsonObject *object = get_root_object (root, error);

  if (object == NULL)
    return NULL;
  return parse_game_object (object, error);
}

static gpointer
parse_games (JsonNode *root, GError **error)
{
  JsonObject *object = get_root_object (root, error);
  g_autoptr (GPtrArray) games = NULL;
  JsonArray *array;

  if (object == NULL || (array = get_array (object, "games", error)) == NULL)
    return NULL;

  games = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_game_entry_free);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *game = json_array_get_object_element (array, i);
      MistGameEntry *entry;

      if (game == NULL)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                       "games[%u] is not an object", i);
          return NULL;
        }
      entry = parse_game_object (game, error);
      if (entry == NULL)
        {
          g_prefix_error (error, "games[%u]: ", i);
          return NULL;
        }
      g_ptr_array_add (games, entry);
    }
  return g_steal_pointer (&games);
}

static gpointer
parse_manifest (JsonNode *root, GError **error)
{
  return mist_manifest_new_from_json_node (root, error);
}

static gpointer
parse_patches (JsonNode *root, GError **error)
{
  JsonObject *object = get_root_object (root, error);
  JsonArray *array;

  if (object == NULL || (array = get_array (object, "patches", error)) == NULL)
    return NULL;
  return json_array_ref (array);
}

static gpointer
parse_node (JsonNode *root, GError **error)
{
  return json_node_copy (root);
}

static gboolean
check_slug (const char *slug, GError **error)
{
  gsize length = slug != NULL ? strlen (slug) : 0;

  if (length == 0 || length > 64 || slug[0] == '-')
    goto invalid;
  for (gsize i = 0; i < length; i++)
    {
      if (!g_ascii_islower (slug[i]) && !g_ascii_isdigit (slug[i]) && slug[i] != '-')
        goto invalid;
    }
  return TRUE;

invalid:
  g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
               "Invalid game name \"%s\": use the game's slug, 1 to 64 characters from "
               "a-z, 0-9 and -, as `mist-cli games` lists them",
               slug != NULL ? slug : "");
  return FALSE;
}

/* Fails task when slug is invalid; returns whether it did. */
gboolean
mist_client_fail_on_invalid_slug (MistClient *self,
                                  const char *slug,
                                  gpointer source_tag,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  GError *error = NULL;
  g_autoptr (GTask) task = NULL;

  if (check_slug (slug, &error))
    return FALSE;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_return_error (task, error);
  return TRUE;
}

/* Routes */

void
mist_client_get_server_info_async (MistClient *self,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  g_return_if_fail (MIST_IS_CLIENT (self));
  mist_client_request_json_async (self, SOUP_METHOD_GET, "/api/v1/server", NULL, parse_server_info,
                                  (GDestroyNotify)mist_server_info_free,
                                  mist_client_get_server_info_async, cancellable, callback,
                                  user_data);
}

MistServerInfo *
mist_client_get_server_info_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  MistServerInfo *info;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  info = g_task_propagate_pointer (G_TASK (result), error);
  if (info == NULL)
    return NULL;
  if (info->api_version != 1)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_UNSUPPORTED,
                   "The server at %s speaks API version %" G_GINT64_FORMAT
                   "; this Mist speaks version 1. Update Mist",
                   self->server_url, info->api_version);
      mist_server_info_free (info);
      return NULL;
    }
  g_free (self->content_base_url);
  self->content_base_url = g_strdup (info->content_base_url);
  while (g_str_has_suffix (self->content_base_url, "/"))
    self->content_base_url[strlen (self->content_base_url) - 1] = '\0';
  return info;
}

void
mist_client_login_async (MistClient *self,
                         const char *username,
                         const char *password,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  g_return_if_fail (username != NULL && password != NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "username");
  json_builder_add_string_value (builder, username);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, password);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);

  /* A login replaces the session, so the old token is not sent along. */
  mist_client_set_session (self, NULL, NULL);
  mist_client_request_json_async (self, SOUP_METHOD_POST, "/api/v1/auth/login", body,
                                  mist_client_parse_object, (GDestroyNotify)json_object_unref,
                                  mist_client_login_async, cancellable, callback, user_data);
}

gboolean
mist_client_login_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_autoptr (JsonObject) reply = NULL;
  g_autofree char *token = NULL;
  g_autofree char *username = NULL;
  JsonObject *user;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  reply = g_task_propagate_pointer (G_TASK (result), error);
  if (reply == NULL)
    return FALSE;

  user = json_object_get_object_member (reply, "user");
  if (!get_string (reply, "token", FALSE, &token, error) || user == NULL ||
      !get_string (user, "name", FALSE, &username, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                             "member \"user\" is missing");
      g_prefix_error (error, "Invalid login reply from %s: ", self->server_url);
      return FALSE;
    }
  mist_client_set_session (self, username, token);
  return TRUE;
}

static void
on_logout_reply (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  MistClient *self = MIST_CLIENT (source);
  g_autoptr (GBytes) body = NULL;
  GError *error = NULL;

  body = g_task_propagate_pointer (G_TASK (result), &error);
  mist_client_set_session (self, NULL, NULL);
  if (body == NULL && !g_error_matches (error, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED))
    {
      g_prefix_error (&error, "Logged out on this computer, but the server could not revoke "
                              "the session: ");
      g_task_return_error (task, error);
      return;
    }
  g_clear_error (&error);
  g_task_return_boolean (task, TRUE);
}

void
mist_client_logout_async (MistClient *self,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  GTask *task;

  g_return_if_fail (MIST_IS_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mist_client_logout_async);
  if (self->token == NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  mist_client_request_json_async (self, SOUP_METHOD_POST, "/api/v1/auth/logout", NULL, NULL, NULL,
                                  mist_client_logout_async, cancellable, on_logout_reply, task);
}

gboolean
mist_client_logout_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mist_client_get_me_async (MistClient *self,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_return_if_fail (MIST_IS_CLIENT (self));
  mist_client_request_json_async (self, SOUP_METHOD_GET, "/api/v1/me", NULL,
                                  mist_client_parse_object, (GDestroyNotify)json_object_unref,
                                  mist_client_get_me_async, cancellable, callback, user_data);
}

JsonObject *
mist_client_get_me_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mist_client_change_password_async (MistClient *self,
                                   const char *current_password,
                                   const char *new_password,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "current_password");
  json_builder_add_string_value (builder, current_password);
  json_builder_set_member_name (builder, "new_password");
  json_builder_add_string_value (builder, new_password);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  mist_client_request_json_async (self, SOUP_METHOD_POST, "/api/v1/me/password", body, NULL, NULL,
                                  mist_client_change_password_async, cancellable, callback,
                                  user_data);
}

gboolean
mist_client_change_password_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_autoptr (GBytes) body = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  body = g_task_propagate_pointer (G_TASK (result), error);
  if (body == NULL)
    return FALSE;
  /* The server revoked every token of the user, this one included. */
  mist_client_set_session (self, NULL, NULL);
  return TRUE;
}

void
mist_client_resolve_cover_url (MistClient *self, MistGameEntry *entry)
{
  char *absolute;

  if (entry->cover_url == NULL)
    return;
  absolute = g_uri_resolve_relative (self->server_url, entry->cover_url, SOUP_HTTP_URI_FLAGS,
                                     NULL);
  if (absolute != NULL)
    {
      g_free (entry->cover_url);
      entry->cover_url = absolute;
    }
}

void
mist_client_list_games_async (MistClient *self,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_return_if_fail (MIST_IS_CLIENT (self));
  mist_client_request_json_async (self, SOUP_METHOD_GET, "/api/v1/games", NULL, parse_games,
                                  (GDestroyNotify)g_ptr_array_unref, mist_client_list_games_async,
                                  cancellable, callback, user_data);
}

GPtrArray *
mist_client_list_games_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  GPtrArray *games;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  games = g_task_propagate_pointer (G_TASK (result), error);
  for (guint i = 0; games != NULL && i < games->len; i++)
    mist_client_resolve_cover_url (self, g_ptr_array_index (games, i));
  return games;
}

void
mist_client_get_game_async (MistClient *self,
                            const char *slug,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  if (mist_client_fail_on_invalid_slug (self, slug, mist_client_get_game_async, cancellable,
                                        callback, user_data))
    return;

  path = g_strdup_printf ("/api/v1/games/%s", slug);
  mist_client_request_json_async (self, SOUP_METHOD_GET, path, NULL, mist_client_parse_game,
                                  (GDestroyNotify)mist_game_entry_free, mist_client_get_game_async,
                                  cancellable, callback, user_data);
}

MistGameEntry *
mist_client_get_game_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  MistGameEntry *game;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  game = g_task_propagate_pointer (G_TASK (result), error);
  if (game != NULL)
    mist_client_resolve_cover_url (self, game);
  return game;
}

void
mist_client_get_version_async (MistClient *self,
                               const char *slug,
                               gint64 ordinal,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  if (mist_client_fail_on_invalid_slug (self, slug, mist_client_get_version_async, cancellable,
                                        callback, user_data))
    return;

  path = g_strdup_printf ("/api/v1/games/%s/versions/%" G_GINT64_FORMAT, slug, ordinal);
  mist_client_request_json_async (self, SOUP_METHOD_GET, path, NULL, mist_client_parse_version,
                                  (GDestroyNotify)mist_version_entry_free,
                                  mist_client_get_version_async, cancellable, callback, user_data);
}

MistVersionEntry *
mist_client_get_version_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mist_client_get_manifest_async (MistClient *self,
                                const char *slug,
                                gint64 ordinal,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  if (mist_client_fail_on_invalid_slug (self, slug, mist_client_get_manifest_async, cancellable,
                                        callback, user_data))
    return;

  path = g_strdup_printf ("/api/v1/games/%s/versions/%" G_GINT64_FORMAT "/manifest", slug,
                          ordinal);
  mist_client_request_json_async (self, SOUP_METHOD_GET, path, NULL, parse_manifest,
                                  (GDestroyNotify)mist_manifest_unref,
                                  mist_client_get_manifest_async, cancellable, callback, user_data);
}

MistManifest *
mist_client_get_manifest_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mist_client_get_cover_async (MistClient *self,
                             const char *slug,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  if (mist_client_fail_on_invalid_slug (self, slug, mist_client_get_cover_async, cancellable,
                                        callback, user_data))
    return;

  path = g_strdup_printf ("/api/v1/games/%s/cover", slug);
  mist_client_request_json_async (self, SOUP_METHOD_GET, path, NULL, NULL, NULL,
                                  mist_client_get_cover_async, cancellable, callback, user_data);
}

GBytes *
mist_client_get_cover_finish (MistClient *self,
                              GAsyncResult *result,
                              char **content_type,
                              GError **error)
{
  Request *request;
  GBytes *bytes;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  bytes = g_task_propagate_pointer (G_TASK (result), error);
  request = g_task_get_task_data (G_TASK (result));
  if (bytes != NULL && content_type != NULL)
    *content_type = g_strdup (soup_message_headers_get_content_type (
      soup_message_get_response_headers (request->msg), NULL));
  return bytes;
}

void
mist_client_list_patches_async (MistClient *self,
                                const char *slug,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  if (mist_client_fail_on_invalid_slug (self, slug, mist_client_list_patches_async, cancellable,
                                        callback, user_data))
    return;

  path = g_strdup_printf ("/api/v1/games/%s/patches", slug);
  mist_client_request_json_async (self, SOUP_METHOD_GET, path, NULL, parse_patches,
                                  (GDestroyNotify)json_array_unref, mist_client_list_patches_async,
                                  cancellable, callback, user_data);
}

JsonArray *
mist_client_list_patches_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mist_client_get_patch_set_async (MistClient *self,
                                 const char *slug,
                                 gint64 from_ordinal,
                                 gint64 to_ordinal,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (MIST_IS_CLIENT (self));
  if (mist_client_fail_on_invalid_slug (self, slug, mist_client_get_patch_set_async, cancellable,
                                        callback, user_data))
    return;

  path = g_strdup_printf ("/api/v1/games/%s/patches/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                          slug, from_ordinal, to_ordinal);
  mist_client_request_json_async (self, SOUP_METHOD_GET, path, NULL, parse_node,
                                  (GDestroyNotify)json_node_unref, mist_client_get_patch_set_async,
                                  cancellable, callback, user_data);
}

JsonNode *
mist_client_get_patch_set_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mist_client_get_json_async (MistClient *self,
                            const char *path,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_return_if_fail (MIST_IS_CLIENT (self));
  g_return_if_fail (path != NULL && path[0] == '/');
  mist_client_request_json_async (self, SOUP_METHOD_GET, path, NULL, parse_node,
                                  (GDestroyNotify)json_node_unref, mist_client_get_json_async,
                                  cancellable, callback, user_data);
}

JsonNode *
mist_client_get_json_finish (MistClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
