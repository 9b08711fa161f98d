"""`planwh` command line: what the Makefile targets call.

planwh prepare                 dbt parse (the manifest Dagster reads)
planwh refresh [--as-of D] [--known-at D]
                               run the refresh job in-process (what the nightly schedule runs)
planwh flags [--as-of D]       re-evaluate statuses and alerts without ingesting
planwh rebuild                 rebuild the warehouse from the raw archive alone
planwh lineage CODE YEAR       where an indicator's value came from
planwh samples | templates     sample submissions / department templates
planwh docs                    dbt docs + validation report (offline)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from pipelines.lib.settings import REPO_ROOT, export_env, load_settings


def _dbt(args: list[str], settings) -> None:
    dbt = Path(sys.executable).with_name("dbt")
    cmd = [
        str(dbt),
        *args,
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
    ]
    subprocess.run(cmd, check=True, cwd=settings.dbt_project_dir)


def cmd_prepare(args, settings) -> int:
    _dbt(["parse", "--quiet"], settings)
    print(f"dbt manifest ready: {settings.dbt_project_dir / 'target' / 'manifest.json'}")
    return 0


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
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.lib.warehouse import connect, writer_lock

    for folder in (os.environ["PLANWH_DAGSTER_STORAGE"], os.environ["PLANWH_DAGSTER_COMPUTE_LOGS"]):
        Path(folder).mkdir(parents=True, exist_ok=True)
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
    with dg.DagsterInstance.get() as instance, writer_lock(settings, f"planwh {job_name}"):
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


def cmd_refresh(args, settings) -> int:
    import json

    from pipelines.lib.summary import print_summary

    result, elapsed = run_job(args.job, args.as_of, settings, known_at=getattr(args, "known_at", None))
    if getattr(args, "timings_json", None):
        Path(args.timings_json).write_text(
            json.dumps({"run_seconds": elapsed, "stages": result.stage_seconds})
        )
    if not getattr(args, "quiet", False):
        print_summary(settings, result.run_id, elapsed, success=result.success)
    return 0 if result.success else 1


def cmd_flags(args, settings) -> int:
    args.job = "reevaluate_flags"
    return cmd_refresh(args, settings)


def cmd_rebuild(args, settings) -> int:
    from pipelines.lib.rebuild import rebuild

    info = rebuild(settings, as_of=args.as_of)
    print(info)
    return 0


def cmd_lineage(args, settings) -> int:
    from pipelines.lib.lineage import print_lineage

    return print_lineage(settings, args.code, args.year, args.plan, published=not args.live)


def cmd_samples(args, settings) -> int:
    from pipelines.lib.samples import write_samples

    info = write_samples(settings, REPO_ROOT / "raw")
    print(info)
    return 0


def cmd_templates(args, settings) -> int:
    from pipelines.lib.catalog import Catalog
    from pipelines.lib.templates import write_template

    catalog = Catalog.load(settings.seeds_dir)
    out = Path(args.out)
    departments = [args.department] if args.department else list(catalog.departments["department_code"])
    for dept in departments:
        path = write_template(catalog, dept, args.period, out)
        print(path)
    return 0


def cmd_report(args, settings) -> int:
    from pipelines.lib.publish import open_published
    from pipelines.lib.report import _atomic_write, _rows, render_plan

    con = open_published(settings.published_warehouse)
    plans = [p for p in _rows(con, "select * from marts.dim_plans") if p["plan_id"] == args.plan]
    if not plans:
        print(f"unknown plan {args.plan}", file=sys.stderr)
        return 2
    path = settings.output_dir / "report" / f"progress_report_{args.plan}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, render_plan(con, plans[0]))
    print(path)
    return 0


def cmd_docs(args, settings) -> int:
    from pipelines.lib.validation_docs import build_validation_docs

    target = settings.output_dir / "dbt_docs"
    _dbt(["docs", "generate", "--static", "--target-path", str(target)], settings)
    print(f"dbt docs: {target / 'static_index.html'}")
    print(f"validation report: {build_validation_docs(settings)}")
    return 0


def cmd_lint_sql(args, settings) -> int:
    sqlfluff = Path(sys.executable).with_name("sqlfluff")
    return subprocess.run([str(sqlfluff), "lint", "models"], cwd=settings.dbt_project_dir).returncode


def main(argv: list[str] | None = None) -> int:
    settings = load_settings()
    export_env(settings)
    parser = argparse.ArgumentParser(
        prog="planwh", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare").set_defaults(func=cmd_prepare)
    p = sub.add_parser("refresh")
    p.add_argument("--as-of", help="evaluation date YYYY-MM-DD (default: today, Asia/Shanghai)")
    p.add_argument(
        "--known-at",
        help="knowledge cutoff YYYY-MM-DD: count only submissions received by then (default: all received)",
    )
    p.add_argument("--job", default="refresh", choices=["refresh", "reevaluate_flags"])
    p.add_argument("--timings-json", help="write seconds per stage to this file (the benchmark reads it)")
    p.add_argument("--quiet", action="store_true", help="no summary")
    p.set_defaults(func=cmd_refresh)
    p = sub.add_parser("flags")
    p.add_argument("--as-of")
    p.add_argument("--known-at")
    p.set_defaults(func=cmd_flags)
    p = sub.add_parser("rebuild")
    p.add_argument("--as-of")
    p.set_defaults(func=cmd_rebuild)
    p = sub.add_parser("lineage")
    p.add_argument("code")
    p.add_argument("year", type=int)
    p.add_argument("--plan")
    p.add_argument(
        "--live", action="store_true", help="read the working warehouse instead of the published copy"
    )
    p.set_defaults(func=cmd_lineage)
    sub.add_parser("samples").set_defaults(func=cmd_samples)
    p = sub.add_parser("templates")
    p.add_argument("--department")
    p.add_argument("--period", default=None, help="e.g. 2025 or 2025Q2 (default: the last full year)")
    p.add_argument("--out", default=str(REPO_ROOT / "warehouse" / "templates"))
    p.set_defaults(func=cmd_templates)
    p = sub.add_parser("report")
    p.add_argument("--plan", required=True)
    p.set_defaults(func=cmd_report)
    sub.add_parser("docs").set_defaults(func=cmd_docs)
    sub.add_parser("lint-sql").set_defaults(func=cmd_lint_sql)
    args = parser.parse_args(argv)
    from pipelines.lib.warehouse import WarehouseLocked

    try:
        return args.func(args, settings)
    except WarehouseLocked as exc:  # a clear message naming the holder, not a stack trace
        print(f"planwh: {exc}", file=sys.stderr)
        return 75


if __name__ == "__main__":
    sys.exit(main())
