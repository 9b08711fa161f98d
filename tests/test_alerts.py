"""Alert lifecycle across runs, and notification through a real webhook on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import duckdb
import pytest

from pipelines.lib.alerts.notify import WebhookNotifier, deliver_due
from tests.conftest import AS_OF, query, run_job

URBAN = "370102_URBAN"


class Hook:
    """A webhook receiver that records JSON bodies; `fail` makes it answer HTTP 500."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.fail = False
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                hook.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"errcode":0}')

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/robot/send?access_token=SECRET-TOKEN"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        return [e for body in self.bodies for e in body.get("events", [])]

    def close(self):
        self.server.shutdown()


@pytest.fixture
def hook():
    receiver = Hook()
    yield receiver
    receiver.close()


def _drop(settings, name: str, text: str) -> None:
    path = settings.inbox / URBAN / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def urban_owed_in_window(settings, days: int) -> set[str]:
    """What the urban management bureau has not delivered of periods due within `days` (the reminder window)."""
    con = duckdb.connect(str(settings.published_warehouse), read_only=True)
    try:
        return {
            r["item_code"]
            for r in query(
                con,
                f"""select item_code from marts.fct_submission_obligation_items where department_code = ?
                    and not is_delivered and due_date >= as_of_date and due_date <= as_of_date + {days}""",
                [URBAN],
            )
        }
    finally:
        con.close()


def _alerts(settings) -> dict[str, dict]:
    con = duckdb.connect(str(settings.published_warehouse), read_only=True)
    try:
        return {a["alert_id"]: a for a in query(con, "select * from ops.alerts")}, query(
            con, "select * from ops.alert_events order by event_id"
        )
    finally:
        con.close()


def test_alert_opens_persists_and_resolves_without_duplicates(fresh_warehouse, hook, monkeypatch, tmp_path):
    settings = fresh_warehouse
    monkeypatch.setenv("PLANWH_WEBHOOK_URL", hook.url)
    # the department's own channel: receipts' notices and deadline reminders (催报), 120 days ahead so that
    # the quarter now running (due the 20th day after it) is within the window whatever today is
    department_hook = Hook()
    config = tmp_path / "notify.toml"
    config.write_text(f'[departments.{URBAN}]\nurl = "{department_hook.url}"\n', encoding="utf-8")
    config.chmod(0o600)
    monkeypatch.setenv("PLANWH_NOTIFY_CONFIG", str(config))
    monkeypatch.setenv("PLANWH_REMINDER_DAYS", "120")
    key = "indicator|370102_14FYP|I22"
    _drop(
        settings, "绿化.csv", "指标编号,统计期,数值\n" + "".join(f"I22,{y},46.6\n" for y in range(2021, 2026))
    )

    # evaluated as of today: the files are received now, and the lifecycle follows what is known
    assert run_job("refresh", None).success
    alerts, events = _alerts(settings)
    assert (
        alerts[key]["status"] == "open"
        and alerts[key]["severity"] == "critical"
        and alerts[key]["times_seen"] == 1
    )
    assert [e["event"] for e in events if e["alert_id"] == key] == ["opened"]
    assert any(e["alert_id"] == key and e["event"] == "opened" for e in hook.events())
    # the alert names the responsible department
    opened = next(e for e in hook.events() if e["alert_id"] == key)
    assert opened["department_code"] == URBAN and opened["department_name_zh"] == "区城市管理局"
    # the department heard of its file, and got one reminder per period now due, listing what it owes
    notices = department_hook.events()
    assert [e["event"] for e in notices if e["event"] == "receipt"] == ["receipt"]
    assert "绿化.csv" in next(e for e in notices if e["event"] == "receipt")["title_zh"]
    reminders = [e for e in notices if e["event"] == "reminder"]
    assert reminders and len({r["period"] for r in reminders}) == len(reminders)  # one per period
    assert all(r["department_code"] == URBAN for r in reminders)
    owed = urban_owed_in_window(settings, 120)
    assert owed and all(any(code in r["detail_en"] for r in reminders) for code in owed)

    assert run_job("refresh", None).success  # nothing changed: the alert persists, no new event
    alerts2, events2 = _alerts(settings)
    assert alerts2[key]["status"] == "open" and alerts2[key]["times_seen"] == 2
    assert len(department_hook.events()) == len(notices)  # the reminder is sent once per period
    assert alerts2[key]["opened_at"] == alerts[key]["opened_at"]
    assert len(events2) == len(events) and len(alerts2) == len(alerts)

    _drop(settings, "绿化更正.csv", "指标编号,统计期,数值\nI22,2025,48.6\n")  # the correction clears it
    assert run_job("refresh", None).success
    alerts3, events3 = _alerts(settings)
    assert alerts3[key]["status"] == "resolved" and alerts3[key]["resolved_at"] is not None
    assert [e["event"] for e in events3 if e["alert_id"] == key] == ["opened", "resolved"]
    assert [e["event"] for e in hook.events() if e["alert_id"] == key] == ["opened", "resolved"]
    log = (settings.output_dir / "alerts" / "notifications.jsonl").read_text(encoding="utf-8")
    assert log.count(f'"alert_id": "{key}"') == 2
    assert "SECRET-TOKEN" not in log
    notices = department_hook.events()
    assert [e["event"] for e in notices].count("reminder") == len(reminders)  # never sent again
    assert [e["event"] for e in notices].count("receipt") == 2  # the correction file got its notice
    department_hook.close()

    # a replay of what was known yesterday (nothing: the files came today) must not touch live alerts
    from datetime import timedelta

    from pipelines.lib.settings import today_local

    yesterday = (today_local() - timedelta(days=1)).isoformat()
    replay = run_job(
        "reevaluate_flags", None, run_config={"resources": {"planwh": {"config": {"known_at": yesterday}}}}
    )
    assert replay.success
    alerts4, events4 = _alerts(settings)
    assert alerts4[key]["status"] == "resolved" and len(events4) == len(events3)
    assert [e["event"] for e in hook.events() if e["alert_id"] == key] == ["opened", "resolved"]


def test_a_failed_delivery_is_retried_next_time_and_never_fails_the_run(fresh_warehouse, hook):
    settings = fresh_warehouse
    from datetime import datetime, timedelta

    from pipelines.lib.alerts.notify import DeliveryPolicy, enqueue_alert_events
    from pipelines.lib.warehouse.connection import connect

    t0 = datetime(2026, 1, 1, 2, 0, 0)
    with connect(settings) as con:
        con.execute("""insert into ops.alert_events (alert_id, event, event_at, severity, title_en, detail_en)
                       values ('indicator|P|I01', 'opened', timestamp '2026-01-01 02:00:00', 'critical', 't', 'd')""")
        notifier = WebhookNotifier(hook.url, "dingtalk")
        policy = DeliveryPolicy()
        assert enqueue_alert_events(con, ["webhook"], policy, now=t0) == 1
        hook.fail = True
        summary = deliver_due(con, [notifier], policy, now=t0)
        assert summary["webhook"]["failed"] == 1 and "500" in summary["webhook"]["error"]
        assert "SECRET-TOKEN" not in summary["webhook"]["error"] and "SECRET-TOKEN" not in repr(notifier)
        row = con.execute("select delivered_at, attempts, last_error from ops.alert_deliveries").fetchone()
        assert row[0] is None and row[1] == 1
        hook.fail = False
        assert (
            deliver_due(con, [notifier], policy, now=t0 + timedelta(minutes=1))["webhook"]["delivered"] == 0
        )
        summary = deliver_due(con, [notifier], policy, now=t0 + timedelta(minutes=6))  # after the back-off
        assert summary["webhook"]["delivered"] == 1
        assert con.execute("select attempts from ops.alert_deliveries").fetchone()[0] == 2
        later = t0 + timedelta(hours=1)
        assert (
            deliver_due(con, [notifier], policy, now=later)["webhook"]["delivered"] == 0
        )  # delivered once only
    assert hook.bodies[0]["msgtype"] == "markdown" and "规划监测预警" in hook.bodies[0]["markdown"]["title"]


def test_a_channel_configured_later_receives_the_last_window_of_events_and_never_less_than_a_day(
    fresh_warehouse,
):
    from datetime import datetime

    from pipelines.lib.alerts.notify import DeliveryPolicy, enqueue_alert_events
    from pipelines.lib.warehouse.connection import connect

    now = datetime(2026, 3, 10, 9, 0, 0)
    ages = {"I01": timedelta(seconds=5), "I02": timedelta(hours=20), "I03": timedelta(hours=30)}
    ages |= {"I04": timedelta(hours=71), "I05": timedelta(hours=73)}
    with connect(fresh_warehouse) as con:
        for code, age in ages.items():
            con.execute(
                """insert into ops.alert_events (alert_id, event, event_at, severity, title_en, detail_en)
                   values (?, 'opened', ?, 'critical', 't', 'd')""",
                [f"indicator|P|{code}", now - age],
            )

        def queued(channel: str, hours: float) -> set[str]:
            enqueue_alert_events(con, [channel], DeliveryPolicy(give_up_hours=hours), now=now)
            rows = con.execute(
                "select e.alert_id from ops.deliveries d join ops.alert_events e"
                " on d.source_id = cast(e.event_id as varchar) where d.channel = ?",
                [channel],
            ).fetchall()
            return {r[0].rsplit("|", 1)[1] for r in rows}

        assert queued("webhook", 72) == {"I01", "I02", "I03", "I04"}
        assert queued("webhook:370102_URBAN", 0) == {"I01", "I02"}  # a zero window still takes the last day
        assert queued("webhook:370102_STATS", 48) == {"I01", "I02", "I03"}


def test_an_unreachable_webhook_does_not_fail_the_refresh_and_a_given_up_event_is_visible(
    fresh_warehouse, monkeypatch, capsys
):
    settings = fresh_warehouse
    monkeypatch.setenv("PLANWH_WEBHOOK_URL", "http://127.0.0.1:9/unreachable?token=SECRET-TOKEN")
    monkeypatch.setenv("PLANWH_DELIVERY_GIVE_UP_HOURS", "0")  # the retry window is over at the first failure
    # the clock's second ticks between the lifecycle and the outbox (it did on a slow CI machine): this run's
    # events are still queued, although a zero window takes no older event
    from pipelines.lib.alerts import notify
    from pipelines.lib.settings import now_local

    monkeypatch.setattr(notify, "now_local", lambda precise=False: now_local(precise) + timedelta(seconds=2))
    _drop(settings, "绿化.csv", "指标编号,统计期,数值\nI22,2021,46.6\n")
    result = run_job("refresh", AS_OF)
    assert result.success  # a delivery failure never fails the refresh
    con = duckdb.connect(str(settings.published_warehouse), read_only=True)
    try:
        failed = query(con, "select * from ops.alert_deliveries where channel = 'webhook'")
        delivered_to_file = query(
            con, "select * from ops.alert_deliveries where channel = 'file' and delivered_at is not null"
        )
    finally:
        con.close()
    assert failed and all(r["delivered_at"] is None and r["attempts"] == 1 for r in failed)
    assert all(r["gave_up_at"] is not None for r in failed)
    assert all("SECRET-TOKEN" not in (r["last_error"] or "") for r in failed)
    assert delivered_to_file

    # never silent: the asset check, the report and the run summary all say so
    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    check = checks["notifications_delivered"]
    assert not check.passed and check.metadata["given_up"].value == len(failed)
    report = (settings.output_dir / "report" / "index.html").read_text(encoding="utf-8")
    assert "Notifications not delivered" in report and "planwh deliveries --retry" in report
    from pipelines.lib.outputs.summary import print_summary

    print_summary(settings, result.run_id, 1.0, success=True)
    out = capsys.readouterr().out
    assert f"Notifications NOT delivered (given up after the retry window): {len(failed)}" in out
    assert "SECRET-TOKEN" not in out + report


@pytest.mark.parametrize(
    "url",
    [
        "oapi.dingtalk.com/robot/send?access_token=SECRET-TOKEN",  # the scheme forgotten
        "http://user:SECRET-TOKEN@127.0.0.1:notaport/hook",  # a malformed port
        "ftp://127.0.0.1/SECRET-TOKEN",  # not http(s)
    ],
)
def test_a_misconfigured_webhook_url_is_never_repeated_in_errors(url):
    notifier = WebhookNotifier(url, "dingtalk", timeout=2)
    with pytest.raises(RuntimeError) as raised:
        notifier.send(
            [
                dict.fromkeys(("severity", "title_zh", "title_en", "detail_zh", "detail_en"), "t")
                | {"event": "opened"}
            ],
            "planwh-key",
            2,
        )
    assert "SECRET-TOKEN" not in str(raised.value) and "PLANWH_WEBHOOK_URL" in str(raised.value)
    assert "SECRET-TOKEN" not in repr(notifier)
