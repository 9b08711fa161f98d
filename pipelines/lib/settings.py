"""Where things live and the limits a run keeps, from environment variables, checked in one place.

PLANWH_DUCKDB is the one variable that names the warehouse file; dbt's profiles.yml reads the same
variable, and `export_env()` makes sure a dbt subprocess sees the absolute path.

Every entry point (the CLI, the Dagster code location, `make ui`, the rebuild) calls
`settings_problems()` / `checked_settings()` before it touches anything: each bad setting is one line
naming the variable, what is wrong and what to do; the CLI prints them and exits with code 2, having
written nothing. A secret (the webhook URL) is never repeated in these lines.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import struct
import urllib.parse
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Shanghai")

DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
WEBHOOK_FORMATS = ("generic", "dingtalk", "wecom")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DBT_WARM_START = ("auto", "always", "never")  # PLANWH_DBT_WARM_START (pipelines/dbt_child.py)
EXIT_BAD_SETTING = (
    2  # sysexits' EX_USAGE is 64; 2 is what argparse and most tools use for "you asked wrongly"
)


class SettingsError(ValueError):
    """One or more settings are wrong; `problems` holds one line per setting."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# name -> (default, integer?, minimum, maximum, what it is, example)
NUMBERS: dict[str, tuple[float, bool, float, float | None, str, str]] = {
    "PLANWH_MAX_FILE_BYTES": (DEFAULT_MAX_FILE_BYTES, True, 1, None, "a whole number of bytes", "20971520"),
    "PLANWH_LOCK_TIMEOUT": (3600, False, 0, None, "seconds to wait for the warehouse", "3600"),
    "PLANWH_INBOX_QUIET_SECONDS": (60, False, 0, 86400, "seconds a file must stay unchanged", "60"),
    "PLANWH_WEBHOOK_DEADLINE_SECONDS": (20, False, 1, 600, "seconds one webhook delivery may take", "20"),
    "PLANWH_DELIVERY_GIVE_UP_HOURS": (72, False, 0, 24 * 90, "hours of retrying before giving up", "72"),
    "PLANWH_RETAIN_RUN_DAYS": (30, True, 0, None, "days to keep Dagster runs", "30"),
    "PLANWH_RETAIN_FAILED_RUN_DAYS": (90, True, 0, None, "days to keep failed Dagster runs", "90"),
    "PLANWH_RETAIN_MIN_RUNS": (20, True, 0, None, "latest Dagster runs always kept", "20"),
    "PLANWH_RETAIN_REBUILD_COPIES": (3, True, 0, None, "pre-rebuild copies kept", "3"),
    "PLANWH_RETAIN_LOG_FILES": (60, True, 1, None, "run log files kept", "60"),
    "PLANWH_INBOX_REHASH_HOURS": (24, False, 0, None, "hours before an unchanged file is hashed again", "24"),
    "PLANWH_REMINDER_DAYS": (7, True, 0, 366, "days before a deadline to remind a department (催报)", "7"),
}


@dataclass(frozen=True)
class Retention:
    """How long run history, logs and rebuild copies are kept (docs/operations.md, "Retention")."""

    run_days: int = 30  # successful Dagster runs (and their event logs, compute logs)
    failed_run_days: int = 90  # failures are kept longer: they are what someone investigates
    min_runs: int = 20  # the latest runs are always kept, however old
    rebuild_copies: int = 3  # planwh.duckdb.before-rebuild-* files
    log_files: int = 60  # warehouse/output/logs/*.log


@dataclass(frozen=True)
class Settings:
    """Resolved locations and limits for one process."""

    warehouse: Path  # the working DuckDB file (one writer at a time)
    raw_dir: Path  # landing zone: raw/inbox/<department_code>/..., raw/archive/, raw/backfill/
    dbt_project_dir: Path
    publish_dir: Path  # read-only snapshot(s) for analysts
    output_dir: Path  # report, exports, validation docs, logs, notifications
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    lock_timeout: float = 3600.0
    inbox_quiet_seconds: float = 60.0  # a file is taken once unchanged this long (half-written files wait)
    inbox_rehash_hours: float = 24.0  # an unchanged file is hashed again after this long (belt and braces)
    webhook_deadline_seconds: float = 20.0  # one delivery, connect to last byte
    delivery_give_up_hours: float = 72.0  # retries with back-off over this much wall time, then a warning
    retention: Retention = field(default_factory=Retention)
    dagster_home: Path = REPO_ROOT
    dagster_storage: Path = REPO_ROOT / ".dagster" / "storage"
    dagster_compute_logs: Path = REPO_ROOT / ".dagster" / "compute_logs"

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
    def children_file(self) -> Path:
        """Child processes (dbt) of the run holding the warehouse, so an abandoned one can be ended."""
        return self.warehouse.with_suffix(".children.json")

    @property
    def inbox_index(self) -> Path:
        """Cache of a file's identity (size, mtime, ctime, inode) -> sha256, so scans do not re-hash."""
        return self.warehouse.parent / "inbox_index.json"

    @property
    def log_dir(self) -> Path:
        return self.output_dir / "logs"


# ------------------------------------------------------------------------------------------ parsing


def _path(var: str, default: Path, problems: list[str] | None = None) -> Path:
    value = os.environ.get(var)
    if value is None:
        return default
    if not value.strip():
        if problems is not None:
            problems.append(f"{var} is set but empty: unset it to use the default ({default}) or name a path")
        return default
    return Path(value.strip()).expanduser().resolve()


def _number(var: str, problems: list[str]) -> float:
    default, integer, low, high, what, example = NUMBERS[var]
    raw = os.environ.get(var)
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    try:
        value = int(text) if integer else float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError
    except ValueError:
        problems.append(f"{var}={_show(text)} is not {what}: write a plain number such as {var}={example}")
        return default
    if value < low or (high is not None and value > high):
        bounds = f"at least {low:g}" + (f" and at most {high:g}" if high is not None else "")
        problems.append(f"{var}={_show(text)} is out of range: {what}, {bounds} (e.g. {var}={example})")
        return default
    return value


def _show(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _parse_settings(problems: list[str]) -> Settings:
    warehouse = _path("PLANWH_DUCKDB", REPO_ROOT / "warehouse" / "planwh.duckdb", problems)
    n = {var: _number(var, problems) for var in NUMBERS}
    home = _path("DAGSTER_HOME", REPO_ROOT, problems)
    return Settings(
        warehouse=warehouse,
        raw_dir=_path("PLANWH_RAW_DIR", REPO_ROOT / "raw", problems),
        dbt_project_dir=_path("PLANWH_DBT_PROJECT_DIR", REPO_ROOT / "dbt_project", problems),
        publish_dir=_path("PLANWH_PUBLISH_DIR", warehouse.parent / "published", problems),
        output_dir=_path("PLANWH_OUTPUT_DIR", warehouse.parent / "output", problems),
        max_file_bytes=int(n["PLANWH_MAX_FILE_BYTES"]),
        lock_timeout=float(n["PLANWH_LOCK_TIMEOUT"]),
        inbox_quiet_seconds=float(n["PLANWH_INBOX_QUIET_SECONDS"]),
        inbox_rehash_hours=float(n["PLANWH_INBOX_REHASH_HOURS"]),
        webhook_deadline_seconds=float(n["PLANWH_WEBHOOK_DEADLINE_SECONDS"]),
        delivery_give_up_hours=float(n["PLANWH_DELIVERY_GIVE_UP_HOURS"]),
        retention=Retention(
            run_days=int(n["PLANWH_RETAIN_RUN_DAYS"]),
            failed_run_days=int(n["PLANWH_RETAIN_FAILED_RUN_DAYS"]),
            min_runs=int(n["PLANWH_RETAIN_MIN_RUNS"]),
            rebuild_copies=int(n["PLANWH_RETAIN_REBUILD_COPIES"]),
            log_files=int(n["PLANWH_RETAIN_LOG_FILES"]),
        ),
        dagster_home=home,
        dagster_storage=_path("PLANWH_DAGSTER_STORAGE", instance_folder(home, "storage"), problems),
        dagster_compute_logs=_path(
            "PLANWH_DAGSTER_COMPUTE_LOGS", instance_folder(home, "compute_logs"), problems
        ),
    )


INSTANCE_FOLDERS = {  # where dagster.yaml may name each state folder (first found wins), and its default
    "storage": (
        (
            ("storage", "sqlite", "base_dir"),  # stock `storage: sqlite`
            ("storage", "custom", "config", "base_dir"),  # the shipped dagster.yaml (dagster_storage.py)
            ("storage", "config", "base_dir"),
        ),
        ".dagster/storage",
    ),
    "compute_logs": ((("compute_logs", "config", "base_dir"),), ".dagster/compute_logs"),
    "local_artifact_storage": (
        (("local_artifact_storage", "config", "base_dir"),),
        ".dagster/storage",
    ),
}


def instance_folder_keys(config: object, name: str) -> tuple[str, ...] | None:
    """The keys under which the parsed dagster.yaml `config` names the state folder `name`, if it does."""
    for keys in INSTANCE_FOLDERS[name][0]:
        value = config
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip():
            return keys
    return None


_YAML_READ: dict[Path, tuple[bytes, object]] = {}  # dagster.yaml -> (its bytes, parsed)


def _dagster_yaml(path: Path) -> object:
    """`path` parsed ({} when missing or malformed: the settings check names it). Settings are read a few
    dozen times a run; the YAML is parsed again only when the file's bytes changed."""
    import yaml

    try:
        data = path.read_bytes()
    except OSError:
        return {}
    cached = _YAML_READ.get(path)
    if cached is None or cached[0] != data:
        try:
            parsed: object = yaml.safe_load(data.decode("utf-8")) or {}
        except (UnicodeDecodeError, yaml.YAMLError):
            parsed = {}
        cached = (data, parsed)
        _YAML_READ[path] = cached
    return copy.deepcopy(cached[1])


def instance_folder(home: Path, name: str) -> Path:
    """A Dagster state folder as `home`/dagster.yaml names it. A relative path is resolved against the
    repository root, where the Dagster CLI starts (so `dagster dev` and a refresh share one instance);
    PLANWH_DAGSTER_STORAGE / PLANWH_DAGSTER_COMPUTE_LOGS override it (settings and runs.local_instance
    use the same folders, so retention cleans what Dagster writes)."""
    config = _dagster_yaml(home / "dagster.yaml")
    keys = instance_folder_keys(config, name)
    value = INSTANCE_FOLDERS[name][1]
    if keys:
        for key in keys:
            config = config[key]
        value = config
    path = Path(value)
    return path if path.is_absolute() else REPO_ROOT / path


def load_settings() -> Settings:
    """The settings of this process; raises SettingsError (one line per problem) on a malformed value.

    Only parses: whether the paths exist and can be written is `settings_problems()`'s job."""
    problems: list[str] = []
    settings = _parse_settings(problems)
    if problems:
        raise SettingsError(problems)
    return settings


DATE_SETTINGS = {"as_of": "PLANWH_AS_OF", "known_at": "PLANWH_KNOWN_AT"}


def date_setting(name: str, given: str | None = None) -> str | None:
    """The evaluation date `name` (as_of | known_at) as text: the value given (a command-line option, a run's
    resource config), else its setting (PLANWH_AS_OF, PLANWH_KNOWN_AT), else None. Blank is unset, here as in
    the settings check: the CLI and the runs Dagster launches read one rule (a PLANWH_AS_OF of spaces passed
    the check and then failed every scheduled run with "as_of='' is not a date")."""
    for value in (given, os.environ.get(DATE_SETTINGS[name])):
        if value and value.strip():
            return value.strip()
    return None


def parse_day(value: str, name: str) -> date:
    """A calendar day written YYYY-MM-DD (nothing looser: 20261201 or 2026-W48 are typos here)."""
    text = (value or "").strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"{name}={_show(text)} is not a date: write YYYY-MM-DD, e.g. {name}=2025-12-31")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{name}={_show(text)} is not a calendar date (month 01-12, day within the month), e.g. 2025-12-31"
        ) from None
    if not 1900 <= day.year <= 2200:
        raise ValueError(f"{name}={_show(text)} is outside the years this warehouse can evaluate (1900-2200)")
    return day


# ---------------------------------------------------------------------------------------- checking


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _read_only_fs(path: Path) -> bool:
    with contextlib.suppress(OSError):
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    return False


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK) and not _read_only_fs(path)


def _why_not_writable(path: Path) -> str:
    return "is on a read-only file system" if _read_only_fs(path) else "is not writable by this user"


def folder_problem(var: str, path: Path, must_exist: bool = False) -> str | None:
    """A folder we write into: it exists and is writable, or can be created (nothing is created here)."""
    if _exists(path):
        if not path.is_dir():
            return f"{var}={path} is a file, not a folder: name a folder"
        if not _writable(path):
            return f"{var}={path} {_why_not_writable(path)}: choose a writable folder or fix its permissions"
        return None
    if must_exist:
        return f"{var}={path} does not exist: create it or correct the path"
    ancestor = path.parent
    while not _exists(ancestor) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{var}={path} cannot be created: {ancestor} is a file, not a folder"
    if not _writable(ancestor):
        return f"{var}={path} cannot be created: {ancestor} {_why_not_writable(ancestor)}"
    return None


DUCKDB_MAGIC = b"DUCK"
_HEADER = 4096  # main header, then two database headers of 4096 bytes each


def duckdb_file_problem(path: Path) -> str | None:
    """Whether an existing file is a DuckDB database DuckDB can read: its headers, then a read-only open
    that counts every table's rows (row-group metadata, not the data). A file another process holds
    open is taken to be whole (that process is using it). None when it is fine. Nothing is written."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(3 * _HEADER)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    if size == 0:
        return "is empty (0 bytes), not a database"
    if len(head) < 12 or head[8:12] != DUCKDB_MAGIC:
        return "is not a DuckDB database (corrupt, or another kind of file)"
    if len(head) < 3 * _HEADER:
        return f"is truncated ({size} bytes, shorter than a DuckDB header)"
    headers = [struct.unpack_from("<8Q", head, offset) for offset in (_HEADER, 2 * _HEADER)]
    block_size = max(headers, key=lambda h: h[1])[5]  # the newer of the two database headers
    if not 4096 <= block_size <= 1 << 30:
        return "has a damaged header (not a database DuckDB can open)"
    # the length is no test: DuckDB truncates free blocks at the end of the file, and a write cut short
    # by a full disk leaves a partial block it ignores; opening it and counting every table's rows is
    import duckdb  # the slow import only for a file that exists

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        text = str(exc)
        if "lock" in text.lower():
            return None  # held by a running process, which is using it
        first = text.strip().splitlines()[0][:160] if text.strip() else type(exc).__name__
        return f"is truncated or damaged: DuckDB cannot open it ({first})"
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where not internal and not temporary"
        ).fetchall()
        for schema, table in tables:
            con.execute(f'select count(*) from "{schema}"."{table}"').fetchall()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0][:160]
        return f"is truncated or damaged: DuckDB cannot read it ({first})"
    finally:
        con.close()
    return None


def warehouse_problem(path: Path, contents: bool = True) -> str | None:
    """The working file: a file (not a folder) in a writable folder and, if it exists and `contents`, a
    whole DuckDB database. The rebuild passes contents=False: replacing a damaged file is its job."""
    if _exists(path) and path.is_dir():
        return f"PLANWH_DUCKDB={path} is a folder: name the warehouse file, e.g. PLANWH_DUCKDB={path / 'planwh.duckdb'}"
    folder = folder_problem("PLANWH_DUCKDB", path.parent)
    if folder:
        return folder.replace(
            f"PLANWH_DUCKDB={path.parent}", f"PLANWH_DUCKDB={path}: its folder {path.parent}", 1
        )
    if not _exists(path):
        return None  # the first run creates it
    if not path.is_file():
        return f"PLANWH_DUCKDB={path} is not a regular file"
    if not os.access(path, os.R_OK | os.W_OK) or _read_only_fs(path):
        return f"PLANWH_DUCKDB={path} {_why_not_writable(path)}: the refresh must write it"
    damage = duckdb_file_problem(path) if contents else None
    if damage:
        return (
            f"PLANWH_DUCKDB={path} {damage}. Recovery: `make rebuild` (rebuilds it from raw/archive), or copy "
            "the published snapshot back over it and run again"
        )
    return None


def url_problem(var: str, url: str) -> str | None:
    """Never repeat the value: a webhook URL carries its access token."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{var} is not an http(s) URL with a host (value not shown): e.g. https://oapi.dingtalk.com/robot/send?access_token=…"
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return f"{var} has an invalid port (value not shown)"
    if any(c.isspace() for c in url):
        return f"{var} contains spaces (value not shown)"
    return None


NOTIFY_CONFIG = "PLANWH_NOTIFY_CONFIG"


def _known_departments(seeds_dir: Path) -> set[str] | None:
    """Department codes of the catalog seed (None when it cannot be read: then codes are not checked)."""
    import csv

    try:
        with (seeds_dir / "catalog_departments.csv").open(encoding="utf-8", newline="") as fh:
            return {row["department_code"] for row in csv.DictReader(fh) if row.get("department_code")}
    except (OSError, KeyError, UnicodeDecodeError, csv.Error):
        return None


def notify_config(
    path: str | None = None, departments: set[str] | None = None
) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """The departments' own webhooks from the TOML file named by PLANWH_NOTIFY_CONFIG:

        [departments.370102_STATS]
        url = "https://oapi.dingtalk.com/robot/send?access_token=..."
        format = "dingtalk"   # generic | dingtalk | wecom (default generic)

    Returns ({department_code: (url, format)} of the usable entries, one line per bad setting). A bad
    entry is left out (that department has no webhook), never the others; no line repeats a URL."""
    import tomllib

    raw = os.environ.get(NOTIFY_CONFIG, "") if path is None else path
    if not raw.strip():
        return {}, []
    where = Path(raw.strip()).expanduser()
    try:
        text = where.read_text(encoding="utf-8")
        mode = where.stat().st_mode
    except FileNotFoundError:
        return {}, [
            f"{NOTIFY_CONFIG}={where} does not exist: create it (docs/operations.md) or unset the variable"
        ]
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [f"{NOTIFY_CONFIG}={where} cannot be read ({type(exc).__name__}): fix its permissions"]
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return {}, [f"{NOTIFY_CONFIG}={where} is not valid TOML ({str(exc).splitlines()[0][:120]})"]
    problems: list[str] = []
    if mode & 0o077:
        problems.append(
            f"{NOTIFY_CONFIG}={where} is readable by other users (mode {mode & 0o777:o}): its webhook URLs carry "
            f"tokens, `chmod 600 {where}`"
        )
    table = config.get("departments", {})
    if not isinstance(table, dict):
        return {}, [*problems, f"{NOTIFY_CONFIG}: [departments] must be a table of department codes"]
    unknown = set(config) - {"departments"}
    if unknown:
        problems.append(
            f"{NOTIFY_CONFIG}: unknown section(s) {', '.join(sorted(unknown))}: only [departments.<code>]"
        )
    found: dict[str, tuple[str, str]] = {}
    for code, entry in table.items():
        setting = f"{NOTIFY_CONFIG} [departments.{code}]"
        if departments is not None and code not in departments:
            problems.append(f"{setting}: unknown department code (see marts.dim_departments); entry ignored")
            continue
        if not isinstance(entry, dict) or not str(entry.get("url", "")).strip():
            problems.append(f'{setting} has no url: add url = "https://..."; entry ignored')
            continue
        url = str(entry["url"]).strip()
        problem = url_problem(f"{setting} url", url)
        if problem:
            problems.append(f"{problem}; entry ignored")
            continue
        fmt = str(entry.get("format", "generic")).strip() or "generic"
        if fmt not in WEBHOOK_FORMATS:
            problems.append(
                f"{setting} format={_show(fmt)} is not one of {', '.join(WEBHOOK_FORMATS)}; entry ignored"
            )
            continue
        extra = set(entry) - {"url", "format"}
        if extra:
            problems.append(f"{setting}: unknown key(s) {', '.join(sorted(extra))} (only url and format)")
        found[code] = (url, fmt)
    return found, problems


def settings_problems(
    *,
    as_of: str | None = None,
    known_at: str | None = None,
    warehouse_must_be_valid: bool = True,
    check_paths: bool = True,
    date_names: tuple[str, str] = ("--as-of", "--known-at"),
) -> list[str]:
    """Every problem with this process's settings, one line each (empty: all good). Writes nothing.

    as_of / known_at: command-line values to check as well. warehouse_must_be_valid=False for the
    rebuild, whose job is to replace a damaged warehouse."""
    problems: list[str] = []
    settings = _parse_settings(problems)
    for name, value in zip(date_names, (as_of, known_at), strict=True):
        if value is not None:
            try:
                parse_day(value, name)
            except ValueError as exc:
                problems.append(str(exc))
    for var in DATE_SETTINGS.values():
        if os.environ.get(var, "").strip():
            try:
                parse_day(os.environ[var], var)
            except ValueError as exc:
                problems.append(str(exc))
    url = os.environ.get("PLANWH_WEBHOOK_URL", "").strip()
    if url:
        problem = url_problem("PLANWH_WEBHOOK_URL", url)
        if problem:
            problems.append(problem)
    fmt = os.environ.get("PLANWH_WEBHOOK_FORMAT", "").strip()
    if fmt and fmt not in WEBHOOK_FORMATS:
        problems.append(f"PLANWH_WEBHOOK_FORMAT={_show(fmt)} is not one of {', '.join(WEBHOOK_FORMATS)}")
    if os.environ.get(NOTIFY_CONFIG, "").strip():
        problems.extend(notify_config(departments=_known_departments(settings.seeds_dir))[1])
    fault = os.environ.get("PLANWH_FAULT", "").strip()
    if fault:
        from .faults import POINTS

        if fault.removeprefix("raise:").removeprefix("alone:") not in POINTS:
            problems.append(
                f"PLANWH_FAULT={_show(fault)} is not a fault point ({', '.join(POINTS)}); unset it"
            )
    level = os.environ.get("PLANWH_LOG_LEVEL", "").strip()
    if level and level.upper() not in LOG_LEVELS:
        problems.append(f"PLANWH_LOG_LEVEL={_show(level)} is not one of {', '.join(LOG_LEVELS)}")
    warm = os.environ.get("PLANWH_DBT_WARM_START", "").strip()
    if warm and warm.lower() not in DBT_WARM_START:
        problems.append(f"PLANWH_DBT_WARM_START={_show(warm)} is not one of {', '.join(DBT_WARM_START)}")
    if not check_paths:
        return problems
    problem = warehouse_problem(settings.warehouse, contents=warehouse_must_be_valid)
    if problem:
        problems.append(problem)
    for var, path, must_exist in (
        ("PLANWH_RAW_DIR", settings.raw_dir, True),
        ("PLANWH_PUBLISH_DIR", settings.publish_dir, False),
        ("PLANWH_OUTPUT_DIR", settings.output_dir, False),
        ("PLANWH_DAGSTER_STORAGE", settings.dagster_storage, False),
        ("PLANWH_DAGSTER_COMPUTE_LOGS", settings.dagster_compute_logs, False),
    ):
        problem = folder_problem(var, path, must_exist=must_exist)
        if problem:
            problems.append(problem)
    if settings.published_warehouse == settings.warehouse:
        problems.append(
            f"PLANWH_PUBLISH_DIR={settings.publish_dir} is the working warehouse's own folder: each publish would "
            f"replace the working file with the analysts' read-only copy; name another folder (default "
            f"{settings.warehouse.parent / 'published'})"
        )
    for var, path in (
        ("PLANWH_PUBLISH_DIR", settings.publish_dir),
        ("PLANWH_OUTPUT_DIR", settings.output_dir),
    ):
        if path == settings.raw_dir or settings.raw_dir in path.parents:
            problems.append(
                f"{var}={path} is inside PLANWH_RAW_DIR ({settings.raw_dir}): what a run writes would land among "
                "the departments' submissions or the archive; name a folder outside it"
            )
    if not (settings.dbt_project_dir / "dbt_project.yml").is_file():
        problems.append(
            f"PLANWH_DBT_PROJECT_DIR={settings.dbt_project_dir} has no dbt_project.yml: point it at the dbt project"
        )
    home = settings.dagster_home
    if not home.is_dir():
        problems.append(f"DAGSTER_HOME={home} is not a folder: point it at the folder holding dagster.yaml")
    elif not (home / "dagster.yaml").is_file():
        problems.append(
            f"DAGSTER_HOME={home} has no dagster.yaml: use the repository root or copy its dagster.yaml"
        )
    return problems


def checked_settings(**kwargs) -> Settings:
    """The settings, or SettingsError listing every problem (see settings_problems)."""
    problems = settings_problems(**kwargs)
    if problems:
        raise SettingsError(problems)
    return load_settings()


def export_env(settings: Settings | None = None) -> None:
    """Pin absolute paths in the environment so subprocesses (dbt, Dagster) agree with us. Never raises:
    a malformed setting is reported by settings_problems(), not here."""
    warehouse = settings.warehouse if settings else _parse_settings([]).warehouse
    os.environ["PLANWH_DUCKDB"] = str(warehouse)
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT))
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def private_umask() -> None:
    """Files with marts data (exports, report, logs, notifications, Dagster storage) are owner-only:
    everything this process creates is 0600/0700 unless it says otherwise (the published snapshot
    keeps its group-read explicitly)."""
    os.umask(0o077)


def now_local(precise: bool = False) -> datetime:
    """Current wall-clock time in Asia/Shanghai, as a naive timestamp (the warehouse convention), to the
    second; `precise`: to the microsecond, as receipt times are kept (pipelines/lib/ingest/inbox.py)."""
    now = datetime.now(TZ).replace(tzinfo=None)
    return now if precise else now.replace(microsecond=0)


def to_the_second(value) -> str | None:
    """A time as people read it: receipt times are kept to the microsecond, shown to the second."""
    if value is None:
        return None
    return str(value.replace(microsecond=0) if isinstance(value, datetime) else value)


def today_local() -> date:
    return datetime.now(TZ).date()
