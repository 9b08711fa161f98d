"""A sensor that starts a refresh when a department drops a new file (run key = department + sha256)."""

import dagster as dg
import duckdb

from pipelines.defs.jobs import refresh_job
from pipelines.lib.ingest.inbox import HashCache, scan_inbox
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.settings import load_settings


def published_receipts(settings) -> set[str]:
    """Submission ids already received, read from the analysts' snapshot (never the live file, which a
    running refresh holds)."""
    path = settings.published_warehouse
    if not path.exists():
        return set()
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return set()
    try:
        return {r[0] for r in con.execute("select submission_id from raw.receipts").fetchall()}
    except duckdb.Error:
        return set()
    finally:
        con.close()


def new_file_requests(requested: set[str]) -> tuple[list[dg.RunRequest], set[str]]:
    """One run request per (department, content) not yet received or requested; identical re-uploads
    yield nothing. Returns the requests and the run keys still awaiting publication (the new cursor)."""
    settings = load_settings()
    departments = set(Catalog.load(settings.seeds_dir).departments["department_code"])
    cache = HashCache(settings.inbox_index.with_name("sensor_inbox_index.json"))
    received = published_receipts(settings)
    requests = []
    pending = set()
    for item in scan_inbox(settings, departments, cache):
        if item.sha256 is None or item.submission_id in received:
            continue
        key = f"{item.department_code}:{item.sha256}"
        pending.add(key)
        if key in requested:
            continue
        requests.append(
            dg.RunRequest(
                run_key=key,
                run_config={"ops": {"inbox_files": {"config": {"submission_ids": [item.submission_id]}}}},
                tags={
                    "planwh/trigger": "new_file",
                    "planwh/department": item.department_code or "",
                    "planwh/file": item.original_name[:200],
                },
            )
        )
    return requests, pending


@dg.sensor(
    name="new_inbox_files",
    job=refresh_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts a refresh for each new or changed file in raw/inbox/<department_code>/.",
)
def new_inbox_files(context: dg.SensorEvaluationContext):
    import json

    requested = set(json.loads(context.cursor)) if context.cursor else set()
    requests, pending = new_file_requests(requested)
    context.update_cursor(json.dumps(sorted(pending)))
    if not requests:
        return dg.SkipReason("no new files in the inbox")
    return requests
