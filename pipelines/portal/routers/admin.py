"""The planning office's pages: every department's compliance for a period, open rejections, receipts,
accounts; the only thing an administrator can change is a department account's password."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ..deps import Admin, PortalHTTPError, portal, require_csrf
from ..receipts import find_receipt
from ..security import generate_password
from .department import department_overview

router = APIRouter(prefix="/admin")


@router.get("")
def overview(request: Request, admin: Admin, period: str = ""):
    p = portal(request)
    p.intake.expire_held()
    with p.snapshot.session():
        return _overview(request, p, period)


def _overview(request: Request, p, period: str):
    periods = p.snapshot.periods()
    chosen = period if period in periods else (p.snapshot.default_period() or (periods[0] if periods else ""))
    rows = p.snapshot.compliance_for_period(chosen) if chosen else []
    rejections = p.snapshot.open_rejections(None)
    open_by_department: dict[str, int] = {}
    for r in rejections:
        open_by_department[r["department_code"]] = open_by_department.get(r["department_code"], 0) + 1
    held = p.accounts.uploads(None, limit=200, status="needs_explanation")
    return p.render(
        request,
        "admin.html",
        periods=periods,
        period=chosen,
        rows=rows,
        rejections=rejections[:200],
        open_by_department=open_by_department,
        held=held,
        snapshot=p.snapshot.info() if p.snapshot.exists else None,
    )


@router.get("/departments/{department_code}")
def department(
    request: Request, admin: Admin, department_code: str, files_page: int = 1, uploads_page: int = 1
):
    p = portal(request)
    if department_code not in p.departments:
        raise PortalHTTPError(404, "没有这个部门。", "No such department.")
    base = f"/admin/departments/{department_code}"
    overview = department_overview(p, department_code, base, files_page, uploads_page)
    return p.render(request, "admin_department.html", **overview)


@router.get("/submissions/{submission_id}")
def receipt(request: Request, admin: Admin, submission_id: str):
    p = portal(request)
    found = find_receipt(submission_id, None, p.intake, p.snapshot)
    if found is None:
        raise PortalHTTPError(404, "没有这份报送。", "No such submission.")
    return p.render(request, "receipt.html", receipt=found, admin_view=True, problems=None, texts={})


@router.get("/users")
def users(request: Request, admin: Admin):
    p = portal(request)
    return p.render(request, "admin_users.html", accounts=p.accounts.users(), reset=None)


@router.post("/users/{user_id}/reset-password", dependencies=[Depends(require_csrf)])
def reset_password(request: Request, admin: Admin, user_id: int):
    p = portal(request)
    target = p.accounts.user(user_id)
    if target is None or target.role != "department":
        raise PortalHTTPError(
            404,
            "没有这个部门账号（管理员账号的密码只能用命令行重置）。",
            "No such department account (administrators' passwords are reset on the command line).",
        )
    password = generate_password()
    p.accounts.set_password(target.id, password, must_change=True)
    p.accounts.audit(f"user:{admin.username}", "reset_password", {"account": target.username})
    return p.render(
        request,
        "admin_users.html",
        accounts=p.accounts.users(),
        reset={"username": target.username, "password": password},
    )


@router.get("/audit")
def audit(request: Request, admin: Admin):
    p = portal(request)
    return p.render(request, "admin_audit.html", entries=p.accounts.audit_log(300))
