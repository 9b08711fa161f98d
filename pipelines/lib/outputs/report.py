"""The bilingual progress report: one static HTML file per plan, offline (inline CSS and SVG, no CDN).

Sections: overview (status counts by category and attribute, binding indicators first), open
alerts, one panel per indicator (actuals against the baseline→target path and the target line,
status and trend in words), departments' compliance, project RAG with overdue milestones, and the
files that were rejected. Colours are the Okabe–Ito palette (safe for colour-blind readers) and
every colour comes with its status word.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from pathlib import Path

import duckdb

from ..alerts.notify import undelivered
from ..files import atomic_write_text
from ..settings import now_local
from ..warehouse.connection import fetch_dicts as _rows
from .labels import ATTRIBUTE, METHOD, STATUS_ORDER, status_en, status_zh

COLORS = {
    "achieved": "#009E73",
    "not_achieved": "#D55E00",
    "on_track": "#0072B2",
    "at_risk": "#E69F00",
    "off_track": "#D55E00",
    "no_data": "#555555",
    "awaiting_target": "#CC79A7",
    "insufficient_data": "#999999",
    "not_due": "#BBBBBB",
    "red": "#D55E00",
    "amber": "#E69F00",
    "green": "#009E73",
    "completed": "#0072B2",
    "on_time": "#009E73",
    "late": "#E69F00",
    "incomplete": "#CC79A7",
    "missing": "#D55E00",
    "critical": "#D55E00",
    "warning": "#E69F00",
}
MAX_PLANS_WITH_DETAIL = 20

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;
margin:0;color:#1a1a1a;background:#fafafa;line-height:1.45}
header{background:#123;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header .en{color:#cfd8e3;font-size:14px}main{padding:8px 28px 40px;max-width:1400px}
h2{border-bottom:2px solid #123;padding-bottom:4px;margin-top:34px}h2 .en,h3 .en{font-weight:normal;color:#555;font-size:.75em}
.note{color:#444;font-size:13px}.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:110px}
.card b{font-size:22px;display:block}.badge{display:inline-block;border-radius:10px;padding:1px 8px;color:#fff;
font-size:12px;white-space:nowrap}.badge.light{color:#000}
table{border-collapse:collapse;background:#fff;font-size:13px;margin:8px 0}th,td{border:1px solid #ccc;padding:4px 7px;
text-align:left;vertical-align:top}th{background:#eef1f5}td.num{text-align:right}
.panels{display:grid;grid-template-columns:repeat(auto-fill,minmax(390px,1fr));gap:12px}
.panel{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px}
.panel h3{margin:0 0 4px;font-size:15px}.panel .words{font-size:12.5px;margin:4px 0}
.legend{font-size:11px;color:#444}details summary{cursor:pointer;font-weight:bold;margin:10px 0}
.swatch{display:inline-block;width:10px;height:10px;margin-right:3px;vertical-align:middle}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _num(value: object, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "—"
    if isinstance(value, float):
        text = f"{value:,.{digits}f}".rstrip("0").rstrip(".")
        return text if text not in ("", "-0") else "0"
    return f"{value:,}" if isinstance(value, int) else str(value)


def badge(status: str | None) -> str:
    color = COLORS.get(status or "", "#777777")
    light = " light" if color in ("#E69F00", "#BBBBBB", "#999999", "#CC79A7") else ""
    return (
        f'<span class="badge{light}" style="background:{color}" data-status="{_e(status)}">'
        f"{_e(status_zh(status))} · {_e(status_en(status))}</span>"
    )


# ------------------------------------------------------------------------------------------ charts


def chart_svg(indicator: dict, years: list[dict], width: int = 380, height: int = 170) -> str:
    """Actuals against the baseline→target path and the target line (or the rate / assigned target)."""
    method = indicator["target_method"]
    pad_l, pad_r, pad_t, pad_b = 48, 12, 12, 26
    x0, x1 = indicator["evaluated_baseline_year"] or indicator["baseline_year"], indicator["end_year"]
    xs = list(range(int(x0 if x0 else indicator["start_year"] - 1), int(x1) + 1))
    actual_pts, path_pts, target_pts = [], [], []
    target_line = None
    for row in years:
        y = row["plan_year"]
        if method == "rate":
            if row["actual_value"] is not None:
                actual_pts.append((y, row["actual_value"]))
        elif method == "cumulative":
            if row["actual_value"] is not None:
                actual_pts.append((y, row["running_total"]))
        elif row["actual_value"] is not None:
            actual_pts.append((y, row["actual_value"]))
        if method == "superior_assigned" and row["assigned_target"] is not None:
            target_pts.append((y, row["assigned_target"]))
    base = indicator["evaluated_baseline"]
    if method == "rate":
        target_line = indicator["annual_growth_rate"]
        if indicator["baseline_value"] is not None:
            actual_pts.insert(0, (indicator["baseline_year"], indicator["baseline_value"]))
    elif method in ("level", "maintain", "cumulative", "annual"):
        target_line = indicator["target_value"]
        if base is not None and method in ("level", "cumulative"):
            for row in years:
                if row["expected_share"] is not None and indicator["target_value"] is not None:
                    path_pts.append(
                        (row["plan_year"], base + row["expected_share"] * (indicator["target_value"] - base))
                    )
            y0 = indicator["evaluated_baseline_year"]
            if y0 is not None:
                path_pts = [(y0, base)] + [p for p in path_pts if p[0] > y0]
        if (
            base is not None
            and method in ("level", "maintain")
            and indicator["evaluated_baseline_year"] is not None
            and not indicator["baseline_is_first_actual"]
        ):
            actual_pts.insert(0, (indicator["evaluated_baseline_year"], base))
    values = [v for _, v in actual_pts + path_pts + target_pts] + (
        [target_line] if target_line is not None else []
    )
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return (
            f'<svg role="img" aria-label="no data" width="{width}" height="{height}" class="chart">'
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" font-size="12" fill="#777">'
            "暂无数据 · no data yet</text></svg>"
        )
    lo, hi = min(values), max(values)
    span = hi - lo or abs(hi) or 1.0
    lo, hi = lo - span * 0.12, hi + span * 0.12
    xs = sorted(set(xs) | {p[0] for p in actual_pts + path_pts + target_pts})
    xmin, xmax = xs[0], xs[-1] if xs[-1] > xs[0] else xs[0] + 1

    def sx(x: float) -> float:
        return pad_l + (x - xmin) / (xmax - xmin) * (width - pad_l - pad_r)

    def sy(y: float) -> float:
        return pad_t + (hi - y) / (hi - lo) * (height - pad_t - pad_b)

    parts = [
        f'<svg role="img" aria-label="chart {_e(indicator["indicator_code"])}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" class="chart" data-points="{len(actual_pts)}">'
    ]
    for tick in range(4):
        v = lo + (hi - lo) * (tick + 0.5) / 4
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#eee"/>'
            f'<text x="{pad_l - 4}" y="{sy(v) + 4:.1f}" font-size="10" text-anchor="end" fill="#555">'
            f"{_e(_num(v, 1))}</text>"
        )
    for x in xs:
        parts.append(
            f'<text x="{sx(x):.1f}" y="{height - 8}" font-size="10" text-anchor="middle" fill="#555">{x}</text>'
        )
    if target_line is not None:
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{sy(target_line):.1f}" y2="{sy(target_line):.1f}" '
            'stroke="#000" stroke-dasharray="2,3" stroke-width="1.5" class="target-line"/>'
        )
    if len(path_pts) >= 2:
        pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in path_pts)
        parts.append(
            f'<polyline points="{pts}" fill="none" stroke="#888" stroke-dasharray="6,4" class="path-line"/>'
        )
    for x, y in target_pts:
        parts.append(
            f'<line x1="{sx(x) - 8:.1f}" x2="{sx(x) + 8:.1f}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" '
            'stroke="#000" stroke-width="3" class="assigned-target"/>'
        )
    if len(actual_pts) >= 2:
        pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in actual_pts)
        parts.append(
            f'<polyline points="{pts}" fill="none" stroke="#0072B2" stroke-width="2" class="actual-line"/>'
        )
    for x, y in actual_pts:
        parts.append(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="#0072B2" class="actual-point">'
            f"<title>{x}: {_e(_num(y))}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


LEGEND = (
    '<div class="legend"><span class="swatch" style="background:#0072B2"></span>实际值 actual &nbsp; '
    '<span style="color:#888">- - -</span> 基期→目标路径 expected path &nbsp; '
    "<span>· · ·</span> 目标线 target &nbsp; <b>▬</b> 上级下达目标 assigned target</div>"
)


def trend_words(latest: dict, indicator: dict) -> str:
    method = indicator["target_method"]
    unit = indicator["unit"] or ""
    if latest.get("status") in (None, "not_due"):
        return "尚无到期数据 · nothing due yet"
    if method == "rate":
        return (
            f"累计年均增速（几何平均）与目标年均 {_num(indicator['annual_growth_rate'])}% 比较 · compound average "
            f"growth compared with the {_num(indicator['annual_growth_rate'])}% a year target"
        )
    if method == "superior_assigned":
        return "逐年与上级下达目标比较 · each year is compared with the target assigned by the superior government"
    trend = latest.get("trend_status")
    projected = latest.get("projected_target_year_value")
    if trend is None:
        return "趋势：数据点不足 · trend: not enough data points"
    words = f"趋势：{status_zh(trend)} · trend: {status_en(trend)}"
    if projected is not None and trend != "target_achieved":
        meets = latest.get("projected_meets_target")
        words += (
            f"；按当前速度 {indicator['target_year']} 年预计 {_num(projected)} {unit}"
            f"（{'可达标' if meets else '不达标'}） · at the current pace {_num(projected)} {unit} by "
            f"{indicator['target_year']} ({'meets' if meets else 'misses'} the target)"
        )
    return words


def _panel(ind: dict, years: list[dict], latest: dict) -> str:
    attr_zh, attr_en = ATTRIBUTE.get(ind["attribute"], (ind["attribute"], ind["attribute"]))
    method_zh, method_en = METHOD.get(ind["target_method"], (ind["target_method"], ind["target_method"]))
    target = (
        f"{_e(ind['target_text'] or '')}"
        if ind["target_method"] in ("superior_assigned", "rate")
        else f"{_e(ind['target_operator'] or '')}{_e(_num(ind['target_value']))} {_e(ind['unit'])}"
    )
    baseline = (
        "—" if ind["baseline_value"] is None else f"{_num(ind['baseline_value'])} ({ind['baseline_year']})"
    )
    last_row = next((r for r in reversed(years) if r["status"] != "not_due"), None)
    last = ""
    if last_row:
        value = (
            last_row["running_total"] if ind["target_method"] == "cumulative" else last_row["actual_value"]
        )
        last = f"{last_row['plan_year']}：{_e(_num(value))} {_e(ind['unit'])}" + (
            f"，下达目标 {_e(_num(last_row['assigned_target']))}"
            if last_row["assigned_target"] is not None
            else ""
        )
    return (
        f'<div class="panel" id="ind-{_e(ind["plan_id"])}-{_e(ind["indicator_code"])}" '
        f'data-code="{_e(ind["indicator_code"])}" data-attribute="{_e(ind["attribute"])}">'
        f'<h3>{_e(ind["indicator_code"])} {_e(ind["name_zh"])}<br><span class="en">{_e(ind["name_en"])}</span></h3>'
        f'<div>{badge(latest.get("status"))} <span class="note">{_e(attr_zh)} {_e(attr_en)} · {_e(method_zh)} '
        f"{_e(method_en)} · {_e(ind['owner_department_name_zh'])}</span></div>"
        f'<div class="words">基期 baseline {_e(baseline)} · 目标 target {target}'
        + (f" · 年均 {_num(ind['annual_growth_rate'])}%" if ind["annual_growth_rate"] is not None else "")
        + (f"<br>最新 latest {last}" if last else "")
        + f"<br>{_e(trend_words(latest, ind))}</div>"
        + chart_svg(ind, years)
        + "</div>"
    )


# ------------------------------------------------------------------------------------------ report


def build_reports(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    plans = _rows(con, "select * from marts.dim_plans order by plan_id")
    written = []
    detailed = plans if len(plans) <= MAX_PLANS_WITH_DETAIL else []
    for plan in detailed:
        path = out_dir / f"progress_report_{plan['plan_id']}.html"
        _atomic_write(path, render_plan(con, plan))
        written.append(path)
    index = out_dir / "index.html"
    _atomic_write(index, render_index(con, plans, {p["plan_id"] for p in detailed}))
    written.append(index)
    if len(detailed) == 1:
        alias = out_dir / "progress_report.html"
        _atomic_write(alias, render_plan(con, detailed[0]))
        written.append(alias)
    return written


def _atomic_write(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def _page(title: str, header: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
        f"<body><header>{header}</header><main>{body}</main></body></html>"
    )


def render_index(con, plans: list[dict], detailed: set[str]) -> str:
    counts = _rows(
        con,
        """select plan_id, status, count(*) as n from marts.fct_indicator_status_latest
                           group by plan_id, status""",
    )
    by_plan: dict[str, dict] = defaultdict(dict)
    for row in counts:
        by_plan[row["plan_id"]][row["status"]] = row["n"]
    head = "".join(f"<th>{badge(s)}</th>" for s in STATUS_ORDER)
    rows = []
    for plan in plans:
        link = (
            f'<a href="progress_report_{_e(plan["plan_id"])}.html">{_e(plan["plan_short_zh"])}</a>'
            if plan["plan_id"] in detailed
            else _e(plan["plan_short_zh"])
        )
        cells = "".join(f'<td class="num">{by_plan[plan["plan_id"]].get(s, 0)}</td>' for s in STATUS_ORDER)
        rows.append(
            f"<tr><td>{link}<br><span class='note'>{_e(plan['plan_short_en'])}</span></td>{cells}</tr>"
        )
    note = (
        ""
        if len(detailed) == len(plans)
        else (
            f"<p class='note'>共 {len(plans)} 个规划，详细报告仅对不超过 {MAX_PLANS_WITH_DETAIL} 个规划自动生成；"
            f"可用 <code>planwh report --plan PLAN_ID</code> 单独生成。 · {len(plans)} plans: detailed reports are generated "
            f"automatically up to {MAX_PLANS_WITH_DETAIL}; use <code>planwh report --plan PLAN_ID</code> for one.</p>"
        )
    )
    body = (
        _undelivered(con) + f"<h2>各规划指标状态 <span class='en'>Indicator status by plan</span></h2>{note}"
        f"<table><tr><th>规划 Plan</th>{head}</tr>{''.join(rows)}</table>"
    )
    header = (
        "<h1>规划实施监测 · 汇总</h1><div class='en'>Plan monitoring · overview — generated "
        f"{_e(now_local().isoformat(sep=' '))} (Asia/Shanghai)</div>"
    )
    return _page("规划实施监测 Plan monitoring", header, body)


def render_plan(con, plan: dict) -> str:
    pid = plan["plan_id"]
    indicators = _rows(
        con,
        """
        select i.*, p.start_year, p.end_year, a.evaluated_baseline, a.evaluated_baseline_year, a.baseline_is_first_actual
        from marts.dim_indicators i join marts.dim_plans p on p.plan_id = i.plan_id
        left join (select plan_id, indicator_code, any_value(evaluated_baseline) as evaluated_baseline,
                          any_value(evaluated_baseline_year) as evaluated_baseline_year,
                          bool_or(baseline_is_first_actual) as baseline_is_first_actual
                   from marts.fct_indicator_attainment group by 1, 2) a
          on a.plan_id = i.plan_id and a.indicator_code = i.indicator_code
        where i.plan_id = ? order by i.indicator_kind, case i.attribute when 'binding' then 0 else 1 end, i.seq""",
        [pid],
    )
    attainment = _rows(
        con, "select * from marts.fct_indicator_attainment where plan_id = ? order by plan_year", [pid]
    )
    latest = {
        r["indicator_code"]: r
        for r in _rows(con, "select * from marts.fct_indicator_status_latest where plan_id = ?", [pid])
    }
    by_code: dict[str, list] = defaultdict(list)
    for row in attainment:
        by_code[row["indicator_code"]].append(row)
    as_of = next((r["as_of_date"] for r in latest.values()), None)

    sections = [_overview(indicators, latest), _alerts(con, pid), _undelivered(con)]
    main = [i for i in indicators if i["indicator_kind"] == "main"]
    secondary = [i for i in indicators if i["indicator_kind"] != "main"]
    binding = [i for i in main if i["attribute"] == "binding"]
    expected = [i for i in main if i["attribute"] != "binding"]
    sections.append(
        "<h2 id='binding'>约束性指标 <span class='en'>Binding indicators</span></h2>"
        + LEGEND
        + "<div class='panels'>"
        + "".join(
            _panel(i, by_code[i["indicator_code"]], latest.get(i["indicator_code"], {})) for i in binding
        )
        + "</div>"
    )
    sections.append(
        "<h2 id='expected'>预期性指标 <span class='en'>Expected indicators</span></h2>"
        "<div class='panels'>"
        + "".join(
            _panel(i, by_code[i["indicator_code"]], latest.get(i["indicator_code"], {})) for i in expected
        )
        + "</div>"
    )
    sections.append(
        f"<h2 id='secondary'>其他量化目标 <span class='en'>Other quantified targets ({len(secondary)})</span></h2>"
        "<details><summary>展开全部 · show all</summary><div class='panels'>"
        + "".join(
            _panel(i, by_code[i["indicator_code"]], latest.get(i["indicator_code"], {})) for i in secondary
        )
        + "</div></details>"
    )
    sections.append(_compliance(con, pid))
    sections.append(_projects(con, pid))
    sections.append(_rejections(con, pid))
    sections.append(
        "<h2>方法 <span class='en'>Method</span></h2><p class='note'>完成进度 = (实际值 − 基期值)/(目标值 − 基期值)，"
        "时序进度按时间（或规划年均增速的几何路径）计算；进度差 ≤ 0.10 为进度正常，≤ 0.30 为存在风险，否则偏离目标。"
        "详见 dbt 文档 attainment_method。 · Completion = (actual − baseline)/(target − baseline); the expected share "
        "follows time (or the plan's growth path); a lag up to 0.10 is on track, up to 0.30 at risk, beyond off track. "
        "See the dbt docs block attainment_method.</p>"
    )
    header = (
        f"<h1>{_e(plan['plan_short_zh'])} 实施进度报告</h1>"
        f"<div class='en'>{_e(plan['plan_short_en'])} — progress report · 评估日期 evaluation date "
        f"<b id='as-of'>{_e(as_of)}</b> · 生成 generated {_e(now_local().isoformat(sep=' '))} (Asia/Shanghai)</div>"
    )
    return _page(f"{plan['plan_short_zh']} 实施进度报告", header, "".join(sections))


def _overview(indicators: list[dict], latest: dict) -> str:
    counts: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    totals: dict[str, int] = defaultdict(int)
    first_seen: dict[tuple, int] = {}
    for ind in indicators:
        status = latest.get(ind["indicator_code"], {}).get("status", "not_due")
        key = (
            0 if ind["attribute"] == "binding" else 1 if ind["indicator_kind"] == "main" else 2,
            ind["attribute"],
            ind["category_zh"],
            ind["category_en"],
        )
        counts[key][status] += 1
        first_seen.setdefault(key, len(first_seen))  # plan order (codes follow the text), not text order
        if ind["indicator_kind"] == "main":
            totals[status] += 1
    cards = "".join(
        f"<div class='card'>{badge(s)}<b>{totals.get(s, 0)}</b></div>" for s in STATUS_ORDER if totals.get(s)
    )
    head = "".join(f"<th>{badge(s)}</th>" for s in STATUS_ORDER)
    rows = []
    for key in sorted(counts, key=lambda k: (k[0], first_seen[k])):
        _, attr, cat_zh, cat_en = key
        a_zh, a_en = ATTRIBUTE.get(attr, (attr, attr))
        cells = "".join(f'<td class="num">{counts[key].get(s, 0) or ""}</td>' for s in STATUS_ORDER)
        rows.append(
            f"<tr><td>{_e(a_zh)}<br><span class='note'>{_e(a_en)}</span></td><td>{_e(cat_zh)}<br>"
            f"<span class='note'>{_e(cat_en)}</span></td>{cells}</tr>"
        )
    return (
        "<h2 id='overview'>总览 <span class='en'>Overview</span></h2>"
        "<p class='note'>主要指标（专栏1）与其他目标的最新状态 · latest status of the 33 main indicators and the other targets</p>"
        f"<div class='cards'>{cards}</div><table id='overview-table'><tr><th>属性 Attribute</th>"
        f"<th>类别 Category</th>{head}</tr>{''.join(rows)}</table>"
    )


def _alerts(con, pid: str) -> str:
    rows = _rows(
        con,
        # this evaluation's flags, with when each was first seen by the live alert history
        """select f.*, a.opened_at from marts.fct_flags f left join ops.alerts a
                         on a.alert_id = f.flag_id and a.status = 'open'
                         where f.plan_id = ?
                         order by case f.severity when 'critical' then 0 else 1 end, f.flag_id""",
        [pid],
    )
    if not rows:
        return "<h2 id='alerts'>预警 <span class='en'>Open alerts</span></h2><p>当前无未解除预警 · no open alerts</p>"
    body = "".join(
        f"<tr><td>{badge(r['severity'])}</td>"
        f"<td>{_e(r['title_zh'])}<br><span class='note'>{_e(r['title_en'])}</span></td>"
        f"<td>{_e(r['detail_zh'])}<br><span class='note'>{_e(r['detail_en'])}</span></td>"
        f"<td>{_e(r['department_code'])}</td><td>{_e(r['opened_at'] or '—')}</td></tr>"
        for r in rows
    )
    return (
        "<h2 id='alerts'>预警 <span class='en'>Open alerts</span></h2><table><tr><th>级别 Severity</th>"
        "<th>对象 Subject</th><th>详情 Detail</th><th>部门 Department</th><th>首次出现 Opened</th></tr>"
        f"{body}</table>"
    )


def _undelivered(con) -> str:
    """Notifications given up on after the retry window: whoever reads the report learns that an alert
    never reached its channel (nothing is ever dropped silently)."""
    try:
        rows = undelivered(con, limit=50)
    except duckdb.Error:  # a snapshot written before deliveries were tracked
        return ""
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{_e(r['channel'])}</td><td>{_e(r['title_zh'] or r['kind'])}<br>"
        f"<span class='note'>{_e(r['title_en'] or '')} · {_e(r['event'] or '')}</span></td>"
        f"<td>{_e(r['gave_up_at'])}</td><td>{_e(r['attempts'])}</td><td>{_e(r['last_error'] or '')}</td>"
        f"<td><code>{_e(r['message_key'])}</code></td></tr>"
        for r in rows
    )
    return (
        "<h2 id='undelivered'>未送达的通知 <span class='en'>Notifications not delivered</span></h2>"
        "<p class='note'>以下通知在重试期限内始终未能送达，请通过其他方式告知相关人员，修复通道后运行 "
        "<code>planwh deliveries --retry</code>（或 <code>--dismiss</code> 确认已处理）。 · These notifications "
        "could not be delivered within the retry window: pass them on another way, then run "
        "<code>planwh deliveries --retry</code> once the channel works (or <code>--dismiss</code>).</p>"
        "<table><tr><th>通道 Channel</th><th>内容 Message</th><th>放弃时间 Given up</th><th>尝试 Attempts</th>"
        f"<th>最后错误 Last error</th><th>消息编号 Key</th></tr>{body}</table>"
    )


def _compliance(con, pid: str) -> str:
    rows = _rows(
        con, "select * from marts.fct_department_scorecard where plan_id = ? order by department_code", [pid]
    )
    body = "".join(
        f"<tr><td>{_e(r['department_name_zh'])}<br><span class='note'>{_e(r['department_name_en'])}</span></td>"
        f"<td class='num'>{r['periods_on_time']}</td><td class='num'>{r['periods_late']}</td>"
        f"<td class='num'>{r['periods_incomplete']}</td><td class='num'>{r['periods_missing']}</td><td class='num'>{r['files_received']}</td>"
        f"<td class='num'>{r['files_rejected']}</td><td class='num'>{r['rows_rejected']}</td>"
        f"<td class='num'>{r['indicators_off_track'] + r['indicators_no_data']}</td>"
        f"<td class='num'>{r['projects_red']}</td></tr>"
        for r in rows
    )
    return (
        "<h2 id='compliance'>部门报送情况 <span class='en'>Departments' compliance</span></h2>"
        f"<table><tr><th>部门 Department</th><th>{badge('on_time')}</th><th>{badge('late')}</th>"
        f"<th>{badge('incomplete')}</th><th>{badge('missing')}</th><th>接收文件 files</th><th>拒收文件 rejected files</th>"
        "<th>拒收行 rejected rows</th><th>偏离/未报指标 off track or no data</th><th>红灯项目 red projects</th></tr>"
        f"{body}</table>"
    )


def _projects(con, pid: str) -> str:
    projects = _rows(
        con,
        """select * from marts.fct_project_status where plan_id = ?
        order by case rag_status when 'red' then 0 when 'amber' then 1 when 'green' then 2 else 3 end, project_code""",
        [pid],
    )
    overdue = _rows(
        con,
        """select * from marts.fct_project_milestones where plan_id = ? and milestone_status = 'overdue'
                            order by days_late desc""",
        [pid],
    )
    by_project: dict[str, list] = defaultdict(list)
    for m in overdue:
        by_project[m["project_code"]].append(m)
    counts: dict[str, int] = defaultdict(int)
    for p in projects:
        counts[p["rag_status"]] += 1
    cards = "".join(
        f"<div class='card'>{badge(s)}<b>{counts.get(s, 0)}</b></div>"
        for s in ("red", "amber", "green", "completed")
    )

    def row(p: dict) -> str:
        late = "；".join(
            f"{m['milestone_name_zh']}（计划 {m['planned_date']}，逾期 {m['days_late']} 天 · {m['days_late']} days late）"
            for m in by_project.get(p["project_code"], [])
        )
        return (
            f"<tr><td>{badge(p['rag_status'])}</td><td>{_e(p['project_code'])} {_e(p['project_name_zh'])}<br>"
            f"<span class='note'>{_e(p['project_name_en'])}</span></td><td>{_e(p['owner_department_code'])}</td>"
            f"<td class='num'>{_e(_num(p['percent_complete'], 1))}</td><td class='num'>{_e(_num(p['schedule_share_percent'], 1))}</td>"
            f"<td class='num'>{p['milestones_done']}/{p.get('milestones_planned', '')}</td>"
            f"<td>{_e(late) or '—'}</td></tr>"
        )

    head = (
        "<tr><th>红黄绿灯 RAG</th><th>项目 Project</th><th>部门 Dept</th><th>形象进度 % progress</th>"
        "<th>工期进度 % schedule</th><th>里程碑 milestones done</th><th>逾期里程碑 Overdue milestones</th></tr>"
    )
    flagged = [p for p in projects if p["rag_status"] in ("red", "amber")]
    others = [p for p in projects if p["rag_status"] not in ("red", "amber")]
    return (
        "<h2 id='projects'>重大项目 <span class='en'>Major projects</span></h2>"
        f"<div class='cards'>{cards}</div><h3>红灯、黄灯项目 <span class='en'>Red and amber projects</span></h3>"
        f"<table>{head}{''.join(row(p) for p in flagged)}</table>"
        f"<details><summary>其他项目 · other projects ({len(others)})</summary><table>{head}"
        f"{''.join(row(p) for p in others)}</table></details>"
    )


def _rejections(con, pid: str) -> str:
    rows = _rows(
        con,
        """select s.* from marts.fct_submissions s join marts.dim_departments d
                         on d.department_code = s.department_code
                         where d.plan_id = ? and s.status = 'rejected' order by s.received_at desc limit 50""",
        [pid],
    )
    if not rows:
        return "<h2 id='rejected'>拒收文件 <span class='en'>Rejected files</span></h2><p>无 · none</p>"
    body = "".join(
        f"<tr><td>{_e(r['department_code'])}</td><td>{_e(r['original_name'])}</td><td>{_e(r['received_at'])}</td>"
        f"<td>{_e(r['message_zh'])}<br><span class='note'>{_e(r['message_en'])}</span></td></tr>"
        for r in rows
    )
    return (
        "<h2 id='rejected'>拒收文件 <span class='en'>Rejected files</span></h2><table><tr><th>部门 Dept</th>"
        f"<th>文件 File</th><th>接收时间 Received</th><th>原因 Why</th></tr>{body}</table>"
    )
