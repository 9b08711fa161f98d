"""`planwh sql` as an analyst uses it: typed at a terminal (a real pseudo-terminal), piped a script, or
run with -c from a script; always read-only with the safe settings of docs/analysts.md."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from pipelines.lib.warehouse.publish import open_published
from tests.conftest import REPO, TEST_ROOT, query
from tests.test_analysts import documented_queries

PLANWH = str(Path(sys.executable).with_name("planwh"))
PROMPT = "planwh> "
MARTS = [
    "dim_departments",
    "dim_indicators",
    "dim_milestones",
    "dim_plans",
    "dim_projects",
    "fct_department_scorecard",
    "fct_flags",
    "fct_indicator_attainment",
    "fct_indicator_status_latest",
    "fct_indicator_value_history",
    "fct_indicator_values",
    "fct_project_milestones",
    "fct_project_status",
    "fct_submission_compliance",
    "fct_submission_issues",
    "fct_submissions",
]


@pytest.fixture
def snapshot(sample_run, tmp_path):
    """The sample warehouse laid out as published: planwh.duckdb (read-only) beside published.json."""
    folder = tmp_path / "published"
    folder.mkdir()
    path = folder / "planwh.duckdb"
    shutil.copyfile(sample_run["db"], path)
    path.chmod(0o440)
    (folder / "published.json").write_text('{"published_at": "2026-06-30T02:10:00", "as_of": "2026-06-30"}')
    return path


def planwh_sql(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PLANWH, "sql", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_an_analyst_at_the_terminal(snapshot, tmp_path):
    history = tmp_path / "history"
    child = pexpect.spawn(
        PLANWH,
        ["sql", "--db", str(snapshot)],
        cwd=str(REPO),
        env={**os.environ, "PLANWH_SQL_HISTORY": str(history), "COLUMNS": "160", "LINES": "50"},
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 160),
    )
    try:

        def say(line: str) -> str:
            child.sendline(line)
            child.expect_exact(PROMPT)
            return child.before

        child.expect_exact(PROMPT)
        assert "read-only" in child.before and "2026-06-30" in child.before

        listing = say(".tables")
        for mart in MARTS:
            assert f"  {mart} " in listing, mart
        assert "指标完成情况 · Indicator attainment" in listing and "报送部门 — Departments" in listing

        described = say(".describe fct_project_status")
        assert "rag_status" in described and "红黄绿灯" in described and "Project rating" in described

        child.sendline("select status, count(*) as indicators")  # a statement over two lines
        child.expect_exact("...> ")
        result = say(
            "from marts.fct_indicator_status_latest where attribute = 'binding' group by status order by status;"
        )
        assert "not_achieved" in result and "│" in result  # binding indicators that missed 2025

        child.sendline("select 1 as forgotten_semicolon")
        child.expect_exact("...> ")
        assert "dropped" in say(".maxrows 40")  # a command still works; the half statement is dropped

        exported = tmp_path / "binding.xlsx"
        assert "rows written" in say(f".export {exported}")
        from openpyxl import load_workbook

        sheet = load_workbook(exported).active
        assert [c.value for c in sheet[1]] == ["status", "indicators"]
        assert sheet.max_row - 1 == len({r[0].value for r in sheet.iter_rows(min_row=2)}) >= 2

        leak = tmp_path / "leak.csv"
        refused = {
            "create table marts.mine as select 1;": "read-only",
            "delete from marts.fct_flags;": "read-only",
            f"attach '{tmp_path / 'other.duckdb'}' as other;": "cannot read or write files",
            "select * from read_csv('/etc/passwd');": "cannot read or write files",
            f"copy (select 1) to '{leak}';": "cannot read or write files",
            "load httpfs;": "load extensions",
            "set enable_external_access = true;": "locked",
        }
        for statement, why in refused.items():
            out = say(statement)
            assert "错误 Error" in out and why in out, (statement, out)
        assert not leak.exists() and not (tmp_path / "other.duckdb").exists()
        assert "still_open" in say("select 1 as still_open;")  # the session survives every refusal

        child.sendline("select count(*) from range(100000000000) t(a) where a = -1;")  # minutes of work
        # as at a keyboard: the shell has read the line (echoed it) before Ctrl-C. A Ctrl-C sent before
        # that, on a loaded machine, makes the terminal discard the unread line, and no query ever starts
        child.expect_exact("a = -1;")
        time.sleep(1)
        child.sendintr()  # Ctrl-C stops the query, not the session
        child.expect_exact(PROMPT, timeout=30)
        assert "interrupted" in child.before
        assert "after_interrupt" in say("select 1 as after_interrupt;")

        say(".mode csv")
        assert "plan_id,plan_short_en" in say("select plan_id, plan_short_en from marts.dim_plans;")
        assert "reopened" in say(".reopen")  # a newer snapshot is read after reconnecting
        assert "370102_14FYP" in say("select plan_id from marts.dim_plans;")

        child.sendline(".quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert "from marts.fct_indicator_status_latest" in history.read_text(encoding="utf-8")  # history kept


@pytest.mark.parametrize("number", range(8))
def test_every_documented_query_runs_through_planwh_sql_c(snapshot, number):
    sql = documented_queries()[number]
    done = planwh_sql("--db", str(snapshot), "--csv", "-c", sql)
    assert done.returncode == 0, done.stderr
    printed = list(csv.DictReader(io.StringIO(done.stdout)))
    con = open_published(snapshot)
    try:
        expected = query(con, sql)
    finally:
        con.close()
    assert len(printed) == len(expected)
    if expected:
        assert list(printed[0]) == list(expected[0])


def test_planwh_sql_c_prints_a_table_and_fails_with_one_line(snapshot, tmp_path):
    done = planwh_sql(
        "--db", str(snapshot), "-c", "select indicator_code, name_zh from marts.dim_indicators order by 1"
    )
    assert done.returncode == 0 and "I01" in done.stdout and "S088" in done.stdout  # every row for a script
    assert "地区生产总值增速" in done.stdout and "┌" in done.stdout

    bad = planwh_sql("--db", str(snapshot), "-c", "select nonsense from marts.fct_flags")
    assert bad.returncode == 1 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "nonsense" in bad.stderr

    written = planwh_sql("--db", str(snapshot), "-c", "delete from marts.fct_flags")
    assert written.returncode == 1 and "read-only" in written.stderr

    out = tmp_path / "flags.csv"
    saved = planwh_sql("--db", str(snapshot), "-c", "select * from marts.fct_flags", "-o", str(out))
    assert saved.returncode == 0 and out.read_bytes().startswith(b"\xef\xbb\xbf")  # opens in Excel
    con = open_published(snapshot)
    try:
        count = con.execute("select count(*) from marts.fct_flags").fetchone()[0]
    finally:
        con.close()
    assert len(list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))) == count

    wrong = planwh_sql("--db", str(snapshot), "-c", "select 1", "-o", str(tmp_path / "x.parquet"))
    assert wrong.returncode == 1 and ".xlsx" in wrong.stderr

    listing = planwh_sql("--db", str(snapshot), "-c", ".tables")
    assert listing.returncode == 0 and all(m in listing.stdout for m in MARTS)


def test_a_script_on_stdin_and_the_ways_a_session_cannot_start(snapshot, tmp_path):
    script = "select count(*) as n from marts.dim_plans;\n.describe dim_plans\nselect 'end' as done\n"
    done = planwh_sql("--db", str(snapshot), stdin=script)
    assert done.returncode == 0, done.stderr
    assert "plan_name_zh" in done.stdout and "规划名称" in done.stdout and "end" in done.stdout

    failing = planwh_sql("--db", str(snapshot), stdin="select 1;\nselect nope;\nselect 2;\n")
    assert (
        failing.returncode == 1 and "nope" in failing.stderr and "2" in failing.stdout
    )  # goes on, then fails

    missing = planwh_sql("--db", str(tmp_path / "nothing.duckdb"), "-c", "select 1")
    assert missing.returncode == 2 and "make run" in missing.stderr and "Traceback" not in missing.stderr

    pointed = planwh_sql("--db", str(TEST_ROOT / "work" / "planwh.duckdb"), "-c", "select 1")
    assert pointed.returncode == 2 and "working file" in pointed.stderr


def test_wrapping_counts_chinese_characters_as_two_columns():
    from pipelines.lib.text import display_width
    from pipelines.lib.warehouse.sql_shell import wrap

    text = "指标完成情况 · Indicator attainment — one row per indicator and plan year (as_of)."
    lines = wrap(text, 30)
    assert all(display_width(line) <= 30 for line in lines) and " ".join(lines).split() == text.split()
    assert wrap("没有空格的很长的中文句子也要换行", 10) == ["没有空格的", "很长的中文", "句子也要换", "行"]


def test_an_export_from_a_script_is_reported_in_both_languages_like_the_prompt_s(snapshot, tmp_path):
    """`.export` at the prompt says "已导出 N 行 · N rows written to …"; `-o` said it in English only."""
    out = tmp_path / "flags.xlsx"
    saved = planwh_sql("--db", str(snapshot), "-c", "select * from marts.fct_flags", "-o", str(out))
    assert saved.returncode == 0 and out.is_file()
    assert "已导出" in saved.stderr and "rows written to" in saved.stderr
