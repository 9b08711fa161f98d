"""One validation core: read a submission, parse its cells, join the catalog facts onto each row,
validate with the Great Expectations suites and decide the verdict. Writes nothing: the pipeline
(pipelines/lib/ingest/load.py) loads what it decides, and any other caller (a portal) can check a file
with the same code and rules.

File rule (docs/submissions.md): a file is rejected as a whole when it cannot be read, lacks a
required column, is empty, or carries a code owned by another department; otherwise every row is
an independent fact, so a bad row is quarantined and the other rows are loaded.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..plans.catalog import Catalog
from ..settings import now_local
from .batch import SubmissionSheets, enrich_indicators, enrich_progress, indicator_rows, progress_rows
from .readers import INDICATOR, PROGRESS, read_submission
from .reasons import Issue

PARALLEL_MIN_FILES = 400  # below this, starting worker processes costs more than it saves


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
class CheckedBatch:
    """The verdict on a batch of files: per file an Outcome (status decided), per kind the rows that
    survived parsing (rejected rows are still in the frame; their ids are in the outcomes)."""

    frames: dict[str, pd.DataFrame]
    outcomes: dict[str, Outcome]
    suite_reports: list = field(default_factory=list)
    timings: dict = field(default_factory=lambda: defaultdict(float))


def check_batch(receipts: list[dict], catalog: Catalog, raw_dir: Path) -> CheckedBatch:
    """Check files described by receipts (submission_id, department_code, original_name, received_at,
    archive_path relative to raw_dir or absolute, discovery_issue)."""
    from expectations import validate  # lazy: importing GX takes seconds

    region_of = catalog.department_region()
    outcomes: dict[str, Outcome] = {}
    checked = CheckedBatch(frames={}, outcomes=outcomes)

    t0 = time.perf_counter()
    tasks = [(r, str(raw_dir), region_of.get(r["department_code"])) for r in receipts]
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
    checked.timings["parse"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    frames = checked.frames
    frames.update(
        {
            INDICATOR: enrich_indicators(dict(columns[INDICATOR]), catalog),
            PROGRESS: enrich_progress(dict(columns[PROGRESS]), catalog),
        }
    )
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
    checked.timings["enrich"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    for kind, frame in frames.items():
        if frame.empty:
            continue
        report = validate(kind, frame, catalog)
        checked.suite_reports.append(report)
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
    checked.timings["validate"] += time.perf_counter() - t0

    for outcome in outcomes.values():
        decide(outcome)
    return checked


def check_file(path: Path, original_name: str, department_code: str, catalog: Catalog) -> CheckedBatch:
    """Check one file that is not (yet) in the archive, exactly as the pipeline would."""
    receipt = {
        "submission_id": f"{department_code}-check",
        "department_code": department_code,
        "original_name": original_name,
        "received_at": now_local(),
        "archive_path": str(Path(path).resolve()),
        "discovery_issue": None,
    }
    return check_batch([receipt], catalog, Path(path).resolve().parent)


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


def decide(outcome: Outcome) -> None:
    file_errors = [i for i in outcome.issues if i.is_file_level]
    accepted_rows = outcome.rows_total - len(outcome.rejected_rows) - len(outcome.skipped_rows)
    if not file_errors and outcome.rows_total and accepted_rows <= 0:
        outcome.issues.append(Issue("all_rows_rejected"))
        file_errors = [outcome.issues[-1]]
    if any(i.code == "hidden_or_temporary_file" for i in outcome.issues):
        outcome.status = "ignored"  # an editor's or a download's leftover: noted, never read
    elif file_errors:
        outcome.status = "rejected"
    elif any(True for _ in outcome.issues):
        outcome.status = "accepted_with_warnings"
    else:
        outcome.status = "accepted"
