/* mist-cli-jobs.c: install, update, repair and the queue, with progress output
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-cli-private.h"
#include "mist-error.h"

#include <stdio.h>
#include <unistd.h>

/* Progress */

typedef struct
{
  Cli *cli;
  GPtrArray *watched;    /* MistJob *, owned: the jobs this command waits for */
  GHashTable *finished;  /* MistJob * set, unowned */
  gboolean terminal;     /* standard error is a terminal: one status line, redrawn */
  gint64 last_draw;
  GHashTable *last_step; /* MistJob * → percent step last printed, when not a terminal */
  GHashTable *applying;  /* MistJob * set, unowned: the jobs whose last phase was applying */
} Progress;

static void
progress_clear_line (Progress *progress)
{
  if (progress->terminal)
    g_printerr ("\r\033[K");
}

static void
draw_status (Progress *progress, MistJob *job)
{
  guint64 done = mist_job_get_bytes_done (job);
  guint64 total = mist_job_get_bytes_total (job);
  guint percent = total > 0 ? (guint) (done * 100 / total) : 0;
  g_autofree char *done_text = cli_format_size (done);
  g_autofree char *total_text = cli_format_size (total);
  const char *phase = mist_job_phase_to_string (mist_job_get_phase (job));

  if (progress->terminal)
    {
      g_autofree char *speed = cli_format_size (mist_job_get_speed (job));
      gint64 eta = mist_job_get_eta (job);
      char bar[21];
      guint filled = percent / 5;

      for (guint i = 0; i < 20; i++)
        bar[i] = i < filled ? '#' : '-';
      bar[20] = '\0';
      progress_clear_line (progress);
      if (eta >= 0)
        g_printerr ("%s %s [%s] %3u%% %s of %s, %s/s, %" G_GINT64_FORMAT ":%02" G_GINT64_FORMAT
                    " left",
                    mist_job_get_game_id (job), phase, bar, percent, done_text, total_text, speed,
                    eta / 60, eta % 60);
      else
        g_printerr ("%s %s [%s] %3u%% %s of %s", mist_job_get_game_id (job), phase, bar,
                    percent, done_text, total_text);
      return;
    }

  /* Without a terminal: one line per 10 % step. */
  {
    guint step = percent / 10;
    gpointer last = g_hash_table_lookup (progress->last_step, job);

    if (last != NULL && GPOINTER_TO_UINT (last) - 1 == step)
      return;
    g_hash_table_insert (progress->last_step, job, GUINT_TO_POINTER (step + 1));
    g_printerr ("%s: %s %u%% (%s of %s)\n", mist_job_get_game_id (job), phase, step * 10,
                done_text, total_text);
  }
}

static void
on_bytes_done (GObject *object, GParamSpec *pspec, gpointer data)
{
  Progress *progress = data;
  gint64 now = g_get_monotonic_time ();

  if (progress->terminal && now - progress->last_draw < G_USEC_PER_SEC / 10)
    return;
  progress->last_draw = now;
  draw_status (progress, MIST_JOB (object));
}

static void
on_phase (GObject *object, GParamSpec *pspec, gpointer data)
{
  Progress *progress = data;
  MistJob *job = MIST_JOB (object);
  MistJobPhase phase = mist_job_get_phase (job);

  if (phase == MIST_JOB_PHASE_APPLYING)
    g_hash_table_add (progress->applying, job);
  else if (phase == MIST_JOB_PHASE_PLANNING || phase == MIST_JOB_PHASE_DOWNLOADING)
    g_hash_table_remove (progress->applying, job);
  if (phase == MIST_JOB_PHASE_FINISHED || phase == MIST_JOB_PHASE_WAITING)
    return;
  /* Each phase counts its own bytes, so its first step is printed even when the last
   * phase ended on the same step. */
  g_hash_table_remove (progress->last_step, job);
  progress_clear_line (progress);
  if (!progress->terminal)
    g_printerr ("%s: %s\n", mist_job_get_game_id (job), mist_job_phase_to_string (phase));
  else
    draw_status (progress, job);
}

static void
on_job_finished (MistQueue *queue, MistJob *job, gpointer data)
{
  Progress *progress = data;

  if (!g_ptr_array_find (progress->watched, job, NULL))
    return;
  g_hash_table_add (progress->finished, job);
  progress_clear_line (progress);
  switch (mist_job_get_state (job))
    {
    case MIST_JOB_STATE_DONE:
      g_printerr ("%s: done\n", mist_job_get_game_id (job));
      break;
    case MIST_JOB_STATE_FAILED:
      g_printerr ("%s: failed\n", mist_job_get_game_id (job));
      break;
    case MIST_JOB_STATE_CANCELLED:
      g_printerr ("%s: cancelled\n", mist_job_get_game_id (job));
      break;
    default:
      /* A job that could not start here (another process runs it) has an error, which
       * run_jobs() prints. */
      if (mist_job_get_error (job) != NULL)
        break;
      if (g_hash_table_contains (progress->applying, job))
        {
          g_printerr ("%s: stopped before the commit; the installed files are unchanged\n",
                      mist_job_get_game_id (job));
          break;
        }
      g_printerr ("%s: stopped at %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes\n",
                  mist_job_get_game_id (job), mist_job_get_bytes_done (job),
                  mist_job_get_bytes_total (job));
      break;
    }
}

/* Waits until every job in jobs finished (or stopped), printing progress, then stops
 * the queue so that other jobs stay queued for the next run. Returns the exit status. */
static int
run_jobs (Cli *cli, GPtrArray *jobs)
{
  Progress progress = { 0 };
  int status = CLI_EXIT_OK;
  gulong finished_handler;

  progress.cli = cli;
  progress.watched = g_ptr_array_new_with_free_func (g_object_unref);
  progress.finished = g_hash_table_new (NULL, NULL);
  progress.last_step = g_hash_table_new (NULL, NULL);
  progress.applying = g_hash_table_new (NULL, NULL);
  progress.terminal = isatty (STDERR_FILENO);
  for (guint i = 0; i < jobs->len; i++)
    {
      MistJob *job = g_ptr_array_index (jobs, i);

      g_ptr_array_add (progress.watched, g_object_ref (job));
      g_signal_connect (job, "notify::bytes-done", G_CALLBACK (on_bytes_done), &progress);
      g_signal_connect (job, "notify::phase", G_CALLBACK (on_phase), &progress);
    }
  finished_handler = g_signal_connect (cli->queue, "job-finished", G_CALLBACK (on_job_finished),
                                       &progress);
  mist_queue_block_starts (cli->queue, FALSE);

  /* After Ctrl-C, a job waiting behind a stopped one never starts: stop waiting once
   * nothing runs any more. */
  while (g_hash_table_size (progress.finished) < progress.watched->len
         && !(cli->interrupted && !mist_queue_is_busy (cli->queue)))
    g_main_context_iteration (NULL, TRUE);

  /* Other jobs stay queued in the database for the next run. */
  mist_queue_stop (cli->queue);
  while (mist_queue_is_busy (cli->queue))
    g_main_context_iteration (NULL, TRUE);

  for (guint i = 0; i < progress.watched->len; i++)
    {
      MistJob *job = g_ptr_array_index (progress.watched, i);
      MistJobState state = mist_job_get_state (job);
      const GError *error = mist_job_get_error (job);

      g_signal_handlers_disconnect_by_data (job, &progress);
      if (error != NULL && state != MIST_JOB_STATE_DONE && state != MIST_JOB_STATE_CANCELLED)
        status = cli_fail (cli, error);
      else if (state == MIST_JOB_STATE_FAILED)
        {
          g_printerr ("mist-cli: %s\n", mist_job_get_error_message (job));
          status = CLI_EXIT_FAILED;
        }
      else if (state != MIST_JOB_STATE_DONE && state != MIST_JOB_STATE_CANCELLED &&
               status == CLI_EXIT_OK)
        status = CLI_EXIT_INTERRUPTED;
    }
  if (status == CLI_EXIT_INTERRUPTED)
    g_printerr ("mist-cli: interrupted; run the same command again to continue\n");

  g_signal_handler_disconnect (cli->queue, finished_handler);
  g_ptr_array_unref (progress.watched);
  g_hash_table_unref (progress.finished);
  g_hash_table_unref (progress.last_step);
  g_hash_table_unref (progress.applying);
  return status;
}

/* Loads the saved queue. With start FALSE no job starts (for listing and editing), else
 * the jobs start in run_jobs(). With only_game set, only the jobs of that game start. */
static gboolean
load_queue (Cli *cli, gboolean start, const char *only_game, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  if (!cli_open_queue (cli, error))
    return FALSE;
  /* run_jobs() lets the jobs start, once the command has queued its own: a loaded job
   * that the command replaces must not start first. */
  if (start)
    mist_queue_block_starts (cli->queue, TRUE);
  else
    mist_queue_stop (cli->queue);
  mist_queue_set_only_game (cli->queue, only_game);
  mist_queue_load_async (cli->queue, cli->cancellable, cli_on_done, &result);
  return mist_queue_load_finish (cli->queue, cli_wait (&result), error);
}

static MistJob *
find_job_for_game (Cli *cli, const char *game_id)
{
  GPtrArray *jobs = mist_queue_get_jobs (cli->queue);

  for (guint i = 0; i < jobs->len; i++)
    {
      MistJob *job = g_ptr_array_index (jobs, i);

      if (g_strcmp0 (mist_job_get_game_id (job), game_id) == 0)
        return job;
    }
  return NULL;
}

/* "update to version 3", for messages about a job. */
static char *
describe_target (MistJob *job)
{
  return g_strdup_printf ("%s to version %" G_GINT64_FORMAT,
                          mist_job_kind_to_string (mist_job_get_kind (job)),
                          mist_job_get_target_ordinal (job));
}

/* Prints in one line what the queue did with previous, the game's job before the
 * request (may be NULL), now that the request returned job. */
static void
report_queued (MistJob *previous,
               const char *previous_state,
               const char *previous_error,
               MistJob *job)
{
  const char *game_id = mist_job_get_game_id (job);
  g_autofree char *old_target = NULL;
  g_autofree char *new_target = NULL;

  if (previous == NULL)
    return;
  if (previous == job && previous_error != NULL)
    g_printerr ("%s: retrying job %" G_GINT64_FORMAT ", which failed: %s\n", game_id,
                mist_job_get_id (job), previous_error);
  else if (previous == job)
    g_printerr ("%s: continuing job %" G_GINT64_FORMAT "\n", game_id, mist_job_get_id (job));
  else
    {
      old_target = describe_target (previous);
      new_target = describe_target (job);
      g_printerr ("%s: replacing job %" G_GINT64_FORMAT " (%s, %s%s%s) with job %" G_GINT64_FORMAT
                  " (%s)\n",
                  game_id, mist_job_get_id (previous), old_target, previous_state,
                  previous_error != NULL ? ": " : "", previous_error != NULL ? previous_error : "",
                  mist_job_get_id (job), new_target);
    }
}

/* Queues a job for game_id, or picks up the one already queued (after an interruption or
 * a failure), and adds it to jobs. The queue resumes a job that goes to the requested
 * version, and replaces one that goes elsewhere unless it runs (mist_queue_add_async()).
 * Version 0 is the newest, and install_path NULL any folder. game is the game as just
 * read from the server, or NULL to have the queue look it up. */
static gboolean
queue_job (Cli *cli,
           const char *game_id,
           const MistGameEntry *game,
           MistJobKind kind,
           gint64 version,
           const char *install_path,
           GPtrArray *jobs,
           GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (MistJob) previous = NULL;
  g_autofree char *previous_error = NULL;
  const char *previous_state = NULL;
  MistJob *job;

  /* The queue drops a replaced job: keep what the report needs. */
  job = find_job_for_game (cli, game_id);
  if (job != NULL)
    {
      previous = g_object_ref (job);
      previous_state = mist_job_state_to_string (mist_job_get_state (job));
      if (mist_job_get_state (job) == MIST_JOB_STATE_FAILED)
        previous_error = g_strdup (mist_job_get_error_message (job));
    }

  if (game != NULL)
    mist_queue_add_for_game_async (cli->queue, game, kind, version, install_path, cli->cancellable,
                                   cli_on_done, &result);
  else
    mist_queue_add_async (cli->queue, game_id, kind, version, install_path, cli->cancellable,
                          cli_on_done, &result);
  job = mist_queue_add_finish (cli->queue, cli_wait (&result), error);
  if (job == NULL)
    return FALSE;
  report_queued (previous, previous_state, previous_error, job);
  g_ptr_array_add (jobs, job);
  return TRUE;
}

/* Sets *ordinal to the ordinal of game_id's version named name, as the server lists it. */
static gboolean
find_version_by_name (
  Cli *cli, const char *game_id, const char *name, gint64 *ordinal, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (MistGameEntry) game = NULL;
  g_autofree char *versions = NULL;

  mist_client_get_game_async (cli->client, game_id, cli->cancellable, cli_on_done, &result);
  game = mist_client_get_game_finish (cli->client, cli_wait (&result), error);
  if (game == NULL)
    return FALSE;
  for (guint i = 0; i < game->versions->len; i++)
    {
      const MistVersionEntry *version = g_ptr_array_index (game->versions, i);

      if (g_strcmp0 (version->name, name) == 0)
        {
          *ordinal = version->ordinal;
          return TRUE;
        }
    }
  versions = mist_game_entry_describe_versions (game);
  g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND,
               "%s has no version “%s” on the server; its versions are: %s", game_id, name,
               versions);
  return FALSE;
}

int
cli_command_install (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) jobs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *dir = NULL;
  g_autofree char *version_text = NULL;
  gint64 version = 0;
  int status = 0;
  GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_STRING, &version_text,
      "Version to install, by ordinal or name (default: the newest)", "VERSION" },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir,
      "Install folder (default: ~/.local/share/mist/games/GAME)", "DIR" },
    { NULL },
  };

  if (!cli_parse_options ("install", "GAME", entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return cli_usage_error ("install", "expected one game");
  if (!cli_connect (cli, TRUE, &error) || !load_queue (cli, TRUE, argv[1], &error))
    return cli_fail (cli, error);
  /* A version is an ordinal from 1, or else the name the publisher gave it. */
  if (version_text != NULL
      && !g_ascii_string_to_signed (version_text, 10, 1, G_MAXINT64, &version, NULL)
      && !find_version_by_name (cli, argv[1], version_text, &version, &error))
    return cli_fail (cli, error);
  if (!queue_job (cli, argv[1], NULL, MIST_JOB_KIND_INSTALL, version, dir, jobs, &error))
    {
      status = cli_fail (cli, error);
      /* An unknown version lists the versions itself; an unknown game gets the command
       * that lists the games. */
      if (g_error_matches (error, MIST_ERROR, MIST_ERROR_NOT_FOUND)
          && strstr (error->message, "version") == NULL)
        g_printerr ("mist-cli: `mist-cli games` lists the games you can install\n");
      return status;
    }
  return run_jobs (cli, jobs);
}

int
cli_command_repair (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) jobs = g_ptr_array_new_with_free_func (g_object_unref);
  int status = 0;

  if (!cli_parse_options ("repair", "GAME", NULL, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return cli_usage_error ("repair", "expected one game");
  if (!cli_connect (cli, TRUE, &error) || !load_queue (cli, TRUE, argv[1], &error)
      || !queue_job (cli, argv[1], NULL, MIST_JOB_KIND_REPAIR, 0, NULL, jobs, &error))
    return cli_fail (cli, error);
  return run_jobs (cli, jobs);
}

int
cli_command_update (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) jobs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) installed = NULL;
  g_autoptr (GPtrArray) games = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  gboolean all = FALSE;
  int status = 0;
  GOptionEntry entries[] = {
    { "all", 0, 0, G_OPTION_ARG_NONE, &all, "Update every installed game", NULL },
    { NULL },
  };

  if (!cli_parse_options ("update", "GAME|--all", entries, &argc, &argv, &status))
    return status;
  if ((all && argc != 1) || (!all && argc != 2))
    return cli_usage_error ("update", "expected one game or --all");
  if (!cli_connect (cli, TRUE, &error) || !load_queue (cli, TRUE, all ? NULL : argv[1], &error))
    return cli_fail (cli, error);

  installed = mist_state_db_list_installed (cli->db, &error);
  if (installed == NULL)
    return cli_fail (cli, error);
  mist_client_list_games_async (cli->client, cli->cancellable, cli_on_done, &result);
  games = mist_client_list_games_finish (cli->client, cli_wait (&result), &error);
  if (games == NULL)
    return cli_fail (cli, error);

  for (guint i = 0; i < installed->len; i++)
    {
      MistInstalledGame *local = g_ptr_array_index (installed, i);
      const MistGameEntry *remote = NULL;

      if (!all && g_strcmp0 (local->game_id, argv[1]) != 0)
        continue;
      for (guint j = 0; j < games->len && remote == NULL; j++)
        if (g_strcmp0 (((MistGameEntry *) g_ptr_array_index (games, j))->slug,
                       local->game_id) == 0)
          remote = g_ptr_array_index (games, j);
      if (remote == NULL || remote->latest == NULL)
        {
          g_printerr ("%s: not offered by the server any more\n", local->game_id);
          continue;
        }
      if (remote->latest->ordinal == local->version_ordinal)
        {
          g_printerr ("%s: %s is up to date\n", local->game_id, local->version_name);
          continue;
        }
      /* The list entry has the newest version, so the queue need not look the game up. */
      if (!queue_job (cli, local->game_id, remote, MIST_JOB_KIND_UPDATE, remote->latest->ordinal,
                      NULL, jobs, &error))
        return cli_fail (cli, error);
    }

  if (!all && jobs->len == 0)
    {
      gboolean is_installed = FALSE;

      for (guint i = 0; i < installed->len; i++)
        is_installed |= g_strcmp0 (((MistInstalledGame *) g_ptr_array_index (installed, i))
                                     ->game_id, argv[1]) == 0;
      if (!is_installed)
        {
          g_printerr ("mist-cli: %s is not installed: install it with `mist-cli install %s`\n",
                      argv[1], argv[1]);
          return CLI_EXIT_NOT_FOUND;
        }
    }
  if (jobs->len == 0)
    return CLI_EXIT_OK;
  return run_jobs (cli, jobs);
}

/* The queue command */

static void
print_job (MistJob *job, guint position)
{
  g_autofree char *done = cli_format_size (mist_job_get_bytes_done (job));
  g_autofree char *total = cli_format_size (mist_job_get_bytes_total (job));

  g_print ("%2u. job %-4" G_GINT64_FORMAT " %-20s %-7s to version %-4" G_GINT64_FORMAT
           " %-9s %s of %s%s%s\n",
           position, mist_job_get_id (job), mist_job_get_game_id (job),
           mist_job_kind_to_string (mist_job_get_kind (job)), mist_job_get_target_ordinal (job),
           mist_job_state_to_string (mist_job_get_state (job)), done, total,
           mist_job_get_error_message (job) != NULL ? ": " : "",
           mist_job_get_error_message (job) != NULL ? mist_job_get_error_message (job) : "");
}

static JsonNode *
jobs_to_json (GPtrArray *jobs)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_array (builder);
  for (guint i = 0; i < jobs->len; i++)
    {
      MistJob *job = g_ptr_array_index (jobs, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_int_value (builder, mist_job_get_id (job));
      json_builder_set_member_name (builder, "game");
      json_builder_add_string_value (builder, mist_job_get_game_id (job));
      json_builder_set_member_name (builder, "kind");
      json_builder_add_string_value (builder, mist_job_kind_to_string (mist_job_get_kind (job)));
      json_builder_set_member_name (builder, "target_version");
      json_builder_add_int_value (builder, mist_job_get_target_ordinal (job));
      json_builder_set_member_name (builder, "state");
      json_builder_add_string_value (builder,
                                     mist_job_state_to_string (mist_job_get_state (job)));
      json_builder_set_member_name (builder, "bytes_done");
      json_builder_add_int_value (builder, (gint64) mist_job_get_bytes_done (job));
      json_builder_set_member_name (builder, "bytes_total");
      json_builder_add_int_value (builder, (gint64) mist_job_get_bytes_total (job));
      json_builder_set_member_name (builder, "install_path");
      json_builder_add_string_value (builder, mist_job_get_install_path (job));
      json_builder_set_member_name (builder, "error");
      if (mist_job_get_error_message (job) != NULL)
        json_builder_add_string_value (builder, mist_job_get_error_message (job));
      else
        json_builder_add_null_value (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}

static MistJob *
parse_job_id (Cli *cli, const char *text, GError **error)
{
  char *end = NULL;
  gint64 id = g_ascii_strtoll (text, &end, 10);
  MistJob *job = (end != text && *end == '\0') ? mist_queue_lookup (cli->queue, id) : NULL;

  if (job == NULL)
    {
      job = find_job_for_game (cli, text);
      if (job == NULL)
        g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND,
                     "No job %s in the queue: `mist-cli queue list` shows the jobs", text);
    }
  return job;
}

/* Runs every queued job until none is left to run. */
static int
run_queue (Cli *cli)
{
  g_autoptr (GPtrArray) jobs = g_ptr_array_new_with_free_func (g_object_unref);
  GPtrArray *all = mist_queue_get_jobs (cli->queue);

  for (guint i = 0; i < all->len; i++)
    {
      MistJob *job = g_ptr_array_index (all, i);
      MistJobState state = mist_job_get_state (job);

      if (state == MIST_JOB_STATE_QUEUED || state == MIST_JOB_STATE_RUNNING)
        g_ptr_array_add (jobs, g_object_ref (job));
    }
  if (jobs->len == 0)
    {
      g_printerr ("No job to run\n");
      /* Failed and paused jobs wait for the user: print how to resume or cancel each. */
      for (guint i = 0; i < all->len; i++)
        {
          MistJob *job = g_ptr_array_index (all, i);
          MistJobState state = mist_job_get_state (job);
          gint64 id = mist_job_get_id (job);

          if (state == MIST_JOB_STATE_FAILED)
            g_printerr ("Job %" G_GINT64_FORMAT " (%s %s) failed: %s\n"
                        "  Retry it with `mist-cli queue resume %" G_GINT64_FORMAT
                        "`, or drop it with `mist-cli queue cancel %" G_GINT64_FORMAT "`\n",
                        id, mist_job_kind_to_string (mist_job_get_kind (job)),
                        mist_job_get_game_id (job), mist_job_get_error_message (job), id, id);
          else if (state == MIST_JOB_STATE_PAUSED)
            g_printerr ("Job %" G_GINT64_FORMAT
                        " (%s %s) is paused: resume it with `mist-cli queue resume "
                        "%" G_GINT64_FORMAT "`\n",
                        id, mist_job_kind_to_string (mist_job_get_kind (job)),
                        mist_job_get_game_id (job), id);
        }
      return CLI_EXIT_OK;
    }
  return run_jobs (cli, jobs);
}

int
cli_command_queue (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  const char *action = "list";
  gboolean all = FALSE;
  gboolean json = FALSE;
  gboolean starts_jobs;
  int status = 0;
  MistJob *job = NULL;
  GOptionEntry entries[] = {
    { "all", 0, 0, G_OPTION_ARG_NONE, &all, "pause or resume every job", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL },
  };

  if (!cli_parse_options ("queue", "[list|run|pause JOB|resume JOB|move JOB POSITION|cancel JOB]",
                          entries, &argc, &argv, &status))
    return status;
  if (argc >= 2)
    action = argv[1];
  starts_jobs = g_strcmp0 (action, "run") == 0 || g_strcmp0 (action, "resume") == 0;

  if (!cli_connect (cli, starts_jobs, &error) || !cli_open_queue (cli, &error))
    return cli_fail (cli, error);
  /* Nothing starts while loading; run and resume start the jobs below. */
  if (!load_queue (cli, FALSE, NULL, &error))
    return cli_fail (cli, error);

  if (g_strcmp0 (action, "list") == 0)
    {
      GPtrArray *jobs = mist_queue_get_jobs (cli->queue);

      if (json || cli->json)
        {
          g_autoptr (JsonNode) root = jobs_to_json (jobs);

          cli_print_json (root);
        }
      else if (jobs->len == 0)
        g_print ("The queue is empty\n");
      for (guint i = 0; !(json || cli->json) && i < jobs->len; i++)
        print_job (g_ptr_array_index (jobs, i), i + 1);
      return CLI_EXIT_OK;
    }

  if (!g_strv_contains ((const char *const[]){ "run", "pause", "resume", "move", "cancel", NULL },
                        action))
    return cli_usage_error (
      "queue", "unknown action “%s”: use list, run, pause, resume, move or cancel", action);
  if (all && g_strcmp0 (action, "pause") != 0 && g_strcmp0 (action, "resume") != 0)
    return cli_usage_error ("queue", "--all works with pause and resume only");
  if (g_strcmp0 (action, "run") != 0 && !(all && argc == 2) && argc < 3)
    return cli_usage_error (
      "queue", "%s needs a job id or game%s", action,
      g_strcmp0 (action, "pause") == 0 || g_strcmp0 (action, "resume") == 0 ? " (or --all)" : "");
  if (argc >= 3 && (job = parse_job_id (cli, argv[2], &error)) == NULL)
    return cli_fail (cli, error);

  if (g_strcmp0 (action, "pause") == 0)
    {
      if (all)
        mist_queue_pause_all (cli->queue);
      else if (!mist_queue_pause (cli->queue, job, &error))
        return cli_fail (cli, error);
      return CLI_EXIT_OK;
    }
  if (g_strcmp0 (action, "cancel") == 0)
    {
      gint64 job_id;

      if (job == NULL)
        return cli_usage_error ("queue", "cancel needs a job");
      /* Cancelling drops the queue's reference, and with it the borrowed job. */
      job_id = mist_job_get_id (job);
      if (!mist_queue_cancel (cli->queue, job, &error))
        return cli_fail (cli, error);
      /* The job's staged files are deleted in the background. */
      while (mist_queue_is_busy (cli->queue))
        g_main_context_iteration (NULL, TRUE);
      g_print ("Cancelled job %" G_GINT64_FORMAT "\n", job_id);
      return CLI_EXIT_OK;
    }
  if (g_strcmp0 (action, "move") == 0)
    {
      char *end = NULL;
      guint64 position = argc == 4 ? g_ascii_strtoull (argv[3], &end, 10) : 0;

      if (job == NULL || argc != 4 || *end != '\0' || position < 1)
        return cli_usage_error ("queue", "move needs a job and a position from 1");
      if (!mist_queue_move (cli->queue, job, (guint) position - 1, &error))
        return cli_fail (cli, error);
      return CLI_EXIT_OK;
    }
  if (g_strcmp0 (action, "resume") == 0 || g_strcmp0 (action, "run") == 0)
    {

      if (g_strcmp0 (action, "resume") == 0)
        {
          if (all)
            mist_queue_resume_all (cli->queue);
          else if (!mist_queue_resume (cli->queue, job, &error))
            return cli_fail (cli, error);
        }
      /* The queue was loaded stopped: load a fresh one that runs. */
      g_clear_object (&cli->queue);
      g_clear_object (&cli->downloader);
      if (!load_queue (cli, TRUE, NULL, &error))
        return cli_fail (cli, error);
      return run_queue (cli);
    }
  return cli_usage_error ("queue", "unknown action “%s”", action);
}
