"""A sensor that starts one refresh for all the files departments dropped since the last one.

Files dropped together cost one refresh: each evaluation asks for at most one run (run key: the sorted
set of the new files' submission ids), and the run takes every file pending when it starts (the
`inbox_files` step reads the whole inbox). Files that arrive while a refresh is queued, or started but
not yet past its `inbox_files` step, ride along with it instead of queueing a refresh of their own.

Which files are new is decided by the inbox's own rules (pipelines/lib/ingest/inbox.py, for the sensor
and the run alike): a file changed less than PLANWH_INBOX_QUIET_SECONDS ago is not requested yet (it may
still be being written; a later tick takes it), an identical re-upload is nothing new, and earlier
content sent again after newer content is a re-submission (A -> B -> A) and is new.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.defs.ingest.assets import INBOX
from pipelines.defs.jobs import refresh_job
from pipelines.lib.ingest.inbox import (
    HashCache,
    KnownReceipts,
    backfill_receipts,
    load_judged,
    receipt_log_rows,
    scan_inbox,
)
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.settings import Settings, load_settings

RUN_KEY_MAX_CHARS = 2000  # beyond this the run key names the set by its digest (tags stay small)
IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
STUCK_BEFORE_INBOX_SECONDS = 900  # inbox_files is a run's first step: later than this, do not wait

# receipt logs are written once and never change: parse each one once per code-server process
_LOG_IDS: dict[str, frozenset[str]] = {}


def published_receipts(settings: Settings) -> tuple[list[dict], dict[tuple[int, int], tuple]]:
    """Receipts already recorded and the inbox's files as the last discovery judged them, read from the
    analysts' snapshot (never the live file, which a running refresh holds)."""
    path = settings.published_warehouse
    if not path.exists():
        return [], {}
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return [], {}
    try:
        cursor = con.execute(
            """select submission_id, department_code, original_name, file_sha256, discovery_issue, received_at
               from raw.receipts"""
        )
        cols = [d[0] for d in cursor.description]
        receipts = [dict(zip(cols, r, strict=True)) for r in cursor.fetchall()]
        try:
            judged = load_judged(con)
        except duckdb.Error:  # published before the table existed
            judged = {}
    except duckdb.Error:
        return [], {}
    finally:
        con.close()
    return receipts, judged


def archived_receipts(settings: Settings) -> set[str]:
    """Submission ids a run has already taken: the archive's receipt logs are written before the
    warehouse records them, so a file taken by a run still in progress is not asked for again."""
    ids: set[str] = set()
    for path in sorted((settings.archive / "receipts").glob("*.jsonl")):
        key = f"{path}:{path.stat().st_size}"
        if key not in _LOG_IDS:
            _LOG_IDS[key] = frozenset(_ids_in_log(path))
        ids |= _LOG_IDS[key]
    return ids


def _ids_in_log(path: Path) -> set[str]:
    return {row["submission_id"] for _, row in receipt_log_rows(path)}


def run_key_for(submission_ids: list[str]) -> str:
    """The sorted set of submission ids, comma-separated; a long set is named by count and digest."""
    joined = ",".join(sorted(submission_ids))
    if len(joined) <= RUN_KEY_MAX_CHARS:
        return joined
    return f"{len(submission_ids)} files sha256:{hashlib.sha256(joined.encode()).hexdigest()}"


def new_submissions(settings: Settings) -> tuple[list, list[str]]:
    """Inbox files no run has taken yet, as the inbox's rules classify them (new content or a
    re-submission; refused and leftover files are noted by the next run, not worth a run of their own),
    and the files still inside their quiet period."""
    departments = set(Catalog.load(settings.seeds_dir).departments["department_code"])
    cache = HashCache(
        settings.inbox_index.with_name("sensor_inbox_index.json"),
        settings.inbox_rehash_hours,
        seed=settings.inbox_index,  # a first evaluation (new deployment, lost file) starts from the runs' hashes
    )
    backfill = backfill_receipts(settings)
    files = scan_inbox(settings, departments, cache, complete=set(backfill))
    taken = archived_receipts(settings)
    new = [
        entry
        for entry in KnownReceipts(*published_receipts(settings)).classify(files, backfill)
        if entry.item.sha256 is not None and entry.item.issue is None and entry.submission_id not in taken
    ]
    waiting = [f"{f.department_code}/{f.original_name}" for f in files if f.waiting]
    return new, waiting


def run_that_will_take_them(instance: dg.DagsterInstance | None) -> str | None:
    """A refresh that has not read the inbox yet (queued, or started in the last few minutes but not past
    `inbox_files`): it takes every pending file when it gets there, so new files need no run of their own.
    A run whose recorded process is gone, or that is stuck before its first step, is not waited for."""
    if instance is None:
        return None
    now = time.time()
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=IN_PROGRESS), limit=20):
        run = record.dagster_run
        reads_inbox = run.job_name == refresh_job.name or (
            run.asset_selection is not None and INBOX in run.asset_selection
        )
        if not reads_inbox:
            continue
        if run.status == dg.DagsterRunStatus.QUEUED:
            return run.run_id
        started = record.start_time or record.create_timestamp.timestamp()
        if now - started > STUCK_BEFORE_INBOX_SECONDS or not _process_alive(run.tags.get("planwh/pid")):
            continue
        latest = instance.get_latest_materialization_event(INBOX)
        if latest is None or latest.run_id != run.run_id:
            return run.run_id
    return None


def _process_alive(pid: str | None) -> bool:
    """Runs started by `planwh refresh` record their process id; others are watched by the daemon."""
    if not pid:
        return True
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return False
    return True


def evaluate(requested: set[str], instance: dg.DagsterInstance | None = None):
    """One evaluation: a run request for all new files (or a reason to skip) and the new cursor (the ids
    requested and not yet taken by a run)."""
    settings = load_settings()
    new, waiting_files = new_submissions(settings)
    ids = sorted(entry.submission_id for entry in new)
    if not ids:
        if waiting_files:
            shown = ", ".join(waiting_files[:5])
            more = f" and {len(waiting_files) - 5} more" if len(waiting_files) > 5 else ""
            return dg.SkipReason(
                f"{len(waiting_files)} file(s) still changing (quiet period): {shown}{more}"
            ), []
        return dg.SkipReason("no new files in the inbox"), []
    waiting = run_that_will_take_them(instance)
    # all requested and not taken: the requested run is still to come (its run key makes a second request of
    # the same files a no-op). Some of them only: a run took the others and left these (a department's files
    # after one that vanished before its archive copy are left for the next scan), so they are asked again.
    if set(ids) == requested or (set(ids) < requested and waiting):
        return dg.SkipReason(f"{len(ids)} new file(s) already requested; waiting for that run"), ids
    if waiting:
        return (
            dg.SkipReason(
                f"{len(ids)} new file(s) will be taken by run {waiting}, which has not read the inbox yet"
            ),
            sorted(requested & set(ids)),
        )
    departments = sorted({entry.item.department_code or "" for entry in new})
    request = dg.RunRequest(
        run_key=run_key_for(ids),
        tags={
            "planwh/trigger": "resubmission" if all(e.resubmission_of for e in new) else "new_files",
            "planwh/files": str(len(ids)),
            "planwh/departments": ",".join(departments)[:200],
        },
    )
    return request, ids


@dg.sensor(
    name="new_inbox_files",
    job=refresh_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Starts one refresh for all new or changed files in raw/inbox/<department_code>/ (run key: the sorted "
        "set of their submission ids) once each has been unchanged for the quiet period "
        "(PLANWH_INBOX_QUIET_SECONDS, default 60 s); the run takes every file pending when it starts."
    ),
)
def new_inbox_files(context: dg.SensorEvaluationContext):
    requested = set(json.loads(context.cursor)) if context.cursor else set()
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a context built without an instance (tests, scripts)
        instance = None
    result, cursor = evaluate(requested, instance)
    context.update_cursor(json.dumps(cursor))
    return result
