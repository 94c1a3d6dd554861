/* mist-preferences-window.c: download settings and the account, bound to GSettings
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-preferences-window.h"

#include <glib/gi18n.h>

struct _MistPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  AdwActionRow *folder_row;
  GtkSpinButton *bandwidth_spin;
  GtkSpinButton *parallel_spin;
  AdwComboRow *update_row;
  AdwActionRow *server_row;
  AdwActionRow *user_row;

  GSettings *settings; /* (owned) */
};

G_DEFINE_FINAL_TYPE (MistPreferencesWindow, mist_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

/* The install folder the settings name, or the default when the key is empty. */
char *
mist_preferences_window_dup_install_folder (GSettings *settings)
{
  g_autofree char *folder = g_settings_get_string (settings, "install-folder");

  if (*folder != '\0')
    return g_steal_pointer (&folder);
  return g_build_filename (g_get_user_data_dir (), "mist", "games", NULL);
}

static void
update_folder_row (MistPreferencesWindow *self)
{
  g_autofree char *folder = mist_preferences_window_dup_install_folder (self->settings);

  adw_action_row_set_subtitle (self->folder_row, folder);
}

static void
on_folder_chosen (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  MistPreferencesWindow *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = folder != NULL ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        g_settings_set_string (self->settings, "install-folder", path);
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
on_choose_folder (MistPreferencesWindow *self)
{
  GtkFileChooserNative *dialog;
  g_autofree char *current_path = mist_preferences_window_dup_install_folder (self->settings);
  g_autoptr (GFile) current = g_file_new_for_path (current_path);

  dialog = gtk_file_chooser_native_new (_("Install Folder"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Select"),
                                        _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (dialog), current, NULL);
  g_signal_connect (dialog, "response", G_CALLBACK (on_folder_chosen), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* The combo row lists the update-behaviour nicks in the schema's order. */
static gboolean
behaviour_to_selected (GValue *value, GVariant *variant, gpointer user_data)
{
  g_value_set_uint (value, g_str_equal (g_variant_get_string (variant, NULL), "automatic"));
  return TRUE;
}

static GVariant *
selected_to_behaviour (const GValue *value, const GVariantType *type, gpointer user_data)
{
  return g_variant_new_string (g_value_get_uint (value) == 1 ? "automatic" : "ask");
}

static void
mist_preferences_window_dispose (GObject *object)
{
  MistPreferencesWindow *self = MIST_PREFERENCES_WINDOW (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (mist_preferences_window_parent_class)->dispose (object);
}

static void
mist_preferences_window_class_init (MistPreferencesWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = mist_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (
    widget_class, "/example/mist/Launcher/mist-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MistPreferencesWindow, folder_row);
  gtk_widget_class_bind_template_child (widget_class, MistPreferencesWindow, bandwidth_spin);
  gtk_widget_class_bind_template_child (widget_class, MistPreferencesWindow, parallel_spin);
  gtk_widget_class_bind_template_child (widget_class, MistPreferencesWindow, update_row);
  gtk_widget_class_bind_template_child (widget_class, MistPreferencesWindow, server_row);
  gtk_widget_class_bind_template_child (widget_class, MistPreferencesWindow, user_row);
  gtk_widget_class_bind_template_callback (widget_class, on_choose_folder);
}

static void
mist_preferences_window_init (MistPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/* Creates the window for settings (schema example.mist.Launcher); username is the
 * logged-in user, or NULL. */
GtkWidget *
mist_preferences_window_new (GtkWindow *parent, GSettings *settings, const char *username)
{
  MistPreferencesWindow *self;
  g_autofree char *server = NULL;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (MIST_TYPE_PREFERENCES_WINDOW, "transient-for", parent, "modal", TRUE,
                       NULL);
  self->settings = g_object_ref (settings);

  g_settings_bind (settings, "bandwidth-limit", self->bandwidth_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "parallel-downloads", self->parallel_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (settings, "update-behaviour", self->update_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, behaviour_to_selected,
                                selected_to_behaviour, NULL, NULL);
  g_signal_connect_object (settings, "changed::install-folder", G_CALLBACK (update_folder_row),
                           self, G_CONNECT_SWAPPED);
  update_folder_row (self);

  server = g_settings_get_string (settings, "server-url");
  adw_action_row_set_subtitle (self->server_row, *server != '\0' ? server : _("None"));
  adw_action_row_set_subtitle (self->user_row, username != NULL ? username : _("Not logged in"));
  return GTK_WIDGET (self);
}
