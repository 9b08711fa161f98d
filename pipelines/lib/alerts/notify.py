"""Deliver alert events (opened, changed, resolved, reopened) through pluggable notifiers.

- file: JSON lines appended to <output>/alerts/notifications.jsonl (always on).
- webhook: one JSON POST per run to PLANWH_WEBHOOK_URL; PLANWH_WEBHOOK_FORMAT = generic | dingtalk |
  wecom. The URL is a secret: it is read from the environment only and never logged or stored.

A delivery failure never fails the refresh: the event stays undelivered for that channel and is
retried on the next run (up to MAX_ATTEMPTS).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb

from ..settings import now_local

WEBHOOK_FORMATS = ("generic", "dingtalk", "wecom")

MAX_ATTEMPTS = 20
EVENT_WORDS = {
    "opened": ("新增预警", "opened"),
    "changed": ("预警更新", "changed"),
    "resolved": ("预警解除", "resolved"),
    "reopened": ("预警再次出现", "reopened"),
}


class Notifier(Protocol):
    channel: str

    def send(self, events: list[dict]) -> None:
        """Deliver all events or raise."""


@dataclass
class FileNotifier:
    path: Path
    channel: str = "file"

    def send(self, events: list[dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            for event in events:
                fh.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")


@dataclass
class WebhookNotifier:
    url: str
    fmt: str = "generic"
    timeout: float = 10.0
    channel: str = "webhook"

    def __repr__(self) -> str:  # never show the secret URL
        return f"WebhookNotifier(format={self.fmt!r})"

    def payload(self, events: list[dict]) -> dict:
        lines = [
            f"- [{EVENT_WORDS[e['event']][0]} {e['event']}] {e.get('plan_id') or ''} {e['severity'] or ''} {e['title_zh'] or ''} / "
            f"{e['title_en'] or ''}: {e['detail_zh'] or ''} / {e['detail_en'] or ''}"
            for e in events
        ]
        title = f"规划监测预警 Plan monitoring alerts ({len(events)})"
        if self.fmt == "dingtalk":
            return {
                "msgtype": "markdown",
                "markdown": {"title": title, "text": f"### {title}\n" + "\n".join(lines)},
            }
        if self.fmt == "wecom":
            return {"msgtype": "markdown", "markdown": {"content": f"### {title}\n" + "\n".join(lines)}}
        return {"title": title, "events": events}

    def send(self, events: list[dict]) -> None:
        _check_url(self.url)
        body = json.dumps(self.payload(events), ensure_ascii=False, default=str).encode("utf-8")
        try:
            request = urllib.request.Request(
                self.url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if not 200 <= response.status < 300:
                    raise RuntimeError(f"webhook answered HTTP {response.status}")
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"webhook answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RuntimeError(f"webhook unreachable ({type(reason).__name__})") from None
        except RuntimeError:
            raise
        except Exception as exc:  # anything else may quote the URL (and its token): never pass it on
            raise RuntimeError(f"webhook not sent ({type(exc).__name__})") from None


def _check_url(url: str) -> None:
    """A URL without http(s):// or host is a configuration error; say so without repeating the URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RuntimeError("PLANWH_WEBHOOK_URL is not an http(s) URL with a host (value not shown)")
    try:
        parts.port  # noqa: B018 - raises on a malformed port (e.g. user:password@host without a scheme)
    except ValueError:
        raise RuntimeError("PLANWH_WEBHOOK_URL has an invalid port (value not shown)") from None


def notifiers_from_env(output_dir: Path) -> list[Notifier]:
    found: list[Notifier] = [FileNotifier(output_dir / "alerts" / "notifications.jsonl")]
    url = os.environ.get("PLANWH_WEBHOOK_URL", "").strip()
    if url:
        fmt = os.environ.get("PLANWH_WEBHOOK_FORMAT", "generic").strip() or "generic"
        if fmt not in WEBHOOK_FORMATS:
            print(
                f"planwh: PLANWH_WEBHOOK_FORMAT={fmt!r} is not one of {', '.join(WEBHOOK_FORMATS)}; using generic",
                file=sys.stderr,
            )
            fmt = "generic"
        found.append(WebhookNotifier(url, fmt))
    return found


def deliver_pending(con: duckdb.DuckDBPyConnection, notifiers: list[Notifier]) -> dict[str, dict]:
    """Send every event not yet delivered on each channel; record successes and failures."""
    summary: dict[str, dict] = {}
    cols = [
        "event_id",
        "alert_id",
        "plan_id",
        "event",
        "event_at",
        "as_of_date",
        "severity",
        "title_en",
        "title_zh",
        "detail_en",
        "detail_zh",
    ]
    for notifier in notifiers:
        rows = con.execute(
            f"""select {", ".join(("a." if c == "plan_id" else "e.") + c for c in cols)} from ops.alert_events e
                left join ops.alerts a on a.alert_id = e.alert_id
                left join ops.alert_deliveries d on d.event_id = e.event_id and d.channel = ?
                where d.delivered_at is null and coalesce(d.attempts, 0) < ? order by e.event_id""",
            [notifier.channel, MAX_ATTEMPTS],
        ).fetchall()
        events = [dict(zip(cols, r, strict=True)) for r in rows]
        if not events:
            summary[notifier.channel] = {"delivered": 0, "failed": 0}
            continue
        now = now_local()
        error = None
        try:
            notifier.send(events)
        except RuntimeError as exc:  # our own messages, which never quote the URL
            error = str(exc)[:300]
        except Exception as exc:  # a notifier must never fail the refresh, nor leak what it was given
            error = f"{notifier.channel} notifier failed ({type(exc).__name__})"
        con.execute("begin transaction")
        for event in events:
            con.execute(
                """insert into ops.alert_deliveries (event_id, channel, delivered_at, attempts, last_error)
                   values (?, ?, ?, 1, ?)
                   on conflict (event_id, channel) do update set delivered_at = excluded.delivered_at,
                   attempts = ops.alert_deliveries.attempts + 1, last_error = excluded.last_error""",
                [event["event_id"], notifier.channel, None if error else now, error],
            )
        con.execute("commit")
        summary[notifier.channel] = {
            "delivered": 0 if error else len(events),
            "failed": len(events) if error else 0,
            "error": error,
        }
    return summary
