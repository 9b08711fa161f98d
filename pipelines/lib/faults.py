"""Fault injection for the crash-safety tests: PLANWH_FAULT=<point> kills the process (and the dbt
child it may be running) with SIGKILL at that point, as a power cut or OOM kill would. Unset, this
does nothing."""

from __future__ import annotations

import os
import signal

POINTS = ("ingest.before_commit", "dbt.mid_build", "publish.before_swap")


def crash_point(name: str) -> None:
    if os.environ.get("PLANWH_FAULT") != name:
        return
    try:
        os.killpg(os.getpgrp(), signal.SIGKILL)  # the whole refresh, dbt included
    finally:
        os.kill(os.getpid(), signal.SIGKILL)
