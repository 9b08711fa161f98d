"""The published, read-only warehouse snapshot analysts query (and the last step of every refresh)."""

import dagster as dg

from pipelines.defs.alerts.assets import ALERTS
from pipelines.defs.alerts.notifications import NOTIFICATIONS
from pipelines.defs.report.assets import EXPORTS, REPORT
from pipelines.defs.resources import PlanWarehouse
from pipelines.lib.warehouse.connection import writer_lock
from pipelines.lib.warehouse.publish import publish


@dg.asset(
    key=dg.AssetKey(["published", "warehouse"]),
    deps=[ALERTS, NOTIFICATIONS, REPORT, EXPORTS],
    group_name="publish",
    kinds={"duckdb"},
    pool="warehouse_writer",
    description=(
        "The analysts' copy (发布版): the working warehouse checkpointed and atomically swapped into "
        "warehouse/published/ as a read-only file. Sessions on the previous snapshot keep working."
    ),
)
def published_warehouse(context: dg.AssetExecutionContext, planwh: PlanWarehouse) -> dg.MaterializeResult:
    with writer_lock(planwh.settings, f"run {context.run_id}: publish"):
        info = publish(planwh.settings, planwh.as_of_date().isoformat())
    return dg.MaterializeResult(metadata={k: v for k, v in info.items() if v is not None})
