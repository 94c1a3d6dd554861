/* mist-delta.c: create, apply and inspect binary patches from the command line
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every output (a patch or a patched file) is written to a temporary file in the
 * destination folder and renamed into place only once it is complete, synced and
 * verified, so an interrupted or failed run leaves nothing behind.
 */
#include "mist-config.h"
#include "mist-delta.h"
#include "mist-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum
{
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
  EXIT_WRONG_SOURCE = 3,
  EXIT_INVALID_PATCH = 4,
  EXIT_TOOL_MISSING = 5,
};

static const char help_text[] =
  "Usage:\n"
  "  mist-delta create [--format zstd|vcdiff] [--level N] SOURCE TARGET PATCH\n"
  "  mist-delta apply SOURCE PATCH OUTPUT\n"
  "  mist-delta info PATCH\n"
  "  mist-delta --help | --version\n"
  "\n"
  "Creates, applies and describes binary patches that turn SOURCE into TARGET.\n"
  "\n"
  "Commands:\n"
  "  create   Write a patch from SOURCE to TARGET into PATCH, then check that it\n"
  "           applies back to TARGET.\n"
  "  apply    Apply PATCH to SOURCE and write the result to OUTPUT. The format is\n"
  "           detected from the patch's first bytes; no outside tool is needed.\n"
  "  info     Print a patch's format, sizes, windows or segments and checksums.\n"
  "\n"
  "Options of create:\n"
  "  --format zstd|vcdiff   Patch format (default zstd). vcdiff runs the xdelta3\n"
  "                         tool, which must be installed (Debian package xdelta3).\n"
  "  --level N              Compression level: zstd 1 to 22 (default 19, the\n"
  "                         smallest patches for publishing; 3 is fast), vcdiff 0\n"
  "                         to 9 (default 9).\n"
  "\n"
  "PATCH and OUTPUT are written to a temporary file in their folder and renamed\n"
  "into place when complete and verified; on failure nothing is left behind. A\n"
  "progress bar is drawn when standard error is a terminal.\n"
  "\n"
  "Exit status:\n"
  "  0  success\n"
  "  1  failure: a file is missing or unreadable, a write failed, the disk is full\n"
  "  2  invalid command line\n"
  "  3  wrong source: SOURCE is not the file the patch was made from\n"
  "  4  invalid patch: corrupt, truncated or of an unsupported format (a VCDIFF\n"
  "     patch applied to the wrong SOURCE may also fail its checksum this way)\n"
  "  5  xdelta3, needed by create --format vcdiff, is not installed\n";

static void
print_error (const char *format, ...) G_GNUC_PRINTF (1, 2);

static void
print_error (const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "mist-delta: %s\n", message);
}

static int
usage_error (const char *message)
{
  print_error ("%s (see mist-delta --help)", message);
  return EXIT_USAGE;
}

static int
exit_code_for_error (const GError *error)
{
  if (error->domain != MIST_ERROR)
    return EXIT_FAILED;
  switch (error->code)
    {
    case MIST_ERROR_WRONG_SOURCE:
      return EXIT_WRONG_SOURCE;
    case MIST_ERROR_INVALID_DATA:
    case MIST_ERROR_UNSUPPORTED:
    case MIST_ERROR_CHECKSUM_MISMATCH:
    case MIST_ERROR_TOO_LARGE:
      return EXIT_INVALID_PATCH;
    default:
      return EXIT_FAILED;
    }
}

/* Progress bar */

typedef struct
{
  const char *label;
  gboolean enabled;
  gint64 last_draw; /* monotonic microseconds */
  gboolean drawn;
} Progress;

static void
progress_init (Progress *progress, const char *label)
{
  progress->label = label;
  progress->enabled = isatty (STDERR_FILENO);
  progress->last_draw = 0;
  progress->drawn = FALSE;
}

/* MistDeltaProgressFunc: redraws at most ten times a second, and at 100 %. */
static void
progress_update (guint64 done, guint64 total, gpointer user_data)
{
  Progress *progress = user_data;
  gint64 now = g_get_monotonic_time ();
  char bar[31];
  int filled = 0;
  g_autofree char *done_text = NULL;
  g_autofree char *total_text = NULL;

  if (!progress->enabled)
    return;
  if (now - progress->last_draw < G_USEC_PER_SEC / 10 && (total == 0 || done < total))
    return;
  progress->last_draw = now;
  progress->drawn = TRUE;

  if (total > 0)
    filled = (int) (MIN (done, total) * 30 / total);
  memset (bar, '#', (gsize) filled);
  memset (bar + filled, '.', (gsize) (30 - filled));
  bar[30] = '\0';
  done_text = g_format_size (done);
  if (total > 0)
    {
      total_text = g_format_size (total);
      fprintf (stderr, "\r%-7s [%s] %3d%%  %s of %s\033[K", progress->label, bar,
               (int) (MIN (done, total) * 100 / total), done_text, total_text);
    }
  else
    fprintf (stderr, "\r%-7s %s\033[K", progress->label, done_text);
  fflush (stderr);
}

static void
progress_finish (Progress *progress)
{
  if (progress->drawn)
    fprintf (stderr, "\r\033[K");
  progress->drawn = FALSE;
}

/* Files */

static int
open_input (const char *path, const char *role, GError **error)
{
  struct stat info;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot open the %s file %s: %s", role, path, g_strerror (saved_errno));
      return -1;
    }
  if (fstat (fd, &info) == 0 && S_ISDIR (info.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY,
                   "The %s %s is a folder, not a file", role, path);
      close (fd);
      return -1;
    }
  return fd;
}

/* Temporary files that a signal handler removes before the process dies: the output
 * and the copy that create applies for verification. */
static const char *volatile temporary_paths[2];

/* The running xdelta3 child, or 0. Changed only while SIGINT, SIGTERM and SIGHUP are
 * blocked, so the handler reads either 0 or a child that it may kill and reap. */
static volatile pid_t xdelta3_pid;

/* Kills and reaps xdelta3 before removing the temporary files, because a child still
 * running could create its output file again after the unlink. */
static void
remove_temporaries_and_exit (int signal_number)
{
  pid_t child = xdelta3_pid;

  if (child > 0)
    {
      kill (child, SIGKILL);
      while (waitpid (child, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (temporary_paths); i++)
    if (temporary_paths[i] != NULL)
      unlink (temporary_paths[i]);
  signal (signal_number, SIG_DFL);
  raise (signal_number);
}

static void
get_watched_signals (sigset_t *set)
{
  sigemptyset (set);
  sigaddset (set, SIGINT);
  sigaddset (set, SIGTERM);
  sigaddset (set, SIGHUP);
}

static void
watch_signals (void)
{
  signal (SIGINT, remove_temporaries_and_exit);
  signal (SIGTERM, remove_temporaries_and_exit);
  signal (SIGHUP, remove_temporaries_and_exit);
}

static void
set_temporary_path (const char *old_path, const char *new_path)
{
  for (gsize i = 0; i < G_N_ELEMENTS (temporary_paths); i++)
    if (temporary_paths[i] == old_path)
      {
        temporary_paths[i] = new_path;
        return;
      }
  g_assert_not_reached ();
}

/* A temporary file beside its final path, removed unless committed. */
typedef struct
{
  char *path;
  char *temporary_path;
  int fd;
} OutputFile;

static gboolean
output_file_open (OutputFile *output, const char *path, GError **error)
{
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *template = g_strdup_printf (".%s.XXXXXX", name);
  char *temporary_path = g_build_filename (folder, template, NULL);

  output->path = g_strdup (path);
  output->fd = g_mkstemp_full (temporary_path, O_RDWR | O_CLOEXEC, 0644);
  if (output->fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot create a temporary file in %s for %s: %s", folder, path,
                   g_strerror (saved_errno));
      g_free (temporary_path);
      return FALSE;
    }
  output->temporary_path = temporary_path;
  set_temporary_path (NULL, temporary_path);
  return TRUE;
}

static void
output_file_forget_temporary (OutputFile *output)
{
  set_temporary_path (output->temporary_path, NULL);
  g_clear_pointer (&output->temporary_path, g_free);
}

/* Syncs the temporary file and renames it to its final path. */
static gboolean
output_file_commit (OutputFile *output, GError **error)
{
  if (fsync (output->fd) != 0 || close (output->fd) != 0)
    {
      int saved_errno = errno;

      output->fd = -1;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "Cannot write %s: %s",
                   output->path, g_strerror (saved_errno));
      return FALSE;
    }
  output->fd = -1;
  if (g_rename (output->temporary_path, output->path) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot rename the temporary file to %s: %s", output->path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  output_file_forget_temporary (output);
  return TRUE;
}

static void
output_file_clear (OutputFile *output)
{
  if (output->fd >= 0)
    close (output->fd);
  output->fd = -1;
  if (output->temporary_path != NULL)
    {
      g_unlink (output->temporary_path);
      output_file_forget_temporary (output);
    }
  g_clear_pointer (&output->path, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (OutputFile, output_file_clear)

/* Compares the whole file behind fd with the one behind expected_fd. */
static gboolean
files_equal (int fd, int expected_fd, GError **error)
{
  g_autofree guint8 *a = g_malloc (1024 * 1024);
  g_autofree guint8 *b = g_malloc (1024 * 1024);

  for (off_t offset = 0;; )
    {
      ssize_t na = pread (fd, a, 1024 * 1024, offset);
      ssize_t nb = pread (expected_fd, b, 1024 * 1024, offset);

      if (na < 0 || nb < 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "Cannot read back for verification: %s", g_strerror (saved_errno));
          return FALSE;
        }
      if (na != nb || memcmp (a, b, (gsize) na) != 0)
        return FALSE;
      if (na == 0)
        return TRUE;
      offset += na;
    }
}

/* Applies the patch to source_fd into a temporary file beside patch_path and compares
 * the result with target_fd. The temporary file is always removed. */
static gboolean
verify_patch (int source_fd, const char *patch_path, int target_fd, GError **error)
{
  g_auto (OutputFile) check = { NULL, NULL, -1 };
  g_autofree char *check_path = g_strconcat (patch_path, ".verify", NULL);
  Progress progress;
  int patch_fd;
  gboolean ok;

  if (!output_file_open (&check, check_path, error))
    return FALSE;
  patch_fd = open_input (patch_path, "patch", error);
  if (patch_fd < 0)
    return FALSE;

  progress_init (&progress, "verify");
  ok = mist_delta_apply_fd (source_fd, patch_fd, check.fd, progress_update, &progress, NULL,
                            error);
  progress_finish (&progress);
  close (patch_fd);
  if (!ok)
    {
      g_prefix_error (error, "The new patch does not apply: ");
      return FALSE;
    }
  if (!files_equal (check.fd, target_fd, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED,
                     "The new patch does not reproduce the target");
      return FALSE;
    }
  return TRUE;
}

/* create */

/* GSpawnChildSetupFunc, run in the xdelta3 child between fork and exec. The kernel
 * kills the child when mist-delta dies, also by SIGKILL, which no handler can catch. */
static void
setup_xdelta3_child (gpointer user_data)
{
  pid_t parent = GPOINTER_TO_INT (user_data);
  sigset_t watched;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* The parent may have died before prctl took effect. */
  if (getppid () != parent)
    _exit (127);
  get_watched_signals (&watched);
  sigprocmask (SIG_UNBLOCK, &watched, NULL);
}

/* Runs xdelta3 with argv and returns its standard error in output and its wait status.
 * A signal that stops mist-delta meanwhile stops xdelta3 too. */
static gboolean
run_xdelta3 (const char *const *argv, char **output, int *wait_status, GError **error)
{
  g_autoptr (GString) text = g_string_new (NULL);
  sigset_t watched;
  sigset_t previous;
  siginfo_t exited;
  GPid pid;
  int stderr_fd;
  char buffer[4096];
  gssize count;
  gboolean spawned;

  get_watched_signals (&watched);
  sigprocmask (SIG_BLOCK, &watched, &previous);
  spawned = g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                      setup_xdelta3_child, GINT_TO_POINTER (getpid ()), &pid,
                                      NULL, NULL, &stderr_fd, error);
  if (spawned)
    xdelta3_pid = pid;
  sigprocmask (SIG_SETMASK, &previous, NULL);
  if (!spawned)
    return FALSE;

  while ((count = read (stderr_fd, buffer, sizeof buffer)) != 0)
    {
      if (count > 0)
        g_string_append_len (text, buffer, count);
      else if (errno != EINTR)
        break;
    }
  close (stderr_fd);

  /* WNOWAIT leaves the child a zombie, so its pid cannot be reused while the handler
   * may still kill it. It is reaped once signals are blocked and xdelta3_pid is 0. */
  while (waitid (P_PID, pid, &exited, WEXITED | WNOWAIT) < 0 && errno == EINTR)
    ;
  sigprocmask (SIG_BLOCK, &watched, &previous);
  xdelta3_pid = 0;
  while (waitpid (pid, wait_status, 0) < 0 && errno == EINTR)
    ;
  sigprocmask (SIG_SETMASK, &previous, NULL);
  *output = g_string_free (g_steal_pointer (&text), FALSE);
  return TRUE;
}

static gboolean
create_with_xdelta3 (const char *source_path,
                     const char *target_path,
                     OutputFile *patch,
                     int level,
                     int *exit_code,
                     GError **error)
{
  g_autofree char *xdelta3 = g_find_program_in_path ("xdelta3");
  g_autofree char *level_arg = g_strdup_printf ("-%d", level);
  g_autofree char *output = NULL;
  struct stat info;
  int status;

  if (xdelta3 == NULL)
    {
      *exit_code = EXIT_TOOL_MISSING;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "xdelta3 is not installed: --format vcdiff needs it (Debian package xdelta3)");
      return FALSE;
    }

  /* xdelta3 matches only within its source window (-B, default 64 MiB), so the window
   * covers the whole source up to 2 GiB, the largest -B that xdelta3 3.0 accepts. */
  if (stat (source_path, &info) != 0)
    info.st_size = 0;
  {
    guint64 window = CLAMP ((guint64) info.st_size, (guint64) 1 << 24, (guint64) 1 << 31);
    g_autofree char *window_arg = g_strdup_printf ("%" G_GUINT64_FORMAT, window);
    const char *argv[] = { xdelta3, "-e", "-f", level_arg, "-B", window_arg, "-s", source_path,
                           target_path, patch->temporary_path, NULL };

    if (!run_xdelta3 (argv, &output, &status, error))
      return FALSE;
  }
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_strstrip (output);
      g_set_error (error, MIST_ERROR, MIST_ERROR_FAILED, "xdelta3 failed: %s",
                   output[0] != '\0' ? output : "no message");
      return FALSE;
    }
  return TRUE;
}

static int
run_create (int argc, char **argv)
{
  g_autofree char *format_name = NULL;
  int level = -1;
  GOptionEntry entries[] = {
    { "format", 0, 0, G_OPTION_ARG_STRING, &format_name, "zstd (default) or vcdiff", "FORMAT" },
    { "level", 0, 0, G_OPTION_ARG_INT, &level, "Compression level", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("SOURCE TARGET PATCH");
  g_autoptr (GError) error = NULL;
  g_auto (OutputFile) patch = { NULL, NULL, -1 };
  MistDeltaFormat format = MIST_DELTA_FORMAT_ZSTD;
  int exit_code = EXIT_FAILED;
  int source_fd = -1;
  int target_fd = -1;
  gboolean ok;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context, "Create a patch that turns SOURCE into TARGET.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (error->message);
  if (argc != 4)
    return usage_error ("create needs SOURCE, TARGET and PATCH");
  if (format_name != NULL)
    format = mist_delta_format_from_string (format_name);
  if (format == MIST_DELTA_FORMAT_UNKNOWN)
    {
      g_autofree char *message = g_strdup_printf ("Unknown format \"%s\": use zstd or vcdiff",
                                                  format_name);
      return usage_error (message);
    }
  if (level == -1)
    level = format == MIST_DELTA_FORMAT_ZSTD ? MIST_ZSTD_LEVEL_DEFAULT : 9;
  if ((format == MIST_DELTA_FORMAT_ZSTD && (level < 1 || level > 22))
      || (format == MIST_DELTA_FORMAT_VCDIFF && (level < 0 || level > 9)))
    {
      g_autofree char *message = g_strdup_printf ("Invalid level %d for %s: use %s", level,
                                                  mist_delta_format_to_string (format),
                                                  format == MIST_DELTA_FORMAT_ZSTD ? "1 to 22"
                                                                                   : "0 to 9");
      return usage_error (message);
    }

  source_fd = open_input (argv[1], "source", &error);
  if (source_fd >= 0)
    target_fd = open_input (argv[2], "target", &error);
  if (target_fd < 0 || !output_file_open (&patch, argv[3], &error))
    goto out;

  if (format == MIST_DELTA_FORMAT_ZSTD)
    {
      Progress progress;

      progress_init (&progress, "create");
      ok = mist_zstd_patch_create_fd (source_fd, target_fd, patch.fd, level, progress_update,
                                      &progress, NULL, &error);
      progress_finish (&progress);
      if (!ok)
        g_prefix_error (&error, "Creating %s from %s and %s failed: ", argv[3], argv[1], argv[2]);
    }
  else
    ok = create_with_xdelta3 (argv[1], argv[2], &patch, level, &exit_code, &error);

  if (ok && verify_patch (source_fd, patch.temporary_path, target_fd, &error)
      && output_file_commit (&patch, &error))
    exit_code = EXIT_OK;

out:
  if (error != NULL)
    print_error ("%s", error->message);
  if (source_fd >= 0)
    close (source_fd);
  if (target_fd >= 0)
    close (target_fd);
  return exit_code;
}

/* apply */

static int
run_apply (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new ("SOURCE PATCH OUTPUT");
  g_autoptr (GError) error = NULL;
  g_auto (OutputFile) output = { NULL, NULL, -1 };
  Progress progress;
  int exit_code = EXIT_FAILED;
  int source_fd = -1;
  int patch_fd = -1;

  g_option_context_set_summary (context, "Apply PATCH to SOURCE and write the result to OUTPUT.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (error->message);
  if (argc != 4)
    return usage_error ("apply needs SOURCE, PATCH and OUTPUT");

  source_fd = open_input (argv[1], "source", &error);
  if (source_fd >= 0)
    patch_fd = open_input (argv[2], "patch", &error);
  if (patch_fd < 0 || !output_file_open (&output, argv[3], &error))
    goto out;

  progress_init (&progress, "apply");
  if (!mist_delta_apply_fd (source_fd, patch_fd, output.fd, progress_update, &progress, NULL,
                            &error))
    {
      progress_finish (&progress);
      exit_code = exit_code_for_error (error);
      g_prefix_error (&error, "Applying %s to %s failed: ", argv[2], argv[1]);
      goto out;
    }
  progress_finish (&progress);
  if (output_file_commit (&output, &error))
    exit_code = EXIT_OK;

out:
  if (error != NULL)
    print_error ("%s", error->message);
  if (source_fd >= 0)
    close (source_fd);
  if (patch_fd >= 0)
    close (patch_fd);
  return exit_code;
}

/* info */

static int
run_info (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new ("PATCH");
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  int patch_fd;

  g_option_context_set_summary (context, "Describe PATCH: format, sizes, windows, checksums.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (error->message);
  if (argc != 2)
    return usage_error ("info needs PATCH");

  patch_fd = open_input (argv[1], "patch", &error);
  if (patch_fd < 0)
    {
      print_error ("%s", error->message);
      return EXIT_FAILED;
    }
  text = mist_delta_describe_fd (patch_fd, NULL, &error);
  close (patch_fd);
  if (text == NULL)
    {
      int exit_code = exit_code_for_error (error);

      print_error ("%s: %s", argv[1], error->message);
      return exit_code;
    }
  fputs (text, stdout);
  return EXIT_OK;
}

int
main (int argc, char **argv)
{
  const char *command;

  setlocale (LC_ALL, "");
  watch_signals ();
  if (argc < 2)
    return usage_error ("missing command: create, apply or info");

  command = argv[1];
  if (g_str_equal (command, "--help") || g_str_equal (command, "-h")
      || g_str_equal (command, "help"))
    {
      fputs (help_text, stdout);
      return EXIT_OK;
    }
  if (g_str_equal (command, "--version"))
    {
      printf ("mist-delta %s\n", MIST_VERSION);
      return EXIT_OK;
    }

  /* Each command parses the arguments after its name, with the command as argv[0]. */
  if (g_str_equal (command, "create"))
    return run_create (argc - 1, argv + 1);
  if (g_str_equal (command, "apply"))
    return run_apply (argc - 1, argv + 1);
  if (g_str_equal (command, "info"))
    return run_info (argc - 1, argv + 1);

  {
    g_autofree char *message = g_strdup_printf ("unknown command \"%s\"", command);

    return usage_error (message);
  }
}
