"""Dagster's own SQLite storage (runs, event logs, schedules) with cheap event writes.

Measured (bench/results.md, "per-run overhead"): a refresh records ~470 Dagster events (planned
materializations and asset checks of every dbt model and test, outputs, check results), and Dagster's
stock SQLite event log opens a new SQLAlchemy engine and connection for every write, up to six per asset
event, then commits each with an fsync. On this machine that was 43 s of a 113 s refresh under load
(93 ms an event). This storage is the stock one, same files and layout (`storage: sqlite` reads them
unchanged), except that the event log keeps one engine per database for the life of the process and its
commits use `synchronous=NORMAL` in WAL mode (durable against a crash of the process; the last commits can
be lost only if the machine loses power, and run logs are not the warehouse), and that a table found in
the index database is remembered: the stock storage asks SQLite whether the asset-check table exists, with
a new engine, before storing every asset-check event (two per dbt test: 210 tests, ~0.4 s a refresh).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_SECONDS = 30
KEEP_ENGINES = 4  # the index database and the few runs being written
WAL_SIZE_LIMIT = 1 << 20


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage with one engine (one connection) kept per shard instead of one per write."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Any] = OrderedDict()
        self._engines_lock = threading.Lock()
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data)

    def has_table(self, table_name: str) -> bool:
        """The stock answer (a new engine on the index database), remembered once the table is there: a
        migration adds tables and none is dropped but by wipe(). A missing table is asked again."""
        if table_name in self._tables_found:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_found.add(table_name)
        return found

    def _engine(self, shard: str):
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is not None:
                self._engines.move_to_end(shard)
                return engine
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,  # one connection, used under self._db_lock only
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )

            @db.event.listens_for(engine, "connect")
            def _pragmas(dbapi_connection, _record):
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA synchronous=NORMAL")
                # a kept connection keeps the write-ahead log too: SQLite checkpoints it every 1000 pages
                # but never shrinks it; cap what is left after a checkpoint (retention truncates it)
                cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
                cursor.close()

            self._engines[shard] = engine
            while len(self._engines) > KEEP_ENGINES:
                _, old = self._engines.popitem(last=False)
                old.dispose()
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Any]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _dispose_engines(self) -> None:
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def checkpoint(self) -> None:
        """Fold every kept connection's write-ahead log into its database and truncate it (the stock
        storage's connections did that when they closed after each write); the retention calls it."""
        with self._db_lock, self._engines_lock:
            for engine in self._engines.values():
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def wipe(self) -> None:
        self._dispose_engines()  # the files are deleted: no connection may outlive them
        self._tables_found.clear()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


class PlanwhSqliteStorage(DagsterSqliteStorage):
    """`storage: sqlite` with the pooled event log (dagster.yaml: `storage: custom:`)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage.dispose()
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: dict) -> PlanwhSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
