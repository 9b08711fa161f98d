"""Fault injection for the crash-safety tests and `make soak`: PLANWH_FAULT=<point> kills the process
(and the dbt child it may be running) with SIGKILL at that point, as a power cut or OOM kill would;
PLANWH_FAULT=alone:<point> kills the refresh process alone, leaving its children to fend for themselves
(as `kill -9 <pid>` or the OOM killer does); PLANWH_FAULT=raise:<point> raises an ordinary error there
instead (a step that fails). Unset, this does nothing."""

from __future__ import annotations

import os
import signal

POINTS = ("discover.before_commit", "ingest.before_commit", "dbt.mid_build", "publish.before_swap")


class InjectedFault(RuntimeError):
    pass


def crash_point(name: str) -> None:
    value = os.environ.get("PLANWH_FAULT")
    if value == f"raise:{name}":
        raise InjectedFault(f"injected failure at {name} (PLANWH_FAULT)")
    if value == f"alone:{name}":
        os.kill(os.getpid(), signal.SIGKILL)
    if value != name:
        return
    try:
        os.killpg(os.getpgrp(), signal.SIGKILL)  # the whole refresh, dbt included
    finally:
        os.kill(os.getpid(), signal.SIGKILL)
