"""The Dagster definitions: they load, and their asset graph, checks, jobs, schedules and sensors
match the committed snapshot (tests/snapshots/definitions.json; UPDATE_SNAPSHOTS=1 rewrites it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from pipelines.defs import resources
from pipelines.defs.resources import PlanWarehouse  # a resource type Dagster resolves by name

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def describe() -> dict:
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    checks = sorted(f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys)
    deps = {
        k.to_user_string(): sorted(p.to_user_string() for p in graph.get(k).parent_keys)
        for k in graph.get_all_asset_keys()
    }
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    return {
        "assets": keys,
        "groups": groups,
        "dependencies": deps,
        "checks": checks,
        "jobs": sorted({j.name for j in defs.jobs}),
        "schedules": sorted((s.name, s.cron_schedule, s.execution_timezone) for s in defs.schedules),
        "sensors": sorted(s.name for s in defs.sensors),
    }


def test_definitions_load_and_match_the_snapshot():
    current = json.loads(json.dumps(describe()))
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(
            json.dumps(current, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
        )
    assert current == json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def test_lineage_runs_left_to_right():
    deps = describe()["dependencies"]
    assert deps["raw/submissions"] == ["inbox_files"]
    assert "raw/indicator_values" in deps["staging/stg_raw__indicator_values"]
    assert "staging/stg_raw__indicator_values" in deps["intermediate/int_indicator_values_versioned"]
    assert "marts/fct_flags" in deps["ops/alerts"]
    assert "ops/alerts" in deps["report/progress_report"]
    assert {"ops/alerts", "report/progress_report", "report/mart_exports"} <= set(deps["published/warehouse"])


def test_groups_come_from_the_dbt_folders_and_descriptions_from_dbt_docs():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    groups = describe()["groups"]
    assert (
        groups["marts/fct_indicator_attainment"] == "marts"
        and groups["staging/stg_raw__submissions"] == "staging"
    )
    assert groups["catalog/catalog_main_indicators"] == "catalog" and groups["inbox_files"] == "ingest"
    spec = graph.get(dg.AssetKey(["marts", "fct_indicator_attainment"]))
    assert "完成进度" in (spec.description or "")
    columns = spec.metadata.get("dagster/column_schema")
    assert columns is not None and any(c.name == "status" for c in columns.columns)


def test_schedules_use_shanghai_time():
    schedules = describe()["schedules"]
    assert ["nightly_refresh", "0 2 * * *", "Asia/Shanghai"] in [list(s) for s in schedules]
    assert ["weekly_flag_review", "0 7 * * 1", "Asia/Shanghai"] in [list(s) for s in schedules]


def test_every_step_of_a_run_evaluates_the_day_the_run_was_created(fresh_warehouse, monkeypatch):
    """Midnight (Asia/Shanghai) passes between two steps of a run evaluated as of "today": the later step
    still evaluates the run's day, so the marts, the alerts and the snapshot agree on one date."""
    from datetime import timedelta

    from pipelines.lib.settings import TZ, today_local

    seen = []
    tomorrow = today_local() + timedelta(days=1)

    @dg.asset
    def before_midnight(planwh: PlanWarehouse):
        seen.append(planwh.as_of_date())
        monkeypatch.setattr(resources, "today_local", lambda: tomorrow)  # the clock's day changes here

    @dg.asset(deps=[before_midnight])
    def after_midnight(planwh: PlanWarehouse):
        seen.extend([planwh.as_of_date(), planwh.run_day()])

    job = dg.Definitions(
        assets=[before_midnight, after_midnight], resources={"planwh": PlanWarehouse()}
    ).resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance)
        assert result.success
        created = instance.get_run_record_by_id(result.run_id).create_timestamp
    assert seen == [created.astimezone(TZ).date()] * 3 and tomorrow not in seen
    assert PlanWarehouse().as_of_date() == tomorrow  # outside a run: the clock's day
