"""Crash safety, serialised writers, clear lock errors (the incremental refresh and the rebuild: test_incremental)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.lib.ingest.inbox import discover_and_archive
from pipelines.lib.ingest.load import process_pending
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.settings import load_settings, now_local
from pipelines.lib.warehouse.connection import writer_lock
from pipelines.lib.warehouse.publish import open_published
from tests.conftest import AS_OF, REPO, TEST_ROOT

PART_A = ("370102_STATS", "370102_ECO")
PART_B = ("370102_URBAN", "370102_FIN", "370102_HOUSING")


def copy_departments(settings, departments) -> None:
    for department in departments:
        shutil.copytree(REPO / "raw" / "inbox" / department, settings.inbox / department, dirs_exist_ok=True)
    target = settings.backfill_receipts
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "raw" / "backfill" / "receipts.csv", target)


def cli(*args, fault: str | None = None, extra_env: dict | None = None, timeout: int = 900):
    env = dict(os.environ, **(extra_env or {}))
    env.pop("PLANWH_FAULT", None)
    if fault:
        env["PLANWH_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


def published_counts(settings) -> dict:
    con = open_published(settings.published_warehouse)
    try:
        return {
            "submissions": con.execute("select count(*) from marts.fct_submissions").fetchone()[0],
            "values": con.execute("select count(*) from raw.indicator_values").fetchone()[0],
            "attainment": con.execute("select count(*) from marts.fct_indicator_attainment").fetchone()[0],
        }
    finally:
        con.close()


def expected_rows(departments) -> int:
    """Rows a clean ingest of the same files accepts (computed in a scratch warehouse)."""
    scratch = TEST_ROOT / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    env = {"PLANWH_DUCKDB": str(scratch / "w.duckdb"), "PLANWH_RAW_DIR": str(scratch / "raw")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        settings = load_settings()
        copy_departments(settings, departments)
        catalog = Catalog.load(settings.seeds_dir)
        discover_and_archive(settings, catalog)
        process_pending(settings, catalog)
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        total = con.execute(
            "select (select count(*) from raw.indicator_values) + (select count(*) from raw.project_progress)"
        ).fetchone()[0]
        con.close()
        return total
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(scratch, ignore_errors=True)


def assert_loaded_exactly_once(settings, expected: int) -> None:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        duplicates = con.execute("""select count(*) from (select submission_id, sheet_name, source_row, count(*) n
            from (select submission_id, sheet_name, source_row from raw.indicator_values
                  union all select submission_id, sheet_name, source_row from raw.project_progress)
            group by all having count(*) > 1)""").fetchone()[0]
        loaded = con.execute(
            "select (select count(*) from raw.indicator_values) + (select count(*) from raw.project_progress)"
        ).fetchone()[0]
        unprocessed = con.execute("""select count(*) from raw.receipts r where not exists
            (select 1 from raw.submissions s where s.submission_id = r.submission_id)""").fetchone()[0]
        mismatched = con.execute("""select count(*) from raw.submissions s where s.status <> 'rejected' and s.rows_accepted <>
            (select count(*) from raw.indicator_values v where v.submission_id = s.submission_id
                and v.review_state <> 'pending_explanation')  -- loaded, held for an explanation (#12)
            + (select count(*) from raw.project_progress p where p.submission_id = s.submission_id)""").fetchone()[
            0
        ]
    finally:
        con.close()
    assert (duplicates, unprocessed, mismatched) == (0, 0, 0)
    assert loaded == expected


CRASHES = [  # (where the process is killed, the departments whose files arrive before that refresh)
    ("ingest.before_commit", ("370102_URBAN", "370102_FIN")),
    ("alone:dbt.mid_build", ("370102_HOUSING",)),  # the refresh alone: its dbt child must die with it
    ("publish.before_swap", ("370102_CIVIL", "370102_EDU")),
]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def plant_orphan(settings) -> subprocess.Popen:
    """A process holding the working DuckDB file, recorded as the dbt child of a run that died (what an
    orphan looks like where the parent-death signal is not available)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True); time.sleep(900)",
            str(settings.warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert holder.stdout.readline().strip() == "open"
    start = int(Path(f"/proc/{holder.pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    dead = 2**22 + 4242
    settings.children_file.write_text(
        json.dumps(
            [{"pid": holder.pid, "start": start, "parent_pid": dead, "what": "dbt build", "run_id": "r"}]
        )
    )
    return holder


def test_killed_refreshes_leave_a_consistent_warehouse_and_a_clean_run_completes(fresh_warehouse):
    """One chain of crashes: each killed refresh is recovered by the next one, which is itself killed
    further on (ingest, dbt, publish); one clean run ends it. Every killed run leaves the previous snapshot
    intact and, once recovered, every received file loaded exactly once."""
    settings = fresh_warehouse
    copy_departments(settings, PART_A)
    before = now_local()
    first = cli("refresh", "--as-of", AS_OF, extra_env={"TZ": "UTC"})  # the machine's zone is not Shanghai's
    after = now_local()
    assert first.returncode == 0, first.stderr[-2000:]
    # the run log is named in Asia/Shanghai time, whatever the machine's zone
    [log] = settings.log_dir.glob("refresh-*.log")
    named = re.fullmatch(r"refresh-(\d{8}T\d{6})\.log", log.name)
    assert named, log.name
    assert before <= datetime.strptime(named.group(1), "%Y%m%dT%H%M%S") <= after, (log.name, before, after)
    published = published_counts(settings)
    received = list(PART_A)
    for n, (fault, departments) in enumerate(CRASHES):
        copy_departments(settings, departments)
        received.extend(departments)
        # the warm dbt whatever the machine's load (pipelines/dbt_child.py: auto skips it when no core is
        # to spare): the chain checks that it dies with the refresh too
        killed = cli("refresh", "--as-of", AS_OF, fault=fault, extra_env={"PLANWH_DBT_WARM_START": "always"})
        assert killed.returncode == -9, (fault, killed.returncode, killed.stderr[-2000:])
        assert published_counts(settings) == published, fault  # the last good snapshot, intact
        if n:  # this run first recovered the one killed before it, then got as far as its own fault
            assert "had died mid-way" in killed.stderr, (fault, killed.stderr[-2000:])
        if fault.startswith("alone:"):
            children = json.loads(settings.children_file.read_text())
            # planwh-dbt, and the warm process that ran dbt for it (pipelines/dbt_child.py)
            assert {c["what"] for c in children} == {"dbt build", "dbt build (warm)"}, children
            deadline = time.monotonic() + 15
            while any(alive(c["pid"]) for c in children) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not any(alive(c["pid"]) for c in children), "dbt outlived the refresh that started it"
        if fault != "ingest.before_commit":  # the files were committed before the process died
            assert_loaded_exactly_once(settings, expected_rows(tuple(received)))
        if fault != "publish.before_swap":  # died before publishing: nothing half-made
            assert not list(settings.publish_dir.glob(".*")), fault

    # the run killed before its swap had cleared the dead dbt child's entry when it took the lock
    assert not settings.children_file.exists()
    orphan = plant_orphan(settings)
    again = cli("refresh", "--as-of", AS_OF)
    orphan.kill()
    orphan.wait()
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"ended dbt build (pid {orphan.pid}) left running by an abandoned run" in again.stderr
    assert "had died mid-way" in again.stderr  # the dead run was recovered, its pool slots freed
    assert published_counts(settings)["submissions"] > published["submissions"]
    assert not list(settings.publish_dir.glob(".*"))  # no temporary file left behind
    assert not settings.children_file.exists()
    assert_loaded_exactly_once(settings, expected_rows(tuple(received)))

    # what the CLI wrote is owner-only; the analysts' snapshot keeps its group-read
    for root in (settings.output_dir, settings.dagster_storage, settings.dagster_compute_logs):
        for path in [root, *root.rglob("*")]:
            assert path.stat().st_mode & 0o077 == 0, (path, oct(path.stat().st_mode))
    assert settings.published_warehouse.stat().st_mode & 0o777 == 0o440
    assert settings.publish_dir.stat().st_mode & 0o777 == 0o750
    assert (settings.warehouse.stat().st_mode & 0o777) == 0o600


def test_two_refreshes_started_together_serialise(fresh_warehouse):
    settings = fresh_warehouse
    copy_departments(settings, PART_A)
    env = dict(os.environ)
    env.pop("PLANWH_FAULT", None)
    command = [sys.executable, "-m", "pipelines.cli", "refresh", "--as-of", AS_OF]
    runs = [
        subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=900) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [o[1][-1500:] for o in outputs]
    assert any("waiting for the warehouse, held by pid" in err for _, err in outputs)
    assert_loaded_exactly_once(settings, expected_rows(PART_A))


def test_a_lock_held_elsewhere_gives_a_clear_message(fresh_warehouse):
    settings = fresh_warehouse
    copy_departments(settings, PART_A)
    with writer_lock(settings, "a test holding the warehouse"):
        blocked = cli("refresh", extra_env={"PLANWH_LOCK_TIMEOUT": "2"})
    assert blocked.returncode == 75
    assert f"pid {os.getpid()}" in blocked.stderr and "a test holding the warehouse" in blocked.stderr
    assert "Traceback" not in blocked.stderr

    duckdb.connect(str(settings.warehouse)).close()  # a warehouse file (a refresh's contents are not needed)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True);"
            " print('open', flush=True); time.sleep(600)",
            str(settings.warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        blocked = cli("refresh", "--as-of", AS_OF)
    finally:
        holder.kill()
        holder.wait()
    assert blocked.returncode != 0
    assert f"held open by process {holder.pid}" in blocked.stderr
    assert "published copy" in blocked.stderr and "Traceback" not in blocked.stderr
    assert "Stack Trace" not in blocked.stderr and len(blocked.stderr.splitlines()) < 10  # no run was started
    assert not list(settings.log_dir.glob("refresh-*.log"))  # runs refused at the start leave no empty log


def test_a_partial_parse_cache_made_for_another_project_path_is_discarded(tmp_path):
    """dbt keeps `--project-dir` verbatim as each node's root_path in its cache and loads seeds from it: a
    cache parsed with a relative or foreign project dir would fail every later build on every seed."""
    import msgpack

    from pipelines.lib.warehouse.dbt_state import discard_foreign_partial_parse, target_dir

    project = tmp_path / "dbt_project"
    target = target_dir(project)
    target.mkdir(parents=True)
    cache = target / "partial_parse.msgpack"

    def write(root_path):
        seed = {"resource_type": "seed", "root_path": root_path, "original_file_path": "seeds/a.csv"}
        cache.write_bytes(
            msgpack.packb({"nodes": {"seed.planwh.a": seed, "test.planwh.t": {"root_path": None}}})
        )

    assert not discard_foreign_partial_parse(project)  # no cache: nothing to do
    write(str(project))
    assert not discard_foreign_partial_parse(project) and cache.exists()  # parsed here: kept
    for foreign in ("dbt_project", str(tmp_path / "elsewhere" / "dbt_project")):
        write(foreign)
        assert discard_foreign_partial_parse(project) and not cache.exists(), foreign
    cache.write_bytes(b"\xc1 not msgpack")
    assert discard_foreign_partial_parse(project) and not cache.exists()


def test_a_refresh_stopped_with_sigterm_stops_and_says_so(fresh_warehouse):
    """SIGTERM (systemd stopping the service, `timeout`) or Ctrl-C used to be taken for a failed run and
    retried: the whole refresh started again and the command exited 0, so it could not be stopped with one
    signal. Now it stops, says so in one line, exits 130, and the next run completes the work once."""
    import signal

    settings = fresh_warehouse
    copy_departments(settings, PART_A)
    env = dict(os.environ)
    env.pop("PLANWH_FAULT", None)
    run = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "refresh", "--as-of", AS_OF],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not settings.children_file.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)  # until dbt runs
    assert run.poll() is None, run.communicate()
    run.send_signal(signal.SIGTERM)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 130, (out[-1500:], err[-1500:])
    assert "retrying" not in err and "interrupted" in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1, err
    done = cli("refresh", "--as-of", AS_OF)
    assert done.returncode == 0, done.stderr[-1500:]
    assert_loaded_exactly_once(settings, expected_rows(PART_A))
