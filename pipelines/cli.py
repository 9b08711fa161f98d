"""`planwh` command line: what the Makefile targets call.

planwh prepare                 dbt parse (the manifest Dagster reads)
planwh refresh [--as-of D] [--known-at D] [--full]
                               run the refresh job in-process (what the nightly schedule and the sensor
                               run); --full builds every model and runs every test as the nightly run does
planwh flags [--as-of D]       re-evaluate statuses and alerts without ingesting
planwh rebuild                 rebuild the warehouse from the raw archive alone
planwh lineage CODE YEAR       where an indicator's value came from
planwh evaluation [--as-of D] [--known-at D] [--plan P] [--out DIR]
                               the evaluation report (总结评估 after the plan, 中期评估 inside it) as HTML and
                               .docx, from the published snapshot re-evaluated as of D (the live warehouse
                               is not touched)
planwh samples | templates     sample submissions / department templates
planwh docs                    dbt docs + validation report (offline)
planwh sql [-c SQL] [-o FILE]  SQL on the published snapshot, read-only (interactive, script or one command)
planwh plan draft OUTLINE.txt --plan-id ID --region CODE [--out DIR]
                               draft catalog files from an outline's text, for review
planwh plan check [DIR]        check the seeds (or a draft folder with the seeds): one line per problem
planwh plan add DIR [--replace]
                               merge a reviewed draft folder into the seeds (refused while check fails)
planwh users add|reset-password|list|disable|enable|token …
                               reporting-portal accounts and API tokens (docs/portal.md)
planwh portal [--port N]       serve the reporting portal on 127.0.0.1
planwh check                   check every setting (what `make ui` does before starting Dagster)
planwh deliveries [--retry | --dismiss]
                               notifications that could not be delivered
planwh housekeeping            apply the retention rules now (docs/operations.md)
planwh receipt ID [ID ...]     write a receipt's HTML page from its JSON and print where it is (the
                               pipeline writes no page for a migrated file that loaded cleanly)

Exit codes: 0 done; 1 the work failed (see the message and the run log); 2 a bad setting or argument
(one line each, nothing written); 74 the disk is full; 75 the warehouse is held by another process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from pipelines.lib.settings import (
    EXIT_BAD_SETTING,
    REPO_ROOT,
    SettingsError,
    date_setting,
    export_env,
    load_settings,
    now_local,
    parse_day,
    private_umask,
    settings_problems,
)

EXIT_FAILED = 1
EXIT_DISK_FULL = 74  # sysexits EX_IOERR
EXIT_LOCKED = 75  # sysexits EX_TEMPFAIL: try again later
EXIT_INTERRUPTED = 130  # as a shell reports a command stopped by Ctrl-C


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
    from pipelines.lib.warehouse.dbt_state import discard_foreign_partial_parse, target_dir

    discard_foreign_partial_parse(settings.dbt_project_dir)
    _dbt(["parse", "--quiet"], settings)
    print(f"dbt manifest ready: {target_dir(settings.dbt_project_dir) / 'manifest.json'}")
    return 0


def _ensure_manifest(args, settings) -> None:
    """The definitions read dbt's manifest: a fresh copy of the project (PLANWH_DBT_PROJECT_DIR) has none, and
    Dagster's error for that was a stack trace. Parse it first, as `make run` does."""
    from pipelines.lib.warehouse.dbt_state import target_dir

    if not (target_dir(settings.dbt_project_dir) / "manifest.json").exists():
        print(
            f"planwh: {settings.dbt_project_dir} has no dbt manifest yet: parsing it first", file=sys.stderr
        )
        cmd_prepare(args, settings)


def cmd_refresh(args, settings) -> int:
    import json

    from pipelines.dbt_child import prestart
    from pipelines.lib.warehouse.dbt_state import PARTIAL_PARSE, dbt_dates, target_dir

    # the settings PLANWH_AS_OF and PLANWH_KNOWN_AT where the options are not given (docs/operations.md;
    # checked before this runs)
    as_of = date_setting("as_of", getattr(args, "as_of", None))
    known_at = date_setting("known_at", getattr(args, "known_at", None))
    _ensure_manifest(args, settings)
    # dbt imports itself on the other core while this process imports Dagster and the run ingests
    prestart(
        settings.dbt_project_dir,
        target_dir(settings.dbt_project_dir) / PARTIAL_PARSE,
        dbt_dates(
            parse_day(as_of, "as_of") if as_of else now_local().date(),
            parse_day(known_at, "known_at") if known_at else None,
        ),
    )
    from pipelines.lib.outputs.summary import print_summary
    from pipelines.runs import run_job

    result, elapsed = run_job(args.job, as_of, settings, known_at=known_at, full=getattr(args, "full", False))
    if getattr(args, "timings_json", None):
        Path(args.timings_json).write_text(
            json.dumps({"run_seconds": elapsed, "stages": result.stage_seconds})
        )
    if not getattr(args, "quiet", False):
        print_summary(
            settings, result.run_id, elapsed, success=result.success, notes=_run_notes(result, settings)
        )
    return 0 if result.success else 1


def _run_notes(result, settings) -> list[str]:
    """What this run left for later or treated specially (files still being written, re-submissions)."""
    notes = []
    for event in result.all_events:
        if (
            event.event_type_value != "ASSET_MATERIALIZATION"
            or event.asset_key.to_user_string() != "inbox_files"
        ):
            continue
        meta = {k: v.value for k, v in event.event_specific_data.materialization.metadata.items()}
        if meta.get("files_waiting"):
            names = ", ".join(meta.get("waiting_files") or [])
            notes.append(
                f"仍在写入的文件 Files still being written (changed < {settings.inbox_quiet_seconds:g}s ago), left for "
                f"the next run: {meta['files_waiting']} — {names}"
            )
        if meta.get("resubmissions"):
            notes.append(
                f"重新报送 Re-submissions of earlier content (they supersede what came between): {meta['resubmissions']}"
            )
        if meta.get("ignored_leftovers"):
            notes.append(f"已忽略的临时文件 Editor/transfer leftovers ignored: {meta['ignored_leftovers']}")
    return notes


def cmd_flags(args, settings) -> int:
    args.job = "reevaluate_flags"
    return cmd_refresh(args, settings)


def cmd_rebuild(args, settings) -> int:
    _ensure_manifest(args, settings)
    from pipelines.lib.warehouse.rebuild import rebuild
    from pipelines.runs import run_job

    info = rebuild(settings, run_refresh=lambda: run_job("refresh", args.as_of, settings))
    for key, value in info.items():
        print(f"  {key}: {value}")
    if not info["success"]:
        print(
            f"planwh: the rebuild's refresh failed (see {settings.log_dir}); the previous warehouse is kept at "
            f"{info['previous_warehouse']}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print("planwh: rebuild finished")
    return 0


def cmd_check(args, settings) -> int:
    print("planwh: settings OK")
    return 0


def cmd_deliveries(args, settings) -> int:
    from pipelines.lib.alerts.notify import count_undelivered, dismiss, requeue, undelivered
    from pipelines.lib.warehouse.connection import connect, writer_lock

    with writer_lock(settings, "planwh deliveries"), connect(settings) as con:
        if args.retry:
            print(f"planwh: {requeue(con)} given-up notification(s) queued again; the next run sends them")
        elif args.dismiss:
            print(f"planwh: {dismiss(con)} given-up notification(s) dismissed")
        counts = count_undelivered(con)
        rows = undelivered(con)
    print(f"retrying: {counts['retrying']}  given up: {counts['given_up']}")
    for row in rows:
        print(
            f"  {row['gave_up_at']}  {row['channel']:<10} {row['kind']:<12} {row['message_key']}  "
            f"{row['title_en'] or ''}  ({row['attempts']} attempts; {row['last_error']})"
        )
    return 0


def cmd_receipt(args, settings) -> int:
    from pipelines.lib.submissions.receipts import render_receipt_file

    missing = 0
    for submission_id in args.submission_ids:
        page = render_receipt_file(settings.output_dir / "receipts", submission_id)
        if page is None:
            missing += 1
            _say(
                f"没有报送编号为 {submission_id} 的回执 · no receipt has the submission id {submission_id} "
                f"(under {settings.output_dir / 'receipts'}; the ids are in marts.fct_submissions)"
            )
        else:
            print(page)
    return EXIT_FAILED if missing else 0


def cmd_housekeeping(args, settings) -> int:
    import dagster as dg

    from pipelines.lib.warehouse.connection import writer_lock
    from pipelines.maintenance import apply_retention, recover_abandoned_runs

    with dg.DagsterInstance.get() as instance, writer_lock(settings, "planwh housekeeping"):
        recovered = recover_abandoned_runs(instance)
        summary = apply_retention(instance, settings)
    print(f"planwh: housekeeping done: {dict(summary, runs_recovered=len(recovered))}")
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
    from pipelines.lib.warehouse.publish import open_published

    catalog = Catalog.load(settings.seeds_dir)
    out = Path(args.out)
    if args.department and args.department not in set(catalog.departments["department_code"]):
        print(f"planwh: unknown department {args.department!r} (see marts.dim_departments)", file=sys.stderr)
        return 2
    departments = [args.department] if args.department else list(catalog.departments["department_code"])
    snapshot = settings.published_warehouse
    con = open_published(snapshot) if snapshot.exists() else None
    if con is None:
        print(
            f"planwh: no published warehouse at {snapshot}: templates list the catalog's items without reference "
            "values (run `make run` first for what each department owes and the reference columns)",
            file=sys.stderr,
        )
    try:
        for dept in departments:
            print(write_template(catalog, dept, args.period, out, con=con))
    except ValueError as exc:
        print(f"planwh: {exc}", file=sys.stderr)
        return 2
    finally:
        if con is not None:
            con.close()
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


def cmd_plan_draft(args, settings) -> int:
    from pipelines.lib.plans import draft as drafting
    from pipelines.lib.plans.catalog import Catalog
    from pipelines.lib.plans.outline import Outline

    path = Path(args.outline)
    if not path.exists():
        print(f"planwh: {path} not found", file=sys.stderr)
        return 2
    outline = Outline.read(path)
    try:
        relative = path.resolve().relative_to(REPO_ROOT.resolve()).as_posix()
    except ValueError:
        relative = str(path.resolve())
    years = None
    if args.start_year and args.end_year:
        years = (args.start_year - 1, args.start_year, args.end_year)
    try:
        draft = drafting.build(
            outline,
            args.plan_id,
            args.region,
            catalog=Catalog.load(settings.seeds_dir),
            source_document=relative,
            years=years,
            region_name_en=args.region_name_en or "",
        )
    except ValueError as exc:
        print(f"planwh: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out or REPO_ROOT / "warehouse" / "drafts" / args.plan_id)
    drafting.write(draft, out)
    years = f"{draft.plan['start_year']}–{draft.plan['end_year']}"
    print(f"{args.plan_id}（{years}）目录草稿 · draft catalog for {args.plan_id} ({years}) in {out}")
    for name, rows in draft.tables().items():
        low = sum(1 for r in rows if r.get("confidence") == "low")
        print(
            f"  {name + '.csv':34} {len(rows):4} 行 rows  （{low} 行需仔细核对 · {low} to look at closely）"
        )
    if draft.layout_note:
        print(f"  ! {draft.layout_note}")
    print(
        f"下一步：审核各文件（见 {out / 'REVIEW.md'}），然后运行 `planwh plan check {out}` 和 `planwh plan add {out}`"
        f" · next: review the files (see {out / 'REVIEW.md'}), then `planwh plan check {out}` and"
        f" `planwh plan add {out}`"
    )
    return 0


def cmd_plan_check(args, settings) -> int:
    from pipelines.lib.plans.check import check, combined, read_tables

    seeds = read_tables(settings.seeds_dir)
    if args.folder:
        folder = Path(args.folder)
        if not (folder / "catalog_plans.csv").exists():
            print(
                f"planwh: {folder} 中没有 catalog_plans.csv（应为 `planwh plan draft` 生成的文件夹）· "
                f"{folder} has no catalog_plans.csv (a folder written by `planwh plan draft`)",
                file=sys.stderr,
            )
            return 2
        tables, plan_ids, offsets = combined(seeds, read_tables(folder))
        problems = check(tables, only_plans=plan_ids, offsets=offsets, folder=f"{folder}/")
        what = what_zh = ", ".join(sorted(plan_ids))
    else:
        problems = check(seeds, folder=f"{settings.seeds_dir.relative_to(REPO_ROOT)}/")
        what, what_zh = "the seeds", "目录"
    for problem in problems:
        print(problem)
    print(f"{what_zh} 共有 {len(problems)} 个问题 · {len(problems)} problem(s) in {what}", file=sys.stderr)
    return 1 if problems else 0


def cmd_plan_add(args, settings) -> int:
    from pipelines.lib.plans.add import add

    result = add(Path(args.folder), settings.seeds_dir, replace=args.replace)
    for problem in result.problems:
        print(problem)
    if not result.ok:
        print(
            f"未写入任何内容：请先修复 {len(result.problems)} 个问题 · "
            f"nothing written: {len(result.problems)} problem(s) to fix first",
            file=sys.stderr,
        )
        return 1
    for name, count in result.rows.items():
        print(f"  {name + '.csv':34} {count:4} rows of {', '.join(sorted(result.plan_ids))}")
    print(
        "目录已更新；运行 `make run` 用新规划重建数据仓库 · seeds updated; `make run` rebuilds the warehouse with the new plan"
    )
    return 0


def cmd_evaluation(args, settings) -> int:
    from datetime import date

    from pipelines.lib.outputs.evaluation import plan_context, plans, verdict_lines, write_evaluation
    from pipelines.lib.warehouse.snapshot import SnapshotError, evaluated_snapshot

    for name in ("as_of", "known_at"):
        value = getattr(args, name)
        try:
            value and date.fromisoformat(value)
        except ValueError:
            print(
                f"planwh evaluation: --{name.replace('_', '-')} {value!r} is not a date YYYY-MM-DD",
                file=sys.stderr,
            )
            return 2
    out = Path(args.out) if args.out else settings.output_dir / "evaluation"
    try:
        with evaluated_snapshot(settings, args.as_of, args.known_at) as (con, as_of):
            selected = plans(con, args.plan)
            if not selected:
                known = ", ".join(p["plan_id"] for p in plans(con))
                print(f"planwh evaluation: unknown plan {args.plan!r}; plans: {known}", file=sys.stderr)
                return 2
            for plan in selected:
                ctx = plan_context(con, plan)
                if not ctx.started:
                    print(" · ".join(ctx.not_started_text))
                    continue
                suffix = f"_known_{args.known_at}" if args.known_at else ""
                info = write_evaluation(con, plan, out, stem=f"evaluation_{plan['plan_id']}_{as_of}{suffix}")
                print(f"{info['title']}（{info['kind']}，评估日期 as_of {info['as_of']}）")
                print(f"  Word/WPS  {info['docx']}")
                print(f"  HTML      {info['html']}")
                for sentence in verdict_lines(con, ctx):
                    print(f"  {sentence.zh}")
    except SnapshotError as exc:
        print(f"planwh evaluation: {exc}", file=sys.stderr)
        return 1
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
    # sqlfluff's dbt templater opens the warehouse (dbt's connection): on a fresh clone its folder does not
    # exist yet, and `make lint` failed there until a first `make run`
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.run([str(sqlfluff), "lint", "models"], cwd=settings.dbt_project_dir).returncode


def build_parser() -> argparse.ArgumentParser:
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
    p.add_argument(
        "--full",
        action="store_true",
        help="a full dbt build with every test (as the nightly run), not only the plans new files touched",
    )
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
    p = sub.add_parser(
        "evaluation",
        help="write the evaluation report (HTML and .docx) of each plan",
        description="The plan's evaluation report: 总结评估 once the evaluation date is after the plan's last year, "
        "中期评估 inside it. Both an offline HTML page and a .docx for Word/WPS.",
    )
    p.add_argument("--as-of", help="evaluation date YYYY-MM-DD (default: the published snapshot's own date)")
    p.add_argument("--known-at", help="count only submissions received by this day YYYY-MM-DD")
    p.add_argument("--plan", help="one plan_id (default: every plan)")
    p.add_argument("--out", help="folder for the files (default: <output>/evaluation)")
    p.set_defaults(func=cmd_evaluation)
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
    plan = sub.add_parser("plan", help="draft, check and add a plan's catalog").add_subparsers(
        dest="plan_command", required=True
    )
    p = plan.add_parser("draft", help="draft catalog files from an outline's text (UTF-8 or GB18030)")
    p.add_argument("outline")
    p.add_argument("--plan-id", required=True, help="e.g. 370102_15FYP (<region code>_<plan>)")
    p.add_argument("--region", required=True, help="the region's administrative code, e.g. 370102")
    p.add_argument("--region-name-en", help="English name of the region (default: from an earlier plan)")
    p.add_argument("--out", help="folder for the draft files (default warehouse/drafts/<plan id>)")
    p.add_argument("--start-year", type=int, help="first plan year, when the text does not say")
    p.add_argument("--end-year", type=int, help="last plan year, when the text does not say")
    p.set_defaults(func=cmd_plan_draft)
    p = plan.add_parser("check", help="check the seeds, or a draft folder with the seeds")
    p.add_argument("folder", nargs="?")
    p.set_defaults(func=cmd_plan_check)
    p = plan.add_parser("add", help="merge a reviewed draft folder into the seeds")
    p.add_argument("folder")
    p.add_argument(
        "--replace", action="store_true", help="replace the plan's rows if it is already in the seeds"
    )
    p.set_defaults(func=cmd_plan_add)
    sub.add_parser("lint-sql").set_defaults(func=cmd_lint_sql)
    sub.add_parser("check", help="check every setting and exit (2 when one is wrong)").set_defaults(
        func=cmd_check
    )
    p = sub.add_parser("deliveries", help="notifications that could not be delivered")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--retry", action="store_true", help="queue given-up notifications again")
    group.add_argument("--dismiss", action="store_true", help="acknowledge given-up notifications")
    p.set_defaults(func=cmd_deliveries)
    sub.add_parser("housekeeping", help="apply the retention rules now").set_defaults(func=cmd_housekeeping)
    p = sub.add_parser("receipt", help="write a receipt's HTML page from its JSON and print its path")
    p.add_argument("submission_ids", nargs="+", metavar="SUBMISSION_ID")
    p.set_defaults(func=cmd_receipt)
    from pipelines.portal.cli import add_commands as add_portal_commands

    add_portal_commands(sub)
    return parser


# what each command needs checked before it runs: paths (and whether the working file must be whole)
_NO_PATHS = {"prepare", "samples", "templates", "lint-sql", "sql"}  # sql: analysts read the snapshot only


def _say(line: str) -> None:
    print(f"planwh: {line}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problems = settings_problems(
        as_of=getattr(args, "as_of", None),
        known_at=getattr(args, "known_at", None),
        warehouse_must_be_valid=args.command != "rebuild",
        check_paths=args.command not in _NO_PATHS,
    )
    if problems:  # before anything is created, opened or locked
        for line in problems:
            _say(line)
        return EXIT_BAD_SETTING
    settings = load_settings()
    export_env(settings)
    private_umask()
    from pipelines.lib.ingest.inbox import ArchiveDamaged
    from pipelines.lib.warehouse.connection import WarehouseDamaged, WarehouseLocked
    from pipelines.lib.warehouse.disk import DiskFull, is_disk_full
    from pipelines.runs import RunInterrupted

    try:
        return args.func(args, settings)
    except RunInterrupted as exc:
        _say(str(exc))
        return EXIT_INTERRUPTED
    except SettingsError as exc:
        for line in exc.problems:
            _say(line)
        return EXIT_BAD_SETTING
    except WarehouseLocked as exc:  # a clear message naming the holder, not a stack trace
        _say(str(exc))
        return EXIT_LOCKED
    except WarehouseDamaged as exc:
        _say(str(exc))
        return EXIT_BAD_SETTING
    except ArchiveDamaged as exc:  # the record itself: restore it from backup (the message says which file)
        _say(str(exc))
        return EXIT_FAILED
    except subprocess.CalledProcessError as exc:  # dbt's own output, above, says why
        _say(
            f"{Path(str(exc.cmd[0])).name} {exc.cmd[1]} failed with exit code {exc.returncode} (see its output above)"
        )
        return EXIT_FAILED
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        from pipelines.lib.warehouse.disk import disk_full_message

        message = (
            str(exc)
            if isinstance(exc, DiskFull) and str(exc).strip()
            else disk_full_message(
                {
                    "warehouse": settings.warehouse,
                    "published": settings.publish_dir,
                    "output": settings.output_dir,
                    "raw archive": settings.archive,
                }
            )
        )
        _say(message)
        return EXIT_DISK_FULL


def _open_duckdb_files() -> list[str]:
    """The DuckDB files (or their write-ahead logs) this process still has open, as /proc shows them."""
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        return ["(unknown: no /proc)"]
    found = []
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed while listing
            continue
        if target.endswith((".duckdb", ".duckdb.wal")):
            found.append(target)
    return found


def run() -> None:
    """The `planwh` command: main(), then the exit handlers (logging's flush among them) and an immediate
    exit. Python's own exit then tears down every module Dagster, dbt and pandas imported, one by one:
    0.6-0.9 s a run that nobody waits for (bench/results.md, session 16). The plain exit is kept when
    anything could still need it: another thread alive, or a DuckDB file open (closing one checkpoints it)."""
    import atexit
    import threading

    code = main()
    if threading.active_count() > 1 or _open_duckdb_files():
        sys.exit(code)
    atexit._run_exitfuncs()  # what a normal exit runs first (logging.shutdown and the like)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    run()
