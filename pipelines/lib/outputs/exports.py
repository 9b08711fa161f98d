"""Export the marts for people who live in Excel: CSV (UTF-8 with BOM) and one XLSX workbook.

What a reader gets (the same columns in the CSV files and the workbook):
- headers in both languages (中文 / column_name);
- every status-like code (status, category, RAG, compliance ...) first in Chinese in its own column
  (`status_zh`), the English code beside it (`status`), so filters work in either language;
- the responsible department's name beside every department code;
- indicator values rounded to the indicator's display precision (dim_indicators.value_decimals, the most
  decimals the plan prints or departments report), ratios to 4 decimals, project percentages to 1;
- in the workbook: the header row frozen, an autofilter, column widths set, ratios shown as percentages,
  and a first sheet (说明) saying what each sheet holds.

Text cells that a spreadsheet would run as a formula (starting with = + - @, or a tab / carriage return)
are neutralised with a leading apostrophe, the OWASP recommendation; `read_export_csv` undoes it for a
round trip. CSV files are written by DuckDB (fast at any size); the workbook holds the marts up to
XLSX_MAX_ROWS rows, larger ones are CSV only. The full-precision values stay in the DuckDB marts.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..files import temp_path
from ..text import display_width
from .labels import ATTRIBUTE, COLUMNS_ZH, METHOD, STATUS, SUBMISSION_KIND

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
    "dim_plans",
    "dim_indicators",
    "dim_departments",
    "dim_projects",
    "dim_milestones",
)
EXPORTED_MARTS = (
    "dim_plans",
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
    "dim_plans": "规划",
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
SHEET_NOTES = {
    "dim_plans": (
        "每个规划一行：规划编号、名称、起止年份（“十四五”与“十五五”等相继规划并存时按统计期归属）",
        "one row per plan: id, names and years (successive plans of a region side by side; a period belongs to one)",
    ),
    "fct_indicator_status_latest": (
        "每个指标一行：最新评估年度的状态、评估类别（提前实现/快于预期/基本符合预期/滞后于预期/完成/未完成）和差距",
        "one row per indicator: the latest year's status, evaluation category and shortfall",
    ),
    "fct_flags": (
        "本次评估的预警：未完成或偏离目标的约束性指标、红灯项目、缺报",
        "this evaluation's flags: binding indicators missed or off track, red projects, missing submissions",
    ),
    "fct_department_scorecard": (
        "每个部门一行：负责指标的状态、项目红黄绿灯、报送按时情况",
        "one row per department: its indicators by status, its projects by RAG, how it reports",
    ),
    "fct_project_status": (
        "每个重大项目一行：形象进度、工期进度、逾期里程碑、红黄绿灯",
        "one row per major project: progress, schedule, overdue milestones, RAG",
    ),
    "fct_indicator_attainment": (
        "每个指标每年一行：实际值、完成进度、时序进度、状态和评估类别",
        "one row per indicator and year: actual, completion, expected share, status and category",
    ),
    "fct_submission_compliance": (
        "每个部门、报送类型、统计期一行：是否按时报齐",
        "one row per department, kind and period: on time, late, incomplete or missing",
    ),
    "fct_project_milestones": (
        "每个项目里程碑一行：计划日期、实际完成日期、延误天数",
        "one row per project milestone: planned and actual dates, days late",
    ),
    "fct_submission_issues": (
        "校验发现的每个问题一行：文件、工作表、行、列、原因和修改建议",
        "one row per problem found by validation: file, sheet, row, column, reason and what to do",
    ),
    "fct_submissions": ("每个接收的文件一行：状态与行数", "one row per file received: status and row counts"),
    "fct_indicator_values": (
        "每个指标、统计期、数值类型的当前值及其来源文件",
        "the current value per indicator, period and value type, with the file it came from",
    ),
    "dim_indicators": (
        "指标目录：规划纲要中的基期值、目标值、属性、责任部门",
        "the indicator catalog: baseline, target, attribute, responsible department as printed in the plan",
    ),
    "dim_departments": ("部门目录", "the departments"),
    "dim_projects": (
        "重大项目目录：计划工期、责任部门",
        "the major projects: planned dates, responsible department",
    ),
    "dim_milestones": ("项目计划里程碑", "the projects' planned milestones"),
}

KIND = {
    "main": ("主要指标", "main indicator"),
    "secondary": ("其他目标", "other target"),
    **SUBMISSION_KIND,
    "actual": ("实际值", "actual"),
    "assigned_target": ("下达目标", "assigned target"),
    "binding_indicator": ("约束性指标", "binding indicator"),
    "red_project": ("红灯项目", "red project"),
    "missing_submission": ("缺报", "missing submission"),
    "error": ("错误", "error"),
    "higher_is_better": ("越大越好", "higher is better"),
    "lower_is_better": ("越小越好", "lower is better"),
}
# code columns shown first in Chinese (a `<column>_zh` column before them); the dictionaries give the labels
LABELLED = {
    "status": STATUS,
    "compliance_status": STATUS,
    "rag_status": STATUS,
    "project_rag_status": STATUS,
    "milestone_status": STATUS,
    "trend_status": STATUS,
    "submission_status": STATUS,
    "subject_status": STATUS,
    "severity": {**STATUS, **KIND},
    "attribute": ATTRIBUTE,
    "target_method": METHOD,
    "indicator_kind": KIND,
    "submission_kind": KIND,
    "record_kind": KIND,
    "value_type": KIND,
    "flag_type": KIND,
    "direction": KIND,
}
# indicator values: rounded to the indicator's display precision
VALUE_COLUMNS = {
    "actual_value",
    "evaluated_value",
    "running_total",
    "average_growth_rate",
    "baseline_value",
    "evaluated_baseline",
    "target_value",
    "assigned_target",
    "target_compared",
    "latest_quarter_value",
    "projected_target_year_value",
    "shortfall",
    "value",
    "previous_value",
    "reported_value",
    "value_min",
    "value_max",
}
RATIO_COLUMNS = {
    "completion",
    "expected_share",
    "time_share",
    "lag",
    "growth_shortfall",
    "shortfall_ratio",
    "trend_ratio",
}
PERCENT_COLUMNS = {
    "percent_complete",
    "schedule_share_percent",
    "progress_lag_points",
    "project_percent_complete",
    "project_schedule_share_percent",
    "project_progress_lag_points",
}
AMOUNT_COLUMNS = {"investment_to_date"}


def neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    if value.startswith("'") and value[1:].startswith(DANGEROUS_PREFIXES):
        return value[1:]
    return value


def header(column: str) -> str:
    if column.endswith("_zh") and column[:-3] in LABELLED:
        return f"{COLUMNS_ZH.get(column[:-3], column[:-3])} / {column}"
    if column in LABELLED:
        return f"{COLUMNS_ZH.get(column, column)}（代码） / {column}"
    zh = COLUMNS_ZH.get(column)
    return f"{zh} / {column}" if zh else column


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Column:
    name: str
    expr: str
    kind: str  # text, number, ratio, percent, date, timestamp, boolean, integer


def _label_case(column: str, labels: dict) -> str:
    whens = " ".join(f"when {_literal(code)} then {_literal(zh)}" for code, (zh, _en) in labels.items())
    return f"case m.{column} {whens} else m.{column} end"


def export_columns(con: duckdb.DuckDBPyConnection, mart: str) -> tuple[list[Column], str]:
    """The exported columns of a mart (labels, names, rounding) and the FROM clause they need."""
    described = con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = 'marts' "
        "and table_name = ? order by ordinal_position",
        [mart],
    ).fetchall()
    names = {name for name, _ in described}
    joins = [f"marts.{_quote(mart)} as m"]
    decimals = None
    if mart == "dim_indicators":
        decimals = "m.value_decimals"
    elif {"plan_id", "indicator_code"} <= names:
        joins.append(
            "left join marts.dim_indicators as di on di.plan_id = m.plan_id and di.indicator_code = m.indicator_code"
        )
        decimals = "di.value_decimals"
    elif mart == "fct_flags":
        joins.append(
            "left join marts.dim_indicators as di on m.flag_type = 'binding_indicator' "
            "and di.plan_id = m.plan_id and di.indicator_code = m.subject_code"
        )
        decimals = "coalesce(di.value_decimals, 1)"
    columns: list[Column] = []
    for index, (name, dtype) in enumerate(described):
        column = f"m.{_quote(name)}"
        if name in LABELLED and dtype == "VARCHAR":
            columns.append(Column(f"{name}_zh", _label_case(_quote(name), LABELLED[name]), "text"))
        if dtype == "VARCHAR":
            columns.append(Column(name, column, "text"))
        elif dtype == "BOOLEAN":
            columns.append(
                Column(name, f"case when {column} then 'true' when not {column} then 'false' end", "boolean")
            )
        elif name in VALUE_COLUMNS and decimals and dtype in ("DOUBLE", "FLOAT", "DECIMAL"):
            columns.append(Column(name, f"round({column}, coalesce({decimals}, 2))", "number"))
        elif name in RATIO_COLUMNS:
            columns.append(Column(name, f"round({column}, 4)", "ratio"))
        elif name in PERCENT_COLUMNS:
            columns.append(Column(name, f"round({column}, 1)", "percent"))
        elif name in AMOUNT_COLUMNS or dtype == "DOUBLE":
            columns.append(Column(name, f"round({column}, 2)", "number"))
        elif dtype == "DATE":
            columns.append(Column(name, column, "date"))
        elif dtype.startswith("TIMESTAMP"):
            columns.append(Column(name, column, "timestamp"))
        else:
            columns.append(Column(name, column, "integer"))
        # the department's name beside its code, when the mart does not carry it already
        if name.endswith("department_code"):
            prefix = name[: -len("department_code")]
            wanted = f"{prefix}department_name_zh"
            if wanted not in names:
                alias = f"d{index}"
                joins.append(
                    f"left join marts.dim_departments as {alias} on {alias}.department_code = {column}"
                )
                columns.append(Column(wanted, f"{alias}.department_name_zh", "text"))
    return columns, " ".join(joins)


def export_select(con: duckdb.DuckDBPyConnection, mart: str, for_csv: bool) -> tuple[str, list[Column]]:
    columns, source = export_columns(con, mart)
    parts = []
    for c in columns:
        expr = c.expr
        if for_csv and c.kind == "text":  # the workbook neutralises per cell; the CSV in DuckDB
            expr = f"case when regexp_matches({expr}, {_literal(DANGEROUS_PATTERN)}) then '''' || {expr} else {expr} end"
        parts.append(f"{expr} as {_quote(header(c.name) if for_csv else c.name)}")
    order = _order_by(con, mart)
    return f"select {', '.join(parts)} from {source}{order}", columns


def _order_by(con, mart: str) -> str:
    keys = con.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ? "
        "order by ordinal_position limit 1",
        [mart],
    ).fetchone()
    return f" order by m.{_quote(keys[0])}" if keys else ""


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


NUMBER_FORMATS = {
    "ratio": "0.0%",
    "percent": "0.0",
    "date": "yyyy-mm-dd",
    "timestamp": "yyyy-mm-dd hh:mm:ss",
}


def _write_sheet(workbook, sheet_name: str, cursor, columns: list[Column]) -> int:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(sheet_name)
    headers = [header(c.name) for c in columns]
    widths = [
        min(40, max(8, display_width(h.split(" / ")[0]) + 2, len(c.name) + 2))
        for h, c in zip(headers, columns, strict=True)
    ]
    rows = []
    while batch := cursor.fetchmany(5000):
        for row in batch:
            values = [_xlsx_value(v) for v in map(_cell, row)]
            rows.append(values)
            if len(rows) <= 500:  # widths from the first rows: enough to see what a column holds
                for j, v in enumerate(values):
                    if v is not None:
                        widths[j] = min(60, max(widths[j], display_width(str(v)) + 2))
    for j, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(j)].width = width
    sheet.freeze_panes = "A2"
    last = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E7E6E6")
    wrap = Alignment(wrap_text=True, vertical="top")
    head_cells = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font, cell.fill, cell.alignment = bold, fill, wrap
        head_cells.append(cell)
    sheet.append(head_cells)
    formats = [NUMBER_FORMATS.get(c.kind) for c in columns]
    for values in rows:
        out = []
        for value, fmt in zip(values, formats, strict=True):
            if fmt and value is not None and not isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = fmt
                out.append(cell)
            else:
                out.append(value)
        sheet.append(out)
    return len(rows)


def _write_csv(con: duckdb.DuckDBPyConnection, mart: str, out_dir: Path) -> None:
    body = temp_path(out_dir / f"{mart}.body")
    sql, _ = export_select(con, mart, for_csv=True)
    con.execute(f"copy ({sql}) to {_literal(str(body))} (format csv, header true)")
    final_tmp = temp_path(out_dir / f"{mart}.csv")
    with final_tmp.open("wb") as out, body.open("rb") as src:
        out.write(b"\xef\xbb\xbf")  # BOM: Excel then reads the Chinese headers as UTF-8
        shutil.copyfileobj(src, out, 1 << 20)
    body.unlink()
    final_tmp.replace(out_dir / f"{mart}.csv")


def export_marts(con: duckdb.DuckDBPyConnection, out_dir: Path) -> dict[str, int]:
    """The CSV files are written by DuckDB in a second thread (its own cursor; DuckDB works without the
    GIL) while this one builds the workbook in Python: the two took turns before (province: 2-3 s of CSV
    beside 3-4 s of workbook)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {
        mart: con.execute(f"select count(*) from marts.{_quote(mart)}").fetchone()[0]
        for mart in EXPORTED_MARTS
    }
    cursor = con.cursor()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            csv_files = pool.submit(lambda: [_write_csv(cursor, mart, out_dir) for mart in EXPORTED_MARTS])
            try:
                _write_workbook(con, counts, out_dir)
            finally:
                csv_files.result()  # waits for the CSV files whatever happened here; raises their error
    finally:
        cursor.close()
    return counts


def _write_workbook(con: duckdb.DuckDBPyConnection, counts: dict[str, int], out_dir: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    notes = workbook.create_sheet("说明")
    notes.freeze_panes = "A2"
    for letter, width in zip("ABCDE", (30, 10, 16, 70, 60), strict=True):
        notes.column_dimensions[letter].width = width
    notes.append(["表 / mart", "行数 / rows", "工作表 / sheet", "说明", "note"])
    cells = 0
    planned = []
    for mart in XLSX_ORDER:
        sheet_name = SHEET_NAMES_ZH.get(mart, mart)[:31]
        columns, _ = export_columns(con, mart)
        note_zh, note_en = SHEET_NOTES.get(mart, ("", ""))
        if counts[mart] > XLSX_MAX_ROWS or cells + counts[mart] * len(columns) > XLSX_MAX_CELLS:
            notes.append(
                [
                    mart,
                    counts[mart],
                    "—",
                    f"{note_zh}。数据量较大，未放入工作簿，请使用 {mart}.csv",
                    f"{note_en}. Too large for the workbook: use {mart}.csv",
                ]
            )
            continue
        cells += counts[mart] * len(columns)
        notes.append([mart, counts[mart], sheet_name, note_zh, note_en])
        planned.append((mart, sheet_name))
    notes.append(
        [
            None,
            None,
            None,
            "状态、类别等代码列旁有中文列（…_zh）；部门编码旁附部门名称；指标数值按指标精度（dim_indicators.value_decimals）"
            "四舍五入，比例列显示为百分比；完整精度的数据见只读数据库（docs/analysts.md）。",
            "Codes (status, category …) have a Chinese column beside them (…_zh); department names sit beside codes; "
            "indicator values are rounded to the indicator's precision (dim_indicators.value_decimals) and ratios shown as "
            "percentages; full precision is in the read-only database (docs/analysts.md).",
        ]
    )
    for mart, sheet_name in planned:
        sql, columns = export_select(con, mart, for_csv=False)
        _write_sheet(workbook, sheet_name, con.execute(sql), columns)
    tmp = temp_path(out_dir / "marts.xlsx")
    workbook.save(tmp)
    tmp.replace(out_dir / "marts.xlsx")


def read_export_csv(path: Path) -> list[dict]:
    """Read an exported CSV back with the neutralising apostrophes removed (for round trips)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        headers = [h.split(" / ")[-1] for h in next(reader)]
        return [dict(zip(headers, [unneutralise(v) for v in row], strict=True)) for row in reader]
