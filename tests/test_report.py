"""The progress report, opened in headless Chromium as a reader would."""

from __future__ import annotations

import re

import pytest

from tests.browser import chromium_page

pytestmark = pytest.mark.browser


def test_report_sections_charts_and_words_render(sample_run):
    report = (
        sample_run["output"] / "report" / "progress_report_370102_14FYP.html"
    )  # the plan in its final evaluation
    html = report.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']https?://""", html)  # works offline: no CDN, no remote assets
    with chromium_page() as page:
        page.goto(report.as_uri())
        assert "实施进度报告" in page.evaluate("document.title")
        for section in (
            "overview",
            "alerts",
            "binding",
            "expected",
            "secondary",
            "compliance",
            "projects",
            "rejected",
        ):
            assert page.evaluate(f"!!document.getElementById('{section}')"), section
        assert page.evaluate("document.getElementById('as-of').textContent") == "2026-06-30"
        binding = page.evaluate(
            "[...document.querySelectorAll('#binding ~ .panels')][0].querySelectorAll('.panel').length"
        )
        assert binding == 10
        # every chart is laid out with real geometry: points and lines have a size on screen
        rendered = page.evaluate("""[...document.querySelectorAll('svg.chart')].filter(svg => {
              const box = svg.getBoundingClientRect();
              return box.width > 300 && box.height > 100;
            }).length""")
        total = page.evaluate("document.querySelectorAll('svg.chart').length")
        assert total == 33 + 88 and rendered >= 33  # secondary panels sit in a closed <details>
        points = page.evaluate("""[...document.querySelectorAll('#binding ~ .panels circle.actual-point')]
              .filter(c => c.getBoundingClientRect().width > 0).length""")
        assert points >= 30
        lines = page.evaluate(
            "[...document.querySelectorAll('polyline.actual-line')].filter(l => l.getTotalLength() > 10).length"
        )
        assert lines >= 20
        assert page.evaluate("document.querySelectorAll('.target-line').length") >= 20
        # status words beside every colour
        badges = page.evaluate("[...document.querySelectorAll('.badge')].map(b => b.textContent.trim())")
        assert badges and all(" · " in text and len(text) > 4 for text in badges)
        assert (
            page.evaluate("document.querySelector('#ind-370102_14FYP-I22 .badge').dataset.status")
            == "not_achieved"
        )
        # Chinese text is drawn with a CJK font (wider than the fallback boxes would be)
        width = page.evaluate("""(() => { const s = document.createElement('span'); s.textContent = '约束性指标';
              document.body.appendChild(s); const w = s.getBoundingClientRect().width; s.remove(); return w; })()""")
        assert width > 40
        page.screenshot(sample_run["output"] / "report" / "progress_report_370102_14FYP.png")
    assert (sample_run["output"] / "report" / "progress_report_370102_14FYP.png").stat().st_size > 20_000


def test_report_reads_well_for_a_leader(sample_run, sample_db):
    """The fixes a leader asked for: plain summary, round ticks with the unit, labelled targets, names not
    codes, a project timeline, print layout, no sideways scrolling, cards that say what they count."""
    from pipelines.lib.outputs import evaluation as ev
    from tests.conftest import query

    report = sample_run["output"] / "report" / "progress_report_370102_14FYP.html"
    plan = query(sample_db, "select * from marts.dim_plans where plan_id = '370102_14FYP'")[0]
    said = ev.sentences(sample_db, ev.plan_context(sample_db, plan))
    inconsistent = query(
        sample_db,
        "select * from marts.fct_project_status where is_progress_inconsistent and plan_id = '370102_14FYP'",
    )
    with chromium_page() as page:
        page.goto(report.as_uri())
        summary = page.evaluate("document.querySelector('.summary').innerText")
        assert all(s.zh in summary for s in said)  # the evaluation's own sentences, at the top
        assert page.evaluate(
            "document.getElementById('summary').getBoundingClientRect().top"
        ) < page.evaluate("document.getElementById('overview').getBoundingClientRect().top")
        # every chart: round ticks (1, 2, 2.5 or 5 × 10^k apart), the unit on the axis, the target labelled
        charts = page.evaluate("""[...document.querySelectorAll('svg.chart')].map(svg => ({
              ticks: [...svg.querySelectorAll('text.tick')].map(t => Number(t.dataset.value)),
              unit: (svg.querySelector('text.axis-unit') || {}).textContent || '',
              target: svg.querySelector('.target-line') ? svg.querySelector('.target-label').dataset.value : null,
              label: svg.querySelector('.target-label') ? svg.querySelector('.target-label').textContent : null,
              code: svg.getAttribute('aria-label')}))""")
        with_ticks = [c for c in charts if c["ticks"]]
        assert len(with_ticks) >= 100
        for chart in with_ticks:
            steps = {round(b - a, 9) for a, b in zip(chart["ticks"], chart["ticks"][1:], strict=False)}
            assert len(steps) == 1, chart
            step = steps.pop()
            mantissa = step / 10 ** __import__("math").floor(__import__("math").log10(step))
            assert round(mantissa, 6) in (1, 2, 2.5, 5), chart
            assert all(abs(t / step - round(t / step)) < 1e-6 for t in chart["ticks"]), chart
        by_code = {c["code"].split()[-1]: c for c in charts}
        assert (
            by_code["I10"]["target"] == "600"
            and "600" in by_code["I10"]["label"]
            and by_code["I10"]["unit"] == "家"
        )
        assert by_code["I19"]["target"] == "60" and by_code["I19"]["unit"] == "%"
        # names, not codes, where a person reads
        for section, column in (("alerts", 3), ("projects", 2), ("rejected", 0), ("compliance", 0)):
            cells = page.evaluate(f"""(() => {{ let el = document.getElementById('{section}'), out = [];
                  while ((el = el.nextElementSibling) && el.tagName !== 'H2')
                    el.querySelectorAll('tr').forEach(tr => tr.cells[{column}] && tr.cells[{column}].tagName === 'TD'
                      && out.push(tr.cells[{column}].textContent));
                  return out; }})()""")
            assert cells and not [c for c in cells if "370102_" in c], section
            assert all(any("\u4e00" <= ch <= "\u9fff" for ch in c) for c in cells), section  # a Chinese name
        alerts = page.evaluate("document.querySelector('#alerts + table').innerText")
        assert "区城市管理局" in alerts
        # a verdict, not a projection, once the target year's value is in
        i22 = page.evaluate("document.getElementById('ind-370102_14FYP-I22').innerText")
        assert "差距1.33个百分点" in i22 and "按当前速度" not in i22 and "at the current pace" not in i22
        # the project timeline: one row per project, overdue milestones marked
        assert page.evaluate("document.querySelectorAll('svg.timeline g.project-row').length") == 68
        # open milestones past their date: overdue, or carried over to the 15th plan (the 14th has ended)
        assert (
            page.evaluate(
                "document.querySelectorAll('svg.timeline .overdue, svg.timeline .carried-over').length"
            )
            >= 2
        )
        assert page.evaluate("document.querySelectorAll('svg.timeline .planned').length") >= 200
        # completed projects whose last progress is below 100 %: a consistency warning each
        warnings = page.evaluate("[...document.querySelectorAll('[data-warning=progress_below_100]')].length")
        assert warnings == len(inconsistent) > 0
        # cards say what they count; the method in two paragraphs
        whats = page.evaluate("[...document.querySelectorAll('#status-cards .what')].map(w => w.textContent)")
        assert whats and all("主要指标" in w and "33" in w for w in whats)
        assert page.evaluate("document.querySelectorAll('#method ~ p').length") == 2
        # no sideways scrolling at 1400 px, and a print layout on A4 that keeps panels and rows whole
        assert page.evaluate("window.innerWidth") == 1400
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.call("Emulation.setEmulatedMedia", media="print")
        assert page.evaluate("getComputedStyle(document.querySelector('.panel')).breakInside") == "avoid"
        assert page.evaluate("getComputedStyle(document.querySelector('tr')).breakInside") == "avoid"
        assert page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor") in (
            "rgba(0, 0, 0, 0)",
            "transparent",
        )
        pdf = page.call("Page.printToPDF", preferCSSPageSize=True, printBackground=False)
        assert len(pdf["data"]) > 100_000
