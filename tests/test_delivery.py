"""Delivering notifications: an overall deadline, back-off over wall time, give-up made visible,
idempotency keys in every payload (issue 17). Real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import duckdb
import pytest

from pipelines.lib.alerts.notify import (
    DeliveryPolicy,
    WebhookNotifier,
    count_undelivered,
    deliver_due,
    dismiss,
    enqueue,
    enqueue_alert_events,
    requeue,
    undelivered,
)
from pipelines.lib.warehouse.connection import connect

T0 = datetime(2026, 3, 1, 2, 0, 0)


class Trickle:
    """A server that accepts the request, then sends its answer one byte every `every` seconds."""

    def __init__(self, every: float = 0.5):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/robot/send?access_token=SECRET-TOKEN"
        self.every = every
        self.stop = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.trickle, args=(conn,), daemon=True).start()

    def trickle(self, conn):
        conn.recv(65536)
        answer = (
            b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"errcode":0}'
        )
        try:
            for byte in answer:
                if self.stop:
                    break
                conn.send(bytes([byte]))
                time.sleep(self.every)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop = True
        self.sock.close()


class Recorder:
    """A webhook that records bodies and headers; `answer` is what it replies (HTTP 200)."""

    def __init__(self, answer: bytes = b'{"errcode":0}', status: int = 200):
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                me.bodies.append(json.loads(body))
                me.headers.append(dict(self.headers))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=SECRET-TOKEN"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def _event(con, alert_id: str = "indicator|P|I01", at: str = "2026-03-01 02:00:00") -> None:
    con.execute(
        """insert into ops.alert_events (alert_id, event, event_at, severity, title_zh, title_en, detail_zh, detail_en)
           values (?, 'opened', ?, 'critical', '标题', 'title', '详情', 'detail')""",
        [alert_id, at],
    )


def test_a_trickling_webhook_cannot_hold_the_run_past_the_deadline(fresh_warehouse):
    server = Trickle(every=0.5)  # 80 bytes at 2 per second: 40 s if nothing stopped it
    try:
        notifier = WebhookNotifier(server.url, "dingtalk", timeout=10)
        started = time.monotonic()
        with pytest.raises(RuntimeError) as raised:
            notifier.send([{"event": "opened", "idempotency_key": "planwh-k"}], "planwh-k", deadline=2)
        took = time.monotonic() - started
    finally:
        server.close()
    # the per-read timeout (10 s) never fired and the trickle (40 s) did not finish: the 2 s deadline did
    # (slack for a loaded machine)
    assert took < 8, took
    assert "deadline" in str(raised.value) and "SECRET-TOKEN" not in str(raised.value)

    settings = fresh_warehouse
    server = Trickle(every=0.5)
    try:
        with connect(settings) as con:
            _event(con)
            policy = DeliveryPolicy(deadline_seconds=1.5)
            enqueue_alert_events(con, ["webhook"], policy, now=T0)
            started = time.monotonic()
            summary = deliver_due(con, [WebhookNotifier(server.url, "dingtalk")], policy, now=T0)
            took = time.monotonic() - started
            row = con.execute("select attempts, last_error, next_attempt_at from ops.deliveries").fetchall()[
                0
            ]
    finally:
        server.close()
    assert took < 8 and summary["webhook"]["failed"] == 1  # the 1.5 s deadline, not the 40 s trickle
    assert row[0] == 1 and "deadline" in row[1] and row[2] == T0 + timedelta(minutes=5)


def test_back_off_counts_wall_time_and_a_given_up_message_is_visible(fresh_warehouse):
    settings = fresh_warehouse
    down = WebhookNotifier("http://127.0.0.1:9/hook?token=SECRET-TOKEN", "generic", timeout=1)
    policy = DeliveryPolicy(deadline_seconds=2, give_up_hours=72)
    with connect(settings) as con:
        _event(con)
        enqueue_alert_events(con, ["webhook"], policy, now=T0)
        # a day of sensor runs, one a minute: attempts follow the back-off, not the number of runs
        for minute in range(0, 24 * 60, 1):
            deliver_due(con, [down], policy, now=T0 + timedelta(minutes=minute))
        attempts = con.execute("select attempts from ops.deliveries").fetchall()[0][0]
        assert 8 <= attempts <= 11, attempts  # 5, 10, 20, 40 min, ... capped at 6 h
        assert count_undelivered(con) == {"retrying": 1, "given_up": 0}
        # still failing three days after the first attempt: given up, and listed
        summary = deliver_due(con, [down], policy, now=T0 + timedelta(hours=72, minutes=1))
        assert summary["webhook"]["gave_up"] == 1
        assert count_undelivered(con) == {"retrying": 0, "given_up": 1}
        [row] = undelivered(con)
        assert (
            row["channel"] == "webhook" and row["title_en"] == "title" and "unreachable" in row["last_error"]
        )
        later = T0 + timedelta(days=5)
        assert deliver_due(con, [down], policy, now=later)["webhook"] == {
            "delivered": 0,
            "failed": 0,
            "gave_up": 0,
            "error": None,
        }  # given up: not tried again by itself

        hook = Recorder()
        try:
            assert requeue(con, now=later) == 1  # the operator fixed the channel: `planwh deliveries --retry`
            sent = deliver_due(con, [WebhookNotifier(hook.url, "generic")], policy, now=later)
        finally:
            hook.close()
        assert sent["webhook"]["delivered"] == 1 and count_undelivered(con) == {"retrying": 0, "given_up": 0}

        _event(con, "indicator|P|I02", "2026-03-06 02:00:00")
        enqueue_alert_events(con, ["webhook"], policy, now=later)
        deliver_due(con, [down], policy, now=later + timedelta(hours=80))
        deliver_due(con, [down], policy, now=later + timedelta(hours=160))
        assert count_undelivered(con)["given_up"] == 1
        assert dismiss(con) == 1 and undelivered(con) == []  # acknowledged: no longer shown


def test_every_payload_carries_an_idempotency_key_that_survives_retries(fresh_warehouse):
    settings = fresh_warehouse
    hooks = {fmt: Recorder() for fmt in ("generic", "dingtalk", "wecom")}
    try:
        with connect(settings) as con:
            _event(con)
            policy = DeliveryPolicy()
            channels = {
                f"webhook:{fmt}": WebhookNotifier(h.url, fmt, channel=f"webhook:{fmt}")
                for fmt, h in hooks.items()
            }
            enqueue_alert_events(con, list(channels), policy, now=T0)
            deliver_due(con, list(channels.values()), policy, now=T0)
            keys = {r[0] for r in con.execute("select message_key from ops.deliveries").fetchall()}
    finally:
        for hook in hooks.values():
            hook.close()
    assert len(keys) == 1  # the same message has the same key on every channel
    key = keys.pop()
    generic = hooks["generic"]
    assert generic.bodies[0]["idempotency_key"] == key and generic.headers[0]["Idempotency-Key"] == key
    assert generic.bodies[0]["events"][0]["idempotency_key"] == key
    assert key in hooks["dingtalk"].bodies[0]["markdown"]["text"]
    assert key in hooks["wecom"].bodies[0]["markdown"]["content"]

    # a re-send (a run died after the POST, before recording it) carries the same key
    from pipelines.lib.alerts.notify import alert_event_key

    with connect(settings) as con:
        event = dict(
            zip(
                ("alert_id", "event", "event_at"),
                con.execute("select alert_id, event, event_at from ops.alert_events").fetchall()[0],
                strict=True,
            )
        )
    assert alert_event_key(event) == key


def test_a_chat_robot_refusing_the_message_is_a_failed_delivery(fresh_warehouse):
    hook = Recorder(answer=b'{"errcode":310000,"errmsg":"keywords not in content"}')
    try:
        with connect(fresh_warehouse) as con:
            enqueue(
                con, "webhook", "reminder", [{"title_en": "owed", "department_code": "370102_STATS"}], now=T0
            )
            summary = deliver_due(con, [WebhookNotifier(hook.url, "dingtalk")], DeliveryPolicy(), now=T0)
            row = con.execute(
                "select delivered_at, last_error, department_code from ops.deliveries"
            ).fetchall()[0]
    finally:
        hook.close()
    assert summary["webhook"]["failed"] == 1 and row[0] is None and "310000" in row[1]
    assert row[2] == "370102_STATS"


def test_a_warehouse_with_the_earlier_delivery_table_is_upgraded(fresh_warehouse):
    settings = fresh_warehouse
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("create schema ops")
    con.execute(
        """create table ops.alert_events (event_id bigint, alert_id varchar, event varchar, event_at timestamp,
           as_of_date date, severity varchar, title_en varchar, title_zh varchar, detail_en varchar, detail_zh varchar)"""
    )
    con.execute(
        """create table ops.alert_deliveries (event_id bigint, channel varchar, delivered_at timestamp,
           attempts integer, last_error varchar, primary key (event_id, channel))"""
    )
    con.execute(
        "insert into ops.alert_events values (1, 'a', 'opened', '2026-01-01', null, 'critical', 't', 't', 'd', 'd')"
    )
    con.execute(
        "insert into ops.alert_deliveries values (1, 'webhook', '2026-01-01 02:00:01', 1, null), (1, 'file', null, 20, 'x')"
    )
    con.close()
    with connect(settings) as con:
        migrated = con.execute(
            "select channel, delivered_at is not null, attempts from ops.deliveries order by channel"
        ).fetchall()
        view = con.execute("select event_id, channel from ops.alert_deliveries order by channel").fetchall()
    assert migrated == [("file", False, 20), ("webhook", True, 1)]
    assert view == [(1, "file"), (1, "webhook")]


def test_a_due_retry_is_sent_between_refreshes(fresh_warehouse, monkeypatch):
    """The retry sensor reads a marker (never the working warehouse) and the small job sends what is due."""
    import dagster as dg

    from pipelines.defs.alerts.deliveries import deliver_notifications_job, retry_notifications
    from pipelines.lib.alerts.notify import next_due, write_due_marker
    from pipelines.lib.settings import now_local

    settings = fresh_warehouse
    down = WebhookNotifier("http://127.0.0.1:9/hook?token=SECRET-TOKEN", "generic", timeout=1)
    with connect(settings) as con:
        _event(con, at=now_local().isoformat(sep=" "))
        assert enqueue_alert_events(con, ["webhook"], DeliveryPolicy(), now=now_local()) == 1
        deliver_due(con, [down], DeliveryPolicy(deadline_seconds=2))
        write_due_marker(settings, next_due(con))
    with dg.DagsterInstance.ephemeral() as instance:
        skip = retry_notifications(dg.build_sensor_context(instance=instance))
        assert isinstance(skip, dg.SkipReason) and "next retry due" in skip.skip_message
        with connect(settings) as con:  # five minutes later
            con.execute("update ops.deliveries set next_attempt_at = next_attempt_at - interval 6 minute")
            write_due_marker(settings, next_due(con))
        request = retry_notifications(dg.build_sensor_context(instance=instance))
        assert isinstance(request, dg.RunRequest)
        hook = Recorder()
        monkeypatch.setenv("PLANWH_WEBHOOK_URL", hook.url)
        try:
            assert deliver_notifications_job.execute_in_process(instance=instance).success
        finally:
            hook.close()
    assert len(hook.bodies) == 1 and hook.bodies[0]["events"][0]["title_en"] == "title"
    assert not (settings.warehouse.parent / "deliveries_due.json").exists()  # nothing waits any more
