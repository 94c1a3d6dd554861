/* mist-login-page.h: server address, user name and password, with the login's errors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MIST_TYPE_LOGIN_PAGE (mist_login_page_get_type ())
G_DECLARE_FINAL_TYPE (MistLoginPage, mist_login_page, MIST, LOGIN_PAGE, AdwBin)

GtkWidget *mist_login_page_new (void);

const char *mist_login_page_get_server (MistLoginPage *self);
const char *mist_login_page_get_username (MistLoginPage *self);
void mist_login_page_set_server (MistLoginPage *self, const char *server);
void mist_login_page_set_username (MistLoginPage *self, const char *username);
void mist_login_page_set_busy (MistLoginPage *self, gboolean busy);
void mist_login_page_show_error (MistLoginPage *self, const GError *error, guint retry_after);
const char *mist_login_page_get_error_text (MistLoginPage *self);
void mist_login_page_clear (MistLoginPage *self);

G_END_DECLS
