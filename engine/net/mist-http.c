/* mist-http.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-http.h"
#include "mist-config.h"
#include "mist-error.h"

#define EXTRA_CA_KEY "mist-extra-ca"

/* Maximum wait taken from a Retry-After header; a longer value is clamped to it. */
#define RETRY_AFTER_MAX_SECONDS (6 * 60 * 60)

/* libsoup 3.2 allows 10 connections in all and 2 per host by default, which would cap
 * the downloader at 2 transfers from one server. 64 per host is the maximum of the
 * downloader's "max-parallel", so that setting is the limit that applies. The total lets
 * 64 transfers from a content server (content-base-url) run beside API requests. */
#define MAX_CONNECTIONS_PER_HOST 64
#define MAX_CONNECTIONS 128

static void
free_certificate_list (gpointer data)
{
  g_list_free_full (data, g_object_unref);
}

SoupSession *
mist_http_session_new (const char *extra_ca_file, GError **error)
{
  g_autoptr (SoupSession) session = NULL;

  session = soup_session_new_with_options ("user-agent", "mist/" MIST_VERSION,
                                           "timeout", 60,
                                           "idle-timeout", 60,
                                           "max-conns", MAX_CONNECTIONS,
                                           "max-conns-per-host", MAX_CONNECTIONS_PER_HOST,
                                           NULL);

  /* Without the decoder libsoup sends no Accept-Encoding, and the body is the object's
   * bytes as stored, so a Range offset equals the size of the partial file. */
  soup_session_remove_feature_by_type (session, SOUP_TYPE_CONTENT_DECODER);

  if (extra_ca_file != NULL)
    {
      g_autoptr (GError) local_error = NULL;
      GList *authorities = g_tls_certificate_list_new_from_file (extra_ca_file, &local_error);

      if (authorities == NULL)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_CERTIFICATE,
                       "Failed to load the CA certificate file %s: %s", extra_ca_file,
                       local_error != NULL ? local_error->message : "it contains no certificate");
          return NULL;
        }
      g_object_set_data_full (G_OBJECT (session), EXTRA_CA_KEY, authorities,
                              free_certificate_list);
    }

  return g_steal_pointer (&session);
}

/* Accepts a certificate that the system store rejected when it chains up to one of the
 * extra CA certificates and matches the host name. Every other check stays as it is. */
static gboolean
on_accept_certificate (SoupMessage *msg,
                       GTlsCertificate *peer_certificate,
                       GTlsCertificateFlags errors,
                       gpointer user_data)
{
  GList *authorities = user_data;
  GUri *uri = soup_message_get_uri (msg);
  g_autoptr (GSocketConnectable) identity = NULL;

  identity = g_network_address_new (g_uri_get_host (uri), (guint16) g_uri_get_port (uri));
  for (GList *l = authorities; l != NULL; l = l->next)
    {
      if (g_tls_certificate_verify (peer_certificate, identity, l->data) == 0)
        return TRUE;
    }
  return FALSE;
}

static int
get_port_or_default (GUri *uri)
{
  int port = g_uri_get_port (uri);

  if (port != -1)
    return port;
  return g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80;
}

gboolean
mist_http_is_same_origin (GUri *a, GUri *b)
{
  return g_ascii_strcasecmp (g_uri_get_scheme (a), g_uri_get_scheme (b)) == 0 &&
         g_ascii_strcasecmp (g_uri_get_host (a), g_uri_get_host (b)) == 0 &&
         get_port_or_default (a) == get_port_or_default (b);
}

/* A redirect to another origin must not carry the session token along. */
static void
on_restarted (SoupMessage *msg, gpointer data)
{
  GUri *original = data;
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);

  if (!mist_http_is_same_origin (original, soup_message_get_uri (msg)) &&
      soup_message_headers_get_one (headers, "Authorization") != NULL)
    {
      g_debug ("Redirected to another origin; not sending the session token there");
      soup_message_headers_remove (headers, "Authorization");
    }
}

static void
free_uri (gpointer data, GClosure *closure)
{
  g_uri_unref (data);
}

void
mist_http_message_prepare (SoupSession *session, SoupMessage *msg)
{
  GList *authorities = g_object_get_data (G_OBJECT (session), EXTRA_CA_KEY);

  g_signal_connect_data (msg, "restarted", G_CALLBACK (on_restarted),
                         g_uri_ref (soup_message_get_uri (msg)), free_uri, 0);

  if (authorities != NULL)
    g_signal_connect (msg, "accept-certificate", G_CALLBACK (on_accept_certificate),
                      authorities);
}

static char *
describe_certificate_errors (GTlsCertificateFlags flags)
{
  GString *text = g_string_new (NULL);

  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    g_string_append (text, ", signed by an unknown certificate authority");
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    g_string_append (text, ", issued for another host name");
  if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    g_string_append (text, ", not valid yet");
  if (flags & G_TLS_CERTIFICATE_EXPIRED)
    g_string_append (text, ", expired");
  if (flags & G_TLS_CERTIFICATE_REVOKED)
    g_string_append (text, ", revoked");
  if (flags & G_TLS_CERTIFICATE_INSECURE)
    g_string_append (text, ", using an insecure algorithm");
  if (text->len == 0)
    g_string_append (text, ", rejected");
  return g_string_free (text, FALSE);
}

GError *
mist_http_error_from_send (SoupMessage *msg, const GError *send_error)
{
  g_autofree char *url = g_uri_to_string_partial (soup_message_get_uri (msg),
                                                  G_URI_HIDE_PASSWORD);
  GTlsCertificateFlags tls_errors = soup_message_get_tls_peer_certificate_errors (msg);
  GError *error;

  if (g_error_matches (send_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (send_error);

  /* glib-networking reports a reply that is not TLS at all, as from a plain HTTP server,
   * as G_TLS_ERROR_NOT_TLS; no certificate is involved then. */
  if (tls_errors == 0 && g_error_matches (send_error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS))
    return g_error_new (MIST_ERROR, MIST_ERROR_INVALID_DATA,
                        "The server at %s does not answer with TLS (%s). If it serves plain "
                        "HTTP, use an address that starts with http://",
                        url, send_error->message);

  if (tls_errors != 0 || send_error->domain == G_TLS_ERROR)
    {
      g_autofree char *reasons = describe_certificate_errors (tls_errors);

      return g_error_new (MIST_ERROR, MIST_ERROR_CERTIFICATE,
                          "The TLS certificate of %s is not trusted%s (%s). If the server "
                          "uses its own certificate authority, pass that CA certificate "
                          "with the CA file option",
                          url, reasons, send_error->message);
    }

  if (send_error->domain == SOUP_SESSION_ERROR)
    return g_error_new (MIST_ERROR, MIST_ERROR_SERVER_ERROR,
                        "The server at %s sent an invalid HTTP reply: %s", url,
                        send_error->message);

  if (g_error_matches (send_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    error = g_error_new (MIST_ERROR, MIST_ERROR_NO_NETWORK, "Request to %s timed out: %s",
                         url, send_error->message);
  else
    error = g_error_new (MIST_ERROR, MIST_ERROR_NO_NETWORK,
                         "Failed to reach %s: %s. Check the server address and the network "
                         "connection",
                         url, send_error->message);
  mist_error_set_transient (error, TRUE);
  return error;
}

guint
mist_http_parse_retry_after (SoupMessage *msg)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
  const char *value = soup_message_headers_get_one (headers, "Retry-After");
  g_autoptr (GDateTime) date = NULL;
  g_autoptr (GDateTime) now = NULL;
  char *end = NULL;
  guint64 seconds;
  GTimeSpan difference;

  if (value == NULL)
    return 0;

  if (g_ascii_isdigit (value[0]))
    {
      seconds = g_ascii_strtoull (value, &end, 10);
      if (*end != '\0')
        return 0;
      return (guint) MIN (seconds, RETRY_AFTER_MAX_SECONDS);
    }

  date = soup_date_time_new_from_http_string (value);
  if (date == NULL)
    return 0;
  now = g_date_time_new_now_utc ();
  difference = g_date_time_difference (date, now);
  if (difference <= 0)
    return 0;
  return (guint) MIN ((difference + G_TIME_SPAN_SECOND - 1) / G_TIME_SPAN_SECOND,
                      RETRY_AFTER_MAX_SECONDS);
}

GError *
mist_http_error_from_status (SoupMessage *msg, const char *server_message)
{
  g_autofree char *url = g_uri_to_string_partial (soup_message_get_uri (msg),
                                                  G_URI_HIDE_PASSWORD);
  guint status = soup_message_get_status (msg);
  const char *reason = server_message != NULL ? server_message
                                              : soup_message_get_reason_phrase (msg);
  GError *error;
  guint wait;

  switch (status)
    {
    case SOUP_STATUS_UNAUTHORIZED:
      return g_error_new (MIST_ERROR, MIST_ERROR_AUTH_REQUIRED,
                          "The server rejected the session for %s (%s): log in again", url,
                          reason);
    case SOUP_STATUS_FORBIDDEN:
      return g_error_new (MIST_ERROR, MIST_ERROR_FORBIDDEN,
                          "The account may not access %s (%s)", url, reason);
    case SOUP_STATUS_NOT_FOUND:
      return g_error_new (MIST_ERROR, MIST_ERROR_NOT_FOUND, "%s was not found (%s)", url,
                          reason);
    case SOUP_STATUS_REQUEST_TIMEOUT:
      error = g_error_new (MIST_ERROR, MIST_ERROR_NO_NETWORK,
                           "The server timed out waiting for the request to %s", url);
      mist_error_set_transient (error, TRUE);
      return error;
    case 429: /* Too Many Requests, which libsoup 3.2 has no name for */
      wait = mist_http_parse_retry_after (msg);
      error = g_error_new (MIST_ERROR, MIST_ERROR_RATE_LIMITED,
                           "The server is rate limiting requests to %s: try again in %u s",
                           url, wait);
      mist_error_set_retry_after (error, wait);
      mist_error_set_transient (error, TRUE);
      return error;
    default:
      break;
    }

  if (status >= 500)
    {
      error = g_error_new (MIST_ERROR, MIST_ERROR_SERVER_ERROR,
                           "The server failed to answer %s: HTTP %u %s", url, status, reason);
      mist_error_set_retry_after (error, mist_http_parse_retry_after (msg));
      mist_error_set_transient (error, TRUE);
      return error;
    }

  return g_error_new (MIST_ERROR, MIST_ERROR_SERVER_ERROR,
                      "The server rejected the request to %s: HTTP %u %s", url, status,
                      reason);
}
