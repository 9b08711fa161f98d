"""`planwh` command line: what the Makefile targets call.

planwh prepare                 dbt parse (the manifest Dagster reads)
planwh refresh [--as-of D] [--known-at D]
                               run the refresh job in-process (what the nightly schedule runs)
planwh flags [--as-of D]       re-evaluate statuses and alerts without ingesting
planwh rebuild                 rebuild the warehouse from the raw archive alone
planwh lineage CODE YEAR       where an indicator's value came from
planwh samples | templates     sample submissions / department templates
planwh docs                    dbt docs + validation report (offline)
planwh sql [-c SQL] [-o FILE]  SQL on the published snapshot, read-only (interactive, script or one command)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from pipelines.lib.settings import REPO_ROOT, export_env, load_settings
from pipelines.runs import run_job


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
    from pipelines.lib.warehouse.dbt_state import discard_foreign_partial_parse

    discard_foreign_partial_parse(settings.dbt_project_dir)
    _dbt(["parse", "--quiet"], settings)
    print(f"dbt manifest ready: {settings.dbt_project_dir / 'target' / 'manifest.json'}")
    return 0


def cmd_refresh(args, settings) -> int:
    import json

    from pipelines.lib.outputs.summary import print_summary

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
    from pipelines.lib.warehouse.rebuild import rebuild

    info = rebuild(settings, run_refresh=lambda: run_job("refresh", args.as_of, settings))
    print(info)
    return 0


def cmd_lineage(args, settings) -> int:
    from pipelines.lib.warehouse.lineage import print_lineage

    return print_lineage(settings, args.code, args.year, args.plan, published=not args.live)


def cmd_samples(args, settings) -> int:
    from pipelines.lib.submissions.samples import write_samples

    info = write_samples(settings, REPO_ROOT / "raw")
    print(info)
    return 0


def cmd_templates(args, settings) -> int:
    from pipelines.lib.plans.catalog import Catalog
    from pipelines.lib.submissions.templates import write_template

    catalog = Catalog.load(settings.seeds_dir)
    out = Path(args.out)
    departments = [args.department] if args.department else list(catalog.departments["department_code"])
    for dept in departments:
        path = write_template(catalog, dept, args.period, out)
        print(path)
    return 0


def cmd_report(args, settings) -> int:
    from pipelines.lib.outputs.report import _atomic_write, _rows, render_plan
    from pipelines.lib.warehouse.publish import open_published

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
    from pipelines.lib.outputs.validation_docs import build_validation_docs

    target = settings.output_dir / "dbt_docs"
    _dbt(["docs", "generate", "--static", "--target-path", str(target)], settings)
    print(f"dbt docs: {target / 'static_index.html'}")
    print(f"validation report: {build_validation_docs(settings)}")
    return 0


def cmd_sql(args, settings) -> int:
    from pipelines.lib.warehouse.sql_shell import run

    path = Path(args.db).expanduser() if args.db else settings.published_warehouse
    if path.resolve() == settings.warehouse.resolve():
        print(
            f"planwh sql: {path} is the working file the pipeline writes (a reader would block it): "
            f"open the published snapshot {settings.published_warehouse}",
            file=sys.stderr,
        )
        return 2
    return run(path, command=args.command, output=args.output, csv_out=args.csv)


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
    p = sub.add_parser(
        "sql",
        help="SQL on the published snapshot (read-only, no file access)",
        description="SQL on the published snapshot, read-only, with the safe settings of docs/analysts.md. "
        "Interactive on a terminal (.help lists the commands), a script when stdin is a pipe.",
    )
    p.add_argument("-c", "--command", help="run this SQL (or .tables / .describe T) and exit")
    p.add_argument("-o", "--output", help="write the result of -c to FILE.csv or FILE.xlsx instead")
    p.add_argument("--csv", action="store_true", help="print the result of -c as CSV")
    p.add_argument("--db", help="another published snapshot (default: the one the refresh publishes)")
    p.set_defaults(func=cmd_sql)
    sub.add_parser("lint-sql").set_defaults(func=cmd_lint_sql)
    args = parser.parse_args(argv)
    from pipelines.lib.warehouse.connection import WarehouseLocked

    try:
        return args.func(args, settings)
    except WarehouseLocked as exc:  # a clear message naming the holder, not a stack trace
        print(f"planwh: {exc}", file=sys.stderr)
        return 75


if __name__ == "__main__":
    sys.exit(main())
