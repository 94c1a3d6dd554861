/* mist-vcdiff-apply.c: running one VCDIFF window's instructions into the output
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The default code table and the address caches of RFC 3284 section 5, copies from the
 * source or from output already written (VCD_TARGET), the Adler-32 check and the write.
 */
#include "mist-vcdiff-private.h"

#include "mist-mapped-guard-private.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Instruction types and the default code table (RFC 3284 sections 5.4 and 5.6). */
enum
{
  INST_NOOP,
  INST_ADD,
  INST_RUN,
  INST_COPY,
};

#define MODE_SAME_FIRST (2 + MIST_VCDIFF_NEAR_CACHE_SIZE)

typedef struct
{
  guint8 type[2];
  guint8 size[2];
  guint8 mode[2];
} CodeEntry;

static CodeEntry code_table[256];

static void
set_entry (
  guint index, guint8 type1, guint8 size1, guint8 mode1, guint8 type2, guint8 size2, guint8 mode2)
{
  code_table[index] = (CodeEntry){ { type1, type2 }, { size1, size2 }, { mode1, mode2 } };
}

static gpointer
build_code_table (gpointer data)
{
  guint index = 0;

  set_entry (index++, INST_RUN, 0, 0, INST_NOOP, 0, 0);
  for (guint size = 0; size <= 17; size++)
    set_entry (index++, INST_ADD, size, 0, INST_NOOP, 0, 0);
  for (guint mode = 0; mode <= 8; mode++)
    {
      set_entry (index++, INST_COPY, 0, mode, INST_NOOP, 0, 0);
      for (guint size = 4; size <= 18; size++)
        set_entry (index++, INST_COPY, size, mode, INST_NOOP, 0, 0);
    }
  for (guint mode = 0; mode <= 5; mode++)
    for (guint add = 1; add <= 4; add++)
      for (guint copy = 4; copy <= 6; copy++)
        set_entry (index++, INST_ADD, add, 0, INST_COPY, copy, mode);
  for (guint mode = 6; mode <= 8; mode++)
    for (guint add = 1; add <= 4; add++)
      set_entry (index++, INST_ADD, add, 0, INST_COPY, 4, mode);
  for (guint mode = 0; mode <= 8; mode++)
    set_entry (index++, INST_COPY, 4, mode, INST_ADD, 1, 0);

  g_assert (index == G_N_ELEMENTS (code_table));
  return NULL;
}

/* Adler-32 as zlib defines it; 5552 is the longest run whose sums fit in 32 bits. */
guint32
mist_vcdiff_adler32 (guint32 adler, const guint8 *data, gsize length)
{
  guint32 a = adler & 0xffff;
  guint32 b = adler >> 16;

  while (length > 0)
    {
      gsize chunk = MIN (length, 5552);

      length -= chunk;
      while (chunk >= 8)
        {
          a += data[0];
          b += a;
          a += data[1];
          b += a;
          a += data[2];
          b += a;
          a += data[3];
          b += a;
          a += data[4];
          b += a;
          a += data[5];
          b += a;
          a += data[6];
          b += a;
          a += data[7];
          b += a;
          data += 8;
          chunk -= 8;
        }
      while (chunk-- > 0)
        {
          a += *data++;
          b += a;
        }
      a %= 65521;
      b %= 65521;
    }
  return (b << 16) | a;
}

typedef MistVcdiffSegment Segment;

static gboolean
pread_all (int fd, guint8 *out, gsize length, guint64 offset, const char *what, GError **error)
{
  while (length > 0)
    {
      gssize count = pread (fd, out, MIN (length, (gsize)G_MAXSSIZE), offset);

      if (count < 0 && errno == EINTR)
        continue;
      if (count < 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "Failed to read the %s at byte %" G_GUINT64_FORMAT ": %s", what, offset,
                       g_strerror (saved_errno));
          return FALSE;
        }
      if (count == 0)
        {
          g_set_error (error, MIST_ERROR, MIST_ERROR_WRONG_SOURCE,
                       "The %s ends at byte %" G_GUINT64_FORMAT
                       " although the patch copies from there; was it changed meanwhile?",
                       what, offset);
          return FALSE;
        }
      out += count;
      offset += count;
      length -= count;
    }
  return TRUE;
}

gboolean
mist_vcdiff_applier_open (MistVcdiffApplier *applier, int source_fd, int output_fd, GError **error)
{
  off_t output_position;
  static GOnce table_once = G_ONCE_INIT;
  struct stat info;

  g_once (&table_once, build_code_table, NULL);
  applier->source_fd = source_fd;
  applier->output_fd = output_fd;
  applier->output = mist_vcdiff_output_new (output_fd);

  /* VCD_TARGET windows read output back with pread, relative to where writing starts.
   * An unseekable output fails only if such a window comes. */
  output_position = lseek (output_fd, 0, SEEK_CUR);
  applier->output_start = output_position > 0 ? output_position : 0;
  if (source_fd < 0)
    return TRUE;

  if (fstat (source_fd, &info) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Failed to inspect the source file: %s", g_strerror (saved_errno));
      return FALSE;
    }
  applier->have_source = TRUE;
  applier->source_size = info.st_size;
  if (!S_ISREG (info.st_mode) || info.st_size == 0 || (guint64)info.st_size > G_MAXSIZE)
    return TRUE;

  applier->source_map = mmap (NULL, info.st_size, PROT_READ, MAP_SHARED, source_fd, 0);
  if (applier->source_map == MAP_FAILED)
    {
      g_debug ("Reading the source with pread: mmap failed: %s", g_strerror (errno));
      applier->source_map = NULL;
    }
  return TRUE;
}

void
mist_vcdiff_applier_clear (MistVcdiffApplier *applier)
{
  if (applier->source_map != NULL)
    munmap (applier->source_map, applier->source_size);
  applier->source_map = NULL;
  g_clear_pointer (&applier->output, mist_vcdiff_output_free);
}

static void
advise_range (MistVcdiffApplier *applier, guint64 start, guint64 end, int advice)
{
  guint64 page = sysconf (_SC_PAGESIZE);
  guint64 aligned = start & ~(page - 1);

  if (start < end)
    madvise (applier->source_map + aligned, end - aligned, advice);
}

/* Prefetches the new segment and drops the page table entries of the parts of the
 * previous one that the new one does not cover. The pages stay in the page cache, so a
 * later copy from there costs a minor fault; without this the process's RSS would
 * grow to the whole source as the windows move through it. */
static void
advise_source_pages (MistVcdiffApplier *applier, guint64 start, guint64 end)
{
  if (applier->mapped_start < applier->mapped_end)
    {
      advise_range (applier, applier->mapped_start, MIN (applier->mapped_end, start),
                    MADV_DONTNEED);
      advise_range (applier, MAX (applier->mapped_start, end), applier->mapped_end, MADV_DONTNEED);
    }
  advise_range (applier, start, end, MADV_WILLNEED);
  applier->mapped_start = start;
  applier->mapped_end = end;
}

/* Checks the window's copy segment against the source or the output written so far. */
static gboolean
applier_open_segment (MistVcdiffApplier *applier,
                      const MistVcdiffWindow *window,
                      Segment *segment,
                      GError **error)
{
  memset (segment, 0, sizeof *segment);
  segment->fd = -1;
  segment->offset = window->segment_offset;
  segment->length = window->segment_length;

  if (window->indicator & MIST_VCD_TARGET)
    {
      if (segment->offset + segment->length > applier->output_size)
        {
          mist_vcdiff_set_window_error (error, MIST_ERROR_INVALID_DATA, window,
                                        "VCD_TARGET segment ends at byte %" G_GUINT64_FORMAT
                                        " but only %" G_GUINT64_FORMAT " bytes of output exist",
                                        segment->offset + segment->length, applier->output_size);
          return FALSE;
        }
      segment->fd = applier->output_fd;
      segment->file_offset = applier->output_start;
      segment->file_name = "output file";
      return TRUE;
    }

  if (!(window->indicator & MIST_VCD_SOURCE))
    return TRUE;

  if (!applier->have_source)
    {
      mist_vcdiff_set_window_error (error, MIST_ERROR_WRONG_SOURCE, window,
                                    "the patch copies from a source file but none was given");
      return FALSE;
    }
  if (segment->offset + segment->length > applier->source_size)
    {
      mist_vcdiff_set_window_error (error, MIST_ERROR_WRONG_SOURCE, window,
                                    "the patch reads source bytes up to %" G_GUINT64_FORMAT
                                    " but the source file has %" G_GUINT64_FORMAT
                                    " bytes; is it the file the patch was made from?",
                                    segment->offset + segment->length, applier->source_size);
      return FALSE;
    }

  if (applier->source_map == NULL)
    {
      segment->fd = applier->source_fd;
      segment->file_name = "source file";
      return TRUE;
    }

  segment->map = applier->source_map + segment->offset;
  advise_source_pages (applier, segment->offset, segment->offset + segment->length);
  return TRUE;
}

static inline gboolean
decode_address (MistVcdiffRun *run,
                guint mode,
                guint64 here,
                const guint8 **cursor,
                const guint8 *end,
                guint64 *address)
{
  guint64 value;
  guint64 result;

  if (mode >= MODE_SAME_FIRST)
    {
      if (*cursor >= end)
        return FALSE;
      result = run->same[(mode - MODE_SAME_FIRST) * 256 + *(*cursor)++];
    }
  else
    {
      if (!mist_vcdiff_decode_varint (cursor, end, &value))
        return FALSE;
      if (mode == 0)
        result = value;
      else if (mode == 1)
        result = here - value; /* checked by the caller: a wrap makes it >= here */
      else
        result = run->near[mode - 2] + value;
    }

  run->near[run->near_next] = result;
  run->near_next = (run->near_next + 1) % MIST_VCDIFF_NEAR_CACHE_SIZE;
  run->same[result % (MIST_VCDIFF_SAME_CACHE_SIZE * 256)] = result;
  *address = result;
  return TRUE;
}

/* Copies length bytes from target offset from to target offset to, where from < to. The
 * ranges may overlap, which repeats the bytes between them (a run of a pattern). */
static inline void
copy_within_target (guint8 *target, gsize from, gsize to, gsize length)
{
  if (from + length <= to)
    {
      memcpy (target + to, target + from, length);
      return;
    }
  /* Each step copies the whole period written so far, so the chunks double. */
  while (length > 0)
    {
      gsize chunk = MIN (length, to - from);

      memcpy (target + to, target + from, chunk);
      to += chunk;
      length -= chunk;
    }
}

static gboolean
copy_from_segment (
  const Segment *segment, guint8 *out, guint64 address, gsize length, GError **error)
{
  if (segment->map != NULL)
    {
      memcpy (out, segment->map + address, length);
      return TRUE;
    }
  return pread_all (segment->fd, out, length, segment->file_offset + segment->offset + address,
                    segment->file_name, error);
}

typedef struct
{
  const guint8 *start;
  const guint8 *cursor;
  const guint8 *end;
} Cursor;

static void
cursor_init (Cursor *cursor, const MistVcdiffWindow *window, MistVcdiffSectionKind kind)
{
  static const guint8 empty[1];

  /* An empty section has no buffer, and NULL + 0 is undefined behaviour in C. */
  cursor->start = window->section[kind] != NULL ? window->section[kind] : empty;
  cursor->cursor = cursor->start;
  cursor->end = cursor->start + window->section_size[kind];
}

/* Runs the window's instructions into run->target. */
static gboolean
execute_window (MistVcdiffRun *run, GError **error)
{
  const MistVcdiffWindow *window = run->window;
  const Segment *segment = &run->segment;
  guint8 *target = run->target;
  guint64 target_length = window->target_length;
  guint64 segment_length = segment->length;
  guint64 position = 0;
  Cursor inst;
  Cursor data;
  Cursor addr;

  cursor_init (&inst, window, MIST_VCDIFF_SECTION_INST);
  cursor_init (&data, window, MIST_VCDIFF_SECTION_DATA);
  cursor_init (&addr, window, MIST_VCDIFF_SECTION_ADDR);
  memset (run->near, 0, sizeof run->near);
  memset (run->same, 0, sizeof run->same);
  run->near_next = 0;

  while (inst.cursor < inst.end)
    {
      gsize opcode_offset = inst.cursor - inst.start;
      const CodeEntry *entry = &code_table[*inst.cursor++];

      for (guint half = 0; half < 2; half++)
        {
          guint type = entry->type[half];
          guint64 size = entry->size[half];

          if (type == INST_NOOP)
            continue;
          if (size == 0 && !mist_vcdiff_decode_varint (&inst.cursor, inst.end, &size))
            {
              mist_vcdiff_set_window_error (error, MIST_ERROR_INVALID_DATA, window,
                                            "the size of the instruction at byte %" G_GSIZE_FORMAT
                                            " of the instructions section is truncated or invalid",
                                            opcode_offset);
              return FALSE;
            }
          if (size > target_length - position)
            {
              mist_vcdiff_set_window_error (error, MIST_ERROR_INVALID_DATA, window,
                                            "the instruction at byte %" G_GSIZE_FORMAT
                                            " of the instructions section writes %" G_GUINT64_FORMAT
                                            " bytes at offset %" G_GUINT64_FORMAT
                                            ", past the target window length %" G_GUINT64_FORMAT,
                                            opcode_offset, size, position, target_length);
              return FALSE;
            }

          if (type == INST_ADD)
            {
              if (size > (guint64)(data.end - data.cursor))
                {
                  mist_vcdiff_set_window_error (
                    error, MIST_ERROR_INVALID_DATA, window,
                    "ADD of %" G_GUINT64_FORMAT " bytes at byte %" G_GSIZE_FORMAT
                    " of the instructions section runs past the data section",
                    size, opcode_offset);
                  return FALSE;
                }
              memcpy (target + position, data.cursor, size);
              data.cursor += size;
            }
          else if (type == INST_RUN)
            {
              if (data.cursor >= data.end)
                {
                  mist_vcdiff_set_window_error (
                    error, MIST_ERROR_INVALID_DATA, window,
                    "RUN at byte %" G_GSIZE_FORMAT
                    " of the instructions section runs past the data section",
                    opcode_offset);
                  return FALSE;
                }
              memset (target + position, *data.cursor++, size);
            }
          else
            {
              guint64 here = segment_length + position;
              guint64 address;
              guint64 from_segment = 0;

              if (!decode_address (run, entry->mode[half], here, &addr.cursor, addr.end,
                                   &address))
                {
                  mist_vcdiff_set_window_error (
                    error, MIST_ERROR_INVALID_DATA, window,
                    "the address of the COPY at byte %" G_GSIZE_FORMAT
                    " of the instructions section is truncated or invalid",
                    opcode_offset);
                  return FALSE;
                }
              if (address >= here)
                {
                  mist_vcdiff_set_window_error (
                    error, MIST_ERROR_INVALID_DATA, window,
                    "the COPY at byte %" G_GSIZE_FORMAT
                    " of the instructions section reads address %" G_GUINT64_FORMAT
                    ", which is not before the current address %" G_GUINT64_FORMAT,
                    opcode_offset, address, here);
                  return FALSE;
                }
              if (address < segment_length)
                {
                  from_segment = MIN (size, segment_length - address);
                  if (!copy_from_segment (segment, target + position, address, from_segment, error))
                    {
                      g_prefix_error (error, "VCDIFF window %" G_GUINT64_FORMAT ": ",
                                      window->number);
                      return FALSE;
                    }
                }
              if (from_segment < size)
                {
                  /* The rest comes from the target window, which starts at address
                   * segment_length; a copy that started in the segment continues at 0. */
                  guint64 from = address + from_segment - segment_length;

                  copy_within_target (target, from, position + from_segment, size - from_segment);
                }
            }
          position += size;
        }
    }

  if (position != target_length)
    {
      mist_vcdiff_set_window_error (error, MIST_ERROR_INVALID_DATA, window,
                                    "the instructions produce %" G_GUINT64_FORMAT
                                    " bytes but the target window length is %" G_GUINT64_FORMAT,
                                    position, target_length);
      return FALSE;
    }
  if (data.cursor != data.end || addr.cursor != addr.end)
    {
      mist_vcdiff_set_window_error (
        error, MIST_ERROR_INVALID_DATA, window,
        "%" G_GSIZE_FORMAT " bytes of the data section and %" G_GSIZE_FORMAT
        " bytes of the addresses section are left unused",
        (gsize)(data.end - data.cursor), (gsize)(addr.end - addr.cursor));
      return FALSE;
    }
  return TRUE;
}

/* MistMappedFunc. execute_window allocates only for an error, after its last read. */
static void
execute_window_call (gpointer data)
{
  MistVcdiffRun *run = data;

  run->ok = execute_window (run, &run->error);
}

void
mist_vcdiff_run_execute (MistVcdiffApplier *applier, MistVcdiffRun *run)
{
  g_clear_error (&run->error);
  if (run->segment.map == NULL)
    {
      run->ok = execute_window (run, &run->error);
      return;
    }

  /* Guarded against a source file truncated while it is mapped. */
  if (!mist_mapped_guard_run (applier->source_map, applier->source_size, execute_window_call, run))
    {
      g_clear_error (&run->error);
      mist_mapped_set_truncated_error (&run->error, applier->source_fd, "source",
                                       applier->source_size);
      g_prefix_error (&run->error, "VCDIFF window %" G_GUINT64_FORMAT ": ", run->window->number);
      run->ok = FALSE;
    }
}

gboolean
mist_vcdiff_applier_start_run (MistVcdiffApplier *applier,
                               const MistVcdiffWindow *window,
                               MistVcdiffRun *run,
                               GError **error)
{
  run->window = window;
  run->buffer = NULL;
  run->target = NULL;
  run->ok = FALSE;
  g_clear_error (&run->error);

  if (!mist_vcdiff_output_check (applier->output, error))
    return FALSE;
  /* A VCD_TARGET window reads earlier output back, so it must be written first. */
  if ((window->indicator & MIST_VCD_TARGET) && !mist_vcdiff_output_flush (applier->output, error))
    return FALSE;
  if (!applier_open_segment (applier, window, &run->segment, error))
    return FALSE;

  run->buffer = mist_vcdiff_output_begin (applier->output, window->target_length);
  run->target = mist_vcdiff_output_buffer_get_data (run->buffer);
  return TRUE;
}

gboolean
mist_vcdiff_applier_finish_run (MistVcdiffApplier *applier, MistVcdiffRun *run, GError **error)
{
  MistVcdiffOutputBuffer *buffer = g_steal_pointer (&run->buffer);

  if (!run->ok)
    {
      mist_vcdiff_output_abandon (applier->output, buffer);
      g_propagate_error (error, g_steal_pointer (&run->error));
      return FALSE;
    }
  mist_vcdiff_output_commit (applier->output, buffer, run->window);
  applier->output_size += run->window->target_length;
  return TRUE;
}

gboolean
mist_vcdiff_applier_finish (MistVcdiffApplier *applier, GError **error)
{
  return mist_vcdiff_output_flush (applier->output, error);
}
