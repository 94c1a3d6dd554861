/* mist-install.c: staging, the journaled commit and recovery
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Staged files are named by their content hash: INSTALL/.mist-staging/<sha256>. A file is
 * built as tmp-<sha256>, hashed, flushed and only then renamed to its final staged name,
 * so a staged name always means a complete, verified file, and a resume skips it.
 *
 * The commit marks the journal entry COMMITTING (a durable SQLite write), deletes the
 * files the new version drops and renames each staged file into place in path order.
 * The database records the new version last, in the same SQLite transaction that
 * deletes the journal entry. Each step is idempotent given the staging folder, so
 * recovery replays the whole commit after a crash at any point.
 */
#include "mist-install.h"
#include "mist-delta.h"
#include "mist-error.h"
#include "mist-fault.h"
#include "mist-hash.h"
#include "mist-install-fs.h"
#include "mist-install-private.h"
#include "mist-object-cache.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_MODE(executable) ((executable) ? 0755 : 0644)

/* Staging runs on several threads, so lock guards the fields below it. */
typedef struct
{
  MistStateDb *db;
  const MistInstallRequest *request;
  MistObjectCache *objects;
  int root_fd;
  int staging_fd;
  MistInstallProgressFunc progress;
  gpointer user_data;
  GCancellable *cancellable;
  gboolean resumed; /* the journal entry comes from an earlier, interrupted call */
  gboolean early;   /* staging while the download runs: skip what cannot be built yet */

  GMutex lock;
  GPtrArray *missing;      /* MistPlanObject */
  GHashTable *missing_ids; /* object id → 1 + index of the first file needing it */
  MistInstallProgress state;
} ApplyContext;

/* One staging thread's view: the shared context and what the thread reuses. */
typedef struct
{
  ApplyContext *context;
  ZSTD_DCtx *unpacker; /* reused for every object */
  guint index;         /* of the file being staged, in the staging order */
} Stager;

void
install_report (MistInstallProgressFunc progress, gpointer user_data, const MistInstallProgress *state)
{
  if (progress != NULL)
    progress (state, user_data);
}

int
install_open_root (const char *install_path, gboolean create, GError **error)
{
  int fd;

  if (!g_path_is_absolute (install_path))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH,
                   "Install folder %s is not an absolute path", install_path);
      return -1;
    }
  if (create && g_mkdir_with_parents (install_path, 0755) != 0)
    {
      install_fs_set_error (error, errno, "create the install folder", install_path);
      return -1;
    }
  fd = open (install_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    install_fs_set_error (error, errno, "open the install folder", install_path);
  return fd;
}

/* Fails unless the folder of a game that is not installed yet is empty, but for the
 * staging folder of an interrupted install, so that a first install never replaces or
 * later uninstalls files the user keeps there. */
static gboolean
check_new_install_folder (MistStateDb *db, const MistInstallRequest *request, GError **error)
{
  g_autoptr (MistInstalledGame) installed = NULL;
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *name;

  installed = mist_state_db_get_installed (db, request->game_id, &local_error);
  if (installed != NULL)
    return TRUE;
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  dir = g_dir_open (request->install_path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      if (strcmp (name, MIST_INSTALL_STAGING_DIR) == 0)
        continue;
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH,
                   "Install folder %s is not empty (it contains “%s”): choose an empty or new "
                   "folder, or move what it contains out until the install has finished",
                   request->install_path, name);
      return FALSE;
    }
  return TRUE;
}

/* Creates the missing folders of path and checks that a file can be created in it,
 * then removes what it created, so a check leaves no trace. */
static gboolean
check_folder_writable (const char *path, GError **error)
{
  g_autoptr (GPtrArray) created = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *existing = g_strdup (path);
  g_autofree char *probe = NULL;
  gboolean ok = TRUE;
  int fd;

  while (!g_file_test (existing, G_FILE_TEST_EXISTS))
    {
      g_ptr_array_add (created, g_strdup (existing));
      g_free (g_steal_pointer (&existing));
      existing = g_path_get_dirname (created->pdata[created->len - 1]);
    }
  if (!g_file_test (existing, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH,
                   "Cannot use %s as the install folder: %s is not a folder", path, existing);
      return FALSE;
    }

  if (g_mkdir_with_parents (path, 0755) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH,
                   "Cannot create the install folder %s: %s; choose a folder you can write to",
                   path, g_strerror (saved_errno));
      ok = FALSE;
    }
  else
    {
      probe = g_build_filename (path, ".mist-write-check-XXXXXX", NULL);
      fd = g_mkstemp (probe);
      if (fd < 0)
        {
          int saved_errno = errno;

          g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH,
                       "Cannot write to the install folder %s: %s; choose a folder you can "
                       "write to",
                       path, g_strerror (saved_errno));
          ok = FALSE;
        }
      else
        {
          close (fd);
          g_unlink (probe);
        }
    }

  /* created lists the new folders from the deepest up. */
  for (guint i = 0; i < created->len; i++)
    g_rmdir (g_ptr_array_index (created, i));
  return ok;
}

gboolean
mist_install_check_folder (MistStateDb *db,
                           const char *game_id,
                           const char *install_path,
                           guint64 needed,
                           GError **error)
{
  MistInstallRequest request = { .game_id = game_id, .install_path = install_path };

  g_return_val_if_fail (g_path_is_absolute (install_path), FALSE);

  if (!check_folder_writable (install_path, error) ||
      !check_new_install_folder (db, &request, error) ||
      !mist_install_check_space (install_path, needed, error))
    return FALSE;
  return TRUE;
}

static int
open_staging (int root_fd, gboolean create, GError **error)
{
  int fd;

  if (create && mkdirat (root_fd, MIST_INSTALL_STAGING_DIR, 0700) != 0 && errno != EEXIST)
    {
      install_fs_set_error (error, errno, "create", MIST_INSTALL_STAGING_DIR);
      return -1;
    }
  fd = openat (root_fd, MIST_INSTALL_STAGING_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    install_fs_set_error (error, errno, "open", MIST_INSTALL_STAGING_DIR);
  return fd;
}

static gboolean
staged_exists (int staging_fd, const char *sha256)
{
  struct stat info;

  return fstatat (staging_fd, sha256, &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (info.st_mode);
}

static gboolean
check_digest (MistSha256 *hash, const char *expected, const char *path, GError **error)
{
  char actual[MIST_SHA256_HEX_LENGTH + 1];

  mist_sha256_finish_hex (hash, actual);
  if (strcmp (actual, expected) != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH,
                   "%s has SHA-256 %s, expected %s", path, actual, expected);
      return FALSE;
    }
  return TRUE;
}

/* Hashes fd and compares with the expected hash; MIST_ERROR_CHECKSUM_MISMATCH otherwise. */
static gboolean
check_hash (int fd, const char *expected, const char *path, GCancellable *cancellable, GError **error)
{
  g_autofree char *actual = mist_sha256_hex_fd (fd, NULL, NULL, cancellable, error);

  if (actual == NULL)
    return FALSE;
  if (strcmp (actual, expected) != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_CHECKSUM_MISMATCH,
                   "%s has SHA-256 %s, expected %s", path, actual, expected);
      return FALSE;
    }
  return TRUE;
}

static int
open_object (ApplyContext *context, const char *object_id, GError **error)
{
  return mist_object_cache_open (context->objects, object_id, error);
}

static gboolean
object_present (ApplyContext *context, const char *object_id)
{
  return mist_object_cache_contains (context->objects, object_id);
}

static void
add_missing (Stager *stager, const char *object_id, guint64 size, gboolean is_delta)
{
  ApplyContext *context = stager->context;
  MistPlanObject *object;

  g_mutex_lock (&context->lock);
  if (!g_hash_table_contains (context->missing_ids, object_id))
    {
      g_hash_table_insert (context->missing_ids, g_strdup (object_id),
                           GUINT_TO_POINTER (stager->index + 1));
      object = g_new0 (MistPlanObject, 1);
      object->object_id = g_strdup (object_id);
      object->size = size;
      object->is_delta = is_delta;
      g_ptr_array_add (context->missing, object);
    }
  g_mutex_unlock (&context->lock);
}

/* Puts the missing objects in the order of the files that need them, as one thread
 * staging the files in order would have listed them. */
static gint
compare_missing (gconstpointer a, gconstpointer b, gpointer data)
{
  GHashTable *missing_ids = data;
  const MistPlanObject *object_a = *(MistPlanObject *const *)a;
  const MistPlanObject *object_b = *(MistPlanObject *const *)b;
  guint order_a = GPOINTER_TO_UINT (g_hash_table_lookup (missing_ids, object_a->object_id));
  guint order_b = GPOINTER_TO_UINT (g_hash_table_lookup (missing_ids, object_b->object_id));

  return order_a < order_b ? -1 : order_a > order_b;
}

static int
create_temporary (int staging_fd, const char *name, GError **error)
{
  int fd = openat (staging_fd, name, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

  if (fd < 0)
    install_fs_set_error (error, errno, "create staged file", name);
  return fd;
}

static gboolean
stage_by_copy (ApplyContext *context, const MistPlanFile *file, int out_fd, GError **error)
{
  int in_fd = install_fs_open_read (context->root_fd, file->copy_from, error);
  gboolean ok;

  if (in_fd < 0)
    return FALSE;
  ok = install_fs_copy (in_fd, out_fd, context->cancellable, error);
  close (in_fd);
  return ok;
}

/* Hashes a pack entry that failed to build its file, since the cache hands out entries it
 * stored itself without hashing them again. Bytes that no longer match the object id were
 * damaged in the cache: the entry is discarded, and error becomes MIST_ERROR_NOT_FOUND so
 * that the object is fetched again. */
static void
recheck_entry (ApplyContext *context, const char *object_id, GBytes *entry, GError **error)
{
  g_autofree char *actual
    = mist_sha256_hex_data (g_bytes_get_data (entry, NULL), g_bytes_get_size (entry));

  if (strcmp (actual, object_id) == 0)
    return;
  g_message ("Object %s in the cache is damaged (%s); discarding it", object_id, (*error)->message);
  mist_object_cache_discard (context->objects, object_id, NULL);
  g_clear_error (error);
  g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND,
               "Object %s is not downloaded (its cached copy was damaged)", object_id);
}

/* Decompresses the file's object into out_fd, hashing the output on the way so that the
 * staged file need not be read again. A pack entry is decompressed from memory. */
static gboolean
stage_by_full_object (Stager *stager, const MistPlanFile *file, int out_fd, GError **error)
{
  ApplyContext *context = stager->context;
  g_autoptr (MistSha256) hash = mist_sha256_new ();
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) entry = NULL;
  int object_fd = -1;
  gboolean ok;

  entry = mist_object_cache_read_entry (context->objects, file->object_id, &local_error);
  if (entry == NULL && local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (entry == NULL)
    {
      object_fd = open_object (context, file->object_id, error);
      if (object_fd < 0)
        return FALSE;
    }
  if (stager->unpacker == NULL)
    stager->unpacker = ZSTD_createDCtx ();
  if (entry != NULL)
    ok = install_fs_unpack_zstd_bytes (stager->unpacker, g_bytes_get_data (entry, NULL),
                                       g_bytes_get_size (entry), out_fd, hash, error);
  else
    ok = install_fs_unpack_zstd (stager->unpacker, object_fd, out_fd, hash, context->cancellable,
                                 error);
  if (object_fd >= 0)
    close (object_fd);
  if (!ok)
    {
      g_prefix_error (error, "Object %s: ", file->object_id);
      if (entry != NULL)
        recheck_entry (context, file->object_id, entry, error);
      return FALSE;
    }
  if (!check_digest (hash, file->sha256, file->path, error))
    {
      if (entry != NULL)
        recheck_entry (context, file->object_id, entry, error);
      return FALSE;
    }
  return TRUE;
}

/* Applies the file's deltas in order, each result into its own temporary file that is
 * checked against the delta's target hash before it serves as the next source. */
static gboolean
stage_by_deltas (ApplyContext *context, const MistPlanFile *file, int out_fd, GError **error)
{
  int source_fd = install_fs_open_read (context->root_fd, file->source_path, error);
  g_autofree char *previous_name = NULL;
  gboolean ok = TRUE;

  if (source_fd < 0)
    return FALSE;

  for (guint i = 0; ok && i < file->deltas->len; i++)
    {
      const MistPlanDelta *delta = g_ptr_array_index (file->deltas, i);
      gboolean last = i + 1 == file->deltas->len;
      g_autofree char *step_name = g_strdup_printf ("tmp-%s-step-%u", file->sha256, i);
      int patch_fd = open_object (context, delta->object_id, error);
      int step_fd = -1;

      if (patch_fd < 0)
        {
          ok = FALSE;
          break;
        }
      step_fd = last ? out_fd : create_temporary (context->staging_fd, step_name, error);
      ok = step_fd >= 0 &&
           mist_delta_apply_fd (source_fd, patch_fd, step_fd, NULL, NULL, context->cancellable, error) &&
           check_hash (step_fd, delta->target_sha256, file->path, context->cancellable, error);
      close (patch_fd);
      close (source_fd);
      source_fd = -1;
      if (previous_name != NULL)
        unlinkat (context->staging_fd, previous_name, 0);
      g_clear_pointer (&previous_name, g_free);
      if (!last && step_fd >= 0)
        {
          source_fd = step_fd;
          previous_name = g_steal_pointer (&step_name);
        }
    }

  if (source_fd >= 0 && source_fd != out_fd)
    close (source_fd);
  if (previous_name != NULL)
    unlinkat (context->staging_fd, previous_name, 0);
  return ok;
}

/* Builds file into tmp-<sha256>, verifies it and renames it to <sha256>. */
static gboolean
stage_file (Stager *stager, MistPlanFile *file, GError **error)
{
  ApplyContext *context = stager->context;
  g_autofree char *temporary = g_strconcat ("tmp-", file->sha256, NULL);
  g_autoptr (GError) local_error = NULL;
  int out_fd;
  gboolean built = FALSE;
  gboolean verified = FALSE; /* the content was hashed while it was built */

  mist_fault_delay ("stage-file", context->cancellable);
  out_fd = create_temporary (context->staging_fd, temporary, error);
  if (out_fd < 0)
    return FALSE;

  if (file->copy_from != NULL)
    built = stage_by_copy (context, file, out_fd, &local_error);
  else if (file->deltas->len > 0)
    {
      const MistPlanDelta *last = g_ptr_array_index (file->deltas, file->deltas->len - 1);

      built = stage_by_deltas (context, file, out_fd, &local_error);
      verified = built && strcmp (last->target_sha256, file->sha256) == 0;
    }

  if ((file->copy_from != NULL || file->deltas->len > 0) && !built)
    {
      if (g_error_matches (local_error, MIST_ERROR, MIST_ERROR_NO_SPACE) ||
          g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          close (out_fd);
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (context->early)
        {
          /* The apply builds the file again, and falls back there if it must: the plan
           * it changes is not this thread's to change while the download runs. */
          g_debug ("Building %s early failed: %s", file->path, local_error->message);
          close (out_fd);
          unlinkat (context->staging_fd, temporary, 0);
          return TRUE;
        }
      g_message ("Building %s from %s failed (%s); falling back to its full object %s", file->path,
                 file->copy_from != NULL ? "a local copy" : "deltas", local_error->message, file->object_id);
      g_clear_error (&local_error);
      /* The plan is shared with the caller, which then lists the full object as needed. */
      g_mutex_lock (&context->lock);
      mist_plan_use_full_object (context->request->plan, file->path);
      g_mutex_unlock (&context->lock);
    }

  if (!built)
    {
      if (!object_present (context, file->object_id))
        {
          add_missing (stager, file->object_id, file->object_size, FALSE);
          close (out_fd);
          unlinkat (context->staging_fd, temporary, 0);
          return TRUE;
        }
      built = stage_by_full_object (stager, file, out_fd, &local_error);
      verified = built;
      /* The cache drops an object it finds damaged, to be fetched again. */
      if (!built && g_error_matches (local_error, MIST_ERROR, MIST_ERROR_NOT_FOUND))
        {
          add_missing (stager, file->object_id, file->object_size, FALSE);
          close (out_fd);
          unlinkat (context->staging_fd, temporary, 0);
          return TRUE;
        }
      if (!built)
        g_propagate_error (error, g_steal_pointer (&local_error));
    }

  if (!built
      || (!verified && !check_hash (out_fd, file->sha256, file->path, context->cancellable, error))
      || fchmod (out_fd, FILE_MODE (file->executable)) != 0)
    {
      if (error != NULL && *error == NULL)
        install_fs_set_error (error, errno, "flush staged file", file->path);
      close (out_fd);
      return FALSE;
    }
  close (out_fd);

  if (renameat (context->staging_fd, temporary, context->staging_fd, file->sha256) != 0)
    {
      install_fs_set_error (error, errno, "rename staged file", file->path);
      return FALSE;
    }
  mist_fault_point ("after-stage");
  return TRUE;
}

static guint64
staged_bytes (int staging_fd, MistPlan *plan)
{
  GPtrArray *files = mist_plan_get_files (plan);
  guint64 total = 0;

  for (guint i = 0; i < files->len; i++)
    {
      const MistPlanFile *file = g_ptr_array_index (files, i);

      if (staged_exists (staging_fd, file->sha256))
        total += file->size;
    }
  return total;
}

/* Returns whether the staged copy of file is complete. After a crash a staged name may
 * exist whose content never reached the disk (the files are flushed together before the
 * commit), so a resumed transaction hashes what it finds once and rebuilds a bad file. */
static gboolean
staged_is_complete (ApplyContext *context, const MistPlanFile *file)
{
  int fd;
  gboolean ok;

  if (!staged_exists (context->staging_fd, file->sha256))
    return FALSE;
  if (!context->resumed)
    return TRUE;
  /* Staged and hashed by this process, which no crash has ended since. */
  if (context->request->staged != NULL
      && g_hash_table_contains (context->request->staged, file->sha256))
    return TRUE;
  fd = openat (context->staging_fd, file->sha256, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  ok = fd >= 0 && check_hash (fd, file->sha256, file->path, context->cancellable, NULL);
  if (fd >= 0)
    close (fd);
  if (!ok)
    {
      g_message ("Staged copy of %s is damaged; building it again", file->path);
      unlinkat (context->staging_fd, file->sha256, 0);
    }
  return ok;
}

/* Files of one content are staged once, by the first of them. */
static GPtrArray *
list_contents_to_stage (MistPlan *plan)
{
  GPtrArray *files = mist_plan_get_files (plan);
  GPtrArray *work = g_ptr_array_sized_new (files->len);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < files->len; i++)
    {
      MistPlanFile *file = g_ptr_array_index (files, i);

      if (g_hash_table_add (seen, file->sha256))
        g_ptr_array_add (work, file);
    }
  return work;
}

typedef struct
{
  ApplyContext *context;
  GPtrArray *work; /* MistPlanFile, one per content */
  guint64 needed;
  gint next;     /* atomic: index of the next file to take */
  GError *error; /* the first failure, under context->lock */
} StagingRun;

static gpointer
staging_worker (gpointer data)
{
  StagingRun *run = data;
  ApplyContext *context = run->context;
  Stager stager = { .context = context };
  guint i;

  while ((i = (guint)g_atomic_int_add (&run->next, 1)) < run->work->len)
    {
      MistPlanFile *file = g_ptr_array_index (run->work, i);
      GError *error = NULL;
      gboolean stop;

      g_mutex_lock (&context->lock);
      stop = run->error != NULL;
      if (!stop)
        {
          context->state.path = file->path;
          install_report (context->progress, context->user_data, &context->state);
        }
      g_mutex_unlock (&context->lock);
      if (stop || g_cancellable_set_error_if_cancelled (context->cancellable, &error))
        {
          g_mutex_lock (&context->lock);
          if (run->error == NULL && error != NULL)
            run->error = error;
          else
            g_clear_error (&error);
          g_mutex_unlock (&context->lock);
          break;
        }

      stager.index = i;
      if (!staged_is_complete (context, file) && !stage_file (&stager, file, &error))
        {
          g_mutex_lock (&context->lock);
          /* What was staged so far stays for the resume once space is freed. */
          install_explain_no_space (
            &error, context->request->install_path,
            run->needed > context->state.bytes_done ? run->needed - context->state.bytes_done : 0);
          g_prefix_error (&error, "Cannot stage %s: ", file->path);
          if (run->error == NULL)
            run->error = error;
          else
            g_clear_error (&error);
          g_mutex_unlock (&context->lock);
          break;
        }
      g_mutex_lock (&context->lock);
      context->state.files_done++;
      context->state.bytes_done += file->size;
      g_mutex_unlock (&context->lock);
    }
  if (stager.unpacker != NULL)
    ZSTD_freeDCtx (stager.unpacker);
  return NULL;
}

/* Decompressing and hashing keep a core busy per file, so the files are staged by one
 * thread per core, up to 4, because more would mostly wait for the staging folder's lock
 * (an estimate, not measured). */
static guint
count_staging_threads (guint n_files)
{
  guint n = MIN (g_get_num_processors (), 4);

  return MAX (1, MIN (n, n_files));
}

static gboolean
stage_all (ApplyContext *context, GError **error)
{
  g_autoptr (GPtrArray) work = list_contents_to_stage (context->request->plan);
  g_autoptr (GPtrArray) threads = g_ptr_array_new ();
  guint64 needed = mist_plan_get_staging_size (context->request->plan);
  guint64 done = staged_bytes (context->staging_fd, context->request->plan);
  StagingRun run = { .context = context, .work = work, .needed = needed };
  guint n_threads;

  if (!mist_install_check_space (context->request->install_path, needed > done ? needed - done : 0, error))
    return FALSE;

  context->state.phase = MIST_INSTALL_PHASE_STAGING;
  context->state.files_total = work->len;
  context->state.bytes_total = needed;
  n_threads = count_staging_threads (work->len);
  for (guint i = 1; i < n_threads; i++)
    {
      GThread *thread = g_thread_try_new ("mist-stage", staging_worker, &run, NULL);

      if (thread == NULL)
        break; /* the threads started so far and this one do the work */
      g_ptr_array_add (threads, thread);
    }
  staging_worker (&run);
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));

  g_ptr_array_sort_with_data (context->missing, compare_missing, context->missing_ids);
  if (run.error != NULL)
    {
      g_propagate_error (error, run.error);
      return FALSE;
    }
  return TRUE;
}

static MistInstalledFile *
installed_file_from_manifest (const MistManifestFile *file)
{
  MistInstalledFile *installed = g_new0 (MistInstalledFile, 1);

  installed->path = g_strdup (file->path);
  installed->sha256 = g_strdup (file->sha256);
  installed->size = file->size;
  installed->executable = file->executable;
  return installed;
}

gboolean
install_record (MistStateDb *db,
                const char *game_id,
                gint64 ordinal,
                const char *version_name,
                const char *install_path,
                MistManifest *manifest,
                gint64 journal_id,
                GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_installed_file_free);
  g_autofree char *json = mist_manifest_to_json (manifest, NULL);
  GPtrArray *manifest_files = mist_manifest_get_files (manifest);
  MistInstalledGame game = { 0 };

  for (guint i = 0; i < manifest_files->len; i++)
    g_ptr_array_add (files, installed_file_from_manifest (g_ptr_array_index (manifest_files, i)));
  game.game_id = (char *) game_id;
  game.version_ordinal = ordinal;
  game.version_name = (char *) version_name;
  game.install_path = (char *) install_path;
  game.size = mist_manifest_get_total_size (manifest);
  game.manifest_json = json;
  return mist_state_db_set_installed (db, &game, files, journal_id, error);
}

/* Returns whether any target path after index also takes the content sha256 from the
 * staging folder, in which case this use copies instead of renaming. */
static gboolean
needs_placing (const MistManifestFile *file, GHashTable *old_by_path, gboolean repair)
{
  const MistInstalledFile *old = g_hash_table_lookup (old_by_path, file->path);

  /* A repair replaces files whose recorded hash is right but whose content is not. */
  return repair || old == NULL || strcmp (old->sha256, file->sha256) != 0;
}

/* Maps each staged content to the index of its last use in target_files, so that each
 * use before it copies the staged file and the last one renames it. */
static GHashTable *
index_last_uses (GPtrArray *target_files, GHashTable *old_by_path, gboolean repair)
{
  GHashTable *last_use = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < target_files->len; i++)
    {
      const MistManifestFile *file = g_ptr_array_index (target_files, i);

      if (needs_placing (file, old_by_path, repair))
        g_hash_table_insert (last_use, file->sha256, GUINT_TO_POINTER (i));
    }
  return last_use;
}

/* Renames the staged file to file->path. Something in the way is cleared and the rename
 * tried once more: the check before the journal mark let through only what the commit
 * can replace, but a crash leaves time to put other things in the way. */
static gboolean
move_into_place (InstallFsParent *parent,
                 int root_fd,
                 int staging_fd,
                 const char *staged,
                 const MistManifestFile *file,
                 GError **error)
{
  g_autoptr (MistObstruction) obstruction = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *name;
  int parent_fd = install_fs_parent_open (parent, root_fd, file->path, TRUE, &name, &local_error);

  if (parent_fd >= 0 && renameat (staging_fd, staged, parent_fd, name) == 0)
    return TRUE;
  if (parent_fd >= 0)
    install_fs_set_error (&local_error, errno, "move into place", file->path);

  obstruction = install_find_obstruction (root_fd, file->path);
  if (obstruction == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_debug ("Clearing the way for %s: %s", file->path, local_error->message);
  install_fs_parent_clear (parent);
  if (!install_clear_obstruction (root_fd, obstruction, error))
    return FALSE;
  parent_fd = install_fs_parent_open (parent, root_fd, file->path, TRUE, &name, error);
  if (parent_fd < 0)
    return FALSE;
  if (renameat (staging_fd, staged, parent_fd, name) != 0)
    {
      install_fs_set_error (error, errno, "move into place", file->path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
place_file (InstallFsParent *parent,
            int root_fd,
            int staging_fd,
            const MistManifestFile *file,
            gboolean copy,
            GError **error)
{
  const char *staged = file->sha256;
  g_autofree char *copy_name = NULL;
  gboolean ok = TRUE;

  if (copy)
    {
      int in_fd = openat (staging_fd, file->sha256, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      int out_fd;

      copy_name = g_strconcat ("copy-", file->sha256, NULL);
      out_fd = create_temporary (staging_fd, copy_name, error);
      ok = in_fd >= 0 && out_fd >= 0 && install_fs_copy (in_fd, out_fd, NULL, error) &&
           fchmod (out_fd, FILE_MODE (file->executable)) == 0;
      if (in_fd < 0 && error != NULL && *error == NULL)
        install_fs_set_error (error, errno, "open staged file", file->path);
      if (in_fd >= 0)
        close (in_fd);
      if (out_fd >= 0)
        close (out_fd);
      staged = copy_name;
    }
  else if (fchmodat (staging_fd, staged, FILE_MODE (file->executable), 0) != 0)
    {
      /* The content was staged with the mode of its first path, which may differ. */
      install_fs_set_error (error, errno, "set the mode of", file->path);
      ok = FALSE;
    }

  return ok && move_into_place (parent, root_fd, staging_fd, staged, file, error);
}

/* Sets the mode of a file that is already in place, for a file whose executable bit
 * changed. An unchanged file that the user deleted or replaced by something else than a
 * regular file is left as it is, with a message: verify finds it and repair restores it. */
static gboolean
fix_mode (InstallFsParent *parent, int root_fd, const MistManifestFile *file, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  const char *name;
  int parent_fd = install_fs_parent_open (parent, root_fd, file->path, FALSE, &name, &local_error);
  struct stat info;
  int saved_errno = 0;

  if (parent_fd < 0)
    {
      mist_notice (
        "Installed file %s is unreachable (%s); verify and repair the game to restore it",
        file->path, local_error->message);
      return TRUE;
    }
  if (fstatat (parent_fd, name, &info, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG (info.st_mode))
    {
      mist_notice ("Installed file %s is missing or not a regular file; verify and repair the game "
                   "to restore it",
                   file->path);
      return TRUE;
    }
  if ((info.st_mode & 07777) != FILE_MODE (file->executable) &&
      fchmodat (parent_fd, name, FILE_MODE (file->executable), 0) != 0)
    saved_errno = errno;
  if (saved_errno != 0)
    {
      install_fs_set_error (error, saved_errno, "set the mode of", file->path);
      return FALSE;
    }
  return TRUE;
}

/* Deletes a file the new version drops. A folder the user put in its place stays unless
 * it is empty, because the new version needs nothing at that path. */
static gboolean
delete_dropped_file (int parent_fd, const char *name, const char *path, GError **error)
{
  if (unlinkat (parent_fd, name, 0) == 0 || errno == ENOENT)
    return TRUE;
  if (errno != EISDIR)
    {
      install_fs_set_error (error, errno, "delete", path);
      return FALSE;
    }
  if (unlinkat (parent_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
    mist_notice ("Keeping the folder %s, where the previous version had a file: %s", path,
                 g_strerror (errno));
  return TRUE;
}

static gboolean
delete_dropped_files (int root_fd, GPtrArray *old_files, MistManifest *target, GError **error)
{
  for (guint i = 0; i < old_files->len; i++)
    {
      const MistInstalledFile *old = g_ptr_array_index (old_files, i);
      const char *name;
      int parent_fd;

      if (mist_manifest_lookup (target, old->path) != NULL)
        continue;
      parent_fd = install_fs_open_parent (root_fd, old->path, FALSE, &name, NULL);
      if (parent_fd < 0)
        continue; /* its folder is gone already */
      if (!delete_dropped_file (parent_fd, name, old->path, error))
        {
          close (parent_fd);
          return FALSE;
        }
      close (parent_fd);
      install_fs_remove_empty_parents (root_fd, old->path);
      mist_fault_point ("after-delete");
    }
  return TRUE;
}

gboolean
install_roll_forward (MistStateDb *db, const MistJournalEntry *entry, GError **error)
{
  g_autoptr (MistManifest) target = NULL;
  g_autoptr (GPtrArray) old_files = NULL;
  g_autoptr (GHashTable) old_by_path = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) last_use = NULL;
  InstallFsParent parent = INSTALL_FS_PARENT_INIT;
  GPtrArray *target_files;
  gboolean repair = entry->kind == MIST_JOB_KIND_REPAIR;
  int root_fd = -1;
  int staging_fd = -1;
  gboolean ok = FALSE;

  if (entry->kind == MIST_JOB_KIND_UNINSTALL)
    return install_uninstall_roll_forward (db, entry, NULL, error);

  target = mist_manifest_new_from_json (entry->target_manifest_json, -1, error);
  old_files = target != NULL ? mist_state_db_list_installed_files (db, entry->game_id, error) : NULL;
  if (old_files == NULL)
    goto out;
  root_fd = install_open_root (entry->install_path, FALSE, error);
  if (root_fd < 0)
    goto out;
  staging_fd = open_staging (root_fd, TRUE, error);
  if (staging_fd < 0)
    goto out;
  for (guint i = 0; i < old_files->len; i++)
    {
      MistInstalledFile *old = g_ptr_array_index (old_files, i);

      g_hash_table_insert (old_by_path, old->path, old);
    }

  if (!delete_dropped_files (root_fd, old_files, target, error))
    goto out;

  target_files = mist_manifest_get_files (target);
  last_use = index_last_uses (target_files, old_by_path, repair);
  for (guint i = 0; i < target_files->len; i++)
    {
      const MistManifestFile *file = g_ptr_array_index (target_files, i);

      /* A staged content that is gone was renamed into place by its last use, which
       * comes after every other use in path order. */
      if (staged_exists (staging_fd, file->sha256) && needs_placing (file, old_by_path, repair))
        {
          gboolean copy = GPOINTER_TO_UINT (g_hash_table_lookup (last_use, file->sha256)) > i;

          if (!place_file (&parent, root_fd, staging_fd, file, copy, error))
            goto out;
          mist_fault_point ("after-rename");
        }
      else if (!fix_mode (&parent, root_fd, file, error))
        goto out;
    }
  install_fs_parent_clear (&parent);

  /* One syncfs makes every rename and file durable before the database records the new
   * version. It costs far less than an fsync per file and folder for games of many small files. */
  if (syncfs (root_fd) != 0)
    {
      install_fs_set_error (error, errno, "flush the file system of", entry->install_path);
      goto out;
    }
  mist_fault_point ("before-database");
  if (!install_record (db, entry->game_id, entry->target_ordinal, entry->target_name, entry->install_path,
                       target, entry->id, error))
    goto out;
  mist_fault_point ("after-database");

  close (staging_fd);
  staging_fd = -1;
  if (!install_fs_remove_tree (root_fd, MIST_INSTALL_STAGING_DIR, error))
    goto out;
  ok = TRUE;

out:
  install_fs_parent_clear (&parent);
  if (staging_fd >= 0)
    close (staging_fd);
  if (root_fd >= 0)
    close (root_fd);
  if (!ok)
    g_prefix_error (error, "Cannot commit %s version %s: ", entry->game_id, entry->target_name);
  return ok;
}

/* Deletes the staged files of an abandoned transaction from its own install folder, and
 * with remove_folder the folder itself when a first install leaves it empty. Then drops
 * the journal entry. */
static gboolean
discard_transaction (MistStateDb *db,
                     const MistJournalEntry *entry,
                     gboolean remove_folder,
                     GError **error)
{
  int root_fd = install_open_root (entry->install_path, FALSE, NULL);
  gboolean ok = TRUE;

  if (root_fd >= 0)
    {
      ok = install_fs_remove_tree (root_fd, MIST_INSTALL_STAGING_DIR, error);
      close (root_fd);
    }
  if (ok && remove_folder && entry->kind == MIST_JOB_KIND_INSTALL
      && rmdir (entry->install_path) != 0 && errno != ENOENT)
    g_debug ("Install folder %s stays: %s", entry->install_path, g_strerror (errno));
  return ok && mist_state_db_journal_remove (db, entry->id, error);
}

/* Returns the journal entry to stage under: the existing one when it targets the same
 * manifest, else a new one after discarding the other's staging folder. */
static MistJournalEntry *
prepare_journal (MistStateDb *db,
                 const MistInstallRequest *request,
                 int root_fd,
                 gboolean *resumed,
                 GError **error)
{
  g_autoptr (MistJournalEntry) existing = NULL;
  g_autoptr (MistInstalledGame) installed = NULL;
  g_autofree char *json = mist_manifest_to_json (request->target, NULL);
  MistJournalEntry *entry;

  existing = mist_state_db_journal_get (db, request->game_id, error);
  if (existing == NULL && error != NULL && *error != NULL)
    return NULL;
  if (existing != NULL && existing->state == MIST_JOURNAL_STATE_COMMITTING)
    {
      if (!install_roll_forward (db, existing, error))
        return NULL;
      g_clear_pointer (&existing, mist_journal_entry_free);
    }
  if (existing != NULL)
    {
      if (existing->target_ordinal == mist_plan_get_to (request->plan) &&
          g_strcmp0 (existing->install_path, request->install_path) == 0 &&
          g_strcmp0 (existing->target_manifest_json, json) == 0)
        {
          *resumed = TRUE;
          return g_steal_pointer (&existing);
        }
      g_message ("Discarding the staged files of %s version %s in %s for version %" G_GINT64_FORMAT
                 " in %s",
                 existing->game_id, existing->target_name, existing->install_path,
                 mist_plan_get_to (request->plan), request->install_path);
      if (!discard_transaction (
            db, existing, g_strcmp0 (existing->install_path, request->install_path) != 0, error))
        return NULL;
    }

  installed = mist_state_db_get_installed (db, request->game_id, error);
  if (installed == NULL && error != NULL && *error != NULL)
    return NULL;
  if (installed != NULL && g_strcmp0 (installed->install_path, request->install_path) != 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_CONFLICT,
                   "%s is installed in %s, not %s; uninstall it or update it in place", request->game_id,
                   installed->install_path, request->install_path);
      return NULL;
    }

  entry = g_new0 (MistJournalEntry, 1);
  entry->game_id = g_strdup (request->game_id);
  entry->kind = installed == NULL ? MIST_JOB_KIND_INSTALL
                : mist_plan_get_route (request->plan) == MIST_PLAN_ROUTE_REPAIR ? MIST_JOB_KIND_REPAIR
                                                                                : MIST_JOB_KIND_UPDATE;
  entry->from_ordinal = installed != NULL ? installed->version_ordinal : MIST_VERSION_NONE;
  entry->target_ordinal = mist_plan_get_to (request->plan);
  entry->target_name = g_strdup (request->version_name != NULL ? request->version_name : "");
  entry->install_path = g_strdup (request->install_path);
  entry->target_manifest_json = g_steal_pointer (&json);
  if (mist_state_db_journal_begin (db, entry, error) == 0)
    {
      mist_journal_entry_free (entry);
      return NULL;
    }
  return entry;
}

static void
set_obstruction_error (GError **error,
                       const MistJournalEntry *entry,
                       const MistObstruction *obstruction)
{
  g_autofree char *description = mist_obstruction_describe (obstruction);
  const char *reason = "";

  if (obstruction->kind == MIST_OBSTRUCTION_FOLDER_FOR_FILE)
    reason = ", and it is not empty";
  else if (obstruction->kind == MIST_OBSTRUCTION_LINK_FOR_FOLDER)
    reason = ", and Mist does not write through symbolic links";
  g_set_error (error, MIST_ERROR, MIST_ERROR_INVALID_PATH,
               "In %s, %s%s: move or delete it, then run the %s again", entry->install_path,
               description, reason, mist_job_kind_to_string (entry->kind));
}

/* Fails with MIST_ERROR_INVALID_PATH on the first thing in the way of a file to place
 * that the commit cannot replace without losing data, and moves aside the player's files
 * at paths that the new version adds. It runs before the journal mark, so the previous
 * version stays whole and the commit never stops half-way on it. */
static gboolean
check_obstructions (ApplyContext *context, const MistJournalEntry *entry, GError **error)
{
  g_autoptr (GPtrArray) old_files = NULL;
  g_autoptr (GHashTable) old_by_path = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *target_files = mist_manifest_get_files (context->request->target);
  gboolean repair = entry->kind == MIST_JOB_KIND_REPAIR;

  old_files = mist_state_db_list_installed_files (context->db, entry->game_id, error);
  if (old_files == NULL)
    return FALSE;
  for (guint i = 0; i < old_files->len; i++)
    {
      MistInstalledFile *old = g_ptr_array_index (old_files, i);

      g_hash_table_insert (old_by_path, old->path, old);
    }

  for (guint i = 0; i < target_files->len; i++)
    {
      const MistManifestFile *file = g_ptr_array_index (target_files, i);
      g_autoptr (MistObstruction) obstruction = NULL;

      if (!staged_exists (context->staging_fd, file->sha256)
          || !needs_placing (file, old_by_path, repair))
        continue;
      /* A file at a path the installed version does not own is the player's. */
      if (old_files->len > 0 && !g_hash_table_contains (old_by_path, file->path)
          && !install_keep_unowned_file (context->root_fd, file->path, error))
        return FALSE;
      obstruction = install_find_obstruction (context->root_fd, file->path);
      if (obstruction == NULL || obstruction->replaceable)
        continue;
      /* A file of the previous version that the new one drops is deleted first. */
      if (g_hash_table_contains (old_by_path, obstruction->path)
          && mist_manifest_lookup (context->request->target, obstruction->path) == NULL)
        continue;
      set_obstruction_error (error, entry, obstruction);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_request (const MistInstallRequest *request, GError **error)
{
  g_return_val_if_fail (request->game_id != NULL && request->install_path != NULL, FALSE);
  g_return_val_if_fail (request->target != NULL && request->plan != NULL && request->objects_dir != NULL, FALSE);

  if (mist_manifest_get_n_files (request->target) > 0 &&
      mist_plan_get_route (request->plan) != MIST_PLAN_ROUTE_REPAIR &&
      mist_plan_get_installed_size (request->plan) != mist_manifest_get_total_size (request->target))
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_CONFLICT,
                   "The plan for %s was made for another manifest than the target; plan again",
                   request->game_id);
      return FALSE;
    }
  return TRUE;
}

/* Returns whether everything the file is built from is at hand: an installed copy, or pack
 * entries the download stored already. Objects stored on their own are left to the apply. */
static gboolean
ready_early (ApplyContext *context, const MistPlanFile *file)
{
  if (file->copy_from != NULL)
    return TRUE;
  if (file->deltas->len == 0)
    return mist_object_cache_has_entry (context->objects, file->object_id);
  for (guint i = 0; i < file->deltas->len; i++)
    {
      const MistPlanDelta *delta = g_ptr_array_index (file->deltas, i);

      if (!mist_object_cache_has_entry (context->objects, delta->object_id))
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  ApplyContext *context;
  MistInstallMoreFunc more;
  gpointer user_data;
  GAsyncQueue *ready; /* MistPlanFile to stage, or the run itself to stop a worker */
  GMutex lock;        /* guards staged */
  GHashTable *staged;
} EarlyRun;

static gpointer
early_worker (gpointer data)
{
  EarlyRun *run = data;
  ApplyContext *context = run->context;
  Stager stager = { .context = context };
  gpointer item;

  while ((item = g_async_queue_pop (run->ready)) != run)
    {
      MistPlanFile *file = item;
      g_autoptr (GError) error = NULL;

      /* Once the download ended, the apply stages what is left on all cores. */
      if (g_cancellable_is_cancelled (context->cancellable) || !run->more (run->user_data))
        continue;
      if (!staged_is_complete (context, file) && !stage_file (&stager, file, &error))
        {
          g_debug ("Staging %s early failed, leaving it to the apply: %s", file->path,
                   error->message);
          continue;
        }
      if (staged_exists (context->staging_fd, file->sha256))
        {
          g_mutex_lock (&run->lock);
          g_hash_table_add (run->staged, g_strdup (file->sha256));
          g_mutex_unlock (&run->lock);
        }
    }
  if (stager.unpacker != NULL)
    ZSTD_freeDCtx (stager.unpacker);
  return NULL;
}

/* Hands the pending files that are ready to the workers, in order, and removes them from
 * pending. Returns how many it handed over. */
static guint
dispatch_ready (EarlyRun *run, GPtrArray *pending)
{
  guint remaining = 0;
  guint handed = 0;

  for (guint i = 0; i < pending->len; i++)
    {
      MistPlanFile *file = g_ptr_array_index (pending, i);

      if (!ready_early (run->context, file))
        {
          pending->pdata[remaining++] = file;
          continue;
        }
      g_async_queue_push (run->ready, file);
      handed++;
    }
  g_ptr_array_set_size (pending, remaining);
  return handed;
}

GHashTable *
mist_install_stage_early (MistStateDb *db,
                          const MistInstallRequest *request,
                          MistInstallMoreFunc more,
                          gpointer user_data,
                          GCancellable *cancellable)
{
  GHashTable *staged = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) missing
    = g_ptr_array_new_with_free_func ((GDestroyNotify)mist_plan_object_free);
  g_autoptr (GHashTable) missing_ids
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (MistJournalEntry) entry = NULL;
  g_autoptr (GPtrArray) pending = NULL;
  g_autoptr (GPtrArray) threads = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  ApplyContext context = { 0 };
  EarlyRun run = { .context = &context, .more = more, .user_data = user_data, .staged = staged };
  gint64 started_us = g_get_monotonic_time ();
  guint n_threads;

  g_return_val_if_fail (request->objects != NULL, staged);
  g_mutex_init (&context.lock);
  g_mutex_init (&run.lock);
  run.ready = g_async_queue_new ();
  context.root_fd = -1;
  context.staging_fd = -1;
  if (!check_request (request, &error))
    goto out;
  context.db = db;
  context.request = request;
  context.objects = request->objects;
  context.missing = missing;
  context.missing_ids = missing_ids;
  context.cancellable = cancellable;
  context.early = TRUE;

  if (!check_new_install_folder (db, request, &error))
    goto out;
  context.root_fd = install_open_root (request->install_path, TRUE, &error);
  if (context.root_fd < 0)
    goto out;
  entry = prepare_journal (db, request, context.root_fd, &context.resumed, &error);
  if (entry == NULL)
    goto out;
  context.staging_fd = open_staging (context.root_fd, TRUE, &error);
  if (context.staging_fd < 0
      || !mist_install_check_space (request->install_path,
                                    mist_plan_get_staging_size (request->plan), &error))
    goto out;

  pending = list_contents_to_stage (request->plan);
  /* NOTE: on two cores these workers slowed the download about as much as they shortened
   * the apply (docs/performance.md), so whether one worker fewer is better is not known. */
  n_threads = count_staging_threads (pending->len);
  for (guint i = 0; i < n_threads; i++)
    g_ptr_array_add (threads, g_thread_new ("mist-stage-early", early_worker, &run));
  while (pending->len > 0 && more (user_data) && !g_cancellable_is_cancelled (cancellable))
    {
      guint64 seen = mist_object_cache_get_stored_count (context.objects);

      /* Each pass looks at every pending file: wait for a few entries, not each one. */
      if (dispatch_ready (&run, pending) == 0)
        mist_object_cache_wait_stored (context.objects, seen + MIN (pending->len, 16) - 1,
                                       G_USEC_PER_SEC / 20);
    }
  for (guint i = 0; i < threads->len; i++)
    g_async_queue_push (run.ready, &run);
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));
  g_debug ("Staged %u files of %s early, in %" G_GINT64_FORMAT " ms", g_hash_table_size (staged),
           request->game_id, (g_get_monotonic_time () - started_us) / 1000);

out:
  if (error != NULL)
    g_debug ("Not staging %s early: %s", request->game_id, error->message);
  if (context.staging_fd >= 0)
    close (context.staging_fd);
  if (context.root_fd >= 0)
    close (context.root_fd);
  g_async_queue_unref (run.ready);
  g_mutex_clear (&run.lock);
  g_mutex_clear (&context.lock);
  return staged;
}

gboolean
mist_install_apply (MistStateDb *db,
                    const MistInstallRequest *request,
                    GPtrArray **missing_objects,
                    MistInstallProgressFunc progress,
                    gpointer user_data,
                    GCancellable *cancellable,
                    GError **error)
{
  g_autoptr (MistJournalEntry) entry = NULL;
  g_autoptr (GPtrArray) missing = g_ptr_array_new_with_free_func ((GDestroyNotify) mist_plan_object_free);
  g_autoptr (GHashTable) missing_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (MistObjectCache) objects = NULL;
  ApplyContext context = { 0 };
  gint64 started_us;
  gboolean ok = FALSE;

  if (!check_request (request, error))
    return FALSE;

  objects = request->objects != NULL ? mist_object_cache_ref (request->objects)
                                     : mist_object_cache_new (request->objects_dir);
  context.db = db;
  context.request = request;
  context.objects = objects;
  context.missing = missing;
  context.missing_ids = missing_ids;
  context.progress = progress;
  context.user_data = user_data;
  context.cancellable = cancellable;
  context.staging_fd = -1;
  g_mutex_init (&context.lock);
  context.state.phase = MIST_INSTALL_PHASE_CHECKING;

  if (!check_new_install_folder (db, request, error))
    return FALSE;
  context.root_fd = install_open_root (request->install_path, TRUE, error);
  if (context.root_fd < 0)
    goto out;
  entry = prepare_journal (db, request, context.root_fd, &context.resumed, error);
  if (entry == NULL)
    goto out;
  context.staging_fd = open_staging (context.root_fd, TRUE, error);
  started_us = g_get_monotonic_time ();
  if (context.staging_fd < 0 || !stage_all (&context, error))
    goto out;
  g_debug ("Staged %u files of %s in %" G_GINT64_FORMAT " ms", context.state.files_total,
           request->game_id, (g_get_monotonic_time () - started_us) / 1000);

  if (missing->len > 0)
    {
      g_set_error (error, MIST_ERROR, MIST_ERROR_NOT_FOUND,
                   "%u objects are not downloaded yet (the first is %s); fetch them and apply again",
                   missing->len, ((MistPlanObject *) g_ptr_array_index (missing, 0))->object_id);
      if (missing_objects != NULL)
        *missing_objects = g_steal_pointer (&missing);
      goto out;
    }
  if (!check_obstructions (&context, entry, error))
    goto out;

  mist_fault_point ("before-commit");
  context.state.phase = MIST_INSTALL_PHASE_COMMITTING;
  context.state.path = NULL;
  install_report (progress, user_data, &context.state);
  started_us = g_get_monotonic_time ();
  /* The staged files were written without an fsync each: flush them all before the
   * journal mark that makes the commit irrevocable. */
  if (syncfs (context.staging_fd) != 0)
    {
      install_fs_set_error (error, errno, "flush the staged files in", request->install_path);
      goto out;
    }
  /* Stopping is safe up to here: past the mark, only completing the commit leaves the
   * game playable. */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    goto out;
  if (!mist_state_db_journal_set_state (db, entry->id, MIST_JOURNAL_STATE_COMMITTING, error))
    goto out;
  entry->state = MIST_JOURNAL_STATE_COMMITTING;
  mist_fault_point ("after-journal");
  ok = install_roll_forward (db, entry, error);
  if (ok)
    g_debug ("Committed %s in %" G_GINT64_FORMAT " ms (flushing, placing and recording the "
             "files)",
             request->game_id, (g_get_monotonic_time () - started_us) / 1000);

out:
  g_mutex_clear (&context.lock);
  if (context.staging_fd >= 0)
    close (context.staging_fd);
  if (context.root_fd >= 0)
    close (context.root_fd);
  if (!ok)
    g_prefix_error (error, "Cannot install %s: ", request->game_id);
  return ok;
}

gboolean
install_get_journal_entry (MistStateDb *db,
                           const char *game_id,
                           MistJournalEntry **entry,
                           GError **error)
{
  g_autoptr (GError) local_error = NULL;

  *entry = mist_state_db_journal_get (db, game_id, &local_error);
  if (*entry == NULL && local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}

gboolean
mist_install_discard (MistStateDb *db, const char *game_id, GError **error)
{
  g_autoptr (MistJournalEntry) entry = NULL;

  if (!install_get_journal_entry (db, game_id, &entry, error))
    return FALSE;
  if (entry == NULL)
    return TRUE;
  /* Past the journal mark, files of the old version may be replaced already. */
  if (entry->state == MIST_JOURNAL_STATE_COMMITTING)
    return install_roll_forward (db, entry, error);
  g_debug ("Discarding the staged files of %s version %s in %s", entry->game_id, entry->target_name,
           entry->install_path);
  return discard_transaction (db, entry, TRUE, error);
}

/* Replays the commit or uninstall of entry, which is past its journal mark. */
static gboolean
complete_interrupted (MistStateDb *db, const MistJournalEntry *entry, GError **error)
{
  if (entry->kind == MIST_JOB_KIND_UNINSTALL)
    mist_notice ("Completing the interrupted uninstall of %s", entry->game_id);
  else
    mist_notice ("Completing the interrupted commit of %s version %s", entry->game_id,
                 entry->target_name);
  return install_roll_forward (db, entry, error);
}

gboolean
mist_install_recover_game (MistStateDb *db, const char *game_id, GError **error)
{
  g_autoptr (MistJournalEntry) entry = NULL;

  if (!install_get_journal_entry (db, game_id, &entry, error))
    return FALSE;
  if (entry == NULL || entry->state != MIST_JOURNAL_STATE_COMMITTING)
    return TRUE;
  return complete_interrupted (db, entry, error);
}

gboolean
mist_install_recover (MistStateDb *db, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) entries = mist_state_db_journal_list (db, error);

  if (entries == NULL)
    return FALSE;
  for (guint i = 0; i < entries->len; i++)
    {
      const MistJournalEntry *entry = g_ptr_array_index (entries, i);

      if (entry->state != MIST_JOURNAL_STATE_COMMITTING)
        {
          g_debug ("Transaction of %s to version %s stopped while staging; the installed version is intact "
                   "and the staged files wait for a resume",
                   entry->game_id, entry->target_name);
          continue;
        }
      if (!complete_interrupted (db, entry, error))
        return FALSE;
    }
  return TRUE;
}
