/* vcdiff-writer.c: a small VCDIFF encoder for crafting test patches
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "vcdiff-writer.h"

#include <string.h>

#define NEAR_SIZE 4
#define SAME_SIZE 3

struct _TestWindow
{
  guint8 indicator;
  guint64 segment_length;
  guint64 segment_offset;
  guint64 target_length;
  GByteArray *data;
  GByteArray *inst;
  GByteArray *addr;
  guint64 near[NEAR_SIZE];
  guint near_next;
  guint64 same[SAME_SIZE * 256];
};

void
test_vcdiff_append_varint (GByteArray *out, guint64 value)
{
  guint8 bytes[10];
  guint count = 0;

  do
    {
      bytes[9 - count] = (value & 0x7f) | (count > 0 ? 0x80 : 0);
      value >>= 7;
      count++;
    }
  while (value > 0);
  g_byte_array_append (out, bytes + 10 - count, count);
}

void
test_vcdiff_append_header (GByteArray *out,
                           guint8 indicator,
                           guint8 secondary_id,
                           const char *app_header)
{
  static const guint8 magic[4] = { 0xd6, 0xc3, 0xc4, 0x00 };

  g_byte_array_append (out, magic, 4);
  g_byte_array_append (out, &indicator, 1);
  if (indicator & 0x01)
    g_byte_array_append (out, &secondary_id, 1);
  if (indicator & 0x04)
    {
      test_vcdiff_append_varint (out, strlen (app_header));
      g_byte_array_append (out, (const guint8 *)app_header, strlen (app_header));
    }
}

TestWindow *
test_window_new (guint8 indicator, guint64 segment_length, guint64 segment_offset)
{
  TestWindow *window = g_new0 (TestWindow, 1);

  window->indicator = indicator;
  window->segment_length = segment_length;
  window->segment_offset = segment_offset;
  window->data = g_byte_array_new ();
  window->inst = g_byte_array_new ();
  window->addr = g_byte_array_new ();
  return window;
}

static void
append_opcode (TestWindow *window, guint8 opcode, guint64 size)
{
  g_byte_array_append (window->inst, &opcode, 1);
  test_vcdiff_append_varint (window->inst, size);
}

void
test_window_add (TestWindow *window, const guint8 *data, gsize length)
{
  append_opcode (window, 1, length);
  g_byte_array_append (window->data, data, length);
  window->target_length += length;
}

void
test_window_run (TestWindow *window, guint8 byte, guint64 length)
{
  append_opcode (window, 0, length);
  g_byte_array_append (window->data, &byte, 1);
  window->target_length += length;
}

void
test_window_copy (TestWindow *window, guint64 address, guint64 length, guint mode)
{
  guint64 here = window->segment_length + window->target_length;

  g_assert_cmpuint (mode, <=, 8);
  append_opcode (window, 19 + 16 * mode, length);
  if (mode == 0)
    test_vcdiff_append_varint (window->addr, address);
  else if (mode == 1)
    {
      g_assert_cmpuint (address, <=, here);
      test_vcdiff_append_varint (window->addr, here - address);
    }
  else if (mode < 2 + NEAR_SIZE)
    {
      g_assert_cmpuint (address, >=, window->near[mode - 2]);
      test_vcdiff_append_varint (window->addr, address - window->near[mode - 2]);
    }
  else
    {
      guint slot = address % (SAME_SIZE * 256);
      guint8 byte = slot % 256;

      g_assert_cmpuint (slot / 256, ==, mode - 2 - NEAR_SIZE);
      g_assert_cmpuint (window->same[slot], ==, address);
      g_byte_array_append (window->addr, &byte, 1);
    }

  window->near[window->near_next] = address;
  window->near_next = (window->near_next + 1) % NEAR_SIZE;
  window->same[address % (SAME_SIZE * 256)] = address;
  window->target_length += length;
}

guint64
test_window_target_length (TestWindow *window)
{
  return window->target_length;
}

guint32
test_adler32 (const guint8 *data, gsize length)
{
  guint32 a = 1;
  guint32 b = 0;

  for (gsize i = 0; i < length; i++)
    {
      a = (a + data[i]) % 65521;
      b = (b + a) % 65521;
    }
  return (b << 16) | a;
}

static guint
varint_size (guint64 value)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();

  test_vcdiff_append_varint (bytes, value);
  return bytes->len;
}

void
test_window_finish (TestWindow *window, GByteArray *out, const guint8 *target)
{
  guint64 encoding_length;
  guint8 zero = 0;

  g_byte_array_append (out, &window->indicator, 1);
  if (window->indicator & 0x03)
    {
      test_vcdiff_append_varint (out, window->segment_length);
      test_vcdiff_append_varint (out, window->segment_offset);
    }
  encoding_length = varint_size (window->target_length) + 1 + varint_size (window->data->len)
                    + varint_size (window->inst->len) + varint_size (window->addr->len)
                    + window->data->len + window->inst->len + window->addr->len
                    + ((window->indicator & 0x04) ? 4 : 0);
  test_vcdiff_append_varint (out, encoding_length);
  test_vcdiff_append_varint (out, window->target_length);
  g_byte_array_append (out, &zero, 1);
  test_vcdiff_append_varint (out, window->data->len);
  test_vcdiff_append_varint (out, window->inst->len);
  test_vcdiff_append_varint (out, window->addr->len);
  if (window->indicator & 0x04)
    {
      guint32 sum = test_adler32 (target, window->target_length);
      guint8 bytes[4] = { sum >> 24, sum >> 16, sum >> 8, sum };

      g_byte_array_append (out, bytes, 4);
    }
  g_byte_array_append (out, window->data->data, window->data->len);
  g_byte_array_append (out, window->inst->data, window->inst->len);
  g_byte_array_append (out, window->addr->data, window->addr->len);

  g_byte_array_unref (window->data);
  g_byte_array_unref (window->inst);
  g_byte_array_unref (window->addr);
  g_free (window);
}
