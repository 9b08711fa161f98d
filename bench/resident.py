"""What a resident refresh worker would save (issue 16's design question, district sample, 2 cores).

`.venv/bin/python -m bench.resident [--runs N]` refreshes the shipped sample once in this process, then
after one new file each time: N incremental refreshes in this same process (Dagster, Great Expectations and
the definitions already imported: what a long-lived worker would pay), then N as `planwh refresh` in a new
process (what the CLI, `make run` and the benchmark pay today). dbt is a new process in both. Prints the
seconds of each; it runs in the benchmark's district folder (bench/work/district, git-ignored), reset
before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.generate import generate
from bench.run import AS_OF, environment, measured, reset


def main(runs: int) -> int:
    # the benchmark's own district tier, environment and reset: the same state `make bench` measures
    root = generate("district")
    env = environment(root)
    measured([sys.executable, "-m", "pipelines.cli", "prepare"], env)
    reset(root)  # its new files are named as the benchmark's, so its reset removes them too
    os.environ.clear()
    os.environ.update(env)  # this process refreshes in it as well
    from pipelines.lib.settings import load_settings
    from pipelines.runs import run_job

    settings = load_settings()
    department = settings.inbox / "370102_STATS"
    new_files = iter(range(1, 2 * runs + 1))

    def drop() -> None:
        n = next(new_files)
        (department / f"bench-new-file-resident-{n}.csv").write_text(
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
        measured([sys.executable, "-m", "pipelines.cli", "refresh", "--as-of", AS_OF, "--quiet"], env)

    timed("full refresh, first in this process (imports included)", in_process)
    for n in range(runs):
        drop()
        timed(f"incremental {n + 1}, same process", in_process)
    for n in range(runs):
        drop()
        timed(f"incremental {n + 1}, new process (planwh refresh)", new_process)
    reset(root)
    return 0


if __name__ == "__main__":  # the parse workers are spawned: they import this module, and must not run it
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="incremental refreshes of each kind")
    raise SystemExit(main(parser.parse_args().runs))
