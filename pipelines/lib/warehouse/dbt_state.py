"""dbt's partial-parse cache, checked before dbt reuses it.

dbt stores each node's `root_path` (the `--project-dir` it was parsed with, verbatim) in
`target/partial_parse.msgpack` and does not re-check it when it reuses the cache. dbt-duckdb loads a
seed from `root_path/original_file_path`. A parse made with a relative project dir (`dbt ... --project-dir
dbt_project` from the repository root) or in another copy of the repository therefore leaves a cache
with which every later build, run from the project folder, fails on every seed ("IO Error: No files found
that match the pattern dbt_project/seeds/...") until the cache is replaced. Such a cache is thrown away
here, so dbt parses once in full and writes a correct one.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

PARTIAL_PARSE = "partial_parse.msgpack"
# dbt's own file log (dbt.log beside the run's artifacts) costs ~10 % of a build: with any file log, at debug
# or at info level, a district build of 271 nodes took 15.5-17.1 s against 14.2-15.1 s without
# (bench/results.md, session 14). Its info lines are the run's stdout already (the compute logs, the refresh
# log). Every dbt this project starts runs without it: the refresh, the tests' dbt, the bench's bare build.
NO_FILE_LOG = ("--log-level-file", "none")


def file_log_flags() -> list[str]:
    """dbt's global flags for its file log: none, unless the environment sets dbt's own `DBT_LOG_LEVEL_FILE`
    (`debug` brings the debug log, with every SQL statement, back; a command-line flag would override it)."""
    return [] if os.environ.get("DBT_LOG_LEVEL_FILE") else list(NO_FILE_LOG)


def dbt_dates(as_of: date, known_at: date | None) -> dict[str, str]:
    """The evaluation dates as dbt's environment carries them (read by the as_of macros; `--vars` would make
    dbt re-parse the project on every change)."""
    return {
        "PLANWH_AS_OF": as_of.isoformat(),
        **({"PLANWH_KNOWN_AT": known_at.isoformat()} if known_at else {}),
    }


def target_dir(project_dir: Path) -> Path:
    """The dbt project's target folder: `DBT_TARGET_PATH` (dbt's and dagster-dbt's own variable, relative to
    the project) when set, as the parallel test workers do to keep one partial-parse state each, else
    `target`."""
    return Path(project_dir) / os.environ.get("DBT_TARGET_PATH", "target")


def discard_foreign_partial_parse(project_dir: Path, target: Path | None = None) -> bool:
    """Delete the partial-parse cache when it was parsed for another project location; True if it did."""
    import msgpack

    path = (target or target_dir(project_dir)) / PARTIAL_PARSE
    try:
        with path.open("rb") as handle:
            state = msgpack.unpack(handle, raw=False, strict_map_key=False)
    except FileNotFoundError:
        return False
    except Exception:  # unreadable or truncated: dbt would re-parse anyway
        state = None
    here = os.path.realpath(project_dir)
    roots = set()
    if isinstance(state, dict):
        for section in ("nodes", "sources"):
            for node in (state.get(section) or {}).values():
                if isinstance(node, dict) and node.get("root_path"):
                    roots.add(node["root_path"])
    if state is not None and all(os.path.isabs(r) and os.path.realpath(r) == here for r in roots):
        return False
    path.unlink(missing_ok=True)
    return True
