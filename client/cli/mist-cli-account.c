/* mist-cli-account.c: login, logout, whoami
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-cli-private.h"
#include "mist-credentials.h"
#include "mist-error.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static char *
read_line (FILE *stream)
{
  char buffer[4096];
  gsize length;

  if (fgets (buffer, sizeof buffer, stream) == NULL)
    return NULL;
  length = strlen (buffer);
  while (length > 0 && (buffer[length - 1] == '\n' || buffer[length - 1] == '\r'))
    buffer[--length] = '\0';
  return g_strdup (buffer);
}

/* Reads the password from the terminal with echo off, or the first line of standard input
 * when it is not a terminal (for scripts: `printf %s "$PASSWORD" | mist-cli login`). */
static char *
read_password (void)
{
  struct termios saved;
  struct termios quiet;
  char *password;

  if (!isatty (STDIN_FILENO))
    return read_line (stdin);

  g_printerr ("Password: ");
  if (tcgetattr (STDIN_FILENO, &saved) != 0)
    return read_line (stdin);
  quiet = saved;
  quiet.c_lflag &= ~(tcflag_t) ECHO;
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
  password = read_line (stdin);
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
  g_printerr ("\n");
  return password;
}

int
cli_command_login (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autofree char *username = NULL;
  g_autofree char *password = NULL;
  int status = 0;

  if (!cli_parse_options ("login", "[USER]", NULL, &argc, &argv, &status))
    return status;
  if (argc > 2)
    return cli_usage_error ("login", "expected at most one user name");
  if (!cli_connect (cli, FALSE, &error))
    return cli_fail (cli, error);

  if (argc == 2)
    username = g_strdup (argv[1]);
  else if (isatty (STDIN_FILENO))
    {
      g_printerr ("User name: ");
      username = read_line (stdin);
    }
  if (username == NULL || username[0] == '\0')
    return cli_usage_error ("login", "no user name given: pass it as `mist-cli login USER`");

  password = read_password ();
  if (password == NULL || password[0] == '\0')
    return cli_usage_error ("login", "no password given on the terminal or standard input");

  mist_client_login_async (cli->client, username, password, cli->cancellable, cli_on_done,
                           &result);
  memset (password, 0, strlen (password));
  if (!mist_client_login_finish (cli->client, cli_wait (&result), &error))
    return cli_fail (cli, error);

  if (!cli_save_server (cli, &error))
    {
      g_printerr ("mist-cli: failed to save the server address: %s\n", error->message);
      g_clear_error (&error);
    }
  if (!mist_credentials_store (mist_client_get_server_url (cli->client),
                               mist_client_get_username (cli->client),
                               mist_client_get_token (cli->client), cli->cancellable, &error))
    {
      if (!g_error_matches (error, MIST_ERROR, MIST_ERROR_NO_KEYRING))
        return cli_fail (cli, error);
      g_printerr ("mist-cli: logged in, but the session will not be remembered: %s\n"
                  "Start a Secret Service (for example gnome-keyring) to stay logged in.\n",
                  error->message);
      return CLI_EXIT_OK;
    }
  g_print ("Logged in to %s as %s\n", mist_client_get_server_url (cli->client),
           mist_client_get_username (cli->client));
  return CLI_EXIT_OK;
}

int
cli_command_logout (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  int status = 0;

  if (!cli_parse_options ("logout", NULL, NULL, &argc, &argv, &status))
    return status;
  if (!cli_connect (cli, TRUE, &error))
    {
      if (g_error_matches (error, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED))
        {
          g_print ("Not logged in\n");
          return CLI_EXIT_OK;
        }
      return cli_fail (cli, error);
    }

  mist_client_logout_async (cli->client, cli->cancellable, cli_on_done, &result);
  status = mist_client_logout_finish (cli->client, cli_wait (&result), &error) ? CLI_EXIT_OK
                                                                                : -1;
  if (status < 0)
    {
      g_printerr ("mist-cli: %s\n", error->message);
      g_clear_error (&error);
      status = CLI_EXIT_NETWORK;
    }
  if (!mist_credentials_clear (mist_client_get_server_url (cli->client), NULL, cli->cancellable,
                               &error) &&
      !g_error_matches (error, MIST_ERROR, MIST_ERROR_NO_KEYRING))
    return cli_fail (cli, error);
  if (status == CLI_EXIT_OK)
    g_print ("Logged out of %s\n", mist_client_get_server_url (cli->client));
  return status;
}

int
cli_command_whoami (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (JsonObject) me = NULL;
  gboolean json = FALSE;
  int status = 0;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL },
  };

  if (!cli_parse_options ("whoami", NULL, entries, &argc, &argv, &status))
    return status;
  if (!cli_connect (cli, TRUE, &error))
    return cli_fail (cli, error);

  mist_client_get_me_async (cli->client, cli->cancellable, cli_on_done, &result);
  me = mist_client_get_me_finish (cli->client, cli_wait (&result), &error);
  if (me == NULL)
    return cli_fail (cli, error);

  if (json || cli->json)
    {
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

      json_object_set_string_member (me, "server", mist_client_get_server_url (cli->client));
      json_node_set_object (node, me);
      cli_print_json (node);
      return CLI_EXIT_OK;
    }
  g_print ("%s%s on %s (session expires %s)\n",
           json_object_get_string_member_with_default (me, "name", "?"),
           json_object_get_boolean_member_with_default (me, "is_admin", FALSE) ? " (admin)" : "",
           mist_client_get_server_url (cli->client),
           json_object_get_string_member_with_default (me, "token_expires_at", "?"));
  return CLI_EXIT_OK;
}
