"""Inbox semantics: files still being written wait, edits that keep size and mtime are seen, earlier
content sent again supersedes, editor and transfer leftovers are noted and ignored (issue 17)."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.defs.ingest.sensors import new_inbox_files
from pipelines.lib.ingest.inbox import InboxFile, KnownReceipts, discover_and_archive, make_submission_id
from pipelines.lib.ingest.load import process_pending
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.settings import TZ, load_settings
from pipelines.lib.submissions.reasons import Issue
from tests.conftest import AS_OF, dbt, query

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

    # no pauses: a department's words are ordered by when each file reached the inbox, to the microsecond
    edited.write_text(HEADER + "I23,2022,76500\n", encoding="utf-8")
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (edited.stat().st_size, edited.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    moving.write_text(HEADER + "I23,2023,80500\n", encoding="utf-8")  # B
    assert ingest(settings)["new_receipts"] == 2

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

    # the models agree: the latest word wins for both years (only the two marts and what they read are
    # built, in the working warehouse: the refresh's other steps are tested elsewhere)
    built = dbt(
        "build",
        "--select",
        "+fct_indicator_value_history",
        "+fct_submissions",
        "--exclude-resource-type",
        "unit_test",
        "test",
        env=dict(os.environ, PLANWH_AS_OF=AS_OF),
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout[-3000:]
    con = duckdb.connect(str(settings.warehouse), read_only=True)
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


def _in_force(settings, period: str) -> float:
    """The value the department's latest word gives, as the models order words (receipt time, then id)."""
    return rows(
        settings,
        f"""select value from raw.indicator_values where period = '{period}'
            order by received_at desc, submission_id desc limit 1""",
    )[0]["value"]


def test_a_then_b_then_a_under_new_names_within_one_batch(fresh_warehouse):
    """A portal clerk uploads A, then a correction B, then A again (B was the mistake): three files under
    new names, all settled by the time one discovery reads them. The second A supersedes B."""
    settings = fresh_warehouse
    folder = settings.inbox / STATS
    folder.mkdir(parents=True)
    for name, value in (("1_A.csv", 80000), ("2_B.csv", 80500), ("3_A_again.csv", 80000)):
        (folder / name).write_text(HEADER + f"I23,2023,{value}\n", encoding="utf-8")
        time.sleep(0.02)  # a few clock ticks apart, as any two uploads are
    found = ingest(settings)
    assert found["new_receipts"] == 3 and found["resubmissions"] == 1
    ledger = rows(settings, "select * from raw.submissions order by received_at, submission_id")
    assert [r["original_name"] for r in ledger] == ["1_A.csv", "2_B.csv", "3_A_again.csv"]
    assert ledger[2]["resubmission_of"] == ledger[0]["submission_id"]
    assert ledger[2]["submission_id"].endswith("-r2")
    assert _in_force(settings, "2023") == 80000.0
    assert ingest(settings)["new_receipts"] == 0  # read the same way the next time


def test_a_returning_while_b_settles_is_not_lost(fresh_warehouse, monkeypatch):
    """A and B settle and are recorded while the second A is still inside its quiet period: its arrival
    (before that discovery) still comes after B's, so the next discovery takes it as a re-submission.
    Until 2026-12-02 it was compared with B's discovery time (later than its arrival: the pause below)
    and lost for good."""
    # a quiet period long enough that the discovery below finds A's return still settling on a busy machine
    monkeypatch.setenv("PLANWH_INBOX_QUIET_SECONDS", "4")
    settings = load_settings()
    catalog = Catalog.load(settings.seeds_dir)  # loaded before the clock matters
    folder = settings.inbox / STATS
    folder.mkdir(parents=True)
    (folder / "1_A.csv").write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
    time.sleep(0.02)
    (folder / "2_B.csv").write_text(HEADER + "I23,2023,80500\n", encoding="utf-8")
    time.sleep(4.2)
    (folder / "3_A_again.csv").write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
    time.sleep(1.1)  # B's discovery comes a second after A's return, which is still settling
    found = discover_and_archive(settings, catalog)
    process_pending(settings, catalog)
    assert found["new_receipts"] == 2 and found["waiting"] == 1
    assert _in_force(settings, "2023") == 80500.0
    time.sleep(4.2)
    found = ingest(settings)
    assert found["new_receipts"] == 1 and found["resubmissions"] == 1
    assert _in_force(settings, "2023") == 80000.0


def test_renaming_or_chmod_of_files_already_judged_changes_nothing(fresh_warehouse):
    """Tidying the inbox (renaming files into a folder, fixing permissions) moves their inode change
    time: a file already judged — recorded, or skipped as an identical copy — is still not sent again;
    a new copy of it is."""
    settings = fresh_warehouse
    folder = settings.inbox / STATS
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
    assert ingest(settings)["new_receipts"] == 1
    shutil.copyfile(folder / "a.csv", folder / "a_copy.csv")  # identical to the latest word: skipped
    assert ingest(settings)["new_receipts"] == 0
    (folder / "b.csv").write_text(HEADER + "I23,2023,80500\n", encoding="utf-8")
    assert ingest(settings)["new_receipts"] == 1

    time.sleep(0.02)
    os.chmod(folder / "a_copy.csv", 0o600)
    (folder / "old").mkdir()
    (folder / "a.csv").rename(folder / "old" / "a.csv")
    found = ingest(settings)
    assert found["new_receipts"] == 0 and found["resubmissions"] == 0
    assert _in_force(settings, "2023") == 80500.0

    # the department deletes the old file and sends A again: a new file, though ext4 usually gives it the
    # deleted file's inode number (its modification time tells them apart)
    (folder / "old" / "a.csv").unlink()
    (folder / "a_again.csv").write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
    found = ingest(settings)
    assert found["new_receipts"] == 1 and found["resubmissions"] == 1
    assert _in_force(settings, "2023") == 80000.0


def test_a_file_refused_for_its_type_and_renamed_as_told_is_read(fresh_warehouse):
    """rename_me.txt is refused (only .csv/.xlsx); the department renames it .csv as the receipt says: the
    same bytes, but now a file the contract reads. Kept beside the .txt, neither is read again later."""
    settings = fresh_warehouse
    folder = settings.inbox / STATS
    folder.mkdir(parents=True)
    (folder / "rename_me.txt").write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
    assert ingest(settings)["new_receipts"] == 1
    refused = rows(settings, "select status, reason_code from raw.submissions")
    assert refused == [{"status": "rejected", "reason_code": "unsupported_format"}]
    shutil.copyfile(folder / "rename_me.txt", folder / "rename_me.csv")  # both now in the inbox
    assert ingest(settings)["new_receipts"] == 1
    assert values(settings) == [("2023", 80000.0)]
    assert ingest(settings)["new_receipts"] == 0  # and nothing more on the next discoveries
    (folder / "rename_me.txt").unlink()
    assert ingest(settings)["new_receipts"] == 0 and len(values(settings)) == 1


def test_a_rebuild_carries_the_memory_over_empty_or_not(fresh_warehouse):
    from pipelines.lib.warehouse.connection import connect
    from pipelines.lib.warehouse.rebuild import carry_over

    settings = fresh_warehouse
    backup = settings.warehouse.with_name("before-rebuild.duckdb")
    with connect(settings):
        pass  # a warehouse whose inbox never had a settled file
    os.replace(settings.warehouse, backup)
    assert "ops.inbox_files" in carry_over(settings, backup)

    folder = settings.inbox / STATS
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
    assert ingest(settings)["new_receipts"] == 1
    os.replace(settings.warehouse, backup)
    assert "ops.inbox_files" in carry_over(settings, backup)
    assert [r["original_name"] for r in rows(settings, "select original_name from ops.inbox_files")] == [
        "a.csv"
    ]


def test_receipts_logged_by_a_discovery_that_died_are_restored_and_recorded_logs_are_not_read_again(
    fresh_warehouse, monkeypatch
):
    """The archive's receipt log is written before the warehouse records the receipts: a discovery that dies
    in between leaves receipts only in the log, and the next one records them with their receipt times.
    A log whose receipts are all recorded is named in ops.receipt_logs (in the same transaction) and not
    read again: discovery reads what is new, not the whole history, on every run."""
    from pipelines.lib.faults import InjectedFault

    settings = fresh_warehouse
    folder = settings.inbox / STATS
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
    (folder / "b.csv").write_text(HEADER + "I23,2024,81000\n", encoding="utf-8")
    monkeypatch.setenv("PLANWH_FAULT", "raise:discover.before_commit")
    with pytest.raises(InjectedFault):
        discover(settings)
    logs = sorted((settings.archive / "receipts").glob("*.jsonl"))
    assert len(logs) == 1 and rows(settings, "select * from raw.receipts") == []
    logged = {
        r["submission_id"]: datetime.fromisoformat(r["received_at"])
        for r in map(json.loads, logs[0].read_text().splitlines())
    }
    assert rows(settings, "select * from ops.receipt_logs") == []

    monkeypatch.delenv("PLANWH_FAULT")
    found = discover(settings)
    assert found["restored_from_archive_log"] == 2 and found["new_receipts"] == 2
    recorded = rows(settings, "select submission_id, received_at from raw.receipts")
    assert {r["submission_id"]: r["received_at"] for r in recorded} == logged  # the times of the receipts
    assert [r["log_name"] for r in rows(settings, "select log_name from ops.receipt_logs")] == [logs[0].name]

    # a recorded log is not read again: unreadable now, discovery still works and takes a new file
    logs[0].chmod(0o600)
    logs[0].write_text("not json\n", encoding="utf-8")
    (folder / "c.csv").write_text(HEADER + "I23,2025,82000\n", encoding="utf-8")
    found = discover(settings)
    assert (found["new_receipts"], found["restored_from_archive_log"]) == (1, 0)
    assert len(rows(settings, "select log_name from ops.receipt_logs")) == 2


# ------------------------------------------------------------- the classification, in memory

T0 = datetime(2026, 11, 30, 10, 0, 0)


def receipt(sha: str, name: str, at: datetime, **extra) -> dict:
    return {
        "submission_id": make_submission_id("D", sha),
        "department_code": "D",
        "original_name": name,
        "file_sha256": sha,
        "received_at": at,
        "received_at_source": "observed",
        "discovered_at": at + timedelta(minutes=5),
        "discovery_issue": None,
        **extra,
    }


def arrived(sha: str | None, name: str, at: datetime, issue: Issue | None = None) -> InboxFile:
    return InboxFile("D", name, Path(name), 1, sha, issue=issue, changed_at=at, arrived_at=at)


def test_a_resent_migrated_file_is_ordered_by_its_arrival_not_by_the_migrated_time():
    """Content of the migrated history (raw/backfill) sent again is a re-send like any other: its old
    receipt time stands for its first receipt only (else C sent again just before it was lost)."""
    a, c, z = "a" * 64, "c" * 64, "f" * 64
    known = KnownReceipts(
        [
            receipt(a, "a.csv", datetime(2024, 1, 5), received_at_source="backfill"),
            receipt(c, "c.csv", datetime(2024, 2, 5), received_at_source="backfill"),
            receipt(z, "z.csv", T0),
        ]
    )
    found = known.classify(
        [
            arrived(c, "c_again.csv", T0 + timedelta(seconds=10)),
            arrived(a, "a_again.csv", T0 + timedelta(seconds=20)),
        ],
        backfill={("D", a): datetime(2024, 1, 5)},
    )
    assert [p.submission_id for p in found] == [
        make_submission_id("D", c) + "-r2",
        make_submission_id("D", a) + "-r2",
    ]
    assert [p.received_at for p in found] == [T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)]


def test_a_refused_file_is_received_when_it_arrived():
    """A file refused unread has the receipt time of its arrival too: a too-large file at 10:00:00 and its
    corrected version at 10:00:30 keep that order even when one discovery finds both."""
    known = KnownReceipts([])
    big = arrived(None, "big.xlsx", T0, issue=Issue("file_too_large", value=9, expected=1))
    fixed = arrived("e" * 64, "fixed.xlsx", T0 + timedelta(seconds=30))
    found = known.classify([fixed, big])
    assert [(p.item.original_name, p.received_at) for p in found] == [
        ("big.xlsx", T0),
        ("fixed.xlsx", T0 + timedelta(seconds=30)),
    ]


def test_a_future_modification_time_is_not_believed(fresh_warehouse):
    """A sender's fast clock (or touch -d) leaves a future mtime: the file counts from its inode change
    time (this machine's clock), not from the scan that finds it."""
    from pipelines.lib.ingest.inbox import scan_inbox

    settings = fresh_warehouse
    path = settings.inbox / STATS / "2023.csv"
    path.parent.mkdir(parents=True)
    path.write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
    future = time.time() + 86400
    os.utime(path, (future, future))
    ctime = datetime.fromtimestamp(path.stat().st_ctime, TZ).replace(tzinfo=None)
    time.sleep(0.5)
    (item,) = scan_inbox(settings, {STATS})
    assert abs((item.arrived_at - ctime).total_seconds()) < 0.01


def test_backfill_receipt_times_skip_blank_lines_and_name_a_short_row(fresh_warehouse):
    """raw/backfill/receipts.csv is made by hand at migration: a blank line is nothing, a short row is named
    with its file and line; the first receipt of a content wins."""
    from pipelines.lib.ingest.inbox import backfill_receipts

    settings = fresh_warehouse
    settings.backfill_receipts.parent.mkdir(parents=True, exist_ok=True)
    settings.backfill_receipts.write_text(
        "department_code,sha256,received_at,original_name,note\n"
        "370102_STATS,abc,2025-01-02 03:04:05,a.csv,\n"
        "\n"
        "370102_STATS,abc,2024-12-31 08:00:00,a-copy.csv,\n"
        "\n",
        encoding="utf-8",
    )
    assert backfill_receipts(settings) == {("370102_STATS", "abc"): datetime(2024, 12, 31, 8, 0)}
    with settings.backfill_receipts.open("a", encoding="utf-8") as fh:
        fh.write("370102_FIN,def\n")
    with pytest.raises(ValueError, match=r"receipts\.csv, line 6: fewer columns"):
        backfill_receipts(settings)


def test_a_hash_is_dated_from_before_its_file_was_read(tmp_path):
    """On a file system with coarse timestamps an edit during the read keeps the signature: the hash must
    count as made when the read began, so the racy rule (hashed within RACY_SECONDS of the last change)
    does not trust it. A FIFO makes the read take half a second."""
    import hashlib
    import threading

    from pipelines.lib.ingest.inbox import HashCache

    fifo = tmp_path / "slow.csv"
    os.mkfifo(fifo)
    content = (HEADER + "I23,2023,80000\n").encode("utf-8")

    def slow_sender():
        time.sleep(0.5)
        with open(fifo, "wb") as fh:  # the reader's open waits for this one
            fh.write(content)

    sender = threading.Thread(target=slow_sender)
    cache = HashCache(None)
    hit = cache.entry("370102_STATS/slow.csv", fifo.stat())
    item = InboxFile("370102_STATS", "slow.csv", fifo, 0, None)
    before = time.time()
    sender.start()
    cache.hash_all([(item, hit)])
    sender.join()
    assert item.sha256 == hashlib.sha256(content).hexdigest()
    assert hit["hashed"] - before < 0.3, hit["hashed"] - before  # not when the read ended (0.5 s later)


def _ingest_within(settings, seconds: float, unblock: Path | None = None) -> dict:
    """ingest(), failing the test (instead of hanging it) when it does not finish within `seconds`;
    `unblock`: a FIFO opened for writing then, so a discovery stuck reading it can end."""
    import threading

    out: dict = {}
    worker = threading.Thread(target=lambda: out.update(ingest(settings)), daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive() and unblock is not None:
        fd = os.open(unblock, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        worker.join(30)
        pytest.fail(f"the discovery hung on {unblock.name} until it was opened for writing")
    assert not worker.is_alive()
    return out


def test_a_named_pipe_in_the_inbox_is_refused_unread_and_never_hangs_the_run(fresh_warehouse):
    """A FIFO (or socket, or device) dropped in a department folder used to be opened to be hashed: with
    no writer that open never returns, so the night's run hung holding the writer lock."""
    settings = fresh_warehouse
    folder = settings.inbox / STATS
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pipe.csv")
    (folder / "2023.csv").write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
    found = _ingest_within(settings, 60, unblock=folder / "pipe.csv")
    assert found["new_receipts"] == 2
    ledger = {r["original_name"]: r for r in rows(settings, "select * from raw.submissions")}
    assert ledger["pipe.csv"]["status"] == "rejected"
    assert ledger["pipe.csv"]["reason_code"] == "not_a_regular_file"
    assert "not a regular file" in ledger["pipe.csv"]["message_en"]
    assert ledger["2023.csv"]["status"] == "accepted"
    assert values(settings) == [("2023", 80000.0)]
    assert ingest(settings)["new_receipts"] == 0  # noted once


def _scan_as_another_user(settings) -> list[tuple]:
    """scan_inbox() in a child process that is not root (root reads a chmod-000 file): (name, sha256,
    issue code) of each file found. The inbox must be readable by `nobody`."""
    import pickle

    from pipelines.lib.ingest.inbox import scan_inbox

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, scan, send the result, exit without pytest's clean-up
        try:
            os.close(reader)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setresgid(65534, 65534, 65534)
                os.setresuid(65534, 65534, 65534)
            found = [
                (f.original_name, f.sha256, f.issue.code if f.issue else None)
                for f in scan_inbox(settings, {STATS})
            ]
            os.write(writer, pickle.dumps(found))
        except BaseException as exc:  # reported to the parent
            os.write(writer, pickle.dumps(repr(exc)))
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)


def test_an_unreadable_file_is_refused_with_its_reason_and_the_others_are_still_taken():
    """A file the pipeline's user cannot open (a department's upload with mode 000) used to fail every
    discovery with PermissionError, so no department's file was taken until someone fixed it."""
    import dataclasses
    import tempfile

    from pipelines.lib.ingest.inbox import KnownReceipts

    root = Path(tempfile.mkdtemp(prefix="planwh-unreadable-"))
    try:
        os.chmod(root, 0o755)
        folder = root / "raw" / "inbox" / STATS
        folder.mkdir(parents=True)
        for path in (root / "raw", root / "raw" / "inbox", folder):
            os.chmod(path, 0o755)
        secret, ok = folder / "secret.csv", folder / "2023.csv"
        secret.write_text(HEADER + "I23,2024,1\n", encoding="utf-8")
        ok.write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
        os.chmod(ok, 0o644)
        os.chmod(secret, 0o000)
        settings = dataclasses.replace(load_settings(), raw_dir=root / "raw", inbox_quiet_seconds=0)
        found = _scan_as_another_user(settings)
        assert isinstance(found, list), found  # not an exception's repr
        by_name = {name: (sha, code) for name, sha, code in found}
        assert by_name["2023.csv"][0] is not None and by_name["2023.csv"][1] is None
        assert by_name["secret.csv"] == (None, "file_not_readable")
        # it is noted (once) as a refused file, with a reason saying what to do
        items = [
            InboxFile(STATS, name, folder / name, 1, sha, Issue(code) if code else None)
            for name, sha, code in found
        ]
        noted = KnownReceipts([]).classify(items)
        assert sorted(p.item.original_name for p in noted) == ["2023.csv", "secret.csv"]
        assert "chmod 644" in Issue("file_not_readable", value="Permission denied").message_en
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_an_archived_copy_deleted_or_edited_is_named_and_nothing_is_loaded(fresh_warehouse):
    """The archive is what a rebuild reloads. A copy deleted by hand was read as the department's
    'unreadable file' (rejected, telling the department to save it again) and one edited in place was
    loaded with the edited numbers, while `make rebuild` said it had finished: the archive is now checked
    against the receipts' sha256 before anything is loaded from it."""
    settings = fresh_warehouse
    folder = settings.inbox / STATS
    folder.mkdir(parents=True)
    (folder / "2022.csv").write_text(HEADER + "I23,2022,76500\n", encoding="utf-8")
    (folder / "2023.csv").write_text(HEADER + "I23,2023,80000\n", encoding="utf-8")
    catalog = Catalog.load(settings.seeds_dir)
    assert discover_and_archive(settings, catalog)["new_receipts"] == 2
    by_name = {r["original_name"]: r for r in rows(settings, "select * from raw.receipts")}
    edited = settings.raw_dir / by_name["2023.csv"]["archive_path"]
    os.chmod(edited, 0o600)
    edited.write_text(HEADER + "I23,2023,99999\n", encoding="utf-8")
    (settings.raw_dir / by_name["2022.csv"]["archive_path"]).unlink()
    try:
        process_pending(settings, catalog)
        raised: Exception | None = None
    except Exception as exc:  # which one is the point
        raised = exc
    assert type(raised).__name__ == "ArchiveDamaged", (raised, values(settings))
    message = str(raised)
    assert "2 archived file(s)" in message and "2023.csv" in message and "2022.csv" in message
    assert "\n" not in message
    assert rows(settings, "select * from raw.submissions") == []
    assert values(settings) == []


def test_hash_files_gives_each_file_its_hash_or_error_in_order_in_one_thread_or_a_pool(tmp_path, monkeypatch):
    """hash_files hashes in this thread while files come from the page cache and hands the rest to threads
    when they come slowly: both ways give the same answers, in order, a missing file as its error."""
    import hashlib

    from pipelines.lib.ingest import inbox

    paths = []
    for n in range(600):
        path = tmp_path / f"f{n}.csv"
        if n != 300:  # one listed file is gone by the time it is read
            path.write_bytes(f"指标编号,统计期,数值\nI01,2024,{n}\n".encode())
        paths.append(path)
    expected = [hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None for p in paths]
    for rate in (0, 10**12):  # every rate is fast enough: one thread; none is: the pool after the probe
        monkeypatch.setattr(inbox, "DISK_BOUND_FILES_PER_S", rate)
        got = inbox.hash_files(paths)
        assert isinstance(got[300], FileNotFoundError)
        assert [None if isinstance(g, OSError) else g for g in got] == expected


def test_a_damaged_receipts_log_stops_the_run_with_one_line_and_no_retry(fresh_warehouse):
    """A receipts log of the archive that is not JSON lines (cut short, edited by hand) failed every run
    with a bare JSONDecodeError, and the run was retried. It is the record of those receipts: the run
    stops with one line naming the file and the line and saying to restore it from backup; not retried
    (by the CLI or the daemon), exit 1."""
    from pipelines.runs import failure_cause
    from tests.conftest import refresh_as_the_daemon_would_retry
    from tests.test_reliability import cli

    settings = fresh_warehouse
    logs = settings.archive / "receipts"
    logs.mkdir(parents=True)
    broken = logs / "20261205T010000-1-1.jsonl"
    stamp = "2026-06-01T09:00:00+08:00"
    good = json.dumps(
        {"submission_id": "y", "department_code": STATS, "received_at": stamp, "discovered_at": stamp}
    )
    broken.write_text(good + '\n{"submission_id": "x", broken\n', encoding="utf-8")

    run, max_retries, retried = refresh_as_the_daemon_would_retry(AS_OF)
    assert not run.success
    assert max_retries == "0"
    assert not retried
    cause = failure_cause(run)
    assert type(cause).__name__ == "ArchiveDamaged", cause
    assert str(broken) in str(cause) and "line 2" in str(cause) and "backup" in str(cause)
    assert "\n" not in str(cause)

    done = cli("refresh", "--as-of", AS_OF)
    assert done.returncode == 1, done.stderr[-2000:]
    said = [line for line in done.stderr.splitlines() if line.strip()]
    assert said == [f"planwh: {cause}"], said
    assert "retrying" not in done.stderr and "JSONDecodeError" not in done.stdout + done.stderr

    # the new-file sensor, which reads the logs too, names it the same way
    with pytest.raises(Exception, match="line 2"), dg.build_sensor_context() as context:
        new_inbox_files(context)
