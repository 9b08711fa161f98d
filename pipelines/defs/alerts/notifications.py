"""Department notifications: receipts' notices and deadline reminders (催报) to each department's own channel."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from pipelines.defs.ingest.assets import RAW_SUBMISSIONS
from pipelines.defs.owners import PLANNING_OFFICE
from pipelines.defs.resources import PlanWarehouse
from pipelines.defs.transform.assets import planwh_dbt
from pipelines.lib.alerts import departments as notices
from pipelines.lib.alerts.notify import DeliveryPolicy, next_due, write_due_marker
from pipelines.lib.submissions.receipts import department_names
from pipelines.lib.warehouse.connection import connect, writer_lock

NOTIFICATIONS = dg.AssetKey(["ops", "department_notifications"])


@dg.asset(
    key=NOTIFICATIONS,
    deps=[RAW_SUBMISSIONS, get_asset_key_for_model([planwh_dbt], "fct_submission_reminders")],
    group_name="alerts",
    kinds={"python", "duckdb"},
    owners=[PLANNING_OFFICE],  # as the alerts: the planning office answers for what departments are told
    pool="warehouse_writer",
    description=(
        "部门通知 Department notifications: a notice per processed file (the receipt's verdict and first problems, "
        "recorded when the file is loaded) and one deadline reminder (催报) per department and period "
        "(marts.fct_submission_reminders), to <output>/notifications/departments.jsonl and the department's own "
        "webhook (PLANWH_NOTIFY_CONFIG), through the delivery outbox: each sent once, retried with back-off."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "department_notices_delivered",
            asset=NOTIFICATIONS,
            description="部门通知已送达 — Warns while a department's channel fails (its notices wait for a retry).",
        )
    ],
)
def department_notifications(context: dg.AssetExecutionContext, planwh: PlanWarehouse):
    settings = planwh.settings
    names = department_names(planwh.catalog())
    channels = notices.load_channels(set(names))
    for problem in channels.problems:  # the settings check refuses to start with these; a file edited since
        context.log.warning(problem)
    policy = DeliveryPolicy.from_settings(settings)
    # reminders are about today: never for a pinned evaluation date or a replay with a knowledge cutoff
    live = planwh.known_at_date() is None and planwh.as_of_date() == planwh.run_day()
    with writer_lock(settings, f"run {context.run_id}: department notifications"), connect(settings) as con:
        reminders = notices.record(con, notices.reminder_notices(con), notices.REMINDER) if live else 0
        delivery = notices.deliver(con, settings, channels, policy)
        write_due_marker(settings, next_due(con))
        waiting = con.execute(
            """select count(*) from ops.deliveries
               where kind in ('receipt', 'reminder') and delivered_at is null and dismissed_at is null"""
        ).fetchall()[0][0]
    failed = {channel: info["error"] for channel, info in delivery.items() if info.get("error")}
    for channel, error in failed.items():
        context.log.warning(f"notifier {channel} failed ({error}); retried with back-off")
    yield dg.MaterializeResult(
        metadata={
            "reminders_recorded": reminders,
            "reminders_live": live,
            "webhooks_configured": len(channels.webhooks),
            "delivery": dg.MetadataValue.json(delivery),
            "undelivered": waiting,
        }
    )
    yield dg.AssetCheckResult(
        check_name="department_notices_delivered",
        passed=not failed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "failed": dg.MetadataValue.json(failed),
            "config_problems": dg.MetadataValue.json(channels.problems),
        },
        description=None if not failed else f"{len(failed)} department channel(s) failed",
    )
