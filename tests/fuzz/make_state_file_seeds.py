#!/usr/bin/env python3
"""Writes the seed corpus corpus/state_file/ for state_file_fuzz.cpp:
    python3 tests/fuzz/make_state_file_seeds.py

The seeds are committed; this script says where each came from. The CRC is
CRC-32C (Castagnoli), as in src/core/crc32c.cpp.
"""
import os
import struct


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def state_v1(node_id, reserved, magic=0x574F4E53, version=1, pad1=0, pad2=0, crc=None):
    """Format 1 (snowflake 1.0), 32 bytes; still read."""
    head = struct.pack('<IIiIq', magic, version, node_id, pad1, reserved)
    return head + struct.pack('<II', crc32c(head) if crc is None else crc, pad2)


def state(node_id, reserved, system_identifier=7350000000000000001, flags=0,
          magic=0x574F4E53, version=2, pad=0, crc=None):
    """Format 2, 40 bytes (src/core/state_file.h)."""
    head = struct.pack('<IIiIqQ', magic, version, node_id, flags, reserved, system_identifier)
    return head + struct.pack('<II', crc32c(head) if crc is None else crc, pad)


seeds = {
    'first_start': state(0, 0),
    'typical': state(7, 120_000_000_000),
    'replayed': state(7, 120_000_000_000, flags=1),
    'promotion_pending': state(7, 120_000_000_000, flags=2),
    'unknown_flag': state(7, 5, flags=4),
    'no_system_identifier': state(7, 5, system_identifier=0),
    'max_values': state(1023, (1 << 41) - 1, system_identifier=(1 << 64) - 1, flags=3),
    'node_out_of_range': state(1024, 5),
    'negative_reserved': state(3, -1),
    'reserved_past_layout': state(3, 1 << 41),
    'trailing_padding_set': state(3, 5, pad=1),
    'bad_crc': state(3, 5, crc=0),
    'wrong_magic': state(3, 5, magic=0x4B4E554A),
    'wrong_version': state(3, 5, version=3),
    'truncated': state(3, 5)[:20],
    'one_byte_long': state(3, 5) + b'\0',
    'empty': b'',
    'v1_first_start': state_v1(0, 0),
    'v1_typical': state_v1(7, 120_000_000_000),
    'v1_padding_set': state_v1(3, 5, pad1=1),
    'v1_trailing_padding_set': state_v1(3, 5, pad2=1),
    'v1_bad_crc': state_v1(3, 5, crc=0),
    'v1_as_version_2': state_v1(3, 5, version=2),
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'state_file')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
