/* mist-launch-options-window.c: editing a game's extra arguments, environment and wrapper
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-launch-options-window.h"

#include <glib/gi18n.h>

struct _MistLaunchOptionsWindow
{
  AdwWindow parent_instance;

  AdwWindowTitle *window_title;
  AdwEntryRow *arguments_row;
  AdwEntryRow *environment_row;
  AdwEntryRow *wrapper_row;
  GtkLabel *error_label;

  MistLaunchSettings *settings; /* (owned): the fields as last parsed without an error */
};

G_DEFINE_FINAL_TYPE (MistLaunchOptionsWindow, mist_launch_options_window, ADW_TYPE_WINDOW)

enum
{
  SIGNAL_SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
mark_row (AdwEntryRow *row, gboolean valid)
{
  if (valid)
    gtk_widget_remove_css_class (GTK_WIDGET (row), "error");
  else
    gtk_widget_add_css_class (GTK_WIDGET (row), "error");
}

/* Parses every row, marks the invalid ones and shows the first error; Save is on only
 * when all three parse. */
static void
on_row_changed (MistLaunchOptionsWindow *self)
{
  g_autoptr (MistLaunchSettings) settings = mist_launch_settings_new ();
  g_autoptr (GError) arguments_error = NULL;
  g_autoptr (GError) environment_error = NULL;
  g_autoptr (GError) wrapper_error = NULL;
  const char *wrapper = gtk_editable_get_text (GTK_EDITABLE (self->wrapper_row));
  GError *shown;

  g_clear_pointer (&settings->arguments, g_strfreev);
  g_clear_pointer (&settings->environment, g_strfreev);
  mark_row (self->arguments_row, mist_launch_settings_parse_arguments (
                                   gtk_editable_get_text (GTK_EDITABLE (self->arguments_row)),
                                   &settings->arguments, &arguments_error));
  mark_row (self->environment_row,
            mist_launch_settings_parse_environment (
              gtk_editable_get_text (GTK_EDITABLE (self->environment_row)),
              &settings->environment, &environment_error));
  mark_row (self->wrapper_row, mist_launch_settings_check_wrapper (wrapper, &wrapper_error));

  shown = arguments_error != NULL ? arguments_error
          : environment_error != NULL ? environment_error
                                      : wrapper_error;
  gtk_label_set_text (self->error_label, shown != NULL ? shown->message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), shown != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "launch-options.save", shown == NULL);
  if (shown != NULL)
    return;

  g_free (settings->wrapper);
  settings->wrapper = g_strstrip (g_strdup (wrapper));
  mist_launch_settings_free (self->settings);
  self->settings = g_steal_pointer (&settings);
}

static void
action_save (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  MistLaunchOptionsWindow *self = MIST_LAUNCH_OPTIONS_WINDOW (widget);

  g_signal_emit (self, signals[SIGNAL_SAVED], 0);
  gtk_window_close (GTK_WINDOW (self));
}

static void
mist_launch_options_window_finalize (GObject *object)
{
  MistLaunchOptionsWindow *self = MIST_LAUNCH_OPTIONS_WINDOW (object);

  mist_launch_settings_free (self->settings);

  G_OBJECT_CLASS (mist_launch_options_window_parent_class)->finalize (object);
}

static void
mist_launch_options_window_class_init (MistLaunchOptionsWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = mist_launch_options_window_finalize;

  /**
   * MistLaunchOptionsWindow::saved:
   *
   * Emitted when the user saves valid options; mist_launch_options_window_dup_settings()
   * returns them.
   */
  signals[SIGNAL_SAVED] = g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_install_action (widget_class, "launch-options.save", NULL, action_save);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);

  gtk_widget_class_set_template_from_resource (
    widget_class, "/example/mist/Launcher/mist-launch-options-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MistLaunchOptionsWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, MistLaunchOptionsWindow, arguments_row);
  gtk_widget_class_bind_template_child (widget_class, MistLaunchOptionsWindow, environment_row);
  gtk_widget_class_bind_template_child (widget_class, MistLaunchOptionsWindow, wrapper_row);
  gtk_widget_class_bind_template_child (widget_class, MistLaunchOptionsWindow, error_label);
  gtk_widget_class_bind_template_callback (widget_class, on_row_changed);
}

static void
mist_launch_options_window_init (MistLaunchOptionsWindow *self)
{
  self->settings = mist_launch_settings_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

/* Opens the options of game_title with the saved settings filled in. */
GtkWidget *
mist_launch_options_window_new (GtkWindow *parent,
                                const char *game_title,
                                const MistLaunchSettings *settings)
{
  MistLaunchOptionsWindow *self =
    g_object_new (MIST_TYPE_LAUNCH_OPTIONS_WINDOW, "transient-for", parent, NULL);
  g_autofree char *arguments = mist_launch_settings_join ((const char *const *) settings->arguments);
  g_autofree char *environment =
    mist_launch_settings_join ((const char *const *) settings->environment);

  adw_window_title_set_subtitle (self->window_title, game_title);
  gtk_editable_set_text (GTK_EDITABLE (self->arguments_row), arguments);
  gtk_editable_set_text (GTK_EDITABLE (self->environment_row), environment);
  gtk_editable_set_text (GTK_EDITABLE (self->wrapper_row), settings->wrapper);
  on_row_changed (self);
  return GTK_WIDGET (self);
}

/* The options as last parsed without an error. */
MistLaunchSettings *
mist_launch_options_window_dup_settings (MistLaunchOptionsWindow *self)
{
  MistLaunchSettings *copy = mist_launch_settings_new ();

  g_free (copy->wrapper);
  copy->wrapper = g_strdup (self->settings->wrapper);
  g_strfreev (copy->environment);
  copy->environment = g_strdupv (self->settings->environment);
  g_strfreev (copy->arguments);
  copy->arguments = g_strdupv (self->settings->arguments);
  return copy;
}

/* The message shown under the rows, or NULL when every row is valid. */
const char *
mist_launch_options_window_get_error (MistLaunchOptionsWindow *self)
{
  if (!gtk_widget_get_visible (GTK_WIDGET (self->error_label)))
    return NULL;
  return gtk_label_get_text (self->error_label);
}
