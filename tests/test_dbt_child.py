"""The warm dbt (pipelines/dbt_child.py): a process that imported dbt beforehand runs the invocation the
`planwh-dbt` wrapper hands it, with the wrapper's streams and exit status, once; anything else runs dbt
as before. Real dbt on the shipped project (`ls` and `parse` open no database)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pipelines.dbt_child import FOLDER_PREFIX, WARM_ENV, start_warm
from tests.conftest import REPO

PROJECT = REPO / "dbt_project"
WRAPPER = str(Path(sys.executable).with_name("planwh-dbt"))


def dbt_args(tmp_path: Path, *command: str) -> list[str]:
    return [
        "--log-level-file",
        "none",
        *command,
        "--project-dir",
        str(PROJECT),
        "--profiles-dir",
        str(PROJECT),
        "--target-path",
        str(tmp_path / "target"),
    ]


def wrapper(args: list[str], warm=None, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PLANWH_PARENT_PID=str(os.getpid()))
    if warm is not None:
        env[WARM_ENV] = str(warm.socket)
    return subprocess.Popen(
        [WRAPPER, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
    )


def ready(warm, seconds: float = 60) -> None:
    """Until the warm process listens (its socket exists once it is bound)."""
    deadline = time.monotonic() + seconds
    while not warm.socket.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert warm.socket.exists()


@pytest.fixture
def warm(tmp_path):
    started = start_warm(PROJECT, None, {})
    assert started is not None
    yield started
    started.close()


def test_the_warm_process_runs_the_invocation_once_with_the_wrappers_streams_and_status(tmp_path, warm):
    ready(warm)
    done = wrapper(dbt_args(tmp_path, "--quiet", "ls", "--resource-type", "seed"), warm)
    out, _ = done.communicate(timeout=120)
    assert done.returncode == 0, out
    assert "planwh.catalog_main_indicators" in out  # dbt's output, through the wrapper's stdout
    # the warm process ran it: it has exited (an unused one waits), its socket is gone
    assert warm.process.wait(timeout=30) == 0 and not warm.socket.exists()

    # the next invocation finds no warm process and runs dbt itself, the same way
    again = wrapper(dbt_args(tmp_path, "--quiet", "ls", "--resource-type", "seed"), warm)
    assert again.communicate(timeout=120)[0] == out and again.returncode == 0


def test_a_failing_invocation_exits_as_dbt_itself_would(tmp_path, warm):
    ready(warm)
    args = dbt_args(tmp_path, "ls", "--selector", "no_such_selector")
    cold = wrapper(args)
    cold_out, _ = cold.communicate(timeout=120)
    handed = wrapper(args, warm)
    handed_out, _ = handed.communicate(timeout=120)
    assert cold.returncode != 0 and handed.returncode == cold.returncode, (cold_out, handed_out)
    assert "no_such_selector" in handed_out
    assert warm.process.wait(timeout=30) == 0  # it was the warm process that ran it


def test_the_warm_dbt_ends_with_its_wrapper_and_stops_on_its_signal(tmp_path):
    """A wrapper killed alone (kill -9 of its pid) takes the dbt it handed over with it, as an exec'd dbt
    is that process; SIGTERM to the wrapper reaches dbt, and the wrapper ends of it as dbt did."""
    for how in (signal.SIGKILL, signal.SIGTERM):
        warm = start_warm(PROJECT, None, {})
        try:
            ready(warm)
            # a full parse (no partial-parse state): a few seconds of work, no database
            running = wrapper(dbt_args(tmp_path / how.name, "parse", "--no-partial-parse"), warm)
            deadline = time.monotonic() + 60
            while warm.socket.exists() and time.monotonic() < deadline:
                time.sleep(0.02)  # until it took the invocation
            assert not warm.socket.exists() and warm.process.poll() is None
            running.send_signal(how)
            running.communicate(timeout=60)
            assert warm.process.wait(timeout=30) != 0, how  # dbt did not finish the parse
            assert running.returncode == -how, (how, running.returncode)
        finally:
            warm.close()


def test_an_unused_warm_process_is_ended_and_leaves_nothing(tmp_path):
    warm = start_warm(PROJECT, None, {})
    ready(warm)
    warm.close()
    assert warm.process.poll() is not None
    assert not warm.folder.exists()
    # and one that died before it could take anything: the wrapper runs dbt itself
    ran = wrapper(dbt_args(tmp_path, "--quiet", "ls", "--resource-type", "seed"), warm)
    assert ran.communicate(timeout=120)[0].count("planwh.catalog_") >= 5 and ran.returncode == 0


def test_the_folder_of_a_refresh_killed_outright_is_swept_by_the_next(tmp_path):
    # kill -9 of a refresh leaves its warm process's socket folder: nothing of that process could remove it
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = Path(tempfile.gettempdir()) / f"{FOLDER_PREFIX}{dead.pid}-left"
    left.mkdir()
    (left / "dbt.sock").write_bytes(b"")
    alive = Path(tempfile.gettempdir()) / f"{FOLDER_PREFIX}{os.getpid()}-other"
    alive.mkdir()
    warm = start_warm(PROJECT, None, {})
    try:
        assert not left.exists()  # its refresh is gone
        assert alive.exists()  # this process is alive: its folder is in use
        assert warm.folder.name.startswith(f"{FOLDER_PREFIX}{os.getpid()}-")
    finally:
        warm.close()
        alive.rmdir()


def test_a_warm_start_is_made_only_with_a_core_to_spare(monkeypatch):
    """`auto` judges by the CPU's pressure (or the load average): a warm start uses an idle core, and where
    none is idle it is CPU taken from the work. `never` and `always` decide instead; the run's log line says
    which it was."""
    from pipelines.dbt_child import spare_core, take_warm, warm_up_for_run

    monkeypatch.setenv("PLANWH_DBT_WARM_START", "never")
    assert spare_core() == (False, "PLANWH_DBT_WARM_START=never")
    said = warm_up_for_run("run-never", PROJECT, PROJECT / "no-state", {})
    assert "not warm beforehand" in said and "PLANWH_DBT_WARM_START=never" in said
    assert take_warm("run-never") is None  # planwh-dbt runs dbt itself

    monkeypatch.setenv("PLANWH_DBT_WARM_START", "Always")
    assert spare_core() == (True, "PLANWH_DBT_WARM_START=always")
    said = warm_up_for_run("run-always", PROJECT, PROJECT / "no-state", {})
    started = take_warm("run-always")
    assert started is not None and "starting warm" in said
    started.close()
    assert started.process.poll() is not None

    monkeypatch.delenv("PLANWH_DBT_WARM_START")
    spare, why = spare_core()
    assert isinstance(spare, bool)
    if len(os.sched_getaffinity(0)) < 2:
        assert (spare, why) == (False, "one core: nothing to run it beside")
    else:
        assert ("of the last 10 s" in why) if Path("/proc/pressure/cpu").exists() else ("load average" in why)
