"""Where things live. Every path has one environment variable and a default inside the repo.

PLANWH_DUCKDB is the one variable that names the warehouse file; dbt's profiles.yml reads the same
variable, and `export_env()` makes sure a dbt subprocess sees the absolute path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Shanghai")

DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024


def _path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Resolved locations and limits for one process."""

    warehouse: Path  # the working DuckDB file (one writer at a time)
    raw_dir: Path  # landing zone: raw/inbox/<department_code>/..., raw/archive/, raw/backfill/
    dbt_project_dir: Path
    publish_dir: Path  # read-only snapshot(s) for analysts
    output_dir: Path  # report, exports, validation docs
    max_file_bytes: int

    @property
    def inbox(self) -> Path:
        return self.raw_dir / "inbox"

    @property
    def archive(self) -> Path:
        return self.raw_dir / "archive"

    @property
    def backfill_receipts(self) -> Path:
        return self.raw_dir / "backfill" / "receipts.csv"

    @property
    def seeds_dir(self) -> Path:
        return self.dbt_project_dir / "seeds"

    @property
    def published_warehouse(self) -> Path:
        return self.publish_dir / self.warehouse.name

    @property
    def lock_file(self) -> Path:
        return self.warehouse.with_suffix(".lock")

    @property
    def inbox_index(self) -> Path:
        """Cache of (path, size, mtime) -> sha256 so sensor ticks do not re-hash every file."""
        return self.warehouse.parent / "inbox_index.json"


def load_settings() -> Settings:
    warehouse = _path("PLANWH_DUCKDB", REPO_ROOT / "warehouse" / "planwh.duckdb")
    return Settings(
        warehouse=warehouse,
        raw_dir=_path("PLANWH_RAW_DIR", REPO_ROOT / "raw"),
        dbt_project_dir=_path("PLANWH_DBT_PROJECT_DIR", REPO_ROOT / "dbt_project"),
        publish_dir=_path("PLANWH_PUBLISH_DIR", warehouse.parent / "published"),
        output_dir=_path("PLANWH_OUTPUT_DIR", warehouse.parent / "output"),
        max_file_bytes=int(os.environ.get("PLANWH_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES)),
    )


def export_env(settings: Settings) -> None:
    """Pin absolute paths in the environment so subprocesses (dbt, Dagster) agree with us."""
    os.environ["PLANWH_DUCKDB"] = str(settings.warehouse)
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT))
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def now_local() -> datetime:
    """Current wall-clock time in Asia/Shanghai, as a naive timestamp (the warehouse convention)."""
    return datetime.now(TZ).replace(tzinfo=None, microsecond=0)


def today_local() -> date:
    return datetime.now(TZ).date()
