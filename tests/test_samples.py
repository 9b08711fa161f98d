"""The sample generator, the department templates, the validation report and the run summary."""

from __future__ import annotations

import csv
import dataclasses
import io
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

from openpyxl import load_workbook

from pipelines.lib.ingest.inbox import discover_and_archive
from pipelines.lib.ingest.load import process_pending
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.submissions.samples import generate_samples
from pipelines.lib.submissions.templates import HEADER_ROW, write_template
from tests.conftest import REPO, query

SEEDS = REPO / "dbt_project" / "seeds"


def test_the_shipped_samples_are_what_the_generator_writes(tmp_path):
    catalog = Catalog.load(SEEDS)
    written = generate_samples(catalog, tmp_path / "inbox")
    with (REPO / "raw" / "backfill" / "receipts.csv").open(encoding="utf-8") as fh:
        shipped = {(r["department_code"], r["sha256"], r["received_at"]) for r in csv.DictReader(fh)}
    assert {(w.department_code, w.sha256, w.received_at.isoformat(sep=" ")) for w in written} == shipped
    assert len(written) == len(list((REPO / "raw" / "inbox").rglob("*.*")))


def test_a_filled_template_is_accepted(fresh_warehouse):
    settings = fresh_warehouse
    catalog = Catalog.load(settings.seeds_dir)
    path = write_template(catalog, "370102_ECO", "2024", settings.raw_dir / "templates")
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["填写说明", "指标数据", "项目进度"]
    sheet = workbook["指标数据"]
    rows = [r for r in sheet.iter_rows(min_row=HEADER_ROW + 1) if r[0].value]  # below: spare rows to add to
    assert {r[0].value for r in rows} == {"I18", "I19", "I20", "I21"}
    assert [r[3].value for r in rows].count("下达目标") == 3  # I18, I20, I21 take an assigned target
    for index, row in enumerate(rows):
        if row[0].value != "I21":  # one row left blank: "not reported", not an error
            row[4].value = 60 + index
    target = settings.inbox / "370102_ECO" / "2024年度.xlsx"
    target.parent.mkdir(parents=True)
    workbook.save(target)
    discover_and_archive(settings, catalog)
    process_pending(settings, catalog)
    import duckdb

    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        ledger = query(con, "select * from raw.submissions")[0]
        issues = query(con, "select reason_code from raw.quarantine")
    finally:
        con.close()
    assert ledger["status"] == "accepted_with_warnings" and ledger["rows_accepted"] == len(rows) - 2
    assert {i["reason_code"] for i in issues} == {"value_left_blank"}


def test_the_validation_report_lists_each_rule_and_the_latest_results(sample_run):
    html = (sample_run["output"] / "validation" / "index.html").read_text(encoding="utf-8")
    for text in (
        "indicator_data",
        "project_progress",
        "other_department_codes",
        "unknown_milestone",
        "ExpectColumnPairValuesAToBeGreaterThanB",
        "最近的拒收 Latest rejections",
        "问题数据示例.csv",
    ):
        assert text in html, text
    assert "✘" in html and "✔" in html


def test_the_run_summary_names_what_needs_attention(sample_run):
    from pipelines.lib.outputs.summary import print_summary
    from pipelines.lib.settings import load_settings

    settings = dataclasses.replace(load_settings(), publish_dir=sample_run["db"].parent)
    out = io.StringIO()
    with redirect_stdout(out):
        print_summary(settings, "test-run", 1.0, success=True)
    text = out.getvalue()
    assert "评估日期 Evaluation date (as_of): 2026-06-30" in text
    assert (
        "Critical alerts (this evaluation): 6" in text and "I22 城区绿化覆盖率" in text and "区水务局" in text
    )
    assert "约束性 binding" in text and "Where to look next" in text


def test_dbt_docs_build_offline(sample_run, tmp_path):
    dbt = Path(sys.executable).with_name("dbt")
    run = subprocess.run(
        [
            str(dbt),
            "docs",
            "generate",
            "--static",
            "--target-path",
            str(tmp_path),
            "--project-dir",
            "dbt_project",
            "--profiles-dir",
            "dbt_project",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    page = (tmp_path / "static_index.html").read_text(encoding="utf-8")
    assert "fct_indicator_attainment" in page and "attainment_method" in page
