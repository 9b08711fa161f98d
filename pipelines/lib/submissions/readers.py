"""Read one received file into canonical rows, or say exactly why it cannot be read.

CSV: BOM -> strict UTF-8 -> strict GB18030 (never errors="ignore"), garbled text detected.
XLSX: safety checks on the zip before parsing (entry count, uncompressed size, ratio), disguised
and encrypted files told apart, sheets found by name (hidden sheets ignored), header row found
below any title rows, merged cells filled as Excel shows them, formulas without a cached value
reported (never read as 0), blank rows dropped.

The output keeps every cell as typed in the file (str/int/float/datetime); values are parsed and
validated later, so the department's own text can be quoted back in messages.
"""

from __future__ import annotations

import contextlib
import csv
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .reasons import DISPLAY, Bilingual, Issue
from .values import normalize_text

INDICATOR = "indicator_data"
PROGRESS = "project_progress"
KINDS = (INDICATOR, PROGRESS)

SHEET_NAMES = {INDICATOR: ("指标数据", "indicator_data"), PROGRESS: ("项目进度", "project_progress")}
INSTRUCTIONS_SHEET = "填写说明"  # the template's instructions sheet (templates.py): never data

# canonical column -> accepted headings (compared after header_key())
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    INDICATOR: {
        "indicator_code": ("指标编号", "指标代码", "目标编号", "indicator_code", "code"),
        "indicator_name": ("指标名称", "目标名称", "indicator_name", "name"),
        "period": ("统计期", "统计期间", "报告期", "period"),
        "value_type": ("数值类型", "value_type"),
        "value": ("数值", "指标值", "value"),
        "unit": ("单位", "计量单位", "unit"),
        "note": ("备注", "note", "notes", "remark", "remarks"),
        # the written explanation a soft check (核实性审核) asks for (docs/submissions.md)
        "explanation": ("说明", "情况说明", "explanation"),
    },
    PROGRESS: {
        "project_code": ("项目编号", "项目代码", "project_code"),
        "project_name": ("项目名称", "project_name"),
        "milestone": ("里程碑", "里程碑节点", "milestone", "milestone_code"),
        "report_date": ("报告日期", "填报日期", "report_date"),
        "completed_on": ("完成日期", "completed_on", "completion_date"),
        "percent_complete": ("形象进度", "形象进度%", "percent_complete", "progress_percent"),
        "investment_to_date": ("累计完成投资（万元）", "累计完成投资", "investment_to_date"),
        "note": ("备注", "说明", "note", "notes", "remark", "remarks"),
    },
}
# The headings a template prints (docs/submissions.md): the first accepted heading of each column in
# Chinese; the canonical column names are the English headings.
HEADINGS_ZH: dict[str, list[str]] = {
    kind: [aliases[0] for aliases in cols.values()] for kind, cols in COLUMNS.items()
}
HEADINGS_EN: dict[str, list[str]] = {kind: list(cols) for kind, cols in COLUMNS.items()}
# Columns a template carries for reference only (baseline, target, last accepted value…): their heading
# ends in （参考）/(reference); readers skip them without a warning.
REFERENCE_SUFFIXES = ("(参考)", "(reference)")  # after NFKC: （参考） is (参考)


def is_reference_heading(value: object) -> bool:
    text = re.sub(r"\s+", "", normalize_text(value) or "").lower()
    return text.endswith(REFERENCE_SUFFIXES)


REQUIRED = {
    INDICATOR: ("indicator_code", "period", "value"),
    PROGRESS: ("project_code", "milestone", "report_date"),
}

MAX_COLUMNS = 200
MAX_CELL_LINES = 20  # a cell with more line breaks is an unclosed quote, not a note
# a long note is not an error: the only limit on a cell is the file size limit
csv.field_size_limit(2**31 - 1)
HEADER_SCAN_ROWS = 10
XLSX_MAX_ENTRIES = 1000
XLSX_MAX_UNCOMPRESSED = 100 * 1024 * 1024
XLSX_MAX_RATIO = 100  # per entry, for entries above 1 MiB uncompressed
# openpyxl creates one cell object for every cell of a merged range when it loads a sheet: one
# <mergeCell ref="A1:XFD1048576"/> in a 5 KB file is 17 billion cells. A form's merged titles and groups
# cover a few hundred cells.
XLSX_MAX_MERGED_CELLS = 100_000
_MERGE_REF = re.compile(rb"<(?:[\w.-]+:)?mergeCell\b[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
# openpyxl keeps every cell a sheet's XML holds in memory, formatted empty ones too (~470 bytes and ~11 µs
# each, measured): 100 MiB of XML can hold 5.8 million cells, 2.7 GB and a minute of reading. A submission
# is at most a few thousand rows of ~20 columns; the cap leaves room for a large formatted blank area.
XLSX_MAX_CELLS = 500_000
# and a row element each (~1 KB): a million formatted empty rows, 2.7 MB zipped, held 1.1 GB
XLSX_MAX_ROWS = 200_000
_ROW_TAG = re.compile(rb"<(?:[\w.-]+:)?row[\s/>]")
_CELL_TAG = re.compile(rb"<(?:[\w.-]+:)?c[\s/>]")  # <c r="A1" ...>, <c/>, <x:c ...>; not <col>, <cfRule>
# a formula, as Excel writes it (<f>) or as the Open XML SDK and other .NET writers often do (<x:f>)
_FORMULA_TAG = re.compile(rb"<(?:[\w.-]+:)?f[\s/>]")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def header_key(value: object) -> str:
    text = normalize_text(value) or ""
    text = text.lower().replace("（", "(").replace("）", ")")
    text = re.sub(r"\s+", "", text)
    text = text.strip("*")
    text = re.sub(r"\((必填|选填|required|optional)\)", "", text)
    return re.sub(r"[()（）]", "", text)


_ALIASES: dict[str, dict[str, str]] = {
    kind: {header_key(alias): col for col, aliases in cols.items() for alias in aliases}
    for kind, cols in COLUMNS.items()
}
# number columns whose heading may name a unit, 数值（亿元）: the unit of every cell below it that names none
UNIT_HEADINGS = ("value", "percent_complete", "investment_to_date")
_HEADING_UNIT = re.compile(r"^(?P<heading>.+?)\((?P<unit>[^()]+)\)$")


def heading_with_unit(value: object, kind: str) -> tuple[str, str] | None:
    """'数值（亿元）' -> ('value', '亿元'): a number's heading with a unit in brackets, so the unit is checked
    against the catalog like a 单位 cell rather than the column being taken for an unknown one."""
    text = re.sub(r"\s+", "", normalize_text(value) or "")
    match = _HEADING_UNIT.match(text)
    col = _ALIASES[kind].get(header_key(match["heading"])) if match else None
    return (col, match["unit"]) if col in UNIT_HEADINGS else None


@dataclass
class Sheet:
    kind: str
    name: str | None  # XLSX sheet name; None for CSV
    columns: list[str]  # canonical columns present
    rows: list[dict]  # canonical column -> cell as typed; "_row" = source row number
    formula_cells: list[tuple[int, str]] = field(default_factory=list)  # (row, canonical column)
    units: dict[str, str] = field(default_factory=dict)  # a unit in a number's heading: 数值（亿元）


@dataclass
class ReadResult:
    format: str  # csv | xlsx | unknown
    encoding: str | None = None
    sheets: list[Sheet] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)  # file-level errors and warnings
    date1904: bool = False

    @property
    def rejected(self) -> bool:
        return any(i.is_file_level for i in self.issues)


def read_submission(path: Path, original_name: str) -> ReadResult:
    suffix = Path(original_name).suffix.lower()
    data_head = path.open("rb").read(8)
    if suffix == ".csv":
        if data_head.startswith(b"PK\x03\x04"):
            return _fail(
                "unknown",
                "disguised_file",
                value=Bilingual("一个 Excel 工作簿", "an Excel workbook"),
                expected=suffix,
            )
        if data_head.startswith(OLE2_MAGIC):
            return _fail(
                "unknown",
                "disguised_file",
                value=Bilingual("一个旧版 Excel 文件", "a legacy .xls workbook"),
                expected=suffix,
            )
        return _read_csv(path.read_bytes())
    if suffix == ".xlsx":
        return _read_xlsx(path, suffix)
    return _fail("unknown", "unsupported_format", value=suffix or original_name)


def _fail(fmt: str, code: str, **kw) -> ReadResult:
    return ReadResult(format=fmt, issues=[Issue(code, **kw)])


# --------------------------------------------------------------------------------------------- CSV

_MOJIBAKE_HINTS = None


def _mojibake_hints() -> tuple[str, ...]:
    """How our own headings look after the usual wrong conversions (UTF-8 read as GBK or Latin-1)."""
    global _MOJIBAKE_HINTS
    if _MOJIBAKE_HINTS is None:
        hints = []
        for word in ("指标编号", "统计期", "数值", "项目编号", "里程碑", "报告日期"):
            raw = word.encode("utf-8")
            for enc in ("gbk", "latin-1", "cp1252"):
                with contextlib.suppress(UnicodeDecodeError):
                    hints.append(raw.decode(enc, errors="strict")[:3])
        _MOJIBAKE_HINTS = tuple(h for h in hints if h)
    return _MOJIBAKE_HINTS


def _decode(data: bytes) -> tuple[str | None, str | None]:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            return None, None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        return None, None


def _garbled_sample(text: str) -> str | None:
    head = text[:4000]
    if "\ufffd" in head:
        return head[max(0, head.index("\ufffd") - 5) : head.index("\ufffd") + 5]
    for hint in _mojibake_hints():
        if hint in head:
            return hint
    latin = re.findall(r"[\u00c0-\u00ff][\u0080-\u00ff\u2000-\u203f]", head)
    if len(latin) >= 2 and not re.search(r"[\u4e00-\u9fff]", head):
        return latin[0]
    return None


def _quote_open_at_end(text: str, delimiter: str) -> bool:
    """Whether the file ends inside a quoted cell, read with the lenient reader's own rules: a quote opens a
    cell only at its start, "" inside it is a quote, a lone " closes it (what follows up to the separator is
    kept as text: "十四五"规划 is a cell, not an error)."""
    quoted = False
    at_start = True
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quoted:
            if ch == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 1  # an escaped quote
                else:
                    quoted = False
        elif ch == '"' and at_start:
            quoted = True
        at_start = not quoted and ch in (delimiter, "\n", "\r")
        i += 1
    return quoted


def _read_csv(data: bytes) -> ReadResult:
    if not data.strip():
        return _fail("csv", "empty_file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text": not in the contract
        return _fail("csv", "unsupported_encoding", value="UTF-16")
    if b"\x00" in data:
        return _fail("csv", "binary_content")
    text, encoding = _decode(data)
    if text is None:
        return _fail("csv", "undecodable")
    garbled = _garbled_sample(text)
    if garbled:
        return ReadResult(format="csv", encoding=encoding, issues=[Issue("mojibake", value=garbled)])
    # the separator is judged on the first line that has one: a title row above the headings has none
    lines = [line for line in text.splitlines()[: HEADER_SCAN_ROWS * 3] if line.strip()]
    first_line = next(
        (line for line in lines if any(sep in line for sep in ",;\t")), lines[0] if lines else ""
    )
    if ";" in first_line and "," not in first_line and "\t" not in first_line:
        return ReadResult(
            format="csv",
            encoding=encoding,
            issues=[Issue("wrong_delimiter", value=Bilingual("分号（;）", "semicolons (;)"))],
        )
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    # a row is numbered as Excel and WPS show the file (one record, one row: a note with line breaks in
    # quotes is one row); a quote problem by its line, which is where a text editor finds the quote
    grid: list[tuple[int, list]] = []
    last_line_start = 1
    try:
        line_start = 1
        for record_no, record in enumerate(reader, start=1):
            if len(record) > MAX_COLUMNS:
                return ReadResult(
                    format="csv",
                    encoding=encoding,
                    issues=[Issue("too_many_columns", value=len(record), expected=MAX_COLUMNS)],
                )
            if any(cell.count("\n") > MAX_CELL_LINES for cell in record):
                # a quote never closed swallows the following lines into one cell: say where it opened
                return ReadResult(
                    format="csv", encoding=encoding, issues=[Issue("unbalanced_quote", value=line_start)]
                )
            grid.append((record_no, record))
            last_line_start = line_start
            line_start = reader.line_num + 1
    except csv.Error as exc:
        return ReadResult(format="csv", encoding=encoding, issues=[Issue("malformed_csv", value=str(exc))])
    if grid and text.count('"') % 2 and _quote_open_at_end(text, delimiter):
        # a quote never closed takes every following line into one cell (the lenient reader does not
        # complain): the rows after it would vanish without a word
        return ReadResult(
            format="csv", encoding=encoding, issues=[Issue("unbalanced_quote", value=last_line_start)]
        )
    result = ReadResult(format="csv", encoding=encoding)
    sheet, issues = _grid_to_sheet(grid, None)
    result.issues.extend(issues)
    if sheet:
        result.sheets.append(sheet)
    return result


# -------------------------------------------------------------------------------------------- XLSX


def _is_encrypted_ole(path: Path) -> bool:
    """An OLE2 (compound) file holding an encrypted OOXML package: a password-protected .xlsx. Excel
    writes the directory after the encrypted stream, so its entries lie anywhere in the file: read the
    directory (olefile); if the file is too broken for that, scan all of it for the stream names
    (the file is within the size limit), with an overlap so a name split across chunks is found."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            return bool(ole.exists("EncryptedPackage") or ole.exists("EncryptionInfo"))
    except Exception:  # not a readable compound file: fall back to the byte scan
        pass
    names = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
    tail = b""
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            window = tail + chunk
            if any(name in window for name in names):
                return True
            tail = window[-64:]
    return False


def _sniff_non_zip(path: Path) -> Issue:
    head = path.open("rb").read(65536)
    if head.startswith(OLE2_MAGIC):
        if _is_encrypted_ole(path):
            return Issue("encrypted_workbook")
        return Issue(
            "disguised_file",
            value=Bilingual("一个旧版 Excel 97-2003 文件 (.xls)", "a legacy Excel 97-2003 workbook (.xls)"),
            expected=".xlsx",
        )
    sniff = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if sniff.startswith(b"<") and (b"<html" in sniff or b"<table" in sniff or b"<!doctype" in sniff):
        return Issue("disguised_file", value=Bilingual("一个网页 (HTML)", "an HTML page"), expected=".xlsx")
    if not head:
        return Issue("empty_file")
    return Issue(
        "disguised_file",
        value=Bilingual("无法识别的内容（不是 Excel 工作簿）", "not an Excel workbook"),
        expected=".xlsx",
    )


XML_PROLOGUE_BYTES = 4096  # a DTD sits before the root element, at the start of the part


def _check_zip(path: Path) -> Issue | None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > XLSX_MAX_ENTRIES:
                return Issue(
                    "unsafe_archive",
                    value=Bilingual(
                        f"包含 {len(infos)} 个文件，超过上限 {XLSX_MAX_ENTRIES} 个",
                        f"{len(infos)} entries, above the limit of {XLSX_MAX_ENTRIES}",
                    ),
                )
            total = 0
            for info in infos:
                total += info.file_size
                if info.file_size > 1024 * 1024 and info.file_size > XLSX_MAX_RATIO * max(
                    info.compress_size, 1
                ):
                    return Issue(
                        "unsafe_archive",
                        value=Bilingual(
                            f"其中 {info.filename} 的压缩比超过 {XLSX_MAX_RATIO}:1",
                            f"the compression ratio of {info.filename} is above {XLSX_MAX_RATIO}:1",
                        ),
                    )
                if total > XLSX_MAX_UNCOMPRESSED:
                    return Issue(
                        "unsafe_archive",
                        value=Bilingual(
                            f"解压后超过 {XLSX_MAX_UNCOMPRESSED // (1024 * 1024)} MB",
                            f"more than {XLSX_MAX_UNCOMPRESSED // (1024 * 1024)} MB uncompressed",
                        ),
                    )
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                return Issue(
                    "disguised_file",
                    value=Bilingual(
                        "一个 zip 压缩包而非 Excel 工作簿", "a zip archive, not an Excel workbook"
                    ),
                    expected=".xlsx",
                )
            cells: dict[
                str, int
            ] = {}  # per part: openpyxl loads a sheet from wherever the workbook's links say
            rows: dict[str, int] = {}
            for info in infos:
                if _is_media(info.filename):
                    continue
                # every other part is XML to a reader, whatever its name (xl/sheets/sheet2.XML is a sheet too)
                part = zf.read(info)
                cells[info.filename] = sum(
                    1 for _ in _CELL_TAG.finditer(part)
                )  # no list of a million matches
                rows[info.filename] = sum(1 for _ in _ROW_TAG.finditer(part))
                merged = _merged_cell_count(part)
                if merged > XLSX_MAX_MERGED_CELLS:
                    return Issue(
                        "merged_range_too_large",
                        value=Bilingual(
                            f"其中 {info.filename} 的合并单元格共 {merged} 个，超过上限 "
                            f"{XLSX_MAX_MERGED_CELLS} 个",
                            f"{info.filename} merges {merged} cells, above the limit of "
                            f"{XLSX_MAX_MERGED_CELLS}",
                        ),
                    )
                # Office never writes a DTD into a workbook's XML parts; one there declares entities (an XML
                # bomb or an external entity). Refused whatever XML parser openpyxl happens to use (with lxml
                # installed it neither expands nor reports them, so the parser cannot be the only guard).
                head = part[:XML_PROLOGUE_BYTES]
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    return Issue(
                        "unsafe_archive",
                        value=Bilingual(
                            f"其中 {info.filename} 含有 XML 实体声明（DTD）",
                            f"{info.filename} declares XML entities (a DTD)",
                        ),
                    )
            for counts, limit, zh, en in (
                (cells, XLSX_MAX_CELLS, "个单元格", "cells"),
                (rows, XLSX_MAX_ROWS, "行", "rows"),
            ):
                if sum(counts.values()) > limit:
                    largest = max(counts, key=counts.get)
                    return Issue(
                        "too_many_cells",
                        value=Bilingual(f"{sum(counts.values()):,} {zh}", f"{sum(counts.values()):,} {en}"),
                        expected=Bilingual(f"{limit:,} {zh}", f"{limit:,} {en}"),
                        extra={"where": _sheet_named(zf, largest)},
                    )
    except zipfile.BadZipFile as exc:
        return Issue("unreadable_workbook", value=str(exc))
    return None


_MEDIA = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".emf", ".wmf", ".svg", ".bin", ".wdp")


def _is_media(name: str) -> bool:
    """Pictures and embedded binaries: never parsed by the reader (an SVG picture may carry a DOCTYPE)."""
    return "/media/" in name.lower() or name.lower().endswith(_MEDIA)


def _sheet_named(zf: zipfile.ZipFile, part: str) -> Bilingual:
    """Where in the workbook `part` is, in the words of a message: the sheet's name as Excel shows it (found
    through the workbook and its links), else the part's own name."""
    from defusedxml import ElementTree

    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    try:
        links = {
            link.get("Id"): link.get("Target", "")
            for link in ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        }
        for sheet in ElementTree.fromstring(zf.read("xl/workbook.xml")).iter():
            if sheet.tag.endswith("}sheet") and sheet.get("name"):
                target = links.get(sheet.get(rel_ns), "")
                target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                if posixpath.normpath(target) == part:
                    return Bilingual(f"工作表“{sheet.get('name')}”", f"sheet '{sheet.get('name')}'")
    except Exception:  # a damaged workbook part: name the part instead
        pass
    return Bilingual(f"部件 {part} ", f"part {part}")


def _merged_cell_count(sheet_xml: bytes) -> int:
    """How many cells the sheet's merged ranges cover (a whole row or column counts to the sheet's edge)."""
    from openpyxl.utils.cell import range_boundaries

    total = 0
    for match in _MERGE_REF.finditer(sheet_xml):
        try:
            min_col, min_row, max_col, max_row = range_boundaries(match.group(1).decode("ascii"))
        except (ValueError, TypeError, UnicodeDecodeError):
            continue  # not a range: openpyxl reports the workbook as unreadable
        width = (max_col or 16384) - (min_col or 1) + 1
        height = (max_row or 1048576) - (min_row or 1) + 1
        total += max(width, 1) * max(height, 1)
    return total


def _formula_cells(path: Path, sheet_names: list[str], wb_v) -> dict[str, set[tuple[int, int]]]:
    """Cells holding a formula without a cached value, per sheet (row, column), 1-based. `wb_v`: the
    workbook already loaded with its cached values (loading it again cost a second copy in memory)."""
    import openpyxl

    data = path.read_bytes()  # archive copies have no extension, which openpyxl would refuse by name
    wb_f = openpyxl.load_workbook(io.BytesIO(data), data_only=False, read_only=False)
    out: dict[str, set[tuple[int, int]]] = {}
    for name in sheet_names:
        ws_f, ws_v = wb_f[name], wb_v[name]
        cells = set()
        for cell in ws_f._cells.values():  # the cells the file holds: iter_rows() creates the empty ones
            held = ws_v._cells.get((cell.row, cell.column))  # ws_v.cell() would add an empty cell to wb_v
            if cell.data_type == "f" and (held is None or held.value is None):
                cells.add((cell.row, cell.column))
        out[name] = cells
    return out


def _read_xlsx(path: Path, suffix: str) -> ReadResult:
    if not zipfile.is_zipfile(path):
        return ReadResult(format="xlsx", issues=[_sniff_non_zip(path)])
    problem = _check_zip(path)
    if problem:
        return ReadResult(format="xlsx", issues=[problem])
    import openpyxl  # uses defusedxml when it is installed (it is a dependency)

    try:
        wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), data_only=True, read_only=False)
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        cause = exc
        while cause.__cause__ or cause.__context__:
            cause = cause.__cause__ or cause.__context__
        if type(cause).__module__.startswith("defusedxml"):  # DTD / entity declarations: an XML bomb
            return ReadResult(
                format="xlsx",
                issues=[
                    Issue(
                        "unsafe_archive",
                        value=Bilingual(
                            f"含有 XML 实体声明（{type(cause).__name__}）",
                            f"XML entity declarations ({type(cause).__name__})",
                        ),
                    )
                ],
            )
        return ReadResult(
            format="xlsx",
            issues=[Issue("unreadable_workbook", value=type(exc).__name__ + ": " + str(exc)[:200])],
        )
    result = ReadResult(format="xlsx", date1904=bool(getattr(wb, "epoch", None) and wb.epoch.year == 1904))
    wanted: dict[str, str] = {}
    hidden: list[str] = []
    for ws in wb.worksheets:
        key = header_key(ws.title)
        for kind, names in SHEET_NAMES.items():
            if key in {header_key(n) for n in names}:
                if ws.sheet_state != "visible":
                    hidden.append(ws.title)
                elif kind not in wanted:
                    wanted[kind] = ws.title
    if not wanted:
        if hidden:
            result.issues.append(Issue("sheet_hidden", value="、".join(hidden)))
        else:
            visible = [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]
            result.issues.append(Issue("no_matching_sheet", value="、".join(visible) or "-"))
        return result
    has_formulas = _has_formulas(path)
    formulas = _formula_cells(path, list(wanted.values()), wb) if has_formulas else {}
    no_data = []
    for kind, name in wanted.items():
        widest = _widest_column(wb[name])
        if widest > MAX_COLUMNS:  # as a CSV of that width: read in part it would lose data without a word
            result.issues.append(Issue("too_many_columns", sheet=name, value=widest, expected=MAX_COLUMNS))
            continue
        grid = _sheet_grid(wb[name])
        sheet, issues = _grid_to_sheet(
            grid, name, expected_kind=kind, formula_cells=formulas.get(name, set())
        )
        if sheet:
            result.sheets.append(sheet)
            result.issues.extend(issues)
            result.issues.extend(_hidden_rows(wb[name], sheet))
        elif all(i.code in ("empty_file", "header_only") for i in issues if i.is_file_level):
            no_data.extend(issues)  # a template sheet left empty is fine when another sheet has data
        else:
            result.issues.extend(issues)
    # a data sheet under another name (e.g. 指标数据 renamed Sheet1) is never read: say so
    visible = [ws for ws in wb.worksheets if ws.sheet_state == "visible"]
    others = [ws for ws in visible if ws.title not in wanted.values() and ws.title not in hidden]
    missing = [kind for kind in SHEET_NAMES if kind not in wanted]
    if not result.sheets and not result.rejected:
        if missing and any(header_key(ws.title) != header_key(INSTRUCTIONS_SHEET) for ws in others):
            found = "、".join(ws.title for ws in visible)
            for kind in missing:
                result.issues.append(Issue("sheet_not_found", value=found, expected=SHEET_NAMES[kind][0]))
        result.issues.extend(i for i in no_data if i.code == "header_only")
        if not result.rejected:
            result.issues.append(Issue("empty_file"))
    elif result.sheets and missing:
        for ws in others:
            for kind in missing:
                found_header = _detect_header(_sheet_grid(ws), kind)
                if found_header and found_header[2] == len(REQUIRED[kind]):
                    result.issues.append(
                        Issue("sheet_not_read", value=ws.title, expected=SHEET_NAMES[kind][0])
                    )
    return result


def _hidden_rows(ws, sheet: Sheet) -> list[Issue]:
    """A warning naming the data rows hidden (or filtered out) in Excel: they are read like the others, and
    whoever sent the file may not know they are there."""
    dimensions = ws.row_dimensions
    hidden = [
        row["_row"] for row in sheet.rows if row["_row"] in dimensions and dimensions[row["_row"]].hidden
    ]
    if not hidden:
        return []
    more = " …" if len(hidden) > 20 else ""
    rows = [str(r) for r in hidden[:20]]
    return [
        Issue(
            "hidden_rows", sheet=sheet.name, value=Bilingual("、".join(rows) + more, ", ".join(rows) + more)
        )
    ]


def _has_formulas(path: Path) -> bool:
    """Whether any sheet, wherever the workbook keeps it, holds a formula (a chart's series references, <c:f>,
    are not a sheet's: a sheet part has sheetData)."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not _is_media(info.filename):
                with zf.open(info) as fh:
                    chunk = fh.read()
                if b"sheetData" in chunk and _FORMULA_TAG.search(chunk):
                    return True
    return False


def _is_percent(number_format: str | None) -> bool:
    """A cell format that shows the value times 100 with a % sign (0%, 0.0%): a % that is not quoted text
    ("0\"%\"") or an escaped character, which Excel shows as it is without scaling."""
    if not number_format or "%" not in number_format:
        return False
    return "%" in re.sub(r'"[^"]*"|\\.', "", number_format)


def _as_shown_percent(value: int | float) -> str:
    """What Excel shows for a percentage cell, as a department would type it in a CSV: 0.061 -> '6.1%'
    (the contract reads a trailing % as 'in per cent', so a CSV and a workbook with the same text agree)."""
    return f"{round(float(value) * 100, 10)!r}%"


def _widest_column(ws) -> int:
    """The rightmost column holding a value (0 for an empty sheet)."""
    if (ws.max_column or 0) <= MAX_COLUMNS:
        return ws.max_column or 0
    return max((c for (_r, c), cell in ws._cells.items() if cell.value is not None), default=0)


def _sheet_grid(ws) -> list[tuple[int, list]]:
    """Cell values row by row, merged ranges filled with their top-left value (as Excel shows them).

    Built from the cells the file holds, up to the last row with a value: openpyxl's iter_rows() creates
    every cell of the rectangle up to the farthest cell, and one value (or one formatted empty cell) at
    XFD1048576 made that 17 billion cells. Rows without a value have no cells."""
    fills: dict[tuple[int, int], object] = {}
    for rng in ws.merged_cells.ranges:
        value = ws.cell(rng.min_row, rng.min_col).value
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                fills[(r, c)] = value
    max_col = min(ws.max_column or 0, MAX_COLUMNS + 1)
    rows: dict[int, list] = {}
    for (r, c), cell in ws._cells.items():  # openpyxl has no public view of them
        if c > max_col:
            continue
        value = fills.get((r, c), cell.value) if fills else cell.value
        if value is None:
            continue
        if isinstance(value, int | float) and not isinstance(value, bool) and _is_percent(cell.number_format):
            value = _as_shown_percent(value)
        rows.setdefault(r, [None] * max_col)[c - 1] = value
    return [(r, rows.get(r, ())) for r in range(1, max(rows, default=0) + 1)]


# ------------------------------------------------------------------------------------ grid -> rows


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _detect_header(grid: list[tuple[int, list]], expected_kind: str | None):
    """The first row (within the first few non-blank rows) whose cells name known columns."""
    best = None
    for index, (_, cells) in enumerate(grid[: HEADER_SCAN_ROWS * 3]):
        if all(_blank(c) for c in cells):
            continue
        keys = [header_key(c) for c in cells]
        kinds = [expected_kind] if expected_kind else list(KINDS)
        for kind in kinds:
            aliases = _ALIASES[kind]
            hits = {aliases[k] for k in keys if k in aliases}
            hits |= {
                unit[0]
                for c, k in zip(cells, keys, strict=True)
                if k not in aliases and (unit := heading_with_unit(c, kind))
            }
            required = sum(1 for col in REQUIRED[kind] if col in hits)
            if required and (best is None or required > best[2]):
                best = (index, kind, required)
        if best and best[2] == len(REQUIRED[best[1]]):
            break
        if index >= HEADER_SCAN_ROWS * 3:
            break
    return best


def _grid_to_sheet(
    grid, sheet_name, expected_kind=None, formula_cells=frozenset()
) -> tuple[Sheet | None, list[Issue]]:
    issues: list[Issue] = []
    while grid and all(_blank(c) for c in grid[-1][1]):
        grid.pop()
    if not grid:
        return None, [Issue("empty_file", sheet=sheet_name)]
    found = _detect_header(grid, expected_kind)
    if found is None:
        first = next(cells for _, cells in grid if not all(_blank(c) for c in cells))
        shown = "、".join(str(normalize_text(c)) for c in first if not _blank(c))[:200]
        return None, [Issue("unrecognised_columns", value=shown or "-", sheet=sheet_name)]
    header_index, kind, _ = found
    _, header_cells = grid[header_index]
    aliases = _ALIASES[kind]
    positions: dict[str, int] = {}
    units: dict[str, str] = {}
    for pos, cell in enumerate(header_cells):
        if _blank(cell):
            continue
        col = aliases.get(header_key(cell))
        with_unit = heading_with_unit(cell, kind) if col is None and not is_reference_heading(cell) else None
        if with_unit:
            col, units[col] = with_unit
        if col is None:
            if not is_reference_heading(cell):
                issues.append(Issue("unknown_column", value=normalize_text(cell), sheet=sheet_name))
            continue
        if col in positions:
            return None, [Issue("duplicate_columns", value=normalize_text(cell), sheet=sheet_name)]
        positions[col] = pos
    missing = [DISPLAY[c] for c in REQUIRED[kind] if c not in positions]
    if missing:
        return None, [Issue("missing_columns", value="、".join(missing), sheet=sheet_name)]
    rows = []
    formula_hits = []
    by_pos = {pos: col for col, pos in positions.items()}
    for row_no, cells in grid[header_index + 1 :]:
        if all(_blank(c) for c in cells):
            continue
        row = {"_row": row_no}
        for col, pos in positions.items():
            value = cells[pos] if pos < len(cells) else None
            row[col] = None if _blank(value) else value
        if sheet_name is None:  # CSV: cells beyond the header mean the row is shifted (an unquoted comma)
            extra = [normalize_text(c) for c in cells[len(header_cells) :] if not _blank(c)]
            if extra:
                row["_extra"] = "、".join(str(c) for c in extra)[:200]
        rows.append(row)
        for r, c in formula_cells:
            if r == row_no and (c - 1) in by_pos:
                formula_hits.append((row_no, by_pos[c - 1]))
    if not rows:
        return None, [Issue("header_only", sheet=sheet_name)]
    return Sheet(
        kind=kind,
        name=sheet_name,
        columns=list(positions),
        rows=rows,
        formula_cells=formula_hits,
        units=units,
    ), issues
