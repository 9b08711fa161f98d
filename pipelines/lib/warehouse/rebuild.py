"""Rebuild the warehouse from the raw archive alone (make rebuild).

The archive holds every received file (content-addressed) and a receipt record per submission
(archive/receipts/*.jsonl: department, name, sha256, receipt time). A rebuild moves
the working file aside, starts an empty one at the same path, registers every receipt, and runs the
normal refresh, which validates and loads them all again. Alert history cannot be derived from the
files, so it is carried over from the previous warehouse when that file can still be read.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd

from ..alerts.notify import legacy_deliveries
from ..files import numbered
from ..ingest.inbox import load_receipts
from ..settings import Settings, now_local
from .connection import connect, writer_lock
from .housekeeping import prune_rebuild_copies

CARRIED_OVER = ("ops.alerts", "ops.alert_events", "ops.deliveries", "ops.inbox_files")


def restore_receipts(settings: Settings) -> int:
    rows = list(load_receipts(settings).values())
    if not rows:
        return 0
    with connect(settings) as con:
        con.register("archived", pd.DataFrame(rows))
        con.execute("insert into raw.receipts by name select * from archived")
        con.unregister("archived")
    return len(rows)


def carry_over(settings: Settings, previous) -> list[str]:
    """Copy the alert history and the inbox's judged files from the previous warehouse (if it can be
    read) into the new one."""
    try:
        old = duckdb.connect(str(previous), read_only=True)
    except duckdb.Error:
        return []
    try:
        frames = {}
        for table in CARRIED_OVER:
            try:
                frames[table] = old.execute(f"select * from {table}").fetch_df()
            except duckdb.Error:
                continue
        if "ops.inbox_files" in frames:
            # receipts in the archive's log the old file never recorded (a run died between the two): what
            # it remembered of those files is older than them, so they are forgotten
            try:
                known = {row[0] for row in old.execute("select submission_id from raw.receipts").fetchall()}
            except duckdb.Error:
                known = set()
            unrecorded = {
                (r["department_code"], r["original_name"])
                for sid, r in load_receipts(settings).items()
                if sid not in known
            }
            memory = frames["ops.inbox_files"]
            keep = pd.Series(
                [
                    (dept, name) not in unrecorded
                    for dept, name in zip(memory["department_code"], memory["original_name"], strict=True)
                ],
                index=memory.index,
                dtype=bool,
            )
            frames["ops.inbox_files"] = memory[keep]
        if "ops.deliveries" not in frames:  # written before ops.deliveries replaced ops.alert_deliveries
            with contextlib.suppress(duckdb.Error):
                frames["ops.deliveries"] = legacy_deliveries(old)
    finally:
        old.close()
    if "ops.alert_events" in frames:
        # event ids continue where they stopped (the sequence must exist before the tables are created)
        last = frames["ops.alert_events"]["event_id"].max()  # NaN when there were no events yet
        start = 1 if pd.isna(last) else int(last) + 1
        fresh = duckdb.connect(str(settings.warehouse))
        fresh.execute(
            f"create schema if not exists ops; create sequence if not exists ops.alert_event_seq start {start}"
        )
        fresh.close()
    with connect(settings) as con:
        for table, frame in frames.items():
            con.register("old_rows", frame)
            con.execute(f"insert into {table} by name select * from old_rows")
            con.unregister("old_rows")
    return list(frames)


def rebuild(settings: Settings, run_refresh: Callable[[], tuple[Any, float]]) -> dict:
    """Move the working file aside, carry over what the archive cannot restore, restore the receipts,
    then `run_refresh()` (the caller's refresh job: this module runs no Dagster itself).

    The previous file is kept as planwh.duckdb.before-rebuild-<time> (the newest few are kept, see
    PLANWH_RETAIN_REBUILD_COPIES); if the rebuild fails, the message says where it is."""
    with writer_lock(settings, "planwh rebuild"):
        # named once the lock is held: a rebuild that waited for another one started in the same second
        # must not move its result over that one's copy of the previous warehouse
        stamp = now_local().strftime("%Y%m%dT%H%M%S")
        name = settings.warehouse.with_name(f"{settings.warehouse.name}.before-rebuild-{stamp}")
        backup = numbered(name, lambda p: p.exists() or p.with_name(p.name + ".wal").exists())
        if settings.warehouse.exists():
            shutil.move(settings.warehouse, backup)
            wal = settings.warehouse.with_name(settings.warehouse.name + ".wal")
            if wal.exists():
                shutil.move(wal, backup.with_name(backup.name + ".wal"))
        try:
            carried = carry_over(settings, backup) if backup.exists() else []
            receipts = restore_receipts(settings)
            result, seconds = run_refresh()
        except Exception as exc:
            if backup.exists():
                exc.args = (
                    f"{exc.args[0] if exc.args else exc} (the previous warehouse is kept at {backup})",
                )
                if hasattr(exc, "problems"):
                    exc.problems.append(f"the previous warehouse is kept at {backup}")
            raise
        if result.success:
            prune_rebuild_copies(settings)
    return {
        "receipts_restored": receipts,
        "carried_over": carried,
        "previous_warehouse": str(backup),
        "success": result.success,
        "seconds": round(seconds, 1),
    }
