/* test-preferences-window.c: the preferences window reads and writes GSettings
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gui-test-util.h"

#include "mist-preferences-window.h"

static void
test_bound_to_settings (void)
{
  g_autoptr (GSettings) settings = g_settings_new (MIST_APP_ID);
  GtkWidget *window;
  GtkWidget *bandwidth;
  GtkWidget *parallel;
  GtkWidget *combo;

  g_settings_set_uint (settings, "bandwidth-limit", 2048);
  g_settings_set_string (settings, "server-url", "http://127.0.0.1:8780");
  window = mist_preferences_window_new (NULL, settings, "alice");
  gtk_window_present (GTK_WINDOW (window));
  gui_test_spin (200);

  bandwidth = gui_test_find_nth (window, GTK_TYPE_SPIN_BUTTON, NULL, 0);
  parallel = gui_test_find_nth (window, GTK_TYPE_SPIN_BUTTON, NULL, 1);
  combo = gui_test_find_nth (window, ADW_TYPE_COMBO_ROW, NULL, 0);
  g_assert_nonnull (bandwidth);
  g_assert_nonnull (parallel);
  g_assert_nonnull (combo);

  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (bandwidth)), ==, 2048);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (parallel), 5);
  g_assert_cmpuint (g_settings_get_uint (settings, "parallel-downloads"), ==, 5);

  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (combo)), ==, 0);
  adw_combo_row_set_selected (ADW_COMBO_ROW (combo), 1);
  g_assert_cmpint (g_settings_get_enum (settings, "update-behaviour"), ==, 1);
  g_settings_set_string (settings, "update-behaviour", "ask");
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (combo)), ==, 0);

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_default_install_folder (void)
{
  g_autoptr (GSettings) settings = g_settings_new (MIST_APP_ID);
  g_autofree char *folder = NULL;
  g_autofree char *expected = g_build_filename (g_get_user_data_dir (), "mist", "games", NULL);

  g_settings_set_string (settings, "install-folder", "");
  folder = mist_preferences_window_dup_install_folder (settings);
  g_assert_cmpstr (folder, ==, expected);

  g_settings_set_string (settings, "install-folder", "/srv/games");
  g_free (folder);
  folder = mist_preferences_window_dup_install_folder (settings);
  g_assert_cmpstr (folder, ==, "/srv/games");
}

int
main (int argc, char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/gui/preferences-window/bound-to-settings", test_bound_to_settings);
  g_test_add_func ("/gui/preferences-window/default-install-folder", test_default_install_folder);

  return g_test_run ();
}
