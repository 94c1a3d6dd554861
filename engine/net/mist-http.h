/* mist-http.h: the HTTP session every request goes through, and HTTP errors as MIST_ERROR
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Creates a session that verifies TLS against the system's CA store and, when
 * extra_ca_file is not NULL, also against the CA certificates in that PEM file (for a
 * self-hosted server). Content decoding is off, so byte offsets in Range requests
 * match the bytes on the wire. Fails when extra_ca_file cannot be read. */
SoupSession *mist_http_session_new (const char *extra_ca_file, GError **error);

/* Connects the extra CA check of session (if any) to msg, and drops the Authorization
 * header when a redirect leads to another origin. Every message sent through a session
 * from mist_http_session_new() must pass through this first. */
void mist_http_message_prepare (SoupSession *session, SoupMessage *msg);

/* Whether a and b have the same scheme, host and port (the default port when absent). */
gboolean mist_http_is_same_origin (GUri *a, GUri *b);

/* Converts a failed send (libsoup, GIO or TLS error) into a MIST_ERROR with the URL.
 * G_IO_ERROR_CANCELLED is kept as it is. Timeouts and network errors are marked
 * transient (mist_error_is_transient()). */
GError *mist_http_error_from_send (SoupMessage *msg, const GError *send_error);

/* Converts a non-2xx status into a MIST_ERROR: 401 AUTH_REQUIRED, 403 FORBIDDEN,
 * 404 NOT_FOUND, 429 RATE_LIMITED (with mist_error_get_retry_after()), 5xx
 * SERVER_ERROR. 5xx, 408 and 429 are marked transient. server_message is the server's own error text, or NULL. */
GError *mist_http_error_from_status (SoupMessage *msg, const char *server_message);

/* Parses a Retry-After header (seconds or an HTTP date) into seconds from now; 0 when
 * absent or invalid. */
guint mist_http_parse_retry_after (SoupMessage *msg);

G_END_DECLS
