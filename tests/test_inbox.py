"""Inbox semantics: files still being written wait, edits that keep size and mtime are seen, earlier
content sent again supersedes, editor and transfer leftovers are noted and ignored (issue 17)."""

from __future__ import annotations

import os
import shutil
import time

import dagster as dg
import duckdb

from pipelines.defs.ingest.sensors import new_inbox_files
from pipelines.lib.ingest.inbox import discover_and_archive
from pipelines.lib.ingest.load import process_pending
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.settings import load_settings
from tests.conftest import AS_OF, query, run_job

HEADER = "指标编号,统计期,数值\n"
STATS = "370102_STATS"


def ingest(settings) -> dict:
    catalog = Catalog.load(settings.seeds_dir)
    found = discover_and_archive(settings, catalog)
    process_pending(settings, catalog)
    return found


def rows(settings, sql: str) -> list[dict]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return query(con, sql)
    finally:
        con.close()


def values(settings) -> list[tuple]:
    return [
        (r["period"], r["value"])
        for r in rows(settings, "select period, value from raw.indicator_values order by received_at, period")
    ]


def discover(settings) -> dict:
    return discover_and_archive(settings, Catalog.load(settings.seeds_dir))


def test_a_half_written_file_is_held_back_then_loaded_once(fresh_warehouse, monkeypatch):
    monkeypatch.setenv("PLANWH_INBOX_QUIET_SECONDS", "6")
    settings = load_settings()
    path = settings.inbox / STATS / "2023.csv"
    path.parent.mkdir(parents=True)
    with dg.DagsterInstance.ephemeral() as instance:  # warm up (imports, catalog) before the clock matters
        assert isinstance(new_inbox_files(dg.build_sensor_context(instance=instance)), dg.SkipReason)
    with path.open("w", encoding="utf-8") as fh:  # "37.9" cut after its first digit, as a slow copy leaves it
        fh.write(HEADER + "I23,2023,3")
        fh.flush()
        found = discover(settings)
        assert found["new_receipts"] == 0 and found["waiting"] == 1
        assert found["waiting_files"] == [f"{STATS}/2023.csv"]
        with dg.DagsterInstance.ephemeral() as instance:
            tick = new_inbox_files(dg.build_sensor_context(instance=instance))
        assert isinstance(tick, dg.SkipReason) and "still changing" in tick.skip_message
        fh.write("7.9\n")  # the rest arrives
    assert discover(settings)["new_receipts"] == 0  # changed just now: still waiting

    time.sleep(6.2)
    with dg.DagsterInstance.ephemeral() as instance:
        tick = new_inbox_files(dg.build_sensor_context(instance=instance))
    assert isinstance(tick, dg.RunRequest) and tick.tags["planwh/files"] == "1"  # a later tick takes it
    found = ingest(settings)
    assert found["new_receipts"] == 1 and found["waiting"] == 0
    assert values(settings) == [("2023", 37.9)]
    assert ingest(settings)["new_receipts"] == 0 and values(settings) == [("2023", 37.9)]  # loaded once


def test_backfilled_content_never_waits(fresh_warehouse, monkeypatch):
    """The migrated history (raw/backfill/receipts.csv) is complete by definition: the shipped samples
    load at once even right after `make samples` wrote them."""
    monkeypatch.setenv("PLANWH_INBOX_QUIET_SECONDS", "3600")
    settings = load_settings()
    from tests.conftest import copy_sample_inbox

    copy_sample_inbox(settings.raw_dir)
    found = discover_and_archive(settings, Catalog.load(settings.seeds_dir))
    assert found["waiting"] == 0 and found["new_receipts"] >= 460


def test_same_size_edits_and_a_to_b_to_a_end_with_the_latest_content(fresh_warehouse, tmp_path):
    settings = fresh_warehouse
    folder = settings.inbox / STATS
    folder.mkdir(parents=True)
    edited, moving = folder / "2022.csv", folder / "2023.csv"

    # (b) an edit that keeps the size, with the timestamp put back as `cp -p` / `rsync -t` do
    edited.write_text(HEADER + "I23,2022,76000\n", encoding="utf-8")
    before = edited.stat()
    # (c) A -> B -> A, where A comes back from a saved copy with its old timestamp (cp -p)
    a = tmp_path / "A.csv"
    a.write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
    shutil.copy2(a, moving)
    assert ingest(settings)["new_receipts"] == 2

    # receipt times are kept to the second: were A's receipt and B's in the same second, A would still count
    # as the department's latest word and its return would change nothing (failed ~1 run in 10 when the two
    # ingests were quick); the department's next word comes at least a second later here, and again below
    time.sleep(1.1)
    edited.write_text(HEADER + "I23,2022,76500\n", encoding="utf-8")
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (edited.stat().st_size, edited.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    moving.write_text(HEADER + "I23,2023,80500\n", encoding="utf-8")  # B
    assert ingest(settings)["new_receipts"] == 2

    time.sleep(1.1)  # (receipt times kept to the second, see above)
    shutil.copy2(a, moving)  # A again: the department's latest word
    found = ingest(settings)
    assert found["new_receipts"] == 1 and found["resubmissions"] == 1
    assert ingest(settings)["new_receipts"] == 0  # taken once

    ledger = rows(settings, "select * from raw.submissions order by received_at, submission_id")
    resent = [r for r in ledger if r["resubmission_of"]]
    assert len(resent) == 1 and resent[0]["submission_id"].endswith("-r2")
    assert resent[0]["resubmission_of"] == next(
        r["submission_id"]
        for r in ledger
        if r["file_sha256"] == resent[0]["file_sha256"] and not r["resubmission_of"]
    )
    assert resent[0]["status"] == "accepted" and resent[0]["rows_accepted"] == 1

    # the models agree: the latest word wins for both years
    assert run_job("refresh", AS_OF).success
    con = duckdb.connect(str(settings.published_warehouse), read_only=True)
    try:
        latest = {
            r["period"]: r["value"]
            for r in query(
                con,
                """select period, value from marts.fct_indicator_value_history
                   where indicator_code = 'I23' and is_latest""",
            )
        }
        ledger_mart = query(con, "select submission_id, resubmission_of from marts.fct_submissions")
    finally:
        con.close()
    assert latest == {"2022": 76500.0, "2023": 80000.0}
    assert sum(1 for r in ledger_mart if r["resubmission_of"]) == 1


def test_an_identical_copy_of_the_latest_content_changes_nothing(fresh_warehouse):
    settings = fresh_warehouse
    folder = settings.inbox / STATS
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
    assert ingest(settings)["new_receipts"] == 1
    shutil.copy2(folder / "a.csv", folder / "a (copy).csv")
    (folder / "a.csv").touch()  # a touched or chmod-ed file is not a new submission either
    found = ingest(settings)
    assert found["new_receipts"] == 0 and found["resubmissions"] == 0


def test_editor_and_transfer_leftovers_are_ignored_with_a_note(fresh_warehouse):
    settings = fresh_warehouse
    folder = settings.inbox / STATS
    folder.mkdir(parents=True)
    leftovers = [
        "~$2023年指标.xlsx",
        ".~lock.2023年指标.xlsx#",
        "2023.csv.part",
        "2023.csv.crdownload",
        "x.tmp",
        ".DS_Store",
    ]
    for name in leftovers:
        (folder / name).write_bytes(b"I23,2023,1\n")
    (folder / "2023.csv").write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
    found = ingest(settings)
    assert found["ignored"] == len(leftovers)
    ledger = {r["original_name"]: r for r in rows(settings, "select * from raw.submissions")}
    for name in leftovers:
        assert (
            ledger[name]["status"] == "ignored" and ledger[name]["reason_code"] == "hidden_or_temporary_file"
        )
        assert ledger[name]["rows_total"] == 0 and "ignored" in ledger[name]["message_en"]
    assert ledger["2023.csv"]["status"] == "accepted"
    archived = [p.name for p in (settings.archive / "sha256").rglob("*") if p.is_file()]
    assert len(archived) == 1  # leftovers are never read nor archived

    for name in leftovers:  # a leftover that changes (Excel rewrites its owner file) is not noted again
        (folder / name).write_bytes(b"something else\n")
    assert ingest(settings)["new_receipts"] == 0
    assert values(settings) == [("2023", 80000.0)]
