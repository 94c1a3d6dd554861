/* mist-cli-private.h: what the commands of mist-cli share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-client.h"
#include "mist-downloader.h"
#include "mist-queue.h"
#include "mist-state-db.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Exit statuses, listed in --help. */
typedef enum
{
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAILED = 1,         /* any other error */
  CLI_EXIT_USAGE = 2,          /* invalid command line */
  CLI_EXIT_AUTH = 3,           /* not logged in, wrong password, session expired */
  CLI_EXIT_NOT_FOUND = 4,      /* unknown game or version, game not installed */
  CLI_EXIT_NETWORK = 5,        /* server unreachable, certificate rejected, server error */
  CLI_EXIT_BUSY = 6,           /* the game runs, or a job for it is queued */
  CLI_EXIT_INTERRUPTED = 7,    /* stopped by Ctrl-C; the next run resumes */
  CLI_EXIT_DAMAGED = 8,        /* verify found missing or changed files */
} CliExit;

typedef struct
{
  /* Global options */
  char *server_url;  /* --server, $MIST_SERVER or the saved one */
  char *ca_file;     /* --ca-file or the saved one */
  gboolean json;     /* --json */
  guint64 rate_limit; /* --limit-rate, bytes per second, 0 for none */

  MistClient *client;         /* created by cli_connect() */
  MistStateDb *db;            /* opened by cli_open_state() */
  MistDownloader *downloader; /* created by cli_open_queue() */
  MistQueue *queue;           /* created by cli_open_queue() */
  GCancellable *cancellable;
  gboolean interrupted;       /* Ctrl-C was pressed */
  gboolean apply_stopped;     /* Ctrl-C was pressed again during an apply */
} Cli;

typedef int (*CliCommandFunc) (Cli *cli, int argc, char **argv);

/* Waits on the default main context until *result is set by cli_on_done(). */
GAsyncResult *cli_wait (GAsyncResult **result);
void cli_on_done (GObject *source, GAsyncResult *result, gpointer data);

/* Prints error on standard error and returns the exit status for its code. */
int cli_fail (Cli *cli, const GError *error);
int cli_usage_error (const char *command, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Creates the client for the server URL; with a session from $MIST_TOKEN or the keyring
 * when require_session is TRUE (failing with AUTH_REQUIRED without one). */
gboolean cli_connect (Cli *cli, gboolean require_session, GError **error);
gboolean cli_open_state (Cli *cli, GError **error);
gboolean cli_open_queue (Cli *cli, GError **error);

/* Saves the server URL and CA file for the next runs. */
gboolean cli_save_server (Cli *cli, GError **error);

/* Parses a command's options (entries may be NULL); returns FALSE with *status set after
 * printing the problem. */
gboolean cli_parse_options (const char *command,
                            const char *parameters,
                            GOptionEntry *entries,
                            int *argc,
                            char ***argv,
                            int *status);

/* Prints node as pretty JSON on standard output. */
void cli_print_json (JsonNode *node);

/* "1.2 MB" (SI units, as file managers show sizes). */
char *cli_format_size (guint64 bytes);

/* Commands */
int cli_command_login (Cli *cli, int argc, char **argv);
int cli_command_logout (Cli *cli, int argc, char **argv);
int cli_command_whoami (Cli *cli, int argc, char **argv);
int cli_command_games (Cli *cli, int argc, char **argv);
int cli_command_info (Cli *cli, int argc, char **argv);
int cli_command_plan (Cli *cli, int argc, char **argv);
int cli_command_install (Cli *cli, int argc, char **argv);
int cli_command_update (Cli *cli, int argc, char **argv);
int cli_command_verify (Cli *cli, int argc, char **argv);
int cli_command_repair (Cli *cli, int argc, char **argv);
int cli_command_uninstall (Cli *cli, int argc, char **argv);
int cli_command_launch (Cli *cli, int argc, char **argv);
int cli_command_queue (Cli *cli, int argc, char **argv);

G_END_DECLS
