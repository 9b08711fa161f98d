"""`planwh plan check`: is a catalog fit to be used? One line per problem, naming file, row, item and column.

Checked (for the seeds, or a draft folder together with the seeds it would join):
- codes unique per plan (indicator and target codes share one namespace), plans and departments unique;
- every plan row sane (years in order, no two plans of one region covering the same year);
- units known (the catalog_units seed), operators valid (blank only for growth-rate and assigned targets), the
  vocabularies (attribute, basis, direction, frequency, milestone codes, date sources), numbers numeric;
- years inside the plan (targets in start..end, baselines before the start, milestone dates in order);
- every item has one owner, an existing department of the plan's region;
- every quote (and baseline quote) found verbatim in the plan's source text (whitespace ignored);
- projects carried over from an earlier plan point at a project of an earlier plan of the same region.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from . import review_note
from .catalog import SEEDS
from .outline import Outline, squash

UNITS_SEED = "catalog_units"  # the units a catalog may use, with their English names (one list: the seed)
OPERATORS = {">=", ">", "<=", "<", "="}
VOCABULARY = {
    "attribute": {"expected", "binding"},
    "target_basis": {"value", "growth_rate", "superior_assigned"},
    "direction": {"higher_is_better", "lower_is_better"},
    "reporting_frequency": {"annual", "quarterly"},
    "date_source": {"plan", "assumed", "mixed"},
}
BOOLEANS = {"true", "false"}
REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None  # CSV line (the header is line 1)
    item: str
    column: str
    message: str  # English
    message_zh: str = ""  # printed first, as everywhere in the command line: 中文 · English

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        item = f" [{self.item}]" if self.item else ""
        column = f" {self.column}:" if self.column else ""
        text = review_note(self.message_zh, self.message) if self.message_zh else self.message
        return f"{where}{item}{column} {text}"


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for name in (*SEEDS, UNITS_SEED):
        path = folder / f"{name}.csv"
        if path.exists():
            out[name] = pd.read_csv(path, dtype=str, keep_default_na=False)
    return out


def known_units(tables: dict[str, pd.DataFrame]) -> set[str]:
    """The units of the seeds' catalog_units table (the shipped seed when the tables have none)."""
    frame = tables.get(UNITS_SEED)
    if frame is None:
        frame = pd.read_csv(
            REPO / "dbt_project" / "seeds" / f"{UNITS_SEED}.csv", dtype=str, keep_default_na=False
        )
    return set(frame["unit"])


def _number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


class Checker:
    def __init__(
        self,
        tables: dict[str, pd.DataFrame],
        only_plans: set[str] | None = None,
        sources: dict | None = None,
        offsets: dict[str, int] | None = None,
        folder: str = "",
    ):
        self.tables = tables
        self.only = only_plans
        self.problems: list[Problem] = []
        self.sources: dict[str, Outline | None] = dict(sources or {})
        self.offsets = offsets or {}  # rows of a combined table that come before the checked file's rows
        self.folder = folder
        self.known_units = known_units(tables)

    def add(self, file: str, index: int | None, item: str, column: str, message: str, zh: str) -> None:
        line = None if index is None else index - self.offsets.get(file, 0) + 2
        self.problems.append(Problem(f"{self.folder}{file}.csv", line, item, column, message, zh))

    def rows(self, name: str):
        frame = self.tables.get(name)
        if frame is None:
            return []
        return [
            (index, row)
            for index, row in enumerate(frame.to_dict("records"))
            if self.only is None or row.get("plan_id") in self.only or name == "catalog_departments"
        ]

    # ------------------------------------------------------------------------------------------ run

    def run(self) -> list[Problem]:
        for name in (
            "catalog_plans",
            "catalog_departments",
            "catalog_main_indicators",
            "catalog_secondary_targets",
            "catalog_projects",
            "catalog_project_milestones",
        ):
            if name not in self.tables:
                self.add(name, None, "", "", "file missing", "文件缺失")
        if any(p.message == "file missing" for p in self.problems):
            return self.problems
        self.plans = {r["plan_id"]: r for r in self.tables["catalog_plans"].to_dict("records")}
        self.departments = {
            r["department_code"]: r for r in self.tables["catalog_departments"].to_dict("records")
        }
        self.check_plans()
        self.check_departments()
        self.check_indicators()
        self.check_projects()
        self.check_milestones()
        return self.problems

    def source(self, plan_id: str) -> Outline | None:
        if plan_id not in self.sources:
            path_text = self.plans.get(plan_id, {}).get("source_document", "")
            path = Path(path_text) if path_text else None
            if path is not None and not path.is_absolute():
                path = REPO / path
            self.sources[plan_id] = Outline.read(path) if path is not None and path.exists() else None
        return self.sources[plan_id]

    def check_plans(self) -> None:
        seen: set[str] = set()
        spans: list[tuple[str, str, int, int]] = []
        for index, row in self.rows("catalog_plans"):
            pid = row["plan_id"]
            if not pid:
                self.add("catalog_plans", index, "", "plan_id", "blank", "空白")
            elif pid in seen:
                self.add("catalog_plans", index, pid, "plan_id", "duplicate plan", "规划重复")
            seen.add(pid)
            if not row.get("region_code"):
                self.add(
                    "catalog_plans",
                    index,
                    pid,
                    "region_code",
                    "blank: the region (行政区划代码) the plan covers",
                    "空白：需填写规划覆盖地区的行政区划代码",
                )
            years = {c: _number(row.get(c, "")) for c in ("baseline_year", "start_year", "end_year")}
            for column, value in years.items():
                if value is None or not float(value).is_integer():
                    self.add(
                        "catalog_plans",
                        index,
                        pid,
                        column,
                        f"{row.get(column)!r} is not a year",
                        f"{row.get(column)!r} 不是年份",
                    )
            if None not in years.values():
                if not years["baseline_year"] < years["start_year"] <= years["end_year"]:
                    self.add(
                        "catalog_plans",
                        index,
                        pid,
                        "start_year",
                        "years out of order: baseline_year < start_year <= end_year expected",
                        "年份顺序有误：应为 baseline_year（基期）< start_year（起始年）≤ end_year（终止年）",
                    )
                spans.append(
                    (pid, row.get("region_code", ""), int(years["start_year"]), int(years["end_year"]))
                )
            source = row.get("source_document", "")
            if not source:
                self.add(
                    "catalog_plans",
                    index,
                    pid,
                    "source_document",
                    "blank: the outline's text, to check the quotes",
                    "空白：需填写纲要文本的位置，用于核对原文引用",
                )
            elif self.source(pid) is None:
                self.add(
                    "catalog_plans",
                    index,
                    pid,
                    "source_document",
                    f"{source} not found: quotes cannot be checked",
                    f"找不到 {source}：无法核对原文引用",
                )
        every = [
            (
                r["plan_id"],
                r["region_code"],
                int(_number(r["start_year"]) or 0),
                int(_number(r["end_year"]) or 0),
            )
            for r in self.tables["catalog_plans"].to_dict("records")
        ]
        for pid, region, start, end in spans:
            for other, other_region, other_start, other_end in every:
                if other != pid and other_region == region and start <= other_end and other_start <= end:
                    self.add(
                        "catalog_plans",
                        None,
                        pid,
                        "start_year",
                        f"{start}–{end} overlaps {other} ({other_start}–{other_end}) of the same region: a period "
                        "must belong to one plan",
                        f"{start}–{end} 与同一地区的 {other}（{other_start}–{other_end}）重叠：每个统计期只能属于一个规划",
                    )

    def check_departments(self) -> None:
        seen: set[str] = set()
        for index, row in self.rows("catalog_departments"):
            code = row["department_code"]
            if not code:
                self.add("catalog_departments", index, "", "department_code", "blank", "空白")
            elif code in seen:
                self.add(
                    "catalog_departments", index, code, "department_code", "duplicate department", "部门重复"
                )
            seen.add(code)
            if code and row.get("region_code") and not code.startswith(row["region_code"] + "_"):
                self.add(
                    "catalog_departments",
                    index,
                    code,
                    "department_code",
                    f"should start with its region code {row['region_code']}_ (codes are unique across plans)",
                    f"应以所属地区代码 {row['region_code']}_ 开头（部门编码在各规划间唯一）",
                )

    def _plan(self, name: str, index: int, row: dict, item: str) -> dict | None:
        plan = self.plans.get(row.get("plan_id", ""))
        if plan is None:
            self.add(
                name,
                index,
                item,
                "plan_id",
                f"{row.get('plan_id')!r} is not in catalog_plans",
                f"{row.get('plan_id')!r} 不在 catalog_plans 中",
            )
        return plan

    def _owner(self, name: str, index: int, row: dict, item: str, plan: dict | None) -> None:
        owner = row.get("owner_department_code", "")
        if not owner:
            self.add(
                name,
                index,
                item,
                "owner_department_code",
                "blank: every item needs exactly one owner (a department_code of catalog_departments)",
                "空白：每个事项需要且只能有一个责任部门（catalog_departments 中的 department_code）",
            )
        elif owner not in self.departments:
            self.add(
                name,
                index,
                item,
                "owner_department_code",
                f"{owner} is not in catalog_departments",
                f"{owner} 不在 catalog_departments 中",
            )
        elif plan and self.departments[owner].get("region_code") != plan.get("region_code"):
            self.add(
                name,
                index,
                item,
                "owner_department_code",
                f"{owner} belongs to region {self.departments[owner].get('region_code')}, the plan to {plan.get('region_code')}",
                f"{owner} 属于地区 {self.departments[owner].get('region_code')}，规划属于地区 {plan.get('region_code')}",
            )

    def _quote(self, name: str, index: int, row: dict, item: str, column: str = "quote") -> None:
        quote = row.get(column, "")
        if not quote:
            if column == "quote":
                self.add(
                    name,
                    index,
                    item,
                    column,
                    "blank: the plan's exact words are needed",
                    "空白：需填写规划原文",
                )
            return
        source = self.source(row.get("plan_id", ""))
        if source is not None and squash(quote) not in source.squashed:
            self.add(
                name,
                index,
                item,
                column,
                f"not found verbatim in the source text: {quote[:40]}",
                f"纲要文本中找不到这段原文：{quote[:40]}",
            )

    def _vocab(self, name: str, index: int, row: dict, item: str, column: str) -> None:
        value = row.get(column, "")
        if value not in VOCABULARY[column]:
            self.add(
                name,
                index,
                item,
                column,
                f"{value!r} is not one of {', '.join(sorted(VOCABULARY[column]))}",
                f"{value!r} 不是以下取值之一：{', '.join(sorted(VOCABULARY[column]))}",
            )

    def _bool(self, name: str, index: int, row: dict, item: str, column: str) -> None:
        if row.get(column, "") not in BOOLEANS:
            self.add(
                name,
                index,
                item,
                column,
                f"{row.get(column)!r} is not true or false",
                f"{row.get(column)!r} 不是 true 或 false",
            )

    def _unit(self, name: str, index: int, row: dict, item: str) -> None:
        unit = row.get("unit", "")
        if unit not in self.known_units:
            self.add(
                name,
                index,
                item,
                "unit",
                f"{unit!r} is not a known unit: use one listed in dbt_project/seeds/{UNITS_SEED}.csv, or add it "
                "there with its English name"
                if unit
                else "blank",
                f"{unit!r} 不是已知单位：请使用 dbt_project/seeds/{UNITS_SEED}.csv 中列出的单位，或在其中添加该单位及其英文名"
                if unit
                else "空白",
            )

    def _range(self, name: str, index: int, row: dict, item: str) -> None:
        low, high = _number(row.get("value_min", "")), _number(row.get("value_max", ""))
        for column in ("value_min", "value_max"):
            if row.get(column, "") and _number(row[column]) is None:
                self.add(
                    name, index, item, column, f"{row[column]!r} is not a number", f"{row[column]!r} 不是数字"
                )
        if low is not None and high is not None and low > high:
            self.add(
                name,
                index,
                item,
                "value_min",
                f"{low:g} is above value_max {high:g}",
                f"{low:g} 大于 value_max {high:g}",
            )
        for column in ("baseline_value", "target_value"):
            value = _number(row.get(column, ""))
            if value is not None and (
                (low is not None and value < low) or (high is not None and value > high)
            ):
                self.add(
                    name,
                    index,
                    item,
                    column,
                    f"{value:g} is outside value_min..value_max",
                    f"{value:g} 超出 value_min..value_max 的范围",
                )

    def check_indicators(self) -> None:
        codes: dict[tuple[str, str], str] = {}
        for name, key in (
            ("catalog_main_indicators", "indicator_code"),
            ("catalog_secondary_targets", "target_code"),
        ):
            for index, row in self.rows(name):
                code = row.get(key, "")
                item = f"{row.get('plan_id')} {code}"
                plan = self._plan(name, index, row, item)
                if not code:
                    self.add(name, index, item, key, "blank", "空白")
                elif (row.get("plan_id"), code) in codes:
                    self.add(
                        name,
                        index,
                        item,
                        key,
                        f"duplicate in this plan (also in {codes[(row.get('plan_id'), code)]})",
                        f"本规划内重复（另见 {codes[(row.get('plan_id'), code)]}）",
                    )
                else:
                    codes[(row.get("plan_id"), code)] = f"{name}.csv"
                self._owner(name, index, row, item, plan)
                self._unit(name, index, row, item)
                self._vocab(name, index, row, item, "direction")
                self._bool(name, index, row, item, "is_cumulative")
                self._range(name, index, row, item)
                basis = row.get("target_basis", "")
                operator = row.get("target_operator", "")
                free = name == "catalog_main_indicators" and basis in ("growth_rate", "superior_assigned")
                if operator not in OPERATORS and not (free and operator == ""):
                    self.add(
                        name,
                        index,
                        item,
                        "target_operator",
                        f"{operator!r} is not one of >=, >, <=, <, ="
                        + (" (blank only for growth-rate and assigned targets)" if not operator else ""),
                        f"{operator!r} 不是 >=、>、<=、<、= 之一"
                        + ("（只有增速类和上级下达类目标可以留空）" if not operator else ""),
                    )
                direction = row.get("direction", "")
                if (operator in (">", ">=") and direction == "lower_is_better") or (
                    operator in ("<", "<=") and direction == "higher_is_better"
                ):
                    self.add(
                        name,
                        index,
                        item,
                        "direction",
                        f"{direction!r} contradicts target_operator {operator!r} (the verdict uses the operator, "
                        "progress and shortfalls the direction): set direction to "
                        f"{'lower_is_better' if operator.startswith('<') else 'higher_is_better'} or fix the operator",
                        f"{direction!r} 与 target_operator {operator!r} 矛盾（达标与否看运算符，进度和差距看方向）：请把 "
                        f"direction 改为 {'lower_is_better' if operator.startswith('<') else 'higher_is_better'}，或修改运算符",
                    )
                target = row.get("target_value", "")
                if not free and _number(target) is None:
                    self.add(
                        name,
                        index,
                        item,
                        "target_value",
                        f"{target!r}: a number is needed" if target else "blank: a number is needed",
                        f"{target!r}：需要填写数字" if target else "空白：需要填写数字",
                    )
                if plan:
                    start, end = int(_number(plan["start_year"]) or 0), int(_number(plan["end_year"]) or 0)
                    year = _number(row.get("target_year", ""))
                    if year is None or not start <= year <= end:
                        self.add(
                            name,
                            index,
                            item,
                            "target_year",
                            f"{row.get('target_year')!r} is not a year of the plan ({start}–{end})",
                            f"{row.get('target_year')!r} 不在规划年份内（{start}–{end}）",
                        )
                    base_year = row.get("baseline_year", "")
                    if base_year and (_number(base_year) is None or _number(base_year) >= start):
                        self.add(
                            name,
                            index,
                            item,
                            "baseline_year",
                            f"{base_year!r}: a baseline must come before the plan's first year {start}",
                            f"{base_year!r}：基期年份应早于规划起始年 {start}",
                        )
                if name == "catalog_main_indicators":
                    self._vocab(name, index, row, item, "attribute")
                    self._vocab(name, index, row, item, "target_basis")
                    self._vocab(name, index, row, item, "reporting_frequency")
                    for column in ("is_superior_assigned", "is_baseline_estimate"):
                        self._bool(name, index, row, item, column)
                    if row.get("attribute_zh") and {"预期性": "expected", "约束性": "binding"}.get(
                        row["attribute_zh"]
                    ) != row.get("attribute"):
                        self.add(
                            name,
                            index,
                            item,
                            "attribute",
                            f"{row.get('attribute')!r} disagrees with attribute_zh {row['attribute_zh']}",
                            f"{row.get('attribute')!r} 与 attribute_zh {row['attribute_zh']} 不一致",
                        )
                    if basis == "growth_rate" and _number(row.get("annual_growth_rate", "")) is None:
                        self.add(
                            name,
                            index,
                            item,
                            "annual_growth_rate",
                            "blank: a growth-rate target needs the rate",
                            "空白：增速类目标需要填写年均增速",
                        )
                else:
                    if row.get("target_basis") not in ("level", "annual"):
                        self.add(
                            name,
                            index,
                            item,
                            "target_basis",
                            f"{row.get('target_basis')!r} is not one of annual, level",
                            f"{row.get('target_basis')!r} 不是 annual、level 之一",
                        )
                    self._quote(name, index, row, item)
                    self._quote(name, index, row, item, "baseline_quote")

    def check_projects(self) -> None:
        seen: set[tuple[str, str]] = set()
        all_projects = {
            (r["plan_id"], r["project_code"]) for r in self.tables["catalog_projects"].to_dict("records")
        }
        self._all_projects = all_projects
        self._project_rows = {
            (r["plan_id"], r["project_code"]): r for r in self.tables["catalog_projects"].to_dict("records")
        }
        self.project_dates: dict[tuple[str, str], tuple[date | None, date | None]] = {}
        milestones = self.tables["catalog_project_milestones"]
        with_milestones = set(zip(milestones["plan_id"], milestones["project_code"], strict=True))
        for index, row in self.rows("catalog_projects"):
            key = (row["plan_id"], row["project_code"])
            item = " ".join(key)
            plan = self._plan("catalog_projects", index, row, item)
            if not row["project_code"]:
                self.add("catalog_projects", index, item, "project_code", "blank", "空白")
            elif key in seen:
                self.add(
                    "catalog_projects", index, item, "project_code", "duplicate in this plan", "本规划内重复"
                )
            seen.add(key)
            self._owner("catalog_projects", index, row, item, plan)
            self._quote("catalog_projects", index, row, item)
            self._vocab("catalog_projects", index, row, item, "date_source")
            start, end = _date(row.get("planned_start", "")), _date(row.get("planned_end", ""))
            for column, value in (("planned_start", start), ("planned_end", end)):
                if value is None:
                    self.add(
                        "catalog_projects",
                        index,
                        item,
                        column,
                        f"{row.get(column)!r} is not a date (YYYY-MM-DD)",
                        f"{row.get(column)!r} 不是日期（YYYY-MM-DD）",
                    )
            if start and end and start > end:
                self.add(
                    "catalog_projects",
                    index,
                    item,
                    "planned_end",
                    "before planned_start",
                    "早于 planned_start",
                )
            self.project_dates[key] = (start, end)
            if row.get("quantity_target") and _number(row["quantity_target"]) is None:
                self.add(
                    "catalog_projects",
                    index,
                    item,
                    "quantity_target",
                    f"{row['quantity_target']!r} is not a number",
                    f"{row['quantity_target']!r} 不是数字",
                )
            if row.get("quantity_target") and row.get("quantity_unit", "") not in self.known_units:
                self.add(
                    "catalog_projects",
                    index,
                    item,
                    "quantity_unit",
                    f"{row.get('quantity_unit')!r} is not a known unit",
                    f"{row.get('quantity_unit')!r} 不是已知单位（见 dbt_project/seeds/{UNITS_SEED}.csv）",
                )
            if key not in with_milestones:
                self.add(
                    "catalog_projects",
                    index,
                    item,
                    "",
                    "no milestones in catalog_project_milestones",
                    "catalog_project_milestones 中没有该项目的里程碑",
                )
            self._continues(index, row, item, plan, all_projects)
            self._code_reuse(index, row, item, plan)

    def _continues(self, index: int, row: dict, item: str, plan: dict | None, all_projects: set) -> None:
        earlier_plan, earlier_code = row.get("continues_plan_id", ""), row.get("continues_project_code", "")
        if not earlier_plan and not earlier_code:
            return
        if not (earlier_plan and earlier_code):
            self.add(
                "catalog_projects",
                index,
                item,
                "continues_project_code",
                "continues_plan_id and continues_project_code go together",
                "continues_plan_id 与 continues_project_code 须同时填写",
            )
            return
        other = self.plans.get(earlier_plan)
        if other is None or (earlier_plan, earlier_code) not in all_projects:
            self.add(
                "catalog_projects",
                index,
                item,
                "continues_project_code",
                f"{earlier_plan} {earlier_code} is not a project of the catalog",
                f"{earlier_plan} {earlier_code} 不是目录中的项目",
            )
        elif plan and (
            other.get("region_code") != plan.get("region_code")
            or _number(other["end_year"]) >= _number(plan["start_year"])
        ):
            self.add(
                "catalog_projects",
                index,
                item,
                "continues_plan_id",
                f"{earlier_plan} is not an earlier plan of the same region",
                f"{earlier_plan} 不是同一地区的上一个规划",
            )

    def _code_reuse(self, index: int, row: dict, item: str, plan: dict | None) -> None:
        """A project code of another plan of the region names that project: reports are resolved by
        code and date, so two plans of a region share a code only for a project the later one carries
        over. Checked from both sides: a plan added before its successor's catalog (a district that
        enters its earlier plan afterwards) must not take a code the later plan uses for another project."""
        if plan is None:
            return
        code = row["project_code"]
        for other_id, other in self.plans.items():
            if other_id == row["plan_id"] or other.get("region_code") != plan.get("region_code"):
                continue
            other_row = self._project_rows.get((other_id, code))
            if other_row is None:
                continue
            later = (_number(other["start_year"]) or 0) > (_number(plan["start_year"]) or 0)
            if not later:
                carried = (
                    row.get("continues_plan_id") == other_id and row.get("continues_project_code") == code
                )
                if not carried:
                    self.add(
                        "catalog_projects",
                        index,
                        item,
                        "project_code",
                        f"{code} is already a project of {other_id}: use a new code, or set "
                        f"continues_plan_id={other_id} and continues_project_code={code} if it carries it over",
                        f"{code} 已是 {other_id} 的项目：请使用新编号；如为续建项目，请填写 "
                        f"continues_plan_id={other_id} 和 continues_project_code={code}",
                    )
            elif not (
                other_row.get("continues_plan_id") == row["plan_id"]
                and other_row.get("continues_project_code") == code
            ):
                self.add(
                    "catalog_projects",
                    index,
                    item,
                    "project_code",
                    f"{code} is already a project of the later plan {other_id} "
                    f"({other_row.get('name_zh', '')}), which does not carry it over from {row['plan_id']}: "
                    f"use a new code, or set continues_plan_id={row['plan_id']} and continues_project_code={code} "
                    f"on {other_id}'s {code} if it is the same project",
                    f"{code} 已是后一规划 {other_id} 的项目（{other_row.get('name_zh', '')}），而该规划并未把它作为 "
                    f"{row['plan_id']} 的续建项目：请使用新编号；如为同一项目，请在 {other_id} 的 {code} 上填写 "
                    f"continues_plan_id={row['plan_id']} 和 continues_project_code={code}",
                )

    def check_milestones(self) -> None:
        types = set(
            self.tables.get("catalog_milestone_types", pd.DataFrame({"milestone_code": []}))["milestone_code"]
        )
        projects = {
            (r["plan_id"], r["project_code"]) for r in self.tables["catalog_projects"].to_dict("records")
        }
        seen: set[tuple[str, str, str]] = set()
        per_project: dict[tuple[str, str], list[tuple[int, date | None, int]]] = {}
        for index, row in self.rows("catalog_project_milestones"):
            key = (row["plan_id"], row["project_code"])
            item = f"{row['plan_id']} {row['project_code']} {row['milestone_code']}"
            if key not in projects:
                self.add(
                    "catalog_project_milestones",
                    index,
                    item,
                    "project_code",
                    "not in catalog_projects",
                    "不在 catalog_projects 中",
                )
            if (*key, row["milestone_code"]) in seen:
                self.add(
                    "catalog_project_milestones",
                    index,
                    item,
                    "milestone_code",
                    "duplicate for this project",
                    "该项目的里程碑重复",
                )
            seen.add((*key, row["milestone_code"]))
            if types and row["milestone_code"] not in types:
                self.add(
                    "catalog_project_milestones",
                    index,
                    item,
                    "milestone_code",
                    f"{row['milestone_code']!r} is not one of {', '.join(sorted(types))}",
                    f"{row['milestone_code']!r} 不是以下取值之一：{', '.join(sorted(types))}",
                )
            planned = _date(row.get("planned_date", ""))
            if planned is None:
                self.add(
                    "catalog_project_milestones",
                    index,
                    item,
                    "planned_date",
                    f"{row.get('planned_date')!r} is not a date (YYYY-MM-DD)",
                    f"{row.get('planned_date')!r} 不是日期（YYYY-MM-DD）",
                )
            if row.get("date_source") not in ("plan", "assumed"):
                self.add(
                    "catalog_project_milestones",
                    index,
                    item,
                    "date_source",
                    f"{row.get('date_source')!r} is not plan or assumed",
                    f"{row.get('date_source')!r} 不是 plan 或 assumed",
                )
            per_project.setdefault(key, []).append((int(_number(row.get("seq", "")) or 0), planned, index))
        for key, items in per_project.items():
            items.sort()
            dates = [d for _, d, _ in items if d]
            if dates != sorted(dates):
                self.add(
                    "catalog_project_milestones",
                    items[0][2],
                    " ".join(key),
                    "planned_date",
                    "milestone dates are not in seq order",
                    "里程碑日期与 seq 顺序不一致",
                )
            start, end = getattr(self, "project_dates", {}).get(key, (None, None))
            # the schedule runs from planned_start (on or before the first milestone: a carried-over
            # project's work resumes with the new plan) to planned_end, the last milestone
            if dates and start and end and (dates[0] < start or dates[-1] != end):
                self.add(
                    "catalog_projects",
                    None,
                    " ".join(key),
                    "planned_start",
                    f"planned_start/planned_end ({start}/{end}): planned_start must come on or before the first "
                    f"milestone ({dates[0]}) and planned_end be the last ({dates[-1]})",
                    f"planned_start/planned_end（{start}/{end}）：planned_start 应不晚于第一个里程碑（{dates[0]}），"
                    f"planned_end 应为最后一个里程碑（{dates[-1]}）",
                )


def check(
    tables: dict[str, pd.DataFrame],
    only_plans: set[str] | None = None,
    sources: dict | None = None,
    offsets: dict[str, int] | None = None,
    folder: str = "",
) -> list[Problem]:
    return Checker(tables, only_plans, sources, offsets, folder).run()


def combined(
    seeds: dict[str, pd.DataFrame], draft: dict[str, pd.DataFrame]
) -> tuple[dict[str, pd.DataFrame], set[str], dict[str, int]]:
    """The seeds with a draft folder's rows in place of its plan's (review columns dropped), and for
    each table how many seed rows come before the draft's (so problems name the draft file's lines)."""
    plan_ids = set(draft.get("catalog_plans", pd.DataFrame({"plan_id": []}))["plan_id"])
    offsets: dict[str, int] = {}
    out = {}
    if UNITS_SEED in seeds:  # the seeds' list of units: a draft folder has none
        out[UNITS_SEED] = seeds[UNITS_SEED]
    for name in SEEDS:
        base = seeds.get(name, pd.DataFrame())
        extra = draft.get(name)
        if extra is None:
            out[name] = base
            continue
        extra = extra[[c for c in extra.columns if c in base.columns or not len(base.columns)]]
        if name in ("catalog_departments", "catalog_milestone_types"):
            key = "department_code" if name == "catalog_departments" else "milestone_code"
            keep = base[~base[key].isin(set(extra[key]))]
        else:
            keep = base[~base["plan_id"].isin(plan_ids)] if "plan_id" in base.columns else base
        offsets[name] = len(keep)
        out[name] = pd.concat(
            [keep, extra.reindex(columns=base.columns, fill_value="")], ignore_index=True
        ).fillna("")
    return out, plan_ids, offsets


def problems_text(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems)
