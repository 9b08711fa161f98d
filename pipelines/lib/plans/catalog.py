"""The plan catalog as the validation step needs it, read from the dbt seeds (the one place it lives)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

SEEDS = (
    "catalog_plans",
    "catalog_departments",
    "catalog_main_indicators",
    "catalog_secondary_targets",
    "catalog_projects",
    "catalog_project_milestones",
    "catalog_milestone_types",
)


def _read(seeds_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(seeds_dir / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])


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

    @classmethod
    def load(cls, seeds_dir: Path) -> Catalog:
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
        ]
        main_u = main.rename(columns={"indicator_code": "code"}).assign(indicator_kind="main")
        sec_u = secondary.rename(columns={"target_code": "code"}).assign(
            indicator_kind="secondary", reporting_frequency="annual", is_superior_assigned="false"
        )
        indicators = pd.concat([main_u[cols], sec_u[cols]], ignore_index=True)
        for col in ("value_min", "value_max"):
            indicators[col] = pd.to_numeric(indicators[col])
        indicators["is_superior_assigned"] = indicators["is_superior_assigned"].eq("true")
        return cls(
            plans=plans,
            departments=t["catalog_departments"],
            indicators=indicators,
            projects=t["catalog_projects"],
            milestones=t["catalog_project_milestones"],
            milestone_types=t["catalog_milestone_types"],
            main=main,
            secondary=secondary,
            seeds_dir=seeds_dir,
        )

    def department_region(self) -> dict[str, str]:
        return dict(zip(self.departments["department_code"], self.departments["region_code"], strict=True))

    def plan_years_by_region(self) -> dict[str, str]:
        out: dict[str, list[str]] = {}
        for row in self.plans.itertuples():
            out.setdefault(row.region_code, []).append(f"{row.start_year}–{row.end_year}")
        return {k: ", ".join(v) for k, v in out.items()}
