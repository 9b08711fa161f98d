"""Flags -> alerts with a lifecycle, delivered through the configured notifiers."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from pipelines.defs.owners import PLANNING_OFFICE
from pipelines.defs.resources import PlanWarehouse
from pipelines.defs.transform.assets import planwh_dbt
from pipelines.lib.alerts.lifecycle import update_alerts
from pipelines.lib.alerts.notify import (
    DeliveryPolicy,
    count_undelivered,
    deliver_due,
    enqueue_alert_events,
    next_due,
    notifiers_from_env,
    undelivered,
    write_due_marker,
)
from pipelines.lib.settings import now_local
from pipelines.lib.submissions.receipts import department_names
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
        "while they persist, resolved when they clear; events delivered by the file and webhook notifiers "
        "(retried with back-off for up to PLANWH_DELIVERY_GIVE_UP_HOURS, then shown as undelivered)."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "no_open_critical_alerts",
            asset=ALERTS,
            description="无未关闭的严重预警 — Warns while any critical alert is open (a binding indicator off "
            "track or without data past its deadline).",
        ),
        dg.AssetCheckSpec(
            "notifications_delivered",
            asset=ALERTS,
            description="通知已送达 — Warns while a notification was given up on (its channel failed for the whole retry "
            "window) and nobody has retried or dismissed it: `planwh deliveries`.",
        ),
    ],
)
def alerts(context: dg.AssetExecutionContext, planwh: PlanWarehouse):
    settings = planwh.settings
    as_of = planwh.as_of_date()
    policy = DeliveryPolicy.from_settings(settings)
    notifiers = notifiers_from_env(settings.output_dir)
    with writer_lock(settings, f"run {context.run_id}: alerts"), connect(settings) as con:
        # one instant for the events and their queueing: a channel takes no events older than the give-up
        # window, and with a short window the clock's next second would leave this run's own events out
        now = now_local()
        result = update_alerts(con, as_of, replay=planwh.known_at_date() is not None, now=now)
        enqueue_alert_events(
            con,
            [n.channel for n in notifiers],
            policy,
            now=now,
            departments=department_names(planwh.catalog()),
        )
        delivery = deliver_due(con, notifiers, policy)
        given_up = undelivered(con)
        waiting = count_undelivered(con)
        write_due_marker(settings, next_due(con))
        counts = dict(con.execute("select status, count(*) from ops.alerts group by status").fetchall())
    if not result.tracked:
        context.log.warning(
            f"as_of {as_of} is in the future or earlier than the last tracked evaluation, or known_at replays "
            "the past: the live alert history is left unchanged"
        )
    for channel, info in delivery.items():
        if info.get("error"):
            context.log.warning(
                f"notifier {channel} failed ({info['error']}): {info['failed']} message(s) will be retried with "
                f"back-off, {info['gave_up']} given up after {policy.give_up_hours:g} h"
            )
    if given_up:
        context.log.warning(
            f"{len(given_up)} notification(s) could not be delivered within {policy.give_up_hours:g} h and were "
            "given up: `planwh deliveries` lists them (--retry once the channel works, --dismiss when handled)"
        )
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
            "notifications_retrying": waiting["retrying"],
            "notifications_given_up": waiting["given_up"],
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
    yield dg.AssetCheckResult(
        check_name="notifications_delivered",
        passed=not given_up,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "given_up": waiting["given_up"],
            "retrying": waiting["retrying"],
            "messages": dg.MetadataValue.json(
                [
                    {
                        k: str(v)
                        for k, v in m.items()
                        if k in ("channel", "kind", "message_key", "title_en", "gave_up_at", "last_error")
                    }
                    for m in given_up[:20]
                ]
            ),
        },
        description=None
        if not given_up
        else f"{len(given_up)} notification(s) given up after {policy.give_up_hours:g} h of failed delivery",
    )
