"""Who is asking: the dependencies every route declares (FastAPI's "bigger applications" pattern).

The department always comes from the session or the API token, never from the URL or the form.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request

from .accounts import User
from .intake import Principal
from .security import same


class LoginRequired(Exception):
    """To the login page; reason (a key of LOGIN_REASONS) says why, when the session had ended."""

    def __init__(self, next_path: str = "/", reason: str | None = None):
        self.next_path = next_path
        self.reason = reason


# what the login page says when a session ended under the clerk (only these fixed texts are shown)
LOGIN_REASONS = {
    "expired": (
        "登录已过期（闲置过久或登录时间已满），请重新登录。",
        "Your session expired (idle too long, or logged in too long). Log in again.",
    ),
    "expired_upload": (
        "登录已过期，上传的文件没有收到。请重新登录，再上传一次该文件。",
        "Your session expired, so the file was not received. Log in and upload the file again.",
    ),
    "expired_form": (
        "登录已过期，刚才提交的内容没有保存。请重新登录后再提交一次。",
        "Your session expired, so what you submitted was not saved. Log in and submit it again.",
    ),
}


class PasswordChangeRequired(Exception):
    pass


class PortalHTTPError(Exception):
    """An error page (web) or JSON error (API) with a bilingual message and no internals."""

    def __init__(
        self, status: int, zh: str, en: str, headers: dict | None = None, detail: dict | None = None
    ):
        super().__init__(en)
        self.status, self.zh, self.en, self.headers, self.detail = status, zh, en, headers, detail


def portal(request: Request):
    return request.app.state.portal


# ---------------------------------------------------------------------------------- web sessions


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created with the session cookie, rotated at login)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def session_user(request: Request) -> User | None:
    sid = request.session.get("sid")
    if not sid:
        return None
    p = portal(request)
    return p.accounts.session_user(sid, p.config.session_idle_seconds, p.config.session_max_seconds)


def require_user(request: Request) -> User:
    user = session_user(request)
    if user is None:
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        reason = None
        if request.session.get("sid"):  # there was a session and it has ended: say so on the login page
            posted = request.method != "GET"
            reason = (
                ("expired_upload" if request.url.path == "/upload" else "expired_form")
                if posted
                else "expired"
            )
        if request.method != "GET":
            nxt = "/upload" if request.url.path == "/upload" else "/"
        raise LoginRequired(nxt, reason)
    if user.must_change_password and request.url.path not in ("/account/password", "/logout"):
        raise PasswordChangeRequired()
    return user


def require_department(user: Annotated[User, Depends(require_user)]) -> Principal:
    if user.role != "department" or not user.department_code:
        raise PortalHTTPError(
            403,
            "此页面供报送部门使用；管理员请使用“管理”页面。",
            "This page is for reporting departments; administrators use the Admin pages.",
        )
    return Principal(department_code=user.department_code, actor=f"user:{user.username}")


def require_admin(user: Annotated[User, Depends(require_user)]) -> User:
    if not user.is_admin:
        raise PortalHTTPError(403, "需要管理员权限。", "Administrators only.")
    return user


async def require_csrf(request: Request) -> None:
    """Every form carries the session's token; a cross-site Origin is refused outright."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        expected = f"{request.url.scheme}://{request.url.netloc}"
        forwarded = request.headers.get("x-forwarded-proto")
        candidates = {expected}
        if forwarded:
            candidates.add(f"{forwarded}://{request.url.netloc}")
        if origin not in candidates:
            raise PortalHTTPError(403, "跨站请求被拒绝。", "Cross-site request refused.")
    form = await request.form()
    if not same(form.get("csrf_token"), request.session.get("csrf")):
        raise PortalHTTPError(
            403,
            "页面已过期或请求无效（CSRF 校验失败），请返回重新操作。",
            "The page expired or the request is not valid (CSRF check failed). Go back and try again.",
        )


# ---------------------------------------------------------------------------------- API tokens


def api_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PortalHTTPError(
            401,
            "缺少访问令牌（Authorization: Bearer …）。",
            "Missing access token (Authorization: Bearer …).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = portal(request).accounts.token_department(token.strip())
    if found is None:
        raise PortalHTTPError(
            401,
            "访问令牌无效或已撤销。",
            "The access token is not valid or was revoked.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    department_code, token_id = found
    return Principal(department_code=department_code, actor=f"token:{token_id}")


# what routes declare
CurrentUser = Annotated[User, Depends(require_user)]
Department = Annotated[Principal, Depends(require_department)]
Admin = Annotated[User, Depends(require_admin)]
ApiDepartment = Annotated[Principal, Depends(api_principal)]
