"""Load checked submissions into the warehouse.

process_pending(): receipts not yet in the ledger are read from the archive and checked in batches by
the validation core (pipelines/lib/submissions/check.py: one GX run per submission kind per batch,
failures attributed back to file/sheet/row/column), then loaded in one transaction per batch: ledger
rows, accepted rows and quarantine rows together, so a failure leaves nothing half-loaded and the next
run simply processes the same files again.
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pandas as pd

from ..alerts.departments import RECEIPT, receipt_notices
from ..alerts.departments import record as record_notices
from ..faults import crash_point
from ..plans.catalog import Catalog
from ..settings import Settings, now_local
from ..submissions.check import Outcome, check_batch
from ..submissions.plausibility import previous_values_from
from ..submissions.readers import INDICATOR, PROGRESS
from ..submissions.reasons import Issue
from ..submissions.receipts import department_names, write_receipts
from ..warehouse.connection import connect, fetch_dicts
from .inbox import ArchiveDamaged, hash_files

BATCH_FILES = 20_000  # files validated and loaded together (bounded memory, one GX run per kind)


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
    # one receipt per file; the receipts themselves are not kept (~2 KB each: the national bench tier's
    # run grew by 1.6 KB per file loaded while the batch results held them, 2+ GiB for 1.36 M files)
    receipts_written: int = 0
    notices: int = 0  # department notices recorded (pipelines/lib/alerts/departments.py)


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


def verify_archived(settings: Settings, receipts: list[dict]) -> None:
    """Every archived copy the receipts name is there with the content they recorded, else ArchiveDamaged
    (one line). The archive is the record: a copy deleted or edited by hand must not be read as the
    department's file (it was taken for a department's unreadable or wrong file, and `make rebuild`
    silently dropped or changed what had been accepted)."""
    archived = [r for r in receipts if r.get("archive_path") and not r.get("discovery_issue")]
    hashes = hash_files([settings.raw_dir / r["archive_path"] for r in archived])
    bad = [r for r, sha in zip(archived, hashes, strict=True) if sha != r["file_sha256"]]
    if bad:
        named = ", ".join(
            f"{r['archive_path']} ({r['department_code']} '{r['original_name']}')" for r in bad[:3]
        )
        raise ArchiveDamaged(
            f"The raw archive is damaged: {len(bad)} archived file(s) are missing or no longer match the sha256 "
            f"their receipt recorded: {named}{' …' if len(bad) > 3 else ''}. Restore {settings.archive} from its "
            "backup and run again; nothing was loaded"
        )


def process_pending(
    settings: Settings, catalog: Catalog, batch_files: int = BATCH_FILES
) -> list[BatchResult]:
    receipts = pending_receipts(settings)
    verify_archived(settings, receipts)
    results = []
    for start in range(0, len(receipts), batch_files):
        results.append(_process_batch(settings, catalog, receipts[start : start + batch_files]))
    return results


def _process_batch(settings: Settings, catalog: Catalog, receipts: list[dict]) -> BatchResult:
    started = now_local()
    batch_id = started.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 100000}"
    result = BatchResult(batch_id=batch_id, files=len(receipts))
    with connect(settings) as con:  # the soft checks compare with the accepted values already loaded
        checked = check_batch(receipts, catalog, settings.raw_dir, previous=previous_values_from(con))
    result.suite_reports = checked.suite_reports
    result.timings.update(checked.timings)

    t0 = time.perf_counter()
    _load(settings, checked.frames, checked.outcomes, result, started, department_names(catalog))
    result.timings["load"] += time.perf_counter() - t0
    return result


def _where(name: str, issue: Issue) -> tuple[str, str]:
    """Messages travel alone (alerts, e-mails, exports, receipts): they name the file (and sheet)
    themselves, unless the message already quotes the file's name."""
    if issue.sheet:
        return f"文件“{name}”工作表“{issue.sheet}”：", f"File '{name}', sheet '{issue.sheet}': "
    if issue.row is None and name in issue.message_zh:
        return "", ""
    return f"文件“{name}”：", f"File '{name}': "


def messages(name: str, issue: Issue) -> tuple[str, str]:
    """The bilingual message of an issue, naming its file (and sheet)."""
    where_zh, where_en = _where(name, issue)
    return where_zh + issue.message_zh, where_en + issue.message_en


def _load(
    settings: Settings,
    frames: dict,
    outcomes: dict[str, Outcome],
    result: BatchResult,
    started,
    departments: dict[str, tuple[str, str]],
) -> None:
    ledger, quarantine = [], []
    loadable: dict[str, pd.DataFrame] = {}
    rejected_files = {sid for sid, o in outcomes.items() if o.status in ("rejected", "ignored")}
    for kind, frame in frames.items():
        if frame.empty:
            loadable[kind] = frame
            continue
        bad = {row_id for o in outcomes.values() for (k, row_id) in o.rejected_rows if k == kind}
        keep = ~frame["row_id"].isin(bad) & ~frame["submission_id"].isin(rejected_files)
        loadable[kind] = frame[keep]

    for sid, outcome in outcomes.items():
        receipt = outcome.receipt
        # the file-level reason (also why an ignored leftover was ignored) goes into the ledger row
        file_error = next(
            (i for i in outcome.issues if i.is_file_level or i.code == "hidden_or_temporary_file"), None
        )
        file_message = messages(receipt["original_name"], file_error) if file_error else (None, None)
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
                "rows_accepted": outcome.rows_accepted,
                "rows_rejected": outcome.rows_rejected,
                "rows_pending_explanation": outcome.rows_pending_explanation,
                "warnings": sum(1 for i in outcome.issues if i.severity == "warning"),
                "reason_code": file_error.code if file_error else None,
                "message_zh": file_message[0],
                "message_en": file_message[1],
                "validation_batch": result.batch_id,
                "resubmission_of": receipt.get("resubmission_of"),
            }
        )
        result.status_counts[outcome.status] += 1
        for issue in outcome.issues:
            message_zh, message_en = messages(receipt["original_name"], issue)
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
                    "message_zh": message_zh,
                    "message_en": message_en,
                    "detected_at": started,
                    "needs_explanation": issue.needs_explanation,
                    "explanation": issue.extra.get("explanation"),
                }
            )
            if len(result.examples) < 40 and (issue.severity == "error" or issue.needs_explanation):
                result.examples.append(
                    {
                        "kind": "indicator_plausibility"
                        if issue.needs_explanation
                        else issue.extra.get("record_kind"),
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
                        "explanation",
                        "review_state",
                        "review_reasons",
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
            # the receipts are written before the commit: a batch that fails is processed again and
            # its receipts rewritten, so a receipt never describes a file the warehouse does not hold
            receipts = write_receipts(
                settings.output_dir / "receipts", outcomes.values(), started, departments=departments
            )
            result.receipts_written = len(receipts)
            # the department hears of each file it sent (not of migrated history): recorded in the delivery
            # outbox in this transaction, so a batch processed again is not announced twice
            sources = {sid: o.receipt.get("received_at_source", "observed") for sid, o in outcomes.items()}
            result.notices = record_notices(
                con, receipt_notices(receipts, sources, departments), RECEIPT, started
            )
            crash_point("ingest.before_commit")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    result.rows_loaded[INDICATOR] += len(ind)
    result.rows_loaded[PROGRESS] += len(prog)
