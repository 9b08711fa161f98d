"""Read the published snapshot (never the working file, never the writer lock).

The refresh swaps the published file by atomic rename: a connection opened here reads one consistent
snapshot, and each request opens its own, so the next request sees the next refresh. Every query
that returns a department's data takes the department as a parameter from the caller's principal.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from pipelines.lib.warehouse.publish import open_published, published_info

OPEN_STATUSES = ("not_due", "incomplete", "missing")


def _dicts(cursor) -> list[dict]:
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]


class Snapshot:
    def __init__(self, path: Path, quiet_seconds: float = 60.0):
        self.path = Path(path)
        self.quiet_seconds = quiet_seconds  # the inbox's: a file is judged by the first scan after it
        self._local = threading.local()  # one connection per request (requests run in worker threads)

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def info(self) -> dict:
        """When the snapshot was published and which evaluation date it holds."""
        return published_info(self.path)

    @contextmanager
    def session(self) -> Iterator[None]:
        """Answer every query of a page from one connection (one snapshot, one open file)."""
        if getattr(self._local, "con", None) is not None:
            yield
            return
        with self._open() as con:
            self._local.con = con
            try:
                yield
            finally:
                self._local.con = None

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        shared = getattr(self._local, "con", None)
        if shared is not None:
            yield shared
            return
        with self._open() as con:
            yield con

    @contextmanager
    def _open(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        if not self.path.exists():
            yield None
            return
        try:
            con = open_published(self.path)
        except duckdb.Error:
            yield None  # mid-swap or unreadable: pages say "no published data" rather than fail
            return
        try:
            yield con
        finally:
            con.close()

    def query(self, sql: str, params: list | None = None) -> list[dict]:
        with self.connect() as con:
            if con is None:
                return []
            try:
                return _dicts(con.execute(sql, params or []))
            except duckdb.CatalogException:
                return []  # a snapshot from before this table existed

    # ------------------------------------------------------------------ department views
    def open_obligations(self, department_code: str) -> list[dict]:
        """Periods the department still owes (open or overdue), earliest deadline first."""
        marks = ", ".join("?" for _ in OPEN_STATUSES)
        return self.query(
            f"""select * from marts.fct_submission_compliance
                where department_code = ? and compliance_status in ({marks})
                order by due_date, submission_kind""",
            [department_code, *OPEN_STATUSES],
        )

    def recent_obligations(self, department_code: str, limit: int = 8) -> list[dict]:
        return self.query(
            """select * from marts.fct_submission_compliance
               where department_code = ? order by due_date desc, submission_kind limit ?""",
            [department_code, limit],
        )

    def outstanding_items(self, department_code: str, period: str | None = None) -> list[dict]:
        sql = """select * from marts.fct_submission_obligation_items
                 where department_code = ? and not is_delivered"""
        params: list = [department_code]
        if period:
            sql += " and period = ?"
            params.append(period)
        return self.query(sql + " order by due_date, submission_kind, item_code", params)

    def obligations(self, department_code: str, period: str | None) -> list[dict]:
        """Per kind: what is owed for a period (or every period begun), with the items."""
        sql = "select * from marts.fct_submission_compliance where department_code = ?"
        params: list = [department_code]
        if period:
            sql += " and period = ?"
            params.append(period)
        periods = self.query(sql + " order by due_date, submission_kind", params)
        items_sql = "select * from marts.fct_submission_obligation_items where department_code = ?"
        items = self.query(items_sql + (" and period = ?" if period else ""), params)
        by_obligation: dict[str, list[dict]] = {}
        for item in items:
            by_obligation.setdefault(item["obligation_id"], []).append(item)
        for row in periods:
            row["items"] = sorted(by_obligation.get(row["obligation_id"], []), key=lambda i: i["item_code"])
        return periods

    def periods(self, department_code: str | None = None) -> list[str]:
        sql = "select distinct period from marts.fct_submission_compliance"
        params: list = []
        if department_code:
            sql += " where department_code = ?"
            params.append(department_code)
        return [r["period"] for r in self.query(sql + " order by period desc", params)]

    def default_period(self, department_code: str | None = None) -> str | None:
        """The period a person most likely means: the department's earliest open obligation, else the
        latest period whose deadline has passed on the evaluation date."""
        if department_code:
            open_rows = self.open_obligations(department_code)
            if open_rows:
                return open_rows[0]["period"]
        sql = "select period from marts.fct_submission_compliance where due_date <= as_of_date"
        params: list = []
        if department_code:
            sql += " and department_code = ?"
            params.append(department_code)
        rows = self.query(sql + " order by due_date desc, period desc limit 1", params)
        return rows[0]["period"] if rows else None

    def submissions(self, department_code: str | None, limit: int = 30, offset: int = 0) -> list[dict]:
        """Processed files, latest first; limit and offset page through them."""
        sql = "select * from marts.fct_submissions"
        params: list = []
        if department_code is not None:
            sql += " where department_code = ?"
            params.append(department_code)
        return self.query(
            sql + " order by received_at desc, submission_id limit ? offset ?", [*params, limit, offset]
        )

    def count_submissions(self, department_code: str) -> int:
        rows = self.query(
            "select count(*) as n from marts.fct_submissions where department_code = ?", [department_code]
        )
        return rows[0]["n"] if rows else 0

    def submission(self, submission_id: str, department_code: str | None) -> dict | None:
        """One processed file and its issues; department_code None (administrators) sees any."""
        sql = "select * from marts.fct_submissions where submission_id = ?"
        params: list = [submission_id]
        if department_code is not None:
            sql += " and department_code = ?"
            params.append(department_code)
        rows = self.query(sql, params)
        if not rows:
            return None
        row = rows[0]
        row["issues"] = self.query(
            """select * from marts.fct_submission_issues where submission_id = ?
               order by scope, sheet_name nulls first, source_row nulls first, reason_code""",
            [submission_id],
        )
        return row

    def forwarded_file(
        self, department_code: str, name: str, sha256: str, written_at: datetime
    ) -> tuple[dict | None, bool]:
        """What the pipeline recorded for a file the portal wrote into the inbox at `written_at`, and
        whether that is another file's receipt. A file has its own receipt, found by its name (which
        carries the upload id; a re-submission's id ends in -rN, so the id cannot be computed in advance),
        unless its content was the department's latest word when it was written: then the pipeline took it
        as no change, and the receipt of that word is what counts (the inbox's rule,
        pipelines/lib/ingest/inbox.py KnownReceipts) — once a scan of the inbox has judged the file (a scan
        that started a quiet period after it was written); until then it is not
        read yet, whatever the snapshot's latest word (a newer file may be on its way to the ledger)."""
        own = self.query(
            """select * from marts.fct_submissions where department_code = ? and original_name = ?
               order by received_at desc, submission_id desc limit 1""",
            [department_code, name],
        )
        if own:
            return own[0], False
        judged = self.query(
            "select count(*) as n from ops.refresh_runs where stage = 'inbox_scan' and started_at >= ?",
            [written_at + timedelta(seconds=self.quiet_seconds)],
        )
        if not judged or not judged[0]["n"]:
            return None, False  # not read yet
        latest = self.query(
            """select submission_id, file_sha256 from raw.receipts
               where department_code = ? and file_sha256 <> '' and discovery_issue is null and received_at <= ?
               order by received_at desc, submission_id desc limit 1""",
            [department_code, written_at],
        )
        if not latest or latest[0]["file_sha256"] != sha256:
            return None, False  # not read yet
        same = self.query(
            "select * from marts.fct_submissions where submission_id = ?", [latest[0]["submission_id"]]
        )
        return (same[0], True) if same else (None, False)

    def recorded_names(self, department_code: str, names: list[str]) -> set[str]:
        """Which of these inbox file names the published ledger holds (files the pipeline recorded)."""
        if not names:
            return set()
        rows = self.query(
            """select distinct original_name from marts.fct_submissions
               where department_code = ? and list_contains(?, original_name)""",
            [department_code, list(names)],
        )
        return {r["original_name"] for r in rows}

    def open_rejections(self, department_code: str | None) -> list[dict]:
        """Rejected rows of owed items not delivered since, and whole files rejected after the
        department's last accepted file: what is still to be corrected."""
        dept = "and issues.department_code = ?" if department_code else ""
        params = [department_code] if department_code else []
        rows = self.query(
            f"""
            with last_accepted as (
                select department_code, max(received_at) as received_at from marts.fct_submissions
                where status <> 'rejected' group by department_code
            )
            select issues.*, items.item_name_zh, items.item_name_en, items.due_date, items.item_status
            from marts.fct_submission_issues as issues
            inner join marts.fct_submission_obligation_items as items
                on issues.department_code = items.department_code
                and issues.record_kind = items.submission_kind
                and issues.record_period = items.period
                and issues.record_code = items.item_code
            where issues.severity = 'error' and issues.scope = 'row' {dept}
                and (items.last_received_at is null or items.last_received_at < issues.received_at)
            union all by name
            select issues.*, null as item_name_zh, null as item_name_en, null as due_date,
                   null as item_status
            from marts.fct_submission_issues as issues
            left join last_accepted
                on issues.department_code = last_accepted.department_code
            where issues.severity = 'error' and issues.scope = 'file' {dept}
                and (last_accepted.received_at is null or last_accepted.received_at < issues.received_at)
            """,
            params + params,
        )
        return sorted(rows, key=lambda r: (str(r["received_at"]), r["submission_id"]), reverse=True)

    def pending_values(self, department_code: str) -> list[dict]:
        """Current values of the department loaded as pending_explanation (they do not count until
        explained), with the soft-check messages of the row they came from."""
        from pipelines.lib.submissions.reasons import REASONS

        rows = self.query(
            """
            select values.indicator_value_key, values.plan_id, values.indicator_code, values.period,
                   values.value_type, values.value, values.unit_reported, values.review_reasons,
                   values.submission_id, values.original_name, values.sheet_name, values.source_row,
                   values.received_at, indicators.name_zh, indicators.name_en, indicators.unit
            from marts.fct_indicator_values as values
            left join marts.dim_indicators as indicators
                on values.plan_id = indicators.plan_id and values.indicator_code = indicators.indicator_code
            where values.department_code = ? and values.review_state = 'pending_explanation'
            order by values.period, values.indicator_code
            """,
            [department_code],
        )
        if not rows:
            return rows
        issues = self.query(
            """select submission_id, sheet_name, source_row, reason_code, message_zh, message_en
               from marts.fct_submission_issues
               where department_code = ? and severity = 'warning' and source_row is not null""",
            [department_code],
        )
        by_row: dict[tuple, list[dict]] = {}
        for issue in issues:
            if getattr(REASONS.get(issue["reason_code"]), "needs_explanation", False):
                key = (issue["submission_id"], issue["sheet_name"] or "", issue["source_row"])
                by_row.setdefault(key, []).append(issue)
        for row in rows:
            row["messages"] = by_row.get(
                (row["submission_id"], row["sheet_name"] or "", row["source_row"]), []
            )
        return rows

    def department_names(self) -> dict[str, tuple[str, str]]:
        rows = self.query(
            "select distinct department_code, department_name_zh, department_name_en from marts.dim_departments"
        )
        return {r["department_code"]: (r["department_name_zh"], r["department_name_en"]) for r in rows}

    # ------------------------------------------------------------------ administrators
    def compliance_for_period(self, period: str) -> list[dict]:
        return self.query(
            """select * from marts.fct_submission_compliance where period = ?
               order by department_code, submission_kind""",
            [period],
        )
