"""Two small ASGI middlewares: a cap on request bodies (413 before the body is read) and security headers."""

from __future__ import annotations

import json


def mib(n_bytes: int) -> str:
    """A size as docs/portal.md states the cap: 20 MiB, 0.25 MiB."""
    return f"{n_bytes / 1048576:.2f}".rstrip("0").rstrip(".") + " MiB"


def too_large_messages(limit_bytes: int) -> tuple[str, str]:
    """What a refused upload is told, by the middleware and by the routes alike (the file's cap)."""
    return (
        f"文件超过大小上限（{mib(limit_bytes)}）。请拆分或删除无关内容后重新上传。",
        f"The file is above the size limit ({mib(limit_bytes)}). Split it or remove unrelated content "
        "and upload again.",
    )


class _TooLarge(Exception):
    pass


class BodyLimit:
    """limit: the largest body taken (the file's cap plus room for the form around it); the messages
    state the file's cap (stated), and a page is drawn by html(zh, en) in the portal's own style."""

    def __init__(self, app, limit: int, stated: int | None = None, html=None):
        self.app = app
        self.limit = limit
        self.stated = stated if stated is not None else limit
        self.html = html

    async def _reject(self, scope, send) -> None:
        api = scope["path"].startswith("/api/")
        zh, en = too_large_messages(self.stated)
        if api:
            error = {"status": 413, "message_zh": zh, "message_en": en}
            body = json.dumps({"error": error}, ensure_ascii=False).encode()
        elif self.html is not None:
            body = self.html(zh, en).encode()
        else:
            body = f"<!doctype html><meta charset=utf-8><title>413</title><p>{zh}</p><p>{en}</p>".encode()
        ctype = b"application/json" if api else b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", ctype),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.limit
            except ValueError:
                too_big = True
            if too_big:
                return await self._reject(scope, send)
        state = {"received": 0, "exceeded": False, "started": False}

        async def limited_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.limit:
                    state["exceeded"] = True
                    raise _TooLarge()
            return message

        async def guarded_send(message):
            if state["exceeded"]:
                return  # whatever the app answers to a cut-off body, the client gets 413
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            pass
        except Exception:
            if not state["exceeded"]:
                raise
        if state["exceeded"] and not state["started"]:
            await self._reject(scope, send)


class SecurityHeaders:
    """No scripts at all (the portal is plain HTML), no framing, no caching of department data."""

    CSP = (
        "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )

    def __init__(self, app, hsts: bool = False):
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {k.lower() for k, _ in headers}
                extra = [
                    (b"content-security-policy", self.CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if not scope["path"].startswith("/static/"):
                    extra.append((b"cache-control", b"no-store"))
                if self.hsts:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
