"""Deterministic sample submissions in the contract's formats (illustrative figures, not statistics).

Only baselines and targets come from the plan; every reported figure is invented so the pipeline
has something realistic to chew on: values for 2021–2025 (quarterly where the catalog says so), the
targets assigned each year for the “完成上级下达任务” indicators, quarterly project progress, a few
indicators drifting off track (binding ones among them), a late correction of an earlier period, a
missing submission, a handful of deliberately bad files and a few values that fail a soft check
(核实性审核, LIXIA_PLANTED). Receipt times are recorded in raw/backfill/receipts.csv, as if migrated
from the earlier e-mail process.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import random
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from ..plans.catalog import Catalog
from ..settings import Settings
from .readers import HEADINGS_EN, HEADINGS_ZH, INDICATOR, PROGRESS

INTEGER_UNITS = {"家", "个", "座", "条", "项", "人", "名", "所", "处", "套"}
QUARTER_SHARE = {1: 0.22, 2: 0.47, 3: 0.72, 4: 1.0}

# Illustrative storylines for the Lixia plan (code -> profile); other indicators follow the plan.
LIXIA_PROFILES = {
    "I22": "stalled",  # binding: green coverage stuck around 46.7 -> off track
    "I19": "breach_late",  # binding maintain: air quality drops below 60 in 2024-2025
    "I24": "breach_last",  # binding maintain: livelihood spending share falls below 70 in 2025
    "I31": "slow",  # binding, no baseline: 15-minute life circle coverage grows too slowly
    "I16": "miss_assigned_last",  # binding: energy intensity reduction below the assigned target in 2025
    "I10": "slow",  # expected: high-tech enterprises behind schedule
    "I13": "decline",  # expected: imports and exports fall
    "I05": "slow",  # expected: retail sales below the 5 % path
    "I12": "ahead",  # expected: patents already above target
    "I04": "slow_rate",  # fixed-asset investment grows slower than 10 %
}
LIXIA_MISSING_2025 = {"370102_WATER"}  # binding I17 has no 2025 data although due -> critical no_data
LIXIA_NO_ASSIGNED_2025 = {"I20"}  # awaiting the superior government's 2025 target
# Values that fail a soft check (核实性审核), one per check, and what happens next; every other value of
# the samples passes them (tests/test_plausibility.py):
LIXIA_PLANTED = {
    ("I08", "2025"): "fraction",  # 0.5544 typed for 55.44 % -> percent_as_fraction, never explained
    ("I03", "2023Q2"): "wan_yuan",  # typed in 万元 -> unit_slip; a corrected file follows
    ("I23", "2023"): "copied",  # last year's figure -> same_as_previous_year; explained by a later file
    ("I05", "2025Q4"): "explained_jump",  # +70 % with a 说明 in the same file -> explained at once
}
PLANTED_EXPLANATIONS = {
    "explained_jump": "全区新增两处大型商业综合体于四季度开业，社会消费品零售总额大幅增长，数据经区统计局核实无误。",
    "copied": "经区统计局核实，2023年城镇居民人均可支配收入与上年持平（住户调查样本轮换），数据无误。",
}


@dataclass
class Written:
    department_code: str
    relative_path: str
    sha256: str
    received_at: datetime
    note: str = ""


@dataclass
class GeneratorState:
    rng: random.Random
    inbox: Path
    written: list[Written] = field(default_factory=list)
    received_until: date | None = None  # "today": files that would arrive later are not written


def _seed(*parts: object) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


def _round(value: float, unit: str) -> float:
    if unit in INTEGER_UNITS:
        return float(max(0, round(value)))
    magnitude = abs(value)
    digits = 0 if magnitude >= 10000 else 1 if magnitude >= 100 else 2
    return round(value, digits)


def _expected_share(year: int, y0: int, yt: int, g: float | None) -> float:
    if yt <= y0:
        return 1.0
    if year >= yt:
        return 1.0
    if g:
        return ((1 + g) ** (year - y0) - 1) / ((1 + g) ** (yt - y0) - 1)
    return (year - y0) / (yt - y0)


def simulate_indicator(
    ind: dict, years: list[int], rng: random.Random, profile: str | None
) -> dict[int, dict]:
    """Actual (and assigned target) per year for one indicator, following a storyline."""
    out: dict[int, dict] = {}
    unit = ind["unit"]
    basis = ind["target_basis"]
    g = (
        ind["annual_growth_rate"] / 100
        if ind.get("annual_growth_rate") == ind.get("annual_growth_rate")
        and ind.get("annual_growth_rate") is not None
        else None
    )
    target = ind.get("target_value")
    base = ind.get("baseline_value")
    y0 = int(ind.get("baseline_year") or years[0] - 1)
    yt = int(ind.get("target_year") or years[-1])
    lower = ind["direction"] == "lower_is_better"
    op = ind.get("target_operator") or ">="
    if basis == "growth_rate":
        rate = ind["annual_growth_rate"]
        for y in years:
            pace = 0.62 if profile == "slow_rate" else 1.0
            out[y] = {"actual": round(rate * pace + rng.uniform(-0.6, 0.9), 1)}
        return out
    if basis == "superior_assigned":
        is_share = "比例" in ind["name_zh"]
        for i, y in enumerate(years):
            assigned = round((62 + i * 1.5) if is_share else rng.uniform(2.5, 3.6), 1)
            actual = assigned + rng.uniform(0.2, 0.9)
            if profile == "miss_assigned_last" and y == years[-1]:
                actual = assigned - rng.uniform(0.6, 1.0)
            out[y] = {"assigned": assigned, "actual": round(actual, 1)}
        return out
    if ind.get("is_cumulative"):
        per_year = (target or 0) / max(1, (yt - y0)) * (1.12 if profile != "slow" else 0.6)
        for y in years:
            out[y] = {"actual": _round(per_year * rng.uniform(0.85, 1.2), unit)}
        return out
    if basis == "annual":
        for y in years:
            factor = rng.uniform(1.0, 1.3) if not lower else rng.uniform(0.7, 1.0)
            out[y] = {"actual": _round((target or 1) * factor, unit)}
        return out
    if base is None or base != base:
        # no printed baseline: start somewhere short of the target and move towards it
        start_share = 0.86 if profile != "slow" else 0.8
        base = (target or 1) * (start_share if not lower else 1.08)
        y0 = years[0] - 1
    maintain = _satisfies(base, op, target)
    for y in years:
        e = _expected_share(y, y0, yt, g)
        if maintain:
            margin = abs(target - base) if target != base else max(abs(target) * 0.02, 0.5)
            value = base + (rng.uniform(-0.3, 0.4) * margin if target != base else 0)
            if target == base:  # e.g. 100 -> 100: stay at the target
                value = target
            if (profile == "breach_late" and y >= years[-2]) or (profile == "breach_last" and y == years[-1]):
                value = (
                    target - margin * rng.uniform(0.2, 0.6)
                    if not lower
                    else target + margin * rng.uniform(0.2, 0.6)
                )
            out[y] = {"actual": _round(value, unit)}
            continue
        factor = {"slow": 0.62, "stalled": 0.12, "ahead": 1.35, "decline": -0.5}.get(profile or "", 1.0)
        noise = rng.uniform(-0.07, 0.06)
        value = base + (target - base) * e * (factor + noise)
        if unit == "%":
            value = min(value, 100.0)
        out[y] = {"actual": _round(value, unit)}
    return out


def _satisfies(value, op, target) -> bool:
    if target is None or value is None:
        return False
    return {
        ">=": value >= target,
        ">": value > target,
        "<=": value <= target,
        "<": value < target,
        "=": abs(value - target) < 1e-9,
    }.get(op, False)


# ------------------------------------------------------------------------------------------ writing


def _received(rng: random.Random, due: date, period_end: date, late_share: float = 0.08) -> datetime:
    """On time (between the end of the period and the deadline) or, now and then, late."""
    if rng.random() < late_share:
        day = due + timedelta(days=rng.randint(3, 45))
    else:
        window = max(1, (due - period_end).days - 1)
        day = period_end + timedelta(days=1 + rng.randint(max(0, window - 35), window))
    return datetime(day.year, day.month, day.day, rng.randint(8, 18), rng.randint(0, 59), rng.randint(0, 59))


def _csv_bytes(rows: list[list], encoding: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    text = buffer.getvalue()
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return text.encode(encoding)


def _xlsx_bytes(sheets: dict[str, list[list]], hidden: dict[str, list[list]] | None = None) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    for name, rows in (hidden or {}).items():
        ws = wb.create_sheet(name)
        ws.sheet_state = "hidden"
        for row in rows:
            ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def pinned_xlsx(data: bytes, year: int = 2021) -> bytes:
    """openpyxl stamps the save time into the workbook and the zip: pin both so files are reproducible."""
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    stamp = f"{year}-01-01T00:00:00Z".encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + stamp + rb"\g<3>",
                    content,
                )
            target.writestr(
                zipfile.ZipInfo(info.filename, date_time=(year, 1, 1, 0, 0, 0)),
                content,
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return out.getvalue()


def _write(
    state: GeneratorState, department: str, name: str, data: bytes, received: datetime, note: str = ""
) -> None:
    if state.received_until is not None and received.date() > state.received_until:
        return  # not received yet
    path = state.inbox / department / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".xlsx") and data.startswith(b"PK"):
        data = pinned_xlsx(data)
    path.write_bytes(data)
    state.written.append(
        Written(department, f"{department}/{name}", hashlib.sha256(data).hexdigest(), received, note)
    )


# Ordinary sample files carry no explanation column; the files that explain a value add it (说明).
_PLAIN = [i for i, col in enumerate(HEADINGS_EN[INDICATOR]) if col != "explanation"]
INDICATOR_HEADER_ZH = [HEADINGS_ZH[INDICATOR][i] for i in _PLAIN]
INDICATOR_HEADER_EN = [HEADINGS_EN[INDICATOR][i] for i in _PLAIN]
EXPLAINED_HEADER_ZH = [
    *INDICATOR_HEADER_ZH,
    HEADINGS_ZH[INDICATOR][HEADINGS_EN[INDICATOR].index("explanation")],
]
PROGRESS_HEADER_ZH = HEADINGS_ZH[PROGRESS]


def _fmt_value(value: float, unit: str, rng: random.Random) -> str:
    """How departments type numbers: plain, with thousands separators, with the unit, or with %."""
    text = f"{value:.0f}" if float(value).is_integer() else f"{value}"
    style = rng.random()
    if abs(value) >= 1000 and style < 0.3:
        text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"
    if style > 0.85 and unit and unit != "%":
        text += unit
    elif style > 0.7 and unit == "%":
        text += "%"
    return text


def generate_plan(
    catalog: Catalog,
    plan_id: str,
    inbox: Path,
    *,
    seed: int = 14,
    bad_files: bool = True,
    profiles: dict[str, str] | None = None,
    missing_2025: set[str] | None = None,
    no_assigned_2025: set[str] | None = None,
    last_year: int | None = None,
    xlsx_share: float = 0.2,
    planted: dict[tuple[str, str], str] | None = None,
    received_until: date | None = None,
    projects_until: date | None = None,
    stalled: set[str] | None = None,
) -> list[Written]:
    """One plan's submissions. `received_until` is "today" (later files are not written); progress
    reports cover the quarters up to `projects_until` (the plan's end when a later plan takes over)."""
    rng = random.Random(_seed(plan_id, seed))
    state = GeneratorState(rng=rng, inbox=inbox, received_until=received_until)
    plan = catalog.plans.set_index("plan_id").loc[plan_id]
    start, end = int(plan["start_year"]), int(plan["end_year"])
    years = list(range(start, min(end, last_year or end) + 1))
    indicators = catalog.indicators[catalog.indicators["plan_id"] == plan_id]
    main = catalog_main(catalog, plan_id)
    secondary = catalog.secondary[catalog.secondary["plan_id"] == plan_id]  # once: a tier's catalog is large
    profiles = profiles if profiles is not None else {}
    missing_2025 = missing_2025 or set()
    no_assigned_2025 = no_assigned_2025 or set()
    planted = planted or {}

    simulated: dict[str, dict[int, dict]] = {}
    facts: dict[str, dict] = {}
    for row in indicators.itertuples():
        ind = main.get(row.code) or secondary_facts(catalog, secondary, plan_id, row.code)
        ind.update(unit=row.unit, name_zh=row.name_zh)
        facts[row.code] = ind
        simulated[row.code] = simulate_indicator(
            ind, years, random.Random(_seed(plan_id, row.code, seed)), profiles.get(row.code)
        )

    by_owner: dict[str, list] = {}
    for row in indicators.itertuples():
        by_owner.setdefault(row.owner_department_code, []).append(row)

    encodings = ["utf-8", "utf-8", "utf-8", "utf-8-sig", "gb18030"]
    for department, owned in sorted(by_owner.items()):
        annual = [r for r in owned if r.reporting_frequency == "annual"]
        quarterly = [r for r in owned if r.reporting_frequency == "quarterly"]
        english = rng.random() < 0.15
        for year in years:
            if year == 2025 and department in missing_2025:
                continue
            rows = []
            for r in annual:
                sim = simulated[r.code].get(year)
                if not sim:
                    continue
                if "assigned" in sim and not (year == 2025 and r.code in no_assigned_2025):
                    rows.append(
                        [
                            r.code,
                            r.name_zh,
                            str(year),
                            "下达目标" if not english else "assigned_target",
                            _fmt_value(sim["assigned"], r.unit, rng),
                            r.unit,
                            "上级下达",
                        ]
                    )
                text = _fmt_value(sim["actual"], r.unit, rng)
                rows.append(
                    [
                        r.code,
                        r.name_zh,
                        str(year),
                        "实际值" if not english else "actual",
                        _planted_text(planted.get((r.code, str(year))), text, sim, simulated[r.code], year),
                        r.unit if rng.random() < 0.7 else "",
                        "",
                    ]
                )
            if not rows:
                continue
            received = _received(rng, date(year + 1, 3, 31), date(year, 12, 31))
            header = INDICATOR_HEADER_EN if english else INDICATOR_HEADER_ZH
            if received_until is not None and received.date() > received_until:
                # the year's figures are not in yet; the superior government's targets for it are
                assigned = [r for r in rows if r[3] in ("下达目标", "assigned_target")]
                if assigned:
                    _write(
                        state,
                        department,
                        f"{year}年下达目标.csv",
                        _csv_bytes([header, *assigned], "utf-8"),
                        datetime(year, 5, 8 + len(department) % 10, 10, 0),
                    )
                continue
            if rng.random() < xlsx_share:
                data = _xlsx_bytes(
                    {"指标数据": [header, *rows]},
                    hidden={"说明": [["内部备注，不报送"]]} if rng.random() < 0.5 else None,
                )
                _write(state, department, f"{year}年度指标数据.xlsx", data, received)
            else:
                _write(
                    state,
                    department,
                    f"{year}年度指标数据.csv",
                    _csv_bytes([header, *rows], rng.choice(encodings)),
                    received,
                )
        for year in years:
            for quarter in (1, 2, 3, 4):
                rows = []
                for r in quarterly:
                    sim = simulated[r.code].get(year)
                    if not sim:
                        continue
                    if facts[r.code]["target_basis"] == "growth_rate":
                        value = (
                            sim["actual"]
                            if quarter == 4
                            else round(sim["actual"] + rng.uniform(-0.8, 0.8), 1)
                        )
                    else:
                        value = _round(sim["actual"] * QUARTER_SHARE[quarter], r.unit)
                    text = _fmt_value(value, r.unit, rng)
                    action = planted.get((r.code, f"{year}Q{quarter}"))
                    row = [r.code, r.name_zh, f"{year}Q{quarter}", "实际值", text, r.unit, "年初至季末累计"]
                    if action == "wan_yuan":  # the clerk typed 万元 for a value in 亿元
                        row[4] = f"{value * 10000:.0f}"
                    elif action == "explained_jump":
                        row[4] = f"{_round(value * 1.7, r.unit)}"
                        row.append(PLANTED_EXPLANATIONS[action])
                    rows.append(row)
                if not rows:
                    continue
                q_end = date(year + (quarter == 4), (quarter * 3) % 12 + 1, 1) - timedelta(days=1)
                received = _received(rng, q_end + timedelta(days=20), q_end, late_share=0.05)
                explained = any(len(row) > len(INDICATOR_HEADER_ZH) for row in rows)
                header = EXPLAINED_HEADER_ZH if explained else INDICATOR_HEADER_ZH
                rows = [row + [""] * (len(header) - len(row)) for row in rows]
                _write(
                    state,
                    department,
                    f"{year}Q{quarter}季度数据.csv",
                    _csv_bytes([header, *rows], rng.choice(encodings)),
                    received,
                )

    _projects(
        catalog,
        plan_id,
        state,
        years,
        seed,
        xlsx_share=xlsx_share * 0.75,
        write_until=projects_until,
        stalled=stalled or set(),
    )
    if bad_files:
        _corrections_and_bad_files(catalog, plan_id, state, simulated, years)
    _planted_followups(catalog, plan_id, state, simulated, planted)
    return state.written


def _planted_text(action: str | None, text: str, sim: dict, history: dict[int, dict], year: int) -> str:
    """An annual value as a clerk mistyped it (LIXIA_PLANTED), else as generated."""
    if action == "fraction":
        return f"{sim['actual'] / 100:.4f}"
    if action == "copied":
        return _plain_number(history[year - 1]["actual"])
    return text


def _plain_number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else repr(float(value))


def _planted_followups(catalog: Catalog, plan_id: str, state: GeneratorState, simulated, planted) -> None:
    """What the departments sent after a planted soft-check warning: a corrected value, an explanation."""
    ind = catalog.indicators[catalog.indicators["plan_id"] == plan_id].set_index("code")
    for (code, period), action in sorted(planted.items()):
        if code not in ind.index:
            continue
        owner, unit, name = (
            ind.loc[code, "owner_department_code"],
            ind.loc[code, "unit"],
            ind.loc[code, "name_zh"],
        )
        year = int(period[:4])
        name_prefix = f"{owner}/{period}季度数据." if "Q" in period else f"{owner}/{period}年度指标数据."
        original = next((w for w in state.written if w.relative_path.startswith(name_prefix)), None)
        if original is None:
            continue
        if action == "wan_yuan":
            value = _round(simulated[code][year]["actual"] * QUARTER_SHARE[int(period[-1])], unit)
            rows = [
                INDICATOR_HEADER_ZH,
                [code, name, period, "实际值", f"{value}", unit, "更正：上次误按万元填报，现按亿元报送"],
            ]
            _write(
                state,
                owner,
                f"{period}季度数据（更正）.csv",
                _csv_bytes(rows, "utf-8"),
                original.received_at + timedelta(days=9, hours=2),
                "corrects a unit slip",
            )
        elif action == "copied":
            value = simulated[code][year - 1]["actual"]
            rows = [
                EXPLAINED_HEADER_ZH,
                [code, name, period, "实际值", _plain_number(value), unit, "", PLANTED_EXPLANATIONS[action]],
            ]
            _write(
                state,
                owner,
                f"{period}年度指标数据情况说明.csv",
                _csv_bytes(rows, "utf-8"),
                original.received_at + timedelta(days=21, hours=3),
                "explains a value",
            )


def catalog_main(catalog: Catalog, plan_id: str) -> dict[str, dict]:
    frame = catalog.main[catalog.main["plan_id"] == plan_id]
    out = {}
    for r in frame.to_dict("records"):
        out[r["indicator_code"]] = {
            "target_basis": r["target_basis"],
            "annual_growth_rate": _f(r["annual_growth_rate"]),
            "target_value": _f(r["target_value"]),
            "baseline_value": _f(r["baseline_value"]) if r["is_cumulative"] != "true" else None,
            "baseline_year": int(r["baseline_year"]),
            "target_year": int(r["target_year"]),
            "target_operator": r["target_operator"] if isinstance(r["target_operator"], str) else None,
            "direction": r["direction"],
            "is_cumulative": r["is_cumulative"] == "true",
        }
    return out


def secondary_facts(catalog: Catalog, frame: pd.DataFrame, plan_id: str, code: str) -> dict:
    """One secondary target of the plan (`frame`: the plan's rows of catalog.secondary)."""
    r = frame[frame["target_code"] == code].iloc[0].to_dict()
    return {
        "target_basis": "annual" if r["target_basis"] == "annual" else "value",
        "annual_growth_rate": None,
        "target_value": _f(r["target_value"]),
        "baseline_value": _f(r["baseline_value"]) if r["is_cumulative"] != "true" else None,
        "baseline_year": int(r["baseline_year"])
        if isinstance(r["baseline_year"], str)
        else int(catalog.plans.set_index("plan_id").loc[plan_id, "baseline_year"]),
        "target_year": int(r["target_year"]),
        "target_operator": r["target_operator"],
        "direction": r["direction"],
        "is_cumulative": r["is_cumulative"] == "true",
    }


def _f(value) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    return float(value)


def _projects(
    catalog: Catalog,
    plan_id: str,
    state: GeneratorState,
    years: list[int],
    seed: int,
    horizon: date = date(2026, 9, 30),
    xlsx_share: float = 0.15,
    write_until: date | None = None,
    stalled: set[str] | None = None,
) -> None:
    """Quarterly progress reports while projects run, through the plan period and after it (works
    that slip past the plan's end are still reported) up to the quarter ending on `horizon`. Quarters
    after `write_until` are simulated (so every earlier file stays the same) but not written: once a
    later plan begins, a project continues only if that plan's catalog carries it (under its code)."""
    projects = catalog.projects[catalog.projects["plan_id"] == plan_id]
    milestones = catalog.milestones[catalog.milestones["plan_id"] == plan_id]
    plan_end = date(int(catalog.plans.set_index("plan_id").loc[plan_id, "end_year"]), 12, 31)
    later = catalog.projects[catalog.projects["continues_plan_id"].eq(plan_id)]
    carried = set(later["continues_project_code"])  # carried over by a later plan, under the same code
    # a carried-over project's work began in the earlier plan: its progress continues from there
    sources = catalog.projects[catalog.projects["plan_id"].isin(set(projects["continues_plan_id"].dropna()))]
    earlier = sources.set_index(["plan_id", "project_code"])["planned_start"].to_dict()
    began = {
        p.project_code: earlier.get((p.continues_plan_id, p.continues_project_code), p.planned_start)
        for p in projects.itertuples()
        if isinstance(p.continues_plan_id, str)
    }
    rng = random.Random(_seed(plan_id, "projects", seed))
    actual: dict[tuple[str, str], date | None] = {}
    delay_profile: dict[str, int] = {}
    for p in projects.itertuples():
        roll = rng.random()
        delay_profile[p.project_code] = 0 if roll < 0.6 else 45 if roll < 0.8 else 150 if roll < 0.93 else 400
    for m in milestones.itertuples():
        planned = date.fromisoformat(m.planned_date)
        base_delay = delay_profile[m.project_code]
        delay = base_delay * (0.6 + 0.8 * rng.random()) + rng.randint(-25, 20)
        actual[(m.project_code, m.milestone_code)] = planned + timedelta(days=int(delay))
        if m.project_code in (stalled or ()):
            actual[(m.project_code, m.milestone_code)] = None  # nothing happens: it turns red
    # one project's milestones in order, looked up per quarter (filtering the frame there cost most of a plan's time)
    milestones_of = {
        code: list(frame.sort_values("seq").itertuples())
        for code, frame in milestones.groupby("project_code")
    }
    by_owner: dict[str, list] = {}
    for p in projects.itertuples():
        by_owner.setdefault(p.owner_department_code, []).append(p)
    report_years = list(range(years[0], max(years[-1], horizon.year) + 1))
    for department, owned in sorted(by_owner.items()):
        for year in report_years:
            for quarter in (1, 2, 3, 4):
                q_start = date(year, quarter * 3 - 2, 1)
                q_end = date(year + (quarter == 4), (quarter * 3) % 12 + 1, 1) - timedelta(days=1)
                if q_end > horizon:
                    continue
                rows = []
                for p in owned:
                    start, end = date.fromisoformat(p.planned_start), date.fromisoformat(p.planned_end)
                    if p.project_code in began:
                        start = min(start, date.fromisoformat(began[p.project_code]), date(years[0], 1, 1))
                    if start > q_end:
                        continue
                    ms = milestones_of[p.project_code]
                    total = (end - start).days or 1
                    last_actual = actual[(p.project_code, ms[-1].milestone_code)]
                    if last_actual and last_actual <= q_start:
                        continue  # finished before this quarter: nothing more to report
                    pct = max(
                        0.0,
                        min(100.0, 100.0 * (q_end - start).days / total - delay_profile[p.project_code] / 8),
                    )
                    pending_written = False
                    for m in ms:
                        done = actual[(p.project_code, m.milestone_code)]
                        if done and done <= q_end:
                            rows.append(
                                [
                                    p.project_code,
                                    p.name_zh,
                                    m.milestone_code if rng.random() < 0.6 else m.name_zh,
                                    q_end.isoformat(),
                                    done.isoformat()
                                    if rng.random() < 0.8
                                    else f"{done.year}年{done.month}月{done.day}日",
                                    f"{pct:.0f}",
                                    f"{pct * rng.uniform(20, 60):.1f}",
                                    "",
                                ]
                            )
                        elif not pending_written:
                            pending_written = True
                            rows.append(
                                [
                                    p.project_code,
                                    p.name_zh,
                                    m.milestone_code,
                                    q_end.isoformat(),
                                    "",
                                    f"{pct:.0f}%",
                                    f"{pct * rng.uniform(20, 60):,.1f}",
                                    "推进中",
                                ]
                            )
                if not rows:
                    continue
                received = _received(rng, q_end + timedelta(days=20), q_end, late_share=0.1)
                as_xlsx = rng.random() < xlsx_share
                encoding = None if as_xlsx else rng.choice(["utf-8", "utf-8-sig", "gb18030"])
                name = f"{year}Q{quarter}项目进度"
                if q_end > plan_end:
                    # after the plan: carried-over projects are reported under the next plan; the others
                    # are reported until they are finished, in a separate closing report
                    rows = [r for r in rows if r[0] not in carried]
                    name += "（上一规划项目收尾）"
                if not rows or (write_until is not None and q_end > write_until):
                    continue
                if as_xlsx:
                    _write(
                        state,
                        department,
                        f"{name}.xlsx",
                        _xlsx_bytes({"项目进度": [PROGRESS_HEADER_ZH, *rows]}),
                        received,
                    )
                else:
                    _write(
                        state,
                        department,
                        f"{name}.csv",
                        _csv_bytes([PROGRESS_HEADER_ZH, *rows], encoding),
                        received,
                    )


def _corrections_and_bad_files(
    catalog: Catalog, plan_id: str, state: GeneratorState, simulated, years
) -> None:
    """A late correction and a handful of files departments get wrong, each with a documented outcome."""
    ind = catalog.indicators[catalog.indicators["plan_id"] == plan_id].set_index("code")
    owner = ind["owner_department_code"].to_dict()
    codes = list(ind.index)

    def first(pred):
        return next((c for c in codes if pred(c)), None)

    rate_code = (
        first(lambda c: c.endswith("01") and ind.loc[c, "reporting_frequency"] == "quarterly") or codes[0]
    )
    if len(years) >= 2:
        # late correction: year 2's Q4 (= annual) value resubmitted in May of year 4; it supersedes the original
        year = years[1]
        corrected = round(simulated[rate_code][year]["actual"] - 0.4, 1)
        rows = [
            INDICATOR_HEADER_ZH,
            [
                rate_code,
                ind.loc[rate_code, "name_zh"],
                f"{year}Q4",
                "实际值",
                str(corrected),
                "%",
                f"{year}年数据修订（第四次经济普查后）",
            ],
        ]
        _write(
            state,
            owner[rate_code],
            f"{year}年数据修订.csv",
            _csv_bytes(rows, "utf-8"),
            datetime(year + 2, 5, 12, 10, 30),
            "late correction",
        )
    dept = owner[rate_code]
    other = first(lambda c: owner[c] != dept and not ind.loc[c, "is_superior_assigned"])
    year = years[-1] if len(years) >= 1 else 2025
    # 1. another department's code: the whole file is rejected
    _write(
        state,
        dept,
        "补报数据（含他部门指标）.csv",
        _csv_bytes(
            [
                INDICATOR_HEADER_ZH,
                [rate_code, "", str(year), "实际值", "6.1", "%", ""],
                [other, ind.loc[other, "name_zh"], str(year), "实际值", "1", ind.loc[other, "unit"], ""],
            ],
            "utf-8",
        ),
        datetime(year + 1, 2, 10, 9, 0),
        "other department's code",
    )
    # 2. an HTML page saved as .xlsx
    _write(
        state,
        dept,
        "导出报表.xlsx",
        b"<html><body><table><tr><td>I01</td></tr></table></body></html>",
        datetime(year + 1, 2, 11, 9, 0),
        "disguised html",
    )
    # 3. rows with problems: unknown code, text in a number, future period, conflicting duplicate, unit mismatch
    amount = first(lambda c: owner[c] == dept and ind.loc[c, "unit"] not in ("%",)) or rate_code
    rows = [
        INDICATOR_HEADER_ZH,
        [rate_code, ind.loc[rate_code, "name_zh"], f"{year}Q4", "实际值", "约6.2", "%", "估计值"],
        [rate_code, ind.loc[rate_code, "name_zh"], f"{year}Q3", "实际值", "5.9", "%", "补报"],
        ["X99", "未知指标", str(year), "实际值", "12", "", ""],
        [
            rate_code,
            ind.loc[rate_code, "name_zh"],
            str(year + 6),
            "实际值",
            "6.0",
            "%",
            "",
        ],  # after every plan
        [amount, ind.loc[amount, "name_zh"], str(year), "实际值", "100", "万元", "单位填错"],
        [amount, ind.loc[amount, "name_zh"], f"{year - 1}", "实际值", "2100", ind.loc[amount, "unit"], ""],
        [
            amount,
            ind.loc[amount, "name_zh"],
            f"{year - 1}",
            "实际值",
            "2150",
            ind.loc[amount, "unit"],
            "重复",
        ],
    ]
    _write(
        state,
        dept,
        "问题数据示例.csv",
        _csv_bytes(rows, "utf-8"),
        datetime(year + 1, 2, 12, 9, 0),
        "row-level problems",
    )
    # 4. a header-only file
    _write(
        state,
        dept,
        "空模板.csv",
        _csv_bytes([INDICATOR_HEADER_ZH], "utf-8"),
        datetime(year + 1, 2, 13, 9, 0),
        "header only",
    )
    # 5. UTF-8 text that was mis-converted (mojibake)
    garbled = "指标编号,统计期,数值\r\n".encode().decode("gbk", errors="replace").encode("utf-8")
    _write(
        state,
        dept,
        "乱码文件.csv",
        garbled + b"I01,2025,6.0\r\n",
        datetime(year + 1, 2, 14, 9, 0),
        "mojibake",
    )
    # 6. a workbook whose value is a formula never calculated (written by a script, not Excel)
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "指标数据"
    ws.append(INDICATOR_HEADER_ZH)
    ws.append(
        [
            amount,
            ind.loc[amount, "name_zh"],
            str(year - 1),
            "实际值",
            "=B5*1.05",
            ind.loc[amount, "unit"],
            "公式未计算",
        ]
    )
    buffer = io.BytesIO()
    wb.save(buffer)
    _write(
        state,
        dept,
        "公式未计算.xlsx",
        buffer.getvalue(),
        datetime(year + 1, 2, 15, 9, 0),
        "formula without value",
    )


def write_receipts(written: list[Written], path: Path, append: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "a" if append and path.exists() else "w"
    with path.open(mode, encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        if mode == "w":
            writer.writerow(["department_code", "sha256", "received_at", "original_name", "note"])
        for w in sorted(written, key=lambda w: (w.received_at, w.relative_path)):
            writer.writerow(
                [w.department_code, w.sha256, w.received_at.isoformat(sep=" "), w.relative_path, w.note]
            )


LIXIA_15_TODAY = date(2026, 11, 30)  # the samples end the day before "today" (2026-12-01)
LIXIA_15_STALLED = {"P081"}  # the interchange is still not approved in the autumn: a red project by December
LIXIA_15_MISSING = {("370102_COM", "2026Q3季度数据"), ("370102_EMERG", "2026Q2项目进度")}


def _cross_plan_files(catalog: Catalog, inbox: Path) -> list[Written]:
    """Submissions that show a period resolving to the plan covering it (the 14th's codes for 2025, the
    15th's for 2026), including the mistakes departments make at the change of plan."""
    state = GeneratorState(rng=random.Random(_seed("cross-plan")), inbox=inbox)
    # one file, two plans: a correction of 2025 retail sales (14th plan, I05) sent with the first
    # quarter of 2026 (15th plan, where the same statistic is I04)
    _write(
        state,
        "370102_COM",
        "2025年数据修订及2026年一季度数据.csv",
        _csv_bytes(
            [
                INDICATOR_HEADER_ZH,
                [
                    "I05",
                    "社会消费品零售总额",
                    "2025",
                    "实际值",
                    "1204.6",
                    "亿元",
                    "2025年数据修订（“十四五”目录）",
                ],
                [
                    "I04",
                    "社会消费品零售总额",
                    "2026Q1",
                    "实际值",
                    "301.2",
                    "亿元",
                    "年初至季末累计（“十五五”目录）",
                ],
            ],
            "utf-8",
        ),
        datetime(2026, 4, 18, 15, 20),
        "one file, two plans",
    )
    # the 14th plan's code for 2026: I23 is not a code of the 15th plan (there it is I16, annual)
    _write(
        state,
        "370102_STATS",
        "2026年一季度补充数据.csv",
        _csv_bytes(
            [
                INDICATOR_HEADER_ZH,
                ["I23", "城镇居民人均可支配收入", "2026Q1", "实际值", "24800", "元", "沿用旧模板编号"],
            ],
            "utf-8",
        ),
        datetime(2026, 4, 16, 9, 40),
        "a 14th-plan code for a 15th-plan period",
    )
    return state.written


def write_samples(settings: Settings, raw_dir: Path) -> dict:
    """Regenerate the shipped sample inbox for the Lixia plans (deterministic): the 14th plan's five
    years and the illustrative 15th plan's 2026 up to today, with the files that cross the two."""
    catalog = Catalog.load(settings.seeds_dir)
    inbox = raw_dir / "inbox"
    if inbox.exists():
        for child in inbox.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
    written = generate_samples(catalog, inbox)
    write_receipts(written, raw_dir / "backfill" / "receipts.csv")
    frame = pd.DataFrame([w.__dict__ for w in written])
    return {
        "files": len(written),
        "departments": frame["department_code"].nunique(),
        "bytes": sum((inbox / w.relative_path).stat().st_size for w in written),
    }


def generate_samples(catalog: Catalog, inbox: Path) -> list[Written]:
    plans = catalog.plans.set_index("plan_id")
    later = "370102_15FYP" in plans.index
    written = generate_plan(
        catalog,
        "370102_14FYP",
        inbox,
        profiles=LIXIA_PROFILES,
        missing_2025=LIXIA_MISSING_2025,
        no_assigned_2025=LIXIA_NO_ASSIGNED_2025,
        planted=LIXIA_PLANTED,
    )
    if not later:
        return written
    fifteenth = generate_plan(
        catalog,
        "370102_15FYP",
        inbox,
        seed=15,
        bad_files=False,
        last_year=2026,
        received_until=LIXIA_15_TODAY,
        projects_until=date(2026, 9, 30),
        stalled=LIXIA_15_STALLED,
    )
    for item in list(fifteenth):
        stem = Path(item.relative_path).stem
        if (item.department_code, stem) in LIXIA_15_MISSING:
            (inbox / item.relative_path).unlink()
            fifteenth.remove(item)
    return written + fifteenth + _cross_plan_files(catalog, inbox)
