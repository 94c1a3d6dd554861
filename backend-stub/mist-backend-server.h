/* mist-backend-server.h: the HTTP API of mist-backend-stub (docs/api.md)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MIST_BACKEND_DEFAULT_LISTEN "127.0.0.1:8780"
#define MIST_BACKEND_DEFAULT_DIRECT_PATCHES 3
#define MIST_BACKEND_DEFAULT_TOKEN_LIFETIME (30 * 24 * 3600)
/* Seconds a connection may stay silent while the server waits for a request or its body.
 * It also closes a connection that sent TLS bytes to a plain HTTP port, since those never
 * end a header block. */
#define MIST_BACKEND_DEFAULT_READ_TIMEOUT 30

/* Settings from the [server] group of the configuration file and the command line. */
typedef struct
{
  char *listen;           /* ADDRESS:PORT; port 0 picks a free port */
  char *data_dir;
  char *tls_certificate;  /* PEM file, or NULL for plain HTTP */
  char *tls_key;
  int direct_patches;     /* K: patch sets from the K versions before each new one */
  gboolean use_xdelta3;   /* also build VCDIFF deltas with the xdelta3 tool */
  char *content_base_url; /* advertised content base, or NULL for the server's own */
  gint64 token_lifetime;  /* seconds a login token stays valid */
  int read_timeout;       /* seconds; MIST_BACKEND_DEFAULT_READ_TIMEOUT explains it */
} MistBackendConfig;

void mist_backend_config_init (MistBackendConfig *config);
void mist_backend_config_clear (MistBackendConfig *config);
/* Reads the [server] group of path into the members still unset (NULL or -1). */
gboolean mist_backend_config_load (MistBackendConfig *config, const char *path, GError **error);

typedef struct _MistBackendServer MistBackendServer;

MistBackendServer *mist_backend_server_new (const MistBackendConfig *config, GError **error);
/* Starts listening; returns the base URL it listens on ("http://127.0.0.1:8780"). */
char *mist_backend_server_listen (MistBackendServer *server, GError **error);
void mist_backend_server_free (MistBackendServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistBackendServer, mist_backend_server_free)

G_END_DECLS
