"""Freshness of the analysts' snapshot: a check that fails when the last publication is too old."""

from datetime import timedelta

import dagster as dg

from pipelines.defs.publish.assets import PUBLISHED

# Analysts expect last night's data every morning: a snapshot older than a day and two hours means a
# nightly refresh (02:00) did not publish.
STALE_AFTER = timedelta(hours=26)

# Fails when the last publication is older than STALE_AFTER; evaluated by its sensor every 10 minutes,
# so a night that did not publish shows in the UI (and in the asset's health) the next morning.
# Severity error, as docs/engineers.md lists it: a stale snapshot is a failure of the nightly promise, not
# a warning (Dagster's default); it does not block anything (nothing runs after it).
freshness_checks = dg.build_last_update_freshness_checks(
    assets=[PUBLISHED], lower_bound_delta=STALE_AFTER, severity=dg.AssetCheckSeverity.ERROR
)
freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=freshness_checks,
    name="published_snapshot_freshness",
    minimum_interval_seconds=600,
    default_status=dg.DefaultSensorStatus.RUNNING,
)

defs = dg.Definitions(asset_checks=freshness_checks, sensors=[freshness_sensor])
