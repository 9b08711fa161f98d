"""Incremental refresh per plan (issue 16): after files in one region's plans, a refresh recomputes only
those plans, and every table equals a full build; a catalog change rebuilds everything; the rebuild from
the raw archive alone equals the result. Its own file so that the parallel test workers can run it beside
the other reliability tests (it is the longest test)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from pipelines.lib.warehouse.dbt_state import NO_FILE_LOG
from pipelines.lib.warehouse.publish import open_published
from tests.conftest import AS_OF, REPO, TEST_ROOT
from tests.test_reliability import PART_A, PART_B, cli, copy_departments

TWO_REGIONS = TEST_ROOT / "two_regions"


def two_region_project() -> Path:
    """The shipped dbt project with a second district beside Lixia: 370103, a scaled copy of the 14th plan
    (bench/generate.py), so that a refresh can touch one region's plans and leave the other's alone."""
    import pandas as pd

    from bench.generate import build_catalog

    shutil.rmtree(TWO_REGIONS, ignore_errors=True)
    project = TWO_REGIONS / "dbt_project"
    shutil.copytree(
        REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    build_catalog(2, TWO_REGIONS / "generated")
    for path in sorted((TWO_REGIONS / "generated").glob("catalog_*.csv")):
        rows = pd.read_csv(path, dtype=str, keep_default_na=False)
        keys = [c for c in ("plan_id", "region_code", "department_code") if c in rows]
        if not keys:
            continue
        second = rows[rows[keys].apply(lambda column: column.str.startswith("370103")).any(axis=1)]
        shipped = pd.read_csv(project / "seeds" / path.name, dtype=str, keep_default_na=False)
        pd.concat([shipped, second]).to_csv(project / "seeds" / path.name, index=False, lineterminator="\n")
    return project


def copy_files(settings, departments, wanted) -> None:
    """The shipped inbox files of these departments for which `wanted(path)` holds."""
    for department in departments:
        for path in sorted((REPO / "raw" / "inbox" / department).iterdir()):
            if wanted(path):
                (settings.inbox / department).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, settings.inbox / department / path.name)


def build_state(settings) -> dict:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return dict(con.execute("select state_key, state_value from ops.model_state").fetchall())
    finally:
        con.close()


def dbt_step_lines() -> list[str]:
    """What the dbt step of the last run said in the Dagster event log."""
    from pipelines.runs import local_instance

    with local_instance() as instance:
        run = instance.get_runs(limit=1)[0]
        return [
            entry.user_message
            for entry in instance.all_logs(run.run_id)
            if entry.step_key == "planwh_dbt" and entry.dagster_event is None
        ]


def assert_equals_a_full_build(settings, project: Path) -> None:
    """Every intermediate and mart table of the working warehouse, row for row, against a plain full
    `dbt run` of a copy of it (same raw tables, same catalog, same evaluation date)."""
    copy = TWO_REGIONS / "complete.duckdb"
    shutil.copyfile(settings.warehouse, copy)
    env = dict(os.environ, PLANWH_DUCKDB=str(copy), PLANWH_AS_OF=AS_OF)
    built = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            *NO_FILE_LOG,  # as a refresh runs dbt
            "run",  # the models only: the data tests (the refreshes ran them) change no table
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(TWO_REGIONS / "target-full"),  # the refreshes' partial-parse state stays untouched
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=project,
    )
    assert built.returncode == 0, built.stdout[-3000:]
    con = duckdb.connect(str(copy))
    try:
        con.execute(f"attach '{settings.warehouse}' as incremental (read_only)")
        tables = con.execute(
            """select schema_name, table_name from duckdb_tables()
               where database_name = 'complete' and schema_name in ('intermediate', 'marts') order by 1, 2"""
        ).fetchall()
        assert len(tables) > 30
        for schema, table in tables:
            for a, b in (("complete", "incremental"), ("incremental", "complete")):
                differ = con.execute(
                    f"select count(*) from (select * from {a}.{schema}.{table} "
                    f"except all select * from {b}.{schema}.{table})"
                ).fetchone()[0]
                assert differ == 0, f"{schema}.{table}: {differ} row(s) of the {a} build not in the {b} one"
        plans = {
            r[0]
            for r in con.execute(
                "select distinct plan_id from incremental.marts.fct_indicator_attainment"
            ).fetchall()
        }
        assert {"370102_14FYP", "370103_14FYP"} <= plans
    finally:
        con.close()
        copy.unlink()


def test_incremental_refreshes_equal_a_full_build_and_the_rebuild(fresh_warehouse):
    """The mixed sequence: a full build; files in one region's plan (370103: indicator values only); files
    in the other's (Lixia's two plans: project progress only, then both kinds); a file rejected whole; a
    catalog change. After each refresh every table equals a full build; at the end, the rebuild from the
    raw archive alone equals the result too."""
    settings = fresh_warehouse
    project = two_region_project()
    env = {"PLANWH_DBT_PROJECT_DIR": str(project)}
    assert cli("prepare", extra_env=env).returncode == 0

    def refresh() -> dict:
        done = cli("refresh", "--as-of", AS_OF, extra_env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        return build_state(settings)

    copy_departments(settings, PART_A)
    assert refresh()["mode"] == "full"  # nothing recorded yet

    # plan A: a department of the second district reports (a copy of Lixia's statistics bureau's files):
    # indicator values only, so the project milestones downstream of raw.project_progress alone are current
    shutil.copytree(REPO / "raw" / "inbox" / "370102_STATS", settings.inbox / "370103_STATS")
    state = refresh()
    assert (state["mode"], state["plans"]) == ("scoped", "370103_14FYP")
    assert state["selector"] == "planwh_refresh_scope_indicators"
    assert_equals_a_full_build(settings, project)
    # the tests of the models it did not rebuild were not run, said once, not as one warning per check
    log = max(settings.log_dir.glob("refresh-*.log"), key=lambda p: p.stat().st_mtime)
    assert "emitted no result" not in log.read_text(encoding="utf-8")
    assert any("dbt test(s) not run" in line and "scoped build" in line for line in dbt_step_lines())

    # plan B: Lixia's departments (its 14th and 15th plans are one region's: touched together), first
    # project progress alone (one report held back)
    held_back = "2026Q3项目进度.xlsx"
    copy_files(settings, PART_B, lambda p: "项目进度" in p.name and p.name != held_back)
    state = refresh()
    assert (state["mode"], state["plans"]) == ("scoped", "370102_14FYP,370102_15FYP")
    assert state["selector"] == "planwh_refresh_scope_projects"
    assert_equals_a_full_build(settings, project)

    # then their other files: indicator values and the held-back progress report together
    copy_files(settings, PART_B, lambda p: not (settings.inbox / p.parent.name / p.name).exists())
    state = refresh()
    assert (state["mode"], state["plans"]) == ("scoped", "370102_14FYP,370102_15FYP")
    assert state["selector"] == "planwh_refresh_scope"
    assert_equals_a_full_build(settings, project)

    # a file rejected whole: no rows reach the raw tables of values or progress
    (settings.inbox / "370103_STATS" / "又一个错表.csv").write_text("名称,金额\n乙,2\n", encoding="utf-8")
    state = refresh()
    assert (state["mode"], state["plans"], state["selector"]) == (
        "scoped",
        "370103_14FYP",
        "planwh_refresh_scope_ledger",
    )
    assert_equals_a_full_build(settings, project)

    # a catalog change (a revised target of the second district's plan): everything is rebuilt
    import pandas as pd

    seeds = project / "seeds" / "catalog_main_indicators.csv"
    catalog = pd.read_csv(seeds, dtype=str, keep_default_na=False)
    revised = (catalog["plan_id"] == "370103_14FYP") & (catalog["target_value"] != "")
    catalog.loc[revised, "target_value"] = [
        str(round(float(v) * 1.25, 2)) for v in catalog.loc[revised, "target_value"]
    ]
    catalog.to_csv(seeds, index=False, lineterminator="\n")
    assert refresh()["mode"] == "full"  # a full build is dbt's own table materialization: not compared again

    tables = {
        "marts.fct_indicator_values": [
            "indicator_value_key",
            "value",
            "submission_id",
            "source_row",
            "received_at",
        ],
        "marts.fct_indicator_attainment": [
            "attainment_key",
            "status",
            "evaluated_value",
            "completion",
            "trend_status",
        ],
        "marts.fct_project_status": ["project_key", "rag_status", "percent_complete", "milestones_done"],
        "marts.fct_submission_compliance": ["obligation_id", "compliance_status", "rows_rejected"],
        "marts.fct_submissions": [
            "submission_id",
            "status",
            "rows_accepted",
            "rows_rejected",
            "reason_code",
            "received_at",
        ],
        "marts.fct_submission_issues": ["issue_id", "reason_code", "message_en"],
        "marts.fct_indicator_value_history": ["value_id", "superseded_by", "is_latest"],
    }

    def snapshot():
        con = open_published(settings.published_warehouse)
        try:
            return {
                t: sorted(map(tuple, con.execute(f"select {', '.join(cols)} from {t}").fetchall()), key=repr)
                for t, cols in tables.items()
            }, con.execute("select count(*) from ops.alerts").fetchone()[0]
        finally:
            con.close()

    incremental, alerts = snapshot()
    shutil.rmtree(settings.inbox)  # the inbox is gone too: only the archive remains
    settings.inbox.mkdir()
    rebuilt = cli("rebuild", "--as-of", AS_OF, extra_env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    again, alerts_again = snapshot()
    for table in tables:
        assert again[table] == incremental[table], table
    assert alerts_again == alerts
    assert (settings.warehouse.stat().st_mode & 0o777) == 0o600  # the rebuilt working file is private too
