"""Run a job in-process against the local Dagster instance, as the CLI, the rebuild and the benchmark do.

Kept out of pipelines/lib (plain Python, no Dagster) and out of the CLI module, so anything that needs
to run the refresh imports it from here.

A run that fails for a reason a retry cannot fix — a bad setting, the warehouse held by another
process, a full disk, a damaged working file — is not retried: `run_job` raises that reason as one
exception whose message is the one line the operator reads (the CLI prints it and exits 2, 75 or 74).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from pathlib import Path

from pipelines.maintenance import apply_retention, recover_abandoned_runs

__all__ = [
    "failure_cause",
    "local_instance",
    "recover_abandoned_runs",
    "run_job",
    "stage_timings",
    "write_instance_yaml",
]

# what DuckDB says when the working file itself is damaged (a truncated or corrupted block)
DAMAGE_MARKERS = (
    "could not read enough bytes",
    "corrupt",
    "checksum mismatch",
    "not a valid duckdb database",
)

REPO_ROOT = Path(__file__).resolve().parents[1]
INSTANCE_YAML = REPO_ROOT / "dagster.yaml"


def instance_home() -> Path:
    """DAGSTER_HOME when set (tests and the benchmark have their own), else the repository root."""
    return Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT)


def local_instance():
    """The local Dagster instance as dagster.yaml configures it, whatever the current directory.

    The Dagster CLI resolves the file's relative state folders (.dagster/...) against the directory it
    starts in, the repository root; Python entry points (refresh, rebuild, benchmark) may start anywhere,
    so they resolve them against the repository root themselves and record their runs where the UI reads.
    """
    import dagster as dg
    import yaml
    from dagster._core.instance.ref import InstanceRef

    from pipelines.lib.settings import instance_folder, instance_folder_keys

    home = instance_home()
    config = yaml.safe_load((home / "dagster.yaml").read_text(encoding="utf-8")) or {}
    # the same folders the settings (and so the retention) use: PLANWH_DAGSTER_* when set, else the yaml's
    storage = Path(os.environ.get("PLANWH_DAGSTER_STORAGE") or instance_folder(home, "storage"))
    logs = Path(os.environ.get("PLANWH_DAGSTER_COMPUTE_LOGS") or instance_folder(home, "compute_logs"))
    folders = {"storage": storage, "local_artifact_storage": storage, "compute_logs": logs}
    overrides: dict = {}
    for name, folder in folders.items():
        keys = instance_folder_keys(config, name)
        if keys is None:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        section = json.loads(json.dumps(config[keys[0]]))
        target = section
        for key in keys[1:-1]:
            target = target[key]
        if Path(target[keys[-1]]) != folder:
            target[keys[-1]] = str(folder)
            overrides[keys[0]] = section
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))


def write_instance_yaml(home: Path) -> Path:
    """dagster.yaml for a separate DAGSTER_HOME (tests, benchmark): the repository's, with the state kept
    under that home, so neither the Dagster CLI nor a refresh started there touches the repository's
    .dagster/."""
    text = INSTANCE_YAML.read_text(encoding="utf-8").replace("base_dir: .dagster/", f"base_dir: {home}/")
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(text, encoding="utf-8")
    return home / "dagster.yaml"


def _errors(result):
    """Every error (and its causes) of the run's failed steps and of the run itself."""
    for event in result.all_events:  # step failures, resource init failures, the run's own failure
        error = getattr(event.event_specific_data, "error", None)
        while error is not None:
            yield error
            error = error.cause or getattr(error, "context", None)


class RunInterrupted(RuntimeError):
    """The run was stopped by a signal (SIGTERM, SIGINT): not retried, the command exits non-zero."""


def interrupted(result) -> bool:
    """Whether a failed run was stopped by SIGTERM or SIGINT (Dagster turns both into this error)."""
    return any(error.cls_name == "DagsterExecutionInterruptedError" for error in _errors(result))


def failure_cause(result) -> Exception | None:
    """The reason a run failed when it is one a retry cannot fix, rebuilt as our exception (one line)."""
    from pipelines.lib.ingest.inbox import ArchiveDamaged
    from pipelines.lib.settings import SettingsError
    from pipelines.lib.warehouse.connection import WarehouseDamaged, WarehouseLocked
    from pipelines.lib.warehouse.disk import DiskFull, is_disk_full

    known = {
        "SettingsError": SettingsError,
        "WarehouseLocked": WarehouseLocked,
        "WarehouseDamaged": WarehouseDamaged,
        "DiskFull": DiskFull,
        "ArchiveDamaged": ArchiveDamaged,
    }
    for error in _errors(result):
        message = re.sub(r"^[\w.]+(Error|Locked|Damaged|Full): ", "", (error.message or "").strip())
        if error.cls_name in known:
            if error.cls_name == "SettingsError":
                return SettingsError([line for line in message.splitlines() if line.strip()])
            return known[error.cls_name](message.splitlines()[0] if message else error.cls_name)
        if is_disk_full(error.message or ""):
            return DiskFull("")
        if any(
            m in (error.message or "").lower() for m in DAMAGE_MARKERS
        ):  # deeper damage than the check sees
            first = (error.message or "").strip().splitlines()[0][:200]
            return WarehouseDamaged(
                f"The working warehouse cannot be read ({first}). Recovery: `make rebuild` (rebuilds it from "
                "raw/archive), or copy the published snapshot back over it and run again."
            )
    return None


def run_job(
    job_name: str,
    as_of: str | None,
    settings,
    retries: int = 1,
    known_at: str | None = None,
    full: bool = False,
):
    """Run a job in-process against the local instance (runs show in `make ui`); retry once on a failure
    that a retry might fix. `full` asks for a full dbt build with every test (as the nightly schedule
    does) instead of only the plans this run's files touched."""
    from pipelines.definitions import defs
    from pipelines.lib.files import claim_new_file
    from pipelines.lib.settings import now_local
    from pipelines.lib.warehouse.connection import connect, writer_lock
    from pipelines.lib.warehouse.disk import DiskFull, disk_full_message, require_free
    from pipelines.lib.warehouse.publish import publish_needs
    from pipelines.lib.warehouse.refresh_scope import FULL_BUILD_TAG

    for folder in (settings.dagster_storage, settings.dagster_compute_logs):
        folder.mkdir(parents=True, exist_ok=True)
    job = defs.resolve_job_def(job_name)
    run_config: dict = {
        "loggers": {
            "console": {"config": {"log_level": os.environ.get("PLANWH_LOG_LEVEL", "WARNING").upper()}}
        }
    }
    config = {key: value for key, value in (("as_of", as_of), ("known_at", known_at)) if value}
    if config:
        run_config["resources"] = {"planwh": {"config": config}}
    with local_instance() as instance, writer_lock(settings, f"planwh {job_name}"):
        with connect(settings):  # fails fast, with the holder named, if another process has the file open
            pass
        for run_id in recover_abandoned_runs(instance):
            print(
                f"planwh: run {run_id} had died mid-way; marked failed and its pool slots freed",
                file=sys.stderr,
            )
        require_free(settings.publish_dir, publish_needs(settings), "this run's publish step")
        # the log is made once the run can start (a run refused for the lock or the disk leaves none), named
        # in Asia/Shanghai time as every time the warehouse shows (the machine's zone may be UTC), numbered
        # if a run that ended within the same second has the name
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = claim_new_file(settings.log_dir / f"{job_name}-{now_local():%Y%m%dT%H%M%S}.log")
        print(
            f"planwh: running job `{job_name}` in-process (as_of {as_of or 'today'}"
            f"{f', known_at {known_at}' if known_at else ''}); dbt's output goes to {log_path}",
            flush=True,
        )
        try:
            for attempt in range(retries + 1):
                started = time.perf_counter()
                # Dagster's and dbt's own output (stack traces included) goes to the log file; the terminal
                # gets our one-line summary of what failed
                with (
                    log_path.open("a", encoding="utf-8") as log,
                    contextlib.redirect_stdout(log),
                    contextlib.redirect_stderr(log),
                ):
                    result = job.execute_in_process(
                        instance=instance,
                        run_config=run_config,
                        raise_on_error=False,
                        tags={
                            "planwh/trigger": "cli",
                            "planwh/attempt": str(attempt + 1),
                            "planwh/pid": str(os.getpid()),
                            **({FULL_BUILD_TAG: "true"} if full else {}),
                        },
                    )
                elapsed = time.perf_counter() - started
                result.stage_seconds = stage_timings(instance, result.run_id)
                if result.success:
                    break
                if interrupted(result):
                    # SIGTERM (systemd stop, a timeout) or Ctrl-C: the operator wants it stopped, not run again
                    raise RunInterrupted(
                        f"run {result.run_id} was interrupted (SIGTERM or Ctrl-C) and is not retried; the "
                        "published snapshot is the last complete one, and the next run picks up what this one left"
                    )
                cause = failure_cause(result)
                if isinstance(cause, DiskFull) and not str(cause).strip():
                    cause = DiskFull(
                        disk_full_message(
                            {
                                "warehouse": settings.warehouse,
                                "published": settings.publish_dir,
                                "output": settings.output_dir,
                                "dagster": settings.dagster_storage,
                                "raw archive": settings.archive,
                            }
                        )
                    )
                if cause is not None:
                    cause.run_id = result.run_id
                    raise cause  # one line, no retry: it would fail the same way
                for event in result.all_events:
                    if event.is_step_failure:
                        error = event.event_specific_data.error
                        first = ((error.cause or error).message or "").strip().splitlines()
                        print(f"step {event.step_key} failed: {first[0] if first else '?'}", file=sys.stderr)
                print(
                    f"run {result.run_id} failed; " + ("retrying once" if attempt < retries else "giving up"),
                    file=sys.stderr,
                )
        finally:
            apply_retention(instance, settings)
    return result, elapsed


def stage_timings(instance, run_id: str) -> dict[str, float]:
    """Seconds per stage of a refresh, from the run's step events and the ingest step's own timings."""
    import json

    starts: dict[str, float] = {}
    steps: dict[str, float] = {}
    ingest: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in starts:
            steps[event.step_key] = entry.timestamp - starts[event.step_key]
        elif (
            event.event_type_value == "ASSET_MATERIALIZATION"
            and event.asset_key.to_user_string() == "raw/submissions"
        ):
            value = event.event_specific_data.materialization.metadata.get("timings")
            if value is not None:
                ingest = json.loads(json.dumps(value.value))
    ingest_step = steps.get("ingest_submissions", 0.0)
    known = sum(ingest.get(k, 0.0) for k in ("parse", "enrich", "validate", "plausibility", "load"))
    return {
        "discover": round(steps.get("inbox_files", 0.0), 3),
        "parse": round(ingest.get("parse", 0.0) + ingest.get("enrich", 0.0), 3),
        "validate": round(ingest.get("validate", 0.0) + ingest.get("plausibility", 0.0), 3),
        "load": round(ingest.get("load", 0.0) + max(0.0, ingest_step - known), 3),
        "dbt": round(steps.get("planwh_dbt", 0.0), 3),
        "flags": round(steps.get("ops__alerts", 0.0), 3),
        "report": round(
            steps.get("report__progress_report", 0.0) + steps.get("report__mart_exports", 0.0), 3
        ),
        "publish": round(steps.get("published__warehouse", 0.0), 3),
    }
