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


def state(node_id, reserved, magic=0x574F4E53, version=1, pad1=0, pad2=0, crc=None):
    head = struct.pack('<IIiIq', magic, version, node_id, pad1, reserved)
    return head + struct.pack('<II', crc32c(head) if crc is None else crc, pad2)


seeds = {
    'first_start': state(0, 0),
    'typical': state(7, 120_000_000_000),
    'max_values': state(1023, (1 << 41) - 1),
    'node_out_of_range': state(1024, 5),
    'negative_reserved': state(3, -1),
    'reserved_past_layout': state(3, 1 << 41),
    'padding_set': state(3, 5, pad1=1),
    'trailing_padding_set': state(3, 5, pad2=1),
    'bad_crc': state(3, 5, crc=0),
    'wrong_magic': state(3, 5, magic=0x4B4E554A),
    'wrong_version': state(3, 5, version=2),
    'truncated': state(3, 5)[:20],
    'one_byte_long': state(3, 5) + b'\0',
    'empty': b'',
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'state_file')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
