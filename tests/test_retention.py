"""Growth without bound, bounded (issue 17): Dagster runs and their event and compute logs, pre-rebuild
copies, run logs; runs whose process died during start-up. One place: pipelines/maintenance.py."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.lib.settings import load_settings
from pipelines.maintenance import apply_retention, recover_abandoned_runs
from pipelines.runs import write_instance_yaml
from tests.conftest import AS_OF

RECEIVE = [dg.AssetKey("inbox_files")]


def size(*roots: Path) -> int:
    return sum(p.stat().st_size for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


def instance_at(home: Path, monkeypatch) -> dg.DagsterInstance:
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("PLANWH_DAGSTER_STORAGE", str(home / "storage"))
    monkeypatch.setenv("PLANWH_DAGSTER_COMPUTE_LOGS", str(home / "compute_logs"))
    home.mkdir(parents=True, exist_ok=True)
    write_instance_yaml(home)  # absolute state folders under this home, the ones the env vars name
    return dg.DagsterInstance.get()


def test_thirty_refreshes_keep_dagster_storage_bounded(fresh_warehouse, monkeypatch, tmp_path):
    """30 runs of the refresh job (its first step, which receives a new file each time: the whole job
    30 times would cost the test suite ten minutes), with the retention the CLI applies after each
    run. The full refresh, 20 times with faults, is `make soak`: it asserts the same bound, and its
    storage figures are in docs/operations.md."""
    monkeypatch.setenv("PLANWH_RETAIN_RUN_DAYS", "0")  # everything past the latest few is old enough
    monkeypatch.setenv("PLANWH_RETAIN_FAILED_RUN_DAYS", "0")
    monkeypatch.setenv("PLANWH_RETAIN_MIN_RUNS", "5")
    home = tmp_path / "dagster_home"
    from pipelines.definitions import defs

    job = defs.resolve_job_def("refresh")
    folder = fresh_warehouse.inbox / "370102_STATS"
    folder.mkdir(parents=True)
    sizes = []
    with instance_at(home, monkeypatch) as instance:
        settings = load_settings()
        for n in range(30):
            (folder / f"{n}.csv").write_text(
                f"指标编号,统计期,数值\nI23,2023,{80000 + n}\n", encoding="utf-8"
            )
            result = job.execute_in_process(
                instance=instance,
                asset_selection=RECEIVE,
                run_config={"resources": {"planwh": {"config": {"as_of": AS_OF}}}},
                tags={"planwh/trigger": "cli", "planwh/pid": str(os.getpid())},
                raise_on_error=False,
            )
            assert result.success
            summary = apply_retention(instance, settings)
            assert "runs_error" not in summary, summary
            sizes.append(size(settings.dagster_storage, settings.dagster_compute_logs))
        runs = instance.get_runs()
    assert len(runs) == 5
    shards = list((settings.dagster_storage / "history" / "runs").glob("*-*-*-*-*.db"))
    assert len(shards) == 5  # deleted runs leave no event-log shard behind
    grown = sizes[-1] - sizes[9]
    assert grown < 0.15 * sizes[9], sizes  # runs 10 to 30 add (almost) nothing: the storage is bounded
    assert max(sizes[10:]) < 1.25 * sizes[9], sizes


def test_a_run_killed_during_start_up_is_marked_failed(fresh_warehouse, monkeypatch, tmp_path):
    with instance_at(tmp_path / "home", monkeypatch) as instance:
        from pipelines.definitions import defs

        job = defs.resolve_job_def("refresh")
        run = instance.create_run_for_job(job, tags={"planwh/trigger": "cli", "planwh/pid": str(2**22 + 7)})
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.NOT_STARTED
        assert recover_abandoned_runs(instance) == [run.run_id]
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        mine = instance.create_run_for_job(
            job, tags={"planwh/trigger": "cli", "planwh/pid": str(os.getppid())}
        )
        assert recover_abandoned_runs(instance) == []  # its process is alive: left alone
        assert instance.get_run_by_id(mine.run_id).status == dg.DagsterRunStatus.NOT_STARTED


def test_rebuild_copies_and_run_logs_are_kept_to_a_number(fresh_warehouse, monkeypatch, tmp_path):
    monkeypatch.setenv("PLANWH_RETAIN_REBUILD_COPIES", "3")
    monkeypatch.setenv("PLANWH_RETAIN_LOG_FILES", "10")
    settings = load_settings()
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    for day in range(1, 7):
        copy = settings.warehouse.with_name(f"planwh.duckdb.before-rebuild-2026010{day}T020000")
        copy.write_bytes(b"old")
        copy.with_name(copy.name + ".wal").write_bytes(b"w")
    settings.log_dir.mkdir(parents=True)
    for n in range(25):
        log = settings.log_dir / f"refresh-2026{n:04d}.log"
        log.write_text("x")
        os.utime(log, (time.time() - 1000 + n, time.time() - 1000 + n))
    alerts = settings.output_dir / "alerts"
    alerts.mkdir()
    (alerts / "notifications.jsonl").write_bytes(b"{}\n" * (6 * 1024 * 1024 // 3))
    (alerts / "notifications.jsonl").chmod(0o644)
    with instance_at(tmp_path / "home", monkeypatch) as instance:
        apply_retention(instance, settings)
    copies = sorted(p.name for p in settings.warehouse.parent.glob("planwh.duckdb.before-rebuild-*"))
    assert copies == [
        f"planwh.duckdb.before-rebuild-2026010{d}T020000{wal}" for d in (4, 5, 6) for wal in ("", ".wal")
    ]
    assert sorted(p.name for p in settings.log_dir.iterdir()) == [
        f"refresh-2026{n:04d}.log" for n in range(15, 25)
    ]
    assert (alerts / "notifications.jsonl.1").exists() and not (alerts / "notifications.jsonl").exists()
    assert (alerts / "notifications.jsonl.1").stat().st_mode & 0o077 == 0  # made owner-only on the way


def test_make_private_tightens_everything_but_the_published_folder_and_follows_a_linked_root(tmp_path):
    """Files keep their owner bits (0644 -> 0600, 0444 -> 0400), folders become 0700; the published folder
    keeps its group-read; a root that is a symlink (output moved to a bigger disk) is walked, a symlink
    inside a root is not followed."""
    import stat

    from pipelines.lib.warehouse.housekeeping import make_private

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.lstat().st_mode)

    output = tmp_path / "output"
    (output / "receipts" / "370102_STATS").mkdir(parents=True)
    (output / "published").mkdir()
    receipt = output / "receipts" / "370102_STATS" / "a.json"
    receipt.write_text("{}")
    readonly = output / "receipts" / "370102_STATS" / "b.html"
    readonly.write_text("<p>")
    snapshot = output / "published" / "planwh.duckdb"
    snapshot.write_text("")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "c.txt").write_text("c")
    (output / "receipts" / "link").symlink_to(outside)
    moved = tmp_path / "bigger_disk" / "logs"
    moved.mkdir(parents=True)
    (moved / "run.log").write_text("log")
    linked_root = tmp_path / "logs"
    linked_root.symlink_to(moved)
    for path, value in (
        (output, 0o755),
        (output / "receipts", 0o755),
        (receipt.parent, 0o755),
        (receipt, 0o644),
        (readonly, 0o444),
        (output / "published", 0o750),
        (snapshot, 0o640),
        (outside, 0o755),
        (outside / "c.txt", 0o644),
        (moved, 0o755),
        (moved / "run.log", 0o644),
    ):
        os.chmod(path, value)

    changed = make_private(output, linked_root, tmp_path / "missing", keep=output / "published")
    assert changed == 7
    assert [mode(p) for p in (output, output / "receipts", receipt.parent)] == [0o700] * 3
    assert (mode(receipt), mode(readonly)) == (0o600, 0o400)
    assert (mode(output / "published"), mode(snapshot)) == (0o750, 0o640)  # analysts read the snapshot
    assert (mode(outside), mode(outside / "c.txt")) == (0o755, 0o644)  # not followed inside a root
    assert (mode(moved), mode(moved / "run.log")) == (0o700, 0o600)  # the linked root's target
    assert make_private(output, linked_root, keep=output / "published") == 0


def test_the_retention_pass_looks_only_where_something_changed_and_everywhere_once_a_day(
    fresh_warehouse, monkeypatch
):
    """The receipts grow with every submission: after the day's first pass, a pass lists only the folders
    that changed since (a temporary file a dead writer left there is removed, a new file made owner-only),
    keeps looking where a live writer's temporary file was, and the next day walks everything again."""
    import json
    import subprocess

    from pipelines.lib.settings import now_local
    from pipelines.lib.warehouse import housekeeping
    from pipelines.lib.warehouse.housekeeping import FolderMemory, folder_memory, make_private
    from pipelines.lib.warehouse.housekeeping import remove_interrupted_temp_files as remove_temps

    # every pass below on one day (midnight must not fall between them); the next day is made below
    noon = now_local().replace(hour=12, minute=0, second=0)
    monkeypatch.setattr(housekeeping, "now_local", lambda precise=False: noon)
    settings = load_settings()
    receipts = settings.output_dir / "receipts"
    umask = os.umask(0o077)  # as the pipeline writes (pipelines/lib/settings.py: private_umask)
    for n in range(40):
        folder = receipts / f"370102_D{n:02d}"
        folder.mkdir(parents=True)
        for k in range(5):
            (folder / f"r{k}.json").write_text("{}")
    os.umask(umask)
    (receipts / "370102_D07" / "r3.json").chmod(0o644)  # written by an older version

    listed: list[str] = []
    scandir = os.scandir

    def counting_scandir(path="."):
        listed.append(os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", counting_scandir)

    def one_pass() -> tuple[int, int]:
        listed.clear()
        memory = folder_memory(settings)
        removed = remove_temps(settings, memory)
        fixed = make_private(settings.output_dir, keep=settings.publish_dir, memory=memory)
        memory.save()
        return len(removed), fixed

    time.sleep(2.5)  # the receipts are older than the slack kept for coarse file system clocks
    assert one_pass() == (0, 1)  # the day's first pass: everything
    assert sum(str(receipts) in p for p in listed) >= 80  # every receipt folder, by both passes
    assert one_pass() == (0, 0)
    assert not any(p.startswith(str(receipts) + os.sep) for p in listed)  # nothing changed: no folder listed

    dead = 2**22 + 4242
    (receipts / "370102_D11" / f".r9.json.tmp-{dead}").write_text("half")  # a writer killed mid-write
    (receipts / "370102_D12" / "new.json").write_text("{}")
    (receipts / "370102_D12" / "new.json").chmod(0o644)
    writer = subprocess.Popen(["sleep", "60"])  # a live writer's temporary file
    (receipts / "370102_D13" / f".r9.json.tmp-{writer.pid}").write_text("busy")
    (receipts / "370102_D13" / f".r9.json.tmp-{writer.pid}").chmod(0o600)
    time.sleep(2.5)
    assert one_pass() == (1, 1)
    below = {p for p in listed if p.startswith(str(receipts) + os.sep)}
    assert below == {str(receipts / f"370102_D{n}") for n in (11, 12, 13)}, below
    assert not (receipts / "370102_D11" / f".r9.json.tmp-{dead}").exists()

    writer.kill()
    writer.wait()
    time.sleep(2.5)
    assert one_pass() == (1, 0)  # its folder did not change when it died: looked at again anyway
    below = {p for p in listed if p.startswith(str(receipts) + os.sep)}
    assert str(receipts / "370102_D13") in below  # (D11 too: the last pass changed it by removing a file)
    assert below <= {str(receipts / "370102_D13"), str(receipts / "370102_D11")}, below

    (receipts / "370102_D21").chmod(0o755)  # every folder's own mode is looked at on every pass
    assert one_pass() == (0, 1)
    (receipts / "370102_D20" / "r1.json").chmod(
        0o644
    )  # a file's mode changed alone: its folder does not change
    assert one_pass() == (0, 0)
    memory_file = settings.warehouse.parent / "housekeeping_folders.json"
    saved = json.loads(memory_file.read_text())
    memory_file.write_text(json.dumps(dict(saved, day="2000-01-01")))  # the next day
    assert one_pass() == (0, 1)
    assert FolderMemory(None).since_ns is None  # no memory: every pass walks everything


def test_the_folder_memory_is_not_fooled_by_a_restored_folder_or_a_damaged_memory(fresh_warehouse):
    """A receipts folder renamed into place from a backup (`cp -a`: its old times) is another folder (inode,
    change time): listed, its dead writer's file removed. A memory file of the wrong shape, or from a clock
    that was ahead, is ignored: the pass walks everything and the run does not fail."""
    import json
    import shutil

    from pipelines.lib.warehouse.housekeeping import folder_memory, make_private
    from pipelines.lib.warehouse.housekeeping import remove_interrupted_temp_files as remove_temps

    settings = load_settings()
    receipts = settings.output_dir / "receipts"
    umask = os.umask(0o077)
    try:
        (receipts / "370102_D1").mkdir(parents=True)
        (receipts / "370102_D1" / "r.json").write_text("{}")
        backup = settings.warehouse.parent / "backup"
        shutil.copytree(receipts / "370102_D1", backup, copy_function=shutil.copy2)
        (backup / f".r9.json.tmp-{2**22 + 99}").write_text("half")  # a dead writer's, kept in the backup
        shutil.copystat(receipts / "370102_D1", backup)  # the backup folder has the old times
    finally:
        os.umask(umask)
    time.sleep(2.5)

    def one_pass() -> tuple[int, int]:
        memory = folder_memory(settings)
        removed = remove_temps(settings, memory)
        fixed = make_private(settings.output_dir, keep=settings.publish_dir, memory=memory)
        memory.save()
        return len(removed), fixed

    assert one_pass() == (0, 0)
    shutil.rmtree(receipts / "370102_D1")
    backup.rename(receipts / "370102_D1")
    assert one_pass() == (1, 0)

    memory_file = settings.warehouse.parent / "housekeeping_folders.json"
    saved = json.loads(memory_file.read_text())
    time.sleep(2.5)
    for damaged in (
        dict(saved, folders={str(receipts): 5}),  # the wrong shape
        dict(saved, since_ns=time.time_ns() + 3600 * 10**9),  # written while the clock was an hour ahead
    ):
        # its folder does not change: only a full walk sees it
        (receipts / "370102_D1" / "r.json").chmod(0o644)
        memory_file.write_text(json.dumps(damaged))
        assert one_pass() == (0, 1)


def test_runs_and_rebuilds_started_in_the_same_second_keep_their_own_log_and_copy(
    fresh_warehouse, monkeypatch
):
    """Names made to the second meet when a second run or rebuild starts within the second of the first
    (it then waits for the first's lock): each gets its own log, and the second rebuild's copy of the
    warehouse does not replace the first's copy of the one before the rebuilds."""
    from types import SimpleNamespace

    from pipelines.lib.files import claim_new_file
    from pipelines.lib.settings import now_local
    from pipelines.lib.warehouse import rebuild as rebuilding
    from pipelines.lib.warehouse.connection import connect

    settings = load_settings()
    settings.log_dir.mkdir(parents=True)
    wanted = settings.log_dir / "refresh-20260630T020000.log"
    claimed = [claim_new_file(wanted) for _ in range(3)]
    assert [p.name for p in claimed] == [
        "refresh-20260630T020000.log",
        "refresh-20260630T020000-2.log",
        "refresh-20260630T020000-3.log",
    ]
    assert all(p.exists() and p.stat().st_size == 0 for p in claimed)

    second = now_local().replace(microsecond=0)
    monkeypatch.setattr(rebuilding, "now_local", lambda precise=False: second)  # both within one second

    def marked(label: str):
        def run_refresh():
            with connect(settings) as con:
                con.execute(f"create or replace table main.built_by as select '{label}' as label")
            return SimpleNamespace(success=True), 0.0

        return run_refresh

    marked("before")()  # the warehouse before the rebuilds
    first = rebuilding.rebuild(settings, marked("rebuild 1"))
    again = rebuilding.rebuild(settings, marked("rebuild 2"))
    assert first["previous_warehouse"] != again["previous_warehouse"]

    def label(path) -> str:
        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.execute("select label from main.built_by").fetchone()[0]
        finally:
            con.close()

    assert label(first["previous_warehouse"]) == "before"
    assert label(again["previous_warehouse"]) == "rebuild 1"
    assert label(settings.warehouse) == "rebuild 2"
