/* mist-admin-portal.h: the admin portal's static files under /admin/ and the security
 * headers of every response
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* The environment variable that overrides where the portal's files are read from, for
 * running the server from the build tree. The default is MIST_PKGDATADIR/admin. */
#define MIST_ADMIN_PORTAL_DIR_ENV "MIST_ADMIN_PORTAL_DIR"

/* Loads the portal's files from admin_dir (NULL: the environment variable above, else the
 * installed folder) and adds to soup:
 * - a handler serving them under /admin/, with a strict Content-Security-Policy;
 * - on every response, X-Content-Type-Options, Referrer-Policy and X-Frame-Options;
 * - an early handler that rejects, on /api/, the request bodies a browser form can send
 *   (form-encoded, multipart and text/plain), so no cross-site form reaches the API.
 * A missing folder is logged, /admin/ then returns 404, and the API works unchanged. */
void mist_admin_portal_add_handlers (SoupServer *soup, const char *admin_dir);

G_END_DECLS
