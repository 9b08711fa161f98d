"""Alert lifecycle over the flags dbt computes (marts.fct_flags).

An alert is opened when a flag is first seen, updated while it persists (a change of severity or
detail is an event of its own), resolved when the flag clears, and reopened if it comes back. Re-runs
with the same flags change nothing but `last_seen_at`: alerts are never duplicated. Evaluations that
go back in time (a pinned as_of earlier than the last tracked one) leave the live history alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

import duckdb

from .settings import now_local


@dataclass
class LifecycleResult:
    opened: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    persisted: int = 0
    tracked: bool = True
    open_critical: list[dict] = field(default_factory=list)


def _fingerprint(flag: dict) -> str:
    text = "|".join(str(flag.get(k)) for k in ("severity", "subject_status", "detail_en"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def update_alerts(con: duckdb.DuckDBPyConnection, as_of: date) -> LifecycleResult:
    result = LifecycleResult()
    last = con.execute("select max(as_of_date) from ops.alerts").fetchone()[0]
    if last is not None and as_of < last:
        result.tracked = False
        result.open_critical = _open_critical(con)
        return result
    cols = [d[0] for d in con.execute("select * from marts.fct_flags limit 0").description]
    flags = [dict(zip(cols, row, strict=True)) for row in con.execute("select * from marts.fct_flags").fetchall()]
    current = {f["flag_id"]: f for f in flags}
    alerts = {
        row[0]: {"status": row[1], "fingerprint": row[2]}
        for row in con.execute("select alert_id, status, fingerprint from ops.alerts").fetchall()
    }
    now = now_local()
    con.execute("begin transaction")
    try:
        for flag_id, flag in current.items():
            fp = _fingerprint(flag)
            known = alerts.get(flag_id)
            values = [flag["plan_id"], flag["flag_type"], flag["subject_code"], flag["department_code"],
                      flag["severity"], flag["title_zh"], flag["title_en"], flag["detail_zh"], flag["detail_en"], fp]
            if known is None:
                con.execute(
                    """insert into ops.alerts (alert_id, plan_id, alert_type, subject_code, department_code, severity,
                       title_zh, title_en, detail_zh, detail_en, fingerprint, status, opened_at, last_seen_at,
                       resolved_at, as_of_date, times_seen)
                       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, null, ?, 1)""",
                    [flag_id, *values, now, now, as_of],
                )
                _event(con, flag_id, "opened", now, as_of, flag)
                result.opened.append(flag_id)
            elif known["status"] == "resolved":
                con.execute(
                    """update ops.alerts set plan_id = ?, alert_type = ?, subject_code = ?, department_code = ?,
                       severity = ?, title_zh = ?, title_en = ?, detail_zh = ?, detail_en = ?, fingerprint = ?,
                       status = 'open', opened_at = ?, last_seen_at = ?, resolved_at = null, as_of_date = ?,
                       times_seen = times_seen + 1 where alert_id = ?""",
                    [*values, now, now, as_of, flag_id],
                )
                _event(con, flag_id, "reopened", now, as_of, flag)
                result.reopened.append(flag_id)
            else:
                con.execute(
                    """update ops.alerts set plan_id = ?, alert_type = ?, subject_code = ?, department_code = ?,
                       severity = ?, title_zh = ?, title_en = ?, detail_zh = ?, detail_en = ?, fingerprint = ?,
                       last_seen_at = ?, as_of_date = ?, times_seen = times_seen + 1 where alert_id = ?""",
                    [*values, now, as_of, flag_id],
                )
                if known["fingerprint"] != fp:
                    _event(con, flag_id, "changed", now, as_of, flag)
                    result.changed.append(flag_id)
                else:
                    result.persisted += 1
        for alert_id, known in alerts.items():
            if known["status"] == "open" and alert_id not in current:
                con.execute(
                    "update ops.alerts set status = 'resolved', resolved_at = ?, as_of_date = ? where alert_id = ?",
                    [now, as_of, alert_id],
                )
                row = con.execute(
                    "select severity, title_en, title_zh from ops.alerts where alert_id = ?", [alert_id]
                ).fetchone()
                _event(con, alert_id, "resolved", now, as_of,
                       {"severity": row[0], "title_en": row[1], "title_zh": row[2],
                        "detail_en": "The condition has cleared.", "detail_zh": "该问题已消除。"})
                result.resolved.append(alert_id)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    result.open_critical = _open_critical(con)
    return result


def _event(con, alert_id: str, event: str, now, as_of: date, flag: dict) -> None:
    con.execute(
        """insert into ops.alert_events (alert_id, event, event_at, as_of_date, severity, title_en, title_zh,
           detail_en, detail_zh) values (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [alert_id, event, now, as_of, flag.get("severity"), flag.get("title_en"), flag.get("title_zh"),
         flag.get("detail_en"), flag.get("detail_zh")],
    )


def _open_critical(con) -> list[dict]:
    rows = con.execute(
        """select a.alert_id, a.subject_code, a.department_code, a.title_zh, a.title_en, a.detail_zh, a.detail_en,
                  f.reported_value, f.target_value, f.unit, a.opened_at
           from ops.alerts a left join marts.fct_flags f on f.flag_id = a.alert_id
           where a.status = 'open' and a.severity = 'critical' order by a.alert_id"""
    ).fetchall()
    keys = ["alert_id", "subject_code", "department_code", "title_zh", "title_en", "detail_zh", "detail_en",
            "reported_value", "target_value", "unit", "opened_at"]
    return [dict(zip(keys, r, strict=True)) for r in rows]
