"""Deliver messages (alert events; departments' receipt notices and deadline reminders) to channels.

Producers put messages in the outbox, `ops.deliveries`, one row per (message, channel), with an
idempotency key that stays the same on every attempt: `enqueue()`; alert events are enqueued by
`enqueue_alert_events()`. `deliver_due()` sends what is due on each channel, and for every attempt:

- an overall deadline per delivery (connect, send, the whole answer): a server that trickles bytes
  cannot hold the run, nor the writer lock, longer than PLANWH_WEBHOOK_DEADLINE_SECONDS;
- on failure, exponential back-off over wall time (5 min, 10, 20 ... capped at 6 h) until
  PLANWH_DELIVERY_GIVE_UP_HOURS (72) after the first failed attempt, however many runs happen meanwhile;
- then the message is given up: never silently — the run summary, the `notifications_delivered` asset
  check and the report list it until it is delivered (`planwh deliveries --retry`) or dismissed.

Channels:
- file: JSON lines appended to <output>/alerts/notifications.jsonl (always on).
- webhook: JSON POST to PLANWH_WEBHOOK_URL; PLANWH_WEBHOOK_FORMAT = generic | dingtalk | wecom. The
  URL is a secret: read from the environment only, never logged or stored, never in an error.
- file:departments and webhook:<department_code>: each department's own notices (receipts, reminders),
  configured in PLANWH_NOTIFY_CONFIG (pipelines/lib/alerts/departments.py).
Alert messages name the responsible department (code and names).
Every payload carries the idempotency keys (generic: `idempotency_key` fields and an Idempotency-Key
header; DingTalk/WeCom: in the text), so a receiver can drop a message it already has — a run that
dies mid-POST sends it again (at least once).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

from ..files import temp_path
from ..settings import WEBHOOK_FORMATS, Settings, now_local, url_problem

EVENT_WORDS = {
    "opened": ("新增预警", "opened"),
    "changed": ("预警更新", "changed"),
    "resolved": ("预警解除", "resolved"),
    "reopened": ("预警再次出现", "reopened"),
}
ALERT_EVENT = "alert_event"
# the heading of a chat message, by the kind of messages it carries (producers add theirs)
TITLES = {
    ALERT_EVENT: "规划监测预警 Plan monitoring alerts",
    "receipt": "报送回执 Submission receipts",
    "reminder": "催报 Deadline reminders",
    "default": "规划监测通知 Plan monitoring notice",
}
EVENT_COLUMNS = (
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
    "department_code",
)
FROM_ALERT = ("plan_id", "department_code")


HISTORY_FLOOR_HOURS = 24.0
GIVEN_UP = "gave_up_at is not null and delivered_at is null and dismissed_at is null"


def _event_columns() -> str:
    """EVENT_COLUMNS from ops.alert_events `e`; the plan and the responsible department come from the
    alert, ops.alerts `a`."""
    return ", ".join(("a." if c in FROM_ALERT else "e.") + c for c in EVENT_COLUMNS)


@dataclass(frozen=True)
class DeliveryPolicy:
    deadline_seconds: float = 20.0  # one delivery, from connecting to the last byte of the answer
    give_up_hours: float = 72.0  # wall time from the first failed attempt
    first_retry_minutes: float = 5.0
    max_backoff_hours: float = 6.0
    batch_size: int = 50  # messages per POST (chat robots cap message size)

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            deadline_seconds=settings.webhook_deadline_seconds, give_up_hours=settings.delivery_give_up_hours
        )

    def history_since(self, now: datetime) -> datetime:
        """The oldest message a channel configured later still receives: the give-up window, but never less
        than a day, so that a short window (a test's 0 h) cannot drop what this very run produced a step
        earlier."""
        return now - timedelta(hours=max(self.give_up_hours, HISTORY_FLOOR_HOURS))

    def backoff(self, attempts: int) -> timedelta:
        minutes = self.first_retry_minutes * 2 ** max(0, attempts - 1)
        return timedelta(minutes=min(minutes, self.max_backoff_hours * 60))


class Notifier(Protocol):
    channel: str

    def send(self, messages: list[dict], key: str, deadline: float) -> None:
        """Deliver all messages (each has `idempotency_key`) within `deadline` seconds, or raise."""


# ------------------------------------------------------------------------------------- channels


@dataclass
class FileNotifier:
    path: Path
    channel: str = "file"

    def send(self, messages: list[dict], key: str, deadline: float = 0) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            for message in messages:
                fh.write(json.dumps(message, ensure_ascii=False, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


class _Deadline:
    """Shuts the sockets of one delivery when its time is up, wherever the request is blocked."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _opener(deadline: _Deadline) -> urllib.request.OpenerDirector:
    """urllib (proxies from the environment, redirects refused) with sockets the deadline can shut."""

    def tracked(base):
        class Connection(base):
            def connect(self):
                super().connect()
                deadline.track(self.sock)

        return Connection

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(tracked(http.client.HTTPConnection), req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(tracked(http.client.HTTPSConnection), req, context=self._context)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None  # a redirect would resend the body (and the token) somewhere else

    return urllib.request.build_opener(Http, Https, NoRedirect)


@dataclass
class WebhookNotifier:
    url: str
    fmt: str = "generic"
    timeout: float = 10.0  # per socket operation; the whole delivery is bounded by `deadline`
    channel: str = "webhook"
    setting: str = "PLANWH_WEBHOOK_URL"  # where the URL came from, for error messages (never the URL)

    def __repr__(self) -> str:  # never show the secret URL
        return f"WebhookNotifier(channel={self.channel!r}, format={self.fmt!r})"

    def payload(self, messages: list[dict], key: str) -> dict:
        lines = [_line(m) for m in messages]
        kind = messages[0].get("kind", ALERT_EVENT) if messages else ALERT_EVENT
        title = f"{TITLES.get(kind, TITLES['default'])} ({len(messages)})"
        footer = f"\n\n消息编号 message id: {key}"
        if self.fmt == "dingtalk":
            return {
                "msgtype": "markdown",
                "markdown": {"title": title, "text": f"### {title}\n" + "\n".join(lines) + footer},
            }
        if self.fmt == "wecom":
            return {
                "msgtype": "markdown",
                "markdown": {"content": f"### {title}\n" + "\n".join(lines) + footer},
            }
        return {"title": title, "idempotency_key": key, "events": messages}

    def send(self, messages: list[dict], key: str, deadline: float = 20.0) -> None:
        problem = url_problem(self.setting, self.url)
        if problem:
            raise RuntimeError(problem)
        body = json.dumps(self.payload(messages, key), ensure_ascii=False, default=str).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key},
        )
        started = time.monotonic()
        with _Deadline(deadline) as clock:
            try:
                with _opener(clock).open(request, timeout=min(self.timeout, deadline)) as response:
                    answer = response.read(64 * 1024)  # the whole answer, within the deadline
                    if not 200 <= response.status < 300:
                        raise RuntimeError(f"webhook answered HTTP {response.status}")
                self._check_answer(answer)
            except urllib.error.HTTPError as exc:
                raise RuntimeError(f"webhook answered HTTP {exc.code}") from None
            except RuntimeError:
                raise
            except Exception as exc:  # anything else may quote the URL (and its token): never pass it on
                if clock.expired or time.monotonic() - started >= deadline:
                    raise RuntimeError(f"webhook did not answer within the {deadline:g}s deadline") from None
                reason = getattr(exc, "reason", exc)
                if isinstance(exc, urllib.error.URLError | OSError | http.client.HTTPException):
                    raise RuntimeError(f"webhook unreachable ({type(reason).__name__})") from None
                raise RuntimeError(f"webhook not sent ({type(exc).__name__})") from None
        if clock.expired:
            raise RuntimeError(f"webhook did not answer within the {deadline:g}s deadline")

    def _check_answer(self, answer: bytes) -> None:
        """Chat robots answer HTTP 200 with an error code when they refuse a message (bad keyword,
        rate limit, wrong token): that is a failed delivery, not a success."""
        if self.fmt not in ("dingtalk", "wecom"):
            return
        try:
            code = json.loads(answer.decode("utf-8") or "{}").get("errcode", 0)
        except (ValueError, AttributeError):
            return
        if code not in (0, "0", None):
            raise RuntimeError(f"webhook refused the message (errcode {str(code)[:20]})")


def _line(message: dict) -> str:
    """One line per message in a chat message: a producer's own `text_zh`/`text_en`, or an alert event's
    severity, title and detail; always ending with the message's idempotency key."""
    key = f" (#{message.get('idempotency_key', '')})"
    if message.get("text_zh") or message.get("text_en"):
        return f"- {message.get('text_zh') or ''} / {message.get('text_en') or ''}{_department(message)}{key}"
    words = EVENT_WORDS.get(message.get("event") or "", (message.get("event") or "", ""))
    label = f"{words[0]} {message.get('event') or ''}".strip()
    return (
        f"- [{label}] {message.get('plan_id') or ''} {message.get('severity') or ''} {message.get('title_zh') or ''} / "
        f"{message.get('title_en') or ''}: {message.get('detail_zh') or ''} / {message.get('detail_en') or ''}"
        f"{_department(message)}{key}"
    )


def _department(message: dict) -> str:
    """' · 责任部门 department: 区城市管理局 District Urban Management Bureau (370102_URBAN)', or ''."""
    code = message.get("department_code")
    if not code:
        return ""
    names = f"{message.get('department_name_zh') or ''} {message.get('department_name_en') or ''}".strip()
    return f" · 责任部门 department: {names} ({code})" if names else f" · 责任部门 department: {code}"


def notifiers_from_env(output_dir: Path) -> list[Notifier]:
    """The file log, and the webhook when PLANWH_WEBHOOK_URL is set (its value checked by settings)."""
    found: list[Notifier] = [FileNotifier(output_dir / "alerts" / "notifications.jsonl")]
    url = os.environ.get("PLANWH_WEBHOOK_URL", "").strip()
    if url:
        fmt = os.environ.get("PLANWH_WEBHOOK_FORMAT", "generic").strip() or "generic"
        found.append(WebhookNotifier(url, fmt if fmt in WEBHOOK_FORMATS else "generic"))
    return found


# -------------------------------------------------------------------------------------- outbox


def message_key(*parts: object) -> str:
    """A stable idempotency key for a message: the same inputs give the same key, on any machine."""
    digest = hashlib.sha256("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()
    return f"planwh-{digest[:24]}"


def alert_event_key(event: dict) -> str:
    at = event["event_at"]
    return message_key(
        ALERT_EVENT, event["alert_id"], event["event"], at.isoformat() if hasattr(at, "isoformat") else at
    )


def enqueue(
    con: duckdb.DuckDBPyConnection,
    channel: str,
    kind: str,
    messages: list[dict],
    now: datetime | None = None,
) -> int:
    """Put messages in the outbox for one channel. Each message is a JSON-able dict; `idempotency_key`
    (computed from its content when missing), `source_id` and `department_code` are read from it.
    A message already queued for that channel (same key) is not queued twice. Returns how many were new."""
    if not messages:
        return 0
    now = now or now_local()
    rows = []
    for message in messages:
        message = dict(message)
        key = message.setdefault(
            "idempotency_key", message_key(kind, json.dumps(message, sort_keys=True, default=str))
        )
        rows.append(
            {
                "message_key": key,
                "channel": channel,
                "kind": kind,
                "source_id": None if message.get("source_id") is None else str(message["source_id"]),
                "department_code": message.get("department_code"),
                "payload": json.dumps(message, ensure_ascii=False, default=str),
                "created_at": now,
                "attempts": 0,
            }
        )
    count = "select count(*) from ops.deliveries where channel = ?"
    before = con.execute(count, [channel]).fetchall()[0][0]
    con.register("outbox_rows", pd.DataFrame(rows))
    con.execute("insert or ignore into ops.deliveries by name select * from outbox_rows")
    con.unregister("outbox_rows")
    return con.execute(count, [channel]).fetchall()[0][0] - before


def enqueue_alert_events(
    con: duckdb.DuckDBPyConnection,
    channels: list[str],
    policy: DeliveryPolicy,
    now: datetime | None = None,
    departments: dict[str, tuple[str, str]] | None = None,
) -> int:
    """Queue every alert event not yet queued on each channel. A channel configured later does not
    receive history older than the give-up window, or a day if that is longer (nobody wants last year's alerts
    in a new chat).
    `departments` (code -> (name_zh, name_en)) names the responsible department in each message."""
    now = now or now_local()
    since = policy.history_since(now)
    total = 0
    for channel in channels:
        rows = con.execute(
            f"""select {_event_columns()}
                from ops.alert_events e left join ops.alerts a on a.alert_id = e.alert_id
                where e.event_at >= ? and not exists (
                    select 1 from ops.deliveries d
                    where d.kind = ? and d.channel = ? and d.source_id = cast(e.event_id as varchar))
                order by e.event_id""",
            [since, ALERT_EVENT, channel],
        ).fetchall()
        events = [dict(zip(EVENT_COLUMNS, r, strict=True)) for r in rows]
        for event in events:
            event["idempotency_key"] = alert_event_key(event)
            event["source_id"] = event["event_id"]
            names = (departments or {}).get(event.get("department_code") or "")
            if names:
                event["department_name_zh"], event["department_name_en"] = names
        total += enqueue(con, channel, ALERT_EVENT, events, now)
    return total


def deliver_due(
    con: duckdb.DuckDBPyConnection,
    notifiers: list[Notifier],
    policy: DeliveryPolicy | None = None,
    now: datetime | None = None,
) -> dict[str, dict]:
    """Send what is due on each channel; record each attempt (back-off, give-up). Never raises for a
    failed delivery: the summary per channel says what happened."""
    policy = policy or DeliveryPolicy()
    summary: dict[str, dict] = {}
    for notifier in notifiers:
        now_c = now or now_local()
        rows = con.execute(
            """select message_key, payload, attempts, first_attempt_at, kind from ops.deliveries
               where channel = ? and delivered_at is null and gave_up_at is null and dismissed_at is null
                 and (next_attempt_at is null or next_attempt_at <= ?)
               order by kind, created_at, message_key""",
            [notifier.channel, now_c],
        ).fetchall()
        info = {"delivered": 0, "failed": 0, "gave_up": 0, "error": None}
        error = None
        for batch in _batches(rows, policy.batch_size):
            keys = [r[0] for r in batch]
            if error is None:  # after one failure the channel is down for this run: same outcome for the rest
                messages = [{**json.loads(r[1]), "kind": r[4]} for r in batch]
                batch_key = keys[0] if len(keys) == 1 else message_key("batch", *sorted(keys))
                try:
                    notifier.send(messages, batch_key, policy.deadline_seconds)
                except RuntimeError as exc:  # our own messages, which never quote the URL
                    error = str(exc)[:300]
                except Exception as exc:  # a notifier must never fail the refresh, nor leak what it was given
                    error = f"{notifier.channel} notifier failed ({type(exc).__name__})"
            at = now or now_local()
            if error is None:
                con.execute(
                    """update ops.deliveries set delivered_at = ?, attempts = attempts + 1, last_attempt_at = ?,
                              first_attempt_at = coalesce(first_attempt_at, ?), next_attempt_at = null,
                              last_error = null
                       where channel = ? and message_key in (select unnest(?))""",
                    [at, at, at, notifier.channel, keys],
                )
                info["delivered"] += len(batch)
                continue
            for key, _payload, attempts, first, _kind in batch:
                first = first or at
                gave_up = at - first >= timedelta(hours=policy.give_up_hours)
                con.execute(
                    """update ops.deliveries set attempts = attempts + 1, last_attempt_at = ?,
                              first_attempt_at = ?, next_attempt_at = ?, gave_up_at = ?, last_error = ?
                       where channel = ? and message_key = ?""",
                    [
                        at,
                        first,
                        None if gave_up else at + policy.backoff(attempts + 1),
                        at if gave_up else None,
                        error,
                        notifier.channel,
                        key,
                    ],
                )
                info["gave_up" if gave_up else "failed"] += 1
        info["error"] = error
        summary[notifier.channel] = info
    return summary


def _batches(rows: list[tuple], size: int) -> list[list[tuple]]:
    """Rows (kind last) in chat-sized batches; one batch carries one kind of message."""
    by_kind: dict[str, list[tuple]] = {}
    for row in rows:
        by_kind.setdefault(row[-1], []).append(row)
    return [group[i : i + size] for group in by_kind.values() for i in range(0, len(group), size)]


def undelivered(con: duckdb.DuckDBPyConnection, limit: int = 200) -> list[dict]:
    """Messages given up on and not dismissed (what the summary, the check and the report show)."""
    cursor = con.execute(
        f"""select channel, kind, message_key, department_code, created_at, attempts, first_attempt_at,
                  gave_up_at, last_error,
                  json_extract_string(payload, '$.title_zh') as title_zh,
                  json_extract_string(payload, '$.title_en') as title_en,
                  json_extract_string(payload, '$.event') as event
           from ops.deliveries
           where {GIVEN_UP}
           order by gave_up_at desc, message_key limit ?""",
        [limit],
    )
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, r, strict=True)) for r in cursor.fetchall()]


def count_undelivered(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Per state: retrying (failed, will try again) and given_up (needs a person)."""
    row = con.execute(
        """select count(case when gave_up_at is null and attempts > 0 then 1 end),
                  count(case when gave_up_at is not null then 1 end)
           from ops.deliveries where delivered_at is null and dismissed_at is null"""
    ).fetchall()[0]
    return {"retrying": row[0], "given_up": row[1]}


def _settle_given_up(con: duckdb.DuckDBPyConnection, assignments: str, params: list) -> int:
    """Apply `assignments` to every given-up message; return how many there were."""
    n = con.execute(f"select count(*) from ops.deliveries where {GIVEN_UP}").fetchall()[0][0]
    con.execute(f"update ops.deliveries set {assignments} where {GIVEN_UP}", params)
    return n


def requeue(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> int:
    """Give given-up messages a new window (an operator fixed the channel): `planwh deliveries --retry`."""
    return _settle_given_up(
        con, "gave_up_at = null, first_attempt_at = null, next_attempt_at = ?", [now or now_local()]
    )


def dismiss(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> int:
    """Acknowledge given-up messages (they were passed on another way): `planwh deliveries --dismiss`."""
    return _settle_given_up(con, "dismissed_at = ?", [now or now_local()])


def next_due(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the next retry is due (for the retry sensor), or None when nothing waits."""
    return con.execute(
        """select min(next_attempt_at) from ops.deliveries
           where delivered_at is null and gave_up_at is null and dismissed_at is null"""
    ).fetchall()[0][0]


def write_due_marker(settings: Settings, due: datetime | None) -> None:
    """A small file the retry sensor reads (it must never open the working warehouse)."""
    path = settings.warehouse.parent / "deliveries_due.json"
    if due is None:
        with contextlib.suppress(OSError):
            path.unlink()
        return
    tmp = temp_path(path)
    tmp.write_text(json.dumps({"next_attempt_at": due.isoformat()}))
    os.replace(tmp, path)


def legacy_deliveries(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows of the earlier ops.alert_deliveries table (event_id, channel, delivered_at, attempts,
    last_error) as ops.deliveries rows, so an upgraded warehouse keeps its delivery state."""
    rows = con.execute(
        f"""select d.channel, d.delivered_at, d.attempts, d.last_error, {_event_columns()}
            from ops.alert_deliveries d join ops.alert_events e on e.event_id = d.event_id
            left join ops.alerts a on a.alert_id = e.alert_id"""
    ).fetchall()
    out = []
    for row in rows:
        channel, delivered_at, attempts, last_error = row[:4]
        event = dict(zip(EVENT_COLUMNS, row[4:], strict=True))
        event["idempotency_key"] = alert_event_key(event)
        event["source_id"] = event["event_id"]
        out.append(
            {
                "message_key": event["idempotency_key"],
                "channel": channel,
                "kind": ALERT_EVENT,
                "source_id": str(event["event_id"]),
                "department_code": event.get("department_code"),
                "payload": json.dumps(event, ensure_ascii=False, default=str),
                "created_at": event["event_at"],
                "attempts": attempts,
                "first_attempt_at": event["event_at"] if attempts else None,
                "last_attempt_at": delivered_at,
                "next_attempt_at": None,
                "delivered_at": delivered_at,
                "gave_up_at": None,
                "dismissed_at": None,
                "last_error": last_error,
            }
        )
    return pd.DataFrame(out)
