"""The portal's own small database (SQLite, not the warehouse file): accounts, sessions, API tokens,
failed logins, uploads and an audit log. One file under PLANWH_PORTAL_DIR, readable by its owner only.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipelines.lib.settings import now_local

from .security import digest, hash_password, new_api_token, new_secret, token_id_of

SCHEMA = """
create table if not exists users (
    id                   integer primary key,
    username             text not null unique collate nocase,
    role                 text not null check (role in ('department', 'admin')),
    department_code      text,
    display_name         text,
    password_hash        text not null,
    must_change_password integer not null default 1,
    is_active            integer not null default 1,
    created_at           text not null,
    password_changed_at  text not null,
    check (role = 'admin' or department_code is not null)
);
create table if not exists sessions (
    id_digest  text primary key,
    user_id    integer not null references users(id) on delete cascade,
    created_at real not null,
    last_seen  real not null
);
create table if not exists api_tokens (
    token_id        text primary key,
    department_code text not null,
    name            text not null,
    token_digest    text not null,
    created_at      text not null,
    created_by      text not null,
    last_used_at    text,
    revoked_at      text
);
create table if not exists login_failures (
    key text not null,
    at  real not null
);
create index if not exists login_failures_key on login_failures(key, at);
create table if not exists uploads (
    upload_id       text primary key,
    department_code text not null,
    actor           text not null,
    original_name   text not null,
    sha256          text not null,
    size_bytes      integer not null,
    received_at     text not null,
    status          text not null check (status in
                        ('rejected', 'needs_explanation', 'forwarded', 'cancelled', 'expired', 'failed')),
    receipt         text not null,
    prepared        text,
    explanations    text,
    forwarded       text,
    updated_at      text not null
);
create index if not exists uploads_department on uploads(department_code, received_at);
create table if not exists audit (
    at     text not null,
    actor  text not null,
    action text not null,
    detail text
);
"""


def login_key(username: str) -> str:
    """The key an account's failed logins are counted under (user names are case-insensitive)."""
    return f"user:{username.strip().lower()}"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    department_code: str | None
    display_name: str | None
    password_hash: str
    must_change_password: bool
    is_active: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Accounts:
    def __init__(self, path: Path):
        self.path = Path(path)

    # ------------------------------------------------------------------ plumbing
    def init(self) -> Accounts:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        if not self.path.exists():
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
        with self._db() as db:
            db.execute("pragma journal_mode = wal")
            db.executescript(SCHEMA)
        for suffix in ("", "-wal", "-shm"):
            p = Path(f"{self.path}{suffix}")
            if p.exists():
                os.chmod(p, 0o600)
        return self

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=15, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("pragma foreign_keys = on")
        db.execute("pragma busy_timeout = 15000")
        try:
            yield db
        finally:
            db.close()

    def audit(self, actor: str, action: str, detail: dict | str | None = None) -> None:
        text = json.dumps(detail, ensure_ascii=False) if isinstance(detail, dict) else detail
        with self._db() as db:
            db.execute(
                "insert into audit values (?, ?, ?, ?)", (now_local().isoformat(), actor, action, text)
            )

    def audit_log(self, limit: int = 200) -> list[dict]:
        with self._db() as db:
            rows = db.execute("select * from audit order by rowid desc limit ?", (limit,)).fetchall()
        return [dict(r) for r in rows]

    # ------------------------------------------------------------------ users
    def add_user(
        self,
        username: str,
        role: str,
        department_code: str | None,
        password: str,
        display_name: str | None = None,
        must_change_password: bool = True,
    ) -> User:
        now = now_local().isoformat()
        with self._db() as db:
            db.execute(
                """insert into users (username, role, department_code, display_name, password_hash,
                   must_change_password, is_active, created_at, password_changed_at)
                   values (?, ?, ?, ?, ?, ?, 1, ?, ?)""",
                (
                    username,
                    role,
                    department_code,
                    display_name,
                    hash_password(password),
                    int(must_change_password),
                    now,
                    now,
                ),
            )
        user = self.user_by_name(username)
        assert user is not None
        return user

    @staticmethod
    def _user(row: sqlite3.Row | None) -> User | None:
        if row is None:
            return None
        return User(
            id=row["id"],
            username=row["username"],
            role=row["role"],
            department_code=row["department_code"],
            display_name=row["display_name"],
            password_hash=row["password_hash"],
            must_change_password=bool(row["must_change_password"]),
            is_active=bool(row["is_active"]),
        )

    def user_by_name(self, username: str) -> User | None:
        with self._db() as db:
            return self._user(db.execute("select * from users where username = ?", (username,)).fetchone())

    def user(self, user_id: int) -> User | None:
        with self._db() as db:
            return self._user(db.execute("select * from users where id = ?", (user_id,)).fetchone())

    def users(self) -> list[dict]:
        with self._db() as db:
            rows = db.execute(
                """select id, username, role, department_code, display_name, must_change_password,
                          is_active, created_at, password_changed_at
                   from users order by role, department_code, username"""
            ).fetchall()
        return [dict(r) for r in rows]

    def set_password(self, user_id: int, password: str, must_change: bool) -> None:
        """New password; every session of the account ends (a reset locks out whoever had it), and its
        failed logins are forgotten: the lockout tells the clerk to ask for a reset, so the one-time
        password must work at once (the address's own count is left alone)."""
        with self._db() as db:
            db.execute("begin immediate")
            db.execute(
                """update users set password_hash = ?, must_change_password = ?, password_changed_at = ?
                   where id = ?""",
                (hash_password(password), int(must_change), now_local().isoformat(), user_id),
            )
            db.execute("delete from sessions where user_id = ?", (user_id,))
            row = db.execute("select username from users where id = ?", (user_id,)).fetchone()
            if row is not None:
                db.execute("delete from login_failures where key = ?", (login_key(row["username"]),))
            db.execute("commit")

    def rehash(self, user_id: int, password: str) -> None:
        with self._db() as db:
            db.execute("update users set password_hash = ? where id = ?", (hash_password(password), user_id))

    def set_active(self, user_id: int, active: bool) -> None:
        with self._db() as db:
            db.execute("update users set is_active = ? where id = ?", (int(active), user_id))
            if not active:
                db.execute("delete from sessions where user_id = ?", (user_id,))

    # ------------------------------------------------------------------ sessions
    def create_session(self, user_id: int) -> str:
        token = new_secret()
        now = time.time()
        with self._db() as db:
            db.execute("insert into sessions values (?, ?, ?, ?)", (digest(token), user_id, now, now))
        return token

    def session_user(self, token: str, idle_seconds: int, max_seconds: int) -> User | None:
        """The account behind a live session (idle and absolute limits), or None; touches last_seen."""
        now = time.time()
        with self._db() as db:
            row = db.execute("select * from sessions where id_digest = ?", (digest(token),)).fetchone()
            if row is None:
                return None
            if now - row["last_seen"] > idle_seconds or now - row["created_at"] > max_seconds:
                db.execute("delete from sessions where id_digest = ?", (row["id_digest"],))
                return None
            if now - row["last_seen"] > 30:
                db.execute("update sessions set last_seen = ? where id_digest = ?", (now, row["id_digest"]))
            user = self._user(db.execute("select * from users where id = ?", (row["user_id"],)).fetchone())
        return user if user and user.is_active else None

    def end_session(self, token: str) -> None:
        with self._db() as db:
            db.execute("delete from sessions where id_digest = ?", (digest(token),))

    def purge_sessions(self, max_seconds: int) -> None:
        with self._db() as db:
            db.execute("delete from sessions where created_at < ?", (time.time() - max_seconds,))

    # ------------------------------------------------------------------ API tokens
    def create_token(self, department_code: str, name: str, created_by: str) -> str:
        token_id, token = new_api_token()
        with self._db() as db:
            db.execute(
                "insert into api_tokens values (?, ?, ?, ?, ?, ?, null, null)",
                (token_id, department_code, name, digest(token), now_local().isoformat(), created_by),
            )
        return token

    def token_department(self, token: str) -> tuple[str, str] | None:
        """(department_code, token_id) for a valid, unrevoked token; None otherwise."""
        token_id = token_id_of(token)
        if token_id is None:
            return None
        import hmac

        with self._db() as db:
            row = db.execute(
                "select * from api_tokens where token_id = ? and revoked_at is null", (token_id,)
            ).fetchone()
            if row is None or not hmac.compare_digest(row["token_digest"], digest(token)):
                return None
            db.execute(
                "update api_tokens set last_used_at = ? where token_id = ?",
                (now_local().isoformat(), token_id),
            )
        return row["department_code"], token_id

    def tokens(self) -> list[dict]:
        with self._db() as db:
            rows = db.execute(
                """select token_id, department_code, name, created_at, created_by, last_used_at, revoked_at
                   from api_tokens order by department_code, created_at"""
            ).fetchall()
        return [dict(r) for r in rows]

    def revoke_token(self, token_id: str) -> bool:
        with self._db() as db:
            cur = db.execute(
                "update api_tokens set revoked_at = ? where token_id = ? and revoked_at is null",
                (now_local().isoformat(), token_id),
            )
        return cur.rowcount == 1

    # ------------------------------------------------------------------ login throttling
    def failures(self, key: str, window_seconds: int) -> tuple[int, float | None]:
        """Failed logins for a key in the window, and when the oldest of them leaves it."""
        since = time.time() - window_seconds
        with self._db() as db:
            row = db.execute(
                "select count(*) as n, min(at) as first from login_failures where key = ? and at > ?",
                (key, since),
            ).fetchone()
        first = row["first"]
        return row["n"], (first + window_seconds if first else None)

    def record_failure(self, *keys: str) -> None:
        now = time.time()
        with self._db() as db:
            db.executemany("insert into login_failures values (?, ?)", [(k, now) for k in keys])
            db.execute("delete from login_failures where at < ?", (now - 86400,))

    def clear_failures(self, key: str) -> None:
        with self._db() as db:
            db.execute("delete from login_failures where key = ?", (key,))

    # ------------------------------------------------------------------ uploads
    def add_upload(self, row: dict) -> None:
        row = {**row, "updated_at": now_local().isoformat()}
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._db() as db:
            db.execute(f"insert into uploads ({cols}) values ({marks})", [_store(v) for v in row.values()])

    def update_upload(self, upload_id: str, expected_status: str | None = None, **values) -> bool:
        """Change an upload; with expected_status, only if it is still in that state (no double submit)."""
        values["updated_at"] = now_local().isoformat()
        sets = ", ".join(f"{k} = ?" for k in values)
        params = [_store(v) for v in values.values()] + [upload_id]
        where = "upload_id = ?"
        if expected_status:
            where += " and status = ?"
            params.append(expected_status)
        with self._db() as db:
            cur = db.execute(f"update uploads set {sets} where {where}", params)
        return cur.rowcount == 1

    def upload(self, upload_id: str, department_code: str | None) -> dict | None:
        """One upload; department_code None (administrators) sees every department's."""
        sql = "select * from uploads where upload_id = ?"
        params: list = [upload_id]
        if department_code is not None:
            sql += " and department_code = ?"
            params.append(department_code)
        with self._db() as db:
            row = db.execute(sql, params).fetchone()
        return _upload(row) if row else None

    def uploads(
        self, department_code: str | None, limit: int = 50, status: str | None = None, offset: int = 0
    ) -> list[dict]:
        sql = "select * from uploads where 1 = 1"
        params: list = []
        if department_code is not None:
            sql += " and department_code = ?"
            params.append(department_code)
        if status:
            sql += " and status = ?"
            params.append(status)
        sql += " order by received_at desc, upload_id desc limit ? offset ?"
        params += [limit, offset]
        with self._db() as db:
            rows = db.execute(sql, params).fetchall()
        return [_upload(r) for r in rows]

    def count_uploads(self, department_code: str) -> int:
        with self._db() as db:
            row = db.execute(
                "select count(*) from uploads where department_code = ?", (department_code,)
            ).fetchone()
        return row[0]

    def backup(self, target: Path) -> None:
        """A consistent copy while the portal runs (SQLite's online backup)."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        with self._db() as db:
            dest = sqlite3.connect(target)
            try:
                db.backup(dest)
            finally:
                dest.close()


def _store(value):
    return json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, dict | list) else value


def _upload(row: sqlite3.Row) -> dict:
    out = dict(row)
    for key in ("receipt", "prepared", "explanations", "forwarded"):
        out[key] = json.loads(out[key]) if out[key] else None
    return out
