/* mist-fault-server.h: an HTTP/1.1 object server on loopback that misbehaves on request
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Serves GET /objects/<name> from memory with strong ETags, Range and If-Range, one
 * request per connection, each connection in its own thread, which
 * mist_fault_server_free() joins. The faults below apply to the next requests in the
 * order they arrive, whatever object they ask for.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _MistFaultServer MistFaultServer;

typedef struct
{
  char *path;          /* request path */
  gint64 range_start;  /* first byte of a "Range: bytes=N-" header, -1 without one */
  char *if_range;      /* If-Range header, or NULL */
  char *authorization; /* Authorization header, or NULL */
  guint status;        /* status sent */
} MistFaultRequest;

MistFaultServer *mist_fault_server_new (void);
void mist_fault_server_free (MistFaultServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistFaultServer, mist_fault_server_free)

/* "http://127.0.0.1:PORT/objects/NAME" */
char *mist_fault_server_get_url (MistFaultServer *server, const char *name);

/* Serves data under name with a new ETag. A transfer already running keeps the old
 * bytes. */
void mist_fault_server_set_object (MistFaultServer *server, const char *name, GBytes *data);

/* Replaces the object's data (and ETag) once `after` more requests for it got a response. */
void mist_fault_server_replace_after (MistFaultServer *server,
                                      const char *name,
                                      GBytes *data,
                                      guint after);

/* The next count requests get status (500, 503, 429, 408...), with Retry-After:
 * retry_after when it is not 0. */
void mist_fault_server_fail_next (MistFaultServer *server,
                                  guint count,
                                  guint status,
                                  guint retry_after);

/* The next count responses send the body one byte every interval_ms. */
void mist_fault_server_drip_next (MistFaultServer *server, guint count, guint interval_ms);

/* The next count responses close the connection after at most `bytes` bytes of body. */
void mist_fault_server_drop_next (MistFaultServer *server, guint count, guint64 bytes);

/* The next count responses send extra bytes of garbage after the body; with
 * declare_length the Content-Length counts them, without it the response has no
 * Content-Length and ends when the connection closes. */
void mist_fault_server_overflow_next (MistFaultServer *server,
                                      guint count,
                                      guint64 extra,
                                      gboolean declare_length);

/* Ignores Range headers from now on and always responds 200 with the whole object. */
void mist_fault_server_set_ranges_supported (MistFaultServer *server, gboolean supported);

/* Limits each response body to bytes_per_second (0 for no limit). */
void mist_fault_server_set_rate (MistFaultServer *server, guint64 bytes_per_second);

/* The maximum number of connections that had a request in progress at the same time,
 * each counted from the end of its request headers until the server starts writing the
 * last bytes of its response. */
guint mist_fault_server_get_peak_connections (MistFaultServer *server);

/* A copy of the requests served so far, oldest first (MistFaultRequest *). */
GPtrArray *mist_fault_server_get_requests (MistFaultServer *server);
void mist_fault_request_free (gpointer request);

G_END_DECLS
