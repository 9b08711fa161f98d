"""The bilingual progress report (HTML) and the Excel/CSV exports, built from the marts."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from pipelines.defs.alerts.assets import ALERTS
from pipelines.defs.owners import PLANNING_OFFICE
from pipelines.defs.resources import PlanWarehouse
from pipelines.defs.transform.assets import planwh_dbt
from pipelines.lib.outputs.evaluation import plans, verify_docx, write_evaluations
from pipelines.lib.outputs.exports import EXPORTED_MARTS, export_marts
from pipelines.lib.outputs.report import MAX_PLANS_WITH_DETAIL, build_reports
from pipelines.lib.outputs.validation_docs import build_validation_docs
from pipelines.lib.outputs.verify import verify_exports, verify_report
from pipelines.lib.warehouse.connection import connect, writer_lock

REPORT = dg.AssetKey(["report", "progress_report"])
EVALUATION = dg.AssetKey(["report", "evaluation_report"])
EXPORTS = dg.AssetKey(["report", "mart_exports"])

_MARTS = [
    get_asset_key_for_model([planwh_dbt], m)
    for m in (
        "fct_indicator_attainment",
        "fct_indicator_status_latest",
        "fct_project_status",
        "fct_project_milestones",
        "fct_department_scorecard",
        "fct_submissions",
        "fct_submission_compliance",
        "dim_indicators",
        "dim_projects",
        "dim_plans",
    )
]


@dg.asset(
    key=REPORT,
    deps=[*_MARTS, ALERTS],
    group_name="report",
    owners=[PLANNING_OFFICE],
    kinds={"html"},
    description=(
        "进度报告 Progress report: one offline HTML file per plan (overview, alerts, a chart per indicator, "
        "compliance, project RAG) in <output>/report/."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "report_matches_marts",
            asset=REPORT,
            description="报告与数据一致 — The index lists every plan and each plan's page shows every indicator "
            "and project the marts hold for it; no page is missing or empty.",
        )
    ],
)
def progress_report(context: dg.AssetExecutionContext, planwh: PlanWarehouse):
    settings = planwh.settings
    with writer_lock(settings, f"run {context.run_id}: report"), connect(settings, read_only=True) as con:
        paths = build_reports(con, settings.output_dir / "report")
        validation = build_validation_docs(settings, con)
        problems, counts = verify_report(con, paths)
    yield dg.MaterializeResult(
        metadata={
            "validation_report": dg.MetadataValue.path(str(validation)),
            "files": dg.MetadataValue.json([str(p) for p in paths]),
            "report": dg.MetadataValue.path(str(paths[-1])),
        }
    )
    yield _check("report_matches_marts", problems, counts)


def _check(name: str, problems: list[str], counts: dict) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name,
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems[:5]) if problems else None,
        metadata={
            "problems": dg.MetadataValue.json(problems[:50]),
            "problem_count": len(problems),
            "counts": dg.MetadataValue.json(counts),
        },
    )


@dg.asset(
    key=EVALUATION,
    deps=_MARTS,
    group_name="report",
    owners=[PLANNING_OFFICE],
    kinds={"html", "docx"},
    description=(
        "评估报告 Evaluation report per plan: 总结评估 once the evaluation date is after the plan's last year, "
        "中期评估 inside it; an offline HTML page and a .docx (Word/WPS) in <output>/evaluation/."
    ),
)
def evaluation_report(context: dg.AssetExecutionContext, planwh: PlanWarehouse) -> dg.MaterializeResult:
    settings = planwh.settings
    with writer_lock(settings, f"run {context.run_id}: evaluation"), connect(settings, read_only=True) as con:
        written = write_evaluations(con, settings.output_dir / "evaluation", limit=MAX_PLANS_WITH_DETAIL)
        plan_count = len(plans(con))
    return dg.MaterializeResult(
        metadata={
            "note": (
                f"{plan_count} plans: more than {MAX_PLANS_WITH_DETAIL}, so none is written nightly; "
                "use `planwh evaluation --plan PLAN_ID`"
                if plan_count > MAX_PLANS_WITH_DETAIL
                else f"{len(written)} of {plan_count} plan(s) evaluated"
                + ("" if len(written) == plan_count else "; the others begin after the evaluation date")
            ),
            "plans": dg.MetadataValue.json(
                {
                    w["plan_id"]: {"kind": w["kind"], "as_of": w["as_of"], "statuses": w["status_counts"]}
                    for w in written
                }
            ),
            "files": dg.MetadataValue.json([str(w[k]) for w in written for k in ("docx", "html")]),
            "directory": dg.MetadataValue.path(str(settings.output_dir / "evaluation")),
        }
    )


@dg.asset_check(
    asset=EVALUATION,
    description="评估报告与数据一致 — The .docx of each plan opens, and its table of main indicators and "
    "overview counts equal the marts.",
)
def evaluation_matches_marts(planwh: PlanWarehouse) -> dg.AssetCheckResult:
    settings = planwh.settings
    problems: dict[str, list[str]] = {}
    checked = 0
    with writer_lock(settings, "evaluation check"), connect(settings, read_only=True) as con:
        for plan in plans(con):
            path = settings.output_dir / "evaluation" / f"evaluation_{plan['plan_id']}.docx"
            if not path.exists():
                continue
            checked += 1
            found = verify_docx(con, plan["plan_id"], path)
            if found:
                problems[plan["plan_id"]] = found
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"plans_checked": checked, "problems": dg.MetadataValue.json(problems)},
    )


@dg.asset(
    key=EXPORTS,
    deps=[get_asset_key_for_model([planwh_dbt], m) for m in EXPORTED_MARTS],
    group_name="report",
    owners=[PLANNING_OFFICE],
    kinds={"csv", "xlsx"},
    description="导出 Exports: every mart as CSV (UTF-8 with BOM) and one XLSX workbook, Chinese headers, formulas neutralised.",
    check_specs=[
        dg.AssetCheckSpec(
            "exports_match_marts",
            asset=EXPORTS,
            description="导出与数据一致 — Every exported mart has its CSV with exactly the mart's row count, and "
            "the workbook's contents sheet states the same counts.",
        )
    ],
)
def mart_exports(context: dg.AssetExecutionContext, planwh: PlanWarehouse):
    settings = planwh.settings
    with writer_lock(settings, f"run {context.run_id}: exports"), connect(settings, read_only=True) as con:
        counts = export_marts(con, settings.output_dir / "exports")
        problems, compared = verify_exports(con, settings.output_dir / "exports")
    yield dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.json(counts),
            "directory": dg.MetadataValue.path(str(settings.output_dir / "exports")),
        }
    )
    yield _check("exports_match_marts", problems, compared)
