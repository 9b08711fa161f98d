"""Publish an immutable, read-only snapshot of the warehouse for analysts.

The refresh writes the working file; at the end it is checkpointed and copied into a temporary file
next to the published one, which then replaces it atomically (os.replace). An analyst session that
has the old snapshot open keeps reading it (same inode) and never blocks the refresh; new sessions
get the new snapshot. See docs/analysts.md for the safe connection settings.

The copy is kept compact: DuckDB does not give freed blocks back to the file system (the working file
grows to about twice its data after a few refreshes), so the snapshot is written table by table into a
fresh file (COPY FROM DATABASE) instead of copied byte for byte when a tenth or more of the working file
is free blocks, once a day (the first publish of the day, normally the nightly run's), and whenever half
of it or more is free. Rewriting costs in proportion to the data, a copy in proportion to the file: at a
province (200 MB) the rewrite took most of an incremental refresh's publish step, every run, for a copy
a fifth smaller. The free space it needs is checked before anything is written.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import duckdb

from ..faults import crash_point
from ..files import atomic_write_text, fsync_dir
from ..settings import Settings, now_local
from .connection import connect
from .disk import MB, require_free

# Settings for analyst sessions: no files or network outside the warehouse, and no way to undo that.
ANALYST_SETTINGS = (
    "set enable_external_access = false",
    "set lock_configuration = true",
)
COMPACT_WHEN_FREE = 0.10  # share of free blocks above which the day's first snapshot is rewritten compactly
ALWAYS_COMPACT_WHEN_FREE = 0.50  # ... and above which every snapshot is
MARGIN = 8 * MB


def publish_needs(settings: Settings) -> int:
    """Free bytes a publish needs at most (before the run, when the live size is not known yet)."""
    try:
        return settings.warehouse.stat().st_size + MARGIN
    except OSError:
        return MARGIN


def publish(settings: Settings, as_of: str | None = None, known_at: str | None = None) -> dict:
    """Swap a copy of the working file in as the analysts' snapshot; `as_of` and `known_at` (the knowledge
    cutoff, None: everything received) are what its marts were evaluated with, recorded in published.json."""
    target = settings.published_warehouse
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(target.parent, 0o750)
    for stale in target.parent.glob(f".{target.name}.incoming-*"):  # left by a publish that was killed
        stale.unlink(missing_ok=True)
    tmp = target.with_name(f".{target.name}.incoming-{os.getpid()}")
    with connect(settings) as con:
        con.execute("checkpoint")
        tables = con.execute(
            "select count(*) from information_schema.tables where table_schema in ('marts', 'catalog', 'ops', 'raw')"
        ).fetchall()[0][0]
        size = con.execute("pragma database_size").fetchall()[0]
        block_size, total_blocks, used_blocks, free_blocks = (int(size[i]) for i in (2, 3, 4, 5))
        live = used_blocks * block_size + 3 * 4096
        free_share = free_blocks / total_blocks if total_blocks else 0.0
        compacted_at = last_compacted(target)
        compacted_today = compacted_at is not None and compacted_at.date() == now_local().date()
        compact = free_share >= ALWAYS_COMPACT_WHEN_FREE or (
            free_share >= COMPACT_WHEN_FREE and not compacted_today
        )
        working_size = settings.warehouse.stat().st_size
        require_free(target.parent, (live if compact else working_size) + MARGIN, "publishing the snapshot")
        try:
            if compact:
                database = con.execute("select current_database()").fetchall()[0][0]
                con.execute(f"attach '{_sql_path(tmp)}' as planwh_snapshot")
                try:
                    con.execute(f'copy from database "{database}" to planwh_snapshot')
                finally:
                    con.execute("detach planwh_snapshot")
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    try:
        if not compact:
            shutil.copyfile(settings.warehouse, tmp)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o440)
        crash_point("publish.before_swap")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(target.parent)
    published_at = now_local()
    compacted_at = published_at if compact else compacted_at
    info = {
        "published_at": published_at.isoformat(),
        "as_of": as_of,
        "known_at": known_at,
        "path": str(target),
        "size_bytes": target.stat().st_size,
        "working_size_bytes": working_size,
        "compacted": bool(compact),
        "compacted_at": compacted_at.isoformat() if compacted_at else None,  # carried over: once a day
        "free_share": round(free_share, 3),  # of the working file, when it was published
        "tables": tables,
    }
    atomic_write_text(target.with_name("published.json"), json.dumps(info, indent=2), mode=0o440)
    return info


def published_info(target: Path) -> dict:
    """What the last publish recorded beside the snapshot `target` (published.json: when, the evaluation
    date and knowledge cutoff, size, compaction); {} when there is none or it cannot be read."""
    try:
        info = json.loads(target.with_name("published.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def last_compacted(target: Path) -> datetime | None:
    """When a snapshot was last written compactly (Asia/Shanghai), by published.json; None if unknown."""
    try:
        stamp = published_info(target).get("compacted_at")
        return datetime.fromisoformat(stamp) if stamp else None
    except (ValueError, TypeError):
        return None


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def open_published(path: Path) -> duckdb.DuckDBPyConnection:
    """A safe analyst connection: read-only, no external access, configuration locked."""
    # the settings go in the connect call: a second connection to the same file in one process then
    # shares the (locked) database instead of failing on "configuration has been locked"
    return duckdb.connect(
        str(path), read_only=True, config={"enable_external_access": False, "lock_configuration": True}
    )
