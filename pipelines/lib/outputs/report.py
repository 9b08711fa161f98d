"""The bilingual progress report: one static HTML file per plan, offline (inline CSS and SVG, no CDN).

Sections: overview (status counts by category and attribute, binding indicators first), open
alerts, one panel per indicator (actuals against the baseline→target path and the target line,
status and trend in words), values awaiting or carrying a department's explanation (soft checks),
departments' compliance, project RAG with overdue milestones, and the files rejected in whole or
in part. Colours are the Okabe–Ito palette (safe for colour-blind readers) and
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
from ..settings import now_local, to_the_second
from ..warehouse.connection import fetch_dicts as _rows
from .evaluation import FINAL, KIND_EN, METHOD_EN, METHOD_ZH, gap_unit, plan_context, sentences
from .labels import ATTRIBUTE, METHOD, STATUS_ORDER, status_en, status_zh

COLORS = {
    "achieved": "#009E73",
    "not_achieved": "#D55E00",
    "on_track": "#0072B2",
    "at_risk": "#E69F00",
    "off_track": "#D55E00",
    "no_data": "#555555",
    "awaiting_explanation": "#56B4E9",
    "needs_explanation": "#56B4E9",
    "pending_explanation": "#56B4E9",
    "explained": "#009E73",
    "awaiting_target": "#CC79A7",
    "insufficient_data": "#999999",
    "not_due": "#BBBBBB",
    "red": "#D55E00",
    "amber": "#E69F00",
    "green": "#009E73",
    "completed": "#0072B2",
    "carried_over": "#56B4E9",
    "not_completed": "#555555",
    "on_time": "#009E73",
    "late": "#E69F00",
    "incomplete": "#CC79A7",
    "missing": "#D55E00",
    "critical": "#D55E00",
    "warning": "#E69F00",
}
MAX_PLANS_WITH_DETAIL = 20
CATEGORY_ORDER = [
    "achieved",
    "not_achieved",
    "achieved_early",
    "ahead",
    "as_expected",
    "lagging",
    "no_data",
    "not_assessable",
    "not_due",
]
TIMELINE_ROWS = 24  # projects per timeline chart: one chart fits an A4 page

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;
margin:0;color:#1a1a1a;background:#fafafa;line-height:1.45}
header{background:#123;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header .en{color:#cfd8e3;font-size:14px}main{padding:8px 28px 40px;max-width:1400px;box-sizing:border-box}
*,*::before,*::after{box-sizing:border-box}th .badge{white-space:normal;max-width:8.5em;text-align:center}
#overview-table td:nth-child(-n+2){min-width:8.5em}table{table-layout:auto}
.summary{background:#fff;border-left:5px solid #123;padding:8px 16px;margin:16px 0}.summary p{margin:6px 0}
.summary .en{color:#555;font-size:13px;display:block}.category{font-size:12px;border:1px solid #999;border-radius:10px;
padding:0 7px;white-space:nowrap}.cards .what{font-size:11.5px;color:#555;display:block}
.timeline{width:100%;height:auto;background:#fff;border:1px solid #ddd;margin:6px 0}.warn{color:#8a3b00}
table{max-width:100%}td,th{overflow-wrap:anywhere}
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
@page{size:A4;margin:12mm}
@media print{body{background:#fff;font-size:11pt}header{background:none;color:#000;border-bottom:2px solid #000;
padding:0 0 6px}header .en{color:#333}main{padding:0;max-width:none}
.panels{display:grid;grid-template-columns:1fr 1fr;gap:6px}.panel svg.chart{width:100%;height:auto}
.panel{break-inside:avoid;page-break-inside:avoid;margin:0;border-color:#999;font-size:9pt}h2,h3{break-after:avoid}
table{width:100%;font-size:8.5pt}#overview-table,#compliance-table{table-layout:fixed}
thead{display:table-header-group}tr,svg,.card{break-inside:avoid;page-break-inside:avoid}
.badge{border:1px solid #000;-webkit-print-color-adjust:exact;print-color-adjust:exact}
details::details-content{content-visibility:visible;height:auto}details>summary{display:none}
.timeline{break-inside:avoid}}
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


def _category(row: dict) -> str:
    """The NDRC evaluation category beside a status (提前实现, 快于预期 ... 完成, 未完成)."""
    if not row.get("evaluation_category") or row["evaluation_category"] == row.get("status"):
        return ""  # 未完成 beside 未完成 says nothing new
    return (
        f'<span class="category" data-category="{_e(row["evaluation_category"])}">'
        f"{_e(row.get('evaluation_category_zh'))} · {_e((row.get('evaluation_category_en') or '').lower())}</span>"
    )


def badge(status: str | None) -> str:
    color = COLORS.get(status or "", "#777777")
    light = " light" if color in ("#E69F00", "#BBBBBB", "#999999", "#CC79A7", "#56B4E9") else ""
    return (
        f'<span class="badge{light}" style="background:{color}" data-status="{_e(status)}">'
        f"{_e(status_zh(status))} · {_e(status_en(status))}</span>"
    )


# ------------------------------------------------------------------------------------------ charts


def chart_svg(indicator: dict, years: list[dict], width: int = 380, height: int = 170) -> str:
    """Actuals against the baseline→target path and the target line (or the rate / assigned target)."""
    method = indicator["target_method"]
    pad_l, pad_r, pad_t, pad_b = 52, 12, 18, 26
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
    ticks, step = nice_ticks(min(values), max(values))
    lo, hi = ticks[0], ticks[-1]
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
    decimals = step_decimals(step)
    for v in ticks:
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#eee"/>'
            f'<text x="{pad_l - 4}" y="{sy(v) + 4:.1f}" font-size="10" text-anchor="end" fill="#555" '
            f'class="tick" data-value="{v:.{decimals}f}">{_e(tick_label(v, decimals))}</text>'
        )
    unit = indicator.get("unit") or ""
    axis_unit = "%" if method == "rate" else unit
    if axis_unit:
        parts.append(
            f'<text x="{pad_l - 4}" y="10" font-size="10" text-anchor="end" fill="#555" class="axis-unit">'
            f"{_e(axis_unit)}</text>"
        )
    for x in xs:
        parts.append(
            f'<text x="{sx(x):.1f}" y="{height - 8}" font-size="10" text-anchor="middle" fill="#555">{x}</text>'
        )
    if target_line is not None:
        y = sy(target_line)
        label = f"目标 target {_figure(target_line)}{'%' if axis_unit == '%' else ''}"
        label_y = y - 4 if y - 4 > pad_t + 8 else y + 12  # above the line unless it sits at the top
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#000" stroke-dasharray="2,3" stroke-width="1.5" class="target-line"/>'
            f'<text x="{width - pad_r - 2}" y="{label_y:.1f}" font-size="10" text-anchor="end" fill="#000" '
            f'class="target-label" data-value="{_figure(target_line)}" paint-order="stroke" stroke="#fff" '
            f'stroke-width="3">{_e(label)}</text>'
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


def nice_ticks(lo: float, hi: float, count: int = 4) -> tuple[list[float], float]:
    """Round axis ticks (steps of 1, 2, 2.5 or 5 × 10^k) covering [lo, hi], about `count` intervals."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    start = math.floor(lo / step + 1e-9) * step
    end = math.ceil(hi / step - 1e-9) * step
    ticks = [round(start + i * step, 10) for i in range(round((end - start) / step) + 1)]
    return ticks, step


def step_decimals(step: float) -> int:
    decimals = 0
    while decimals < 6 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:
        decimals += 1
    return decimals


def tick_label(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    return text.replace("-", "") if float(value) == 0 else text


def _figure(value: float) -> str:
    """A target as printed: 600, 60, 20.9 (no float noise, no padding zeros)."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


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
    if latest.get("is_final_year"):  # the target year's value is in: a verdict, no projection
        return final_words(latest, indicator)
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


def final_words(latest: dict, indicator: dict) -> str:
    """The verdict once the target year's value is in: met, or missed by how much (no projection)."""
    year = latest.get("latest_year")
    status = latest.get("status")
    if status == "achieved":
        return f"{year}年最终值达到目标（完成） · final value for {year} meets the target (achieved)"
    if status == "not_achieved":
        decimals = indicator.get("value_decimals")
        gap = latest.get("shortfall")
        unit, unit_en = gap_unit(indicator, "zh"), gap_unit(indicator, "en").strip()
        gap_text = "—" if gap is None else f"{gap:.{2 if decimals is None else decimals}f}"
        missed = latest.get("years_missed")
        years = f"，{missed}个年度未完成" if missed else ""
        years_en = f"; {missed} year(s) missed" if missed else ""
        if gap == 0:
            return (
                f"{year}年最终值与目标持平、未超过目标（未完成{years}） · final value for {year} equals the target, "
                f"which had to be exceeded (not achieved{years_en})"
            )
        return (
            f"{year}年最终值未达到目标，差距{gap_text}{unit}{years} · final value for {year} misses the target by "
            f"{gap_text} {unit_en}{years_en}"
        )
    return f"{status_zh(status)} · {status_en(status)}"


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
        if last_row.get("value_awaiting_explanation") is not None:
            last = (
                f"{last_row['plan_year']}：报告值 {_e(_num(last_row['value_awaiting_explanation'], 6))} {_e(ind['unit'])} "
                "待部门说明，暂不计入 · reported value awaiting the department's explanation, not counted yet"
            )
        if last_row.get("actual_explanation"):
            last += f"<br>说明 explanation：{_e(last_row['actual_explanation'])}"
    return (
        f'<div class="panel" id="ind-{_e(ind["plan_id"])}-{_e(ind["indicator_code"])}" '
        f'data-code="{_e(ind["indicator_code"])}" data-attribute="{_e(ind["attribute"])}">'
        f'<h3>{_e(ind["indicator_code"])} {_e(ind["name_zh"])}<br><span class="en">{_e(ind["name_en"])}</span></h3>'
        f'<div>{badge(latest.get("status"))} {_category(latest)} <span class="note">{_e(attr_zh)} {_e(attr_en)} · {_e(method_zh)} '
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
    """index.html (every plan), a page per plan (up to MAX_PLANS_WITH_DETAIL) and, when the warehouse holds
    one region's plans, progress_report.html: the plan in progress. With several regions there is no such
    one plan and the file is not written; an earlier copy is removed, as are pages of plans no longer held."""
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
    current = _current_plan(con, detailed)
    alias = out_dir / "progress_report.html"
    if current is not None:  # one district: progress_report.html is the plan being carried out
        _atomic_write(alias, render_plan(con, current))
        written.append(alias)
    else:  # several districts have no one plan in progress: index.html is the start page
        alias.unlink(missing_ok=True)  # an earlier refresh's page would describe other data
    known = {p["plan_id"] for p in plans}
    for page in out_dir.glob("progress_report_*.html"):  # plans no longer in the warehouse
        if page.stem.removeprefix("progress_report_") not in known:
            page.unlink(missing_ok=True)
    return written


def _as_of(con) -> object:
    return con.execute("select max(as_of_date) from marts.fct_indicator_status_latest").fetchone()[0]


def _current_plan(con, plans: list[dict]) -> dict | None:
    """Of one region's plans, the one covering the evaluation year (else the latest begun)."""
    if not plans or len({p["region_code"] for p in plans}) != 1:
        return None
    as_of = _as_of(con)
    year = as_of.year if as_of else max(p["start_year"] for p in plans)
    begun = [p for p in plans if p["start_year"] <= year] or plans
    return max(begun, key=lambda p: p["start_year"])


def phase(plan: dict, as_of) -> tuple[str, str]:
    """Where a plan stands on the evaluation date, in words (zh, en)."""
    if as_of is None:
        return "", ""
    start, end = plan["start_year"], plan["end_year"]
    if as_of.year > end:
        return "已结束 · 总结评估", "ended · final evaluation"
    if as_of.year < start:
        return "尚未开始", "not started"
    n, total = as_of.year - start + 1, end - start + 1
    return f"实施中（第{n}年，共{total}年）", f"in progress (year {n} of {total})"


def _atomic_write(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def _page(title: str, header: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
        f"<body><header>{header}</header><main>{body}</main></body></html>"
    )


def _periods_note(plans: list[dict]) -> str:
    """Which years count for which plan, from the plans loaded (their years and names), region by region."""
    if not plans:
        return ""
    by_region: dict[str, list[dict]] = defaultdict(list)
    for plan in plans:
        by_region[plan["region_code"]].append(plan)
    zh, en = [], []
    for region in sorted(by_region):
        ordered = sorted(by_region[region], key=lambda p: p["start_year"])
        zh.append(
            "，".join(f"{p['start_year']}–{p['end_year']} 年的数据计入{p['plan_short_zh']}" for p in ordered)
        )
        en.append(
            ", ".join(f"{p['start_year']}–{p['end_year']} for the {p['plan_short_en']}" for p in ordered)
        )
    successive = any(len(group) > 1 for group in by_region.values())
    return (
        "<p class='note' id='periods-note'>一个统计期只属于一个规划："
        + _e("；".join(zh))
        + "。"
        + ("同一地区前一规划未完成的重大项目，由后一规划目录续建的，转入后一规划监测。" if successive else "")
        + " · A period belongs to one plan: figures of "
        + _e("; ".join(en))
        + "."
        + (
            " Unfinished projects of a region's earlier plan that the next plan's catalog carries over continue "
            "under the next plan."
            if successive
            else ""
        )
        + "</p>"
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
    as_of = _as_of(con)
    rows = []
    for plan in plans:
        phase_zh, phase_en = phase(plan, as_of)
        link = (
            f'<a href="progress_report_{_e(plan["plan_id"])}.html">{_e(plan["plan_short_zh"])}</a>'
            if plan["plan_id"] in detailed
            else _e(plan["plan_short_zh"])
        )
        cells = "".join(f'<td class="num">{by_plan[plan["plan_id"]].get(s, 0)}</td>' for s in STATUS_ORDER)
        evaluation = (
            f'<a href="../evaluation/evaluation_{_e(plan["plan_id"])}.html">HTML</a> · '
            f'<a href="../evaluation/evaluation_{_e(plan["plan_id"])}.docx">Word</a>'
            if plan["plan_id"] in detailed
            else "—"
        )
        rows.append(
            f"<tr data-plan='{_e(plan['plan_id'])}'><td>{link}<br><span class='note'>{_e(plan['plan_short_en'])}</span></td>"
            f"<td>{plan['start_year']}–{plan['end_year']}</td><td>{_e(phase_zh)}<br><span class='note'>{_e(phase_en)}</span></td>"
            f"{cells}"
            f"<td>{evaluation}</td></tr>"
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
        f"<table><tr><th>规划 Plan</th><th>规划期 Years</th><th>阶段 Phase</th>{head}<th>评估报告 Evaluation</th></tr>"
        f"{''.join(rows)}</table>" + _periods_note(plans)
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

    sections = [_summary(con, plan), _overview(indicators, latest), _alerts(con, pid), _undelivered(con)]
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
    sections.append(_explanations(con, pid))
    sections.append(_compliance(con, pid))
    sections.append(_projects(con, pid))
    sections.append(_timeline(con, pid))
    sections.append(_rejections(con, pid))
    sections.append(
        "<h2 id='method'>方法 <span class='en'>Method</span></h2>"
        + "".join(
            f"<p>{_e(zh)}<br><span class='note'>{_e(en)}</span></p>"
            for zh, en in zip(METHOD_ZH, METHOD_EN, strict=True)
        )
    )
    phase_zh, phase_en = phase(plan, as_of)
    siblings = _rows(
        con,
        "select * from marts.dim_plans where region_code = ? and plan_id <> ? order by start_year",
        [plan["region_code"], pid],
    )
    links = " · ".join(
        f"<a href='progress_report_{_e(p['plan_id'])}.html' style='color:#cfd8e3'>{_e(p['plan_short_zh'])} "
        f"({p['start_year']}–{p['end_year']})</a>"
        for p in siblings
    )
    header = (
        f"<h1>{_e(plan['plan_short_zh'])} 实施进度报告</h1>"
        f"<div class='en'>{_e(plan['plan_short_en'])} — progress report · 规划期 plan years "
        f"<b id='plan-years'>{plan['start_year']}–{plan['end_year']}</b> · <span id='phase'>{_e(phase_zh)} · "
        f"{_e(phase_en)}</span> · 评估日期 evaluation date "
        f"<b id='as-of'>{_e(as_of)}</b> · 生成 generated {_e(now_local().isoformat(sep=' '))} (Asia/Shanghai)</div>"
        + (
            f"<div class='en'>同一地区的其他规划 · other plans of this region: {links} · <a href='index.html' "
            f"style='color:#cfd8e3'>汇总 overview</a></div>"
            if links
            else "<div class='en'><a href='index.html' style='color:#cfd8e3'>全部规划汇总 · all plans</a></div>"
        )
    )
    return _page(f"{plan['plan_short_zh']} 实施进度报告", header, "".join(sections))


def _summary(con, plan: dict) -> str:
    """The plain-language verdict at the top: the evaluation report's own sentences."""
    ctx = plan_context(con, plan)
    if not ctx.started:  # no evaluation report is written for it (evaluation.write_evaluations)
        zh, en = ctx.not_started_text
        return (
            f"<h2 id='summary'>总体情况 <span class='en'>In short</span></h2><div class='summary'>"
            f"<p>{_e(zh)}<span class='en'>{_e(en)}</span></p></div>"
        )
    lines = "".join(
        f"<p data-key='{_e(s.key)}'>{_e(s.zh)}<span class='en'>{_e(s.en)}</span></p>"
        for s in sentences(con, ctx)
    )
    kind_zh = "总结评估" if ctx.kind == FINAL else "中期评估"
    link = f"../evaluation/evaluation_{plan['plan_id']}.html"
    return (
        f"<h2 id='summary'>总体情况 <span class='en'>In short</span></h2><div class='summary'>{lines}"
        f"<p class='note'>完整的{kind_zh}报告（含 Word 版）· the full {KIND_EN[ctx.kind]} report (also as .docx): "
        f"<a href='{_e(link)}'>evaluation_{_e(plan['plan_id'])}.html</a></p></div>"
    )


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
    n_main = sum(totals.values())
    cards = "".join(
        f"<div class='card' data-status='{s}'>{badge(s)}<b>{totals.get(s, 0)}</b>"
        f"<span class='what'>项主要指标（共{n_main}项） · of {n_main} main indicators</span></div>"
        for s in STATUS_ORDER
        if totals.get(s)
    )
    categories: dict[str, int] = defaultdict(int)
    category_labels: dict[str, tuple] = {}
    for ind in indicators:
        row = latest.get(ind["indicator_code"], {})
        if ind["indicator_kind"] == "main" and row.get("evaluation_category"):
            categories[row["evaluation_category"]] += 1
            category_labels[row["evaluation_category"]] = (
                row["evaluation_category_zh"],
                row["evaluation_category_en"],
            )
    category_cards = "".join(
        f"<div class='card' data-category='{c}'><span class='category'>{_e(category_labels[c][0])} · "
        f"{_e(category_labels[c][1].lower())}</span><b>{categories[c]}</b>"
        f"<span class='what'>项主要指标 · main indicators</span></div>"
        for c in CATEGORY_ORDER
        if categories.get(c)
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
        f"<p class='note'>卡片统计主要指标（专栏1，共{n_main}项）的最新状态，下表另含其他量化目标 · the cards count the "
        f"{n_main} main indicators of table 1 by their latest status; the table below adds the other targets</p>"
        f"<div class='cards' id='status-cards'>{cards}</div>"
        "<p class='note'>按国家发展改革委评估口径分类 · the same indicators in the categories of official evaluations</p>"
        f"<div class='cards' id='category-cards'>{category_cards}</div><table id='overview-table'><tr><th>属性 Attribute</th>"
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
        f"<td>{_e(r['department_name_zh'] or r['department_code'])}<br><span class='note'>"
        f"{_e(r['department_name_en'] or '')}</span></td><td>{_e(r['opened_at'] or '—')}</td></tr>"
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
        f"<table id='compliance-table'><tr><th>部门 Department</th><th>{badge('on_time')}</th><th>{badge('late')}</th>"
        f"<th>{badge('incomplete')}</th><th>{badge('missing')}</th><th>接收文件 files</th><th>拒收文件 rejected files</th>"
        "<th>拒收行 rejected rows</th><th>偏离/未报指标 off track or no data</th><th>红灯项目 red projects</th></tr>"
        f"{body}</table>"
    )


def _projects(con, pid: str) -> str:
    projects = _rows(
        con,
        """select p.*, d.owner_department_name_zh, d.owner_department_name_en
        from marts.fct_project_status p join marts.dim_projects d on d.project_key = p.project_key
        where p.plan_id = ?
        order by case p.rag_status when 'red' then 0 when 'amber' then 1 when 'green' then 2 else 3 end, p.project_code""",
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
        for s in ("red", "amber", "green", "completed", "carried_over", "not_completed")
        if counts.get(s) or s in ("red", "amber", "green", "completed")
    )

    def row(p: dict) -> str:
        late = "；".join(
            f"{m['milestone_name_zh']}（计划 {m['planned_date']}，逾期 {m['days_late']} 天 · {m['days_late']} days late）"
            for m in by_project.get(p["project_code"], [])
        )
        carried = ""
        if p.get("continued_in_plan_id"):
            carried = (
                f"<br><span class='note'>转入 <a href='progress_report_{_e(p['continued_in_plan_id'])}.html'>"
                f"{_e(p['continued_in_plan_id'])}</a> 续建 · carried over</span>"
            )
        elif p.get("continues_plan_id"):
            carried = (
                f"<br><span class='note'>续建自 <a href='progress_report_{_e(p['continues_plan_id'])}.html'>"
                f"{_e(p['continues_plan_id'])}</a> {_e(p['continues_project_code'])} · continues that plan's project</span>"
            )
        note = _e(late) or "—"
        if p["is_progress_inconsistent"]:
            note = (
                f"<span class='warn' data-warning='progress_below_100'>⚠ 已报竣工（{_e(p['completed_on'])}），但最近一次进度报告"
                f"（{_e(p['last_progress_report_date'])}）的形象进度为 {_e(_num(p['percent_complete'], 1))}%，请责任单位核实"
                f"<br><span class='note'>Reported completed on {_e(p['completed_on'])}, yet the last progress report "
                f"({_e(p['last_progress_report_date'])}) says {_e(_num(p['percent_complete'], 1))}%: please check.</span></span>"
            )
        return (
            f"<tr><td>{badge(p['rag_status'])}</td><td>{_e(p['project_code'])} {_e(p['project_name_zh'])}<br>"
            f"<span class='note'>{_e(p['project_name_en'])}</span>{carried}</td><td>{_e(p['owner_department_name_zh'])}<br>"
            f"<span class='note'>{_e(p['owner_department_name_en'])}</span></td>"
            f"<td class='num'>{_e(_num(p['percent_complete'], 1))}</td><td class='num'>{_e(_num(p['schedule_share_percent'], 1))}</td>"
            f"<td class='num'>{p['milestones_done']}/{p.get('milestones_planned', '')}</td>"
            f"<td>{note}</td></tr>"
        )

    head = (
        "<tr><th>红黄绿灯 RAG</th><th>项目 Project</th><th>部门 Dept</th><th>形象进度 % progress</th>"
        "<th>工期进度 % schedule</th><th>里程碑 milestones done</th><th>逾期里程碑或提示 Overdue milestones, warnings</th></tr>"
    )
    inconsistent = [p for p in projects if p["is_progress_inconsistent"]]
    flagged = [p for p in projects if p["rag_status"] in ("red", "amber") or p in inconsistent]
    others = [p for p in projects if p not in flagged]
    return (
        "<h2 id='projects'>重大项目 <span class='en'>Major projects</span></h2>"
        f"<div class='cards'>{cards}</div><h3>红灯、黄灯项目及数据不一致的项目 <span class='en'>Red and amber projects, and "
        f"projects whose data disagree ({len(inconsistent)} completed with progress below 100%)</span></h3>"
        f"<table>{head}{''.join(row(p) for p in flagged)}</table>"
        f"<details><summary>其他项目 · other projects ({len(others)})</summary><table>{head}"
        f"{''.join(row(p) for p in others)}</table></details>"
    )


def _timeline(con, pid: str) -> str:
    """Planned against actual milestone dates, one row per major project (static SVG, no script)."""
    milestones = _rows(
        con,
        """select m.*, p.planned_start, p.planned_end, p.rag_status, d.seq as project_seq, m.as_of_date
           from marts.fct_project_milestones m
           join marts.fct_project_status p on p.project_key = m.project_key
           join marts.dim_projects d on d.project_key = m.project_key
           where m.plan_id = ? order by d.seq, m.seq""",
        [pid],
    )
    if not milestones:
        return ""
    by_project: dict[str, list] = defaultdict(list)
    for m in milestones:
        by_project[m["project_code"]].append(m)
    projects = list(by_project.values())
    charts = "".join(
        timeline_svg(projects[i : i + TIMELINE_ROWS], milestones[0]["as_of_date"], start=i + 1)
        for i in range(0, len(projects), TIMELINE_ROWS)
    )
    legend = (
        "<div class='legend'><svg width='14' height='12'><path d='M7 1 L13 6 L7 11 L1 6 Z' fill='#fff' stroke='#333'/>"
        "</svg> 计划日期 planned &nbsp; <svg width='12' height='12'><circle cx='6' cy='6' r='5' fill='#009E73'/></svg>"
        " 按期完成 done on time &nbsp; <svg width='12' height='12'><circle cx='6' cy='6' r='5' fill='#E69F00'/></svg>"
        " 延期完成 done late &nbsp; <svg width='12' height='12'><path d='M2 2 L10 10 M10 2 L2 10' stroke='#D55E00' "
        "stroke-width='2.5'/></svg> 逾期未完成 overdue &nbsp; <svg width='12' height='12'><path d='M3 2 L9 6 L3 10' "
        "fill='none' stroke='#56B4E9' stroke-width='2.5'/></svg> 转入下一规划续建 carried over &nbsp; <span style='color:#0072B2'>┆</span> 评估日期 evaluation date</div>"
    )
    return (
        "<h2 id='timeline'>项目里程碑：计划与实际 <span class='en'>Project milestones: planned and actual dates</span></h2>"
        f"<p class='note'>每行一个重大项目；灰线为计划工期，连线为计划日期到实际（或至今）的偏差 · one row per major "
        f"project; the grey bar is the planned period, a coloured link joins a milestone's planned and actual date</p>{legend}"
        f"{charts}"
    )


def timeline_svg(projects: list[list[dict]], as_of, start: int = 1) -> str:
    from datetime import date as _date

    dates = [as_of]
    for rows in projects:
        for m in rows:
            dates += [
                d for d in (m["planned_date"], m["completed_on"], m["planned_start"], m["planned_end"]) if d
            ]
    first, last = _date(min(dates).year, 1, 1), _date(max(dates).year + 1, 1, 1)
    width, label_w, row_h, top, right = 1000, 300, 20, 26, 12
    height = top + row_h * len(projects) + 8
    span = (last - first).days or 1

    def x(day) -> float:
        return label_w + (day - first).days / span * (width - label_w - right)

    parts = [
        f'<svg class="timeline" role="img" aria-label="project timeline" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMinYMin meet" data-projects="{len(projects)}">'
    ]
    for year in range(first.year, last.year + 1):
        gx = x(_date(year, 1, 1))
        parts.append(
            f'<line x1="{gx:.1f}" x2="{gx:.1f}" y1="{top - 6}" y2="{height - 4}" stroke="#e3e3e3"/>'
            + (
                f'<text x="{gx + 3:.1f}" y="{top - 10}" font-size="11" fill="#555">{year}</text>'
                if year < last.year
                else ""
            )
        )
    ax = x(as_of)
    parts.append(
        f'<line x1="{ax:.1f}" x2="{ax:.1f}" y1="{top - 6}" y2="{height - 4}" stroke="#0072B2" stroke-dasharray="3,3" '
        f'class="as-of-line"><title>评估日期 evaluation date {as_of}</title></line>'
    )
    for i, rows in enumerate(projects):
        head = rows[0]
        cy = top + i * row_h + row_h / 2
        name = head["project_name_zh"]
        short = name if len(name) <= 17 else name[:16] + "…"
        parts.append(
            f'<g class="project-row" data-project="{_e(head["project_code"])}">'
            f'<text x="4" y="{cy + 4:.1f}" font-size="11.5" fill="#222">{start + i}. {_e(head["project_code"])} '
            f"{_e(short)}<title>{_e(head['project_code'])} {_e(name)} · {_e(head['project_name_en'])}</title></text>"
        )
        if head["planned_start"] and head["planned_end"]:
            parts.append(
                f'<rect x="{x(head["planned_start"]):.1f}" y="{cy - 2.5:.1f}" '
                f'width="{max(1.0, x(head["planned_end"]) - x(head["planned_start"])):.1f}" height="5" fill="#d9d9d9" '
                f'class="planned-period"><title>计划工期 planned {head["planned_start"]} – {head["planned_end"]}</title></rect>'
            )
        for m in rows:
            px = x(m["planned_date"])
            label = f"{m['milestone_name_zh']} · {m['milestone_name_en']}：计划 planned {m['planned_date']}"
            status = m["milestone_status"]
            if m["completed_on"]:
                ax_ = x(m["completed_on"])
                color = "#E69F00" if status == "done_late" else "#009E73"
                if abs(ax_ - px) > 0.5:
                    parts.append(
                        f'<line x1="{px:.1f}" x2="{ax_:.1f}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="{color}" stroke-width="2"/>'
                    )
                parts.append(
                    f'<circle cx="{ax_:.1f}" cy="{cy:.1f}" r="4.5" fill="{color}" class="actual {status}">'
                    f"<title>{_e(label)}，实际 actual {m['completed_on']}（{_e(status_zh(status))}）</title></circle>"
                )
            elif status == "overdue":
                parts.append(
                    f'<line x1="{px:.1f}" x2="{ax:.1f}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="#D55E00" stroke-width="2" '
                    f'stroke-dasharray="4,2"/><path d="M{ax - 4:.1f} {cy - 4:.1f} L{ax + 4:.1f} {cy + 4:.1f} M{ax + 4:.1f} '
                    f'{cy - 4:.1f} L{ax - 4:.1f} {cy + 4:.1f}" stroke="#D55E00" stroke-width="2.5" class="overdue">'
                    f"<title>{_e(label)}，逾期 {m['days_late']} 天 · {m['days_late']} days overdue</title></path>"
                )
            elif status == "carried_over":  # open when the plan ended; the next plan's catalog carries it on
                parts.append(
                    f'<line x1="{px:.1f}" x2="{ax:.1f}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="#56B4E9" stroke-width="2" '
                    f'stroke-dasharray="4,2"/><path d="M{ax - 5:.1f} {cy - 4:.1f} L{ax + 1:.1f} {cy:.1f} L{ax - 5:.1f} '
                    f'{cy + 4:.1f}" fill="none" stroke="#56B4E9" stroke-width="2.5" class="carried-over">'
                    f"<title>{_e(label)}，未完成，转入下一规划续建 · open, carried over to the next plan</title></path>"
                )
            parts.append(
                f'<path d="M{px:.1f} {cy - 6:.1f} L{px + 6:.1f} {cy:.1f} L{px:.1f} {cy + 6:.1f} L{px - 6:.1f} {cy:.1f} Z" '
                f'fill="#fff" fill-opacity="0.6" stroke="#333" class="planned"><title>{_e(label)}</title></path>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _explanations(con, pid: str) -> str:
    """Values that failed a soft check (核实性审核): awaiting the department's explanation, or explained."""
    rows = _rows(
        con,
        """select v.*, i.name_zh, i.name_en, i.unit, d.department_name_zh
           from marts.fct_indicator_values v
           join marts.dim_indicators i on i.indicator_key = v.indicator_key
           left join marts.dim_departments d on d.department_code = v.department_code
           where v.plan_id = ? and v.review_state in ('pending_explanation', 'explained')
           order by case v.review_state when 'pending_explanation' then 0 else 1 end, v.indicator_code, v.period""",
        [pid],
    )
    title = (
        "<h2 id='explanations'>核实性审核 <span class='en'>Plausibility checks: values awaiting or carrying an "
        "explanation</span></h2><p class='note'>与上期相比变动异常、疑似单位或小数点错误、与上年逐位相同的数值，"
        "须报送部门书面说明后才计入评估。 · Values that changed implausibly, look like a unit slip, or repeat last "
        "year's to every digit count only once the department explains them in writing.</p>"
    )
    if not rows:
        return title + "<p>无 · none</p>"
    body = "".join(
        f"<tr data-review='{_e(r['review_state'])}'><td>{badge(r['review_state'])}</td>"
        f"<td>{_e(r['indicator_code'])} {_e(r['name_zh'])}<br><span class='note'>{_e(r['name_en'])}</span></td>"
        f"<td>{_e(r['period'])}</td><td class='num'>{_e(_num(r['value'], 6))} {_e(r['unit'])}</td>"
        f"<td>{_e(r['review_reasons'] or '')}</td><td>{_e(r['explanation'] or '—')}</td>"
        f"<td>{_e(r['department_name_zh'] or r['department_code'])}<br><span class='note'>{_e(r['original_name'])}"
        "</span></td></tr>"
        for r in rows
    )
    return (
        title
        + "<table><tr><th>状态 State</th><th>指标 Indicator</th><th>统计期 Period</th><th>数值 Value</th>"
        "<th>审核规则 Check</th><th>说明 Explanation</th><th>部门与文件 Department, file</th></tr>"
        f"{body}</table>"
    )


def _rejections(con, pid: str) -> str:
    """Files rejected whole, and files whose rows were rejected in part, with the first reason."""
    rows = _rows(
        con,
        """select s.*, d.department_name_zh,
                  (select i.message_zh from marts.fct_submission_issues i
                   where i.submission_id = s.submission_id and i.severity = 'error'
                   order by i.source_row nulls first, i.issue_id limit 1) as first_error_zh,
                  (select i.message_en from marts.fct_submission_issues i
                   where i.submission_id = s.submission_id and i.severity = 'error'
                   order by i.source_row nulls first, i.issue_id limit 1) as first_error_en
           from marts.fct_submissions s left join marts.dim_departments d
             on d.department_code = s.department_code
           where list_contains(string_split(s.plan_ids, ','), ?) and (s.status = 'rejected' or s.rows_rejected > 0)
           order by case s.status when 'rejected' then 0 else 1 end, s.received_at desc limit 100""",
        [pid],
    )
    title = "<h2 id='rejected'>拒收文件与拒收行 <span class='en'>Rejected files and rows</span></h2>"
    if not rows:
        return title + "<p>无 · none</p>"
    body = "".join(
        f"<tr data-status='{_e(r['status'])}'><td>{_e(r['department_name_zh'] or r['department_code'])}</td>"
        f"<td>{_e(r['original_name'])}</td><td>{_e(to_the_second(r['received_at']))}</td>"
        f"<td>{badge(r['status'])}</td><td class='num'>{r['rows_rejected']}</td><td class='num'>{r['rows_accepted']}</td>"
        f"<td>{_e(r['message_zh'] or r['first_error_zh'])}<br>"
        f"<span class='note'>{_e(r['message_en'] or r['first_error_en'])}</span></td></tr>"
        for r in rows
    )
    return (
        title
        + "<p class='note'>整个文件被拒收的，以及部分行被拒收的文件（其余行已入库）；全部问题见各文件回执和 "
        "marts.fct_submission_issues。 · Files rejected whole, and files with some rows rejected (the rest was "
        "loaded); every problem is in the file's receipt and marts.fct_submission_issues.</p>"
        "<table><tr><th>部门 Dept</th><th>文件 File</th><th>接收时间 Received</th><th>状态 Status</th>"
        f"<th>拒收行 rows rejected</th><th>接收行 rows accepted</th><th>原因 Why (first)</th></tr>{body}</table>"
    )
