/* mistpipe.c: the publisher and admin command-line tool of a Mist server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-backend-db.h"
#include "mist-backend-password.h"
#include "mist-backend-store.h"
#include "mist-config.h"
#include "mist-error.h"
#include "mistpipe-client.h"
#include "mistpipe-commands.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
  "Usage: mistpipe [--server URL | --data-dir DIR [--init]] COMMAND [ARGUMENTS]\n"
  "\n"
  "Publishes games to a Mist server and administers its accounts.\n"
  "\n"
  "Commands:\n"
  "  login [USERNAME]                  log in and keep the session token\n"
  "  logout                            revoke the token and forget it\n"
  "  user add NAME [--admin]           create an account (asks for its password)\n"
  "  user list                         list the accounts\n"
  "  user disable NAME | enable NAME   block or allow an account's logins\n"
  "  user passwd NAME                  set a new password (revokes its sessions)\n"
  "  user grant-admin NAME | revoke-admin NAME\n"
  "  game create SLUG --title TITLE [--description TEXT] [--cover FILE] [--public|--private]\n"
  "  game edit SLUG [--title TITLE] [--description TEXT] [--cover FILE] [--public|--private]\n"
  "  game list\n"
  "  push GAME --version NAME [--changelog TEXT | --changelog-file FILE] [--level N] DIR\n"
  "                                    upload a build folder as a new version\n"
  "  patches GAME [--retry FROM:TO]    show the patch sets and their state\n"
  "  launch-config GAME --executable PATH [--arg ARG]... [--workdir DIR] [--env NAME=VALUE]...\n"
  "\n"
  "Options:\n"
  "  --server URL     the server, such as http://127.0.0.1:8780 (default: $MIST_SERVER, or\n"
  "                   the server of the last login)\n"
  "  --data-dir DIR   work offline on a stopped server's data folder; only the user\n"
  "                   commands, so the first admin can be created before the first start\n"
  "  --init           with --data-dir: create DIR and its database when DIR is missing or\n"
  "                   holds no database (an existing empty DIR needs no --init)\n"
  "\n"
  "Passwords are read from the terminal without echo, or as one line of standard input\n"
  "when it is not a terminal. “login” keeps the session token in\n"
  "$XDG_CONFIG_HOME/mist/mistpipe-token (mode 0600); $MIST_TOKEN overrides it.\n";

static int
print_usage_error (const char *format, ...) G_GNUC_PRINTF (1, 2);

static int
print_usage_error (const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("mistpipe: %s\nRun “mistpipe --help” for the commands.\n", message);
  return 2;
}

/* Offline user administration on a data folder */

/* Fails unless data_dir contains a server database, or is an empty folder, or init is set:
 * a mistyped path must not turn into a new, empty data folder. */
static gboolean
check_data_dir (const char *data_dir, gboolean init, GError **error)
{
  g_autofree char *database = g_build_filename (data_dir, MIST_BACKEND_DB_FILE, NULL);
  g_autoptr (GDir) dir = NULL;

  if (init || g_file_test (database, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!g_file_test (data_dir, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND,
                   "The data folder %s does not exist: check the path (the server's "
                   "data-dir, such as /var/lib/mist), or add --init to create a new one",
                   data_dir);
      return FALSE;
    }
  dir = g_dir_open (data_dir, 0, error);
  if (dir == NULL)
    return FALSE;
  if (g_dir_read_name (dir) != NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND,
                   "%s is not a Mist data folder: it has files but no %s. Check the path (the "
                   "server's data-dir, such as /var/lib/mist), or add --init to create a new "
                   "database in it",
                   data_dir, MIST_BACKEND_DB_FILE);
      return FALSE;
    }
  return TRUE;
}

static int
offline_user (Mistpipe *pipe, gboolean init, int argc, char **argv)
{
  g_autoptr (sqlite3) db = NULL;
  g_autoptr (MistBackendStore) store = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MistBackendUser) user = NULL;
  g_autofree char *password = NULL;
  g_autofree char *encoded = NULL;
  const char *action = argc > 0 ? argv[0] : "";
  const char *name = argc > 1 ? argv[1] : NULL;
  gboolean admin = FALSE;

  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--admin") == 0)
      admin = TRUE;
    else if (name == NULL || strcmp (name, "--admin") == 0)
      name = argv[i];

  if (!check_data_dir (pipe->data_dir, init, &error))
    goto failed;
  store = mist_backend_store_new (pipe->data_dir, FALSE, &error);
  if (store != NULL)
    db = mist_backend_db_open (pipe->data_dir, TRUE, &error);
  if (db == NULL)
    goto failed;

  if (strcmp (action, "list") == 0)
    {
      g_autoptr (GPtrArray) users = mist_backend_db_list_users (db, &error);

      if (users == NULL)
        goto failed;
      for (guint i = 0; i < users->len; i++)
        {
          MistBackendUser *entry = users->pdata[i];

          printf ("%s%s%s\n", entry->name, entry->is_admin ? " (admin)" : "",
                  entry->disabled ? " (disabled)" : "");
        }
      return 0;
    }
  if (name == NULL)
    return print_usage_error ("“user %s” needs a user name", action);

  if (strcmp (action, "add") == 0)
    {
      if (!mist_backend_user_name_is_valid (name))
        return print_usage_error ("Invalid user name “%s”: use 1 to 64 characters from A-Z, "
                                  "a-z, 0-9, “.”, “_” and “-”",
                                  name);
      password = mistpipe_read_password ("Password: ", TRUE, &error);
      if (password == NULL || !mist_backend_password_check (password, &error))
        goto failed;
      encoded = mist_backend_password_hash (password, &error);
      if (encoded == NULL || !mist_backend_db_insert_user (db, name, encoded, admin, &error))
        goto failed;
      printf ("Created %s“%s”\n", admin ? "the admin " : "the user ", name);
      return 0;
    }

  user = mist_backend_db_lookup_user (db, name, &error);
  if (user == NULL)
    {
      if (error == NULL)
        g_set_error (&error, MIST_ERROR, MIST_ERROR_NOT_FOUND, "No user “%s”", name);
      goto failed;
    }
  if (strcmp (action, "passwd") == 0)
    {
      password = mistpipe_read_password ("New password: ", TRUE, &error);
      if (password == NULL || !mist_backend_password_check (password, &error))
        goto failed;
      encoded = mist_backend_password_hash (password, &error);
      if (encoded == NULL || !mist_backend_db_update_user (db, user->id, encoded, -1, -1, &error))
        goto failed;
    }
  else if (strcmp (action, "disable") == 0 || strcmp (action, "enable") == 0)
    {
      if (!mist_backend_db_update_user (db, user->id, NULL, -1, strcmp (action, "disable") == 0,
                                        &error))
        goto failed;
    }
  else if (strcmp (action, "grant-admin") == 0 || strcmp (action, "revoke-admin") == 0)
    {
      if (!mist_backend_db_update_user (db, user->id, NULL, strcmp (action, "grant-admin") == 0,
                                        -1, &error))
        goto failed;
    }
  else
    return print_usage_error ("Unknown command “user %s”", action);
  printf ("Changed the user “%s”\n", user->name);
  return 0;

failed:
  g_printerr ("mistpipe: %s\n", error->message);
  return 1;
}

typedef struct
{
  const char *name;
  int (*run) (Mistpipe *pipe, int argc, char **argv);
} Command;

static const Command commands[] = {
  { "login", mistpipe_command_login },
  { "logout", mistpipe_command_logout },
  { "user", mistpipe_command_user },
  { "game", mistpipe_command_game },
  { "push", mistpipe_command_push },
  { "patches", mistpipe_command_patches },
  { "launch-config", mistpipe_command_launch_config },
};

int
main (int argc, char **argv)
{
  Mistpipe pipe = { 0 };
  gboolean init = FALSE;
  int first = 1;
  int status;

  setlocale (LC_ALL, "");
  for (; first < argc && argv[first][0] == '-'; first++)
    {
      const char *option = argv[first];

      if (strcmp (option, "--help") == 0 || strcmp (option, "-h") == 0)
        {
          fputs (usage, stdout);
          mistpipe_clear (&pipe);
          return 0;
        }
      if (strcmp (option, "--version") == 0)
        {
          printf ("mistpipe %s\n", MIST_VERSION);
          return 0;
        }
      if (strcmp (option, "--init") == 0)
        {
          init = TRUE;
          continue;
        }
      if ((strcmp (option, "--server") == 0 || strcmp (option, "--data-dir") == 0) &&
          first + 1 < argc)
        {
          char **target = strcmp (option, "--server") == 0 ? &pipe.server : &pipe.data_dir;

          g_free (*target);
          *target = g_strdup (argv[++first]);
          continue;
        }
      mistpipe_clear (&pipe);
      return print_usage_error ("Unknown option “%s”", option);
    }
  if (first >= argc)
    {
      mistpipe_clear (&pipe);
      return print_usage_error ("No command given");
    }

  if (init && pipe.data_dir == NULL)
    {
      mistpipe_clear (&pipe);
      return print_usage_error ("--init works only with --data-dir DIR");
    }
  if (pipe.data_dir != NULL)
    {
      if (strcmp (argv[first], "user") != 0)
        {
          mistpipe_clear (&pipe);
          return print_usage_error ("With --data-dir only the “user” commands work; use "
                                    "--server for “%s”",
                                    argv[first]);
        }
      status = offline_user (&pipe, init, argc - first - 1, argv + first + 1);
      mistpipe_clear (&pipe);
      return status;
    }

  if (pipe.server == NULL && g_getenv ("MIST_SERVER") != NULL)
    pipe.server = g_strdup (g_getenv ("MIST_SERVER"));
  if (g_getenv ("MIST_TOKEN") != NULL)
    pipe.token = g_strdup (g_getenv ("MIST_TOKEN"));
  if (pipe.server != NULL)
    {
      gsize length = strlen (pipe.server);
      g_autoptr (GError) error = NULL;

      while (length > 0 && pipe.server[length - 1] == '/')
        pipe.server[--length] = '\0';
      if (!mistpipe_check_server_url (pipe.server, &error))
        {
          mistpipe_clear (&pipe);
          g_printerr ("mistpipe: %s\n", error->message);
          return 2;
        }
    }
  mistpipe_load_session (&pipe);

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[first], commands[i].name) == 0)
      {
        status = commands[i].run (&pipe, argc - first, argv + first);
        mistpipe_clear (&pipe);
        return status;
      }
  mistpipe_clear (&pipe);
  return print_usage_error ("Unknown command “%s”", argv[first]);
}
