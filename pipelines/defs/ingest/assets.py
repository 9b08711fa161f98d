"""Inbox files -> archived receipts -> parsed, validated and loaded submissions (raw tables)."""

import time

import dagster as dg

from pipelines.dbt_child import warm_up_for_run
from pipelines.defs.owners import DATA_TEAM
from pipelines.defs.resources import PlanWarehouse, not_retried_on
from pipelines.defs.transform.project import dbt_project
from pipelines.lib.ingest.inbox import ArchiveDamaged, discover_and_archive
from pipelines.lib.ingest.load import process_pending
from pipelines.lib.submissions.readers import INDICATOR, PROGRESS
from pipelines.lib.warehouse.connection import connect, writer_lock
from pipelines.lib.warehouse.dbt_state import PARTIAL_PARSE, dbt_dates, target_dir

RAW_SUBMISSIONS = dg.AssetKey(["raw", "submissions"])
RAW_INDICATORS = dg.AssetKey(["raw", "indicator_values"])
RAW_PROGRESS = dg.AssetKey(["raw", "project_progress"])
RAW_QUARANTINE = dg.AssetKey(["raw", "quarantine"])
INBOX = dg.AssetKey("inbox_files")
WRITER_POOL = "warehouse_writer"
DBT_STEP = "planwh_dbt"  # the step of the dbt models (pipelines/defs/transform/assets.py)


@dg.asset(
    key=INBOX,
    group_name="ingest",
    owners=[DATA_TEAM],
    kinds={"python", "filesystem"},
    pool=WRITER_POOL,
    description=(
        "Files in raw/inbox/<department_code>/ (部门报送文件). Each new (department, sha256) is copied into the "
        "content-addressed archive raw/archive/sha256/ (read-only) and recorded in raw.receipts with its "
        "received time (Asia/Shanghai). Names are metadata, never paths. A file changed less than the quiet "
        "period ago waits for a later run; editor and transfer leftovers are noted and ignored; earlier content "
        "sent again after newer content is a re-submission."
    ),
)
def inbox_files(context: dg.AssetExecutionContext, planwh: PlanWarehouse) -> dg.MaterializeResult:
    settings = planwh.settings
    started = time.perf_counter()
    steps = context.run.step_keys_to_execute
    if steps is None or DBT_STEP in steps:  # dbt imports itself meanwhile, on the other core
        how_dbt_starts = warm_up_for_run(
            context.run_id,
            dbt_project.project_dir,
            target_dir(dbt_project.project_dir) / PARTIAL_PARSE,
            dbt_dates(planwh.as_of_date(), planwh.known_at_date()),
        )
        context.log.info(how_dbt_starts)
    # every file pending now, whatever triggered the run: files dropped together cost one refresh
    # a damaged receipts log fails the same way on every retry, until it is restored
    with not_retried_on(context, ArchiveDamaged), writer_lock(settings, f"run {context.run_id}: inbox_files"):
        summary = discover_and_archive(settings, planwh.catalog())
    context.log.info(f"inbox: {summary}")
    if summary["waiting"]:
        context.log.warning(
            f"{summary['waiting']} file(s) changed less than {settings.inbox_quiet_seconds:g}s ago and may still be "
            f"being written; a later run takes them: {', '.join(summary['waiting_files'][:5])}"
        )
    return dg.MaterializeResult(
        metadata={
            "files_in_inbox": summary["files_in_inbox"],
            "new_receipts": summary["new_receipts"],
            "resubmissions": summary["resubmissions"],
            "ignored_leftovers": summary["ignored"],
            "restored_from_archive_log": summary["restored_from_archive_log"],
            "files_waiting": summary["waiting"],
            "waiting_files": dg.MetadataValue.json(summary["waiting_files"]),
            "quiet_period_seconds": settings.inbox_quiet_seconds,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )


def _check_metadata(report, examples, kind: str) -> dict:
    failing = [e for e in examples if e["reason"]]
    return {
        "rows_validated": report.rows if report else 0,
        "expectations": len(report.results) if report else 0,
        "failed_expectations": dg.MetadataValue.json(
            [r for r in report.results if not r["success"]] if report else []
        ),
        "failing_rows": sum(1 for _ in report.failures) if report else 0,
        "first_failing_rows": dg.MetadataValue.json(failing[:10]),
        "gx_seconds": round(report.seconds, 3) if report else 0.0,
        "suite": kind,
    }


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            RAW_SUBMISSIONS,
            deps=[INBOX],
            group_name="ingest",
            owners=[DATA_TEAM],
            kinds={"duckdb"},
            description="The submission ledger (报送台账): one row per processed file with status "
            "(accepted, accepted_with_warnings, needs_explanation, rejected) and row counts; a receipt "
            "(HTML and JSON) per file under <output>/receipts/<department_code>/.",
        ),
        dg.AssetSpec(
            RAW_INDICATORS,
            deps=[INBOX],
            group_name="ingest",
            owners=[DATA_TEAM],
            kinds={"duckdb"},
            description="Accepted indicator rows (指标数据), append-only, with provenance and review state "
            "(accepted, pending_explanation, explained: soft checks 核实性审核) and the department's explanation.",
        ),
        dg.AssetSpec(
            RAW_PROGRESS,
            deps=[INBOX],
            group_name="ingest",
            owners=[DATA_TEAM],
            kinds={"duckdb"},
            description="Accepted project progress rows (项目进度), append-only, with provenance.",
        ),
        dg.AssetSpec(
            RAW_QUARANTINE,
            deps=[INBOX],
            group_name="ingest",
            owners=[DATA_TEAM],
            kinds={"duckdb"},
            description="Rejected files and rows, with a reason code and a message in Chinese and English.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "gx_indicator_data_suite",
            asset=RAW_INDICATORS,
            description="指标数据校验 — Great Expectations suite `indicator_data` over this run's new indicator "
            "rows (codes, ownership, periods, value types, units, ranges); warns when rows were quarantined.",
        ),
        dg.AssetCheckSpec(
            "gx_indicator_plausibility_suite",
            asset=RAW_INDICATORS,
            description="核实性审核 — Great Expectations suite `indicator_plausibility` (soft checks) over this "
            "run's new actual values: warns while values await a department's explanation.",
        ),
        dg.AssetCheckSpec(
            "gx_project_progress_suite",
            asset=RAW_PROGRESS,
            description="项目进度校验 — Great Expectations suite `project_progress` over this run's new project "
            "progress rows (projects, milestones, dates, progress, investment); warns when rows were quarantined.",
        ),
        dg.AssetCheckSpec(
            "ledger_integrity",
            asset=RAW_SUBMISSIONS,
            blocking=True,
            description="台账完整 — Every loaded row belongs to an accepted ledger entry and every ledger count "
            "matches the rows loaded: nothing half-loaded. Blocks the models when broken.",
        ),
    ],
    name="ingest_submissions",
    pool=WRITER_POOL,
    description="Parse new files, validate them in batches with Great Expectations (hard checks refuse rows; soft "
    "checks mark implausible values pending an explanation), quarantine what fails, load the rest, write receipts.",
)
def ingest_submissions(context: dg.AssetExecutionContext, planwh: PlanWarehouse):
    settings = planwh.settings
    catalog = planwh.catalog()
    # an archived copy missing or edited fails the same way on every retry, until it is restored
    with (
        not_retried_on(context, ArchiveDamaged),
        writer_lock(settings, f"run {context.run_id}: ingest_submissions"),
    ):
        batches = process_pending(settings, catalog)
        integrity = ledger_problems(settings)
    reports = {r.suite: r for b in batches for r in b.suite_reports}
    examples = [e for b in batches for e in b.examples]
    files = sum(b.files for b in batches)
    statuses: dict[str, int] = {}
    for b in batches:
        for k, v in b.status_counts.items():
            statuses[k] = statuses.get(k, 0) + v
    loaded = {
        INDICATOR: sum(b.rows_loaded[INDICATOR] for b in batches),
        PROGRESS: sum(b.rows_loaded[PROGRESS] for b in batches),
    }
    timings: dict[str, float] = {}
    for b in batches:
        for k, v in b.timings.items():
            timings[k] = round(timings.get(k, 0.0) + v, 3)
    context.log.info(f"processed {files} file(s): {statuses}; rows loaded {loaded}; timings {timings}")
    yield dg.MaterializeResult(
        asset_key=RAW_SUBMISSIONS,
        metadata={
            "files_processed": files,
            **{f"files_{k}": v for k, v in statuses.items()},
            "timings": dg.MetadataValue.json(timings),
        },
    )
    yield dg.MaterializeResult(asset_key=RAW_INDICATORS, metadata={"rows_loaded": loaded[INDICATOR]})
    yield dg.MaterializeResult(asset_key=RAW_PROGRESS, metadata={"rows_loaded": loaded[PROGRESS]})
    yield dg.MaterializeResult(
        asset_key=RAW_QUARANTINE, metadata={"issues_recorded": sum(b.quarantined for b in batches)}
    )
    for kind, check, key in (
        (INDICATOR, "gx_indicator_data_suite", RAW_INDICATORS),
        ("indicator_plausibility", "gx_indicator_plausibility_suite", RAW_INDICATORS),
        (PROGRESS, "gx_project_progress_suite", RAW_PROGRESS),
    ):
        report = reports.get(kind)
        kind_examples = [e for e in examples if e.get("kind", kind) == kind]
        if kind == "indicator_plausibility":  # warnings only: it fails (as a warning) while values await one
            passed = not report.failures if report else True
        else:
            passed = report.success if report else True
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=check,
            passed=passed,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=_check_metadata(report, kind_examples, kind),
            description=None
            if passed
            else "Values await a department's explanation; see marts.fct_submission_issues (needs_explanation)."
            if kind == "indicator_plausibility"
            else "Rows were quarantined; see raw.quarantine / marts.fct_submission_issues.",
        )
    yield dg.AssetCheckResult(
        asset_key=RAW_SUBMISSIONS,
        check_name="ledger_integrity",
        passed=not integrity,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"problems": dg.MetadataValue.json(integrity[:20]), "problem_count": len(integrity)},
    )


def ledger_problems(settings) -> list[dict]:
    """Rows without an accepted ledger entry, or ledger counts that do not match what was loaded."""
    with connect(settings, read_only=False) as con:
        rows = con.execute(
            """
            with loaded as (
                select submission_id, count(*) as n from (
                    select submission_id from raw.indicator_values
                    union all select submission_id from raw.project_progress) group by submission_id
            )
            select coalesce(s.submission_id, l.submission_id) as submission_id, s.status,
                   s.rows_accepted + s.rows_pending_explanation, coalesce(l.n, 0) as rows_loaded
            from raw.submissions s full outer join loaded l on s.submission_id = l.submission_id
            where s.submission_id is null
               or (s.status = 'rejected' and coalesce(l.n, 0) > 0)
               or (s.status <> 'rejected' and s.rows_accepted + s.rows_pending_explanation <> coalesce(l.n, 0))
            limit 100
            """
        ).fetchall()
    return [{"submission_id": r[0], "status": r[1], "rows_accepted": r[2], "rows_loaded": r[3]} for r in rows]
