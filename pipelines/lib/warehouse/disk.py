"""Disk space: checked before a step needs it, and a full disk named as the cause when it happens.

A full disk shows up in many costumes (OSError errno 28, DuckDB's "No space left on device", SQLite's
"database or disk is full", a dbt error wrapping one of them); `is_disk_full()` recognises them, and
`DiskFull` carries the one line the operator should read: which file system, how much is free, what
to do. Nothing already published is changed by a step that fails this way.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

MB = 1024 * 1024
_MARKERS = ("no space left on device", "database or disk is full", "disk is full", "errno 28", "enospc")


class DiskFull(RuntimeError):
    """Not enough free space; the message is one line naming the place and what to do."""


def is_disk_full(error: BaseException | str | None) -> bool:
    """True when an exception (or its causes) or an error text says the disk is full."""
    seen = 0
    while isinstance(error, BaseException) and seen < 10:
        if isinstance(error, DiskFull) or (isinstance(error, OSError) and error.errno == errno.ENOSPC):
            return True
        if any(m in str(error).lower() for m in _MARKERS):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return isinstance(error, str) and any(m in error.lower() for m in _MARKERS)


def existing(path: Path) -> Path:
    """The nearest existing folder at or above `path` (where its file system can be asked)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path if path.is_dir() else path.parent


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(existing(path)).free


def mount_point(path: Path) -> Path:
    path = existing(path).resolve()
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def _mb(n: float) -> str:
    return f"{n / MB:,.1f} MB"


def require_free(path: Path, needed: int, what: str) -> None:
    """Raise DiskFull (one line) unless the file system holding `path` has `needed` bytes free."""
    free = free_bytes(path)
    if free < needed:
        raise DiskFull(
            f"Not enough free space for {what}: it needs about {_mb(needed)} on {mount_point(path)} "
            f"(for {path}), only {_mb(free)} free. Free some space there (or point the setting at a larger "
            "disk) and run again; the published snapshot was not changed."
        )


def disk_full_message(paths: dict[str, Path]) -> str:
    """The one line for a step that died of a full disk: where, and how much is free now (the fullest file
    system first: that is where the step most likely ran out)."""
    places = {}
    for label, path in paths.items():
        try:
            places.setdefault(mount_point(path), (label, free_bytes(path)))
        except OSError:
            continue
    where = "; ".join(
        f"{mount} ({label}) {_mb(free)} free"
        for mount, (label, free) in sorted(places.items(), key=lambda place: place[1][1])
    )
    return (
        f"No space left on device (ENOSPC): {where}. Free some space and run again: the next run removes "
        "what the failed one left behind, and the published snapshot was not changed."
    )
