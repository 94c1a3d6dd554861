/* mist-test-nginx.h: a real nginx on loopback that serves a content folder, for tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * nginx runs without root: its prefix, configuration, pid file, logs and temporary
 * folders are all in a temporary folder of its own, and it listens on a loopback port.
 * It serves a data folder's content/ under /mist/, as README.md configures it for
 * content-base-url, and logs every request.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _MistTestNginx MistTestNginx;

/* Starts nginx serving content_dir at /mist/ and waits until it accepts connections.
 * Returns NULL with G_IO_ERROR_NOT_FOUND when nginx is not installed, or with another
 * error when it does not start. content_dir need not exist yet. */
MistTestNginx *mist_test_nginx_start (const char *content_dir, GError **error);

/* Stops nginx (SIGQUIT, a graceful shutdown), waits for it and removes its folder. */
void mist_test_nginx_free (MistTestNginx *nginx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistTestNginx, mist_test_nginx_free)

/* "http://127.0.0.1:PORT/mist", the URL of content_dir without a trailing slash. */
const char *mist_test_nginx_get_base_url (MistTestNginx *nginx);

/* Returns the requests nginx has completed so far, oldest first, as strings
 * "METHOD URI STATUS RANGE" with RANGE "-" for a request without a Range header.
 * Every request whose response a client has read before this call is included. */
GPtrArray *mist_test_nginx_get_requests (MistTestNginx *nginx, GError **error);

G_END_DECLS
