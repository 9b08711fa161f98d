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
