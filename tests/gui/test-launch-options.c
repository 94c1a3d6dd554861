/* test-launch-options.c: the launch options window and the saved form of its settings
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gui-test-util.h"

#include "mist-error.h"
#include "mist-launch-options-window.h"

typedef struct
{
  MistLaunchOptionsWindow *window;
  guint n_saved;
} Fixture;

static void
on_saved (MistLaunchOptionsWindow *window, Fixture *fixture)
{
  fixture->n_saved++;
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistLaunchSettings) settings = mist_launch_settings_new ();

  g_strfreev (settings->arguments);
  settings->arguments = g_strsplit ("--windowed|two words", "|", -1);
  g_strfreev (settings->environment);
  settings->environment = g_strsplit ("DXVK_HUD=fps|GREETING=hello world", "|", -1);
  g_free (settings->wrapper);
  settings->wrapper = g_strdup ("gamemoderun %command%");

  /* The reference keeps the window readable after Save closes it. */
  fixture->window = g_object_ref (
    MIST_LAUNCH_OPTIONS_WINDOW (mist_launch_options_window_new (NULL, "Doom", settings)));
  g_signal_connect (fixture->window, "saved", G_CALLBACK (on_saved), fixture);
  gtk_window_present (GTK_WINDOW (fixture->window));
  gui_test_spin (200);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  g_object_unref (fixture->window);
}

static GtkEditable *
row (Fixture *fixture, guint n)
{
  GtkWidget *found = gui_test_find_nth (GTK_WIDGET (fixture->window), ADW_TYPE_ENTRY_ROW, NULL, n);

  g_assert_nonnull (found);
  return GTK_EDITABLE (found);
}

static void
test_window_shows_saved_settings (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistLaunchSettings) settings = NULL;

  g_assert_cmpstr (gtk_editable_get_text (row (fixture, 0)), ==, "--windowed 'two words'");
  g_assert_cmpstr (gtk_editable_get_text (row (fixture, 1)), ==,
                   "DXVK_HUD=fps 'GREETING=hello world'");
  g_assert_cmpstr (gtk_editable_get_text (row (fixture, 2)), ==, "gamemoderun %command%");
  g_assert_null (mist_launch_options_window_get_error (fixture->window));

  /* Unchanged text reads back as the same settings. */
  settings = mist_launch_options_window_dup_settings (fixture->window);
  g_assert_cmpstrv (settings->arguments, ((const char *[]){ "--windowed", "two words", NULL }));
  g_assert_cmpstrv (settings->environment,
                    ((const char *[]){ "DXVK_HUD=fps", "GREETING=hello world", NULL }));
  g_assert_cmpstr (settings->wrapper, ==, "gamemoderun %command%");
}

static void
test_invalid_variable_blocks_save (Fixture *fixture, gconstpointer data)
{
  const char *error;

  gtk_editable_set_text (row (fixture, 1), "DXVK_HUD=fps NOVALUE");
  error = mist_launch_options_window_get_error (fixture->window);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error, "“NOVALUE”"));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (row (fixture, 1)), "error"));

  gtk_widget_activate_action (GTK_WIDGET (fixture->window), "launch-options.save", NULL);
  g_assert_cmpuint (fixture->n_saved, ==, 0);

  gtk_editable_set_text (row (fixture, 1), "DXVK_HUD=fps");
  g_assert_null (mist_launch_options_window_get_error (fixture->window));
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (row (fixture, 1)), "error"));
}

static void
test_unclosed_quote_blocks_save (Fixture *fixture, gconstpointer data)
{
  const char *error;

  gtk_editable_set_text (row (fixture, 2), "sh -c 'exec %command%");
  error = mist_launch_options_window_get_error (fixture->window);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error, "sh -c 'exec %command%"));
  gtk_widget_activate_action (GTK_WIDGET (fixture->window), "launch-options.save", NULL);
  g_assert_cmpuint (fixture->n_saved, ==, 0);

  gtk_editable_set_text (row (fixture, 0), "\"--name=A B");
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (row (fixture, 0)), "error"));
}

static void
test_save_emits_parsed_settings (Fixture *fixture, gconstpointer data)
{
  g_autoptr (MistLaunchSettings) settings = NULL;

  gtk_editable_set_text (row (fixture, 0), "");
  gtk_editable_set_text (row (fixture, 1), "  A=1   B='x y'  ");
  gtk_editable_set_text (row (fixture, 2), "  ");
  gtk_widget_activate_action (GTK_WIDGET (fixture->window), "launch-options.save", NULL);
  g_assert_cmpuint (fixture->n_saved, ==, 1);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (fixture->window)));

  settings = mist_launch_options_window_dup_settings (fixture->window);
  g_assert_cmpstrv (settings->arguments, ((const char *[]){ NULL }));
  g_assert_cmpstrv (settings->environment, ((const char *[]){ "A=1", "B=x y", NULL }));
  g_assert_cmpstr (settings->wrapper, ==, "");
}

/* The JSON that `mist-cli launch --save` writes, read back and written again. */
static void
test_settings_json_round_trip (void)
{
  const char *saved = "{\"wrapper\":\"strace -f %command%\",\"environment\":[\"A=1\"],"
                      "\"arguments\":[\"-x\",\"y z\"]}";
  g_autoptr (GError) error = NULL;
  g_autoptr (MistLaunchSettings) settings = mist_launch_settings_from_json (saved, &error);
  g_autoptr (MistLaunchSettings) again = NULL;
  g_autofree char *json = NULL;
  g_autoptr (GHashTable) environment = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                              g_free);
  MistLaunchOptions options = { 0 };

  g_assert_no_error (error);
  g_assert_cmpstr (settings->wrapper, ==, "strace -f %command%");
  g_assert_cmpstrv (settings->environment, ((const char *[]){ "A=1", NULL }));
  g_assert_cmpstrv (settings->arguments, ((const char *[]){ "-x", "y z", NULL }));

  json = mist_launch_settings_to_json (settings);
  again = mist_launch_settings_from_json (json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->wrapper, ==, settings->wrapper);
  g_assert_cmpstrv (again->arguments, settings->arguments);

  mist_launch_settings_to_options (settings, environment, &options);
  g_assert_cmpstr (options.wrapper, ==, "strace -f %command%");
  g_assert_cmpstr (g_hash_table_lookup (environment, "A"), ==, "1");
  g_assert_cmpstrv (options.extra_arguments, settings->arguments);

  g_assert_null (mist_launch_settings_from_json ("[1, 2]", &error));
  g_assert_error (error, MIST_ERROR, MIST_ERROR_INVALID_DATA);
}

int
main (int argc, char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

#define ADD(path, func) \
  g_test_add ("/gui/launch-options/" path, Fixture, NULL, fixture_set_up, func, \
              fixture_tear_down)
  ADD ("window-shows-saved-settings", test_window_shows_saved_settings);
  ADD ("invalid-variable-blocks-save", test_invalid_variable_blocks_save);
  ADD ("unclosed-quote-blocks-save", test_unclosed_quote_blocks_save);
  ADD ("save-emits-parsed-settings", test_save_emits_parsed_settings);
#undef ADD
  g_test_add_func ("/gui/launch-options/settings-json-round-trip", test_settings_json_round_trip);

  return g_test_run ();
}
