/* mist-obstruction.h: something in the install folder that blocks a game path
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An entry of another type can block a game file, at the file's path or at one of the
 * folders leading to it. It is a folder where the game has a file, a file where the game
 * has a folder, or a symbolic link where the game has either. Verify reports these, and
 * an install, update or repair checks for them before its commit.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MIST_OBSTRUCTION_FOLDER_FOR_FILE, /* a folder where the game has a file */
  MIST_OBSTRUCTION_FILE_FOR_FOLDER, /* a file, device, socket or FIFO where it has a folder */
  MIST_OBSTRUCTION_LINK_FOR_FILE,   /* a symbolic link where the game has a file */
  MIST_OBSTRUCTION_LINK_FOR_FOLDER, /* a symbolic link where the game has a folder */
} MistObstructionKind;

typedef struct
{
  char *path; /* of the obstruction, relative to the install folder */
  MistObstructionKind kind;
  /* Whether the commit can replace it without losing data: an empty folder, or a
   * symbolic link in place of a file (the link is replaced, never written through). */
  gboolean replaceable;
} MistObstruction;

void mist_obstruction_free (MistObstruction *obstruction);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MistObstruction, mist_obstruction_free)

/* Describes the obstruction for people: "data/a.pak is a folder where the game has a
 * file". */
char *mist_obstruction_describe (const MistObstruction *obstruction);

G_END_DECLS
