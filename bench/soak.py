"""`make soak`: N refreshes under the faults of issue 17, then the fingerprint of a clean rebuild.

Not part of `make test` (it takes 20-40 minutes on 2 cores). Every round runs `planwh refresh` as a user
would, while around it:
- the sample inbox arrives department by department, and a slow writer writes a CSV a few bytes at a
  time (pauses shorter than the quiet period): a half-written file must never be received;
- some rounds are killed (SIGKILL) at a random moment, the refresh process alone or its whole group;
- the webhook is a server on 127.0.0.1 that trickles its answer one byte at a time: the alerts step must
  stay within the delivery deadline;
- a reader holds the published snapshot open and queries it the whole time: it must never fail;
- an A -> B -> A re-submission happens on the way;
- when run as root, the warehouse lives on a small tmpfs that two rounds fill up: the refresh must stop
  with one line naming the full disk (exit 74), and the next round recover with nobody cleaning up.
At the end: a clean refresh, exactly-once checks, Dagster storage bounded by the retention, and the
fingerprint of the marts equal to the fingerprint after `planwh rebuild` from the archive alone.

    python -m bench.soak --rounds 20 [--seed 17] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from pipelines.runs import write_instance_yaml  # noqa: E402

WORK = REPO / "bench" / "work" / "soak"
AS_OF = "2026-06-30"
QUIET = 3  # seconds a file must stay unchanged (the slow writer pauses less than this)
DEADLINE = 3  # seconds one webhook delivery may take
SLOW_DEPARTMENT = "370102_STATS"

FINGERPRINT = {
    "marts.fct_indicator_values": "indicator_value_key, value, submission_id, source_row, received_at",
    "marts.fct_indicator_attainment": "attainment_key, status, evaluated_value, completion, trend_status",
    "marts.fct_project_status": "project_key, rag_status, percent_complete, milestones_done",
    "marts.fct_submission_compliance": "obligation_id, compliance_status, rows_rejected",
    "marts.fct_submissions": "submission_id, status, rows_accepted, rows_rejected, reason_code, received_at, resubmission_of",
    "marts.fct_submission_issues": "issue_id, reason_code, message_en",
    "marts.fct_indicator_value_history": "value_id, superseded_by, is_latest",
}


def say(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------------------------- helpers


class TricklingWebhook:
    """Accepts the POST, then answers one byte every half second (a 40 s answer)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/robot/send?access_token=SOAK-SECRET"
        self.requests = 0
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.requests += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn):
        answer = (
            b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"errcode":0}'
        )
        try:
            conn.settimeout(5)
            conn.recv(1 << 20)
            for byte in answer:
                if self.stop.is_set():
                    break
                conn.send(bytes([byte]))
                time.sleep(0.5)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()


class HeldReader:
    """A process that keeps the published snapshot open and queries it in a loop."""

    def __init__(self, published: Path, env: dict):
        code = f"""
import duckdb, sys, time, os, json
path = {str(published)!r}
ok = errors = reopen = 0
con = None
last_error = ''
end = time.time() + 100000
while not os.path.exists({str(WORK / "stop-reader")!r}):
    try:
        if con is None:
            if not os.path.exists(path):
                time.sleep(0.5); continue
            con = duckdb.connect(path, read_only=True)
            opened = time.time(); reopen += 1
        con.execute('select count(*) from marts.fct_indicator_attainment').fetchall()
        ok += 1
        if time.time() - opened > 20:  # a new session now and then sees the newest snapshot
            con.close(); con = None
    except Exception as exc:
        errors += 1; last_error = repr(exc)[:300]; con = None
    time.sleep(0.2)
print(json.dumps({{"queries": ok, "errors": errors, "sessions": reopen, "last_error": last_error}}), flush=True)
"""
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
        )

    def finish(self) -> dict:
        (WORK / "stop-reader").write_text("stop")
        out, _ = self.process.communicate(timeout=60)
        return json.loads(out.strip().splitlines()[-1])


class SlowWriter:
    """Writes one CSV a few bytes at a time, pausing less than the quiet period between writes."""

    def __init__(self, inbox: Path, n: int):
        self.path = inbox / SLOW_DEPARTMENT / f"slow-{n:02d}.csv"
        year = 2021 + n % 5
        self.text = (
            "指标编号,统计期,数值\n" + f"I23,{year},{70000 + n * 37.9:.1f}\n" + f"S001,{year},{2000 + n}\n"
        )
        self.sha = hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self):
        data = self.text.encode("utf-8")
        with self.path.open("wb") as fh:
            for i in range(0, len(data), 6):
                fh.write(data[i : i + 6])
                fh.flush()
                time.sleep(QUIET / 4)


def environment(root: Path, webhook: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANWH_")}
    home = root / "dagster_home"
    env.update(
        {
            "PLANWH_DUCKDB": str(root / "warehouse" / "planwh.duckdb"),
            "PLANWH_RAW_DIR": str(root / "raw"),
            "DAGSTER_HOME": str(home),
            "PLANWH_DAGSTER_STORAGE": str(home / "storage"),
            "PLANWH_DAGSTER_COMPUTE_LOGS": str(home / "compute_logs"),
            "PLANWH_INBOX_QUIET_SECONDS": str(QUIET),
            "PLANWH_WEBHOOK_URL": webhook,
            "PLANWH_WEBHOOK_FORMAT": "dingtalk",
            "PLANWH_WEBHOOK_DEADLINE_SECONDS": str(DEADLINE),
            "PLANWH_DELIVERY_GIVE_UP_HOURS": "0.05",  # three minutes: the soak sees messages given up
            "PLANWH_RETAIN_RUN_DAYS": "0",
            "PLANWH_RETAIN_FAILED_RUN_DAYS": "0",
            "PLANWH_RETAIN_MIN_RUNS": "5",
            "PLANWH_LOCK_TIMEOUT": "600",
            "GX_ANALYTICS_ENABLED": "false",
            "DAGSTER_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
        }
    )
    home.mkdir(parents=True, exist_ok=True)
    write_instance_yaml(home)  # absolute state folders under this home, the ones the env vars name
    return env


def planwh(env: dict, *args: str, kill_after: float | None = None, alone: bool = False) -> dict:
    started = time.monotonic()
    timings = WORK / "timings.json"
    timings.unlink(missing_ok=True)
    extra = ["--timings-json", str(timings)] if args[0] == "refresh" else []
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args, *extra],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    killed = False
    if kill_after is not None:
        try:
            process.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            if alone:
                os.kill(process.pid, signal.SIGKILL)
            else:
                os.killpg(process.pid, signal.SIGKILL)
            killed = True
    out, err = process.communicate(timeout=1800)
    stages = json.loads(timings.read_text())["stages"] if timings.exists() else {}
    return {
        "code": process.returncode,
        "seconds": round(time.monotonic() - started, 1),
        "killed": killed,
        "stdout": out,
        "stderr": err,
        "stages": stages,
    }


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def fingerprint(published: Path) -> str:
    import duckdb

    con = duckdb.connect(str(published), read_only=True)
    try:
        digest = hashlib.sha256()
        for table, columns in FINGERPRINT.items():
            rows = sorted(map(repr, con.execute(f"select {columns} from {table}").fetchall()))
            digest.update(f"{table}:{len(rows)}:".encode())
            for row in rows:
                digest.update(row.encode())
        return digest.hexdigest()
    finally:
        con.close()


def invariants(warehouse: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        one = lambda sql: con.execute(sql).fetchall()[0][0]  # noqa: E731
        return {
            "duplicate_rows": one(
                """select count(*) from (select submission_id, sheet_name, source_row, count(*) from (
                   select submission_id, sheet_name, source_row from raw.indicator_values
                   union all select submission_id, sheet_name, source_row from raw.project_progress)
                   group by all having count(*) > 1)"""
            ),
            "unprocessed_receipts": one(
                """select count(*) from raw.receipts r where not exists
                   (select 1 from raw.submissions s where s.submission_id = r.submission_id)"""
            ),
            "ledger_mismatches": one(
                """select count(*) from raw.submissions s where s.status not in ('rejected', 'ignored')
                   and s.rows_accepted <> (select count(*) from raw.indicator_values v where v.submission_id = s.submission_id
                                            and v.review_state <> 'pending_explanation')  -- held for an explanation (#12)
                   + (select count(*) from raw.project_progress p where p.submission_id = s.submission_id)"""
            ),
            "slow_receipts": con.execute(
                "select original_name, file_sha256 from raw.receipts where original_name like 'slow-%'"
            ).fetchall(),
            "resubmissions": one("select count(*) from raw.receipts where resubmission_of is not null"),
        }
    finally:
        con.close()


def mount_small_disk(path: Path, megabytes: int) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    path.mkdir(parents=True, exist_ok=True)
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)], capture_output=True
        ).returncode
        == 0
    )


# ---------------------------------------------------------------------------------------- soak


def soak(rounds: int, seed: int) -> dict:
    rng = random.Random(seed)
    if WORK.exists():
        subprocess.run(["umount", "-l", str(WORK / "warehouse")], capture_output=True)
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    small_disk = mount_small_disk(WORK / "warehouse", 160)
    webhook = TricklingWebhook()
    env = environment(WORK, webhook.url)
    raw = WORK / "raw"
    (raw / "inbox").mkdir(parents=True)
    shutil.copytree(REPO / "raw" / "backfill", raw / "backfill")
    departments = sorted(p.name for p in (REPO / "raw" / "inbox").iterdir() if p.is_dir())
    rng.shuffle(departments)
    batches = [departments[i::rounds] for i in range(rounds)]
    published = WORK / "warehouse" / "published" / "planwh.duckdb"
    reader = HeldReader(published, env)
    writers: list[SlowWriter] = []
    report: dict = {"rounds": [], "small_disk": small_disk, "seed": seed}
    storage_at: dict[int, int] = {}
    full_rounds = {rounds // 3, (2 * rounds) // 3} if small_disk else set()
    resubmit = raw / "inbox" / SLOW_DEPARTMENT / "a-b-a.csv"
    a_text = "指标编号,统计期,数值\nI23,2020,66000\n"
    try:
        for n in range(rounds):
            for department in batches[n]:
                shutil.copytree(
                    REPO / "raw" / "inbox" / department, raw / "inbox" / department, dirs_exist_ok=True
                )
            (raw / "inbox" / SLOW_DEPARTMENT).mkdir(parents=True, exist_ok=True)
            writers.append(SlowWriter(raw / "inbox", n))
            if n == 1:
                resubmit.write_text(a_text, encoding="utf-8")  # A
                shutil.copy2(resubmit, WORK / "a-saved.csv")
            elif n == 4:
                resubmit.write_text("指标编号,统计期,数值\nI23,2020,66100\n", encoding="utf-8")  # B
            elif n == 7:
                shutil.copy2(WORK / "a-saved.csv", resubmit)  # A again, with its old timestamp
            filler = WORK / "warehouse" / "filler"
            if n in full_rounds:
                free = shutil.disk_usage(WORK / "warehouse").free
                with filler.open("wb") as fh:
                    fh.write(b"\0" * max(0, free - 2 * 1024 * 1024))
            kill = n not in full_rounds and n > 0 and rng.random() < 0.4
            alone = rng.random() < 0.5
            result = planwh(
                env, "refresh", "--as-of", AS_OF, kill_after=rng.uniform(3, 45) if kill else None, alone=alone
            )
            filler.unlink(missing_ok=True)
            entry = {
                "round": n,
                "code": result["code"],
                "seconds": result["seconds"],
                "killed": result["killed"] and ("alone" if alone else "group"),
                "flags_step_seconds": result["stages"].get("flags"),
                "disk_full_round": n in full_rounds,
            }
            last = [line for line in result["stderr"].strip().splitlines() if line.startswith("planwh: ")][
                -1:
            ]
            if n in full_rounds:
                entry["message"] = last[0] if last else ""
                ok = (
                    result["code"] == 74
                    and "space" in entry["message"]
                    and "Traceback" not in result["stderr"]
                )
            elif result["killed"]:
                ok = result["code"] in (-9, 0)  # it may have finished before the kill
            else:
                ok = result["code"] == 0
            if result["stages"].get("flags") is not None:
                ok = ok and result["stages"]["flags"] < DEADLINE * 2 + 20  # one bounded delivery, not 40 s
            entry["ok"] = bool(ok)
            if not ok:
                entry["stderr"] = result["stderr"][-3000:]
            report["rounds"].append(entry)
            storage_at[n] = size(WORK / "dagster_home")
            say(f"round {n}: {json.dumps({k: v for k, v in entry.items() if k != 'stderr'})}")
            if not ok:
                say(result["stderr"][-3000:])

        for writer in writers:
            writer.thread.join()
        time.sleep(QUIET + 1)
        final = planwh(env, "refresh", "--as-of", AS_OF)
        report["final_refresh"] = {"code": final["code"], "seconds": final["seconds"]}
        if final["code"] != 0:
            say(final["stderr"][-3000:])
        report["held_reader"] = reader.finish()
        checks = invariants(WORK / "warehouse" / "planwh.duckdb")
        expected = {w.path.name: w.sha for w in writers}
        partial = [name for name, sha in checks.pop("slow_receipts") if expected.get(name) != sha]
        checks["half_written_received"] = partial
        checks["slow_files_received"] = len(expected) - len(partial)
        report["invariants"] = checks
        report["webhook_requests"] = webhook.requests
        report["dagster_storage_bytes"] = {
            "after_round_5": storage_at.get(5),
            "final": size(WORK / "dagster_home"),
        }
        report["working_bytes"] = (WORK / "warehouse" / "planwh.duckdb").stat().st_size
        report["published_bytes"] = published.stat().st_size
        before = fingerprint(published)
        rebuilt = planwh(env, "rebuild", "--as-of", AS_OF)
        report["rebuild"] = {"code": rebuilt["code"], "seconds": rebuilt["seconds"]}
        after = fingerprint(published) if rebuilt["code"] == 0 else None
        report["fingerprint"] = {"soaked": before, "rebuilt": after, "equal": before == after}
    finally:
        webhook.close()
        if reader.process.poll() is None:
            reader.process.kill()
        if small_disk:
            subprocess.run(["umount", "-l", str(WORK / "warehouse")], capture_output=True)
    storage = report.get("dagster_storage_bytes", {})
    report["clean"] = bool(
        all(r["ok"] for r in report["rounds"])
        and report.get("final_refresh", {}).get("code") == 0
        and report.get("held_reader", {}).get("errors") == 0
        and not any(
            v
            for k, v in report.get("invariants", {}).items()
            if k in ("duplicate_rows", "unprocessed_receipts", "ledger_mismatches", "half_written_received")
        )
        and report.get("invariants", {}).get("resubmissions", 0) >= 1
        and report.get("rebuild", {}).get("code") == 0
        and report.get("fingerprint", {}).get("equal")
        and storage.get("after_round_5") is not None
        and storage["final"] <= 1.5 * storage["after_round_5"]
    )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    started = time.monotonic()
    report = soak(args.rounds, args.seed)
    report["minutes"] = round((time.monotonic() - started) / 60, 1)
    (REPO / "bench" / "work").mkdir(exist_ok=True)
    out = REPO / "bench" / "work" / "soak-result.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    kills = [r["killed"] for r in report["rounds"] if r["killed"]]
    say(
        f"{'CLEAN' if report['clean'] else 'NOT CLEAN'}: {len(report['rounds'])} rounds in {report['minutes']} min, "
        f"{len(kills)} killed ({kills.count('alone')} alone, {kills.count('group')} group), "
        f"disk-full rounds {sum(r['disk_full_round'] for r in report['rounds'])}, held reader "
        f"{report.get('held_reader')}, invariants {report.get('invariants')}, storage {report.get('dagster_storage_bytes')}, "
        f"working {report.get('working_bytes')} B, published {report.get('published_bytes')} B, "
        f"fingerprint equal after rebuild: {report.get('fingerprint', {}).get('equal')}; details in {out}"
    )
    return 0 if report["clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
