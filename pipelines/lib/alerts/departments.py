"""Feedback that reaches each department: a notice per processed file (the receipt's verdict and first
problems) and deadline reminders (催报), on the department's own channel, through the delivery outbox.

Configuration: PLANWH_NOTIFY_CONFIG names a TOML file (webhook URLs carry tokens: keep it 0600), one
table per department, checked with the other settings (`settings.notify_config`, one line per bad entry):

    [departments.370102_STATS]
    url = "https://oapi.dingtalk.com/robot/send?access_token=..."
    format = "dingtalk"   # generic | dingtalk | wecom (default generic), as for the alerts

How a notice travels (`pipelines/lib/alerts/notify.py`, the outbox ops.deliveries):
- a producer records it once on the `file:departments` channel (<output>/notifications/departments.jsonl):
  receipts' notices when a batch of files is loaded (in the same transaction), reminders by the
  department notifications step. The idempotency key is the receipt's submission id, or the department
  and period of a reminder, so a file processed again or a reminder found by every run of the window is
  queued once;
- `fan_out()` queues each recorded notice on its department's webhook channel `webhook:<department_code>`
  (a department configured later does not receive history older than the give-up window, or a day);
- `deliver_due()` sends them with the outbox's deadline, back-off and give-up, like the alerts.
Files migrated from the earlier process (received_at_source = backfill) get a receipt but no notice: a
department is told about what it sends, not about its history. Temporary files (verdict ignored) neither.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from ..settings import NOTIFY_CONFIG, Settings, notify_config, now_local
from ..submissions.receipts import VERDICTS
from .notify import DeliveryPolicy, FileNotifier, Notifier, WebhookNotifier, deliver_due, enqueue, message_key

FILE_CHANNEL = "file:departments"
RECEIPT = "receipt"
REMINDER = "reminder"
KINDS = (RECEIPT, REMINDER)
MAX_PROBLEMS = 3  # problems quoted in a receipt notice; the receipt has them all
MAX_DETAIL = 1500  # characters of a notice's detail (chat robots cap message sizes)


def webhook_channel(department_code: str) -> str:
    return f"webhook:{department_code}"


@dataclass
class Channels:
    webhooks: dict[str, WebhookNotifier] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # one line each, never quoting a URL


def load_channels(departments: set[str] | None = None, path: str | None = None) -> Channels:
    """The departments' webhooks from the PLANWH_NOTIFY_CONFIG file (none when unset); bad entries are
    left out and described in `problems` (the settings check reports the same lines)."""
    found, problems = notify_config(path, departments)
    return Channels(
        {
            code: WebhookNotifier(
                url, fmt, channel=webhook_channel(code), setting=f"{NOTIFY_CONFIG} [departments.{code}] url"
            )
            for code, (url, fmt) in found.items()
        },
        problems,
    )


def notifiers(settings: Settings, channels: Channels) -> list[Notifier]:
    return [
        FileNotifier(settings.output_dir / "notifications" / "departments.jsonl", channel=FILE_CHANNEL),
        *channels.webhooks.values(),
    ]


def _cap(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def _message(notice: dict) -> dict:
    """The chat line of a notice: its title and detail, in Chinese and English."""
    return {
        **notice,
        "text_zh": f"{notice['title_zh']}：{notice['detail_zh']}",
        "text_en": f"{notice['title_en']}: {notice['detail_en']}",
    }


def receipt_notice(receipt: dict, names: tuple[str, str] | None = None) -> dict:
    """The notice of one receipt (receipts.build_receipt): verdict, counts, the first problems, where the rest is."""
    zh, en, _color = VERDICTS[receipt["verdict"]]
    open_issues = [i for i in receipt["issues"] if i["severity"] == "error" or i["needs_explanation"]]
    problems = sorted(open_issues, key=lambda i: (i["severity"] != "error", not i["needs_explanation"]))
    shown = problems[:MAX_PROBLEMS]
    where = f"receipts/{receipt['department_code']}/{receipt['submission_id']}.html"
    detail_zh = (
        f"接收 {receipt['rows_accepted']} 行，待说明 {receipt['rows_pending_explanation']} 行，"
        f"拒收 {receipt['rows_rejected']} 行。" + "".join(f" {i['message_zh']}" for i in shown)
    )
    detail_en = (
        f"{receipt['rows_accepted']} rows accepted, {receipt['rows_pending_explanation']} awaiting an explanation, "
        f"{receipt['rows_rejected']} rejected." + "".join(f" {i['message_en']}" for i in shown)
    )
    if len(problems) > len(shown):
        detail_zh += f" 另有 {len(problems) - len(shown)} 个问题。"
        detail_en += f" {len(problems) - len(shown)} more problem(s)."
    names = names or (receipt.get("department_name_zh"), receipt.get("department_name_en"))
    return _message(
        {
            "idempotency_key": message_key(RECEIPT, receipt["submission_id"]),
            "source_id": receipt["submission_id"],
            "event": RECEIPT,
            "department_code": receipt["department_code"],
            "department_name_zh": names[0],
            "department_name_en": names[1],
            "subject": receipt["submission_id"],
            "original_name": receipt["original_name"],
            "verdict": receipt["verdict"],
            "severity": "info" if receipt["verdict"] == "accepted" else "warning",
            "title_zh": f"报送回执：{receipt['original_name']}（{zh}）",
            "title_en": f"Receipt: {receipt['original_name']} ({en.lower()})",
            "detail_zh": _cap(detail_zh) + f" 完整回执：{where}",
            "detail_en": _cap(detail_en) + f" Full receipt: {where}",
        }
    )


def receipt_notices(receipts: list[dict], sources: dict[str, str], departments: dict) -> list[dict]:
    """Notices for the receipts of files the system observed arriving (not migrated history, not
    temporary files), of known departments (`departments`: code -> names)."""
    return [
        receipt_notice(r, departments[r["department_code"]])
        for r in receipts
        if r["department_code"] in departments
        and r["verdict"] in VERDICTS
        and r["verdict"] != "ignored"
        and sources.get(r["submission_id"], "observed") != "backfill"
    ]


def reminder_notices(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The reminders marts.fct_submission_reminders says are due on its evaluation date."""
    cursor = con.execute(
        """select reminder_id, plan_id, department_code, department_name_zh, department_name_en, period, due_date,
                  days_to_due, items_owed, items_outstanding, items_awaiting_explanation, items_outstanding_zh,
                  items_outstanding_en, as_of_date
           from marts.fct_submission_reminders order by department_code, period"""
    )
    cols = [c[0] for c in cursor.description]
    notices = []
    for row in cursor.fetchall():
        r = dict(zip(cols, row, strict=True))
        awaiting = r["items_awaiting_explanation"]
        notices.append(
            _message(
                {
                    "idempotency_key": message_key(REMINDER, r["department_code"], r["period"]),
                    "source_id": r["reminder_id"],
                    "event": REMINDER,
                    "plan_id": r["plan_id"],
                    "department_code": r["department_code"],
                    "department_name_zh": r["department_name_zh"],
                    "department_name_en": r["department_name_en"],
                    "subject": r["period"],
                    "period": r["period"],
                    "due_date": r["due_date"],
                    "severity": "warning",
                    "title_zh": f"催报：{r['period']} 报送截止 {r['due_date']}（还有 {r['days_to_due']} 天）",
                    "title_en": f"Reminder: {r['period']} is due on {r['due_date']} (in {r['days_to_due']} days)",
                    "detail_zh": _cap(
                        f"尚未报送 {r['items_outstanding']} 项（共应报 {r['items_owed']} 项）：{r['items_outstanding_zh']}。"
                        + (f" 另有 {awaiting} 项数值待补充说明。" if awaiting else "")
                    ),
                    "detail_en": _cap(
                        f"{r['items_outstanding']} of {r['items_owed']} item(s) not yet received: "
                        f"{r['items_outstanding_en']}."
                        + (f" {awaiting} value(s) also await an explanation." if awaiting else "")
                    ),
                    "as_of_date": r["as_of_date"],
                }
            )
        )
    return notices


def record(
    con: duckdb.DuckDBPyConnection, notices: list[dict], kind: str, now: datetime | None = None
) -> int:
    """Record notices on the department log channel (the record every webhook is served from); a notice
    already recorded (same idempotency key) is not recorded again. Returns how many are new."""
    return enqueue(con, FILE_CHANNEL, kind, notices, now)


def fan_out(
    con: duckdb.DuckDBPyConnection, channels: Channels, policy: DeliveryPolicy, now: datetime | None = None
) -> int:
    """Queue each recorded notice on its department's webhook, once; a webhook configured later does not
    receive notices older than the give-up window (at least a day: DeliveryPolicy.history_since)."""
    now = now or now_local()
    since = policy.history_since(now)
    total = 0
    for code, notifier in channels.webhooks.items():
        for kind in KINDS:
            rows = con.execute(
                """select payload from ops.deliveries f
                   where f.channel = ? and f.kind = ? and f.department_code = ? and f.created_at >= ?
                     and not exists (select 1 from ops.deliveries w
                                     where w.channel = ? and w.message_key = f.message_key)
                   order by f.created_at, f.message_key""",
                [FILE_CHANNEL, kind, code, since, notifier.channel],
            ).fetchall()
            total += enqueue(con, notifier.channel, kind, [json.loads(r[0]) for r in rows], now)
    return total


def deliver(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    channels: Channels,
    policy: DeliveryPolicy | None = None,
    now: datetime | None = None,
) -> dict[str, dict]:
    """Fan recorded notices out to the departments' webhooks and send what is due on every department channel."""
    policy = policy or DeliveryPolicy.from_settings(settings)
    fan_out(con, channels, policy, now)
    return deliver_due(con, notifiers(settings, channels), policy, now)
