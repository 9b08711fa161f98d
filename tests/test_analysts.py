"""Analysts: the documented queries run, sessions are safe, and a session open during a refresh
neither blocks it nor breaks."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.outputs.exports import read_export_csv, unneutralise
from pipelines.lib.warehouse.publish import open_published
from tests.conftest import REPO, query, run_job

DOC = (REPO / "docs" / "analysts.md").read_text(encoding="utf-8")


def documented_queries() -> list[str]:
    return [block.strip() for block in re.findall(r"```sql\n(.*?)```", DOC, flags=re.S)]


def test_the_documented_queries_run(sample_db):
    queries = documented_queries()
    assert len(queries) >= 8
    results = [query(sample_db, sql) for sql in queries]
    assert all(isinstance(r, list) for r in results)
    binding = results[0]
    assert {r["indicator_code"] for r in binding} == {"I16", "I17", "I19", "I22", "I24", "I31"}
    # I22's path is one indicator of one plan (the 15th plan has an I22 of its own): its five years, once each
    assert [r["plan_year"] for r in results[2]] == [2021, 2022, 2023, 2024, 2025]
    overview = results[1]  # the 14th plan's 33 main indicators, not both plans' together
    assert sum(r["indicators"] for r in overview) == 33
    assert results[3]  # what we knew on 2024-01-01


@pytest.mark.parametrize(
    "statement",
    [
        "create table marts.x (a integer)",
        "delete from marts.fct_flags",
        "copy (select 1) to '/tmp/planwh_leak.csv'",
        "select * from read_csv('/etc/passwd')",
        "attach '/tmp/planwh_other.duckdb' as other",
        "set enable_external_access = true",
        "install httpfs",
    ],
)
def test_an_analyst_session_cannot_write_or_reach_outside(sample_run, statement):
    con = open_published(sample_run["db"])
    try:
        with pytest.raises(duckdb.Error):
            con.execute(statement)
    finally:
        con.close()
    assert not Path("/tmp/planwh_leak.csv").exists()


ANALYST = textwrap.dedent(
    """
    import sys, time
    from pipelines.lib.warehouse.publish import open_published
    con = open_published(sys.argv[1])
    print(con.execute("select count(*) from marts.fct_submissions").fetchone()[0], flush=True)
    for line in sys.stdin:          # the test says when to query again
        print(con.execute("select count(*) from marts.fct_submissions").fetchone()[0], flush=True)
    """
)


def test_an_open_analyst_session_and_a_refresh_both_succeed_and_the_exports_round_trip(fresh_warehouse):
    settings = fresh_warehouse
    folder = settings.inbox / "370102_STATS"
    folder.mkdir(parents=True)
    (folder / "one.csv").write_text("指标编号,统计期,数值\nI23,2024,83000\n", encoding="utf-8")
    assert run_job("refresh", None).success
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(settings.published_warehouse)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdout.readline().strip() == "1"
        # the second file carries text a spreadsheet would run as a formula: the exports must neutralise it
        (folder / "注入.csv").write_text(
            '指标编号,统计期,数值,备注\nI23,2021,69000,"=HYPERLINK(""http://evil.example"",""x"")"\n'
            "I23,2022,76000,+1+1\nI23,2023,80000,@SUM(A1)\nI01,2021,-2.5,-note\n",
            encoding="utf-8",
        )
        started = time.monotonic()
        result = run_job("refresh", None)  # the analyst keeps the old snapshot open throughout
        assert result.success
        analyst.stdin.write("again\n")
        analyst.stdin.flush()
        assert analyst.stdout.readline().strip() == "1"  # still reading the snapshot it opened
        assert time.monotonic() - started < 600
    finally:
        analyst.stdin.close()
        analyst.wait(timeout=30)
    assert analyst.returncode == 0, analyst.stderr.read()
    fresh = open_published(settings.published_warehouse)
    try:
        assert fresh.execute("select count(*) from marts.fct_submissions").fetchone()[0] == 2
    finally:
        fresh.close()
    assert_exports_round_trip_and_neutralise_formulas(settings)


def assert_exports_round_trip_and_neutralise_formulas(settings) -> None:
    exports = settings.output_dir / "exports"
    con = open_published(settings.published_warehouse)
    try:
        for mart in ("fct_indicator_values", "fct_indicator_attainment", "dim_indicators", "fct_submissions"):
            rows = read_export_csv(exports / f"{mart}.csv")
            assert len(rows) == con.execute(f"select count(*) from marts.{mart}").fetchone()[0], mart
        exported = read_export_csv(exports / "fct_indicator_values.csv")
        notes = {(r["indicator_code"], r["period"]): r["note"] for r in exported}
        values = {(r["indicator_code"], r["period"]): r["value"] for r in exported}
    finally:
        con.close()
    assert (
        notes[("I23", "2021")] == '=HYPERLINK("http://evil.example","x")' and notes[("I23", "2022")] == "+1+1"
    )
    assert notes[("I01", "2021")] == "-note" and float(values[("I01", "2021")]) == -2.5
    raw = (exports / "fct_indicator_values.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in raw and "'+1+1" in raw and "'@SUM(A1)" in raw
    assert float(values[("I23", "2021")]) == 69000
    from openpyxl import load_workbook

    workbook = load_workbook(exports / "marts.xlsx")
    sheet = workbook["指标数值"]
    header = [c.value for c in sheet[1]]
    assert "数值 / value" in header and "统计期 / period" in header
    note_col = header.index("备注 / note")
    cells = [row[note_col] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in cells if c.value)
    assert {unneutralise(c.value) for c in cells if c.value} >= {
        '=HYPERLINK("http://evil.example","x")',
        "+1+1",
    }
    assert not any(str(c.value).startswith(("=", "+", "@")) for c in cells if c.value)
    value_col = header.index("数值 / value")
    assert any(row[value_col].value == -2.5 for row in sheet.iter_rows(min_row=2))  # numbers stay numbers


def test_the_snapshot_is_compacted_once_a_day_and_whenever_half_the_file_is_free(
    fresh_warehouse, monkeypatch
):
    """A rewrite (COPY FROM DATABASE) costs in proportion to the data, a byte copy in proportion to the
    file: the day's first publish with a tenth or more of free blocks rewrites, the next ones of the day
    copy, until half the working file is free; every snapshot holds the same rows either way."""
    import json
    from datetime import timedelta

    from pipelines.lib.settings import now_local
    from pipelines.lib.warehouse import publish as publishing
    from pipelines.lib.warehouse.connection import connect
    from pipelines.lib.warehouse.publish import publish

    settings = fresh_warehouse
    # the publishes below happen on one day: midday, whenever the test runs (midnight must not fall between)
    noon = now_local().replace(hour=12, minute=0, second=0)
    monkeypatch.setattr(publishing, "now_local", lambda precise=False: noon)
    info_path = settings.published_warehouse.with_name("published.json")

    def free_share() -> float:
        with connect(settings) as con:
            con.execute("checkpoint")
            size = con.execute("pragma database_size").fetchall()[0]
        return int(size[5]) / int(size[3])

    def rows() -> int:
        con = open_published(settings.published_warehouse)
        try:
            return con.execute("select count(*) from marts.filler").fetchone()[0]
        finally:
            con.close()

    with connect(settings) as con:
        con.execute("create schema if not exists marts")
        # the freed blocks lie before the kept ones (DuckDB cuts free blocks off the end of the file)
        con.execute(
            "create table marts.scratch as select range as id, md5(range::varchar) as v from range(100000)"
        )
        con.execute("checkpoint")
        con.execute(
            "create table marts.filler as select range as id, md5(range::varchar) as v from range(400000)"
        )
        con.execute("checkpoint")
        con.execute("drop table marts.scratch")  # a fifth of the data freed
    assert 0.10 <= free_share() < 0.50

    first = publish(settings)
    assert first["compacted"] and first["size_bytes"] < first["working_size_bytes"]
    assert rows() == 400000

    for _ in range(2):  # the same day: copied as it is (also after a copy)
        again = publish(settings)
        assert not again["compacted"] and again["size_bytes"] == again["working_size_bytes"]
        assert again["compacted_at"] == first["compacted_at"]
    assert rows() == 400000

    info = json.loads(info_path.read_text(encoding="utf-8"))  # the last compact copy was made yesterday
    info.update(compacted_at=(noon - timedelta(days=1)).isoformat())
    info_path.chmod(0o600)
    info_path.write_text(json.dumps(info), encoding="utf-8")
    assert publish(settings)["compacted"]

    with connect(settings) as con:
        con.execute("delete from marts.filler where id >= 100000")  # three quarters of the rows gone
        con.execute("checkpoint")
    assert free_share() >= 0.50
    half_free = publish(settings)  # compacted again the same day: the copy would be twice its data
    assert half_free["compacted"] and half_free["free_share"] >= 0.50
    assert rows() == 100000
