"""What a refresh does around its work (issue 17): lock contention mid-run is the same one line as at
start, a full disk is named as the cause and the next run recovers without anyone deleting hidden
files, temporary files of dead writers go. (Children dying with the run, orphans ended by their
recorded pid and owner-only outputs are checked in tests/test_reliability.py, whose crash sequence
already runs the refreshes they need.) Real CLI processes, real DuckDB, real dbt."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.lib.settings import load_settings
from tests.conftest import AS_OF, REPO

INBOX_FILE = "指标编号,统计期,数值\nI23,2022,76000\nI23,2023,80000\n"


def start(*args: str, env: dict | None = None) -> subprocess.Popen:
    full = dict(os.environ, **(env or {}))
    full.pop("PLANWH_FAULT", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=REPO,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(process: subprocess.Popen, timeout: int = 900) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(predicate, timeout: float, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return None


def drop(settings, name: str = "a.csv", text: str = INBOX_FILE) -> None:
    folder = settings.inbox / "370102_STATS"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_lock_contention_mid_run_is_the_same_one_line_as_at_start(fresh_warehouse):
    settings = fresh_warehouse
    drop(settings)
    refresh = start("refresh", "--as-of", AS_OF)
    # an analyst opens the working file between two steps of the run (not at its start)
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            """
import duckdb, json, sys, time
path, lock = sys.argv[1], sys.argv[2]
while 'planwh refresh' not in open(lock).read() if __import__('os').path.exists(lock) else True:
    time.sleep(0.05)
time.sleep(1.0)
while True:
    try:
        c = duckdb.connect(path, read_only=True)
        break
    except duckdb.Error:
        time.sleep(0.02)
print('open', flush=True)
time.sleep(600)
""",
            str(settings.warehouse),
            str(settings.lock_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        code, out, err = finish(refresh)
    finally:
        reader.kill()
        reader.wait()
    assert code == 75, (code, err[-3000:])
    lines = err.strip().splitlines()
    assert lines[-1] == (
        f"planwh: The DuckDB file {settings.warehouse} is held open by process {reader.pid}. Only the refresh may "
        "open the working warehouse; analysts should open the published copy (see docs/analysts.md). Close that "
        "session and retry."
    )
    assert len(lines) <= 3 and "Traceback" not in err and "Stack Trace" not in err
    assert "规划监测刷新" not in out  # no summary labelled as if the run had happened


NEEDS_ROOT = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("mount"), reason="needs root to mount a small tmpfs"
)


@contextlib.contextmanager
def small_disk(tmp_path: Path, size: str):
    """A file system of `size` (a tmpfs) at tmp_path/small, unmounted afterwards; the test is skipped where
    one cannot be mounted."""
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(small)], capture_output=True
    ).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield small
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)


@NEEDS_ROOT
def test_a_full_disk_is_named_and_the_next_run_recovers_by_itself(fresh_warehouse, tmp_path):
    settings = fresh_warehouse
    drop(settings)
    with small_disk(tmp_path, "48m") as small:
        env = {"PLANWH_DUCKDB": str(small / "work" / "planwh.duckdb")}  # published elsewhere, for now
        filler = small / "filler"
        with filler.open("wb") as fh:  # leave 3 MB: the warehouse cannot even be built
            fh.write(b"\0" * (45 * 1024 * 1024))
        code, _out, err = finish(start("refresh", "--as-of", AS_OF, env=env))
        assert code == 74, (code, err[-3000:])
        line = err.strip().splitlines()[-1]
        assert line.startswith("planwh: No space left on device") and str(small) in line, err[-3000:]
        assert "Traceback" not in err and "Stack Trace" not in err and len(err.strip().splitlines()) <= 4

        env["PLANWH_PUBLISH_DIR"] = str(small / "published")

        filler.unlink()  # the operator frees space; nothing else
        code, _out, err = finish(start("refresh", "--as-of", AS_OF, env=env))
        assert code == 0, err[-3000:]
        published = small / "published" / "planwh.duckdb"
        assert published.exists() and not list((small / "published").glob(".*"))

        # the publish needs room for its copy: checked up front, the previous snapshot untouched
        before = published.stat().st_mtime_ns
        with filler.open("wb") as fh:
            free = shutil.disk_usage(small).free
            fh.write(b"\0" * max(0, free - 2 * 1024 * 1024))
        code, _out, err = finish(start("refresh", "--as-of", AS_OF, env=env))
        assert code == 74 and "Not enough free space for this run's publish step" in err, err[-2000:]
        assert published.stat().st_mtime_ns == before


@NEEDS_ROOT
def test_a_full_raw_folder_is_the_place_named(fresh_warehouse, tmp_path):
    # the archive copies and the receipts log go to the raw folder: its disk filling up used to be reported
    # as "/ (warehouse) 55,736.4 MB free", the one place with room
    with small_disk(tmp_path, "4m") as small:
        raw = small / "raw"
        (raw / "inbox" / "370102_STATS").mkdir(parents=True)
        (raw / "inbox" / "370102_STATS" / "a.csv").write_text(INBOX_FILE, encoding="utf-8")
        filler = small / "filler"
        with filler.open("wb") as fh:
            fh.write(b"\0" * shutil.disk_usage(small).free)
        env = {"PLANWH_RAW_DIR": str(raw)}
        code, _out, err = finish(start("refresh", "--as-of", AS_OF, env=env))
        assert code == 74, (code, err[-3000:])
        line = err.strip().splitlines()[-1]
        assert line.startswith(
            f"planwh: No space left on device (ENOSPC): {small} (raw archive) 0.0 MB free"
        ), line
        assert "Traceback" not in err

        filler.unlink()  # the operator frees space; nothing else
        code, _out, err = finish(start("refresh", "--as-of", AS_OF, env=env))
        assert code == 0, err[-3000:]
        assert not list((raw / "archive").rglob(".*"))
        import duckdb

        con = duckdb.connect(str(fresh_warehouse.warehouse), read_only=True)
        try:
            loaded = con.sql("select original_name, status, rows_accepted from raw.submissions").fetchall()
        finally:
            con.close()
        assert loaded == [("a.csv", "accepted", 2)]


def test_temporary_files_of_dead_writers_are_removed_when_the_lock_is_taken(fresh_warehouse):
    from pipelines.lib.warehouse.connection import writer_lock

    settings = load_settings()
    dead = 2**22 + 12345  # above pid_max on most systems: certainly not running
    settings.publish_dir.mkdir(parents=True, exist_ok=True)
    stale = settings.publish_dir / f".planwh.duckdb.incoming-{dead}"
    stale.write_bytes(b"\0" * 1024 * 1024)
    (settings.publish_dir / f".planwh.duckdb.incoming-{dead}.wal").write_bytes(b"w")
    (settings.output_dir / "exports").mkdir(parents=True)
    (settings.output_dir / "exports" / f".fct_flags.csv.tmp-{dead}").write_text("x")
    (settings.archive / "sha256" / "ab").mkdir(parents=True)
    (settings.archive / "sha256" / "ab" / f".abcd.tmp-{dead}").write_text("x")
    mine = settings.output_dir / "exports" / f".marts.xlsx.tmp-{os.getpid()}"  # a live writer's: kept
    mine.write_text("x")
    with writer_lock(settings, "test"):
        pass
    left = sorted(p.name for p in settings.raw_dir.rglob(".*")) + sorted(
        p.name for root in (settings.publish_dir, settings.output_dir) for p in root.rglob(".*")
    )
    assert left == [mine.name]


def test_after_a_clean_release_the_scan_is_skipped_and_the_retention_pass_cleans_up(fresh_warehouse):
    """A run launched by Dagster takes the lock once per step: the scan for dead writers' temporary files
    (the whole receipts tree and archive) runs only when the last holder did not let go cleanly; writers that
    never hold the lock are cleaned up by the retention pass after each run."""
    import contextlib
    import json

    from pipelines.lib.warehouse.connection import writer_lock
    from pipelines.maintenance import apply_retention
    from pipelines.runs import local_instance

    settings = load_settings()
    dead = 2**22 + 12346
    stale = settings.output_dir / "report" / f".index.html.tmp-{dead}"
    stale.parent.mkdir(parents=True)
    with writer_lock(settings, "first"):
        pass
    assert json.loads(settings.lock_file.read_text())["released"]
    stale.write_text("x")  # e.g. `planwh report`, killed; it does not hold the warehouse lock
    with writer_lock(settings, "second"):
        assert stale.exists()  # released cleanly before: no scan
    with local_instance() as instance:
        assert apply_retention(instance, settings)["temp_files_removed"] == 1
    assert not stale.exists()

    # a holder that failed (or was killed) with the lock: the next one scans
    stale.write_text("x")
    with contextlib.suppress(RuntimeError), writer_lock(settings, "a failing step"):
        raise RuntimeError("disk full")
    assert "released" not in json.loads(settings.lock_file.read_text())
    with writer_lock(settings, "after a failure"):
        assert not stale.exists()

    settings.lock_file.write_text(
        json.dumps({"pid": dead, "what": "refresh", "since": "2026-06-30T00:00:00"})
    )
    stale.write_text("x")
    with writer_lock(settings, "after a kill"):
        assert not stale.exists()
