"""One validation core: read a submission, parse its cells, join the catalog facts onto each row,
validate with the Great Expectations suites and decide the verdict. Writes nothing: the pipeline
(pipelines/lib/ingest/load.py) loads what it decides, and any other caller (a portal) can check a file
with the same code and rules.

File rule (docs/submissions.md): a file is rejected as a whole when it cannot be read, lacks a
required column, is empty, or carries a code owned by another department; otherwise every row is
an independent fact, so a bad row is quarantined and the other rows are loaded.

Two suites run in turn: the hard checks (强制性审核: indicator_data, project_progress) refuse rows;
the soft checks (核实性审核: indicator_plausibility) run on the indicator rows that passed, compare
each actual with the department's previous accepted value (passed in by the caller: this module
opens no warehouse connection) and mark a row `pending_explanation` unless the row carries a written
explanation (`explained`), or the department explained the same value before (a value is explained
once). Such rows are loaded; the marts count them only once explained.
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
from .plausibility import PreviousValues, annotate, message_details
from .readers import INDICATOR, PROGRESS, read_submission
from .reasons import Bilingual, Issue

PARALLEL_MIN_FILES = 400  # below this, starting worker processes costs more than it saves


NOTHING_LOADED = ("rejected", "ignored")  # file statuses that load no row


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
    pending_rows: set = field(default_factory=set)  # soft check without an explanation (kind, row_id)
    explained_rows: set = field(default_factory=set)  # soft check with an explanation (kind, row_id)
    status: str = "accepted"  # accepted | accepted_with_warnings | needs_explanation | rejected | ignored

    @property
    def rows_loaded(self) -> int:
        """Rows that go into the warehouse (pending ones included); none for a rejected or ignored file."""
        if self.status in NOTHING_LOADED:
            return 0
        return self.rows_total - len(self.rejected_rows) - len(self.skipped_rows)

    @property
    def rows_accepted(self) -> int:
        """Rows loaded that count (accepted or explained)."""
        return self.rows_loaded - (0 if self.status in NOTHING_LOADED else len(self.pending_rows))

    @property
    def rows_pending_explanation(self) -> int:
        return 0 if self.status in NOTHING_LOADED else len(self.pending_rows)

    @property
    def rows_rejected(self) -> int:
        return self.rows_total - self.rows_loaded - len(self.skipped_rows)


@dataclass
class CheckedBatch:
    """The verdict on a batch of files: per file an Outcome (status decided), per kind the rows that
    survived parsing (rejected rows are still in the frame; their ids are in the outcomes)."""

    frames: dict[str, pd.DataFrame]
    outcomes: dict[str, Outcome]
    suite_reports: list = field(default_factory=list)
    plausibility: pd.DataFrame | None = None  # the soft-checked rows with their reference (plausibility.py)
    timings: dict = field(default_factory=lambda: defaultdict(float))


# the cell as typed beside each parsed duplicate-key column: a key column that could not be read from
# what was typed makes the row no repeat of another (both read as nothing)
_RAW_OF = {
    "period": "period_raw",
    "value_type": "value_type_raw",
    "value": "value_raw",
    "milestone_code": "milestone_raw",
    "report_date": "report_date_raw",
    "completed_on": "completed_on_raw",
    "percent_complete": "percent_complete_raw",
    "investment_to_date": "investment_to_date_raw",
}


def _distinct_texts(texts: pd.Series) -> object:
    """The different explanations (or notes) of rows that repeat each other, in file order, joined with '；'."""
    seen = list(dict.fromkeys(t for t in texts if isinstance(t, str) and t))
    return "；".join(seen) if seen else None


def check_batch(
    receipts: list[dict], catalog: Catalog, raw_dir: Path, previous: PreviousValues = None
) -> CheckedBatch:
    """Check files described by receipts (submission_id, department_code, original_name, received_at,
    archive_path relative to raw_dir or absolute, discovery_issue).

    `previous`: the department's accepted values the soft checks compare with (plan_id,
    indicator_code, period, value[, received_at, submission_id]) as a frame, or a function of the
    batch's (plan_id, indicator_code) pairs returning one (plausibility.previous_values_from)."""
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
            # a unit that is the catalog's says no more than none ('1234', '1234亿元' and 1234 with 单位 亿元
            # are one value); another unit makes another value, never a repeat of the plain number
            units = {"unit": frame["catalog_unit"], "value_unit": frame["catalog_unit"]}
            dup_cols = [
                "submission_id",
                "sheet_key",
                "indicator_code",
                "period",
                "value_type",
                "value",
                *[f"_{col}_key" for col in units],
            ]
        else:
            units = {"percent_unit": "%", "investment_unit": "万元"}
            dup_cols = [
                "submission_id",
                "sheet_key",
                "project_code",
                "milestone_code",
                "report_date",
                "completed_on",
                "percent_complete",
                "investment_to_date",
                *[f"_{col}_key" for col in units],
            ]
        for col, allowed in units.items():
            frame[f"_{col}_key"] = frame[col].where(frame[col].ne(allowed))
        for submission_id, rows in frame.groupby("submission_id").size().items():
            outcomes[submission_id].rows_total += int(rows)
        # an exact repeat is one whose cells read the same: a row whose value, period or date could not be read
        # is not a repeat of another unreadable one ("约2500" and "约2600" both read as nothing) and gets its
        # own error below
        readable = frame[dup_cols[2]].notna()
        for parsed in dup_cols[3:]:
            raw = _RAW_OF.get(parsed)
            if raw in frame.columns:
                readable &= frame[parsed].notna() | frame[raw].isna()
        dups = frame.duplicated(subset=dup_cols, keep="first") & readable
        kept_row: dict = {}  # row_id of a repeat -> the source row of the one loaded
        if dups.any():
            first = frame.groupby(dup_cols, dropna=False)["source_row"].transform("first")
            kept_row = dict(zip(frame.loc[dups, "row_id"], first[dups], strict=True))
        if dups.any():
            # what a repeat adds in explanation or note goes to the row that is loaded, not lost with it
            repeated = frame.duplicated(subset=dup_cols, keep=False) & readable
            groups = frame[repeated].groupby(dup_cols, dropna=False).groups.values()
            for text in [c for c in ("explanation", "note") if c in frame.columns]:
                for index in groups:
                    frame.loc[index, text] = _distinct_texts(frame.loc[index, text])
        blank = pd.Series(False, index=frame.index)
        if kind == INDICATOR:  # a template row left blank is "not reported", not an error
            blank = frame["value_raw"].isna() & frame["formula_columns"].isna() & ~dups
        for reason, mask in (("duplicate_row", dups), ("value_left_blank", blank)):
            for row in _rows(frame[mask], kind):
                outcome = outcomes[row["submission_id"]]
                outcome.skipped_rows.add((kind, row["row_id"]))
                extra = _record(kind, row)
                if reason == "duplicate_row":
                    extra["other"] = int(kept_row[row["row_id"]])
                outcome.issues.append(
                    Issue(reason, row=int(row["source_row"]), sheet=row["sheet_name"], extra=extra)
                )
        frames[kind] = (
            frame[~(dups | blank)].drop(columns=[f"_{col}_key" for col in units]).reset_index(drop=True)
        )
    checked.timings["enrich"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    for kind, frame in frames.items():
        if frame.empty:
            continue
        report = validate(kind, frame, catalog)
        checked.suite_reports.append(report)
        same_key = _conflicting_rows(kind, frame, catalog, report)
        lookup = _rows_by_id(frame, kind, {f.row_id for f in report.failures})
        owner_conflicts: dict[str, list] = defaultdict(list)
        # one cause, one message: a row with cells beyond the header is shifted (its other "errors" are
        # noise from the shift), a period outside the plan need not also be called "not yet ended", and a
        # code of another plan than the period's is not also "unknown"
        reasons_by_row: dict[int, set[str]] = defaultdict(set)
        for failure in report.failures:
            reasons_by_row[failure.row_id].add(failure.reason)
        for failure in report.failures:
            seen = reasons_by_row[failure.row_id]
            if "extra_cells" in seen and failure.reason != "extra_cells":
                continue
            if failure.reason == "future_period" and "period_outside_plan" in seen:
                continue
            if failure.reason == "unknown_code" and "code_not_in_period_plan" in seen:
                continue
            row = lookup[failure.row_id]
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
            if failure.reason == "conflicting_duplicate":
                others = [r for r in same_key.get(failure.row_id, []) if r != issue.row]
                more = " …" if len(others) > 20 else ""
                issue.extra["other"] = Bilingual(
                    "、".join(str(r) for r in others[:20]) + more,
                    ("rows " if len(others) > 1 else "row ") + ", ".join(str(r) for r in others[:20]) + more,
                )
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

    t0 = time.perf_counter()
    _soft_checks(checked, catalog, previous)
    checked.timings["plausibility"] += time.perf_counter() - t0

    for outcome in outcomes.values():
        decide(outcome)
    return checked


def _conflicting_rows(kind: str, frame: pd.DataFrame, catalog: Catalog, report) -> dict[int, list[int]]:
    """For each row failing the conflicting-duplicate rule: the source rows sharing its key (itself included),
    so its message can say which rows to choose between. The key is the rule's own column list."""
    from expectations.runner import SUITE_MODULES

    failing = {f.row_id for f in report.failures if f.reason == "conflicting_duplicate"}
    if not failing:
        return {}
    [rule] = [r for r in SUITE_MODULES[kind].rules(catalog) if r.reason == "conflicting_duplicate"]
    key = rule.kwargs["column_list"]
    rows = frame[frame["row_id"].isin(failing)]
    groups = rows.groupby(key, dropna=True)["source_row"].agg(lambda s: sorted(int(r) for r in s))
    return {
        row_id: groups[tuple(values)] for row_id, *values in rows[["row_id", *key]].itertuples(index=False)
    }


def _soft_checks(checked: CheckedBatch, catalog: Catalog, previous: PreviousValues) -> None:
    """核实性审核 on the actual values that passed the hard checks, in files not rejected as a whole."""
    from expectations import unflagged_report, validate

    frame = checked.frames.get(INDICATOR)
    if frame is None or frame.empty:
        return
    frame["review_state"] = "accepted"
    frame["review_reasons"] = None
    outcomes = checked.outcomes
    rejected_files = {sid for sid, o in outcomes.items() if any(i.is_file_level for i in o.issues)}
    rejected_rows = {row_id for o in outcomes.values() for (k, row_id) in o.rejected_rows if k == INDICATOR}
    candidates = frame[
        frame["value_type"].eq("actual")
        & frame["value"].notna()
        & frame["plan_id"].notna()
        & frame["known_code"].astype(bool)
        & ~frame["row_id"].isin(rejected_rows)
        & ~frame["submission_id"].isin(rejected_files)
    ]
    if candidates.empty:
        return
    known = (
        previous(candidates[["plan_id", "indicator_code"]].drop_duplicates())
        if callable(previous)
        else previous
    )
    soft = candidates.join(annotate(candidates, known))
    checked.plausibility = soft
    if soft["soft_reason"].notna().any():
        report = validate("indicator_plausibility", soft, catalog)
    else:  # nothing flagged: the suite's rules cannot fail on these rows
        report = unflagged_report("indicator_plausibility", len(soft), catalog)
    checked.suite_reports.append(report)
    lookup = _rows_by_id(soft, INDICATOR, {f.row_id for f in report.failures}, SOFT_MESSAGE_COLUMNS)
    reasons: dict[int, list[str]] = defaultdict(list)
    explained_before: set[int] = set()
    seen: set[tuple[int, str]] = set()
    for failure in report.failures:
        if (failure.row_id, failure.reason) in seen:  # the two sides of one band are one message
            continue
        seen.add((failure.row_id, failure.reason))
        row = lookup[failure.row_id]
        outcome = outcomes[row["submission_id"]]
        own = (
            row["explanation"] if isinstance(row["explanation"], str) and row["explanation"].strip() else None
        )
        prior = row.get("prior_explanation") if isinstance(row.get("prior_explanation"), str) else None
        explanation = own or prior  # a value is explained once: a repeat needs no new explanation
        extra = {**_record(INDICATOR, row), **message_details(row, failure.reason)}
        if explanation:
            extra["explanation"] = explanation
        if prior and not own:
            extra["explained_before"] = True
            explained_before.add(failure.row_id)
        outcome.issues.append(
            Issue(
                failure.reason,
                row=int(row["source_row"]),
                column="value",
                value=failure.value,
                expected=failure.expected,
                sheet=row["sheet_name"],
                extra=extra,
            )
        )
        reasons[failure.row_id].append(failure.reason)
        (outcome.explained_rows if explanation else outcome.pending_rows).add((INDICATOR, failure.row_id))
    if reasons:
        flagged = frame["row_id"].map(lambda r: ",".join(reasons[r]) if r in reasons else None)
        explained = frame["explanation"].fillna("").astype(str).str.strip().ne("") | frame["row_id"].isin(
            explained_before
        )
        frame["review_reasons"] = flagged
        frame.loc[flagged.notna(), "review_state"] = "pending_explanation"
        frame.loc[flagged.notna() & explained, "review_state"] = "explained"


def check_file(
    path: Path,
    original_name: str,
    department_code: str,
    catalog: Catalog,
    previous: PreviousValues = None,
    received_at=None,
) -> CheckedBatch:
    """Check one file that is not (yet) in the archive, exactly as the pipeline would (pass the previous
    accepted values, e.g. plausibility.previous_values_from(published snapshot connection))."""
    receipt = {
        "submission_id": f"{department_code}-check",
        "department_code": department_code,
        "original_name": original_name,
        "received_at": received_at or now_local(),
        "archive_path": str(Path(path).resolve()),
        "discovery_issue": None,
    }
    return check_batch([receipt], catalog, Path(path).resolve().parent, previous)


def _range_text(lo: float, hi: float) -> str:
    if pd.isna(lo) and pd.isna(hi):
        return ""
    if pd.isna(hi):
        return f"≥ {lo:g}"
    if pd.isna(lo):
        return f"≤ {hi:g}"
    return f"{lo:g}–{hi:g}"


# what an issue quotes of its row: _record's columns, and where the row is
ROW_COLUMNS = {
    INDICATOR: (
        "row_id",
        "submission_id",
        "source_row",
        "sheet_name",
        "period",
        "period_raw",
        "indicator_code",
    ),
    PROGRESS: ("row_id", "submission_id", "source_row", "sheet_name", "report_date", "project_code"),
}
# and a soft check's message (plausibility.message_details)
SOFT_MESSAGE_COLUMNS = (
    "explanation",
    "prior_explanation",
    "reference_value",
    "reference_period",
    "change_text",
    "bound_text",
    "suggested_value",
    "slip_factor",
    "catalog_unit",
)


def _rows(frame: pd.DataFrame, kind: str, more: tuple = ()) -> list[dict]:
    """The rows as dicts of the columns an issue quotes, made in one pass (DataFrame.loc or iterrows per row
    builds a Series of every column each time: ~11 s for the failing rows of a province's batch)."""
    columns = [c for c in (*ROW_COLUMNS[kind], *more) if c in frame.columns]
    return frame[columns].to_dict("records")


def _rows_by_id(frame: pd.DataFrame, kind: str, row_ids: set, more: tuple = ()) -> dict[int, dict]:
    return {row["row_id"]: row for row in _rows(frame[frame["row_id"].isin(row_ids)], kind, more)}


def _record(kind: str, row: dict) -> dict:
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
    """The verdict: rejected (nothing loaded), needs_explanation (loaded, but some rows count only once
    explained), accepted_with_warnings (some rows rejected or warned about) or accepted."""
    file_errors = [i for i in outcome.issues if i.is_file_level]
    accepted_rows = outcome.rows_total - len(outcome.rejected_rows) - len(outcome.skipped_rows)
    if not file_errors and outcome.rows_total and accepted_rows <= 0:
        if outcome.rejected_rows:
            outcome.issues.append(Issue("all_rows_rejected"))
        else:  # every row left blank (the template as downloaded): no data rows, as a header-only file
            sheets = {i.sheet for i in outcome.issues if i.code == "value_left_blank"}
            outcome.issues.append(Issue("header_only", sheet=sheets.pop() if len(sheets) == 1 else None))
        file_errors = [outcome.issues[-1]]
    if any(i.code == "hidden_or_temporary_file" for i in outcome.issues):
        outcome.status = "ignored"  # an editor's or a download's leftover: noted, never read
    else:
        outcome.status = verdict(bool(file_errors), len(outcome.pending_rows), len(outcome.issues))


def verdict(rejected: bool, pending_rows: int, issues: int) -> str:
    """The verdict of a file read: rejected as a whole, else needs_explanation while a row awaits an
    explanation, else accepted_with_warnings when anything is noted (explained values included: they
    stay on the receipt), else accepted. One rule for the pipeline and for a portal's receipt."""
    if rejected:
        return "rejected"
    if pending_rows:
        return "needs_explanation"
    return "accepted_with_warnings" if issues else "accepted"
