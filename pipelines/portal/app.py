"""The FastAPI application: middleware (signed expiring sessions, body cap, security headers), one
router per area, error pages without internals, and the validation core warmed at start-up."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.submissions.reasons import DISPLAY

from .accounts import Accounts
from .config import PortalConfig, load_config
from .deps import LoginRequired, PasswordChangeRequired, PortalHTTPError, csrf_token
from .intake import Intake, IntakeError
from .labels import AUDIT_ACTIONS, LABELS
from .middleware import BodyLimit, SecurityHeaders
from .snapshot import Snapshot

HERE = Path(__file__).parent
log = logging.getLogger("planwh.portal")


# what the error page of a refused upload says above the message and where it leads back to
UPLOAD_TOO_LARGE = {
    "heading": ("文件过大", "File too large"),
    "back": ("/upload", "返回上传页面", "Back to the upload form"),
}


class Portal:
    """Everything a request needs, built once per process."""

    def __init__(self, config: PortalConfig):
        self.config = config
        self.accounts = Accounts(config.accounts_db).init()
        self.catalog = Catalog.load(config.settings.seeds_dir)
        self.snapshot = Snapshot(config.settings.published_warehouse, config.settings.inbox_quiet_seconds)
        self.intake = Intake(config, self.accounts, self.catalog, self.snapshot)
        self.departments = {
            r.department_code: (r.name_zh, r.name_en) for r in self.catalog.departments.itertuples()
        }
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        env = self.templates.env
        env.globals["label_zh"] = lambda code: LABELS.get(code, (code, code))[0] if code else ""
        env.globals["label_en"] = lambda code: LABELS.get(code, (code, code))[1] if code else ""
        env.globals["audit_action"] = lambda code: AUDIT_ACTIONS.get(code, (code, code))
        env.globals["department_name"] = lambda code: self.departments.get(code, (code, code))
        env.filters["when"] = _when
        env.globals["notice_reasons"] = ("value_left_blank", "duplicate_row")
        env.globals["column_label"] = lambda c: "、".join(
            DISPLAY.get(x, x) for x in (c or "").split(",") if x
        )

    def too_large_page(self, zh: str, en: str) -> str:
        """The 413 page the body cap answers with before any session is read (so no user in it)."""
        return self.templates.env.get_template("error.html").render(
            user=None,
            show_help=True,
            csrf_token="",
            status=413,
            message_zh=zh,
            message_en=en,
            **UPLOAD_TOO_LARGE,
        )

    def render(self, request: Request, name: str, status_code: int = 200, **context) -> Response:
        from .deps import session_user

        context.setdefault("user", session_user(request) if "sid" in request.session else None)
        context["csrf_token"] = csrf_token(request)
        context["request"] = request
        return self.templates.TemplateResponse(request, name, context, status_code=status_code)


def _when(value) -> str:
    if value is None or value == "":
        return "—"
    text = str(value)
    return text.replace("T", " ")[:16] if len(text) > 10 else text


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(config: PortalConfig | None = None, warm: bool = True) -> FastAPI:
    config = config or load_config()
    portal = Portal(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm:
            seconds = portal.intake.warm_up()
            log.info("validation core warm in %.1f s", seconds)
        portal.accounts.purge_sessions(config.session_max_seconds)
        portal.intake.expire_held()
        yield

    app = FastAPI(
        title="planwh reporting portal",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.portal = portal

    from .routers import admin, api, auth, department, rules

    app.include_router(auth.router)
    app.include_router(department.router)
    app.include_router(admin.router)
    app.include_router(api.router)
    app.include_router(rules.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # outermost last: the body cap runs before anything reads the body
    app.add_middleware(
        SessionMiddleware,
        secret_key=config.secret_key,
        session_cookie="planwh_portal",
        max_age=config.session_max_seconds,
        same_site="lax",
        https_only=config.https_only,
    )
    app.add_middleware(SecurityHeaders, hsts=config.https_only)
    app.add_middleware(
        BodyLimit,
        limit=config.max_upload_bytes + 256 * 1024,  # room for the multipart form around the file
        stated=config.max_upload_bytes,
        html=portal.too_large_page,
    )

    def error(request: Request, status: int, zh: str, en: str, headers=None, detail=None) -> Response:
        if _is_api(request):
            body = {"error": {"status": status, "message_zh": zh, "message_en": en}}
            if detail:
                body["error"]["detail"] = detail
            return JSONResponse(body, status_code=status, headers=headers)
        page = UPLOAD_TOO_LARGE if status == 413 else {}
        response = portal.render(
            request, "error.html", status_code=status, status=status, message_zh=zh, message_en=en, **page
        )
        response.headers.update(headers or {})
        return response

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired):
        reason = f"&reason={exc.reason}" if exc.reason else ""
        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}{reason}", status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def _change(request: Request, exc: PasswordChangeRequired):
        return RedirectResponse("/account/password", status_code=303)

    @app.exception_handler(PortalHTTPError)
    async def _portal_error(request: Request, exc: PortalHTTPError):
        return error(request, exc.status, exc.zh, exc.en, exc.headers, exc.detail)

    @app.exception_handler(IntakeError)
    async def _intake_error(request: Request, exc: IntakeError):
        return error(request, exc.status, exc.zh, exc.en, detail=exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            return error(
                request, 404, "页面不存在，或不属于本部门。", "Not found (or not your department's)."
            )
        if exc.status_code == 405:
            return error(request, 405, "不支持此请求方法。", "Method not allowed.")
        return error(request, exc.status_code, "请求无法处理。", "The request cannot be processed.")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()})
        return error(
            request,
            422,
            "请求内容不完整或格式不对：" + "、".join(fields),
            "The request is incomplete or malformed: " + ", ".join(fields),
            detail={"fields": fields},
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.exception("portal error on %s %s", request.method, request.url.path)
        return error(
            request,
            500,
            "系统内部错误，已记录。请稍后重试；如仍失败，请联系区发展和改革局数据组。",
            "Internal error (logged). Try again later; if it persists, contact the planning office's data team.",
        )

    return app
