/* test-server-config.c: the server's default configuration and its systemd unit
 *
 * The configuration file is read by mist-backend-stub with GKeyFile, so it is parsed
 * here the same way. Its keys are the ones the server accepts: a misspelt key in the
 * shipped file would be ignored, or rejected at start.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <string.h>

/* Every key of group [server] that mist-backend-stub reads. */
static const char *const server_keys[] = {
  "listen", "data-dir", "tls-certificate", "tls-key", "direct-patches", "use-xdelta3",
  "content-base-url", "token-lifetime", "read-timeout", NULL,
};

/* Keys that are unset by default (TLS files, content URL) or rarely changed, so the file
 * shows them commented out, as "#KEY=VALUE". */
static const char *const commented_keys[] = {
  "tls-certificate", "tls-key", "content-base-url", "token-lifetime", "read-timeout", NULL,
};

static GKeyFile *
load_key_file (const char *path)
{
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  g_autoptr (GError) error = NULL;

  g_key_file_load_from_file (key_file, path, G_KEY_FILE_KEEP_COMMENTS, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&key_file);
}

static char *
config_path (void)
{
  return g_build_filename (g_getenv ("MIST_SOURCE_ROOT"), "packaging", "backend-stub.conf",
                           NULL);
}

/* The unit as configured for this build, with the installed paths filled in. */
static char *
unit_path (void)
{
  return g_build_filename (g_getenv ("MIST_BUILD_ROOT"), "packaging",
                           "mist-backend-stub.service", NULL);
}

static GKeyFile *
load_config (void)
{
  g_autofree char *path = config_path ();

  return load_key_file (path);
}

static GKeyFile *
load_unit (void)
{
  g_autofree char *path = unit_path ();

  return load_key_file (path);
}

static void
test_config_known_keys (void)
{
  g_autoptr (GKeyFile) config = load_config ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) groups = g_key_file_get_groups (config, NULL);
  g_auto (GStrv) keys = g_key_file_get_keys (config, "server", NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (groups), ==, 1);
  g_assert_cmpstr (groups[0], ==, "server");
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_test_message ("key %s", keys[i]);
      g_assert_true (g_strv_contains (server_keys, keys[i]));
    }
}

static void
test_config_defaults (void)
{
  g_autoptr (GKeyFile) config = load_config ();
  g_autoptr (GError) error = NULL;
  g_autofree char *listen = g_key_file_get_string (config, "server", "listen", &error);
  g_autofree char *data_dir = NULL;
  int direct_patches;
  gboolean use_xdelta3;

  g_assert_no_error (error);
  g_assert_cmpstr (listen, ==, "127.0.0.1:8780");

  data_dir = g_key_file_get_string (config, "server", "data-dir", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (data_dir, ==, "/var/lib/mist");

  direct_patches = g_key_file_get_integer (config, "server", "direct-patches", &error);
  g_assert_no_error (error);
  g_assert_cmpint (direct_patches, ==, 3);

  use_xdelta3 = g_key_file_get_boolean (config, "server", "use-xdelta3", &error);
  g_assert_no_error (error);
  g_assert_false (use_xdelta3);
}

static void
test_config_commented_keys (void)
{
  g_autofree char *path = config_path ();
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; commented_keys[i] != NULL; i++)
    {
      g_autofree char *pattern = g_strdup_printf ("(?m)^#%s=\\S+$", commented_keys[i]);

      g_test_message ("looking for #%s=VALUE", commented_keys[i]);
      g_assert_true (g_regex_match_simple (pattern, contents, 0, 0));
    }
}

static void
test_unit_matches_config (void)
{
  g_autoptr (GKeyFile) config = load_config ();
  g_autoptr (GKeyFile) unit = load_unit ();
  g_autofree char *data_dir = g_key_file_get_string (config, "server", "data-dir", NULL);
  g_autofree char *state_dir = g_key_file_get_string (unit, "Service", "StateDirectory", NULL);
  g_autofree char *user = g_key_file_get_string (unit, "Service", "User", NULL);
  g_autofree char *exec_start = g_key_file_get_string (unit, "Service", "ExecStart", NULL);
  g_autofree char *state_path = g_build_filename ("/var/lib", state_dir, NULL);

  /* StateDirectory= is relative to /var/lib and is the folder the service may write. */
  g_assert_cmpstr (state_path, ==, data_dir);
  g_assert_cmpstr (user, ==, "mist");
  g_assert_true (g_str_has_suffix (exec_start, "/mist/backend-stub.conf"));
  g_assert_nonnull (strstr (exec_start, "/mist-backend-stub --config "));
}

static void
test_unit_hardening (void)
{
  static const char *const settings[][2] = {
    { "ProtectSystem", "strict" },
    { "ProtectHome", "true" },
    { "PrivateTmp", "true" },
    { "PrivateDevices", "true" },
    { "NoNewPrivileges", "true" },
    { "RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX" },
  };
  g_autoptr (GKeyFile) unit = load_unit ();

  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      g_autofree char *value = g_key_file_get_string (unit, "Service", settings[i][0], NULL);

      g_test_message ("%s=%s", settings[i][0], value);
      g_assert_cmpstr (value, ==, settings[i][1]);
    }
}

/* systemd-analyze rates a unit's sandboxing from 0 (strict) to 10 (none); 2.0 and
 * below is what it calls "OK". The threshold argument is that rating times ten. */
static void
test_unit_exposure (void)
{
  g_autofree char *unit = unit_path ();
  g_autofree char *analyze = g_find_program_in_path ("systemd-analyze");
  const char *argv[] = { "systemd-analyze", "security", "--offline=true", "--threshold=20",
                         "--no-pager", unit, NULL };
  g_autofree char *output = NULL;
  g_autoptr (GError) error = NULL;
  int status;

  if (analyze == NULL)
    {
      g_test_skip ("systemd-analyze is not installed (package systemd)");
      return;
    }
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, &output, NULL, &status, &error);
  g_assert_no_error (error);
  g_test_message ("%s", output);
  g_spawn_check_wait_status (status, &error);
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/packaging/server-config/known-keys", test_config_known_keys);
  g_test_add_func ("/packaging/server-config/defaults", test_config_defaults);
  g_test_add_func ("/packaging/server-config/commented-keys", test_config_commented_keys);
  g_test_add_func ("/packaging/server-unit/matches-config", test_unit_matches_config);
  g_test_add_func ("/packaging/server-unit/hardening", test_unit_hardening);
  g_test_add_func ("/packaging/server-unit/exposure", test_unit_exposure);
  return g_test_run ();
}
