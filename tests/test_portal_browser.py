"""The reporting portal in a real browser (Playwright for Python driving Debian's Chromium): a clerk logs
in, downloads the template, fills it, uploads it, reads the receipt; the next refresh loads what was
accepted; another department sees none of it; the administrators' pages. Screenshots of every page
go to warehouse/test/portal_screens/ (to look at them)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import threading
import time
from io import BytesIO

import pytest

from tests.browser import ensure_chromium
from tests.conftest import AS_OF, TEST_ROOT, run_job, wipe_test_warehouse
from tests.portal_support import PASSWORD, add_accounts

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENS = TEST_ROOT / "portal_screens"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_portal(sample_run):
    """The pipeline's test warehouse as the sample run left it (working file and published snapshot),
    an empty inbox, and the portal served by uvicorn on a free port over those very paths."""
    import uvicorn

    from pipelines.lib.settings import load_settings
    from pipelines.portal.app import create_app
    from pipelines.portal.config import load_config

    wipe_test_warehouse()
    settings = load_settings()
    shutil.copyfile(sample_run["db"], settings.warehouse)
    os.chmod(settings.warehouse, 0o600)
    settings.publish_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sample_run["db"], settings.published_warehouse)
    (settings.publish_dir / "published.json").write_text(
        json.dumps({"published_at": "2026-06-30T23:00:00", "as_of": AS_OF})
    )
    state = TEST_ROOT / "portal_state"
    shutil.rmtree(state, ignore_errors=True)
    config = dataclasses.replace(
        load_config(settings), state_dir=state, secret_key="b" * 48, secret_is_ephemeral=False
    )
    add_accounts(config)
    app = create_app(config)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert time.monotonic() < deadline, "the portal did not start"
        time.sleep(0.2)
    shutil.rmtree(SCREENS, ignore_errors=True)
    SCREENS.mkdir(parents=True)
    yield {"url": f"http://127.0.0.1:{port}", "settings": settings, "config": config}
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser(live_portal):
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def new_page(browser, live_portal):
    context = browser.new_context(
        base_url=live_portal["url"],
        viewport={"width": 1360, "height": 900},
        accept_downloads=True,
        locale="zh-CN",
    )
    context.set_default_timeout(60_000)
    return context.new_page()


def shot(page, name: str) -> None:
    """A full-page picture for people to look at. Chromium now and then refuses one capture ("Unable to
    capture screenshot", seen once in `make test` on a 404 page) and takes the same picture when asked
    again: that refusal, and only it, is asked again after a moment."""
    from playwright.sync_api import Error

    for attempt in range(3):
        try:
            page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
            return
        except Error as error:
            if "Unable to capture screenshot" not in str(error) or attempt == 2:
                raise
            page.wait_for_timeout(300)


def log_in(page, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def fill_template(path, values: dict[str, object]) -> bytes:
    """Type values into the template's indicator sheet (this clerk reports indicators only: the
    progress sheet is removed)."""
    from openpyxl import load_workbook

    from pipelines.lib.submissions.templates import HEADER_ROW

    wb = load_workbook(path)
    del wb["项目进度"]
    sheet = wb["指标数据"]
    header = [c.value for c in sheet[HEADER_ROW]]  # above it: the title and the sign-off fields
    code_col, value_col = header.index("指标编号") + 1, header.index("数值") + 1
    filled = set()
    for row in range(HEADER_ROW + 1, sheet.max_row + 1):
        code = sheet.cell(row, code_col).value
        if code in values and code not in filled:  # the period's own row comes first (then earlier ones owed)
            sheet.cell(row, value_col).value = values[code]
            filled.add(code)
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_a_clerk_reports_through_the_portal(browser, live_portal, tmp_path):
    page = new_page(browser, live_portal)
    log_in(page, "ind")
    assert page.url.endswith("/home")
    assert page.locator("h1").inner_text().startswith("区工业和信息化局")
    shot(page, "01_home")

    # the template for 2025, as the generator writes it
    page.select_option("select[name=period]", "2025")
    with page.expect_download() as download:
        page.click("form[action='/template'] button")
    template = tmp_path / "template.xlsx"
    download.value.save_as(template)
    assert download.value.suggested_filename == "370102_IND_2025_报送模板.xlsx"
    filled = tmp_path / "工信局2025年报.xlsx"
    # one hard error (158 for a percentage) and one plausibility warning (S022 450.2 -> 4321.5, a 10x jump)
    filled.write_bytes(fill_template(template, {"I08": 158, "S022": 4321.5, "S023": 103.2}))

    page.goto("/upload")
    shot(page, "02_upload")
    page.set_input_files("input[name=file]", str(filled))
    page.click("form[action='/upload'] button")
    page.wait_for_url("**/submissions/P*")
    shot(page, "03_receipt")
    upload_id = page.url.rsplit("/", 1)[-1]
    assert page.inner_text("#verdict") == "待填写说明"
    assert page.inner_text("#rows-rejected") == "1"
    rejected = page.locator("tr.sev-error").first.inner_text()
    assert "指标数据" in rejected and "158" in rejected and "超出合理范围" in rejected
    assert "outside the plausible range" in rejected
    warning = page.locator("tr.soft")
    assert warning.count() == 1 and "4321.5" in warning.inner_text()
    assert not list(live_portal["settings"].inbox.rglob("*.csv"))  # held until explained

    explanation = "2025年起统计口径调整，纳入新注册的软件企业"
    page.fill("#explain-form textarea", explanation)
    shot(page, "03b_receipt_explaining")
    page.click("#explain-form button[type=submit]")
    page.wait_for_load_state()
    shot(page, "03c_receipt_explained")
    assert page.inner_text("#verdict") == "接收（有警告）"  # a row was rejected
    assert page.inner_text("#rows-accepted") == "2" and page.inner_text("#rows-rejected") == "1"
    assert explanation in page.locator("tr.soft").inner_text()
    assert "已送达，待入库" in page.inner_text("#state")

    # a second department sees none of it
    other = new_page(browser, live_portal)
    log_in(other, "eco")
    assert "工信局2025年报" not in other.content()
    response = other.goto(f"/submissions/{upload_id}")
    assert response.status == 404 and "工信局2025年报" not in other.content()
    shot(other, "04_other_department_404")
    response = other.goto("/admin")
    assert response.status == 403
    other.context.close()

    # the next refresh loads what was accepted, and only that
    result = run_job("refresh", AS_OF)
    assert result.success
    page.reload()
    shot(page, "05_receipt_processed")
    assert "已入库处理" in page.inner_text("#state") or "已接收" in page.content()
    from pipelines.lib.warehouse.publish import open_published

    con = open_published(live_portal["settings"].published_warehouse)
    rows = con.execute(
        """select indicator_code, value, original_name, review_state, explanation from marts.fct_indicator_values
           where department_code = '370102_IND' and period = '2025' and indicator_code in ('I08', 'S022', 'S023')
           order by indicator_code"""
    ).fetchall()
    con.close()
    by_code = {code: (value, name, state, text) for code, value, name, state, text in rows}
    assert by_code["S022"] == (4321.5, by_code["S022"][1], "explained", explanation)
    assert by_code["S023"][0] == 103.2
    assert all(by_code[c][1].startswith("portal/") for c in ("S022", "S023"))
    assert by_code["I08"][0] != 158 and not by_code["I08"][1].startswith("portal/")  # the rejected row
    report = (live_portal["settings"].output_dir / "report").rglob("*.html")
    assert any(explanation in path.read_text(encoding="utf-8") for path in report)

    page.goto("/home")
    shot(page, "06_home_after_refresh")
    page.context.close()


def test_administrators_pages(browser, live_portal):
    page = new_page(browser, live_portal)
    log_in(page, "office")
    assert page.url.endswith("/admin")
    assert page.locator("table").first.is_visible()
    shot(page, "07_admin_overview")
    page.click("text=区工业和信息化局")
    page.wait_for_load_state()
    shot(page, "08_admin_department")
    page.goto("/admin/users")
    shot(page, "09_admin_users")
    page.goto("/admin/audit")
    shot(page, "10_admin_audit")
    assert page.goto("/home").status == 403
    page.context.close()

    login_page = new_page(browser, live_portal)
    login_page.goto("/login")
    shot(login_page, "00_login")
    login_page.fill("input[name=username]", "ind")
    login_page.fill("input[name=password]", "wrong-password-1")
    login_page.click("button[type=submit]")
    assert "用户名或密码不正确" in login_page.content()
    shot(login_page, "11_login_failed")
    login_page.context.close()


def test_a_clerks_pages_fit_a_phone(browser, live_portal):
    """At 375 px (a phone held upright) no page scrolls sideways: wide tables scroll inside their own box
    or become one card per row, and the explanation fields are wide enough to write in."""
    context = browser.new_context(
        base_url=live_portal["url"],
        viewport={"width": 375, "height": 812},
        device_scale_factor=2,
        locale="zh-CN",
    )
    context.set_default_timeout(60_000)
    page = context.new_page()

    def fits(name: str) -> None:
        shot(page, name)
        wide, room = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert wide <= room, f"{name}: the page is {wide} px wide in a {room} px window"

    def send(name: str, data: bytes) -> None:
        page.goto("/upload")
        page.set_input_files(
            "input[name=file]", files=[{"name": name, "mimeType": "text/csv", "buffer": data}]
        )
        page.click("form[action='/upload'] button")
        page.wait_for_url("**/submissions/P*")

    page.goto("/login")
    fits("m00_login")
    log_in(page, "stats")
    page.goto("/home")
    fits("m01_home")
    page.goto("/upload")
    fits("m02_upload")
    mixed = "指标编号,统计期,数值\nS001,2025,约6.2\nX99,2025,12\nS002,2025,28.4\n".encode()
    send("问题数据示例_区统计局2025年度主要指标报送_第二次修改稿.csv", mixed)
    fits("m03_receipt")
    send("统计局2025年报.csv", "指标编号,统计期,数值\nI23,2025,150000\n".encode())  # 81,844 in 2024: +83 %
    assert page.inner_text("#verdict") == "待填写说明"
    fits("m04_receipt_held")
    box = page.locator("#explain-form textarea").first.bounding_box()
    assert box["width"] >= 250, f"the explanation field is {box['width']} px wide"
    page.goto("/help/submissions")
    fits("m05_rules")
    context.close()
