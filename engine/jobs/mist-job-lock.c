/* mist-job-lock.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-job-lock-private.h"
#include "mist-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <unistd.h>

/* The lock file contains "PID NAME\n", for the message of a process that finds it locked. */
#define OWNER_MAX_LENGTH 256

static char *
get_lock_path (MistStateDb *db, gint64 job_id)
{
  g_autofree char *folder = g_path_get_dirname (mist_state_db_get_path (db));
  g_autofree char *name = g_strdup_printf ("job-%" G_GINT64_FORMAT ".lock", job_id);

  return g_build_filename (folder, "locks", name, NULL);
}

/* "process 1234 (mist-cli)", read from a lock file that another process holds. */
static char *
read_owner (int fd)
{
  char text[OWNER_MAX_LENGTH] = { 0 };
  ssize_t length = pread (fd, text, sizeof text - 1, 0);
  g_auto (GStrv) parts = NULL;

  if (length <= 0)
    return g_strdup ("another process");
  g_strchomp (text);
  parts = g_strsplit (text, " ", 2);
  if (parts[1] == NULL)
    return g_strdup_printf ("process %s", parts[0]);
  return g_strdup_printf ("process %s (%s)", parts[0], parts[1]);
}

static void
write_owner (int fd)
{
  g_autofree char *text = g_strdup_printf ("%d %s\n", (int) getpid (),
                                           g_get_prgname () != NULL ? g_get_prgname () : "");

  if (ftruncate (fd, 0) != 0 || pwrite (fd, text, strlen (text), 0) < 0)
    g_debug ("Failed to write the owner of a job lock: %s", g_strerror (errno));
}

int
mist_job_lock_acquire (MistStateDb *db, gint64 job_id, const char *what, GError **error)
{
  g_autofree char *path = get_lock_path (db, job_id);
  g_autofree char *folder = g_path_get_dirname (path);
  int fd;

  if (g_mkdir_with_parents (folder, 0700) != 0 ||
      (fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED, "Failed to open the lock file %s: %s",
                   path, g_strerror (saved_errno));
      return -1;
    }

  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved_errno = errno;
      g_autofree char *owner = NULL;

      if (saved_errno != EWOULDBLOCK)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED, "Failed to lock %s: %s", path,
                       g_strerror (saved_errno));
          close (fd);
          return -1;
        }
      owner = read_owner (fd);
      close (fd);
      g_set_error (error, MIST_ERROR, MIST_ERROR_BUSY,
                   "Job %" G_GINT64_FORMAT " (%s) is running in %s: wait until it finishes, "
                   "or stop that process, then try again",
                   job_id, what, owner);
      return -1;
    }

  write_owner (fd);
  return fd;
}

void
mist_job_lock_release (int fd)
{
  if (fd >= 0)
    close (fd);
}

void
mist_job_lock_delete (MistStateDb *db, gint64 job_id)
{
  g_autofree char *path = get_lock_path (db, job_id);

  if (g_unlink (path) != 0 && errno != ENOENT)
    g_debug ("Failed to delete the lock file %s: %s", path, g_strerror (errno));
}
