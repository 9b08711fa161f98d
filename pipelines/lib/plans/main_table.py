"""The main-indicator table (主要指标, 专栏1 in the 14th outline) read from extracted text.

Built for the layout of published outlines, not for one file. What PDF text extraction does to such a
table, and how each is handled:

- one row per line (`1 地区生产总值增速（亿元） 4.5 — 7 预期性`), or one cell per line, or columns spaced
  out by `pdftotext -layout`: the rows are read as a stream of cells, a row starting at the next
  sequence number (序号) followed by a name;
- names with spaces and digits inside (`引进世界 500 强企业项目（个）`): a number between two pieces of
  text on the same line belongs to the name;
- header cells split over lines and the header repeated on every page: header lines are recognised by
  their vocabulary and dropped (the first one decides the years and which columns exist);
- category cells (类别) split over rows (`经济` / `发展`) and repeated after a page break;
- merged cells (`完成上` / `级下达` / `任务` printed once for rows 16–18): the phrase is rejoined and the
  rows printed without values take the merged cell's values, with a note to check;
- `[ ]` five-year totals, `>`/`＞`/`≥`/`以上`/`以内`, `—` for none, ranges and `左右` (flagged).

Each row gets a confidence and the reasons a person must look at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text import display_width
from . import review_note
from .outline import CHAPTER, SECTION, Outline, is_footer, normalise

_HEADER_WORDS = [
    "类别",
    "序号",
    "编号",
    "主要指标",
    "指标名称",
    "指标",
    "名称",
    "计量单位",
    "单位",
    r"\d{4}年(?:基期|基数|现状|实际|完成|目标|预期|规划)?值?",
    "规划目标值?",
    "目标值?",
    "预期值",
    "基期值?",
    "现状值?",
    "年均增长率?",
    "年均增速",
    "增长率",
    "五年累计",
    "累计",
    "指标属性",
    "属性",
    "备注",
    r"\(%\)",
    "（%）",
    "%",
    "年均",
    "增长",
    "年",
    "（",
    "）",
    r"\(",
    r"\)",
    "/",
    "／",
    "、",
    r"\[",
    r"\]",
    "【",
    "】",
    "或",
]
# longest first: "年均" must not be read as "年" + a stray "均"
HEADER_WORDS = re.compile("|".join(sorted(_HEADER_WORDS, key=len, reverse=True)))
ATTRIBUTES = {"预期性": "expected", "约束性": "binding", "预期": "expected", "约束": "binding"}
DASHES = {"—", "——", "-", "–", "/", "／", "…", "无", "——/——", "－"}
VALUE = re.compile(
    r"^[\[【(（]?(?:[<>≥≤]=?|不低于|不少于|不高于|不超过|低于|高于|超过)?"
    r"-?\d+(?:\.\d+)?(?:[-~～至]\d+(?:\.\d+)?)?(?:万|亿)?(?:%|‰)?(?:以上|以下|以内|左右|及以上|内)?[\]】)）]?\*?"
    r"(?:[(（]\d{4}年?[)）])?$"  # 2.1(2024年): a value of another year than the column's
)
PHRASE_PATTERNS = [
    # merged "complete the superior government's task" cells, rejoined across line breaks
    r"(?:完成|落实)\s*(?:上\s*级|省\s*市?|市\s*级?|区|国\s*家)?\s*下\s*达\s*(?:的\s*)?(?:目\s*标\s*)?(?:任\s*务|目\s*标|指\s*标)",
    r"(?:控\s*制\s*在|低\s*于|不\s*超\s*过)\s*(?:上\s*级|省|市)\s*下\s*达\s*(?:目\s*标|指\s*标|任\s*务)\s*(?:以\s*内|内)?",
    r"预\s*期\s*性",
    r"约\s*束\s*性",
    r"各\s*年\s*度\s*视\s*情\s*提\s*出",
    r"保\s*持\s*在?\s*合\s*理\s*区\s*间",
    r"与\s*经\s*济\s*增\s*长\s*(?:基\s*本\s*)?同\s*步",
]
UNITS = {
    "%",
    "‰",
    "亿元",
    "万元",
    "元",
    "亿美元",
    "万美元",
    "美元",
    "家",
    "个",
    "座",
    "条",
    "项",
    "人",
    "万人",
    "名",
    "所",
    "处",
    "套",
    "件",
    "张",
    "户",
    "亩",
    "万亩",
    "公顷",
    "吨",
    "万吨",
    "公里",
    "千米",
    "平方米",
    "万平方米",
    "岁",
    "年",
    "天",
    "人次",
    "万人次",
    "个百分点",
    "百分点",
    "吨标准煤",
    "万吨标准煤",
    "微克/立方米",
    "立方米",
    "万立方米",
    "千瓦",
    "万千瓦",
    "兆瓦",
    "辆",
    "床",
    "万元/人",
    "元/人",
    "万元/亩",
    "平方米/人",
}
CATEGORY_EN = {
    "经济发展": "Economic development",
    "创新驱动": "Innovation-driven development",
    "对外开放": "Opening up",
    "改革开放": "Reform and opening up",
    "生态改善": "Ecological improvement",
    "生态环境": "Ecological environment",
    "绿色生态": "Green ecology",
    "绿色低碳": "Green and low-carbon development",
    "资源环境": "Resources and environment",
    "民生保障": "People's wellbeing",
    "民生福祉": "People's wellbeing",
    "社会治理": "Social governance",
    "安全保障": "Security",
    "城市建设": "Urban development",
    "城市品质": "Urban quality",
    "文化建设": "Cultural development",
    "社会文明": "Social civility",
    "产业发展": "Industrial development",
    "区域协调": "Regional coordination",
}
# Indicators that district statistics report every quarter (year to date); everything else is annual.
QUARTERLY_NAMES = ("地区生产总值", "一般公共预算收入", "固定资产投资", "社会消费品零售总额", "进出口")
GROWTH_WORDS = ("增速", "增长率", "年均增长", "增幅")


@dataclass
class TableRow:
    seq: int
    category_zh: str = ""
    name_printed: str = ""
    unit_printed: str = ""
    cells: list[str] = field(default_factory=list)  # the value cells as printed, in column order
    attribute_zh: str = ""
    line_index: int = 0
    merged_from: int | None = None
    reasons: list[str] = field(default_factory=list)


@dataclass
class TableLayout:
    start: int  # first header line
    end: int  # first line after the table
    baseline_year: int | None
    target_year: int | None
    columns: list[str]  # value columns in order: baseline, target, growth
    has_unit_column: bool
    has_attribute_column: bool
    attribute_first: bool = False  # the 属性 column comes before the value columns
    long_range_years: list[int] = field(default_factory=list)  # 2035年 columns beside the target
    title: str = ""
    note: str = ""
    first_line: int = 0  # the title line (专栏1 …) when there is one
    last_line: int = 0  # the line after the table's note


@dataclass
class Token:
    text: str  # as printed (spaces removed)
    norm: str
    line: int
    kind: str  # seq-candidate int / value / attr / unit / text / op


def _is_header_line(line: str) -> bool:
    squashed = re.sub(r"\s+", "", normalise(line))
    return bool(squashed) and not HEADER_WORDS.sub("", squashed)


def _header_window(lines: list[str], index: int) -> str:
    window = []
    for line in lines[index : index + 14]:
        if line.strip() and not _is_header_line(line):
            break
        window.append(line)
    return re.sub(r"\s+", "", normalise("".join(window)))


def locate(outline: Outline) -> TableLayout | None:
    """The first table whose header names indicators, years and a target (or an attribute)."""
    lines = outline.lines
    for index, line in enumerate(lines):
        if not line.strip() or not _is_header_line(line):
            continue
        header = _header_window(lines, index)
        years = [int(y) for y in re.findall(r"(\d{4})年", header)]
        if "指标" not in header or not years or not ("属性" in header or "目标" in header or len(years) >= 2):
            continue
        end_header = index
        while end_header < len(lines) and (
            not lines[end_header].strip() or _is_header_line(lines[end_header])
        ):
            end_header += 1
        end = _table_end(lines, end_header)
        if end - end_header < 2:
            continue
        baseline, target = _years(years, header)
        columns = ["baseline", "target"]
        if baseline and target and baseline > target:  # a table printing the target year first
            columns[0], columns[1] = "target", "baseline"
            baseline, target = target, baseline
        growth = re.search(r"年均|增长|增速|累计", header)
        if growth:
            columns.append("growth")
        # a long-range column (2035年远景) beside the plan's own years: read, kept out of the targets
        long_range = [y for y in dict.fromkeys(years) if target and y > target]
        if long_range:
            printed = list(dict.fromkeys(years))[:2]
            positions = {c: header.find(f"{y}年") for c, y in zip(columns, printed, strict=False)}
            positions.update({f"long_range_{y}": header.find(f"{y}年") for y in long_range})
            if growth:
                positions["growth"] = growth.start()
            columns = sorted(positions, key=positions.get)
        first_year = re.search(r"\d{4}年", header)
        attribute = header.find("属性")
        title, first = _title_before(lines, index)
        note, last = _note_after(lines, end)
        return TableLayout(
            start=index,
            end=end,
            baseline_year=baseline,
            target_year=target,
            columns=columns,
            has_unit_column="单位" in header,
            has_attribute_column="属性" in header,
            attribute_first=bool(first_year) and 0 <= attribute < first_year.start(),
            long_range_years=long_range,
            title=title,
            note=note,
            first_line=first,
            last_line=last,
        )
    return None


def _years(years: list[int], header: str) -> tuple[int | None, int | None]:
    unique = list(dict.fromkeys(years))
    if len(unique) >= 2:
        return unique[0], unique[1]
    year = unique[0]
    if re.search(rf"{year}年(?:目标|预期|规划)", header):
        return year - 5, year
    return year, year + 5


def _title_before(lines: list[str], index: int) -> tuple[str, int]:
    for back in range(index - 1, max(-1, index - 5), -1):
        if lines[back].strip():
            text = re.sub(r"\s+", " ", lines[back].strip())
            if re.match(r"^(专栏|表)", text) or "主要" in text or "指标" in text:
                return text, back
            break
    return "", index


def _table_end(lines: list[str], start: int) -> int:
    for index in range(start, len(lines)):
        stripped = lines[index].strip()
        if not stripped or is_footer(stripped):
            continue
        if (
            re.match(r"^(注|说明|备注|资料来源)\s*[:：\d]", stripped)
            or CHAPTER.match(stripped)
            or SECTION.match(stripped)
        ):
            return index
        if re.match(r"^(专栏|表)\s*\d+", stripped) and index > start:
            return index
        # a paragraph of prose: long, ends a sentence, no value cells
        tokens = stripped.split()
        if (
            len(stripped) >= 26
            and stripped.endswith("。")
            and not any(VALUE.match(normalise(t)) for t in tokens)
        ):
            return index
    return len(lines)


def _note_after(lines: list[str], end: int) -> tuple[str, int]:
    out: list[str] = []
    last = end
    for index in range(end, min(len(lines), end + 20)):
        stripped = lines[index].strip()
        if not stripped:
            continue
        if out and (
            CHAPTER.match(stripped) or SECTION.match(stripped) or re.match(r"^(专栏|表)\s*\d+", stripped)
        ):
            break
        if not out and not re.match(r"^(注|说明|备注)", stripped):
            break
        out.append(stripped)
        last = index + 1
        if stripped.endswith("。") and len(stripped) < 24:
            break
    return re.sub(r"\s+", "", "".join(out)), last


# ------------------------------------------------------------------------------------------ tokens


def _repair(text: str) -> str:
    """Rejoin phrases that a merged cell or a narrow column split over lines (line count kept)."""

    def join(match: re.Match) -> str:
        joined = re.sub(r"\s+", "", match.group(0))
        breaks = match.group(0).count("\n")
        return joined + (" " + "\n" * breaks if breaks else "")

    for pattern in PHRASE_PATTERNS:
        text = re.sub(pattern, join, text)
    # an operator or a bound set apart by spacing: "> 65" -> ">65", "62 以上" -> "62以上"
    text = re.sub(r"(?<![\S])([<>≥≤＞＜])[ \t]+(?=\d)", r"\1", text)
    return re.sub(r"(\d[\d.]*[%％]?)[ \t]+(以上|及以上|以下|以内|左右)(?=\s|$)", r"\1\2", text)


SEQ = re.compile(r"[（(]?(\d{1,3})[）)]?[.、．]?")


def _seq(text: str) -> int | None:
    """A row number as tables print it: 1, 1., 1、, (1)."""
    match = SEQ.fullmatch(normalise(text))
    return int(match.group(1)) if match else None


def _kind(text: str) -> str:
    norm = normalise(text)
    if norm in ATTRIBUTES or re.fullmatch(r"(预期|约束)性?(指标)?", norm):
        return "attr"
    if _seq(norm) is not None and not re.fullmatch(r"\d{1,3}", norm):
        return "int"
    if (
        norm in DASHES
        or VALUE.match(norm)
        or any(re.fullmatch(p, norm) for p in PHRASE_PATTERNS[:2] + PHRASE_PATTERNS[4:])
    ):
        return "int" if re.fullmatch(r"\d{1,3}", norm) else "value"
    if _is_unit(norm) or re.fullmatch(r"[（(][^）)]{1,8}[）)]", norm):
        return "unit"
    return "text"


def _header_blocks(lines: list[str]) -> set[int]:
    """Lines of the table's header blocks (the first one and its repeats after page breaks). A lone
    header word (a `%` unit cell) is a cell, not a header."""
    drop: set[int] = set()
    index = 0
    while index < len(lines):
        if not lines[index].strip() or not _is_header_line(lines[index]):
            index += 1
            continue
        block = [index]
        nxt = index + 1
        while nxt < len(lines) and (not lines[nxt].strip() or _is_header_line(lines[nxt])):
            if lines[nxt].strip():
                block.append(nxt)
            nxt += 1
        text = re.sub(r"\s+", "", "".join(lines[i] for i in block))
        words = set(re.findall(r"类别|序号|指标|名称|属性|\d{4}年|目标|年均|单位", text))
        if len(words) >= 2:
            drop.update(block)
        index = nxt
    return drop


def _is_unit(norm: str) -> bool:
    return (
        norm in UNITS
        or (len(norm) > 1 and norm[0] in "万亿千百" and norm[1:] in UNITS)
        or bool(re.fullmatch(r"[^\d\s/]{1,4}/[^\d\s/]{1,6}", norm))
    )


def tokens(outline: Outline, layout: TableLayout) -> list[Token]:
    lines = outline.lines[layout.start : layout.end]
    drop = _header_blocks(lines)
    region = [
        "" if i in drop or not line.strip() or is_footer(line) else line for i, line in enumerate(lines)
    ]
    out: list[Token] = []
    for offset, line in enumerate(_repair("\n".join(region)).split("\n")):
        for piece in line.split():
            # a row number glued to its name (1.国内生产总值…): two cells
            glued = re.match(r"^(\d{1,3}[.．、])(?=[^\d\s.．、%])", normalise(piece))
            if glued and len(piece) > len(glued.group(1)):
                cut = len(glued.group(1))
                out.append(Token(piece[:cut], normalise(piece[:cut]), layout.start + offset, "int"))
                piece = piece[cut:]
            out.append(Token(piece, normalise(piece), layout.start + offset, _kind(piece)))
    return out


# ------------------------------------------------------------------------------------------ rows


def _is_category(token: Token) -> bool:
    return (
        token.kind == "text"
        and len(token.norm) <= 8
        and not re.search(r"[\d（）()%]", token.norm)
        and not token.norm.endswith(("率", "数", "量", "额", "值", "比", "度"))
    )


def parse_rows(outline: Outline, layout: TableLayout) -> list[TableRow]:
    if _is_column_layout(outline.lines[layout.start : layout.end]):
        rows = _rows_columns(outline, layout)
        _fill_merged(rows, len(layout.columns))
        return rows
    toks = tokens(outline, layout)
    numbered = any(
        t.kind == "int" and _seq(t.norm) == 1 and i + 1 < len(toks) and toks[i + 1].kind == "text"
        for i, t in enumerate(toks)
    )
    rows = _rows_numbered(toks, layout) if numbered else _rows_unnumbered(toks, layout)
    _dash_units(rows, layout)
    _fill_merged(rows, len(layout.columns))
    return rows


def _dash_units(rows: list[TableRow], layout: TableLayout) -> None:
    """A 单位 cell printed as — (a ratio has no unit) is read as the first value cell; with one cell
    more than the header has, it is the unit cell: the values keep their columns."""
    if not layout.has_unit_column:
        return
    for row in rows:
        if (
            not row.unit_printed
            and len(row.cells) == len(layout.columns) + 1
            and normalise(row.cells[0]) in DASHES
        ):
            row.cells.pop(0)
            row.reasons.append(
                review_note("单位栏印为“—”：请填写单位", "the unit cell is printed as —: set the unit")
            )


def _rows_numbered(toks: list[Token], layout: TableLayout) -> list[TableRow]:
    rows: list[TableRow] = []
    pending_category: list[str] = []
    pending_lines: list[int] = []
    category = ""
    category_rows: list[TableRow] = []  # the rows of the current label
    label_row: TableRow | None = None  # the row whose own line carried the last label piece
    category_before_first_row = None
    expect = 1
    index = 0
    current: TableRow | None = None
    while index < len(toks):
        tok = toks[index]
        nxt = toks[index + 1] if index + 1 < len(toks) else None
        if (
            tok.kind == "int"
            and _seq(tok.norm) == expect
            and nxt is not None
            and nxt.kind in ("text", "unit")
        ):
            on_row_line = bool(pending_lines) and set(pending_lines) == {tok.line}
            if pending_category:
                label = re.sub(
                    r"^[一二三四五六七八九十]+[、.．]|^[（(][一二三四五六七八九十]+[）)]",
                    "",
                    "".join(pending_category),
                )
                if (
                    label_row is not None
                    and label_row is (rows[-1] if rows else None)
                    and (category + label in CATEGORY_EN or max(len(category), len(label)) <= 2)
                ):
                    # one label cell split over the lines of its rows (经济 1 … / 发展 2 …): rejoined
                    reason = review_note(
                        f"类别名称印在各行旁（{category} / {label}）：请核对类别",
                        f"category label printed beside its rows ({category} / {label}): check the category",
                    )
                    category += label
                    for row in category_rows:
                        row.category_zh = category
                        row.reasons.append(reason)
                else:
                    category, category_rows, reason = label, [], ""
                pending_category, pending_lines = [], []
                if category_before_first_row is None:
                    category_before_first_row = not rows
            else:
                reason = ""
            current = TableRow(seq=expect, category_zh=category, line_index=tok.line)
            if reason:
                current.reasons.append(reason)
            label_row = current if on_row_line else None
            category_rows.append(current)
            rows.append(current)
            expect += 1
            index = _read_name(toks, index + 1, current, layout)
            continue
        if current is None:
            if _is_category(tok):
                pending_category.append(tok.text)
                pending_lines.append(tok.line)
            index += 1
            continue
        if tok.kind == "attr":
            current.attribute_zh = _attribute(tok.norm)
        elif tok.kind in ("value", "int"):
            current.cells.append(tok.text)
        elif tok.kind == "unit" and not current.unit_printed:
            current.unit_printed = tok.text.strip("（）()")
        elif tok.kind == "text":
            # a 单位 cell printed as — is still in the cells here (_dash_units takes it out)
            dash_unit = (
                layout.has_unit_column
                and not current.unit_printed
                and bool(current.cells)
                and normalise(current.cells[0]) in DASHES
            )
            complete = (bool(current.attribute_zh) and not layout.attribute_first) or len(
                current.cells
            ) - dash_unit >= len(layout.columns)
            if not current.cells and not current.attribute_zh and not _name_closed(current, layout):
                current.name_printed += tok.text
            elif complete and _is_category(tok):
                pending_category.append(tok.text)
                pending_lines.append(tok.line)
            elif not complete:  # words in a value column: a target without a number (保持在合理区间…)
                current.cells.append(tok.text)
            else:  # a name wrapped under its own values (-layout): it belongs to this row
                current.name_printed += tok.text
                current.reasons.append(
                    review_note(
                        "名称续到下一行：请核对名称", "name continued on the next line: check the name"
                    )
                )
        index += 1
    if category_before_first_row is False:  # labels centred in their merged cell, not above the rows
        first = next((r.category_zh for r in rows if r.category_zh), "")
        for row in rows:
            if not row.category_zh:
                row.category_zh = first
            row.reasons.append(
                review_note(
                    "类别名称印在行中间：请核对类别",
                    "category label printed inside its rows: check the category",
                )
            )
    return rows


def _read_name(toks: list[Token], index: int, row: TableRow, layout: TableLayout) -> int:
    """The name (with spaces and inner numbers as printed) and, where the table has one, the unit cell."""
    text = ""
    last_line = None
    while index < len(toks):
        tok = toks[index]
        nxt = toks[index + 1] if index + 1 < len(toks) else None
        bracket = (
            tok.kind == "unit" and tok.norm.startswith(("（", "(")) and text and not layout.has_unit_column
        )
        # a number between two pieces of text on one line is part of the name ("世界 500 强")
        inner = (
            tok.kind in ("int", "value")
            and text
            and re.fullmatch(r"\d+(?:\.\d+)?", tok.norm)
            and nxt is not None
            and nxt.kind == "text"
            and nxt.line == tok.line == last_line
        )
        if tok.kind == "text" or bracket or inner:
            if text:
                text += " " if tok.line == last_line else ""
            text += tok.text
            last_line = tok.line
            index += 1
            if not layout.has_unit_column and _unit_in_brackets(text):
                break  # 粮食产量（万吨） 保持稳定: the unit closes the name, what follows is a cell
            continue
        break
    if layout.has_unit_column and index < len(toks) and toks[index].kind == "unit":
        row.unit_printed = toks[index].text.strip("（）()")
        index += 1
    elif layout.has_unit_column and " " in text and _looks_like_unit(text.rsplit(" ", 1)[1]):
        text, row.unit_printed = text.rsplit(" ", 1)
    row.name_printed = text
    return index


def _unit_in_brackets(name: str) -> bool:
    match = re.search(r"[（(]([^（）()]+)[）)]$", normalise(name))
    return bool(match) and _is_unit(match.group(1).strip())


def _name_closed(row: TableRow, layout: TableLayout) -> bool:
    """The name is complete once its unit is read (the 单位 cell, or `（万吨）` printed after it): a
    text that follows is a value cell (保持稳定, 稳步提高), not more of the name."""
    if layout.has_unit_column:
        return bool(row.unit_printed)
    return _unit_in_brackets(row.name_printed)


def _looks_like_unit(text: str) -> bool:
    norm = normalise(text)
    return _is_unit(norm) or bool(
        re.fullmatch(r"[万亿千百]?[元人户家个座条项名所处套吨亩件张辆床天岁]", norm)
    )


def _rows_unnumbered(toks: list[Token], layout: TableLayout) -> list[TableRow]:
    """Tables without 序号: a row is a name followed by its values, categories are lone short labels."""
    rows: list[TableRow] = []
    by_line: dict[int, list[Token]] = {}
    for tok in toks:
        by_line.setdefault(tok.line, []).append(tok)
    category = ""
    for line, line_toks in sorted(by_line.items()):
        values = [t for t in line_toks if t.kind in ("value", "int")]
        texts = [t for t in line_toks if t.kind in ("text", "unit")]
        attrs = [t for t in line_toks if t.kind == "attr"]
        if not values and not attrs:
            if len(texts) == 1 and _is_category(texts[0]) and rows and not rows[-1].cells:
                rows[-1].name_printed += texts[0].text
            elif all(_is_category(t) for t in texts):
                category = "".join(t.text for t in texts)
            elif rows:
                rows[-1].name_printed += "".join(t.text for t in texts)
            continue
        row = TableRow(seq=len(rows) + 1, category_zh=category, line_index=line)
        row.reasons.append(
            review_note("表中没有序号：请核对分行", "no row numbers (序号) in the table: check the row split")
        )
        first_value = line_toks.index(values[0]) if values else len(line_toks)
        names = [t for t in line_toks[:first_value] if t.kind in ("text", "unit")]
        if names and layout.has_unit_column and _looks_like_unit(names[-1].text) and len(names) > 1:
            row.unit_printed = names.pop().text
        row.name_printed = " ".join(t.text for t in names)
        row.cells = [t.text for t in values]
        row.attribute_zh = _attribute(attrs[0].norm) if attrs else ""
        rows.append(row)
    return rows


# ------------------------------------------------------------------------- pdftotext -layout tables


def _cells(line: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of each cell in display columns (a Chinese character is two columns wide, as
    the layout was drawn); cells are separated by two spaces or more."""
    return [
        (display_width(line[: m.start()]), display_width(line[: m.end()]), m.group(0))
        for m in re.finditer(r"\S+(?: \S+)*", line)
    ]


def _is_column_layout(lines: list[str]) -> bool:
    body = [line for line in lines if line.strip() and not is_footer(line)]
    wide = [line for line in body if len(_cells(line)) >= 4]
    return len(body) >= 4 and len(wide) >= 0.5 * len(body)


def _rows_columns(outline: Outline, layout: TableLayout) -> list[TableRow]:
    """A table whose columns are spaced out (pdftotext -layout): cells are placed by their position, so a
    cell wrapped over two lines (a long name, 完成市下达 / 任务) is rejoined in its column and category
    labels are the cells left of the 序号 column."""
    lines = outline.lines[layout.start : layout.end]
    drop = _header_blocks(lines)
    parsed: list[tuple[int, list[tuple[int, int, str]]]] = []
    for offset, line in enumerate(lines):
        if offset in drop or not line.strip() or is_footer(line) or re.match(r"^\s*(注|说明)", line):
            continue
        parsed.append((layout.start + offset, _cells(line)))
    starts = [
        cells[i][0]
        for _, cells in parsed
        for i in range(len(cells) - 1)
        if _seq(cells[i][2]) is not None and not VALUE.match(normalise(cells[i + 1][2]).replace(" ", ""))
    ]
    if not starts:
        return []
    seq_col = sorted(starts)[len(starts) // 2]
    rows: list[TableRow] = []
    grid: list[list[list]] = []  # per row: [start, end, text] cells right of the sequence number
    label_parts: list[tuple[int, str]] = []  # (line, text) of the category column
    for line, cells in parsed:
        left = [c for c in cells if c[1] <= seq_col]
        seq = next((c for c in cells if abs(c[0] - seq_col) <= 2 and _seq(c[2]) is not None), None)
        for cell in left:
            if seq is None or cell[0] < seq[0]:
                label_parts.append((line, cell[2]))
        right = [list(c) for c in cells if c[0] > (seq[1] if seq else seq_col)]
        if seq is not None:
            rows.append(TableRow(seq=_seq(seq[2]), line_index=line))
            grid.append(right)
            continue
        if not grid:
            continue
        for start, end, text in right:  # a continuation line: each piece joins the cell above it
            target = min(
                grid[-1],
                key=lambda c: (
                    0 if c[0] <= end and start <= c[1] else 1,
                    abs((c[0] + c[1]) / 2 - (start + end) / 2),
                ),
            )
            target[2] += text
            target[1] = max(target[1], end)
    _label_rows(rows, label_parts)
    for row, cells in zip(rows, grid, strict=True):
        texts = [re.sub(r"\s+", " ", c[2]).strip() for c in cells]
        kinds = [_kind(t.replace(" ", "")) for t in texts]
        name_end = next(
            (i for i, k in enumerate(kinds) if i > 0 and k in ("value", "int", "attr")), len(texts)
        )
        name_cells = texts[:name_end]
        if layout.has_unit_column and len(name_cells) > 1 and _looks_like_unit(name_cells[-1]):
            row.unit_printed = name_cells.pop()
        row.name_printed = " ".join(name_cells)
        for text, kind in zip(texts[name_end:], kinds[name_end:], strict=True):
            if kind == "attr":
                row.attribute_zh = _attribute(normalise(text))
            elif kind in ("value", "int") or text.replace(" ", "") in DASHES:
                row.cells.append(text.replace(" ", ""))
            else:
                row.reasons.append(
                    review_note(
                        f"无法识别单元格 {text!r}：请核对该行", f"cell {text!r} not understood: check the row"
                    )
                )
        if any(" " in c for c in name_cells) or len(name_cells) > 1:
            row.reasons.append(
                review_note(
                    "名称由多段拼成：请核对名称", "name assembled from several pieces: check the name"
                )
            )
    return rows


def _label_rows(rows: list[TableRow], parts: list[tuple[int, str]]) -> None:
    """Category labels: pieces on adjacent lines form one label; a label covers the rows from the one
    it starts on to the next label (labels printed at the top of their rows, as most outlines do)."""
    labels: list[tuple[int, str]] = []
    starts: list[int] = []
    for line, text in parts:
        if labels and line - labels[-1][0] <= 1 and not labels[-1][1].endswith(text):
            labels[-1] = (line, labels[-1][1] + text)
        else:
            labels.append((line, text))
            starts.append(line)
    for row in rows:
        label = ""
        for start, (_, text) in zip(starts, labels, strict=True):
            if start <= row.line_index:
                label = text
        row.category_zh = re.sub(r"^[一二三四五六七八九十]+[、.．]", "", label)
        if not label and labels:
            row.category_zh = labels[0][1]
            row.reasons.append(
                review_note(
                    "该行在第一个类别名称之上：请核对类别",
                    "row above the first category label: check the category",
                )
            )


def _attribute(norm: str) -> str:
    return "预期性" if norm.startswith("预期") else "约束性"


def _fill_merged(rows: list[TableRow], width: int) -> None:
    """Rows printed without values share the cells merged across them (e.g. 完成上级下达任务)."""
    for index, row in enumerate(rows):
        if row.cells or index == 0:
            continue
        source = next((r for r in reversed(rows[:index]) if r.cells and r.merged_from is None), None)
        if source is None:
            continue
        row.cells = list(source.cells)
        row.merged_from = source.seq
        row.reasons.append(
            review_note(
                f"未印数值：按与第 {source.seq} 行共用合并单元格处理",
                f"no values printed: merged cell shared with row {source.seq} assumed",
            )
        )
    for row in rows:
        if len(row.cells) != width and row.merged_from is None:
            row.reasons.append(
                review_note(
                    f"数值单元格 {len(row.cells)} 个，表头为 {width} 列：请核对各列",
                    f"{len(row.cells)} value cells where the header has {width}: check the columns",
                )
            )


# ------------------------------------------------------------------------------------------ meaning


@dataclass
class Cell:
    printed: str
    value: float | None = None
    operator: str = ""
    bracketed: bool = False
    assigned: bool = False
    year: int | None = None  # printed beside the value: 2.1(2024年)
    magnitude: str = ""  # 万 or 亿 printed with the number: 7.5万
    reasons: list[str] = field(default_factory=list)


OPERATOR_WORDS = [
    (r"^(?:>=|≥|不低于|不少于)", ">="),
    (r"^(?:<=|≤|不高于|不超过|控制在)", "<="),  # 控制在5.5以内: at most 5.5
    (r"^(?:>|超过|高于)", ">"),
    (r"^(?:<|低于)", "<"),
]


def parse_cell(printed: str) -> Cell:
    cell = Cell(printed)
    norm = normalise(printed).strip()
    if not norm or norm in DASHES:
        return cell
    if "下达" in norm:
        cell.assigned = True
        return cell
    year = re.search(r"[(（](\d{4})年?[)）]$", norm)
    if year and year.start() > 0:
        cell.year = int(year.group(1))
        norm = norm[: year.start()]
    if norm[0] in "[【" and norm[-1] in "]】":
        cell.bracketed = True
        norm = norm[1:-1]
    norm = norm.strip("()（）")
    if norm.endswith("*"):  # 60.6*: an estimate, as the table's note says
        norm = norm[:-1]
        cell.reasons.append(
            review_note(
                f"{printed}：带 * 号（通常为预计数）：请看表注",
                f"{printed}: marked * (usually an estimate): check the table's note",
            )
        )
    for pattern, operator in OPERATOR_WORDS:
        match = re.match(pattern, norm)
        if match:
            cell.operator = operator
            norm = norm[match.end() :]
            break
    suffix = re.search(r"(以上|及以上|以下|以内|内|左右)$", norm)
    if suffix:
        norm = norm[: suffix.start()]
        word = suffix.group(1)
        cell.operator = cell.operator or {"以上": ">=", "及以上": ">=", "左右": ">="}.get(word, "<=")
        if word == "左右":
            cell.reasons.append(
                review_note(
                    f"{printed}：“左右”为约数，按“不低于”读取",
                    f"{printed}: 左右 is approximate, read as 'at least'",
                )
            )
    norm = norm.rstrip("%‰")
    if norm.endswith(("万", "亿")):
        cell.magnitude, norm = norm[-1], norm[:-1]
    ranged = re.fullmatch(r"(-?\d+(?:\.\d+)?)[-~～至](\d+(?:\.\d+)?)", norm)
    if ranged:
        cell.value = float(ranged.group(1))
        cell.operator = cell.operator or ">="
        cell.reasons.append(
            review_note(f"{printed}：为区间，取下限", f"{printed}: a range, the lower bound is taken")
        )
        return cell
    try:
        cell.value = float(norm)
    except ValueError:
        cell.reasons.append(review_note(f"{printed}：不是数字", f"{printed}: not a number"))
    return cell


def _name_and_unit(row: TableRow) -> tuple[str, str]:
    printed = row.name_printed.strip()
    match = re.search(r"[（(]([^（）()]+)[）)]\s*$", printed)
    unit = row.unit_printed or (match.group(1).strip() if match else "")
    name = printed[: match.start()] if match and not row.unit_printed else printed
    return re.sub(r"\s+", "", name), unit


def _all_estimates(note: str) -> bool:
    """The note says every baseline is an estimate (2025年数据为预计数), not one indicator's
    (①常住人口城镇化率2025年为预计数)."""
    for clause in re.split(r"[；;。]", note):
        clause = re.sub(r"^(?:注[:：]?)?(?:[①-⑳]|[一二三四五六七八九十]是|\d+[.、．])?", "", clause)
        if re.match(r"(?:基期|\d{4}年)(?:数据|数值)?(?:均)?为预计数", clause):
            return True
    return False


def _estimated(note: str, name: str) -> bool:
    """The table note says a baseline is an estimate (XX指标2020年完成为预计数)."""
    for clause in re.split(r"[；;。，,]", note):
        if "预计" in clause and (name in clause or name[:6] in clause):
            return True
    return False


def interpret(rows: list[TableRow], layout: TableLayout, plan_id: str) -> list[dict]:
    """One seed-shaped row per table row, with confidence and the reasons a person must look."""
    out = []
    all_estimates = _all_estimates(layout.note)
    for row in rows:
        reasons = list(row.reasons)
        name_zh, unit_printed = _name_and_unit(row)
        marks = re.findall(r"[①-⑳]", name_zh)
        if marks:  # 森林覆盖率②: a footnote mark, not part of the name
            name_zh = re.sub(r"[①-⑳]", "", name_zh)
            reasons.append(
                review_note(
                    f"名称后有注释号 {''.join(marks)}：请看表注",
                    f"footnote {''.join(marks)} after the name: read the table's note",
                )
            )
        cells = dict(zip(layout.columns, row.cells, strict=False))
        base = parse_cell(cells.get("baseline", ""))
        target = parse_cell(cells.get("target", ""))
        growth = parse_cell(cells.get("growth", "")) if "growth" in layout.columns else Cell("")
        for cell in (base, target, growth):
            reasons.extend(cell.reasons)
        baseline_year, target_year = layout.baseline_year, layout.target_year
        if base.year and base.year != baseline_year:
            baseline_year = base.year
            reasons.append(
                review_note(
                    f"{base.printed}：基期数为 {base.year} 年而非 {layout.baseline_year} 年：请核对",
                    f"{base.printed}: the baseline is of {base.year}, not {layout.baseline_year}: check",
                )
            )
        if target.year and target.year != target_year:
            target_year = target.year
            reasons.append(
                review_note(
                    f"{target.printed}：目标为 {target.year} 年而非 {layout.target_year} 年：请核对",
                    f"{target.printed}: the target is for {target.year}, not {layout.target_year}: check",
                )
            )
        notes = [
            f"{column[len('long_range_') :]}年远景 {''.join(printed.split())} (long-range, not monitored)"
            for column, printed in cells.items()
            if column.startswith("long_range_") and normalise(printed) not in DASHES
        ]
        for cell in (base, target):  # 7.5万 in a 元 row: 75000
            factor = {"万": 1e4, "亿": 1e8}.get(cell.magnitude)
            if factor and cell.value is not None and not unit_printed.startswith(cell.magnitude):
                cell.value = round(cell.value * factor, 6)
                reasons.append(
                    review_note(
                        f"{cell.printed}：已换算“{cell.magnitude}”，为 {cell.value:g} {unit_printed}：请核对",
                        f"{cell.printed}: {cell.magnitude} converted, {cell.value:g} {unit_printed}: check",
                    )
                )
        assigned = target.assigned or base.assigned
        if target.value is None and growth.bracketed and growth.value is not None:
            # a five-year total printed in the 年均/累计 column ([13.5]): that is the target
            target = Cell(growth.printed, growth.value, growth.operator or ">=", True)
            growth = Cell("")
            reasons.append(
                review_note(
                    "目标取自年均/累计栏印的五年累计数：请核对",
                    "the target is the five-year total printed in the growth/cumulative column: check",
                )
            )
        elif growth.operator and growth.value is not None and target.value is None:
            reasons.append(
                review_note(
                    f"增长目标印为 {growth.printed}：按年均增速 {growth.value:g} 读取",
                    f"growth target printed as {growth.printed}: read as an annual rate of {growth.value:g}",
                )
            )
        basis = "value"
        operator = target.operator
        if assigned:
            basis, operator = "superior_assigned", ""
        elif target.value is None and growth.value is not None:
            basis, operator = "growth_rate", ""
        elif target.value is None:
            reasons.append(
                review_note(
                    "未印目标值：请填写目标或删除该行",
                    "no target value printed: set the target or drop the row",
                )
            )
        elif not operator:
            if base.value is not None and abs(base.value - target.value) < 1e-9:
                operator = "="
            elif base.value is not None and target.value < base.value and not target.bracketed:
                operator = "<="
                reasons.append(
                    review_note(
                        "目标低于基期数：按“不高于”读取（越低越好）",
                        "target below the baseline: read as 'at most' (lower is better)",
                    )
                )
            else:
                operator = ">="
        unit = unit_printed
        is_rate = any(w in name_zh for w in GROWTH_WORDS)
        if basis == "growth_rate" and unit != "%":
            if is_rate:
                reasons.append(
                    review_note(
                        f"所印单位为 {unit or '空'}，但目标是增速：数值按 % 计",
                        f"the printed unit is {unit or 'missing'} but the target is a growth rate: values in %",
                    )
                )
            unit = "%"
        if not unit:
            reasons.append(review_note("未印单位：请填写单位", "no unit printed: set the unit"))
        direction = "lower_is_better" if operator in ("<", "<=") else "higher_is_better"
        attribute = ATTRIBUTES.get(row.attribute_zh, "")
        if not attribute:
            reasons.append(
                review_note(
                    "未印属性（预期性/约束性）：请填写", "no attribute (预期性/约束性) printed: set it"
                )
            )
        category_en = CATEGORY_EN.get(row.category_zh, "")
        if row.category_zh and not category_en:
            reasons.append(review_note("需要类别英文名", "English category name needed"))
        quarterly = name_zh.startswith(QUARTERLY_NAMES)
        value_min, value_max = _range(unit, basis, name_zh)
        confidence = "high" if not reasons else "low" if any(_serious(r) for r in reasons) else "medium"
        out.append(
            {
                "plan_id": plan_id,
                "indicator_code": f"I{row.seq:02d}",
                "seq": row.seq,
                "category_zh": row.category_zh,
                "category_en": category_en,
                "name_printed": row.name_printed,
                "name_zh": name_zh,
                "name_en": "",
                "unit_printed": unit_printed,
                "unit": unit,
                "baseline_year": baseline_year,
                "baseline_text": re.sub(r"\s+", "", base.printed) or "—",
                "baseline_value": base.value,
                "target_year": target_year,
                "target_text": re.sub(r"\s+", "", target.printed) or "—",
                "target_operator": operator,
                "target_value": target.value if not assigned else None,
                "annual_growth_text": re.sub(r"\s+", "", growth.printed)
                or ("—" if "growth" in layout.columns else ""),
                "annual_growth_rate": growth.value,
                "attribute_zh": row.attribute_zh,
                "attribute": attribute,
                "target_basis": basis,
                "is_cumulative": base.bracketed or target.bracketed,
                "is_superior_assigned": assigned,
                "is_baseline_estimate": all_estimates or _estimated(layout.note, name_zh),
                "direction": direction,
                "reporting_frequency": "quarterly" if quarterly else "annual",
                "value_min": value_min,
                "value_max": value_max,
                "owner_department_code": "",
                "notes": "; ".join(notes),
                "confidence": confidence,
                "review": "; ".join(dict.fromkeys(reasons)),
            }
        )
    return out


def _serious(reason: str) -> bool:
    return any(
        w in reason for w in ("no target", "not a number", "value cells where", "no attribute", "row split")
    )


def _range(unit: str, basis: str, name: str) -> tuple[float | None, float | None]:
    """Plausible bounds for a reported value (the reviewer may narrow them)."""
    if basis == "growth_rate":
        return -100.0, 200.0
    if unit == "%" and any(w in name for w in ("降低", "降幅", "下降", "减少", "增速", "增长")):
        return -100.0, 100.0
    if unit == "%":
        return 0.0, 100.0
    return 0.0, None
