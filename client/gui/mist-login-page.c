/* mist-login-page.c: server address, user name and password, with the login's errors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "mist-config.h"

#include "mist-login-page.h"

#include "mist-error.h"

#include <glib/gi18n.h>

struct _MistLoginPage
{
  AdwBin parent_instance;

  AdwEntryRow *server_row;
  AdwEntryRow *username_row;
  AdwEntryRow *password_row;
  GtkLabel *error_label;
  GtkButton *login_button;
  GtkSpinner *spinner;
  gboolean busy;
};

G_DEFINE_FINAL_TYPE (MistLoginPage, mist_login_page, ADW_TYPE_BIN)

enum
{
  SIGNAL_LOGIN_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gboolean
is_complete (MistLoginPage *self)
{
  return *gtk_editable_get_text (GTK_EDITABLE (self->server_row)) != '\0' &&
         *gtk_editable_get_text (GTK_EDITABLE (self->username_row)) != '\0' &&
         *gtk_editable_get_text (GTK_EDITABLE (self->password_row)) != '\0';
}

static void
update_sensitivity (MistLoginPage *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->login_button), !self->busy && is_complete (self));
  gtk_widget_set_sensitive (GTK_WIDGET (self->server_row), !self->busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->username_row), !self->busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->password_row), !self->busy);
}

/* GTK 4.8 warns when a focused entry turns insensitive, so the focus leaves the page
 * while a login runs. */
static void
drop_focus (MistLoginPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;

  if (focus != NULL && gtk_widget_is_ancestor (focus, GTK_WIDGET (self)))
    gtk_root_set_focus (root, NULL);
}

/* Puts the focus back on the password after drop_focus(), unless the user has moved it
 * elsewhere. */
static void
restore_focus (MistLoginPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (root != NULL && gtk_root_get_focus (root) == NULL && gtk_widget_get_mapped (GTK_WIDGET (self)))
    gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
}

static void
on_entry_changed (MistLoginPage *self)
{
  update_sensitivity (self);
}

static void
on_login_clicked (MistLoginPage *self)
{
  g_autofree char *server = NULL;

  if (self->busy || !is_complete (self))
    return;

  server = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->server_row))));
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);
  g_signal_emit (self, signals[SIGNAL_LOGIN_REQUESTED], 0, server,
                 gtk_editable_get_text (GTK_EDITABLE (self->username_row)),
                 gtk_editable_get_text (GTK_EDITABLE (self->password_row)));
}

/* Enter moves to the next empty field, and logs in from the last one. */
static void
on_entry_activated (MistLoginPage *self, AdwEntryRow *row)
{
  AdwEntryRow *rows[] = { self->server_row, self->username_row, self->password_row };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    if (*gtk_editable_get_text (GTK_EDITABLE (rows[i])) == '\0')
      {
        gtk_widget_grab_focus (GTK_WIDGET (rows[i]));
        return;
      }
  on_login_clicked (self);
}

static void
mist_login_page_class_init (MistLoginPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  /**
   * MistLoginPage::login-requested:
   * @server: the server address as typed, without surrounding spaces
   * @username: the user name
   * @password: the password; the page keeps it only until it is cleared
   */
  signals[SIGNAL_LOGIN_REQUESTED] =
    g_signal_new ("login-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/example/mist/Launcher/mist-login-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MistLoginPage, server_row);
  gtk_widget_class_bind_template_child (widget_class, MistLoginPage, username_row);
  gtk_widget_class_bind_template_child (widget_class, MistLoginPage, password_row);
  gtk_widget_class_bind_template_child (widget_class, MistLoginPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, MistLoginPage, login_button);
  gtk_widget_class_bind_template_child (widget_class, MistLoginPage, spinner);
  gtk_widget_class_bind_template_callback (widget_class, on_entry_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_entry_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_login_clicked);
}

static void
mist_login_page_init (MistLoginPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mist_login_page_new (void)
{
  return g_object_new (MIST_TYPE_LOGIN_PAGE, NULL);
}

const char *
mist_login_page_get_server (MistLoginPage *self)
{
  return gtk_editable_get_text (GTK_EDITABLE (self->server_row));
}

const char *
mist_login_page_get_username (MistLoginPage *self)
{
  return gtk_editable_get_text (GTK_EDITABLE (self->username_row));
}

void
mist_login_page_set_server (MistLoginPage *self, const char *server)
{
  gtk_editable_set_text (GTK_EDITABLE (self->server_row), server != NULL ? server : "");
}

void
mist_login_page_set_username (MistLoginPage *self, const char *username)
{
  gtk_editable_set_text (GTK_EDITABLE (self->username_row), username != NULL ? username : "");
}

/* Shows that a login runs: the fields are locked and the button spins. */
void
mist_login_page_set_busy (MistLoginPage *self, gboolean busy)
{
  g_return_if_fail (MIST_IS_LOGIN_PAGE (self));

  self->busy = busy;
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  gtk_spinner_set_spinning (self->spinner, busy);
  if (busy)
    drop_focus (self);
  update_sensitivity (self);
  if (!busy)
    restore_focus (self);
}

static char *
describe_wait (guint seconds)
{
  guint minutes = (seconds + 59) / 60;

  if (seconds < 60)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "Too many failed logins. Try again in %u second.",
                                         "Too many failed logins. Try again in %u seconds.",
                                         seconds),
                            seconds);
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                       "Too many failed logins. Try again in %u minute.",
                                       "Too many failed logins. Try again in %u minutes.",
                                       minutes),
                          minutes);
}

/* Turns a failed login into what the user can do about it. retry_after is the wait in
 * seconds that the server sent with a rate limit, 0 when it sent none. */
static char *
describe_login_error (MistLoginPage *self, const GError *error, guint retry_after)
{
  const char *server = mist_login_page_get_server (self);

  if (error->domain != MIST_ERROR)
    return g_strdup (error->message);

  switch ((MistError) error->code)
    {
    case MIST_ERROR_AUTH_REQUIRED:
      return g_strdup (_("Wrong user name or password. Check both and try again."));
    case MIST_ERROR_NO_NETWORK:
      return g_strdup_printf (
        _("Cannot reach %s. Check the address and that the server is running."), server);
    case MIST_ERROR_CERTIFICATE:
      return g_strdup_printf (_("The certificate of %s is not trusted. Ask the server’s admin "
                                "for its CA certificate, or check the address."),
                              server);
    case MIST_ERROR_RATE_LIMITED:
      if (retry_after > 0)
        return describe_wait (retry_after);
      return g_strdup (_("Too many failed logins. Wait a few minutes and try again."));
    case MIST_ERROR_INVALID_DATA:
    case MIST_ERROR_SERVER_ERROR:
      return g_strdup_printf (_("%s did not answer as a Mist server: %s"), server, error->message);
    default:
      return g_strdup (error->message);
    }
}

/* Shows why the login failed and unlocks the fields. */
void
mist_login_page_show_error (MistLoginPage *self, const GError *error, guint retry_after)
{
  g_autofree char *text = NULL;

  g_return_if_fail (MIST_IS_LOGIN_PAGE (self));
  g_return_if_fail (error != NULL);

  text = describe_login_error (self, error, retry_after);
  gtk_label_set_text (self->error_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
  mist_login_page_set_busy (self, FALSE);

  if (g_error_matches (error, MIST_ERROR, MIST_ERROR_AUTH_REQUIRED))
    {
      gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
      gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
    }
}

/* The text of the error shown, or NULL when none is shown. */
const char *
mist_login_page_get_error_text (MistLoginPage *self)
{
  if (!gtk_widget_get_visible (GTK_WIDGET (self->error_label)))
    return NULL;
  return gtk_label_get_text (self->error_label);
}

/* Forgets the password and any error, after a login or a logout. */
void
mist_login_page_clear (MistLoginPage *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);
  mist_login_page_set_busy (self, FALSE);
}
