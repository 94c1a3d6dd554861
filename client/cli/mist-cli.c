/* mist-cli.c: the Mist launcher for terminals and scripts
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-cli-private.h"
#include "mist-config.h"
#include "mist-credentials.h"
#include "mist-error.h"
#include "mist-http.h"

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>

typedef struct
{
  const char *name;
  CliCommandFunc func;
  const char *summary;
} CliCommand;

static const CliCommand commands[] = {
  { "login", cli_command_login, "[USER]                 log in and remember the session" },
  { "logout", cli_command_logout, "                       end the session on the server" },
  { "whoami", cli_command_whoami, "                       show the logged-in user" },
  { "games", cli_command_games, "                        list the games, installed versions "
                                "and updates" },
  { "info", cli_command_info, "GAME                      show a game and its versions" },
  { "plan", cli_command_plan, "GAME [--version N]        show how an install or update would "
                              "download" },
  { "install", cli_command_install, "GAME [--version N] [--dir DIR]   install a game" },
  { "update", cli_command_update, "GAME|--all              update to the newest version" },
  { "verify", cli_command_verify, "GAME                    check the installed files' hashes" },
  { "repair", cli_command_repair, "GAME                    download and replace damaged "
                                  "files" },
  { "uninstall", cli_command_uninstall, "GAME              delete the installed files" },
  { "launch", cli_command_launch, "GAME [-- ARGS]          run the game" },
  { "queue", cli_command_queue, "[list|run|pause|resume|move|cancel]   manage the "
                                "download queue" },
};

static const char exit_help[]
  = "Exit status:\n"
    "  0  success\n"
    "  1  failure not listed below\n"
    "  2  invalid command line\n"
    "  3  not logged in, wrong user name or password, or the session expired\n"
    "  4  unknown game or version, or the game is not installed\n"
    "  5  server unreachable, TLS certificate not trusted, or server error\n"
    "  6  busy: the game is running, a job for it is being applied, or another process\n"
    "     (the launcher or another mist-cli) runs the same job\n"
    "  7  interrupted with Ctrl-C; the next run resumes the job\n"
    "  8  verify found missing or changed files\n"
    "\n"
    "Environment: MIST_SERVER (server URL), MIST_TOKEN (session token instead of the "
    "keyring), MIST_STATE_DB (state database path).";

/* --verbose: show the engine's debug and informational messages. */
static gboolean verbose;

/* Prints GLib log records as mist-cli's own lines on standard error. Without --verbose
 * only warnings reach the user: the engine's messages, information and debug output
 * describe what the CLI already reports in its own words. Criticals and errors are
 * programming errors and keep GLib's own format. */
static GLogWriterOutput
cli_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  const char *message = NULL;
  const char *domain = NULL;
  gboolean notice = FALSE;

  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return g_log_writer_default (level, fields, n_fields, data);

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
        message = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0 && fields[i].length < 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, MIST_LOG_FIELD_NOTICE) == 0)
        notice = TRUE;
    }
  if (!verbose && !notice && !(level & G_LOG_LEVEL_WARNING))
    return G_LOG_WRITER_HANDLED;
  if (message == NULL)
    return G_LOG_WRITER_UNHANDLED;

  if (notice && !verbose)
    g_printerr ("mist-cli: %s\n", message);
  else if (level & G_LOG_LEVEL_WARNING)
    g_printerr ("mist-cli: warning: %s\n", message);
  else
    g_printerr ("mist-cli: %s: %s\n", domain != NULL ? domain : "debug", message);
  return G_LOG_WRITER_HANDLED;
}

GAsyncResult *
cli_wait (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

void
cli_on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

int
cli_fail (Cli *cli, const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_printerr ("mist-cli: interrupted; run the same command again to continue\n");
      return CLI_EXIT_INTERRUPTED;
    }

  g_printerr ("mist-cli: %s\n", error->message);
  if (error->domain != MIST_ERROR)
    return CLI_EXIT_FAILED;

  switch (error->code)
    {
    case MIST_ERROR_AUTH_REQUIRED:
      if (cli->client != NULL && g_getenv ("MIST_TOKEN") != NULL
          && g_getenv ("MIST_TOKEN")[0] != '\0')
        g_printerr (
          "mist-cli: %s rejected the session token in MIST_TOKEN: set a valid one, or unset "
          "MIST_TOKEN to use the login kept in the keyring\n",
          mist_client_get_server_url (cli->client));
      return CLI_EXIT_AUTH;
    case MIST_ERROR_FORBIDDEN:
      return CLI_EXIT_AUTH;
    case MIST_ERROR_NOT_FOUND:
      return CLI_EXIT_NOT_FOUND;
    case MIST_ERROR_NO_NETWORK:
    case MIST_ERROR_SERVER_ERROR:
    case MIST_ERROR_CERTIFICATE:
    case MIST_ERROR_RATE_LIMITED:
      return CLI_EXIT_NETWORK;
    case MIST_ERROR_BUSY:
    case MIST_ERROR_CONFLICT:
      return CLI_EXIT_BUSY;
    case MIST_ERROR_INVALID_DATA:
    case MIST_ERROR_INVALID_PATH:
      return cli->client == NULL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    default:
      return CLI_EXIT_FAILED;
    }
}

int
cli_usage_error (const char *command, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("mist-cli %s: %s\nRun “mist-cli %s --help” to see its options.\n", command,
              message, command);
  return CLI_EXIT_USAGE;
}

/* Parses a command's options; returns FALSE after printing the problem. */
gboolean
cli_parse_options (const char *command,
               const char *parameters,
               GOptionEntry *entries,
               int *argc,
               char ***argv,
               int *status)
{
  g_autoptr (GOptionContext) context = g_option_context_new (parameters);
  g_autofree char *prgname = g_strdup_printf ("mist-cli %s", command);
  g_autoptr (GError) error = NULL;

  g_set_prgname (prgname);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *status = cli_usage_error (command, "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

void
cli_print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

char *
cli_format_size (guint64 bytes)
{
  return g_format_size (bytes);
}

/* Configuration: the server URL and CA file are not secret and go into a key file. */

static char *
get_config_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "mist", "mist-cli.conf", NULL);
}

static void
load_saved_server (Cli *cli)
{
  g_autoptr (GKeyFile) keys = g_key_file_new ();
  g_autofree char *path = get_config_path ();

  if (!g_key_file_load_from_file (keys, path, G_KEY_FILE_NONE, NULL))
    return;
  if (cli->server_url == NULL)
    cli->server_url = g_key_file_get_string (keys, "server", "url", NULL);
  if (cli->ca_file == NULL)
    cli->ca_file = g_key_file_get_string (keys, "server", "ca-file", NULL);
}

gboolean
cli_save_server (Cli *cli, GError **error)
{
  g_autoptr (GKeyFile) keys = g_key_file_new ();
  g_autofree char *path = get_config_path ();
  g_autofree char *folder = g_path_get_dirname (path);

  g_key_file_load_from_file (keys, path, G_KEY_FILE_KEEP_COMMENTS, NULL);
  g_key_file_set_string (keys, "server", "url", mist_client_get_server_url (cli->client));
  if (cli->ca_file != NULL)
    g_key_file_set_string (keys, "server", "ca-file", cli->ca_file);
  else
    g_key_file_remove_key (keys, "server", "ca-file", NULL);
  g_mkdir_with_parents (folder, 0700);
  return g_key_file_save_to_file (keys, path, error);
}

static void
on_token_rejected (MistClient *client, gpointer data)
{
  g_autoptr (GError) error = NULL;

  /* The stored token no longer works: delete it, so the next run requests a login. */
  if (!mist_credentials_clear (mist_client_get_server_url (client), NULL, NULL, &error))
    g_debug ("Failed to delete the rejected session token: %s", error->message);
}

gboolean
cli_connect (Cli *cli, gboolean require_session, GError **error)
{
  const char *token = g_getenv ("MIST_TOKEN");
  g_autoptr (MistCredential) credential = NULL;
  g_autoptr (GError) keyring_error = NULL;

  if (cli->server_url == NULL)
    {
      g_set_error_literal (error, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED,
                           "No server set: log in with `mist-cli --server URL login`");
      return FALSE;
    }
  cli->client = mist_client_new (cli->server_url, cli->ca_file, error);
  if (cli->client == NULL)
    return FALSE;
  g_signal_connect (cli->client, "token-rejected", G_CALLBACK (on_token_rejected), NULL);
  if (!require_session)
    return TRUE;

  if (token != NULL && token[0] != '\0')
    {
      mist_client_set_session (cli->client, NULL, token);
      return TRUE;
    }
  credential = mist_credentials_lookup (mist_client_get_server_url (cli->client),
                                        cli->cancellable, &keyring_error);
  if (credential == NULL)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED,
                   "Not logged in to %s%s%s: run `mist-cli login`",
                   mist_client_get_server_url (cli->client),
                   keyring_error != NULL ? " (" : "",
                   keyring_error != NULL ? "no Secret Service is running)" : "");
      return FALSE;
    }
  mist_client_set_session (cli->client, credential->username, credential->token);
  return TRUE;
}

gboolean
cli_open_state (Cli *cli, GError **error)
{
  g_autofree char *path = NULL;

  if (cli->db != NULL)
    return TRUE;
  path = mist_state_db_default_path ();
  cli->db = mist_state_db_open (path, error);
  return cli->db != NULL;
}

gboolean
cli_open_queue (Cli *cli, GError **error)
{
  g_autofree char *games_dir = NULL;

  if (cli->queue != NULL)
    return TRUE;
  if (!cli_open_state (cli, error))
    return FALSE;
  games_dir = g_build_filename (g_get_user_data_dir (), "mist", "games", NULL);
  cli->downloader = mist_downloader_new (mist_client_get_session (cli->client), NULL);
  mist_downloader_set_rate_limit (cli->downloader, cli->rate_limit);
  cli->queue = mist_queue_new (cli->client, cli->downloader, cli->db, games_dir);
  return TRUE;
}

/* Returns whether a job puts files in place: the queue lets that finish when stopped. */
static gboolean
queue_is_applying (MistQueue *queue)
{
  GPtrArray *jobs = mist_queue_get_jobs (queue);

  for (guint i = 0; i < jobs->len; i++)
    if (mist_job_get_phase (g_ptr_array_index (jobs, i)) == MIST_JOB_PHASE_APPLYING)
      return TRUE;
  return FALSE;
}

/* A second Ctrl-C stops an apply, which the first lets finish. */
static void
stop_applying (Cli *cli)
{
  if (cli->apply_stopped || cli->queue == NULL || !queue_is_applying (cli->queue))
    return;
  cli->apply_stopped = TRUE;
  g_printerr ("\nmist-cli: stopping the apply before its commit, so the installed version "
              "stays as it was and playable. Run the same command again to finish the job. A "
              "commit already under way completes first.\n");
  mist_queue_stop_applying (cli->queue);
}

static gboolean
on_interrupt (gpointer data)
{
  Cli *cli = data;

  if (cli->interrupted)
    {
      stop_applying (cli);
      return G_SOURCE_CONTINUE;
    }
  cli->interrupted = TRUE;
  if (cli->queue != NULL && queue_is_applying (cli->queue))
    g_printerr (
      "\nmist-cli: stopping once the files being applied are in place (press Ctrl-C again to "
      "stop the apply too); other downloads resume on the next run\n");
  else
    g_printerr ("\nmist-cli: stopping; the download resumes on the next run\n");
  if (cli->queue != NULL)
    mist_queue_stop (cli->queue);
  else
    g_cancellable_cancel (cli->cancellable);
  return G_SOURCE_CONTINUE;
}

static void
print_help (void)
{
  g_print ("Usage: mist-cli [--server URL] [--ca-file FILE] [--json] [--verbose] COMMAND "
           "[ARGS]\n\n"
           "Install, update and launch games from a Mist server.\n\n"
           "Commands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    g_print ("  %-10s %s\n", commands[i].name, commands[i].summary);
  g_print ("\nGlobal options:\n"
           "  --server URL     server address, saved by login (default: the saved one)\n"
           "  --ca-file FILE   also trust this CA certificate (PEM) for the server\n"
           "  --json           print listings as JSON\n"
           "  -v, --verbose    also print the engine's debug messages\n"
           "  --limit-rate RATE  limit downloads to RATE bytes per second: 0 for no limit,\n"
           "                   or 1K to 10G (suffix K, M or G for KiB/s, MiB/s or GiB/s)\n"
           "  --version        print the version and exit\n"
           "  -h, --help       print this help (COMMAND --help: the command's options)\n\n"
           "%s\n",
           exit_help);
}

/* Smallest and largest --limit-rate other than 0 (no limit), in bytes per second. */
#define RATE_LIMIT_MIN 1024
#define RATE_LIMIT_MAX (G_GUINT64_CONSTANT (10) * 1024 * 1024 * 1024)

/* Parses "0", "500000", "500K", "2M" or "1G" (KiB, MiB and GiB) into bytes per second,
 * failing with a message that names the value and the accepted range. */
static gboolean
parse_rate (const char *text, guint64 *rate, GError **error)
{
  const char *end = text;
  guint64 value = 0;
  guint64 unit = 1;
  gboolean overflow = FALSE;

  for (; g_ascii_isdigit (*end); end++)
    {
      guint digit = (guint) (*end - '0');

      if (value > (G_MAXUINT64 - digit) / 10)
        overflow = TRUE;
      else
        value = value * 10 + digit;
    }
  switch (g_ascii_toupper (*end))
    {
    case 'K':
      unit = 1024;
      end++;
      break;
    case 'M':
      unit = 1024 * 1024;
      end++;
      break;
    case 'G':
      unit = 1024 * 1024 * 1024;
      end++;
      break;
    default:
      break;
    }

  if (end == text || !g_ascii_isdigit (text[0]) || *end != '\0')
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "invalid rate “%s”: expected a whole number of bytes per second with an "
                   "optional suffix K, M or G (KiB/s, MiB/s, GiB/s), such as 500K or 2M",
                   text);
      return FALSE;
    }
  if (overflow ||
      (value != 0 && (value > RATE_LIMIT_MAX / unit || value * unit < RATE_LIMIT_MIN)))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA,
                   "rate “%s” is out of range: use 0 for no limit, or from 1K (1 KiB/s) to "
                   "10G (10 GiB/s)",
                   text);
      return FALSE;
    }
  *rate = value * unit;
  return TRUE;
}

static void
cli_clear (Cli *cli)
{
  g_clear_object (&cli->queue);
  g_clear_object (&cli->downloader);
  g_clear_object (&cli->client);
  /* Queue edits are written in the background and would be lost at exit. */
  if (cli->db != NULL)
    mist_state_db_flush (cli->db);
  g_clear_pointer (&cli->db, mist_state_db_unref);
  g_clear_object (&cli->cancellable);
  g_free (cli->server_url);
  g_free (cli->ca_file);
}

int
main (int argc, char **argv)
{
  Cli cli = { 0 };
  int command_index = 1;
  int status;
  guint interrupt_source;

  setlocale (LC_ALL, "");
  g_set_prgname ("mist-cli");
  g_log_set_writer_func (cli_log_writer, NULL, NULL);

  /* Global options come before the command; each command parses the rest. */
  for (; command_index < argc && argv[command_index][0] == '-'; command_index++)
    {
      const char *option = argv[command_index];

      if (g_strcmp0 (option, "--help") == 0 || g_strcmp0 (option, "-h") == 0)
        {
          print_help ();
          return CLI_EXIT_OK;
        }
      if (g_strcmp0 (option, "--version") == 0)
        {
          g_print ("mist-cli %s\n", MIST_VERSION);
          return CLI_EXIT_OK;
        }
      if (g_strcmp0 (option, "--json") == 0)
        cli.json = TRUE;
      else if (g_strcmp0 (option, "--verbose") == 0 || g_strcmp0 (option, "-v") == 0)
        verbose = TRUE;
      else if ((g_strcmp0 (option, "--server") == 0 || g_strcmp0 (option, "--ca-file") == 0) &&
               command_index + 1 < argc)
        {
          char **target = option[2] == 's' ? &cli.server_url : &cli.ca_file;

          g_free (*target);
          *target = g_strdup (argv[++command_index]);
        }
      else if (g_strcmp0 (option, "--limit-rate") == 0 && command_index + 1 < argc)
        {
          g_autoptr (GError) error = NULL;

          if (!parse_rate (argv[++command_index], &cli.rate_limit, &error))
            {
              g_printerr ("mist-cli: %s\n", error->message);
              cli_clear (&cli);
              return CLI_EXIT_USAGE;
            }
        }
      else if (g_str_has_prefix (option, "--server="))
        cli.server_url = g_strdup (option + strlen ("--server="));
      else if (g_str_has_prefix (option, "--ca-file="))
        cli.ca_file = g_strdup (option + strlen ("--ca-file="));
      else
        {
          g_printerr ("mist-cli: unknown option %s\nRun “mist-cli --help” to see the "
                      "options.\n",
                      option);
          cli_clear (&cli);
          return CLI_EXIT_USAGE;
        }
    }

  if (command_index >= argc)
    {
      print_help ();
      cli_clear (&cli);
      return CLI_EXIT_USAGE;
    }

  if (cli.server_url == NULL && g_getenv ("MIST_SERVER") != NULL)
    cli.server_url = g_strdup (g_getenv ("MIST_SERVER"));
  load_saved_server (&cli);
  cli.cancellable = g_cancellable_new ();
  interrupt_source = g_unix_signal_add (SIGINT, on_interrupt, &cli);

  status = -1;
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (g_strcmp0 (argv[command_index], commands[i].name) == 0)
        {
          status = commands[i].func (&cli, argc - command_index, argv + command_index);
          break;
        }
    }
  if (status < 0)
    {
      g_printerr ("mist-cli: unknown command “%s”\nRun “mist-cli --help” to see the "
                  "commands.\n",
                  argv[command_index]);
      status = CLI_EXIT_USAGE;
    }

  if (cli.client != NULL)
    g_signal_handlers_disconnect_by_func (cli.client, on_token_rejected, NULL);
  g_source_remove (interrupt_source);
  cli_clear (&cli);
  return status;
}
