"""The plan catalog as the validation step needs it, read from the dbt seeds (the one place it lives)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import pandas as pd

from ..submissions.values import unit_key

SEEDS = (
    "catalog_plans",
    "catalog_departments",
    "catalog_main_indicators",
    "catalog_secondary_targets",
    "catalog_projects",
    "catalog_project_milestones",
    "catalog_milestone_types",
    "catalog_plausibility_defaults",
)


UNITS = "catalog_units"  # optional here: a draft's folder may have none (then units compare as written)


def _seeds_key(seeds_dir: Path) -> str:
    """A digest of the seed files' bytes (a missing file counts as empty: reading it then says what is wrong)."""
    digest = hashlib.blake2b(digest_size=16)
    for name in (*SEEDS, UNITS):
        try:
            data = (seeds_dir / f"{name}.csv").read_bytes()
        except OSError:
            data = b"\0missing"
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


_LOADED: dict[Path, tuple[str, Catalog]] = {}  # seeds folder -> (digest of its seeds, the catalog read)


def _unit_groups(seeds_dir: Path) -> dict[str, str]:
    """unit_key of every unit and of its other spellings -> one name per group of units that are one (a
    spelling listed under two units joins them: 百分点 and 个百分点 each list the other)."""
    path = seeds_dir / f"{UNITS}.csv"
    if not path.exists():
        return {}
    units = pd.read_csv(path, dtype=str, keep_default_na=False)
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    for unit, spellings in zip(units["unit"], units.get("also_written", [""] * len(units)), strict=True):
        for other in filter(None, (w.strip() for w in spellings.split(";"))):
            a, b = root(unit_key(unit)), root(unit_key(other))
            parent[max(a, b)] = min(a, b)
    return {key: root(key) for key in list(parent)}


def _read(seeds_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(seeds_dir / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])


def resolve_plausibility(indicators: pd.DataFrame, defaults: pd.DataFrame) -> pd.DataFrame:
    """The soft-check bounds of each indicator (docs/submissions.md, section 7): its own catalog columns
    (max_change, max_change_basis, always_moves) where filled in, else the default for its unit in
    catalog_plausibility_defaults ('*' for any other unit). Five-year cumulative targets report yearly
    increments, which may swing widely: by default they get no change bound (unit slips still count).
    dbt's int_indicators_unioned resolves the same way; tests/test_plausibility.py checks they agree."""
    d = defaults.set_index("unit")
    fallback = d.loc["*"]
    out = indicators.copy()
    listed = out["unit"].isin(d.index)

    def default(col: str) -> pd.Series:
        """The default of `col` for each row's unit ('*' for a unit not listed). Set-based: a lookup per
        row took 270 s for the 3,000 plans of the national bench tier (1.8 M pandas .loc calls)."""
        return out["unit"].map(d[col]).where(listed, fallback[col])

    basis = out["max_change_basis"].where(out["max_change_basis"].notna())
    out["max_change_basis"] = basis.fillna(default("max_change_basis").where(~out["is_cumulative"], "none"))
    out["max_change"] = pd.to_numeric(out["max_change"]).fillna(pd.to_numeric(default("max_change")))
    out["change_tolerance"] = pd.to_numeric(default("change_tolerance"))
    moves = out["always_moves"].where(out["always_moves"].notna(), default("always_moves"))
    out["always_moves"] = moves.eq("true")
    # growth rates may legitimately sit near zero: a fraction-for-percent check would only cry wolf
    slip = pd.to_numeric(default("unit_slip_factor"))
    out["unit_slip_factor"] = slip.where(out["target_basis"].ne("growth_rate"))
    return out


@dataclass
class Catalog:
    plans: pd.DataFrame  # plan_id, region_code, baseline_year, start_year, end_year
    departments: pd.DataFrame  # department_code, region_code, name_zh, name_en
    indicators: pd.DataFrame  # main indicators and secondary targets, one schema
    projects: pd.DataFrame
    milestones: pd.DataFrame  # plan_id, project_code, milestone_code, name_zh
    milestone_types: pd.DataFrame
    main: pd.DataFrame  # the 专栏1 seed with every column (baselines, targets, growth rates)
    secondary: pd.DataFrame  # the secondary-target seed with every column
    seeds_dir: Path
    plausibility_defaults: pd.DataFrame | None = None  # soft-check bounds by unit ('*' = any other)
    unit_groups: dict[str, str] = field(default_factory=dict)  # unit_key of a spelling -> its unit's group

    def same_unit(self, written: object, unit: object) -> bool:
        """Whether a unit as written is the catalog's `unit`: the same spelling, or one the units seed lists as
        another way of writing it (catalog_units.also_written: 个百分点 for 百分点, ㎡ for 平方米)."""
        if not isinstance(written, str) or not isinstance(unit, str):
            return False
        a, b = unit_key(written), unit_key(unit)
        return a == b or self.unit_groups.get(a, a) == self.unit_groups.get(b, b)

    @classmethod
    def load(cls, seeds_dir: Path) -> Catalog:
        """The catalog in `seeds_dir`. A run asks for it in several steps (discovery, ingest, alerts,
        notices; the sensor on every tick): the seeds are parsed again only when their bytes changed, and
        each caller gets its own copy of the tables."""
        key = _seeds_key(seeds_dir)
        cached = _LOADED.get(seeds_dir)
        if cached is None or cached[0] != key:
            cached = (key, cls._parse(seeds_dir))
            _LOADED[seeds_dir] = cached
        return cached[1].copy()

    def copy(self) -> Catalog:
        return replace(
            self,
            **{
                f.name: getattr(self, f.name).copy()
                for f in fields(self)
                if isinstance(getattr(self, f.name), pd.DataFrame)
            },
        )

    @classmethod
    def _parse(cls, seeds_dir: Path) -> Catalog:
        t = {name: _read(seeds_dir, name) for name in SEEDS}
        plans = t["catalog_plans"].copy()
        for col in ("baseline_year", "start_year", "end_year"):
            plans[col] = plans[col].astype(int)
        main = t["catalog_main_indicators"]
        secondary = t["catalog_secondary_targets"]
        cols = [
            "plan_id",
            "code",
            "name_zh",
            "name_en",
            "unit",
            "owner_department_code",
            "reporting_frequency",
            "value_min",
            "value_max",
            "is_superior_assigned",
            "indicator_kind",
            "baseline_value",
            "baseline_year",
            "target_value",
            "is_cumulative",
            "max_change",
            "max_change_basis",
            "always_moves",
            "target_basis",
        ]
        main_u = main.rename(columns={"indicator_code": "code"}).assign(indicator_kind="main")
        sec_u = secondary.rename(columns={"target_code": "code"}).assign(
            indicator_kind="secondary", reporting_frequency="annual", is_superior_assigned="false"
        )
        for frame in (main_u, sec_u):  # catalogs written before the soft checks have no such columns
            for col in ("max_change", "max_change_basis", "always_moves"):
                if col not in frame:
                    frame[col] = None
        indicators = pd.concat([main_u[cols], sec_u[cols]], ignore_index=True)
        for col in ("value_min", "value_max", "baseline_value", "target_value"):
            indicators[col] = pd.to_numeric(indicators[col])
        plan_baseline = indicators["plan_id"].map(
            dict(zip(plans["plan_id"], plans["baseline_year"], strict=True))
        )
        indicators["baseline_year"] = pd.to_numeric(indicators["baseline_year"]).fillna(plan_baseline)
        indicators["is_superior_assigned"] = indicators["is_superior_assigned"].eq("true")
        indicators["is_cumulative"] = indicators["is_cumulative"].eq("true")
        defaults = t["catalog_plausibility_defaults"]
        indicators = resolve_plausibility(indicators, defaults)
        return cls(
            unit_groups=_unit_groups(seeds_dir),
            plans=plans,
            departments=t["catalog_departments"],
            indicators=indicators,
            projects=t["catalog_projects"],
            milestones=t["catalog_project_milestones"],
            milestone_types=t["catalog_milestone_types"],
            main=main,
            secondary=secondary,
            seeds_dir=seeds_dir,
            plausibility_defaults=defaults,
        )

    def department_region(self) -> dict[str, str]:
        return dict(zip(self.departments["department_code"], self.departments["region_code"], strict=True))

    def plan_years_by_region(self) -> dict[str, str]:
        out: dict[str, list[str]] = {}
        for row in self.plans.itertuples():
            out.setdefault(row.region_code, []).append(f"{row.start_year}–{row.end_year}")
        return {k: ", ".join(v) for k, v in out.items()}
