"""The plan catalog (dbt seeds) proven against the plan text in docs/source/."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "dbt_project" / "seeds"
PLAN_TEXT = (REPO / "docs" / "source" / "lixia_14fyp_outline.txt").read_text(encoding="utf-8")


def seed(name: str, plan_id: str | None = "370102_14FYP") -> list[dict]:
    """A seed's rows of one plan (the 14th, typed by hand from its outline, unless told otherwise)."""
    with (SEEDS / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if plan_id is None or r.get("plan_id", plan_id) == plan_id]


def squashed(text: str) -> str:
    """The plan text without page footers and whitespace (line breaks fall mid-sentence)."""
    return re.sub(r"\s+", "", re.sub(r"-\s*\d+\s*-", "", text))


PLAN = squashed(PLAN_TEXT)


def table1_rows() -> dict[int, dict]:
    """Parse 专栏1 straight from the text: one line per indicator, merged cells handled."""
    start = PLAN_TEXT.index("专栏 1")
    end = PLAN_TEXT.index("注：指标体系设置依据")
    lines = [line.strip() for line in PLAN_TEXT[start:end].splitlines() if line.strip()]
    rows: dict[int, dict] = {}
    full = re.compile(r"^(\d{1,2}) (.+（.+?）) (\S+) (\S+) (\S+) (预期性|约束性)$")
    merged = re.compile(r"^(\d{1,2}) (.+?（[^）]+）)\s*(约束性)?(?:\s*完成上\S*)?$")
    for index, line in enumerate(lines):
        if m := full.match(line):
            rows[int(m[1])] = {
                "name_printed": m[2],
                "baseline": m[3],
                "target": m[4],
                "growth": m[5],
                "attribute": m[6],
            }
        elif (m := merged.match(line)) and int(m[1]) <= 33:
            attribute = m[3] or next(x for x in lines[index + 1 :] if x in ("约束性", "预期性"))
            rows[int(m[1])] = {
                "name_printed": m[2],
                "baseline": "完成上级下达任务",
                "target": "完成上级下达任务",
                "growth": "完成上级下达任务",
                "attribute": attribute,
            }
    return rows


def test_table1_has_33_rows_and_the_seed_matches_every_printed_value():
    parsed = table1_rows()
    assert sorted(parsed) == list(range(1, 34))
    main = seed("catalog_main_indicators")
    assert [r["indicator_code"] for r in main] == [f"I{i:02d}" for i in range(1, 34)]
    for row in main:
        printed = parsed[int(row["seq"])]
        assert row["name_printed"] == printed["name_printed"], row["indicator_code"]
        assert row["baseline_text"] == printed["baseline"], row["indicator_code"]
        assert row["target_text"] == printed["target"], row["indicator_code"]
        assert row["annual_growth_text"] == printed["growth"], row["indicator_code"]
        assert row["attribute_zh"] == printed["attribute"], row["indicator_code"]
        assert row["attribute"] == {"预期性": "expected", "约束性": "binding"}[printed["attribute"]]


def test_numeric_interpretation_of_the_printed_values():
    for row in seed("catalog_main_indicators"):
        code = row["indicator_code"]
        baseline, target, growth = row["baseline_text"], row["target_text"], row["annual_growth_text"]
        if baseline not in ("—", "完成上级下达任务"):
            assert float(row["baseline_value"]) == float(baseline.strip("[]")), code
        else:
            assert row["baseline_value"] == "", code
        if target not in ("—", "完成上级下达任务"):
            bare = target.strip("[]")
            operator = re.match(r"^[>＞<]?", bare).group(0).replace("＞", ">")
            assert float(row["target_value"]) == float(bare.lstrip(">＞<")), code
            assert row["target_operator"] == (operator or row["target_operator"]), code
            assert row["is_cumulative"] == ("true" if target.startswith("[") else "false"), code
        if growth not in ("—", "完成上级下达任务"):
            assert float(row["annual_growth_rate"]) == float(growth), code
        assert row["is_superior_assigned"] == ("true" if target == "完成上级下达任务" else "false"), code


def test_binding_indicators_are_exactly_the_printed_ones():
    binding = {r["indicator_code"] for r in seed("catalog_main_indicators") if r["attribute"] == "binding"}
    printed = {f"I{n:02d}" for n, r in table1_rows().items() if r["attribute"] == "约束性"}
    assert binding == printed == {"I16", "I17", "I18", "I19", "I20", "I21", "I22", "I24", "I26", "I31"}


def test_table_notes_and_special_cases_are_recorded():
    main = {r["indicator_code"]: r for r in seed("catalog_main_indicators")}
    assert main["I07"]["is_baseline_estimate"] == "true"  # 2020年完成为预计数
    assert main["I01"]["unit_printed"] == "亿元" and main["I01"]["unit"] == "%"
    assert main["I01"]["target_basis"] == main["I04"]["target_basis"] == "growth_rate"
    assert {c for c, r in main.items() if r["is_cumulative"] == "true"} == {"I06", "I14", "I15"}
    assert main["I08"]["baseline_value"] == main["I31"]["baseline_value"] == ""
    assert main["I27"]["direction"] == "lower_is_better"
    for code in ("I16", "I17", "I18", "I20", "I21"):  # the merged cells
        assert main[code]["target_basis"] == "superior_assigned"
    assert "merged" in main["I17"]["notes"].lower() and "merged" in main["I21"]["notes"].lower()


@pytest.mark.parametrize(
    "name,key", [("catalog_secondary_targets", "target_code"), ("catalog_projects", "project_code")]
)
def test_every_quote_is_in_the_plan_text(name, key):
    sources = {
        p["plan_id"]: squashed((REPO / p["source_document"]).read_text(encoding="utf-8"))
        for p in seed("catalog_plans", None)
    }
    rows = seed(name, None)
    assert {r["plan_id"] for r in rows} == set(sources)
    for row in rows:
        assert squashed(row["quote"]) in sources[row["plan_id"]], (row[key], row["quote"])
        assert row["chapter_zh"].replace(" ", "") in sources[row["plan_id"]], row[key]


def test_secondary_targets_are_many_and_each_value_is_in_its_quote():
    rows = seed("catalog_secondary_targets")
    assert len(rows) > 50
    assert len({r["target_code"] for r in rows}) == len(rows)
    words = {"100": ["百亿"], "50": ["过半"], "1": ["零突破"], "0": ["零增长"], "10": ["前十"]}
    for row in rows:
        value = float(row["target_value"])
        text = f"{value:g}"
        assert text in row["quote"] or any(w in row["quote"] for w in words.get(text, [])), row["target_code"]
        assert row["target_year"] in ("2023", "2025")
        assert row["target_operator"] in (">=", ">", "<=", "<", "=")
        if row["baseline_quote"]:
            assert squashed(row["baseline_quote"]) in PLAN, row["target_code"]


def test_spot_checks_of_secondary_targets():
    by_name = {r["name_zh"]: r for r in seed("catalog_secondary_targets")}
    assert (
        by_name["商务服务业总规模"]["target_value"] == "200" and by_name["商务服务业总规模"]["unit"] == "亿元"
    )
    assert by_name["总部型企业数量"]["target_value"] == "300"
    assert by_name["国际化社区数量"]["target_year"] == "2023"
    assert by_name["累计新增城镇就业"]["is_cumulative"] == "true"
    assert by_name["出生人口性别比"]["direction"] == "lower_is_better"


def test_projects_and_milestones():
    projects = seed("catalog_projects")
    milestones = seed("catalog_project_milestones")
    assert len(projects) >= 40
    names = " ".join(p["name_zh"] for p in projects)
    for expected in (
        "变电站",
        "人民医院东院区",
        "颐养中心",
        "厨余垃圾",
        "工业楼宇",
        "老旧小区",
        "破损山体",
        "主管网清淤",
        "博物馆",
    ):
        assert expected in names, expected
    by_code = {p["project_code"]: p for p in projects}
    assert by_code[next(c for c, p in by_code.items() if "29条" in p["name_zh"])]["quantity_target"] == "29"
    per_project: dict[str, list] = {}
    for m in milestones:
        per_project.setdefault(m["project_code"], []).append(m)
    assert set(per_project) == set(by_code)
    for code, ms in per_project.items():
        ms.sort(key=lambda m: int(m["seq"]))
        dates = [m["planned_date"] for m in ms]
        assert dates == sorted(dates) and len(set(dates)) == len(dates), code
        assert dates[0] == by_code[code]["planned_start"] and dates[-1] == by_code[code]["planned_end"], code
        assert all(m["date_source"] in ("plan", "assumed") for m in ms)


def test_every_item_has_exactly_one_existing_owner():
    departments = {d["department_code"] for d in seed("catalog_departments", None)}
    assert all(code.startswith("370102_") for code in departments)
    for name in ("catalog_main_indicators", "catalog_secondary_targets", "catalog_projects"):
        for row in seed(name, None):
            assert row["owner_department_code"] in departments, (name, row)
    for plan_id in ("370102_14FYP", "370102_15FYP"):
        codes = [r["indicator_code"] for r in seed("catalog_main_indicators", plan_id)] + [
            r["target_code"] for r in seed("catalog_secondary_targets", plan_id)
        ]
        assert len(codes) == len(set(codes)), "indicator and target codes share one namespace per plan"


def test_every_row_carries_the_plan_id():
    plans = {p["plan_id"]: p for p in seed("catalog_plans", None)}
    assert set(plans) == {"370102_14FYP", "370102_15FYP"}
    # successive plans of one district: the 15th's baseline year is the 14th's target year
    assert plans["370102_15FYP"]["baseline_year"] == plans["370102_14FYP"]["end_year"] == "2025"
    for name in (
        "catalog_main_indicators",
        "catalog_secondary_targets",
        "catalog_projects",
        "catalog_project_milestones",
    ):
        assert {r["plan_id"] for r in seed(name, None)} == set(plans)


def test_carried_over_projects_keep_their_code():
    carried = [p for p in seed("catalog_projects", "370102_15FYP") if p["continues_plan_id"]]
    earlier = {p["project_code"]: p for p in seed("catalog_projects")}
    assert {p["project_code"] for p in carried} == {"P017", "P025", "P035", "P047", "P055"}
    for project in carried:
        assert project["continues_plan_id"] == "370102_14FYP"
        assert project["continues_project_code"] == project["project_code"] in earlier
        assert project["owner_department_code"] == earlier[project["project_code"]]["owner_department_code"]
    new = {p["project_code"] for p in seed("catalog_projects", "370102_15FYP")} - {
        p["project_code"] for p in carried
    }
    assert not new & set(earlier)  # other codes are not reused across the region's plans


def test_catalog_is_read_again_when_a_seed_changes_and_each_caller_gets_its_own_copy(tmp_path):
    """Catalog.load parses the seeds once per content: an edit of the same size and timestamp is still seen
    (the key is the files' bytes), and a caller changing its tables does not change the next caller's."""
    import os
    import shutil

    from pipelines.lib.plans.catalog import Catalog

    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    first = Catalog.load(seeds)
    departments = seeds / "catalog_departments.csv"
    text = departments.read_text(encoding="utf-8")
    name = first.departments["name_zh"].iloc[0]
    other = name[:-1] + ("甲" if name[-1] != "甲" else "乙")  # same length in bytes
    assert len(other.encode()) == len(name.encode())
    stat = departments.stat()
    departments.write_text(text.replace(name, other, 1), encoding="utf-8")
    os.utime(departments, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    second = Catalog.load(seeds)
    assert second.departments["name_zh"].iloc[0] == other
    second.indicators.loc[0, "code"] = "CHANGED"
    second.departments.drop(second.departments.index, inplace=True)
    third = Catalog.load(seeds)
    assert third.indicators.loc[0, "code"] != "CHANGED"
    assert third.departments["name_zh"].iloc[0] == other
