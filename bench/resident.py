"""What a resident refresh worker would save (issue 16's design question, district sample, 2 cores).

`.venv/bin/python -m bench.resident [--runs N]` refreshes the shipped sample once in this process, then
after one new file each time: N incremental refreshes in this same process (Dagster, Great Expectations and
the definitions already imported: what a long-lived worker would pay), then N as `planwh refresh` in a new
process (what the CLI, `make run` and the benchmark pay today). dbt is a new process in both. Prints the
seconds of each; the state lives in bench/work/resident (git-ignored) and is wiped first.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "bench" / "work" / "resident"
AS_OF = "2026-06-30"


def environment() -> dict:
    return {
        "PLANWH_DUCKDB": str(ROOT / "work" / "planwh.duckdb"),
        "PLANWH_RAW_DIR": str(ROOT / "raw"),
        "PLANWH_PUBLISH_DIR": str(ROOT / "published"),
        "PLANWH_OUTPUT_DIR": str(ROOT / "output"),
        "DAGSTER_HOME": str(ROOT / "dagster_home"),
        "GX_ANALYTICS_ENABLED": "false",
        "DAGSTER_DISABLE_TELEMETRY": "true",
        "PLANWH_INBOX_QUIET_SECONDS": "0",  # a file dropped here is complete
    }


def main(runs: int) -> int:
    shutil.rmtree(ROOT, ignore_errors=True)
    (ROOT / "work").mkdir(parents=True)
    shutil.copytree(REPO / "raw" / "inbox", ROOT / "raw" / "inbox")
    shutil.copytree(REPO / "raw" / "backfill", ROOT / "raw" / "backfill")
    os.environ.update(environment())
    from pipelines.lib.settings import load_settings
    from pipelines.runs import run_job, write_instance_yaml

    write_instance_yaml(ROOT / "dagster_home")
    settings = load_settings()
    department = settings.inbox / "370102_STATS"
    new_files = iter(range(1, 2 * runs + 1))

    def drop() -> None:
        n = next(new_files)
        (department / f"resident-{n}.csv").write_text(
            f"指标编号,统计期,数值\nI23,2024,{81230 + n}\n", encoding="utf-8"
        )

    def timed(label: str, refresh) -> None:
        started = time.perf_counter()
        refresh()
        print(f"[resident] {label}: {time.perf_counter() - started:.1f} s", flush=True)

    def in_process() -> None:
        result, _ = run_job("refresh", AS_OF, settings)
        if not result.success:
            raise SystemExit("the in-process refresh failed (see the log it names)")

    def new_process() -> None:
        command = [sys.executable, "-m", "pipelines.cli", "refresh", "--as-of", AS_OF, "--quiet"]
        subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)

    timed("full refresh, first in this process (imports included)", in_process)
    for n in range(runs):
        drop()
        timed(f"incremental {n + 1}, same process", in_process)
    for n in range(runs):
        drop()
        timed(f"incremental {n + 1}, new process (planwh refresh)", new_process)
    return 0


if __name__ == "__main__":  # the parse workers are spawned: they import this module, and must not run it
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="incremental refreshes of each kind")
    raise SystemExit(main(parser.parse_args().runs))
