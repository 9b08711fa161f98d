"""`planwh plan draft`: an outline's text in, draft catalog files out, for a person to review.

The files have the seeds' columns (so `planwh plan add` can merge them) plus review columns that `add`
drops: `confidence` (high / medium / low), `review` (why a person must look) and, where an earlier plan
of the catalog knows the same item, `suggestion` (its English name, its owner in that plan, or the
project it may continue). Owners are never filled in: `planwh plan check` lists every row without one.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import review_note
from .catalog import SEEDS
from .main_table import interpret, locate, parse_rows
from .outline import CN_DIGITS, Outline
from .projects import Candidate
from .projects import extract as extract_projects
from .statements import Span, Statement, _similar
from .statements import extract as extract_statements

REVIEW_COLUMNS = ("confidence", "review", "suggestion")
SEED_COLUMNS = {  # the seeds' column order (the draft writes the same, plus the review columns)
    name: list(
        pd.read_csv(
            Path(__file__).resolve().parents[3] / "dbt_project" / "seeds" / f"{name}.csv", nrows=0
        ).columns
    )
    for name in SEEDS
}
TITLE = re.compile(
    rf"(?P<region>[\u4e00-\u9fff]{{2,20}}?)国民经济和社会发展第(?P<n>[{CN_DIGITS}]+)个五年规划(?:和(?:二[〇○零0]三五|2035)年远景目标)?纲要"
)
ORDINAL_EN = {11: "11th", 12: "12th", 13: "13th", 14: "14th", 15: "15th", 16: "16th", 17: "17th"}
SHORT = {11: "十一五", 12: "十二五", 13: "十三五", 14: "十四五", 15: "十五五", 16: "十六五", 17: "十七五"}


@dataclass
class Draft:
    plan: dict
    main: list[dict]
    secondary: list[dict]
    projects: list[dict]
    milestones: list[dict]
    dropped: list[tuple[str, str]] = field(
        default_factory=list
    )  # (quote, why) left out of the secondary file
    layout_note: str = ""

    def tables(self) -> dict[str, list[dict]]:
        return {
            "catalog_plans": [self.plan],
            "catalog_main_indicators": self.main,
            "catalog_secondary_targets": self.secondary,
            "catalog_projects": self.projects,
            "catalog_project_milestones": self.milestones,
        }


def plan_number(title_number: str) -> int | None:
    from .statements import cn_to_int

    return cn_to_int(title_number)


def plan_years(outline: Outline, layout_years: tuple[int | None, int | None]) -> tuple[int, int, int]:
    """(baseline, start, end): from the table header's years, else from the plan's number (十五 → 2026–2030)."""
    baseline, target = layout_years
    if baseline and target:
        return baseline, baseline + 1, target
    match = TITLE.search(outline.norm)
    number = plan_number(match.group("n")) if match else None
    if number and number >= 3:
        start = 1966 + 5 * (number - 3)
        return start - 1, start, start + 4
    raise ValueError("the plan's years are not in the text: pass --start-year and --end-year")


def build(
    outline: Outline,
    plan_id: str,
    region_code: str,
    *,
    catalog: object | None = None,
    source_document: str = "",
    years: tuple[int, int, int] | None = None,
    region_name_en: str = "",
) -> Draft:
    layout = locate(outline)
    rows = parse_rows(outline, layout) if layout else []
    baseline_year, start, end = years or plan_years(
        outline, (layout.baseline_year, layout.target_year) if layout else (None, None)
    )
    main = interpret(rows, layout, plan_id) if layout else []
    table_span = None
    if layout:
        last = min(layout.last_line, len(outline.lines) - 1)
        table_span = Span(outline.line_offsets[layout.first_line], outline.line_offsets[last])
    statements = extract_statements(outline, start, end, table_span)
    secondary, dropped = _secondary(statements, main, plan_id)
    candidates = extract_projects(outline, table_span)
    for statement in statements:
        if statement.kind == "project" and not any(
            statement.quote in c.quote or c.quote in statement.quote for c in candidates
        ):
            candidates.append(
                Candidate(
                    name=statement.name,
                    quote=statement.quote,
                    position=statement.position,
                    quantity=statement.value,
                    quantity_unit=statement.unit,
                    chapter=statement.chapter,
                    section=statement.section,
                )
            )
    candidates.sort(key=lambda c: c.position)
    projects, milestones = _projects(
        candidates, plan_id, start, end, _first_project_number(catalog, region_code, plan_id)
    )
    plan = _plan_row(
        outline, plan_id, region_code, baseline_year, start, end, source_document, region_name_en
    )
    draft = Draft(plan, main, secondary, projects, milestones, dropped)
    if catalog is not None:
        suggest(draft, catalog)
    if not layout:
        draft.layout_note = review_note(
            "未找到主要指标表：请手工填写 catalog_main_indicators 各行",
            "no main-indicator table found: add catalog_main_indicators rows by hand",
        )
    return draft


def _plan_row(
    outline, plan_id, region_code, baseline_year, start, end, source_document, region_name_en
) -> dict:
    match = TITLE.search(outline.squashed[:3000]) or TITLE.search(outline.squashed)
    title = match.group(0) if match else ""
    place = match.group("region") if match else ""
    number = plan_number(match.group("n")) if match else None
    district = re.search(r"[^省市]{1,10}(?:区|县|旗|市)$", place)
    region_zh = district.group(0) if district else place
    parent = place[: len(place) - len(region_zh)] if district else ""
    short = SHORT.get(number or 0, f"第{match.group('n')}个五年" if match else "")
    ordinal = ORDINAL_EN.get(number or 0, f"{number}th" if number else "")
    return {
        "plan_id": plan_id,
        "region_code": region_code,
        "region_name_zh": region_zh,
        "region_name_en": region_name_en,
        "parent_region_zh": parent,
        "plan_name_zh": title,
        "plan_name_en": (
            f"Outline of the {ordinal} Five-Year Plan for Economic and Social Development"
            + (f", {region_name_en}" if region_name_en else "")
        ),
        "plan_short_zh": f"{region_zh}“{short}”规划纲要" if region_zh else "",
        "plan_short_en": f"{region_name_en} {ordinal} Five-Year Plan".strip(),
        "baseline_year": baseline_year,
        "start_year": start,
        "end_year": end,
        "source_document": source_document,
        "confidence": "medium" if title and region_name_en else "low",
        "review": "; ".join(
            r
            for r in (
                ""
                if title
                else review_note(
                    "未找到规划标题：请填写 plan_name_zh",
                    "the plan's title was not found: fill in plan_name_zh",
                ),
                ""
                if region_name_en
                else review_note(
                    "请填写 region_name_en 及各英文名称", "region_name_en and the English names: fill them in"
                ),
            )
            if r
        ),
    }


SCALE = {
    "亿元": ("元", 1e8),
    "万元": ("元", 1e4),
    "万人": ("人", 1e4),
    "万人次": ("人次", 1e4),
    "万户": ("户", 1e4),
}


def _base(value: float | None, unit: str) -> tuple[float | None, str]:
    base_unit, factor = SCALE.get(unit, (unit, 1.0))
    return (None if value is None else round(value * factor, 6)), base_unit


def _main_duplicate(statement: Statement, main: list[dict]) -> dict | None:
    """The main-table indicator a prose target repeats (same value in the same unit, possibly written
    in 万 — 11.3万元 is 113000元 —, and the indicator named near it)."""
    value, unit = _base(statement.value, statement.unit)
    for row in main:
        values = {
            _base(v, row["unit"]) for v in (row["target_value"], row["annual_growth_rate"]) if v is not None
        }
        if (value, unit) not in values and statement.value not in {v for v, _ in values}:
            continue
        core = re.sub(r"(?:增加值)?(?:占比|比重|比率|覆盖率|数量|总额|率)$", "", row["name_zh"])
        if (
            _similar(statement.name, row["name_zh"])
            or (len(core) >= 4 and core[-4:] in statement.quote)
            or core in statement.name
        ):
            return row
    return None


def _secondary(
    statements: list[Statement], main: list[dict], plan_id: str
) -> tuple[list[dict], list[tuple[str, str]]]:
    rows: list[dict] = []
    dropped: list[tuple[str, str]] = []
    for statement in statements:
        if statement.kind != "target":
            continue
        twin = _main_duplicate(statement, main)
        if twin is not None:
            dropped.append(
                (
                    statement.quote,
                    review_note(
                        f"与主要指标 {twin['indicator_code']} {twin['name_zh']} 重复",
                        f"repeats main indicator {twin['indicator_code']} {twin['name_zh']}",
                    ),
                )
            )
            continue
        reasons = list(statement.reasons)
        if statement.value is None:
            reasons.append(
                review_note("无数字：请填写目标或删除该行", "no number: set the target or drop the row")
            )
        if not statement.name:
            reasons.append(review_note("未找到名称：请为目标命名", "no name found: name the target"))
        elif len(statement.name) <= 2:
            reasons.append(
                review_note(
                    f"名称 {statement.name!r} 较短：请核对是否为完整名称",
                    f"name {statement.name!r} is short: check it is the whole name",
                )
            )
        serious = (
            statement.value is None
            or not statement.unit
            or any("range" in r or "approximate" in r for r in reasons)
        )
        confidence = "low" if serious else "medium" if reasons else "high"
        unit = statement.unit or ""
        rows.append(
            {
                "plan_id": plan_id,
                "target_code": f"S{len(rows) + 1:03d}",
                "seq": len(rows) + 1,
                "chapter_zh": statement.chapter,
                "chapter_en": "",
                "section_zh": statement.section,
                "topic_zh": statement.topic,
                "name_zh": statement.name,
                "name_en": "",
                "unit": unit,
                "target_operator": statement.operator,
                "target_value": statement.value,
                "target_value_text": statement.value_text,
                "target_year": statement.year,
                "target_basis": statement.basis,
                "is_cumulative": statement.is_cumulative,
                "baseline_value": None,
                "baseline_year": None,
                "baseline_quote": "",
                "direction": statement.direction,
                "value_min": 0.0,
                "value_max": 100.0 if unit == "%" else None,
                "owner_department_code": "",
                "quote": statement.quote.rstrip("。；，"),
                "notes": "",
                "confidence": confidence,
                "review": "; ".join(dict.fromkeys(reasons)),
                "suggestion": "",
            }
        )
    return rows, dropped


def _first_project_number(catalog, region_code: str, plan_id: str) -> int:
    """Project codes are not reused across a region's plans (only a carried-over project keeps its code):
    a new plan's projects are numbered after the earlier plans' last one."""
    if catalog is None:
        return 1
    plans = catalog.plans
    earlier = set(plans[(plans["region_code"] == region_code) & (plans["plan_id"] != plan_id)]["plan_id"])
    numbers = [
        int(m.group(1))
        for code in catalog.projects[catalog.projects["plan_id"].isin(earlier)]["project_code"]
        if (m := re.fullmatch(r"P(\d+)", str(code)))
    ]
    return max(numbers, default=0) + 1


def _projects(
    candidates: list[Candidate], plan_id: str, start: int, end: int, first: int = 1
) -> tuple[list[dict], list[dict]]:
    projects, milestones = [], []
    for index, candidate in enumerate(candidates, start=1):
        code = f"P{first + index - 1:03d}"
        reasons = [
            review_note(
                "候选项目：仅保留需要监测的重大项目",
                "a candidate: keep it only if it is a major project to monitor",
            ),
            review_note("文中无日期：请填写", "dates are not in the text: set them"),
            *candidate.reasons,
        ]
        projects.append(
            {
                "plan_id": plan_id,
                "project_code": code,
                "seq": index,
                "name_zh": candidate.name,
                "name_en": "",
                "category": "",
                "owner_department_code": "",
                "quantity_target": candidate.quantity,
                "quantity_unit": candidate.quantity_unit,
                "planned_start": "",
                "planned_end": "",
                "date_source": "assumed",
                "chapter_zh": candidate.chapter,
                "chapter_en": "",
                "section_zh": candidate.section,
                "quote": candidate.quote.rstrip("。；，"),
                "notes": "",
                "continues_plan_id": "",
                "continues_project_code": "",
                "confidence": "low",
                "review": "; ".join(reasons),
                "suggestion": "",
            }
        )
        programme = candidate.quantity is not None
        for seq, milestone in enumerate(
            ("START", "HALF", "FULL") if programme else ("START", "COMPLETION"), start=1
        ):
            milestones.append(
                {
                    "plan_id": plan_id,
                    "project_code": code,
                    "milestone_code": milestone,
                    "seq": seq,
                    "name_zh": {
                        "START": "开工",
                        "HALF": "完成过半",
                        "FULL": "全部完成",
                        "COMPLETION": "竣工投用",
                    }[milestone],
                    "name_en": {
                        "START": "Construction start",
                        "HALF": "Half of quantity delivered",
                        "FULL": "All quantity delivered",
                        "COMPLETION": "Completed and in service",
                    }[milestone],
                    "planned_date": "",
                    "date_source": "assumed",
                    "quantity_share": {"HALF": 0.5, "FULL": 1.0}.get(milestone),
                    "notes": "",
                    "confidence": "low",
                    "review": review_note(
                        f"计划日期：请填写（规划期 {start}–{end} 年）",
                        f"planned date: set it (plan years {start}–{end})",
                    ),
                    "suggestion": "",
                }
            )
    return projects, milestones


# ------------------------------------------------------------------------------------ suggestions


def suggest(draft: Draft, catalog) -> None:
    """What an earlier plan of the catalog already says about the same names (never the owner itself)."""
    region = draft.plan["region_code"]
    plans = catalog.plans
    same_region = plans[(plans["region_code"] == region) & (plans["plan_id"] != draft.plan["plan_id"])]
    earlier = [
        p
        for p in same_region.sort_values("end_year").to_dict("records")
        if int(p["end_year"]) < int(draft.plan["start_year"])
    ]
    if not draft.plan["region_name_en"] and len(same_region):
        row = same_region.iloc[-1]
        draft.plan["region_name_en"] = row["region_name_en"]
        draft.plan["plan_name_en"] += f", {row['region_name_en']}"
        draft.plan["plan_short_en"] = f"{row['region_name_en']} {draft.plan['plan_short_en']}".strip()
        draft.plan["review"] = "; ".join(
            r for r in draft.plan["review"].split("; ") if r and "region_name_en" not in r
        )
    others = catalog.main[catalog.main["plan_id"] != draft.plan["plan_id"]]
    names_en = dict(zip(others["name_zh"], others["name_en"], strict=False))
    categories_en = dict(zip(others["category_zh"], others["category_en"], strict=False))
    previous_ids = [p["plan_id"] for p in earlier]
    owners = _owners(catalog, previous_ids)
    for row in draft.main:
        if not row["name_en"] and isinstance(names_en.get(row["name_zh"]), str):
            row["name_en"] = names_en[row["name_zh"]]
        if not row["category_en"] and isinstance(categories_en.get(row["category_zh"]), str):
            row["category_en"] = categories_en[row["category_zh"]]
            row["review"] = "; ".join(
                r for r in row["review"].split("; ") if r and "English category" not in r
            )
        _suggest_owner(row, owners)
    sec = catalog.secondary[catalog.secondary["plan_id"] != draft.plan["plan_id"]]
    sec_en = dict(zip(sec["name_zh"], sec["name_en"], strict=False))
    for row in draft.secondary:
        if isinstance(sec_en.get(row["name_zh"]), str):
            row["name_en"] = sec_en[row["name_zh"]]
        _suggest_owner(row, owners)
    projects = catalog.projects[catalog.projects["plan_id"].isin(previous_ids)]
    for row in draft.projects:
        twin = _project_twin(row["name_zh"], projects)
        if twin is not None:
            row["suggestion"] = review_note(
                f"是否延续 {twin['plan_id']} {twin['project_code']} {twin['name_zh']}？如为同一项目，请沿用编码 "
                f"{twin['project_code']}，并填写 continues_plan_id={twin['plan_id']}、"
                f"continues_project_code={twin['project_code']}（该项目原责任部门：{twin['owner_department_code']}）",
                f"continues {twin['plan_id']} {twin['project_code']} {twin['name_zh']}? If it is the same project, "
                f"give it the code {twin['project_code']} and set continues_plan_id={twin['plan_id']}, "
                f"continues_project_code={twin['project_code']} (its owner there: {twin['owner_department_code']})",
            )
            if isinstance(twin.get("name_en"), str):
                row["name_en"] = twin["name_en"]


def _owners(catalog, plan_ids: list[str]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for frame, code in ((catalog.main, "indicator_code"), (catalog.secondary, "target_code")):
        for row in frame[frame["plan_id"].isin(plan_ids)].to_dict("records"):
            out[row["name_zh"]] = (row["owner_department_code"], f"{row['plan_id']} {row[code]}")
    return out


def _suggest_owner(row: dict, owners: dict[str, tuple[str, str]]) -> None:
    match = owners.get(row["name_zh"])
    if match is None:
        match = next((v for k, v in owners.items() if _similar(k, row["name_zh"]) and len(k) >= 4), None)
    if match:
        row["suggestion"] = review_note(
            f"{match[1]} 中同一指标的责任部门：{match[0]}（此处留空：请确认）",
            f"owner of the same indicator in {match[1]}: {match[0]} (owner left blank: confirm it)",
        )


def _project_twin(name: str, projects: pd.DataFrame) -> dict | None:
    core = re.sub(r"(建设|工程|项目|改造提升|改造)$", "", name)
    for row in projects.to_dict("records"):
        other = re.sub(r"(建设|工程|项目|改造提升|改造)$", "", row["name_zh"])
        if len(core) >= 4 and (core in other or other in core):
            return row
    return None


# ------------------------------------------------------------------------------------------ files


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def write(draft: Draft, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in draft.tables().items():
        columns = SEED_COLUMNS[name] + [
            c for c in REVIEW_COLUMNS if (rows and c in rows[0]) or name != "catalog_plans"
        ]
        path = out_dir / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_cell(row.get(c)) for c in columns])
        written.append(path)
    readme = out_dir / "REVIEW.md"
    readme.write_text(review_text(draft), encoding="utf-8")
    written.append(readme)
    return written


def review_text(draft: Draft) -> str:
    """REVIEW.md: Chinese for the planning office that checks the draft, English beneath each part."""
    plan = draft.plan
    lines = [
        f"# {plan['plan_id']} 目录草稿 · Draft catalog for {plan['plan_id']}"
        f"（{plan['plan_name_zh'] or '未找到规划标题 title not found'}）",
        "",
        f"规划期 {plan['start_year']}–{plan['end_year']} 年，基期 {plan['baseline_year']} 年。",
        f"Plan years {plan['start_year']}–{plan['end_year']}, baseline year {plan['baseline_year']}.",
        "",
        "由 `planwh plan draft` 从纲要文本起草：请逐个文件审核（review 列说明每行需要核对之处），然后运行",
        "`planwh plan check {本文件夹}` 和 `planwh plan add {本文件夹}`（见 docs/plans.md）。",
        "Drafted from the outline's text by `planwh plan draft`: review every file (the review column says what",
        "to check in each row), then run `planwh plan check {this folder}` and `planwh plan add {this folder}`",
        "(see docs/plans.md).",
        "",
        "| 文件 file | 行数 rows | 高 high | 中 medium | 低 low |",
        "|---|---|---|---|---|",
    ]
    for name, rows in draft.tables().items():
        counts = {c: sum(1 for r in rows if r.get("confidence") == c) for c in ("high", "medium", "low")}
        lines.append(
            f"| {name}.csv | {len(rows)} | {counts['high']} | {counts['medium']} | {counts['low']} |"
        )
    lines += [
        "",
        "高/中/低：草稿的可信度（confidence 列）。 · high/medium/low: the draft's confidence (column confidence).",
    ]
    if draft.layout_note:
        lines += ["", f"**{draft.layout_note}**"]
    lines += [
        "",
        "各行的责任部门（owner_department_code）均有意留空：纲要并未说明由谁报送。`planwh plan check` 会列出",
        "仍未填写的每一行。项目均为候选：只保留重大项目，填写责任部门、日期和里程碑；上一规划延续下来的项目，",
        "请填写 `continues_plan_id`/`continues_project_code`。",
        "",
        "Owners (owner_department_code) are blank everywhere on purpose: the outline does not say who reports",
        "what. `planwh plan check` lists each row still without one. Projects are candidates: keep the major",
        "ones, set their owner, dates and milestones, and `continues_plan_id`/`continues_project_code` for a",
        "project carried over from the previous plan.",
    ]
    if draft.dropped:
        lines += [
            "",
            "## 未收录的文字目标（与主要指标重复） · Prose targets left out (they repeat a main indicator)",
            "",
        ]
        lines += [f"- {quote} — {why}" for quote, why in draft.dropped]
    return "\n".join(lines) + "\n"


def read_draft(folder: Path) -> dict[str, pd.DataFrame]:
    """A draft (or reviewed) folder's files as the seeds' frames, review columns kept."""
    out = {}
    for name in SEEDS:
        path = folder / f"{name}.csv"
        if path.exists():
            out[name] = pd.read_csv(path, dtype=str, keep_default_na=False)
    return out


# ------------------------------------------------------------------------------------ comparison


@dataclass
class Score:
    found: int
    expected: int
    drafted: int
    correct: int
    missed: list[str]
    extra: list[str]

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.drafted if self.drafted else 1.0


def squashed(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def same_target(expected: dict, drafted: dict) -> bool:
    """Same value, same year, and one quote contains the other (whitespace ignored)."""
    try:
        if abs(float(expected["target_value"]) - float(drafted["target_value"])) > 1e-9:
            return False
    except (TypeError, ValueError):
        return False
    if str(expected["target_year"]) != str(drafted["target_year"]):
        return False
    a, b = squashed(expected["quote"]), squashed(drafted["quote"])
    return bool(a) and bool(b) and (a in b or b in a)


def score_secondary(expected: list[dict], drafted: list[dict]) -> Score:
    found, correct, extra = set(), 0, []
    for row in drafted:
        hits = [e["target_code"] for e in expected if same_target(e, row)]
        found.update(hits)
        if hits:
            correct += 1
        else:
            extra.append(f"{row['target_code']} {row['target_value']} {row['quote']}")
    missed = [
        f"{e['target_code']} {e['target_value']} {e['quote']}"
        for e in expected
        if e["target_code"] not in found
    ]
    return Score(len(found), len(expected), len(drafted), correct, missed, extra)


MAIN_TABLE_COLUMNS = (
    "indicator_code",
    "seq",
    "category_zh",
    "name_printed",
    "name_zh",
    "unit_printed",
    "unit",
    "baseline_year",
    "baseline_text",
    "baseline_value",
    "target_year",
    "target_text",
    "target_operator",
    "target_value",
    "annual_growth_text",
    "annual_growth_rate",
    "attribute_zh",
    "attribute",
    "target_basis",
    "is_cumulative",
    "is_superior_assigned",
    "is_baseline_estimate",
    "direction",
)


def _comparable(value: object) -> str:
    text = _cell(value) if not isinstance(value, str) else value
    try:
        return f"{float(text):g}"
    except ValueError:
        return text


def compare_main(expected: list[dict], drafted: list[dict]) -> list[str]:
    """Every cell of the main table that differs: '<code> <column>: drafted … expected …'."""
    out = []
    if len(expected) != len(drafted):
        out.append(f"{len(drafted)} rows drafted, {len(expected)} expected")
    for exp, got in zip(expected, drafted, strict=False):
        for column in MAIN_TABLE_COLUMNS:
            a, b = _comparable(got.get(column)), _comparable(exp.get(column))
            if a != b:
                out.append(f"{exp['indicator_code']} {column}: drafted {a!r}, expected {b!r}")
    return out
