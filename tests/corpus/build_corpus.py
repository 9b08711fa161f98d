"""Build the corpus of awkward and broken submissions (run once; the files are committed).

Every file here is a real file a department could send. expected.yml says what must happen to it;
tests/test_ingest_corpus.py drops them into department inboxes and checks the outcome.

    .venv/bin/python tests/corpus/build_corpus.py
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from openpyxl import Workbook

from pipelines.lib.submissions.readers import HEADINGS_ZH, INDICATOR
from pipelines.lib.submissions.readers import PROGRESS as PROGRESS_KIND
from pipelines.lib.submissions.samples import pinned_xlsx

HERE = Path(__file__).parent / "files"
HEADER = HEADINGS_ZH[INDICATOR]
PROGRESS = HEADINGS_ZH[PROGRESS_KIND]


def csv_text(rows: list[list]) -> str:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def save(name: str, data: bytes) -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    (HERE / name).write_bytes(data)


def workbook_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return pinned_xlsx(buffer.getvalue(), 2024)


def main() -> None:
    # --- encodings and number formats (accepted) ---
    save(
        "gbk.csv",
        csv_text(
            [HEADER, ["I23", "城镇居民人均可支配收入", "2023", "实际值", "80000", "元", "GBK 编码"]]
        ).encode("gbk"),
    )
    save(
        "utf8_bom.csv",
        b"\xef\xbb\xbf"
        + csv_text([HEADER, ["I23", "城镇居民人均可支配收入", "2022", "实际值", "76000", "元", ""]]).encode(),
    )
    save(
        "fullwidth_digits.csv",
        csv_text(
            [
                ["指标编号", "统计期", "数值"],
                ["Ｉ２３", "２０２１年", "７２，５００．５"],
            ]
        ).encode("utf-8"),
    )
    save(
        "thousands_and_units.csv",
        csv_text(
            [
                HEADER,
                ["I05", "社会消费品零售总额", "2023Q4", "实际值", "1,272.6亿元", "", "带单位"],
                ["I13", "进出口总额", "2023Q4", "", "８５．３", "亿元", "全角数字"],
            ]
        ).encode("utf-8"),
    )
    save(
        "english_headers.csv",
        csv_text(
            [
                ["indicator_code", "period", "value_type", "value", "unit"],
                ["I23", "2024", "actual", "82,000", "元"],
            ]
        ).encode("utf-8"),
    )
    # --- workbook layouts ---
    wb = Workbook()
    ws = wb.active
    ws.title = "指标数据"
    ws.append(["历下区统计局 2023 年度指标数据（标题行）"])
    ws.merge_cells("A1:G1")
    ws.append(HEADER)
    ws.append(["I23", "城镇居民人均可支配收入", "2024", "实际值", 83000, "元", None])
    save("merged_title_row.xlsx", workbook_bytes(wb))

    wb = Workbook()
    ws = wb.active
    ws.title = "指标数据"
    ws.append(["指标编号", "指标名称", "统计期", "数值", None, "备注"])
    ws.merge_cells("D1:E1")
    ws.append(["I23", "城镇居民人均可支配收入", "2024", 83000, "元", None])
    save("merged_header_cells.xlsx", workbook_bytes(wb))

    wb = Workbook()
    ws = wb.active
    ws.title = "指标数据"
    ws.append(HEADER)
    ws.append(["I23", "城镇居民人均可支配收入", "2021", "实际值", 68000, "元", None])
    hidden = wb.create_sheet("项目进度")
    hidden.sheet_state = "hidden"
    hidden.append(PROGRESS)
    hidden.append(["P999", "不存在的项目", "开工", "not a date", None, None, None, None])
    save("hidden_sheet_ignored.xlsx", workbook_bytes(wb))

    wb = Workbook()
    visible = wb.active
    visible.title = "封面"
    visible.append(["请见指标数据表"])
    ws = wb.create_sheet("指标数据")
    ws.sheet_state = "hidden"
    ws.append(HEADER)
    ws.append(["I23", "城镇居民人均可支配收入", "2021", "实际值", 68000, "元", None])
    save("only_sheet_hidden.xlsx", workbook_bytes(wb))

    wb = Workbook()
    ws = wb.active
    ws.title = "指标数据"
    ws.append(HEADER)
    ws.append(["I23", "城镇居民人均可支配收入", "2021", "实际值", "=E3*1.1", "元", "公式未计算"])
    ws.append(["I23", "城镇居民人均可支配收入", "2022", "实际值", 76500, "元", None])
    save("formula_without_cached_value.xlsx", workbook_bytes(wb))

    wb = Workbook()
    ws = wb.active
    ws.title = "项目进度"
    ws.append(PROGRESS)
    ws.append(["P042", None, "START", 44651, 44470, 35, 1200, "Excel 日期序列号"])  # 2022-03-31, 2021-10-03
    ws.append(["P042", None, "启动实施", "2022年6月30日", "2021年10月3日", "40%", "1,500.5", "中文日期"])
    for _ in range(6):
        ws.append([None] * 8)
    save("excel_serial_dates_and_trailing_blank_rows.xlsx", workbook_bytes(wb))

    # --- duplicates ---
    save(
        "exact_duplicates.csv",
        csv_text(
            [
                HEADER,
                ["I23", "城镇居民人均可支配收入", "2023", "实际值", "80000", "元", ""],
                ["I23", "城镇居民人均可支配收入", "2023", "实际值", "80000", "元", ""],
            ]
        ).encode("utf-8"),
    )
    save(
        "conflicting_duplicates.csv",
        csv_text(
            [
                HEADER,
                ["I23", "城镇居民人均可支配收入", "2023", "实际值", "80000", "元", ""],
                ["I23", "城镇居民人均可支配收入", "2023", "实际值", "81000", "元", ""],
                ["S001", "地区生产总值", "2023", "实际值", "2300", "亿元", ""],
            ]
        ).encode("utf-8"),
    )
    # --- codes and periods ---
    save(
        "another_departments_codes.csv",
        csv_text(
            [
                HEADER,
                ["I23", "城镇居民人均可支配收入", "2023", "实际值", "80000", "元", ""],
                ["I19", "空气质量优良天数比率", "2023", "实际值", "65", "%", "生态环境分局的指标"],
            ]
        ).encode("utf-8"),
    )
    save(
        "unknown_codes.csv",
        csv_text(
            [
                HEADER,
                ["I99", "不存在的指标", "2023", "实际值", "1", "", ""],
                ["I23", "城镇居民人均可支配收入", "2021", "实际值", "69000", "元", ""],
            ]
        ).encode("utf-8"),
    )
    save(
        "future_periods.csv",
        csv_text(
            [
                HEADER,
                ["I23", "城镇居民人均可支配收入", "2031", "实际值", "1", "元", "规划期外"],
                ["I23", "城镇居民人均可支配收入", "2025", "实际值", "88500", "元", "收到时尚未结束"],
                ["I01", "地区生产总值增速", "2024Q2", "实际值", "6.1%", "", "带百分号"],
            ]
        ).encode("utf-8"),
    )
    save(
        "quarter_for_annual_indicator.csv",
        csv_text(
            [
                HEADER,
                ["I23", "城镇居民人均可支配收入", "2023Q2", "实际值", "40000", "元", ""],
                ["I23", "城镇居民人均可支配收入", "2023", "下达目标", "80000", "元", "非下达类指标"],
                ["I23", "城镇居民人均可支配收入", "2022", "实际值", "76100", "万元", "单位不符"],
                ["I23", "城镇居民人均可支配收入", "2021", "实际值", "--5", "元", "非数字"],
            ]
        ).encode("utf-8"),
    )
    save(
        "name_mismatch.csv",
        csv_text([HEADER, ["I23", "社会消费品零售总额", "2021", "实际值", "69000", "元", ""]]).encode(
            "utf-8"
        ),
    )
    # --- empty and broken files ---
    save("empty.csv", b"")
    save("header_only.csv", csv_text([HEADER]).encode("utf-8"))
    save(
        "missing_columns.csv",
        csv_text([["指标编号", "指标名称", "统计期"], ["I23", "x", "2023"]]).encode("utf-8"),
    )
    save("not_a_zip.xlsx", "指标编号,统计期,数值\r\nI23,2023,80000\r\n".encode())
    save(
        "html_saved_as.xlsx", b"<!DOCTYPE html><html><body><table><tr><td>I23</td></tr></table></body></html>"
    )
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    save("legacy_xls_renamed.xlsx", ole + "Workbook".encode("utf-16-le") + b"\x00" * 512)
    save("encrypted_workbook.xlsx", ole + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 512)
    mojibake = "指标编号,统计期,数值\r\nI23,2023,80000\r\n".encode().decode("gbk", errors="replace")
    save("mojibake.csv", mojibake.encode("utf-8"))
    save("undecodable.csv", b"\x81\x30\xff\xff,period,value\r\nI23,2023,1\r\n")
    save(
        "embedded_nul.csv",
        b"\xe6\x8c\x87\xe6\xa0\x87\xe7\xbc\x96\xe5\x8f\xb7,period,value\r\nI23,2023\x00,1\r\n",
    )
    save(
        "project_progress_problems.csv",
        csv_text(
            [
                PROGRESS,
                ["P042", "", "START", "2022-03-31", "2021-10-03", "35", "1200", "正常"],
                ["P042", "", "不存在的节点", "2022-03-31", "", "", "", ""],
                ["P042", "", "FULL", "2022-02-30", "", "", "", "无效日期"],
                [
                    "P042",
                    "",
                    "HALF",
                    "2022-03-31",
                    "2022-05-01",
                    "120",
                    "-5",
                    "完成日期晚于报告日期, 进度与投资越界",
                ],
            ]
        ).encode("utf-8"),
    )
    save(
        "project_of_another_department.csv",
        csv_text(
            [
                PROGRESS,
                ["P042", "", "START", "2022-03-31", "2021-10-03", "35", "1200", ""],
                ["P001", "", "START", "2022-03-31", "", "", "", "P001 属区发展和改革局"],
            ]
        ).encode("utf-8"),
    )
    save(
        "sql_in_text_fields.csv",
        csv_text(
            [
                HEADER,
                [
                    "I23",
                    "'); DROP TABLE raw.submissions; --",
                    "2021",
                    "实际值",
                    "62716",
                    "元",
                    "1; delete from raw.indicator_values",
                ],
            ]
        ).encode("utf-8"),
    )
    save(
        "formula_injection_note.csv",
        csv_text(
            [
                HEADER,
                [
                    "I23",
                    "城镇居民人均可支配收入",
                    "2022",
                    "实际值",
                    "76200",
                    "元",
                    '=HYPERLINK("http://evil.example","click")',
                ],
            ]
        ).encode("utf-8"),
    )
    # a workbook whose sharedStrings are a 200 MB zero run: refused before parsing
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("[Content_Types].xml", date_time=(2024, 1, 1, 0, 0, 0)), "<Types/>")
        zf.writestr(zipfile.ZipInfo("xl/workbook.xml", date_time=(2024, 1, 1, 0, 0, 0)), "<workbook/>")
        zf.writestr(
            zipfile.ZipInfo("xl/sharedStrings.xml", date_time=(2024, 1, 1, 0, 0, 0)),
            b"\x00" * (200 * 1024 * 1024),
            compress_type=zipfile.ZIP_DEFLATED,
        )
    save("zip_bomb.xlsx", bomb.getvalue())
    # a workbook with more zip entries than any real submission has
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(zipfile.ZipInfo("xl/workbook.xml", date_time=(2024, 1, 1, 0, 0, 0)), "<workbook/>")
        for index in range(1200):
            zf.writestr(zipfile.ZipInfo(f"xl/media/image{index}.bin", date_time=(2024, 1, 1, 0, 0, 0)), b"x")
    save("too_many_entries.xlsx", many.getvalue())
    # XML entity expansion ("billion laughs") inside a real workbook: defusedxml refuses it
    wb = Workbook()
    wb.active.title = "指标数据"
    wb.active.append(HEADER)
    wb.active.append(["I23", "城镇居民人均可支配收入", "2021", "实际值", 69000, "元", None])
    plain = zipfile.ZipFile(io.BytesIO(workbook_bytes(wb)))
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;'
        '&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    )
    bombed = io.BytesIO()
    with zipfile.ZipFile(bombed, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in plain.infolist():
            content = plain.read(info.filename)
            if info.filename == "xl/workbook.xml":
                content = laughs.encode() + (
                    content.split(b"?>", 1)[1] if content.startswith(b"<?xml") else content
                )
            zf.writestr(
                zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0)),
                content,
                compress_type=zipfile.ZIP_DEFLATED,
            )
    save("xml_entity_expansion.xlsx", bombed.getvalue())
    save(
        "numbers_edge_cases.csv",
        csv_text(
            [
                HEADER,
                ["I23", "", "2021", "实际值", "1e309", "元", "溢出"],
                ["I23", "", "2022", "实际值", "NaN", "元", ""],
                ["I23", "", "2024", "实际值", "  7,0000 ", "元", "千分位错"],
                ["I23", "", "2023", "实际值", "８０，１２３", "元", "全角"],
            ]
        ).encode("utf-8"),
    )
    # an unquoted thousands separator shifts the row: never load "80" for 80,117
    save("extra_cells_in_a_row.csv", "指标编号,统计期,数值\r\nI23,2023,80,117\r\nI23,2022,76100\r\n".encode())
    # Excel's "Unicode Text": UTF-16 with a BOM, tab-separated (not in the contract)
    save("utf16_unicode_text.csv", "指标编号\t统计期\t数值\r\nI23\t2023\t80000\r\n".encode("utf-16"))
    save(
        "q4_differs_from_annual.csv",
        csv_text(
            [["指标编号", "统计期", "数值"], ["I05", "2024Q4", "1000.16"], ["I05", "2024", "1010.16"]]
        ).encode(),
    )
    # a percentage typed in Excel ("6.1%") is stored as 0.061 with a % format: read as shown, as in a CSV
    wb = Workbook()
    ws = wb.active
    ws.title = "指标数据"
    ws.append(["指标编号", "统计期", "数值"])
    ws.append(["I01", "2024", 0.061])
    ws.append(["I01", "2024Q2", 0.055])
    ws["C2"].number_format = "0.0%"
    ws["C3"].number_format = "0.00%"
    save("percent_formatted_cells.xlsx", workbook_bytes(wb))
    # one merged range over the whole sheet: 17 billion cells for openpyxl in a 5 KB file, refused unread
    wb = Workbook()
    wb.active.title = "指标数据"
    wb.active.append(["指标编号", "统计期", "数值"])
    wb.active.append(["I01", "2023", 5.9])
    wb.active.merge_cells("A3:B4")
    merged = zipfile.ZipFile(io.BytesIO(workbook_bytes(wb)))
    bombed = io.BytesIO()
    with zipfile.ZipFile(bombed, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in merged.infolist():
            content = merged.read(info.filename).replace(b'ref="A3:B4"', b'ref="A3:XFD1048576"')
            zf.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED)
    save("merged_range_over_the_whole_sheet.xlsx", bombed.getvalue())
    # a formatted empty cell at the sheet's far corner (and a formula beside the data): read as the
    # rows it holds, not as a rectangle of 17 billion empty cells
    wb = Workbook()
    ws = wb.active
    ws.title = "指标数据"
    ws.append(["指标编号", "统计期", "数值"])
    ws.append(["I01", "2023Q2", 5.2])
    ws["F2"] = "=C2*2"
    ws["XFD1048576"].number_format = "0.00"
    save("formatted_cell_at_the_far_corner.xlsx", workbook_bytes(wb))
    # a quote opened and never closed: the lines after it would become one note
    save(
        "unclosed_quote_at_the_end.csv",
        '指标编号,统计期,数值,备注\r\nS001,2023,2510.3,"open quote\r\nI23,2023,84210,x\r\n'.encode(),
    )
    # two different unreadable values are two errors, not one row and its "exact repeat"
    save(
        "unreadable_values_are_no_repeats.csv",
        "指标编号,统计期,数值\r\nS001,2023,约2500\r\nS001,2023,约2600\r\nI23,2022,71500\r\n".encode(),
    )
    # the same for two different unknown milestones of one project and date
    save(
        "unreadable_milestones_are_no_repeats.csv",
        (
            "项目编号,项目名称,里程碑,报告日期,完成日期,形象进度,累计完成投资（万元）,备注\r\n"
            "P042,,START,2022-03-31,2021-10-03,35,1200,\r\n"
            "P042,,XXX节点,2022-03-31,,,,\r\nP042,,YYY节点,2022-03-31,,,,\r\n"
        ).encode(),
    )
    # a quoted word at the start of a note is fine; the quote left open two rows later is not
    save(
        "unclosed_quote_after_a_quoted_word.csv",
        (
            '指标编号,统计期,数值,备注\r\nI23,2021,69000,"十四五"规划\r\nI23,2022,70000,"未闭合\r\n'
            "I23,2023,71000,x\r\n"
        ).encode(),
    )
    # a repeated row that adds the explanation: the explanation counts
    save(
        "repeat_adds_the_explanation.csv",
        "指标编号,统计期,数值,说明\r\nI23,2023,200000,\r\nI23,2023,200000,城镇居民收入统计口径调整\r\n".encode(),
    )
    # a space is a thousands separator only between groups of three
    save(
        "spaces_inside_numbers.csv",
        "指标编号,统计期,数值\r\nS001,2022,24 10.9\r\nI23,2022,71 500\r\n".encode(),
    )
    # semicolons under a title row: said to be semicolons, not "unrecognised columns"
    save(
        "semicolons_under_a_title.csv",
        "2025年指标数据\r\n指标编号;统计期;数值\r\nS001;2023;2510,3\r\n".encode(),
    )
    # the catalog unit typed or left out is one value (a repeat, loaded once); another unit is another value
    # (both rows refused as a conflict, never the plain number dropped as a repeat of a refused row)
    save(
        "units_on_repeated_rows.csv",
        (
            "指标编号,统计期,数值,单位\r\nS001,2024,2100,亿元\r\nS001,2024,2100,\r\n"
            "S001,2023,2080万元,\r\nS001,2023,2080,\r\n"
        ).encode(),
    )
    wide = ",".join(f"c{i}" for i in range(100_000))
    save(
        "hundred_thousand_columns.csv",
        (wide + "\r\n" + ",".join("1" for _ in range(100_000)) + "\r\n").encode(),
    )


if __name__ == "__main__":
    main()
