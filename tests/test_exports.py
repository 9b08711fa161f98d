"""The Excel/CSV exports as a person opens them: Chinese statuses beside codes, names beside codes,
values rounded to the indicator's precision, a frozen header, filters, widths and a readme sheet."""

from __future__ import annotations

from decimal import Decimal

from pipelines.lib.outputs.exports import read_export_csv
from tests.conftest import query


def _decimals(value) -> int:
    exponent = Decimal(str(value)).normalize().as_tuple().exponent
    return max(0, -exponent)


def test_the_workbook_is_ready_to_read(sample_run, sample_db):
    from openpyxl import load_workbook

    workbook = load_workbook(sample_run["output"] / "exports" / "marts.xlsx")
    assert workbook.sheetnames[0] == "说明"
    notes = list(workbook["说明"].iter_rows(values_only=True))
    listed = [r for r in notes[1:] if r[0]]
    from pipelines.lib.outputs.exports import EXPORTED_MARTS

    # every exported mart has its sheet, explained in zh and en
    assert len(listed) == len(EXPORTED_MARTS) and all(r[3] and r[4] for r in listed)
    sheet = workbook["指标最新状态"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    header = [c.value for c in sheet[1]]
    col = {h.split(" / ")[-1]: i for i, h in enumerate(header)}
    assert header[col["status_zh"]] == "状态 / status_zh" and col["status"] == col["status_zh"] + 1
    assert col["owner_department_name_zh"] == col["owner_department_code"] + 1
    widths = [sheet.column_dimensions[c].width for c in ("A", "B", "H")]
    assert all(w and w >= 8 for w in widths)
    plan = "370102_14FYP"  # the plan whose target year has passed (codes repeat in the 15th plan)
    rows = {
        r[col["indicator_code"]]: r
        for r in sheet.iter_rows(min_row=2, values_only=True)
        if r[col["plan_id"]] == plan
    }
    decimals = {
        r["indicator_code"]: r["value_decimals"]
        for r in query(sample_db, "select * from marts.dim_indicators where plan_id = ?", [plan])
    }
    assert rows["I22"][col["status_zh"]] == "未完成" and rows["I22"][col["status"]] == "not_achieved"
    assert rows["I22"][col["evaluation_category_zh"]] == "未完成"
    assert rows["I22"][col["owner_department_name_zh"]] == "区城市管理局"
    assert (
        rows["I04"][col["evaluated_value"]] == 6.5
    )  # the five-year average growth, to the indicator's 1 decimal
    assert rows["I07"][col["evaluated_value"]] == 20.88  # never rounded onto its target of 20.9
    for code, row in rows.items():
        for name in ("actual_value", "evaluated_value", "target_compared", "shortfall"):
            if row[col[name]] is not None:
                assert _decimals(row[col[name]]) <= decimals[code], (code, name, row[col[name]])
    ratio = sheet.cell(row=2, column=col["completion"] + 1)
    assert ratio.number_format == "0.0%" or ratio.value is None
    projects = workbook["项目状态"]
    head = [c.value.split(" / ")[-1] for c in projects[1]]
    assert "owner_department_name_zh" in head and "rag_status_zh" in head


def test_the_csv_files_carry_the_same_columns(sample_run):
    rows = read_export_csv(sample_run["output"] / "exports" / "fct_indicator_attainment.csv")
    i22 = next(r for r in rows if r["indicator_code"] == "I22" and r["plan_year"] == "2025")
    assert i22["status_zh"] == "未完成" and i22["status"] == "not_achieved"
    assert i22["owner_department_name_zh"] == "区城市管理局" and i22["shortfall"] == "1.33"
    flags = read_export_csv(sample_run["output"] / "exports" / "fct_flags.csv")
    assert {f["severity_zh"] for f in flags} == {"严重", "警告"}
