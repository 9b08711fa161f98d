"""Soft checks (核实性审核): each fires on its case and not on ordinary values; explanations; receipts.

The core (check_file) is exercised with real files, real GX and previous accepted values passed in;
the pipeline path with the session sample run (whose inbox carries one planted case per check) and
a small fresh warehouse for the order of arrival.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.lib.ingest.inbox import discover_and_archive
from pipelines.lib.ingest.load import process_pending
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.submissions.check import check_batch
from pipelines.lib.submissions.receipts import build_receipt, render_receipt_html
from tests.conftest import REPO, query
from tests.test_ingest_corpus import write_backfill

CATALOG = Catalog.load(REPO / "dbt_project" / "seeds")
RECEIVED = datetime(2026, 3, 20, 10, 0)
HEADER = "指标编号,统计期,数值,单位,说明\n"


def previous(*rows: tuple, received: str = "2025-03-01 09:00:00") -> pd.DataFrame:
    """Accepted values as the warehouse passes them: (indicator, period, value)."""
    return pd.DataFrame(
        [
            {
                "plan_id": "370102_14FYP",
                "indicator_code": code,
                "period": period,
                "value": value,
                "received_at": pd.Timestamp(received),
                "submission_id": "earlier",
            }
            for code, period, value in rows
        ]
    )


def check_files(folder: Path, files: dict[str, tuple[str, str]], known=None, header: str = HEADER) -> dict:
    """Check several files in one batch (one GX run per suite), as the pipeline does; name -> outcome."""
    folder.mkdir(parents=True, exist_ok=True)
    receipts = []
    for name, (department, body) in files.items():
        (folder / name).write_text(
            ("" if body.startswith(("指标编号", "indicator_code")) else header) + body, encoding="utf-8"
        )
        receipts.append(
            {
                "submission_id": f"{department}-{name}",
                "department_code": department,
                "original_name": name,
                "received_at": RECEIVED,
                "archive_path": str(folder / name),
                "discovery_issue": None,
            }
        )
    checked = check_batch(receipts, CATALOG, folder, previous=known)
    by_name = {o.receipt["original_name"]: o for o in checked.outcomes.values()}
    return {"outcomes": by_name, "checked": checked}


def soft(outcome) -> list[tuple[int, str]]:
    return sorted((i.row, i.code) for i in outcome.issues if i.needs_explanation)


# Batch A: one file per case, each indicator in its own file and with its own previous values
KNOWN_A = previous(
    ("S022", "2024", 450.2),
    ("I08", "2024", 51.7),
    ("I03", "2024Q2", 96.21),
    ("I23", "2024", 81844),
    ("S023", "2024", 100.6),
    ("S026", "2024", 1),
    ("I10", "2024", 520),
    ("I01", "2024Q2", 7.0),
    ("I06", "2024", 1),
    ("I04", "2024", 8.0),
    ("S031", "2024", 18),
)
FILES_A = {
    # the issue's case: a 10× jump of an amount (450.2 → 4321.5 亿元)
    "jump.csv": ("370102_IND", "S022,2025,4321.5,亿元,\n"),
    # 0.517 typed for a percentage around 50
    "fraction.csv": ("370102_IND", "I08,2025,0.517,%,\n"),
    # 万元 typed for 亿元: ×10,000
    "slip.csv": ("370102_FIN", "I03,2025Q2,962100,,\n"),
    # last year's income copied to the digit
    "copied.csv": ("370102_STATS", "I23,2025,81844,元,\n"),
    # ordinary values: +5 %, a change of 2 in a small count (+200 %), +11 %
    "ordinary.csv": ("370102_IND", "S023,2025,105.6,亿元,\nS026,2025,3,个,\nS031,2025,20,家,\n"),
    "ordinary_sci.csv": ("370102_SCI", "I10,2025,575,家,\n"),
    # a growth rate near zero is a fact, not a fraction; I04 has its own bound of ±30 points
    "growth.csv": ("370102_STATS", "I01,2025Q2,0.07,%,\nI04,2025,-25,%,\n"),
    # a five-year total is reported as yearly increments, which may swing (1 → 9 listings)
    "increments.csv": ("370102_FINSUP", "I06,2025,9,家,\n"),
    # the first plan year against the 2020 baseline (151.6 亿元); a quarter has no baseline
    "baseline.csv": ("370102_FIN", "I03,2021,1516,亿元,\nI03,2021Q1,1516,亿元,\n"),
    # I08 has no baseline: its target (55 %) still tells a fraction from a percentage
    "target.csv": ("370102_IND", "I08,2021,0.5,%,\n"),
    # explanations under each accepted heading (another value than jump.csv's: these files sort before
    # it in the batch, and a value explained once is explained for the files after it)
    "explained_1.csv": (
        "370102_IND",
        "指标编号,统计期,数值,说明\nS022,2025,4321.4,新建集成电路项目投产，产值大幅增长\n",
    ),
    "explained_2.csv": (
        "370102_IND",
        "指标编号,统计期,数值,情况说明\nS022,2025,4321.4,新建集成电路项目投产，产值大幅增长\n",
    ),
    "explained_3.csv": (
        "370102_IND",
        "indicator_code,period,value,explanation\nS022,2025,4321.4,新建集成电路项目投产，产值大幅增长\n",
    ),
    # a value awaiting explanation is no reference: 2024 is compared with 2022, not with the slip
    "chain.csv": ("370102_STATS", "S002,2022,20,万元,\nS002,2023,200,万元,\nS002,2024,22,万元,\n"),
    # ... but an explained one is: the drop back needs explaining too
    "chain_explained.csv": (
        "370102_STATS",
        "S001,2022,2000,亿元,\nS001,2023,20000,亿元,口径调整\nS001,2024,2100,亿元,\n",
    ),
}


@pytest.fixture(scope="module")
def batch_a(tmp_path_factory):
    return check_files(tmp_path_factory.mktemp("a"), FILES_A, KNOWN_A)


@pytest.mark.parametrize(
    ("name", "reason", "words"),
    [
        ("jump.csv", "implausible_change", "+860%"),
        ("fraction.csv", "percent_as_fraction", "51.7"),
        ("slip.csv", "unit_slip", "96.21"),
        ("copied.csv", "same_as_previous_year", "2024"),
    ],
)
def test_each_soft_check_fires_on_its_case(batch_a, name, reason, words):
    outcome = batch_a["outcomes"][name]
    receipt = build_receipt(outcome, RECEIVED)
    assert soft(outcome) == [(2, reason)]
    assert outcome.status == "needs_explanation" and outcome.rows_pending_explanation == 1
    assert receipt["verdict"] == "needs_explanation"
    assert (receipt["rows_accepted"], receipt["rows_pending_explanation"], receipt["rows_rejected"]) == (
        0,
        1,
        0,
    )
    issue = receipt["issues"][0]
    assert issue["severity"] == "warning" and issue["needs_explanation"] and issue["reason"] == reason
    assert issue["row"] == 2 and issue["column"] == "value" and issue["explanation"] is None
    assert words in issue["message_zh"] and words in issue["message_en"]
    assert "说明" in issue["message_zh"] and "explanation" in issue["message_en"]


def test_ordinary_values_raise_nothing(batch_a):
    for name in ("ordinary.csv", "ordinary_sci.csv", "increments.csv"):
        outcome = batch_a["outcomes"][name]
        assert soft(outcome) == [] and outcome.status == "accepted", name
    # I01 near zero passes; I04's fall of 33 points is beyond its own bound
    growth = batch_a["outcomes"]["growth.csv"]
    assert soft(growth) == [(3, "implausible_change")]
    assert "±30" in next(i for i in growth.issues if i.needs_explanation).message_en


def test_the_plan_baseline_and_target_serve_when_nothing_was_accepted_yet(batch_a):
    baseline = batch_a["outcomes"]["baseline.csv"]
    assert soft(baseline) == [(2, "implausible_change")]
    issue = next(i for i in baseline.issues if i.needs_explanation)
    assert "2020" in issue.message_zh and "151.6" in issue.message_en
    target = batch_a["outcomes"]["target.csv"]
    assert soft(target) == [(2, "percent_as_fraction")]
    assert "50" in next(i for i in target.issues if i.needs_explanation).message_en


def test_an_explanation_in_the_file_makes_the_value_count(batch_a):
    for name in ("explained_1.csv", "explained_2.csv", "explained_3.csv"):
        outcome = batch_a["outcomes"][name]
        receipt = build_receipt(outcome, RECEIVED)
        assert receipt["verdict"] == "accepted_with_warnings", name
        assert (receipt["rows_accepted"], receipt["rows_pending_explanation"]) == (1, 0)
        issue = receipt["issues"][0]
        assert issue["needs_explanation"] and issue["explanation"] == "新建集成电路项目投产，产值大幅增长"
        assert "已附说明" in issue["message_zh"] and "Explained" in issue["message_en"]
        assert not any(i.code == "unknown_column" for i in outcome.issues)  # 说明 is a template column
    frame = batch_a["checked"].frames["indicator_data"]
    states = frame.groupby("submission_id")["review_state"].agg(list).to_dict()
    assert states["370102_IND-explained_1.csv"] == ["explained"]
    assert states["370102_IND-jump.csv"] == ["pending_explanation"]


def test_a_value_awaiting_explanation_is_not_the_reference_of_the_next_year(batch_a):
    assert soft(batch_a["outcomes"]["chain.csv"]) == [(3, "implausible_change")]
    assert soft(batch_a["outcomes"]["chain_explained.csv"]) == [
        (3, "implausible_change"),
        (4, "implausible_change"),
    ]


def test_great_expectations_states_what_the_reference_step_flagged(batch_a):
    soft_rows = batch_a["checked"].plausibility
    flagged = {
        (r.submission_id, int(r.source_row), r.soft_reason)
        for r in soft_rows.itertuples()
        if isinstance(r.soft_reason, str)
    }
    reported = {
        (o.receipt["submission_id"], i.row, i.code)
        for o in batch_a["outcomes"].values()
        for i in o.issues
        if i.needs_explanation
    }
    assert flagged == reported and len(reported) == 13


def test_great_expectations_starts_without_loading_scipy_stats_and_scipy_stats_still_works(tmp_path):
    """GX imports scipy.stats for expectations no suite uses; the validation core defers it (~0.8 s of every
    validating process's start). A batch checked in a new process is judged as here and leaves scipy.stats
    unloaded; a user of scipy.stats afterwards gets the real module."""
    script = f"""
import sys
from pathlib import Path
from tests.test_plausibility import FILES_B, check_files
outcomes = check_files(Path({str(tmp_path)!r}), FILES_B)["outcomes"]
print(",".join(sorted(name for name, o in outcomes.items() if any(not i.needs_explanation for i in o.issues))))
print(type(sys.modules["scipy.stats"]).__name__)
from scipy import stats
print(round(float(stats.entropy([0.5, 0.5])), 4), type(sys.modules["scipy.stats"]).__name__)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    refused = "hard_error.csv,mixed.csv,rejected.csv,warned.csv"
    assert done.stdout.split() == [refused, "_Deferred", "0.6931", "module"]


def test_a_deferred_module_loads_once_for_threads_that_race_and_retries_after_a_failed_import(
    tmp_path, monkeypatch
):
    """The stand-in behind the deferred scipy.stats, on a package made for the test: sixteen threads that
    read it together all get the real module's values (it is imported once); an import that fails raises,
    leaves the stand-in in place, and the next use imports the mended module."""
    import threading

    from expectations.runner import _Deferred

    package = tmp_path / "planwh_toy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "slow.py").write_text(
        "import time\ntime.sleep(0.3)\nLOADS = []\nLOADS.append(1)\nVALUE = 42\n"
    )
    (package / "broken.py").write_text("raise ImportError('not yet')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import planwh_toy

    for name in ("slow", "broken"):
        stand_in = _Deferred(f"planwh_toy.{name}")
        monkeypatch.setitem(sys.modules, f"planwh_toy.{name}", stand_in)
        setattr(planwh_toy, name, stand_in)
    results, errors = [], []

    def read():
        try:
            results.append((planwh_toy.slow.VALUE, len(planwh_toy.slow.LOADS)))
        except Exception as error:  # what a half-loaded module would raise
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == [(42, 1)] * 16
    assert type(sys.modules["planwh_toy.slow"]).__name__ == "module"

    with pytest.raises(ImportError, match="not yet"):
        planwh_toy.broken.VALUE  # noqa: B018
    assert isinstance(sys.modules["planwh_toy.broken"], _Deferred)
    (package / "broken.py").write_text("VALUE = 7\n")
    assert planwh_toy.broken.VALUE == 7
    for name in ("planwh_toy.slow", "planwh_toy.broken", "planwh_toy"):
        sys.modules.pop(name, None)


# Batch B: the receipt contract, the order of arrival, rows refused by the hard checks
KNOWN_B = [
    previous(("I08", "2023", 51.7), ("I09", "2024", 10.1), ("S023", "2024", 100.6)),
    previous(("S022", "2024", 450.2), received="2026-05-01 09:00:00"),  # after the files below
]
FILES_B = {
    "mixed.csv": ("370102_IND", "I08,2025,0.517,%,\nX99,2025,1,,\nI08,2024,52,%,\n"),
    "ok.csv": ("370102_SCI", "I09,2025,10.6,%,\n"),
    "warned.csv": ("370102_SCI", "I09,2024,10.2,%,\nX99,2025,1,,\n"),
    "rejected.csv": ("370102_SCI", "X99,2025,1,,\n"),
    "not_known_yet.csv": ("370102_IND", "S022,2025,4321.5,亿元,\n"),
    "known.csv": ("370102_IND", "S023,2025,1006,亿元,\n"),
    "hard_error.csv": ("370102_DRC", "I07,2025,0.2,万元,\n"),  # a unit mismatch is a hard error
}


@pytest.fixture(scope="module")
def batch_b(tmp_path_factory):
    asked: list[list[str]] = []

    def known(keys: pd.DataFrame) -> pd.DataFrame:
        asked.append(sorted(keys["indicator_code"]))
        return pd.concat(KNOWN_B, ignore_index=True)

    return {**check_files(tmp_path_factory.mktemp("b"), FILES_B, known), "asked": asked}


def test_the_receipt_contract(batch_b):
    receipt = build_receipt(batch_b["outcomes"]["mixed.csv"], RECEIVED)
    contract = {
        "submission_id",
        "department_code",
        "original_name",
        "received_at",
        "processed_at",
        "verdict",
        "rows_accepted",
        "rows_rejected",
        "rows_pending_explanation",
        "issues",
    }
    assert contract <= set(receipt)
    assert receipt["received_at"] == "2026-03-20T10:00:00+08:00"
    assert receipt["verdict"] == "needs_explanation"
    assert (receipt["rows_accepted"], receipt["rows_pending_explanation"], receipt["rows_rejected"]) == (
        1,
        1,
        1,
    )
    issue_keys = {
        "severity",
        "reason",
        "needs_explanation",
        "sheet",
        "row",
        "column",
        "value",
        "message_zh",
        "message_en",
    }
    assert all(issue_keys <= set(i) for i in receipt["issues"])
    assert [i["reason"] for i in receipt["issues"]] == ["unknown_code", "percent_as_fraction"]  # errors first
    assert json.loads(json.dumps(receipt, ensure_ascii=False)) == receipt
    page = render_receipt_html(receipt)
    assert "待补充说明" in page and "Needs an explanation" in page
    assert "data-reason='percent_as_fraction'" in page and "0.517" in page
    verdicts = {
        name: build_receipt(batch_b["outcomes"][name], RECEIVED)["verdict"]
        for name in ("ok.csv", "warned.csv", "rejected.csv")
    }
    assert verdicts == {
        "ok.csv": "accepted",
        "warned.csv": "accepted_with_warnings",
        "rejected.csv": "rejected",
    }
    rejected = build_receipt(batch_b["outcomes"]["rejected.csv"], RECEIVED)
    assert rejected["rows_accepted"] == 0 and rejected["issues"][0]["row"] is None


def test_only_values_received_earlier_are_references(batch_b):
    assert soft(batch_b["outcomes"]["not_known_yet.csv"]) == []  # 2024 arrived after this file
    assert soft(batch_b["outcomes"]["known.csv"]) == [(2, "implausible_change")]


def test_rejected_rows_are_not_soft_checked_and_the_caller_reads_only_what_is_needed(batch_b):
    outcome = batch_b["outcomes"]["hard_error.csv"]
    assert {i.code for i in outcome.issues} == {"unit_mismatch", "all_rows_rejected"}
    assert batch_b["asked"] == [["I08", "I09", "S022", "S023"]]  # no I07, no X99


# ----------------------------------------------------------------------------- through the pipeline


def test_the_verdict_does_not_depend_on_how_files_are_batched(fresh_warehouse):
    settings = fresh_warehouse
    catalog = Catalog.load(settings.seeds_dir)
    inbox = settings.inbox / "370102_STATS"
    inbox.mkdir(parents=True)
    files = []
    for year, value in ((2022, "70000"), (2023, "700000"), (2024, "76000")):
        path = inbox / f"{year}.csv"
        path.write_text(f"指标编号,统计期,数值\nI23,{year},{value}\n", encoding="utf-8")
        files.append(path)
    received = {}
    for i, path in enumerate(files):  # received one month apart, in year order
        write_backfill(settings.raw_dir, [("370102_STATS", path)])
        received[path.name] = f"2025-0{i + 4}-01 10:00:00"
    text = (settings.raw_dir / "backfill" / "receipts.csv").read_text(encoding="utf-8")
    for name, when in received.items():
        text = text.replace(f"2025-06-01 10:00:00,{name}", f"{when},{name}")
    (settings.raw_dir / "backfill" / "receipts.csv").write_text(text, encoding="utf-8")

    def states(batch_files: int) -> list[tuple]:
        discover_and_archive(settings, catalog)
        process_pending(settings, catalog, batch_files=batch_files)
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        try:
            return con.execute(
                "select period, review_state, review_reasons from raw.indicator_values order by period"
            ).fetchall()
        finally:
            con.close()

    together = states(20_000)
    settings.warehouse.unlink()
    one_by_one = states(1)
    assert (
        together
        == one_by_one
        == [
            ("2022", "accepted", None),
            ("2023", "pending_explanation", "implausible_change"),
            ("2024", "accepted", None),
        ]
    )


def test_the_samples_raise_only_the_planted_soft_checks(sample_db):
    rows = query(
        sample_db,
        """select q.department_code, q.original_name, q.reason_code, q.explanation is not null as explained
           from raw.quarantine q where q.needs_explanation order by 1, 2""",
    )
    assert [tuple(r.values()) for r in rows] == [
        ("370102_COM", "2025Q4季度数据.csv", "implausible_change", True),
        ("370102_FIN", "2023Q2季度数据.csv", "unit_slip", False),
        ("370102_IND", "2025年度指标数据.csv", "percent_as_fraction", False),
        ("370102_STATS", "2023年度指标数据.csv", "same_as_previous_year", False),
        ("370102_STATS", "2023年度指标数据情况说明.csv", "same_as_previous_year", True),
    ]


def test_review_states_and_explanations_reach_the_marts(sample_db):
    values = {
        (r["indicator_code"], r["period"]): r
        for r in query(
            sample_db,
            "select * from marts.fct_indicator_values where value_type = 'actual' and plan_id = '370102_14FYP'",
        )
    }
    assert values[("I08", "2025")]["review_state"] == "pending_explanation"
    assert values[("I08", "2025")]["review_reasons"] == "percent_as_fraction"
    assert values[("I05", "2025Q4")]["review_state"] == "explained"
    assert "商业综合体" in values[("I05", "2025Q4")]["explanation"]
    # explained by a later file repeating the row with a 说明
    assert values[("I23", "2023")]["review_state"] == "explained"
    assert values[("I23", "2023")]["original_name"] == "2023年度指标数据情况说明.csv"
    # the unit slip was corrected by a later file: the corrected value counts
    assert (
        values[("I03", "2023Q2")]["review_state"] == "accepted"
        and values[("I03", "2023Q2")]["value"] == 90.05
    )
    assert {r["review_state"] for r in values.values()} == {"accepted", "pending_explanation", "explained"}

    latest = {
        r["indicator_code"]: r
        for r in query(
            sample_db, "select * from marts.fct_indicator_status_latest where plan_id = '370102_14FYP'"
        )
    }
    i08 = latest["I08"]
    assert i08["status"] == "awaiting_explanation" and i08["latest_year"] == 2025
    assert i08["value_awaiting_explanation"] == 0.5544 and i08["actual_value"] is None
    attainment = {
        (r["indicator_code"], r["plan_year"]): r
        for r in query(
            sample_db,
            "select * from marts.fct_indicator_attainment where indicator_code in ('I05', 'I08', 'I23') "
            "and plan_id = '370102_14FYP'",
        )
    }
    # explained values count: I23 2023, explained by a later file repeating the row with a 说明
    assert attainment[("I23", 2023)]["actual_value"] == 71401.0
    assert attainment[("I23", 2023)]["actual_review_state"] == "explained"
    # I05's explained 2025Q4 (1999.4) was superseded by the annual revision of 2025 sent with 2026Q1 (the
    # 15th plan's samples): an annual value counts over the quarters
    assert (
        attainment[("I05", 2025)]["actual_value"] == 1204.6
        and attainment[("I05", 2025)]["actual_period"] == "2025"
    )
    assert attainment[("I08", 2024)]["status"] != "awaiting_explanation"
    compliance = query(
        sample_db,
        "select * from marts.fct_submission_compliance where items_awaiting_explanation > 0",
    )
    assert [(r["department_code"], r["period"]) for r in compliance] == [("370102_IND", "2025")]
    issues = query(sample_db, "select * from marts.fct_submission_issues where needs_explanation")
    assert len(issues) == 5 and all(i["severity"] == "warning" for i in issues)
    ledger = {
        r["original_name"]: r
        for r in query(sample_db, "select * from marts.fct_submissions where status = 'needs_explanation'")
    }
    assert set(ledger) == {"2025年度指标数据.csv", "2023Q2季度数据.csv", "2023年度指标数据.csv"}
    assert all(r["rows_pending_explanation"] == 1 for r in ledger.values())


def test_dbt_resolves_the_bounds_as_the_validation_does(sample_db):
    dim = pd.DataFrame(
        query(
            sample_db,
            """select plan_id, indicator_code as code, max_change, max_change_basis, change_tolerance,
                      always_moves, unit_slip_factor from marts.dim_indicators""",
        )
    )
    cols = ["max_change", "max_change_basis", "change_tolerance", "always_moves", "unit_slip_factor"]
    mine = CATALOG.indicators[["plan_id", "code", *cols]]
    merged = mine.merge(dim, on=["plan_id", "code"], suffixes=("_py", "_db"))
    assert len(merged) == len(mine) == len(dim)
    for col in cols:
        a, b = merged[f"{col}_py"], merged[f"{col}_db"]
        assert ((a == b) | (a.isna() & b.isna())).all(), col


def test_every_processed_file_has_a_receipt(sample_run, sample_db):
    ledger = {r["submission_id"]: r for r in query(sample_db, "select * from marts.fct_submissions")}
    folder = sample_run["output"] / "receipts"
    receipts = {}
    for path in folder.rglob("*.json"):
        receipt = json.loads(path.read_text(encoding="utf-8"))
        receipts[receipt["submission_id"]] = receipt
        assert path.parent.name == receipt["department_code"]
        # a page for every file a department sent and every migrated file with something to act on; a
        # migrated file that loaded cleanly gets its page on request (planwh receipt)
        page_expected = receipt["received_at_source"] == "observed" or receipt["verdict"] != "accepted"
        assert path.with_suffix(".html").exists() == page_expected, path
    assert set(receipts) == set(ledger)
    for sid, receipt in receipts.items():
        row = ledger[sid]
        assert receipt["verdict"] == row["status"]
        assert receipt["received_at_source"] == row["received_at_source"]
        assert (receipt["rows_accepted"], receipt["rows_rejected"], receipt["rows_pending_explanation"]) == (
            row["rows_accepted"],
            row["rows_rejected"],
            row["rows_pending_explanation"],
        )
    i08 = next(
        r
        for r in receipts.values()
        if r["original_name"] == "2025年度指标数据.csv" and "IND" in r["department_code"]
    )
    assert i08["verdict"] == "needs_explanation" and i08["issues"][0]["reason"] == "percent_as_fraction"
    page = (folder / "370102_IND" / f"{i08['submission_id']}.html").read_text(encoding="utf-8")
    assert "0.5544" in page and "区工业和信息化局" in page


def test_planwh_receipt_writes_the_page_the_pipeline_left_out(sample_run, tmp_path):
    receipts = tmp_path / "output" / "receipts"
    shutil.copytree(sample_run["output"] / "receipts", receipts)
    clean = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(receipts.rglob("*.json"))
        if not p.with_suffix(".html").exists()
    ]
    assert clean and all(r["verdict"] == "accepted" and r["received_at_source"] == "backfill" for r in clean)
    pick = clean[0]
    env = dict(os.environ, PLANWH_OUTPUT_DIR=str(tmp_path / "output"))
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "receipt", pick["submission_id"], "no-such-id"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 1, run.stderr  # one id was not found: said, the other page still written
    assert "no receipt has the submission id no-such-id" in run.stderr
    page = Path(run.stdout.strip())
    assert page == receipts / pick["department_code"] / f"{pick['submission_id']}.html"
    text = page.read_text(encoding="utf-8")
    assert pick["original_name"] in text and "已接收" in text and pick["department_name_zh"] in text
    assert page.stat().st_mode & 0o077 == 0  # department data: owner only


def test_the_report_lists_values_awaiting_or_carrying_an_explanation(sample_run):
    page = (sample_run["output"] / "report" / "progress_report_370102_14FYP.html").read_text(encoding="utf-8")
    section = page.split("id='explanations'")[1].split("<h2")[0]
    assert "data-review='pending_explanation'" in section and "I08" in section and "0.5544" in section
    assert "商业综合体" in section and "住户调查样本轮换" in section
    rejected = page.split("id='rejected'")[1].split("<h2")[0]
    assert "问题数据示例.csv" in rejected  # partly rejected files are listed too
    assert "data-status='accepted_with_warnings'" in rejected and "data-status='rejected'" in rejected


def test_a_value_explained_before_needs_no_new_explanation(tmp_path):
    """A value is explained once (section 7): the core knows the explanations given before (with the
    previous values, or earlier in the batch) and says the repeat is explained, as the marts do; another
    value, or an explanation received after the row, explains nothing."""
    known = previous(("S022", "2024", 450.2))
    known = pd.concat(
        [
            known,
            pd.DataFrame(
                [
                    {
                        "plan_id": "370102_14FYP",
                        "indicator_code": "S022",
                        "period": "2025",
                        "value": 4321.5,
                        "received_at": pd.Timestamp("2026-03-01 09:00:00"),
                        "submission_id": "explained-earlier",
                        "explanation": "新建集成电路项目投产，产值大幅增长",
                    },
                    {
                        "plan_id": "370102_14FYP",
                        "indicator_code": "S022",
                        "period": "2025",
                        "value": 4400.0,
                        "received_at": pd.Timestamp("2026-04-01 09:00:00"),  # after RECEIVED
                        "submission_id": "explained-later",
                        "explanation": "以后才说明",
                    },
                ]
            ),
        ],
        ignore_index=True,
    )
    files = {
        "repeat.csv": ("370102_IND", "S022,2025,4321.5,亿元,\n"),
        "other_value.csv": ("370102_IND", "S022,2025,4321.6,亿元,\n"),
        "later.csv": ("370102_IND", "S022,2025,4400,亿元,\n"),
        # in one batch: a file explains I08 2025 = 0.517, a file after it repeats the value
        "a_explains.csv": ("370102_IND", "I08,2025,0.517,%,确为小数口径\n"),
        "b_repeats.csv": ("370102_IND", "I08,2025,0.517,%,\n"),
    }
    known = pd.concat([known, previous(("I08", "2024", 51.7))], ignore_index=True)
    result = check_files(tmp_path, files, known)
    outcomes = result["outcomes"]
    for name, explanation in (
        ("repeat.csv", "新建集成电路项目投产，产值大幅增长"),
        ("b_repeats.csv", "确为小数口径"),
    ):
        outcome = outcomes[name]
        receipt = build_receipt(outcome, RECEIVED)
        assert (outcome.status, receipt["rows_pending_explanation"]) == ("accepted_with_warnings", 0), name
        [issue] = [i for i in receipt["issues"] if i["needs_explanation"]]
        assert issue["explanation"] == explanation
        assert "此前已说明" in issue["message_zh"] and "explained before" in issue["message_en"]
    for name in ("other_value.csv", "later.csv"):
        assert outcomes[name].status == "needs_explanation", name
    frame = result["checked"].frames["indicator_data"]
    states = dict(zip(frame["submission_id"], frame["review_state"], strict=True))
    assert states["370102_IND-repeat.csv"] == states["370102_IND-b_repeats.csv"] == "explained"
    assert states["370102_IND-other_value.csv"] == "pending_explanation"
