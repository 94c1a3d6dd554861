/* mist-backend-main.c: the mist-backend-stub command
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-server.h"
#include "mist-config.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>

static gboolean
on_signal (gpointer data)
{
  GMainLoop *loop = data;

  g_message ("Stopping on a signal");
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
apply_defaults (MistBackendConfig *config)
{
  if (config->listen == NULL)
    config->listen = g_strdup (MIST_BACKEND_DEFAULT_LISTEN);
  if (config->direct_patches < 0)
    config->direct_patches = MIST_BACKEND_DEFAULT_DIRECT_PATCHES;
  if (config->use_xdelta3 < 0)
    config->use_xdelta3 = FALSE;
  if (config->token_lifetime < 0)
    config->token_lifetime = MIST_BACKEND_DEFAULT_TOKEN_LIFETIME;
  if (config->read_timeout < 0)
    config->read_timeout = MIST_BACKEND_DEFAULT_READ_TIMEOUT;
}

int
main (int argc, char **argv)
{
  g_autofree char *config_file = NULL;
  g_autofree char *url = NULL;
  gboolean show_version = FALSE;
  MistBackendConfig config;
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MistBackendServer) server = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  const GOptionEntry entries[] = {
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &config.data_dir,
      "Folder of the database and the content (required here or in the configuration file)",
      "DIR" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &config.listen,
      "Address and port to listen on (default " MIST_BACKEND_DEFAULT_LISTEN "; port 0 picks a "
      "free port)",
      "ADDR:PORT" },
    { "tls-certificate", 0, 0, G_OPTION_ARG_FILENAME, &config.tls_certificate,
      "PEM certificate chain; serve HTTPS instead of HTTP", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &config.tls_key,
      "PEM private key of the certificate (default: read from the certificate file)", "FILE" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
      "Key file with a [server] group: listen, data-dir, tls-certificate, tls-key, "
      "direct-patches, use-xdelta3, content-base-url, token-lifetime, read-timeout; options "
      "override it",
      "FILE" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &show_version, "Print the version and exit", NULL },
    { NULL },
  };

  setlocale (LC_ALL, "");
  mist_backend_config_init (&config);
  context = g_option_context_new ("- serve Mist games to the launcher");
  g_option_context_set_summary (context,
                                "Serves the Mist API (docs/api.md): accounts, the game catalog, "
                                "build manifests, patches and content.\n"
                                "Create the first admin with: mistpipe --data-dir DIR user add "
                                "--admin NAME");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\nRun “%s --help” to see the options.\n", error->message, g_get_prgname ());
      mist_backend_config_clear (&config);
      return 2;
    }
  if (show_version)
    {
      printf ("mist-backend-stub %s\n", MIST_VERSION);
      mist_backend_config_clear (&config);
      return 0;
    }
  if (config_file != NULL && !mist_backend_config_load (&config, config_file, &error))
    {
      g_printerr ("%s\n", error->message);
      mist_backend_config_clear (&config);
      return 2;
    }
  apply_defaults (&config);
  if (config.data_dir == NULL)
    {
      g_printerr ("No data folder: pass --data-dir DIR or set data-dir in the configuration "
                  "file.\n");
      mist_backend_config_clear (&config);
      return 2;
    }

  /* Handlers first: a SIGTERM right after the "Listening" line must stop cleanly. */
  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_unix_signal_add (SIGTERM, on_signal, loop);

  server = mist_backend_server_new (&config, &error);
  if (server != NULL)
    url = mist_backend_server_listen (server, &error);
  mist_backend_config_clear (&config);
  if (url == NULL)
    {
      g_printerr ("mist-backend-stub: %s\n", error->message);
      return 1;
    }

  /* Tests and scripts read this line to learn the port when they pass port 0. */
  printf ("Listening on %s\n", url);
  fflush (stdout);
  g_message ("Listening on %s", url);

  g_main_loop_run (loop);
  return 0;
}
