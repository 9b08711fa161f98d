"""A sensor that starts a refresh when a department drops a new file (run key = department + sha256).

A file changed less than PLANWH_INBOX_QUIET_SECONDS ago is not requested yet (it may still be being
written); a later tick takes it. Earlier content sent again after newer content is a re-submission and
gets a run of its own (pipelines/lib/ingest/inbox.py decides, for the sensor and the run alike)."""

import dagster as dg
import duckdb

from pipelines.defs.jobs import refresh_job
from pipelines.lib.ingest.inbox import HashCache, KnownReceipts, backfill_receipts, scan_inbox
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.settings import load_settings


def published_receipts(settings) -> list[dict]:
    """Receipts already recorded, read from the analysts' snapshot (never the live file, which a
    running refresh holds)."""
    path = settings.published_warehouse
    if not path.exists():
        return []
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return []
    try:
        cursor = con.execute(
            """select submission_id, department_code, original_name, file_sha256, discovery_issue, discovered_at
               from raw.receipts"""
        )
        cols = [d[0] for d in cursor.description]
        return [dict(zip(cols, r, strict=True)) for r in cursor.fetchall()]
    except duckdb.Error:
        return []
    finally:
        con.close()


def new_file_requests(requested: set[str]) -> tuple[list[dg.RunRequest], set[str], list[str]]:
    """One run request per (department, content) not yet received or requested; identical re-uploads
    yield nothing. Returns the requests, the run keys still awaiting publication (the new cursor) and
    the files still settling (changed within the quiet period)."""
    settings = load_settings()
    departments = set(Catalog.load(settings.seeds_dir).departments["department_code"])
    cache = HashCache(settings.inbox_index.with_name("sensor_inbox_index.json"), settings.inbox_rehash_hours)
    files = scan_inbox(settings, departments, cache, complete=set(backfill_receipts(settings)))
    requests = []
    pending = set()
    for entry in KnownReceipts(published_receipts(settings)).classify(files):
        item = entry.item
        if item.sha256 is None:
            continue  # refused unread or an editor's leftover: the next run notes it, no run of its own
        key = f"{item.department_code}:{item.sha256}"
        if entry.resubmission_of:
            key += f":{entry.submission_id.rsplit('-', 1)[-1]}"
        pending.add(key)
        if key in requested:
            continue
        requests.append(
            dg.RunRequest(
                run_key=key,
                run_config={"ops": {"inbox_files": {"config": {"submission_ids": [entry.submission_id]}}}},
                tags={
                    "planwh/trigger": "resubmission" if entry.resubmission_of else "new_file",
                    "planwh/department": item.department_code or "",
                    "planwh/file": item.original_name[:200],
                },
            )
        )
    waiting = [f"{f.department_code}/{f.original_name}" for f in files if f.waiting]
    return requests, pending, waiting


@dg.sensor(
    name="new_inbox_files",
    job=refresh_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts a refresh for each new or changed file in raw/inbox/<department_code>/, once it has "
    "been unchanged for the quiet period (PLANWH_INBOX_QUIET_SECONDS, default 60 s).",
)
def new_inbox_files(context: dg.SensorEvaluationContext):
    import json

    requested = set(json.loads(context.cursor)) if context.cursor else set()
    requests, pending, waiting = new_file_requests(requested)
    context.update_cursor(json.dumps(sorted(pending)))
    if not requests:
        if waiting:
            shown = ", ".join(waiting[:5]) + (f" and {len(waiting) - 5} more" if len(waiting) > 5 else "")
            return dg.SkipReason(f"{len(waiting)} file(s) still changing (quiet period): {shown}")
        return dg.SkipReason("no new files in the inbox")
    return requests
