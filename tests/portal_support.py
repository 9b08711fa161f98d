"""Helpers for the portal tests: a portal on temporary state over the sample run's published snapshot."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

from pipelines.lib.settings import load_settings
from pipelines.portal.accounts import Accounts
from pipelines.portal.config import load_config

PASSWORD = "correct-horse-battery-9"
ACCOUNTS = {
    "stats": ("department", "370102_STATS"),
    "stats2": ("department", "370102_STATS"),
    "ind": ("department", "370102_IND"),
    "eco": ("department", "370102_ECO"),
    "office": ("admin", None),
}


def portal_config(root: Path, published_db: Path | None, **overrides):
    """A PortalConfig whose raw dir, snapshot and state live under root (the catalog is the repo's)."""
    base = load_settings()
    publish_dir = root / "published"
    publish_dir.mkdir(parents=True, exist_ok=True)
    if published_db is not None:
        target = publish_dir / base.warehouse.name
        shutil.copyfile(published_db, target)
        (publish_dir / "published.json").write_text(
            json.dumps({"published_at": "2026-06-30T23:00:00", "as_of": "2026-06-30"})
        )
    settings = dataclasses.replace(
        base,
        warehouse=root / "work" / base.warehouse.name,
        raw_dir=root / "raw",
        publish_dir=publish_dir,
        output_dir=root / "output",
    )
    (root / "raw" / "inbox").mkdir(parents=True, exist_ok=True)
    config = dataclasses.replace(
        load_config(settings), state_dir=root / "portal", secret_key="s" * 48, secret_is_ephemeral=False
    )
    return dataclasses.replace(config, **overrides)


def add_accounts(config) -> Accounts:
    accounts = Accounts(config.accounts_db).init()
    for name, (role, dept) in ACCOUNTS.items():
        if accounts.user_by_name(name) is None:
            accounts.add_user(name, role, dept, PASSWORD, must_change_password=False)
    return accounts


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf(page.text), "next": "/"},
        follow_redirects=False,
    )


def token_for(client) -> str:
    """The CSRF token of the client's current session (from any page that has a form)."""
    return csrf(client.get("/account/password").text)


def indicator_csv(rows: list[tuple], extra_header: str = "") -> bytes:
    """A department CSV: rows of (code, period, value[, extra])."""
    header = "指标编号,统计期,数值" + (f",{extra_header}" if extra_header else "")
    lines = [header] + [",".join(str(c) for c in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def inbox_files(config) -> list[Path]:
    inbox = config.settings.inbox
    return sorted(p for p in inbox.rglob("*") if p.is_file())
