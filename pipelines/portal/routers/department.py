"""A department's pages: home (what is owed, what was sent, what is still open), template download,
upload → receipt, explanations. The department is the session's, never the URL's or the form's."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from pipelines.lib.submissions.templates import write_template
from pipelines.lib.submissions.values import parse_period

from ..deps import Department, PortalHTTPError, portal, require_csrf
from ..intake import EXPLANATION_MAX_CHARS, EXPLANATION_MIN_CHARS, TooLarge
from ..middleware import mib, too_large_messages
from ..receipts import find_receipt, upload_view

router = APIRouter()


PAGE_SIZE = 30  # files per page in "What was sent"


def page_of(total: int, page: int, size: int = PAGE_SIZE) -> dict:
    """One page of a list latest first: which rows (offset, limit) and what the page says about them."""
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    first = (page - 1) * size
    return {
        "page": page,
        "pages": pages,
        "total": total,
        "offset": first,
        "limit": size,
        "first": first + 1 if total else 0,
        "last": min(first + size, total),
    }


def department_overview(
    p, department_code: str, base: str, files_page: int = 1, uploads_page: int = 1
) -> dict:
    """What the home page (and the administrators' view of a department, base being its address) shows."""
    p.intake.expire_held(department_code)  # a held upload past the limit is not listed as held
    with p.snapshot.session():
        return _overview(p, department_code, base, files_page, uploads_page)


def _overview(p, department_code: str, base: str, files_page: int, uploads_page: int) -> dict:
    snap = p.snapshot
    open_periods = snap.open_obligations(department_code)
    outstanding = snap.outstanding_items(department_code)
    by_obligation: dict[str, list[dict]] = {}
    for item in outstanding:
        by_obligation.setdefault(item["obligation_id"], []).append(item)
    for row in open_periods:
        row["missing_items"] = by_obligation.get(row["obligation_id"], [])
    uploads_paging = page_of(p.accounts.count_uploads(department_code), uploads_page)
    uploads = p.accounts.uploads(
        department_code, limit=uploads_paging["limit"], offset=uploads_paging["offset"]
    )
    for u in uploads:  # the state the receipt shows (in_inbox / processed ...), not the stored "forwarded"
        u["state"] = upload_view(u, snap)["status"]
    files_paging = page_of(snap.count_submissions(department_code), files_page)
    return {
        "department_code": department_code,
        "pending_values": snap.pending_values(department_code),
        "snapshot": snap.info() if snap.exists else None,
        "open_periods": open_periods,
        "recent_periods": snap.recent_obligations(department_code),
        "held": p.accounts.uploads(department_code, limit=1000, status="needs_explanation"),
        "uploads": uploads,
        "uploads_paging": uploads_paging,
        "submissions": snap.submissions(
            department_code, limit=files_paging["limit"], offset=files_paging["offset"]
        ),
        "files_paging": files_paging,
        "page_base": base,
        "open_rejections": snap.open_rejections(department_code),
        "periods": template_periods(p, department_code),
        "default_period": p.snapshot.default_period(department_code),
        # the home page's explanation form, filled again when it comes back with a problem
        "pending_problem": None,
        "pending_texts": {},
        "pending_bad": set(),
        "explanation_chars": (EXPLANATION_MIN_CHARS, EXPLANATION_MAX_CHARS),
    }


def template_periods(p, department_code: str) -> list[str]:
    """Periods a template can be asked for: those owed (latest first), else the plan's years."""
    periods = p.snapshot.periods(department_code)
    if periods:
        return periods
    region = p.catalog.department_region().get(department_code)
    plans = p.catalog.plans[p.catalog.plans["region_code"] == region]
    return [str(y) for plan in plans.itertuples() for y in range(plan.end_year, plan.start_year - 1, -1)]


@router.get("/home")
def home(request: Request, who: Department, files_page: int = 1, uploads_page: int = 1):
    p = portal(request)
    overview = department_overview(p, who.department_code, "/home", files_page, uploads_page)
    return p.render(request, "home.html", **overview)


@router.get("/template")
def template(request: Request, who: Department, period: str = ""):
    p = portal(request)
    parsed = parse_period(period.strip()).value if period.strip() else None
    region = p.catalog.department_region().get(who.department_code)
    plans = p.catalog.plans[p.catalog.plans["region_code"] == region]
    # a plan's years, and the five after it (overrunning projects keep reporting)
    if parsed is None or not any(
        plan.start_year <= parsed.year <= plan.end_year + 5 for plan in plans.itertuples()
    ):
        raise PortalHTTPError(
            400,
            "统计期格式不对或不在规划期内。年度填“2025”，季度填“2026Q1”。",
            "The period is malformed or outside the plan. Use 2025 for a year or 2026Q1 for a quarter.",
        )
    with tempfile.TemporaryDirectory(prefix="planwh-template-") as tmp:
        # what the department owes and the reference values come from the published snapshot (none yet:
        # the catalog's items)
        with p.snapshot.connect() as con:
            path = write_template(p.catalog, who.department_code, parsed.label, Path(tmp), con=con)
        data = path.read_bytes()
        name = path.name
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "content-disposition": f'attachment; filename="template_{parsed.label}.xlsx"; '
            f"filename*=UTF-8''{quote(name)}"
        },
    )


@router.get("/upload")
def upload_form(request: Request, who: Department):
    p = portal(request)
    return p.render(
        request,
        "upload.html",
        max_size=mib(p.config.max_upload_bytes),
        periods=template_periods(p, who.department_code),
    )


@router.post("/upload", dependencies=[Depends(require_csrf)])
def upload(request: Request, who: Department, file: Annotated[UploadFile | None, File()] = None):
    p = portal(request)
    if file is None or not file.filename:
        raise PortalHTTPError(400, "请选择要上传的文件。", "Choose a file to upload.")
    try:
        record = p.intake.receive(who, file.filename, file.file)
    except TooLarge:
        raise PortalHTTPError(413, *too_large_messages(p.config.max_upload_bytes)) from None
    return RedirectResponse(f"/submissions/{record['upload_id']}", status_code=303)


@router.get("/submissions/{submission_id}")
def receipt(request: Request, who: Department, submission_id: str):
    p = portal(request)
    found = find_receipt(submission_id, who.department_code, p.intake, p.snapshot)
    if found is None:
        raise PortalHTTPError(404, "没有这份报送，或不属于本部门。", "No such submission in your department.")
    return p.render(request, "receipt.html", receipt=found, admin_view=False, problems=None, texts={})


@router.get("/submissions/{submission_id}/receipt.json")
def receipt_json(request: Request, who: Department, submission_id: str):
    p = portal(request)
    found = find_receipt(submission_id, who.department_code, p.intake, p.snapshot)
    if found is None:
        raise PortalHTTPError(404, "没有这份报送，或不属于本部门。", "No such submission in your department.")
    from fastapi.responses import JSONResponse

    return JSONResponse(
        found,
        headers={"content-disposition": f'attachment; filename="receipt_{submission_id}.json"'},
    )


_ISSUE_FIELD = re.compile(r"explanation_([0-9]{1,6})")  # ASCII digits only ("²".isdigit() is True)


def _explanation_fields(form) -> dict[int, str]:
    """The explanations a receipt form sends, by issue index; a field the page never writes is refused."""
    texts: dict[int, str] = {}
    for key, value in form.items():
        if not key.startswith("explanation_"):
            continue
        match = _ISSUE_FIELD.fullmatch(key)
        if match is None or not isinstance(value, str):
            raise PortalHTTPError(
                400,
                "说明栏的名称无效（应为回执页上的说明栏）。请回到回执页重新填写并提交。",
                "An explanation field is not valid (it must be one of the receipt page's explanation "
                "fields). Go back to the receipt page and submit the form again.",
            )
        texts[int(match.group(1))] = value
    return texts


@router.post("/submissions/{submission_id}/explanations", dependencies=[Depends(require_csrf)])
async def explain(request: Request, who: Department, submission_id: str):
    p = portal(request)
    form = await request.form()
    texts = _explanation_fields(form)
    from starlette.concurrency import run_in_threadpool

    from ..intake import IntakeError

    try:
        await run_in_threadpool(p.intake.explain, who, submission_id, texts)
    except IntakeError as exc:
        if exc.status != 422:
            raise
        found = find_receipt(submission_id, who.department_code, p.intake, p.snapshot)
        return p.render(
            request,
            "receipt.html",
            status_code=422,
            receipt=found,
            admin_view=False,
            problems=(exc.zh, exc.en),
            texts={str(k): v for k, v in texts.items()},
        )
    return RedirectResponse(f"/submissions/{submission_id}", status_code=303)


@router.post("/submissions/{submission_id}/cancel", dependencies=[Depends(require_csrf)])
def cancel(request: Request, who: Department, submission_id: str):
    portal(request).intake.cancel(who, submission_id)
    return RedirectResponse(f"/submissions/{submission_id}", status_code=303)


@router.post("/warnings/explanations", dependencies=[Depends(require_csrf)])
async def explain_pending(request: Request, who: Department):
    """Explain values already loaded as pending_explanation (by any route) from the home page."""
    from starlette.concurrency import run_in_threadpool

    from ..intake import IntakeError

    p = portal(request)
    form = await request.form()
    texts = {k.removeprefix("explain__"): str(v) for k, v in form.items() if k.startswith("explain__")}
    try:
        record = await run_in_threadpool(p.intake.explain_pending, who, texts)
    except IntakeError as exc:
        if exc.status != 422:
            raise
        # the home page again, the message beside the fields and what was typed kept (as the receipt does)
        overview = await run_in_threadpool(department_overview, p, who.department_code, "/home")
        bad = set(exc.detail.get("problems") or []) or set(texts)  # nothing usable typed: every field
        return p.render(
            request,
            "home.html",
            status_code=422,
            **{**overview, "pending_problem": (exc.zh, exc.en), "pending_texts": texts, "pending_bad": bad},
        )
    return RedirectResponse(f"/submissions/{record['upload_id']}", status_code=303)
