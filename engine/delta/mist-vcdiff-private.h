/* mist-vcdiff-private.h: the VCDIFF (RFC 3284) patch reader shared by apply and describe
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The reader parses the file header and one window at a time from a streamed patch,
 * reads the window's three sections into memory and undoes their secondary compression.
 * Each buffer it allocates is at most MIST_VCDIFF_MAX_WINDOW bytes.
 */
#pragma once

#include <gio/gio.h>
#include <lzma.h>

#include "mist-error.h"

G_BEGIN_DECLS

/* Hard limit for a target window and a section, checked before anything is allocated.
 * xdelta3 3.0 writes target windows of at most 16 MiB (-W). */
#define MIST_VCDIFF_MAX_WINDOW ((guint64)64 * 1024 * 1024)
#define MIST_VCDIFF_MAX_APP_HEADER ((guint64)1024 * 1024)

/* Header indicator bits (RFC 3284 section 4.1; VCD_APPHEADER is the xdelta3 extension). */
#define MIST_VCD_SECONDARY 0x01
#define MIST_VCD_CODETABLE 0x02
#define MIST_VCD_APPHEADER 0x04

/* Window indicator bits (section 4.2; VCD_ADLER32 is the xdelta3 extension). */
#define MIST_VCD_SOURCE 0x01
#define MIST_VCD_TARGET 0x02
#define MIST_VCD_ADLER32 0x04

/* Secondary compressor ids as xdelta3 3.0 writes them. */
#define MIST_VCD_DJW_ID 1
#define MIST_VCD_LZMA_ID 2
#define MIST_VCD_FGK_ID 16

typedef enum
{
  MIST_VCDIFF_SECTION_DATA,
  MIST_VCDIFF_SECTION_INST,
  MIST_VCDIFF_SECTION_ADDR,
  MIST_VCDIFF_N_SECTIONS,
} MistVcdiffSectionKind;

typedef struct
{
  int fd;
  guint8 *buffer; /* owned, MIST_VCDIFF_INPUT_BUFFER bytes */
  gsize start;    /* next unread byte in buffer */
  gsize end;      /* end of valid bytes in buffer */
  guint64 offset; /* patch offset of buffer[start] */
  gboolean eof;
} MistVcdiffInput;

typedef struct
{
  guint8 indicator;
  guint8 secondary_id; /* 0 without VCD_SECONDARY */
  guint64 code_table_length;
  guint8 *app_header; /* owned, NUL-terminated, NULL without VCD_APPHEADER */
  gsize app_header_length;
} MistVcdiffHeader;

typedef struct
{
  guint8 *data; /* owned */
  gsize length;
  gsize capacity;
} MistVcdiffBuffer;

/* One window as read from the patch, with its sections ready for the instruction loop. */
typedef struct
{
  guint64 number;       /* 0-based window index */
  guint64 patch_offset; /* offset of the window indicator in the patch */
  guint8 indicator;
  guint8 delta_indicator;
  guint64 segment_length;
  guint64 segment_offset;
  guint64 target_length;
  guint32 adler32;
  guint64 section_length[MIST_VCDIFF_N_SECTIONS];   /* as stored in the patch */
  guint64 section_offset[MIST_VCDIFF_N_SECTIONS];   /* patch offset of each section */
  MistVcdiffBuffer raw[MIST_VCDIFF_N_SECTIONS];     /* bytes as stored */
  MistVcdiffBuffer decoded[MIST_VCDIFF_N_SECTIONS]; /* after secondary decompression */
  const guint8 *section[MIST_VCDIFF_N_SECTIONS];    /* raw or decoded bytes */
  gsize section_size[MIST_VCDIFF_N_SECTIONS];
} MistVcdiffWindow;

/* The three secondary streams of a patch: xdelta3 runs one LZMA stream per section kind
 * across all windows, so a window's sections can only be decoded after the previous
 * window's. Each stream is used by one thread at a time. */
typedef struct
{
  lzma_stream stream[MIST_VCDIFF_N_SECTIONS];
  gboolean started[MIST_VCDIFF_N_SECTIONS];
} MistVcdiffSecondary;

void mist_vcdiff_input_init (MistVcdiffInput *input, int fd);
void mist_vcdiff_input_clear (MistVcdiffInput *input);

gboolean mist_vcdiff_read_header (MistVcdiffInput *input, MistVcdiffHeader *header, GError **error);
void mist_vcdiff_header_clear (MistVcdiffHeader *header);

/* Reads the next window with its sections as stored; compressed sections are left for
 * mist_vcdiff_secondary_decode. Returns FALSE with error unset at the clean end of the
 * patch. With read_sections FALSE the sections are skipped, for describing a patch. */
gboolean mist_vcdiff_read_window (MistVcdiffInput *input,
                                  const MistVcdiffHeader *header,
                                  guint64 number,
                                  gboolean read_sections,
                                  MistVcdiffWindow *window,
                                  GError **error);
void mist_vcdiff_window_clear (MistVcdiffWindow *window);

void mist_vcdiff_secondary_init (MistVcdiffSecondary *secondary);
void mist_vcdiff_secondary_clear (MistVcdiffSecondary *secondary);
gboolean mist_vcdiff_secondary_decode (MistVcdiffSecondary *secondary,
                                       MistVcdiffWindow *window,
                                       MistVcdiffSectionKind kind,
                                       GError **error);

/* Sets error to "VCDIFF window N (patch byte O): " and the formatted message. */
void mist_vcdiff_set_window_error (GError **error,
                                   MistError code,
                                   const MistVcdiffWindow *window,
                                   const char *format,
                                   ...) G_GNUC_PRINTF (4, 5);

const char *mist_vcdiff_section_name (MistVcdiffSectionKind kind);
const char *mist_vcdiff_secondary_name (guint8 id);
guint32 mist_vcdiff_adler32 (guint32 adler, const guint8 *data, gsize length);

#define MIST_VCDIFF_NEAR_CACHE_SIZE 4
#define MIST_VCDIFF_SAME_CACHE_SIZE 3

/* Target windows on their way to the output file; see mist-vcdiff-output.c. */
typedef struct _MistVcdiffOutput MistVcdiffOutput;
typedef struct _MistVcdiffOutputBuffer MistVcdiffOutputBuffer;

MistVcdiffOutput *mist_vcdiff_output_new (int fd);
/* Returns a buffer of at least length bytes for a window, waiting until the writer
 * thread has one free. At most two buffers may be taken at a time. */
MistVcdiffOutputBuffer *mist_vcdiff_output_begin (MistVcdiffOutput *output, gsize length);
guint8 *mist_vcdiff_output_buffer_get_data (MistVcdiffOutputBuffer *buffer);
/* Hands the buffer to the writer thread: window->target_length bytes, checked against
 * the window's Adler-32 when it has one. Windows must be committed in their order. */
void mist_vcdiff_output_commit (MistVcdiffOutput *output,
                                MistVcdiffOutputBuffer *buffer,
                                const MistVcdiffWindow *window);
/* Returns a buffer from mist_vcdiff_output_begin unwritten. */
void mist_vcdiff_output_abandon (MistVcdiffOutput *output, MistVcdiffOutputBuffer *buffer);
/* Returns FALSE with the writer thread's first error once a write or check failed. */
gboolean mist_vcdiff_output_check (MistVcdiffOutput *output, GError **error);
/* Waits until every committed window is written; returns the first error. No buffer
 * may be taken meanwhile. */
gboolean mist_vcdiff_output_flush (MistVcdiffOutput *output, GError **error);
void mist_vcdiff_output_free (MistVcdiffOutput *output);

/* Where a window's COPY addresses below the segment length point: mapped memory, or a
 * file read with pread (the source when it cannot be mapped, the output for VCD_TARGET). */
typedef struct
{
  const guint8 *map;
  int fd;
  const char *file_name; /* for messages: "source file" or "output file" */
  guint64 file_offset;   /* where offset 0 of the source or output is in fd */
  guint64 offset;
  guint64 length;
} MistVcdiffSegment;

/* One window being applied: its copy segment, its output buffer and its address caches.
 * Started and finished on the applying thread in window order; executed on any thread,
 * so that two windows can be built at once. */
typedef struct
{
  const MistVcdiffWindow *window;
  MistVcdiffSegment segment;
  MistVcdiffOutputBuffer *buffer;
  guint8 *target; /* the buffer's bytes */
  guint64 near[MIST_VCDIFF_NEAR_CACHE_SIZE];
  guint near_next;
  guint64 same[MIST_VCDIFF_SAME_CACHE_SIZE * 256];
  gboolean ok;  /* the result of mist_vcdiff_run_execute */
  GError *error;
} MistVcdiffRun;

/* Output side of applying: the source and the output. Used by one thread at a time,
 * except for the source mapping, which runs read on their own threads. */
typedef struct
{
  int source_fd;
  guint8 *source_map; /* owned mapping of the whole source, or NULL */
  guint64 source_size;
  guint64 mapped_start; /* source range the previous window's copies may have touched */
  guint64 mapped_end;
  gboolean have_source;
  int output_fd;
  guint64 output_start;     /* offset of the output's first byte in output_fd */
  MistVcdiffOutput *output; /* owned */
  guint64 output_size;      /* bytes of output committed so far */
} MistVcdiffApplier;

/* Opens the source for copies (source_fd -1 for none): mapped when possible. */
gboolean
mist_vcdiff_applier_open (MistVcdiffApplier *applier, int source_fd, int output_fd, GError **error);
/* Checks the window's copy segment and takes an output buffer for it. A VCD_TARGET
 * window first waits for all output to be written, so no other run may be in progress.
 * A failed write or check of an earlier window is returned here or by
 * mist_vcdiff_applier_finish. */
gboolean mist_vcdiff_applier_start_run (MistVcdiffApplier *applier,
                                        const MistVcdiffWindow *window,
                                        MistVcdiffRun *run,
                                        GError **error);
/* Runs the window's instructions into run->target and sets run->ok and run->error.
 * Thread-safe for different runs. */
void mist_vcdiff_run_execute (MistVcdiffApplier *applier, MistVcdiffRun *run);
/* Hands a successful run's window to the writer thread, which checks the Adler-32 and
 * writes it, or returns the run's error. Runs must finish in window order. */
gboolean
mist_vcdiff_applier_finish_run (MistVcdiffApplier *applier, MistVcdiffRun *run, GError **error);
/* Waits for the last writes; returns the first error of the writer thread. */
gboolean mist_vcdiff_applier_finish (MistVcdiffApplier *applier, GError **error);
void mist_vcdiff_applier_clear (MistVcdiffApplier *applier);

/* Reads an RFC 3284 variable-length integer from memory; FALSE when it is truncated,
 * longer than 10 bytes or above G_MAXUINT64. */
static inline gboolean
mist_vcdiff_decode_varint (const guint8 **cursor, const guint8 *end, guint64 *value)
{
  const guint8 *p = *cursor;
  guint64 result = 0;

  while (p < end)
    {
      guint8 byte = *p++;

      if (result > (G_MAXUINT64 >> 7))
        return FALSE;
      result = (result << 7) | (byte & 0x7f);
      if ((byte & 0x80) == 0)
        {
          *cursor = p;
          *value = result;
          return TRUE;
        }
    }
  return FALSE;
}

G_END_DECLS
