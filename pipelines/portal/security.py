"""Passwords (argon2id via argon2-cffi), random secrets, API tokens and the password policy."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()  # argon2id with the library's current defaults (RFC 9106 low-memory profile)
# verified when the account does not exist, so a wrong name costs the same time as a wrong password
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
TOKEN_PREFIX = "pwh_"


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash). Runs the KDF even without a stored hash (no timing oracle)."""
    try:
        ok = _HASHER.verify(stored_hash or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    if stored_hash is None:
        return False, False
    return ok, _HASHER.check_needs_rehash(stored_hash)


def password_problems(password: str, username: str = "") -> list[tuple[str, str]]:
    """What is wrong with a new password, in Chinese and English (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            (
                f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。",
                f"Use at least {MIN_PASSWORD_LENGTH} characters.",
            )
        )
    if len(password) > 256:
        problems.append(("密码不能超过 256 个字符。", "Use at most 256 characters."))
    if len(set(password)) < 5:
        problems.append(("密码过于简单（重复字符）。", "The password is too simple (repeated characters)."))
    if username and username.lower() in password.lower():
        problems.append(("密码不能包含用户名。", "The password must not contain the user name."))
    return problems


def generate_password() -> str:
    """A one-time password to hand over (readable: no 0/O or 1/l confusion)."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(secret: str) -> str:
    """Stored form of a high-entropy secret (session id, API token): SHA-256 is enough for 256 random bits."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_token() -> tuple[str, str]:
    """(token id, full token shown once): pwh_<id>_<secret>; only the digest of the full token is stored."""
    token_id = secrets.token_hex(6)
    return token_id, f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"


def token_id_of(token: str) -> str | None:
    match = re.fullmatch(rf"{TOKEN_PREFIX}([0-9a-f]{{12}})_[A-Za-z0-9_-]{{20,64}}", token)
    return match.group(1) if match else None


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
