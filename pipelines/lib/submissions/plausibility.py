"""Soft checks (核实性审核): is a reported value plausible next to what the department reported before?

A hard check (强制性审核) refuses a row; a soft check keeps it, but the value counts only once the
department explains it in writing (the 说明/explanation column, docs/submissions.md section 7).
For every hard-valid actual value this module finds the **reference** it is compared with and joins
it onto the row, like the other catalog facts; the Great Expectations suite
`expectations/indicator_plausibility.py` then states the rules over these columns:

- the reference is the department's previous *accepted* value of the same indicator for the same
  slot a year earlier (annual or Q4 for an annual value, the same quarter for a year-to-date value;
  if that year is missing, the latest earlier year), as known when the row was received; without one,
  the plan's baseline (annual values only), and for the unit checks the plan's target;
- implausible_change: the value lies outside the indicator's band around the reference
  (catalog max_change / max_change_basis, default by unit in catalog_plausibility_defaults);
- percent_as_fraction / unit_slip: the value times (or divided by) the unit's slip factor (100 for %,
  10,000 for money) would be within a factor of 3 of the reference, e.g. 0.517 for about 50 %;
- same_as_previous_year: for an indicator that always moves (money by default), the value equals last
  year's to every digit.

A value is explained once (docs/submissions.md section 7): a flagged row whose value the department
already explained (the same plan, indicator, period and value, with a 说明, received before the row:
in the previous values passed in, or earlier in the batch) is explained by that explanation
(`prior_explanation`), so the core says what the marts will say.

Values still awaiting an explanation are not references for later years, so one slip does not
make the next, correct year look implausible too. Rows are therefore decided year by year, and the
candidates are limited to what was received before the row (received_at, then submission id): the
same file loaded alone, in a nightly batch or in a rebuild gets the same verdict.

The previous accepted values come from the caller (the pipeline reads them from the working
warehouse, a portal from the published snapshot): nothing here opens a connection.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from .reasons import Bilingual

SOFT_REASONS = ("implausible_change", "percent_as_fraction", "unit_slip", "same_as_previous_year")
SLIP_TOLERANCE = 3.0  # the corrected value must be within this factor of the reference
PREVIOUS_COLUMNS = (
    "plan_id",
    "indicator_code",
    "period",
    "value",
    "received_at",
    "submission_id",
    "explanation",
)
ANNOTATIONS = (
    "reference_value",
    "reference_period",
    "reference_source",
    "plausible_low",
    "plausible_high",
    "change_text",
    "bound_text",
    "slip_factor",
    "suggested_value",
    "same_as_previous",
    "soft_reason",
)

# The previous accepted values (explanation optional: the 说明 given with the value, if any), as a frame or as a function of the batch's (plan_id, indicator_code)
# pairs returning one (so a caller can read only what the batch needs).
PreviousValues = pd.DataFrame | Callable[[pd.DataFrame], pd.DataFrame] | None

PREVIOUS_SQL = """
    select v.plan_id, v.indicator_code, v.period, v.value, v.received_at, v.submission_id, v.explanation
    from raw.indicator_values v
    join wanted w on w.plan_id = v.plan_id and w.indicator_code = v.indicator_code
    where v.value_type = 'actual' and coalesce(v.review_state, 'accepted') in ('accepted', 'explained')
"""


def previous_values_from(con) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Read previous accepted values from a warehouse connection (working file or published snapshot):
    raw.indicator_values holds every accepted version with its review state."""

    def read(keys: pd.DataFrame) -> pd.DataFrame:
        if keys.empty:
            return pd.DataFrame(columns=list(PREVIOUS_COLUMNS))
        cursor = con.cursor()  # its own result set: the caller's connection may be mid-query
        try:
            cursor.register("wanted", keys[["plan_id", "indicator_code"]].drop_duplicates())
            return cursor.execute(PREVIOUS_SQL).fetch_df()
        finally:
            cursor.close()

    return read


def _slot(quarter: pd.Series) -> pd.Series:
    """Annual and Q4 values are the same year-to-date figure (slot 4); Q1–Q3 are their own slots."""
    q = pd.to_numeric(quarter)
    return q.where(q.isin([1, 2, 3]), 4).astype(int)


def _candidates_from_previous(previous: pd.DataFrame) -> pd.DataFrame:
    if previous is None or previous.empty:
        return pd.DataFrame(
            columns=[
                "plan_id",
                "indicator_code",
                "slot",
                "c_year",
                "c_annual",
                "c_value",
                "c_received",
                "c_sub",
                "c_period",
            ]
        )
    period = previous["period"].astype(str)
    year = pd.to_numeric(period.str[:4], errors="coerce")
    quarter = pd.to_numeric(period.str.extract(r"Q([1-4])$")[0], errors="coerce")
    received = (
        pd.to_datetime(previous["received_at"])
        if "received_at" in previous
        else pd.Series(pd.NaT, index=previous.index)
    )
    frame = pd.DataFrame(
        {
            "plan_id": previous["plan_id"].values,
            "indicator_code": previous["indicator_code"].values,
            "slot": _slot(quarter).values,
            "c_year": year.values,
            "c_annual": quarter.isna().values,
            "c_value": pd.to_numeric(previous["value"]).values,
            # values without a receipt time (a portal passing only values) count as received before anything
            "c_received": received.fillna(pd.Timestamp.min).values,
            "c_sub": (
                previous["submission_id"]
                if "submission_id" in previous
                else pd.Series("", index=previous.index)
            )
            .fillna("")
            .astype(str)
            .values,
            "c_period": period.values,
        }
    )
    return frame[frame["c_year"].notna() & frame["c_value"].notna()]


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    text = f"{value:,.4f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def _factor_text(factor: float) -> str:
    return f"{factor:g}" if factor >= 1 else f"1/{1 / factor:g}"


def annotate(rows: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """The reference and soft-check columns for hard-valid actual rows (same index as rows).

    rows needs: row_id, plan_id, indicator_code, period_year, period_quarter, value, received_at,
    submission_id, explanation and the catalog_* plausibility facts joined by batch.enrich_indicators."""
    out = pd.DataFrame(index=rows.index, columns=list(ANNOTATIONS), dtype=object)
    out["same_as_previous"] = False
    out["prior_explanation"] = None
    if rows.empty:
        return out
    work = rows.copy()
    work["slot"] = _slot(work["period_quarter"]).values
    work["_received"] = pd.to_datetime(work["received_at"])
    work["_sub"] = work["submission_id"].astype(str)
    pool = _candidates_from_previous(previous)
    explained = (
        work["explanation"].fillna("").astype(str).str.strip().ne("") if "explanation" in work else False
    )
    work["_explained"] = explained
    # a value explained before (the same value, explained earlier) counts as the marts count it: it can be
    # the reference of later years as a value explained in this file can
    prior = _explained_before(work, previous)
    counts = work["_explained"] | prior.notna()
    for year in sorted(work["period_year"].dropna().unique()):
        cur = work[work["period_year"] == year]
        decided = _decide(cur, pool[pool["c_year"] < year])
        out.loc[decided.index, list(ANNOTATIONS)] = decided[list(ANNOTATIONS)]
        keep = cur[decided["soft_reason"].isna() | counts[cur.index]]
        if not keep.empty:  # what counts can be the reference of later years
            pool = pd.concat(
                [
                    pool,
                    pd.DataFrame(
                        {
                            "plan_id": keep["plan_id"].values,
                            "indicator_code": keep["indicator_code"].values,
                            "slot": keep["slot"].values,
                            "c_year": keep["period_year"].values,
                            "c_annual": keep["period_quarter"].isna().values,
                            "c_value": keep["value"].values,
                            "c_received": keep["_received"].values,
                            "c_sub": keep["_sub"].values,
                            "c_period": keep["period"].values,
                        }
                    ),
                ],
                ignore_index=True,
            )
    out["same_as_previous"] = out["same_as_previous"].fillna(False).astype(bool)
    out["prior_explanation"] = prior
    return out


def _explained_before(work: pd.DataFrame, previous: pd.DataFrame | None) -> pd.Series:
    """Per row, the latest explanation already given for the same value (plan, indicator, period,
    value) before the row was received: with a previous value, or by an earlier row of the batch.
    A department explains a value once (as int_indicator_values_as_of decides in the marts)."""
    found = pd.Series(None, index=work.index, dtype=object)
    given = []
    if previous is not None and not previous.empty and "explanation" in previous:
        text = previous["explanation"].fillna("").astype(str).str.strip()
        p = previous[text.ne("")]
        if not p.empty:
            given.append(
                pd.DataFrame(
                    {
                        "plan_id": p["plan_id"].values,
                        "indicator_code": p["indicator_code"].values,
                        "period": p["period"].astype(str).values,
                        "value": pd.to_numeric(p["value"]).astype(float).values,
                        "e_text": text[text.ne("")].values,
                        "e_received": (
                            pd.to_datetime(p["received_at"]).fillna(pd.Timestamp.min)
                            if "received_at" in p
                            else pd.Series(pd.Timestamp.min, index=p.index)
                        ).values,
                        "e_sub": (
                            p["submission_id"].fillna("").astype(str)
                            if "submission_id" in p
                            else pd.Series("", index=p.index)
                        ).values,
                        "e_row": -1,
                    }
                )
            )
    own = work[work["_explained"]] if "_explained" in work else work.iloc[0:0]
    if not own.empty:
        given.append(
            pd.DataFrame(
                {
                    "plan_id": own["plan_id"].values,
                    "indicator_code": own["indicator_code"].values,
                    "period": own["period"].astype(str).values,
                    "value": own["value"].astype(float).values,
                    "e_text": own["explanation"].astype(str).str.strip().values,
                    "e_received": own["_received"].values,
                    "e_sub": own["_sub"].values,
                    "e_row": own["row_id"].values,
                }
            )
        )
    if not given:
        return found
    keys = pd.DataFrame(
        {
            "_idx": work.index,
            "plan_id": work["plan_id"].values,
            "indicator_code": work["indicator_code"].values,
            "period": work["period"].astype(str).values,
            "value": work["value"].astype(float).values,
            "_received": work["_received"].values,
            "_sub": work["_sub"].values,
            "row_id": work["row_id"].values,
        }
    )
    merged = keys.merge(
        pd.concat(given, ignore_index=True), on=["plan_id", "indicator_code", "period", "value"]
    )
    before = (merged["e_received"] < merged["_received"]) | (
        (merged["e_received"] == merged["_received"]) & (merged["e_sub"] <= merged["_sub"])
    )
    merged = merged[before & (merged["e_row"] != merged["row_id"])]
    latest = merged.sort_values(["_idx", "e_received", "e_sub"], ascending=[True, False, False])
    latest = latest.drop_duplicates("_idx")
    found.loc[latest["_idx"].values] = latest["e_text"].values
    return found


def _decide(cur: pd.DataFrame, pool: pd.DataFrame) -> pd.DataFrame:
    keys = cur[["plan_id", "indicator_code", "slot", "_received", "_sub"]].reset_index(names="_idx")
    merged = keys.merge(pool, on=["plan_id", "indicator_code", "slot"], how="inner")
    known = (merged["c_received"] < merged["_received"]) | (
        (merged["c_received"] == merged["_received"]) & (merged["c_sub"] <= merged["_sub"])
    )
    merged = merged[known].sort_values(
        ["_idx", "c_year", "c_annual", "c_received", "c_sub"], ascending=[True, False, False, False, False]
    )
    best = merged.drop_duplicates("_idx").set_index("_idx")

    d = pd.DataFrame(index=cur.index)
    d["reference_value"] = best["c_value"].reindex(cur.index)
    d["reference_year"] = best["c_year"].reindex(cur.index)
    d["reference_period"] = best["c_period"].reindex(cur.index).astype(object)
    d["reference_source"] = np.where(d["reference_value"].notna(), "previous", None)

    # the plan's baseline for annual (or Q4) values without an earlier accepted one
    baseline_ok = (
        d["reference_value"].isna()
        & cur["slot"].eq(4)
        & cur["catalog_baseline_value"].notna()
        & ~cur["catalog_is_cumulative"].fillna(False).astype(bool)
        & (cur["catalog_baseline_year"] < cur["period_year"])
    )
    d.loc[baseline_ok, "reference_value"] = cur.loc[baseline_ok, "catalog_baseline_value"]
    d.loc[baseline_ok, "reference_year"] = cur.loc[baseline_ok, "catalog_baseline_year"]
    d.loc[baseline_ok, "reference_source"] = "baseline"
    for idx in d.index[baseline_ok]:
        year = int(cur.at[idx, "catalog_baseline_year"])
        d.at[idx, "reference_period"] = Bilingual(f"{year}年基期值", f"{year} baseline")

    value = cur["value"].astype(float)
    ref = pd.to_numeric(d["reference_value"])
    comparable = d["reference_source"].isin(["previous", "baseline"])

    # the change band around the reference
    basis = cur["catalog_max_change_basis"].fillna("none")
    m = pd.to_numeric(cur["catalog_max_change"])
    tolerance = pd.to_numeric(cur["catalog_change_tolerance"]).fillna(0.0)
    half = pd.Series(np.nan, index=cur.index)
    relative = basis.eq("relative")
    points = basis.eq("points")
    half[relative] = np.maximum(ref[relative].abs() * m[relative] / 100.0, tolerance[relative])
    half[points] = np.maximum(m[points], tolerance[points])
    half = half.where(comparable & (half > 0))
    d["plausible_low"] = ref - half
    d["plausible_high"] = ref + half
    outside = half.notna() & ((value < d["plausible_low"]) | (value > d["plausible_high"]))

    # unit slips: also against the plan's target when nothing else is known
    slip_ref = ref.copy()
    use_target = (
        slip_ref.isna()
        & cur["catalog_target_value"].notna()
        & ~cur["catalog_is_cumulative"].fillna(False).astype(bool)
    )
    slip_ref[use_target] = cur.loc[use_target, "catalog_target_value"]
    factor = pd.to_numeric(cur["catalog_unit_slip_factor"])
    slip = pd.Series(np.nan, index=cur.index)
    for direction in (1, -1):
        f = factor if direction == 1 else 1.0 / factor
        corrected = value * f
        ratio = corrected / slip_ref
        near = (
            factor.notna()
            & (value != 0)
            & (slip_ref != 0)
            & (ratio > 1 / SLIP_TOLERANCE)
            & (ratio < SLIP_TOLERANCE)
        )
        slip = slip.where(~(near & slip.isna()), f)
    d["slip_factor"] = slip
    d["suggested_value"] = (value * slip).where(slip.notna())
    slip_source = np.where(use_target, "target", d["reference_source"])
    d["reference_source"] = np.where(slip.notna(), slip_source, d["reference_source"])
    for idx in d.index[use_target & slip.notna()]:
        d.at[idx, "reference_value"] = slip_ref[idx]
        d.at[idx, "reference_period"] = Bilingual("规划目标值", "the plan's target")

    same = (
        comparable
        & cur["catalog_always_moves"].fillna(False).astype(bool)
        & d["reference_year"].eq(cur["period_year"] - 1)
        & ((value - ref).abs() <= 1e-9 * np.maximum(1.0, ref.abs()))
    )
    d["same_as_previous"] = same.astype(bool)

    unit = cur["catalog_unit"].fillna("")
    percent = unit.isin(["%", "百分点"])
    reason = pd.Series(None, index=cur.index, dtype=object)
    reason[outside] = "implausible_change"
    reason[same] = "same_as_previous_year"
    reason[slip.notna()] = np.where(
        percent[slip.notna()] & (slip[slip.notna()] == 100), "percent_as_fraction", "unit_slip"
    )
    d["soft_reason"] = reason

    # words for the messages
    change_text, bound_text = [], []
    for idx in cur.index:
        v, r = value[idx], ref[idx]
        if pd.isna(r) or not comparable[idx]:
            change_text.append(None)
            bound_text.append(None)
            continue
        if points[idx]:
            delta = v - r
            change_text.append(Bilingual(f"{delta:+.1f} 个百分点", f"{delta:+.1f} points"))
            bound_text.append(Bilingual(f"±{m[idx]:g} 个百分点", f"±{m[idx]:g} points"))
        else:
            change_text.append(f"{(v - r) / abs(r) * 100:+.0f}%" if r != 0 else _fmt(v - r))
            extra = f"，±{tolerance[idx]:g} 以内总是合理" if tolerance[idx] > 0 else ""
            extra_en = (
                f"; a change of up to ±{tolerance[idx]:g} is always plausible" if tolerance[idx] > 0 else ""
            )
            bound_text.append(
                Bilingual(f"±{m[idx]:g}%{extra}", f"±{m[idx]:g} %{extra_en}") if relative[idx] else None
            )
    d["change_text"] = change_text
    d["bound_text"] = bound_text
    return d


def message_details(row: dict, reason: str) -> dict:
    """The placeholders a soft-check message quotes (reference, change, bound, suggestion)."""
    slip = row.get("slip_factor")
    return {
        "ref_value": _fmt(float(row["reference_value"])) if pd.notna(row.get("reference_value")) else "—",
        "ref_period": row.get("reference_period") or "—",
        "change": row.get("change_text") or "—",
        "bound": row.get("bound_text") or "—",
        "suggested": _fmt(float(row["suggested_value"])) if pd.notna(row.get("suggested_value")) else "—",
        "factor": _factor_text(1.0 / float(slip)) if pd.notna(slip) and slip else "—",
        "unit": row.get("catalog_unit") or "",
    }
