/* mist-fault.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-fault.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static GHashTable *fault_counts; /* name → count reached, guarded by fault_lock */
static GMutex fault_lock;

void
mist_fault_point (const char *name)
{
  const char *wanted = g_getenv ("MIST_FAULT_POINT");
  g_autofree char *counted = NULL;
  guint count;

  if (wanted == NULL || !g_str_has_prefix (wanted, name))
    return;

  g_mutex_lock (&fault_lock);
  if (fault_counts == NULL)
    fault_counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (fault_counts, name)) + 1;
  g_hash_table_replace (fault_counts, g_strdup (name), GUINT_TO_POINTER (count));
  g_mutex_unlock (&fault_lock);

  counted = g_strdup_printf ("%s-%u", name, count);
  if (g_str_equal (wanted, name) || g_str_equal (wanted, counted))
    {
      g_debug ("Fault point %s reached: killing the process", counted);
      kill (getpid (), SIGKILL);
      _exit (137);
    }
}

void
mist_fault_delay (const char *name, GCancellable *cancellable)
{
  const char *requested = g_getenv ("MIST_FAULT_DELAY");
  const char *colon = requested != NULL ? strchr (requested, ':') : NULL;
  guint64 milliseconds = 0;
  GPollFD poll_fd;

  if (colon == NULL || strlen (name) != (gsize)(colon - requested)
      || strncmp (requested, name, strlen (name)) != 0
      || !g_ascii_string_to_unsigned (colon + 1, 10, 1, G_MAXINT, &milliseconds, NULL))
    return;

  if (cancellable != NULL && g_cancellable_make_pollfd (cancellable, &poll_fd))
    {
      g_poll (&poll_fd, 1, (gint)milliseconds);
      g_cancellable_release_fd (cancellable);
    }
  else
    g_usleep (milliseconds * 1000);
}
