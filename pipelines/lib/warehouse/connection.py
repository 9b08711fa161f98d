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
from .disk import DiskFull, is_disk_full
from .housekeeping import recover_before_writing

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
    discovered_at      timestamp not null,
    resubmission_of    varchar            -- an earlier receipt of the same content, sent again later (A -> B -> A)
);
alter table raw.receipts add column if not exists resubmission_of varchar;

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
    validation_batch   varchar not null,
    resubmission_of    varchar    -- the earlier submission of the same content this one repeats
);
alter table raw.submissions add column if not exists resubmission_of varchar;

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
-- every message for every channel (alert events; departments' receipt notices and reminders): retried
-- with back-off over wall time, then given up with a visible warning (pipelines/lib/alerts/notify.py)
create table if not exists ops.deliveries (
    message_key      varchar not null,  -- idempotency key: the same on every attempt, sent in the payload
    channel          varchar not null,  -- file | webhook | file:departments | webhook:<department_code>
    kind             varchar not null,  -- alert_event | receipt | reminder ...
    source_id        varchar,           -- the producer's id (ops.alert_events.event_id for alert events)
    department_code  varchar,
    payload          varchar not null,  -- the event as JSON, as the notifier formats it
    created_at       timestamp not null,
    attempts         integer not null default 0,
    first_attempt_at timestamp,
    last_attempt_at  timestamp,
    next_attempt_at  timestamp,         -- not tried again before this (exponential back-off)
    delivered_at     timestamp,
    gave_up_at       timestamp,         -- failed for PLANWH_DELIVERY_GIVE_UP_HOURS: shown as a warning
    dismissed_at     timestamp,         -- an operator acknowledged the failure (planwh deliveries --dismiss)
    last_error       varchar,
    primary key (message_key, channel)
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
-- the inbox as the last discovery judged it: each file (by device and inode) and the content it had then,
-- so that renaming, chmod-ing or touching a file already judged is not read as sending it again
create table if not exists ops.inbox_files (
    device          ubigint not null,
    inode           ubigint not null,
    department_code varchar,
    original_name   varchar not null,
    file_sha256     varchar not null,
    size_bytes      bigint,             -- with the mtime: a new file given a deleted one's inode is not it
    mtime_ns        bigint,
    judged_at       timestamp not null
);
-- the archive's receipt logs (raw/archive/receipts/*.jsonl) whose every receipt is in raw.receipts, recorded
-- in the transaction that made it so: discovery reads only the other logs (a run logged receipts and died
-- before recording them), not the whole history on every run
create table if not exists ops.receipt_logs (
    log_name    varchar primary key,
    recorded_at timestamp not null
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
alter table ops.inbox_files add column if not exists size_bytes bigint;
alter table ops.inbox_files add column if not exists mtime_ns bigint;
"""


VIEWS_DDL = """
-- kept for readers of the earlier table: alert event deliveries, one row per event and channel
create view if not exists ops.alert_deliveries as
    select try_cast(source_id as bigint) as event_id, channel, delivered_at, attempts, last_error,
           next_attempt_at, gave_up_at
    from ops.deliveries where kind = 'alert_event';
"""


# The alert history is queried by analysts beside the marts (docs/analysts.md): its tables and columns are
# described "中文 — English" like the dbt models' (which dbt's persist_docs writes), and the publish copies
# the comments into the snapshot. Written only when they differ, so a connection costs one query.
OPS_DESCRIPTIONS = {
    "alerts": (
        "预警记录 · Alerts — one row per flag ever raised (marts.fct_flags), with its lifecycle: opened when first "
        "seen, updated while it persists, resolved when it clears, reopened if it comes back.",
        {
            "alert_id": "预警编号 — The flag's stable key (marts.fct_flags.flag_id): indicator|<plan>|<code>, "
            "project|<plan>|<code> or submission|<plan>|<department>|<kind>.",
            "plan_id": "规划编号 — Plan key <region_code>_<plan> (e.g. 370102_14FYP).",
            "alert_type": "预警类型 — binding_indicator, red_project or missing_submission (fct_flags.flag_type).",
            "subject_code": "对象编号 — What the alert is about: an indicator code, a project code or a "
            "submission kind.",
            "department_code": "部门编码 — Department responsible for what the alert is about.",
            "severity": "严重程度 — critical or warning, as the flag was last seen (fct_flags.severity).",
            "status": "状态 — open while the flag is raised, resolved once it has cleared (open again when it "
            "comes back).",
            "title_zh": "标题 — One-line title in Chinese, as last seen.",
            "title_en": "标题（英文） — One-line title in English, as last seen.",
            "detail_zh": "详情 — Why the alert was raised, in Chinese, as last seen.",
            "detail_en": "详情（英文） — Why the alert was raised, in English, as last seen.",
            "fingerprint": "内容指纹 — Digest of what the alert says now (severity, status, detail; a red "
            "project's reported progress): a change is recorded and notified as a changed event.",
            "opened_at": "预警时间 — When the alert was opened, or last reopened (Asia/Shanghai).",
            "last_seen_at": "最近出现 — When a tracked refresh last raised the flag (Asia/Shanghai).",
            "resolved_at": "解除时间 — When the flag cleared (Asia/Shanghai); empty while the alert is open.",
            "as_of_date": "评估日期 — Evaluation date of the refresh that last saw or resolved the alert.",
            "times_seen": "出现次数 — How many tracked refreshes have raised the flag.",
        },
    ),
    "alert_events": (
        "预警历史 · Alert events — every change of an alert (opened, changed, resolved, reopened) with what it "
        "said then; each event is notified once per channel (ops.deliveries).",
        {
            "event_id": "事件编号 — Sequence number of the event (also the source_id of its deliveries).",
            "alert_id": "预警编号 — The alert the event belongs to (ops.alerts.alert_id).",
            "event": "事件 — opened, changed (severity or detail changed), resolved or reopened.",
            "event_at": "发生时间 — When the refresh recorded the event (Asia/Shanghai).",
            "as_of_date": "评估日期 — Evaluation date of the refresh that recorded the event.",
            "severity": "严重程度 — critical or warning at the time of the event.",
            "title_en": "标题（英文） — One-line title in English at the time of the event.",
            "title_zh": "标题 — One-line title in Chinese at the time of the event.",
            "detail_en": "详情（英文） — Why, in English, at the time of the event (for resolved: the "
            "condition has cleared).",
            "detail_zh": "详情 — Why, in Chinese, at the time of the event (for resolved: 该问题已消除).",
        },
    ),
}


def _describe_ops(con: duckdb.DuckDBPyConnection) -> None:
    """Write the comments of OPS_DESCRIPTIONS where the file holds other ones (a new or older warehouse)."""
    tables = {
        name: comment
        for name, comment in con.execute(
            "select table_name, comment from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'ops'"
        ).fetchall()
    }
    columns = {
        (t, c): comment
        for t, c, comment in con.execute(
            "select table_name, column_name, comment from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'ops'"
        ).fetchall()
    }
    statements = []
    for table, (table_comment, column_comments) in OPS_DESCRIPTIONS.items():
        if tables.get(table) != table_comment:
            statements.append((f"comment on table ops.{table} is ?", table_comment))
        for column, comment in column_comments.items():
            if (table, column) in columns and columns[(table, column)] != comment:
                statements.append((f"comment on column ops.{table}.{column} is ?", comment))
    for sql, text in statements:  # COMMENT ON takes no parameters: a literal, quotes doubled
        con.execute(sql.replace("?", "'" + text.replace("'", "''") + "'"))


class WarehouseLocked(RuntimeError):
    """Another process holds the warehouse; the message names it and what to do."""


class WarehouseDamaged(RuntimeError):
    """The working file cannot be opened as a database; the message says how to recover."""


def _holder(lock_path: Path) -> str:
    try:
        info = json.loads(lock_path.read_text() or "{}")
    except (OSError, ValueError):
        return "unknown process"
    return f"pid {info.get('pid')} ({info.get('what', '?')}, since {info.get('since', '?')})"


def _lock_info(fd: int) -> dict:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _write_lock_info(fd: int, info: dict) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)


_HELD: dict[str, int] = {}  # lock file -> depth, so a process can nest writer_lock (run, then step)


@contextlib.contextmanager
def writer_lock(
    settings: Settings, what: str, timeout: float | None = None, poll: float = 0.5
) -> Iterator[None]:
    """Serialise writers of the warehouse (refreshes, rebuilds). Waits up to `timeout` seconds
    (default: PLANWH_LOCK_TIMEOUT).

    Re-entrant within a process: a refresh takes it for the whole run and each step again. Whoever takes
    it ends the orphans of a dead run, empties DuckDB's spill folder and, unless the last holder finished
    without an error (the lock file records it), removes the temporary files dead writers left
    (housekeeping.py). That scan walks the receipts and the archive (61.6k submissions at province: ~2.3 s),
    and a run launched by Dagster (UI, sensor, schedule) takes the lock once per step. Writers that never
    hold this lock (the sensor's inbox index, `planwh report`) are cleaned up by the retention pass: after
    every CLI run and by the daily housekeeping schedule.
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
        timeout = settings.lock_timeout
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
        clean = bool(_lock_info(fd).get("released"))  # the last holder's work ended without an error
        holder = {"pid": os.getpid(), "what": what, "since": now_local().isoformat()}
        _write_lock_info(fd, holder)
        _HELD[key] = 1
        released = False
        try:
            recover_before_writing(settings, temp_files=not clean)
            yield
            released = True  # not after an exception: a failed write may have left its temporary file
        finally:
            _HELD.pop(key, None)
            if released:
                with contextlib.suppress(OSError):
                    _write_lock_info(fd, {**holder, "released": now_local().isoformat()})
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def lock_message(path: Path, pid: str | int | None) -> str:
    who = f"process {pid}" if pid else "another process"
    return (
        f"The DuckDB file {path} is held open by {who}. Only the refresh may open the working warehouse; "
        "analysts should open the published copy (see docs/analysts.md). Close that session and retry."
    )


def explain_lock_error(exc: Exception, path: Path) -> Exception:
    """DuckDB's error on opening the file, as the one line an operator can act on."""
    text = str(exc)
    lowered = text.lower()
    if is_disk_full(exc):
        return DiskFull(f"No space left on device while opening {path}: free some space and run again.")
    if "lock" in lowered:
        match = re.search(r"PID (\d+)", text)
        return WarehouseLocked(lock_message(path, match.group(1) if match else None))
    damaged = (
        "not a valid duckdb",
        "corrupt",
        "checksum",
        "truncated",
        "could not read",
        "invalid",
        "serializ",
    )
    if any(w in lowered for w in damaged):
        first = text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__
        return WarehouseDamaged(
            f"The working warehouse {path} cannot be opened ({first}). Recovery: `make rebuild` (rebuilds it "
            "from raw/archive), or copy the published snapshot back over it and run again."
        )
    return exc


@contextlib.contextmanager
def connect(settings: Settings, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the working warehouse with the raw/ops schema in place."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(settings.warehouse), read_only=read_only)
    except duckdb.Error as exc:
        raise explain_lock_error(exc, settings.warehouse) from exc
    if not read_only:
        _owner_only(settings.warehouse)
    try:
        con.execute("set TimeZone = 'Asia/Shanghai'")
        con.execute("set enable_progress_bar = false")
        if not read_only:
            _ensure_schema(con)
        yield con
    finally:
        if not read_only:  # DuckDB creates its write-ahead log with the process umask
            _owner_only(Path(f"{settings.warehouse}.wal"))
        con.close()


def _ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RAW_DDL)
    _describe_ops(con)
    legacy = con.execute(
        """select table_type from information_schema.tables
           where table_schema = 'ops' and table_name = 'alert_deliveries'"""
    ).fetchall()
    legacy = legacy[0] if legacy else None
    if legacy and legacy[0] == "BASE TABLE":  # a warehouse written before ops.deliveries existed
        from ..alerts.notify import legacy_deliveries

        frame = legacy_deliveries(con)
        con.execute("begin transaction")
        if len(frame):
            con.register("legacy_rows", frame)
            con.execute("insert or ignore into ops.deliveries by name select * from legacy_rows")
            con.unregister("legacy_rows")
        con.execute("drop table ops.alert_deliveries")
        con.execute(VIEWS_DDL)
        con.execute("commit")
    elif not legacy:
        con.execute(VIEWS_DDL)


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
