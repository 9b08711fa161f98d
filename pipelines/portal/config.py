"""Portal settings: every one from an environment variable, secrets only from the environment."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from pipelines.lib.settings import Settings, load_settings

MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """A setting is missing or wrong: one clear line, never a stack trace."""


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    return value


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class PortalConfig:
    settings: Settings  # the pipeline's paths: raw/inbox, the published snapshot, the catalog seeds
    state_dir: Path  # accounts database and uploads held for an explanation
    secret_key: str
    secret_is_ephemeral: bool  # no PLANWH_PORTAL_SECRET_KEY: sessions end when the process stops
    https_only: bool  # behind TLS: Secure cookies and HSTS
    session_idle_seconds: int
    session_max_seconds: int
    max_upload_bytes: int
    login_max_failures: int  # per account in the window; an address gets four times as many
    login_window_seconds: int
    held_upload_days: int  # an upload awaiting an explanation is dropped after this many days

    @property
    def accounts_db(self) -> Path:
        return self.state_dir / "accounts.sqlite3"

    @property
    def uploads_dir(self) -> Path:
        return self.state_dir / "uploads"


def load_config(settings: Settings | None = None) -> PortalConfig:
    settings = settings or load_settings()
    raw_dir = os.environ.get("PLANWH_PORTAL_DIR")
    state_dir = Path(raw_dir).expanduser().resolve() if raw_dir else settings.warehouse.parent / "portal"
    secret = os.environ.get("PLANWH_PORTAL_SECRET_KEY", "")
    ephemeral = not secret
    if ephemeral:
        secret = secrets.token_urlsafe(48)
    elif len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"PLANWH_PORTAL_SECRET_KEY is {len(secret)} characters; use at least {MIN_SECRET_LENGTH} "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return PortalConfig(
        settings=settings,
        state_dir=state_dir,
        secret_key=secret,
        secret_is_ephemeral=ephemeral,
        https_only=_flag("PLANWH_PORTAL_HTTPS"),
        session_idle_seconds=60 * _int("PLANWH_PORTAL_SESSION_IDLE_MINUTES", 60),
        session_max_seconds=60 * _int("PLANWH_PORTAL_SESSION_MAX_MINUTES", 12 * 60),
        max_upload_bytes=_int("PLANWH_PORTAL_MAX_UPLOAD_BYTES", settings.max_file_bytes),
        login_max_failures=_int("PLANWH_PORTAL_LOGIN_MAX_FAILURES", 5),
        login_window_seconds=60 * _int("PLANWH_PORTAL_LOGIN_WINDOW_MINUTES", 15),
        held_upload_days=_int("PLANWH_PORTAL_HELD_UPLOAD_DAYS", 30),
    )


def warn_if_ephemeral(config: PortalConfig) -> None:
    if config.secret_is_ephemeral:
        print(
            "planwh portal: PLANWH_PORTAL_SECRET_KEY is not set; using a random key for this process "
            "(everyone is logged out when it stops). Set it in production (docs/portal.md).",
            file=sys.stderr,
        )
