"""make bench [TIER=district|city|province|national]: the refresh at scale against the minimum work.

Runs, on one machine in one invocation:
  1. the pipeline's full refresh from an empty warehouse (a fresh `planwh refresh` process, as `make run`),
  2. an incremental refresh after one department drops one new file,
  3. the reference: one plain DuckDB SQL script over the same inbox computing level-target attainment,
  4. a bare `dbt build` of the same project on the already-loaded data,
  5. a UI-style run after one more new file: the implicit asset job ("Materialize all") through the Dagster
     CLI with the code location's own executor, against the incremental CLI refresh (goal ≤ 1.2×),
  6. the sensor's path: 20 files dropped at once -> one sensor evaluation -> one run -> snapshot published,
reports wall time per stage, peak RSS (whole process tree), rows and files per second and the goal
ratios, and appends a dated row to bench/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from bench.generate import REPO, generate
from pipelines.lib.warehouse.dbt_state import NO_FILE_LOG
from pipelines.runs import write_instance_yaml

AS_OF = "2026-06-30"
RESULTS = REPO / "bench" / "results.md"


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total


def measured(command: list[str], env: dict, cwd: Path = REPO) -> dict:
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:4])} failed ({process.returncode}):\n{err[-3000:]}\n{out[-2000:]}"
        )
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(peak / 2**20, 1), "stdout": out}


def environment(root: Path) -> dict:
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("PLANWH_"):
            env.pop(key)
    warehouse = root / "warehouse"
    env.update(
        {
            "PLANWH_DUCKDB": str(warehouse / "planwh.duckdb"),
            "PLANWH_RAW_DIR": str(root / "raw"),
            "PLANWH_DBT_PROJECT_DIR": str(root / "dbt_project"),
            "DAGSTER_HOME": str(root / "dagster_home"),
            "GX_ANALYTICS_ENABLED": "false",
            "DAGSTER_DISABLE_TELEMETRY": "true",
            # generated files are complete when written: the benchmark measures processing, not waiting
            "PLANWH_INBOX_QUIET_SECONDS": "0",
        }
    )
    write_instance_yaml(root / "dagster_home")
    return env


def reset(root: Path) -> None:
    for name in ("warehouse", "dagster_home/storage"):
        shutil.rmtree(root / name, ignore_errors=True)
    shutil.rmtree(root / "raw" / "archive", ignore_errors=True)
    for extra in (root / "raw" / "inbox").glob("*/bench-new-file-*.csv"):
        extra.unlink()


def counts(root: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(root / "warehouse" / "published" / "planwh.duckdb"), read_only=True)
    try:
        return {
            "files": con.execute("select count(*) from raw.submissions").fetchone()[0],
            "rows": con.execute("select sum(rows_total) from raw.submissions").fetchone()[0] or 0,
            "plans": con.execute("select count(*) from marts.dim_plans").fetchone()[0],
        }
    finally:
        con.close()


def run(tier: str, extras: bool = True) -> dict:
    """The measurements; `extras=False` leaves out the UI-style and 20-file runs (two more refreshes)."""
    t0 = time.perf_counter()
    root = generate(tier)
    generation = json.loads((root / "generated.json").read_text())
    print(
        f"[bench] tier {tier}: {generation['files']} files, {generation['bytes'] / 2**20:.1f} MiB "
        f"(ready in {time.perf_counter() - t0:.1f}s)",
        flush=True,
    )
    env = environment(root)
    python = sys.executable
    measured([python, "-m", "pipelines.cli", "prepare"], env)
    reset(root)

    def refresh(label: str) -> dict:
        """`planwh refresh` in a fresh process, with the seconds per stage it reports."""
        timings = root / f"timings-{label}.json"
        command = [
            python,
            "-m",
            "pipelines.cli",
            "refresh",
            "--as-of",
            AS_OF,
            "--quiet",
            "--timings-json",
            str(timings),
        ]
        outcome = measured(command, env)
        outcome["stages"] = json.loads(timings.read_text())["stages"]
        return outcome

    full = refresh("full")
    print(f"[bench] stages of the full refresh (s): {json.dumps(full['stages'])}", flush=True)
    size = counts(root)
    print(f"[bench] full refresh {full['seconds']}s, peak {full['peak_rss_mib']} MiB, {size}", flush=True)

    department = next(p for p in sorted((root / "raw" / "inbox").iterdir()) if p.name.endswith("_STATS"))
    (department / "bench-new-file-1.csv").write_text(
        "指标编号,统计期,数值\nI23,2024,81234\n", encoding="utf-8"
    )
    incremental = refresh("incremental")
    print(
        f"[bench] incremental refresh {incremental['seconds']}s: {json.dumps(incremental['stages'])}",
        flush=True,
    )

    ui_run = batch = None
    if extras:
        # 5. what the UI's "Materialize all" launches, after one more new file (the same work as the incremental)
        (department / "bench-new-file-2.csv").write_text(
            "指标编号,统计期,数值\nI23,2023,80321\n", encoding="utf-8"
        )
        config = json.dumps({"resources": {"planwh": {"config": {"as_of": AS_OF}}}})
        dagster = str(Path(python).with_name("dagster"))
        ui_run = measured(
            [
                dagster,
                "asset",
                "materialize",
                "-m",
                "pipelines.definitions",
                "--select",
                "*",
                "--config-json",
                config,
            ],
            env,
        )
        print(
            f"[bench] UI-style run (implicit asset job, Dagster CLI) {ui_run['seconds']}s "
            f"vs CLI refresh {incremental['seconds']}s",
            flush=True,
        )

        # 6. 20 files dropped together: one sensor evaluation, one run, then the snapshot is published
        for i in range(20):
            (department / f"bench-new-file-batch-{i:02d}.csv").write_text(
                f"指标编号,统计期,数值\nI23,{2021 + i % 5},{82000 + i}\n", encoding="utf-8"
            )
        batch = measured([python, "-m", "bench.sensor_path", AS_OF], env)
        batch.update(json.loads(batch["stdout"].strip().splitlines()[-1]))
        print(
            f"[bench] 20 files dropped -> snapshot published in {batch['seconds']}s "
            f"(process start {batch['start_s']}s, sensor {batch['sensor_s']}s, run {batch['run_s']}s)",
            flush=True,
        )

    script = (
        (REPO / "bench" / "reference.sql")
        .read_text()
        .replace("{inbox}", str(root / "raw" / "inbox"))
        .replace("{seeds}", str(root / "dbt_project" / "seeds"))
    )
    (root / "reference.sql").write_text(script)
    reference = measured(
        [
            python,
            "-c",
            "import duckdb, resource, sys; soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE);"
            " resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard)); con = duckdb.connect();"
            " con.execute(open(sys.argv[1]).read());"
            " print(con.execute('select count(*) from reference_attainment').fetchone()[0])",
            str(root / "reference.sql"),
        ],
        env,
    )
    print(
        f"[bench] reference script {reference['seconds']}s ({reference['stdout'].strip()} attainment rows)",
        flush=True,
    )

    dbt = str(Path(python).with_name("dbt"))
    bare = measured(
        [
            dbt,
            *NO_FILE_LOG,  # as the refresh runs dbt: the ratio compares like with like
            "build",
            "--exclude-resource-type",
            "unit_test",
            "--project-dir",
            str(root / "dbt_project"),
            "--profiles-dir",
            str(root / "dbt_project"),
        ],
        dict(env, PLANWH_AS_OF=AS_OF),
        cwd=root / "dbt_project",
    )
    print(f"[bench] bare dbt build {bare['seconds']}s", flush=True)
    return {
        "tier": tier,
        "generation": generation,
        "size": size,
        "full": full,
        "incremental": incremental,
        "reference": reference,
        "dbt_build": bare,
        "ui_run": ui_run,
        "twenty_files": batch,
    }


def goals(result: dict, previous: dict[str, dict]) -> list[tuple[str, str, bool | None]]:
    """The goals of issue #16 (ratios within one run on this machine)."""
    full, inc, ref, dbt = (result[k]["seconds"] for k in ("full", "incremental", "reference", "dbt_build"))
    rss = result["full"]["peak_rss_mib"]
    tier = result["tier"]
    out = []
    if tier == "district":
        out.append(("make run ≤ 2.5× bare dbt build", f"{full / dbt:.2f}×", full <= 2.5 * dbt))
        out.append(("incremental ≤ 50% of full", f"{100 * inc / full:.1f}%", inc <= 0.5 * full))
    if tier == "province":
        out.append(("full refresh ≤ 60 s", f"{full:.0f} s", full <= 60))
        out.append(("incremental ≤ 15% of full", f"{100 * inc / full:.1f}%", inc <= 0.15 * full))
        out.append(("peak RSS ≤ 2 GiB", f"{rss:.0f} MiB", rss <= 2048))
        out.append(("full refresh ≤ 3× reference", f"{full / ref:.2f}×", full <= 3 * ref))
    if tier == "national":
        out.append(("peak RSS ≤ 12 GiB", f"{rss:.0f} MiB", rss <= 12 * 1024))
        province = previous.get("province")
        if province:
            per_row = full / result["size"]["rows"]
            province_per_row = province["full_s"] / province["rows"]
            out.append(
                (
                    "time per row ≤ 1.5× province",
                    f"{per_row / province_per_row:.2f}×",
                    per_row <= 1.5 * province_per_row,
                )
            )
    if tier in ("city", "national"):
        out.append(("incremental / full (recorded)", f"{100 * inc / full:.1f}%", None))
    if result.get("ui_run"):
        ui = result["ui_run"]["seconds"]
        out.append(("UI-style run ≤ 1.2× CLI refresh", f"{ui / inc:.2f}× ({ui:.1f}s)", ui <= 1.2 * inc))
    if result.get("twenty_files"):
        batch = result["twenty_files"]
        out.append(("20 files → published, one run", f"{batch['seconds']:.1f}s", batch["success"]))
    return out


def latest_rows() -> dict[str, dict]:
    """The latest recorded result per tier (for the city/province linearity ratio)."""
    found: dict[str, dict] = {}
    if not RESULTS.exists():
        return found
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 8 and cells[1] in ("district", "city", "province", "national"):
            try:
                found[cells[1]] = {"full_s": float(cells[4]), "rows": int(cells[3])}
            except ValueError:
                continue
    return found


def record(result: dict, checks) -> None:
    full = result["full"]
    stages = " ".join(f"{k} {v:.1f}" for k, v in full["stages"].items())
    rows = result["size"]["rows"]
    line = (
        f"| {datetime.now().strftime('%Y-%m-%d %H:%M')} | {result['tier']} | {result['size']['files']} | {rows} | "
        f"{full['seconds']:.1f} | {stages} | {full['peak_rss_mib']:.0f} | {rows / full['seconds']:.0f} | "
        f"{result['size']['files'] / full['seconds']:.0f} | {result['incremental']['seconds']:.1f} | "
        f"{result['reference']['seconds']:.1f} | {result['dbt_build']['seconds']:.1f} | "
        + "; ".join(
            f"{name}: {value} {'' if ok is None else '✔' if ok else '✘'}" for name, value, ok in checks
        )
        + f" | {os.cpu_count()} |\n"
    )
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Benchmark results\n\n| date | tier | files | rows | full (s) | stages (s) | peak RSS | rows/s | "
            "files/s | incremental (s) | reference (s) | dbt build (s) | goals | cores |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
            encoding="utf-8",
        )
    # into the runs table (other tables, such as the portal's, follow it in the file)
    lines = RESULTS.read_text(encoding="utf-8").splitlines(keepends=True)
    rows = [
        i
        for i, text in enumerate(lines)
        if text.startswith("| 20")
        and text.split("|")[2].strip() in ("district", "city", "province", "national")
    ]
    at = rows[-1] + 1 if rows else len(lines)
    lines.insert(at, line)
    RESULTS.write_text("".join(lines), encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tier", default="district", choices=["district", "city", "province", "national"])
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/results.md")
    args = parser.parse_args(argv)
    previous = latest_rows()
    # the national tier leaves out the UI-style and 20-file runs: two more refreshes of an hour each, and
    # what they measure (Dagster's overhead per run, one run for many files) does not grow with the tier
    result = run(args.tier, extras=args.tier != "national")
    checks = goals(result, previous)
    for name, value, ok in checks:
        print(f"[bench] {'NOTE' if ok is None else 'PASS' if ok else 'MISS'} {name}: {value}")
    if not args.no_record:
        record(result, checks)
        print(f"[bench] appended to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
