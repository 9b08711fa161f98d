"""Export the marts for people who live in Excel: CSV (UTF-8 with BOM) and one XLSX workbook.

Headers are bilingual (中文 / column_name). Text cells that a spreadsheet would run as a formula
(starting with = + - @, or a tab / carriage return) are neutralised with a leading apostrophe, the
OWASP recommendation; `read_export_csv` undoes it for a round trip.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import duckdb

from .labels import COLUMNS_ZH

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
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
    "dim_indicators": "指标目录", "dim_departments": "部门", "dim_projects": "项目目录", "dim_milestones": "里程碑",
    "fct_indicator_values": "指标数值", "fct_indicator_attainment": "指标完成情况",
    "fct_indicator_status_latest": "指标最新状态", "fct_project_milestones": "项目里程碑",
    "fct_project_status": "项目状态", "fct_submission_compliance": "报送合规", "fct_department_scorecard": "部门记分卡",
    "fct_submissions": "报送台账", "fct_submission_issues": "报送问题", "fct_flags": "预警",
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


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return neutralise(value)


def export_marts(con: duckdb.DuckDBPyConnection, out_dir: Path) -> dict[str, int]:
    from openpyxl import Workbook

    out_dir.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(write_only=True)
    counts: dict[str, int] = {}
    for mart in EXPORTED_MARTS:
        cursor = con.execute(f"select * from marts.{mart}")
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        counts[mart] = len(rows)
        tmp = out_dir / f".{mart}.csv.tmp"
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([header(c) for c in columns])
            for row in rows:
                writer.writerow(["" if v is None else _csv_text(v) for v in map(_cell, row)])
        tmp.replace(out_dir / f"{mart}.csv")
        sheet = workbook.create_sheet(SHEET_NAMES_ZH.get(mart, mart)[:31])
        sheet.append([header(c) for c in columns])
        for row in rows:
            sheet.append([_xlsx_value(v) for v in map(_cell, row)])
    tmp = out_dir / ".marts.xlsx.tmp"
    workbook.save(tmp)
    tmp.replace(out_dir / "marts.xlsx")
    return counts


def _csv_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value)) if abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


def _xlsx_value(value: object) -> object:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def read_export_csv(path: Path) -> list[dict]:
    """Read an exported CSV back with the neutralising apostrophes removed (for round trips)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        headers = [h.split(" / ")[-1] for h in next(reader)]
        return [dict(zip(headers, [unneutralise(v) for v in row], strict=True)) for row in reader]
