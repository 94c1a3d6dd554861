/* net-test-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "net-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

gboolean
net_server_start (NetServer *net)
{
  return net_server_start_with_options (net, NULL);
}

gboolean
net_server_start_with_options (NetServer *net, const MistTestServerOptions *options)
{
  g_autoptr (GError) error = NULL;

  memset (net, 0, sizeof *net);
  net->server = mist_test_server_start (options, &error);
  if (net->server == NULL)
    {
      g_autofree char *reason = g_strdup_printf ("backend-stub did not start: %s",
                                                 error->message);

      g_test_skip (reason);
      return FALSE;
    }
  net->admin_token = mist_test_server_login (net->server, MIST_TEST_ADMIN_NAME,
                                             MIST_TEST_ADMIN_PASSWORD, &error);
  g_assert_no_error (error);
  net->work_dir = g_dir_make_tmp ("mist-net-test-XXXXXX", &error);
  g_assert_no_error (error);
  return TRUE;
}

void
net_server_stop (NetServer *net)
{
  g_autoptr (GError) error = NULL;

  if (net->server != NULL)
    {
      g_assert_true (mist_test_server_stop (net->server, &error));
      g_assert_no_error (error);
      g_clear_pointer (&net->server, mist_test_server_free);
    }
  if (net->work_dir != NULL)
    net_remove_tree (net->work_dir);
  g_clear_pointer (&net->work_dir, g_free);
  g_clear_pointer (&net->admin_token, g_free);
}

static void
write_file (const char *root, const char *path, const void *data, gsize length, int mode)
{
  g_autofree char *full = g_build_filename (root, path, NULL);
  g_autofree char *folder = g_path_get_dirname (full);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_assert_true (g_file_set_contents (full, data, (gssize) length, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (full, mode), ==, 0);
}

char *
net_write_build (NetServer *net, const char *name, guint count, gsize size, guint32 seed)
{
  static const char script[] = "#!/bin/sh\necho \"game started: $*\"\n";
  char *root = g_build_filename (net->work_dir, "builds", name, NULL);
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);

  write_file (root, "bin/game", script, strlen (script), 0755);
  for (guint i = 0; i < count; i++)
    {
      g_autofree char *path = g_strdup_printf ("data/part-%02u.bin", i);
      g_autofree guint8 *data = g_malloc (size);

      /* Text-like bytes compress a little, as game data often does. */
      for (gsize j = 0; j < size; j++)
        data[j] = (guint8) ('a' + g_rand_int_range (rand, 0, 16));
      write_file (root, path, data, size, 0644);
    }
  return root;
}

static void
run_mistpipe (NetServer *net, const char *const *args)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *errors = NULL;
  int status;

  status = mist_test_server_run_mistpipe (net->server, net->admin_token, args, NULL, NULL,
                                          &errors, &error);
  g_assert_no_error (error);
  if (status != 0)
    g_printerr ("%s", errors);
  g_assert_cmpint (status, ==, 0);
}

void
net_create_game (NetServer *net, const char *slug)
{
  const char *args[] = { "game", "create", slug, "--title", slug, "--public", NULL };

  run_mistpipe (net, args);
}

void
net_push (NetServer *net, const char *slug, const char *version_name, const char *build_dir)
{
  const char *push[] = { "push", slug, "--version", version_name, "--level", "3", build_dir,
                         NULL };
  const char *launch[] = { "launch-config", slug, "--executable", "bin/game", "--arg", "--demo",
                           NULL };
  g_autoptr (GError) error = NULL;

  run_mistpipe (net, push);
  run_mistpipe (net, launch);
  g_assert_true (mist_test_server_wait_for_patches (net->server, net->admin_token, slug, 120,
                                                    &error));
  g_assert_no_error (error);
}

static void
assert_tree_equal_under (const char *build_dir, const char *install_dir, const char *relative)
{
  g_autofree char *folder = g_build_filename (build_dir, relative, NULL);
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (relative, name, NULL);
      g_autofree char *source = g_build_filename (build_dir, child, NULL);
      g_autofree char *installed = g_build_filename (install_dir, child, NULL);
      g_autofree char *expected = NULL;
      g_autofree char *actual = NULL;
      gsize expected_length = 0;
      gsize actual_length = 0;

      if (g_file_test (source, G_FILE_TEST_IS_DIR))
        {
          assert_tree_equal_under (build_dir, install_dir, child);
          continue;
        }
      g_assert_true (g_file_get_contents (source, &expected, &expected_length, NULL));
      if (!g_file_get_contents (installed, &actual, &actual_length, NULL))
        g_error ("%s was not installed", installed);
      g_assert_cmpmem (actual, actual_length, expected, expected_length);
    }
}

void
net_assert_tree_equal (const char *build_dir, const char *install_dir)
{
  assert_tree_equal_under (build_dir, install_dir, "");
}

void
net_remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        net_remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}
