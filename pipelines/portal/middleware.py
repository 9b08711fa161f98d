"""Two small ASGI middlewares: a cap on request bodies (413 before the body is read) and security headers."""

from __future__ import annotations

import json

HTML_413 = (
    "<!doctype html><meta charset=utf-8><title>413</title><h1>文件过大 File too large</h1>"
    "<p>上传的文件超过大小上限，请拆分或删除无关内容后重新上传。</p>"
    "<p>The upload is above the size limit. Split it or remove unrelated content and upload again.</p>"
)


class _TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def _reject(self, scope, send) -> None:
        api = scope["path"].startswith("/api/")
        body = (
            json.dumps(
                {
                    "error": {
                        "status": 413,
                        "message_zh": f"上传内容超过大小上限（{self.limit} 字节）。",
                        "message_en": f"The upload is above the size limit ({self.limit} bytes).",
                    }
                },
                ensure_ascii=False,
            ).encode()
            if api
            else HTML_413.encode()
        )
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
