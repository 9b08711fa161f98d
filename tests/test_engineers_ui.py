"""What a data engineer sees in the Dagster UI: runs launched there are in-process, the tools they type
work from a plain shell, dbt materializations carry row counts and column lineage, every asset has an
owner, every check a description, and the outputs are checked against the marts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.lib.outputs.verify import verify_exports, verify_report, verify_snapshot
from tests.conftest import REPO, query

ATTAINMENT = dg.AssetKey(["marts", "fct_indicator_attainment"])


def plain_shell() -> dict:
    """Only the virtual environment active: no PLANWH_* or DAGSTER_* variables, the venv's bin on PATH."""
    venv = Path(sys.executable).parent.parent
    keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER")}
    return {**keep, "VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin"}


def events_of(result, kind: str) -> list:
    return [e for e in result.all_events if e.event_type_value == kind]


def test_materialize_all_runs_in_process(sample_run):
    """The session's sample refresh is launched as the UI's "Materialize all" launches it (the implicit
    asset job, reconstructed, with the code location's own executor): one process runs every step."""
    from pipelines.definitions import defs

    assert defs.resolve_implicit_global_asset_job_def().executor_def.name == "in_process"
    result = sample_run["result"]
    assert result.job_def.name == "__ASSET_JOB"
    engine = [e.message for e in events_of(result, "ENGINE_EVENT")]
    assert any("in process" in (m or "") for m in engine), engine[:5]
    assert not any("multiprocess" in (m or "").lower() or "subprocess" in (m or "") for m in engine)
    pids = {e.pid for e in result.all_events if e.step_key}
    assert len(pids) == 1 and len(events_of(result, "STEP_SUCCESS")) > 5


def test_row_counts_and_column_lineage_reach_the_instance(sample_run, sample_db):
    from pipelines.runs import local_instance

    with local_instance() as instance:
        event = instance.get_latest_materialization_event(ATTAINMENT)
    metadata = event.asset_materialization.metadata
    rows = query(sample_db, "select count(*) as n from marts.fct_indicator_attainment")[0]["n"]
    assert metadata["dagster/row_count"].value == rows > 0
    columns = {c.name for c in metadata["dagster/column_schema"].value.columns}
    assert {"status", "indicator_key", "plan_year"} <= columns
    lineage = metadata["dagster/column_lineage"].value.deps_by_column
    assert set(lineage) <= columns and len(lineage) >= len(columns) // 2
    upstream = {dep.asset_key for dep in lineage["status"]}
    assert dg.AssetKey(["intermediate", "int_indicator_attainment_evaluated"]) in upstream
    # through a model's CTEs to its parents' columns (pipelines/defs/transform/metadata.py builds it)
    with local_instance() as instance:
        evaluated = (
            instance.get_latest_materialization_event(
                dg.AssetKey(["intermediate", "int_indicator_attainment_evaluated"])
            )
            .asset_materialization.metadata["dagster/column_lineage"]
            .value.deps_by_column
        )

    def parents(column):
        return {(d.asset_key.to_user_string(), d.column_name) for d in evaluated[column]}

    assert parents("plan_id") == {("intermediate/int_indicators_unioned", "plan_id")}
    assert {
        ("intermediate/int_indicator_annual_values", "actual_value"),
        ("intermediate/int_indicators_unioned", "target_value"),
        ("intermediate/int_indicators_unioned", "direction_sign"),
        ("intermediate/int_plans_years", "plan_year"),
    } <= parents("status")
    assert not any(key.startswith("marts/") for key, _ in parents("status"))
    published = instance.get_latest_materialization_event(dg.AssetKey(["published", "warehouse"]))
    stamp = published.asset_materialization.metadata["published_at"]
    assert isinstance(stamp, dg.TimestampMetadataValue)  # the UI shows it in the reader's time zone


def test_every_asset_has_one_owner_and_no_description_is_a_sql_dump():
    from pipelines.definitions import defs
    from pipelines.defs.owners import DATA_TEAM, PLANNING_OFFICE

    graph = defs.resolve_asset_graph()
    owners = {k.to_user_string(): list(graph.get(k).owners) for k in graph.get_all_asset_keys()}
    assert all(len(o) == 1 for o in owners.values()), [k for k, o in owners.items() if len(o) != 1]
    assert owners["marts/fct_indicator_attainment"] == [PLANNING_OFFICE]
    assert owners["staging/stg_raw__indicator_values"] == [DATA_TEAM]
    assert owners["catalog/catalog_main_indicators"] == [PLANNING_OFFICE]
    assert owners["inbox_files"] == [DATA_TEAM] and owners["report/progress_report"] == [PLANNING_OFFICE]
    for key in graph.get_all_asset_keys():
        description = graph.get(key).description or ""
        assert description and "```" not in description and "Raw SQL" not in description, key


def test_every_check_says_what_it_checks():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    specs = {k: graph.get_check_spec(k) for k in graph.asset_check_keys}
    assert len(specs) > 150
    undescribed = [
        k.to_user_string()
        for k, s in specs.items()
        if not (s.description or "").strip() or s.description.startswith("dbt test ")
    ]
    assert undescribed == []  # a new generic test needs its description in tests/generic/_generic__tests.yml
    by_name = {k.name: s.description for k, s in specs.items()}
    assert by_name["unique_dim_plans_plan_id"] == "唯一 — `plan_id` is unique: no two rows share a value."
    accepted = next(
        d for n, d in by_name.items() if n.startswith("accepted_values_fct_indicator_attainment_status")
    )
    assert "`on_track`" in accepted and "取值范围" in accepted
    composite = next(d for n, d in by_name.items() if n.startswith("unique_combination_"))
    assert "{" not in composite and "No two rows share the same (" in composite
    freshness = next(s for k, s in specs.items() if k.name == "freshness_check")
    assert freshness.metadata["dagster/freshness_params"].value["lower_bound_delta_seconds"] == 26 * 3600
    assert "26 hours" in freshness.description


def test_every_check_description_is_bilingual_chinese_first():
    """Every check reads "中文 — English", as the dbt tests and the report, export and snapshot checks do:
    the ledger, GX, alert and evaluation checks were English only, and `freshness_check` had Dagster's
    generic "Evaluates freshness for targeted asset." without saying how old is too old."""
    import re

    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    wrong = {}
    for key in graph.asset_check_keys:
        description = (graph.get_check_spec(key).description or "").strip()
        match = re.fullmatch(r"(?s)([^—]+?) — (.+)", description)
        if (
            not match
            or not re.search(r"[\u4e00-\u9fff]", match.group(1))  # a Chinese name first
            or not re.search(r"[A-Za-z]{3,}.*\s.*[A-Za-z]{3,}", match.group(2))  # then English words
            or "targeted asset" in description  # Dagster's generic wording
        ):
            wrong[key.to_user_string()] = description
    assert wrong == {}


def test_the_output_checks_pass_on_the_sample_refresh(sample_run):
    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
        for e in events_of(sample_run["result"], "ASSET_CHECK_EVALUATION")
    }
    for name in (
        "report_matches_marts",
        "exports_match_marts",
        "snapshot_matches_working_file",
        "freshness_check",
    ):
        assert checks[name].passed, (name, checks[name].metadata)


def test_the_export_check_reads_the_folder_it_is_given_whatever_its_name(sample_run, tmp_path):
    """DuckDB reads a path as a glob pattern: an output folder named with ? or [ must not count a
    neighbouring folder's file as well (nor miss its own)."""
    import duckdb

    con = duckdb.connect(str(sample_run["db"]), read_only=True)
    try:
        for name in ("g?x", "run[1]"):
            out = tmp_path / name
            shutil.copytree(sample_run["output"] / "exports", out)
            assert verify_exports(con, out)[0] == [], name
        neighbour = tmp_path / "gax"  # what "g?x" matches as a pattern: one more row in its CSV
        shutil.copytree(sample_run["output"] / "exports", neighbour)
        extra = neighbour / "fct_flags.csv"
        extra.write_text(
            extra.read_text(encoding="utf-8-sig")
            + extra.read_text(encoding="utf-8-sig").splitlines()[-1]
            + "\n",
            encoding="utf-8-sig",
        )
        assert verify_exports(con, neighbour)[0] != []  # the neighbour is wrong...
        assert verify_exports(con, tmp_path / "g?x")[0] == []  # ...and the folder asked about is not
    finally:
        con.close()


def test_the_output_checks_catch_a_short_export_a_missing_indicator_and_a_stale_copy(sample_run, tmp_path):
    import duckdb

    out = tmp_path / "output"
    shutil.copytree(sample_run["output"], out)
    con = duckdb.connect(str(sample_run["db"]), read_only=True)
    try:
        assert verify_exports(con, out / "exports")[0] == []
        csv_path = out / "exports" / "fct_flags.csv"
        lines = csv_path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        csv_path.write_text("".join(lines[:-1]), encoding="utf-8-sig")  # one row lost
        (out / "exports" / "dim_projects.csv").unlink()
        problems, _ = verify_exports(con, out / "exports")
        assert any("fct_flags.csv has" in p for p in problems) and any(
            "dim_projects.csv is missing" in p for p in problems
        )
        # cut inside a quoted field: not a CSV any more, said so (not counted as some number of rows)
        cut = out / "exports" / "fct_submissions.csv"
        cut.write_text(cut.read_text(encoding="utf-8-sig") + '"an unterminated note\n', encoding="utf-8-sig")
        problems, _ = verify_exports(con, out / "exports")
        assert any(p.startswith("fct_submissions.csv cannot be read as CSV") for p in problems), problems
        shutil.copyfile(sample_run["output"] / "exports" / "fct_submissions.csv", cut)

        # the workbook's contents sheet stating another count: as written (read from the file directly) and
        # as Excel saves it again (shared strings: read with openpyxl)
        import re
        import zipfile

        from openpyxl import load_workbook

        workbook = out / "exports" / "marts.xlsx"
        with zipfile.ZipFile(workbook) as archive:
            parts = {name: archive.read(name) for name in archive.namelist()}
        sheet = parts["xl/worksheets/sheet1.xml"].decode()
        first = re.search(
            r'<c r="A2" t="inlineStr"><is><t>(\w+)</t></is></c><c r="B2" t="n"><v>(\d+)</v>', sheet
        )
        mart, rows = first.group(1), int(first.group(2))
        parts["xl/worksheets/sheet1.xml"] = sheet.replace(f"<v>{rows}</v>", f"<v>{rows + 1}</v>", 1).encode()
        with zipfile.ZipFile(workbook, "w") as archive:
            for name, data in parts.items():
                archive.writestr(name, data)
        problems, _ = verify_exports(con, out / "exports")
        assert f"marts.xlsx states {rows + 1} rows for {mart}, the mart has {rows}" in problems
        # a cell the direct reading does not know (a formula's string result, as other writers store text):
        # the sheet is read with openpyxl
        sheet = sheet.replace(f"<v>{rows}</v>", f"<v>{rows + 2}</v>", 1).replace(
            f'<c r="A2" t="inlineStr"><is><t>{mart}</t></is></c>', f'<c r="A2" t="str"><v>{mart}</v></c>', 1
        )
        assert f't="str"><v>{mart}</v>' in sheet
        parts["xl/worksheets/sheet1.xml"] = sheet.encode()
        with zipfile.ZipFile(workbook, "w") as archive:
            for name, data in parts.items():
                archive.writestr(name, data)
        book = load_workbook(workbook, read_only=True)
        assert book.worksheets[0]["A2"].value == mart
        book.close()
        problems, _ = verify_exports(con, out / "exports")
        assert f"marts.xlsx states {rows + 2} rows for {mart}, the mart has {rows}" in problems

        pages = sorted((out / "report").glob("*.html"))
        assert verify_report(con, pages)[0] == []
        page = out / "report" / "progress_report_370102_14FYP.html"
        name = query(
            con, "select name_zh from marts.fct_indicator_status_latest where indicator_code = 'I22'"
        )[0]
        page.write_text(
            page.read_text(encoding="utf-8").replace("I22", "I2 2").replace(name["name_zh"], "—"),
            encoding="utf-8",
        )
        problems, counts = verify_report(con, pages)
        assert any("I22" in p for p in problems)
        assert counts["370102_14FYP indicators"]["report"] == counts["370102_14FYP indicators"]["mart"] - 1
    finally:
        con.close()

    working = tmp_path / "working.duckdb"
    shutil.copyfile(sample_run["db"], working)
    stale = tmp_path / "stale.duckdb"
    shutil.copyfile(sample_run["db"], stale)
    con = duckdb.connect(str(stale))
    con.execute(
        "delete from raw.receipts where submission_id in (select submission_id from raw.receipts limit 1)"
    )
    con.close()
    con = duckdb.connect(str(working), read_only=True)
    try:
        assert verify_snapshot(con, working)[0] == []
        problems, _ = verify_snapshot(con, stale)
        assert problems and "raw.receipts" in problems[0]
    finally:
        con.close()


@pytest.mark.parametrize(
    "command",
    [["dagster", "definitions", "validate"], ["dg", "check", "defs"]],
    ids=["dagster-definitions-validate", "dg-check-defs"],
)
def test_the_tools_engineers_type_work_from_a_plain_shell(command):
    result = subprocess.run(command, cwd=REPO, env=plain_shell(), capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Traceback" not in output
    if command[0] == "dagster":
        assert "Validation successful for code location planwh" in output
    else:
        assert "All definitions loaded successfully" in output


def test_a_stale_snapshot_fails_the_freshness_check_as_an_error():
    """docs/engineers.md lists `freshness_check` with severity error; Dagster's factory defaults to WARN,
    so a night that did not publish showed as a yellow warning. Evaluated on an instance where the
    snapshot was never published (the same failure as one older than 26 hours)."""
    from pipelines.defs.publish.assets import PUBLISHED
    from pipelines.defs.publish.checks import freshness_checks

    job = dg.define_asset_job("freshness_only", selection=dg.AssetSelection.checks(*freshness_checks))
    defs = dg.Definitions(assets=[dg.AssetSpec(PUBLISHED)], asset_checks=freshness_checks, jobs=[job])
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("freshness_only").execute_in_process(
            instance=instance, raise_on_error=False
        )
    (evaluation,) = [e.event_specific_data for e in events_of(result, "ASSET_CHECK_EVALUATION")]
    assert evaluation.check_name == "freshness_check" and not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR


def test_a_run_that_does_not_run_every_dbt_test_does_not_flood_the_event_log(fresh_warehouse):
    """A refresh with nothing new runs no dbt test: Dagster said so in one ~21,000-character INFO line of
    the run's event log ("op 'planwh_dbt' did not yield or return expected outputs {…every check…}").
    The step's own one line about the tests not run is what stays."""
    from pipelines.lib.settings import load_settings
    from tests.conftest import run_job
    from tests.test_incremental import build_state

    with dg.DagsterInstance.ephemeral() as instance:
        assert run_job(instance=instance).success  # the first build: everything, every test
        built = build_state(load_settings())
        second = run_job(instance=instance)
        assert second.success
        assert build_state(load_settings()) == built  # the state of the last build that ran is kept
        lines = [
            entry.user_message
            for entry in instance.all_logs(second.run_id)
            if entry.step_key == "planwh_dbt" and entry.dagster_event is None
        ]
    assert any("dbt was not run (nothing new since the last build)" in line for line in lines), lines
    assert not [line for line in lines if "did not yield or return expected outputs" in line]
    assert max(len(line) for line in lines) < 2000


def test_the_run_after_a_ui_selection_says_the_selection_is_why_everything_is_rebuilt(fresh_warehouse):
    """A selection of dbt assets (context.is_subset) rebuilds some models only and forgets the recorded
    build state on purpose; the next run's dbt step said "full: no build recorded in this warehouse", as if
    the warehouse had lost its history. It says the last build was a selection."""
    from pipelines.definitions import defs
    from tests.conftest import AS_OF, run_job

    def dbt_reason(instance, run_id) -> str:
        (line,) = [
            entry.user_message
            for entry in instance.all_logs(run_id)
            if entry.step_key == "planwh_dbt"
            and entry.dagster_event is None
            and "dbt build" in entry.user_message
        ]
        return line.split("dbt build ", 1)[1]

    with dg.DagsterInstance.ephemeral() as instance:
        first = run_job(instance=instance)
        assert (
            first.success
            and dbt_reason(instance, first.run_id) == "full: no build recorded in this warehouse"
        )
        selection = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection={dg.AssetKey(["staging", "stg_catalog__units"])}
        )
        chosen = selection.execute_in_process(
            run_config={"resources": {"planwh": {"config": {"as_of": AS_OF}}}}, instance=instance
        )
        assert chosen.success and dbt_reason(instance, chosen.run_id).startswith("subset")
        after = run_job(instance=instance)
        assert after.success
        reason = dbt_reason(instance, after.run_id)
    assert reason.startswith("full: the last build was a selection of dbt assets"), reason
    assert "no build recorded" not in reason and "everything is rebuilt" in reason

    # a full or models build that failed or was killed forgets the state too, and is named as such
    from pipelines.lib.warehouse.refresh_scope import BuildPlan, begin_build, end_build, plan_build

    begin_build(fresh_warehouse, BuildPlan("models", "as_of changed", {}))  # never recorded: it did not end
    end_build(fresh_warehouse)
    again = plan_build(fresh_warehouse, AS_OF, None)
    assert again.mode == "full" and again.reason.startswith("the last models build failed or was stopped")


def test_the_docs_show_column_lineage_where_it_can_be_seen(sample_run):
    """The open-source Dagster UI stores `dagster/column_lineage` but shows no "Column lineage" tab (a
    Dagster+ view): docs/engineers.md promised one. It must point to what works: `planwh lineage`, the
    column schema in the UI, and the GraphQL query it prints, which returns the lineage of `status`."""
    import re

    from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

    from pipelines.runs import local_instance

    doc = (REPO / "docs" / "engineers.md").read_text(encoding="utf-8")
    assert not re.search(r'the "Column lineage" tab of', doc)
    assert "planwh lineage" in doc and "column schema" in doc and "/graphql" in doc
    query = re.search(r"```graphql\n(.*?)```", doc, re.S).group(1)
    with (
        local_instance() as instance,
        define_out_of_process_context(
            str(REPO / "pipelines" / "definitions.py"), "defs", instance
        ) as context,
    ):
        result = execute_dagster_graphql(context, query)
    (materialization,) = result.data["assetOrError"]["assetMaterializations"]
    (entry,) = [e for e in materialization["metadataEntries"] if e.get("lineage")]
    status = next(c for c in entry["lineage"] if c["columnName"] == "status")
    upstream = {"/".join(d["assetKey"]["path"]) for d in status["columnDeps"]}
    assert "intermediate/int_indicator_attainment_evaluated" in upstream
