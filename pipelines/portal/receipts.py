"""Receipts as the portal shows them: for an upload (from the validation core, before the inbox) and
for any processed file (from the published ledger), in one shape (the pipeline's receipt contract)."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.lib.settings import to_the_second
from pipelines.lib.submissions.reasons import REASONS
from pipelines.lib.submissions.receipts import receipt_paths

from .intake import valid_upload_id, written_at
from .snapshot import Snapshot


def receipt_from_ledger(row: dict) -> dict:
    """The receipt of a processed file, as the published ledger and issues record it."""
    issues = [
        {
            "severity": issue["severity"],
            "reason": issue["reason_code"],
            "needs_explanation": bool(getattr(REASONS.get(issue["reason_code"]), "needs_explanation", False)),
            "sheet": issue["sheet_name"],
            "row": issue["source_row"],
            "column": issue["column_name"],
            "value": issue["offending_value"],
            "message_zh": issue["message_zh"],
            "message_en": issue["message_en"],
        }
        for issue in row["issues"]
    ]
    return {
        "submission_id": row["submission_id"],
        "department_code": row["department_code"],
        "original_name": row["original_name"],
        "received_at": to_the_second(row["received_at"]),
        "processed_at": to_the_second(row["processed_at"]),
        "verdict": row["status"],
        "rows_accepted": row["rows_accepted"],
        "rows_rejected": row["rows_rejected"],
        "rows_pending_explanation": row.get("rows_pending_explanation", 0) or 0,
        "issues": issues,
    }


def upload_view(upload: dict, snapshot: Snapshot) -> dict:
    """An upload's receipt with where it stands: held, refused, or in the inbox and (once a refresh has
    run) what the pipeline recorded for each file it became."""
    receipt = dict(upload["receipt"])
    receipt["submission_id"] = upload["upload_id"]
    files = []
    for item in upload.get("forwarded") or []:
        ledger, same = snapshot.forwarded_file(
            upload["department_code"], item["name"], item["sha256"], written_at(item)
        )
        files.append(
            {
                **item,
                "submission_id": ledger["submission_id"] if ledger else item["submission_id"],
                "same_content_as": ledger["submission_id"] if same else None,
                "processed": ledger is not None,
                "pipeline_verdict": ledger["status"] if ledger else None,
                "pipeline_rows_pending_explanation": (ledger.get("rows_pending_explanation") or 0)
                if ledger
                else None,
                "processed_at": to_the_second(ledger["processed_at"]) if ledger else None,
            }
        )
    # the pipeline's own verdict on what was sent, where it is worse than the portal's (it checks against
    # what it has loaded by then): the receipt says so rather than "accepted"
    own = [f for f in files if f["processed"] and not f["same_content_as"]]
    disagree = [f for f in own if f["pipeline_verdict"] in ("needs_explanation", "rejected")]
    pipeline = None
    if disagree:
        worst = (
            "rejected" if any(f["pipeline_verdict"] == "rejected" for f in disagree) else "needs_explanation"
        )
        pipeline = {
            "verdict": worst,
            "submission_ids": [f["submission_id"] for f in disagree],
            "rows_pending_explanation": sum(
                f.get("pipeline_rows_pending_explanation") or 0 for f in disagree
            ),
        }
    state = upload["status"]
    if state == "forwarded":
        state = "processed" if files and all(f["processed"] for f in files) else "in_inbox"
        if not files:
            state = "nothing_to_forward"
    return {
        **receipt,
        "status": state,
        "received_at": upload["received_at"],
        "forwarded": files,
        "explanations": upload.get("explanations") or {},
        "pipeline_differs": pipeline,
    }


def pipeline_receipt(receipts_dir: Path, department_code: str, submission_id: str) -> dict | None:
    """The receipt the pipeline wrote when it processed the file (<output>/receipts/<department>/)."""
    json_path, _ = receipt_paths(receipts_dir, department_code, submission_id)
    try:
        receipt = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = receipt.get("department_code") == department_code and receipt.get("submission_id") == submission_id
    return receipt if ok else None


def find_receipt(submission_id: str, department_code: str | None, intake, snapshot: Snapshot) -> dict | None:
    """An upload id or a pipeline submission id, of the caller's department only (None for admins).
    A processed file shows the receipt the pipeline wrote for it, else one built from the ledger."""
    if valid_upload_id(submission_id):
        upload = intake.get(department_code, submission_id)
        if upload is None:
            return None
        with snapshot.session():
            return {"kind": "upload", **upload_view(upload, snapshot)}
    row = snapshot.submission(submission_id, department_code)
    if row is None:
        return None
    receipts_dir = intake.config.settings.output_dir / "receipts"
    written = pipeline_receipt(receipts_dir, row["department_code"], submission_id)
    return {"kind": "ledger", **(written or receipt_from_ledger(row)), "status": "processed"}
