"""Every setting is checked before anything is touched: one line per bad setting, exit code 2, nothing
written; every command exits non-zero when its work failed; a run that failed on a bad setting is not
retried (issue 17)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import AS_OF, REPO, TEST_ROOT, WORK

CLI = [sys.executable, "-m", "pipelines.cli"]


def cli(*args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    full = dict(os.environ)
    full.pop("PLANWH_FAULT", None)
    full.update(env or {})
    for key in [k for k, v in full.items() if v is None]:
        full.pop(key)
    return subprocess.run(
        [*CLI, *args],
        cwd=REPO,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


def tree(*roots: Path) -> dict:
    """Every path under the roots with its size and modification time (what "nothing written" compares)."""
    out = {}
    for root in roots:
        if not root.exists():
            continue
        for path in [root, *root.rglob("*")]:
            with contextlib.suppress(OSError):
                st = path.lstat()
                out[str(path)] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture
def place(fresh_warehouse, tmp_path):
    """A scratch folder and the state the CLI must not touch."""
    settings = fresh_warehouse
    (settings.inbox / "370102_STATS").mkdir(parents=True)
    (settings.inbox / "370102_STATS" / "a.csv").write_text(
        "指标编号,统计期,数值\nI23,2023,80000\n", encoding="utf-8"
    )
    return tmp_path


def _real_database(path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("create table t as select range as i, repeat('x', 200) as s from range(50000)")
    con.execute("checkpoint")
    con.close()


CASES = {
    "duckdb_is_a_folder": (lambda d: {"PLANWH_DUCKDB": str(d)}, "is a folder"),
    "duckdb_under_a_file": (
        lambda d: {"PLANWH_DUCKDB": str(_file(d) / "planwh.duckdb")},
        "is a file, not a folder",
    ),
    "duckdb_corrupt": (
        lambda d: {"PLANWH_DUCKDB": str(_bytes(d, b"not a database at all" * 1000))},
        "not a DuckDB",
    ),
    "duckdb_empty": (lambda d: {"PLANWH_DUCKDB": str(_bytes(d, b""))}, "is empty"),
    "duckdb_truncated": (lambda d: {"PLANWH_DUCKDB": str(_truncated(d, 0.5))}, "is truncated or damaged"),
    "dagster_storage_empty": (
        lambda d: {"PLANWH_DAGSTER_STORAGE": ""},
        "PLANWH_DAGSTER_STORAGE is set but empty",
    ),
    "lock_timeout_text": (lambda d: {"PLANWH_LOCK_TIMEOUT": "abc"}, "PLANWH_LOCK_TIMEOUT='abc' is not"),
    "max_file_bytes_with_unit": (lambda d: {"PLANWH_MAX_FILE_BYTES": "20MB"}, "PLANWH_MAX_FILE_BYTES='20MB'"),
    "quiet_period_negative": (lambda d: {"PLANWH_INBOX_QUIET_SECONDS": "-1"}, "out of range"),
    "raw_dir_missing": (lambda d: {"PLANWH_RAW_DIR": str(d / "nowhere")}, "does not exist"),
    "output_under_a_file": (lambda d: {"PLANWH_OUTPUT_DIR": str(_file(d) / "out")}, "cannot be created"),
    "webhook_without_scheme": (
        lambda d: {"PLANWH_WEBHOOK_URL": "oapi.dingtalk.com/robot/send?access_token=SECRET-TOKEN"},
        "value not shown",
    ),
    "webhook_format": (lambda d: {"PLANWH_WEBHOOK_FORMAT": "slack"}, "PLANWH_WEBHOOK_FORMAT='slack'"),
    "dbt_warm_start": (lambda d: {"PLANWH_DBT_WARM_START": "sometimes"}, "PLANWH_DBT_WARM_START='sometimes'"),
    "as_of_in_environment": (lambda d: {"PLANWH_AS_OF": "2026-02-30"}, "not a calendar date"),
    "retention_text": (lambda d: {"PLANWH_RETAIN_RUN_DAYS": "a month"}, "PLANWH_RETAIN_RUN_DAYS"),
    # the published copy would replace the working file (0440, compacted) and analysts would open the file
    # the refresh writes
    "publish_dir_is_the_warehouse_folder": (
        lambda d: {"PLANWH_PUBLISH_DIR": str(WORK)},
        "is the working warehouse's own folder",
    ),
    "output_dir_in_the_inbox": (
        lambda d: {"PLANWH_OUTPUT_DIR": str(TEST_ROOT / "raw" / "inbox" / "out")},
        "is inside PLANWH_RAW_DIR",
    ),
}


def _file(d: Path) -> Path:
    path = d / "a-file"
    path.write_text("x")
    return path


def _bytes(d: Path, data: bytes) -> Path:
    path = d / "planwh.duckdb"
    path.write_bytes(data)
    return path


def _truncated(d: Path, keep: float) -> Path:
    path = d / "planwh.duckdb"
    _real_database(path)
    with path.open("r+b") as fh:
        fh.truncate(int(path.stat().st_size * keep))
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_bad_setting_is_one_line_exit_2_and_nothing_written(place, case):
    make_env, expected = CASES[case]
    env = make_env(place)
    before = tree(TEST_ROOT / "work", TEST_ROOT / "raw", TEST_ROOT / "published", TEST_ROOT / "output", place)
    run = cli("refresh", "--as-of", AS_OF, env=env, timeout=120)
    assert run.returncode == 2, (case, run.returncode, run.stderr[-2000:])
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], (case, run.stderr)
    assert lines[0].startswith("planwh: ") and "Traceback" not in run.stderr and run.stdout == ""
    assert "SECRET-TOKEN" not in run.stderr
    assert (
        tree(TEST_ROOT / "work", TEST_ROOT / "raw", TEST_ROOT / "published", TEST_ROOT / "output", place)
        == before
    )


def test_bad_dates_and_several_bad_settings_give_one_line_each(place):
    before = tree(TEST_ROOT / "work", TEST_ROOT / "raw")
    run = cli(
        "refresh",
        "--as-of",
        "2026-13-45",
        "--known-at",
        "20260101",
        env={"PLANWH_LOCK_TIMEOUT": "abc", "PLANWH_MAX_FILE_BYTES": "0"},
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 4, run.stderr
    assert (
        "--as-of='2026-13-45' is not a calendar date" in run.stderr and "--known-at='20260101'" in run.stderr
    )
    assert tree(TEST_ROOT / "work", TEST_ROOT / "raw") == before

    rebuild = cli("rebuild", "--as-of", "2026-13-45")  # checked before the warehouse is moved aside
    assert rebuild.returncode == 2 and len(rebuild.stderr.strip().splitlines()) == 1
    assert tree(TEST_ROOT / "work", TEST_ROOT / "raw") == before


def test_make_run_with_a_bad_date_stops_before_anything(place):
    before = tree(TEST_ROOT / "work", TEST_ROOT / "raw", TEST_ROOT / "published")
    run = subprocess.run(
        ["make", "-s", "--no-print-directory", "run", "AS_OF=2026-13-45"],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode != 0
    ours = [line for line in run.stderr.splitlines() if line.startswith("planwh:")]
    assert ours == [
        "planwh: --as-of='2026-13-45' is not a calendar date (month 01-12, day within the month), e.g. 2025-12-31"
    ]
    assert "Traceback" not in run.stderr and "规划监测刷新" not in run.stdout  # no summary of another day
    assert tree(TEST_ROOT / "work", TEST_ROOT / "raw", TEST_ROOT / "published") == before


def test_a_read_only_file_system_is_a_bad_setting(place):
    target = place / "ro"
    target.mkdir()
    if os.geteuid() == 0:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(target)], capture_output=True
        )
        if mounted.returncode != 0:
            pytest.skip("cannot mount a read-only file system here")
    else:
        target.chmod(0o555)
    try:
        run = cli("refresh", env={"PLANWH_DUCKDB": str(target / "planwh.duckdb")})
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(target)], check=False)
        else:
            target.chmod(0o755)
    assert run.returncode == 2, run.stderr
    [line] = run.stderr.strip().splitlines()
    assert ("read-only file system" in line or "not writable" in line) and str(target) in line


def test_a_failed_rebuild_exits_non_zero_and_says_where_the_old_warehouse_is(place):
    from pipelines.lib.ingest.inbox import discover_and_archive
    from pipelines.lib.plans.catalog import Catalog
    from pipelines.lib.settings import load_settings

    settings = load_settings()
    discover_and_archive(settings, Catalog.load(settings.seeds_dir))  # a receipt in the archive, a warehouse
    run = cli("rebuild", "--as-of", AS_OF, env={"PLANWH_FAULT": "raise:ingest.before_commit"})
    assert run.returncode == 1, (run.returncode, run.stderr[-2000:])
    assert "the rebuild's refresh failed" in run.stderr and "before-rebuild-" in run.stderr
    assert "success: False" in run.stdout
    kept = list(settings.warehouse.parent.glob("planwh.duckdb.before-rebuild-*"))
    assert kept and "Traceback" not in run.stderr


def test_a_run_that_failed_on_a_bad_setting_is_not_retried(fresh_warehouse):
    """The daemon's own retry rule (Dagster's auto_reexecution_should_retry_run) says no for it, and
    yes for an ordinary failure."""
    from pipelines.runs import failure_cause
    from tests.conftest import refresh_as_the_daemon_would_retry

    bad, max_retries, retried = refresh_as_the_daemon_would_retry("2026-13-45")
    assert not bad.success
    assert max_retries == "0"
    assert not retried
    cause = failure_cause(bad)
    assert type(cause).__name__ == "SettingsError" and cause.problems == [
        "as_of='2026-13-45' is not a calendar date (month 01-12, day within the month), e.g. 2025-12-31"
    ]


def test_receipt_times_are_shown_to_the_second():
    from datetime import datetime

    from pipelines.lib.settings import now_local, to_the_second

    assert to_the_second(datetime(2026, 12, 2, 10, 0, 0, 123456)) == "2026-12-02 10:00:00"
    assert to_the_second(None) is None and to_the_second("2026-12-02") == "2026-12-02"
    assert now_local().microsecond == 0


def test_the_evaluation_date_setting_pins_a_refresh_as_the_option_does(fresh_warehouse, monkeypatch):
    """PLANWH_AS_OF (docs/operations.md) was checked but never used: the run said "as_of today" and
    evaluated the clock's day."""
    import duckdb

    from pipelines.defs.resources import PlanWarehouse

    done = cli("refresh", "--quiet", env={"PLANWH_AS_OF": "2024-06-30"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(as_of 2024-06-30)" in done.stdout
    con = duckdb.connect(str(fresh_warehouse.warehouse), read_only=True)
    try:
        assert con.execute(
            "select state_value from ops.model_state where state_key = 'as_of'"
        ).fetchone() == ("2024-06-30",)
    finally:
        con.close()
    # runs Dagster launches (the schedule, the sensor, the UI) read the setting through the resource
    monkeypatch.setenv("PLANWH_AS_OF", "2024-06-30")
    assert PlanWarehouse().as_of_date().isoformat() == "2024-06-30"
    assert PlanWarehouse(as_of="2025-01-31").as_of_date().isoformat() == "2025-01-31"  # the option wins


def test_a_blank_evaluation_date_setting_is_unset_for_the_cli_and_for_the_runs_dagster_launches(monkeypatch):
    """PLANWH_AS_OF of spaces (a stray blank in an environment file) passed the settings check and the CLI read
    it as unset, while the resource that every scheduled, sensor and UI run reads failed on it: "as_of='' is
    not a date", every night."""
    from pipelines.defs.resources import PlanWarehouse
    from pipelines.lib.settings import date_setting, settings_problems, today_local

    monkeypatch.setenv("PLANWH_AS_OF", "   ")
    monkeypatch.setenv("PLANWH_KNOWN_AT", "\t")
    assert not [p for p in settings_problems() if "PLANWH_AS_OF" in p or "PLANWH_KNOWN_AT" in p]
    assert date_setting("as_of") is None and date_setting("known_at", "") is None
    assert PlanWarehouse().as_of_date() == today_local() and PlanWarehouse().known_at_date() is None
    assert PlanWarehouse(as_of="  ").as_of_date() == today_local()  # a blank in the UI's launchpad too
    # a value with blanks around it is the date, the option before the setting
    monkeypatch.setenv("PLANWH_AS_OF", " 2024-06-30 ")
    assert date_setting("as_of") == "2024-06-30" and date_setting("as_of", "2025-01-31") == "2025-01-31"
    assert PlanWarehouse().as_of_date().isoformat() == "2024-06-30"
    assert PlanWarehouse(known_at=" 2024-07-10").known_at_date().isoformat() == "2024-07-10"


def test_a_fresh_copy_of_the_dbt_project_is_parsed_before_the_refresh(fresh_warehouse, tmp_path):
    """A project folder without dbt's manifest (a fresh copy, PLANWH_DBT_PROJECT_DIR) stopped the refresh
    with Dagster's DagsterDbtManifestNotFoundError stack trace although `planwh check` said settings OK."""
    import shutil

    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    done = cli("refresh", "--as-of", AS_OF, "--quiet", env={"PLANWH_DBT_PROJECT_DIR": str(project)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "has no dbt manifest yet: parsing it first" in done.stderr and "Traceback" not in done.stderr
    from pipelines.lib.warehouse.dbt_state import target_dir

    assert (target_dir(project) / "manifest.json").exists()  # the worker's own target folder under xdist
