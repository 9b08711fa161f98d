"""Submission templates: one XLSX per department and period, its own indicators and projects pre-listed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..plans.catalog import Catalog
from ..settings import today_local
from .readers import HEADINGS_ZH, INDICATOR, PROGRESS
from .values import parse_period

INSTRUCTIONS = [
    "填写说明（请勿修改表头和工作表名称）",
    "1. 在“指标数据”表的“数值”列填写数字；可带千分位逗号或单位，单位须与“单位”列一致。",
    "2. 年度统计期填“2025”，季度统计期填“2025Q2”（季度数据为年初至季末累计）。",
    "3. “完成上级下达任务”类指标请同时填写“下达目标”和“实际值”两行。",
    "4. 五年累计类指标填写当年新增数；增速类指标填写当年增速（%）。",
    "5. 在“项目进度”表填写各里程碑的完成日期（未完成留空）、形象进度（0–100）和累计完成投资（万元）。",
    "6. 填好后保存为 .xlsx，放入 raw/inbox/{department}/ 文件夹。年度数据截止次年3月31日，季度数据截止季度结束后第20天。",
    "7. 本部门只能报送本部门负责的指标和项目；其他部门的编号会导致整个文件被拒收。",
    "",
    "Instructions: fill in 数值 (value) for each row, keep the headings and sheet names, save as .xlsx and put the file",
    "in raw/inbox/{department}/. Annual data are due by 31 March of the next year; quarterly data 20 days after the quarter.",
]


def default_period() -> str:
    return str(today_local().year - 1)


def write_template(catalog: Catalog, department: str, period: str | None, out_dir: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    period = period or default_period()
    parsed = parse_period(period).value
    if parsed is None:
        raise ValueError(f"period {period!r} is not like 2025 or 2025Q2")
    departments = catalog.departments.set_index("department_code")
    if department not in departments.index:
        raise ValueError(f"unknown department {department!r}")
    region = departments.loc[department, "region_code"]
    # a period belongs to the plan of the region covering its year (every plan covering it, should two
    # ever do); after the last plan, its unfinished projects are still reported
    regional = catalog.plans[catalog.plans["region_code"] == region]
    plans = regional[(regional["start_year"] <= parsed.year) & (regional["end_year"] >= parsed.year)]
    project_plans = (
        plans if len(plans) else regional[regional["end_year"] < parsed.year].nlargest(1, "end_year")
    )
    plan_ids = set(plans["plan_id"])
    indicators = catalog.indicators[
        (catalog.indicators["owner_department_code"] == department)
        & catalog.indicators["plan_id"].isin(plan_ids)
    ]
    if parsed.quarter:
        indicators = indicators[indicators["reporting_frequency"] == "quarterly"]
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")

    wb = Workbook()
    info = wb.active
    info.title = "填写说明"
    for line in INSTRUCTIONS:
        info.append([line.format(department=department)])
    info.append([])
    info.append(
        [
            f"部门 Department: {departments.loc[department, 'name_zh']} ({department})  统计期 Period: {parsed.label}"
        ]
    )
    for plan in pd.concat([plans, project_plans]).drop_duplicates("plan_id").itertuples():
        info.append(
            [
                f"规划 Plan: {plan.plan_short_zh} {plan.plan_id} ({plan.start_year}–{plan.end_year}) — 本期请使用该规划目录中的"
                f"编号（同一编号在不同规划中可能指不同指标） · use this plan's codes (a code may mean another indicator in "
                f"another plan)"
            ]
        )
    info.column_dimensions["A"].width = 120

    sheet = wb.create_sheet("指标数据")
    header = HEADINGS_ZH[INDICATOR]
    sheet.append(header)
    for ind in indicators.sort_values("code").itertuples():
        if ind.is_superior_assigned and not parsed.quarter:
            sheet.append(
                [ind.code, ind.name_zh, parsed.label, "下达目标", None, ind.unit, "上级下达的本年度目标"]
            )
        sheet.append([ind.code, ind.name_zh, parsed.label, "实际值", None, ind.unit, None])
    value_types = DataValidation(type="list", formula1='"实际值,下达目标"', allow_blank=True)
    sheet.add_data_validation(value_types)
    value_types.add(f"D2:D{max(sheet.max_row, 2) + 200}")
    _style(sheet, header, bold, fill, [10, 36, 10, 10, 14, 10, 30, 30])

    progress = wb.create_sheet("项目进度")
    header = HEADINGS_ZH[PROGRESS]
    progress.append(header)
    report_date = parsed.end_date
    projects = catalog.projects[
        (catalog.projects["owner_department_code"] == department)
        & catalog.projects["plan_id"].isin(plan_ids | set(project_plans["plan_id"]))
    ]
    milestones = catalog.milestones
    for p in projects.sort_values("project_code").itertuples():
        for m in (
            milestones[(milestones["plan_id"] == p.plan_id) & (milestones["project_code"] == p.project_code)]
            .sort_values("seq")
            .itertuples()
        ):
            progress.append(
                [
                    p.project_code,
                    p.name_zh,
                    m.name_zh,
                    report_date,
                    None,
                    None,
                    None,
                    f"计划 {m.planned_date}",
                ]
            )
    for row in progress.iter_rows(min_row=2, min_col=4, max_col=5):
        for cell in row:
            cell.number_format = "yyyy-mm-dd"
    _style(progress, header, bold, fill, [10, 40, 12, 12, 12, 10, 18, 24])

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{department}_{parsed.label}_报送模板.xlsx"
    wb.save(path)
    return path


def _style(sheet, header, bold, fill, widths) -> None:
    from openpyxl.utils import get_column_letter

    for index, _ in enumerate(header, start=1):
        cell = sheet.cell(1, index)
        cell.font = bold
        cell.fill = fill
        sheet.column_dimensions[get_column_letter(index)].width = widths[index - 1]
    sheet.freeze_panes = "A2"
