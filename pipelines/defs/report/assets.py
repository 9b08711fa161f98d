"""The bilingual progress report (HTML) and the Excel/CSV exports, built from the marts."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from pipelines.defs.alerts.assets import ALERTS
from pipelines.defs.resources import PlanWarehouse
from pipelines.defs.transform.assets import planwh_dbt
from pipelines.lib.outputs.exports import EXPORTED_MARTS, export_marts
from pipelines.lib.outputs.report import build_reports
from pipelines.lib.outputs.validation_docs import build_validation_docs
from pipelines.lib.warehouse.connection import connect, writer_lock

REPORT = dg.AssetKey(["report", "progress_report"])
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
        "dim_indicators",
    )
]


@dg.asset(
    key=REPORT,
    deps=[*_MARTS, ALERTS],
    group_name="report",
    kinds={"html"},
    description=(
        "进度报告 Progress report: one offline HTML file per plan (overview, alerts, a chart per indicator, "
        "compliance, project RAG) in <output>/report/."
    ),
)
def progress_report(context: dg.AssetExecutionContext, planwh: PlanWarehouse) -> dg.MaterializeResult:
    settings = planwh.settings
    with writer_lock(settings, f"run {context.run_id}: report"), connect(settings, read_only=True) as con:
        paths = build_reports(con, settings.output_dir / "report")
        validation = build_validation_docs(settings, con)
    return dg.MaterializeResult(
        metadata={
            "validation_report": dg.MetadataValue.path(str(validation)),
            "files": dg.MetadataValue.json([str(p) for p in paths]),
            "report": dg.MetadataValue.path(str(paths[-1])),
        }
    )


@dg.asset(
    key=EXPORTS,
    deps=[get_asset_key_for_model([planwh_dbt], m) for m in EXPORTED_MARTS],
    group_name="report",
    kinds={"csv", "xlsx"},
    description="导出 Exports: every mart as CSV (UTF-8 with BOM) and one XLSX workbook, Chinese headers, formulas neutralised.",
)
def mart_exports(context: dg.AssetExecutionContext, planwh: PlanWarehouse) -> dg.MaterializeResult:
    settings = planwh.settings
    with writer_lock(settings, f"run {context.run_id}: exports"), connect(settings, read_only=True) as con:
        counts = export_marts(con, settings.output_dir / "exports")
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.json(counts),
            "directory": dg.MetadataValue.path(str(settings.output_dir / "exports")),
        }
    )
