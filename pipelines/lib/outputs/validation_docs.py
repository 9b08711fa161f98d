"""An offline HTML report of the validation suites and their latest results (the role of GX Data Docs).

For each submission kind: every expectation of the suite (built from the catalog), what it checks
and the reason code departments see, with the results of the latest validation batches, and the
latest rejected files and rows with their bilingual messages.
"""

from __future__ import annotations

import html
from pathlib import Path

import duckdb

from ..files import atomic_write_text
from ..settings import Settings, now_local
from ..submissions.reasons import REASONS
from ..warehouse.connection import connect


def _e(v) -> str:
    return html.escape("" if v is None else str(v))


def render(con: duckdb.DuckDBPyConnection, settings: Settings) -> str:
    from expectations.runner import SUITE_MODULES

    from ..plans.catalog import Catalog

    catalog = Catalog.load(settings.seeds_dir)
    batches = [
        r[0]
        for r in con.execute(
            "select distinct validation_batch from ops.validation_results order by validation_batch desc limit 5"
        ).fetchall()
    ]
    results = {}
    if batches:
        rows = con.execute(
            f"""select validation_batch, suite, reason_code, column_name, expectation, success, rows_validated,
                       unexpected_count from ops.validation_results
                where validation_batch in ({",".join("?" * len(batches))})""",
            batches,
        ).fetchall()
        for batch, suite, reason, column, expectation, success, validated, unexpected in rows:
            results.setdefault((suite, reason, column, expectation), []).append(
                (batch, success, validated, unexpected)
            )
    parts = [
        f"<h1>数据校验报告 · Validation report</h1><p>生成 generated {_e(now_local())} · 最近批次 latest batches: "
        f"{_e(', '.join(batches) or 'none')}</p>"
    ]
    for suite, module in SUITE_MODULES.items():
        parts.append(
            f"<h2>套件 Suite <code>{_e(suite)}</code></h2><table><tr><th>#</th><th>期望 Expectation</th>"
            "<th>列 Column</th><th>原因代码 Reason</th><th>说明 What it means</th><th>最近结果 Latest results</th></tr>"
        )
        for index, rule in enumerate(module.rules(catalog), start=1):
            reason = REASONS[rule.reason]
            history = results.get((suite, rule.reason, rule.column, _snake(rule.expectation)), [])
            cells = (
                "<br>".join(
                    f"{'✔' if ok else '✘'} {_e(batch)}: {unexpected}/{validated} rows"
                    for batch, ok, validated, unexpected in history
                )
                or "—"
            )
            kwargs = {
                k: (f"{len(v)} values" if isinstance(v, list) and len(v) > 6 else v)
                for k, v in rule.kwargs.items()
            }
            parts.append(
                f"<tr><td>{index}</td><td><code>{_e(rule.expectation)}</code><br><small>{_e(kwargs)}</small></td>"
                f"<td>{_e(rule.column)}</td><td>{_e(rule.reason)}{' (warning)' if rule.warning else ''}</td>"
                f"<td>{_e(reason.zh.split('。')[0])}<br><small>{_e(reason.en.split('. ')[0])}</small></td><td>{cells}</td></tr>"
            )
        parts.append("</table>")
    issues = con.execute(
        """select q.original_name, q.department_code, q.sheet_name, q.source_row, q.column_name, q.offending_value,
                  q.reason_code, q.message_zh, q.message_en from raw.quarantine q
           where q.severity = 'error' order by q.detected_at desc, q.original_name, q.source_row limit 200"""
    ).fetchall()
    parts.append(
        "<h2>最近的拒收 Latest rejections</h2><table><tr><th>文件 File</th><th>部门 Dept</th><th>表 Sheet</th>"
        "<th>行 Row</th><th>列 Column</th><th>值 Value</th><th>原因 Reason</th><th>说明 Message</th></tr>"
    )
    for f, d, sh, r, c, v, code, zh, en in issues:
        parts.append(
            f"<tr><td>{_e(f)}</td><td>{_e(d)}</td><td>{_e(sh)}</td><td>{_e(r)}</td><td>{_e(c)}</td>"
            f"<td>{_e(v)}</td><td>{_e(code)}</td><td>{_e(zh)}<br><small>{_e(en)}</small></td></tr>"
        )
    parts.append("</table>")
    style = (
        "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:24px}table{border-collapse:collapse;"
        "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}th{background:#eef1f5}"
    )
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>Validation report</title>'
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )


def _snake(name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def build_validation_docs(settings: Settings, con: duckdb.DuckDBPyConnection | None = None) -> Path:
    out = settings.output_dir / "validation" / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    if con is None:
        with connect(settings, read_only=True) as own:
            text = render(own, settings)
    else:
        text = render(con, settings)
    atomic_write_text(out, text)
    return out
