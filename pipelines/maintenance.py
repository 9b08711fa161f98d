"""Keeping the local Dagster instance and the run's own files from growing without bound, and
recovering the runs of processes that died. One place for every retention rule (docs/operations.md,
"Retention"); the numbers are settings (PLANWH_RETAIN_*).

Called after every CLI run (pipelines/runs.py), by the daily `housekeeping` job for daemon setups, and
by `planwh housekeeping`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from pathlib import Path

from pipelines.lib.settings import Settings
from pipelines.lib.warehouse.housekeeping import (
    folder_memory,
    make_private,
    prune_logs,
    prune_rebuild_copies,
    remove_interrupted_temp_files,
)

DAY = 86400.0


def _alive(pid: int) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


def recover_abandoned_runs(instance) -> list[str]:
    """Runs started by this command whose process died (killed during start-up or mid-way) stay
    NOT_STARTED, STARTING or STARTED and keep their concurrency-pool slots, which would block every
    later run. Mark them failed and free their slots. Called while holding the writer lock, so no live
    refresh can be among them."""
    import dagster as dg

    recovered = []
    records = instance.get_run_records(
        dg.RunsFilter(
            statuses=[
                dg.DagsterRunStatus.NOT_STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED,
            ],
            tags={"planwh/trigger": "cli"},
        )
    )
    for record in records:
        run = record.dagster_run
        if _alive(int(run.tags.get("planwh/pid", "0") or 0)):
            continue
        instance.report_run_failed(
            run, "The process running this refresh died; marked failed by the next refresh."
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(run.run_id)
    return recovered


def _protected_runs(instance) -> set[str]:
    """Runs holding the latest materialization of some asset: deleting them would make the UI say the
    asset was never materialized."""
    try:
        keys = list(instance.get_asset_keys())
        latest = instance.get_latest_materialization_events(keys)
    except Exception:  # an instance that cannot answer: protect nothing more than min_runs
        return set()
    return {event.run_id for event in latest.values() if event is not None}


def _remove_run_files(settings: Settings, run_id: str) -> None:
    shard = settings.dagster_storage / "history" / "runs" / f"{run_id}.db"
    for path in (shard, Path(f"{shard}-wal"), Path(f"{shard}-shm")):
        with contextlib.suppress(OSError):
            path.unlink()
    shutil.rmtree(settings.dagster_compute_logs / run_id, ignore_errors=True)


def _vacuum(paths: list[Path]) -> None:
    """Give deleted rows' pages back to the file system; skipped quietly while the UI holds a file."""
    for path in paths:
        if not path.exists():
            continue
        with contextlib.suppress(sqlite3.Error):
            con = sqlite3.connect(path, timeout=2)
            try:
                con.execute("vacuum")
            finally:
                con.close()


def prune_runs(instance, settings: Settings, now: float | None = None) -> list[str]:
    """Delete finished runs (and their event logs and compute logs) past their retention: successful
    ones after `run_days`, failed ones after `failed_run_days`; the latest `min_runs` and the runs holding
    an asset's latest materialization are always kept."""
    import dagster as dg

    policy = settings.retention
    now = now or time.time()
    records = instance.get_run_records(
        dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
        )
    )
    records = sorted(records, key=lambda r: r.create_timestamp.timestamp(), reverse=True)
    protected = _protected_runs(instance) if len(records) > policy.min_runs else set()
    deleted = []
    for record in records[policy.min_runs :]:
        run_id = record.dagster_run.run_id
        if run_id in protected:
            continue
        ended = record.end_time or record.create_timestamp.timestamp()
        failed = record.dagster_run.status == dg.DagsterRunStatus.FAILURE
        limit = policy.failed_run_days if failed else policy.run_days
        if now - ended < limit * DAY:
            continue
        instance.delete_run(run_id)
        _remove_run_files(settings, run_id)
        deleted.append(run_id)
    if deleted:
        storage = settings.dagster_storage
        _vacuum([storage / "history" / "runs" / "index.db", storage / "history" / "runs.db"])
    return deleted


def apply_retention(instance, settings: Settings) -> dict:
    """Every retention rule, once. Never fails the caller: housekeeping problems are reported."""
    summary: dict = {}
    try:
        summary["runs_deleted"] = len(prune_runs(instance, settings))
    except Exception as exc:
        summary["runs_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    checkpoint = getattr(instance.event_log_storage, "checkpoint", None)  # pipelines/dagster_storage.py
    if checkpoint is not None:
        try:
            checkpoint()
        except Exception as exc:
            summary["checkpoint_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    # writers that do not hold the warehouse lock (the sensor's inbox index, `planwh report`) leave theirs too;
    # the receipts and the archive are looked at where they changed since the last pass (one full pass a day)
    memory = folder_memory(settings)
    summary["temp_files_removed"] = len(remove_interrupted_temp_files(settings, memory))
    summary["rebuild_copies_removed"] = len(prune_rebuild_copies(settings))
    summary["logs_removed"] = len(prune_logs(settings))
    summary["modes_fixed"] = make_private(
        settings.output_dir,
        settings.dagster_storage,
        settings.dagster_compute_logs,
        keep=settings.publish_dir,
        memory=memory,
    ) + make_private(
        *(
            p
            for p in (
                settings.inbox_index,
                settings.inbox_index.with_name("sensor_inbox_index.json"),
                settings.inbox_index.with_name("deliveries_due.json"),
            )
            if p.exists()
        )
    )
    memory.save()
    return summary
