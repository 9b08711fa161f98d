"""Files a clerk sent that the readers misjudged (issue: plausibility checks, "fix on the way")."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import openpyxl
from msoffcrypto.format.ooxml import OOXMLFile

from pipelines.lib.ingest.inbox import discover_and_archive
from pipelines.lib.ingest.load import process_pending
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.submissions.readers import read_submission
from pipelines.lib.submissions.reasons import Issue
from tests.cfb import compound_file
from tests.conftest import query

LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def read(tmp_path: Path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return read_submission(path, name)


def codes(result) -> list[str]:
    return [i.code for i in result.issues]


def test_a_password_protected_workbook_is_called_encrypted_wherever_its_directory_lies(tmp_path):
    # Excel writes the encrypted package first and the directory after it: past 64 KiB for any real workbook
    data = compound_file(
        {"EncryptionInfo": b"\x04\x00\x04\x00" + os.urandom(5000), "EncryptedPackage": os.urandom(300_000)}
    )
    assert "EncryptedPackage".encode("utf-16-le") not in data[:65536]
    result = read(tmp_path, "年度数据.xlsx", data)
    assert codes(result) == ["encrypted_workbook"]
    assert "取消密码" in result.issues[0].message_zh and "Remove the password" in result.issues[0].message_en
    # and a workbook encrypted by a real tool (msoffcrypto, ECMA-376 agile encryption)
    wb = openpyxl.Workbook()
    wb.active.title = "指标数据"
    wb.active.append(["指标编号", "统计期", "数值"])
    plain, encrypted = io.BytesIO(), io.BytesIO()
    wb.save(plain)
    OOXMLFile(io.BytesIO(plain.getvalue())).encrypt("secret", encrypted)
    assert codes(read(tmp_path, "b.xlsx", encrypted.getvalue())) == ["encrypted_workbook"]
    # a genuine legacy workbook is still told apart
    legacy = compound_file({"Workbook": os.urandom(8192)})
    assert codes(read(tmp_path, "c.xlsx", legacy)) == ["disguised_file"]


def test_a_long_note_is_read_and_an_unclosed_quote_is_named(tmp_path):
    note = "说明" * 80_000  # 160,000 characters: above Python's default csv field limit (131,072)
    result = read(tmp_path, "a.csv", f"指标编号,统计期,数值,备注\nI23,2024,81844,{note}\n".encode())
    assert not result.rejected and result.sheets[0].rows[0]["note"] == note
    rows = "".join(f"I23,{2021 + i % 5},{80000 + i}\n" for i in range(40))
    result = read(tmp_path, "b.csv", f'指标编号,统计期,数值,备注\nI23,2021,76000,"未闭合\n{rows}'.encode())
    assert codes(result) == ["unbalanced_quote"]
    issue = result.issues[0]
    assert "第 2 行" in issue.message_zh and "line 2" in issue.message_en


def test_a_semicolon_csv_is_told_to_use_commas(tmp_path):
    result = read(tmp_path, "a.csv", "指标编号;统计期;数值\nI23;2024;81844\n".encode())
    assert codes(result) == ["wrong_delimiter"]
    assert "逗号" in result.issues[0].message_zh and "comma" in result.issues[0].message_en
    assert "semicolon" not in result.issues[0].message_zh


def test_an_invisible_character_is_shown(tmp_path):
    issue = Issue("unknown_code", row=3, value="S023\u200b")
    assert "S023<U+200B>" in issue.message_zh and "S023<U+200B>" in issue.message_en
    assert "看不见的字符" in issue.message_zh and "invisible character" in issue.message_en
    assert "\u200b" not in issue.message_zh + issue.message_en


def test_the_zip_bomb_message_is_chinese_in_chinese(tmp_path):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", "0" * (5 * 1024 * 1024))
    result = read(tmp_path, "a.xlsx", bomb.getvalue())
    assert codes(result) == ["unsafe_archive"]
    zh, en = result.issues[0].message_zh, result.issues[0].message_en
    assert not LATIN_WORD.search(zh.replace("xlsx", "").replace("xl/worksheets/sheet1.xml", "")), zh
    assert "compression ratio" in en and "压缩比" in zh


def test_file_level_messages_name_the_file(fresh_warehouse):
    settings = fresh_warehouse
    catalog = Catalog.load(settings.seeds_dir)
    folder = settings.inbox / "370102_STATS"
    folder.mkdir(parents=True)
    (folder / "只有表头.csv").write_text("指标编号,统计期,数值\n", encoding="utf-8")
    (folder / "分号.csv").write_text("指标编号;统计期;数值\nI23;2024;81844\n", encoding="utf-8")
    discover_and_archive(settings, catalog)
    process_pending(settings, catalog)
    import duckdb

    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        ledger = {r["original_name"]: r for r in query(con, "select * from raw.submissions")}
        issues = query(con, "select * from raw.quarantine")
    finally:
        con.close()
    for name in ("只有表头.csv", "分号.csv"):
        assert ledger[name]["status"] == "rejected"
        assert ledger[name]["message_zh"].startswith(f"文件“{name}”") and name in ledger[name]["message_en"]
    assert all(
        i["original_name"] in i["message_zh"] and i["original_name"] in i["message_en"] for i in issues
    )
    assert (settings.output_dir / "receipts" / "370102_STATS").is_dir()


def test_a_csv_row_is_numbered_as_excel_shows_it_after_a_note_with_line_breaks(tmp_path):
    # Excel and WPS show a quoted note with line breaks as one row: the bad row below it is row 4 there (title
    # row 1, headings row 2), as in the same workbook, not line 6 of the text
    from pipelines.lib.submissions.check import check_file
    from tests.conftest import REPO

    catalog = Catalog.load(REPO / "dbt_project" / "seeds")
    head = ["指标编号", "统计期", "数值", "备注"]
    rows = [
        ["I23", "2023", "80000", "第一行\r\n第二行\r\n第三行"],
        ["I23", "2024", "约82000", ""],
        ["I23", "2022", "76000", ""],
    ]
    csv_path = tmp_path / "多行备注.csv"
    csv_path.write_text(
        "历下区指标数据报送表\r\n"
        + ",".join(head)
        + "\r\n"
        + "".join(",".join(f'"{c}"' if "\n" in c else c for c in row) + "\r\n" for row in rows),
        encoding="utf-8",
    )
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "指标数据"
    ws.append(["历下区指标数据报送表"])
    ws.append(head)
    for row in rows:
        ws.append(row)
    xlsx_path = tmp_path / "多行备注.xlsx"
    wb.save(xlsx_path)
    for path in (csv_path, xlsx_path):
        checked = check_file(path, path.name, "370102_STATS", catalog)
        outcome = next(iter(checked.outcomes.values()))
        bad = [i for i in outcome.issues if i.code == "bad_number"]
        assert [i.row for i in bad] == [4], (path.name, [(i.code, i.row) for i in outcome.issues])
        assert "第 4 行" in bad[0].message_zh and "Row 4" in bad[0].message_en
        assert sorted(checked.frames["indicator_data"]["source_row"]) == [3, 4, 5]
    # a quote never closed is still named by its line, where a text editor finds it
    text = csv_path.read_text(encoding="utf-8") + 'I23,2021,69000,"未闭合\r\n' + "I23,2020,1\r\n" * 30
    result = read(tmp_path, "b.csv", text.encode())
    assert codes(result) == ["unbalanced_quote"] and "line 8" in result.issues[0].message_en


def test_a_unit_in_a_numbers_heading_is_checked_like_a_unit_cell(tmp_path):
    # 数值（亿元） was "missing the 数值 column" (file refused), 累计完成投资（亿元） an unknown column ignored with
    # the row loaded without its investment: the heading's unit now stands for every cell below it
    from pipelines.lib.submissions.check import check_file
    from tests.conftest import REPO

    catalog = Catalog.load(REPO / "dbt_project" / "seeds")

    def check(name: str, text: str, department: str = "370102_STATS"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        checked = check_file(path, name, department, catalog)
        return checked, next(iter(checked.outcomes.values()))

    checked, outcome = check("a.csv", "2025年报表\r\n指标编号,统计期,数值（亿元）\r\nS001,2023,2300\r\n")
    assert outcome.status == "accepted" and outcome.rows_loaded == 1, [i.code for i in outcome.issues]
    assert checked.frames["indicator_data"].loc[0, ["value", "unit"]].tolist() == [2300.0, "亿元"]
    _, outcome = check("b.csv", "指标编号,统计期,数值 (万元)\r\nS001,2023,23000000\r\nI23,2023,80000\r\n")
    mismatch = next(i for i in outcome.issues if i.code == "unit_mismatch")
    assert (mismatch.row, mismatch.value, mismatch.expected) == (2, "万元", "亿元")
    assert "换算为“亿元”" in mismatch.message_zh and "Convert the value to '亿元'" in mismatch.message_en
    assert outcome.rows_rejected == 2  # I23 (元) under 数值（万元） is refused too; nothing is read as 亿元
    heading = "项目编号,里程碑,报告日期,完成日期,形象进度（%）,累计完成投资（亿元）\r\n"
    _, outcome = check("c.csv", heading + "P011,开工,2026-03-31,2021-06-30,60,1.5\r\n", "370102_HOUSING")
    assert next((i.code, i.column, i.value) for i in outcome.issues if i.severity == "error") == (
        "unit_mismatch",
        "investment_to_date",
        "亿元",
    )
    assert "unknown_column" not in {i.code for i in outcome.issues}


def test_rows_hidden_in_excel_are_read_and_named_in_a_warning(tmp_path):
    # a hidden (or filtered-out) row was loaded without a word, though whoever sent the file may not see it
    from pipelines.lib.submissions.check import check_file
    from tests.conftest import REPO

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "指标数据"
    sheet.append(["指标编号", "统计期", "数值"])
    for year, value in ((2021, 71000), (2022, 76000), (2023, 80000)):
        sheet.append(["I23", year, value])
    sheet.row_dimensions[3].hidden = True
    buffer = io.BytesIO()
    book.save(buffer)
    path = tmp_path / "hidden.xlsx"
    path.write_bytes(buffer.getvalue())
    checked = check_file(path, path.name, "370102_STATS", Catalog.load(REPO / "dbt_project" / "seeds"))
    outcome = next(iter(checked.outcomes.values()))
    assert outcome.rows_loaded == 3 and outcome.status != "rejected"
    [warning] = [i for i in outcome.issues if i.code == "hidden_rows"]
    assert warning.severity == "warning" and warning.sheet == "指标数据"
    assert (
        "第 3 行在 Excel 中被隐藏" in warning.message_zh
        and "hidden in Excel (or filtered out) and were read like the others: 3." in warning.message_en
    )
    # nothing hidden: no warning
    sheet.row_dimensions[3].hidden = False
    book.save(path)
    checked = check_file(path, path.name, "370102_STATS", Catalog.load(REPO / "dbt_project" / "seeds"))
    assert "hidden_rows" not in {i.code for o in checked.outcomes.values() for i in o.issues}


def test_a_workbook_with_formulas_is_loaded_twice_not_three_times(tmp_path, monkeypatch):
    # each load of a workbook holds every cell in memory: a 12 MB workbook of 3.4 million cells with one
    # formula peaked at 4.2 GB when its values were loaded a second time for the formula check (2.9 GB now)
    loads = []
    real = openpyxl.load_workbook
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **kw: loads.append(kw) or real(*a, **kw))
    corpus = Path(__file__).parent / "corpus" / "files" / "formula_without_cached_value.xlsx"
    result = read(tmp_path, "a.xlsx", corpus.read_bytes())
    assert result.sheets[0].formula_cells  # the formula without a cached value is still found
    assert [kw["data_only"] for kw in loads] == [True, False]


def test_a_formula_without_its_value_is_found_in_a_sheet_written_with_a_namespace_prefix(tmp_path):
    # the Open XML SDK and other .NET writers (the ones a department's own system exports with) write <x:f>: the
    # formula check looked for <f> only, so the clerk was told the value was left blank and the file had only a
    # header, instead of "a formula Excel never calculated"
    corpus = Path(__file__).parent / "corpus" / "files" / "formula_without_cached_value.xlsx"
    prefixed = io.BytesIO()
    with zipfile.ZipFile(corpus) as plain, zipfile.ZipFile(prefixed, "w") as out:
        for info in plain.infolist():
            data = plain.read(info)
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                text = re.sub(r"<worksheet xmlns=", "<x:worksheet xmlns:x=", data.decode("utf-8"))
                data = re.sub(r"<(/?)(?!x:)([A-Za-z]\w*)", r"<\1x:\2", text).encode("utf-8")
                assert b"<x:f>" in data and b"<f>" not in data
            out.writestr(info, data)
    # and kept where the workbook's links, not the usual folder, say
    moved = io.BytesIO()
    with zipfile.ZipFile(prefixed) as source, zipfile.ZipFile(moved, "w") as out:
        for info in source.infolist():
            data = source.read(info).replace(b"worksheets/sheet1.xml", b"sheets/data.XML")
            out.writestr(info.filename.replace("worksheets/sheet1.xml", "sheets/data.XML"), data)
    variants = (
        ("plain.xlsx", corpus.read_bytes()),
        ("prefixed.xlsx", prefixed.getvalue()),
        ("moved.xlsx", moved.getvalue()),
    )
    for name, data in variants:
        result = read(tmp_path, name, data)
        assert result.sheets and result.sheets[0].formula_cells, (name, codes(result))


def test_a_workbook_wider_than_the_limit_is_refused_as_a_csv_is(tmp_path):
    # a value past column 200 of a workbook was dropped without a word (a CSV that wide is refused)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "指标数据"
    sheet.append(["指标编号", "统计期", "数值"])
    sheet.append(["I23", 2023, 80000])
    buffer = io.BytesIO()
    book.save(buffer)
    assert "too_many_columns" not in codes(read(tmp_path, "narrow.xlsx", buffer.getvalue()))
    sheet.cell(2, 250, "备注在很远的地方")
    buffer = io.BytesIO()
    book.save(buffer)
    result = read(tmp_path, "wide.xlsx", buffer.getvalue())
    [issue] = [i for i in result.issues if i.code == "too_many_columns"]
    assert (issue.value, issue.expected, issue.sheet) == (250, 200, "指标数据") and result.rejected


def test_a_workbook_holding_more_cells_than_any_submission_is_refused_before_it_is_loaded(
    tmp_path, monkeypatch
):
    # openpyxl keeps every cell of a sheet in memory, a formatted empty one too: 100 MiB of XML held 5.8 million
    # cells, 2.7 GB to read. The cap counts the cells the sheets' XML holds, as openpyxl will create them.
    from openpyxl.styles import Border, Side

    from pipelines.lib.submissions import readers

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "指标数据"
    ws.append(["指标编号", "统计期", "数值", "备注"])
    ws.append(["I23", "2024", "82000", ""])
    ruled = Border(bottom=Side(style="thin"))
    for row in ws.iter_rows(min_row=3, max_row=40, max_col=6):  # a formatted blank area below the data
        for cell in row:
            cell.border = ruled
    ws.column_dimensions["A"].width = 30  # a <col> element: not a cell
    notes = wb.create_sheet("填报说明")  # every sheet counts: openpyxl loads them all
    notes.append(["请按模板填写"])
    buffer = io.BytesIO()
    wb.save(buffer)
    held = sum(
        len(sheet._cells) for sheet in wb.worksheets
    )  # the cells openpyxl wrote, formatted empty ones too

    monkeypatch.setattr(readers, "XLSX_MAX_CELLS", held)
    result = read(tmp_path, "a.xlsx", buffer.getvalue())
    assert "too_many_cells" not in codes(result) and len(result.sheets[0].rows) == 1, codes(result)
    monkeypatch.setattr(readers, "XLSX_MAX_CELLS", held - 1)
    [issue] = read(tmp_path, "a.xlsx", buffer.getvalue()).issues
    assert issue.code == "too_many_cells" and issue.is_file_level
    assert f"共有 {held} 个单元格（多数在工作表“指标数据”中" in issue.message_zh, issue.message_zh
    assert f"上限 {held - 1} 个单元格" in issue.message_zh and "不是报送模板" not in issue.message_zh
    assert f"holds {held} cells (most of them in sheet '指标数据'" in issue.message_en
    assert "formatted empty cells and rows" in issue.message_en
    assert "删除" in issue.message_zh and "Delete unrelated sheets" in issue.message_en  # what to do
    # rows are held too (~1 KB each, cells or none): a million formatted empty rows were 1.1 GB
    monkeypatch.setattr(readers, "XLSX_MAX_CELLS", held)
    monkeypatch.setattr(readers, "XLSX_MAX_ROWS", ws.max_row + notes.max_row - 1)
    [issue] = read(tmp_path, "a.xlsx", buffer.getvalue()).issues
    assert issue.code == "too_many_cells" and f"共有 {ws.max_row + notes.max_row} 行" in issue.message_zh

    # at the real cap: one formatted empty cell more than it, written as Excel writes them, refused unread
    monkeypatch.undo()
    cells = readers.XLSX_MAX_CELLS + 1
    columns = [openpyxl.utils.get_column_letter(c) for c in range(1, 21)]
    rows = "".join(
        f'<row r="{r}">' + "".join(f'<x:c r="{col}{r}" s="1"/>' for col in columns) + "</row>"
        for r in range(1, cells // 20 + 2)
    )
    sheet_xml = (
        (
            '<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<x:cols><x:col min="1" max="1" width="30"/></x:cols><x:sheetData>{rows}</x:sheetData></x:worksheet>'
        )
        .replace("<row", "<x:row")
        .replace("</row>", "</x:row>")
    )
    # stored where the workbook's links, not the usual folder, say (openpyxl follows the links), named .XML
    big = io.BytesIO()
    with zipfile.ZipFile(buffer) as small, zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in small.infolist():
            data = small.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                zf.writestr("xl/sheets/data.XML", sheet_xml.encode())
                continue
            if info.filename in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
                data = data.replace(b"worksheets/sheet1.xml", b"sheets/data.XML")
            zf.writestr(info.filename, data)
    [issue] = read(tmp_path, "big.xlsx", big.getvalue()).issues
    assert issue.code == "too_many_cells" and f"{readers.XLSX_MAX_CELLS:,}" in issue.message_en
    assert "sheet '指标数据'" in issue.message_en


def test_a_row_whose_period_is_unreadable_is_judged_by_the_plan_in_which_its_department_owns_the_code(
    tmp_path,
):
    # I04 is the statistics bureau's investment growth (%) in the 14th plan and commerce's retail sales (亿元) in
    # the 15th. A period the core cannot place in a plan borrowed the region's latest plan's facts: one typo in
    # the bureau's file rejected it whole as carrying "another department's code", and asked for 亿元
    from pipelines.lib.submissions.check import check_file
    from tests.conftest import REPO

    catalog = Catalog.load(REPO / "dbt_project" / "seeds")
    for period, code in (
        ("2025年1-9月", "bad_period"),
        ("", "missing_period"),
        ("2020", "period_outside_plan"),
    ):
        path = tmp_path / "统计局.csv"
        path.write_text(
            f"指标编号,统计期,数值,单位\nI01,2025Q3,5.1,%\nI04,{period},4.2,%\nI23,2024,81844,元\n",
            encoding="utf-8",
        )
        checked = check_file(path, path.name, "370102_STATS", catalog)
        outcome = next(iter(checked.outcomes.values()))
        assert [(i.code, i.row) for i in outcome.issues] == [(code, 3)], (period, outcome.issues)
        assert outcome.status == "accepted_with_warnings" and outcome.rows_loaded == 2
    # commerce owns I04 in the 15th plan: its row is judged by that plan's facts
    path.write_text(
        "指标编号,统计期,数值,单位\nI04,2025年1-9月,4.2,亿元\nI04,2026Q1,900,亿元\n", encoding="utf-8"
    )
    outcome = next(iter(check_file(path, path.name, "370102_COM", catalog).outcomes.values()))
    assert [(i.code, i.row) for i in outcome.issues] == [("bad_period", 2)], outcome.issues
    # a code the department owns in no plan is still another department's: the file is refused whole
    outcome = next(iter(check_file(path, path.name, "370102_FIN", catalog).outcomes.values()))
    assert outcome.status == "rejected" and "other_department_codes" in {i.code for i in outcome.issues}


def test_a_unit_written_another_way_is_the_catalogs_unit_and_a_different_unit_is_still_refused(tmp_path):
    # '数值（单位：亿元）' (a very common heading), a unit cell '（亿元）', 个百分点 for the catalog's 百分点 and ㎡ for its
    # 平方米 were "a unit other than the catalog's: convert it", every row, so the files were refused whole
    from pipelines.lib.submissions.check import check_file
    from tests.conftest import REPO

    catalog = Catalog.load(REPO / "dbt_project" / "seeds")

    def outcome(text: str, department: str):
        path = tmp_path / "f.csv"
        path.write_text(text, encoding="utf-8")
        checked = check_file(path, path.name, department, catalog)
        return next(iter(checked.outcomes.values())), checked.frames["indicator_data"]

    done, rows = outcome("指标编号,统计期,数值（单位：亿元）\nS001,2024,2507.9\n", "370102_STATS")
    assert done.status == "accepted" and list(rows["unit"]) == ["亿元"], done.issues
    done, rows = outcome(
        "指标编号,统计期,数值,单位\nS001,2024,2507.9,（亿元）\nS001,2023,2400,单位：亿元\nI01,2024Q1,5.3,百分比\n",
        "370102_STATS",
    )
    assert done.status == "accepted" and list(rows["unit"]) == ["亿元", "亿元", "%"], done.issues
    done, rows = outcome(
        "指标编号,统计期,数值,单位\nS021,2024,1.5个百分点,\nS021,2023,1.2,个百分点\n", "370102_COM"
    )
    assert done.status == "accepted" and set(rows["value_unit"].dropna()) | set(rows["unit"].dropna()) == {
        "百分点"
    }
    done, _ = outcome(
        "指标编号,统计期,数值,单位\nS080,2024,32㎡,\nS080,2023,30,m²\nS080,2022,28,平米\n", "370102_CIVIL"
    )
    assert done.status == "accepted", done.issues
    # another unit is still one to convert: 万元 for 亿元, a percentage for percentage points
    done, _ = outcome(
        "指标编号,统计期,数值,单位\nS001,2024,2507.9,万元\nS001,2023,2400,亿元\n", "370102_STATS"
    )
    assert [(i.code, i.row) for i in done.issues] == [("unit_mismatch", 2)]
    done, _ = outcome("指标编号,统计期,数值,单位\nS021,2022,0.8%,\nS021,2023,1.2,个百分点\n", "370102_COM")
    assert [(i.code, i.row) for i in done.issues] == [("value_unit_mismatch", 2)]


def test_a_repeated_or_conflicting_row_names_the_rows_it_repeats_or_conflicts_with(tmp_path):
    # "another row of this file": in a file of thousands of rows the clerk had to search for it
    from pipelines.lib.submissions.check import check_file
    from tests.conftest import REPO

    path = tmp_path / "f.csv"
    path.write_text(
        "指标编号,统计期,数值,单位\nI23,2024,81844,元\nI23,2023,80117,元\nI23,2024,81900,元\n"
        "I23,2024,82000,元\nI23,2023,80117,元\n",
        encoding="utf-8",
    )
    checked = check_file(path, path.name, "370102_STATS", Catalog.load(REPO / "dbt_project" / "seeds"))
    issues = {(i.code, i.row): i for i in next(iter(checked.outcomes.values())).issues}
    assert set(issues) == {
        ("duplicate_row", 6),
        ("conflicting_duplicate", 2),
        ("conflicting_duplicate", 4),
        ("conflicting_duplicate", 5),
    }
    repeat = issues[("duplicate_row", 6)]
    assert "第 6 行重复了同一文件中第 3 行的数据" in repeat.message_zh
    assert "Row 6 repeats the data of row 3 of this file" in repeat.message_en
    conflict = issues[("conflicting_duplicate", 4)]
    assert "第 4 行与同一文件中的第 2、5 行" in conflict.message_zh
    assert "as rows 2, 5 of this file" in conflict.message_en
