/* gui-test-util.h: helpers the launcher's widget tests share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "mist-config.h"

#include "mist-download-item.h"
#include "mist-game-item.h"
#include "mist-version-item.h"

#include <adwaita.h>

/* Runs the main loop until condition(data) holds or 5 s pass; returns whether it held. */
static inline gboolean
gui_test_wait_until (gboolean (*condition) (gpointer data), gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (!condition (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return TRUE;
}

/* Runs the main loop for about ms milliseconds, so layout, mapping and idles happen. */
static inline void
gui_test_spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* Shows widget in a new window of the given size and waits until it is drawn. */
static inline GtkWindow *
gui_test_show (GtkWidget *widget, int width, int height)
{
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());

  gtk_window_set_default_size (window, width, height);
  gtk_window_set_child (window, widget);
  gtk_window_present (window);
  gui_test_spin (200);
  g_assert_true (gtk_widget_get_mapped (widget));
  return window;
}

/* Finds the skip-th widget (depth first) under root of type that has css_class (or any
 * class when css_class is NULL). */
static inline GtkWidget *
gui_test_find (GtkWidget *root, GType type, const char *css_class, guint *skip)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type) &&
          (css_class == NULL || gtk_widget_has_css_class (child, css_class)))
        {
          if (*skip == 0)
            return child;
          (*skip)--;
        }
      found = gui_test_find (child, type, css_class, skip);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static inline GtkWidget *
gui_test_find_nth (GtkWidget *root, GType type, const char *css_class, guint n)
{
  return gui_test_find (root, type, css_class, &n);
}

/* A game with versions 1.0 … n_versions, each with a changelog. */
static inline MistGameItem *
gui_test_game_new (const char *slug, const char *title, guint n_versions)
{
  MistGameItem *game = mist_game_item_new (slug, title);
  g_autoptr (GPtrArray) versions = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GDateTime) date = g_date_time_new_utc (2026, 11, 30, 10, 0, 0);

  for (guint i = 1; i <= n_versions; i++)
    {
      g_autofree char *name = g_strdup_printf ("1.%u", i - 1);
      g_autofree char *changelog = g_strdup_printf ("Changes of %s.", name);

      g_ptr_array_add (versions, mist_version_item_new (i, name, date, changelog,
                                                        100000000 * i, 40000000 * i));
    }
  mist_game_item_set_versions (game, versions);
  mist_game_item_set_description (game, "A game to test with.");
  if (n_versions > 0)
    mist_game_item_set_latest_version (game, mist_version_item_get_name (
                                               versions->pdata[n_versions - 1]),
                                       40000000 * n_versions, 100000000 * n_versions);
  return game;
}

/* Finds a GtkLabel under root whose text contains text, depth first. */
static inline GtkLabel *
gui_test_find_label (GtkWidget *root, const char *text)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkLabel *found;

      if (GTK_IS_LABEL (child) && strstr (gtk_label_get_text (GTK_LABEL (child)), text) != NULL)
        return GTK_LABEL (child);
      found = gui_test_find_label (child, text);
      if (found != NULL)
        return found;
    }
  return NULL;
}
