/* mist-mapped-guard.c: turning SIGBUS on a truncated mapped file into an error
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The delta codecs read sources through mmap, so that copies from anywhere in a large
 * file cost no reads. If another process truncates the file meanwhile, touching a page
 * past the new end raises SIGBUS, which would kill the process. Reading with pread
 * instead would cost a system call per COPY, and zstd needs the whole reference range
 * as one buffer. So the accesses run under this guard instead: a SIGBUS handler jumps
 * back to mist_mapped_guard_run when the faulting address lies in the guarded range
 * of the faulting thread, and leaves every other SIGBUS to the handler that was
 * installed before.
 */
#include "mist-mapped-guard-private.h"

#include "mist-error.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct
{
  sigjmp_buf jump;
  const guint8 *start;
  const guint8 *end;
} Guard;

/* The guard of the calling thread, or NULL. */
static _Thread_local Guard *volatile current_guard;
static struct sigaction previous_action;

/* Mappings read by threads that Mist does not run, such as zstd's workers. A fault
 * there cannot jump back, so the handler maps a page of zeros over the missing page
 * and marks the cover. The caller checks the mark once those threads are done. */
enum
{
  COVER_FREE,
  COVER_FILLING,
  COVER_ACTIVE,
};

struct _MistMappedCover
{
  gint state; /* atomic, COVER_* */
  const guint8 *start;
  const guint8 *end;
  gint faulted; /* atomic */
};

#define MAX_COVERS 8
static MistMappedCover covers[MAX_COVERS];

static gboolean
patch_covered_page (const guint8 *address)
{
  for (guint i = 0; i < MAX_COVERS; i++)
    {
      MistMappedCover *cover = &covers[i];
      guintptr page_size;
      void *page;

      if (g_atomic_int_get (&cover->state) != COVER_ACTIVE || address < cover->start
          || address >= cover->end)
        continue;
      page_size = (guintptr) sysconf (_SC_PAGESIZE);
      page = (void *) ((guintptr) address & ~(page_size - 1));
      if (mmap (page, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
          == MAP_FAILED)
        return FALSE;
      g_atomic_int_set (&cover->faulted, 1);
      return TRUE;
    }
  return FALSE;
}

static void
handle_sigbus (int signal_number, siginfo_t *info, void *context)
{
  Guard *guard = current_guard;
  const guint8 *address = info->si_addr;

  if (guard != NULL && address >= guard->start && address < guard->end)
    siglongjmp (guard->jump, 1);
  if (patch_covered_page (address))
    return;

  /* Not a guarded access: hand the signal on. With the default action restored, the
   * faulting instruction runs again when this returns and the process dies as without
   * the guard. */
  if ((previous_action.sa_flags & SA_SIGINFO) && previous_action.sa_sigaction != NULL)
    previous_action.sa_sigaction (signal_number, info, context);
  else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN)
    previous_action.sa_handler (signal_number);
  else
    signal (SIGBUS, SIG_DFL);
}

static GOnce handler_installed = G_ONCE_INIT;

static gpointer
install_handler (gpointer data)
{
  struct sigaction action;

  memset (&action, 0, sizeof action);
  action.sa_sigaction = handle_sigbus;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset (&action.sa_mask);
  sigaction (SIGBUS, &action, &previous_action);
  return NULL;
}

MistMappedCover *
mist_mapped_cover_add (const void *map, gsize length)
{
  g_once (&handler_installed, install_handler, NULL);
  if (map == NULL || length == 0)
    return NULL;
  for (guint i = 0; i < MAX_COVERS; i++)
    {
      MistMappedCover *cover = &covers[i];

      if (!g_atomic_int_compare_and_exchange (&cover->state, COVER_FREE, COVER_FILLING))
        continue;
      cover->start = map;
      cover->end = cover->start + length;
      g_atomic_int_set (&cover->faulted, 0);
      g_atomic_int_set (&cover->state, COVER_ACTIVE);
      return cover;
    }
  g_warning ("More than %d source files are mapped at once: a truncated one will crash", MAX_COVERS);
  return NULL;
}

gboolean
mist_mapped_cover_remove (MistMappedCover *cover)
{
  gboolean faulted;

  if (cover == NULL)
    return TRUE;
  faulted = g_atomic_int_get (&cover->faulted);
  g_atomic_int_set (&cover->state, COVER_FREE);
  return !faulted;
}

gboolean
mist_mapped_guard_run (const void *map, gsize length, MistMappedFunc func, gpointer data)
{
  Guard guard;
  Guard *outer = current_guard;

  g_once (&handler_installed, install_handler, NULL);
  guard.start = map;
  guard.end = map != NULL ? guard.start + length : NULL;

  /* sigsetjmp saves the signal mask, so the jump back also unblocks SIGBUS. */
  if (sigsetjmp (guard.jump, 1) != 0)
    {
      current_guard = outer;
      return FALSE;
    }
  current_guard = &guard;
  func (data);
  current_guard = outer;
  return TRUE;
}

void
mist_mapped_set_truncated_error (GError **error, int fd, const char *role, guint64 mapped_size)
{
  struct stat info;

  if (fd >= 0 && fstat (fd, &info) == 0)
    g_set_error (error, MIST_ERROR, MIST_ERROR_WRONG_SOURCE,
                 "The %s file shrank from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                 " bytes while it was read; keep it unchanged until the patch is done",
                 role, mapped_size, (guint64) info.st_size);
  else
    g_set_error (error, MIST_ERROR, MIST_ERROR_WRONG_SOURCE,
                 "The %s file shrank below its %" G_GUINT64_FORMAT
                 " bytes while it was read; keep it unchanged until the patch is done",
                 role, mapped_size);
}
