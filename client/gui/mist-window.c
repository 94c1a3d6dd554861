/* mist-window.c: the main window: login, library, game page and downloads
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-window.h"

#include "mist-downloads-page.h"
#include "mist-error.h"
#include "mist-game-page.h"
#include "mist-launch-options-window.h"
#include "mist-library-page.h"
#include "mist-login-page.h"
#include "mist-preferences-window.h"

#include <glib/gi18n.h>

struct _MistWindow
{
  AdwApplicationWindow parent_instance;

  AdwToastOverlay *toast_overlay;
  GtkStack *main_stack;
  MistLoginPage *login_page;
  GtkButton *back_button;
  GtkSpinner *busy_spinner;
  AdwViewStack *view_stack;
  GtkStack *library_stack;
  MistLibraryPage *library_page;
  MistGamePage *game_page;
  MistDownloadsPage *downloads_page;
  AdwViewStackPage *downloads_stack_page;

  MistController *controller; /* (owned) */
  GSettings *settings;        /* (owned) */
  GCancellable *cancellable;  /* cancelled when the window closes */
  guint poll_source;          /* refreshes the library while it is shown; 0 when off */
};

/* Seconds between two refreshes of the library while it is shown, so that new versions
 * and patch sets the server finished appear without the user asking. */
#define POLL_INTERVAL_SECONDS 120

G_DEFINE_FINAL_TYPE (MistWindow, mist_window, ADW_TYPE_APPLICATION_WINDOW)

static void refresh (MistWindow *self);

/* A toast button for the errors the user can act on from the window. */
static void
add_error_action (AdwToast *toast, const GError *error)
{
  if (error->domain != MIST_ERROR)
    return;
  switch ((MistError) error->code)
    {
    case MIST_ERROR_NO_SPACE:
      adw_toast_set_button_label (toast, _("_Preferences"));
      adw_toast_set_action_name (toast, "app.preferences");
      break;
    case MIST_ERROR_AUTH_REQUIRED:
      adw_toast_set_button_label (toast, _("_Log In"));
      adw_toast_set_action_name (toast, "app.logout");
      break;
    case MIST_ERROR_NO_NETWORK:
    case MIST_ERROR_SERVER_ERROR:
      adw_toast_set_button_label (toast, _("_Retry"));
      adw_toast_set_action_name (toast, "win.refresh");
      break;
    default:
      break;
    }
}

/* Shows error as a toast; its message already names the value and what to do. */
void
mist_window_show_error (MistWindow *self, const GError *error)
{
  AdwToast *toast;

  g_return_if_fail (MIST_IS_WINDOW (self));

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_debug ("Showing error: %s", error->message);
  toast = adw_toast_new (error->message);
  adw_toast_set_timeout (toast, 10);
  add_error_action (toast, error);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
set_busy (MistWindow *self, gboolean busy)
{
  gtk_spinner_set_spinning (self->busy_spinner, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->busy_spinner), busy);
}

static gboolean
on_poll (gpointer user_data)
{
  refresh (MIST_WINDOW (user_data));
  return G_SOURCE_CONTINUE;
}

void
mist_window_show_login (MistWindow *self)
{
  g_autofree char *server = g_settings_get_string (self->settings, "server-url");
  g_autofree char *username = g_settings_get_string (self->settings, "last-username");

  mist_login_page_clear (self->login_page);
  if (*mist_login_page_get_server (self->login_page) == '\0')
    mist_login_page_set_server (self->login_page, server);
  if (*mist_login_page_get_username (self->login_page) == '\0')
    mist_login_page_set_username (self->login_page, username);
  gtk_stack_set_visible_child_name (self->main_stack, "login");
  g_clear_handle_id (&self->poll_source, g_source_remove);
}

/* Closes the window, and so quits, once the library has drawn a game. Scripted checks
 * of a whole start (run-demo --quit-after-first-frame) set MIST_QUIT_AFTER_FIRST_FRAME. */
static void
quit_after_first_games (GdkFrameClock *clock, MistWindow *self)
{
  GtkWidget *grid = mist_library_page_get_grid_view (self->library_page);
  GtkWidget *tile = gtk_widget_get_first_child (grid);

  if (tile == NULL || !gtk_widget_get_mapped (tile))
    return;
  g_signal_handlers_disconnect_by_func (clock, quit_after_first_games, self);
  g_message ("The library shows its games; closing, as MIST_QUIT_AFTER_FIRST_FRAME asks");
  gtk_window_close (GTK_WINDOW (self));
}

static void
watch_first_frame (MistWindow *self)
{
  const char *quit = g_getenv ("MIST_QUIT_AFTER_FIRST_FRAME");
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self));

  if (quit == NULL || *quit == '\0' || clock == NULL)
    return;
  g_signal_handlers_disconnect_by_func (clock, quit_after_first_games, self);
  g_signal_connect_object (clock, "after-paint", G_CALLBACK (quit_after_first_games), self, 0);
}

void
mist_window_show_library (MistWindow *self)
{
  gtk_stack_set_visible_child_name (self->main_stack, "main");
  gtk_stack_set_visible_child_name (self->library_stack, "grid");
  adw_view_stack_set_visible_child_name (self->view_stack, "library");
  refresh (self);
  watch_first_frame (self);
  if (self->poll_source == 0)
    self->poll_source = g_timeout_add_seconds (POLL_INTERVAL_SECONDS, on_poll, self);
}

static void
on_login_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MistController *controller = MIST_CONTROLLER (source);
  g_autoptr (MistWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  guint retry_after = 0;

  if (!mist_controller_login_finish (controller, result, &retry_after, &error))
    {
      mist_login_page_show_error (self->login_page, error, retry_after);
      return;
    }
  g_settings_set_string (self->settings, "server-url",
                         mist_login_page_get_server (self->login_page));
  g_settings_set_string (self->settings, "last-username",
                         mist_controller_get_username (controller));
  mist_login_page_clear (self->login_page);
  mist_window_show_library (self);
}

void
mist_window_login (MistWindow *self, const char *server, const char *username, const char *password)
{
  mist_login_page_set_server (self->login_page, server);
  mist_login_page_set_username (self->login_page, username);
  mist_login_page_set_busy (self->login_page, TRUE);
  mist_controller_login_async (self->controller, server, username, password, self->cancellable,
                               on_login_done, g_object_ref (self));
}

static void
on_login_requested (MistWindow *self,
                    const char *server,
                    const char *username,
                    const char *password)
{
  mist_window_login (self, server, username, password);
}

static void
on_refresh_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MistWindow) self = user_data;
  g_autoptr (GError) error = NULL;

  set_busy (self, FALSE);
  mist_library_page_set_loading (self->library_page, FALSE);
  if (!mist_controller_refresh_finish (MIST_CONTROLLER (source), result, &error))
    {
      /* Offline is shown by the banner; a toast would only repeat it. */
      if (!g_error_matches (error, MIST_ERROR, MIST_ERROR_NO_NETWORK))
        mist_window_show_error (self, error);
    }
}

static void
refresh (MistWindow *self)
{
  set_busy (self, TRUE);
  mist_library_page_set_loading (self->library_page, TRUE);
  mist_controller_refresh_async (self->controller, self->cancellable, on_refresh_done,
                                 g_object_ref (self));
}

static void
on_game_activated (MistWindow *self, MistGameItem *game)
{
  g_autofree char *folder = mist_preferences_window_dup_install_folder (self->settings);

  mist_game_page_set_install_folder (self->game_page, folder);
  mist_game_page_set_item (self->game_page, game);
  gtk_stack_set_visible_child_name (self->library_stack, "game");
  gtk_widget_set_visible (GTK_WIDGET (self->back_button), TRUE);
  mist_controller_load_game (self->controller, game);
}

static void
on_game_action_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MistWindow) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!mist_controller_run_game_action_finish (MIST_CONTROLLER (source), result, &error))
    mist_window_show_error (self, error);
}

static void
run_game_action (MistWindow *self, MistGameItem *game, const char *action)
{
  mist_controller_run_game_action_async (self->controller, game, action,
                                         mist_game_page_get_install_folder (self->game_page),
                                         self->cancellable, on_game_action_done,
                                         g_object_ref (self));
}

static void
on_uninstall_response (AdwMessageDialog *dialog, const char *response, gpointer user_data)
{
  MistWindow *self = MIST_WINDOW (gtk_window_get_transient_for (GTK_WINDOW (dialog)));
  MistGameItem *game = user_data;

  if (g_str_equal (response, "uninstall"))
    run_game_action (self, game, "uninstall");
}

static void
confirm_uninstall (MistWindow *self, MistGameItem *game)
{
  g_autofree char *heading = g_strdup_printf (_("Uninstall %s?"), mist_game_item_get_title (game));
  g_autofree char *size = g_format_size (mist_game_item_get_installed_size (game));
  g_autofree char *body = g_strdup_printf (
    _("This deletes %s of game files in %s. Saved games kept elsewhere are not touched."), size,
    mist_game_item_get_install_path (game) ? mist_game_item_get_install_path (game) : "");
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, body);

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"),
                                    "uninstall", _("_Uninstall"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "uninstall",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_data (dialog, "response", G_CALLBACK (on_uninstall_response),
                         g_object_ref (game), (GClosureNotify) g_object_unref, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_launch_settings_saved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MistWindow) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!mist_controller_save_launch_settings_finish (MIST_CONTROLLER (source), result, &error))
    mist_window_show_error (self, error);
}

static void
on_launch_options_saved (MistLaunchOptionsWindow *dialog, MistGameItem *game)
{
  MistWindow *self = MIST_WINDOW (gtk_window_get_transient_for (GTK_WINDOW (dialog)));
  g_autoptr (MistLaunchSettings) settings = mist_launch_options_window_dup_settings (dialog);

  mist_controller_save_launch_settings_async (self->controller, game, settings, self->cancellable,
                                              on_launch_settings_saved, g_object_ref (self));
}

/* The game whose launch options are being read, with a reference on the window. */
typedef struct
{
  MistWindow *window;
  MistGameItem *game;
} GameRequest;

static void
game_request_free (GameRequest *request)
{
  g_object_unref (request->window);
  g_object_unref (request->game);
  g_free (request);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GameRequest, game_request_free)

static void
on_launch_settings_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GameRequest) request = user_data;
  MistWindow *self = request->window;
  MistGameItem *game = request->game;
  g_autoptr (GError) error = NULL;
  g_autoptr (MistLaunchSettings) settings =
    mist_controller_load_launch_settings_finish (MIST_CONTROLLER (source), result, &error);
  GtkWidget *dialog;

  if (settings == NULL)
    {
      mist_window_show_error (self, error);
      return;
    }
  dialog = mist_launch_options_window_new (GTK_WINDOW (self), mist_game_item_get_title (game),
                                           settings);
  g_signal_connect_data (dialog, "saved", G_CALLBACK (on_launch_options_saved),
                         g_object_ref (game), (GClosureNotify) g_object_unref, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_game_action_requested (MistWindow *self, const char *action, MistGameItem *game)
{
  if (g_str_equal (action, "uninstall"))
    confirm_uninstall (self, game);
  else if (g_str_equal (action, "launch-options"))
    {
      GameRequest *request = g_new0 (GameRequest, 1);

      request->window = g_object_ref (self);
      request->game = g_object_ref (game);
      mist_controller_load_launch_settings_async (self->controller, game, self->cancellable,
                                                  on_launch_settings_loaded, request);
    }
  else if (g_str_equal (action, "folder-changed"))
    g_settings_set_string (self->settings, "install-folder",
                           mist_game_page_get_install_folder (self->game_page));
  else
    run_game_action (self, game, action);
}

static void
on_job_action (MistWindow *self, const char *action, MistDownloadItem *job, guint position)
{
  g_autoptr (GError) error = NULL;

  if (!mist_controller_run_job_action (self->controller, job, action, position, &error))
    mist_window_show_error (self, error);
}

static void
on_queue_action (MistWindow *self, const char *action)
{
  mist_controller_run_queue_action (self->controller, action);
}

static void
on_offline_changed (MistWindow *self)
{
  const char *reason = mist_controller_get_offline_reason (self->controller);

  mist_library_page_set_offline (self->library_page, reason);
  mist_game_page_set_offline (self->game_page, reason);
}

static void
update_downloads_badge (MistWindow *self)
{
  guint n_active = mist_downloads_page_get_n_active (self->downloads_page);

  adw_view_stack_page_set_badge_number (self->downloads_stack_page, n_active);
  adw_view_stack_page_set_needs_attention (self->downloads_stack_page, n_active > 0);
}

static void
on_job_finished (MistWindow *self, MistDownloadItem *job)
{
  g_autofree char *title = NULL;

  update_downloads_badge (self);
  if (!gtk_window_is_active (GTK_WINDOW (self)))
    return; /* the application sends a notification instead */
  title = g_strdup_printf (_("%s is ready to play"),
                           mist_game_item_get_title (mist_download_item_get_game (job)));
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (title));
}

static void
on_job_failed (MistWindow *self, MistDownloadItem *job, GError *error)
{
  update_downloads_badge (self);
  if (gtk_window_is_active (GTK_WINDOW (self)))
    mist_window_show_error (self, error);
}

static void
on_notice (MistWindow *self, const char *text)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
}

/* The toast has no timeout because the message matters again at the next start: the
 * login page will ask for the password. */
static void
on_session_not_stored (MistWindow *self, const GError *error)
{
  g_autofree char *text = NULL;
  AdwToast *toast;

  if (g_error_matches (error, MIST_ERROR, MIST_ERROR_NO_KEYRING))
    text = g_strdup (_("Your session will not be remembered: no keyring service is running"));
  else
    text = g_strdup_printf (_("Your session will not be remembered: %s"), error->message);
  toast = adw_toast_new (text);
  adw_toast_set_timeout (toast, 0);
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
action_back (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  MistWindow *self = MIST_WINDOW (widget);

  gtk_stack_set_visible_child_name (self->library_stack, "grid");
  gtk_widget_set_visible (GTK_WIDGET (self->back_button), FALSE);
  mist_game_page_set_item (self->game_page, NULL);
  mist_controller_load_game (self->controller, NULL);
}

static void
action_refresh (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  refresh (MIST_WINDOW (widget));
}

static void
action_search (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  MistWindow *self = MIST_WINDOW (widget);

  action_back (widget, NULL, NULL);
  adw_view_stack_set_visible_child_name (self->view_stack, "library");
  mist_library_page_focus_search (self->library_page);
}

static void
action_show_view (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  MistWindow *self = MIST_WINDOW (widget);

  adw_view_stack_set_visible_child_name (
    self->view_stack, g_str_equal (action_name, "win.show-downloads") ? "downloads" : "library");
}

static void
save_window_state (MistWindow *self)
{
  int width = 0;
  int height = 0;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized",
                          gtk_window_is_maximized (GTK_WINDOW (self)));
  g_settings_set_enum (self->settings, "library-filter",
                       (int) mist_library_page_get_filter (self->library_page));
}

static gboolean
mist_window_close_request (GtkWindow *window)
{
  MistWindow *self = MIST_WINDOW (window);

  save_window_state (self);
  g_clear_handle_id (&self->poll_source, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  return GTK_WINDOW_CLASS (mist_window_parent_class)->close_request (window);
}

static void
mist_window_dispose (GObject *object)
{
  MistWindow *self = MIST_WINDOW (object);

  g_clear_handle_id (&self->poll_source, g_source_remove);
  if (self->controller != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->controller, self);
      mist_controller_load_game (self->controller, NULL);
    }
  g_clear_object (&self->controller);
  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (mist_window_parent_class)->dispose (object);
}

static void
mist_window_class_init (MistWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = mist_window_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = mist_window_close_request;

  gtk_widget_class_install_action (widget_class, "win.back", NULL, action_back);
  gtk_widget_class_install_action (widget_class, "win.refresh", NULL, action_refresh);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, action_search);
  gtk_widget_class_install_action (widget_class, "win.show-library", NULL, action_show_view);
  gtk_widget_class_install_action (widget_class, "win.show-downloads", NULL, action_show_view);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.back", NULL);

  g_type_ensure (MIST_TYPE_LOGIN_PAGE);
  g_type_ensure (MIST_TYPE_LIBRARY_PAGE);
  g_type_ensure (MIST_TYPE_GAME_PAGE);
  g_type_ensure (MIST_TYPE_DOWNLOADS_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/example/mist/Launcher/mist-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MistWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, MistWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, MistWindow, login_page);
  gtk_widget_class_bind_template_child (widget_class, MistWindow, back_button);
  gtk_widget_class_bind_template_child (widget_class, MistWindow, busy_spinner);
  gtk_widget_class_bind_template_child (widget_class, MistWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, MistWindow, library_stack);
  gtk_widget_class_bind_template_child (widget_class, MistWindow, library_page);
  gtk_widget_class_bind_template_child (widget_class, MistWindow, game_page);
  gtk_widget_class_bind_template_child (widget_class, MistWindow, downloads_page);
  gtk_widget_class_bind_template_child (widget_class, MistWindow, downloads_stack_page);
}

static void
mist_window_init (MistWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  gtk_widget_set_visible (GTK_WIDGET (self->back_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->busy_spinner), FALSE);

  g_signal_connect_swapped (self->login_page, "login-requested", G_CALLBACK (on_login_requested),
                            self);
  g_signal_connect_swapped (self->library_page, "game-activated", G_CALLBACK (on_game_activated),
                            self);
  g_signal_connect_swapped (self->game_page, "action-requested",
                            G_CALLBACK (on_game_action_requested), self);
  g_signal_connect_swapped (self->downloads_page, "job-action", G_CALLBACK (on_job_action), self);
  g_signal_connect_swapped (self->downloads_page, "queue-action", G_CALLBACK (on_queue_action),
                            self);
}

static void
restore_window_state (MistWindow *self)
{
  gtk_window_set_default_size (GTK_WINDOW (self), g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  mist_library_page_set_filter (self->library_page,
                                (MistLibraryFilter) g_settings_get_enum (self->settings,
                                                                         "library-filter"));
}

MistWindow *
mist_window_new (AdwApplication *application, MistController *controller, GSettings *settings)
{
  MistWindow *self = g_object_new (MIST_TYPE_WINDOW, "application", application, NULL);

  self->controller = g_object_ref (controller);
  self->settings = g_object_ref (settings);
  restore_window_state (self);

  mist_library_page_set_games (self->library_page, mist_controller_get_games (controller));
  mist_downloads_page_set_jobs (self->downloads_page, mist_controller_get_jobs (controller));
  g_signal_connect_swapped (controller, "notify::offline-reason", G_CALLBACK (on_offline_changed),
                            self);
  g_signal_connect_swapped (controller, "job-finished", G_CALLBACK (on_job_finished), self);
  g_signal_connect_swapped (controller, "job-failed", G_CALLBACK (on_job_failed), self);
  g_signal_connect_swapped (controller, "notice", G_CALLBACK (on_notice), self);
  g_signal_connect_swapped (controller, "session-not-stored", G_CALLBACK (on_session_not_stored),
                            self);
  g_signal_connect_object (mist_controller_get_jobs (controller), "items-changed",
                           G_CALLBACK (update_downloads_badge), self, G_CONNECT_SWAPPED);
  on_offline_changed (self);
  mist_window_show_login (self);
  return self;
}
