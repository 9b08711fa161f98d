"""Publish an immutable, read-only snapshot of the warehouse for analysts.

The refresh writes the working file; at the end it is checkpointed and copied to a temporary file
next to the published one, which then replaces it atomically (os.replace). An analyst session that
has the old snapshot open keeps reading it (same inode) and never blocks the refresh; new sessions
get the new snapshot. See docs/analysts.md for the safe connection settings.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb

from ..faults import crash_point
from ..settings import Settings, now_local
from .connection import connect

# Settings for analyst sessions: no files or network outside the warehouse, and no way to undo that.
ANALYST_SETTINGS = (
    "set enable_external_access = false",
    "set lock_configuration = true",
)


def publish(settings: Settings, as_of: str | None = None) -> dict:
    with connect(settings) as con:
        con.execute("checkpoint")
        tables = con.execute(
            "select count(*) from information_schema.tables where table_schema in ('marts', 'catalog', 'ops', 'raw')"
        ).fetchone()[0]
    target = settings.published_warehouse
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(target.parent, 0o750)
    for stale in target.parent.glob(f".{target.name}.incoming-*"):  # left by a publish that was killed
        stale.unlink(missing_ok=True)
    tmp = target.with_name(f".{target.name}.incoming-{os.getpid()}")
    shutil.copyfile(settings.warehouse, tmp)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o440)
    crash_point("publish.before_swap")
    os.replace(tmp, target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    info = {
        "published_at": now_local().isoformat(),
        "as_of": as_of,
        "path": str(target),
        "size_bytes": target.stat().st_size,
        "tables": tables,
    }
    manifest = target.with_name("published.json")
    manifest_tmp = manifest.with_suffix(".tmp")
    manifest_tmp.write_text(json.dumps(info, indent=2))
    os.replace(manifest_tmp, manifest)
    return info


def open_published(path: Path) -> duckdb.DuckDBPyConnection:
    """A safe analyst connection: read-only, no external access, configuration locked."""
    # the settings go in the connect call: a second connection to the same file in one process then
    # shares the (locked) database instead of failing on "configuration has been locked"
    return duckdb.connect(
        str(path), read_only=True, config={"enable_external_access": False, "lock_configuration": True}
    )
