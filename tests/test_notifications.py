"""Feedback that reaches each department, through the delivery outbox: receipts' notices on the
department's own webhook (local test servers on 127.0.0.1), bad department settings reported one line
each, alerts that name the responsible department. Deadline reminders through real refreshes are in
tests/test_alerts.py (once per period and department); their SQL in the dbt unit tests."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from pipelines.lib.alerts import departments as notices
from pipelines.lib.alerts.notify import DeliveryPolicy, WebhookNotifier, deliver_due, enqueue_alert_events
from pipelines.lib.ingest.inbox import discover_and_archive
from pipelines.lib.ingest.load import process_pending
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.settings import now_local, settings_problems
from pipelines.lib.submissions.receipts import department_names
from pipelines.lib.warehouse.connection import connect
from tests.conftest import query
from tests.test_alerts import Hook
from tests.test_ingest_corpus import write_backfill


@pytest.fixture
def hooks():
    made = [Hook(), Hook()]
    yield made
    for hook in made:
        hook.close()


def write_config(tmp_path, entries: dict, mode: int = 0o600) -> str:
    lines = []
    for code, entry in entries.items():
        lines.append(f'[departments."{code}"]')
        lines.extend(f'{key} = "{value}"' for key, value in entry.items())
    path = tmp_path / "notify.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(mode)
    return str(path)


def test_bad_department_webhook_settings_are_reported_one_line_each(tmp_path, monkeypatch):
    config = write_config(
        tmp_path,
        {
            "370102_STATS": {"url": "https://oapi.dingtalk.com/robot/send?access_token=SECRET-TOKEN"},
            "370102_NOPE": {"url": "https://example.org/hook?access_token=SECRET-TOKEN"},
            "370102_EDU": {"format": "wecom"},
            "370102_FIN": {"url": "oapi.dingtalk.com/robot/send?access_token=SECRET-TOKEN"},
            "370102_URBAN": {"url": "https://example.org/hook?access_token=SECRET-TOKEN", "format": "slack"},
        },
        mode=0o644,
    )
    monkeypatch.setenv("PLANWH_NOTIFY_CONFIG", config)
    problems = [p for p in settings_problems(check_paths=False) if "PLANWH_NOTIFY_CONFIG" in p]
    assert len(problems) == 5, problems
    text = "\n".join(problems)
    assert "SECRET-TOKEN" not in text and "example.org" not in text  # never a configured URL
    assert "chmod 600" in text  # the file holds tokens: owner-only
    for needle in (
        "370102_NOPE",
        "370102_EDU] has no url",
        "370102_FIN] url is not an http(s) URL",
        "'slack'",
    ):
        assert needle in text, needle
    # the good entry is used; a bad one never takes the others down
    from tests.conftest import REPO

    channels = notices.load_channels(set(department_names(Catalog.load(REPO / "dbt_project" / "seeds"))))
    assert set(channels.webhooks) == {"370102_STATS"} and len(channels.problems) == 5
    monkeypatch.setenv("PLANWH_NOTIFY_CONFIG", str(tmp_path / "missing.toml"))
    assert any("does not exist" in p for p in settings_problems(check_paths=False))
    (tmp_path / "broken.toml").write_text("[departments\n", encoding="utf-8")
    monkeypatch.setenv("PLANWH_NOTIFY_CONFIG", str(tmp_path / "broken.toml"))
    assert any("not valid TOML" in p for p in settings_problems(check_paths=False))


def test_each_department_hears_of_its_own_files(fresh_warehouse, hooks, tmp_path, monkeypatch):
    settings = fresh_warehouse
    catalog = Catalog.load(settings.seeds_dir)
    names = department_names(catalog)
    stats_hook, fin_hook = hooks
    config = write_config(
        tmp_path,
        {
            "370102_STATS": {"url": stats_hook.url, "format": "dingtalk"},
            "370102_FIN": {"url": fin_hook.url},
            "370102_NOPE": {"url": fin_hook.url},
            "370102_EDU": {"format": "wecom"},
        },
    )
    monkeypatch.setenv("PLANWH_NOTIFY_CONFIG", config)
    channels = notices.load_channels(set(names))
    assert set(channels.webhooks) == {"370102_STATS", "370102_FIN"}
    assert len(channels.problems) == 2 and not any("SECRET-TOKEN" in p for p in channels.problems)
    assert channels.webhooks["370102_STATS"].channel == "webhook:370102_STATS"

    stats = settings.inbox / "370102_STATS"
    fin = settings.inbox / "370102_FIN"
    stats.mkdir(parents=True)
    fin.mkdir(parents=True)
    (stats / "2024年度.csv").write_text(
        "指标编号,统计期,数值\nI23,2024,81844\nX99,2024,1\n", encoding="utf-8"
    )
    (fin / "2024Q2季度.csv").write_text("指标编号,统计期,数值\nI03,2024Q2,962100\n", encoding="utf-8")
    history = stats / "2021年度（历史）.csv"  # migrated from the e-mail process: a receipt, no notice
    history.write_text("指标编号,统计期,数值\nI23,2021,69000\n", encoding="utf-8")
    write_backfill(settings.raw_dir, [("370102_STATS", history)])
    discover_and_archive(settings, catalog)
    process_pending(settings, catalog)

    with connect(settings) as con:
        recorded = query(
            con,
            "select department_code, kind from ops.deliveries where channel = ? order by department_code",
            [notices.FILE_CHANNEL],
        )
        summary = notices.deliver(con, settings, channels)
        again = notices.deliver(con, settings, channels)
        keys = query(con, "select channel, message_key from ops.deliveries where kind = 'receipt' order by 1")
    assert [(r["department_code"], r["kind"]) for r in recorded] == [
        ("370102_FIN", "receipt"),
        ("370102_STATS", "receipt"),
    ]
    assert summary[notices.FILE_CHANNEL]["delivered"] == 2
    assert (
        summary["webhook:370102_STATS"]["delivered"] == 1 and summary["webhook:370102_FIN"]["delivered"] == 1
    )
    assert all(info["delivered"] == 0 for info in again.values())  # each notice is sent once
    # one idempotency key per notice, the same on every channel
    assert len({k["message_key"] for k in keys}) == 2 and len(keys) == 4

    # the statistics bureau's robot (DingTalk markdown) hears of its file only, with the rejected row
    assert len(stats_hook.bodies) == 1 and stats_hook.bodies[0]["msgtype"] == "markdown"
    text = stats_hook.bodies[0]["markdown"]["text"]
    assert "2024年度.csv" in text and "X99" in text and "拒收 1 行" in text and "2024Q2季度.csv" not in text
    assert "区统计局" in text and "receipts/370102_STATS/" in text and "报送回执" in text
    # the finance bureau's generic endpoint gets the notice as JSON: its value awaits an explanation
    body = fin_hook.bodies[0]
    events = fin_hook.events()
    assert [e["event"] for e in events] == ["receipt"] and events[0]["department_code"] == "370102_FIN"
    assert body["idempotency_key"] == events[0]["idempotency_key"]
    assert "needs an explanation" in events[0]["title_en"] and "万元" in events[0]["detail_zh"]
    assert events[0]["department_name_zh"] == "区财政局"

    log = (settings.output_dir / "notifications" / "departments.jsonl").read_text(encoding="utf-8")
    assert log.count("\n") == 2 and "SECRET-TOKEN" not in log
    receipts = sorted(p.name for p in (settings.output_dir / "receipts").rglob("*.json"))
    assert len(receipts) == 3  # the migrated file has its receipt too

    # fanning out again queues nothing: each notice is on each channel once
    with connect(settings) as con:
        assert notices.fan_out(con, channels, DeliveryPolicy()) == 0


def test_a_failing_department_webhook_is_retried_with_back_off_and_never_leaks_its_token(
    fresh_warehouse, hooks
):
    settings = fresh_warehouse
    hook = hooks[0]
    hook.fail = True
    channels = notices.Channels(
        {"370102_STATS": WebhookNotifier(hook.url, "wecom", channel="webhook:370102_STATS", setting="X")}
    )
    reminder = {
        "idempotency_key": "planwh-reminder-test",
        "event": "reminder",
        "department_code": "370102_STATS",
        "subject": "2026Q4",
        "severity": "warning",
        "title_zh": "催报",
        "title_en": "Reminder",
        "detail_zh": "尚未报送",
        "detail_en": "not yet received",
        "text_zh": "催报：尚未报送",
        "text_en": "Reminder: not yet received",
    }
    now = now_local()
    with connect(settings) as con:
        assert notices.record(con, [reminder], notices.REMINDER, now) == 1
        assert notices.record(con, [reminder], notices.REMINDER, now) == 0  # once per department and period
        failed = notices.deliver(con, settings, channels, now=now)
        assert failed["webhook:370102_STATS"]["failed"] == 1 and "SECRET-TOKEN" not in json.dumps(failed)
        assert failed[notices.FILE_CHANNEL]["delivered"] == 1  # the log does not wait for the webhook
        hook.fail = False
        # backing off: not tried again at once, then delivered once the back-off has passed
        assert notices.deliver(con, settings, channels, now=now)["webhook:370102_STATS"]["delivered"] == 0
        later = now + timedelta(minutes=6)
        assert notices.deliver(con, settings, channels, now=later)["webhook:370102_STATS"]["delivered"] == 1
        attempts = con.execute(
            "select attempts, last_error from ops.deliveries where channel = 'webhook:370102_STATS'"
        ).fetchall()
    assert attempts == [(2, None)]
    assert hook.bodies[0]["msgtype"] == "markdown" and "催报" in hook.bodies[0]["markdown"]["content"]
    assert "planwh-reminder-test" in hook.bodies[0]["markdown"]["content"]


def test_alert_notifications_name_the_responsible_department(fresh_warehouse, hooks):
    settings = fresh_warehouse
    names = department_names(Catalog.load(settings.seeds_dir))
    with connect(settings) as con:
        con.execute(
            """insert into ops.alerts (alert_id, plan_id, alert_type, subject_code, department_code, severity, status,
                      title_zh, title_en, opened_at, last_seen_at, times_seen)
               values ('indicator|370102_14FYP|I22', '370102_14FYP', 'binding_indicator', 'I22', '370102_URBAN',
                       'critical', 'open', 'I22 城区绿化覆盖率（约束性）', 'I22 Urban green coverage rate (binding)',
                       now(), now(), 1)"""
        )
        con.execute(
            """insert into ops.alert_events (alert_id, event, event_at, severity, title_en, title_zh, detail_en, detail_zh)
               values ('indicator|370102_14FYP|I22', 'opened', ?, 'critical', 'I22', 'I22', 'off track', '偏离目标')""",
            [now_local()],
        )
        policy = DeliveryPolicy()
        enqueue_alert_events(con, ["webhook", "webhook2"], policy, departments=names)
        deliver_due(
            con,
            [
                WebhookNotifier(hooks[0].url, "dingtalk"),
                WebhookNotifier(hooks[1].url, "generic", channel="webhook2"),
            ],
            policy,
        )
    text = hooks[0].bodies[0]["markdown"]["text"]
    assert "区城市管理局" in text and "370102_URBAN" in text and "责任部门" in text
    event = hooks[1].events()[0]
    assert event["department_code"] == "370102_URBAN"
    assert event["department_name_en"] == "District Urban Management Bureau"
