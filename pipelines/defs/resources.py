"""Resources shared by every domain: where the warehouse lives, the evaluation date, dbt."""

import os
import shutil
import sys
from datetime import date
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.defs.transform.project import dbt_project
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.settings import Settings, load_settings, today_local


class PlanWarehouse(dg.ConfigurableResource):
    """Paths come from the PLANWH_* environment variables (pipelines/lib/settings.py).

    `as_of` pins the evaluation date (YYYY-MM-DD) for a reproducible run; empty means today in
    Asia/Shanghai. `known_at` (YYYY-MM-DD) is the knowledge cutoff: only submissions received by the
    end of that day count; empty means everything received so far. Pin both to the same day to
    reproduce exactly what a past evaluation said.
    """

    as_of: str = ""
    known_at: str = ""

    @property
    def settings(self) -> Settings:
        return load_settings()

    def as_of_date(self) -> date:
        return date.fromisoformat(self.as_of) if self.as_of else today_local()

    def known_at_date(self) -> date | None:
        """The knowledge cutoff: this resource's `known_at`, else PLANWH_KNOWN_AT, else none."""
        value = self.known_at or os.environ.get("PLANWH_KNOWN_AT", "")
        return date.fromisoformat(value) if value else None

    def catalog(self) -> Catalog:
        return Catalog.load(self.settings.seeds_dir)


def dbt_executable() -> str:
    """The dbt installed next to this interpreter (the venv's bin may not be on PATH)."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


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
            "dbt": DbtCliResource(
                project_dir=dbt_project,
                profiles_dir=str(dbt_project.project_dir),
                dbt_executable=dbt_executable(),
            ),
        },
    )
