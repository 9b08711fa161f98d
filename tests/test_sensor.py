"""The new-file sensor: one run per new (department, content), none for an identical re-upload."""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from pipelines.defs.ingest.sensors import new_inbox_files
from tests.conftest import run_job


def tick(cursor: str | None):
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(cursor=cursor, instance=instance)
        result = new_inbox_files(context)
        return result, context.cursor


def requests_of(result) -> list[dg.RunRequest]:
    return [] if isinstance(result, dg.SkipReason) else list(result)


def test_one_run_per_new_file_and_none_for_a_reupload(fresh_warehouse):
    settings = fresh_warehouse
    folder = settings.inbox / "370102_STATS"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("指标编号,统计期,数值\nI23,2023,80000\n", encoding="utf-8")

    result, cursor = tick(None)
    runs = requests_of(result)
    sha = hashlib.sha256((folder / "a.csv").read_bytes()).hexdigest()
    assert [r.run_key for r in runs] == [f"370102_STATS:{sha}"]
    assert runs[0].tags["planwh/trigger"] == "new_file"
    assert runs[0].run_config["ops"]["inbox_files"]["config"]["submission_ids"] == [
        f"370102_STATS-{sha[:16]}"
    ]

    result, cursor = tick(cursor)
    assert isinstance(result, dg.SkipReason)

    (folder / "a (copy).csv").write_bytes((folder / "a.csv").read_bytes())  # identical re-upload
    result, cursor = tick(cursor)
    assert isinstance(result, dg.SkipReason)

    (folder / "a.csv").write_text(
        "指标编号,统计期,数值\nI23,2023,80500\n", encoding="utf-8"
    )  # corrected, same name
    (folder / "b.csv").write_text("指标编号,统计期,数值\nI23,2022,76000\n", encoding="utf-8")
    result, cursor = tick(cursor)
    assert len(requests_of(result)) == 2
    assert len(json.loads(cursor)) == 3  # awaiting publication


def test_the_sensor_run_takes_its_file_and_published_files_are_not_requested_again(fresh_warehouse):
    settings = fresh_warehouse
    folder = settings.inbox / "370102_STATS"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("指标编号,统计期,数值\nI23,2023,80000\n", encoding="utf-8")
    result, cursor = tick(None)
    run = requests_of(result)[0]
    assert run_job("refresh", None, run_config=run.run_config).success
    result, cursor = tick(None)  # even with a lost cursor, what was published is not requested again
    assert isinstance(result, dg.SkipReason) and json.loads(cursor) == []
