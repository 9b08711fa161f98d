"""The receipt of one submission (回执): what happened to the file, for people (HTML) and programs (JSON).

`build_receipt` is a function of the validation core's outcome (check.py), so the pipeline, which
writes a receipt for every processed file under <output>/receipts/<department_code>/, and a portal,
which shows one for an upload before it reaches the inbox, render the same receipt.

JSON shape (the contract the portal relies on; fields beyond it are marked "extension"):
    {"submission_id", "department_code", "original_name", "received_at", "processed_at",
     "verdict": "accepted" | "accepted_with_warnings" | "rejected" | "needs_explanation" | "ignored",
     "rows_accepted", "rows_rejected", "rows_pending_explanation",
     "issues": [{"severity": "error" | "warning", "reason", "needs_explanation", "sheet", "row",
                 "column", "value", "message_zh", "message_en",
                 "expected", "code", "period", "explanation"  (extension)}],
     "department_name_zh", "department_name_en", "rows_total", "rows_skipped",
     "received_at_source": "observed" | "backfill"  (extension)}
Times are ISO 8601 with the Asia/Shanghai offset (+08:00).

Every processed file gets its JSON. The HTML page is written for every file a department sent and for
every migrated file (raw/backfill) with something to act on; a migrated file that loaded cleanly gets
its page on request (`planwh receipt <submission_id>`, `render_receipt_file`). A migration brings years
of history at once — 1.36 M files in the national benchmark tier — and a page per clean historical file
doubled the files a first refresh writes, and the page cache they take, for pages nobody is sent.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from .check import Outcome
from .reasons import DISPLAY, Issue

VERDICTS = {
    "accepted": ("已接收", "Accepted", "#009E73"),
    "accepted_with_warnings": ("已接收（有警告或部分行被拒收）", "Accepted with warnings", "#E69F00"),
    "needs_explanation": ("待补充说明", "Needs an explanation", "#CC79A7"),
    "rejected": ("整个文件已拒收", "Rejected", "#D55E00"),
    "ignored": ("已忽略（临时文件）", "Ignored (a temporary file)", "#999999"),
}
WHAT_TO_DO = {
    "accepted": (
        "全部数据已入库，无需进一步操作。",
        "Every row was loaded; nothing more to do.",
    ),
    "accepted_with_warnings": (
        "可用的数据已入库。被拒收的行未入库：请按下表逐行修改，只需重新报送这些行。警告不影响入库，请核对。",
        "The usable rows were loaded. Rejected rows were not: fix them as the table says and submit only those rows "
        "again. Warnings do not stop a row; check them.",
    ),
    "needs_explanation": (
        "数据已入库，但标为“待说明”的数值未通过核实性审核，补充说明前不计入完成情况评估。数值有误请更正后重新报送；"
        "数值无误请在该行“说明”列写明原因，重新报送该行（编号、统计期、数值不变）。",
        "The rows were loaded, but the values marked 'needs explanation' failed a plausibility check and do not count "
        "until explained. If a value is wrong, correct it and submit it again; if it is right, write the reason in "
        "the row's 说明/explanation column and submit the row again (same code, period and value).",
    ),
    "rejected": (
        "整个文件未入库。请按下表的说明修改后重新报送整个文件。",
        "Nothing from this file was loaded. Fix it as the table says and submit the whole file again.",
    ),
    "ignored": (
        "这是编辑器或传输软件留下的临时文件（如 ~$ 开头、.part、.tmp 或隐藏文件），未读取。请报送保存完整的正式文件。",
        "This is an editor's or a transfer's leftover (~$…, .part, .tmp or a hidden file) and was not read. Submit "
        "the complete, saved file instead.",
    ),
}
OFFSET = "+08:00"  # times are Asia/Shanghai


def _iso(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    text = value.replace(microsecond=0).isoformat()
    return text if value.tzinfo else text + OFFSET


def _plain(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    return str(value)


def _issue_json(issue: Issue) -> dict:
    extra = issue.extra or {}
    return {
        "severity": issue.severity,
        "reason": issue.code,
        "needs_explanation": issue.needs_explanation,
        "sheet": issue.sheet,
        "row": issue.row,
        "column": issue.column,
        "value": _plain(issue.value),
        "message_zh": issue.message_zh,
        "message_en": issue.message_en,
        "expected": _plain(issue.expected),
        "code": extra.get("record_code"),
        "period": extra.get("record_period"),
        "explanation": extra.get("explanation"),
    }


def _order(issue: Issue) -> tuple:
    """Errors first, then the warnings that need an explanation, then the other warnings; within each,
    the whole file's before the rows'."""
    return (
        0 if issue.severity == "error" else 1 if issue.needs_explanation else 2,
        0 if issue.row is None else 1,
        issue.sheet or "",
        issue.row or 0,
        issue.code,
    )


def build_receipt(outcome: Outcome, processed_at: object, departments: dict | None = None) -> dict:
    """The receipt of one checked file (check_batch / check_file outcome)."""
    receipt = outcome.receipt
    department = receipt.get("department_code")
    names = (departments or {}).get(department, (None, None))
    return {
        "submission_id": receipt["submission_id"],
        "department_code": department,
        "original_name": receipt["original_name"],
        "received_at": _iso(receipt.get("received_at")),
        "processed_at": _iso(processed_at),
        "verdict": outcome.status,
        "rows_accepted": outcome.rows_accepted,
        "rows_rejected": outcome.rows_rejected,
        "rows_pending_explanation": outcome.rows_pending_explanation,
        "issues": [_issue_json(i) for i in sorted(outcome.issues, key=_order)],
        "department_name_zh": names[0],
        "department_name_en": names[1],
        "rows_total": outcome.rows_total,
        "rows_skipped": len(outcome.skipped_rows),
        "received_at_source": receipt.get("received_at_source") or "observed",
    }


def needs_page(receipt: dict) -> bool:
    """Whether the pipeline writes the receipt's HTML page: not for a migrated file that loaded cleanly."""
    return receipt.get("received_at_source") != "backfill" or receipt["verdict"] != "accepted"


# ------------------------------------------------------------------------------------------- HTML

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei","PingFang SC",sans-serif;margin:24px;color:#1a1a1a;
line-height:1.5;max-width:1100px}h1{font-size:20px;margin:0 0 4px}.en{color:#555}.verdict{display:inline-block;
color:#fff;border-radius:12px;padding:2px 12px;font-weight:bold}table{border-collapse:collapse;margin:10px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eef1f5}
td.num{text-align:right}.todo{background:#f6f8fa;border-left:4px solid #123;padding:8px 12px}
.error{color:#D55E00;font-weight:bold}.warning{color:#8a5a00;font-weight:bold}.explain{color:#7a3b69;font-weight:bold}
@media print{body{margin:0}}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _kind(issue: dict) -> str:
    if issue["severity"] == "error":
        return '<span class="error">拒收 rejected</span>'
    if issue["needs_explanation"]:
        if issue.get("explanation"):
            return '<span class="explain">已说明 explained</span>'
        return '<span class="explain">待说明 needs explanation</span>'
    return '<span class="warning">警告 warning</span>'


def render_receipt_html(receipt: dict) -> str:
    zh, en, color = VERDICTS[receipt["verdict"]]
    todo_zh, todo_en = WHAT_TO_DO[receipt["verdict"]]
    dept = receipt["department_name_zh"] or ""
    dept_en = receipt["department_name_en"] or ""
    rows = []
    for index, issue in enumerate(receipt["issues"]):
        column = DISPLAY.get(issue["column"] or "", issue["column"] or "")
        where = (
            "整个文件 whole file" if issue["row"] is None else f"{_e(issue['sheet'] or '')} {issue['row']}"
        )
        explanation = (
            f"<br><b>说明 explanation:</b> {_e(issue['explanation'])}" if issue.get("explanation") else ""
        )
        rows.append(
            f"<tr data-reason='{_e(issue['reason'])}'><td class='num'>{index}</td><td>{_kind(issue)}</td>"
            f"<td>{where}</td><td>{_e(column)}</td><td>{_e(issue['value'])}</td>"
            f"<td>{_e(issue['message_zh'])}<br><span class='en'>{_e(issue['message_en'])}</span>{explanation}</td>"
            f"<td>{_e(issue['reason'])}</td></tr>"
        )
    table = (
        "<table><tr><th>#</th><th>类别 Kind</th><th>行 Row</th><th>列 Column</th><th>值 Value</th>"
        f"<th>问题与修改方法 What is wrong and what to do</th><th>代码 Code</th></tr>{''.join(rows)}</table>"
        if rows
        else "<p>没有问题 · no problems found</p>"
    )
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>报送回执 Receipt {_e(receipt['original_name'])}</title><style>{CSS}</style></head><body>"
        f"<h1>报送回执 <span class='en'>Submission receipt</span></h1>"
        f"<p><span class='verdict' style='background:{color}' data-verdict='{_e(receipt['verdict'])}'>"
        f"{_e(zh)} · {_e(en)}</span></p>"
        "<table>"
        f"<tr><th>文件 File</th><td>{_e(receipt['original_name'])}</td></tr>"
        f"<tr><th>报送部门 Department</th><td>{_e(dept)} {_e(dept_en)} ({_e(receipt['department_code'])})</td></tr>"
        f"<tr><th>接收时间 Received</th><td>{_e(receipt['received_at'])}</td></tr>"
        f"<tr><th>处理时间 Processed</th><td>{_e(receipt['processed_at'])}</td></tr>"
        f"<tr><th>报送编号 Submission id</th><td>{_e(receipt['submission_id'])}</td></tr>"
        f"<tr><th>已接收行 Rows accepted</th><td class='num' id='rows-accepted'>{receipt['rows_accepted']}</td></tr>"
        f"<tr><th>待说明行 Rows awaiting an explanation</th><td class='num' id='rows-pending'>"
        f"{receipt['rows_pending_explanation']}</td></tr>"
        f"<tr><th>拒收行 Rows rejected</th><td class='num' id='rows-rejected'>{receipt['rows_rejected']}</td></tr>"
        "</table>"
        f"<div class='todo'><b>下一步 What to do:</b> {_e(todo_zh)}<br><span class='en'>{_e(todo_en)}</span></div>"
        f"<h2>问题清单 <span class='en'>Problems ({len(receipt['issues'])})</span></h2>{table}"
        "<p class='en'>报送规范 Submission contract: docs/submissions.md</p></body></html>"
    )


# ---------------------------------------------------------------------------------------- writing

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def receipt_paths(out_dir: Path, department_code: str | None, submission_id: str) -> tuple[Path, Path]:
    """<out>/<department_code>/<submission_id>.json|.html (names made safe: they come from folder names)."""
    folder = out_dir / (_SAFE.sub("_", department_code) if department_code else "_unassigned")
    name = _SAFE.sub("_", submission_id)
    return folder / f"{name}.json", folder / f"{name}.html"


def _atomic_write(path: Path, text: str) -> None:
    """The file's folder must exist (write_receipts makes each folder once)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # department data: owner only
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_receipts(
    out_dir: Path, outcomes: Iterable[Outcome], processed_at: object, departments: dict | None = None
) -> list[dict]:
    """One JSON receipt per outcome, and its HTML page where `needs_page`; returns the receipts (as
    written to the JSON files).

    The JSON is compact (an indented dump goes through the json module's pure-Python encoder: ~4 s of a
    province's 61.6k receipts), and each department's folder is made once, not checked for every file."""
    written = []
    folders: set[Path] = set()
    for outcome in outcomes:
        receipt = build_receipt(outcome, processed_at, departments)
        department = receipt["department_code"] if receipt["department_code"] in (departments or {}) else None
        json_path, html_path = receipt_paths(out_dir, department, receipt["submission_id"])
        if json_path.parent not in folders:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            folders.add(json_path.parent)
        _atomic_write(json_path, json.dumps(receipt, ensure_ascii=False, separators=(",", ":")))
        if needs_page(receipt):
            _atomic_write(html_path, render_receipt_html(receipt))
        written.append(receipt)
    return written


def render_receipt_file(out_dir: Path, submission_id: str) -> Path | None:
    """Writes the HTML page of a receipt from its JSON (any receipt, also one the pipeline wrote no page
    for) and returns the page's path; None when no receipt has that submission id."""
    name = _SAFE.sub("_", submission_id)
    found = sorted(out_dir.glob(f"*/{name}.json")) if out_dir.is_dir() else []
    if not found:
        return None
    receipt = json.loads(found[0].read_text(encoding="utf-8"))
    page = found[0].with_suffix(".html")
    _atomic_write(page, render_receipt_html(receipt))
    return page


def department_names(catalog) -> dict[str, tuple[str, str]]:
    frame = catalog.departments
    return {
        code: (zh, en)
        for code, zh, en in zip(frame["department_code"], frame["name_zh"], frame["name_en"], strict=True)
    }
