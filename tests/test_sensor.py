"""The new-file sensor: files dropped together cost one refresh (one run request per evaluation, run key =
the sorted set of their submission ids), none for an identical re-upload or for files a run has taken."""

from __future__ import annotations

import json
import time
import uuid

import dagster as dg
import duckdb

from pipelines.defs.ingest.sensors import RUN_KEY_MAX_CHARS, new_inbox_files, run_key_for
from pipelines.lib.ingest.inbox import RACY_SECONDS, make_submission_id, sha256_file
from tests.conftest import query, run_job

HEADER = "指标编号,统计期,数值\n"


def tick(cursor: str | None, instance: dg.DagsterInstance):
    context = dg.build_sensor_context(cursor=cursor, instance=instance)
    result = new_inbox_files(context)
    return result, context.cursor


def drop(settings, count: int, start: int = 0) -> list[str]:
    """`count` one-row indicator files from the statistics bureau; returns their submission ids."""
    folder = settings.inbox / "370102_STATS"
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for i in range(start, start + count):
        path = folder / f"报送-{i:02d}.csv"
        path.write_text(f"{HEADER}I23,{2021 + i % 5},{80000 + i}\n", encoding="utf-8")
        time.sleep(0.01)  # in order of arrival even where file times are kept to a clock tick (4 ms)
        ids.append(make_submission_id("370102_STATS", sha256_file(path)))
    return ids


def test_twenty_files_dropped_together_make_one_run_request(fresh_warehouse):
    settings = fresh_warehouse
    ids = drop(settings, 20)
    with dg.DagsterInstance.ephemeral() as instance:
        result, cursor = tick(None, instance)
        assert isinstance(result, dg.RunRequest)
        assert result.run_key == ",".join(sorted(ids))
        assert result.tags["planwh/files"] == "20" and result.tags["planwh/trigger"] == "new_files"
        assert not result.run_config  # the run takes every pending file, not a list
        assert json.loads(cursor) == sorted(ids)

        result, cursor = tick(cursor, instance)  # nothing new: no second run
        assert isinstance(result, dg.SkipReason)

        folder = settings.inbox / "370102_STATS"
        # an identical re-upload of the latest file (a copy of an earlier one, after later ones, is sent again)
        (folder / "copy.csv").write_bytes((folder / "报送-19.csv").read_bytes())
        result, cursor = tick(cursor, instance)
        assert isinstance(result, dg.SkipReason)

        bare = new_inbox_files(dg.build_sensor_context())  # no instance, no cursor: still one request
        assert isinstance(bare, dg.RunRequest) and bare.run_key == ",".join(sorted(ids))

        more = drop(settings, 2, start=20)  # a later drop: one run for everything not yet taken
        result, cursor = tick(cursor, instance)
        assert isinstance(result, dg.RunRequest) and result.run_key == ",".join(sorted(ids + more))


def test_files_arriving_before_a_started_refresh_reads_the_inbox_ride_along(fresh_warehouse):
    settings = fresh_warehouse
    drop(settings, 3)
    with dg.DagsterInstance.ephemeral() as instance:
        started = dg.DagsterRun(
            job_name="refresh", run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED
        )
        instance.add_run(started)
        result, cursor = tick(None, instance)
        assert isinstance(result, dg.SkipReason) and started.run_id in result.skip_message
        assert json.loads(cursor) == []  # not requested: a later tick asks if that run never takes them

    with dg.DagsterInstance.ephemeral() as instance:  # a refresh whose process died is not waited for
        dead = dg.DagsterRun(
            job_name="refresh",
            run_id=str(uuid.uuid4()),
            status=dg.DagsterRunStatus.STARTED,
            tags={"planwh/pid": str(2**22 + 12345)},
        )
        instance.add_run(dead)
        result, cursor = tick(None, instance)
        assert isinstance(result, dg.RunRequest)


def test_a_long_set_of_files_is_keyed_by_its_digest():
    ids = [f"370102_STATS-{i:016x}" for i in range(500)]
    key = run_key_for(ids)
    assert len(key) < RUN_KEY_MAX_CHARS and key.startswith("500 files sha256:")
    assert key == run_key_for(list(reversed(ids)))  # a set: order does not matter


def test_the_sensor_run_loads_the_twenty_files_once_each(fresh_warehouse):
    settings = fresh_warehouse
    ids = drop(settings, 20)
    time.sleep(RACY_SECONDS)  # a hash taken within this of a file's change is not trusted by the next scan
    with dg.DagsterInstance.ephemeral() as instance:
        result, cursor = tick(None, instance)
        assert isinstance(result, dg.RunRequest)
        run = run_job("refresh", None, run_config=result.run_config)
        assert run.success
        result, cursor = tick(None, instance)  # even with a lost cursor, what a run took is not asked again
        assert isinstance(result, dg.SkipReason) and json.loads(cursor) == []

        # a sensor without its own hash cache (a new deployment) starts from the run's: nothing is hashed again
        sensor_cache = settings.inbox_index.with_name("sensor_inbox_index.json")
        sensor_cache.unlink()
        result, cursor = tick(None, instance)
        assert isinstance(result, dg.SkipReason) and json.loads(cursor) == []
        hashed = {k: v["hashed"] for k, v in json.loads(sensor_cache.read_text()).items()}
        by_run = {k: v["hashed"] for k, v in json.loads(settings.inbox_index.read_text()).items()}
        assert len(hashed) == 20 and hashed == by_run
    con = duckdb.connect(str(settings.published_warehouse), read_only=True)
    try:
        ledger = query(con, "select submission_id, status, rows_accepted from raw.submissions")
        loaded = query(con, "select submission_id, count(*) as n from raw.indicator_values group by 1")
    finally:
        con.close()
    assert sorted(r["submission_id"] for r in ledger) == sorted(ids)
    assert {r["submission_id"]: r["n"] for r in loaded} == {sid: 1 for sid in ids}
