"""A minimal compound-file (OLE2/CFB v3) writer for tests: streams first, directory and FAT at the end,
the layout Excel uses for a password-protected workbook (its directory lies after the encrypted data)."""

from __future__ import annotations

import struct

SECTOR = 512
FREE, END, FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD


def _entry(name: str, kind: int, start: int, size: int, left=FREE, right=FREE, child=FREE) -> bytes:
    raw = (name + "\0").encode("utf-16-le")
    return (
        raw.ljust(64, b"\0")
        + struct.pack("<HBB", len(raw), kind, 1)
        + struct.pack("<III", left, right, child)
        + b"\0" * 16  # CLSID
        + struct.pack("<I", 0)  # state bits
        + b"\0" * 16  # creation and modification times
        + struct.pack("<IIi", start, size, 0)
    )


def compound_file(streams: dict[str, bytes]) -> bytes:
    """Streams of at least 4096 bytes each (no mini stream), then one directory sector, then the FAT."""
    sectors: list[bytes] = []
    fat: list[int] = []
    starts = {}
    for name, data in streams.items():
        assert len(data) >= 4096, "keep streams out of the mini stream"
        chunks = [data[i : i + SECTOR].ljust(SECTOR, b"\0") for i in range(0, len(data), SECTOR)]
        starts[name] = len(sectors)
        for i in range(len(chunks)):
            fat.append(len(sectors) + 1 if i < len(chunks) - 1 else END)
            sectors.append(chunks[i])
    names = list(streams)
    entries = [_entry("Root Entry", 5, END, 0, child=1)]
    for i, name in enumerate(names, start=1):  # a right-leaning chain of siblings is a valid tree
        entries.append(
            _entry(name, 2, starts[name], len(streams[name]), right=i + 1 if i < len(names) else FREE)
        )
    directory_sector = len(sectors)
    sectors.append(b"".join(entries).ljust(SECTOR, b"\0"))
    fat.append(END)
    fat_count = 1
    while len(fat) + fat_count > fat_count * (SECTOR // 4):
        fat_count += 1
    first_fat = len(sectors)
    fat.extend([FATSECT] * fat_count)
    fat.extend([FREE] * (fat_count * (SECTOR // 4) - len(fat)))
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    difat = [first_fat + i for i in range(fat_count)] + [FREE] * (109 - fat_count)
    header = (
        bytes.fromhex("d0cf11e0a1b11ae1")
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, fat_count, directory_sector, 0, 4096, END, 0, END, 0)
        + struct.pack("<109I", *difat)
    )
    assert len(header) == SECTOR
    return header + b"".join(sectors) + fat_bytes
