"""Two successive plans of one district in one warehouse: the 14th (2021–2025, now in its final
evaluation) and the illustrative 15th (2026–2030, monitored), over the shipped samples (as of 2026-06-30).

A period resolves to the plan covering it; a department owes each plan's items for that plan's years;
an unfinished 14th-plan project continues under the 15th only when the 15th's catalog carries it.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.submissions.templates import HEADER_ROW, write_template
from tests.conftest import AS_OF, REPO, TEST_ROOT, query

P14, P15 = "370102_14FYP", "370102_15FYP"


def test_a_period_resolves_to_the_plan_covering_it(sample_db):
    rows = query(
        sample_db,
        """select plan_id, indicator_code, period from marts.fct_indicator_values
           where indicator_code = 'I01' and value_type = 'actual' and period in ('2025', '2025Q4', '2026Q1')""",
    )
    assert {(r["period"], r["plan_id"]) for r in rows} == {("2025Q4", P14), ("2026Q1", P15)}
    # one file, two plans: a 2025 correction (14th plan, I05) sent with 2026Q1 (15th plan, where it is I04)
    ledger = query(
        sample_db,
        "select plan_ids, status, rows_accepted from marts.fct_submissions where original_name like '2025年数据修订及%'",
    )
    assert ledger == [{"plan_ids": f"{P14},{P15}", "status": "accepted", "rows_accepted": 2}]
    values = query(
        sample_db,
        """select plan_id, indicator_code, period from marts.fct_indicator_values
           where submission_id in (select submission_id from marts.fct_submissions where original_name like '2025年数据修订及%')""",
    )
    assert {(r["plan_id"], r["indicator_code"], r["period"]) for r in values} == {
        (P14, "I05", "2025"),
        (P15, "I04", "2026Q1"),
    }


def test_a_code_of_the_other_plan_is_refused_with_its_own_reason(sample_db):
    issues = query(
        sample_db,
        """select i.plan_id, i.reason_code, i.message_zh, i.message_en from marts.fct_submission_issues i
           join marts.fct_submissions s on s.submission_id = i.submission_id
           where s.original_name = '2026年一季度补充数据.csv' and i.scope = 'row'""",
    )
    assert [i["reason_code"] for i in issues] == ["code_not_in_period_plan"]  # not also "unknown code"
    assert issues[0]["plan_id"] == P15
    assert "2026Q1 → 370102_15FYP 2026–2030; I23 → 370102_14FYP 2021–2025" in issues[0]["message_en"]
    assert "不在该统计期所属的规划中" in issues[0]["message_zh"]


def test_each_plan_owes_its_own_items_for_its_own_years(sample_db):
    owed = query(
        sample_db,
        """select plan_id, min(period_year) as first_year, max(period_year) as last_year
           from marts.fct_submission_compliance group by plan_id order by plan_id""",
    )
    assert owed == [
        {"plan_id": P14, "first_year": 2021, "last_year": 2025},
        {"plan_id": P15, "first_year": 2026, "last_year": 2026},
    ]
    # the same department, both plans: STATS owes the 14th's 2025 figures and the 15th's 2026 quarters
    stats = query(
        sample_db,
        """select plan_id, period, compliance_status from marts.fct_submission_compliance
           where department_code = '370102_STATS' and period in ('2025', '2026Q1') order by period""",
    )
    assert [(r["plan_id"], r["period"]) for r in stats] == [(P14, "2025"), (P15, "2026Q1")]
    # the flags of the two plans are told apart
    flags = {r["flag_id"] for r in query(sample_db, "select flag_id from marts.fct_flags")}
    assert all(re.match(rf"^(indicator|project|submission)\|({P14}|{P15})\|", f) for f in flags)


def test_overrunning_projects_continue_under_the_15th_only_when_it_carries_them(sample_db):
    status = {
        (r["plan_id"], r["project_code"]): r
        for r in query(
            sample_db, "select * from marts.fct_project_status where project_code in ('P001', 'P047')"
        )
    }
    # P047 (river water) ran over the 14th plan; the 15th's catalog carries it under the same code
    assert status[(P14, "P047")]["rag_status"] == "carried_over"
    assert status[(P14, "P047")]["continued_in_plan_id"] == P15
    assert status[(P15, "P047")]["continues_plan_id"] == P14
    assert status[(P15, "P047")]["percent_complete"] > 80  # its progress continues from the 14th plan's
    owed = query(
        sample_db,
        """select plan_id, period from marts.fct_submission_compliance c
           where c.department_code = '370102_WATER' and c.submission_kind = 'project_progress' and c.period like '2026%'""",
    )
    assert owed and {r["plan_id"] for r in owed} == {P15}
    # P001 (industrial parks) is not carried over: its 2026 reports are accepted under the 14th plan
    # (its final evaluation sees it finished) but nobody owes them
    assert (P15, "P001") not in status
    assert status[(P14, "P001")]["rag_status"] == "completed"
    assert status[(P14, "P001")]["completed_on"].year == 2026
    drc_2026 = query(
        sample_db,
        """select count(*) as n from marts.fct_submission_compliance
           where department_code = '370102_DRC' and submission_kind = 'project_progress' and plan_id = ? and period_year = 2026""",
        [P14],
    )
    assert drc_2026 == [{"n": 0}]


def test_departments_are_shared_and_scored_per_plan(sample_db):
    departments = query(sample_db, "select department_code, plan_id from marts.dim_departments")
    assert len(departments) == len({d["department_code"] for d in departments}) == 24
    assert {d["plan_id"] for d in departments} == {P15}  # the plan covering the evaluation year
    card = {
        r["plan_id"]: r
        for r in query(
            sample_db, "select * from marts.fct_department_scorecard where department_code = '370102_STATS'"
        )
    }
    assert set(card) == {P14, P15}
    assert card[P14]["indicators_owned"] == 5 and card[P15]["indicators_owned"] == 4
    assert card[P14]["files_received"] > card[P15]["files_received"] > 0


def test_reports_exports_and_alerts_per_plan(sample_run, sample_db):
    report = sample_run["output"] / "report"
    index = (report / "index.html").read_text(encoding="utf-8")
    assert f"progress_report_{P14}.html" in index and f"progress_report_{P15}.html" in index
    assert "已结束 · 总结评估" in index and "实施中（第1年，共5年）" in index
    page14 = (report / f"progress_report_{P14}.html").read_text(encoding="utf-8")
    page15 = (report / f"progress_report_{P15}.html").read_text(encoding="utf-8")
    assert "2021–2025" in page14 and f"progress_report_{P15}.html" in page14  # links to the next plan
    assert "转入" in page14 and "续建自" in page15  # carried-over projects point at each other
    assert "历下区“十五五”规划纲要（示例）" in page15  # the illustrative plan says so on every page
    assert page15.count('class="panel"') == 22 + 28
    # progress_report.html is the plan being carried out
    assert (report / "progress_report.html").read_text(encoding="utf-8").count('class="panel"') == 22 + 28
    exports = sample_run["output"] / "exports"
    workbook = load_workbook(exports / "marts.xlsx", read_only=True)
    assert "规划" in workbook.sheetnames
    header = next(workbook["部门记分卡"].iter_rows(max_row=1, values_only=True))
    assert "规划编号 / plan_id" in header or any(str(h).endswith("plan_id") for h in header)
    events = [
        json.loads(line)
        for line in (sample_run["output"] / "alerts" / "notifications.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    assert events and all(e["plan_id"] == e["alert_id"].split("|")[1] for e in events)
    assert {e["plan_id"] for e in events} <= {P14, P15}


def test_templates_list_the_items_of_the_plan_of_the_period(tmp_path):
    catalog = Catalog.load(REPO / "dbt_project" / "seeds")
    rows = {}
    for period in ("2025", "2026Q3"):
        workbook = load_workbook(write_template(catalog, "370102_WATER", period, tmp_path))
        info = " ".join(str(r[0].value) for r in workbook["填写说明"].iter_rows() if r[0].value)
        rows[period] = (
            info,
            [r[0].value for r in workbook["指标数据"].iter_rows(min_row=HEADER_ROW + 1) if r[0].value],
            sorted(
                {r[0].value for r in workbook["项目进度"].iter_rows(min_row=HEADER_ROW + 1) if r[0].value}
            ),
        )
    assert P14 in rows["2025"][0] and P15 not in rows["2025"][0]
    assert rows["2025"][1] == ["I17", "I17"]  # the 14th's water indicator (assigned target and actual)
    assert P15 in rows["2026Q3"][0]
    assert rows["2026Q3"][2] == ["P047", "P088"]  # the carried-over project under its code, and a new one


# ------------------------------------------------------------------ two districts in one warehouse

P_SZ = "370103_15FYP"  # a second district with a 2026–2030 plan only (a copy of Lixia's 15th, renamed)
TWO_DISTRICTS = TEST_ROOT / "two_districts"


def _second_district_project() -> Path:
    """The shipped dbt project plus 市中区 (370103): its 2026–2030 plan is Lixia's 15th with the codes renamed,
    and its commerce bureau (which owes quarterly figures) also owns a project, so it owes both kinds of report
    each quarter. Nobody in 370103 has sent anything."""
    shutil.rmtree(TWO_DISTRICTS, ignore_errors=True)
    project = TWO_DISTRICTS / "dbt_project"
    shutil.copytree(
        REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    seeds = project / "seeds"

    def extend(name: str, rows: list[dict]) -> None:
        path = seeds / name
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            fields, shipped = reader.fieldnames, list(reader)
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(shipped + rows)

    def rows_of(name: str, plan_id: str) -> list[dict]:
        with (seeds / name).open(encoding="utf-8", newline="") as f:
            return [r for r in csv.DictReader(f) if r.get("plan_id", plan_id) == plan_id]

    def moved(row: dict) -> dict:
        return {
            k: (
                v.replace("370102", "370103")
                if k in ("plan_id", "region_code", "department_code") or k.endswith("department_code")
                else v
            )
            for k, v in row.items()
        }

    extend(
        "catalog_departments.csv",
        [moved(r) for r in rows_of("catalog_departments.csv", "") if r["region_code"] == "370102"],
    )
    plan = moved(rows_of("catalog_plans.csv", P15)[0])
    plan.update(
        region_name_zh="市中区",
        region_name_en="Shizhong District",
        plan_name_zh="济南市市中区国民经济和社会发展第十五个五年规划纲要（测试）",
        plan_name_en="Outline of the 15th Five-Year Plan, Shizhong District, Jinan (test copy)",
        plan_short_zh="市中区“十五五”规划纲要（测试）",
        plan_short_en="Shizhong 15th Five-Year Plan (test)",
    )
    extend("catalog_plans.csv", [plan])
    for name in (
        "catalog_main_indicators.csv",
        "catalog_secondary_targets.csv",
        "catalog_project_milestones.csv",
    ):
        extend(name, [moved(r) for r in rows_of(name, P15)])
    projects = [
        moved(r) | {"continues_plan_id": "", "continues_project_code": ""}
        for r in rows_of("catalog_projects.csv", P15)
    ]
    for item in projects:  # P017 runs from 2026-01-01: its progress is owed from 2026Q1
        if item["project_code"] == "P017":
            item["owner_department_code"] = "370103_COM"
    extend("catalog_projects.csv", projects)
    return project


@pytest.fixture(scope="module")
def two_districts():
    """Lixia's 14th and 15th plans and 市中区's 15th in one warehouse, refreshed twice as `make run` does
    (the shipped samples; nothing from 370103). The outputs are copied aside."""
    from pipelines.lib.settings import load_settings
    from tests.conftest import copy_sample_inbox, wipe_test_warehouse
    from tests.test_reliability import cli

    wipe_test_warehouse()
    project = _second_district_project()
    env = {"PLANWH_DBT_PROJECT_DIR": str(project)}
    prepared = cli("prepare", extra_env=env)
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    settings = load_settings()
    copy_sample_inbox(settings.raw_dir)
    report = (
        settings.output_dir / "report"
    )  # pages an earlier refresh left: Lixia alone, a plan since removed
    report.mkdir(parents=True)
    (report / "progress_report.html").write_text("<h1>历下区 only</h1>", encoding="utf-8")
    (report / "progress_report_370199_14FYP.html").write_text("<h1>a removed plan</h1>", encoding="utf-8")
    done = cli("refresh", "--as-of", AS_OF, extra_env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    keep = TWO_DISTRICTS / "output"
    shutil.copytree(settings.output_dir, keep)
    shutil.copyfile(settings.published_warehouse, TWO_DISTRICTS / "planwh.duckdb")
    return {"output": keep, "db": TWO_DISTRICTS / "planwh.duckdb"}


def test_a_missing_report_says_which_kind_it_is(two_districts):
    """370103's commerce bureau owes 2026Q1's figures and its project's progress and sent neither: the
    evaluation names both reports, not the same quarter twice."""
    from pipelines.lib.outputs import evaluation as ev
    from pipelines.lib.warehouse.publish import open_published

    con = open_published(two_districts["db"])
    try:
        owed = query(
            con,
            """select submission_kind from marts.fct_submission_compliance
               where department_code = '370103_COM' and period = '2026Q1' and compliance_status = 'missing'""",
        )
        assert sorted(r["submission_kind"] for r in owed) == ["indicator_data", "project_progress"]
        plan = query(con, "select * from marts.dim_plans where plan_id = ?", [P_SZ])[0]
        said = ev.sentence_submissions(con, ev.plan_context(con, plan))
    finally:
        con.close()
    assert "区商务局2026年第一季度指标数据缺报、2026年第一季度项目进度缺报" in said.zh
    assert (
        "District Commerce Bureau: 2026Q1 indicator data missing, 2026Q1 project progress missing" in said.en
    )
    page = (two_districts["output"] / "evaluation" / f"evaluation_{P_SZ}.html").read_text(encoding="utf-8")
    assert said.zh in page and "2026年第一季度缺报、2026年第一季度缺报" not in page


def test_with_two_districts_the_index_is_the_start_page_and_no_stale_page_is_left(two_districts):
    """docs/analysts.md, docs/plans.md: progress_report.html is the plan in progress of one region; with two
    regions there is none, so it is not written and the earlier copy is removed (as is a removed plan's page)."""
    report = two_districts["output"] / "report"
    assert sorted(p.name for p in report.glob("*.html")) == [
        "index.html",
        f"progress_report_{P14}.html",
        f"progress_report_{P15}.html",
        f"progress_report_{P_SZ}.html",
    ]
    index = (report / "index.html").read_text(encoding="utf-8")
    assert all(f"progress_report_{p}.html" in index for p in (P14, P15, P_SZ))
    page = (report / f"progress_report_{P_SZ}.html").read_text(encoding="utf-8")
    assert "href='index.html'" in page  # a plan without siblings links back to the start page too


def test_the_index_says_which_years_count_for_which_of_the_loaded_plans(two_districts):
    """Not a fixed 十四五/十五五 sentence: each plan's years and name as the catalog gives them."""
    index = (two_districts["output"] / "report" / "index.html").read_text(encoding="utf-8")
    note = re.search(r"<p class='note' id='periods-note'>(.*?)</p>", index).group(1)
    assert "2025 年及以前" not in index and "figures up to 2025" not in index
    assert (
        "2021–2025 年的数据计入历下区“十四五”规划纲要，2026–2030 年的数据计入历下区“十五五”规划纲要（示例）；"
        "2026–2030 年的数据计入市中区“十五五”规划纲要（测试）。"
    ) in note
    assert (
        "2021–2025 for the Lixia 14th Five-Year Plan, 2026–2030 for the Lixia 15th Five-Year Plan (illustrative); "
        "2026–2030 for the Shizhong 15th Five-Year Plan (test)."
    ) in note
    assert "续建" in note and "carries over" in note  # Lixia has two successive plans
