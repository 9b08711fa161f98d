"""Housekeeping for daemon setups: the retention rules of docs/operations.md, once a day.

CLI runs (`make run`) apply them after every run; a deployment that only runs the daemon gets them
from this schedule. It writes nothing in the warehouse, so it needs no writer slot."""

import dagster as dg

from pipelines.lib.settings import load_settings
from pipelines.lib.warehouse.housekeeping import end_orphans
from pipelines.maintenance import apply_retention


@dg.op(description="Delete old runs and logs, vacuum Dagster storage, remove leftovers of dead runs.")
def apply_retention_rules(context: dg.OpExecutionContext) -> dict:
    settings = load_settings()
    ended = end_orphans(settings)
    summary = apply_retention(context.instance, settings)  # with the dead writers' temporary files
    summary.update(orphans_ended=len(ended))
    context.log.info(f"housekeeping: {summary}")
    return summary


housekeeping_job = dg.JobDefinition(
    name="housekeeping",
    graph_def=dg.GraphDefinition(name="housekeeping", node_defs=[apply_retention_rules]),
    executor_def=dg.in_process_executor,
    description="Retention: Dagster runs and event logs past PLANWH_RETAIN_RUN_DAYS (failures "
    "PLANWH_RETAIN_FAILED_RUN_DAYS), pre-rebuild copies, run logs, leftovers of dead runs.",
)

housekeeping_schedule = dg.ScheduleDefinition(
    name="daily_housekeeping",
    job=housekeeping_job,
    cron_schedule="30 4 * * *",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 04:30 Asia/Shanghai, after the nightly refresh.",
)

defs = dg.Definitions(jobs=[housekeeping_job], schedules=[housekeeping_schedule])
