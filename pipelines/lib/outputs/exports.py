"""Export the marts for people who live in Excel: CSV (UTF-8 with BOM) and one XLSX workbook.

Headers are bilingual (中文 / column_name). Text cells that a spreadsheet would run as a formula
(starting with = + - @, or a tab / carriage return) are neutralised with a leading apostrophe, the
OWASP recommendation; `read_export_csv` undoes it for a round trip. CSV files are written by DuckDB
(fast at any size); the workbook holds the marts up to XLSX_MAX_ROWS rows, larger ones are CSV only.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import shutil
from pathlib import Path

import duckdb

from ..files import temp_path
from .labels import COLUMNS_ZH

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DANGEROUS_PATTERN = r"^[=+\-@\t\r]"
XLSX_MAX_ROWS = 50_000  # larger marts are CSV only: Excel is not the tool for them, and writing them is slow
XLSX_MAX_CELLS = 400_000  # the workbook as a whole (a district's marts fit easily; a province's do not)
XLSX_ORDER = (  # what a reader in Excel needs first, when not everything fits
    "fct_indicator_status_latest",
    "fct_flags",
    "fct_department_scorecard",
    "fct_project_status",
    "fct_indicator_attainment",
    "fct_submission_compliance",
    "fct_project_milestones",
    "fct_submission_issues",
    "fct_submissions",
    "fct_indicator_values",
    "dim_indicators",
    "dim_departments",
    "dim_projects",
    "dim_milestones",
)
EXPORTED_MARTS = (
    "dim_indicators",
    "dim_departments",
    "dim_projects",
    "dim_milestones",
    "fct_indicator_values",
    "fct_indicator_attainment",
    "fct_indicator_status_latest",
    "fct_project_milestones",
    "fct_project_status",
    "fct_submission_compliance",
    "fct_department_scorecard",
    "fct_submissions",
    "fct_submission_issues",
    "fct_flags",
)
SHEET_NAMES_ZH = {
    "dim_indicators": "指标目录",
    "dim_departments": "部门",
    "dim_projects": "项目目录",
    "dim_milestones": "里程碑",
    "fct_indicator_values": "指标数值",
    "fct_indicator_attainment": "指标完成情况",
    "fct_indicator_status_latest": "指标最新状态",
    "fct_project_milestones": "项目里程碑",
    "fct_project_status": "项目状态",
    "fct_submission_compliance": "报送合规",
    "fct_department_scorecard": "部门记分卡",
    "fct_submissions": "报送台账",
    "fct_submission_issues": "报送问题",
    "fct_flags": "预警",
}


def neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    if value.startswith("'") and value[1:].startswith(DANGEROUS_PREFIXES):
        return value[1:]
    return value


def header(column: str) -> str:
    zh = COLUMNS_ZH.get(column)
    return f"{zh} / {column}" if zh else column


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _csv_select(con: duckdb.DuckDBPyConnection, mart: str) -> str:
    """The mart with bilingual headers and formula-looking text neutralised, computed by DuckDB."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = 'marts' "
        "and table_name = ? order by ordinal_position",
        [mart],
    ).fetchall()
    parts = []
    for name, dtype in columns:
        column = _quote(name)
        if dtype == "VARCHAR":
            expr = f"case when regexp_matches({column}, {_literal(DANGEROUS_PATTERN)}) then '''' || {column} else {column} end"
        elif dtype == "BOOLEAN":
            expr = f"case when {column} then 'true' when not {column} then 'false' end"
        else:
            expr = column
        parts.append(f"{expr} as {_quote(header(name))}")
    return f"select {', '.join(parts)} from marts.{_quote(mart)}"


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return neutralise(value)


def _xlsx_value(value: object) -> object:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def export_marts(con: duckdb.DuckDBPyConnection, out_dir: Path) -> dict[str, int]:
    from openpyxl import Workbook

    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for mart in EXPORTED_MARTS:
        counts[mart] = con.execute(f"select count(*) from marts.{_quote(mart)}").fetchone()[0]
        body = temp_path(out_dir / f"{mart}.body")
        con.execute(f"copy ({_csv_select(con, mart)}) to {_literal(str(body))} (format csv, header true)")
        final_tmp = temp_path(out_dir / f"{mart}.csv")
        with final_tmp.open("wb") as out, body.open("rb") as src:
            out.write(b"\xef\xbb\xbf")  # BOM: Excel then reads the Chinese headers as UTF-8
            shutil.copyfileobj(src, out, 1 << 20)
        body.unlink()
        final_tmp.replace(out_dir / f"{mart}.csv")
    workbook = Workbook(write_only=True)
    notes = workbook.create_sheet("说明")
    notes.append(["表 / mart", "行数 / rows", "工作表 / sheet", "说明 / note"])
    cells = 0
    for mart in XLSX_ORDER:
        sheet_name = SHEET_NAMES_ZH.get(mart, mart)[:31]
        width = len(con.execute(f"select * from marts.{_quote(mart)} limit 0").description)
        if counts[mart] > XLSX_MAX_ROWS or cells + counts[mart] * width > XLSX_MAX_CELLS:
            notes.append(
                [
                    mart,
                    counts[mart],
                    "—",
                    f"数据量较大，请使用 {mart}.csv / too large for the workbook: use {mart}.csv",
                ]
            )
            continue
        cells += counts[mart] * width
        notes.append([mart, counts[mart], sheet_name, ""])
        cursor = con.execute(f"select * from marts.{_quote(mart)}")
        columns = [d[0] for d in cursor.description]
        sheet = workbook.create_sheet(sheet_name)
        sheet.append([header(c) for c in columns])
        while batch := cursor.fetchmany(5000):
            for row in batch:
                sheet.append([_xlsx_value(v) for v in map(_cell, row)])
    tmp = temp_path(out_dir / "marts.xlsx")
    workbook.save(tmp)
    tmp.replace(out_dir / "marts.xlsx")
    return counts


def read_export_csv(path: Path) -> list[dict]:
    """Read an exported CSV back with the neutralising apostrophes removed (for round trips)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        headers = [h.split(" / ")[-1] for h in next(reader)]
        return [dict(zip(headers, [unneutralise(v) for v in row], strict=True)) for row in reader]
