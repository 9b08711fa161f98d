"""The evaluation report (总结评估 / 中期评估): its sentences, its .docx and HTML, against the marts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from pipelines.lib.outputs import evaluation as ev
from tests.conftest import AS_OF, REPO, query

PLAN = "370102_14FYP"


def _plan(con) -> dict:
    return query(con, "select * from marts.dim_plans where plan_id = ?", [PLAN])[0]


def _latest(con, where: str = "true") -> list[dict]:
    return query(con, f"select * from marts.fct_indicator_status_latest where plan_id = '{PLAN}' and {where}")


def test_the_kind_of_evaluation_follows_the_date():
    """中期评估 while the plan runs (its last day included), 总结评估 from the next day, provisional until the
    last year's figures are due."""
    from datetime import date

    plan = {
        "plan_id": "P",
        "plan_short_zh": "某区“十四五”规划纲要",
        "plan_short_en": "Some plan",
        "end_year": 2025,
    }
    due = date(2026, 3, 31)
    inside = ev.PlanContext(plan=plan, as_of=date(2025, 12, 31), final_year_due=due)
    assert inside.kind == ev.MID_TERM and inside.title_zh == "某区“十四五”规划纲要实施情况中期评估报告"
    early = ev.PlanContext(plan=plan, as_of=date(2026, 1, 1), final_year_due=due)
    assert early.kind == ev.FINAL and early.provisional and early.title_zh.endswith("总结评估报告")
    settled = ev.PlanContext(plan=plan, as_of=date(2026, 4, 1), final_year_due=due)
    assert settled.kind == ev.FINAL and not settled.provisional
    # before the last figures are due, an indicator judged on an earlier year is said to have no final value yet
    rows = [
        {"category": "achieved", "label_zh": "完成", "label_en": "Achieved", "n": 30},
        {"category": "as_expected", "label_zh": "基本符合预期", "label_en": "Broadly as expected", "n": 3},
    ]
    sentence = ev._category_sentence("main_indicators", rows, early, "主要指标", "main indicators")
    assert sentence.zh == "33项主要指标中，完成30项，尚无最终值、进展基本符合预期3项。"
    mid = ev._category_sentence("main_indicators", rows, inside, "主要指标", "main indicators")
    assert mid.zh == "33项主要指标中，33项符合或快于预期（基本符合预期3项、完成30项）。"


def test_every_sentence_number_equals_the_marts(sample_db):
    """Each generated sentence's numbers, recounted here from the marts' rows, and said in its text."""
    ctx = ev.plan_context(sample_db, _plan(sample_db))
    assert ctx.kind == ev.FINAL and not ctx.provisional and str(ctx.as_of) == AS_OF
    said = {s.key: s for s in ev.sentences(sample_db, ctx)}
    assert list(said) == [
        "main_indicators",
        "binding_indicators",
        "expected_indicators",
        "other_targets",
        "projects",
        "submissions",
    ]
    for key, where in (
        ("main_indicators", "indicator_kind = 'main'"),
        ("binding_indicators", "indicator_kind = 'main' and attribute = 'binding'"),
        ("expected_indicators", "indicator_kind = 'main' and attribute <> 'binding'"),
        ("other_targets", "indicator_kind <> 'main'"),
    ):
        rows = _latest(sample_db, where)
        counts = Counter(r["evaluation_category"] for r in rows)
        assert said[key].numbers == {"total": len(rows), **counts}, key
        labels = {r["evaluation_category"]: r["evaluation_category_zh"] for r in rows}
        for category, n in counts.items():  # "完成20项" but never inside "未完成20项"
            assert re.search(rf"(^|[，、（：；中]){labels[category]}{n}项", said[key].zh), (key, category)
        assert f"{len(rows)}项" in said[key].zh
    main = said["main_indicators"]
    assert main.numbers["total"] == 33 and main.numbers["not_achieved"] >= 10
    assert main.zh.startswith(
        f"33项主要指标中，完成{main.numbers['achieved']}项，未完成{main.numbers['not_achieved']}项"
    )
    assert "Of the 33 main indicators" in main.en
    # the binding sentence names every binding indicator not achieved, with its shortfall
    binding = said["binding_indicators"]
    missed = _latest(sample_db, "attribute = 'binding' and status = 'not_achieved'")
    assert {r["indicator_code"] for r in missed} == {"I16", "I19", "I22", "I24", "I31"}
    for r in missed:
        assert r["indicator_code"] in binding.zh and r["name_zh"] in binding.zh
    assert "I22 城区绿化覆盖率（2025年46.67%，目标>48%，差距1.33个百分点）" in binding.zh
    assert "I16" in binding.zh and "5年中1年未完成，差距最大0.8个百分点" in binding.zh
    assert "I17 单位地区生产总值用水量降幅（2025年数据逾期未报）" in binding.zh
    projects = query(sample_db, f"select * from marts.fct_project_status where plan_id = '{PLAN}'")
    numbers = said["projects"].numbers
    assert numbers["total"] == len(projects) == 68
    assert numbers["completed"] == sum(p["is_completed"] for p in projects)
    assert numbers["red"] == sum(p["rag_status"] == "red" for p in projects)
    assert f"{numbers['total']}个重大项目中，已完成{numbers['completed']}个" in said["projects"].zh
    # after the plan, an unfinished project is carried over or closed as the marts rate it, never all carried over
    fates = Counter(p["rag_status"] for p in projects if not p["is_completed"])
    assert fates["carried_over"]  # the 15th plan continues some (as of 2026-02-15 some were also closed)
    assert (numbers["carried_over"], numbers["not_completed"]) == (
        fates["carried_over"],
        fates["not_completed"],
    )
    assert "在建" not in said["projects"].zh and "需转入下一规划期" not in said["projects"].zh
    parts = [
        f"{fates[k]}个{label}"
        for k, label in (("carried_over", "转入下一规划期续建"), ("not_completed", "随本规划结束未完成"))
        if fates[k]
    ]
    assert f"未完成{numbers['ongoing']}个（{'、'.join(parts)}）" in said["projects"].zh
    compliance = query(
        sample_db,
        f"select compliance_status, count(*) as n from marts.fct_submission_compliance where plan_id = '{PLAN}' "
        "and compliance_status <> 'not_due' group by 1",
    )
    by_status = {r["compliance_status"]: r["n"] for r in compliance}
    sub = said["submissions"].numbers
    assert sub["due"] == sum(by_status.values())
    assert (sub["on_time"], sub["late"], sub["missing"]) == (
        by_status.get("on_time", 0),
        by_status.get("late", 0),
        by_status.get("missing", 0),
    )
    assert "区水务局" in said["submissions"].zh  # departments by name, not code
    for sentence in said.values():
        assert "370102_" not in sentence.zh


def test_the_final_docx_opens_and_its_counts_equal_the_marts(sample_run, sample_db):
    from docx import Document

    path = sample_run["output"] / "evaluation" / f"evaluation_{PLAN}.docx"
    html = sample_run["output"] / "evaluation" / f"evaluation_{PLAN}.html"
    assert path.exists() and html.exists()
    assert ev.verify_docx(sample_db, PLAN, path) == []
    document = Document(str(path))
    assert document.core_properties.title == "历下区“十四五”规划纲要实施情况总结评估报告"
    assert "kind=final" in document.core_properties.keywords
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading 1")]
    assert headings[:6] == [
        "一、总体情况",
        "二、主要指标完成情况",
        "三、其他目标",
        "四、重大项目",
        "五、报送情况",
        "附表",
    ]
    # the body's tables are numbered as they appear: one left out (nothing to list) leaves no gap
    numbers = [int(m.group(1)) for p in document.paragraphs if (m := re.match(r"表(\d+) ", p.text))]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 3, numbers
    tables = ev.docx_tables(path)
    main = tables["main_indicators"]
    rows = [r for r in main[1:] if r[0].isdigit()]
    assert len(rows) == 33
    by_code = {r[1].split(" ")[0]: r for r in rows}
    status_col, note_col = main[0].index("完成情况"), main[0].index("说明")
    assert by_code["I22"][status_col] == "未完成" and by_code["I22"][note_col] == "差距1.33个百分点"
    assert by_code["I29"][note_col] == "与目标持平，未超过目标"
    assert by_code["I16"][5].startswith("1.8（下达2.6）")
    assert "区城市管理局" in by_code["I22"]  # the department by name
    assert len([r for r in tables["other_targets"][1:] if r[0].isdigit()]) == 88
    text = ev.docx_text(path)
    for s in ev.sentences(sample_db, ev.plan_context(sample_db, _plan(sample_db))):
        assert s.zh in text and s.en in text  # the same sentences, and an English summary at the end
    # a mismatch is caught: the check is not a tautology
    broken = path.with_name("broken.docx")
    cell = document.tables[
        [t._tbl.tblPr.xpath("w:tblCaption/@w:val") for t in document.tables].index(["main_indicators"])
    ]
    for row in cell.rows[1:]:
        if row.cells[status_col].text == "未完成":
            row.cells[status_col].paragraphs[0].runs[0].text = "已达标"
            break
    document.save(str(broken))
    problems = ev.verify_docx(sample_db, PLAN, broken)
    assert problems and "table 1 statuses" in problems[0]


def test_the_asset_check_compares_the_report_with_the_marts(sample_run, sample_db):
    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
        for e in sample_run["result"].all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    check = checks["evaluation_matches_marts"]
    plans = query(sample_db, "select count(*) as n from marts.dim_plans")[0]["n"]
    assert check.passed and check.metadata["plans_checked"].value == plans == 2  # the 14th and the 15th


def test_a_mid_term_evaluation_from_a_pinned_date_leaves_the_live_warehouse_alone(
    sample_run, tmp_path, monkeypatch
):
    from pipelines.lib.settings import load_settings
    from pipelines.lib.warehouse.snapshot import evaluated_snapshot

    monkeypatch.setenv("PLANWH_PUBLISH_DIR", str(sample_run["db"].parent))
    settings = load_settings()
    before = sample_run["db"].stat().st_mtime_ns
    with evaluated_snapshot(settings, "2023-06-30") as (con, as_of):
        assert str(as_of) == "2023-06-30"
        plan = _plan(con)
        info = ev.write_evaluation(con, plan, tmp_path, stem="mid")
        assert info["kind"] == ev.MID_TERM and info["title"].endswith("中期评估报告")
        assert ev.verify_docx(con, PLAN, info["docx"]) == []
        rows = _latest(con, "indicator_kind = 'main'")
        assert {r["latest_year"] for r in rows} == {2022}  # 2023 is not due by mid-2023
        assert not [r for r in rows if r["status"] in ("not_achieved",)]
        counts = Counter(r["evaluation_category"] for r in rows)
        sentence = ev.sentence_main(con, ev.plan_context(con, plan))
        good = sum(counts[c] for c in ("achieved_early", "ahead", "as_expected", "achieved"))
        assert sentence.zh.startswith(f"33项主要指标中，{good}项符合或快于预期")
        assert f"滞后于预期{counts['lagging']}项" in sentence.zh and counts["ahead"] and counts["lagging"]
        text = ev.docx_text(info["docx"])
        assert "中期评估" in text and "滞后于预期及暂无数据指标情况" in text
        # the 15th plan begins in 2026: no evaluation of it as of mid-2023, and an earlier one is removed
        later = query(con, "select * from marts.dim_plans where plan_id = '370102_15FYP'")[0]
        assert not ev.plan_context(con, later).started and ev.plan_context(con, plan).started
        zh, en = ev.plan_context(con, later).not_started_text
        assert "2026年开始实施" in zh and "2023-06-30" in zh and "begins in 2026" in en
        stale = tmp_path / "evaluation_370102_15FYP.docx"
        stale.write_bytes(b"an evaluation of another date")
        written = ev.write_evaluations(con, tmp_path)
        assert [w["plan_id"] for w in written] == [PLAN] and not stale.exists()
    assert sample_run["db"].stat().st_mtime_ns == before


def test_a_snapshot_published_with_a_knowledge_cutoff_is_re_evaluated_without_it(
    sample_run, tmp_path, monkeypatch
):
    """`make run KNOWN_AT=…` publishes marts that count only what was received by then: an evaluation that
    asks for everything received must not read them as they are (nor one asking for the same cutoff re-run)."""
    import shutil

    import duckdb

    from pipelines.lib.settings import load_settings
    from pipelines.lib.warehouse.snapshot import evaluated_snapshot

    copy = tmp_path / "published" / "planwh.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(sample_run["db"], copy)
    with duckdb.connect(str(copy)) as con:  # as a refresh with PLANWH_KNOWN_AT=2025-03-31 records it
        con.execute("update ops.model_state set state_value = '2025-03-31' where state_key = 'known_at'")
        assert (
            con.execute("select count(*) from ops.model_state where state_key = 'known_at'").fetchone()[0]
            == 1
        )
    monkeypatch.setenv("PLANWH_PUBLISH_DIR", str(copy.parent))
    settings = load_settings()

    def opened(con) -> str:
        return con.execute(
            "select path from duckdb_databases() where database_name = current_database()"
        ).fetchone()[0]

    with evaluated_snapshot(settings, known_at="2025-03-31") as (con, as_of):
        assert opened(con) == str(copy) and str(as_of) == AS_OF  # the same cutoff: read as it is
    with evaluated_snapshot(settings) as (con, as_of):
        assert opened(con) != str(copy) and str(as_of) == AS_OF  # everything received: evaluated again


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "evaluation", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )


def test_the_evaluation_command_writes_html_and_docx(sample_run, tmp_path):
    env = dict(os.environ, PLANWH_PUBLISH_DIR=str(sample_run["db"].parent), PLANWH_OUTPUT_DIR=str(tmp_path))
    run = _cli("--as-of", AS_OF, "--plan", PLAN, env=env)
    assert run.returncode == 0, run.stderr
    folder = tmp_path / "evaluation"
    assert (folder / f"evaluation_{PLAN}_{AS_OF}.docx").stat().st_size > 20_000
    assert (folder / f"evaluation_{PLAN}_{AS_OF}.html").exists()
    assert "总结评估" in run.stdout and "33项主要指标中" in run.stdout
    unknown = _cli("--plan", "NOPE", env=env)
    assert unknown.returncode == 2 and "370102_14FYP" in unknown.stderr  # says which plans exist
    bad = _cli("--as-of", "2026-13-01", env=env)
    # one line naming the bad value and a valid example (the settings check, before anything is opened)
    assert bad.returncode == 2 and "2026-13-01" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.browser
def test_the_evaluation_page_renders_in_chromium(sample_run):
    from tests.browser import chromium_page

    page_path = sample_run["output"] / "evaluation" / f"evaluation_{PLAN}.html"
    html = page_path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']https?://""", html)
    with chromium_page() as page:
        page.goto(page_path.as_uri())
        assert page.evaluate("document.title") == "历下区“十四五”规划纲要实施情况总结评估报告"
        assert page.evaluate("document.getElementById('kind').dataset.kind") == "final"
        assert page.evaluate("document.querySelectorAll('section h2').length") == 7
        assert (
            page.evaluate("document.querySelectorAll('#main_indicators tbody tr:not(.group)').length") == 33
        )
        statuses = page.evaluate(
            "[...document.querySelectorAll('#main_indicators td[data-status]')].map(td => td.dataset.status)"
        )
        assert Counter(statuses)["not_achieved"] >= 10 and "on_track" not in statuses
        # no sideways scrolling at 1400 px, and every table fits its page width
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert page.evaluate(
            "[...document.querySelectorAll('table')].every(t => t.getBoundingClientRect().right <= window.innerWidth)"
        )
        pdf = page.call("Page.printToPDF", paperWidth=8.27, paperHeight=11.69, preferCSSPageSize=True)
        assert len(pdf["data"]) > 50_000


def test_indicators_not_yet_due_are_not_counted_as_without_data(sample_run, sample_db):
    """The 15th plan as of 2026-06-30 (mid-term): nothing of it is due yet. Its verdict said '0项符合或快于预期，
    暂无数据22项' while its status table says 未到报送期: they are counted as not yet due, as the table does."""
    plan = query(sample_db, "select * from marts.dim_plans where plan_id = '370102_15FYP'")[0]
    ctx = ev.plan_context(sample_db, plan)
    assert ctx.kind == ev.MID_TERM
    rows = query(
        sample_db,
        """select status, evaluation_category, evaluation_category_zh from marts.fct_indicator_status_latest
           where plan_id = '370102_15FYP' and indicator_kind = 'main'""",
    )
    not_due = [r for r in rows if r["status"] == "not_due"]
    assert not_due and {(r["evaluation_category"], r["evaluation_category_zh"]) for r in not_due} == {
        ("not_due", "未到报送期")
    }
    said = {s.key: s for s in ev.sentences(sample_db, ctx)}
    main = said["main_indicators"]
    assert main.numbers.get("no_data", 0) == sum(r["status"] == "no_data" for r in rows)
    assert main.numbers["not_due"] == len(not_due)
    assert f"未到报送期{len(not_due)}项" in main.zh and f"{len(not_due)} not yet due" in main.en
    assert "暂无数据" not in main.zh and "no data" not in main.en
    assert "暂无数据" not in said["binding_indicators"].zh and "暂无数据" not in said["other_targets"].zh
    # the docx agrees with the marts (its check reads the categories' labels)
    page = (sample_run["output"] / "evaluation" / "evaluation_370102_15FYP.html").read_text(encoding="utf-8")
    assert main.zh in page
    assert (
        ev.verify_docx(
            sample_db, "370102_15FYP", sample_run["output"] / "evaluation" / "evaluation_370102_15FYP.docx"
        )
        == []
    )
    # the 14th plan's indicator overdue for 2025 is still 暂无数据
    assert query(
        sample_db,
        "select evaluation_category from marts.fct_indicator_status_latest where plan_id = '370102_14FYP' and indicator_code = 'I17'",
    ) == [{"evaluation_category": "no_data"}]


def test_english_sentences_use_the_english_unit(sample_db):
    """'80.9 岁 against ≥81 岁; short by 0.1 岁' in English text: units come from the seed catalog_units
    (dim_indicators.unit_en), and every unit of the catalogs has an English name or none (a count)."""
    from pipelines.lib.outputs.report import final_words

    untranslated = query(
        sample_db,
        r"select distinct unit, unit_en from marts.dim_indicators where regexp_matches(unit_en, '[\x{4e00}-\x{9fff}]')",
    )
    assert untranslated == []
    row = query(
        sample_db,
        ev.INDICATOR_DETAIL.format(where="s.indicator_code = 'S021'"),
        ["370102_15FYP"],
    )[0]
    assert (row["name_zh"], row["unit"], row["unit_en"]) == ("人均预期寿命", "岁", "years")
    # as the marts say it once 2030 is in and short of the target (the values a final evaluation would hold)
    row |= {
        "latest_year": 2030,
        "status": "not_achieved",
        "evaluation_category": "not_achieved",
        "evaluated_value": 81.9,
        "target_compared": 82.0,
        "shortfall": 0.1,
        "value_decimals": 1,
    }
    en = ev.indicator_item(row, "en")
    assert en == "S021 Life expectancy (2030: 81.9 years against ≥82 years; short by 0.1 years)"
    assert "岁" not in en and "岁" in ev.indicator_item(row, "zh")
    indicator = query(
        sample_db,
        "select * from marts.dim_indicators where plan_id = '370102_15FYP' and indicator_code = 'S021'",
    )[0]
    words = final_words(row | {"years_missed": None}, indicator | {"value_decimals": 1})
    assert words.endswith("final value for 2030 misses the target by 0.1 years") and "差距0.1岁" in words
