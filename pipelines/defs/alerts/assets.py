"""Flags -> alerts with a lifecycle, delivered through the configured notifiers."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from pipelines.defs.owners import PLANNING_OFFICE
from pipelines.defs.resources import PlanWarehouse
from pipelines.defs.transform.assets import planwh_dbt
from pipelines.lib.alerts.lifecycle import update_alerts
from pipelines.lib.alerts.notify import deliver_pending, notifiers_from_env
from pipelines.lib.warehouse.connection import connect, writer_lock

ALERTS = dg.AssetKey(["ops", "alerts"])


@dg.asset(
    key=ALERTS,
    deps=[get_asset_key_for_model([planwh_dbt], "fct_flags")],
    group_name="alerts",
    owners=[PLANNING_OFFICE],
    kinds={"python", "duckdb"},
    pool="warehouse_writer",
    description=(
        "Alert history (预警): binding indicators off track or without data past their deadline (critical), "
        "at risk (warning), red projects and missing submissions (warning). Opened when first seen, updated "
        "while they persist, resolved when they clear; events delivered by the file and webhook notifiers."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "no_open_critical_alerts",
            asset=ALERTS,
            description="Warns while any critical alert is open (a binding indicator off track or without data).",
        )
    ],
)
def alerts(context: dg.AssetExecutionContext, planwh: PlanWarehouse):
    settings = planwh.settings
    as_of = planwh.as_of_date()
    with writer_lock(settings, f"run {context.run_id}: alerts"), connect(settings) as con:
        result = update_alerts(con, as_of, replay=planwh.known_at_date() is not None)
        delivery = deliver_pending(con, notifiers_from_env(settings.output_dir))
        counts = dict(con.execute("select status, count(*) from ops.alerts group by status").fetchall())
    if not result.tracked:
        context.log.warning(
            f"as_of {as_of} is in the future or earlier than the last tracked evaluation, or known_at replays "
            "the past: the live alert history is left unchanged"
        )
    for channel, info in delivery.items():
        if info.get("error"):
            context.log.warning(f"notifier {channel} failed ({info['error']}); will retry next run")
    yield dg.MaterializeResult(
        metadata={
            "as_of": str(as_of),
            "opened": len(result.opened),
            "changed": len(result.changed),
            "resolved": len(result.resolved),
            "reopened": len(result.reopened),
            "open_alerts": counts.get("open", 0),
            "open_critical": len(result.open_critical),
            "delivery": dg.MetadataValue.json(delivery),
        }
    )
    critical = result.open_critical
    yield dg.AssetCheckResult(
        check_name="no_open_critical_alerts",
        passed=not critical,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "open_critical": len(critical),
            "alerts": dg.MetadataValue.json(
                [
                    {k: str(v) for k, v in a.items() if k in ("alert_id", "title_en", "detail_en")}
                    for a in critical[:20]
                ]
            ),
        },
        description=None if not critical else f"{len(critical)} critical alert(s) open",
    )
