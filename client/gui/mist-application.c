/* mist-application.c: the launcher's application object: actions, settings, notifications
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-application.h"

#include "mist-controller.h"
#include "mist-preferences-window.h"
#include "mist-window.h"

#include <glib/gi18n.h>

struct _MistApplication
{
  AdwApplication parent_instance;

  GSettings *settings;        /* (owned) */
  MistController *controller; /* (owned) */
  char *login_server;         /* (nullable): from --server */
  char *login_username;       /* (nullable): from --user */
};

G_DEFINE_FINAL_TYPE (MistApplication, mist_application, ADW_TYPE_APPLICATION)

static MistWindow *
get_window (MistApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  return MIST_IS_WINDOW (window) ? MIST_WINDOW (window) : NULL;
}

static void
action_quit (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  MistApplication *self = user_data;
  MistWindow *window = get_window (self);

  if (window != NULL)
    gtk_window_close (GTK_WINDOW (window));
  g_application_quit (G_APPLICATION (self));
}

static void
action_preferences (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  MistApplication *self = user_data;
  GtkWidget *preferences =
    mist_preferences_window_new (GTK_WINDOW (get_window (self)), self->settings,
                                 mist_controller_get_username (self->controller));

  gtk_window_present (GTK_WINDOW (preferences));
}

static void
action_about (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  MistApplication *self = user_data;
  const char *developers[] = { _("The Mist authors"), NULL };

  adw_show_about_window (GTK_WINDOW (get_window (self)),
                         "application-name", _("Mist"),
                         "application-icon", MIST_APP_ID,
                         "version", MIST_VERSION,
                         "comments", _("Games from your group’s own server"),
                         "developers", developers,
                         "license-type", GTK_LICENSE_GPL_3_0,
                         NULL);
}

static void
on_logout_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MistApplication) self = user_data;
  g_autoptr (GError) error = NULL;
  MistWindow *window = get_window (self);

  /* The session is forgotten locally even when the server could not be told. */
  if (!mist_controller_logout_finish (MIST_CONTROLLER (source), result, &error))
    g_debug ("Logout: %s", error->message);
  if (window != NULL)
    mist_window_show_login (window);
}

static void
action_logout (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  MistApplication *self = user_data;
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (self));

  /* Closes the preferences window, which may be where logout was chosen. */
  for (GList *l = windows; l != NULL; l = l->next)
    if (MIST_IS_PREFERENCES_WINDOW (l->data))
      {
        gtk_window_close (GTK_WINDOW (l->data));
        break;
      }
  mist_controller_logout_async (self->controller, NULL, on_logout_done, g_object_ref (self));
}

static const GActionEntry app_actions[] = {
  { "quit", action_quit, NULL, NULL, NULL, { 0 } },
  { "preferences", action_preferences, NULL, NULL, NULL, { 0 } },
  { "about", action_about, NULL, NULL, NULL, { 0 } },
  { "logout", action_logout, NULL, NULL, NULL, { 0 } },
};

static void
send_job_notification (MistApplication *self, MistDownloadItem *job, const GError *error)
{
  MistWindow *window = get_window (self);
  MistGameItem *game = mist_download_item_get_game (job);
  g_autoptr (GNotification) notification = NULL;
  g_autofree char *title = NULL;

  if (window != NULL && gtk_window_is_active (GTK_WINDOW (window)))
    return; /* the window shows a toast */

  if (error == NULL)
    title = g_strdup_printf (_("%s is ready to play"), mist_game_item_get_title (game));
  else
    title = g_strdup_printf (_("Download of %s failed"), mist_game_item_get_title (game));
  notification = g_notification_new (title);
  if (error != NULL)
    g_notification_set_body (notification, error->message);
  g_notification_set_default_action (notification, "app.activate");
  g_application_send_notification (G_APPLICATION (self), mist_game_item_get_slug (game),
                                   notification);
}

static void
on_job_finished (MistApplication *self, MistDownloadItem *job)
{
  send_job_notification (self, job, NULL);
}

static void
on_job_failed (MistApplication *self, MistDownloadItem *job, GError *error)
{
  send_job_notification (self, job, error);
}

static void
action_activate (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  g_application_activate (G_APPLICATION (user_data));
}

static void
mist_application_startup (GApplication *application)
{
  MistApplication *self = MIST_APPLICATION (application);
  const GActionEntry activate_entry[] = { { "activate", action_activate, NULL, NULL, NULL, { 0 } } };
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *preferences_accels[] = { "<Control>comma", NULL };
  const char *search_accels[] = { "<Control>f", NULL };
  const char *refresh_accels[] = { "<Control>r", "F5", NULL };
  const char *back_accels[] = { "<Alt>Left", NULL };
  const char *library_accels[] = { "<Alt>1", NULL };
  const char *downloads_accels[] = { "<Alt>2", NULL };

  G_APPLICATION_CLASS (mist_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  g_action_map_add_action_entries (G_ACTION_MAP (self), activate_entry, 1, self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences",
                                         preferences_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.search", search_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.refresh", refresh_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.back", back_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.show-library",
                                         library_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.show-downloads",
                                         downloads_accels);

  self->settings = g_settings_new (MIST_APP_ID);
  self->controller = mist_controller_new (self->settings);
  g_signal_connect_swapped (self->controller, "job-finished", G_CALLBACK (on_job_finished), self);
  g_signal_connect_swapped (self->controller, "job-failed", G_CALLBACK (on_job_failed), self);
}

static void
on_restore_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MistWindow) window = user_data;
  g_autoptr (GError) error = NULL;

  if (mist_controller_restore_session_finish (MIST_CONTROLLER (source), result, &error))
    {
      mist_window_show_library (window);
      return;
    }
  if (error != NULL)
    mist_window_show_error (window, error);
}

/* Logs in from the command line: the server and user from --server and --user, the
 * password from MIST_PASSWORD, which is then removed from the environment. */
static gboolean
login_from_environment (MistApplication *self, MistWindow *window)
{
  g_autofree char *password = g_strdup (g_getenv ("MIST_PASSWORD"));

  if (self->login_server == NULL || self->login_username == NULL || password == NULL)
    return FALSE;
  g_unsetenv ("MIST_PASSWORD");
  mist_window_login (window, self->login_server, self->login_username, password);
  return TRUE;
}

static void
mist_application_activate (GApplication *application)
{
  MistApplication *self = MIST_APPLICATION (application);
  MistWindow *window = get_window (self);

  if (window != NULL)
    {
      gtk_window_present (GTK_WINDOW (window));
      return;
    }

  window = mist_window_new (ADW_APPLICATION (self), self->controller, self->settings);
  gtk_window_present (GTK_WINDOW (window));
  if (!login_from_environment (self, window))
    mist_controller_restore_session_async (self->controller, NULL, on_restore_done,
                                           g_object_ref (window));
}

static int
mist_application_handle_local_options (GApplication *application, GVariantDict *options)
{
  MistApplication *self = MIST_APPLICATION (application);

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("mist %s\n", MIST_VERSION);
      return 0;
    }
  g_variant_dict_lookup (options, "server", "s", &self->login_server);
  g_variant_dict_lookup (options, "user", "s", &self->login_username);
  return -1;
}

static void
mist_application_dispose (GObject *object)
{
  MistApplication *self = MIST_APPLICATION (object);

  g_clear_object (&self->controller);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (mist_application_parent_class)->dispose (object);
}

static void
mist_application_finalize (GObject *object)
{
  MistApplication *self = MIST_APPLICATION (object);

  g_free (self->login_server);
  g_free (self->login_username);

  G_OBJECT_CLASS (mist_application_parent_class)->finalize (object);
}

static void
mist_application_class_init (MistApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = mist_application_dispose;
  object_class->finalize = mist_application_finalize;
  app_class->startup = mist_application_startup;
  app_class->activate = mist_application_activate;
  app_class->handle_local_options = mist_application_handle_local_options;
}

static void
mist_application_init (MistApplication *self)
{
  const GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and exit"), NULL },
    { "server", 0, 0, G_OPTION_ARG_STRING, NULL,
      N_("Log in to this server address (with --user and the MIST_PASSWORD variable)"),
      N_("URL") },
    { "user", 0, 0, G_OPTION_ARG_STRING, NULL, N_("Log in as this user"), N_("NAME") },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
}

MistController *
mist_application_get_controller (MistApplication *self)
{
  g_return_val_if_fail (MIST_IS_APPLICATION (self), NULL);

  return self->controller;
}

MistApplication *
mist_application_new (void)
{
  return g_object_new (MIST_TYPE_APPLICATION, "application-id", MIST_APP_ID, "flags",
                       G_APPLICATION_DEFAULT_FLAGS, NULL);
}
