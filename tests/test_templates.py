"""Templates a clerk can fill without asking: what is owed, reference columns equal to the marts, data
validation, print set-up, sign-off fields, locked references; a filled template goes through the core."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.submissions.check import check_file
from pipelines.lib.submissions.plausibility import previous_values_from
from pipelines.lib.submissions.readers import HEADINGS_EN, INDICATOR, PROGRESS
from pipelines.lib.submissions.templates import HEADER_ROW, write_template
from tests.conftest import REPO, query

CATALOG = Catalog.load(REPO / "dbt_project" / "seeds")
P14 = "370102_14FYP"
OWED = """select item_code, item_status, awaiting_explanation from marts.fct_submission_obligation_items
          where department_code = ? and submission_kind = ?
            and (period = ? or (period_end < ? and (item_status = 'missing' or awaiting_explanation)))"""


def sheet_rows(ws, kind: str) -> list[dict]:
    """The template's data rows as dicts: submission columns by canonical name, references by heading."""
    headings = [c.value for c in ws[HEADER_ROW]]
    names = HEADINGS_EN[kind] + headings[len(HEADINGS_EN[kind]) :]
    rows = []
    for cells in ws.iter_rows(min_row=HEADER_ROW + 1):
        if cells[0].value is None:
            continue
        rows.append(
            {name: cell.value for name, cell in zip(names, cells, strict=False)} | {"_row": cells[0].row}
        )
    return rows


@pytest.fixture(scope="module")
def templates(sample_run, tmp_path_factory):
    from pipelines.lib.warehouse.publish import open_published

    out = tmp_path_factory.mktemp("templates")
    con = open_published(sample_run["db"])
    try:
        return {
            (dept, period): write_template(CATALOG, dept, period, out, con=con)
            for dept, period in (("370102_IND", "2026Q1"), ("370102_IND", "2025"), ("370102_STATS", "2025"))
        }
    finally:
        con.close()


def test_the_template_lists_what_the_department_owes(templates, sample_db):
    wb = load_workbook(templates[("370102_IND", "2026Q1")])
    listed = {r["project_code"] for r in sheet_rows(wb["项目进度"], PROGRESS)}
    owed = query(sample_db, OWED, ["370102_IND", "project_progress", "2026Q1", "2026-01-01"])
    assert listed == {r["item_code"] for r in owed} and listed  # the overrunning projects are owed
    # the portal's list of what is owed is the same: one item-level fact
    portal = query(
        sample_db,
        """select item_code from marts.fct_submission_obligation_items where department_code = '370102_IND'
           and submission_kind = 'project_progress' and period = '2026Q1'""",
    )
    assert {r["item_code"] for r in portal} <= listed
    # the annual template lists the value that awaits an explanation, with what was reported, ready to explain
    rows = sheet_rows(load_workbook(templates[("370102_IND", "2025")])["指标数据"], INDICATOR)
    i08 = next(r for r in rows if r["indicator_code"] == "I08")
    assert i08["value"] == 0.5544 and i08["状态（参考）"].startswith("待说明") and i08["explanation"] is None
    owed = query(sample_db, OWED, ["370102_IND", "indicator_data", "2025", "2025-01-01"])
    assert {r["indicator_code"] for r in rows} == {r["item_code"] for r in owed}
    assert any(r["awaiting_explanation"] and r["item_code"] == "I08" for r in owed)
    assert all(r["note"] is None for r in rows)  # nothing pre-filled into the note column


def test_the_reference_columns_equal_the_marts(templates, sample_db):
    rows = [
        row
        for key in (("370102_STATS", "2025"), ("370102_IND", "2025"))
        for row in sheet_rows(load_workbook(templates[key])["指标数据"], INDICATOR)
    ]
    # both templates are of 2025: the 14th plan's indicators (codes repeat across plans)
    dim = {
        r["indicator_code"]: r
        for r in query(sample_db, "select * from marts.dim_indicators where plan_id = ?", [P14])
    }
    checked = 0
    for row in rows:
        ind = dim[row["indicator_code"]]
        assert row["unit"] == ind["unit"]
        baseline = row["基期值（参考）"]
        assert (baseline == "—" and ind["baseline_value"] is None) or baseline == ind["baseline_value"]
        last = query(
            sample_db,
            """select value, period from marts.fct_indicator_values
               where plan_id = ? and indicator_code = ? and department_code = ? and value_type = 'actual'
                 and review_state in ('accepted', 'explained') and period_year < 2025
               order by period_year desc, period_quarter desc nulls first limit 1""",
            [P14, row["indicator_code"], ind["owner_department_code"]],
        )
        if last:
            assert (
                row["上次已接收值（参考）"] == last[0]["value"]
                and row["上次已接收统计期（参考）"] == last[0]["period"]
            )
            checked += 1
        basis = ind["max_change_basis"]
        bound = row["合理变动幅度（参考）"]
        assert (basis == "none" and bound == "—") or f"±{ind['max_change']:g}" in bound
    assert checked >= 10
    i23 = next(r for r in rows if r["indicator_code"] == "I23")
    assert i23["上次已接收值（参考）"] == 81844 and i23["上次已接收统计期（参考）"] == "2024"


def test_the_template_is_ready_to_fill_and_to_print(templates):
    wb = load_workbook(templates[("370102_IND", "2025")])
    ws = wb["指标数据"]
    rows = sheet_rows(ws, INDICATOR)
    # the fields government forms carry, above the header
    labels = [c.value for c in ws[3] if c.value]
    assert [label.split()[0] for label in labels] == ["填报人", "审核人", "联系电话", "填报日期"]
    # data validation: a number (within the catalog's range) in every value cell, the two value types, the unit
    value_checks = [dv for dv in ws.data_validations.dataValidation if dv.type == "decimal"]
    covered = {cell for dv in value_checks for rng in dv.sqref.ranges for cell in _cells(rng)}
    assert all(f"E{r['_row']}" in covered for r in rows)
    assert any(
        dv.type == "list" and "实际值,下达目标" in dv.formula1 for dv in ws.data_validations.dataValidation
    )
    percent = next(r for r in rows if r["unit"] == "%")
    assert any(
        dv.formula1 == "0"
        and dv.formula2 == "100"
        and f"E{percent['_row']}" in {c for g in dv.sqref.ranges for c in _cells(g)}
        for dv in value_checks
    )
    # print set-up: A4 landscape, one page wide, the header repeated
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == str(ws.PAPERSIZE_A4)
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows.replace("$", "") == f"{HEADER_ROW}:{HEADER_ROW}"
    # protected: references locked, the cells to fill open
    assert ws.protection.sheet
    first = rows[0]["_row"]
    assert ws.cell(first, 5).protection.locked is False and ws.cell(first, 8).protection.locked is False
    assert (
        ws.cell(first, 1).protection.locked is not False and ws.cell(first, 11).protection.locked is not False
    )
    assert wb["项目进度"].page_setup.orientation == "landscape"


def _cells(rng) -> set[str]:
    from openpyxl.utils import get_column_letter

    return {
        f"{get_column_letter(c)}{r}"
        for r in range(rng.min_row, rng.max_row + 1)
        for c in range(rng.min_col, rng.max_col + 1)
    }


def test_a_filled_template_goes_through_the_core_with_its_explanation(templates, sample_run, tmp_path):
    from pipelines.lib.warehouse.publish import open_published

    wb = load_workbook(templates[("370102_IND", "2025")])
    ws = wb["指标数据"]
    ws.cell(3, 2, "张三")
    ws.cell(3, 8, date(2026, 7, 1))
    for row in sheet_rows(ws, INDICATOR):
        if row["indicator_code"] == "I08":  # the clerk checks the pending value and explains it
            ws.cell(row["_row"], 8, "经核实：该值为小数形式，实为 55.44%，另行更正")
        elif row["value"] is None and isinstance(row["上次已接收值（参考）"], float):
            ws.cell(row["_row"], 5, round(row["上次已接收值（参考）"] * 1.04, 2))
    path = tmp_path / "filled.xlsx"
    wb.save(path)
    con = open_published(sample_run["db"])
    try:
        checked = check_file(
            path,
            "2025年度（模板）.xlsx",
            "370102_IND",
            CATALOG,
            previous=previous_values_from(con),
            received_at=datetime(2026, 7, 1, 9, 0),
        )
    finally:
        con.close()
    outcome = next(iter(checked.outcomes.values()))
    codes = {i.code for i in outcome.issues}
    assert outcome.status in ("accepted", "accepted_with_warnings"), [
        (i.code, i.message_en) for i in outcome.issues
    ]
    assert (
        "unknown_column" not in codes and "unknown_code" not in codes
    )  # references and sign-off are skipped
    frame = checked.frames["indicator_data"]
    i08 = frame[frame["indicator_code"] == "I08"].iloc[0]
    assert i08["review_state"] == "explained" and outcome.rows_pending_explanation == 0
    assert (frame["review_state"] != "pending_explanation").all()


def test_templates_from_the_command_line(sample_run, tmp_path):
    env = dict(os.environ, PLANWH_PUBLISH_DIR=str(sample_run["db"].parent))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "templates",
            "--department",
            "370102_IND",
            "--period",
            "2026Q1",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "370102_IND_2026Q1_报送模板.xlsx").exists()
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "templates",
            "--department",
            "370102_NOPE",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 2 and "unknown department" in bad.stderr and "Traceback" not in bad.stderr
