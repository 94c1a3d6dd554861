/* mist-launcher.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-launcher.h"
#include "mist-error.h"
#include "mist-install-private.h"
#include "mist-manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define COMMAND_TOKEN "%command%"

char *
mist_launcher_get_log_path (const char *game_id)
{
  g_autofree char *name = g_strconcat (game_id, ".log", NULL);

  return g_build_filename (g_get_user_state_dir (), "mist", "logs", name, NULL);
}

static char *
get_running_path (const char *game_id)
{
  g_autofree char *name = g_strconcat (game_id, ".pid", NULL);

  return g_build_filename (g_get_user_runtime_dir (), "mist", "running", name, NULL);
}

gboolean
mist_launcher_is_running (const char *game_id)
{
  g_autofree char *path = get_running_path (game_id);
  g_autofree char *contents = NULL;
  gint64 pid;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  pid = g_ascii_strtoll (contents, NULL, 10);
  /* A file left behind by a crashed launcher names a process that is gone. NOTE: a
   * recycled process id makes this report a running game until that process exits. */
  return pid > 0 && (kill ((pid_t) pid, 0) == 0 || errno == EPERM);
}

char **
mist_launcher_build_argv (const char *install_path,
                          const char *executable,
                          const char *const *arguments,
                          const MistLaunchOptions *options,
                          GError **error)
{
  g_autoptr (GStrvBuilder) command = g_strv_builder_new ();
  g_autoptr (GStrvBuilder) result = g_strv_builder_new ();
  g_auto (GStrv) command_argv = NULL;
  g_auto (GStrv) wrapper_argv = NULL;
  gboolean substituted = FALSE;
  g_autofree char *program = g_build_filename (install_path, executable, NULL);

  g_strv_builder_add (command, program);
  if (arguments != NULL)
    g_strv_builder_addv (command, (const char **) arguments);
  if (options != NULL && options->extra_arguments != NULL)
    g_strv_builder_addv (command, (const char **) options->extra_arguments);
  command_argv = g_strv_builder_end (command);

  if (options == NULL || options->wrapper == NULL || options->wrapper[0] == '\0')
    return g_steal_pointer (&command_argv);

  if (!g_shell_parse_argv (options->wrapper, NULL, &wrapper_argv, error))
    {
      g_prefix_error (error, "Invalid wrapper command \"%s\": ", options->wrapper);
      if (error != NULL && (*error)->domain != MIST_ERROR)
        {
          GError *original = *error;

          *error = g_error_new_literal (MIST_ERROR, MIST_ERROR_INVALID_DATA, original->message);
          g_error_free (original);
        }
      return NULL;
    }
  for (guint i = 0; wrapper_argv[i] != NULL; i++)
    {
      if (g_strcmp0 (wrapper_argv[i], COMMAND_TOKEN) == 0)
        {
          g_strv_builder_addv (result, (const char **) command_argv);
          substituted = TRUE;
        }
      else
        {
          g_strv_builder_add (result, wrapper_argv[i]);
        }
    }
  if (!substituted)
    g_strv_builder_addv (result, (const char **) command_argv);
  return g_strv_builder_end (result);
}

/* Running */

typedef struct
{
  char *game_id;
  MistStateDb *db;
  MistLaunchOptions options;
  char **extra_arguments;
  GHashTable *extra_environment;
  char *wrapper;

  /* Filled in by prepare_in_thread(). */
  char **argv;
  char **envp;
  char *working_directory;
  int log_fd;
  gint64 session_id;

  GSubprocess *process;
  gulong cancel_handler;
  int wait_status;
} Launch;

static void
launch_free (gpointer data)
{
  Launch *launch = data;

  g_free (launch->game_id);
  mist_state_db_unref (launch->db);
  g_strfreev (launch->extra_arguments);
  g_clear_pointer (&launch->extra_environment, g_hash_table_unref);
  g_free (launch->wrapper);
  g_strfreev (launch->argv);
  g_strfreev (launch->envp);
  g_free (launch->working_directory);
  if (launch->log_fd >= 0)
    close (launch->log_fd);
  g_clear_object (&launch->process);
  g_free (launch);
}

static int
open_log (const char *game_id, GError **error)
{
  g_autofree char *path = mist_launcher_get_log_path (game_id);
  g_autofree char *folder = g_path_get_dirname (path);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format_iso8601 (now);
  g_autofree char *header = NULL;
  int fd;

  if (g_mkdir_with_parents (folder, 0700) != 0 ||
      (fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Failed to open the game log %s: %s", path, g_strerror (saved_errno));
      return -1;
    }
  header = g_strdup_printf ("--- %s: started by Mist\n", stamp);
  if (write (fd, header, strlen (header)) < 0)
    g_debug ("Failed to write to %s: %s", path, g_strerror (errno));
  return fd;
}

static char **
build_environment (const MistLaunchConfig *launch_config, GHashTable *extra)
{
  char **envp = g_get_environ ();
  GHashTableIter iter;
  gpointer name, value;

  g_hash_table_iter_init (&iter, launch_config->environment);
  while (g_hash_table_iter_next (&iter, &name, &value))
    envp = g_environ_setenv (envp, name, value, TRUE);
  if (extra != NULL)
    {
      g_hash_table_iter_init (&iter, extra);
      while (g_hash_table_iter_next (&iter, &name, &value))
        envp = g_environ_setenv (envp, name, value, TRUE);
    }
  return envp;
}

/* Fails while the game's folder contains files of two versions or a half-deleted game:
 * during a commit or an uninstall that is running in another process, or one that a
 * crash interrupted and the download queue has not completed yet. */
static gboolean
check_not_committing (MistStateDb *db, const char *game_id, GError **error)
{
  g_autoptr (MistJournalEntry) entry = NULL;
  g_autofree char *version = NULL;

  if (!install_get_journal_entry (db, game_id, &entry, error))
    return FALSE;
  if (entry == NULL || entry->state != MIST_JOURNAL_STATE_COMMITTING)
    return TRUE;
  version = entry->target_name[0] != '\0'
              ? g_strdup (entry->target_name)
              : g_strdup_printf ("%" G_GINT64_FORMAT, entry->target_ordinal);
  if (entry->kind == MIST_JOB_KIND_UNINSTALL)
    g_set_error (error, MIST_ERROR, MIST_ERROR_BUSY,
                 "%s is being uninstalled. If no launcher or mist-cli is running, run "
                 "“mist-cli queue” to complete the uninstall.",
                 game_id);
  else
    g_set_error (error, MIST_ERROR, MIST_ERROR_BUSY,
                 "The update of %s to version %s has not finished placing its files. Wait for "
                 "it to finish; if no launcher or mist-cli is running, run “mist-cli queue” to "
                 "complete it.",
                 game_id, version);
  return FALSE;
}

static void
prepare_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Launch *launch = data;
  g_autoptr (MistInstalledGame) game = NULL;
  g_autoptr (MistManifest) manifest = NULL;
  g_autofree char *program = NULL;
  const MistLaunchConfig *launch_config;
  GError *error = NULL;

  game = mist_state_db_get_installed (launch->db, launch->game_id, &error);
  if (game == NULL && error == NULL)
    error = g_error_new (MIST_ERROR, MIST_ERROR_NOT_FOUND,
                         "%s is not installed: install it first", launch->game_id);
  if (game != NULL && !check_not_committing (launch->db, launch->game_id, &error))
    goto failed;
  if (game != NULL)
    manifest = mist_manifest_new_from_json (game->manifest_json, -1, &error);
  if (manifest == NULL)
    goto failed;

  launch_config = mist_manifest_get_launch (manifest);
  if (launch_config == NULL)
    {
      error = g_error_new (MIST_ERROR, MIST_ERROR_NOT_FOUND,
                           "%s has no launch configuration: the game's publisher has to set "
                           "one (mistpipe)",
                           launch->game_id);
      goto failed;
    }
  program = g_build_filename (game->install_path, launch_config->executable, NULL);
  if (!g_file_test (program, G_FILE_TEST_IS_EXECUTABLE))
    {
      error = g_error_new (MIST_ERROR, MIST_ERROR_NOT_FOUND,
                           "The game's executable %s is missing or not executable: repair "
                           "the game",
                           program);
      goto failed;
    }

  launch->argv = mist_launcher_build_argv (game->install_path, launch_config->executable,
                                           (const char *const *) launch_config->arguments,
                                           &launch->options, &error);
  if (launch->argv == NULL)
    goto failed;
  launch->envp = build_environment (launch_config, launch->extra_environment);
  launch->working_directory = g_build_filename (game->install_path,
                                                launch_config->working_directory, NULL);
  launch->log_fd = open_log (launch->game_id, &error);
  if (launch->log_fd < 0)
    goto failed;
  launch->session_id = mist_state_db_session_start (launch->db, launch->game_id,
                                                    g_get_real_time () / G_USEC_PER_SEC,
                                                    &error);
  if (launch->session_id <= 0)
    goto failed;

  g_task_return_boolean (task, TRUE);
  return;

failed:
  g_prefix_error (&error, "Failed to launch %s: ", launch->game_id);
  g_task_return_error (task, error);
}

static void
end_session_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Launch *launch = data;
  g_autoptr (GError) error = NULL;

  if (!mist_state_db_session_end (launch->db, launch->session_id,
                                  g_get_real_time () / G_USEC_PER_SEC, &error))
    g_warning ("Failed to record the end of the play session of %s: %s", launch->game_id,
               error->message);
  g_task_return_boolean (task, TRUE);
}

static void
on_session_ended (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;

  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
on_game_exited (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Launch *launch = g_task_get_task_data (task);
  g_autofree char *running_path = get_running_path (launch->game_id);
  g_autoptr (GTask) end_task = NULL;
  g_autoptr (GError) error = NULL;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error))
    g_warning ("Failed to wait for %s: %s", launch->game_id, error->message);
  g_cancellable_disconnect (g_task_get_cancellable (task), launch->cancel_handler);
  launch->cancel_handler = 0;
  launch->wait_status = g_subprocess_get_status (launch->process);
  g_unlink (running_path);

  end_task = g_task_new (NULL, NULL, on_session_ended, task);
  g_task_set_task_data (end_task, launch, NULL);
  g_task_run_in_thread (end_task, end_session_in_thread);
}

static void
on_cancelled (GCancellable *cancellable, gpointer data)
{
  GSubprocess *process = data;

  g_subprocess_send_signal (process, SIGTERM);
}

static gboolean
mark_running (const char *game_id, const char *pid, GError **error)
{
  g_autofree char *path = get_running_path (game_id);
  g_autofree char *folder = g_path_get_dirname (path);

  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Failed to create %s: %s", folder, g_strerror (saved_errno));
      return FALSE;
    }
  return g_file_set_contents (path, pid, -1, error);
}

static void
on_prepared (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Launch *launch = g_task_get_task_data (task);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  const char *pid;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE |
                                        G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_subprocess_launcher_set_cwd (launcher, launch->working_directory);
  g_subprocess_launcher_set_environ (launcher, launch->envp);
  g_subprocess_launcher_take_stdout_fd (launcher, launch->log_fd);
  launch->log_fd = -1;
  launch->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) launch->argv,
                                                  &error);
  if (launch->process == NULL)
    {
      g_prefix_error (&error, "Failed to start %s: ", launch->game_id);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  /* The identifier is NULL once the child has exited, which a short game can do already. */
  pid = g_subprocess_get_identifier (launch->process);
  if (pid != NULL && !mark_running (launch->game_id, pid, &error))
    {
      g_warning ("Updates of %s are not blocked while it runs: %s", launch->game_id,
                 error->message);
      g_clear_error (&error);
    }
  if (g_task_get_cancellable (task) != NULL)
    launch->cancel_handler = g_cancellable_connect (g_task_get_cancellable (task),
                                                    G_CALLBACK (on_cancelled),
                                                    g_object_ref (launch->process),
                                                    g_object_unref);
  /* The game's exit is waited for even after a cancellation, which only sends SIGTERM. */
  g_subprocess_wait_async (launch->process, NULL, on_game_exited, task);
}

void
mist_launcher_run_async (MistStateDb *db,
                         const char *game_id,
                         const MistLaunchOptions *options,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (GTask) prepare = NULL;
  Launch *launch = g_new0 (Launch, 1);

  g_task_set_source_tag (task, mist_launcher_run_async);
  g_task_set_task_data (task, launch, launch_free);
  launch->game_id = g_strdup (game_id);
  launch->db = mist_state_db_ref (db);
  launch->log_fd = -1;
  if (options != NULL)
    {
      launch->extra_arguments = g_strdupv ((char **) options->extra_arguments);
      if (options->extra_environment != NULL)
        launch->extra_environment = g_hash_table_ref (options->extra_environment);
      launch->wrapper = g_strdup (options->wrapper);
    }
  launch->options.extra_arguments = (const char *const *) launch->extra_arguments;
  launch->options.extra_environment = launch->extra_environment;
  launch->options.wrapper = launch->wrapper;

  if (mist_launcher_is_running (game_id))
    {
      g_task_return_new_error (task, MIST_ERROR, MIST_ERROR_BUSY, "%s is already running",
                               game_id);
      g_object_unref (task);
      return;
    }

  prepare = g_task_new (NULL, cancellable, on_prepared, task);
  g_task_set_task_data (prepare, launch, NULL);
  g_task_run_in_thread (prepare, prepare_in_thread);
}

gboolean
mist_launcher_run_finish (GAsyncResult *result, int *wait_status, GError **error)
{
  Launch *launch;

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  launch = g_task_get_task_data (G_TASK (result));
  if (wait_status != NULL)
    *wait_status = launch->wait_status;
  return TRUE;
}
