"""`planwh plan draft | check | add`: a catalog drafted from an outline's text, checked, merged into the seeds.

The drafts are compared with reviewed catalogs: the shipped 14th plan (typed by hand from its outline),
the illustrative 15th plan (drafted with the tool, then reviewed), and two outlines in the layouts of
other published outlines (tests/plans/, synthetic). Recall and precision of the prose targets are
printed in the test output (and recorded in docs/plans.md).
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipelines.cli import main as planwh
from pipelines.lib.plans import draft as drafting
from pipelines.lib.plans.add import add
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.plans.check import check, combined, read_tables
from pipelines.lib.plans.outline import Outline
from tests.conftest import REPO

SEEDS = REPO / "dbt_project" / "seeds"
OUTLINE_14 = REPO / "docs" / "source" / "lixia_14fyp_outline.txt"
OUTLINE_15 = REPO / "docs" / "source" / "lixia_15fyp_outline_illustrative.txt"
HELD_OUT = REPO / "tests" / "plans"


def seed(name: str, plan_id: str) -> list[dict]:
    with (SEEDS / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["plan_id"] == plan_id]


@pytest.fixture(scope="module")
def draft14():
    return drafting.build(Outline.read(OUTLINE_14), "370102_14FYP", "370102")


@pytest.fixture(scope="module")
def draft15():
    return drafting.build(Outline.read(OUTLINE_15), "370102_15FYP", "370102", catalog=Catalog.load(SEEDS))


def english_only(reviews) -> list[str]:
    """The notes of review cells that are not 中文 · English."""
    notes = [note for cell in reviews for note in (cell or "").split("; ") if note]
    return [n for n in notes if " · " not in n or not re.search(r"[\u4e00-\u9fff]", n.split(" · ")[0])]


def test_every_review_note_of_both_outlines_is_chinese_then_english(draft14, draft15):
    """The planning office reviews the draft: what each row asks of them is said in Chinese first."""
    for draft in (draft14, draft15):
        rows = [draft.plan, *draft.main, *draft.secondary, *draft.projects, *draft.milestones]
        assert sum(bool(r.get("review")) for r in rows) > 50
        assert english_only(r.get("review") for r in rows) == []
        assert english_only(r.get("suggestion") for r in rows) == []
        assert english_only(why for _, why in draft.dropped) == []
    assert sum(bool(r.get("suggestion")) for r in [*draft15.main, *draft15.projects]) > 5


def report(capsys, label: str, score: drafting.Score) -> None:
    with capsys.disabled():
        print(
            f"\n[plan draft] {label}: recall {score.found}/{score.expected} = {score.recall:.1%}, "
            f"precision {score.correct}/{score.drafted} = {score.precision:.1%}"
        )


def test_the_draft_reproduces_the_shipped_main_table_cell_for_cell(draft14):
    assert drafting.compare_main(seed("catalog_main_indicators", "370102_14FYP"), draft14.main) == []
    by_code = {r["indicator_code"]: r for r in draft14.main}
    assert "merged cell shared with row 16" in by_code["I17"]["review"]  # a person is told to look
    assert by_code["I01"]["unit"] == "%" and "growth rate" in by_code["I01"]["review"]
    assert all(r["owner_department_code"] == "" for r in draft14.main)  # owners are never guessed


def test_the_draft_finds_the_shipped_secondary_targets(draft14, capsys):
    score = drafting.score_secondary(seed("catalog_secondary_targets", "370102_14FYP"), draft14.secondary)
    report(capsys, "14th outline vs the shipped catalog (88 targets typed by hand)", score)
    assert score.recall >= 0.9, score.missed
    assert score.precision >= 0.8, score.extra
    dropped = {quote for quote, _ in draft14.dropped}
    assert "城区绿化覆盖率达到48%以上" in dropped  # prose repeating a main indicator is not a second target
    years = {r["target_year"] for r in draft14.secondary}
    assert years == {2023, 2025}  # 到2023年 governs its sentence only; the vision (到2035年) is left out


def test_the_draft_finds_candidate_projects_with_their_quantities(draft14):
    shipped = seed("catalog_projects", "370102_14FYP")
    found = {
        p["project_code"]
        for p in shipped
        for d in draft14.projects
        if drafting.squashed(p["quote"]) in d["quote"] or d["quote"] in drafting.squashed(p["quote"])
    }
    assert len(found) >= 0.75 * len(shipped)
    by_name = {d["name_zh"]: d for d in draft14.projects}
    assert (
        by_name["110千伏变电站"]["quantity_target"] == 4.0
        and by_name["110千伏变电站"]["quantity_unit"] == "座"
    )
    assert all("dates are not in the text" in d["review"] for d in draft14.projects)


def test_the_15th_plan_in_the_seeds_is_the_reviewed_draft(draft15, capsys):
    assert drafting.compare_main(seed("catalog_main_indicators", "370102_15FYP"), draft15.main) == []
    score = drafting.score_secondary(seed("catalog_secondary_targets", "370102_15FYP"), draft15.secondary)
    report(capsys, "illustrative 15th outline vs its reviewed catalog", score)
    assert score.recall >= 0.9, score.missed
    # suggestions from the earlier plan of the region: English names and owners (never filled in)
    i01 = next(r for r in draft15.main if r["indicator_code"] == "I01")
    assert i01["name_en"] == "GDP growth rate" and "370102_STATS" in i01["suggestion"]
    assert i01["owner_department_code"] == ""
    assert draft15.plan["start_year"] == 2026 and draft15.plan["baseline_year"] == 2025
    # new projects are numbered after the 14th plan's; a continuation is suggested, not decided
    assert draft15.projects[0]["project_code"] == "P069"
    carried = [p for p in draft15.projects if "continues 370102_14FYP P047" in p["suggestion"]]
    assert carried and carried[0]["continues_project_code"] == ""


@pytest.mark.parametrize("name", ["quandong_cells", "quandong_layout", "national_style"])
def test_the_draft_reads_other_published_layouts(name, capsys):
    expected = yaml.safe_load((HELD_OUT / f"{name}.expected.yml").read_text(encoding="utf-8"))
    draft = drafting.build(Outline.read(HELD_OUT / f"{name}.txt"), "379901_X", "379901")
    for key, value in expected["plan"].items():
        assert draft.plan[key] == value, key
    got = [
        [
            r["indicator_code"],
            r["category_zh"],
            r["name_zh"],
            r["unit"],
            r["baseline_value"],
            r["target_operator"],
            r["target_value"],
            r["attribute"],
            r["target_basis"],
            r["is_cumulative"],
        ]
        for r in draft.main
    ]
    assert got == expected["main"]
    rows = [
        {"target_code": f"E{i}", "target_value": v, "target_year": y, "quote": q}
        for i, (v, y, q) in enumerate(expected["secondary"])
    ]
    score = drafting.score_secondary(rows, draft.secondary)
    report(capsys, f"tests/plans/{name}.txt (synthetic layout)", score)
    assert score.recall >= 0.9, score.missed
    names = " ".join(p["name_zh"] for p in draft.projects)
    assert all(p in names for p in expected["projects"]), names
    # a target with no number or an approximate one says why a person must look
    reviews = " ".join(r["review"] for r in draft.main + draft.secondary)
    assert "not a number" in reviews or "range" in reviews or "左右" in reviews


def test_draft_check_and_add_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "draft"
    assert (
        planwh(
            [
                "plan",
                "draft",
                str(HELD_OUT / "quandong_cells.txt"),
                "--plan-id",
                "379901_14FYP",
                "--region",
                "379901",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    for name in (
        "catalog_plans",
        "catalog_main_indicators",
        "catalog_secondary_targets",
        "catalog_projects",
        "catalog_project_milestones",
    ):
        columns = list(pd.read_csv(out / f"{name}.csv", nrows=0).columns)
        assert columns[: len(drafting.SEED_COLUMNS[name])] == drafting.SEED_COLUMNS[name]
        assert {"confidence", "review"} <= set(columns)
    assert "REVIEW.md" in {p.name for p in out.iterdir()}
    # the planning office reads the review in Chinese, the English beneath it: every note of the review
    # column is 中文 · English, and so are REVIEW.md and the command's summary
    reviews = [
        cell
        for name in (
            "catalog_plans",
            "catalog_main_indicators",
            "catalog_secondary_targets",
            "catalog_projects",
        )
        for cell in pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)["review"]
    ]
    assert sum(bool(cell) for cell in reviews) > 10
    assert english_only(reviews) == []
    review = (out / "REVIEW.md").read_text(encoding="utf-8")
    assert "请逐个文件审核" in review and "review every file" in review and "责任部门" in review
    assert "目录草稿 · draft catalog" in capsys.readouterr().out
    assert planwh(["plan", "check", str(out)]) == 1
    lines = capsys.readouterr().out.splitlines()
    owner_lines = [line for line in lines if "owner_department_code: 空白" in line]
    assert len(owner_lines) == 13 + 12 + 2  # every main indicator, prose target and project, one line each
    # Chinese first, English after, as everywhere in the command line
    assert owner_lines[0] == (
        f"{out}/catalog_main_indicators.csv:2 [379901_14FYP I01] owner_department_code: "
        "空白：每个事项需要且只能有一个责任部门（catalog_departments 中的 department_code） · "
        "blank: every item needs exactly one owner (a department_code of catalog_departments)"
    )
    assert all(re.search(r": [^·]*[\u4e00-\u9fff][^·]* · [ -~]", line) for line in lines), lines
    assert planwh(["plan", "check"]) == 0  # the shipped seeds are clean


def write_tables(tables: dict[str, pd.DataFrame], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")


def reviewed_quandong(tmp_path: Path) -> Path:
    """What a reviewer makes of the draft: owners from a new department, dates, one project kept."""
    draft = drafting.build(
        Outline.read(HELD_OUT / "quandong_cells.txt"),
        "379901_14FYP",
        "379901",
        source_document="tests/plans/quandong_cells.txt",
    )
    folder = tmp_path / "reviewed"
    drafting.write(draft, folder)
    tables = read_tables(folder)
    for name in ("catalog_main_indicators", "catalog_secondary_targets", "catalog_projects"):
        tables[name]["owner_department_code"] = "379901_DRC"
    main = tables["catalog_main_indicators"]
    main.loc[main["target_value"] == "", "target_value"] = "6"  # no number printed: the reviewer sets it
    main.loc[main["target_operator"] == "", "target_operator"] = ">="
    main.loc[main["indicator_code"] == "I08", ["target_value", "target_operator"]] = ""  # assigned each year
    tables["catalog_secondary_targets"]["unit"] = tables["catalog_secondary_targets"]["unit"].replace(
        "万个", "万户"
    )
    projects = tables["catalog_projects"].head(1).copy()
    projects[["planned_start", "planned_end"]] = ["2021-06-30", "2024-12-31"]
    tables["catalog_projects"] = projects
    milestones = tables["catalog_project_milestones"]
    milestones = milestones[milestones["project_code"] == projects.iloc[0]["project_code"]].copy()
    milestones["planned_date"] = ["2021-06-30", "2024-12-31"][: len(milestones)]
    tables["catalog_project_milestones"] = milestones
    tables["catalog_departments"] = pd.DataFrame(
        [
            {
                "department_code": "379901_DRC",
                "region_code": "379901",
                "short_code": "DRC",
                "name_zh": "区发展和改革局",
                "name_en": "District Development and Reform Bureau",
            }
        ]
    )
    tables["catalog_plans"]["region_name_en"] = "Quandong District (fictional)"
    write_tables(tables, folder)
    return folder


def test_add_merges_a_reviewed_draft_and_refuses_a_broken_one(tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    before = {p.name: p.read_bytes() for p in seeds.glob("*.csv")}
    folder = reviewed_quandong(tmp_path)

    # a broken draft writes nothing: one line per problem instead
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    main = pd.read_csv(broken / "catalog_main_indicators.csv", dtype=str, keep_default_na=False)
    main.loc[1, "indicator_code"] = "I01"  # duplicate code
    main.loc[2, "unit"] = "亿"  # unknown unit
    main.loc[3, "target_operator"] = "≈"  # invalid operator
    main.loc[4, "target_year"] = "2031"  # outside the plan
    main.loc[5, "owner_department_code"] = ""  # no owner
    main.to_csv(broken / "catalog_main_indicators.csv", index=False, lineterminator="\n")
    sec = pd.read_csv(broken / "catalog_secondary_targets.csv", dtype=str, keep_default_na=False)
    sec.loc[0, "quote"] = "这句话不在纲要里"
    sec.to_csv(broken / "catalog_secondary_targets.csv", index=False, lineterminator="\n")
    result = add(broken, seeds)
    text = "\n".join(str(p) for p in result.problems)
    assert not result.ok and not result.written
    for where, zh, en in (
        (
            "catalog_main_indicators.csv:3 [379901_14FYP I01] indicator_code:",
            "本规划内重复",
            "duplicate in this plan",
        ),
        (
            "catalog_main_indicators.csv:4 [379901_14FYP I03] unit:",
            "'亿' 不是已知单位",
            "'亿' is not a known unit",
        ),
        (
            "catalog_main_indicators.csv:5 [379901_14FYP I04] target_operator:",
            "'≈' 不是",
            "'≈' is not one of",
        ),
        (
            "catalog_main_indicators.csv:6 [379901_14FYP I05] target_year:",
            "'2031' 不在规划年份内（2021–2025）",
            "'2031' is not a year of the plan (2021–2025)",
        ),
        ("catalog_main_indicators.csv:7 [379901_14FYP I06] owner_department_code:", "空白", "blank"),
        (
            "catalog_secondary_targets.csv:2 [379901_14FYP S001] quote:",
            "纲要文本中找不到这段原文",
            "not found verbatim in the source text",
        ),
    ):
        line = next((line for line in text.splitlines() if where in line), "")
        assert f"{where} {zh}" in line and f" · {en}" in line, (where, text)
    assert {p.name: p.read_bytes() for p in seeds.glob("*.csv")} == before
    # the units are the seeds' list: a unit added there (with its English name) is known
    units = seeds / "catalog_units.csv"
    units.write_text(units.read_text(encoding="utf-8") + "亿,hundred million,\n", encoding="utf-8")
    again = "\n".join(str(p) for p in add(broken, seeds).problems)
    assert "unit: '亿'" not in again and "target_operator: '≈'" in again
    units.write_bytes(before["catalog_units.csv"])

    # the reviewed draft merges: the other plans' records untouched, the review columns dropped
    result = add(folder, seeds)
    assert result.ok, [str(p) for p in result.problems]
    assert result.rows["catalog_main_indicators"] == 13 and result.rows["catalog_departments"] == 1
    after = (seeds / "catalog_main_indicators.csv").read_text(encoding="utf-8")
    assert after.startswith(before["catalog_main_indicators.csv"].decode("utf-8"))
    merged = read_tables(seeds)
    assert list(merged["catalog_main_indicators"].columns) == drafting.SEED_COLUMNS["catalog_main_indicators"]
    assert set(merged["catalog_plans"]["plan_id"]) == {"370102_14FYP", "370102_15FYP", "379901_14FYP"}
    assert check(merged) == []
    # adding it again needs --replace; with it the plan's records are replaced, not duplicated
    assert any("already in the seeds" in p.message for p in add(folder, seeds).problems)
    assert add(folder, seeds, replace=True).ok
    assert (read_tables(seeds)["catalog_main_indicators"]["plan_id"] == "379901_14FYP").sum() == 13


def test_check_rejects_overlapping_plans_and_a_reused_project_code(tmp_path):
    seeds = read_tables(SEEDS)
    draft = {name: frame.copy() for name, frame in seeds.items() if name != "catalog_milestone_types"}
    plans = draft["catalog_plans"]
    draft["catalog_plans"] = plans[plans["plan_id"] == "370102_15FYP"].assign(start_year="2025")
    for name in (
        "catalog_main_indicators",
        "catalog_secondary_targets",
        "catalog_projects",
        "catalog_project_milestones",
    ):
        draft[name] = draft[name][draft[name]["plan_id"] == "370102_15FYP"].copy()
    projects = draft["catalog_projects"]
    projects.loc[projects["project_code"] == "P025", ["continues_plan_id", "continues_project_code"]] = ""
    del draft["catalog_departments"]
    tables, plan_ids, offsets = combined(seeds, draft)
    text = "\n".join(str(p) for p in check(tables, plan_ids, offsets=offsets))
    assert "overlaps 370102_14FYP (2021–2025) of the same region" in text
    assert "P025 is already a project of 370102_14FYP: use a new code, or set continues_plan_id" in text


def _shifted(folder: Path, out: Path, plan_id: str, years: int) -> Path:
    """The same reviewed catalog as another plan of its region, `years` later."""
    tables = read_tables(folder)
    for frame in tables.values():
        if "plan_id" in frame.columns:
            frame["plan_id"] = plan_id
        for column in ("baseline_year", "start_year", "end_year", "target_year"):
            if column in frame.columns:
                frame[column] = [str(int(v) + years) if v else v for v in frame[column]]
        for column in ("planned_start", "planned_end", "planned_date"):
            if column in frame.columns:
                frame[column] = [f"{int(v[:4]) + years}{v[4:]}" if v else v for v in frame[column]]
    tables.pop("catalog_departments", None)
    write_tables(tables, out)
    return out


def test_add_refuses_an_earlier_plan_that_takes_a_code_of_the_later_plan(tmp_path):
    """A district that enters its next plan first and its earlier plan afterwards: the earlier plan
    must not reuse a project code the later plan gives another project (reports are resolved by code
    and date), or `plan add` writes seeds that `plan check` then rejects."""
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    earlier = reviewed_quandong(tmp_path)  # 379901_14FYP, 2021–2025
    later = _shifted(earlier, tmp_path / "later", "379901_15FYP", 5)
    shutil.copy(earlier / "catalog_departments.csv", later / "catalog_departments.csv")
    assert add(later, seeds).ok
    code = read_tables(earlier)["catalog_projects"].iloc[0]["project_code"]

    result = add(earlier, seeds)
    text = "\n".join(str(p) for p in result.problems)
    assert not result.ok and not result.written, text
    assert (
        f"catalog_projects.csv:2 [379901_14FYP {code}] project_code: {code} 已是后一规划 379901_15FYP 的项目"
        in text
    )
    assert f"· {code} is already a project of the later plan 379901_15FYP" in text
    assert check(read_tables(seeds)) == []  # nothing was written

    # with a code of its own the earlier plan goes in, and the seeds stay clean
    for name in ("catalog_projects", "catalog_project_milestones"):
        frame = pd.read_csv(earlier / f"{name}.csv", dtype=str, keep_default_na=False)
        frame["project_code"] = "P900"
        frame.to_csv(earlier / f"{name}.csv", index=False, lineterminator="\n")
    assert add(earlier, seeds).ok
    assert check(read_tables(seeds)) == []


def test_add_writes_no_outline_when_refused_and_never_overwrites_another_plans(tmp_path):
    """Two offices both save their outline as outline.txt: the second add must not overwrite the
    first plan's text under docs/source/ (its quotes would no longer be found), and an add refused by
    the check copies nothing."""
    seeds, repo = tmp_path / "seeds", tmp_path / "repo"
    shutil.copytree(SEEDS, seeds)
    (repo / "docs" / "source").mkdir(parents=True)
    text = (HELD_OUT / "quandong_cells.txt").read_text(encoding="utf-8")
    folders = {}
    for region, extra in (("379901", ""), ("379902", "\n（第二个区县的纲要文本）\n")):
        outline = tmp_path / region / "outline.txt"
        outline.parent.mkdir()
        outline.write_text(text + extra, encoding="utf-8")
        folder = reviewed_quandong(tmp_path / region)
        tables = read_tables(folder)
        plan_id = f"{region}_14FYP"
        for frame in tables.values():
            for column in ("plan_id", "owner_department_code", "department_code", "region_code"):
                if column in frame.columns:
                    frame[column] = frame[column].str.replace("379901", region)
        tables["catalog_plans"]["source_document"] = str(outline)
        assert set(tables["catalog_plans"]["plan_id"]) == {plan_id}
        write_tables(tables, folder)
        folders[region] = folder

    broken = tmp_path / "broken"
    shutil.copytree(folders["379901"], broken)
    main = pd.read_csv(broken / "catalog_main_indicators.csv", dtype=str, keep_default_na=False)
    main.loc[0, "owner_department_code"] = ""
    main.to_csv(broken / "catalog_main_indicators.csv", index=False, lineterminator="\n")
    assert not add(broken, seeds, repo=repo).ok
    assert list((repo / "docs" / "source").iterdir()) == []  # refused: nothing written

    for folder in folders.values():
        result = add(folder, seeds, repo=repo)
        assert result.ok, [str(p) for p in result.problems]
    plans = read_tables(seeds)["catalog_plans"].set_index("plan_id")["source_document"]
    assert plans["379901_14FYP"] == "docs/source/outline.txt"
    assert plans["379902_14FYP"] == "docs/source/379902_14FYP_outline.txt"
    assert (repo / plans["379901_14FYP"]).read_text(encoding="utf-8") == text
    merged = read_tables(seeds)
    for plan_id, source in plans.items():
        if plan_id.startswith("3799"):
            assert check(merged, {plan_id}, sources={plan_id: Outline.read(repo / source)}) == []


def test_check_refuses_an_operator_that_contradicts_the_direction(tmp_path):
    """A reviewer who corrects `>=` to `<` (a ratio to bring down) and forgets `direction` gets a line
    saying so: the verdict follows the operator, progress and shortfalls the direction."""
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    folder = reviewed_quandong(tmp_path)
    main = pd.read_csv(folder / "catalog_main_indicators.csv", dtype=str, keep_default_na=False)
    row = main.index[main["indicator_code"] == "I01"][0]
    assert main.loc[row, "direction"] == "higher_is_better"
    main.loc[row, "target_operator"] = "<"
    main.to_csv(folder / "catalog_main_indicators.csv", index=False, lineterminator="\n")
    result = add(folder, seeds)
    text = "\n".join(str(p) for p in result.problems)
    assert not result.ok
    assert (
        f"catalog_main_indicators.csv:{row + 2} [379901_14FYP I01] direction: 'higher_is_better' 与 "
        "target_operator '<' 矛盾" in text
    ), text
    assert "· 'higher_is_better' contradicts target_operator '<'" in text
    assert planwh(["plan", "check"]) == 0  # no shipped row contradicts itself


def _main_rows(name: str) -> dict[str, dict]:
    draft = drafting.build(Outline.read(HELD_OUT / name), "379903_15FYP", "379903")
    return {r["indicator_code"]: r for r in draft.main}


@pytest.mark.parametrize(
    ("printed", "value", "operator"),
    [
        ("控制在5.5以内", 5.5, "<="),  # was "not a number"
        ("控制在 3 以下", 3.0, "<="),
        ("不超过10", 10.0, "<="),
        ("≥95", 95.0, ">="),
        ("50以上", 50.0, ">="),
        ("62716", 62716.0, ""),  # no word: the row decides (baseline vs target)
    ],
)
def test_a_main_table_cell_reads_its_bound_words(printed, value, operator):
    from pipelines.lib.plans.main_table import parse_cell

    cell = parse_cell(printed)
    assert (cell.value, cell.operator) == (value, operator)
    assert not any("not a number" in r for r in cell.reasons)


def test_the_draft_reads_an_attribute_column_before_the_values():
    """序号 指标名称 单位 指标属性 基期 目标 年均增长: a cell the value pattern did not know (2.1(2024年),
    7.5万左右) was glued to the name after the attribute, and the row's values moved one column left (I12
    got the growth rate 6 as its target, read as 'at most' and lower_is_better)."""
    rows = _main_rows("attribute_first.txt")
    assert len(rows) == 14
    i05, i12 = rows["I05"], rows["I12"]
    assert (i05["name_zh"], i05["baseline_year"], i05["baseline_value"]) == ("研发经费投入强度", 2024, 2.1)
    assert (i05["target_operator"], i05["target_value"]) == (">=", 3.0)
    assert "the baseline is of 2024, not 2025" in i05["review"]
    assert i12["name_zh"] == "居民人均可支配收入" and i12["unit"] == "元"
    assert (i12["baseline_value"], i12["target_operator"], i12["target_value"]) == (56800, ">=", 75000)
    assert (i12["annual_growth_rate"], i12["direction"]) == (6, "higher_is_better")
    assert "万 converted" in i12["review"]
    for row in rows.values():
        assert row["attribute"] in ("expected", "binding") and not re.search(r"\d", row["name_zh"][-3:])


def test_the_draft_keeps_a_long_range_column_out_of_the_targets():
    """2025年 2030年 2035年: the 2035 column is noted, not a value cell to check on every row; a 单位 cell
    printed as — is the unit, not the baseline (城乡居民收入比 2.05 → ＜1.9 was drafted as ≥ 2.05)."""
    rows = _main_rows("long_range_column.txt")
    assert len(rows) == 11
    i01, i09 = rows["I01"], rows["I09"]
    assert (i01["baseline_value"], i01["target_value"], i01["target_year"]) == (420, 560, 2030)
    assert "2035年远景 750" in i01["notes"] and "value cells" not in i01["review"]
    assert (i09["unit"], i09["baseline_value"], i09["target_operator"], i09["target_value"]) == (
        "",
        2.05,
        "<",
        1.9,
    )
    assert i09["direction"] == "lower_is_better" and "printed as —" in i09["review"]
    assert not any("value cells where" in r["review"] for r in rows.values())


def test_the_draft_joins_a_category_label_printed_beside_its_rows():
    """类别 cells whose text extraction puts each piece on a row's line (`经济 1 …` / `发展 2 …`): the draft
    split them into two categories (经济, 发展) with no word of it in the review column, and a text target
    (逐步缩小) after a 单位 cell printed as — became the category of the rows after it."""
    rows = _main_rows("labels_beside_rows.txt")
    assert [r["category_zh"] for r in rows.values()] == ["经济发展"] * 3 + ["创新驱动"] * 3 + ["绿色生态"]
    for code in ("I01", "I02", "I04", "I05"):
        assert "category label printed beside its rows" in rows[code]["review"]
        assert rows[code]["confidence"] != "high"
    assert rows["I07"]["confidence"] == "high"  # a whole label on its row's line is the usual layout
    assert rows["I02"]["category_en"] == "Economic development"


def test_the_draft_keeps_text_targets_out_of_the_name():
    """A target printed in words (保持稳定, 稳步提高) with 属性 as the last column went into the indicator's
    name (`粮食综合生产能力（万吨）稳定保持稳定`), and the row then took the values of the row above as a
    merged cell (420 → 560, medium confidence)."""
    for name in ("labels_beside_rows.txt", "text_targets.txt"):
        rows = {r["name_zh"]: r for r in _main_rows(name).values()}
        grain = rows["粮食综合生产能力"]
        assert (grain["unit"], grain["baseline_text"], grain["target_text"]) == ("万吨", "稳定", "保持稳定")
        assert grain["target_value"] is None and grain["confidence"] == "low"
        assert "merged cell" not in grain["review"] and "not a number" in grain["review"]
    rows = {r["name_zh"]: r for r in _main_rows("labels_beside_rows.txt").values()}
    ratio = rows["城乡居民收入比"]  # the 单位 cell printed as —, then 2.1 → 逐步缩小
    assert (ratio["baseline_value"], ratio["target_text"], ratio["target_value"]) == (2.1, "逐步缩小", None)
    rows = {r["name_zh"]: r for r in _main_rows("text_targets.txt").values()}
    digital = rows["数字经济核心产业增加值占比"]
    assert (digital["unit"], digital["baseline_value"], digital["target_text"]) == ("%", 10, "稳步提高")
    assert rows["引进世界500强企业项目"]["target_value"] == 5  # a number inside a name stays in it
    assert rows["每千人口执业（助理）医师数"]["unit"] == "人"


def test_a_prose_target_keeps_its_whole_name(tmp_path):
    """到2030年，新建改扩建社区食堂30处: the name was cut at the second verb (`新建改`) and drafted with high
    confidence; 普及率、知晓率均达到100% split at the 及 of 普及 (`心理健康知识普`, `知晓率`)."""
    outline = tmp_path / "outline.txt"
    outline.write_text(
        "泉北县国民经济和社会发展第十五个五年规划纲要\n\n第四章 增进民生福祉\n\n"
        "到2030年，新建改扩建社区食堂30处，新建改造充电桩达到5000个，柔性引进合作院士100人以上。"
        "心理健康知识普及率、知晓率均达到100%。\n",
        encoding="utf-8",
    )
    draft = drafting.build(Outline.read(outline), "379904_15FYP", "379904")
    rows = {r["quote"]: r for r in draft.secondary}
    assert rows["新建改扩建社区食堂30处"]["name_zh"] == "新建改扩建社区食堂"
    assert rows["新建改造充电桩达到5000个"]["name_zh"] == "新建改造充电桩"
    short = rows["柔性引进合作院士100人以上"]  # a name of two characters is never taken on trust
    assert short["confidence"] != "high" and "is short: check it is the whole name" in short["review"]
    names = [r["name_zh"] for r in draft.secondary if r["quote"].startswith("心理健康")]
    assert names == ["心理健康知识普及率", "心理健康知识知晓率"]


def test_footnote_marks_are_not_names_and_one_estimate_is_not_all():
    """专栏 1 with the 2030 target before the 2025 baseline and footnotes ① ②: the marks stayed in the names
    (`森林覆盖率②`, high confidence), and the note `①常住人口城镇化率2025年为预计数` marked every baseline of
    the table as an estimate."""
    rows = {r["indicator_code"]: r for r in _main_rows("footnotes_target_first.txt").values()}
    assert len(rows) == 14
    i04, i10 = rows["I04"], rows["I10"]
    assert (i04["name_zh"], i04["baseline_value"], i04["target_value"]) == ("常住人口城镇化率", 63.5, 68)
    assert i10["name_zh"] == "森林覆盖率" and "footnote ② after the name" in i10["review"]
    assert i10["confidence"] != "high"
    assert [c for c, r in rows.items() if r["is_baseline_estimate"]] == ["I04"]
    assert (
        rows["I01"]["baseline_value"],
        rows["I01"]["target_value"],
        rows["I01"]["annual_growth_rate"],
    ) == (
        386,
        500,
        5,
    )
    # a note about every baseline still marks them all
    assert all(r["is_baseline_estimate"] for r in _main_rows("text_targets.txt").values())
