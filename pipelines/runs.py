"""Run a job in-process against the local Dagster instance, as the CLI, the rebuild and the benchmark do.

Kept out of pipelines/lib (plain Python, no Dagster) and out of the CLI module, so anything that needs
to run the refresh imports it from here.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

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

    home = instance_home()
    config = yaml.safe_load((home / "dagster.yaml").read_text(encoding="utf-8")) or {}
    overrides: dict = {}
    for key, path in (
        ("storage", ("sqlite", "base_dir")),
        ("local_artifact_storage", ("config", "base_dir")),
        ("compute_logs", ("config", "base_dir")),
    ):
        section = config.get(key)
        value = section
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if not isinstance(value, str):
            continue
        folder = Path(value) if Path(value).is_absolute() else REPO_ROOT / value
        folder.mkdir(parents=True, exist_ok=True)
        if folder != Path(value):
            section = json.loads(json.dumps(section))
            target = section
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = str(folder)
            overrides[key] = section
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))


def write_instance_yaml(home: Path) -> Path:
    """dagster.yaml for a separate DAGSTER_HOME (tests, benchmark): the repository's, with the state kept
    under that home, so neither the Dagster CLI nor a refresh started there touches the repository's
    .dagster/."""
    text = INSTANCE_YAML.read_text(encoding="utf-8").replace("base_dir: .dagster/", f"base_dir: {home}/")
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(text, encoding="utf-8")
    return home / "dagster.yaml"


def recover_abandoned_runs(instance) -> list[str]:
    """Runs started by this command whose process died (killed, machine lost) stay STARTED and keep their
    concurrency-pool slots, which would block every later run. Mark them failed and free their slots.
    Called while holding the writer lock, so no live refresh can be among them."""
    import dagster as dg

    recovered = []
    records = instance.get_run_records(
        dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING],
            tags={"planwh/trigger": "cli"},
        )
    )
    for record in records:
        run = record.dagster_run
        pid = int(run.tags.get("planwh/pid", "0") or 0)
        alive = False
        if pid:
            try:
                os.kill(pid, 0)
                alive = pid != os.getpid()
            except OSError:
                alive = False
        if alive:
            continue
        instance.report_run_failed(
            run, "The process running this refresh died; marked failed by the next refresh."
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(run.run_id)
    return recovered


def run_job(job_name: str, as_of: str | None, settings, retries: int = 1, known_at: str | None = None):
    """Run a job in-process against the local instance (runs show in `make ui`); retry once on failure."""

    from pipelines.definitions import defs
    from pipelines.lib.warehouse.connection import connect, writer_lock

    job = defs.resolve_job_def(job_name)
    run_config: dict = {
        "loggers": {"console": {"config": {"log_level": os.environ.get("PLANWH_LOG_LEVEL", "WARNING")}}}
    }
    config = {key: value for key, value in (("as_of", as_of), ("known_at", known_at)) if value}
    if config:
        run_config["resources"] = {"planwh": {"config": config}}
    log_dir = settings.output_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{job_name}-{time.strftime('%Y%m%dT%H%M%S')}.log"
    print(
        f"planwh: running job `{job_name}` in-process (as_of {as_of or 'today'}"
        f"{f', known_at {known_at}' if known_at else ''}); dbt's output goes to {log_path}",
        flush=True,
    )
    with local_instance() as instance, writer_lock(settings, f"planwh {job_name}"):
        with connect(settings):  # fails fast, with the holder named, if another process has the file open
            pass
        for run_id in recover_abandoned_runs(instance):
            print(
                f"planwh: run {run_id} had died mid-way; marked failed and its pool slots freed",
                file=sys.stderr,
            )
        for attempt in range(retries + 1):
            started = time.perf_counter()
            with log_path.open("a", encoding="utf-8") as log, contextlib.redirect_stdout(log):
                result = job.execute_in_process(
                    instance=instance,
                    run_config=run_config,
                    raise_on_error=False,
                    tags={
                        "planwh/trigger": "cli",
                        "planwh/attempt": str(attempt + 1),
                        "planwh/pid": str(os.getpid()),
                    },
                )
            elapsed = time.perf_counter() - started
            result.stage_seconds = stage_timings(instance, result.run_id)
            if result.success:
                return result, elapsed
            for event in result.all_events:
                if event.is_step_failure:
                    error = event.event_specific_data.error
                    cause = error.cause or error
                    print(f"step {event.step_key} failed: {cause.message.strip()}", file=sys.stderr)
            print(
                f"run {result.run_id} failed; " + ("retrying once" if attempt < retries else "giving up"),
                file=sys.stderr,
            )
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
    known = sum(ingest.get(k, 0.0) for k in ("parse", "enrich", "validate", "load"))
    return {
        "discover": round(steps.get("inbox_files", 0.0), 3),
        "parse": round(ingest.get("parse", 0.0) + ingest.get("enrich", 0.0), 3),
        "validate": round(ingest.get("validate", 0.0), 3),
        "load": round(ingest.get("load", 0.0) + max(0.0, ingest_step - known), 3),
        "dbt": round(steps.get("planwh_dbt", 0.0), 3),
        "flags": round(steps.get("ops__alerts", 0.0), 3),
        "report": round(
            steps.get("report__progress_report", 0.0) + steps.get("report__mart_exports", 0.0), 3
        ),
        "publish": round(steps.get("published__warehouse", 0.0), 3),
    }
