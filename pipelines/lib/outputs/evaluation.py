"""The plan's evaluation report (中期评估 / 总结评估), from the marts: an offline HTML page and a .docx.

A final evaluation (总结评估) once the evaluation date is after the plan's last year, a mid-term one
(中期评估) inside the plan. The sections follow the official documents: 一、总体情况 (generated sentences),
二、主要指标完成情况, 三、其他目标, 四、重大项目, 五、报送情况, 附表. Every number in a sentence comes from the
one query behind that sentence (`SENTENCES`), so no number is typed twice; `verify_docx` compares a
written .docx with the marts (the Dagster asset check and the tests call it).

The statuses, categories and shortfalls are computed in dbt (docs block attainment_method); this module
only words and lays them out.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import duckdb

from ..files import temp_path
from ..settings import now_local
from ..warehouse.connection import fetch_dicts as _rows
from .labels import STATUS, STATUS_ORDER, SUBMISSION_KIND, status_en, status_zh

FINAL = "final"
MID_TERM = "mid_term"
KIND_ZH = {FINAL: "总结评估", MID_TERM: "中期评估"}
KIND_EN = {FINAL: "final evaluation", MID_TERM: "mid-term evaluation"}

# the order categories are counted in: verdicts first in a final evaluation, progress first mid-term
ORDER = {
    FINAL: [
        "achieved",
        "not_achieved",
        "achieved_early",
        "ahead",
        "as_expected",
        "lagging",
        "no_data",
        "not_assessable",
        "not_due",  # nothing due yet: neither on track nor without data
    ],
    MID_TERM: [
        "achieved_early",
        "ahead",
        "as_expected",
        "lagging",
        "achieved",
        "not_achieved",
        "no_data",
        "not_assessable",
        "not_due",  # nothing due yet: neither on track nor without data
    ],
}
GOOD_MID_TERM = ("achieved_early", "ahead", "as_expected", "achieved")  # 符合或快于预期


# ------------------------------------------------------------------------------------------ numbers


def decimals_of(row: dict) -> int:
    value = row.get("value_decimals")
    return 2 if value is None else int(value)


def num(value: float | int | None, decimals: int = 2) -> str:
    """A number as official documents print it: fixed decimals, no thousands separator."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "—"
    text = f"{float(value):.{decimals}f}"
    return text.replace("-", "") if float(text) == 0 else text  # never "-0.0"


def natural_decimals(value: float | None, most: int = 4) -> int:
    """The decimals a printed figure (a target) needs: 48 -> 0, 20.9 -> 1."""
    if value is None:
        return 0
    text = f"{float(value):.{most}f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def unit_en(row: dict) -> str:
    """The indicator's unit in English (dim_indicators.unit_en, from the seed catalog_units): '' for a count."""
    english = row.get("unit_en")
    return row.get("unit") or "" if english is None else english


def with_unit(value, row: dict, decimals: int, lang: str = "zh") -> str:
    """A value with the indicator's unit: '80.9岁' in Chinese, '80.9 years' in English."""
    text = num(value, decimals)
    unit = row.get("unit")
    if text == "—" or not unit:
        return text
    if unit == "%":
        return text + "%"
    if lang == "zh":
        return text + unit
    english = unit_en(row)
    if not english:
        return text
    return f"{text} ({english})" if " " in english or english[0].isdigit() else f"{text} {english}"


def gap_unit(row: dict, lang: str = "zh") -> str:
    """The unit a shortfall is counted in: percentage points for percentages and growth rates."""
    if row.get("unit") == "%" or row.get("target_method") == "rate":
        return "个百分点" if lang == "zh" else " percentage points"
    if lang == "zh":
        return row.get("unit") or ""
    english = unit_en(row)
    return f" ({english})" if " " in english or english[:1].isdigit() else (" " + english).rstrip()


def period_zh(period: str) -> str:
    """'2025' -> '2025年', '2025Q3' -> '2025年第三季度'."""
    if "Q" in period:
        year, quarter = period.split("Q")
        return f"{year}年第{'一二三四'[int(quarter) - 1]}季度"
    return f"{period}年"


def pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


# ------------------------------------------------------------------------------------------ context


@dataclass(frozen=True)
class PlanContext:
    """One plan at one evaluation date: which kind of evaluation it gets."""

    plan: dict
    as_of: date
    final_year_due: date | None

    @property
    def plan_id(self) -> str:
        return self.plan["plan_id"]

    @property
    def kind(self) -> str:
        return FINAL if self.as_of > date(int(self.plan["end_year"]), 12, 31) else MID_TERM

    @property
    def started(self) -> bool:
        """Whether the plan has begun by the evaluation date: before its first year there is nothing to evaluate."""
        return self.as_of >= date(int(self.plan["start_year"]), 1, 1)

    @property
    def not_started_text(self) -> tuple[str, str]:
        """What the report, the run summary and the CLI say of a plan not begun by the evaluation date (zh, en)."""
        year = int(self.plan["start_year"])
        return (
            f"{self.plan['plan_short_zh']}{year}年开始实施，评估日期{self.as_of}时尚未开始，暂无评估结论。",
            f"{self.plan['plan_short_en']} begins in {year}: nothing to evaluate as of {self.as_of}.",
        )

    @property
    def provisional(self) -> bool:
        """A final evaluation before the last year's figures are due: some may still come in."""
        return self.kind == FINAL and self.final_year_due is not None and self.as_of <= self.final_year_due

    @property
    def title_zh(self) -> str:
        return f"{self.plan['plan_short_zh']}实施情况{KIND_ZH[self.kind]}报告"

    @property
    def title_en(self) -> str:
        return f"{self.plan['plan_short_en']}: {KIND_EN[self.kind]} report"


def plan_context(con: duckdb.DuckDBPyConnection, plan: dict) -> PlanContext:
    row = _rows(
        con,
        """select max(as_of_date) as as_of,
                  max(case when plan_year = ? then due_date end) as final_year_due
           from marts.fct_indicator_attainment where plan_id = ?""",
        [plan["end_year"], plan["plan_id"]],
    )[0]
    as_of = row["as_of"]
    if as_of is None:  # a plan with no indicator year begun: the marts' evaluation date still applies
        as_of = con.execute("select max(as_of_date) from marts.fct_indicator_status_latest").fetchone()[0]
    return PlanContext(plan=plan, as_of=as_of or now_local().date(), final_year_due=row["final_year_due"])


def plans(con: duckdb.DuckDBPyConnection, plan_id: str | None = None) -> list[dict]:
    rows = _rows(con, "select * from marts.dim_plans order by plan_id")
    return [p for p in rows if plan_id is None or p["plan_id"] == plan_id]


# ------------------------------------------------------------------------------------------ sentences


@dataclass
class Sentence:
    """One generated sentence: its Chinese and English text and the numbers its one query returned."""

    key: str
    zh: str
    en: str
    numbers: dict = field(default_factory=dict)


PROGRESS_CATEGORIES = ("achieved_early", "ahead", "as_expected", "lagging")


def _count_clause(
    counts: dict, labels: dict, order: list[str], unit_zh: str, lang: str, final: bool = False
) -> list[str]:
    parts = []
    for category in order:
        n = counts.get(category, 0)
        if not n:
            continue
        zh, en = labels.get(category, (category, category))
        if final and category in PROGRESS_CATEGORIES:  # a final evaluation before the last figures are due
            zh, en = f"尚无最终值、进展{zh}", f"no final value yet, {en.lower()}"
        parts.append(f"{zh}{n}{unit_zh}" if lang == "zh" else f"{n} {en.lower()}")
    return parts


def _category_sentence(
    key: str, rows: list[dict], ctx: PlanContext, subject_zh: str, subject_en: str
) -> Sentence:
    """'33项主要指标中，完成20项，未完成11项……' from one query's rows (category, labels, n)."""
    counts = {r["category"]: r["n"] for r in rows}
    labels = {r["category"]: (r["label_zh"], r["label_en"]) for r in rows}
    total = sum(counts.values())
    numbers = {"total": total, **counts}
    if not total:
        return Sentence(key, f"本规划没有{subject_zh}。", f"The plan has no {subject_en}.", numbers)
    order = ORDER[ctx.kind]
    if ctx.kind == MID_TERM:
        good = sum(counts.get(c, 0) for c in GOOD_MID_TERM)
        numbers["as_expected_or_better"] = good
        inner_zh = _count_clause(counts, labels, [c for c in order if c in GOOD_MID_TERM], "项", "zh")
        inner_en = _count_clause(counts, labels, [c for c in order if c in GOOD_MID_TERM], "", "en")
        rest = [c for c in order if c not in GOOD_MID_TERM]
        zh = f"{total}项{subject_zh}中，{good}项符合或快于预期" + (
            f"（{'、'.join(inner_zh)}）" if inner_zh else ""
        )
        en = f"Of the {total} {subject_en}, {good} are as expected or better" + (
            f" ({', '.join(inner_en)})" if inner_en else ""
        )
        tail_zh = _count_clause(counts, labels, rest, "项", "zh")
        tail_en = _count_clause(counts, labels, rest, "", "en")
        zh += "".join(f"，{p}" for p in tail_zh) + "。"
        en += "".join(f"; {p}" for p in tail_en) + "."
    else:
        zh = (
            f"{total}项{subject_zh}中，"
            + "，".join(_count_clause(counts, labels, order, "项", "zh", True))
            + "。"
        )
        en = (
            f"Of the {total} {subject_en}: "
            + ", ".join(_count_clause(counts, labels, order, "", "en", True))
            + "."
        )
    return Sentence(key, zh, en, numbers)


CATEGORY_COUNTS = """
    select s.evaluation_category as category, any_value(s.evaluation_category_zh) as label_zh,
           any_value(s.evaluation_category_en) as label_en, count(*) as n
    from marts.fct_indicator_status_latest s
    where s.plan_id = ? and {where}
    group by s.evaluation_category
"""


def sentence_main(con, ctx: PlanContext) -> Sentence:
    rows = _rows(con, CATEGORY_COUNTS.format(where="s.indicator_kind = 'main'"), [ctx.plan_id])
    return _category_sentence("main_indicators", rows, ctx, "主要指标", "main indicators")


def sentence_secondary(con, ctx: PlanContext) -> Sentence:
    rows = _rows(con, CATEGORY_COUNTS.format(where="s.indicator_kind <> 'main'"), [ctx.plan_id])
    sentence = _category_sentence("other_targets", rows, ctx, "其他量化目标", "other quantified targets")
    if sentence.numbers["total"]:
        sentence.zh = "规划纲要正文提出的" + sentence.zh
        sentence.en = sentence.en.replace(
            "other quantified targets", "other quantified targets in the plan's text"
        )
    return sentence


INDICATOR_DETAIL = """
    select s.indicator_code, d.seq, d.name_zh, d.name_en, d.unit, d.unit_en, d.value_decimals, d.target_method, d.baseline_year,
           d.target_operator, d.target_value, d.annual_growth_rate, d.attribute, d.indicator_kind,
           s.status, s.evaluation_category, s.evaluation_category_zh, s.evaluation_category_en,
           s.latest_year, s.latest_due_date, s.actual_value, s.evaluated_value, s.target_compared, s.shortfall,
           s.shortfall_ratio, s.years_met, s.years_missed, s.completion, s.expected_share, s.growth_shortfall,
           s.is_final_year
    from marts.fct_indicator_status_latest s
    join marts.dim_indicators d on d.indicator_key = s.indicator_key
    where s.plan_id = ? and {where}
    order by d.seq
"""


OPERATOR_TEXT = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "=": "="}


def _op(r: dict) -> str:
    return OPERATOR_TEXT.get(r.get("target_operator") or "", r.get("target_operator") or "")


def value_phrase(r: dict, lang: str = "zh") -> str:
    """The value an indicator is judged on, in words: '2025年1.8%（下达目标2.6%）', '年均6.5%'."""
    d = decimals_of(r)
    year = r["latest_year"]
    method = r["target_method"]
    value = with_unit(r["evaluated_value"], r, d, lang)
    target = with_unit(r["target_compared"], r, natural_decimals(r["target_compared"]), lang)
    first = (r.get("baseline_year") or year - 1) + 1
    if lang == "zh":
        if method == "rate":
            return f"{first}—{year}年年均增长{value}，目标年均{target}"
        if method == "cumulative":
            return f"{first}—{year}年累计{value}，目标{_op(r)}{target}"
        if method == "superior_assigned":
            return f"{year}年{value}，下达目标{target}"
        return f"{year}年{value}，目标{_op(r)}{target}"
    if method == "rate":
        return f"average growth {value} a year in {first}–{year} against {target}"
    if method == "cumulative":
        return f"{value} in total in {first}–{year} against {_op(r)}{target}"
    if method == "superior_assigned":
        return f"{year}: {value} against an assigned {target}"
    return f"{year}: {value} against {_op(r)}{target}"


def shortfall_phrase(r: dict, lang: str = "zh") -> str:
    if r["shortfall"] is None:
        return ""
    d = decimals_of(r)
    if r["target_method"] in ("superior_assigned", "annual") and r["years_missed"]:
        years = r["years_met"] + r["years_missed"]
        if lang == "zh":
            return f"{years}年中{r['years_missed']}年未完成，差距最大{num(r['shortfall'], d)}{gap_unit(r)}"
        return f"{r['years_missed']} of {years} years missed, by up to {num(r['shortfall'], d)}{gap_unit(r, 'en')}"
    if lang == "zh":
        if r["shortfall"] == 0:
            return "与目标持平，未超过目标"
        return f"差距{num(r['shortfall'], d)}{gap_unit(r)}"
    if r["shortfall"] == 0:
        return "equal to the target, which had to be exceeded"
    return f"short by {num(r['shortfall'], d)}{gap_unit(r, 'en')}"


def _why_not_assessable(r: dict, lang: str) -> str:
    if r["status"] == "awaiting_target":
        return "待上级下达目标" if lang == "zh" else "awaiting the assigned target"
    if r["status"] == "insufficient_data":
        return "数据不足以评估" if lang == "zh" else "too few data to judge"
    return status_zh(r["status"]) if lang == "zh" else status_en(r["status"])


def indicator_item(r: dict, lang: str = "zh") -> str:
    """One indicator in a sentence's list, with the detail its category calls for."""
    name = r["name_zh"] if lang == "zh" else r["name_en"]
    head = f"{r['indicator_code']} {name}"
    category = r["evaluation_category"]
    if category == "not_achieved":
        detail = [value_phrase(r, lang), shortfall_phrase(r, lang)]
    elif category == "lagging":
        if r["completion"] is not None and r["expected_share"] is not None:
            progress = (
                f"完成进度{pct(r['completion'])}，时序进度{pct(r['expected_share'])}"
                if lang == "zh"
                else f"{pct(r['completion'])} done against {pct(r['expected_share'])} expected"
            )
        else:
            progress = status_zh(r["status"]) if lang == "zh" else status_en(r["status"])
        detail = [value_phrase(r, lang), progress]
    elif category == "no_data":
        if r["latest_year"] is None:
            detail = ["尚未到报送期" if lang == "zh" else "nothing due yet"]
        else:
            detail = [
                f"{r['latest_year']}年数据逾期未报"
                if lang == "zh"
                else f"no data for {r['latest_year']}, overdue"
            ]
    elif category == "not_assessable":
        detail = [_why_not_assessable(r, lang)]
    else:
        detail = [value_phrase(r, lang)]
    detail = [d for d in detail if d]
    if lang == "zh":
        return f"{head}（{'，'.join(detail)}）"
    return f"{head} ({'; '.join(detail)})"


def _listed_sentence(
    key: str, rows: list[dict], ctx: PlanContext, subject_zh: str, subject_en: str
) -> Sentence:
    """Counts by category, then the indicators a leader must read about, named with their figures."""
    counts = Counter(r["evaluation_category"] for r in rows)
    labels = {
        r["evaluation_category"]: (r["evaluation_category_zh"], r["evaluation_category_en"]) for r in rows
    }
    total = len(rows)
    numbers = {"total": total, **counts}
    if not total:
        return Sentence(key, f"本规划没有{subject_zh}。", f"The plan has no {subject_en}.", numbers)
    order = ORDER[ctx.kind]
    named = ("not_achieved", "lagging", "no_data", "not_assessable")
    zh_parts, en_parts = [], []
    good_zh, good_en = [], []
    for category in order:
        n = counts.get(category, 0)
        if not n:
            continue
        zh_label, en_label = labels[category]
        if ctx.kind == FINAL and category in PROGRESS_CATEGORIES:
            zh_label, en_label = f"尚无最终值、进展{zh_label}", f"no final value yet, {en_label.lower()}"
        if category in named:
            items = [r for r in rows if r["evaluation_category"] == category]
            zh_parts.append(f"{zh_label}{n}项：" + "；".join(indicator_item(r, "zh") for r in items))
            en_parts.append(f"{n} {en_label.lower()}: " + "; ".join(indicator_item(r, "en") for r in items))
        else:
            good_zh.append(f"{zh_label}{n}项")
            good_en.append(f"{n} {en_label.lower()}")
    if ctx.kind == FINAL and counts.get("achieved", 0) == total:
        zh = f"{total}项{subject_zh}全部完成。"
        en = f"All {total} {subject_en} were achieved."
    else:
        zh = f"{total}项{subject_zh}中，" + "，".join(good_zh) + "".join(f"；{p}" for p in zh_parts) + "。"
        en = f"Of the {total} {subject_en}: " + ", ".join(good_en) + "".join(f"; {p}" for p in en_parts) + "."
        zh = zh.replace("中，；", "中，")
        en = en.replace(": ; ", ": ")
    return Sentence(key, zh, en, numbers)


def sentence_binding(con, ctx: PlanContext) -> Sentence:
    rows = _rows(
        con,
        INDICATOR_DETAIL.format(where="s.indicator_kind = 'main' and s.attribute = 'binding'"),
        [ctx.plan_id],
    )
    return _listed_sentence("binding_indicators", rows, ctx, "约束性指标", "binding indicators")


def sentence_expected(con, ctx: PlanContext) -> Sentence:
    rows = _rows(
        con,
        INDICATOR_DETAIL.format(where="s.indicator_kind = 'main' and s.attribute <> 'binding'"),
        [ctx.plan_id],
    )
    return _listed_sentence("expected_indicators", rows, ctx, "预期性指标", "expected indicators")


def sentence_projects(con, ctx: PlanContext) -> Sentence:
    rows = _rows(
        con,
        """select p.project_code, p.project_name_zh, p.project_name_en, p.rag_status, p.is_completed,
                  p.completed_on, p.planned_end, p.percent_complete, p.milestones_overdue
           from marts.fct_project_status p where p.plan_id = ? order by p.project_code""",
        [ctx.plan_id],
    )
    total = len(rows)
    completed = [r for r in rows if r["is_completed"]]
    late = [
        r
        for r in completed
        if r["completed_on"] and r["planned_end"] and r["completed_on"] > r["planned_end"]
    ]
    ongoing = [r for r in rows if not r["is_completed"]]
    red = [r for r in ongoing if r["rag_status"] == "red"]
    amber = [r for r in ongoing if r["rag_status"] == "amber"]
    overrun = [r for r in ongoing if r["planned_end"] and r["planned_end"] < ctx.as_of]
    numbers = {
        "total": total,
        "completed": len(completed),
        "completed_late": len(late),
        "ongoing": len(ongoing),
        "red": len(red),
        "amber": len(amber),
        "past_planned_end": len(overrun),
        # once the next plan has begun, the marts rate an unfinished project (docs block project_method):
        # carried over when the next plan's catalog continues it, closed with this plan when it does not
        "carried_over": sum(r["rag_status"] == "carried_over" for r in ongoing),
        "not_completed": sum(r["rag_status"] == "not_completed" for r in ongoing),
    }
    if not total:
        return Sentence(
            "projects", "本规划没有列入监测的重大项目。", "The plan lists no major projects.", numbers
        )
    zh = f"{total}个重大项目中，已完成{len(completed)}个"
    en = f"Of the {total} major projects, {len(completed)} are completed"
    if late:
        zh += f"（其中{len(late)}个晚于计划工期完成）"
        en += f" ({len(late)} after their planned end)"
    if ctx.kind == FINAL:  # the plan is over: what is not finished is not "under way" in it
        zh += f"，未完成{len(ongoing)}个"
        en += f" and {len(ongoing)} unfinished"
        fates = (
            (numbers["carried_over"], "转入下一规划期续建", "carried over into the next plan"),
            (numbers["not_completed"], "随本规划结束未完成", "closed unfinished with this plan"),
        )
        if any(n for n, _, _ in fates):
            zh += "（" + "、".join(f"{n}个{label}" for n, label, _ in fates if n) + "）"
            en += " (" + ", ".join(f"{n} {label}" for n, _, label in fates if n) + ")"
    else:
        zh += f"，在建{len(ongoing)}个"
        en += f" and {len(ongoing)} under way"
    if red or amber:
        names = "；".join(f"{r['project_code']} {r['project_name_zh']}" for r in red + amber)
        names_en = "; ".join(f"{r['project_code']} {r['project_name_en']}" for r in red + amber)
        lights_zh = "、".join(
            f"{label}{len(group)}个" for label, group in (("红灯", red), ("黄灯", amber)) if group
        )
        lights_en = ", ".join(
            f"{len(group)} {label}" for label, group in (("red", red), ("amber", amber)) if group
        )
        zh += f"；进度滞后{len(red) + len(amber)}个（{lights_zh}）：{names}"
        en += f"; {len(red) + len(amber)} behind schedule ({lights_en}): {names_en}"
    if overrun:
        zh += f"；{len(overrun)}个项目已过计划完工日期仍未完成"
        en += f"; {len(overrun)} passed their planned end unfinished"
    return Sentence("projects", zh + "。", en + ".", numbers)


def sentence_submissions(con, ctx: PlanContext) -> Sentence:
    rows = _rows(
        con,
        """select c.compliance_status, c.department_code, c.department_name_zh, c.department_name_en, c.period,
                  c.submission_kind, c.rows_rejected, c.items_missing, c.items_owned
           from marts.fct_submission_compliance c where c.plan_id = ? order by c.department_code, c.period, c.submission_kind""",
        [ctx.plan_id],
    )
    due = [r for r in rows if r["compliance_status"] != "not_due"]
    counts = Counter(r["compliance_status"] for r in due)
    rejected = sum(r["rows_rejected"] or 0 for r in rows)
    numbers = {
        "due": len(due),
        "on_time": counts.get("on_time", 0),
        "late": counts.get("late", 0),
        "incomplete": counts.get("incomplete", 0),
        "missing": counts.get("missing", 0),
        "rows_rejected": rejected,
    }
    if not due:
        return Sentence(
            "submissions",
            "评估日期前尚无到期的报送任务。",
            "No submission was due before the evaluation date.",
            numbers,
        )
    share = counts.get("on_time", 0) / len(due)
    zh = (
        f"各部门到期报送任务{len(due)}项（部门、报送类型、统计期），按时报送{counts.get('on_time', 0)}项"
        f"（{share * 100:.1f}%），迟报{counts.get('late', 0)}项"
    )
    en = (
        f"Of {len(due)} submissions due (department × kind × period), {counts.get('on_time', 0)} arrived on time "
        f"({share * 100:.1f}%) and {counts.get('late', 0)} late"
    )
    gaps = [r for r in due if r["compliance_status"] in ("incomplete", "missing")]
    if gaps:
        by_dept: dict[tuple, list[tuple[str, str]]] = defaultdict(list)
        for r in gaps:
            incomplete = r["compliance_status"] == "incomplete"
            # which report: a department may owe a period's figures and its projects' progress both
            kind_zh, kind_en = SUBMISSION_KIND.get(r["submission_kind"], (r["submission_kind"],) * 2)
            by_dept[(r["department_name_zh"], r["department_name_en"])].append(
                (
                    period_zh(r["period"]) + kind_zh + ("未报齐" if incomplete else "缺报"),
                    f"{r['period']} {kind_en}" + (" incomplete" if incomplete else " missing"),
                )
            )
        parts_zh = [f"未报齐{counts['incomplete']}项"] if counts.get("incomplete") else []
        parts_zh += [f"缺报{counts['missing']}项"] if counts.get("missing") else []
        parts_en = [f"{counts['incomplete']} incomplete"] if counts.get("incomplete") else []
        parts_en += [f"{counts['missing']} missing"] if counts.get("missing") else []
        zh += (
            "，"
            + "，".join(parts_zh)
            + "（"
            + "；".join(f"{zh_name}{'、'.join(z for z, _ in p)}" for (zh_name, _), p in by_dept.items())
            + "）"
        )
        en += (
            ", "
            + " and ".join(parts_en)
            + " ("
            + "; ".join(f"{en_name}: {', '.join(e for _, e in p)}" for (_, en_name), p in by_dept.items())
            + ")"
        )
    zh += f"；校验拒收数据{rejected}行。"
    en += f"; {rejected} {'row was' if rejected == 1 else 'rows were'} rejected by validation."
    return Sentence("submissions", zh, en, numbers)


SENTENCES: list[Callable[[duckdb.DuckDBPyConnection, PlanContext], Sentence]] = [
    sentence_main,
    sentence_binding,
    sentence_expected,
    sentence_secondary,
    sentence_projects,
    sentence_submissions,
]


def sentences(con: duckdb.DuckDBPyConnection, ctx: PlanContext) -> list[Sentence]:
    return [make(con, ctx) for make in SENTENCES]


def verdict_lines(con: duckdb.DuckDBPyConnection, ctx: PlanContext) -> list[Sentence]:
    """The headline sentences `make run` prints: main, binding, other targets, projects."""
    keys = ("main_indicators", "binding_indicators", "other_targets", "projects")
    return [s for s in sentences(con, ctx) if s.key in keys]


def intro(ctx: PlanContext) -> tuple[str, str]:
    plan = ctx.plan
    span = f"{plan['start_year']}—{plan['end_year']}"
    if ctx.kind == FINAL:
        zh = (
            f"{plan['plan_short_zh']}规划期为{span}年。规划期已经结束，本报告以{ctx.as_of.isoformat()}为评估日期，"
            f"对照规划目标，对主要指标、其他量化目标、重大项目和数据报送情况进行总结评估。"
        )
        en = (
            f"The {plan['plan_short_en']} covered {span}. The plan period has ended; this report evaluates, as of "
            f"{ctx.as_of.isoformat()}, the main indicators, the other quantified targets, the major projects and "
            f"the departments' reporting against the plan's targets."
        )
    else:
        zh = (
            f"{plan['plan_short_zh']}规划期为{span}年。本报告以{ctx.as_of.isoformat()}为评估日期，对规划实施进展"
            f"进行中期评估，按照提前实现、快于预期、基本符合预期、滞后于预期对各项指标进行分类。"
        )
        en = (
            f"The {plan['plan_short_en']} covers {span}. This mid-term evaluation, as of {ctx.as_of.isoformat()}, "
            "classes every indicator as achieved early, ahead of, broadly as or lagging behind expectations."
        )
    if ctx.provisional:
        zh += (
            f"{plan['end_year']}年数据的报送截止日为{ctx.final_year_due.isoformat()}，尚未全部到期，"
            "部分指标按已报送的最新年度评估，评估结论为初步结论。"
        )
        en += (
            f" Figures for {plan['end_year']} are due by {ctx.final_year_due.isoformat()}: until then some indicators "
            "are judged on their latest year and the conclusions are provisional."
        )
    return zh, en


METHOD_ZH = (
    "评估方法：主要指标按规划纲要专栏1的基期值和目标值评估。规划期内，完成进度=（实际值−基期值）÷（目标值−基期值），"
    "与按时间（或规划年均增速）应达到的时序进度比较：已达到目标值为提前实现；完成进度超过时序进度10个百分点以上为快于预期；"
    "落后不超过10个百分点为基本符合预期；落后更多或偏离目标方向为滞后于预期。增速类指标比较规划期年均增速与目标增速，"
    "累计类指标比较五年累计值，完成上级下达任务类指标逐年与下达目标比较。",
    "目标年及以后，以最终值判断完成或未完成：水平类指标看目标年实际值是否达到目标，累计类看五年合计，增速类看五年年均增速，"
    "逐年下达类须每年均完成；未完成的给出差距（百分比类指标以百分点计）。已过报送期限仍未报送的为暂无数据，"
    "待上级下达目标或数据不足的为暂无法评估。详细口径见数据仓库文档（attainment_method）。",
)
METHOD_EN = (
    "Method: main indicators are judged against the baseline and target of the plan's table 1. During the plan, "
    "completion = (actual − baseline) / (target − baseline) is compared with the share of the way expected by then "
    "(by time, or along the plan's growth rate): a target already met is achieved early; completion 10 points or "
    "more ahead is ahead of expectations; up to 10 points behind is broadly as expected; further behind, or moving "
    "away from the target, is lagging. Growth-rate targets compare the average growth with the target rate, "
    "cumulative targets the running total, and targets assigned by the superior government each year's figure.",
    "From the target year the final value decides: a level target on the target year's value, a cumulative one on "
    "the five-year total, a growth-rate one on the five-year average growth, yearly assigned targets only when every "
    "year was met; a target missed carries its shortfall (in percentage points for percentages). Figures overdue "
    "are 'no data'; an indicator awaiting its assigned target or with too few data cannot be assessed yet. The "
    "full rules are in the warehouse documentation (attainment_method).",
)


# ------------------------------------------------------------------------------------------ tables


@dataclass
class Table:
    """A table both renderers lay out: bilingual headers, rows of text, optional group headings."""

    key: str  # also the .docx table caption (tblCaption), so checks find it
    caption_zh: str
    caption_en: str
    headers_zh: list[str]
    headers_en: list[str]
    rows: list[list[str]]
    groups: dict[int, str] = field(default_factory=dict)  # row index -> heading row before it
    widths: list[float] | None = None  # relative column widths
    status_column: int | None = None


def _target_text(r: dict) -> str:
    if r["target_method"] == "rate":
        return f"年均{num(r['annual_growth_rate'], natural_decimals(r['annual_growth_rate']))}%"
    if r["target_method"] == "superior_assigned":
        return "完成上级下达任务"
    text = r.get("target_text")
    if text and text not in ("—", "-"):
        return text
    return f"{r['target_operator'] or ''}{num(r['target_value'], natural_decimals(r['target_value']))}"


def _final_value_cell(r: dict) -> str:
    d = decimals_of(r)
    if r["latest_year"] is None:
        return "—"
    method = r["target_method"]
    if r["evaluated_value"] is None:
        return "—"
    value = num(r["evaluated_value"], d)
    if method == "rate":
        text = f"年均{value}"
    elif method == "cumulative":
        text = f"累计{value}"
    elif method == "superior_assigned":
        assigned = r["target_compared"]
        text = (
            f"{value}（下达{num(assigned, natural_decimals(assigned))}）"
            if assigned is not None
            else f"{value}（待下达）"
        )
    else:
        text = value
    return text


def _status_cell(r: dict) -> str:
    return f"{status_zh(r['status'])}"


def _note_cell(r: dict, ctx: PlanContext) -> str:
    if r["evaluation_category"] == "not_achieved":
        return shortfall_phrase(r, "zh")
    if r["evaluation_category"] == "no_data":
        return "尚未到报送期" if r["latest_year"] is None else f"{r['latest_year']}年数据逾期未报"
    if r["evaluation_category"] == "not_assessable":
        return _why_not_assessable(r, "zh")
    if (
        r["target_method"] in ("level", "cumulative")
        and r["completion"] is not None
        and not r["is_final_year"]
    ):
        return f"完成进度{pct(r['completion'])}，时序进度{pct(r['expected_share'])}"
    if r["target_method"] == "rate" and not r["is_final_year"] and r["growth_shortfall"] is not None:
        return f"目标年均{num(r['target_compared'], natural_decimals(r['target_compared']))}%"
    if r["target_method"] in ("superior_assigned", "annual") and r["years_met"] is not None:
        years = (r["years_met"] or 0) + (r["years_missed"] or 0)
        return f"{years}年中{r['years_met']}年完成"
    return ""


MAIN_ROWS = """
    select d.*, s.status, s.evaluation_category, s.evaluation_category_zh, s.evaluation_category_en,
           s.latest_year, s.actual_value, s.evaluated_value, s.target_compared, s.shortfall, s.shortfall_ratio,
           s.years_met, s.years_missed, s.completion, s.expected_share, s.growth_shortfall, s.is_final_year
    from marts.dim_indicators d
    join marts.fct_indicator_status_latest s on s.indicator_key = d.indicator_key
    where d.plan_id = ? and {where}
    order by d.seq
"""


def main_rows(con, ctx: PlanContext) -> list[dict]:
    return _rows(con, MAIN_ROWS.format(where="d.indicator_kind = 'main'"), [ctx.plan_id])


def secondary_rows(con, ctx: PlanContext) -> list[dict]:
    return _rows(con, MAIN_ROWS.format(where="d.indicator_kind <> 'main'"), [ctx.plan_id])


def main_table(rows: list[dict], ctx: PlanContext) -> Table:
    plan = ctx.plan
    value_header = f"{plan['end_year']}年实际" if ctx.kind == FINAL else "最新值"
    headers_zh = [
        "序号",
        "指标",
        "单位",
        f"{plan['baseline_year']}年基期",
        f"{plan['end_year']}年目标",
        value_header,
        "完成情况",
        "评估类别",
        "说明",
        "责任部门",
    ]
    headers_en = [
        "No.",
        "Indicator",
        "Unit",
        f"Baseline {plan['baseline_year']}",
        f"Target {plan['end_year']}",
        "Final value" if ctx.kind == FINAL else "Latest value",
        "Status",
        "Category",
        "Note",
        "Responsible department",
    ]
    table_rows, groups = [], {}
    last_group = None
    for i, r in enumerate(rows, start=1):
        if r["category_zh"] != last_group:
            groups[len(table_rows)] = f"{r['category_zh']} {r['category_en']}"
            last_group = r["category_zh"]
        name = r["name_zh"] + ("〔约束性〕" if r["attribute"] == "binding" else "")
        value = _final_value_cell(r)
        if r["latest_year"] is not None and (ctx.kind == MID_TERM or r["latest_year"] != plan["end_year"]):
            value += f"（{r['latest_year']}年）"
        table_rows.append(
            [
                str(i),
                f"{r['indicator_code']} {name}",
                r["unit"] or "",
                "—" if r["target_method"] == "superior_assigned" else (r["baseline_text"] or "—"),
                _target_text(r),
                value,
                _status_cell(r),
                r["evaluation_category_zh"] or "",
                _note_cell(r, ctx),
                r["owner_department_name_zh"] or r["owner_department_code"] or "",
            ]
        )
    return Table(
        key="main_indicators",
        caption_zh="表1 主要指标完成情况",
        caption_en="Table 1. Main indicators",
        headers_zh=headers_zh,
        headers_en=headers_en,
        rows=table_rows,
        groups=groups,
        widths=[
            0.7,
            2.4,
            0.9,
            1.3,
            1.3,
            1.6,
            1.2,
            1.2,
            1.55,
            1.5,
        ],  # figures such as 62716, [21.2], 68.6（下达68） on one line
        status_column=6,
    )


def secondary_table(rows: list[dict], ctx: PlanContext, key: str, caption_zh: str, caption_en: str) -> Table:
    value_header = "最终值" if ctx.kind == FINAL else "最新值"
    table_rows = []
    for i, r in enumerate(rows, start=1):
        value = _final_value_cell(r)
        if r["latest_year"] is not None and r["latest_year"] != r["target_year"]:
            value += f"（{r['latest_year']}年）"
        table_rows.append(
            [
                str(i),
                f"{r['indicator_code']} {r['name_zh']}",
                r["unit"] or "",
                r["target_text"] or _target_text(r),
                str(r["target_year"]),
                value,
                _status_cell(r),
                r["evaluation_category_zh"] or "",
                _note_cell(r, ctx),
                r["owner_department_name_zh"] or r["owner_department_code"] or "",
            ]
        )
    return Table(
        key=key,
        caption_zh=caption_zh,
        caption_en=caption_en,
        headers_zh=[
            "序号",
            "目标",
            "单位",
            "规划目标",
            "目标年",
            value_header,
            "完成情况",
            "评估类别",
            "说明",
            "责任部门",
        ],
        headers_en=[
            "No.",
            "Target",
            "Unit",
            "Planned",
            "Target year",
            "Value",
            "Status",
            "Category",
            "Note",
            "Department",
        ],
        rows=table_rows,
        widths=[0.8, 2.6, 0.8, 1.5, 1.0, 1.4, 1.3, 1.3, 1.7, 1.6],
        status_column=6,
    )


def yearly_table(con, ctx: PlanContext) -> Table:
    rows = _rows(
        con,
        """select a.indicator_code, a.plan_year, a.actual_value, a.target_method, a.assigned_target, d.seq,
                  d.name_zh, d.unit, d.value_decimals
           from marts.fct_indicator_attainment a join marts.dim_indicators d on d.indicator_key = a.indicator_key
           where a.plan_id = ? and a.indicator_kind = 'main' order by d.seq, a.plan_year""",
        [ctx.plan_id],
    )
    years = sorted({r["plan_year"] for r in rows})
    by_code: dict[str, dict] = {}
    for r in rows:
        entry = by_code.setdefault(r["indicator_code"], {"row": r, "values": {}})
        text = num(r["actual_value"], decimals_of(r))
        if r["target_method"] == "superior_assigned" and r["assigned_target"] is not None:
            text += f"（{num(r['assigned_target'], natural_decimals(r['assigned_target']))}）"
        entry["values"][r["plan_year"]] = text
    table_rows = [
        [f"{code} {e['row']['name_zh']}", e["row"]["unit"] or ""] + [e["values"].get(y, "—") for y in years]
        for code, e in by_code.items()
    ]
    return Table(
        key="yearly_values",
        caption_zh="附表1 主要指标逐年实际值（括号内为上级下达目标）",
        caption_en="Annex 1. Main indicators year by year (assigned targets in brackets)",
        headers_zh=["指标", "单位"] + [f"{y}年" for y in years],
        headers_en=["Indicator", "Unit"] + [str(y) for y in years],
        rows=table_rows,
        widths=[3.4, 0.8] + [1.0] * len(years),
    )


def project_tables(con, ctx: PlanContext) -> tuple[Table, Table, list[tuple[str, str]]]:
    projects = _rows(
        con,
        """select p.*, d.owner_department_name_zh, d.seq from marts.fct_project_status p
           join marts.dim_projects d on d.project_key = p.project_key
           where p.plan_id = ? order by d.seq""",
        [ctx.plan_id],
    )
    milestones = _rows(
        con,
        """select * from marts.fct_project_milestones where plan_id = ? and milestone_status in ('overdue', 'done_late')
           order by project_code, seq""",
        [ctx.plan_id],
    )
    by_project: dict[str, list] = defaultdict(list)
    for m in milestones:
        by_project[m["project_code"]].append(m)
    delayed_rows, all_rows, warnings = [], [], []

    def rag(p: dict) -> str:
        return STATUS.get(p["rag_status"], (p["rag_status"], ""))[0]

    for i, p in enumerate(projects, start=1):
        progress = "—" if p["percent_complete"] is None else f"{p['percent_complete']:.0f}%"
        all_rows.append(
            [
                str(i),
                f"{p['project_code']} {p['project_name_zh']}",
                p["owner_department_name_zh"] or p["owner_department_code"],
                str(p["planned_end"] or "—"),
                str(p["completed_on"] or "—"),
                progress,
                rag(p),
            ]
        )
        if p["is_progress_inconsistent"]:
            warnings.append(
                (
                    f"{p['project_code']} {p['project_name_zh']}：竣工里程碑已于{p['completed_on']}报告完成，但最近一次"
                    f"进度报告（{p['last_progress_report_date']}）的形象进度为{p['percent_complete']:.0f}%，两者不一致，"
                    f"请责任单位（{p['owner_department_name_zh']}）核实后更正。",
                    f"{p['project_code']} {p['project_name_en']}: reported completed on {p['completed_on']}, yet the last "
                    f"progress report ({p['last_progress_report_date']}) says {p['percent_complete']:.0f}%; the "
                    "responsible department should confirm one or correct the other.",
                )
            )
        late = by_project.get(p["project_code"], [])
        overdue = [m for m in late if m["milestone_status"] == "overdue"]
        if p["rag_status"] in ("red", "amber") or overdue:
            detail = "；".join(
                f"{m['milestone_name_zh']}（计划{m['planned_date']}，逾期{m['days_late']}天）"
                for m in overdue
            )
            delayed_rows.append(
                [
                    f"{p['project_code']} {p['project_name_zh']}",
                    p["owner_department_name_zh"] or p["owner_department_code"],
                    str(p["planned_end"] or "—"),
                    progress,
                    "—" if p["schedule_share_percent"] is None else f"{p['schedule_share_percent']:.0f}%",
                    rag(p),
                    detail or "—",
                ]
            )
    delayed = Table(
        key="delayed_projects",
        caption_zh="表3 进度滞后的重大项目及逾期里程碑",
        caption_en="Table 3. Major projects behind schedule and their overdue milestones",
        headers_zh=["项目", "责任部门", "计划完工", "形象进度", "工期进度", "状态", "逾期里程碑"],
        headers_en=[
            "Project",
            "Department",
            "Planned end",
            "Progress",
            "Schedule",
            "RAG",
            "Overdue milestones",
        ],
        rows=delayed_rows,
        widths=[3.0, 1.6, 1.3, 1.0, 1.0, 0.9, 3.2],
    )
    listing = Table(
        key="projects",
        caption_zh="附表3 重大项目完成情况",
        caption_en="Annex 3. Major projects",
        headers_zh=["序号", "项目", "责任部门", "计划完工", "实际完工", "形象进度", "状态"],
        headers_en=["No.", "Project", "Department", "Planned end", "Completed", "Progress", "RAG"],
        rows=all_rows,
        widths=[0.8, 4.0, 1.8, 1.3, 1.3, 1.0, 0.9],
    )
    return delayed, listing, warnings


def compliance_table(con, ctx: PlanContext) -> Table:
    rows = _rows(
        con,
        """select d.department_name_zh, d.department_code, s.periods_on_time, s.periods_late, s.periods_incomplete,
                  s.periods_missing, s.rows_rejected, s.files_received, s.files_rejected
           from marts.fct_department_scorecard s join marts.dim_departments d on d.department_code = s.department_code
           where s.plan_id = ? order by s.department_code""",
        [ctx.plan_id],
    )
    table_rows = [
        [
            r["department_name_zh"],
            str(r["periods_on_time"]),
            str(r["periods_late"]),
            str(r["periods_incomplete"]),
            str(r["periods_missing"]),
            str(r["files_received"]),
            str(r["files_rejected"]),
            str(r["rows_rejected"]),
        ]
        for r in rows
        if r["files_received"]
        or r["periods_on_time"]
        or r["periods_late"]
        or r["periods_missing"]
        or r["periods_incomplete"]
    ]
    return Table(
        key="submissions",
        caption_zh="表4 各部门数据报送情况",
        caption_en="Table 4. Reporting by department",
        headers_zh=["部门", "按时", "迟报", "未报齐", "缺报", "接收文件", "拒收文件", "拒收数据行"],
        headers_en=[
            "Department",
            "On time",
            "Late",
            "Incomplete",
            "Missing",
            "Files",
            "Files rejected",
            "Rows rejected",
        ],
        rows=table_rows,
        widths=[3.0, 0.8, 0.8, 0.8, 0.8, 0.9, 0.9, 1.0],
    )


# ------------------------------------------------------------------------------------------ document


@dataclass
class Document:
    """Everything the renderers need, gathered once from the marts."""

    ctx: PlanContext
    sentences: list[Sentence]
    main: Table
    secondary_flagged: Table
    secondary_all: Table
    delayed_projects: Table
    projects: Table
    project_warnings: list[tuple[str, str]]
    submissions: Table
    yearly: Table
    flagged_main: list[dict]
    generated_at: str

    def sentence(self, key: str) -> Sentence:
        return next(s for s in self.sentences if s.key == key)


def gather(con: duckdb.DuckDBPyConnection, plan: dict) -> Document:
    ctx = plan_context(con, plan)
    main = main_rows(con, ctx)
    secondary = secondary_rows(con, ctx)
    needs_reading = ("not_achieved", "lagging", "no_data", "not_assessable")
    flagged_secondary = [r for r in secondary if r["evaluation_category"] in needs_reading]
    delayed, listing, warnings = project_tables(con, ctx)
    return Document(
        ctx=ctx,
        sentences=sentences(con, ctx),
        main=main_table(main, ctx),
        secondary_flagged=secondary_table(
            flagged_secondary,
            ctx,
            "other_targets_flagged",
            "表2 未完成、滞后或暂无数据的其他量化目标"
            if ctx.kind == FINAL
            else "表2 滞后于预期或暂无数据的其他量化目标",
            "Table 2. Other targets not achieved, lagging or without data",
        ),
        secondary_all=secondary_table(
            secondary, ctx, "other_targets", "附表2 其他量化目标完成情况", "Annex 2. Other quantified targets"
        ),
        delayed_projects=delayed,
        projects=listing,
        project_warnings=warnings,
        submissions=compliance_table(con, ctx),
        yearly=yearly_table(con, ctx),
        flagged_main=[r for r in main if r["evaluation_category"] in needs_reading],
        generated_at=now_local().isoformat(sep=" ", timespec="seconds"),
    )


def sections(doc: Document) -> list[tuple[str, str, list]]:
    """The report's outline: (heading zh, heading en, blocks). A block is a (zh, en) paragraph, a Table,
    ('heading', zh, en) for a sub-heading or ('list', [(zh, en), ...])."""
    ctx = doc.ctx
    s = doc.sentence
    overview = [intro(ctx)] + [(x.zh, x.en) for x in doc.sentences]
    flagged_heading = (
        ("heading", "未完成及暂无数据指标情况", "Indicators not achieved or without data")
        if ctx.kind == FINAL
        else ("heading", "滞后于预期及暂无数据指标情况", "Indicators lagging or without data")
    )
    main_blocks: list = [(s("main_indicators").zh, s("main_indicators").en), doc.main]
    if doc.flagged_main:
        main_blocks.append(flagged_heading)
        main_blocks.append(
            ("list", [(indicator_item(r, "zh"), indicator_item(r, "en")) for r in doc.flagged_main])
        )
    other_blocks: list = [(s("other_targets").zh, s("other_targets").en)]
    if doc.secondary_flagged.rows:
        other_blocks.append(doc.secondary_flagged)
    other_blocks.append(("全部其他量化目标见附表2。", "All other targets are listed in Annex 2."))
    project_blocks: list = [(s("projects").zh, s("projects").en)]
    if doc.delayed_projects.rows:
        project_blocks.append(doc.delayed_projects)
    if doc.project_warnings:
        project_blocks.append(("heading", "数据一致性提示", "Consistency warnings"))
        project_blocks.append(("list", doc.project_warnings))
    body = [
        ("一、总体情况", "1. Overview", overview),
        ("二、主要指标完成情况", "2. Main indicators", main_blocks),
        ("三、其他目标", "3. Other targets", other_blocks),
        ("四、重大项目", "4. Major projects", project_blocks),
        ("五、报送情况", "5. Reporting", [(s("submissions").zh, s("submissions").en), doc.submissions]),
    ]
    return [
        *_numbered(body),
        ("附表", "Annexes", [doc.yearly, doc.secondary_all, doc.projects]),
        ("评估方法说明", "Method", list(zip(METHOD_ZH, METHOD_EN, strict=True))),
    ]


def _numbered(outline: list[tuple[str, str, list]]) -> list[tuple[str, str, list]]:
    """The body's tables numbered in the order they appear: a table left out (no lagging targets, no delayed
    project) leaves no gap, 表1, 表2, 表3 whatever is there. The annexes keep fixed numbers."""
    n = 0
    numbered = []
    for zh, en, blocks in outline:
        renumbered = []
        for block in blocks:
            if isinstance(block, Table):
                n += 1
                block = replace(
                    block,
                    caption_zh=re.sub(r"^表\d+", f"表{n}", block.caption_zh),
                    caption_en=re.sub(r"^Table \d+", f"Table {n}", block.caption_en),
                )
            renumbered.append(block)
        numbered.append((zh, en, renumbered))
    return numbered


# ------------------------------------------------------------------------------------------ HTML

CSS = """
@page{size:A4;margin:18mm 16mm}
body{font-family:"Noto Serif CJK SC","Source Han Serif SC","SimSun","Songti SC",serif;color:#111;background:#f4f4f4;
margin:0;line-height:1.7}
article{background:#fff;max-width:1100px;margin:0 auto;padding:28px 48px 48px;box-sizing:border-box}
h1{font-size:26px;text-align:center;margin:8px 0 2px;font-weight:bold}
.subtitle{text-align:center;color:#444;font-size:14px;margin-bottom:18px}
h2{font-family:"Noto Sans CJK SC","Source Han Sans SC","SimHei",sans-serif;font-size:20px;margin:28px 0 8px;
break-after:avoid}
h3{font-family:"Noto Sans CJK SC","Source Han Sans SC","KaiTi",sans-serif;font-size:16px;margin:18px 0 6px;break-after:avoid}
p{text-indent:2em;margin:6px 0;font-size:16px}p.en,li .en,.en{color:#555;font-size:13px;text-indent:0;
font-family:"Noto Sans","Helvetica Neue",Arial,sans-serif}
ol.items{margin:4px 0 8px 2em;padding:0;font-size:15px}ol.items li{margin:3px 0}
table{border-collapse:collapse;width:100%;font-size:12.5px;margin:6px 0 14px;line-height:1.4;table-layout:auto}
caption{caption-side:top;font-weight:bold;font-size:14px;padding:4px;text-align:center}
caption .en{display:block;font-weight:normal}
th,td{border:1px solid #555;padding:3px 5px;vertical-align:top;overflow-wrap:anywhere}
th{background:#eee;font-weight:bold;text-align:center}th .en{display:block;font-weight:normal;font-size:10.5px}
tr.group td{background:#f6f6f6;font-weight:bold}
td.status-not_achieved,td.status-off_track{color:#b03000;font-weight:bold}td.status-achieved{color:#006b4f}
thead{display:table-header-group}tr{break-inside:avoid}
.meta{font-size:12px;color:#555;text-align:right;margin-top:30px}
@media print{body{background:#fff}article{max-width:none;padding:0}p.en,.en{color:#444}}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _html_table(table: Table) -> str:
    head = "".join(
        f"<th>{_e(zh)}<span class='en'>{_e(en)}</span></th>"
        for zh, en in zip(table.headers_zh, table.headers_en, strict=True)
    )
    body = []
    for i, row in enumerate(table.rows):
        if i in table.groups:
            body.append(f"<tr class='group'><td colspan='{len(row)}'>{_e(table.groups[i])}</td></tr>")
        cells = []
        for j, cell in enumerate(row):
            css = ""
            if j == table.status_column:
                code = next((k for k, v in STATUS.items() if v[0] == cell), "")
                css = f" class='status-{_e(code)}' data-status='{_e(code)}'"
            cells.append(f"<td{css}>{_e(cell)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not table.rows:
        body.append(f"<tr><td colspan='{len(table.headers_zh)}'>无 · none</td></tr>")
    return (
        f"<table id='{_e(table.key)}'><caption>{_e(table.caption_zh)}<span class='en'>{_e(table.caption_en)}</span>"
        f"</caption><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def render_html(doc: Document) -> str:
    ctx = doc.ctx
    parts = [
        f"<h1>{_e(ctx.title_zh)}</h1>",
        f"<div class='subtitle'>{_e(ctx.title_en)}<br>评估日期 evaluation date <b id='as-of'>{_e(ctx.as_of)}</b>"
        f" · <span id='kind' data-kind='{ctx.kind}'>{_e(KIND_ZH[ctx.kind])} {_e(KIND_EN[ctx.kind])}</span></div>",
    ]
    for number, (heading_zh, heading_en, blocks) in enumerate(sections(doc), start=1):
        parts.append(
            f"<section id='section-{number}'><h2>{_e(heading_zh)} <span class='en'>{_e(heading_en)}</span></h2>"
        )
        for block in blocks:
            if isinstance(block, Table):
                parts.append(_html_table(block))
            elif block[0] == "list":
                items = "".join(f"<li>{_e(zh)}<div class='en'>{_e(en)}</div></li>" for zh, en in block[1])
                parts.append(f"<ol class='items'>{items}</ol>")
            elif block[0] == "heading":
                parts.append(f"<h3>{_e(block[1])} <span class='en'>{_e(block[2])}</span></h3>")
            else:
                parts.append(f"<p>{_e(block[0])}</p><p class='en'>{_e(block[1])}</p>")
        parts.append("</section>")
    parts.append(
        f"<div class='meta'>由规划实施监测数据仓库根据 {_e(ctx.as_of)} 的数据生成 · generated from the warehouse marts "
        f"{_e(doc.generated_at)} (Asia/Shanghai)</div>"
    )
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{_e(ctx.title_zh)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
        f"<body><article>{''.join(parts)}</article></body></html>"
    )


# ------------------------------------------------------------------------------------------ .docx

BODY_FONT = "仿宋_GB2312"  # official documents (GB/T 9704): 仿宋 body, 黑体 level-1 headings, 楷体 level 2
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体_GB2312"
TITLE_FONT = "方正小标宋简体"
TABLE_FONT = "宋体"


def _fonts(
    run, east_asia: str, size: float | None = None, bold: bool | None = None, latin: str = "Times New Roman"
):
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = latin
    rfonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    rfonts.set(qn("w:eastAsia"), east_asia)
    if size is not None:
        run.font.size = Pt(size)
    if bold is not None:
        run.font.bold = bold


def _style_fonts(style, east_asia: str, size: float, bold: bool = False) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    style.font.name = "Times New Roman"
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.color.rgb = RGBColor(0, 0, 0)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asia)


def _page_number(paragraph) -> None:
    """'— 1 —' centred in the footer, the page number a PAGE field Word and WPS keep up to date."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def field(run, code: str) -> None:
        for kind, text in (("begin", None), (None, code), ("separate", None), (None, "1"), ("end", None)):
            if kind:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), kind)
            elif text == code:
                el = OxmlElement("w:instrText")
                el.set(qn("xml:space"), "preserve")
                el.text = code
            else:
                el = OxmlElement("w:t")
                el.text = text
            run._element.append(el)

    _fonts(paragraph.add_run("— "), TABLE_FONT, 14)
    run = paragraph.add_run()
    _fonts(run, TABLE_FONT, 14)
    field(run, " PAGE ")
    _fonts(paragraph.add_run(" —"), TABLE_FONT, 14)


def _table_styles(document):
    """Paragraph styles for table cells (宋体 9 pt, single spacing; the header bold and centred)."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    styles = document.styles
    names = [s.name for s in styles]
    if "Table Text" not in names:
        body = styles.add_style("Table Text", WD_STYLE_TYPE.PARAGRAPH)
        _style_fonts(body, TABLE_FONT, 9)
        body.paragraph_format.space_after = Pt(0)
        body.paragraph_format.space_before = Pt(0)
        body.paragraph_format.line_spacing = 1.0
        body.paragraph_format.first_line_indent = Pt(0)
        head = styles.add_style("Table Header", WD_STYLE_TYPE.PARAGRAPH)
        head.base_style = body
        _style_fonts(head, TABLE_FONT, 9, bold=True)
        head.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return styles["Table Text"], styles["Table Header"]


def _docx_table(document, table: Table) -> None:
    """A table with a repeated header row, rows never split across pages, widths in the grid and the cells.

    Rows are added one by one and their cells taken from the row's own XML: python-docx's `row.cells`
    walks the whole table each time, which made a report with a few thousand cells take seconds."""
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm
    from docx.table import _Cell

    caption = document.add_paragraph(style="Caption")
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _fonts(caption.add_run(table.caption_zh), HEADING_FONT, 12, bold=False)
    caption.paragraph_format.keep_with_next = True
    columns = len(table.headers_zh)
    grid = document.add_table(rows=1, cols=columns)
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    caption_el = OxmlElement("w:tblCaption")  # lets a check find the table: docx_tables()
    caption_el.set(qn("w:val"), table.key)
    grid._tbl.tblPr.append(caption_el)
    text_width = 156.0  # mm between the GB/T 9704 margins
    weights = table.widths or [1.0] * columns
    widths = [Mm(text_width * w / sum(weights)) for w in weights]
    for j, width in enumerate(widths):  # the grid (LibreOffice, WPS); new rows copy it into each cell (Word)
        grid.columns[j].width = width

    body_style, head_style = (s.style_id for s in _table_styles(document))

    def fill(cell, text: str, bold: bool = False, center: bool = False) -> None:
        para = cell.paragraphs[0]
        # fonts come from the style (per-run fonts and the Paragraph.style setter are slow on large tables)
        para._p.style = head_style if bold else body_style
        if center and not bold:
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        para.add_run(text)

    def add_row(texts: list[str], merged: bool = False, bold: bool = False) -> None:
        row = grid.add_row()
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))  # a row is never cut across pages
        cells = [_Cell(tc, grid) for tc in row._tr.tc_lst]
        if merged:
            fill(cells[0].merge(cells[-1]), texts[0], bold=bold, center=texts[0] == "无")
            return
        for j, text in enumerate(texts):
            fill(cells[j], text, center=(j == 0 and text.isdigit()))

    header = grid.rows[0]
    header._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    repeat = OxmlElement("w:tblHeader")  # the header row repeats on every page
    repeat.set(qn("w:val"), "true")
    header._tr.get_or_add_trPr().append(repeat)
    for j, tc in enumerate(header._tr.tc_lst):
        cell = _Cell(tc, grid)
        cell.width = widths[j]
        fill(cell, table.headers_zh[j], bold=True, center=True)
        shading = OxmlElement("w:shd")
        shading.set(qn("w:val"), "clear")
        shading.set(qn("w:fill"), "E7E6E6")
        tc.get_or_add_tcPr().append(shading)
    if not table.rows:
        add_row(["无"], merged=True)
    for i, row in enumerate(table.rows):
        if i in table.groups:
            add_row([table.groups[i]], merged=True, bold=True)
        add_row(row)


def render_docx(doc: Document, path: Path) -> Path:
    from docx import Document as Docx
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    ctx = doc.ctx
    document = Docx()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    _page_number(section.footer.paragraphs[0])
    section.footer.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    styles = document.styles
    _style_fonts(styles["Normal"], BODY_FONT, 16)
    styles["Normal"].paragraph_format.line_spacing = Pt(28)
    styles["Normal"].paragraph_format.space_after = Pt(0)
    _style_fonts(styles["Heading 1"], HEADING_FONT, 16)
    _style_fonts(styles["Heading 2"], SUBHEADING_FONT, 16, bold=True)
    _style_fonts(styles["Caption"], HEADING_FONT, 12)
    for name in ("Heading 1", "Heading 2"):
        styles[name].paragraph_format.space_before = Pt(12)
        styles[name].paragraph_format.space_after = Pt(6)
    document.core_properties.title = ctx.title_zh
    document.core_properties.subject = f"{KIND_ZH[ctx.kind]} {ctx.as_of.isoformat()}"
    document.core_properties.author = "规划实施监测数据仓库"
    document.core_properties.keywords = (
        f"plan_id={ctx.plan_id}; as_of={ctx.as_of.isoformat()}; kind={ctx.kind}"
    )

    title = document.add_paragraph()  # not the template's Title style, which draws a coloured rule
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_before = Pt(24)
    title.paragraph_format.space_after = Pt(12)
    title.paragraph_format.line_spacing = Pt(36)
    _fonts(title.add_run(ctx.title_zh), TITLE_FONT, 22)
    sub = document.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _fonts(
        sub.add_run(f"（评估日期：{ctx.as_of.year}年{ctx.as_of.month}月{ctx.as_of.day}日）"),
        SUBHEADING_FONT,
        16,
    )

    def paragraph(text: str) -> None:
        para = document.add_paragraph()
        para.paragraph_format.first_line_indent = Pt(32)  # two characters
        para.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        _fonts(para.add_run(text), BODY_FONT, 16)

    for heading_zh, _heading_en, blocks in sections(doc):
        h = document.add_heading(level=1)
        _fonts(h.add_run(heading_zh), HEADING_FONT, 16, bold=False)
        for block in blocks:
            if isinstance(block, Table):
                _docx_table(document, block)
            elif block[0] == "list":
                for n, (zh, _en) in enumerate(block[1], start=1):
                    paragraph(f"{n}. {zh}")
            elif block[0] == "heading":
                h2 = document.add_heading(level=2)
                _fonts(
                    h2.add_run(f"（{block[1]}）"),
                    SUBHEADING_FONT,
                    16,
                    True,
                )
            else:
                paragraph(block[0])
    h = document.add_heading(level=1)
    _fonts(h.add_run("附：英文摘要 English summary"), HEADING_FONT, 16, bold=False)
    for text in [intro(ctx)[1]] + [s.en for s in doc.sentences]:
        para = document.add_paragraph()
        _fonts(para.add_run(text), TABLE_FONT, 11, latin="Times New Roman")
        para.paragraph_format.line_spacing = Pt(16)
        para.paragraph_format.space_after = Pt(4)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)  # names its writer: a killed run's leftover is removed (housekeeping.py)
    document.save(str(tmp))
    tmp.replace(path)
    return path


# ------------------------------------------------------------------------------------------ writing


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)  # names its writer: a killed run's leftover is removed (housekeeping.py)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_evaluation(
    con: duckdb.DuckDBPyConnection, plan: dict, out_dir: Path, stem: str | None = None
) -> dict:
    """Write the HTML and the .docx of one plan's evaluation; returns paths and headline counts."""
    doc = gather(con, plan)
    stem = stem or f"evaluation_{plan['plan_id']}"
    html_path = out_dir / f"{stem}.html"
    docx_path = out_dir / f"{stem}.docx"
    _atomic_write(html_path, render_html(doc))
    render_docx(doc, docx_path)
    status_counts = Counter(row[doc.main.status_column] for row in doc.main.rows)
    return {
        "plan_id": plan["plan_id"],
        "kind": doc.ctx.kind,
        "as_of": doc.ctx.as_of.isoformat(),
        "html": html_path,
        "docx": docx_path,
        "title": doc.ctx.title_zh,
        "main_indicators": len(doc.main.rows),
        "status_counts": dict(status_counts),
        "sentences": {s.key: s.numbers for s in doc.sentences},
    }


def write_evaluations(
    con: duckdb.DuckDBPyConnection, out_dir: Path, plan_id: str | None = None, limit: int | None = None
) -> list[dict]:
    """The evaluation of each plan that has begun by the marts' evaluation date. A plan not begun yet (a next
    plan's catalog added early, or a past date pinned) gets none, and an earlier one of it is removed: it
    would describe another date than the marts now hold."""
    selected = plans(con, plan_id)
    if limit is not None and len(selected) > limit:
        selected = selected[:0]
    written = []
    for plan in selected:
        if plan_context(con, plan).started:
            written.append(write_evaluation(con, plan, out_dir))
        else:
            for suffix in (".docx", ".html"):
                (out_dir / f"evaluation_{plan['plan_id']}{suffix}").unlink(missing_ok=True)
    return written


# ------------------------------------------------------------------------------------------ checking


def docx_tables(path: Path) -> dict[str, list[list[str]]]:
    """The tables of a written .docx by their caption key (rows of cell text, header row first)."""
    from docx import Document as Docx
    from docx.oxml.ns import qn

    found = {}
    for table in Docx(str(path)).tables:
        caption = table._tbl.tblPr.find(qn("w:tblCaption"))
        if caption is None:
            continue
        rows = []
        for row in table.rows:
            cells = []
            for cell in row.cells:
                cells.append(cell.text)
            rows.append(cells)
        found[caption.get(qn("w:val"))] = rows
    return found


def docx_text(path: Path) -> str:
    from docx import Document as Docx

    return "\n".join(p.text for p in Docx(str(path)).paragraphs)


def verify_docx(con: duckdb.DuckDBPyConnection, plan_id: str, path: Path) -> list[str]:
    """Where a written .docx disagrees with the marts (empty when it agrees).

    Counted independently of the report's own queries: the status of every main indicator in table 1
    against fct_indicator_status_latest, the number of other targets and projects in the annexes, and
    each category count of the overview sentences against the marts."""
    problems: list[str] = []
    tables = docx_tables(path)
    text = docx_text(path)
    expected_status = dict(
        con.execute(
            """select status, count(*) from marts.fct_indicator_status_latest
               where plan_id = ? and indicator_kind = 'main' group by 1""",
            [plan_id],
        ).fetchall()
    )
    main = tables.get("main_indicators")
    if main is None:
        return ["table 1 (main indicators) is missing"]
    zh_to_code = {status_zh(code): code for code in STATUS_ORDER}
    status_col = main[0].index("完成情况")
    seen: Counter = Counter()
    for row in main[1:]:
        if row[0].isdigit():
            seen[zh_to_code.get(row[status_col], row[status_col])] += 1
    if dict(seen) != expected_status:
        problems.append(f"table 1 statuses {dict(seen)} differ from the marts {expected_status}")
    for key, mart_sql in (
        (
            "other_targets",
            "select count(*) from marts.dim_indicators where plan_id = ? and indicator_kind <> 'main'",
        ),
        ("projects", "select count(*) from marts.fct_project_status where plan_id = ?"),
    ):
        rows = [r for r in tables.get(key, [[]])[1:] if r and r[0].isdigit()]
        expected = con.execute(mart_sql, [plan_id]).fetchone()[0]
        if len(rows) != expected:
            problems.append(f"{key}: {len(rows)} rows in the document, {expected} in the marts")
    categories = dict(
        con.execute(
            """select evaluation_category, count(*) from marts.fct_indicator_status_latest
               where plan_id = ? and indicator_kind = 'main' group by 1""",
            [plan_id],
        ).fetchall()
    )
    labels = dict(
        con.execute(
            """select distinct evaluation_category, evaluation_category_zh from marts.fct_indicator_status_latest
               where plan_id = ?""",
            [plan_id],
        ).fetchall()
    )
    overview = next((line for line in text.split("\n") if "项主要指标" in line), "")
    total = sum(categories.values())
    if total and f"{total}项主要指标" not in overview:
        problems.append(f"the overview does not say {total} main indicators")
    for category, n in categories.items():  # "完成20项", never matched inside "未完成20项"
        if not re.search(
            rf"(^|[，、（：；中]|进展){re.escape(labels.get(category) or category)}{n}项", overview
        ):
            problems.append(f"the overview does not say {labels.get(category)}{n}项 ({category})")
    return problems
