"""`planwh users …` (accounts, passwords, API tokens) and `planwh portal` (serve), `planwh portal-backup`.

Nothing is seeded with a default password: every account is created here, with a password typed twice,
read from standard input, or generated and shown once; department accounts must change it at first login.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sqlite3
import sys

from .config import ConfigError, load_config, warn_if_ephemeral
from .security import USERNAME, generate_password, password_problems


def add_commands(sub) -> None:
    users = sub.add_parser("users", help="portal accounts, passwords and API tokens")
    usub = users.add_subparsers(dest="users_command", required=True)
    p = usub.add_parser("add", help="create an account")
    p.add_argument("username")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--department", help="department code, e.g. 370102_STATS")
    who.add_argument("--admin", action="store_true", help="an administrator (planning office)")
    p.add_argument("--name", help="the person's name, shown to administrators")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--generate", action="store_true", help="generate a one-time password and print it")
    how.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--final", action="store_true", help="no change required at first login")
    p.set_defaults(func=cmd_users_add)
    p = usub.add_parser("reset-password", help="set a new password (ends the account's sessions)")
    p.add_argument("username")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--generate", action="store_true")
    how.add_argument("--password-stdin", action="store_true")
    p.add_argument("--final", action="store_true")
    p.set_defaults(func=cmd_users_reset)
    usub.add_parser("list", help="list accounts").set_defaults(func=cmd_users_list)
    for name, active in (("disable", False), ("enable", True)):
        p = usub.add_parser(name, help=f"{name} an account")
        p.add_argument("username")
        p.set_defaults(func=cmd_users_active, active=active)
    token = usub.add_parser("token", help="per-department API tokens (hashed at rest)")
    tsub = token.add_subparsers(dest="token_command", required=True)
    p = tsub.add_parser("create", help="create a token and print it once")
    p.add_argument("--department", required=True)
    p.add_argument("--name", required=True, help="what the token is for, e.g. 'nightly export script'")
    p.set_defaults(func=cmd_token_create)
    tsub.add_parser("list").set_defaults(func=cmd_token_list)
    p = tsub.add_parser("revoke")
    p.add_argument("token_id")
    p.set_defaults(func=cmd_token_revoke)

    p = sub.add_parser("portal", help="serve the reporting portal (uvicorn)")
    p.add_argument("--host", default=os.environ.get("PLANWH_PORTAL_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    p.set_defaults(func=cmd_portal)
    p = sub.add_parser("portal-backup", help="consistent copy of the portal's accounts database")
    p.add_argument("target")
    p.set_defaults(func=cmd_backup)


def _accounts():
    from .accounts import Accounts

    return Accounts(load_config().accounts_db).init()


def _catalog_departments() -> set[str]:
    from pipelines.lib.plans.catalog import Catalog
    from pipelines.lib.settings import load_settings

    return set(Catalog.load(load_settings().seeds_dir).departments["department_code"])


def _fail(message: str) -> int:
    print(f"planwh: {message}", file=sys.stderr)
    return 2


def _new_password(args, username: str) -> tuple[str | None, bool, str | None]:
    """(password, generated, error)."""
    if args.generate:
        return generate_password(), True, None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("新密码 New password: ")
        if password != getpass.getpass("再次输入 Again: "):
            return None, False, "the two passwords differ"
    else:
        return None, False, "no terminal: use --generate or --password-stdin"
    problems = password_problems(password, username)
    if problems:
        return None, False, " ".join(en for _, en in problems)
    return password, False, None


def cmd_users_add(args, settings) -> int:
    if not USERNAME.match(args.username):
        return _fail("user names are 3–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if args.department and args.department not in _catalog_departments():
        return _fail(
            f"unknown department {args.department!r} (see dbt_project/seeds/catalog_departments.csv)"
        )
    accounts = _accounts()
    if accounts.user_by_name(args.username):
        return _fail(f"the account {args.username!r} exists already (use reset-password)")
    password, generated, error = _new_password(args, args.username)
    if error:
        return _fail(error)
    try:
        accounts.add_user(
            args.username,
            "admin" if args.admin else "department",
            args.department,
            password,
            display_name=args.name,
            must_change_password=not args.final,
        )
    except sqlite3.IntegrityError:
        return _fail(f"the account {args.username!r} exists already")
    accounts.audit("cli", "user_added", {"account": args.username, "department": args.department})
    print(f"created {args.username} ({'admin' if args.admin else args.department})")
    if generated:
        print(f"one-time password (shown once, must be changed at first login): {password}")
    return 0


def cmd_users_reset(args, settings) -> int:
    accounts = _accounts()
    user = accounts.user_by_name(args.username)
    if user is None:
        return _fail(f"no account {args.username!r}")
    password, generated, error = _new_password(args, user.username)
    if error:
        return _fail(error)
    accounts.set_password(user.id, password, must_change=not args.final)
    accounts.audit("cli", "reset_password", {"account": user.username})
    print(f"password of {user.username} reset; its sessions were ended")
    if generated:
        print(f"one-time password (shown once, must be changed at first login): {password}")
    return 0


def cmd_users_list(args, settings) -> int:
    for u in _accounts().users():
        flags = ("" if u["is_active"] else " disabled") + (
            " must-change-password" if u["must_change_password"] else ""
        )
        print(f"{u['username']:<24} {u['role']:<11} {u['department_code'] or '-':<18}{flags}")
    return 0


def cmd_users_active(args, settings) -> int:
    accounts = _accounts()
    user = accounts.user_by_name(args.username)
    if user is None:
        return _fail(f"no account {args.username!r}")
    accounts.set_active(user.id, args.active)
    accounts.audit("cli", "enabled" if args.active else "disabled", {"account": user.username})
    print(f"{user.username} {'enabled' if args.active else 'disabled'}")
    return 0


def cmd_token_create(args, settings) -> int:
    if args.department not in _catalog_departments():
        return _fail(f"unknown department {args.department!r}")
    token = _accounts().create_token(args.department, args.name, created_by="cli")
    print(f"API token for {args.department} (shown once; store it as a secret):")
    print(token)
    return 0


def cmd_token_list(args, settings) -> int:
    for t in _accounts().tokens():
        state = (
            f"revoked {t['revoked_at']}" if t["revoked_at"] else f"last used {t['last_used_at'] or 'never'}"
        )
        print(f"{t['token_id']}  {t['department_code']:<18} {t['name']:<30} {state}")
    return 0


def cmd_token_revoke(args, settings) -> int:
    if not _accounts().revoke_token(args.token_id):
        return _fail(f"no active token {args.token_id!r}")
    print(f"token {args.token_id} revoked")
    return 0


def cmd_portal(args, settings) -> int:
    import uvicorn

    from .app import create_app

    try:
        config = load_config(settings)
    except ConfigError as exc:
        return _fail(str(exc))
    warn_if_ephemeral(config)
    if not any(True for _ in _accounts().users()):
        print(
            "planwh portal: no accounts yet; create one with "
            "`.venv/bin/planwh users add NAME --department CODE --generate` (docs/portal.md)",
            file=sys.stderr,
        )
    app = create_app(config)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("PLANWH_PORTAL_TRUSTED_PROXIES", "127.0.0.1"),
        server_header=False,
        log_level="info",
    )
    return 0


def cmd_backup(args, settings) -> int:
    _accounts().backup(args.target)
    print(f"accounts database copied to {args.target}")
    return 0


def main(argv: list[str] | None = None) -> int:  # python -m pipelines.portal.cli …
    from pipelines.lib.settings import load_settings

    parser = argparse.ArgumentParser(prog="planwh")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args, load_settings())
