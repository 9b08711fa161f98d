"""The one cached DbtProject (manifest prepared by `make manifest` / `planwh prepare`)."""

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.lib.settings import load_settings
from pipelines.lib.warehouse.dbt_state import target_dir

_project_dir = Path(load_settings().dbt_project_dir)
dbt_project = DbtProject(
    project_dir=_project_dir,
    profiles_dir=_project_dir,
    target_path=target_dir(_project_dir).relative_to(_project_dir),
)
# `dagster dev` prepares the project with a bare `dbt`: make sure it is the one beside this interpreter
# (the venv's bin is not on PATH when `make ui` is run from a plain shell).
_bin = str(Path(sys.executable).parent)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")
dbt_project.prepare_if_dev()
