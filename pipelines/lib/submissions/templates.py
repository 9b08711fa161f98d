"""Submission templates a clerk can fill without asking: one XLSX per department and period.

With the warehouse (the published snapshot), a template lists exactly what the department owes
(marts.fct_submission_obligation_items: the items compliance counts and the portal shows, of the plan
covering the period), then anything overdue from earlier periods and values still awaiting an
explanation; beside each row, locked for reference, the baseline, target, unit, plausible change and
last accepted value as the marts hold them. Without a warehouse (a fresh clone) it lists the
department's catalog items of the plan covering the period (after the last plan: its unfinished projects).

Each data sheet has the fields government forms carry (填报人, 审核人, 联系电话, 填报日期) above its
header (readers skip rows above the header), data validation on the value columns, print set-up
(A4 landscape, fit to width, header row repeated) and is protected without a password so that only
the cells to fill are editable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

from ..plans.catalog import Catalog
from ..settings import today_local
from ..warehouse.connection import fetch_dicts
from .readers import HEADINGS_EN, HEADINGS_ZH, INDICATOR, PROGRESS
from .values import parse_period

INSTRUCTIONS = [
    "填写说明（请勿修改表头和工作表名称）",
    "1. “指标数据”表已列出本部门本期应报的全部指标（含逾期未报和待说明的项目）。在“数值”列填写数字，单位须与“单位”列一致。",
    "2. 年度统计期填“2025”，季度统计期填“2025Q2”（季度数据为年初至季末累计）。",
    "3. “完成上级下达任务”类指标请同时填写“下达目标”和“实际值”两行。",
    "4. 五年累计类指标填写当年新增数；增速类指标填写当年增速（%）。",
    "5. 灰色“（参考）”列是系统提供的参考信息（基期值、目标、上次已接收值、合理变动幅度），不需填写，报送时自动忽略。",
    "6. 与上次已接收值相比变动超过“合理变动幅度”、疑似单位或小数点错误、与上年数值完全相同的，须在“说明”列写明原因，否则该值暂不计入评估（核实性审核）。",
    "7. 标为“待说明”的行是已报送但尚未说明的数值：核实无误请在“说明”列写明原因后一并报送；有误请直接改正数值。",
    "8. 在“项目进度”表填写各里程碑的完成日期（未完成留空）、形象进度（0–100）和累计完成投资（万元）。",
    "9. 请填写表头上方的填报人、审核人、联系电话、填报日期。填好后保存为 .xlsx，报送至 raw/inbox/{department}/（或报送平台）。",
    "10. 年度数据截止次年3月31日，季度数据截止季度结束后第20天。本部门只能报送本部门负责的指标和项目。",
    "",
    "Instructions: the 指标数据 sheet lists everything the department owes for the period (and anything overdue or",
    "awaiting an explanation). Fill in 数值 (value); grey '(参考)' columns are for reference and ignored on upload.",
    "A value far from the last accepted one, a likely unit or decimal slip, or one identical to last year's needs a",
    "written reason in 说明 (explanation), or it does not count until explained. Fill in who filled, who reviewed, a",
    "phone number and the date above the header; save as .xlsx and submit it. Annual data are due by 31 March of",
    "the next year; quarterly data 20 days after the quarter.",
]
SIGN_OFF = [
    ("填报人 Filled by：", 2),
    ("审核人 Reviewed by：", 2),
    ("联系电话 Phone：", 2),
    ("填报日期 Date：", 2),
]
HEADER_ROW = 5
SPARE_ROWS = 20  # empty, editable rows for items a clerk must add (e.g. a correction of an earlier period)
INDICATOR_REFERENCE = [
    "状态（参考）",
    "截止日期（参考）",
    "基期值（参考）",
    "目标（参考）",
    "上次已接收值（参考）",
    "上次已接收统计期（参考）",
    "合理变动幅度（参考）",
]
PROGRESS_REFERENCE = [
    "状态（参考）",
    "截止日期（参考）",
    "计划日期（参考）",
    "实际完成（参考）",
    "上次形象进度（参考）",
]
STATUS_WORDS = {  # fct_submission_obligation_items.item_status, and its awaiting_explanation flag
    "not_due": "本期应报 due",
    "missing": "逾期未报 overdue",
    "awaiting_explanation": "待说明 awaiting explanation",
    "on_time": "已报送 received",
    "late": "已报送（逾期） received late",
}


def default_period() -> str:
    return str(today_local().year - 1)


@dataclass
class Row:
    cells: list  # the submission columns, in HEADINGS_ZH order
    reference: list  # the reference columns
    value_range: tuple[float | None, float | None] = (None, None)
    unit: str | None = None


@dataclass
class Listing:
    indicators: list[Row] = field(default_factory=list)
    progress: list[Row] = field(default_factory=list)
    due_date: date | None = None
    source: str = "warehouse"  # warehouse | catalog


def _period_due(label: str) -> date:
    parsed = parse_period(label).value
    if parsed.quarter is None:
        return date(parsed.year + 1, 3, 31)
    return parsed.end_date + timedelta(days=20)


def _period_start(label: str) -> date:
    parsed = parse_period(label).value
    return date(parsed.year, 1 if parsed.quarter is None else parsed.quarter * 3 - 2, 1)


def plans_for_period(catalog: Catalog, department: str, period: str) -> tuple[set[str], set[str]]:
    """(plans whose indicators are owed, plans whose projects are owed) for a department and period: the
    plan of the department's region covering the period's year (every plan covering it, should two ever
    do); after the last plan, that plan's unfinished projects are still reported."""
    parsed = parse_period(period).value
    region = catalog.departments.set_index("department_code").loc[department, "region_code"]
    regional = catalog.plans[catalog.plans["region_code"] == region]
    plans = regional[(regional["start_year"] <= parsed.year) & (regional["end_year"] >= parsed.year)]
    project_plans = (
        plans if len(plans) else regional[regional["end_year"] < parsed.year].nlargest(1, "end_year")
    )
    return set(plans["plan_id"]), set(project_plans["plan_id"])


def _status(item: dict) -> str:
    if item.get("awaiting_explanation"):
        return STATUS_WORDS["awaiting_explanation"]
    return STATUS_WORDS.get(item["item_status"], item["item_status"])


def _bound_text(row: dict) -> str:
    basis = row.get("max_change_basis")
    if basis == "points":
        return f"±{row['max_change']:g} 个百分点 points"
    if basis == "relative":
        return f"±{row['max_change']:g}%"
    return "—"


def _target_text(ind: dict) -> str:
    if ind["target_method"] == "rate":
        return f"年均 {ind['annual_growth_rate']:g}% a year"
    if ind["target_method"] == "superior_assigned":
        return "上级下达 assigned"
    if ind["target_value"] is None:
        return ind.get("target_text") or "—"
    return f"{ind['target_operator'] or ''}{ind['target_value']:g}（{ind['target_year']}）"


def _number(value: object) -> object:
    return None if value is None else float(value)


def listing_from_warehouse(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, department: str, period: str
) -> Listing:
    """What the department owes for the period, then what is overdue or awaits an explanation from earlier
    periods, from the marts (marts.fct_submission_obligation_items)."""
    out = Listing(due_date=_period_due(period))
    items = fetch_dicts(
        con,
        """select * from marts.fct_submission_obligation_items
           where department_code = ?
             and (period = ? or (period_end < ? and (item_status = 'missing' or awaiting_explanation)))
           order by submission_kind, case when period = ? then 0 else 1 end, item_code, period""",
        [department, period, _period_start(period), period],
    )
    covered = any(i["period"] == period for i in items)
    indicators = {
        (r["plan_id"], r["indicator_code"]): r
        for r in fetch_dicts(
            con, "select * from marts.dim_indicators where owner_department_code = ?", [department]
        )
    }
    last = {
        (r["plan_id"], r["indicator_code"]): r
        for r in fetch_dicts(
            con,
            """select plan_id, indicator_code, value, period from (
                   select *, row_number() over (partition by plan_id, indicator_code
                                                order by period_year desc, coalesce(period_quarter, 5) desc) as rn
                   from marts.fct_indicator_values
                   where department_code = ? and value_type = 'actual'
                     and review_state in ('accepted', 'explained') and period < ?) as v
               where rn = 1""",
            [department, period],
        )
    }
    pending = {
        (r["plan_id"], r["indicator_code"], r["period"]): r["value"]
        for r in fetch_dicts(
            con,
            """select plan_id, indicator_code, period, value from marts.fct_indicator_values
               where department_code = ? and value_type = 'actual' and review_state = 'pending_explanation'""",
            [department],
        )
    }
    if not covered:  # a period the marts do not list yet (not begun on their evaluation date)
        plan_ids, project_plan_ids = plans_for_period(catalog, department, period)
        items = _catalog_items(con, department, period, plan_ids, project_plan_ids) + [
            i for i in items if i["period"] != period
        ]
    milestones = _milestones(con, department)
    parsed = parse_period(period).value
    for item in items:
        key = (item["plan_id"], item["item_code"])
        status = _status(item)
        if item["submission_kind"] == "indicator_data":
            ind = indicators.get(key)
            if ind is None:
                continue
            previous = last.get(key, {})
            reference = [
                status,
                item["due_date"],
                _number(ind["baseline_value"]) if ind["baseline_value"] is not None else "—",
                _target_text(ind),
                _number(previous.get("value")) if previous else "—",
                previous.get("period", "—") if previous else "—",
                _bound_text(ind),
            ]
            value = pending.get((item["plan_id"], item["item_code"], item["period"]))
            if ind["is_superior_assigned"] and len(item["period"]) == 4:
                out.indicators.append(
                    Row(
                        [
                            ind["indicator_code"],
                            ind["name_zh"],
                            item["period"],
                            "下达目标",
                            None,
                            ind["unit"],
                            None,
                            None,
                        ],
                        reference,
                        (ind["value_min"], ind["value_max"]),
                        ind["unit"],
                    )
                )
            out.indicators.append(
                Row(
                    [
                        ind["indicator_code"],
                        ind["name_zh"],
                        item["period"],
                        "实际值",
                        value,
                        ind["unit"],
                        None,
                        None,
                    ],
                    reference,
                    (ind["value_min"], ind["value_max"]),
                    ind["unit"],
                )
            )
        else:
            report_date = (
                parse_period(item["period"]).value.end_date if item["period"] != period else parsed.end_date
            )
            for m in milestones.get(key, []):
                out.progress.append(
                    Row(
                        [
                            item["item_code"],
                            item["item_name_zh"],
                            m["milestone_name_zh"],
                            report_date,
                            None,
                            None,
                            None,
                            None,
                        ],
                        [
                            status,
                            item["due_date"],
                            m["planned_date"],
                            m["completed_on"] or "—",
                            m["percent"] or "—",
                        ],
                    )
                )
    return out


def _milestones(con, department: str) -> dict[tuple[str, str], list[dict]]:
    rows = fetch_dicts(
        con,
        """select m.plan_id, m.project_code, m.seq, m.milestone_name_zh, m.planned_date, m.completed_on,
                  p.percent_complete as percent
           from marts.fct_project_milestones m
           join marts.fct_project_status p on p.plan_id = m.plan_id and p.project_code = m.project_code
           where p.owner_department_code = ? order by m.plan_id, m.project_code, m.seq""",
        [department],
    )
    out: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        out.setdefault((r["plan_id"], r["project_code"]), []).append(r)
    return out


def _catalog_items(
    con, department: str, period: str, plan_ids: set[str], project_plan_ids: set[str]
) -> list[dict]:
    """Items of a period the marts do not cover yet (it had not begun on their evaluation date): the
    department's indicators of the period's frequency in the plan covering it, and its projects not
    completed per the marts."""
    parsed = parse_period(period).value
    due = _period_due(period)
    rows = fetch_dicts(
        con,
        """select i.plan_id, 'indicator_data' as submission_kind, i.indicator_code as item_code, i.name_zh as item_name_zh
           from marts.dim_indicators i
           where i.owner_department_code = ? and list_contains(?, i.plan_id)
             and (? or i.reporting_frequency = 'quarterly')
           union all
           select s.plan_id, 'project_progress', s.project_code, s.project_name_zh
           from marts.fct_project_status s
           where s.owner_department_code = ? and list_contains(?, s.plan_id)
             and not s.is_completed and s.planned_start <= ?""",
        [
            department,
            sorted(plan_ids),
            parsed.quarter is None,
            department,
            sorted(project_plan_ids),
            parsed.end_date,
        ],
    )
    if parsed.quarter is None:
        rows = [r for r in rows if r["submission_kind"] == "indicator_data"]
    return [{**r, "period": period, "due_date": due, "item_status": "not_due"} for r in rows]


def listing_from_catalog(catalog: Catalog, department: str, period: str) -> Listing:
    """Without a warehouse: the department's catalog items for the plans covering the period's year."""
    parsed = parse_period(period).value
    out = Listing(due_date=_period_due(period), source="catalog")
    plan_ids, project_plan_ids = plans_for_period(catalog, department, period)
    indicators = catalog.indicators[
        (catalog.indicators["owner_department_code"] == department)
        & catalog.indicators["plan_id"].isin(plan_ids)
    ]
    if parsed.quarter:
        indicators = indicators[indicators["reporting_frequency"] == "quarterly"]
    no_reference = ["本期应报 due", out.due_date, "—", "—", "—", "—", "—"]
    for ind in indicators.sort_values("code").itertuples():
        value_range = (
            None if ind.value_min != ind.value_min else ind.value_min,
            None if ind.value_max != ind.value_max else ind.value_max,
        )
        if ind.is_superior_assigned and not parsed.quarter:
            out.indicators.append(
                Row(
                    [ind.code, ind.name_zh, parsed.label, "下达目标", None, ind.unit, None, None],
                    no_reference,
                    value_range,
                    ind.unit,
                )
            )
        out.indicators.append(
            Row(
                [ind.code, ind.name_zh, parsed.label, "实际值", None, ind.unit, None, None],
                no_reference,
                value_range,
                ind.unit,
            )
        )
    if parsed.quarter:
        projects = catalog.projects[
            (catalog.projects["owner_department_code"] == department)
            & catalog.projects["plan_id"].isin(project_plan_ids)
            & (catalog.projects["planned_start"].astype(str) <= parsed.end_date.isoformat())
        ]
        milestones = catalog.milestones
        for p in projects.sort_values(["plan_id", "project_code"]).itertuples():
            rows = milestones[
                (milestones["plan_id"] == p.plan_id) & (milestones["project_code"] == p.project_code)
            ]
            for m in rows.sort_values("seq").itertuples():
                out.progress.append(
                    Row(
                        [p.project_code, p.name_zh, m.name_zh, parsed.end_date, None, None, None, None],
                        ["本期应报 due", out.due_date, m.planned_date, "—", "—"],
                    )
                )
    return out


def write_template(
    catalog: Catalog,
    department: str,
    period: str | None,
    out_dir: Path,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Path:
    """The department's template for a period; `con` (the published snapshot) gives what is owed and the references."""
    from openpyxl import Workbook

    period = period or default_period()
    parsed = parse_period(period).value
    if parsed is None:
        raise ValueError(f"period {period!r} is not like 2025 or 2025Q2")
    departments = catalog.departments.set_index("department_code")
    if department not in departments.index:
        raise ValueError(f"unknown department {department!r}")
    name_zh = departments.loc[department, "name_zh"]
    listing = (
        listing_from_warehouse(con, catalog, department, parsed.label)
        if con is not None
        else listing_from_catalog(catalog, department, parsed.label)
    )
    wb = Workbook()
    info = wb.active
    info.title = "填写说明"
    for line in INSTRUCTIONS:
        info.append([line.format(department=department)])
    info.append([])
    info.append(
        [
            f"部门 Department: {name_zh} ({department})  统计期 Period: {parsed.label}  截止 Due: {listing.due_date}"
        ]
    )
    plan_ids, project_plan_ids = plans_for_period(catalog, department, parsed.label)
    for plan in catalog.plans[catalog.plans["plan_id"].isin(plan_ids | project_plan_ids)].itertuples():
        info.append(
            [
                f"规划 Plan: {plan.plan_short_zh} {plan.plan_id} ({plan.start_year}–{plan.end_year}) — 本期请使用该规划目录中的"
                f"编号（同一编号在不同规划中可能指不同指标） · use this plan's codes (a code may mean another indicator in "
                f"another plan)"
            ]
        )
    if listing.source == "catalog":
        info.append(
            [
                "（未连接数据仓库：参考列为空。运行 make run 后重新生成可得到参考值。 · No warehouse yet: run make run and generate again for the reference columns.）"
            ]
        )
    info.column_dimensions["A"].width = 120

    title = f"{name_zh} · {parsed.label}"
    _data_sheet(
        wb.create_sheet("指标数据"),
        f"指标数据报送表 Indicator data — {title}（截止 due {listing.due_date}）",
        HEADINGS_ZH[INDICATOR],
        INDICATOR_REFERENCE,
        listing.indicators,
        widths=[10, 34, 10, 10, 14, 8, 24, 30, 16, 12, 12, 18, 14, 14, 16],
        kind=INDICATOR,
    )
    _data_sheet(
        wb.create_sheet("项目进度"),
        f"项目进度报送表 Project progress — {title}（截止 due {listing.due_date}）",
        HEADINGS_ZH[PROGRESS],
        PROGRESS_REFERENCE,
        listing.progress,
        widths=[10, 38, 12, 12, 12, 10, 18, 24, 16, 12, 12, 12, 12],
        kind=PROGRESS,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{department}_{parsed.label}_报送模板.xlsx"
    wb.save(path)
    return path


def _data_sheet(
    ws, title: str, header: list[str], reference: list[str], rows: list[Row], widths, kind: str
) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    ref_fill = PatternFill("solid", fgColor="EDEDED")
    input_fill = PatternFill("solid", fgColor="FFF9E6")
    thin = Side(style="thin", color="BBBBBB")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    unlocked = Protection(locked=False)
    columns = header + reference
    ws.cell(1, 1, title).font = Font(bold=True, size=13)
    ws.cell(
        2,
        1,
        "灰色“（参考）”列仅供参考，报送时忽略 · grey (参考) columns are for reference and ignored on upload",
    )
    col = 1
    for label, span in SIGN_OFF:  # the fields government forms carry, above the header (readers skip them)
        ws.cell(3, col, label).font = bold
        cell = ws.cell(3, col + 1)
        cell.protection = unlocked
        cell.fill = input_fill
        cell.border = box
        col += span
    for index, heading in enumerate(columns, start=1):
        cell = ws.cell(HEADER_ROW, index, heading)
        cell.font = bold
        cell.fill = ref_fill if index > len(header) else head_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.border = box
        ws.column_dimensions[get_column_letter(index)].width = (
            widths[index - 1] if index <= len(widths) else 14
        )
    editable = (
        {"value_type", "value", "unit", "note", "explanation"}
        if kind == INDICATOR
        else {"completed_on", "percent_complete", "investment_to_date", "note"}
    )
    canonical = list(HEADINGS_EN[kind])
    first = HEADER_ROW + 1
    for offset, row in enumerate(rows):
        r = first + offset
        for index, value in enumerate(row.cells, start=1):
            cell = ws.cell(r, index, value)
            cell.border = box
            if canonical[index - 1] in editable:
                cell.protection = unlocked
                cell.fill = input_fill
        for index, value in enumerate(row.reference, start=len(header) + 1):
            cell = ws.cell(r, index, value)
            cell.fill = ref_fill
            cell.border = box
    last = first + len(rows) + SPARE_ROWS - 1
    for r in range(first + len(rows), last + 1):  # spare rows: every submission column editable
        for index in range(1, len(header) + 1):
            cell = ws.cell(r, index)
            cell.protection = unlocked
            cell.border = box
    for r in range(first, last + 1):
        for index in range(1, len(columns) + 1):
            if isinstance(ws.cell(r, index).value, date):
                ws.cell(r, index).number_format = "yyyy-mm-dd"
    _validations(ws, kind, rows, first, last, canonical, DataValidation)
    ws.freeze_panes = ws.cell(first, 3)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddHeader.center.text = title
    ws.oddFooter.center.text = "第 &P 页，共 &N 页 · page &P of &N"
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(columns))}{last}"
    # protected without a password: only the cells to fill are editable; rows can be added and formatted
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.insertRows = False
    ws.protection.autoFilter = False
    ws.protection.sort = False


def _validations(
    ws, kind: str, rows: list[Row], first: int, last: int, canonical: list[str], DataValidation
) -> None:
    from openpyxl.utils import get_column_letter

    letter = {col: get_column_letter(i) for i, col in enumerate(canonical, start=1)}
    if kind == INDICATOR:
        types = DataValidation(type="list", formula1='"实际值,下达目标"', allow_blank=True)
        types.error = "请选择“实际值”或“下达目标”。 Choose 实际值 (actual) or 下达目标 (assigned target)."
        types.showErrorMessage = True
        ws.add_data_validation(types)
        types.add(f"{letter['value_type']}{first}:{letter['value_type']}{last}")
        by_range: dict[tuple, list[int]] = {}
        by_unit: dict[str, list[int]] = {}
        for offset, row in enumerate(rows):
            by_range.setdefault(row.value_range, []).append(first + offset)
            if row.unit:
                by_unit.setdefault(row.unit, []).append(first + offset)
        spare = list(range(first + len(rows), last + 1))
        by_range.setdefault((None, None), []).extend(spare)
        for (lo, hi), numbers in by_range.items():
            low = -1e15 if lo is None else lo
            high = 1e15 if hi is None else hi
            check = DataValidation(
                type="decimal",
                operator="between",
                formula1=f"{low:g}",
                formula2=f"{high:g}",
                allow_blank=True,
            )
            check.showErrorMessage = True
            check.errorTitle = "数值 value"
            check.error = (
                f"请填写 {low:g} 到 {high:g} 之间的数字（不带单位）。 Enter a number between {low:g} and {high:g}, without a unit."
                if lo is not None or hi is not None
                else "请填写数字（不带单位）。 Enter a number, without a unit."
            )
            ws.add_data_validation(check)
            for n in numbers:
                check.add(f"{letter['value']}{n}")
        for unit, numbers in by_unit.items():
            only = DataValidation(type="list", formula1=f'"{unit}"', allow_blank=True)
            only.showErrorMessage = True
            only.error = f"单位须为“{unit}”，请换算后填写。 The unit must be {unit}: convert the value."
            ws.add_data_validation(only)
            for n in numbers:
                only.add(f"{letter['unit']}{n}")
    else:
        percent = DataValidation(
            type="decimal", operator="between", formula1="0", formula2="100", allow_blank=True
        )
        percent.error = "形象进度为 0–100 的数字。 Progress is a number from 0 to 100."
        invest = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
        invest.error = "累计完成投资（万元）为不小于 0 的数字。 Investment to date (万元) is a number ≥ 0."
        dates = DataValidation(
            type="date", operator="greaterThan", formula1="36526", allow_blank=True
        )  # 2000-01-01
        dates.error = "请填写日期，如 2025-03-05。 Enter a date such as 2025-03-05."
        for check, col in (
            (percent, "percent_complete"),
            (invest, "investment_to_date"),
            (dates, "completed_on"),
            (dates, "report_date"),
        ):
            check.showErrorMessage = True
            if check not in ws.data_validations.dataValidation:
                ws.add_data_validation(check)
            check.add(f"{letter[col]}{first}:{letter[col]}{last}")
