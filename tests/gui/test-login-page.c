/* test-login-page.c: the login page's fields, signal and error messages
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gui-test-util.h"

#include "mist-error.h"
#include "mist-login-page.h"

typedef struct
{
  MistLoginPage *page;
  GtkWindow *window;
  GtkWidget *button;
  GtkEditable *server;
  GtkEditable *username;
  GtkEditable *password;
  char *requested[3];
  guint n_requests;
} Fixture;

static void
on_login_requested (MistLoginPage *page,
                    const char *server,
                    const char *username,
                    const char *password,
                    Fixture *fixture)
{
  for (guint i = 0; i < 3; i++)
    g_free (fixture->requested[i]);
  fixture->requested[0] = g_strdup (server);
  fixture->requested[1] = g_strdup (username);
  fixture->requested[2] = g_strdup (password);
  fixture->n_requests++;
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  fixture->page = MIST_LOGIN_PAGE (mist_login_page_new ());
  g_signal_connect (fixture->page, "login-requested", G_CALLBACK (on_login_requested), fixture);
  fixture->window = gui_test_show (GTK_WIDGET (fixture->page), 600, 700);
  fixture->button = gui_test_find_nth (GTK_WIDGET (fixture->page), GTK_TYPE_BUTTON, "pill", 0);
  fixture->server = GTK_EDITABLE (gui_test_find_nth (GTK_WIDGET (fixture->page),
                                                     ADW_TYPE_ENTRY_ROW, NULL, 0));
  fixture->username = GTK_EDITABLE (gui_test_find_nth (GTK_WIDGET (fixture->page),
                                                       ADW_TYPE_ENTRY_ROW, NULL, 1));
  fixture->password = GTK_EDITABLE (gui_test_find_nth (GTK_WIDGET (fixture->page),
                                                       ADW_TYPE_PASSWORD_ENTRY_ROW, NULL, 0));
  g_assert_nonnull (fixture->button);
  g_assert_nonnull (fixture->server);
  g_assert_nonnull (fixture->username);
  g_assert_nonnull (fixture->password);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  gtk_window_destroy (fixture->window);
  for (guint i = 0; i < 3; i++)
    g_free (fixture->requested[i]);
}

static void
fill_in (Fixture *fixture)
{
  gtk_editable_set_text (fixture->server, "  http://127.0.0.1:8780 ");
  gtk_editable_set_text (fixture->username, "alice");
  gtk_editable_set_text (fixture->password, "correct horse");
}

static void
test_button_needs_every_field (Fixture *fixture, gconstpointer data)
{
  g_assert_false (gtk_widget_get_sensitive (fixture->button));
  gtk_editable_set_text (fixture->server, "http://127.0.0.1:8780");
  gtk_editable_set_text (fixture->username, "alice");
  g_assert_false (gtk_widget_get_sensitive (fixture->button));
  gtk_editable_set_text (fixture->password, "correct horse");
  g_assert_true (gtk_widget_get_sensitive (fixture->button));
}

static void
test_click_requests_login (Fixture *fixture, gconstpointer data)
{
  fill_in (fixture);
  g_signal_emit_by_name (fixture->button, "clicked");
  g_assert_cmpuint (fixture->n_requests, ==, 1);
  g_assert_cmpstr (fixture->requested[0], ==, "http://127.0.0.1:8780");
  g_assert_cmpstr (fixture->requested[1], ==, "alice");
  g_assert_cmpstr (fixture->requested[2], ==, "correct horse");
}

static void
test_busy_locks_fields (Fixture *fixture, gconstpointer data)
{
  fill_in (fixture);
  mist_login_page_set_busy (fixture->page, TRUE);
  g_assert_false (gtk_widget_get_sensitive (fixture->button));
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (fixture->password)));
  g_signal_emit_by_name (fixture->button, "clicked");
  g_assert_cmpuint (fixture->n_requests, ==, 0);
  mist_login_page_set_busy (fixture->page, FALSE);
  g_assert_true (gtk_widget_get_sensitive (fixture->button));
}

static void
test_wrong_password (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error =
    g_error_new (MIST_ERROR, MIST_ERROR_AUTH_REQUIRED, "Wrong user name or password");

  fill_in (fixture);
  mist_login_page_set_busy (fixture->page, TRUE);
  mist_login_page_show_error (fixture->page, error, 0);
  g_assert_nonnull (strstr (mist_login_page_get_error_text (fixture->page), "Wrong user name"));
  g_assert_cmpstr (gtk_editable_get_text (fixture->password), ==, "");
  g_assert_cmpstr (gtk_editable_get_text (fixture->username), ==, "alice");
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (fixture->password)));
}

static void
test_unreachable_server (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = g_error_new (MIST_ERROR, MIST_ERROR_NO_NETWORK, "Connection refused");
  const char *text;

  fill_in (fixture);
  mist_login_page_show_error (fixture->page, error, 0);
  text = mist_login_page_get_error_text (fixture->page);
  g_assert_nonnull (strstr (text, "Cannot reach"));
  g_assert_nonnull (strstr (text, "http://127.0.0.1:8780"));
  g_assert_cmpstr (gtk_editable_get_text (fixture->password), ==, "correct horse");
}

static void
test_certificate_problem (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = g_error_new (MIST_ERROR, MIST_ERROR_CERTIFICATE, "Unknown CA");

  fill_in (fixture);
  mist_login_page_show_error (fixture->page, error, 0);
  g_assert_nonnull (strstr (mist_login_page_get_error_text (fixture->page), "not trusted"));
}

static void
test_rate_limit_gives_wait (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = g_error_new (MIST_ERROR, MIST_ERROR_RATE_LIMITED, "Too many");

  fill_in (fixture);
  mist_login_page_show_error (fixture->page, error, 600);
  g_assert_nonnull (strstr (mist_login_page_get_error_text (fixture->page), "10 minutes"));
  mist_login_page_show_error (fixture->page, error, 42);
  g_assert_nonnull (strstr (mist_login_page_get_error_text (fixture->page), "42 seconds"));
  mist_login_page_show_error (fixture->page, error, 0);
  g_assert_nonnull (strstr (mist_login_page_get_error_text (fixture->page), "few minutes"));
}

static void
test_clear_forgets_password (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = g_error_new (MIST_ERROR, MIST_ERROR_NO_NETWORK, "refused");

  fill_in (fixture);
  mist_login_page_show_error (fixture->page, error, 0);
  mist_login_page_clear (fixture->page);
  g_assert_cmpstr (gtk_editable_get_text (fixture->password), ==, "");
  g_assert_null (mist_login_page_get_error_text (fixture->page));
}

int
main (int argc, char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

#define ADD(path, func) \
  g_test_add ("/gui/login-page/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("button-needs-every-field", test_button_needs_every_field);
  ADD ("click-requests-login", test_click_requests_login);
  ADD ("busy-locks-fields", test_busy_locks_fields);
  ADD ("wrong-password", test_wrong_password);
  ADD ("unreachable-server", test_unreachable_server);
  ADD ("certificate-problem", test_certificate_problem);
  ADD ("rate-limit-gives-wait", test_rate_limit_gives_wait);
  ADD ("clear-forgets-password", test_clear_forgets_password);
#undef ADD

  return g_test_run ();
}
