"""Checks on what a refresh hands to people: the report, the exports and the published snapshot agree
with the marts they were built from. Each function returns a list of problems (empty: all good) and the
counts it compared, for the asset checks in pipelines/defs/report and pipelines/defs/publish."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb

from .exports import EXPORTED_MARTS

csv.field_size_limit(1 << 30)  # a note may be long; the count is what matters here


def _count(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    return con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]


def verify_exports(con: duckdb.DuckDBPyConnection, out_dir: Path) -> tuple[list[str], dict]:
    """Every exported mart has its CSV with exactly the mart's rows, and the workbook's contents sheet
    states the same counts."""
    problems, counts = [], {}
    for mart in EXPORTED_MARTS:
        expected = _count(con, "marts", mart)
        path = out_dir / f"{mart}.csv"
        if not path.exists():
            problems.append(f"{path.name} is missing (marts.{mart} has {expected} rows)")
            continue
        try:
            rows = _csv_rows(con, path)
        except (duckdb.Error, csv.Error) as error:
            problems.append(f"{path.name} cannot be read as CSV ({str(error).splitlines()[0]})")
            continue
        counts[mart] = {"mart": expected, "csv": rows}
        if rows != expected:
            problems.append(f"{path.name} has {rows} rows, marts.{mart} has {expected}")
    workbook = out_dir / "marts.xlsx"
    if not workbook.exists():
        problems.append("marts.xlsx is missing")
    else:
        stated = _contents_sheet(workbook)
        for mart, seen in counts.items():
            if mart in stated and stated[mart] != seen["mart"]:
                problems.append(
                    f"marts.xlsx states {stated[mart]} rows for {mart}, the mart has {seen['mart']}"
                )
    return problems, counts


def _csv_rows(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Records in an exported CSV (header excluded; quoted line breaks inside a record), read by DuckDB's
    reader: a province's exports in ~0.2 s where Python's csv module took 1.4 s. DuckDB reads a path as a
    glob pattern: an output folder whose name holds *, ? or [ is counted with the csv module instead."""
    if any(ch in str(path) for ch in "*?[]{}"):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return sum(1 for _ in csv.reader(fh, strict=True)) - 1
    return con.execute(
        """select count(*) from read_csv(?, header = true, all_varchar = true, delim = ',', quote = '"',
           escape = '"', strict_mode = true, max_line_size = 1073741824)  -- a note may be long""",
        [str(path)],
    ).fetchone()[0]


def _contents_sheet(workbook: Path) -> dict:
    """{mart: rows} as the workbook's first sheet (说明) states them.

    openpyxl's read-only reader sizes every sheet when it opens a workbook, and a write-only workbook has no
    <dimension> element, so it read all of marts.xlsx (1-2 s at a province) to look at one small sheet. The
    first sheet is read here directly from the file (the workbook exports.py writes: inline strings and
    numbers); a workbook shaped otherwise is read with openpyxl."""
    import zipfile
    from xml.etree import ElementTree

    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    stated: dict = {}
    try:
        with zipfile.ZipFile(workbook) as archive:
            root = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
        for row in root.iter(f"{ns}row"):
            cells = {}
            for cell in row.iter(f"{ns}c"):
                column = "".join(ch for ch in cell.get("r", "") if ch.isalpha())
                kind, number = cell.get("t"), cell.find(f"{ns}v")
                if kind == "inlineStr":
                    cells[column] = "".join(t.text or "" for t in cell.iter(f"{ns}t"))
                elif kind in (None, "n") and number is not None:
                    cells[column] = float(number.text)
                elif kind is not None:
                    raise ValueError(f"cell type {kind}")
            if row.get("r") != "1" and "A" in cells:
                value = cells.get("B")
                stated[cells["A"]] = int(value) if isinstance(value, float) and value.is_integer() else value
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile, ElementTree.ParseError):
        stated = {}
    if stated:
        return stated
    from openpyxl import load_workbook

    book = load_workbook(workbook, read_only=True)
    try:
        return {row[0]: row[1] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    finally:
        book.close()


def _shown(text: str, tokens: set[str], code: str, name: str | None) -> bool:
    """A code as a whole word (I01 is not found inside I010), or the item's name."""
    return code in tokens or bool(name and name in text)


def verify_report(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> tuple[list[str], dict]:
    """The index names every plan; each plan's page shows every indicator and every project the marts
    hold for that plan (by code or by name)."""
    problems, counts = [], {}
    by_name = {p.name: p for p in paths}
    for path in paths:
        if not path.exists() or path.stat().st_size == 0:
            problems.append(f"{path.name} is missing or empty")
    index = by_name.get("index.html")
    plans = [r[0] for r in con.execute("select plan_id from marts.dim_plans order by plan_id").fetchall()]
    if index is not None and index.exists():
        text = index.read_text(encoding="utf-8")
        problems += [f"index.html does not list plan {p}" for p in plans if p not in text]
    for plan in plans:
        page = by_name.get(f"progress_report_{plan}.html")
        if page is None or not page.exists():
            continue  # plans beyond the detail limit are summarised in the index only
        text = page.read_text(encoding="utf-8")
        tokens = set(re.findall(r"[0-9A-Za-z_]+", text))
        for label, sql in (
            (
                "indicators",
                "select indicator_code, name_zh from marts.fct_indicator_status_latest where plan_id = ?",
            ),
            (
                "projects",
                "select project_code, project_name_zh from marts.fct_project_status where plan_id = ?",
            ),
        ):
            items = con.execute(sql, [plan]).fetchall()
            shown = [i for i in items if _shown(text, tokens, str(i[0]), i[1])]
            counts[f"{plan} {label}"] = {"mart": len(items), "report": len(shown)}
            missing = [i[0] for i in items if i not in shown]
            if missing:
                problems.append(
                    f"{page.name} misses {len(missing)} of {len(items)} {label}: {', '.join(missing[:10])}"
                )
    return problems, counts


def verify_snapshot(working: duckdb.DuckDBPyConnection, published: Path) -> tuple[list[str], dict]:
    """The published copy holds the same tables with the same row counts as the working file."""
    tables = working.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('marts', 'ops', 'raw') and table_type = 'BASE TABLE' order by 1, 2"
    ).fetchall()
    problems, counts = [], {}
    snapshot = duckdb.connect(str(published), read_only=True)
    try:
        for schema, table in tables:
            expected = _count(working, schema, table)
            try:
                seen = _count(snapshot, schema, table)
            except duckdb.Error:
                problems.append(f"{schema}.{table} is missing from the published snapshot")
                continue
            counts[f"{schema}.{table}"] = seen
            if seen != expected:
                problems.append(f"{schema}.{table}: {seen} rows published, {expected} in the working file")
    finally:
        snapshot.close()
    return problems, counts
