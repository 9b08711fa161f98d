"""The working DuckDB file: schema of the tables Python writes, connections, and the writer lock.

Only one process may write the file (DuckDB allows one writer, and a reader also blocks it), so
every writer takes an exclusive lock file first; whoever waits is told who holds it. Analysts use
the published snapshot (publish.py), never this file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from ..settings import Settings, now_local

RAW_DDL = """
create schema if not exists raw;
create schema if not exists ops;

-- every file seen in an inbox, once per (department, content); the archive copy is content-addressed
create table if not exists raw.receipts (
    submission_id      varchar primary key,
    department_code    varchar,          -- the inbox folder; null when the file was not in one
    original_name      varchar not null, -- path inside the department folder, as received (metadata only)
    file_sha256        varchar not null,
    size_bytes         bigint not null,
    received_at        timestamp not null, -- Asia/Shanghai
    received_at_source varchar not null,   -- observed | backfill
    archive_path       varchar,            -- relative to the raw dir; null when the file was refused unread
    discovery_issue    varchar,            -- reason code when the file was refused before reading
    discovered_at      timestamp not null
);

-- the ledger: one row per processed submission
create table if not exists raw.submissions (
    submission_id      varchar primary key,
    department_code    varchar,
    original_name      varchar not null,
    file_sha256        varchar not null,
    size_bytes         bigint not null,
    detected_format    varchar,   -- csv | xlsx | unknown
    detected_encoding  varchar,   -- utf-8 | utf-8-sig | gb18030 (csv only)
    kinds              varchar,   -- indicator_data, project_progress
    received_at        timestamp not null,
    received_at_source varchar not null,
    processed_at       timestamp not null,
    status             varchar not null,  -- accepted | accepted_with_warnings | needs_explanation | rejected
    rows_total         integer not null,
    rows_accepted      integer not null,  -- loaded and counting (accepted or explained)
    rows_rejected      integer not null,
    rows_pending_explanation integer not null default 0, -- loaded, counting once explained (soft checks)
    warnings           integer not null,
    reason_code        varchar,   -- file-level reason when rejected
    message_zh         varchar,
    message_en         varchar,
    validation_batch   varchar not null
);

create table if not exists raw.indicator_values (
    submission_id   varchar not null,
    file_sha256     varchar not null,
    department_code varchar not null,
    sheet_name      varchar,
    source_row      integer not null,
    received_at     timestamp not null,
    plan_id         varchar not null,
    indicator_code  varchar not null,
    indicator_name  varchar,
    period          varchar not null,
    value_type      varchar not null,
    value           double not null,
    unit            varchar,
    note            varchar,
    loaded_at       timestamp not null,
    review_state    varchar not null default 'accepted', -- accepted | pending_explanation | explained
    review_reasons  varchar,            -- the soft checks that fired (comma-separated reason codes)
    explanation     varchar             -- the department's written explanation (说明 column)
);

create table if not exists raw.project_progress (
    submission_id      varchar not null,
    file_sha256        varchar not null,
    department_code    varchar not null,
    sheet_name         varchar,
    source_row         integer not null,
    received_at        timestamp not null,
    plan_id            varchar not null,
    project_code       varchar not null,
    milestone_code     varchar not null,
    report_date        date not null,
    completed_on       date,
    percent_complete   double,
    investment_to_date double,
    note               varchar,
    loaded_at          timestamp not null
);

create table if not exists raw.quarantine (
    submission_id   varchar not null,
    department_code varchar,
    original_name   varchar not null,
    file_sha256     varchar not null,
    sheet_name      varchar,
    source_row      integer,
    column_name     varchar,
    offending_value varchar,
    record_kind     varchar,            -- indicator_data | project_progress (row-level issues)
    record_code     varchar,            -- the row's indicator/project code as typed (normalised)
    record_period   varchar,            -- the row's period (YYYY, YYYYQn; quarter of the report date)
    reason_code     varchar not null,
    severity        varchar not null,   -- error | warning
    scope           varchar not null,   -- file | row
    message_zh      varchar not null,
    message_en      varchar not null,
    detected_at     timestamp not null,
    needs_explanation boolean not null default false, -- a soft check: the row counts once explained
    explanation     varchar             -- the explanation the row carried, if any
);

-- alert lifecycle (opened when first seen, updated while it persists, resolved when it clears)
create table if not exists ops.alerts (
    alert_id        varchar primary key,
    plan_id         varchar,
    alert_type      varchar not null,
    subject_code    varchar not null,
    department_code varchar,
    severity        varchar not null,
    status          varchar not null,   -- open | resolved
    title_zh        varchar,
    title_en        varchar,
    detail_zh       varchar,
    detail_en       varchar,
    fingerprint     varchar,            -- what the alert says now; a change is notified
    opened_at       timestamp not null,
    last_seen_at    timestamp not null,
    resolved_at     timestamp,
    as_of_date      date,
    times_seen      integer not null
);
create sequence if not exists ops.alert_event_seq start 1;
create table if not exists ops.alert_events (
    event_id      bigint primary key default nextval('ops.alert_event_seq'),
    alert_id      varchar not null,
    event         varchar not null,     -- opened | changed | resolved | reopened
    event_at      timestamp not null,
    as_of_date    date,
    severity      varchar,
    title_en      varchar,
    title_zh      varchar,
    detail_en     varchar,
    detail_zh     varchar
);
-- delivery of each event through each notifier channel; undelivered events are retried next run
create table if not exists ops.alert_deliveries (
    event_id      bigint not null,
    channel       varchar not null,
    delivered_at  timestamp,
    attempts      integer not null,
    last_error    varchar,
    primary key (event_id, channel)
);
-- one row per expectation per validation batch: what GX checked and how many rows failed
create table if not exists ops.validation_results (
    validation_batch varchar not null,
    suite            varchar not null,
    expectation      varchar not null,
    reason_code      varchar not null,
    column_name      varchar,
    is_warning       boolean not null,
    success          boolean not null,
    rows_validated   integer not null,
    unexpected_count integer not null,
    validated_at     timestamp not null
);
create table if not exists ops.refresh_runs (
    run_id      varchar,
    stage       varchar not null,
    started_at  timestamp not null,
    seconds     double not null,
    detail      varchar
);

-- warehouses created before the soft checks (核实性审核) gain their columns in place
alter table raw.submissions add column if not exists rows_pending_explanation integer default 0;
alter table raw.indicator_values add column if not exists review_state varchar default 'accepted';
alter table raw.indicator_values add column if not exists review_reasons varchar;
alter table raw.indicator_values add column if not exists explanation varchar;
alter table raw.quarantine add column if not exists needs_explanation boolean default false;
alter table raw.quarantine add column if not exists explanation varchar;
"""


class WarehouseLocked(RuntimeError):
    """Another process holds the warehouse; the message names it and what to do."""


def _holder(lock_path: Path) -> str:
    try:
        info = json.loads(lock_path.read_text() or "{}")
    except (OSError, ValueError):
        return "unknown process"
    return f"pid {info.get('pid')} ({info.get('what', '?')}, since {info.get('since', '?')})"


_HELD: dict[str, int] = {}  # lock file -> depth, so a process can nest writer_lock (run, then step)


@contextlib.contextmanager
def writer_lock(
    settings: Settings, what: str, timeout: float | None = None, poll: float = 0.5
) -> Iterator[None]:
    """Serialise writers of the warehouse (refreshes, rebuilds). Waits up to `timeout` seconds.

    Re-entrant within a process: a refresh takes it for the whole run and each step again.
    """
    key = str(settings.lock_file)
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    if timeout is None:
        timeout = float(os.environ.get("PLANWH_LOCK_TIMEOUT", "3600"))
    settings.lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + timeout
    told = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    print(
                        f"planwh: waiting for the warehouse, held by {_holder(settings.lock_file)}",
                        file=sys.stderr,
                        flush=True,
                    )
                    told = True
                if time.monotonic() >= deadline:
                    raise WarehouseLocked(
                        f"The warehouse {settings.warehouse} is being written by {_holder(settings.lock_file)}; "
                        f"waited {timeout:.0f}s. Try again when that refresh has finished."
                    ) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.write(
            fd, json.dumps({"pid": os.getpid(), "what": what, "since": now_local().isoformat()}).encode()
        )
        _HELD[key] = 1
        try:
            yield
        finally:
            _HELD.pop(key, None)
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def explain_lock_error(exc: Exception, path: Path) -> Exception:
    text = str(exc)
    if "lock" not in text.lower():
        return exc
    match = re.search(r"PID (\d+)", text)
    who = f"process {match.group(1)}" if match else "another process"
    return WarehouseLocked(
        f"The DuckDB file {path} is held open by {who}. Only the refresh may open the working warehouse; "
        "analysts should open the published copy (see docs/analysts.md). Close that session and retry."
    )


@contextlib.contextmanager
def connect(settings: Settings, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the working warehouse with the raw/ops schema in place."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(settings.warehouse), read_only=read_only)
    except duckdb.IOException as exc:
        raise explain_lock_error(exc, settings.warehouse) from exc
    if not read_only:
        _owner_only(settings.warehouse)
    try:
        con.execute("set TimeZone = 'Asia/Shanghai'")
        con.execute("set enable_progress_bar = false")
        if not read_only:
            con.execute(RAW_DDL)
        yield con
    finally:
        if not read_only:  # DuckDB creates its write-ahead log with the process umask
            _owner_only(Path(f"{settings.warehouse}.wal"))
        con.close()


def _owner_only(path: Path) -> None:
    """The working warehouse (and its WAL) are readable by the pipeline's user only (0600)."""
    with contextlib.suppress(OSError):
        if path.exists() and (path.stat().st_mode & 0o777) != 0o600:
            os.chmod(path, 0o600)


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    """Rows as dicts, NULL as None (a pandas round trip would turn a NULL text into a truthy NaN)."""
    cursor = con.execute(sql, params or [])
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, r, strict=True)) for r in cursor.fetchall()]


def checkpoint(settings: Settings) -> None:
    with connect(settings) as con:
        con.execute("checkpoint")
