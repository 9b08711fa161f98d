"""Alert lifecycle over the flags dbt computes (marts.fct_flags).

An alert is opened when a flag is first seen, updated while it persists (a change of severity or
detail is an event of its own), resolved when the flag clears, and reopened if it comes back. Re-runs
with the same flags change nothing but `last_seen_at`: alerts are never duplicated. Evaluations that
go back in time (a pinned as_of earlier than the last tracked one) leave the live history alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb

from ..settings import now_local, today_local


@dataclass
class LifecycleResult:
    opened: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    persisted: int = 0
    tracked: bool = True
    open_critical: list[dict] = field(default_factory=list)


def update_alerts(
    con: duckdb.DuckDBPyConnection, as_of: date, replay: bool = False, now: datetime | None = None
) -> LifecycleResult:
    """Apply the lifecycle in one transaction, set-based (a province has thousands of flags). `now` stamps
    the events (default: the clock); the caller that then queues them passes the same instant.

    Not when evaluating an earlier date than the last tracked one or a date still to come, nor during a
    replay with a knowledge cutoff (known_at): an exploration must never reopen, resolve or notify live
    alerts."""
    result = LifecycleResult()
    last = con.execute("select max(as_of_date) from ops.alerts").fetchone()[0]
    if replay or as_of > today_local() or (last is not None and as_of < last):
        result.tracked = False
        result.open_critical = _open_critical(con)
        return result
    now = now or now_local()
    con.execute("begin transaction")
    try:
        con.execute(
            """create or replace temp table current_flags as
               select flag_id, plan_id, flag_type, subject_code, department_code, severity, title_zh, title_en,
                      detail_zh, detail_en,
                      -- what a change is: a red project's detail counts days overdue and the schedule share,
                      -- which move every day; only its reported progress is news
                      md5(concat_ws('|', severity, subject_status,
                          case when flag_type = 'red_project' then coalesce(cast(reported_value as varchar), '-')
                               else detail_en end)) as fingerprint
               from marts.fct_flags"""
        )
        con.execute(
            """create or replace temp table flag_changes as
               select f.*, case when a.alert_id is null then 'opened'
                                when a.status = 'resolved' then 'reopened'
                                when a.fingerprint is distinct from f.fingerprint then 'changed' end as event
               from current_flags f left join ops.alerts a on a.alert_id = f.flag_id"""
        )
        con.execute(
            """create or replace temp table cleared as
               select * from ops.alerts
               where status = 'open' and alert_id not in (select flag_id from current_flags)"""
        )
        con.execute(
            """insert into ops.alert_events (alert_id, event, event_at, as_of_date, severity, title_en, title_zh,
                                             detail_en, detail_zh)
               select flag_id, event, ?, ?, severity, title_en, title_zh, detail_en, detail_zh
               from flag_changes where event is not null
               union all
               select alert_id, 'resolved', ?, ?, severity, title_en, title_zh, 'The condition has cleared.', '该问题已消除。'
               from cleared
               order by 1""",
            [now, as_of, now, as_of],
        )
        con.execute(
            """update ops.alerts set plan_id = c.plan_id, alert_type = c.flag_type, subject_code = c.subject_code,
                      department_code = c.department_code, severity = c.severity, title_zh = c.title_zh,
                      title_en = c.title_en, detail_zh = c.detail_zh, detail_en = c.detail_en,
                      fingerprint = c.fingerprint, status = 'open', last_seen_at = ?, as_of_date = ?,
                      times_seen = ops.alerts.times_seen + 1,
                      opened_at = case when c.event = 'reopened' then ? else ops.alerts.opened_at end,
                      resolved_at = case when c.event = 'reopened' then null else ops.alerts.resolved_at end
               from flag_changes c
               where ops.alerts.alert_id = c.flag_id and c.event is distinct from 'opened'""",
            [now, as_of, now],
        )
        con.execute(
            """insert into ops.alerts (alert_id, plan_id, alert_type, subject_code, department_code, severity,
                      title_zh, title_en, detail_zh, detail_en, fingerprint, status, opened_at, last_seen_at,
                      resolved_at, as_of_date, times_seen)
               select flag_id, plan_id, flag_type, subject_code, department_code, severity, title_zh, title_en,
                      detail_zh, detail_en, fingerprint, 'open', ?, ?, null, ?, 1
               from flag_changes where event = 'opened'""",
            [now, now, as_of],
        )
        con.execute(
            """update ops.alerts set status = 'resolved', resolved_at = ?, as_of_date = ?
               where alert_id in (select alert_id from cleared)""",
            [now, as_of],
        )
        changes = con.execute("select event, flag_id from flag_changes").fetchall()
        cleared = [r[0] for r in con.execute("select alert_id from cleared order by alert_id").fetchall()]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    for event, flag_id in changes:
        {"opened": result.opened, "reopened": result.reopened, "changed": result.changed}.get(
            event, []
        ).append(flag_id)
    result.persisted = sum(1 for event, _ in changes if event is None)
    result.resolved = cleared
    result.open_critical = _open_critical(con)
    return result


def _open_critical(con) -> list[dict]:
    rows = con.execute(
        """select a.alert_id, a.subject_code, a.department_code, a.title_zh, a.title_en, a.detail_zh, a.detail_en,
                  f.reported_value, f.target_value, f.unit, a.opened_at
           from ops.alerts a left join marts.fct_flags f on f.flag_id = a.alert_id
           where a.status = 'open' and a.severity = 'critical' order by a.alert_id"""
    ).fetchall()
    keys = [
        "alert_id",
        "subject_code",
        "department_code",
        "title_zh",
        "title_en",
        "detail_zh",
        "detail_en",
        "reported_value",
        "target_value",
        "unit",
        "opened_at",
    ]
    return [dict(zip(keys, r, strict=True)) for r in rows]
