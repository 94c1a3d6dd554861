/* install-crash-helper.c: runs one install or update for the crash tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: install-crash-helper STATE_DB INSTALL_FOLDER OBJECTS_DIR MANIFEST ORDINAL
 * Recovers unfinished transactions, then installs or updates game "crash" to the
 * manifest (a JSON file) as version ORDINAL with a full-object plan. MANIFEST "-" only
 * recovers. MIST_FAULT_POINT makes it kill itself at a named step (mist-fault.h).
 */
#include "mist-install.h"

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MistStateDb) db = NULL;
  g_autoptr (MistManifest) target = NULL;
  g_autoptr (MistManifest) installed = NULL;
  g_autoptr (MistInstalledGame) game = NULL;
  g_autoptr (MistPlan) plan = NULL;
  g_autofree char *json = NULL;
  MistInstallRequest request = { 0 };
  gint64 ordinal;

  if (argc != 6)
    {
      g_printerr ("Usage: %s STATE_DB INSTALL_FOLDER OBJECTS_DIR MANIFEST ORDINAL\n", argv[0]);
      return 2;
    }
  db = mist_state_db_open (argv[1], &error);
  if (db == NULL || !mist_install_recover (db, NULL, &error))
    goto failed;
  if (g_str_equal (argv[4], "-"))
    return 0;

  ordinal = g_ascii_strtoll (argv[5], NULL, 10);
  if (!g_file_get_contents (argv[4], &json, NULL, &error) ||
      (target = mist_manifest_new_from_json (json, -1, &error)) == NULL)
    goto failed;
  game = mist_state_db_get_installed (db, "crash", &error);
  if (error != NULL)
    goto failed;
  if (game != NULL && (installed = mist_manifest_new_from_json (game->manifest_json, -1, &error)) == NULL)
    goto failed;
  plan = mist_plan_new_full (game != NULL ? game->version_ordinal : MIST_VERSION_NONE, installed, ordinal, target);

  request.game_id = "crash";
  request.install_path = argv[2];
  request.target = target;
  request.version_name = argv[5];
  request.plan = plan;
  request.objects_dir = argv[3];
  if (!mist_install_apply (db, &request, NULL, NULL, NULL, NULL, &error))
    goto failed;
  return 0;

failed:
  g_printerr ("%s\n", error->message);
  return 1;
}
