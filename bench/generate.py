"""Deterministic scale generator: a perturbed copy of the catalog per plan, and its departments' files.

Tiers: district = the shipped sample (one plan); city = Jinan's 12 county-level units; province =
136 plans (Shandong's county-level units); national = 3,000 plans (about China's county-,
prefecture- and province-level plans; generated on demand into bench/work/, never committed). Every plan gets its own baselines and targets (the
catalog scaled by a per-plan factor), its own departments (codes prefixed by the region code) and
submissions for 2021–2025 in the contract's formats: mostly UTF-8 CSV, some GB18030 and XLSX,
quarterly where the catalog says so, project progress, corrections and bad files.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / "work"
GENERATOR_VERSION = "3"
JINAN = [
    "370102",
    "370103",
    "370104",
    "370105",
    "370112",
    "370113",
    "370114",
    "370115",
    "370116",
    "370117",
    "370124",
    "370126",
]
TIERS = {"district": 1, "city": 12, "province": 136, "national": 3000}


def region_codes(count: int) -> list[str]:
    codes = list(JINAN[: min(count, len(JINAN))])
    province, city = 37, 2
    while len(codes) < count:
        for county in range(2, 12):
            if len(codes) == count:
                break
            codes.append(f"{province}{city:02d}{county:02d}")
        city += 1
        if city > 99:  # the national tier: on to the next province's codes
            province, city = province + 1, 1
    return codes


def _factor(region: str) -> float:
    if region == "370102":
        return 1.0
    return 0.8 + (int(hashlib.sha256(region.encode()).hexdigest()[:8], 16) % 4000) / 10000


def _seed(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def _scale(frame: pd.DataFrame, columns: list[str], factor: float, unit_col: str = "unit") -> pd.DataFrame:
    frame = frame.copy()
    for col in columns:
        numbers = pd.to_numeric(frame[col], errors="coerce")
        scaled = (numbers * factor).round(2)
        percent = frame[unit_col].eq("%") if unit_col in frame else False
        keep = frame[unit_col].isin(["%", "比值", "名"]) if unit_col in frame else False
        scaled = scaled.where(~keep, numbers)  # rates and shares are not scaled with the district's size
        scaled = scaled.where(~percent | (scaled <= 100), 100)
        frame[col] = scaled.map(lambda v: "" if pd.isna(v) else (f"{v:.2f}".rstrip("0").rstrip(".")))
    return frame


def build_catalog(count: int, seeds_out: Path) -> list[str]:
    source = REPO / "dbt_project" / "seeds"
    tables = {p.stem: _seed(p) for p in source.glob("catalog_*.csv")}
    # every region gets a copy of the 14th plan (the shipped catalog's other plans are the district's own)
    tables = {
        name: frame[frame["plan_id"] == "370102_14FYP"] if "plan_id" in frame else frame
        for name, frame in tables.items()
    }
    regions = region_codes(count)
    # reference vocabularies (milestone types, evaluation categories) belong to no plan or region: copied once
    shared = {name for name, frame in tables.items() if "plan_id" not in frame and "region_code" not in frame}
    out: dict[str, list[pd.DataFrame]] = {name: [] for name in tables}
    for region in regions:
        plan = f"{region}_14FYP"
        factor = _factor(region)
        shift = timedelta(days=int((factor - 1) * 300))
        for name, frame in tables.items():
            if name in shared:
                continue
            copy = frame.copy()
            if "plan_id" in copy:
                copy["plan_id"] = plan
            if name == "catalog_plans":
                copy["region_code"] = region
                copy["region_name_zh"] = f"区县{region}" if region != "370102" else copy["region_name_zh"]
                copy["region_name_en"] = f"County {region}" if region != "370102" else copy["region_name_en"]
            if name == "catalog_departments":
                copy["region_code"] = region
                copy["department_code"] = region + "_" + copy["short_code"]
            if "owner_department_code" in copy:
                copy["owner_department_code"] = copy["owner_department_code"].str.replace(
                    "370102_", region + "_"
                )
            if name == "catalog_main_indicators":
                copy = _scale(copy, ["baseline_value", "target_value"], factor)
            if name == "catalog_secondary_targets":
                copy = _scale(copy, ["baseline_value", "target_value"], factor)
            for col in ("planned_start", "planned_end", "planned_date"):
                if col in copy and region != "370102":
                    copy[col] = (pd.to_datetime(copy[col]) + shift).dt.strftime("%Y-%m-%d")
            out[name].append(copy)
    seeds_out.mkdir(parents=True, exist_ok=True)
    for name, frames in out.items():
        frame = tables[name] if name in shared else pd.concat(frames, ignore_index=True)
        frame.to_csv(seeds_out / f"{name}.csv", index=False, lineterminator="\n")
    return regions


@lru_cache(maxsize=1)
def _catalog(seeds: Path):
    """The tier's catalog, read once per worker process (read per plan, the national tier's generation
    grew with the square of the plan count: every plan re-read 3,000 plans' seeds)."""
    from pipelines.lib.plans.catalog import Catalog

    return Catalog.load(seeds)


def _plan_files(args) -> list:
    seeds, plan_id, inbox, index = args
    from pipelines.lib.submissions.samples import (
        LIXIA_MISSING_2025,
        LIXIA_NO_ASSIGNED_2025,
        LIXIA_PROFILES,
        generate_plan,
    )

    catalog = _catalog(seeds)
    region = plan_id.split("_")[0]
    rng = random.Random(index)
    profiles = {code: profile for code, profile in LIXIA_PROFILES.items() if rng.random() < 0.7}
    missing = (
        {d.replace("370102_", region + "_") for d in LIXIA_MISSING_2025} if rng.random() < 0.5 else set()
    )
    return generate_plan(
        catalog,
        plan_id,
        inbox,
        seed=14 + index,
        profiles=profiles,
        missing_2025=missing,
        no_assigned_2025=set(LIXIA_NO_ASSIGNED_2025),
        xlsx_share=0.04,
    )


def sync_project(root: Path) -> None:
    """Copy the repository's dbt project (everything but the seeds, which are the tier's catalog) into the tier."""
    project = root / "dbt_project"
    if project.exists():
        for entry in project.iterdir():
            if entry.name in ("seeds", "target", "logs", "dbt_packages"):
                continue
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copytree(
        REPO / "dbt_project",
        project,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "seeds"),
        dirs_exist_ok=True,
    )


PLAN_KEYS = {"plan_id", "region_code", "department_code"}  # a seed with one of these holds plans' rows


def sync_reference_seeds(root: Path) -> None:
    """The seeds that hold no plan's rows (units, evaluation categories, milestone types, plausibility
    defaults) and the seeds' schema file are the repository's, also in a reused tier: build_catalog copies
    them as they are, so a category or a reference seed added since the tier was generated would be missing."""
    source, target = REPO / "dbt_project" / "seeds", root / "dbt_project" / "seeds"
    for path in source.glob("catalog_*.csv"):
        with path.open(encoding="utf-8") as fh:
            header = set(fh.readline().strip().split(","))
        if not header & PLAN_KEYS:
            shutil.copyfile(path, target / path.name)
    shutil.copyfile(source / "_catalog__seeds.yml", target / "_catalog__seeds.yml")


def generate(tier: str, workers: int = 2) -> Path:
    """Write bench/work/<tier>/ (dbt project copy with the tier's catalog, raw inbox); reuse if current."""
    root = WORK / tier
    marker = root / "generated.json"
    if marker.exists() and json.loads(marker.read_text()).get("version") == GENERATOR_VERSION:
        sync_project(root)  # the generated data is reused; the models must be the repository's current ones
        if tier == "district":  # the district's catalog is the repository's
            shutil.copytree(
                REPO / "dbt_project" / "seeds", root / "dbt_project" / "seeds", dirs_exist_ok=True
            )
        else:
            sync_reference_seeds(root)
        return root
    shutil.rmtree(root, ignore_errors=True)
    project = root / "dbt_project"
    sync_project(root)
    raw = root / "raw"
    if tier == "district":
        shutil.copytree(REPO / "dbt_project" / "seeds", project / "seeds")
        shutil.copytree(REPO / "raw" / "inbox", raw / "inbox")
        shutil.copytree(REPO / "raw" / "backfill", raw / "backfill")
    else:
        from pipelines.lib.submissions.samples import write_receipts

        regions = build_catalog(TIERS[tier], project / "seeds")
        shutil.copyfile(
            REPO / "dbt_project" / "seeds" / "_catalog__seeds.yml", project / "seeds" / "_catalog__seeds.yml"
        )
        jobs = [(project / "seeds", f"{region}_14FYP", raw / "inbox", i) for i, region in enumerate(regions)]
        written = []
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for files in pool.map(_plan_files, jobs, chunksize=4):
                written.extend(files)
        write_receipts(written, raw / "backfill" / "receipts.csv")
    files = [p for p in (raw / "inbox").rglob("*") if p.is_file()]
    marker.write_text(
        json.dumps(
            {
                "version": GENERATOR_VERSION,
                "tier": tier,
                "files": len(files),
                "bytes": sum(p.stat().st_size for p in files),
                "generated": date.today().isoformat(),
            }
        )
    )
    return root
