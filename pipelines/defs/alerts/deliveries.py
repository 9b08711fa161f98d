"""Retrying undelivered notifications between refreshes.

A message that failed is retried with back-off (5 min, 10, 20 ... 6 h). Refreshes retry what is due,
but the nightly schedule alone would retry once a day; this sensor starts the small
`deliver_notifications` job when a retry is due. It reads a marker file the delivery code writes
(warehouse/deliveries_due.json), never the working warehouse, which a refresh may be holding."""

import json
from datetime import datetime

import dagster as dg

from pipelines.defs.jobs import RUN_TAGS
from pipelines.lib.alerts import departments
from pipelines.lib.alerts.notify import (
    DeliveryPolicy,
    deliver_due,
    next_due,
    notifiers_from_env,
    write_due_marker,
)
from pipelines.lib.settings import load_settings, now_local
from pipelines.lib.warehouse.connection import WarehouseLocked, connect, writer_lock


@dg.op(
    description="Send the notifications whose retry is due (the delivery rules of docs/operations.md).",
    pool="warehouse_writer",
)
def send_due_notifications(context: dg.OpExecutionContext) -> dict:
    settings = load_settings()
    policy = DeliveryPolicy.from_settings(settings)
    try:
        with writer_lock(settings, f"run {context.run_id}: deliveries", timeout=60), connect(settings) as con:
            # the alerts' channels, and the departments' own (receipts, reminders)
            channels = departments.load_channels()
            summary = deliver_due(
                con,
                notifiers_from_env(settings.output_dir) + departments.notifiers(settings, channels),
                policy,
            )
            write_due_marker(settings, next_due(con))
    except WarehouseLocked:  # a refresh is running: it delivers what is due itself
        context.log.info("the warehouse is busy: the running refresh delivers what is due")
        return {}
    for channel, info in summary.items():
        if info.get("error"):
            context.log.warning(f"notifier {channel} failed again ({info['error']})")
    return summary


deliver_notifications_job = dg.JobDefinition(
    name="deliver_notifications",
    graph_def=dg.GraphDefinition(name="deliver_notifications", node_defs=[send_due_notifications]),
    executor_def=dg.in_process_executor,
    tags=RUN_TAGS,
    description="Retry notifications whose back-off has passed (started by the retry_notifications sensor).",
)


@dg.sensor(
    name="retry_notifications",
    job=deliver_notifications_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts deliver_notifications when a failed notification's next retry is due.",
)
def retry_notifications(context: dg.SensorEvaluationContext):
    marker = load_settings().warehouse.parent / "deliveries_due.json"
    try:
        due = datetime.fromisoformat(json.loads(marker.read_text())["next_attempt_at"])
    except (OSError, ValueError, KeyError):
        return dg.SkipReason("no notification waits for a retry")
    if due > now_local():
        return dg.SkipReason(f"next retry due at {due.isoformat(sep=' ')}")
    return dg.RunRequest(run_key=f"deliveries-{due.isoformat()}")


defs = dg.Definitions(jobs=[deliver_notifications_job], sensors=[retry_notifications])
