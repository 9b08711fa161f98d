"""JSON API for departments' scripts: a bearer token per department (planwh users token …)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, File, Request, UploadFile

from pipelines.lib.settings import to_the_second
from pipelines.lib.submissions.values import parse_period

from ..deps import ApiDepartment, PortalHTTPError, portal
from ..intake import TooLarge
from ..middleware import too_large_messages
from ..receipts import find_receipt, upload_view

router = APIRouter(prefix="/api/v1")

NOT_FOUND = ("没有这份报送，或不属于本部门。", "No such submission in your department.")


@router.post("/submissions")
def submit(request: Request, who: ApiDepartment, file: Annotated[UploadFile | None, File()] = None):
    p = portal(request)
    if file is None:
        raise PortalHTTPError(
            422, "缺少文件（multipart 字段 file）。", "Missing the file (multipart field 'file')."
        )
    try:
        record = p.intake.receive(who, file.filename, file.file)
    except TooLarge:
        raise PortalHTTPError(413, *too_large_messages(p.config.max_upload_bytes)) from None
    return upload_view(record, p.snapshot)


@router.get("/submissions")
def submissions(request: Request, who: ApiDepartment):
    p = portal(request)
    p.intake.expire_held(who.department_code)
    uploads = [upload_view(u, p.snapshot) for u in p.accounts.uploads(who.department_code, limit=100)]
    ledger = [
        {
            "submission_id": r["submission_id"],
            "original_name": r["original_name"],
            "received_at": to_the_second(r["received_at"]),
            "verdict": r["status"],
            "rows_accepted": r["rows_accepted"],
            "rows_rejected": r["rows_rejected"],
        }
        for r in p.snapshot.submissions(who.department_code, limit=100)
    ]
    return {"department_code": who.department_code, "uploads": uploads, "processed": ledger}


@router.get("/submissions/{submission_id}")
def submission(request: Request, who: ApiDepartment, submission_id: str):
    p = portal(request)
    found = find_receipt(submission_id, who.department_code, p.intake, p.snapshot)
    if found is None:
        raise PortalHTTPError(404, *NOT_FOUND)
    return found


@router.post("/submissions/{submission_id}/explanations")
def explanations(request: Request, who: ApiDepartment, submission_id: str, payload: Annotated[dict, Body()]):
    p = portal(request)
    items = payload.get("explanations") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("issue_index"), int) and isinstance(i.get("text"), str)
        for i in items
    ):
        raise PortalHTTPError(
            422,
            '请求体应为 {"explanations": [{"issue_index": 整数, "text": "说明"}]}。',
            'The body must be {"explanations": [{"issue_index": int, "text": "..."}]}.',
        )
    texts = {i["issue_index"]: i["text"] for i in items}
    record = p.intake.explain(who, submission_id, texts)
    return upload_view(record, p.snapshot)


@router.post("/submissions/{submission_id}/cancel")
def cancel(request: Request, who: ApiDepartment, submission_id: str):
    p = portal(request)
    return upload_view(p.intake.cancel(who, submission_id), p.snapshot)


@router.get("/obligations")
def obligations(request: Request, who: ApiDepartment, period: str | None = None):
    p = portal(request)
    if period is not None and parse_period(period).value is None:
        raise PortalHTTPError(
            422,
            "统计期格式不对：年度填“2025”，季度填“2026Q1”。",
            "Malformed period: use 2025 for a year or 2026Q1 for a quarter.",
        )
    label = parse_period(period).value.label if period else None
    rows = p.snapshot.obligations(who.department_code, label) if label else None
    if rows is None:
        rows = p.snapshot.obligations(who.department_code, None)
        rows = [r for r in rows if r["compliance_status"] in ("not_due", "incomplete", "missing")]
    info = p.snapshot.info() if p.snapshot.exists else {}
    return {
        "department_code": who.department_code,
        "period": label,
        "published_at": info.get("published_at"),
        "as_of": info.get("as_of"),
        "obligations": [
            {
                "submission_kind": r["submission_kind"],
                "period": r["period"],
                "due_date": str(r["due_date"])[:10],
                "status": r["compliance_status"],
                "items_owned": r["items_owned"],
                "items_delivered": r["items_delivered"],
                "items_missing": r["items_missing"],
                "items": [
                    {
                        "item_code": i["item_code"],
                        "item_kind": i["item_kind"],
                        "name_zh": i["item_name_zh"],
                        "name_en": i["item_name_en"],
                        "status": i["item_status"],
                        "delivered_at": None if i["delivered_at"] is None else str(i["delivered_at"]),
                    }
                    for i in r["items"]
                ],
            }
            for r in rows
        ],
    }
