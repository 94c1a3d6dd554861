/* mist-admin-portal.c: the admin portal's static files and the server's security headers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The portal is plain HTML, CSS and JavaScript modules that use the JSON API like any
 * other client. Its files are read once when the server starts and served from memory,
 * so a request path is only ever a key of a hash table and never reaches the file
 * system. Everything here runs on the main loop's thread.
 */
#include "mist-admin-portal.h"

#include "mist-config.h"
#include "mist-hash.h"

#include <string.h>

#define PORTAL_PREFIX "/admin/"
/* Deep enough for admin/js/…; the walk stops there so a stray symlink loop costs little. */
#define PORTAL_MAX_DEPTH 4

/* Scripts, styles and images only from the server itself, images also from blob: (covers
 * fetched with the bearer token) and data: URLs; no framing, no <base>, forms only to
 * the server. */
#define PORTAL_CSP                                                                         \
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " \
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

/* API responses are JSON or bytes for programs: nothing in them may run or load. */
#define API_CSP "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

typedef struct
{
  GBytes *contents;
  const char *content_type; /* static string */
  char *etag;               /* quoted SHA-256 of contents */
} PortalFile;

typedef struct
{
  char *dir;
  GHashTable *files; /* path under /admin/ ("js/main.js") → PortalFile (owned) */
} Portal;

static void
portal_file_free (PortalFile *file)
{
  g_bytes_unref (file->contents);
  g_free (file->etag);
  g_free (file);
}

static void
portal_free (Portal *portal)
{
  g_hash_table_unref (portal->files);
  g_free (portal->dir);
  g_free (portal);
}

/* Returns the Content-Type of the file name, or NULL for a kind the portal does not
 * serve (the folder may hold a README or editor backups). */
static const char *
content_type_for_name (const char *name)
{
  static const struct
  {
    const char *suffix;
    const char *content_type;
  } types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    if (g_str_has_suffix (name, types[i].suffix))
      return types[i].content_type;
  return NULL;
}

static void
load_file (Portal *portal, const char *path, const char *relative_path, const char *content_type)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  g_autofree char *hash = NULL;
  gsize length = 0;
  PortalFile *file;

  if (!g_file_get_contents (path, &data, &length, &error))
    {
      g_warning ("Admin portal: cannot read %s: %s", path, error->message);
      return;
    }
  file = g_new0 (PortalFile, 1);
  hash = mist_sha256_hex_data (data, length);
  file->etag = g_strdup_printf ("\"%s\"", hash);
  file->content_type = content_type;
  file->contents = g_bytes_new_take (g_steal_pointer (&data), length);
  g_hash_table_replace (portal->files, g_strdup (relative_path), file);
}

static void
load_dir (Portal *portal, const char *dir, const char *relative_dir, guint depth)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) listing = NULL;
  const char *name;

  listing = g_dir_open (dir, 0, &error);
  if (listing == NULL)
    {
      g_warning ("Admin portal: cannot list %s: %s", dir, error->message);
      return;
    }
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *relative_path = NULL;
      const char *content_type;

      if (name[0] == '.')
        continue;
      relative_path = relative_dir[0] != '\0' ? g_strconcat (relative_dir, "/", name, NULL)
                                              : g_strdup (name);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (depth < PORTAL_MAX_DEPTH)
            load_dir (portal, path, relative_path, depth + 1);
          continue;
        }
      content_type = content_type_for_name (name);
      if (content_type != NULL && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        load_file (portal, path, relative_path, content_type);
    }
}

static void
set_security_headers (SoupMessageHeaders *headers, const char *csp)
{
  soup_message_headers_replace (headers, "Content-Security-Policy", csp);
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (headers, "Referrer-Policy", "no-referrer");
  soup_message_headers_replace (headers, "X-Frame-Options", "DENY");
}

/* Every response starts with the API's headers; the portal handler replaces the policy
 * with its own for its files. */
static void
on_request_started (SoupServer *soup, SoupServerMessage *message, gpointer user_data)
{
  set_security_headers (soup_server_message_get_response_headers (message), API_CSP);
}

static void
respond_text (SoupServerMessage *message, guint status, const char *text)
{
  soup_server_message_set_status (message, status, NULL);
  soup_server_message_set_response (message, "text/plain; charset=utf-8", SOUP_MEMORY_COPY,
                                    text, strlen (text));
}

static void
redirect_to_portal (SoupServerMessage *message)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (message), "Location",
                                PORTAL_PREFIX);
  respond_text (message, SOUP_STATUS_MOVED_PERMANENTLY, "The admin portal is at " PORTAL_PREFIX);
}

static void
handle_portal (SoupServer *soup,
               SoupServerMessage *message,
               const char *path,
               GHashTable *query,
               gpointer user_data)
{
  Portal *portal = user_data;
  const char *method = soup_server_message_get_method (message);
  SoupMessageHeaders *request_headers = soup_server_message_get_request_headers (message);
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (message);
  const char *relative_path;
  const char *if_none_match;
  PortalFile *file;

  set_security_headers (response_headers, PORTAL_CSP);
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      soup_message_headers_replace (response_headers, "Allow", "GET, HEAD");
      respond_text (message, SOUP_STATUS_METHOD_NOT_ALLOWED,
                    "The admin portal's files are read-only: use GET or HEAD");
      return;
    }
  /* libsoup matches "/admin" for "/admin", "/admin/…" and also "/administrator". */
  if (strcmp (path, "/admin") == 0)
    {
      redirect_to_portal (message);
      return;
    }
  if (!g_str_has_prefix (path, PORTAL_PREFIX))
    {
      respond_text (message, SOUP_STATUS_NOT_FOUND, "Not found");
      return;
    }

  relative_path = path + strlen (PORTAL_PREFIX);
  if (relative_path[0] == '\0')
    relative_path = "index.html";
  file = g_hash_table_lookup (portal->files, relative_path);
  if (file == NULL)
    {
      respond_text (message, SOUP_STATUS_NOT_FOUND,
                    g_hash_table_size (portal->files) == 0
                      ? "The admin portal is not installed on this server"
                      : "Not found");
      return;
    }

  /* Revalidated on every load, so an upgraded server never mixes old and new modules. */
  soup_message_headers_replace (response_headers, "Cache-Control", "no-cache");
  soup_message_headers_replace (response_headers, "ETag", file->etag);
  if_none_match = soup_message_headers_get_one (request_headers, "If-None-Match");
  if (if_none_match != NULL && strstr (if_none_match, file->etag) != NULL)
    {
      soup_server_message_set_status (message, SOUP_STATUS_NOT_MODIFIED, NULL);
      return;
    }
  soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (message, file->content_type, SOUP_MEMORY_COPY,
                                    g_bytes_get_data (file->contents, NULL),
                                    g_bytes_get_size (file->contents));
}

/* A browser sends a cross-site form without a CORS preflight only with these three media
 * types. The API takes JSON and raw bytes, never these, so rejecting them before any
 * handler runs closes that path even for routes that need no token, like login. */
static gboolean
is_form_media_type (const char *media_type)
{
  return g_ascii_strcasecmp (media_type, "application/x-www-form-urlencoded") == 0 ||
         g_ascii_strcasecmp (media_type, "multipart/form-data") == 0 ||
         g_ascii_strcasecmp (media_type, "text/plain") == 0;
}

static void
reject_form_bodies (SoupServer *soup,
                    SoupServerMessage *message,
                    const char *path,
                    GHashTable *query,
                    gpointer user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  const char *media_type;
  g_autofree char *body = NULL;

  if (!g_str_has_prefix (path, "/api/"))
    return;
  media_type = soup_message_headers_get_content_type (headers, NULL);
  if (media_type == NULL || !is_form_media_type (media_type))
    return;

  g_message ("Rejected a %s body on %s %s", media_type, soup_server_message_get_method (message),
             path);
  /* media_type is one of the three fixed strings above, so it needs no JSON escaping. */
  body = g_strdup_printf ("{\"error\": {\"code\": \"invalid-data\", \"message\": "
                          "\"The API does not accept %s bodies: send application/json\"}}",
                          media_type);
  soup_server_message_set_status (message, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, NULL);
  soup_server_message_set_response (message, "application/json", SOUP_MEMORY_COPY, body,
                                    strlen (body));
}

void
mist_admin_portal_add_handlers (SoupServer *soup, const char *admin_dir)
{
  Portal *portal = g_new0 (Portal, 1);
  const char *env_dir = g_getenv (MIST_ADMIN_PORTAL_DIR_ENV);

  g_return_if_fail (SOUP_IS_SERVER (soup));

  if (admin_dir != NULL)
    portal->dir = g_strdup (admin_dir);
  else if (env_dir != NULL && env_dir[0] != '\0')
    portal->dir = g_strdup (env_dir);
  else
    portal->dir = g_build_filename (MIST_PKGDATADIR, "admin", NULL);
  portal->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) portal_file_free);

  if (g_file_test (portal->dir, G_FILE_TEST_IS_DIR))
    load_dir (portal, portal->dir, "", 1);
  if (g_hash_table_contains (portal->files, "index.html"))
    g_message (g_dngettext (GETTEXT_PACKAGE, "Admin portal: %u file from %s",
                            "Admin portal: %u files from %s", g_hash_table_size (portal->files)),
               g_hash_table_size (portal->files), portal->dir);
  else
    g_message ("Admin portal: no index.html in %s, so %s answers 404 (set %s to the folder "
               "backend-stub/admin to run from the build tree)",
               portal->dir, PORTAL_PREFIX, MIST_ADMIN_PORTAL_DIR_ENV);

  g_signal_connect (soup, "request-started", G_CALLBACK (on_request_started), NULL);
  soup_server_add_handler (soup, "/admin", handle_portal, portal, (GDestroyNotify) portal_free);
  /* The default path shares the API's handler entry, whose callback stays in place. */
  soup_server_add_early_handler (soup, NULL, reject_form_bodies, NULL, NULL);
}
