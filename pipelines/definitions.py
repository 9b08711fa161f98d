"""Dagster code location: loads everything under defs/ (one folder per domain).

Settings are checked before anything else (pipelines/lib/settings.py): a bad one stops the code
location from loading with one line per problem, instead of a run failing later. `make ui` runs
`planwh check` first, which prints the same lines and exits 2."""

from pathlib import Path

import dagster as dg

from pipelines.lib.settings import SettingsError, export_env, private_umask, settings_problems

export_env()
private_umask()
_problems = settings_problems(warehouse_must_be_valid=False)
if _problems:
    raise SettingsError(_problems)

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
