"""Receive, archive, read, validate and load department submissions.

discover_and_archive(): every file under raw/inbox/<department_code>/ is hashed; new (department,
sha256) pairs are copied into the content-addressed archive (raw/archive/sha256/ab/<sha256>, read
only) and recorded in raw.receipts. Names are metadata, never paths.

process_pending(): receipts not yet in the ledger are read from the archive, validated in batches
(one GX run per submission kind per batch, failures attributed back to file/sheet/row/column), and
loaded in one transaction per batch: ledger rows, accepted rows and quarantine rows together, so a
failure leaves nothing half-loaded and the next run simply processes the same files again.

File rule (docs/submissions.md): a file is rejected as a whole when it cannot be read, lacks a
required column, is empty, or carries a code owned by another department; otherwise every row is
an independent fact, so a bad row is quarantined and the other rows are loaded.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import os
import re
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from .batch import SubmissionSheets, enrich_indicators, enrich_progress, indicator_rows, progress_rows
from .catalog import Catalog
from .faults import crash_point
from .readers import INDICATOR, PROGRESS, read_submission
from .reasons import Issue
from .settings import Settings, now_local
from .warehouse import connect, fetch_dicts

BATCH_FILES = 20_000  # files validated and loaded together (bounded memory, one GX run per kind)
PARALLEL_MIN_FILES = 400  # below this, starting worker processes costs more than it saves
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# ------------------------------------------------------------------------------------- discovery


@dataclass
class InboxFile:
    department_code: str | None
    original_name: str
    path: Path
    size: int
    sha256: str | None
    issue: Issue | None = None

    @property
    def submission_id(self) -> str:
        return make_submission_id(
            self.department_code, self.sha256 or hashlib.sha256(self.original_name.encode()).hexdigest()
        )


def make_submission_id(department_code: str | None, sha256: str) -> str:
    return f"{department_code or '_'}-{sha256[:16]}"


def unsafe_name(name: str) -> bool:
    """Names are never used as paths, but names that look like paths are refused outright."""
    if _CONTROL.search(name) or "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return True
    return any(part in ("..", ".") for part in re.split(r"[/\\]", name))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _walk(root: Path):
    """Yield (path relative to root, DirEntry) without following symlinks."""
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                stack.append((Path(entry.path), rel + "/"))
            else:
                yield rel, entry


class HashCache:
    """(relative path, size, mtime_ns) -> sha256, so repeated scans do not re-read unchanged files."""

    def __init__(self, path: Path | None):
        self.path = path
        self.data: dict[str, list] = {}
        if path and path.exists():
            try:
                self.data = json.loads(path.read_text())
            except (OSError, ValueError):
                self.data = {}
        self.dirty = False

    def sha(self, rel: str, entry: os.DirEntry) -> str:
        st = entry.stat(follow_symlinks=False)
        hit = self.data.get(rel)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            return hit[2]
        sha = sha256_file(Path(entry.path))
        self.data[rel] = [st.st_size, st.st_mtime_ns, sha]
        self.dirty = True
        return sha

    def save(self) -> None:
        if self.path and self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data))
            os.replace(tmp, self.path)


def scan_inbox(settings: Settings, departments: set[str], cache: HashCache | None = None) -> list[InboxFile]:
    """Every file in the inbox with its department, hash and (if any) the reason it is refused unread."""
    inbox = settings.inbox
    if not inbox.exists():
        return []
    cache = cache or HashCache(None)
    found: list[InboxFile] = []
    for rel, entry in _walk(inbox):
        parts = rel.split("/")
        department = parts[0] if len(parts) > 1 else None
        name = "/".join(parts[1:]) if department else rel
        path = Path(entry.path)
        st = entry.stat(follow_symlinks=False)
        item = InboxFile(department, name, path, st.st_size, None)
        base = parts[-1]
        if department is not None and (inbox / department).is_symlink():
            item.issue = Issue("symlink_not_allowed", value=department)
        elif entry.is_symlink():
            item.issue = Issue("symlink_not_allowed", value=rel)
        elif unsafe_name(base) or unsafe_name(name):
            item.issue = Issue("unsafe_file_name", value=name)
        elif department is None:
            if base in ("README.md", ".gitkeep"):
                continue  # documentation of the inbox itself
            item.issue = Issue("not_in_department_folder", value=rel)
        elif base.startswith((".", "~$")):
            if base == ".gitkeep":
                continue
            item.issue = Issue("hidden_or_temporary_file", value=name)
        elif department not in departments:
            item.issue = Issue("unknown_department", value=department)
        elif st.st_size > settings.max_file_bytes:
            item.issue = Issue("file_too_large", value=st.st_size, expected=settings.max_file_bytes)
        hashable = item.issue is None or item.issue.code in (
            "unknown_department",
            "not_in_department_folder",
            "hidden_or_temporary_file",
        )
        if hashable and not entry.is_symlink() and st.st_size <= settings.max_file_bytes:
            item.sha256 = cache.sha(rel, entry)
        found.append(item)
    cache.save()
    return found


def _backfill_receipts(settings: Settings) -> dict[tuple[str, str], datetime]:
    """Receipt times of submissions received before the system existed (migrated history)."""
    path = settings.backfill_receipts
    if not path.exists():
        return {}
    out = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out[(row["department_code"], row["sha256"])] = datetime.fromisoformat(row["received_at"])
    return out


def archive_file(settings: Settings, item: InboxFile) -> str:
    """Copy into the content-addressed archive (atomic, read-only); return the path relative to raw/.

    One pass: the copy is hashed as it is written, created read-only, then renamed into place."""
    rel = f"archive/sha256/{item.sha256[:2]}/{item.sha256}"
    target = settings.raw_dir / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".incoming-{os.getpid()}-{item.sha256[:12]}")
        digest = hashlib.sha256()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o440)
        try:
            with item.path.open("rb") as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    digest.update(chunk)
                    os.write(fd, chunk)
        finally:
            os.close(fd)
        if digest.hexdigest() != item.sha256:  # the file changed while we copied it: the next scan takes it
            os.unlink(tmp)
            raise FileChangedError(item.original_name)
        os.replace(tmp, target)
    return rel


class FileChangedError(RuntimeError):
    pass


def discover_and_archive(settings: Settings, catalog: Catalog, only: set[str] | None = None) -> dict:
    """Register new inbox files. `only`: submission ids to take (a sensor run); None: everything."""
    departments = set(catalog.departments["department_code"])
    cache = HashCache(settings.inbox_index)
    files = scan_inbox(settings, departments, cache)
    backfill = _backfill_receipts(settings)
    now = now_local()
    archived = load_receipts(settings)
    with connect(settings) as con:
        known = {r[0] for r in con.execute("select submission_id from raw.receipts").fetchall()}
        new_rows, to_log = [], []
        seen = set()
        for item in files:
            sid = item.submission_id
            if sid in known or sid in seen or (only is not None and sid not in only):
                continue
            seen.add(sid)
            if sid in archived:  # archived by a run that died before recording it: keep its receipt time
                new_rows.append(archived[sid])
                continue
            archive = None
            if item.sha256 and item.issue is None:
                try:
                    archive = archive_file(settings, item)
                except FileChangedError:
                    continue
            received = backfill.get((item.department_code, item.sha256)) if item.sha256 else None
            row = {
                "submission_id": sid,
                "department_code": item.department_code,
                "original_name": item.original_name,
                "file_sha256": item.sha256 or "",
                "size_bytes": item.size,
                "received_at": received or now,
                "received_at_source": "backfill" if received else "observed",
                "archive_path": archive,
                "discovery_issue": json.dumps(_issue_json(item.issue), ensure_ascii=False)
                if item.issue
                else None,
                "discovered_at": now,
            }
            new_rows.append(row)
            to_log.append(row)
        write_receipts_log(settings, to_log)  # durable before the warehouse knows about them
        if new_rows:
            frame = pd.DataFrame(new_rows)
            con.register("new_receipts", frame)
            con.execute("insert into raw.receipts by name select * from new_receipts")
            con.unregister("new_receipts")
    return {"files_in_inbox": len(files), "new_receipts": len(new_rows)}


def write_receipts_log(settings: Settings, rows: list[dict]) -> None:
    """The archive keeps its own record of every receipt (one JSON-lines file per discovery), so the
    warehouse can be rebuilt from the archive alone."""
    if not rows:
        return
    folder = settings.archive / "receipts"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{now_local().strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**9}.jsonl"
    tmp = folder / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o440)
    try:
        os.write(fd, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, folder / name)


def load_receipts(settings: Settings) -> dict[str, dict]:
    """Every receipt recorded in the archive, by submission id (the first record of an id wins)."""
    out: dict[str, dict] = {}
    for path in sorted((settings.archive / "receipts").glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                row = json.loads(line)
                if row["submission_id"] in out:
                    continue
                for key in ("received_at", "discovered_at"):
                    row[key] = datetime.fromisoformat(row[key])
                out[row["submission_id"]] = row
    return out


def _issue_json(issue: Issue) -> dict:
    return {
        "code": issue.code,
        "value": None if issue.value is None else str(issue.value),
        "expected": None if issue.expected is None else str(issue.expected),
    }


# ------------------------------------------------------------------------------------ processing


@dataclass
class Outcome:
    """What happened to one submission in this batch."""

    receipt: dict
    format: str = "unknown"
    encoding: str | None = None
    kinds: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)  # file-level and row-level problems
    rows_total: int = 0
    rejected_rows: set = field(default_factory=set)  # (kind, row_id)
    skipped_rows: set = field(default_factory=set)  # exact duplicates (kind, row_id)
    status: str = "accepted"


@dataclass
class BatchResult:
    batch_id: str
    files: int = 0
    status_counts: Counter = field(default_factory=Counter)
    rows_loaded: dict = field(default_factory=lambda: {INDICATOR: 0, PROGRESS: 0})
    quarantined: int = 0
    suite_reports: list = field(default_factory=list)
    examples: list = field(default_factory=list)  # first failing rows, for the asset check metadata
    timings: dict = field(default_factory=lambda: defaultdict(float))


def pending_receipts(settings: Settings) -> list[dict]:
    with connect(settings) as con:
        return fetch_dicts(
            con,
            """
            select r.* from raw.receipts r
            where not exists (select 1 from raw.submissions s where s.submission_id = r.submission_id)
            order by r.received_at, r.submission_id
            """,
        )


def process_pending(
    settings: Settings, catalog: Catalog, batch_files: int = BATCH_FILES
) -> list[BatchResult]:
    receipts = pending_receipts(settings)
    results = []
    for start in range(0, len(receipts), batch_files):
        results.append(_process_batch(settings, catalog, receipts[start : start + batch_files]))
    return results


def _process_batch(settings: Settings, catalog: Catalog, receipts: list[dict]) -> BatchResult:
    from expectations import validate  # lazy: importing GX takes seconds

    started = now_local()
    batch_id = started.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 100000}"
    result = BatchResult(batch_id=batch_id, files=len(receipts))
    region_of = catalog.department_region()
    outcomes: dict[str, Outcome] = {}

    t0 = time.perf_counter()
    tasks = [(r, str(settings.raw_dir), region_of.get(r["department_code"])) for r in receipts]
    workers = os.cpu_count() or 1
    if len(tasks) >= PARALLEL_MIN_FILES and workers > 1:
        # reading and parsing is pure Python per file: spread it over the cores ("spawn": the parent has threads)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            parsed = list(pool.map(read_and_parse, tasks, chunksize=max(1, len(tasks) // (workers * 8))))
    else:
        parsed = [read_and_parse(task) for task in tasks]
    columns: dict[str, dict[str, list]] = {INDICATOR: defaultdict(list), PROGRESS: defaultdict(list)}
    for receipt, part in zip(receipts, parsed, strict=True):
        outcome = Outcome(
            receipt=receipt, format=part["format"], encoding=part["encoding"], kinds=part["kinds"]
        )
        outcome.issues.extend(part["issues"])
        outcomes[receipt["submission_id"]] = outcome
        for kind in (INDICATOR, PROGRESS):
            for key, values in part[kind].items():
                columns[kind][key].extend(values)
    result.timings["parse"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    frames = {
        INDICATOR: enrich_indicators(dict(columns[INDICATOR]), catalog),
        PROGRESS: enrich_progress(dict(columns[PROGRESS]), catalog),
    }
    for kind, frame in frames.items():
        if frame.empty:
            continue
        # a CSV has no sheet: None, not the NaN pandas makes of it when a batch mixes CSV and XLSX
        frame["sheet_name"] = frame["sheet_name"].astype(object).where(frame["sheet_name"].notna(), None)
        frame["sheet_key"] = frame["sheet_name"].fillna("")
        if kind == INDICATOR:
            frame["allowed_range"] = [
                _range_text(lo, hi)
                for lo, hi in zip(frame["value_min_allowed"], frame["value_max_allowed"], strict=True)
            ]
            dup_cols = [
                "submission_id",
                "sheet_key",
                "indicator_code",
                "period",
                "value_type",
                "value",
                "unit",
            ]
        else:
            dup_cols = [
                "submission_id",
                "sheet_key",
                "project_code",
                "milestone_code",
                "report_date",
                "completed_on",
                "percent_complete",
                "investment_to_date",
            ]
        for submission_id, rows in frame.groupby("submission_id").size().items():
            outcomes[submission_id].rows_total += int(rows)
        dups = frame.duplicated(subset=dup_cols, keep="first") & frame[dup_cols[2]].notna()
        blank = pd.Series(False, index=frame.index)
        if kind == INDICATOR:  # a template row left blank is "not reported", not an error
            blank = frame["value_raw"].isna() & frame["formula_columns"].isna() & ~dups
        for reason, mask in (("duplicate_row", dups), ("value_left_blank", blank)):
            for _, row in frame[mask].iterrows():
                outcome = outcomes[row["submission_id"]]
                outcome.skipped_rows.add((kind, row["row_id"]))
                outcome.issues.append(
                    Issue(
                        reason, row=int(row["source_row"]), sheet=row["sheet_name"], extra=_record(kind, row)
                    )
                )
        frames[kind] = frame[~(dups | blank)].reset_index(drop=True)
    result.timings["enrich"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    for kind, frame in frames.items():
        if frame.empty:
            continue
        report = validate(kind, frame, catalog)
        result.suite_reports.append(report)
        lookup = frame.set_index("row_id")
        owner_conflicts: dict[str, list] = defaultdict(list)
        # one cause, one message: a row with cells beyond the header is shifted (its other "errors" are
        # noise from the shift), and a period outside the plan need not also be called "not yet ended"
        reasons_by_row: dict[int, set[str]] = defaultdict(set)
        for failure in report.failures:
            reasons_by_row[failure.row_id].add(failure.reason)
        for failure in report.failures:
            seen = reasons_by_row[failure.row_id]
            if "extra_cells" in seen and failure.reason != "extra_cells":
                continue
            if failure.reason == "future_period" and "period_outside_plan" in seen:
                continue
            row = lookup.loc[failure.row_id]
            outcome = outcomes[row["submission_id"]]
            column = failure.value if failure.reason == "formula_without_value" else failure.column
            issue = Issue(
                failure.reason,
                row=int(row["source_row"]),
                column=column,
                value=failure.value,
                expected=failure.expected,
                sheet=row["sheet_name"],
                extra=_record(kind, row),
            )
            if failure.reason == "other_department_codes":
                owner_conflicts[row["submission_id"]].append(issue)
                continue
            outcome.issues.append(issue)
            if not failure.warning:
                outcome.rejected_rows.add((kind, failure.row_id))
        for sid, conflicts in owner_conflicts.items():
            codes = sorted({str(i.value) for i in conflicts})
            owners = sorted({str(i.expected) for i in conflicts})
            rows = ", ".join(str(i.row) for i in conflicts[:20])
            outcomes[sid].issues.append(
                Issue(
                    "other_department_codes",
                    value="、".join(codes),
                    expected="、".join(owners),
                    sheet=conflicts[0].sheet,
                    extra={"rows": rows},
                )
            )
    result.timings["validate"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    _load(settings, frames, outcomes, result, started)
    result.timings["load"] += time.perf_counter() - t0
    return result


def _where(name: str, issue: Issue) -> tuple[str, str]:
    """Row messages travel alone (alerts, e-mails, exports): they name the file and sheet themselves."""
    if issue.row is None:
        return "", ""
    if issue.sheet:
        return f"文件“{name}”工作表“{issue.sheet}”：", f"File '{name}', sheet '{issue.sheet}': "
    return f"文件“{name}”：", f"File '{name}': "


def _range_text(lo: float, hi: float) -> str:
    if pd.isna(lo) and pd.isna(hi):
        return ""
    if pd.isna(hi):
        return f"≥ {lo:g}"
    if pd.isna(lo):
        return f"≤ {hi:g}"
    return f"{lo:g}–{hi:g}"


def _record(kind: str, row: pd.Series) -> dict:
    """The code and period of a rejected row, so compliance can count rejections per period."""
    if kind == INDICATOR:
        period = row["period"] if isinstance(row["period"], str) else row["period_raw"]
        return {"record_kind": kind, "record_code": row["indicator_code"], "record_period": period}
    report = row["report_date"]
    period = f"{report.year}Q{(report.month - 1) // 3 + 1}" if not pd.isna(report) else None
    return {"record_kind": kind, "record_code": row["project_code"], "record_period": period}


def read_and_parse(task: tuple) -> dict:
    """Read one archived file and parse its cells into columns (runs in worker processes)."""
    receipt, raw_dir, region = task
    out = {"format": "unknown", "encoding": None, "issues": [], "kinds": [], INDICATOR: {}, PROGRESS: {}}
    if receipt["discovery_issue"]:  # refused before reading
        info = json.loads(receipt["discovery_issue"])
        out["issues"] = [Issue(info["code"], value=info.get("value"), expected=info.get("expected"))]
        return out
    try:
        return _read_and_parse(out, receipt, raw_dir, region)
    except Exception as exc:
        out.update(format="unknown", encoding=None, kinds=[], **{INDICATOR: {}, PROGRESS: {}})
        out["issues"] = [Issue("unreadable_file", value=f"{type(exc).__name__}: {exc}"[:200])]
        return out


def _read_and_parse(out: dict, receipt: dict, raw_dir: str, region: str | None) -> dict:
    read = read_submission(Path(raw_dir) / receipt["archive_path"], receipt["original_name"])
    out.update(format=read.format, encoding=read.encoding, issues=read.issues)
    if read.rejected:
        return out
    out["kinds"] = sorted({s.kind for s in read.sheets})
    item = SubmissionSheets(
        receipt["submission_id"],
        receipt["department_code"],
        region,
        pd.Timestamp(receipt["received_at"]).to_pydatetime(),
        read.sheets,
        read.date1904,
    )
    for kind, rows in ((INDICATOR, indicator_rows([item])), (PROGRESS, progress_rows([item]))):
        out[kind] = {key: [row[key] for row in rows] for key in rows[0]} if rows else {}
    return out


def _decide(outcome: Outcome) -> None:
    file_errors = [i for i in outcome.issues if i.is_file_level]
    accepted_rows = outcome.rows_total - len(outcome.rejected_rows) - len(outcome.skipped_rows)
    if not file_errors and outcome.rows_total and accepted_rows <= 0:
        outcome.issues.append(Issue("all_rows_rejected"))
        file_errors = [outcome.issues[-1]]
    if file_errors:
        outcome.status = "rejected"
    elif any(True for _ in outcome.issues):
        outcome.status = "accepted_with_warnings"
    else:
        outcome.status = "accepted"


def _load(
    settings: Settings, frames: dict, outcomes: dict[str, Outcome], result: BatchResult, started
) -> None:
    ledger, quarantine = [], []
    loadable: dict[str, pd.DataFrame] = {}
    for outcome in outcomes.values():
        _decide(outcome)
    rejected_files = {sid for sid, o in outcomes.items() if o.status == "rejected"}
    for kind, frame in frames.items():
        if frame.empty:
            loadable[kind] = frame
            continue
        bad = {row_id for o in outcomes.values() for (k, row_id) in o.rejected_rows if k == kind}
        keep = ~frame["row_id"].isin(bad) & ~frame["submission_id"].isin(rejected_files)
        loadable[kind] = frame[keep]

    for sid, outcome in outcomes.items():
        receipt = outcome.receipt
        file_error = next((i for i in outcome.issues if i.is_file_level), None)
        rows_loaded = (
            0
            if outcome.status == "rejected"
            else (outcome.rows_total - len(outcome.rejected_rows) - len(outcome.skipped_rows))
        )
        ledger.append(
            {
                "submission_id": sid,
                "department_code": receipt["department_code"],
                "original_name": receipt["original_name"],
                "file_sha256": receipt["file_sha256"],
                "size_bytes": receipt["size_bytes"],
                "detected_format": outcome.format,
                "detected_encoding": outcome.encoding,
                "kinds": ", ".join(outcome.kinds) or None,
                "received_at": receipt["received_at"],
                "received_at_source": receipt["received_at_source"],
                "processed_at": started,
                "status": outcome.status,
                "rows_total": outcome.rows_total,
                "rows_accepted": rows_loaded,
                "rows_rejected": outcome.rows_total - rows_loaded - len(outcome.skipped_rows),
                "warnings": sum(1 for i in outcome.issues if i.severity == "warning"),
                "reason_code": file_error.code if file_error else None,
                "message_zh": file_error.message_zh if file_error else None,
                "message_en": file_error.message_en if file_error else None,
                "validation_batch": result.batch_id,
            }
        )
        result.status_counts[outcome.status] += 1
        for issue in outcome.issues:
            where_zh, where_en = _where(receipt["original_name"], issue)
            quarantine.append(
                {
                    "submission_id": sid,
                    "department_code": receipt["department_code"],
                    "original_name": receipt["original_name"],
                    "file_sha256": receipt["file_sha256"],
                    "sheet_name": issue.sheet,
                    "source_row": issue.row,
                    "column_name": issue.column,
                    "offending_value": None if issue.value is None else str(issue.value)[:500],
                    "record_kind": issue.extra.get("record_kind"),
                    "record_code": issue.extra.get("record_code"),
                    "record_period": issue.extra.get("record_period"),
                    "reason_code": issue.code,
                    "severity": issue.severity,
                    "scope": "file" if issue.row is None else "row",
                    "message_zh": where_zh + issue.message_zh,
                    "message_en": where_en + issue.message_en,
                    "detected_at": started,
                }
            )
            if len(result.examples) < 20 and issue.severity == "error":
                result.examples.append(
                    {
                        "kind": issue.extra.get("record_kind"),
                        "file": receipt["original_name"],
                        "department": receipt["department_code"],
                        "sheet": issue.sheet,
                        "row": issue.row,
                        "column": issue.column,
                        "reason": issue.code,
                        "message_en": issue.message_en,
                    }
                )
    result.quarantined = len(quarantine)

    ind = loadable[INDICATOR]
    prog = loadable[PROGRESS]
    with connect(settings) as con:
        con.execute("begin transaction")
        try:
            if not ind.empty:
                frame = ind.assign(loaded_at=started)[
                    [
                        "submission_id",
                        "department_code",
                        "sheet_name",
                        "source_row",
                        "received_at",
                        "plan_id",
                        "indicator_code",
                        "indicator_name",
                        "period",
                        "value_type",
                        "value",
                        "unit",
                        "note",
                        "loaded_at",
                    ]
                ]
                frame = frame.assign(
                    file_sha256=frame["submission_id"].map(lambda s: outcomes[s].receipt["file_sha256"]),
                    unit=ind["unit"].fillna(ind["value_unit"]),
                )
                con.register("load_ind", frame)
                con.execute("insert into raw.indicator_values by name select * from load_ind")
                con.unregister("load_ind")
            if not prog.empty:
                frame = prog.assign(loaded_at=started)[
                    [
                        "submission_id",
                        "department_code",
                        "sheet_name",
                        "source_row",
                        "received_at",
                        "plan_id",
                        "project_code",
                        "milestone_code",
                        "report_date",
                        "completed_on",
                        "percent_complete",
                        "investment_to_date",
                        "note",
                        "loaded_at",
                    ]
                ].assign(file_sha256=prog["submission_id"].map(lambda s: outcomes[s].receipt["file_sha256"]))
                frame["report_date"] = frame["report_date"].dt.date
                frame["completed_on"] = frame["completed_on"].dt.date
                con.register("load_prog", frame)
                con.execute("insert into raw.project_progress by name select * from load_prog")
                con.unregister("load_prog")
            if quarantine:
                con.register("load_q", pd.DataFrame(quarantine))
                con.execute("insert into raw.quarantine by name select * from load_q")
                con.unregister("load_q")
            results = [
                {
                    "validation_batch": result.batch_id,
                    "suite": report.suite,
                    "expectation": r["expectation"],
                    "reason_code": r["reason"],
                    "column_name": r["column"],
                    "is_warning": r["warning"],
                    "success": r["success"],
                    "rows_validated": report.rows,
                    "unexpected_count": r["unexpected"],
                    "validated_at": started,
                }
                for report in result.suite_reports
                for r in report.results
            ]
            if results:
                con.register("load_results", pd.DataFrame(results))
                con.execute("insert into ops.validation_results by name select * from load_results")
                con.unregister("load_results")
            con.register("load_ledger", pd.DataFrame(ledger))
            con.execute("insert into raw.submissions by name select * from load_ledger")
            con.unregister("load_ledger")
            crash_point("ingest.before_commit")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    result.rows_loaded[INDICATOR] += len(ind)
    result.rows_loaded[PROGRESS] += len(prog)
