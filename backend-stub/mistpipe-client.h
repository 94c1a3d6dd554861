/* mistpipe-client.h: what mistpipe's commands share: the HTTP client, the session file,
 * password input and output helpers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct
{
  char *server;  /* base URL without a trailing slash, or NULL */
  char *token;   /* bearer token, or NULL */
  char *data_dir; /* offline mode on a server's data folder, or NULL */
  SoupSession *session;
} Mistpipe;

void mistpipe_clear (Mistpipe *pipe);

/* Returns $XDG_CONFIG_HOME/mist/mistpipe-token. */
char *mistpipe_session_path (void);
/* Writes server and token to the session file with mode 0600. */
gboolean mistpipe_save_session (const char *server, const char *token, GError **error);
/* Fills the server and token members still unset from the session file, if any. */
void mistpipe_load_session (Mistpipe *pipe);
gboolean mistpipe_forget_session (GError **error);

/* Sends a request to the API and parses the JSON reply. body may be NULL. A reply with
 * a status of 400 or more fails with the server's message and a MistError code. The
 * returned node is NULL for an empty reply. */
gboolean mistpipe_call (Mistpipe *pipe,
                        const char *method,
                        const char *path,
                        JsonNode *body,
                        JsonNode **reply,
                        GError **error);

/* Sends bytes as the body (content_type) and parses the reply like mistpipe_call. */
gboolean mistpipe_call_bytes (Mistpipe *pipe,
                              const char *method,
                              const char *path,
                              const char *content_type,
                              GBytes *bytes,
                              JsonNode **reply,
                              GError **error);

/* Checks a reply and turns an error body into a GError. */
gboolean mistpipe_check_reply (SoupMessage *message, GBytes *bytes, JsonNode **reply,
                               GError **error);

/* Fails unless url is an absolute http or https URL with a host, with no query or
 * fragment. */
gboolean mistpipe_check_server_url (const char *url, GError **error);

/* Fails with a message saying how to log in when no server or token is known. */
gboolean mistpipe_require_login (Mistpipe *pipe, GError **error);

/* Reads a password: from the terminal without echo (asking twice when confirm is
 * TRUE), or one line of standard input when it is not a terminal. */
char *mistpipe_read_password (const char *prompt, gboolean confirm, GError **error);

/* Formats a byte count for people: "12.3 MB". */
char *mistpipe_format_size (guint64 bytes);

G_END_DECLS
