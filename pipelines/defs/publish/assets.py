"""The published, read-only warehouse snapshot analysts query (and the last step of every refresh)."""

from datetime import datetime

import dagster as dg

from pipelines.defs.alerts.assets import ALERTS
from pipelines.defs.alerts.notifications import NOTIFICATIONS
from pipelines.defs.owners import DATA_TEAM
from pipelines.defs.report.assets import EXPORTS, REPORT
from pipelines.defs.resources import PlanWarehouse
from pipelines.lib.outputs.verify import verify_snapshot
from pipelines.lib.settings import TZ
from pipelines.lib.warehouse.connection import connect, writer_lock
from pipelines.lib.warehouse.publish import publish

PUBLISHED = dg.AssetKey(["published", "warehouse"])


@dg.asset(
    key=PUBLISHED,
    deps=[ALERTS, NOTIFICATIONS, REPORT, EXPORTS],
    group_name="publish",
    owners=[DATA_TEAM],
    kinds={"duckdb"},
    pool="warehouse_writer",
    description=(
        "The analysts' copy (发布版): the working warehouse checkpointed and atomically swapped into "
        "warehouse/published/ as a read-only file. Sessions on the previous snapshot keep working."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "snapshot_matches_working_file",
            asset=PUBLISHED,
            description="发布版完整 — The published copy holds every marts, ops and raw table of the working "
            "file with the same row counts.",
        )
    ],
)
def published_warehouse(context: dg.AssetExecutionContext, planwh: PlanWarehouse):
    settings = planwh.settings
    with writer_lock(settings, f"run {context.run_id}: publish"):
        known_at = planwh.known_at_date()
        info = publish(settings, planwh.as_of_date().isoformat(), known_at.isoformat() if known_at else None)
        with connect(settings, read_only=True) as con:
            problems, counts = verify_snapshot(con, settings.published_warehouse)
    published_at = datetime.fromisoformat(info.pop("published_at")).replace(tzinfo=TZ)
    yield dg.MaterializeResult(
        metadata={
            "published_at": dg.MetadataValue.timestamp(published_at),
            **{k: v for k, v in info.items() if v is not None},
        }
    )
    yield dg.AssetCheckResult(
        check_name="snapshot_matches_working_file",
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems[:5]) if problems else None,
        metadata={"problems": dg.MetadataValue.json(problems[:50]), "tables": len(counts)},
    )
