"""The readable summary `make run` prints after a refresh."""

from __future__ import annotations

import duckdb

from ..alerts.notify import count_undelivered, undelivered
from ..settings import Settings
from ..text import display_width
from ..warehouse.publish import open_published
from .labels import STATUS_ORDER, status_en, status_zh


def _pad(text: str, width: int) -> str:
    """Left-align in a terminal: Chinese characters take two columns."""
    return text + " " * max(0, width - display_width(text))


def _fmt(value, unit: str | None = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value} {unit or ''}".strip()


MAX_PLANS_WITH_VERDICTS = 5


def _print_verdicts(con) -> None:
    """The evaluation's headline sentences per plan (the same the evaluation report and the report open with)."""
    from .evaluation import KIND_EN, KIND_ZH, plan_context, plans, verdict_lines

    selected = plans(con)
    for plan in selected[:MAX_PLANS_WITH_VERDICTS]:
        ctx = plan_context(con, plan)
        if not ctx.started:
            zh, en = ctx.not_started_text
            print(f"\n评估结论 Verdict — {zh}\n    {en}")
            continue
        print(
            f"\n评估结论 Verdict — {plan['plan_short_zh']} {KIND_ZH[ctx.kind]} ({KIND_EN[ctx.kind]}, as of {ctx.as_of}):"
        )
        for sentence in verdict_lines(con, ctx):
            print(f"  {sentence.zh}\n    {sentence.en}")
    if len(selected) > MAX_PLANS_WITH_VERDICTS:
        print(
            f"\n（另有 {len(selected) - MAX_PLANS_WITH_VERDICTS} 个规划，见各自的评估报告 · "
            f"{len(selected) - MAX_PLANS_WITH_VERDICTS} more plans: see their evaluation reports）"
        )


def _deliveries(con) -> None:
    """Notifications given up on are never silent: they are listed here until retried or dismissed."""
    try:
        counts = count_undelivered(con)
        given_up = undelivered(con, limit=10)
    except duckdb.Error:  # a snapshot from before deliveries were tracked
        return
    if counts["retrying"]:
        print(
            f"\n通知重试中 Notifications being retried: {counts['retrying']} (the next runs retry them with back-off)"
        )
    if given_up:
        print(
            f"\n未送达的通知 Notifications NOT delivered (given up after the retry window): {counts['given_up']}"
            "  — `planwh deliveries` lists them; --retry once the channel works, --dismiss when handled"
        )
        for row in given_up:
            print(f"  ● {row['channel']} · {row['title_zh'] or row['kind']} · {row['last_error'] or ''}")


def print_summary(
    settings: Settings, run_id: str, seconds: float, success: bool, notes: list[str] | None = None
) -> None:
    path = settings.published_warehouse
    print()
    print("=" * 78)
    print(
        f"规划监测刷新 Plan monitoring refresh — run {run_id} {'succeeded' if success else 'FAILED'} in {seconds:.1f}s"
    )
    if not path.exists():
        print(
            "No published warehouse yet: the refresh did not reach the publish step. See `make ui` for the run log."
        )
        return
    if not success:
        print("The run failed: what follows is the previous published snapshot, unchanged.")
    for note in notes or []:
        print(note)
    con = open_published(path)
    try:
        as_of = con.execute("select max(as_of_date) from marts.fct_indicator_status_latest").fetchone()[0]
        print(f"评估日期 Evaluation date (as_of): {as_of}")
        files = con.execute(
            "select status, count(*), sum(rows_accepted), sum(rows_rejected) from marts.fct_submissions group by status"
        ).fetchall()
        print("\n报送文件 Submissions received so far:")
        for status, n, acc, rej in sorted(files):
            print(
                f"  {_pad(status_zh(status) + ' ' + status_en(status), 38)} {n:>5} files  {acc or 0:>6} rows loaded  {rej or 0:>5} rows rejected"
            )
        plans = con.execute(
            "select plan_id, plan_short_zh, plan_short_en, start_year, end_year from marts.dim_plans order by start_year, plan_id"
        ).fetchall()
        for plan_id, short_zh, short_en, start, end in plans[:MAX_PLANS_IN_SUMMARY]:
            print(f"\n{short_zh} · {short_en} ({plan_id}, {start}–{end}) — {_phase(as_of, start, end)}")
            _print_plan(con, plan_id)
        if len(plans) > MAX_PLANS_IN_SUMMARY:
            print(f"\n… {len(plans) - MAX_PLANS_IN_SUMMARY} more plans: see the report index")
        _print_verdicts(con)
        _deliveries(con)
        # the flags of this evaluation (also for a pinned as_of, which leaves the live alert history alone)
        critical = con.execute(
            """select f.subject_code, f.department_name_zh, f.department_code, f.reported_value, f.target_value,
                      f.unit, f.title_zh, f.title_en, f.detail_zh, f.detail_en, f.plan_id
               from marts.fct_flags f
               where f.severity = 'critical' order by f.plan_id, f.subject_code"""
        ).fetchall()
        print(f"\n严重预警 Critical alerts (this evaluation): {len(critical)}")
        for _code, dept_zh, dept, value, target, unit, t_zh, t_en, d_zh, d_en, plan_id in critical:
            print(
                f"  ● [{plan_id}] {t_zh}\n    {t_en}\n    部门 {dept_zh} ({dept}) · 报告值 value {_fmt(value, unit)} · 目标 target {_fmt(target, unit)}"
            )
            print(f"    原因 why: {d_zh} / {d_en}")
        review = dict(
            con.execute("select review_state, count(*) from marts.fct_indicator_values group by 1").fetchall()
        )
        pending = con.execute(
            """select v.indicator_code, v.period, v.value, v.department_code, v.original_name
               from marts.fct_indicator_values v where v.review_state = 'pending_explanation'
               order by v.indicator_code, v.period"""
        ).fetchall()
        print(
            f"\n核实性审核 Plausibility checks: {len(pending)} value(s) awaiting an explanation (not counted), "
            f"{review.get('explained', 0)} explained"
        )
        for code, period, value, dept, name in pending[:10]:
            print(f"  ? {code} {period} = {_fmt(value)}  ({dept}, {name})")
        warnings = con.execute(
            "select flag_type, count(*) from marts.fct_flags where severity = 'warning' group by 1 order by 1"
        ).fetchall()
        if warnings:
            print("警告 Warnings: " + ", ".join(f"{t} {n}" for t, n in warnings))
    finally:
        con.close()
    report = settings.output_dir / "report"
    print("\n下一步 Where to look next:")
    print(f"  报告 report           {report / 'index.html'}")
    print(f"  评估报告 evaluation    {settings.output_dir / 'evaluation'}  (HTML + Word .docx)")
    print(f"  分析用数据库 marts      {path}  (read-only; see docs/analysts.md)")
    print(f"  导出 exports           {settings.output_dir / 'exports'}")
    print("  拒收明细 rejected rows  select * from marts.fct_submission_issues where severity = 'error'")
    print(f"  回执 receipts          {settings.output_dir / 'receipts'}/<department_code>/")
    print("  数据血缘 lineage       .venv/bin/planwh lineage I19 2025 ; `make ui` for the Dagster UI")
    print("=" * 78)


MAX_PLANS_IN_SUMMARY = 6


def _phase(as_of, start: int, end: int) -> str:
    if as_of is None:
        return ""
    if as_of.year > end:
        return "已结束，总结评估 ended: final evaluation"
    if as_of.year < start:
        return "尚未开始 not started"
    return f"实施中，第 {as_of.year - start + 1}/{end - start + 1} 年 in progress, year {as_of.year - start + 1} of {end - start + 1}"


def _print_plan(con, plan_id: str) -> None:
    """One plan's block: main indicators by attribute and status, other targets, projects, compliance."""
    rows = con.execute(
        """select s.attribute, s.status, count(*) from marts.fct_indicator_status_latest s
           where s.indicator_kind = 'main' and s.plan_id = ? group by 1, 2""",
        [plan_id],
    ).fetchall()
    counts: dict[str, dict[str, int]] = {}
    for attribute, status, n in rows:
        counts.setdefault(attribute, {})[status] = n
    print("  主要指标最新状态 Main indicators, latest status:")
    short = {
        "awaiting_target": "await target",
        "awaiting_explanation": "await expl.",
        "insufficient_data": "too few data",
        "not_due": "not yet due",
    }
    print("  " + " " * 18 + "".join(f"{short.get(s, status_en(s)):>13}" for s in STATUS_ORDER))
    for attribute in ("binding", "expected"):
        label = "约束性 binding" if attribute == "binding" else "预期性 expected"
        print(
            f"  {_pad(label, 18)}"
            + "".join(f"{counts.get(attribute, {}).get(s, 0):>13}" for s in STATUS_ORDER)
        )
    secondary = dict(
        con.execute(
            """select status, count(*) from marts.fct_indicator_status_latest
               where indicator_kind = 'secondary' and plan_id = ? group by 1""",
            [plan_id],
        ).fetchall()
    )
    print(
        "  其他目标 other targets "
        + ", ".join(f"{status_zh(s)} {status_en(s)} {secondary[s]}" for s in STATUS_ORDER if s in secondary)
    )
    rag = dict(
        con.execute(
            "select rag_status, count(*) from marts.fct_project_status where plan_id = ? group by 1",
            [plan_id],
        ).fetchall()
    )
    print(
        "  重大项目 Major projects: "
        + ", ".join(
            f"{status_zh(s)} {status_en(s)} {rag.get(s, 0)}"
            for s in ("red", "amber", "green", "completed", "carried_over", "not_completed")
            if rag.get(s) or s in ("red", "amber", "green", "completed")
        )
    )
    compliance = dict(
        con.execute(
            "select compliance_status, count(*) from marts.fct_submission_compliance where plan_id = ? group by 1",
            [plan_id],
        ).fetchall()
    )
    print(
        "  报送合规 Submission compliance (department-periods): "
        + ", ".join(
            f"{status_zh(s)} {status_en(s)} {compliance.get(s, 0)}"
            for s in ("on_time", "late", "incomplete", "missing", "not_due")
        )
    )
