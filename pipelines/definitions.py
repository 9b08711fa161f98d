"""Dagster code location: loads everything under defs/ (one folder per domain)."""

from pathlib import Path

import dagster as dg

from pipelines.lib.settings import export_env, load_settings

export_env(load_settings())

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
