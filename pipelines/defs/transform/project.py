"""The one cached DbtProject (manifest prepared by `make manifest` / `planwh prepare`)."""

from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.lib.settings import load_settings

dbt_project = DbtProject(
    project_dir=Path(load_settings().dbt_project_dir),
    profiles_dir=Path(load_settings().dbt_project_dir),
)
dbt_project.prepare_if_dev()
