"""`planwh-dbt`: runs the venv's dbt so that it dies with the run that started it.

Dagster starts dbt as a child process. If the refresh process is killed alone (OOM killer, `kill -9`
of its pid), an orphaned dbt would keep the DuckDB file locked and the next refresh would report a
stranger holding it. This wrapper asks Linux to kill it when its parent dies (PR_SET_PDEATHSIG,
inherited across exec) and then becomes dbt (exec: same pid, same arguments, same exit code). Where
that is not available it simply runs dbt; the next refresh then ends the orphan by its recorded pid
(pipelines/lib/warehouse/housekeeping.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def die_with_parent(expected_parent: int | None) -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if expected_parent and os.getppid() != expected_parent:  # the parent died before prctl took effect
        os._exit(137)


def real_dbt() -> str:
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def main() -> None:
    parent = os.environ.get("PLANWH_PARENT_PID", "")
    die_with_parent(int(parent) if parent.isdigit() else None)
    dbt = real_dbt()
    os.execv(dbt, [dbt, *sys.argv[1:]])


if __name__ == "__main__":
    main()
