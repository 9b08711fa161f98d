"""Jobs and schedules (Asia/Shanghai). The nightly refresh and the sensor runs share one job."""

import dagster as dg

from pipelines.lib.warehouse.refresh_scope import FULL_BUILD_TAG

TIMEZONE = "Asia/Shanghai"
RUN_TAGS = {"planwh/writes_warehouse": "true", "dagster/max_retries": "1"}

refresh_job = dg.define_asset_job(
    name="refresh",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    tags=RUN_TAGS,
    description=(
        "Full refresh: take new inbox files, validate and load them, build the dbt models (tests as checks), "
        "update alerts, write the report and exports, publish the analysts' snapshot."
    ),
)

flags_job = dg.define_asset_job(
    name="reevaluate_flags",
    selection=dg.AssetSelection.groups(
        "catalog", "staging", "intermediate", "marts", "alerts", "report", "publish"
    ),
    executor_def=dg.in_process_executor,
    tags=RUN_TAGS,
    description="Re-evaluate status against today's date without ingesting (deadlines pass without new data).",
)

nightly_refresh = dg.ScheduleDefinition(
    name="nightly_refresh",
    job=refresh_job,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={FULL_BUILD_TAG: "true"},
    description=(
        "Every night at 02:00 Asia/Shanghai, a full build with every test; the runs between (new files) "
        "recompute only the plans they touched."
    ),
)

weekly_flags = dg.ScheduleDefinition(
    name="weekly_flag_review",
    job=flags_job,
    cron_schedule="0 7 * * 1",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Mondays 07:00 Asia/Shanghai: statuses and alerts against today's date, even without new files.",
)

defs = dg.Definitions(jobs=[refresh_job, flags_job], schedules=[nightly_refresh, weekly_flags])
