"""The full refresh over the shipped sample inbox, in-process, against a real DuckDB file."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

import dagster as dg

from tests.conftest import AS_OF, REPO, dbt, query


def test_the_refresh_succeeds_and_reports_its_checks(sample_run):
    result = sample_run["result"]
    assert result.success
    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert checks["ledger_integrity"].passed
    gx = checks["gx_indicator_data_suite"]
    assert not gx.passed and gx.severity == dg.AssetCheckSeverity.WARN  # the sample's bad rows are caught
    assert gx.metadata["rows_validated"].value > 500 and gx.metadata["first_failing_rows"].value
    assert not checks["no_open_critical_alerts"].passed
    dbt_checks = [
        name
        for name in checks
        if name.startswith(("unique_", "not_null_", "accepted_values_", "relationships_"))
    ]
    assert len(dbt_checks) > 50 and all(checks[name].passed for name in dbt_checks)
    materialized = {
        e.asset_key.to_user_string()
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }
    # dbt ran without its debug file log (~10 % of a build); its run artifacts are there
    assert "run_results.json" in sample_run["dbt_files"] and "dbt.log" not in sample_run["dbt_files"]
    for key in (
        "inbox_files",
        "raw/submissions",
        "marts/fct_indicator_attainment",
        "ops/alerts",
        "ops/department_notifications",
        "marts/fct_submission_reminders",
        "report/progress_report",
        "report/evaluation_report",
        "report/mart_exports",
        "published/warehouse",
    ):
        assert key in materialized, key


def test_known_off_track_binding_indicators_raise_critical_alerts(sample_db):
    alerts = {
        a["subject_code"]: a
        for a in query(
            sample_db, "select * from ops.alerts where status = 'open' and plan_id = '370102_14FYP'"
        )
    }
    critical = {code for code, a in alerts.items() if a["severity"] == "critical"}
    assert critical == {"I16", "I17", "I19", "I22", "I24", "I31"}
    status = {
        r["indicator_code"]: r["status"]
        for r in query(
            sample_db, "select * from marts.fct_indicator_status_latest where plan_id = '370102_14FYP'"
        )
    }
    # evaluated after the plan's end: the 2025 values are final verdicts
    assert (
        status["I17"] == "no_data" and status["I22"] == "not_achieved" and status["I20"] == "awaiting_target"
    )
    assert status["I26"] == "achieved" and status["I12"] == "achieved"
    assert "未完成" in alerts["I22"]["detail_zh"] and "short by 1.33" in alerts["I22"]["detail_en"]
    assert "370102_WATER" in alerts["I17"]["department_code"]
    missing = [a for a in alerts.values() if a["alert_type"] == "missing_submission"]
    assert any(a["department_code"] == "370102_WATER" for a in missing)


def test_values_of_the_target_year_get_final_statuses(sample_db):
    """The issue's cases: evaluated after 2025, a 2025 value is met or missed, never "on track"."""
    rows = query(
        sample_db,
        """select * from marts.fct_indicator_attainment
           where plan_year >= target_year and actual_value is not null and plan_id = '370102_14FYP'""",
    )
    assert len(rows) >= 120
    assert not [r for r in rows if r["status"] in ("on_track", "at_risk", "off_track")]
    for r in rows:
        assert r["is_final_year"]
        if r["target_method"] in ("level", "maintain", "cumulative", "rate"):
            # achieved exactly when the value meets the target's operator, else not_achieved with a shortfall
            assert r["status"] == ("achieved" if r["meets_target"] else "not_achieved"), r["indicator_code"]
        assert (r["shortfall"] is not None) == (r["status"] == "not_achieved"), r["indicator_code"]
        assert r["evaluation_category"] == r["status"] or r["status"] not in ("achieved", "not_achieved")
        assert r["projected_target_year_value"] is None and r["trend_status"] is None
    final = {r["indicator_code"]: r for r in rows if r["plan_year"] == 2025}
    expected = {  # code: (value, shortfall)
        "S011": (2490, 10),  # GDP 2490 against >=2500
        "I07": (20.88, 0.02),
        "I29": (123, 0),  # 123 against >123: had to exceed
        "I33": (97.98, 2.02),
    }
    for code, (value, shortfall) in expected.items():
        assert final[code]["status"] == "not_achieved" and final[code]["evaluation_category_zh"] == "未完成"
        assert final[code]["actual_value"] == value and abs(final[code]["shortfall"] - shortfall) < 1e-9, code
    assert abs(final["S011"]["shortfall_ratio"] - 0.004) < 1e-12
    # rate: five-year average growth; assigned: every year (I16 missed 2025 by 0.8 points)
    assert final["I01"]["status"] == "achieved" and final["I04"]["status"] == "not_achieved"
    assert abs(final["I04"]["shortfall"] - (10 - final["I04"]["average_growth_rate"])) < 1e-9
    assert final["I16"]["status"] == "not_achieved" and final["I16"]["years_missed"] == 1
    assert abs(final["I16"]["shortfall"] - 0.8) < 1e-9
    assert final["I18"]["status"] == "achieved" and final["I18"]["years_met"] == 5
    latest = {
        r["indicator_code"]: r
        for r in query(
            sample_db, "select * from marts.fct_indicator_status_latest where plan_id = '370102_14FYP'"
        )
    }
    assert {c: r["evaluation_category"] for c, r in latest.items() if c in expected} == {
        c: "not_achieved" for c in expected
    }
    scorecard = query(
        sample_db,
        "select sum(indicators_not_achieved) as n from marts.fct_department_scorecard where plan_id = '370102_14FYP'",
    )
    assert scorecard[0]["n"] == sum(r["status"] == "not_achieved" for r in latest.values())


def test_every_indicator_has_one_row_per_year_up_to_the_evaluation_date(sample_db):
    rows = query(
        sample_db,
        "select plan_id, indicator_code, count(*) as years, max(as_of_date) as as_of "
        "from marts.fct_indicator_attainment group by 1, 2",
    )
    assert len(rows) == 33 + 88 + 22 + 28  # the 14th plan and the illustrative 15th
    assert {r["years"] for r in rows if r["plan_id"] == "370102_14FYP"} == {5}
    assert {r["years"] for r in rows if r["plan_id"] == "370102_15FYP"} == {1}  # 2026, as of mid-2026
    assert {str(r["as_of"]) for r in rows} == {AS_OF}


def test_the_late_correction_supersedes_the_original(sample_db):
    history = query(
        sample_db,
        """select * from marts.fct_indicator_value_history
                                  where indicator_code = 'I01' and period = '2022Q4' order by version_number""",
    )
    assert len(history) == 2
    assert history[0]["superseded_by"] == history[1]["submission_id"] and history[1]["is_latest"]
    assert history[1]["original_name"] == "2022年数据修订.csv"
    attainment = query(
        sample_db,
        "select actual_value from marts.fct_indicator_attainment where indicator_code = 'I01' and plan_year = 2022",
    )
    assert attainment[0]["actual_value"] == history[1]["value"]
    known_then = query(
        sample_db,
        """select value from marts.fct_indicator_value_history
        where indicator_code = 'I01' and period = '2022Q4'
          and valid_from < timestamp '2024-01-01' and (valid_to is null or valid_to >= timestamp '2024-01-01')""",
    )
    assert [r["value"] for r in known_then] == [history[0]["value"]]


def test_the_sample_bad_files_are_quarantined(sample_db):
    rejected = {
        r["original_name"]: r["reason_code"]
        for r in query(sample_db, "select * from marts.fct_submissions where status = 'rejected'")
    }
    assert rejected == {
        "补报数据（含他部门指标）.csv": "other_department_codes",
        "导出报表.xlsx": "disguised_file",
        "空模板.csv": "header_only",
        "乱码文件.csv": "mojibake",
        "公式未计算.xlsx": "all_rows_rejected",
        "2026年一季度补充数据.csv": "all_rows_rejected",  # a 14th-plan code for a 15th-plan period
    }
    issues = query(
        sample_db, "select * from marts.fct_submission_issues where original_name = '问题数据示例.csv'"
    )
    assert {
        "unknown_code",
        "bad_number",
        "period_outside_plan",
        "unit_mismatch",
        "conflicting_duplicate",
    } <= {i["reason_code"] for i in issues}


def test_compliance_and_projects_are_modelled(sample_db):
    compliance = query(
        sample_db, "select compliance_status, count(*) as n from marts.fct_submission_compliance group by 1"
    )
    counts = {r["compliance_status"]: r["n"] for r in compliance}
    assert counts["on_time"] > 300 and counts["late"] > 10 and counts["missing"] >= 1
    water = query(
        sample_db,
        """select * from marts.fct_submission_compliance
                                where department_code = '370102_WATER' and period = '2025' and submission_kind = 'indicator_data'""",
    )
    assert water[0]["compliance_status"] == "missing"
    rag = {r["rag_status"] for r in query(sample_db, "select rag_status from marts.fct_project_status")}
    assert {"green", "completed", "carried_over"} <= rag
    scorecard = query(
        sample_db,
        "select * from marts.fct_department_scorecard where department_code = '370102_ECO' and plan_id = '370102_14FYP'",
    )[0]
    assert scorecard["indicators_owned"] == scorecard["binding_indicators_owned"] == 4


def test_outputs_are_published_read_only(sample_run):
    modes = sample_run["modes"]  # as the sample run left them
    assert not modes["published"] & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert (modes["working"] & 0o077) == 0  # the working file is private to the pipeline's user
    output = sample_run["output"]
    assert (output / "report" / "progress_report.html").exists()
    assert (output / "exports" / "marts.xlsx").exists()
    assert (output / "alerts" / "notifications.jsonl").read_text(encoding="utf-8").count("\n") >= 6


def test_dbt_unit_tests_pass(sample_run):
    from tests.conftest import WORK

    # dbt reads the upstream relations' columns from the warehouse: start from the sample run's (other tests
    # may have wiped the shared working file since)
    WORK.mkdir(parents=True, exist_ok=True)
    working = WORK / "planwh.duckdb"
    working.unlink(missing_ok=True)
    working.with_name(working.name + ".wal").unlink(missing_ok=True)
    shutil.copyfile(sample_run["db"], working)
    working.chmod(0o600)
    run = dbt("test", "--select", "test_type:unit", capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "PASS=44" in run.stdout


def test_lineage_command_explains_a_number(sample_run):
    env = dict(os.environ, PLANWH_PUBLISH_DIR=str(sample_run["db"].parent))
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "lineage", "I01", "2022"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "2022年数据修订.csv" in out and "2022Q4季度数据.csv" in out and "370102_STATS" in out
    assert "superseded" in out.lower()
