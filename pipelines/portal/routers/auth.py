"""Log in (throttled), log out, change one's own password."""

from __future__ import annotations

import re
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from ..accounts import User, login_key
from ..deps import LOGIN_REASONS, CurrentUser, PortalHTTPError, portal, require_csrf, session_user
from ..security import password_problems, verify_password

router = APIRouter()


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no scheme, no //host, no backslashes)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if re.search(r"[\x00-\x1f]", value):
        return "/"
    return value


def _home_for(user: User) -> str:
    return "/admin" if user.is_admin else "/home"


@router.get("/")
def root(request: Request):
    user = session_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(_home_for(user), status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = "/", reason: str = ""):
    notice = LOGIN_REASONS.get(reason)  # a fixed text, never the parameter itself
    return portal(request).render(request, "login.html", next=_safe_next(next), error=None, notice=notice)


@router.post("/login", dependencies=[Depends(require_csrf)])
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
):
    p = portal(request)
    cfg = p.config
    username = username.strip()[:64]
    user_key = login_key(username)
    ip_key = f"ip:{request.client.host if request.client else 'unknown'}"
    n_user, until_user = p.accounts.failures(user_key, cfg.login_window_seconds)
    n_ip, until_ip = p.accounts.failures(ip_key, cfg.login_window_seconds)
    if n_user >= cfg.login_max_failures or n_ip >= 4 * cfg.login_max_failures:
        until = max(t for t in (until_user, until_ip) if t)
        wait = max(1, int(until - time.time()))
        p.accounts.audit(f"user:{username}", "login_throttled", {"ip": ip_key[3:]})
        raise PortalHTTPError(
            429,
            f"登录失败次数过多，请 {wait // 60 + 1} 分钟后再试；如忘记密码，请联系管理员重置。",
            f"Too many failed logins. Try again in {wait // 60 + 1} minutes; if you forgot the password, "
            "ask an administrator to reset it.",
            headers={"Retry-After": str(wait)},
        )
    user = p.accounts.user_by_name(username) if username else None
    ok, rehash = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        p.accounts.record_failure(user_key, ip_key)
        p.accounts.audit(f"user:{username}", "login_failed", {"ip": ip_key[3:]})
        return p.render(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next),
            error=("用户名或密码不正确。", "Wrong user name or password."),
        )
    if rehash:
        p.accounts.rehash(user.id, password)
    p.accounts.clear_failures(user_key)
    # a new session and a new CSRF token at every login (no session fixation)
    request.session.clear()
    request.session["sid"] = p.accounts.create_session(user.id)
    request.session.pop("csrf", None)
    p.accounts.audit(f"user:{user.username}", "login", {"ip": ip_key[3:]})
    target = "/account/password" if user.must_change_password else _safe_next(next)
    if target == "/":
        target = _home_for(user)
    return RedirectResponse(target, status_code=303)


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request):
    sid = request.session.get("sid")
    if sid:
        portal(request).accounts.end_session(sid)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password")
def password_form(request: Request, user: CurrentUser):
    return portal(request).render(request, "password.html", user=user, problems=[], done=False)


@router.post("/account/password", dependencies=[Depends(require_csrf)])
def change_password(
    request: Request,
    user: CurrentUser,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
):
    p = portal(request)
    ok, _ = verify_password(user.password_hash, current)
    problems = [] if ok else [("当前密码不正确。", "The current password is wrong.")]
    if new != confirm:
        problems.append(("两次输入的新密码不一致。", "The two new passwords differ."))
    if new == current:
        problems.append(("新密码不能与当前密码相同。", "The new password must differ from the current one."))
    problems += password_problems(new, user.username)
    if problems:
        return p.render(request, "password.html", status_code=400, user=user, problems=problems, done=False)
    p.accounts.set_password(user.id, new, must_change=False)  # ends every session of the account
    p.accounts.audit(f"user:{user.username}", "password_changed")
    request.session.clear()
    request.session["sid"] = p.accounts.create_session(user.id)
    fresh = p.accounts.user(user.id)
    return p.render(request, "password.html", user=fresh, problems=[], done=True)
