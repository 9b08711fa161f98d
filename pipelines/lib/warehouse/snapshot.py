"""The marts evaluated on another date, without touching the live warehouse.

`planwh evaluation --as-of D` must not change what analysts and the nightly run see, nor wait for the
writer lock: it copies the published snapshot into a private temporary file, runs the dbt models
there with the evaluation date (and knowledge cutoff) pinned, and reads the marts from that copy.
When D is the snapshot's own evaluation date, and its knowledge cutoff is the one asked for, the snapshot is
read as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb

from ..settings import Settings
from .publish import open_published, published_info


class SnapshotError(RuntimeError):
    """The published snapshot is missing or could not be re-evaluated (message says what to do)."""


def _as_of(con: duckdb.DuckDBPyConnection) -> date | None:
    return con.execute("select max(as_of_date) from marts.fct_indicator_status_latest").fetchone()[0]


def _known_at(con: duckdb.DuckDBPyConnection, source: Path) -> str | None:
    """The knowledge cutoff the snapshot's marts were built with ('' = everything received), as the refresh
    recorded it (ops.model_state, pipelines/lib/warehouse/refresh_scope.py), else as the publish did
    (published.json); None when neither says."""
    try:
        row = con.execute("select state_value from ops.model_state where state_key = 'known_at'").fetchone()
    except duckdb.Error:
        row = None
    if row is not None:
        return row[0] or ""
    info = published_info(source)
    return (info["known_at"] or "") if "known_at" in info else None


def _dbt() -> str:
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


@contextmanager
def evaluated_snapshot(
    settings: Settings, as_of: str | None = None, known_at: str | None = None
) -> Iterator[tuple[duckdb.DuckDBPyConnection, date]]:
    """A read-only connection to marts evaluated as of `as_of` (default: the snapshot's own date)."""
    source = settings.published_warehouse
    if not source.exists():
        raise SnapshotError(
            f"no published warehouse at {source}: run `make run` (or `planwh refresh`) first / "
            f"尚无已发布的数据库，请先运行 make run"
        )
    wanted = date.fromisoformat(as_of) if as_of else None
    if known_at:  # a clear ValueError before any work; 20240630 is 2024-06-30
        known_at = date.fromisoformat(known_at).isoformat()
    con = open_published(source)
    try:
        current = _as_of(con)
        # read as it is only when it was evaluated exactly as asked: the same date and the same knowledge
        # cutoff (a snapshot published by `make run KNOWN_AT=…` counts less than everything received)
        if (wanted is None or wanted == current) and _known_at(con, source) == (known_at or ""):
            yield con, current
            return
    finally:
        con.close()
    with tempfile.TemporaryDirectory(prefix="planwh-evaluation-") as tmp:
        work = Path(tmp)
        copy = work / "planwh.duckdb"
        shutil.copyfile(source, copy)
        os.chmod(copy, 0o600)
        env = dict(os.environ, PLANWH_DUCKDB=str(copy), PLANWH_AS_OF=(wanted or current).isoformat())
        env.pop("PLANWH_KNOWN_AT", None)
        if known_at:
            env["PLANWH_KNOWN_AT"] = known_at
        command = [
            _dbt(),
            "run",
            "--quiet",
            "--project-dir",
            str(settings.dbt_project_dir),
            "--profiles-dir",
            str(settings.dbt_project_dir),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ]
        run = subprocess.run(command, env=env, cwd=settings.dbt_project_dir, capture_output=True, text=True)
        if run.returncode != 0:
            raise SnapshotError(
                "dbt could not evaluate the snapshot as of "
                f"{(wanted or current).isoformat()}:\n{(run.stdout + run.stderr)[-2000:]}"
            )
        con = duckdb.connect(str(copy), read_only=True)
        try:
            evaluated = _as_of(con)
            if evaluated != (wanted or current):  # never report one date's marts under another's name
                raise SnapshotError(f"the marts say as_of {evaluated}, not {(wanted or current).isoformat()}")
            yield con, evaluated
        finally:
            con.close()
