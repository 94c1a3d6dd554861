/* mist-install-ops.c: verify, repair plans, uninstall, import, disk space and the async API
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-install.h"
#include "mist-config.h"
#include "mist-error.h"
#include "mist-fault.h"
#include "mist-hash.h"
#include "mist-install-fs.h"
#include "mist-install-private.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <dirent.h>
#include <unistd.h>

/* Returns the bytes available to this user on the file system of path or of its nearest
 * existing parent. */
static gboolean
measure_free_space (const char *path, guint64 *available, GError **error)
{
  g_autofree char *existing = g_strdup (path);
  struct statvfs info;

  while (statvfs (existing, &info) != 0)
    {
      char *parent;

      if (errno != ENOENT || g_str_equal (existing, "/") || g_str_equal (existing, "."))
        {
          install_fs_set_error (error, errno, "measure free space in", path);
          return FALSE;
        }
      parent = g_path_get_dirname (existing);
      g_free (existing);
      existing = parent;
    }
  *available = (guint64) info.f_bavail * info.f_frsize;
  return TRUE;
}

static void
set_no_space_error (GError **error, const char *path, guint64 needed, guint64 available, const char *cause)
{
  g_autofree char *needed_text = g_format_size (needed);
  g_autofree char *free_text = g_format_size (available);

  g_set_error (error, MIST_ERROR, MIST_ERROR_NO_SPACE, "Not enough space in %s: %s needed, %s free%s%s%s", path,
               needed_text, free_text, cause != NULL ? " (" : "", cause != NULL ? cause : "",
               cause != NULL ? ")" : "");
}

gboolean
mist_install_check_space (const char *path, guint64 needed, GError **error)
{
  guint64 available;

  if (!measure_free_space (path, &available, error))
    return FALSE;
  if (available < needed)
    {
      set_no_space_error (error, path, needed, available, NULL);
      return FALSE;
    }
  return TRUE;
}

void
install_explain_no_space (GError **error, const char *path, guint64 needed)
{
  g_autofree char *cause = NULL;
  guint64 available = 0;

  if (error == NULL || *error == NULL || !g_error_matches (*error, MIST_ERROR, MIST_ERROR_NO_SPACE) ||
      g_str_has_prefix ((*error)->message, "Not enough space in "))
    return;
  cause = g_strdup ((*error)->message);
  g_clear_error (error);
  measure_free_space (path, &available, NULL);
  set_no_space_error (error, path, needed, available, cause);
}

static MistManifest *
load_installed (MistStateDb *db, const char *game_id, MistInstalledGame **game, GError **error)
{
  g_autoptr (MistInstalledGame) installed = mist_state_db_get_installed (db, game_id, error);
  MistManifest *manifest;

  if (installed == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND, "%s is not installed", game_id);
      return NULL;
    }
  manifest = mist_manifest_new_from_json (installed->manifest_json, -1, error);
  if (manifest == NULL)
    {
      g_prefix_error (error, "The recorded manifest of %s is invalid: ", game_id);
      return NULL;
    }
  if (game != NULL)
    *game = g_steal_pointer (&installed);
  return manifest;
}

/* Checks that the file at path below root_fd is a regular file with the manifest's hash
 * and executable bit. A missing or unreadable file counts as wrong, and so does a game
 * binary that lost its executable bit, because the game would no longer start. Only
 * errors that stop the whole verification (cancellation) are returned. */
static gboolean
file_matches (int root_fd, const MistManifestFile *file, gboolean *matches, GCancellable *cancellable, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *actual = NULL;
  struct stat info;
  int fd = install_fs_open_read (root_fd, file->path, &local_error);

  *matches = FALSE;
  if (fd < 0)
    return TRUE;
  if (fstat (fd, &info) == 0 && S_ISREG (info.st_mode) && (guint64) info.st_size == file->size &&
      ((info.st_mode & S_IXUSR) != 0) == file->executable)
    actual = mist_sha256_hex_fd (fd, NULL, NULL, cancellable, &local_error);
  close (fd);
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  *matches = actual != NULL && strcmp (actual, file->sha256) == 0;
  return TRUE;
}

/* Adds what blocks path to obstructions, once per obstruction. */
static void
add_obstruction (int root_fd, const char *path, GPtrArray *obstructions)
{
  MistObstruction *obstruction = install_find_obstruction (root_fd, path);

  if (obstruction == NULL)
    return;
  for (guint i = 0; i < obstructions->len; i++)
    {
      const MistObstruction *other = g_ptr_array_index (obstructions, i);

      if (g_str_equal (other->path, obstruction->path))
        {
          mist_obstruction_free (obstruction);
          return;
        }
    }
  g_ptr_array_add (obstructions, obstruction);
}

/* Hashes every file of manifest below folder and returns the paths that differ, and what
 * blocks them into obstructions unless it is NULL. */
static GPtrArray *
verify_folder (const char *folder,
               MistManifest *manifest,
               GPtrArray *obstructions,
               MistInstallProgressFunc progress,
               gpointer user_data,
               GCancellable *cancellable,
               GError **error)
{
  g_autoptr (GPtrArray) bad = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *files = mist_manifest_get_files (manifest);
  MistInstallProgress state = { 0 };
  int root_fd = install_open_root (folder, FALSE, error);

  if (root_fd < 0)
    return NULL;
  state.phase = MIST_INSTALL_PHASE_VERIFYING;
  state.files_total = files->len;
  state.bytes_total = mist_manifest_get_total_size (manifest);
  for (guint i = 0; i < files->len; i++)
    {
      const MistManifestFile *file = g_ptr_array_index (files, i);
      gboolean matches;

      state.path = file->path;
      state.files_done = i;
      install_report (progress, user_data, &state);
      if (!file_matches (root_fd, file, &matches, cancellable, error))
        {
          close (root_fd);
          return NULL;
        }
      if (!matches)
        g_ptr_array_add (bad, g_strdup (file->path));
      if (!matches && obstructions != NULL)
        add_obstruction (root_fd, file->path, obstructions);
      state.bytes_done += file->size;
    }
  close (root_fd);
  state.path = NULL;
  state.files_done = files->len;
  install_report (progress, user_data, &state);
  return g_steal_pointer (&bad);
}

GPtrArray *
mist_install_verify (MistStateDb *db,
                     const char *game_id,
                     GPtrArray **obstructions,
                     MistInstallProgressFunc progress,
                     gpointer user_data,
                     GCancellable *cancellable,
                     GError **error)
{
  g_autoptr (MistInstalledGame) game = NULL;
  g_autoptr (MistManifest) manifest = load_installed (db, game_id, &game, error);
  g_autoptr (GPtrArray) found
    = g_ptr_array_new_with_free_func ((GDestroyNotify)mist_obstruction_free);
  GPtrArray *bad;

  if (manifest == NULL)
    return NULL;
  bad
    = verify_folder (game->install_path, manifest, found, progress, user_data, cancellable, error);
  for (guint i = 0; bad != NULL && i < found->len; i++)
    {
      g_autofree char *description = mist_obstruction_describe (g_ptr_array_index (found, i));

      g_message ("Verify of %s: %s", game_id, description);
    }
  if (bad != NULL && obstructions != NULL)
    *obstructions = g_steal_pointer (&found);
  if (bad == NULL)
    g_prefix_error (error, "Cannot verify %s: ", game_id);
  else if (bad->len > 0)
    g_message (g_dngettext (GETTEXT_PACKAGE,
                            "Verify of %s found %u wrong or missing file, the first is %s",
                            "Verify of %s found %u wrong or missing files, the first is %s",
                            bad->len),
               game_id, bad->len, (const char *) g_ptr_array_index (bad, 0));
  return bad;
}

MistPlan *
mist_install_plan_repair (MistStateDb *db,
                          const char *game_id,
                          GPtrArray *bad_paths,
                          MistManifest **manifest,
                          GError **error)
{
  g_autoptr (MistInstalledGame) game = NULL;
  g_autoptr (MistManifest) installed = load_installed (db, game_id, &game, error);
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  MistPlan *plan;

  if (installed == NULL)
    return NULL;
  for (guint i = 0; bad_paths != NULL && i < bad_paths->len; i++)
    g_ptr_array_add (paths, g_ptr_array_index (bad_paths, i));
  g_ptr_array_add (paths, NULL);
  plan = mist_plan_new_repair (game->version_ordinal, installed, (const char *const *) paths->pdata, error);
  if (plan == NULL)
    return NULL;
  mist_plan_set_version_names (plan, game->version_name, game->version_name);
  if (manifest != NULL)
    *manifest = g_steal_pointer (&installed);
  return plan;
}

/* Lists the regular files below dir_fd that are not in manifest, as paths relative to
 * the install folder. */
static void
collect_other_files (int dir_fd, const char *prefix, MistManifest *manifest, GPtrArray *kept)
{
  int fd = dup (dir_fd);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *entry;

  if (dir == NULL)
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  while ((entry = readdir (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      int child;

      if (g_str_equal (entry->d_name, ".") || g_str_equal (entry->d_name, ".."))
        continue;
      path = prefix[0] != '\0' ? g_strconcat (prefix, "/", entry->d_name, NULL) : g_strdup (entry->d_name);
      child = openat (dirfd (dir), entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child >= 0)
        {
          collect_other_files (child, path, manifest, kept);
          close (child);
        }
      else if (mist_manifest_lookup (manifest, path) == NULL)
        g_ptr_array_add (kept, g_steal_pointer (&path));
    }
  closedir (dir);
}

gboolean
install_uninstall_roll_forward (MistStateDb *db,
                                const MistJournalEntry *entry,
                                GPtrArray **kept_paths,
                                GError **error)
{
  g_autoptr (MistManifest) manifest = NULL;
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GPtrArray) kept = g_ptr_array_new_with_free_func (g_free);
  int root_fd;

  manifest = mist_manifest_new_from_json (entry->target_manifest_json, -1, error);
  if (manifest == NULL)
    return FALSE;
  files = mist_state_db_list_installed_files (db, entry->game_id, error);
  if (files == NULL)
    return FALSE;
  root_fd = install_open_root (entry->install_path, FALSE, NULL);

  for (guint i = 0; root_fd >= 0 && i < files->len; i++)
    {
      const MistInstalledFile *file = g_ptr_array_index (files, i);
      const char *name;
      int parent_fd = install_fs_open_parent (root_fd, file->path, FALSE, &name, NULL);

      if (parent_fd < 0)
        continue;
      if (unlinkat (parent_fd, name, 0) != 0 && errno != ENOENT)
        g_message ("Cannot delete %s/%s: %s", entry->install_path, file->path, g_strerror (errno));
      close (parent_fd);
      install_fs_remove_empty_parents (root_fd, file->path);
      mist_fault_point ("after-uninstall-delete");
    }

  if (root_fd >= 0)
    {
      install_fs_remove_tree (root_fd, MIST_INSTALL_STAGING_DIR, NULL);
      collect_other_files (root_fd, "", manifest, kept);
      close (root_fd);
      if (kept->len == 0 && rmdir (entry->install_path) != 0 && errno != ENOENT)
        g_debug ("Install folder %s stays: %s", entry->install_path, g_strerror (errno));
    }
  if (kept->len > 0)
    g_message (g_dngettext (GETTEXT_PACKAGE,
                            "Uninstalled %s but kept %u file it did not install (saves or mods) "
                            "in %s",
                            "Uninstalled %s but kept %u files it did not install (saves or mods) "
                            "in %s",
                            kept->len),
               entry->game_id, kept->len, entry->install_path);

  /* The record and the journal entry go in one database transaction, after the files. */
  if (!mist_state_db_remove_installed (db, entry->game_id, entry->id, error))
    return FALSE;
  g_ptr_array_sort (kept, (GCompareFunc) g_strcmp0);
  if (kept_paths != NULL)
    *kept_paths = g_steal_pointer (&kept);
  return TRUE;
}

gboolean
mist_install_uninstall (MistStateDb *db,
                        const char *game_id,
                        GPtrArray **kept_paths,
                        GCancellable *cancellable,
                        GError **error)
{
  g_autoptr (MistInstalledGame) game = NULL;
  g_autoptr (MistManifest) manifest = NULL;
  g_autoptr (MistJournalEntry) entry = NULL;

  /* An uninstall that a crash stopped is completed. Another unfinished transaction of the
   * game is finished first: a commit past its mark is completed, which may change the
   * installed version, and staged files are deleted. */
  if (!install_get_journal_entry (db, game_id, &entry, error))
    return FALSE;
  if (entry != NULL && entry->kind == MIST_JOB_KIND_UNINSTALL
      && entry->state == MIST_JOURNAL_STATE_COMMITTING)
    return install_uninstall_roll_forward (db, entry, kept_paths, error);
  g_clear_pointer (&entry, mist_journal_entry_free);
  if (!mist_install_discard (db, game_id, error))
    return FALSE;
  manifest = load_installed (db, game_id, &game, error);
  if (manifest == NULL)
    return FALSE;

  /* The journal entry, durable before the first file goes, lets the next start of the
   * download queue finish an uninstall that a crash or a kill stopped half-way. */
  entry = g_new0 (MistJournalEntry, 1);
  entry->game_id = g_strdup (game_id);
  entry->kind = MIST_JOB_KIND_UNINSTALL;
  entry->from_ordinal = game->version_ordinal;
  entry->target_ordinal = game->version_ordinal;
  entry->target_name = g_strdup (game->version_name);
  entry->install_path = g_strdup (game->install_path);
  entry->target_manifest_json = g_strdup (game->manifest_json);
  if (mist_state_db_journal_begin (db, entry, error) == 0
      || !mist_state_db_journal_set_state (db, entry->id, MIST_JOURNAL_STATE_COMMITTING, error))
    return FALSE;
  entry->state = MIST_JOURNAL_STATE_COMMITTING;
  return install_uninstall_roll_forward (db, entry, kept_paths, error);
}

gboolean
mist_install_import (MistStateDb *db,
                     const char *game_id,
                     gint64 ordinal,
                     const char *version_name,
                     const char *folder,
                     MistManifest *manifest,
                     MistInstallProgressFunc progress,
                     gpointer user_data,
                     GCancellable *cancellable,
                     GError **error)
{
  g_autoptr (GPtrArray) bad
    = verify_folder (folder, manifest, NULL, progress, user_data, cancellable, error);

  if (bad == NULL)
    {
      g_prefix_error (error, "Cannot import %s: ", folder);
      return FALSE;
    }
  if (bad->len > 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH,
                   g_dngettext (GETTEXT_PACKAGE,
                                "Cannot import %s as %s %s: %u file is missing or differs from "
                                "the manifest: %s",
                                "Cannot import %s as %s %s: %u files are missing or differ from "
                                "the manifest, the first is %s",
                                bad->len),
                   folder, game_id, version_name, bad->len,
                   (const char *) g_ptr_array_index (bad, 0));
      return FALSE;
    }
  return install_record (db, game_id, ordinal, version_name, folder, manifest, 0, error);
}

/* Asynchronous wrappers: the work runs on a GTask thread and progress is passed to the
 * caller's main context, at most every 100 ms plus the last report. */

typedef struct
{
  MistStateDb *db;
  char *game_id;
  char *install_path;
  char *version_name;
  char *objects_dir;
  MistObjectCache *objects;
  MistManifest *target;
  MistPlan *plan;
  GHashTable *staged; /* nullable: request->staged of an apply, read only */
  MistInstallProgressFunc progress;
  gpointer user_data;
  GMainContext *context;
  GMutex lock;
  MistInstallProgress latest; /* guarded by lock; path is not kept */
  gboolean report_queued;     /* guarded by lock */
  gint64 last_report;
  GPtrArray *missing;
  GPtrArray *obstructions; /* MistObstruction, from a verify */
} AsyncData;

static void
async_data_free (AsyncData *data)
{
  mist_state_db_unref (data->db);
  g_free (data->game_id);
  g_free (data->install_path);
  g_free (data->version_name);
  g_free (data->objects_dir);
  g_clear_pointer (&data->objects, mist_object_cache_unref);
  g_clear_pointer (&data->target, mist_manifest_unref);
  g_clear_pointer (&data->plan, mist_plan_unref);
  g_clear_pointer (&data->staged, g_hash_table_unref);
  g_clear_pointer (&data->context, g_main_context_unref);
  g_clear_pointer (&data->missing, g_ptr_array_unref);
  g_clear_pointer (&data->obstructions, g_ptr_array_unref);
  g_mutex_clear (&data->lock);
  g_free (data);
}

static gboolean
deliver_progress (gpointer user_data)
{
  GTask *task = user_data;
  AsyncData *data = g_task_get_task_data (task);
  MistInstallProgress copy;

  g_mutex_lock (&data->lock);
  copy = data->latest;
  data->report_queued = FALSE;
  g_mutex_unlock (&data->lock);
  data->progress (&copy, data->user_data);
  return G_SOURCE_REMOVE;
}

static void
forward_progress (const MistInstallProgress *progress, gpointer user_data)
{
  GTask *task = user_data;
  AsyncData *data = g_task_get_task_data (task);
  gint64 now = g_get_monotonic_time ();
  gboolean queue;

  if (data->progress == NULL || now - data->last_report < 100 * 1000)
    return;
  data->last_report = now;
  g_mutex_lock (&data->lock);
  data->latest = *progress;
  data->latest.path = NULL;
  queue = !data->report_queued;
  data->report_queued = TRUE;
  g_mutex_unlock (&data->lock);
  if (queue)
    g_main_context_invoke_full (data->context, G_PRIORITY_DEFAULT, deliver_progress, g_object_ref (task),
                                g_object_unref);
}

static AsyncData *
async_data_new (MistStateDb *db, const char *game_id, MistInstallProgressFunc progress, gpointer user_data)
{
  AsyncData *data = g_new0 (AsyncData, 1);

  data->db = mist_state_db_ref (db);
  data->game_id = g_strdup (game_id);
  data->progress = progress;
  data->user_data = user_data;
  data->context = g_main_context_ref_thread_default ();
  g_mutex_init (&data->lock);
  return data;
}

static void
apply_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  AsyncData *data = task_data;
  MistInstallRequest request = { 0 };
  GError *error = NULL;

  request.game_id = data->game_id;
  request.install_path = data->install_path;
  request.target = data->target;
  request.version_name = data->version_name;
  request.plan = data->plan;
  request.objects_dir = data->objects_dir;
  request.objects = data->objects;
  request.staged = data->staged;
  if (mist_install_apply (data->db, &request, &data->missing, forward_progress, task, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
mist_install_apply_async (MistStateDb *db,
                          const MistInstallRequest *request,
                          MistInstallProgressFunc progress,
                          gpointer user_data,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer callback_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, callback_data);
  AsyncData *data = async_data_new (db, request->game_id, progress, user_data);

  data->install_path = g_strdup (request->install_path);
  data->version_name = g_strdup (request->version_name);
  data->objects_dir = g_strdup (request->objects_dir);
  if (request->objects != NULL)
    data->objects = mist_object_cache_ref (request->objects);
  data->target = mist_manifest_ref (request->target);
  data->plan = mist_plan_ref (request->plan);
  if (request->staged != NULL)
    data->staged = g_hash_table_ref (request->staged);
  g_task_set_source_tag (task, mist_install_apply_async);
  g_task_set_task_data (task, data, (GDestroyNotify) async_data_free);
  /* A commit that began completes although cancellable is cancelled meanwhile, and the
   * result must then report the new version as installed. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, apply_thread);
}

gboolean
mist_install_apply_finish (GAsyncResult *result, GPtrArray **missing_objects, GError **error)
{
  AsyncData *data = g_task_get_task_data (G_TASK (result));

  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mist_install_apply_async, FALSE);
  if (missing_objects != NULL && data->missing != NULL)
    *missing_objects = g_steal_pointer (&data->missing);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
verify_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  AsyncData *data = task_data;
  GError *error = NULL;
  GPtrArray *bad = mist_install_verify (data->db, data->game_id, &data->obstructions,
                                        forward_progress, task, cancellable, &error);

  if (bad == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, bad, (GDestroyNotify) g_ptr_array_unref);
}

void
mist_install_verify_async (MistStateDb *db,
                           const char *game_id,
                           MistInstallProgressFunc progress,
                           gpointer user_data,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer callback_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, callback_data);

  g_task_set_source_tag (task, mist_install_verify_async);
  g_task_set_task_data (task, async_data_new (db, game_id, progress, user_data), (GDestroyNotify) async_data_free);
  g_task_run_in_thread (task, verify_thread);
}

GPtrArray *
mist_install_verify_finish (GAsyncResult *result, GPtrArray **obstructions, GError **error)
{
  AsyncData *data = g_task_get_task_data (G_TASK (result));

  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mist_install_verify_async, NULL);
  if (obstructions != NULL && data->obstructions != NULL)
    *obstructions = g_steal_pointer (&data->obstructions);
  return g_task_propagate_pointer (G_TASK (result), error);
}
