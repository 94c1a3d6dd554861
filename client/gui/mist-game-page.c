/* mist-game-page.c: one game with its versions and the action that fits its state
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-game-page.h"

#include "mist-format.h"
#include "mist-version-item.h"

#include <glib/gi18n.h>

struct _MistGamePage
{
  AdwBin parent_instance;

  GtkPicture *cover;
  GtkLabel *title;
  GtkLabel *private_label;
  GtkLabel *description;
  GtkLabel *installed_label;
  GtkButton *primary_button;
  GtkProgressBar *progress;
  GtkLabel *action_detail;
  AdwPreferencesGroup *folder_group;
  AdwActionRow *folder_row;
  AdwPreferencesGroup *versions_group;
  GtkListBox *versions_list;

  MistGameItem *item;       /* (nullable) (owned) */
  gulong notify_handler;
  gulong versions_handler;
  const char *primary_action; /* one of the action names below, static */
  char *install_folder;
  char *offline_reason;     /* (nullable): why actions that need the server are off */
  guint64 free_space;       /* of install_folder's file system; 0 while unknown */
  GCancellable *space_cancellable;
};

G_DEFINE_FINAL_TYPE (MistGamePage, mist_game_page, ADW_TYPE_BIN)

enum
{
  SIGNAL_ACTION_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void update_actions (MistGamePage *self);

/* Space a fresh install needs: the downloaded objects stay until every file is
 * unpacked, so both sizes count. An estimate: objects shared between files count once
 * in the download size but are unpacked once per file. */
static guint64
space_needed (MistGameItem *item)
{
  return mist_game_item_get_latest_installed_size (item) + mist_game_item_get_download_size (item);
}

static char *
describe_install (MistGamePage *self)
{
  g_autofree char *download = g_format_size (mist_game_item_get_download_size (self->item));
  g_autofree char *needed = g_format_size (space_needed (self->item));
  g_autofree char *free_space = NULL;

  if (self->free_space == 0)
    return g_strdup_printf (_("Download %s, needs %s of disk space."), download, needed);

  free_space = g_format_size (self->free_space);
  if (self->free_space < space_needed (self->item))
    return g_strdup_printf (_("Not enough space in %s: %s needed, %s free. Choose another "
                              "folder or free some space."),
                            self->install_folder, needed, free_space);
  return g_strdup_printf (_("Download %s, needs %s of disk space (%s free)."), download, needed,
                          free_space);
}

static char *
describe_installed (MistGameItem *item)
{
  const char *installed = mist_game_item_get_installed_version (item);
  const char *latest = mist_game_item_get_latest_version (item);
  g_autofree char *size = NULL;

  if (installed != NULL)
    {
      size = g_format_size (mist_game_item_get_installed_size (item));
      return g_strdup_printf (_("Version %s installed, %s."), installed, size);
    }
  if (latest != NULL)
    return g_strdup_printf (_("Not installed. The latest version is %s."), latest);
  return g_strdup (_("Not installed. The server has no version of this game yet."));
}

static char *
describe_progress (MistGameItem *item)
{
  /* TRANSLATORS: progress of a download in percent, for example "42 %" */
  return g_strdup_printf (_("%.0f %%"), mist_game_item_get_progress (item) * 100);
}

/* Picks the primary action and its label from the state. */
static void
update_primary (MistGamePage *self)
{
  MistGameState state = mist_game_item_get_state (self->item);
  const char *label;

  switch (state)
    {
    case MIST_GAME_STATE_QUEUED:
    case MIST_GAME_STATE_DOWNLOADING:
      self->primary_action = "pause";
      label = _("_Pause");
      break;
    case MIST_GAME_STATE_PAUSED:
      self->primary_action = "resume";
      label = _("_Resume");
      break;
    case MIST_GAME_STATE_INSTALLED:
      self->primary_action = "play";
      label = _("_Play");
      break;
    case MIST_GAME_STATE_UPDATE_AVAILABLE:
      self->primary_action = "update";
      label = _("_Update");
      break;
    case MIST_GAME_STATE_AVAILABLE:
    default:
      self->primary_action = "install";
      label = _("_Install");
      break;
    }
  gtk_button_set_label (self->primary_button, label);
}

static void
update_detail (MistGamePage *self)
{
  MistGameState state = mist_game_item_get_state (self->item);
  g_autofree char *detail = NULL;
  gboolean needs_server = state == MIST_GAME_STATE_AVAILABLE ||
                          state == MIST_GAME_STATE_UPDATE_AVAILABLE ||
                          state == MIST_GAME_STATE_PAUSED;

  if (needs_server && self->offline_reason != NULL)
    detail = g_strdup (self->offline_reason);
  else if (state == MIST_GAME_STATE_AVAILABLE && mist_game_item_get_latest_version (self->item))
    detail = describe_install (self);
  else if (state == MIST_GAME_STATE_UPDATE_AVAILABLE)
    detail = g_strdup (mist_game_item_get_update_summary (self->item));
  else if (state == MIST_GAME_STATE_QUEUED)
    detail = g_strdup (_("Waiting for other downloads to finish."));

  gtk_label_set_text (self->action_detail, detail != NULL ? detail : "");
  gtk_widget_set_visible (GTK_WIDGET (self->action_detail), detail != NULL);
}

static void
sync_from_item (MistGamePage *self)
{
  g_autofree char *installed = describe_installed (self->item);
  g_autofree char *progress = describe_progress (self->item);
  gboolean has_job = mist_game_item_has_job (self->item);

  gtk_label_set_text (self->title, mist_game_item_get_title (self->item));
  gtk_label_set_text (self->description, mist_game_item_get_description (self->item));
  gtk_widget_set_visible (GTK_WIDGET (self->private_label),
                          mist_game_item_get_is_private (self->item));
  gtk_picture_set_paintable (self->cover, mist_game_item_get_cover (self->item));
  gtk_label_set_text (self->installed_label, installed);

  gtk_widget_set_visible (GTK_WIDGET (self->progress), has_job);
  gtk_progress_bar_set_fraction (self->progress, mist_game_item_get_progress (self->item));
  gtk_progress_bar_set_text (self->progress, progress);
  gtk_widget_set_visible (GTK_WIDGET (self->folder_group),
                          !mist_game_item_is_installed (self->item) && !has_job);

  update_primary (self);
  update_detail (self);
  update_actions (self);
}

static GtkWidget *
create_version_row (MistGamePage *self, MistVersionItem *version)
{
  GtkWidget *row = adw_expander_row_new ();
  GtkWidget *changelog;
  GDateTime *created = mist_version_item_get_created_at (version);
  g_autofree char *date = created != NULL ? g_date_time_format (created, "%x") : NULL;
  g_autofree char *size = g_format_size (mist_version_item_get_installed_size (version));
  g_autofree char *subtitle = NULL;
  const char *text = mist_version_item_get_changelog (version);

  /* TRANSLATORS: a version's date and its installed size, for example "12/04/26 · 1.2 GB" */
  subtitle = date != NULL ? g_strdup_printf (_("%s · %s"), date, size) : g_strdup (size);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), mist_version_item_get_name (version));
  adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (row), subtitle);

  if (g_strcmp0 (mist_version_item_get_name (version),
                 mist_game_item_get_installed_version (self->item)) == 0)
    {
      GtkWidget *installed = gtk_label_new (_("Installed"));

      gtk_widget_add_css_class (installed, "badge");
      gtk_widget_set_valign (installed, GTK_ALIGN_CENTER);
      adw_expander_row_add_action (ADW_EXPANDER_ROW (row), installed);
    }

  changelog = gtk_label_new (*text != '\0' ? text : _("No changelog."));
  gtk_label_set_wrap (GTK_LABEL (changelog), TRUE);
  gtk_label_set_xalign (GTK_LABEL (changelog), 0);
  gtk_label_set_selectable (GTK_LABEL (changelog), TRUE);
  gtk_widget_add_css_class (changelog, "changelog");
  adw_expander_row_add_row (ADW_EXPANDER_ROW (row), changelog);
  return row;
}

/* Lists the versions newest first, the order people read a changelog in. */
static void
rebuild_versions (MistGamePage *self)
{
  GListModel *versions = mist_game_item_get_versions (self->item);
  GtkWidget *child;
  guint n = g_list_model_get_n_items (versions);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->versions_list))) != NULL)
    gtk_list_box_remove (self->versions_list, child);

  for (guint i = n; i > 0; i--)
    {
      g_autoptr (MistVersionItem) version = g_list_model_get_item (versions, i - 1);

      gtk_list_box_append (self->versions_list, create_version_row (self, version));
    }
  gtk_widget_set_visible (GTK_WIDGET (self->versions_group), n > 0);
}

static void
on_item_notify (MistGamePage *self, GParamSpec *pspec)
{
  if (mist_game_item_get_cover (self->item) == NULL)
    mist_game_item_load_cover_async (self->item, NULL, NULL, NULL);
  sync_from_item (self);
  if (g_strcmp0 (pspec->name, "installed-version") == 0)
    rebuild_versions (self);
}

static void
emit_action (MistGamePage *self, const char *action)
{
  if (self->item != NULL)
    g_signal_emit (self, signals[SIGNAL_ACTION_REQUESTED], 0, action, self->item);
}

static void
activate_primary (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  MistGamePage *self = MIST_GAME_PAGE (widget);

  emit_action (self, self->primary_action);
}

/* Forwards game.verify, game.repair, ... as "action-requested" with the part after
 * "game.". */
static void
activate_secondary (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  emit_action (MIST_GAME_PAGE (widget), action_name + strlen ("game."));
}

static void
on_folder_chosen (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  MistGamePage *self = MIST_GAME_PAGE (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = folder != NULL ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        {
          mist_game_page_set_install_folder (self, path);
          emit_action (self, "folder-changed");
        }
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
activate_choose_folder (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  MistGamePage *self = MIST_GAME_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *dialog;
  g_autoptr (GFile) current = g_file_new_for_path (self->install_folder);

  dialog = gtk_file_chooser_native_new (_("Install Folder"),
                                        GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Select"),
                                        _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (dialog), current, NULL);
  g_signal_connect (dialog, "response", G_CALLBACK (on_folder_chosen), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
update_actions (MistGamePage *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean has_item = self->item != NULL;
  gboolean installed = has_item && mist_game_item_is_installed (self->item);
  gboolean has_job = has_item && mist_game_item_has_job (self->item);
  gboolean online = self->offline_reason == NULL;
  gboolean primary_needs_server = g_strcmp0 (self->primary_action, "play") != 0 &&
                                  g_strcmp0 (self->primary_action, "pause") != 0;
  gboolean primary = has_item && (online || !primary_needs_server);

  if (has_item && g_strcmp0 (self->primary_action, "install") == 0)
    primary = primary && mist_game_item_get_latest_version (self->item) != NULL &&
              (self->free_space == 0 || self->free_space >= space_needed (self->item));

  gtk_widget_action_set_enabled (widget, "game.primary", primary);
  gtk_widget_action_set_enabled (
    widget, "game.play",
    installed && mist_game_item_get_state (self->item) == MIST_GAME_STATE_UPDATE_AVAILABLE);
  gtk_widget_action_set_enabled (widget, "game.cancel", has_job);
  gtk_widget_action_set_enabled (widget, "game.open-folder", installed);
  gtk_widget_action_set_enabled (widget, "game.verify", installed && !has_job);
  gtk_widget_action_set_enabled (widget, "game.repair", installed && !has_job && online);
  gtk_widget_action_set_enabled (widget, "game.uninstall", installed && !has_job);
  gtk_widget_action_set_enabled (widget, "game.launch-options", installed);
  gtk_widget_action_set_enabled (widget, "game.choose-folder", has_item && !installed && !has_job);
}

static void
mist_game_page_dispose (GObject *object)
{
  MistGamePage *self = MIST_GAME_PAGE (object);

  mist_game_page_set_item (self, NULL);
  g_cancellable_cancel (self->space_cancellable);
  g_clear_object (&self->space_cancellable);

  G_OBJECT_CLASS (mist_game_page_parent_class)->dispose (object);
}

static void
mist_game_page_finalize (GObject *object)
{
  MistGamePage *self = MIST_GAME_PAGE (object);

  g_free (self->install_folder);
  g_free (self->offline_reason);

  G_OBJECT_CLASS (mist_game_page_parent_class)->finalize (object);
}

static void
mist_game_page_class_init (MistGamePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  const char *secondary[] = { "play",   "cancel",    "open-folder",   "verify",
                              "repair", "uninstall", "launch-options" };

  object_class->dispose = mist_game_page_dispose;
  object_class->finalize = mist_game_page_finalize;

  /**
   * MistGamePage::action-requested:
   * @action: "install", "update", "play", "pause", "resume", "cancel", "open-folder",
   *   "verify", "repair", "uninstall", "launch-options" or "folder-changed"
   * @game: the game shown
   */
  signals[SIGNAL_ACTION_REQUESTED] =
    g_signal_new ("action-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 2, G_TYPE_STRING, MIST_TYPE_GAME_ITEM);

  gtk_widget_class_install_action (widget_class, "game.primary", NULL, activate_primary);
  gtk_widget_class_install_action (widget_class, "game.choose-folder", NULL,
                                   activate_choose_folder);
  for (guint i = 0; i < G_N_ELEMENTS (secondary); i++)
    {
      g_autofree char *name = g_strconcat ("game.", secondary[i], NULL);

      gtk_widget_class_install_action (widget_class, name, NULL, activate_secondary);
    }

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/example/mist/Launcher/mist-game-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MistGamePage, cover);
  gtk_widget_class_bind_template_child (widget_class, MistGamePage, title);
  gtk_widget_class_bind_template_child (widget_class, MistGamePage, private_label);
  gtk_widget_class_bind_template_child (widget_class, MistGamePage, description);
  gtk_widget_class_bind_template_child (widget_class, MistGamePage, installed_label);
  gtk_widget_class_bind_template_child (widget_class, MistGamePage, primary_button);
  gtk_widget_class_bind_template_child (widget_class, MistGamePage, progress);
  gtk_widget_class_bind_template_child (widget_class, MistGamePage, action_detail);
  gtk_widget_class_bind_template_child (widget_class, MistGamePage, folder_group);
  gtk_widget_class_bind_template_child (widget_class, MistGamePage, folder_row);
  gtk_widget_class_bind_template_child (widget_class, MistGamePage, versions_group);
  gtk_widget_class_bind_template_child (widget_class, MistGamePage, versions_list);
}

static void
mist_game_page_init (MistGamePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->install_folder = g_build_filename (g_get_user_data_dir (), "mist", "games", NULL);
  adw_action_row_set_subtitle (self->folder_row, self->install_folder);
  self->primary_action = "install";
  update_actions (self);
}

GtkWidget *
mist_game_page_new (void)
{
  return g_object_new (MIST_TYPE_GAME_PAGE, NULL);
}

/* Shows item and follows its changes; NULL shows nothing. */
void
mist_game_page_set_item (MistGamePage *self, MistGameItem *item)
{
  g_return_if_fail (MIST_IS_GAME_PAGE (self));

  if (self->item == item)
    return;
  if (self->item != NULL)
    {
      g_clear_signal_handler (&self->notify_handler, self->item);
      g_clear_signal_handler (&self->versions_handler, mist_game_item_get_versions (self->item));
      g_clear_object (&self->item);
    }
  if (item == NULL)
    {
      update_actions (self);
      return;
    }

  self->item = g_object_ref (item);
  self->notify_handler =
    g_signal_connect_swapped (item, "notify", G_CALLBACK (on_item_notify), self);
  self->versions_handler = g_signal_connect_swapped (mist_game_item_get_versions (item),
                                                     "items-changed",
                                                     G_CALLBACK (rebuild_versions), self);
  mist_game_item_load_cover_async (item, NULL, NULL, NULL);
  sync_from_item (self);
  rebuild_versions (self);
}

MistGameItem *
mist_game_page_get_item (MistGamePage *self)
{
  return self->item;
}

/* Finds the free space of the nearest folder that exists at or above path: the install
 * folder is created only when the first game goes into it. */
static void
query_space_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  g_autoptr (GFile) file = g_file_new_for_path (task_data);
  g_autoptr (GFileInfo) info = NULL;
  g_autoptr (GError) error = NULL;

  while (!g_file_query_exists (file, cancellable))
    {
      g_autoptr (GFile) parent = g_file_get_parent (file);

      if (parent == NULL)
        break;
      g_set_object (&file, parent);
    }

  info = g_file_query_filesystem_info (file, G_FILE_ATTRIBUTE_FILESYSTEM_FREE, cancellable,
                                       &error);
  if (info == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_int (task, (gssize) MIN (g_file_info_get_attribute_uint64 (
                                           info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE),
                                         (guint64) G_MAXSSIZE));
}

static void
query_space_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gssize free_space = g_task_propagate_int (G_TASK (result), &error);
  MistGamePage *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = MIST_GAME_PAGE (user_data);
  if (error != NULL)
    g_debug ("Cannot find the free space of %s: %s", self->install_folder, error->message);
  self->free_space = error == NULL ? (guint64) free_space : 0;
  if (self->item != NULL)
    sync_from_item (self);
}

/* Sets the folder a new install goes into and looks up its free space off the main
 * thread. */
void
mist_game_page_set_install_folder (MistGamePage *self, const char *folder)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (MIST_IS_GAME_PAGE (self));
  g_return_if_fail (folder != NULL);

  g_free (self->install_folder);
  self->install_folder = g_strdup (folder);
  self->free_space = 0;
  adw_action_row_set_subtitle (self->folder_row, folder);

  g_cancellable_cancel (self->space_cancellable);
  g_set_object (&self->space_cancellable, g_cancellable_new ());
  task = g_task_new (NULL, self->space_cancellable, query_space_done, self);
  g_task_set_task_data (task, g_strdup (folder), g_free);
  g_task_run_in_thread (task, query_space_thread);
}

const char *
mist_game_page_get_install_folder (MistGamePage *self)
{
  return self->install_folder;
}

/* Turns off the actions that need the server and shows reason beside them; NULL turns
 * them back on. */
void
mist_game_page_set_offline (MistGamePage *self, const char *reason)
{
  g_return_if_fail (MIST_IS_GAME_PAGE (self));

  g_free (self->offline_reason);
  self->offline_reason = g_strdup (reason);
  if (self->item != NULL)
    sync_from_item (self);
  else
    update_actions (self);
}

/* "install", "update", "play", "pause" or "resume". */
const char *
mist_game_page_get_primary_action (MistGamePage *self)
{
  return self->primary_action;
}

GtkWidget *
mist_game_page_get_primary_button (MistGamePage *self)
{
  return GTK_WIDGET (self->primary_button);
}

const char *
mist_game_page_get_action_detail (MistGamePage *self)
{
  if (!gtk_widget_get_visible (GTK_WIDGET (self->action_detail)))
    return NULL;
  return gtk_label_get_text (self->action_detail);
}

guint
mist_game_page_get_n_versions_shown (MistGamePage *self)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->versions_list));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    n++;
  return n;
}
