"""Resources shared by every domain: where the warehouse lives, the evaluation date, dbt."""

import contextlib
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, date
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from pydantic import PrivateAttr

from pipelines.defs.transform.project import dbt_project
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.settings import (
    TZ,
    Settings,
    SettingsError,
    date_setting,
    load_settings,
    parse_day,
    settings_problems,
    today_local,
)
from pipelines.lib.warehouse.dbt_state import file_log_flags
from pipelines.lib.warehouse.disk import DiskFull, require_free
from pipelines.lib.warehouse.publish import publish_needs

NO_RETRY = {"dagster/max_retries": "0"}  # a bad setting (or a damaged archive) fails again the same way


class PlanWarehouse(dg.ConfigurableResource):
    """Paths come from the PLANWH_* environment variables (pipelines/lib/settings.py).

    `as_of` pins the evaluation date (YYYY-MM-DD) for a reproducible run; empty means the day the run
    was created, in Asia/Shanghai (one day for every step, also for a run that goes past midnight).
    `known_at` (YYYY-MM-DD) is the knowledge cutoff: only submissions received by the end of that day
    count; empty means everything received so far. Pin both to the same day to reproduce exactly what a
    past evaluation said.

    Before a run's first step the settings, these dates and the free space a publish needs are checked
    (one line per problem); a run that fails this way is tagged so the daemon does not retry it.
    """

    as_of: str = ""
    known_at: str = ""
    _run_day: date | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._run_day = _day_created(context)
        problems = settings_problems(
            as_of=self.as_of.strip() or None,  # blank is unset (date_setting)
            known_at=self.known_at.strip() or None,
            warehouse_must_be_valid=False,
            date_names=("as_of", "known_at"),
        )
        if problems:
            no_retry(context)
            raise SettingsError(problems)
        settings = load_settings()
        with not_retried_on(context, DiskFull):
            require_free(settings.publish_dir, publish_needs(settings), "this run's publish step")

    @property
    def settings(self) -> Settings:
        return load_settings()

    def run_day(self) -> date:
        """The run's "today": the Asia/Shanghai day it was created (outside a run: the clock's)."""
        return self._run_day or today_local()

    def as_of_date(self) -> date:
        """The evaluation date: this resource's `as_of`, else PLANWH_AS_OF, else the run's day."""
        value = date_setting("as_of", self.as_of)
        return parse_day(value, "as_of") if value else self.run_day()

    def known_at_date(self) -> date | None:
        """The knowledge cutoff: this resource's `known_at`, else PLANWH_KNOWN_AT, else none."""
        value = date_setting("known_at", self.known_at)
        return parse_day(value, "known_at") if value else None

    def catalog(self) -> Catalog:
        return Catalog.load(self.settings.seeds_dir)


def _day_created(context: dg.InitResourceContext) -> date | None:
    """The Asia/Shanghai day of the run's creation, which every step of it (and each step's process, with
    another executor) reads the same: steps that each asked the clock would evaluate the marts as of one
    day and the alerts and the snapshot as of the next when a run goes past midnight."""
    if context.instance is None or not context.run_id:
        return None
    try:
        record = context.instance.get_run_record_by_id(context.run_id)
    except Exception:  # storage trouble shows elsewhere; the clock's day is the old behaviour
        return None
    if record is None or record.create_timestamp is None:
        return None
    created = record.create_timestamp
    if created.tzinfo is None:  # Dagster's SQL storage keeps UTC
        created = created.replace(tzinfo=UTC)
    return created.astimezone(TZ).date()


@contextlib.contextmanager
def not_retried_on(
    context: dg.InitResourceContext | dg.AssetExecutionContext, *errors: type[BaseException]
) -> Iterator[None]:
    """Runs the block; when it raises one of `errors` (a failure a retry cannot fix), the run is tagged so
    the daemon does not retry it, and the error goes on."""
    try:
        yield
    except errors:
        no_retry(context)
        raise


def no_retry(context: dg.InitResourceContext | dg.AssetExecutionContext) -> None:
    """Tag the run so the daemon does not retry it: it failed on something a retry cannot fix (a bad setting,
    a full disk, a damaged archive)."""
    if context.instance is not None and context.run_id:
        # the run fails anyway; not being able to tag it must not hide why
        with contextlib.suppress(Exception):
            context.instance.add_run_tags(context.run_id, NO_RETRY)


class PlanwhDbtCli(DbtCliResource):
    """dagster-dbt's dbt resource without two costs of every run that this project does not need:
    - DbtCliResource runs `dbt --version` in a new process to learn the version (a whole dbt start-up, which
      also asks PyPI for the latest release: 2-5 s on 2 cores). The executable here is this venv's dbt,
      directly or through the planwh-dbt wrapper that execs it, so its version is the installed dbt-core's.
    - Before starting dbt it sets up a dbt adapter in this process (dbt's flags, profile, project and macros:
      ~1.8 s), used only by its own row-count and column-metadata helpers. The metadata here is read with one
      DuckDB connection after dbt exits (pipelines/defs/transform/metadata.py), so no adapter is made."""

    def _initialize_dbt_core_adapter(self, args):
        return None

    @property
    def _cli_version(self):
        executable = Path(self.dbt_executable)
        if executable.parent == Path(sys.executable).parent and executable.name in ("planwh-dbt", "dbt"):
            from dbt.version import __version__
            from packaging import version

            return version.parse(__version__)
        return super()._cli_version


def dbt_executable() -> str:
    """dbt as this interpreter's venv has it, through the `planwh-dbt` wrapper that makes it die with
    the run (pipelines/dbt_child.py); plain dbt where the wrapper is not installed."""
    here = Path(sys.executable).parent
    for name in ("planwh-dbt", "dbt"):
        if (here / name).exists():
            return str(here / name)
    return shutil.which("dbt") or "dbt"


@dg.definitions
def resources() -> dg.Definitions:
    # In-process by default: every run, including the implicit asset job behind the UI's "Materialize all",
    # a selection or a re-execution, runs its steps in one process, as `planwh refresh` does. The default
    # multiprocess executor starts one process per step, each loading the code location again (about three
    # quarters of a UI run on 2 cores), and the steps all write the one DuckDB file in turn anyway.
    return dg.Definitions(
        executor=dg.in_process_executor,
        resources={
            "planwh": PlanWarehouse(),
            "dbt": PlanwhDbtCli(
                project_dir=dbt_project,
                profiles_dir=str(dbt_project.project_dir),
                dbt_executable=dbt_executable(),
                global_config_flags=file_log_flags(),
            ),
        },
    )
