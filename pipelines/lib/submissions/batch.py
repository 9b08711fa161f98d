"""Turn the sheets of many received files into two validation batches (one per submission kind).

Cells are parsed here (numbers, periods, dates) but nothing is judged: each row keeps its raw text
next to the parsed value, and the catalog facts a rule needs (owner, unit, ranges, plan years) are
joined on, so the Great Expectations suites in expectations/ can state every rule declaratively
and each failure points back to (file, sheet, row, column).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from ..plans.catalog import Catalog
from .readers import INDICATOR, PROGRESS, Sheet
from .values import (
    free_text,
    name_key,
    normalize_code,
    normalize_text,
    normalize_unit,
    parse_date,
    parse_number,
    parse_period,
    parse_value_type,
)


@dataclass
class SubmissionSheets:
    submission_id: str
    department_code: str
    region_code: str | None
    received_at: datetime
    sheets: list[Sheet]
    date1904: bool = False


def _base(item: SubmissionSheets, sheet: Sheet, row: dict) -> dict:
    return {
        "submission_id": item.submission_id,
        "department_code": item.department_code,
        "region_code": item.region_code,
        "sheet_name": sheet.name,
        "source_row": row["_row"],
        "received_at": item.received_at,
        "received_date": item.received_at.date(),  # plain dates pickle cheaply; typed in enrich
    }


def _formulas(sheet: Sheet) -> dict[int, str]:
    out: dict[int, list[str]] = {}
    for row_no, col in sheet.formula_cells:
        out.setdefault(row_no, []).append(col)
    return {k: ",".join(v) for k, v in out.items()}


def _text(value: object) -> str | None:
    """The cell as the department typed it, for messages (dates/numbers shown plainly)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def indicator_rows(items: list[SubmissionSheets]) -> list[dict]:
    rows = []
    for item in items:
        for sheet in item.sheets:
            if sheet.kind != INDICATOR:
                continue
            formulas = _formulas(sheet)
            heading_unit = normalize_unit(sheet.units.get("value"))  # 数值（亿元）: as if 单位 said 亿元
            for raw in sheet.rows:
                period = parse_period(raw.get("period"))
                number = parse_number(raw.get("value"))
                vtype = parse_value_type(raw.get("value_type"))
                rec = _base(item, sheet, raw)
                rec.update(
                    indicator_code=normalize_code(raw.get("indicator_code")),
                    indicator_name=normalize_text(raw.get("indicator_name")),
                    period_raw=_text(raw.get("period")),
                    period=period.value.label if period.value else None,
                    period_year=period.value.year if period.value else None,
                    period_quarter=period.value.quarter if period.value else None,
                    period_end_date=period.value.end_date if period.value else None,
                    value_type_raw=_text(raw.get("value_type")),
                    value_type=vtype.value,
                    value_raw=_text(raw.get("value")),
                    value=number.value,
                    value_unit=number.unit,
                    unit=normalize_unit(raw.get("unit")) or heading_unit,
                    note=normalize_text(raw.get("note")),
                    explanation=free_text(raw.get("explanation")),
                    formula_columns=formulas.get(raw["_row"]),
                    extra_cells=raw.get("_extra"),
                )
                rows.append(rec)
    return rows


def progress_rows(items: list[SubmissionSheets]) -> list[dict]:
    rows = []
    for item in items:
        for sheet in item.sheets:
            if sheet.kind != PROGRESS:
                continue
            formulas = _formulas(sheet)
            units = {col: normalize_unit(unit) for col, unit in sheet.units.items()}  # 累计完成投资（亿元）
            for raw in sheet.rows:
                report = parse_date(raw.get("report_date"), item.date1904)
                completed = parse_date(raw.get("completed_on"), item.date1904)
                percent = parse_number(raw.get("percent_complete"))
                invest = parse_number(raw.get("investment_to_date"))
                rec = _base(item, sheet, raw)
                rec.update(
                    project_code=normalize_code(raw.get("project_code")),
                    project_name=normalize_text(raw.get("project_name")),
                    milestone_raw=normalize_text(raw.get("milestone")),
                    report_date_raw=_text(raw.get("report_date")),
                    report_date=report.value,
                    completed_on_raw=_text(raw.get("completed_on")),
                    completed_on=completed.value,
                    percent_complete_raw=_text(raw.get("percent_complete")),
                    percent_complete=percent.value,
                    percent_unit=percent.unit or units.get("percent_complete"),
                    investment_to_date_raw=_text(raw.get("investment_to_date")),
                    investment_to_date=invest.value,
                    investment_unit=invest.unit or units.get("investment_to_date"),
                    note=normalize_text(raw.get("note")),
                    formula_columns=formulas.get(raw["_row"]),
                    extra_cells=raw.get("_extra"),
                )
                rows.append(rec)
    return rows


# ------------------------------------------------------------------------------------ enrichment


def _plan_for_year(df: pd.DataFrame, catalog: Catalog, year_col: str) -> pd.Series:
    """The plan of the row's region whose years contain the row's year (None when none does)."""
    plans = catalog.plans[["plan_id", "region_code", "start_year", "end_year"]]
    keyed = df[["region_code", year_col]].reset_index().merge(plans, on="region_code", how="left")
    inside = keyed[(keyed[year_col] >= keyed["start_year"]) & (keyed[year_col] <= keyed["end_year"])]
    inside = inside.sort_values("start_year").drop_duplicates("index", keep="last")
    return inside.set_index("index")["plan_id"].reindex(df.index)


def _other_plan_of_code(df: pd.DataFrame, ind: pd.DataFrame, mask) -> pd.Series:
    """For rows whose code is not in their period's plan but in another plan of the region: which plans
    (so the message can say "2026 belongs to the 15th plan; I33 is a code of the 14th")."""
    out = pd.Series([None] * len(df), index=df.index, dtype=object)
    if not mask.any():
        return out
    spans = {
        r.plan_id: f"{r.plan_id} {r.start_year}–{r.end_year}"
        for r in ind[["plan_id", "start_year", "end_year"]].drop_duplicates().itertuples()
    }
    owners = ind.groupby(["region_code", "indicator_code"])["plan_id"].agg(lambda ids: sorted(set(ids)))
    for index in df.index[mask]:
        plans = owners.get((df.at[index, "region_code"], df.at[index, "indicator_code"]))
        if plans:
            own = spans.get(df.at[index, "plan_id"], df.at[index, "plan_id"])
            out.at[index] = (
                f"{df.at[index, 'period']} → {own}; {df.at[index, 'indicator_code']} → "
                + ", ".join(spans.get(p, p) for p in plans)
            )
    return out


def enrich_indicators(rows: list[dict] | dict[str, list], catalog: Catalog) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df.insert(0, "row_id", range(len(df)))
    df["received_date"] = pd.to_datetime(df["received_date"])
    df["period_end_date"] = pd.to_datetime(df["period_end_date"])
    df["period_year"] = pd.to_numeric(df["period_year"])
    df["plan_id"] = _plan_for_year(df, catalog, "period_year")
    df["plan_years"] = df["region_code"].map(catalog.plan_years_by_region())
    df["period_granularity"] = df["period_quarter"].map(lambda q: None if pd.isna(q) else "quarterly")
    df.loc[df["period"].notna() & df["period_quarter"].isna(), "period_granularity"] = "annual"

    ind = catalog.indicators.merge(
        catalog.plans[["plan_id", "region_code", "start_year", "end_year"]], on="plan_id"
    )
    # A code may exist in several plans of one region (14th and 15th FYP): use the row's plan when
    # known, else the region's latest plan in which the submitting department owns the code (else the
    # region's latest plan), for the facts (owner, unit, range) the rules compare. A code of one plan can be
    # another department's in the next (I04: the statistics bureau's investment growth in the 14th, retail
    # sales of commerce in the 15th): the latest plan alone made one unreadable period reject the bureau's
    # whole file as "another department's code", with a unit to convert.
    ind = ind.rename(columns={"code": "indicator_code"})
    by_plan = ind.drop(columns=["region_code", "start_year", "end_year"])
    facts = [
        "owner_department_code",
        "unit",
        "value_min",
        "value_max",
        "reporting_frequency",
        "is_superior_assigned",
        "name_zh",
        "name_en",
        # for the soft checks (plausibility.py)
        "baseline_value",
        "baseline_year",
        "target_value",
        "is_cumulative",
        "max_change",
        "max_change_basis",
        "change_tolerance",
        "always_moves",
        "unit_slip_factor",
    ]
    exact = df[["plan_id", "indicator_code"]].merge(
        by_plan[["plan_id", "indicator_code", *facts]], how="left"
    )
    candidates = (
        df[["row_id", "region_code", "indicator_code", "department_code"]]
        .merge(ind[["region_code", "indicator_code", "plan_id", *facts]], how="left")
        .assign(own=lambda c: c["owner_department_code"].eq(c["department_code"]))
        .sort_values(["row_id", "own", "plan_id"])
        .drop_duplicates("row_id", keep="last")
        .set_index("row_id")
    )
    loose = candidates.reindex(df["row_id"]).reset_index(drop=True)
    # a period belongs to one plan: its code must be that plan's. Only a row whose period is in no plan
    # (rejected for that) borrows the region's latest plan's facts, for clearer messages about the rest.
    in_plan = df["plan_id"].notna().values
    found = exact["owner_department_code"].notna().values
    for col in facts:
        df["catalog_" + col] = exact[col].where(found | in_plan, loose[col]).values
    df["known_code"] = df["catalog_owner_department_code"].notna()
    _as_catalog_unit(df, catalog, {"unit": df["catalog_unit"], "value_unit": df["catalog_unit"]})
    df["code_in_other_plan"] = _other_plan_of_code(df, ind, in_plan & ~found)
    names = df["indicator_name"].map(name_key)
    zh = df["catalog_name_zh"].map(name_key)
    en = df["catalog_name_en"].map(name_key)
    df["name_consistent"] = [
        (not n) or (not z) or n in z or z in n or (e and (n in e or e in n))
        for n, z, e in zip(names, zh, en, strict=True)
    ]
    df["value_min_allowed"] = pd.to_numeric(df.pop("catalog_value_min"))
    df["value_max_allowed"] = pd.to_numeric(df.pop("catalog_value_max"))
    df["value"] = pd.to_numeric(df["value"])
    # Q4 is the whole year: the same file's annual value for that year, to warn when the two differ
    keys = ["submission_id", "indicator_code", "value_type", "period_year"]
    annual = (
        df.loc[df["period_granularity"].eq("annual") & df["value"].notna(), [*keys, "value"]]
        .drop_duplicates(keys)
        .rename(columns={"value": "annual_value_in_file"})
    )
    annual_value = df[keys].merge(annual, on=keys, how="left")["annual_value_in_file"]
    df["annual_value_in_file"] = annual_value.where(df["period_quarter"].eq(4).values).values
    return df


def _as_catalog_unit(df: pd.DataFrame, catalog: Catalog, units: dict) -> None:
    """A unit written another way the units seed lists (个百分点 for 百分点, ㎡ for 平方米) is the catalog's unit:
    the rules compare spellings, and the same unit is no unit to convert."""
    for col, catalog_unit in units.items():
        if col not in df:
            continue
        wanted = (
            catalog_unit if isinstance(catalog_unit, pd.Series) else pd.Series(catalog_unit, index=df.index)
        )
        same = [catalog.same_unit(u, c) for u, c in zip(df[col], wanted, strict=True)]
        df[col] = df[col].where(~pd.Series(same, index=df.index, dtype=bool), wanted)


def _plan_for_project(df: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """For each progress row, the plan (and that plan's facts) its project code belongs to: the plan of
    the row's region covering the report date when it has the code (a carried-over project keeps its code
    in the later plan), else the nearest plan of the region that has it (a project overrunning a plan
    that no later plan carries); without a readable date, the region's latest plan with the code."""
    projects = catalog.projects.merge(catalog.plans, on="plan_id")[
        [
            "plan_id",
            "region_code",
            "project_code",
            "owner_department_code",
            "baseline_year",
            "start_year",
            "end_year",
        ]
    ]
    keyed = (
        df[["region_code", "project_code", "report_date"]]
        .reset_index()
        .merge(projects, on=["region_code", "project_code"], how="left")
    )
    year = keyed["report_date"].dt.year
    keyed["distance"] = (keyed["start_year"] - year).clip(lower=0) + (year - keyed["end_year"]).clip(lower=0)
    keyed["distance"] = keyed["distance"].fillna(0)
    keyed = keyed.sort_values(["index", "distance", "start_year"], ascending=[True, True, False])
    chosen = keyed.drop_duplicates("index").set_index("index").reindex(df.index)
    return chosen.reset_index(drop=True)


def enrich_progress(rows: list[dict] | dict[str, list], catalog: Catalog) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df.insert(0, "row_id", range(len(df)))
    for col in ("received_date", "report_date", "completed_on"):
        df[col] = pd.to_datetime(df[col])
    merged = _plan_for_project(df, catalog)
    df["plan_id"] = merged["plan_id"].values
    df["catalog_owner_department_code"] = merged["owner_department_code"].values
    df["known_project"] = df["plan_id"].notna()
    # plausible dates: reports from the plan's baseline year on; completions up to 5 years earlier
    baseline = pd.to_numeric(merged["baseline_year"])
    df["min_report_date"] = pd.to_datetime(
        baseline.map(lambda y: None if pd.isna(y) else f"{int(y)}-01-01")
    ).values
    df["min_completed_date"] = pd.to_datetime(
        baseline.map(lambda y: None if pd.isna(y) else f"{int(y) - 5}-01-01")
    ).values

    # milestone: its code (START) or its Chinese name (开工, or the project's own wording 启动实施)
    ms = catalog.milestones[["plan_id", "project_code", "milestone_code", "name_zh"]]
    types = catalog.milestone_types[["milestone_code", "name_zh"]].rename(columns={"name_zh": "type_name_zh"})
    ms = ms.merge(types, on="milestone_code", how="left")
    lookup: dict[tuple[str, str, str], str] = {}
    expected: dict[tuple[str, str], str] = {}
    for r in ms.itertuples():
        for label in (r.milestone_code, r.name_zh, r.type_name_zh):
            if isinstance(label, str) and label:
                lookup[(r.plan_id, r.project_code, name_key(label))] = r.milestone_code
        expected.setdefault((r.plan_id, r.project_code), [])
        expected[(r.plan_id, r.project_code)].append(f"{r.milestone_code}/{r.name_zh}")
    df["milestone_code"] = [
        lookup.get((p, c, name_key(m))) if isinstance(p, str) and m else None
        for p, c, m in zip(df["plan_id"], df["project_code"], df["milestone_raw"], strict=True)
    ]
    df["milestones_expected"] = [
        "、".join(expected.get((p, c), [])) if isinstance(p, str) else None
        for p, c in zip(df["plan_id"], df["project_code"], strict=True)
    ]
    for col in ("percent_complete", "investment_to_date"):
        df[col] = pd.to_numeric(df[col])
    _as_catalog_unit(df, catalog, {"percent_unit": "%", "investment_unit": "万元"})
    return df
