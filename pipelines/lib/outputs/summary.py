"""The readable summary `make run` prints after a refresh."""

from __future__ import annotations

import unicodedata

import duckdb

from ..alerts.notify import count_undelivered, undelivered
from ..settings import Settings
from ..warehouse.publish import open_published
from .labels import STATUS_ORDER, status_en, status_zh


def _pad(text: str, width: int) -> str:
    """Left-align in a terminal: Chinese characters take two columns."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def _fmt(value, unit: str | None = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value} {unit or ''}".strip()


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
        rows = con.execute(
            """select s.attribute, s.status, count(*) from marts.fct_indicator_status_latest s
               where s.indicator_kind = 'main' group by 1, 2"""
        ).fetchall()
        counts: dict[str, dict[str, int]] = {}
        for attribute, status, n in rows:
            counts.setdefault(attribute, {})[status] = n
        print("\n主要指标（专栏1）最新状态 Main indicators (table 1), latest status:")
        short = {
            "awaiting_target": "await target",
            "insufficient_data": "too few data",
            "not_due": "not yet due",
        }
        header = "  " + " " * 18 + "".join(f"{short.get(s, status_en(s)):>13}" for s in STATUS_ORDER)
        print(header)
        for attribute in ("binding", "expected"):
            label = "约束性 binding" if attribute == "binding" else "预期性 expected"
            print(
                f"  {_pad(label, 18)}"
                + "".join(f"{counts.get(attribute, {}).get(s, 0):>13}" for s in STATUS_ORDER)
            )
        secondary = dict(
            con.execute(
                "select status, count(*) from marts.fct_indicator_status_latest where indicator_kind = 'secondary' group by 1"
            ).fetchall()
        )
        print(
            "  其他目标 other targets "
            + ", ".join(
                f"{status_zh(s)} {status_en(s)} {secondary[s]}" for s in STATUS_ORDER if s in secondary
            )
        )
        # the flags of this evaluation (also for a pinned as_of, which leaves the live alert history alone)
        critical = con.execute(
            """select f.subject_code, d.department_name_zh, f.department_code, f.reported_value, f.target_value,
                      f.unit, f.title_zh, f.title_en, f.detail_zh, f.detail_en
               from marts.fct_flags f
               left join marts.dim_departments d on d.department_code = f.department_code
               where f.severity = 'critical' order by f.subject_code"""
        ).fetchall()
        print(f"\n严重预警 Critical alerts (this evaluation): {len(critical)}")
        for _code, dept_zh, dept, value, target, unit, t_zh, t_en, d_zh, d_en in critical:
            print(
                f"  ● {t_zh}\n    {t_en}\n    部门 {dept_zh} ({dept}) · 报告值 value {_fmt(value, unit)} · 目标 target {_fmt(target, unit)}"
            )
            print(f"    原因 why: {d_zh} / {d_en}")
        warnings = con.execute(
            "select flag_type, count(*) from marts.fct_flags where severity = 'warning' group by 1 order by 1"
        ).fetchall()
        if warnings:
            print("警告 Warnings: " + ", ".join(f"{t} {n}" for t, n in warnings))
        rag = dict(
            con.execute("select rag_status, count(*) from marts.fct_project_status group by 1").fetchall()
        )
        print(
            "\n重大项目 Major projects: "
            + ", ".join(
                f"{status_zh(s)} {status_en(s)} {rag.get(s, 0)}"
                for s in ("red", "amber", "green", "completed")
            )
        )
        _deliveries(con)
        compliance = dict(
            con.execute(
                "select compliance_status, count(*) from marts.fct_submission_compliance group by 1"
            ).fetchall()
        )
        print(
            "报送合规 Submission compliance (department-periods): "
            + ", ".join(
                f"{status_zh(s)} {status_en(s)} {compliance.get(s, 0)}"
                for s in ("on_time", "late", "incomplete", "missing", "not_due")
            )
        )
    finally:
        con.close()
    report = settings.output_dir / "report"
    print("\n下一步 Where to look next:")
    print(f"  报告 report           {report / 'index.html'}")
    print(f"  分析用数据库 marts      {path}  (read-only; see docs/analysts.md)")
    print(f"  导出 exports           {settings.output_dir / 'exports'}")
    print("  拒收明细 rejected rows  select * from marts.fct_submission_issues where severity = 'error'")
    print("  数据血缘 lineage       .venv/bin/planwh lineage I19 2025 ; `make ui` for the Dagster UI")
    print("=" * 78)
