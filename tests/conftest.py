"""Test set-up: real DuckDB files, real dbt runs, real GX, Dagster's in-process execution.

Every test writes under warehouse/test/ (git-ignored). The working warehouse path is fixed
(warehouse/test/work/planwh.duckdb) so dbt's partial parse stays valid across tests; tests that need
a fresh warehouse wipe that folder first. The evaluation date is pinned (AS_OF) so results do not
depend on the day the tests run.

`make test` runs the tests in two pytest-xdist workers (one per core; a file's tests stay together on
one worker). Each worker has its own folders (warehouse/test-gw0/, ...) and its own dbt target folder
(dbt_project/target/gw0/, through dbt's DBT_TARGET_PATH), so the workers share nothing they write:
not the warehouse, not the Dagster instance, not dbt's partial-parse state.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# a worker of a loaded CI machine can stall longer than hypothesis's 200 ms deadline per example, which it
# reports as a flaky failure: the properties are about values, not speed
hypothesis_settings.register_profile("planwh", deadline=None)
hypothesis_settings.load_profile("planwh")

REPO = Path(__file__).resolve().parents[1]
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ... under pytest-xdist, else ""
TEST_ROOT = REPO / "warehouse" / (f"test-{WORKER}" if WORKER else "test")
WORK = TEST_ROOT / "work"
AS_OF = "2026-06-30"

ENV = {
    "PLANWH_DUCKDB": str(WORK / "planwh.duckdb"),
    "PLANWH_RAW_DIR": str(TEST_ROOT / "raw"),
    "PLANWH_PUBLISH_DIR": str(TEST_ROOT / "published"),
    "PLANWH_OUTPUT_DIR": str(TEST_ROOT / "output"),
    "DAGSTER_HOME": str(TEST_ROOT / "dagster_home"),
    "GX_ANALYTICS_ENABLED": "false",
    "DAGSTER_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    # tests drop a file and refresh at once: no quiet period (tests/test_inbox.py sets one where it matters)
    "PLANWH_INBOX_QUIET_SECONDS": "0",
}
if WORKER:
    ENV["DBT_TARGET_PATH"] = f"target/{WORKER}"  # relative to the dbt project, as dbt and dagster-dbt read it


def pytest_configure(config):
    os.environ.update(ENV)
    if not WORKER:
        os.environ.pop("DBT_TARGET_PATH", None)
    os.environ.pop("PLANWH_AS_OF", None)
    for name in [k for k in os.environ if k.startswith("PLANWH_") and k not in ENV]:
        os.environ.pop(name)  # a developer's own settings (webhook, limits, retention) stay out of the tests
    home = Path(ENV["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (TEST_ROOT / "raw" / "inbox").mkdir(parents=True, exist_ok=True)  # settings require the raw folder
    from pipelines.runs import write_instance_yaml

    write_instance_yaml(home)  # the state under the tests' own DAGSTER_HOME, absolute paths
    if not (getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput")):
        # not the xdist controller (it runs no test): parse the dbt project with this process's environment
        # before any test module imports the definitions (they read the manifest), so partial parsing is
        # reused by every dbt run
        subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "prepare"],
            check=True,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
        )


# The test files that take longest, longest first (measured with --durations, 2 workers). pytest-xdist hands
# out whole files in collection order (`make test` passes --no-loadscope-reorder; by default it puts the
# files with the most tests first, which left the one-test 6-minute incremental file running alone at the
# end): the long files start at once and the short ones fill in around them.
SLOWEST_FIRST = (
    "test_reliability.py",
    "test_incremental.py",
    # a short file third: xdist gives a second file at once to a worker with at most two tests pending (the
    # one-test incremental file's), and what it gets there is pinned behind the 5-minute test
    "test_values.py",
    "test_alerts.py",
    "test_bench.py",
    "test_analysts.py",
    "test_runs.py",
    "test_portal.py",
    "test_plausibility.py",
    "test_portal_browser.py",
    "test_inbox.py",
    "test_sensor.py",
    "test_engineers_ui.py",
    "test_settings.py",
    "test_retention.py",
    "test_ui.py",
    "test_end_to_end.py",
    "test_evaluation.py",
    "test_samples.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


def dbt_target() -> Path:
    """This process's dbt target folder (the worker's own under xdist)."""
    from pipelines.lib.warehouse.dbt_state import target_dir

    return target_dir(REPO / "dbt_project")


def dbt(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run this venv's dbt on the project, as the tests' environment sets it up."""
    from pipelines.lib.warehouse.dbt_state import NO_FILE_LOG

    command = [str(Path(sys.executable).with_name("dbt")), *NO_FILE_LOG, *args]  # as a refresh runs dbt
    # absolute paths: dbt keeps the project root it was given in its partial-parse state, and a relative
    # one breaks the seed paths of every later dbt run started from another directory (the Dagster runs)
    project = str(REPO / "dbt_project")
    command += ["--project-dir", project, "--profiles-dir", project]
    return subprocess.run(command, cwd=REPO, env=env or dict(os.environ), **kwargs)


def wipe_test_warehouse() -> None:
    for name in ("work", "raw", "published", "output"):
        shutil.rmtree(TEST_ROOT / name, ignore_errors=True)
    (TEST_ROOT / "raw" / "inbox").mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def fresh_warehouse():
    """An empty warehouse, inbox and archive at the fixed test paths."""
    from pipelines.lib.settings import load_settings

    wipe_test_warehouse()
    yield load_settings()


def copy_sample_inbox(raw_dir: Path) -> None:
    shutil.copytree(REPO / "raw" / "inbox", raw_dir / "inbox", dirs_exist_ok=True)
    shutil.copytree(REPO / "raw" / "backfill", raw_dir / "backfill", dirs_exist_ok=True)


def run_job(
    job_name: str = "refresh", as_of: str | None = AS_OF, run_config: dict | None = None, instance=None
):
    """Execute a job of the real definitions in-process (ephemeral Dagster instance by default)."""
    import dagster as dg

    from pipelines.definitions import defs

    config = dict(run_config or {})
    if as_of:
        config.setdefault("resources", {})["planwh"] = {"config": {"as_of": as_of}}
    job = defs.resolve_job_def(job_name)
    if instance is None:
        with dg.DagsterInstance.ephemeral() as ephemeral:
            result = job.execute_in_process(run_config=config, instance=ephemeral, raise_on_error=False)
    else:
        result = job.execute_in_process(run_config=config, instance=instance, raise_on_error=False)
    told = _Told(result)
    if not result.success:
        # pytest shortens the repr in its assertion line (~240 characters under -q); the whole story goes to
        # the captured output, which a failing test's report prints in full
        print(told.story(), file=sys.stderr)
    return told


def _raised(error):
    """The error a run's failure comes from: Dagster wraps what a step raised (`cause`); what that error
    interrupted (`context`) is in the full trace."""
    seen = set()
    while error.cause is not None and id(error) not in seen:
        seen.add(id(error))
        error = error.cause
    return error


class _Told:
    """A run's result that says why it failed: `assert run_job(...).success` shows the result's repr, and
    Dagster's names only the object (a CI log then reads "assert False" and nothing to go on). The repr
    leads with each failure's innermost error; `story()` has every failure event with its full trace and
    the DuckDB connections still alive in this process (an instance cached for a path keeps its first
    configuration)."""

    def __init__(self, result):
        self._result = result

    def __getattr__(self, name):
        if name.startswith("__") or name == "_result":  # copy/pickle probe these before __init__ ran
            raise AttributeError(name)
        return getattr(self._result, name)

    def _failures(self) -> list[tuple[str, object, object]]:
        """(event type and step, event, error) of each failure event and each event carrying an error."""
        found = []
        for event in self._result.all_events:
            error = getattr(event.event_specific_data, "error", None)
            if event.is_failure or error is not None:
                found.append((f"{event.event_type_value} {event.step_key or ''}".strip(), event, error))
        return found

    def __repr__(self) -> str:
        if self._result.success:
            return f"<run {self._result.run_id}: success>"
        causes = []
        for where, event, error in self._failures():
            innermost = _raised(error) if error is not None else None
            causes.append(f"{where}: {innermost.message.strip() if innermost else event.message}")
        return "<run failed: " + " | ".join(causes or ["no failure event"]) + ">"

    def story(self) -> str:
        import gc

        import duckdb

        lines = [f"run {self._result.run_id} failed"]
        for where, event, error in self._failures():
            lines.append(f"--- {where}: {event.message}")
            if error is not None:
                lines.append(error.to_string())
        alive = [o for o in gc.get_objects() if isinstance(o, duckdb.DuckDBPyConnection)]
        lines.append(f"--- DuckDB connections alive in this process: {len(alive)}")
        return "\n".join(lines)


def refresh_as_the_daemon_would_retry(as_of: str):
    """The refresh job in an instance with run retries on, as the daemon has them: (the run's result, its
    `dagster/max_retries` tag, whether Dagster's own retry rule would run it again)."""
    import dagster as dg
    from dagster._core.execution.retries import auto_reexecution_should_retry_run

    from pipelines.definitions import defs

    with dg.DagsterInstance.ephemeral(
        settings={"run_retries": {"enabled": True, "max_retries": 1}}
    ) as instance:
        result = defs.resolve_job_def("refresh").execute_in_process(
            instance=instance,
            run_config={"resources": {"planwh": {"config": {"as_of": as_of}}}},
            raise_on_error=False,
        )
        record = instance.get_run_by_id(result.run_id)
        return (
            result,
            record.tags.get("dagster/max_retries"),
            auto_reexecution_should_retry_run(instance, record, None),
        )


def launch_like_the_ui(as_of: str | None = AS_OF, selection: list | None = None):
    """Run the implicit asset job as the UI's "Materialize all" (or a selection) launches it: a
    reconstructable job executed with the code location's own executor, recorded in the test instance."""
    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    from pipelines.runs import local_instance

    job = ReconstructableRepository.for_module(
        "pipelines.definitions", "defs", working_directory=str(REPO)
    ).get_reconstructable_job("__ASSET_JOB")
    if selection:
        job = job.get_subset(asset_selection=set(selection))
    config = {"resources": {"planwh": {"config": {"as_of": as_of}}}} if as_of else {}
    with local_instance() as instance, dg.execute_job(job, instance, run_config=config) as result:
        return result


@pytest.fixture(scope="session")
def sample_run():
    """One full refresh over the shipped sample inbox (as of AS_OF), launched as the UI's "Materialize
    all" launches it (the implicit asset job); results copied aside for read-only tests."""
    from pipelines.lib.settings import load_settings

    wipe_test_warehouse()
    settings = load_settings()
    copy_sample_inbox(settings.raw_dir)
    result = launch_like_the_ui(AS_OF)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    # the run's dbt invocation folder as it left it: later refreshes in this worker prune old ones
    invocations = sorted(dbt_target().glob(f"planwh_dbt-{result.run_id[:7]}-*"))
    dbt_files = {path.name for path in invocations[0].iterdir()} if len(invocations) == 1 else set()
    keep = TEST_ROOT / "sample"
    shutil.rmtree(keep, ignore_errors=True)
    keep.mkdir(parents=True)
    shutil.copyfile(settings.published_warehouse, keep / "planwh.duckdb")
    shutil.copytree(settings.output_dir, keep / "output")
    # the files' modes as the run left them (later tests wipe the shared test folders)
    modes = {
        "published": settings.published_warehouse.stat().st_mode,
        "working": settings.warehouse.stat().st_mode,
    }
    return {
        "db": keep / "planwh.duckdb",
        "output": keep / "output",
        "result": result,
        "modes": modes,
        "dbt_files": dbt_files,
    }


@pytest.fixture
def sample_db(sample_run):
    from pipelines.lib.warehouse.publish import open_published

    con = open_published(sample_run["db"])
    yield con
    con.close()


def query(con, sql: str, params=None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]
