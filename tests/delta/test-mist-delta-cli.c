/* test-mist-delta-cli.c: the mist-delta tool end to end, run as a child process
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct
{
  char *dir;
  char *source;
  char *target;
  char *patch;
  char *output;
} Fixture;

typedef struct
{
  int exit_code; /* -1 when killed by a signal */
  char *out;
  char *err;
} Result;

static char *tool_path;

static void
result_clear (Result *result)
{
  g_clear_pointer (&result->out, g_free);
  g_clear_pointer (&result->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Result, result_clear)

static void
fill_random (guint8 *data, gsize length, guint64 seed)
{
  guint64 state = seed * 0x9E3779B97F4A7C15ull + 1;

  for (gsize i = 0; i < length; i++)
    {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      data[i] = (guint8) state;
    }
}

static void
write_file (const char *path, const guint8 *data, gsize length)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, data, length), ==, (gssize) length);
  g_assert_cmpint (close (fd), ==, 0);
}

static GBytes *
read_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

/* A source and a target with an insertion and scattered changes. */
static void
write_pair (Fixture *fixture, gsize size)
{
  g_autofree guint8 *source = g_malloc (size);
  g_autofree guint8 *target = g_malloc (size + 100);

  fill_random (source, size, 1);
  memcpy (target, source, size / 2);
  fill_random (target + size / 2, 100, 2);
  memcpy (target + size / 2 + 100, source + size / 2, size - size / 2);
  for (gsize i = 0; i < size; i += 9973)
    target[i] ^= 0x21;
  write_file (fixture->source, source, size);
  write_file (fixture->target, target, size + 100);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("mist-delta-cli-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->source = g_build_filename (fixture->dir, "old.bin", NULL);
  fixture->target = g_build_filename (fixture->dir, "new.bin", NULL);
  fixture->patch = g_build_filename (fixture->dir, "update.patch", NULL);
  fixture->output = g_build_filename (fixture->dir, "out.bin", NULL);
  write_pair (fixture, 256 * 1024);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  remove_tree (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->source);
  g_free (fixture->target);
  g_free (fixture->patch);
  g_free (fixture->output);
}

/* Runs mist-delta with the given arguments (NULL-terminated) and an optional PATH. */
static void
run_tool_with_path (Result *result, const char *path_variable, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_auto (GStrv) envp = g_get_environ ();
  g_autoptr (GError) error = NULL;
  const char *argument;
  va_list args;
  int status = 0;

  g_ptr_array_add (argv, tool_path);
  va_start (args, first);
  for (argument = first; argument != NULL; argument = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *) argument);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  if (path_variable != NULL)
    envp = g_environ_setenv (envp, "PATH", path_variable, TRUE);

  g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, &result->out,
                &result->err, &status, &error);
  g_assert_no_error (error);
  result->exit_code = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

#define run_tool(result, ...) run_tool_with_path (result, NULL, __VA_ARGS__, NULL)

static void
assert_files_equal (const char *a, const char *b)
{
  g_autoptr (GBytes) first = read_file (a);
  g_autoptr (GBytes) second = read_file (b);

  g_assert_true (g_bytes_equal (first, second));
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Lists the fixture folder, sorted, so that leftovers show in the failure message. */
static char *
list_folder (Fixture *fixture)
{
  g_autoptr (GDir) dir = g_dir_open (fixture->dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
assert_folder_contains (Fixture *fixture, const char *expected)
{
  g_autofree char *names = list_folder (fixture);

  g_assert_cmpstr (names, ==, expected);
}

static void
assert_one_line_error (const Result *result, const char *fragment)
{
  const char *newline = strchr (result->err, '\n');

  g_assert_true (g_str_has_prefix (result->err, "mist-delta: "));
  g_assert_nonnull (newline);
  g_assert_cmpstr (newline + 1, ==, "");
  if (strstr (result->err, fragment) == NULL)
    g_error ("Expected \"%s\" in the error: %s", fragment, result->err);
}

/* Help and usage */

static void
test_help_and_version (void)
{
  g_auto (Result) help = { 0 };
  g_auto (Result) version = { 0 };

  run_tool (&help, "--help");
  g_assert_cmpint (help.exit_code, ==, 0);
  g_assert_nonnull (strstr (help.out, "mist-delta create [--format zstd|vcdiff] [--level N]"));
  g_assert_nonnull (strstr (help.out, "xdelta3"));
  g_assert_nonnull (strstr (help.out, "Exit status:"));
  g_assert_nonnull (strstr (help.out, "3  wrong source"));

  run_tool (&version, "--version");
  g_assert_cmpint (version.exit_code, ==, 0);
  g_assert_true (g_str_has_prefix (version.out, "mist-delta "));
}

static void
test_usage_errors (Fixture *fixture, gconstpointer data)
{
  struct
  {
    const char *arguments[6];
    const char *fragment;
  } cases[] = {
    { { NULL }, "missing command" },
    { { "frobnicate", NULL }, "unknown command \"frobnicate\"" },
    { { "create", fixture->source, fixture->target, NULL }, "create needs" },
    { { "create", "--format", "bsdiff", fixture->source, fixture->target, fixture->patch },
      "Unknown format \"bsdiff\"" },
    { { "create", "--level", "30", fixture->source, fixture->target, fixture->patch },
      "Invalid level 30 for zstd" },
    { { "apply", fixture->source, NULL }, "apply needs" },
    { { "info", NULL }, "info needs" },
    { { "apply", "--bogus", fixture->source, fixture->patch, fixture->output }, "--bogus" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (Result) result = { 0 };
      const char *const *a = cases[i].arguments;

      run_tool (&result, a[0], a[1], a[2], a[3], a[4], a[5]);
      g_assert_cmpint (result.exit_code, ==, 2);
      assert_one_line_error (&result, cases[i].fragment);
    }
  assert_folder_contains (fixture, "new.bin old.bin");
}

/* zstd end to end */

static void
test_zstd_create_apply_info (Fixture *fixture, gconstpointer data)
{
  g_auto (Result) create = { 0 };
  g_auto (Result) apply = { 0 };
  g_auto (Result) info = { 0 };

  run_tool (&create, "create", "--level", "3", fixture->source, fixture->target, fixture->patch);
  g_assert_cmpstr (create.err, ==, "");
  g_assert_cmpint (create.exit_code, ==, 0);

  run_tool (&apply, "apply", fixture->source, fixture->patch, fixture->output);
  g_assert_cmpstr (apply.err, ==, "");
  g_assert_cmpint (apply.exit_code, ==, 0);
  assert_files_equal (fixture->target, fixture->output);

  run_tool (&info, "info", fixture->patch);
  g_assert_cmpint (info.exit_code, ==, 0);
  g_assert_nonnull (strstr (info.out, "format: zstd (Mist container, version 1)"));
  g_assert_nonnull (strstr (info.out, "source: 262144 bytes, SHA-256 "));
  g_assert_nonnull (strstr (info.out, "target: 262244 bytes"));
  g_assert_nonnull (strstr (info.out, "segments: 1"));
  g_assert_nonnull (strstr (info.out, "content checksum"));

  assert_folder_contains (fixture, "new.bin old.bin out.bin update.patch");
}

static void
test_zstd_default_level (Fixture *fixture, gconstpointer data)
{
  g_auto (Result) create = { 0 };
  g_auto (Result) apply = { 0 };

  run_tool (&create, "create", "--format", "zstd", fixture->source, fixture->target,
            fixture->patch);
  g_assert_cmpint (create.exit_code, ==, 0);
  run_tool (&apply, "apply", fixture->source, fixture->patch, fixture->output);
  g_assert_cmpint (apply.exit_code, ==, 0);
  assert_files_equal (fixture->target, fixture->output);
}

static void
test_apply_zstd_tool_patch (Fixture *fixture, gconstpointer data)
{
  g_autofree char *zstd = g_find_program_in_path ("zstd");
  g_autofree char *patch_from = g_strconcat ("--patch-from=", fixture->source, NULL);
  g_autoptr (GError) error = NULL;
  g_auto (Result) apply = { 0 };
  g_auto (Result) info = { 0 };
  int status = 0;

  if (zstd == NULL)
    {
      g_test_skip ("The zstd tool is not installed (Debian package zstd)");
      return;
    }
  {
    const char *argv[] = { zstd, "-q", "-19", "--long", patch_from, fixture->target, "-o",
                           fixture->patch, NULL };

    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                  &status, &error);
  }
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  run_tool (&apply, "apply", fixture->source, fixture->patch, fixture->output);
  g_assert_cmpint (apply.exit_code, ==, 0);
  assert_files_equal (fixture->target, fixture->output);

  run_tool (&info, "info", fixture->patch);
  g_assert_cmpint (info.exit_code, ==, 0);
  g_assert_nonnull (strstr (info.out, "plain frame"));
  g_assert_nonnull (strstr (info.out, "output: 262244 bytes"));
}

/* vcdiff end to end: create runs xdelta3, apply and info use the engine only. */
static void
test_vcdiff_create_apply_info (Fixture *fixture, gconstpointer data)
{
  g_autofree char *xdelta3 = g_find_program_in_path ("xdelta3");
  g_autofree char *empty_path = NULL;
  g_auto (Result) create = { 0 };
  g_auto (Result) apply = { 0 };
  g_auto (Result) info = { 0 };

  if (xdelta3 == NULL)
    {
      g_test_skip ("xdelta3 is not installed (Debian package xdelta3)");
      return;
    }
  run_tool (&create, "create", "--format", "vcdiff", "--level", "9", fixture->source,
            fixture->target, fixture->patch);
  g_assert_cmpstr (create.err, ==, "");
  g_assert_cmpint (create.exit_code, ==, 0);

  /* apply finds no xdelta3 on an empty PATH and needs none. */
  empty_path = g_build_filename (fixture->dir, "no-tools", NULL);
  g_assert_cmpint (g_mkdir (empty_path, 0755), ==, 0);
  run_tool_with_path (&apply, empty_path, "apply", fixture->source, fixture->patch,
                      fixture->output, NULL);
  g_assert_cmpstr (apply.err, ==, "");
  g_assert_cmpint (apply.exit_code, ==, 0);
  assert_files_equal (fixture->target, fixture->output);

  run_tool (&info, "info", fixture->patch);
  g_assert_cmpint (info.exit_code, ==, 0);
  g_assert_nonnull (strstr (info.out, "VCDIFF"));
  g_assert_nonnull (strstr (info.out, "Adler-32"));

  g_rmdir (empty_path);
  assert_folder_contains (fixture, "new.bin old.bin out.bin update.patch");
}

static void
test_vcdiff_wrong_source (Fixture *fixture, gconstpointer data)
{
  g_autofree char *xdelta3 = g_find_program_in_path ("xdelta3");
  g_auto (Result) create = { 0 };
  g_auto (Result) apply = { 0 };

  if (xdelta3 == NULL)
    {
      g_test_skip ("xdelta3 is not installed (Debian package xdelta3)");
      return;
    }
  run_tool (&create, "create", "--format", "vcdiff", fixture->source, fixture->target,
            fixture->patch);
  g_assert_cmpint (create.exit_code, ==, 0);

  run_tool (&apply, "apply", fixture->target, fixture->patch, fixture->output);
  g_assert_cmpint (apply.exit_code, !=, 0);
  g_assert_cmpint (apply.exit_code, !=, 2);
  assert_one_line_error (&apply, fixture->patch);
  assert_folder_contains (fixture, "new.bin old.bin update.patch");
}

/* User-facing errors: each leaves no output and no temporary file */

static void
make_patch (Fixture *fixture)
{
  g_auto (Result) create = { 0 };

  run_tool (&create, "create", "--level", "1", fixture->source, fixture->target, fixture->patch);
  g_assert_cmpint (create.exit_code, ==, 0);
}

static void
test_error_missing_source (Fixture *fixture, gconstpointer data)
{
  g_autofree char *missing = g_build_filename (fixture->dir, "missing.bin", NULL);
  g_auto (Result) apply = { 0 };
  g_auto (Result) create = { 0 };

  make_patch (fixture);
  run_tool (&apply, "apply", missing, fixture->patch, fixture->output);
  g_assert_cmpint (apply.exit_code, ==, 1);
  assert_one_line_error (&apply, missing);
  g_assert_nonnull (strstr (apply.err, "No such file"));

  run_tool (&create, "create", fixture->source, missing, fixture->patch);
  g_assert_cmpint (create.exit_code, ==, 1);
  assert_one_line_error (&create, missing);

  assert_folder_contains (fixture, "new.bin old.bin update.patch");
}

static void
test_error_unreadable_patch (Fixture *fixture, gconstpointer data)
{
  g_autofree char *folder = g_build_filename (fixture->dir, "folder.patch", NULL);
  g_auto (Result) apply = { 0 };
  g_auto (Result) info = { 0 };

  /* Tests may run as root, which reads any file: a folder is unreadable as a patch. */
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  run_tool (&apply, "apply", fixture->source, folder, fixture->output);
  g_assert_cmpint (apply.exit_code, ==, 1);
  assert_one_line_error (&apply, folder);

  run_tool (&info, "info", folder);
  g_assert_cmpint (info.exit_code, ==, 1);
  assert_one_line_error (&info, folder);

  assert_folder_contains (fixture, "folder.patch new.bin old.bin");
}

static void
test_error_wrong_source (Fixture *fixture, gconstpointer data)
{
  g_auto (Result) apply = { 0 };

  make_patch (fixture);
  run_tool (&apply, "apply", fixture->target, fixture->patch, fixture->output);
  g_assert_cmpint (apply.exit_code, ==, 3);
  assert_one_line_error (&apply, "Wrong source file");
  g_assert_nonnull (strstr (apply.err, fixture->target));

  assert_folder_contains (fixture, "new.bin old.bin update.patch");
}

static void
test_error_corrupt_patch (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) patch = NULL;
  g_autofree guint8 *copy = NULL;
  g_auto (Result) apply = { 0 };
  g_auto (Result) truncated = { 0 };
  g_auto (Result) info = { 0 };
  gsize size;

  make_patch (fixture);
  patch = read_file (fixture->patch);
  copy = g_memdup2 (g_bytes_get_data (patch, &size), g_bytes_get_size (patch));
  copy[size / 2] ^= 0xff;
  write_file (fixture->patch, copy, size);

  run_tool (&apply, "apply", fixture->source, fixture->patch, fixture->output);
  g_assert_cmpint (apply.exit_code, ==, 4);
  assert_one_line_error (&apply, fixture->patch);

  write_file (fixture->patch, copy, size / 2);
  run_tool (&truncated, "apply", fixture->source, fixture->patch, fixture->output);
  g_assert_cmpint (truncated.exit_code, ==, 4);
  assert_one_line_error (&truncated, "truncated");

  run_tool (&info, "info", fixture->patch);
  g_assert_cmpint (info.exit_code, ==, 4);
  assert_one_line_error (&info, fixture->patch);

  assert_folder_contains (fixture, "new.bin old.bin update.patch");
}

static void
test_error_not_a_patch (Fixture *fixture, gconstpointer data)
{
  g_auto (Result) apply = { 0 };

  run_tool (&apply, "apply", fixture->source, fixture->target, fixture->output);
  g_assert_cmpint (apply.exit_code, ==, 4);
  assert_one_line_error (&apply, "Not a delta patch");
  assert_folder_contains (fixture, "new.bin old.bin");
}

static void
test_error_output_folder_missing (Fixture *fixture, gconstpointer data)
{
  g_autofree char *output = g_build_filename (fixture->dir, "missing", "out.bin", NULL);
  g_autofree char *patch = g_build_filename (fixture->dir, "missing", "update.patch", NULL);
  g_auto (Result) apply = { 0 };
  g_auto (Result) create = { 0 };

  make_patch (fixture);
  run_tool (&apply, "apply", fixture->source, fixture->patch, output);
  g_assert_cmpint (apply.exit_code, ==, 1);
  assert_one_line_error (&apply, output);

  run_tool (&create, "create", fixture->source, fixture->target, patch);
  g_assert_cmpint (create.exit_code, ==, 1);
  assert_one_line_error (&create, patch);

  assert_folder_contains (fixture, "new.bin old.bin update.patch");
}

static void
test_error_xdelta3_missing (Fixture *fixture, gconstpointer data)
{
  g_auto (Result) create = { 0 };

  /* An empty folder as PATH: the tool is looked up there and not found. */
  run_tool_with_path (&create, fixture->dir, "create", "--format", "vcdiff", fixture->source,
                      fixture->target, fixture->patch, NULL);
  g_assert_cmpint (create.exit_code, ==, 5);
  assert_one_line_error (&create, "xdelta3 is not installed");
  assert_folder_contains (fixture, "new.bin old.bin");
}

/* A failed apply keeps an existing output file as it was. */
static void
test_error_keeps_existing_output (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GBytes) before = NULL;
  g_autoptr (GBytes) after = NULL;
  g_auto (Result) apply = { 0 };

  make_patch (fixture);
  write_file (fixture->output, (const guint8 *) "previous", 8);
  run_tool (&apply, "apply", fixture->target, fixture->patch, fixture->output);
  g_assert_cmpint (apply.exit_code, ==, 3);

  after = read_file (fixture->output);
  before = g_bytes_new_static ("previous", 8);
  g_assert_true (g_bytes_equal (before, after));
  assert_folder_contains (fixture, "new.bin old.bin out.bin update.patch");
}

/* Killed while it writes, the tool removes its temporary files. */
static void
test_interrupted_create_leaves_nothing (Fixture *fixture, gconstpointer data)
{
  g_autofree guint8 *big = g_malloc (24 * 1024 * 1024);
  const char *argv[] = { tool_path, "create", "--level", "19", fixture->source, fixture->target,
                         fixture->patch, NULL };
  g_autoptr (GError) error = NULL;
  GPid pid;
  int status;

  /* Level 19 over 24 MiB of random bytes takes seconds, far longer than the wait. */
  fill_random (big, 24 * 1024 * 1024, 9);
  write_file (fixture->target, big, 24 * 1024 * 1024);
  g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &error);
  g_assert_no_error (error);
  g_usleep (500 * 1000);
  kill (pid, SIGTERM);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);

  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGTERM);
  assert_folder_contains (fixture, "new.bin old.bin");
}

/* Returns the pid of a child of parent whose command name is name, or 0. */
static GPid
find_child (GPid parent, const char *name)
{
  g_autoptr (GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *entry;

  g_assert_nonnull (proc);
  while ((entry = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *stat_path = g_build_filename ("/proc", entry, "stat", NULL);
      g_autofree char *contents = NULL;
      g_autofree char *expected = g_strdup_printf ("(%s) ", name);
      const char *after_name;
      char state;
      int parent_pid;

      if (!g_ascii_isdigit (entry[0]) || !g_file_get_contents (stat_path, &contents, NULL, NULL))
        continue;
      /* The fields after "PID (COMM) " are the state and the parent's pid. */
      after_name = strstr (contents, expected);
      if (after_name == NULL
          || sscanf (after_name + strlen (expected), "%c %d", &state, &parent_pid) != 2)
        continue;
      if (parent_pid == parent)
        return atoi (entry);
    }
  return 0;
}

/* Waits up to timeout_ms for a child of this process to exit. Returns TRUE once it is gone. */
static gboolean
wait_for_exit (GPid pid, guint timeout_ms)
{
  for (guint waited = 0; waited <= timeout_ms; waited += 20)
    {
      pid_t result = waitpid (pid, NULL, WNOHANG);

      if (result == pid || (result < 0 && errno == ECHILD))
        return TRUE;
      g_usleep (20 * 1000);
    }
  return FALSE;
}

/* A signal to mist-delta alone also stops the xdelta3 it runs, and no temporary file
 * is left. The target is a FIFO kept open without data, so xdelta3 blocks until it is
 * killed. */
static void
test_signal_stops_xdelta3 (Fixture *fixture, gconstpointer data)
{
  const int signals[] = { SIGTERM, SIGINT, SIGHUP };
  const char *argv[] = { tool_path, "create", "--format", "vcdiff", fixture->source,
                         fixture->target, fixture->patch, NULL };
  g_autofree char *xdelta3_path = g_find_program_in_path ("xdelta3");

  if (xdelta3_path == NULL)
    {
      g_test_skip ("xdelta3 is not installed (Debian package xdelta3)");
      return;
    }
  /* Orphaned grandchildren come to this process, so a surviving xdelta3 can be seen
   * and reaped here. */
  g_assert_cmpint (prctl (PR_SET_CHILD_SUBREAPER, 1), ==, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (signals); i++)
    {
      g_autoptr (GError) error = NULL;
      GPid pid;
      GPid xdelta3 = 0;
      int fifo;
      int status;

      g_unlink (fixture->target);
      g_assert_cmpint (mkfifo (fixture->target, 0644), ==, 0);
      /* O_RDWR does not wait for a reader and keeps the FIFO from reporting its end. */
      fifo = open (fixture->target, O_RDWR | O_CLOEXEC);
      g_assert_cmpint (fifo, >=, 0);
      g_assert_cmpint (write (fifo, "partial", 7), ==, 7);

      g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                     &error);
      g_assert_no_error (error);
      for (guint waited = 0; xdelta3 == 0 && waited < 10000; waited += 20)
        {
          g_usleep (20 * 1000);
          xdelta3 = find_child (pid, "xdelta3");
        }
      g_assert_cmpint (xdelta3, !=, 0);

      kill (pid, signals[i]);
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_spawn_close_pid (pid);
      g_assert_true (WIFSIGNALED (status));
      g_assert_cmpint (WTERMSIG (status), ==, signals[i]);

      if (!wait_for_exit (xdelta3, 5000))
        {
          kill (xdelta3, SIGKILL);
          waitpid (xdelta3, NULL, 0);
          g_error ("xdelta3 (pid %d) still runs after mist-delta died of signal %d", xdelta3,
                   signals[i]);
        }
      close (fifo);
      assert_folder_contains (fixture, "new.bin old.bin");
    }
}

/* Progress goes to a terminal only. */
static void
test_progress_on_terminal_only (Fixture *fixture, gconstpointer data)
{
  const char *argv[] = { tool_path, "apply", fixture->source, fixture->patch, fixture->output,
                         NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) seen = g_string_new (NULL);
  g_auto (Result) quiet = { 0 };
  char buffer[4096];
  int master;
  int slave;
  GPid pid;
  int status;
  ssize_t n;

  make_patch (fixture);
  run_tool (&quiet, "apply", fixture->source, fixture->patch, fixture->output);
  g_assert_cmpint (quiet.exit_code, ==, 0);
  g_assert_cmpstr (quiet.err, ==, "");

  master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (grantpt (master), ==, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  slave = open (ptsname (master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (slave, >=, 0);

  g_spawn_async_with_fds (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                          &pid, -1, -1, slave, &error);
  g_assert_no_error (error);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  close (slave);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);

  /* The child has exited, so reading stops at EIO once the terminal is drained. */
  while ((n = read (master, buffer, sizeof buffer)) > 0)
    g_string_append_len (seen, buffer, n);
  close (master);
  g_assert_nonnull (strstr (seen->str, "apply"));
  g_assert_nonnull (strstr (seen->str, "100%"));
  assert_files_equal (fixture->target, fixture->output);
}

int
main (int argc, char **argv)
{
  const char *build_root = g_getenv ("MIST_BUILD_ROOT");

  g_test_init (&argc, &argv, NULL);
  if (build_root == NULL)
    g_error ("MIST_BUILD_ROOT is not set: run this test through meson test");
  tool_path = g_build_filename (build_root, "engine", "tools", "mist-delta", NULL);

#define ADD(path, function)                                                                        \
  g_test_add (path, Fixture, NULL, fixture_set_up, function, fixture_tear_down)

  g_test_add_func ("/delta/cli/help", test_help_and_version);
  ADD ("/delta/cli/usage-errors", test_usage_errors);
  ADD ("/delta/cli/zstd/create-apply-info", test_zstd_create_apply_info);
  ADD ("/delta/cli/zstd/default-level", test_zstd_default_level);
  ADD ("/delta/cli/zstd/zstd-tool-patch", test_apply_zstd_tool_patch);
  ADD ("/delta/cli/vcdiff/create-apply-info", test_vcdiff_create_apply_info);
  ADD ("/delta/cli/vcdiff/wrong-source", test_vcdiff_wrong_source);
  ADD ("/delta/cli/error/missing-file", test_error_missing_source);
  ADD ("/delta/cli/error/unreadable-patch", test_error_unreadable_patch);
  ADD ("/delta/cli/error/wrong-source", test_error_wrong_source);
  ADD ("/delta/cli/error/corrupt-patch", test_error_corrupt_patch);
  ADD ("/delta/cli/error/not-a-patch", test_error_not_a_patch);
  ADD ("/delta/cli/error/output-folder-missing", test_error_output_folder_missing);
  ADD ("/delta/cli/error/xdelta3-missing", test_error_xdelta3_missing);
  ADD ("/delta/cli/error/keeps-existing-output", test_error_keeps_existing_output);
  ADD ("/delta/cli/interrupted-create", test_interrupted_create_leaves_nothing);
  ADD ("/delta/cli/vcdiff/signal-stops-xdelta3", test_signal_stops_xdelta3);
  ADD ("/delta/cli/progress-on-terminal", test_progress_on_terminal_only);

#undef ADD
  return g_test_run ();
}
