"""Ingestion and validation over a corpus of real awkward files (issue: ingest and validate)."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.lib.ingest.inbox import discover_and_archive
from pipelines.lib.ingest.load import process_pending
from pipelines.lib.plans.catalog import Catalog
from tests.conftest import query

CORPUS = Path(__file__).parent / "corpus"
EXPECTED = yaml.safe_load((CORPUS / "expected.yml").read_text(encoding="utf-8"))
RECEIVED = "2025-06-01 10:00:00"
BASELINE = "指标编号,统计期,数值\r\nI23,2021,69000\r\nS001,2021,2050\r\n"


def write_backfill(raw: Path, entries: list[tuple[str, Path]]) -> None:
    path = raw / "backfill" / "receipts.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        if fh.tell() == 0:
            writer.writerow(["department_code", "sha256", "received_at", "original_name", "note"])
        for department, file in entries:
            writer.writerow(
                [department, hashlib.sha256(file.read_bytes()).hexdigest(), RECEIVED, file.name, "test"]
            )


def ingest(settings):
    catalog = Catalog.load(settings.seeds_dir)
    discovered = discover_and_archive(settings, catalog)
    batches = process_pending(settings, catalog)
    return discovered, batches


def table_rows(settings, table: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        cursor = con.execute(f"select * from raw.{table}")
        keep = [i for i, d in enumerate(cursor.description) if d[0] != "loaded_at"]
        return sorted((tuple(row[i] for i in keep) for row in cursor.fetchall()), key=repr)
    finally:
        con.close()


def ledger(settings) -> dict[str, dict]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = query(con, "select * from raw.submissions")
        issues = query(con, "select * from raw.quarantine")
    finally:
        con.close()
    out = {r["original_name"]: {**r, "issues": []} for r in rows}
    for issue in issues:
        out[issue["original_name"]]["issues"].append(issue)
    return out


@pytest.fixture
def corpus_loaded(fresh_warehouse):
    settings = fresh_warehouse
    inbox = settings.inbox
    # an earlier, good submission: what is already loaded must not change
    first = inbox / "370102_STATS" / "earlier.csv"
    first.parent.mkdir(parents=True)
    first.write_text(BASELINE, encoding="utf-8")
    write_backfill(settings.raw_dir, [("370102_STATS", first)])
    ingest(settings)
    before = {
        t: table_rows(settings, t)
        for t in ("indicator_values", "project_progress", "submissions", "quarantine")
    }
    entries = []
    for name, spec in EXPECTED.items():
        target = inbox / spec["department"] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / "files" / name, target)
        entries.append((spec["department"], target))
    write_backfill(settings.raw_dir, entries)
    discovered, batches = ingest(settings)
    return settings, before, discovered, batches


def test_every_corpus_file_gets_its_documented_outcome(corpus_loaded):
    settings, _, discovered, batches = corpus_loaded
    assert discovered["new_receipts"] == len(EXPECTED)
    assert len(batches) == 1 and {r.suite for r in batches[0].suite_reports} == {
        "indicator_data",
        "indicator_plausibility",
        "project_progress",
    }
    seen = ledger(settings)
    for name, spec in EXPECTED.items():
        entry = seen[name]
        assert entry["status"] == spec["status"], (
            name,
            entry["status"],
            [i["reason_code"] for i in entry["issues"]],
        )
        assert entry["rows_accepted"] + entry["rows_pending_explanation"] == spec["loaded"], name
        assert entry["rows_pending_explanation"] == spec.get("pending", 0), name
        codes = {i["reason_code"] for i in entry["issues"]}
        assert set(spec.get("reasons", [])) <= codes, (name, codes)
        if "total" in spec:
            assert entry["rows_total"] == spec["total"], name
        if "encoding" in spec:
            assert entry["detected_encoding"] == spec["encoding"], name
        if spec["status"] == "rejected":
            assert entry["reason_code"] and entry["message_zh"] and entry["message_en"], name
        for issue in entry["issues"]:
            assert issue["message_zh"] and issue["message_en"], (name, issue)
            if issue["scope"] == "row":
                assert issue["source_row"] >= 2 and f"{issue['source_row']}" in issue["message_en"], (
                    name,
                    issue,
                )


def test_values_are_parsed_as_the_department_meant(corpus_loaded):
    settings = corpus_loaded[0]
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        for name, spec in EXPECTED.items():
            for key, value in spec.get("values", {}).items():
                code, period = key.split("|")
                rows = con.execute(
                    "select v.value from raw.indicator_values v join raw.submissions s using (submission_id) "
                    "where s.original_name = ? and v.indicator_code = ? and v.period = ?",
                    [name, code, period],
                ).fetchall()
                assert rows == [(value,)], (name, key, rows)
        dates = con.execute(
            "select report_date, completed_on, percent_complete, investment_to_date from raw.project_progress "
            "order by report_date, source_row"
        ).fetchall()
    finally:
        con.close()
    assert (dates[0][0].isoformat(), dates[0][1].isoformat()) == ("2022-03-31", "2021-10-03")  # Excel serials
    assert (dates[-1][0].isoformat(), dates[-1][2], dates[-1][3]) == ("2022-06-30", 40.0, 1500.5)


def test_messages_name_file_sheet_row_column_and_value(corpus_loaded):
    seen = ledger(corpus_loaded[0])
    formula = next(
        i
        for i in seen["formula_without_cached_value.xlsx"]["issues"]
        if i["reason_code"] == "formula_without_value"
    )
    assert (formula["sheet_name"], formula["source_row"], formula["column_name"]) == ("指标数据", 2, "value")
    assert "数值/value" in formula["message_zh"] and "Row 2" in formula["message_en"]
    assert formula["message_en"].startswith(
        "File 'formula_without_cached_value.xlsx', sheet '指标数据': Row 2"
    )
    assert formula["message_zh"].startswith(
        "文件“formula_without_cached_value.xlsx”工作表“指标数据”：第 2 行"
    )
    other = next(
        i
        for i in seen["another_departments_codes.csv"]["issues"]
        if i["reason_code"] == "other_department_codes"
    )
    assert "I19" in other["message_zh"] and "370102_ECO" in other["message_en"]
    bad = next(i for i in seen["numbers_edge_cases.csv"]["issues"] if i["offending_value"] == "1e309")
    assert bad["reason_code"] == "bad_number" and bad["column_name"] == "value"
    # the offending value is what the department typed in the named column
    by_reason = {i["reason_code"]: i for i in seen["quarter_for_annual_indicator.csv"]["issues"]}
    assert (
        by_reason["quarter_not_allowed"]["column_name"],
        by_reason["quarter_not_allowed"]["offending_value"],
    ) == (
        "period",
        "2023Q2",
    )
    assert by_reason["assigned_target_not_applicable"]["offending_value"] == "下达目标"
    assert "I23" in by_reason["assigned_target_not_applicable"]["message_en"]
    shifted = next(i for i in seen["extra_cells_in_a_row.csv"]["issues"] if i["reason_code"] == "extra_cells")
    assert (shifted["source_row"], shifted["offending_value"]) == (2, "117")
    assert "80,117" in shifted["message_en"]
    # a CSV in a batch that also holds workbooks has no sheet (not "nan")
    assert shifted["sheet_name"] is None
    assert shifted["message_en"].startswith("File 'extra_cells_in_a_row.csv': Row 2")
    conflict = [
        i for i in seen["conflicting_duplicates.csv"]["issues"] if i["reason_code"] == "conflicting_duplicate"
    ]
    assert conflict and all(i["column_name"] == "value" and i["offending_value"] for i in conflict)
    html = next(i for i in seen["html_saved_as.xlsx"]["issues"] if i["reason_code"] == "disguised_file")
    assert (
        "HTML page" in html["message_en"]
        and "网页" not in html["message_en"]
        and "page" not in html["message_zh"]
    )
    # two different values that cannot be read are two errors, each with its row, not a row and its repeat
    unreadable = seen["unreadable_values_are_no_repeats.csv"]
    found = {(i["reason_code"], i["source_row"], i["offending_value"]) for i in unreadable["issues"]}
    assert {
        ("bad_number", 2, "约2500"),
        ("bad_number", 3, "约2600"),
    } <= found  # (and they conflict: same key)
    assert "duplicate_row" not in {i["reason_code"] for i in unreadable["issues"]}
    assert unreadable["rows_rejected"] == 2
    milestones = seen["unreadable_milestones_are_no_repeats.csv"]["issues"]
    assert {(i["reason_code"], i["source_row"]) for i in milestones} == {
        ("unknown_milestone", 3),
        ("unknown_milestone", 4),
    }
    # the unclosed quote is named with the line it opened on
    quote = seen["unclosed_quote_at_the_end.csv"]
    assert quote["reason_code"] == "unbalanced_quote" and "line 2" in quote["message_en"]


def test_nothing_already_loaded_changes(corpus_loaded):
    settings, before, _, _ = corpus_loaded
    for table, rows in before.items():
        after = table_rows(settings, table)
        assert set(rows) <= set(after), table
    first = [
        r
        for r in table_rows(settings, "indicator_values")
        if r[0].startswith("370102_STATS-") and r[4] in (2, 3)
    ]
    assert first  # the earlier file's rows are still there


def test_text_is_stored_as_data_never_executed(corpus_loaded):
    settings = corpus_loaded[0]
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        names = [r[0] for r in con.execute("select indicator_name from raw.indicator_values").fetchall()]
        notes = [r[0] for r in con.execute("select note from raw.indicator_values").fetchall()]
        assert con.execute("select count(*) from raw.submissions").fetchone()[0] == len(EXPECTED) + 1
    finally:
        con.close()
    assert "'); DROP TABLE raw.submissions; --" in names
    assert '=HYPERLINK("http://evil.example","click")' in notes


def test_ingesting_the_same_inbox_again_changes_nothing(corpus_loaded):
    settings = corpus_loaded[0]
    snapshot = {
        t: table_rows(settings, t)
        for t in ("indicator_values", "project_progress", "submissions", "quarantine", "receipts")
    }
    discovered, batches = ingest(settings)
    assert discovered["new_receipts"] == 0 and batches == []
    for table, rows in snapshot.items():
        assert table_rows(settings, table) == rows, table


def test_a_correction_supersedes_exactly_the_rows_it_corrects(corpus_loaded):
    settings = corpus_loaded[0]
    correction = settings.inbox / "370102_STATS" / "更正.csv"
    correction.write_text("指标编号,统计期,数值\r\nI23,2022,76999\r\n", encoding="utf-8")
    ingest(settings)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select period, value, received_at from raw.indicator_values where indicator_code = 'I23' order by received_at"
        ).fetchall()
    finally:
        con.close()
    periods = [r[0] for r in rows]
    assert periods.count("2022") >= 3 and rows[-1][:2] == (
        "2022",
        76999.0,
    )  # history kept, correction appended


def test_the_archive_is_content_addressed_and_read_only(corpus_loaded):
    settings = corpus_loaded[0]
    files = [p for p in (settings.archive / "sha256").rglob("*") if p.is_file()]
    assert len(files) >= len(EXPECTED)
    for path in files:
        assert path.name == hashlib.sha256(path.read_bytes()).hexdigest()
        assert not os.access(path, os.W_OK) or os.geteuid() == 0
        assert (path.stat().st_mode & 0o222) == 0


def test_hostile_names_links_sizes_and_folders_are_refused(fresh_warehouse, monkeypatch, tmp_path):
    settings = fresh_warehouse
    inbox = settings.inbox
    good = (CORPUS / "files" / "gbk.csv").read_bytes()
    (inbox / "370102_STATS").mkdir(parents=True)
    (inbox / "370102_STATS" / "..\\..\\etc\\passwd.csv").write_bytes(good)
    outside = tmp_path / "secret.csv"
    outside.write_bytes(good)
    (inbox / "370102_STATS" / "link.csv").symlink_to(outside)
    (inbox / "370102_STATS" / "big.csv").write_bytes(good + b"," * 5000)
    (inbox / "370102_NOBODY").mkdir()
    (inbox / "370102_NOBODY" / "x.csv").write_bytes(good)
    (inbox / "loose.csv").write_bytes(good)
    (inbox / "370102_STATS" / "~$lock.xlsx").write_bytes(b"lock")
    (inbox / "370102_STATS" / "ordinary.csv").write_bytes(good)  # refused files never stop the others
    os.symlink(tmp_path, inbox / "370102_COM")
    monkeypatch.setenv("PLANWH_MAX_FILE_BYTES", "4096")
    from pipelines.lib.settings import load_settings

    settings = load_settings()
    ingest(settings)
    seen = ledger(settings)
    expected = {
        "..\\..\\etc\\passwd.csv": "unsafe_file_name",
        "link.csv": "symlink_not_allowed",
        "big.csv": "file_too_large",
        "x.csv": "unknown_department",
        "loose.csv": "not_in_department_folder",
    }
    assert seen["~$lock.xlsx"]["status"] == "ignored"  # Excel's owner file: noted, never read
    assert (
        seen["~$lock.xlsx"]["reason_code"] == "hidden_or_temporary_file"
        and seen["~$lock.xlsx"]["rows_total"] == 0
    )
    for name, reason in expected.items():
        assert seen[name]["status"] == "rejected" and seen[name]["reason_code"] == reason, (
            name,
            seen[name]["reason_code"],
        )
    assert (
        seen["370102_COM"]["reason_code"] == "symlink_not_allowed"
    )  # a linked department folder is not followed
    assert not any(p.name == "secret.csv" for p in settings.archive.rglob("*"))
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        loaded = con.execute("select count(*) from raw.indicator_values").fetchone()[0]
    finally:
        con.close()
    assert (
        seen["ordinary.csv"]["status"] == "accepted" and loaded == seen["ordinary.csv"]["rows_accepted"] == 1
    )
