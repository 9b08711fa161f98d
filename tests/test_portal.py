"""The reporting portal through its HTTP interface: accounts, sessions, CSRF, throttling, tokens, every
route tried without credentials and as another department, uploads and receipts from the one
validation core, the inbox contract, and independence from the warehouse's writer."""

from __future__ import annotations

import html
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from pipelines.portal.app import create_app
from tests.conftest import REPO, TEST_ROOT
from tests.portal_support import (
    PASSWORD,
    add_accounts,
    csrf,
    inbox_files,
    indicator_csv,
    login,
    portal_config,
    token_for,
)

ROOT = TEST_ROOT / "portal"


@pytest.fixture(scope="module")
def portal(sample_run):
    import shutil

    shutil.rmtree(ROOT, ignore_errors=True)
    config = portal_config(ROOT, sample_run["db"], max_upload_bytes=256 * 1024)
    accounts = add_accounts(config)
    tokens = {
        "370102_IND": accounts.create_token("370102_IND", "test script", "test"),
        "370102_ECO": accounts.create_token("370102_ECO", "test script", "test"),
    }
    app = create_app(config)
    with TestClient(app) as client:  # runs the start-up warm-up
        yield {"app": app, "config": config, "accounts": accounts, "tokens": tokens, "client": client}


def client_for(portal, username: str | None = None) -> TestClient:
    client = TestClient(portal["app"])
    if username:
        assert login(client, username).status_code == 303
    return client


def api(portal, department: str = "370102_IND") -> dict:
    return {"Authorization": f"Bearer {portal['tokens'][department]}"}


GOOD_AND_BAD = indicator_csv([("I08", 2025, 158), ("S022", 2025, "461.8")])
SOFT = indicator_csv([("S022", 2025, "4321.5"), ("S023", 2025, "103.2")])  # S022 was 450.2: a 10x jump


def soft(value: str) -> bytes:
    """SOFT with another jumped value: a value explained once is explained for later uploads too."""
    return indicator_csv([("S022", 2025, value), ("S023", 2025, "103.2")])


def upload(client, name: str, data: bytes):
    return client.post(
        "/upload",
        data={"csrf_token": token_for(client)},
        files={"file": (name, data, "application/octet-stream")},
        follow_redirects=False,
    )


# ------------------------------------------------------------------------------------ accounts


def test_passwords_and_tokens_are_stored_hashed(portal):
    raw = portal["config"].accounts_db.read_bytes()
    assert PASSWORD.encode() not in raw
    assert portal["tokens"]["370102_IND"].encode() not in raw
    db = sqlite3.connect(portal["config"].accounts_db)
    hashes = [r[0] for r in db.execute("select password_hash from users")]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert oct(portal["config"].accounts_db.stat().st_mode & 0o777) == "0o600"


def test_users_cli_creates_accounts_without_default_passwords(tmp_path, monkeypatch, capsys):
    import io

    from pipelines.cli import main

    monkeypatch.setenv("PLANWH_PORTAL_DIR", str(tmp_path))

    class Done:
        def __init__(self, returncode, stdout, stderr):
            self.returncode, self.stdout, self.stderr = returncode, stdout, stderr

    def planwh(*args, stdin=""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["users", *args])
        out = capsys.readouterr()
        return Done(code, out.out, out.err)

    no_password = planwh("add", "clerk1", "--department", "370102_STATS")
    assert no_password.returncode == 2 and "--generate or --password-stdin" in no_password.stderr
    assert planwh("add", "clerk1", "--department", "NOPE", "--generate").returncode == 2
    assert planwh("add", "../x", "--department", "370102_STATS", "--generate").returncode == 2
    weak = planwh("add", "clerk1", "--department", "370102_STATS", "--password-stdin", stdin="short\n")
    assert weak.returncode == 2 and "12 characters" in weak.stderr
    made = planwh("add", "clerk1", "--department", "370102_STATS", "--generate")
    assert made.returncode == 0, made.stderr
    one_time = re.search(r"one-time password.*: (\S+)", made.stdout).group(1)
    assert (
        planwh("add", "Clerk1", "--department", "370102_STATS", "--generate").returncode == 2
    )  # case-insensitive
    listed = planwh("list").stdout
    assert "clerk1" in listed and "must-change-password" in listed
    from pipelines.portal.accounts import Accounts
    from pipelines.portal.security import verify_password

    user = Accounts(tmp_path / "accounts.sqlite3").user_by_name("clerk1")
    assert verify_password(user.password_hash, one_time)[0]
    created = planwh("token", "create", "--department", "370102_STATS", "--name", "export")
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("pwh_")
    assert token not in (tmp_path / "accounts.sqlite3").read_text(errors="ignore")
    token_id = token.split("_")[1]
    assert planwh("token", "revoke", token_id).returncode == 0
    assert Accounts(tmp_path / "accounts.sqlite3").token_department(token) is None


# ------------------------------------------------------------------------------------ sessions


def test_login_rotates_the_session_and_logout_ends_it(portal):
    client = TestClient(portal["app"])
    client.get("/login")
    before = client.cookies.get("planwh_portal")
    assert login(client, "stats").status_code == 303
    after = client.cookies.get("planwh_portal")
    assert after and after != before
    assert client.get("/home").status_code == 200
    stolen = dict(client.cookies)
    client.post("/logout", data={"csrf_token": token_for(client)})
    replay = TestClient(portal["app"], cookies=stolen)
    response = replay.get("/home", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_login_never_redirects_off_site(portal):
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example", "/home"):
        client = TestClient(portal["app"])
        page = client.get("/login")
        response = client.post(
            "/login",
            data={"username": "stats", "password": PASSWORD, "csrf_token": csrf(page.text), "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/home", target


def test_names_and_values_are_escaped(portal):
    client = client_for(portal, "eco")
    name = "<img src=x onerror=alert(1)>.csv"
    response = upload(client, name, indicator_csv([("<b>I19</b>", 2025, "<i>x</i>")]))
    page = client.get(response.headers["location"]).text
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;.csv" in page
    assert "<b>I19</b>" not in page and "<i>x</i>" not in page


def test_cookie_flags_and_security_headers(portal):
    client = TestClient(portal["app"])
    response = login(client, "stats")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=" in cookie
    page = client.get("/home")
    assert "script-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text


def test_a_tampered_or_expired_cookie_is_not_a_session(portal):
    client = client_for(portal, "stats")
    value = client.cookies.get("planwh_portal")
    forged = TestClient(portal["app"], cookies={"planwh_portal": value[:-4] + "AAAA"})
    assert forged.get("/home", follow_redirects=False).status_code == 303
    import dataclasses

    short = create_app(dataclasses.replace(portal["config"], session_idle_seconds=1), warm=False)
    idle = TestClient(short)
    assert login(idle, "stats").status_code == 303
    time.sleep(2.1)
    assert idle.get("/home", follow_redirects=False).status_code == 303


def test_an_expired_session_says_so_on_the_login_page(portal):
    """An upload sent after the session ended is not received: the login page says so (and so for a
    page asked for after it), instead of a bare login form."""
    import dataclasses

    short = create_app(dataclasses.replace(portal["config"], session_idle_seconds=1), warm=False)
    client = TestClient(short)
    assert login(client, "stats").status_code == 303
    token = csrf(client.get("/upload").text)
    time.sleep(2.1)
    response = client.post(
        "/upload",
        data={"csrf_token": token},
        files={"file": ("late.csv", indicator_csv([("S001", 2025, "2500")]), "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    page = client.get(response.headers["location"]).text
    assert "登录已过期" in page and "上传的文件没有收到" in page
    assert "session expired" in page and "upload the file again" in page
    assert 'name="next" value="/upload"' in page  # after logging in, back to the form
    assert not [u for u in portal["accounts"].uploads("370102_STATS") if u["original_name"] == "late.csv"]
    assert login(client, "stats").status_code == 303
    time.sleep(2.1)
    again = client.get("/home", follow_redirects=False)
    page = client.get(again.headers["location"]).text
    assert "登录已过期" in page and "session expired" in page and "上传的文件" not in page
    fresh = TestClient(short).get("/login").text
    assert "登录已过期" not in fresh and "session expired" not in fresh


def test_every_form_needs_the_csrf_token(portal):
    client = client_for(portal, "stats")
    for path, data in (
        ("/upload", {}),
        ("/logout", {}),
        ("/account/password", {"current": PASSWORD, "new": "x" * 20, "confirm": "x" * 20}),
    ):
        response = client.post(path, data={**data, "csrf_token": "forged"}, follow_redirects=False)
        assert response.status_code == 403, path
    other_site = client.post(
        "/logout", data={"csrf_token": token_for(client)}, headers={"origin": "https://evil.example"}
    )
    assert other_site.status_code == 403
    assert client.get("/home").status_code == 200  # still logged in
    login_page = TestClient(portal["app"])
    assert (
        login_page.post(
            "/login", data={"username": "stats", "password": PASSWORD}, follow_redirects=False
        ).status_code
        == 403
    )


def test_login_is_throttled_per_account(portal):
    accounts = portal["accounts"]
    accounts.add_user("victim", "department", "370102_FIN", PASSWORD, must_change_password=False)
    client = TestClient(portal["app"])
    for _ in range(5):
        response = login(client, "victim", "wrong-password-123")
        assert response.status_code == 401
        assert "用户名或密码不正确" in response.text
    unknown = login(client, "nobody-here", "wrong-password-123")
    assert unknown.status_code == 401 and "用户名或密码不正确" in unknown.text  # same answer: no enumeration
    blocked = login(client, "victim", PASSWORD)  # even the right password waits
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "分钟后再试" in blocked.text
    other = TestClient(portal["app"])
    assert login(other, "stats").status_code == 303  # other accounts are not locked out


def test_a_password_reset_lifts_the_lockout(portal, monkeypatch, capsys):
    """The 429 tells a locked-out clerk to ask for a reset: the one-time password must then work at once,
    whether the reset was made on the administrators' page or with `planwh users reset-password`."""
    accounts = portal["accounts"]
    accounts.add_user("locked", "department", "370102_FIN", PASSWORD, must_change_password=False)
    user_id = accounts.user_by_name("locked").id

    def clerk():  # an address of its own, so the address limit shared by the other tests stays out of it
        return TestClient(portal["app"], client=("198.51.100.20", 5000))

    def lock_out():
        for _ in range(5):
            assert login(clerk(), "Locked", "wrong-password-123").status_code == 401
        blocked = login(clerk(), "locked")
        assert blocked.status_code == 429 and "reset" in blocked.text

    lock_out()
    admin = client_for(portal, "office")
    reset = admin.post(f"/admin/users/{user_id}/reset-password", data={"csrf_token": token_for(admin)})
    one_time = re.search(r'id="one-time-password">([^<]+)<', reset.text).group(1)
    assert login(clerk(), "locked", one_time).headers["location"] == "/account/password"

    lock_out()
    from pipelines.cli import main

    monkeypatch.setenv("PLANWH_PORTAL_DIR", str(portal["config"].state_dir))
    assert main(["users", "reset-password", "locked", "--generate"]) == 0
    one_time = re.search(r"one-time password.*: (\S+)", capsys.readouterr().out).group(1)
    assert login(clerk(), "locked", one_time).headers["location"] == "/account/password"


def test_login_is_throttled_per_address(portal):
    """One address guessing many accounts: four times the per-account limit (2 here, so 8)."""
    import dataclasses

    app = create_app(dataclasses.replace(portal["config"], login_max_failures=2), warm=False)
    client = TestClient(app, client=("198.51.100.7", 5000))
    for i in range(8):
        assert login(client, f"guess{i}", "wrong-password-123").status_code == 401
    assert login(client, "stats").status_code == 429
    assert login(TestClient(app, client=("198.51.100.8", 5000)), "stats").status_code == 303


def test_first_login_must_change_the_password_and_reset_ends_sessions(portal):
    accounts = portal["accounts"]
    accounts.add_user("newclerk", "department", "370102_EDU", PASSWORD, must_change_password=True)
    client = client_for(portal, "newclerk")
    assert client.get("/home", follow_redirects=False).headers["location"] == "/account/password"
    new = "a-better-password-42"
    changed = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": new, "confirm": new, "csrf_token": token_for(client)},
    )
    assert changed.status_code == 200 and "密码已修改" in changed.text
    assert client.get("/home").status_code == 200

    admin = client_for(portal, "office")
    user_id = accounts.user_by_name("newclerk").id
    reset = admin.post(f"/admin/users/{user_id}/reset-password", data={"csrf_token": token_for(admin)})
    one_time = re.search(r'id="one-time-password">([^<]+)<', reset.text).group(1)
    assert client.get("/home", follow_redirects=False).status_code == 303  # the reset ended the session
    assert login(TestClient(portal["app"]), "newclerk", new).status_code == 401
    again = TestClient(portal["app"])
    assert login(again, "newclerk", one_time).headers["location"] == "/account/password"
    # administrators' own passwords are not reset from the web
    office_id = accounts.user_by_name("office").id
    assert (
        admin.post(
            f"/admin/users/{office_id}/reset-password", data={"csrf_token": token_for(admin)}
        ).status_code
        == 404
    )


# ------------------------------------------------------------------------------------ every route


PUBLIC = {("GET", "/"), ("GET", "/login"), ("POST", "/login")}
ANY_USER = {
    ("POST", "/logout"),
    ("GET", "/account/password"),
    ("POST", "/account/password"),
    ("GET", "/help/{page}"),
}


def routes(app) -> set[tuple[str, str]]:
    """Every (method, path) the application serves, read from its routers."""
    from pipelines.portal.routers import admin, api, auth, department, rules

    found = set()
    for router in (auth.router, department.router, admin.router, api.router, rules.router):
        found |= {(m, r.path) for r in router.routes if isinstance(r, APIRoute) for m in r.methods}
    served = {(m, r.path) for r in app.routes if isinstance(r, APIRoute) for m in r.methods}
    return found | served


def test_every_route_is_in_the_authorisation_table(portal):
    table = PUBLIC | ANY_USER | set(DEPARTMENT) | set(ADMIN) | set(API)
    assert routes(portal["app"]) == table, "a route without an authorisation test"


DEPARTMENT = {
    ("GET", "/home"): {},
    ("GET", "/template"): {"params": {"period": "2025"}},
    ("GET", "/upload"): {},
    ("POST", "/upload"): {"files": {"file": ("a.csv", b"x", "text/csv")}},
    ("GET", "/submissions/{submission_id}"): {},
    ("GET", "/submissions/{submission_id}/receipt.json"): {},
    ("POST", "/submissions/{submission_id}/explanations"): {"data": {"explanation_0": "因统计口径调整"}},
    ("POST", "/submissions/{submission_id}/cancel"): {},
    ("POST", "/warnings/explanations"): {"data": {"explain__x": "因统计口径调整"}},
}
ADMIN = {
    ("GET", "/admin"): {},
    ("GET", "/admin/departments/{department_code}"): {},
    ("GET", "/admin/submissions/{submission_id}"): {},
    ("GET", "/admin/users"): {},
    ("POST", "/admin/users/{user_id}/reset-password"): {},
    ("GET", "/admin/audit"): {},
}
API = {
    ("POST", "/api/v1/submissions"): {"files": {"file": ("a.csv", b"x", "text/csv")}},
    ("GET", "/api/v1/submissions"): {},
    ("GET", "/api/v1/submissions/{submission_id}"): {},
    ("POST", "/api/v1/submissions/{submission_id}/explanations"): {
        "json": {"explanations": [{"issue_index": 0, "text": "因统计口径调整"}]}
    },
    ("POST", "/api/v1/submissions/{submission_id}/cancel"): {},
    ("GET", "/api/v1/obligations"): {"params": {"period": "2025"}},
}


def _call(client, method, path, kwargs, csrf_token=None):
    kwargs = dict(kwargs)
    if method == "POST" and csrf_token is not None and "json" not in kwargs:
        kwargs["data"] = {**kwargs.get("data", {}), "csrf_token": csrf_token}
    return client.request(method, path, follow_redirects=False, **kwargs)


@pytest.fixture(scope="module")
def ind_upload(portal):
    """An upload of 370102_IND (one rejected row, one accepted) and a processed file of theirs."""
    client = client_for(portal, "ind")
    response = upload(client, "ind.csv", GOOD_AND_BAD)
    upload_id = response.headers["location"].rsplit("/", 1)[-1]
    from pipelines.lib.warehouse.publish import open_published

    con = open_published(portal["config"].settings.published_warehouse)
    ledger_id = con.execute(
        "select submission_id from marts.fct_submissions where department_code = '370102_IND' limit 1"
    ).fetchone()[0]
    con.close()
    return {"upload_id": upload_id, "ledger_id": ledger_id}


def _fill(path: str, ids: dict) -> str:
    return (
        path.replace("{department_code}", "370102_IND")
        .replace("{user_id}", str(ids.get("user_id", 1)))
        .replace("{submission_id}", ids["submission_id"])
    )


def test_without_credentials_every_route_is_refused(portal, ind_upload):
    anonymous = TestClient(portal["app"])
    for (method, path), kwargs in {**DEPARTMENT, **ADMIN}.items():
        for sid in ind_upload.values():
            response = _call(anonymous, method, _fill(path, {"submission_id": sid}), kwargs, csrf_token=None)
            assert response.status_code in (303, 403), (method, path)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/login")
            assert "370102_IND" not in response.text
    for (method, path), kwargs in API.items():
        for headers in (
            {},
            {"Authorization": "Bearer pwh_000000000000_" + "x" * 43},
            {"Authorization": "Basic x"},
        ):
            for sid in ind_upload.values():
                response = anonymous.request(
                    method, _fill(path, {"submission_id": sid}), headers=headers, **kwargs
                )
                assert response.status_code == 401, (method, path, headers)
                assert response.headers["www-authenticate"].startswith("Bearer")
                assert "Traceback" not in response.text and "error" in response.json()


def test_another_department_cannot_see_or_touch_anything(portal, ind_upload):
    eco = client_for(portal, "eco")
    token = token_for(eco)
    before = portal["accounts"].upload(ind_upload["upload_id"], None)
    for (method, path), kwargs in DEPARTMENT.items():
        if "{submission_id}" not in path:
            continue
        for sid in ind_upload.values():
            response = _call(eco, method, _fill(path, {"submission_id": sid}), kwargs, csrf_token=token)
            assert response.status_code == 404, (method, path, sid)
            assert "ind.csv" not in response.text
    for (method, path), kwargs in API.items():
        if "{submission_id}" not in path:
            continue
        for sid in ind_upload.values():
            response = eco.request(
                method, _fill(path, {"submission_id": sid}), headers=api(portal, "370102_ECO"), **kwargs
            )
            assert response.status_code == 404, (method, path, sid)
    assert portal["accounts"].upload(ind_upload["upload_id"], None) == before
    home = eco.get("/home").text
    assert "ind.csv" not in home and ind_upload["upload_id"] not in home
    listed = eco.get("/api/v1/submissions", headers=api(portal, "370102_ECO")).json()
    assert all(u["department_code"] == "370102_ECO" for u in listed["uploads"])
    assert ind_upload["ledger_id"] not in json.dumps(listed)
    obligations = eco.get("/api/v1/obligations", headers=api(portal, "370102_ECO")).json()
    assert obligations["department_code"] == "370102_ECO"
    # the department is the session's: a department field in the form changes nothing
    sneaky = eco.post(
        "/upload",
        data={"csrf_token": token, "department_code": "370102_IND"},
        files={"file": ("x.csv", indicator_csv([("I19", 2025, 61)]), "text/csv")},
        follow_redirects=False,
    )
    receipt = eco.get(sneaky.headers["location"]).text
    assert "370102_ECO" in receipt and "(370102_IND)" not in receipt


def test_roles_are_kept_apart(portal, ind_upload):
    clerk = client_for(portal, "ind")
    token = token_for(clerk)
    for (method, path), kwargs in ADMIN.items():
        response = _call(
            clerk, method, _fill(path, {"submission_id": ind_upload["upload_id"]}), kwargs, token
        )
        assert response.status_code == 403, (method, path)
    admin = client_for(portal, "office")
    token = token_for(admin)
    for (method, path), kwargs in DEPARTMENT.items():
        response = _call(
            admin, method, _fill(path, {"submission_id": ind_upload["upload_id"]}), kwargs, token
        )
        assert response.status_code == 403, (method, path)
    # administrators see every department's receipts (read-only)
    for sid in ind_upload.values():
        assert admin.get(f"/admin/submissions/{sid}").status_code == 200
    assert "区工业和信息化局" in admin.get("/admin/departments/370102_IND").text


def test_administrators_read_names_and_actions_in_both_languages(portal, ind_upload):
    departments = portal["app"].state.portal.departments
    assert login(TestClient(portal["app"]), "stats", "wrong-password-123").status_code == 401
    admin = client_for(portal, "office")
    overview = admin.get("/admin").text
    rejections = overview.split("尚未更正的拒收", 1)[1]
    named = [code for code, (zh, _) in departments.items() if f"<td>{zh}<br>" in rejections]
    assert named, "the samples leave open rejections"
    for code in named:
        assert f'<span class="en">{departments[code][1]}</span></td>' in rejections
    users = admin.get("/admin/users").text
    assert f"{departments['370102_STATS'][1]} (370102_STATS)" in users
    audit = admin.get("/admin/audit").text
    assert '登录失败<br><span class="en">failed login</span>' in audit
    assert '登录<br><span class="en">logged in</span>' in audit
    assert not re.search(r"<td>(login|login_failed|reset_password|upload|forward)</td>", audit)


# ------------------------------------------------------------------------------------ uploads


def test_a_rejected_row_never_reaches_the_inbox(portal, ind_upload):
    config = portal["config"]
    record = portal["accounts"].upload(ind_upload["upload_id"], "370102_IND")
    receipt = record["receipt"]
    assert receipt["verdict"] == "accepted_with_warnings"
    assert (receipt["rows_accepted"], receipt["rows_rejected"]) == (1, 1)
    error = next(i for i in receipt["issues"] if i["severity"] == "error")
    assert (error["reason"], error["row"], error["value"]) == ("out_of_range", 2, "158")
    assert "0–100" in error["message_zh"] and "plausible range" in error["message_en"]
    [forwarded] = record["forwarded"]
    path = config.settings.inbox / "370102_IND" / forwarded["name"]
    text = path.read_text(encoding="utf-8-sig")
    assert "S022" in text and "461.8" in text
    assert "I08" not in text and "158" not in text
    assert forwarded["name"].startswith("portal/") and path.stat().st_mode & 0o777 == 0o640
    # the receipt page says it, in both languages
    page = client_for(portal, "ind").get(f"/submissions/{ind_upload['upload_id']}").text
    assert "超出合理范围" in page and "outside the plausible range" in page
    assert "已送达，待入库" in page
    # the forwarded file passes the same core cleanly
    from pipelines.lib.submissions.check import check_file

    again = check_file(path, path.name, "370102_IND", portal["app"].state.portal.catalog)
    assert next(iter(again.outcomes.values())).status == "accepted"


def test_a_rejected_file_never_reaches_the_inbox(portal):
    client = client_for(portal, "eco")
    before = inbox_files(portal["config"])
    cases = {
        "page.xlsx": b"<html><body><table><tr><td>1</td></tr></table></body></html>",
        "empty.csv": b"",
        "other_department.csv": indicator_csv([("I08", 2025, 50), ("I19", 2025, 61)]),
        "all_bad.csv": indicator_csv([("I19", 2025, "abc")]),
        "data.exe": b"MZ\x90\x00",
    }
    for name, data in cases.items():
        response = upload(client, name, data)
        page = client.get(response.headers["location"])
        assert 'id="verdict">已拒收' in page.text, name
        assert "没有任何数据送达" in page.text
    assert inbox_files(portal["config"]) == before


def test_file_names_never_become_paths(portal):
    client = client_for(portal, "eco")
    from pipelines.portal.intake import display_name

    assert display_name("C:\\Users\\x\\..\\evil\x00name.csv") == "evilname.csv"
    assert display_name("../..") == "upload" and display_name(None) == "upload"
    response = upload(client, "../../../etc/evilname.csv", indicator_csv([("I19", 2025, 61)]))
    upload_id = response.headers["location"].rsplit("/", 1)[-1]
    record = portal["accounts"].upload(upload_id, "370102_ECO")
    assert record["original_name"] == "evilname.csv"
    [forwarded] = record["forwarded"]
    assert re.fullmatch(r"portal/\d{8}-\d{6}_P\d{14}-[0-9a-f]{8}_evilname_指标数据\.csv", forwarded["name"])
    state = portal["config"].state_dir
    stored = list((state / "uploads" / "370102_ECO" / upload_id).iterdir())
    assert [p.name for p in stored] == ["original"] and stored[0].stat().st_mode & 0o777 == 0o400
    assert not (ROOT.parent / "etc").exists()


def test_uploads_over_the_cap_are_refused_with_413(portal):
    client = client_for(portal, "eco")
    big = b"x" * (300 * 1024)
    before = inbox_files(portal["config"])
    # just over the cap: counted while the file is stored; far over it: refused before the body is read
    response = upload(client, "big.csv", big)
    assert response.status_code == 413 and "大小上限" in response.text and "size limit" in response.text
    for size in (300 * 1024, 900 * 1024):
        response = client.post(
            "/api/v1/submissions",
            headers=api(portal, "370102_ECO"),
            files={"file": ("big.csv", b"x" * size, "text/csv")},
        )
        assert response.status_code == 413 and response.json()["error"]["status"] == 413

    def chunks():  # no Content-Length: the cap is enforced on the stream
        boundary = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        yield boundary
        for _ in range(60):
            yield b"y" * 10_000
        yield b"\r\n--b--\r\n"

    response = client.post(
        "/api/v1/submissions",
        headers={**api(portal, "370102_ECO"), "content-type": "multipart/form-data; boundary=b"},
        content=chunks(),
    )
    assert response.status_code == 413
    assert inbox_files(portal["config"]) == before


def test_an_upload_over_the_cap_gets_a_page_with_the_limit_and_a_way_back(portal):
    """Whether the body is cut off before it is read (far over) or while the file is stored (just over):
    a styled page in both languages, the limit in MiB as docs/portal.md states it, a link to the form;
    the API states the same limit."""
    client = client_for(portal, "eco")
    assert portal["config"].max_upload_bytes == 256 * 1024
    for size in (300 * 1024, 900 * 1024):
        response = upload(client, "big.csv", b"x" * size)
        assert response.status_code == 413, size
        page = response.text
        assert 'href="/static/portal.css"' in page and "<footer>" in page, size
        assert "0.25 MiB" in page and "字节" not in page and "bytes" not in page, size
        assert "文件过大" in page and "File too large" in page, size
        assert 'href="/upload"' in page and "返回上传页面" in page, size
        body = client.post(
            "/api/v1/submissions",
            headers=api(portal, "370102_ECO"),
            files={"file": ("big.csv", b"x" * size, "text/csv")},
        ).json()["error"]
        assert "0.25 MiB" in body["message_zh"] and "0.25 MiB" in body["message_en"], size


def test_content_decides_not_the_name(portal):
    """A workbook named .csv and a CSV named .xlsx are told apart by their bytes (the core's readers)."""
    client = client_for(portal, "eco")
    from io import BytesIO

    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "指标数据"
    wb.active.append(["指标编号", "统计期", "数值"])
    wb.active.append(["I19", 2025, 61])
    buffer = BytesIO()
    wb.save(buffer)
    for name, data, reason in (
        ("book.csv", buffer.getvalue(), "disguised_file"),
        ("text.xlsx", indicator_csv([("I19", 2025, 61)]), "disguised_file"),
    ):
        body = client.post(
            "/api/v1/submissions", headers=api(portal, "370102_ECO"), files={"file": (name, data, "text/csv")}
        ).json()
        assert body["verdict"] == "rejected" and body["issues"][0]["reason"] == reason, name


# ------------------------------------------------------------------------------------ API


def test_api_submission_round_trip(portal):
    headers = api(portal)
    response = portal["client"].post(
        "/api/v1/submissions", headers=headers, files={"file": ("api.csv", GOOD_AND_BAD, "text/csv")}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {
        "submission_id",
        "department_code",
        "verdict",
        "rows_accepted",
        "rows_rejected",
        "issues",
    }
    assert body["department_code"] == "370102_IND" and body["verdict"] == "accepted_with_warnings"
    issue = next(i for i in body["issues"] if i["severity"] == "error")
    assert set(issue) >= {"severity", "reason", "sheet", "row", "column", "value", "message_zh", "message_en"}
    got = portal["client"].get(f"/api/v1/submissions/{body['submission_id']}", headers=headers).json()
    assert got["verdict"] == body["verdict"] and got["status"] == "in_inbox"
    # no explanation is owed: explaining is a conflict, not a crash
    explained = portal["client"].post(
        f"/api/v1/submissions/{body['submission_id']}/explanations",
        headers=headers,
        json={"explanations": [{"issue_index": 0, "text": "因统计口径调整"}]},
    )
    assert explained.status_code == 409 and "Traceback" not in explained.text
    malformed = portal["client"].post(
        f"/api/v1/submissions/{body['submission_id']}/explanations", headers=headers, content=b"{not json"
    )
    assert malformed.status_code == 422 and malformed.json()["error"]["status"] == 422
    unknown = portal["client"].get("/api/v1/submissions/../../etc/passwd", headers=headers)
    assert unknown.status_code == 404


def test_a_forwarded_file_is_traced_to_what_the_pipeline_recorded(sample_run):
    """An upload's receipt names the ledger row of each file it became. A sent again after B is recorded
    by the pipeline as a re-submission (<id>-r2), so the file is found by its name, not by an id made from
    its content (which is the first A's); a copy of the department's latest content gets no receipt of
    its own and is traced to that content's receipt; a re-submission not yet recorded is awaited."""
    import shutil

    import duckdb

    from pipelines.lib.ingest.inbox import discover_and_archive
    from pipelines.lib.ingest.load import process_pending
    from pipelines.lib.plans.catalog import Catalog

    root = TEST_ROOT / "portal-trace"  # a portal of its own: the ledger rows it adds stay out of the others'
    shutil.rmtree(root, ignore_errors=True)
    config = portal_config(root, sample_run["db"])
    accounts = add_accounts(config)
    headers = {"Authorization": f"Bearer {accounts.create_token('370102_IND', 'test script', 'test')}"}
    settings = config.settings
    client = TestClient(create_app(config))

    def send(name: str, value: str) -> dict:
        data = indicator_csv([("S022", 2024, value)])
        response = client.post(
            "/api/v1/submissions", headers=headers, files={"file": (name, data, "text/csv")}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def seen(body: dict) -> dict:
        got = client.get(f"/api/v1/submissions/{body['submission_id']}", headers=headers).json()
        return got["forwarded"][0]

    def publish_what_the_pipeline_recorded() -> None:
        catalog = Catalog.load(settings.seeds_dir)
        discover_and_archive(settings, catalog)
        process_pending(settings, catalog)
        target = settings.published_warehouse
        tmp = target.with_name(".incoming-trace-test")
        shutil.copyfile(target, tmp)
        con = duckdb.connect(str(tmp))
        con.execute(f"attach '{settings.warehouse}' as work (read_only)")
        con.execute("insert or ignore into raw.receipts by name select * from work.raw.receipts")
        con.execute("delete from ops.refresh_runs")
        con.execute("insert into ops.refresh_runs select * from work.ops.refresh_runs")
        con.execute(
            """insert into marts.fct_submissions by name
               select submission_id, department_code, original_name, file_sha256, received_at, processed_at,
                      status, rows_accepted, rows_rejected, resubmission_of
               from work.raw.submissions
               where submission_id not in (select submission_id from marts.fct_submissions)"""
        )
        con.close()
        os.replace(tmp, target)

    a, b, a_again = send("a.csv", "451.5"), send("b.csv", "452.5"), send("a_again.csv", "451.5")
    assert (
        a_again["status"] == "in_inbox"
        and seen(a_again)["sha256"] == seen(a)["sha256"]
        and not seen(a_again)["processed"]
    )
    publish_what_the_pipeline_recorded()
    first, second, resent = seen(a), seen(b), seen(a_again)
    assert first["processed"] and second["processed"] and resent["processed"]
    assert resent["submission_id"] == first["submission_id"] + "-r2" and resent["same_content_as"] is None

    copy = send("a_copy.csv", "451.5")  # the department's latest word again: no receipt of its own,
    assert copy["status"] == "in_inbox"  # but no scan has judged it yet (a newer file may be on its way)
    publish_what_the_pipeline_recorded()
    traced = seen(copy)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    names = {r[0] for r in con.execute("select original_name from raw.receipts").fetchall()}
    con.close()
    assert traced["name"] not in names and resent["name"] in names
    assert traced["processed"] and traced["same_content_as"] == resent["submission_id"]
    send("b_again.csv", "452.5")  # newer words since do not change what the copy was
    publish_what_the_pipeline_recorded()
    assert seen(copy)["same_content_as"] == resent["submission_id"]
    assert login(client, "ind").status_code == 303
    page = client.get(f"/submissions/{copy['submission_id']}")
    assert f"same content as {resent['submission_id']}" in page.text
    files = page.text.split("送达的文件", 1)[1].split("问题清单", 1)[0]
    assert re.search(r'class="badge accepted">已接收</span> <span class="en">accepted</span>', files)


def test_api_obligations(portal):
    headers = api(portal)
    body = portal["client"].get("/api/v1/obligations?period=2025", headers=headers).json()
    assert body["department_code"] == "370102_IND" and body["period"] == "2025"
    [indicators] = [o for o in body["obligations"] if o["submission_kind"] == "indicator_data"]
    codes = {i["item_code"] for i in indicators["items"]}
    assert "I08" in codes and indicators["items_owned"] == len(indicators["items"])
    assert {i["item_kind"] for i in indicators["items"]} <= {"main_indicator", "secondary_target"}
    bad = portal["client"].get("/api/v1/obligations?period=2025Q9", headers=headers)
    assert bad.status_code == 422


def test_a_revoked_token_is_refused(portal):
    accounts = portal["accounts"]
    token = accounts.create_token("370102_CBD", "temporary", "test")
    headers = {"Authorization": f"Bearer {token}"}
    assert portal["client"].get("/api/v1/submissions", headers=headers).status_code == 200
    accounts.revoke_token(token.split("_")[1])
    assert portal["client"].get("/api/v1/submissions", headers=headers).status_code == 401


# ------------------------------------------------------------------------------------ pages


def test_home_shows_what_is_owed_sent_and_open(portal, sample_db):
    page = client_for(portal, "ind").get("/home").text
    missing = sample_db.execute(
        """select item_code from marts.fct_submission_obligation_items
           where department_code = '370102_IND' and not is_delivered"""
    ).fetchall()
    for (code,) in missing:
        assert code in page
    assert "应报情况" in page and "What is owed" in page
    assert "ind.csv" in page  # the upload of the module fixture
    ledger = sample_db.execute(
        "select original_name from marts.fct_submissions where department_code = '370102_IND' limit 3"
    ).fetchall()
    for (name,) in ledger:
        assert name in page


def test_home_shows_an_uploads_state_as_its_receipt_does(portal, ind_upload):
    client = client_for(portal, "ind")
    upload_id = ind_upload["upload_id"]
    receipt = client.get(f"/submissions/{upload_id}/receipt.json").json()
    assert receipt["status"] == "in_inbox"
    home = client.get("/home").text
    row = re.search(rf'<tr>(?:(?!</tr>).)*/submissions/{upload_id}"(?:(?!</tr>).)*</tr>', home, re.S).group(0)
    assert "已送达，待入库" in row and "in the inbox, awaiting the next refresh" in row
    assert "forwarded" not in row


def test_home_lists_every_processed_file_page_by_page(portal):
    """The home page says how many files the pipeline processed and pages through all of them."""
    from pipelines.lib.warehouse.publish import open_published
    from pipelines.portal.routers.department import PAGE_SIZE

    con = open_published(portal["config"].settings.published_warehouse)
    ids = [
        r[0]
        for r in con.execute(
            """select submission_id from marts.fct_submissions where department_code = '370102_STATS'
               order by received_at desc, submission_id"""
        ).fetchall()
    ]
    con.close()
    total = len(ids)
    assert total > PAGE_SIZE, "the samples give 370102_STATS more files than one page"

    def listed(page: str) -> list[str]:
        section = page.split('id="sent-files"', 1)[1]
        return [i for i in ids if f'/submissions/{i}"' in section]

    client = client_for(portal, "stats")
    first = client.get("/home").text
    assert f"显示第 1–{PAGE_SIZE} 份，共 {total} 份" in first and f"showing 1–{PAGE_SIZE} of {total}" in first
    assert listed(first) == ids[:PAGE_SIZE]
    assert "/home?files_page=2&amp;uploads_page=1#sent-files" in first
    pages = -(-total // PAGE_SIZE)
    seen = []
    for n in range(1, pages + 1):
        seen += listed(client.get(f"/home?files_page={n}").text)
    assert seen == ids
    last = client.get(f"/home?files_page={pages + 5}").text  # past the end: the last page
    assert f"共 {total} 份" in last and listed(last) == ids[(pages - 1) * PAGE_SIZE :]
    malformed = client.get("/home?files_page=abc")
    assert malformed.status_code == 422 and "files_page" in malformed.text
    admin = client_for(portal, "office").get("/admin/departments/370102_STATS?files_page=2").text
    assert listed(admin) == ids[PAGE_SIZE : 2 * PAGE_SIZE]
    assert "/admin/departments/370102_STATS?files_page=1&amp;uploads_page=1#sent-files" in admin


def test_template_download_is_the_generators(portal):
    from io import BytesIO

    from openpyxl import load_workbook

    response = client_for(portal, "stats").get("/template?period=2025")
    assert response.status_code == 200
    assert "370102_STATS_2025" in response.headers["content-disposition"]
    wb = load_workbook(BytesIO(response.content))
    codes = {row[0] for row in wb["指标数据"].iter_rows(min_row=2, values_only=True)}
    assert {"I23", "S001", "S002"} <= codes and "I08" not in codes
    for bad in ("2099", "abc", "../x"):
        assert client_for(portal, "stats").get(f"/template?period={bad}").status_code == 400


def test_messages_point_to_what_clerks_can_open(portal):
    """The footer links the submission rules as a page of the portal; the unknown-code message names the
    template's sheets, not database tables."""
    anonymous = TestClient(portal["app"])
    assert anonymous.get("/help/submissions", follow_redirects=False).headers["location"].startswith("/login")
    assert "/help/submissions" not in anonymous.get("/login").text  # logged out: said, not linked
    client = client_for(portal, "eco")
    home = client.get("/home").text
    footer = home.split("<footer>", 1)[1]
    assert 'href="/help/submissions"' in footer and "docs/submissions.md" not in footer
    rules = client.get("/help/submissions")
    assert rules.status_code == 200
    assert (
        "<h1>报送规范 · Submission contract</h1>" in rules.text
        and '<div class="table-wrap"><table>' in rules.text
    )
    assert 'href="portal.md"' not in rules.text and "<script" not in rules.text
    assert (
        client.get("/help/portal").status_code == 404 and client.get("/help/..%2Fsecrets").status_code == 404
    )
    receipt = html.unescape(
        client.get(upload(client, "code.csv", indicator_csv([("X99", 2025, 61)])).headers["location"]).text
    )
    assert "X99" in receipt and "dim_indicators" not in receipt
    assert (
        "报送模板的“指标数据”“项目进度”表" in receipt and "template's 指标数据 / 项目进度 sheets" in receipt
    )


def test_errors_never_show_internals(portal):
    client = client_for(portal, "stats")
    for path in ("/submissions/%00", "/nope", "/admin/departments/'%20or%201=1"):
        response = client.get(path)
        assert response.status_code in (403, 404)
        assert "Traceback" not in response.text and 'File "' not in response.text


# ------------------------------------------------------------------------------------ the warehouse


def test_the_portal_neither_blocks_nor_waits_for_a_refresh(portal):
    """A writer holds the warehouse lock and the working file; the portal answers, and a new published
    snapshot (atomic rename, as publish does) is seen by the next request."""
    settings = portal["config"].settings
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb\n"
            "from pipelines.lib.warehouse.connection import writer_lock\n"
            "from pipelines.lib.settings import load_settings\n"
            "import dataclasses, pathlib\n"
            f"s = dataclasses.replace(load_settings(), warehouse=pathlib.Path({str(settings.warehouse)!r}))\n"
            "with writer_lock(s, 'test refresh'):\n"
            "    con = duckdb.connect(str(s.warehouse))\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        client = client_for(portal, "stats")
        started = time.monotonic()
        assert client.get("/home").status_code == 200
        response = upload(client, "during_refresh.csv", indicator_csv([("S001", 2025, "2500")]))
        assert response.status_code == 303
        assert time.monotonic() - started < 10
        # publish swaps the snapshot by rename while the portal runs: the next request reads the new one
        import shutil

        from pipelines.lib.warehouse.publish import open_published

        target = settings.published_warehouse
        tmp = target.with_name(".incoming-test")
        shutil.copyfile(target, tmp)
        con = __import__("duckdb").connect(str(tmp))
        con.execute(
            "update marts.fct_submissions set original_name = 'swapped-in.csv' where department_code = '370102_STATS'"
        )
        con.close()
        os.replace(tmp, target)
        assert "swapped-in.csv" in client.get("/home").text
        open_published(target).close()
    finally:
        holder.kill()
        holder.wait()


# ------------------------------------------------------------------------------------ soft checks


def test_a_plausibility_warning_is_held_until_explained(portal):
    config = portal["config"]
    headers = api(portal)
    before = inbox_files(config)
    body = (
        portal["client"]
        .post("/api/v1/submissions", headers=headers, files={"file": ("soft.csv", SOFT, "text/csv")})
        .json()
    )
    assert body["verdict"] == "needs_explanation" and body["status"] == "needs_explanation"
    assert body["rows_pending_explanation"] == 1 and body["rows_rejected"] == 0
    [index] = [i for i, issue in enumerate(body["issues"]) if issue["needs_explanation"]]
    assert body["issues"][index]["row"] == 2 and body["issues"][index]["severity"] == "warning"
    assert inbox_files(config) == before  # held: nothing reaches the inbox
    url = f"/api/v1/submissions/{body['submission_id']}/explanations"
    missing = portal["client"].post(url, headers=headers, json={"explanations": []})
    assert missing.status_code == 422 and missing.json()["error"]["detail"]["missing"] == [index]
    short = portal["client"].post(
        url, headers=headers, json={"explanations": [{"issue_index": index, "text": "ok"}]}
    )
    assert short.status_code == 422
    wrong = portal["client"].post(
        url, headers=headers, json={"explanations": [{"issue_index": index + 1, "text": "因统计口径调整"}]}
    )
    assert wrong.status_code == 422
    text = "2025年起统计口径调整，纳入新注册企业"
    done = portal["client"].post(
        url, headers=headers, json={"explanations": [{"issue_index": index, "text": text}]}
    )
    assert done.status_code == 200, done.text
    receipt = done.json()
    # the explained warning stays on the receipt: the verdict the pipeline records for the file sent
    assert receipt["verdict"] == "accepted_with_warnings" and receipt["status"] == "in_inbox"
    assert (receipt["rows_accepted"], receipt["rows_pending_explanation"]) == (2, 0)
    assert receipt["issues"][index]["explanation"] == text
    again = portal["client"].post(
        url, headers=headers, json={"explanations": [{"issue_index": index, "text": text}]}
    )
    assert again.status_code == 409
    [forwarded] = receipt["forwarded"]
    path = config.settings.inbox / "370102_IND" / forwarded["name"]
    written = path.read_text(encoding="utf-8-sig")
    assert written.splitlines()[0].endswith(",说明") and text in written and "4321.5" in written
    # the forwarded file, checked by the same core, carries the explanation: explained, not pending
    from pipelines.lib.submissions.check import check_file

    checked = check_file(path, path.name, "370102_IND", portal["app"].state.portal.catalog)
    outcome = next(iter(checked.outcomes.values()))
    assert not outcome.pending_rows and outcome.status != "rejected"


def test_a_held_upload_can_be_cancelled(portal):
    config = portal["config"]
    client = client_for(portal, "ind")
    response = upload(client, "soft.csv", soft("4322.5"))
    upload_id = response.headers["location"].rsplit("/", 1)[-1]
    page = client.get(f"/submissions/{upload_id}").text
    assert 'id="explain-form"' in page and "待填写说明" in page
    before = inbox_files(config)
    client.post(f"/submissions/{upload_id}/cancel", data={"csrf_token": token_for(client)})
    assert portal["accounts"].upload(upload_id, "370102_IND")["status"] == "cancelled"
    late = client.post(
        f"/submissions/{upload_id}/explanations",
        data={"csrf_token": token_for(client), "explanation_0": "因统计口径调整"},
    )
    assert late.status_code == 409
    assert "当前状态为“已撤回”" in late.text and "is cancelled" in late.text  # the label, not the code
    assert "“cancelled”" not in late.text
    assert inbox_files(config) == before


def test_a_malformed_explanation_field_is_refused_not_a_crash(portal):
    """Only explanation_<ASCII digits> names an issue: "²" or "١" pass str.isdigit() but are no index."""
    client = client_for(portal, "ind")
    upload_id = upload(client, "soft.csv", soft("4327.5")).headers["location"].rsplit("/", 1)[-1]
    for field in (
        "explanation_²",
        "explanation_١",
        "explanation_0x1",
        "explanation_",
        "explanation_1" + "0" * 30,
    ):
        response = client.post(
            f"/submissions/{upload_id}/explanations",
            data={"csrf_token": token_for(client), field: "因统计口径调整所致"},
        )
        assert response.status_code == 400, field
        assert "说明栏" in response.text and "explanation field" in response.text
        assert "Traceback" not in response.text
    assert portal["accounts"].upload(upload_id, "370102_IND")["status"] == "needs_explanation"


def test_values_pending_from_any_route_are_explained_from_the_home_page(portal, sample_db):
    pending = sample_db.execute(
        """select department_code, indicator_code, period, value from marts.fct_indicator_values
           where review_state = 'pending_explanation' order by department_code, indicator_code limit 1"""
    ).fetchone()
    assert pending, "the samples plant values awaiting an explanation"
    department, code, period, value = pending
    portal["accounts"].add_user(
        "pending_clerk", "department", department, PASSWORD, must_change_password=False
    )
    client = client_for(portal, "pending_clerk")
    home = client.get("/home").text
    assert "待说明的数值" in home and code in home
    key = re.search(r'name="explain__([^"]+)"', home).group(1)
    response = client.post(
        "/warnings/explanations",
        data={"csrf_token": token_for(client), f"explain__{key}": "该数据经核实无误，系新项目投产所致"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    upload_id = response.headers["location"].rsplit("/", 1)[-1]
    record = portal["accounts"].upload(upload_id, department)
    assert record["status"] == "forwarded" and record["receipt"]["rows_pending_explanation"] == 0
    [forwarded] = record["forwarded"]
    written = (portal["config"].settings.inbox / department / forwarded["name"]).read_text(
        encoding="utf-8-sig"
    )
    assert code in written and period in written and "该数据经核实无误" in written
    from pipelines.portal.intake import _cell

    assert _cell(float(value)) in written  # the same value, to the digit: it explains that row
    # another department's key explains nothing
    other = client_for(portal, "eco" if department != "370102_ECO" else "ind")
    refused = other.post(
        "/warnings/explanations",
        data={"csrf_token": token_for(other), f"explain__{key}": "该数据经核实无误，系新项目投产所致"},
    )
    assert refused.status_code == 422


def test_a_short_explanation_on_the_home_page_keeps_what_was_typed(portal, sample_db):
    """As on the receipt page: the home page again, the message beside the field, the text kept."""
    (department,) = sample_db.execute(
        """select department_code from marts.fct_indicator_values
           where review_state = 'pending_explanation' order by department_code, indicator_code limit 1"""
    ).fetchone()
    portal["accounts"].add_user(
        "pending_short", "department", department, PASSWORD, must_change_password=False
    )
    client = client_for(portal, "pending_short")
    key = re.search(r'name="explain__([^"]+)"', client.get("/home").text).group(1)
    for typed in ("短", "   "):
        response = client.post(
            "/warnings/explanations",
            data={"csrf_token": token_for(client), f"explain__{key}": typed},
            follow_redirects=False,
        )
        assert response.status_code == 422
        page = response.text
        assert "待说明的数值" in page and "应报情况" in page  # the home page, not a bare error page
        field = re.search(rf'<textarea name="explain__{re.escape(key)}"[^>]*>([^<]*)</textarea>', page)
        assert field and field.group(1) == typed
        beside = page[field.end() : field.end() + 400]
        assert "5–1000" in beside and "characters" in beside
    assert not [u for u in portal["accounts"].uploads(department) if u["actor"] == "user:pending_short"]


def test_an_inbox_that_cannot_be_written_loses_nothing(portal, monkeypatch):
    intake = portal["app"].state.portal.intake

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(intake, "_write_inbox", full_disk)
    headers = api(portal)
    fresh = portal["client"].post(
        "/api/v1/submissions", headers=headers, files={"file": ("ok.csv", GOOD_AND_BAD, "text/csv")}
    )
    assert fresh.status_code == 503 and "Traceback" not in fresh.text
    held = (
        portal["client"]
        .post(
            "/api/v1/submissions", headers=headers, files={"file": ("soft.csv", soft("4323.5"), "text/csv")}
        )
        .json()
    )
    [index] = [i for i, issue in enumerate(held["issues"]) if issue["needs_explanation"]]
    url = f"/api/v1/submissions/{held['submission_id']}/explanations"
    body = {"explanations": [{"issue_index": index, "text": "2025年起统计口径调整"}]}
    assert portal["client"].post(url, headers=headers, json=body).status_code == 503
    assert portal["accounts"].upload(held["submission_id"], "370102_IND")["status"] == "needs_explanation"
    monkeypatch.undo()
    retried = portal["client"].post(url, headers=headers, json=body)
    assert retried.status_code == 200 and retried.json()["status"] == "in_inbox"
    failed = [u for u in portal["accounts"].uploads("370102_IND") if u["original_name"] == "ok.csv"]
    assert failed and failed[0]["status"] == "failed"


# ------------------------------------------------------------------------------------ one verdict


def _own_portal(sample_run, name: str):
    """A portal on its own state whose working warehouse starts as the published snapshot, so the real
    pipeline (discover, check, load) can process what it forwards; refresh() then publishes the working
    file as the snapshot (raw tables as loaded; the ledger mart extended with the new files)."""
    import shutil

    import duckdb

    from pipelines.lib.ingest.inbox import discover_and_archive
    from pipelines.lib.ingest.load import process_pending
    from pipelines.lib.plans.catalog import Catalog

    root = TEST_ROOT / name
    shutil.rmtree(root, ignore_errors=True)
    config = portal_config(root, sample_run["db"])
    settings = config.settings
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sample_run["db"], settings.warehouse)
    accounts = add_accounts(config)
    app = create_app(config, warm=False)
    catalog = Catalog.load(settings.seeds_dir)

    def scan() -> None:
        discover_and_archive(settings, catalog)

    def refresh() -> None:
        scan()
        process_pending(settings, catalog)
        target = settings.published_warehouse
        tmp = target.with_name(".incoming-own-test")
        shutil.copyfile(settings.warehouse, tmp)
        con = duckdb.connect(str(tmp))
        con.execute(
            """insert into marts.fct_submissions by name
               select submission_id, department_code, original_name, file_sha256, received_at, processed_at,
                      status, rows_accepted, rows_rejected, rows_pending_explanation, resubmission_of
               from raw.submissions
               where submission_id not in (select submission_id from marts.fct_submissions)"""
        )
        con.close()
        os.replace(tmp, target)

    def ledger(sql: str, params=None) -> list[tuple]:
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    return {
        "app": app,
        "config": config,
        "accounts": accounts,
        "scan": scan,
        "refresh": refresh,
        "ledger": ledger,
    }


def _upload_as(client, accounts, department: str, name: str, data: bytes) -> dict:
    response = upload(client, name, data)
    assert response.status_code == 303, response.text
    return accounts.upload(response.headers["location"].rsplit("/", 1)[-1], department)


def test_the_portal_and_the_pipeline_judge_against_the_same_previous_values(sample_run):
    """A: the values of uploads forwarded since the last refresh are references for the next upload, as
    they are for the pipeline; and where the pipeline still judges a forwarded file otherwise (it knows a
    file the portal never saw), the receipt says so once the pipeline has processed it."""
    own = _own_portal(sample_run, "portal-one-verdict")
    client = TestClient(own["app"])
    assert login(client, "stats").status_code == 303
    first = _upload_as(
        client, own["accounts"], "370102_STATS", "x2024.csv", indicator_csv([("I23", 2024, 45000)])
    )
    assert first["status"] == "forwarded" and first["receipt"]["verdict"] == "accepted"
    second = _upload_as(
        client, own["accounts"], "370102_STATS", "y2025.csv", indicator_csv([("I23", 2025, 89081)])
    )
    assert second["status"] == "needs_explanation"
    [issue] = [i for i in second["receipt"]["issues"] if i["needs_explanation"]]
    assert issue["reason"] == "implausible_change" and "45,000" in issue["message_en"]
    client.post(f"/submissions/{second['upload_id']}/cancel", data={"csrf_token": token_for(client)})
    own["refresh"]()
    [(state,)] = own["ledger"](
        """select v.review_state from raw.indicator_values v join raw.submissions s using (submission_id)
           where s.original_name like '%x2024%'"""
    )
    assert state == "accepted"  # the pipeline agreed with the portal on the first file

    # a file dropped straight into the inbox (never seen by the portal) changes the reference
    direct = own["config"].settings.inbox / "370102_STATS" / "direct.csv"
    direct.parent.mkdir(parents=True, exist_ok=True)
    direct.write_bytes(indicator_csv([("I23", 2024, 60000)]))
    own["scan"]()
    # 25,000 is -44 % from the 45,000 the portal knows, -58 % from the pipeline's 60,000
    third = _upload_as(
        client, own["accounts"], "370102_STATS", "z2025.csv", indicator_csv([("I23", 2025, 25000)])
    )
    assert third["status"] == "forwarded" and third["receipt"]["verdict"] == "accepted"
    page = client.get(f"/submissions/{third['upload_id']}").text
    assert 'id="pipeline-verdict"' not in page  # not processed yet: nothing to contradict
    own["refresh"]()
    body = client.get(f"/submissions/{third['upload_id']}/receipt.json").json()
    [forwarded] = body["forwarded"]
    assert forwarded["processed"] and forwarded["pipeline_verdict"] == "needs_explanation"
    assert body["pipeline_differs"] == {
        "verdict": "needs_explanation",
        "submission_ids": [forwarded["submission_id"]],
        "rows_pending_explanation": 1,
    }
    page = client.get(f"/submissions/{third['upload_id']}").text
    banner = page[page.index('id="pipeline-verdict"') :].split("</p>")[0]
    assert "待说明的数值" in banner and "Values awaiting your explanation" in banner
    assert forwarded["submission_id"] in banner and "1 value(s) failed a plausibility check" in banner


def test_a_value_is_explained_once_and_gets_one_verdict_everywhere(sample_run):
    """B: explaining on the receipt page gives the verdict the pipeline records for the forwarded file
    (and a file with the 说明 column gets): accepted_with_warnings, the explained warning stays listed.
    C: the same value sent again needs no new explanation, for the portal and for the pipeline."""
    own = _own_portal(sample_run, "portal-explained-once")
    accounts = own["accounts"]
    client = TestClient(own["app"])
    assert login(client, "stats").status_code == 303
    data = indicator_csv([("I23", 2025, 150000)])
    held = _upload_as(client, accounts, "370102_STATS", "i23.csv", data)
    assert held["status"] == "needs_explanation"
    [index] = [i for i, issue in enumerate(held["receipt"]["issues"]) if issue["needs_explanation"]]
    text = "2025年起统计口径调整，纳入新增住户样本"
    client.post(
        f"/submissions/{held['upload_id']}/explanations",
        data={"csrf_token": token_for(client), f"explanation_{index}": text},
    )
    explained = accounts.upload(held["upload_id"], "370102_STATS")
    assert explained["status"] == "forwarded"
    assert explained["receipt"]["verdict"] == "accepted_with_warnings"
    # the same value explained in the file itself (as the home page's explanations are sent): same verdict
    in_file = _upload_as(
        client,
        accounts,
        "370102_STATS",
        "i23_with_note.csv",
        indicator_csv([("I23", 2025, 150000, text + "（经核实）")], extra_header="说明"),
    )
    assert in_file["status"] == "forwarded" and in_file["receipt"]["verdict"] == "accepted_with_warnings"
    own["refresh"]()
    verdicts = dict(
        own["ledger"](
            "select original_name, status from raw.submissions where original_name like 'portal/%i23%'"
        )
    )
    assert sorted(verdicts.values()) == ["accepted_with_warnings", "accepted_with_warnings"]

    again = _upload_as(client, accounts, "370102_STATS", "i23_again.csv", data)
    assert again["status"] == "forwarded", "an explained value needs no new explanation"
    [issue] = [i for i in again["receipt"]["issues"] if i["needs_explanation"]]
    # the latest explanation of the value (both files were loaded by one scan: the tie is the pipeline's)
    assert issue["explanation"] in (text, text + "（经核实）")
    assert "此前已说明" in issue["message_zh"]
    assert "explained before" in issue["message_en"]
    assert again["receipt"]["verdict"] == "accepted_with_warnings"
    own["refresh"]()
    [(status, pending)] = own["ledger"](
        """select status, rows_pending_explanation from raw.submissions
           where original_name like '%i23_again%'"""
    )
    assert (status, pending) == ("accepted_with_warnings", 0)
    [(state,)] = own["ledger"](
        """select v.review_state from raw.indicator_values v join raw.submissions s using (submission_id)
           where s.original_name like '%i23_again%'"""
    )
    assert state == "explained"


def test_a_held_upload_expires_when_it_is_used_not_only_at_start(portal):
    """D: past the limit a held upload is expired when it is explained or listed, whatever ran last."""
    config = portal["config"]
    client = client_for(portal, "ind")
    before = inbox_files(config)
    old = []
    for _ in range(2):
        response = upload(client, "soft.csv", soft("4324.5"))
        upload_id = response.headers["location"].rsplit("/", 1)[-1]
        received = portal["accounts"].upload(upload_id, "370102_IND")["received_at"]
        from datetime import datetime, timedelta

        when = datetime.fromisoformat(received) - timedelta(days=config.held_upload_days + 10)
        portal["accounts"].update_upload(upload_id, received_at=when.isoformat())  # uploaded 40 days ago
        old.append(upload_id)
    explained = client.post(
        f"/submissions/{old[0]}/explanations",
        data={"csrf_token": token_for(client), "explanation_0": "2025年起统计口径调整，纳入新注册企业"},
    )
    assert explained.status_code == 409 and "已过期" in explained.text and "expired" in explained.text
    assert portal["accounts"].upload(old[0], "370102_IND")["status"] == "expired"
    home = client.get("/home").text
    assert f'/submissions/{old[1]}">soft.csv</a> ·' not in home  # not in "Awaiting your explanation"
    assert portal["accounts"].upload(old[1], "370102_IND")["status"] == "expired"
    assert inbox_files(config) == before


def test_the_template_as_downloaded_has_no_data_rows(portal):
    """E: the unmodified template gets the verdict and the reason a header-only CSV gets."""
    client = client_for(portal, "stats")
    blank = client.get("/template?period=2025").content
    answers = {}
    for name, data in (("blank.xlsx", blank), ("header.csv", indicator_csv([]))):
        response = upload(client, name, data)
        answers[name] = portal["accounts"].upload(
            response.headers["location"].rsplit("/", 1)[-1], "370102_STATS"
        )["receipt"]
    for name, body in answers.items():
        assert body["verdict"] == "rejected", name
        first = body["issues"][0]
        assert first["reason"] == "header_only", name
        assert "no data rows" in first["message_en"] and "没有数据行" in first["message_zh"]
        assert "Fill in the template" in first["message_en"]
    assert not any(i["reason"] == "all_rows_rejected" for i in answers["blank.xlsx"]["issues"])


def test_a_renamed_data_sheet_is_named(portal, tmp_path):
    """F: the template with 指标数据 renamed says which sheet was expected and which were found; a renamed
    sheet next to a sheet with data is reported as not read (a warning), not silently dropped."""
    from io import BytesIO

    from openpyxl import Workbook, load_workbook

    from pipelines.lib.submissions.check import check_file

    client = client_for(portal, "stats")
    wb = load_workbook(BytesIO(client.get("/template?period=2025").content))
    wb["指标数据"].title = "Sheet1"
    buffer = BytesIO()
    wb.save(buffer)
    response = upload(client, "renamed.xlsx", buffer.getvalue())
    receipt = portal["accounts"].upload(response.headers["location"].rsplit("/", 1)[-1], "370102_STATS")[
        "receipt"
    ]
    assert receipt["verdict"] == "rejected"
    first = receipt["issues"][0]
    assert first["reason"] == "sheet_not_found"
    assert "“指标数据”" in first["message_zh"] and "Sheet1" in first["message_zh"]
    assert "no sheet named 指标数据" in first["message_en"] and "Sheet1" in first["message_en"]

    book = Workbook()
    book.active.title = "指标数据"
    book.active.append(["指标编号", "统计期", "数值"])
    book.active.append(["I23", 2024, 82000])
    other = book.create_sheet("Sheet2")
    other.append(["项目编号", "里程碑", "报告日期"])
    other.append(["P001", "START", "2025-03-01"])
    path = tmp_path / "two.xlsx"
    book.save(path)
    checked = check_file(path, path.name, "370102_STATS", portal["app"].state.portal.catalog)
    outcome = next(iter(checked.outcomes.values()))
    assert outcome.status == "accepted_with_warnings"
    [warning] = [i for i in outcome.issues if i.code == "sheet_not_read"]
    assert "Sheet2" in warning.message_en and "项目进度" in warning.message_zh


def test_explanation_problems_name_each_issue(portal):
    """G: a too short, too long or unwanted explanation is named with its issue, not 'Missing: none'."""
    client = client_for(portal, "ind")
    response = upload(client, "soft.csv", soft("4326.5"))
    upload_id = response.headers["location"].rsplit("/", 1)[-1]
    record = portal["accounts"].upload(upload_id, "370102_IND")
    [index] = [i for i, issue in enumerate(record["receipt"]["issues"]) if issue["needs_explanation"]]
    page = client.post(
        f"/submissions/{upload_id}/explanations",
        data={"csrf_token": token_for(client), f"explanation_{index}": "ok"},
    )
    assert page.status_code == 422
    assert (
        f"说明太短（少于 5 个字）：#{index}" in page.text
        and f"Too short (under 5 characters): #{index}" in page.text
    )
    assert "缺少：无" not in page.text and "Missing: none" not in page.text
    url = f"/api/v1/submissions/{upload_id}/explanations"
    headers = api(portal)
    for text, words in (("ok", "Too short"), ("长" * 1001, "Too long")):
        body = (
            portal["client"]
            .post(url, headers=headers, json={"explanations": [{"issue_index": index, "text": text}]})
            .json()["error"]
        )
        assert words in body["message_en"] and f"#{index}" in body["message_en"], text
    both = (
        portal["client"]
        .post(
            url,
            headers=headers,
            json={"explanations": [{"issue_index": index + 1, "text": "因统计口径调整"}]},
        )
        .json()["error"]
    )
    assert f"Missing: #{index}" in both["message_en"] and f"#{index + 1}" in both["message_en"]
    assert "Not a warning that needs an explanation" in both["message_en"]
    assert both["detail"]["missing"] == [index]


def test_errors_come_first_on_the_receipt(portal):
    """H: errors, then the warnings that need an explanation, then other warnings (an unknown column)."""
    data = "\n".join(
        [
            "指标编号,指标名称,统计期,数值,额外列",
            "S001,错误的名称,2025,2507.9,x",
            "S002,人均地区生产总值,2025,abc,y",
            "I23,城镇居民人均可支配收入,2025,150000,",
        ]
    ).encode("utf-8")
    client = client_for(portal, "stats")
    response = upload(client, "order.csv", data)
    issues = portal["accounts"].upload(response.headers["location"].rsplit("/", 1)[-1], "370102_STATS")[
        "receipt"
    ]["issues"]
    kinds = [
        "error" if i["severity"] == "error" else "soft" if i["needs_explanation"] else "warning"
        for i in issues
    ]
    assert kinds == sorted(kinds, key=["error", "soft", "warning"].index), kinds
    assert kinds[0] == "error" and "warning" in kinds and "soft" in kinds
    assert issues[-2]["reason"] == "unknown_column"  # the whole file's warning before the rows'
