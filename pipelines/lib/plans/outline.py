"""A plan outline as published: text extracted from the PDF, read into what the catalog tools need.

pdftotext (and the copy-paste of a PDF) breaks lines mid-sentence, leaves page numbers (`- 18 -`) between
two halves of a word, spaces digits off from the characters around them (`到 2025 年`) and mixes
full-width and ASCII digits and signs. Everything here works on two strings of the same length:

- `squashed`: the original characters without whitespace and page footers. A quote is a substring of
  it; "found verbatim in the source" means found here (line breaks fall mid-sentence, so whitespace
  cannot be part of the comparison).
- `norm`: `squashed` with full-width digits, letters and signs mapped to ASCII one for one, so a regex
  finds `2.28％` as `2.28%` and the same slice of `squashed` is the quote as printed.

Headings (篇/章/节, or 一、/（一） where an outline numbers them that way, and 专栏 boxes) are located
in `squashed` so each statement knows its chapter and section.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path

CN_DIGITS = "零〇一二两三四五六七八九十百千"
FOOTER = re.compile(
    r"^\s*(?:[-—－–]\s*\d{1,3}\s*[-—－–]|第\s*\d{1,3}\s*页(?:\s*[,，/／]?\s*共\s*\d+\s*页)?|\d{1,3}\s*/\s*\d{1,3})\s*$"
)
CHAPTER = re.compile(rf"^\s*第[{CN_DIGITS}\d]+章\s*(\S.{{0,40}})$")
PART = re.compile(rf"^\s*第[{CN_DIGITS}\d]+篇\s*(\S.{{0,40}})$")
SECTION = re.compile(rf"^\s*第[{CN_DIGITS}\d]+节\s*(\S.{{0,40}})$")
BOX = re.compile(r"^\s*(?:专栏|表)\s*(\d+|[一二三四五六七八九十]+)\s*[:：.、]?\s*(\S.{0,60})?$")
LIST_CHAPTER = re.compile(rf"^\s*[{CN_DIGITS}]+、\s*(\S.{{0,30}})$")
LIST_SECTION = re.compile(rf"^\s*[（(][{CN_DIGITS}]+[）)]\s*(\S.{{0,30}})$")

_FULLWIDTH = {chr(c): chr(c - 0xFEE0) for c in range(0xFF10, 0xFF1A)}  # ０-９
_FULLWIDTH.update({chr(c): chr(c - 0xFEE0) for c in range(0xFF21, 0xFF3B)})  # Ａ-Ｚ
_FULLWIDTH.update({chr(c): chr(c - 0xFEE0) for c in range(0xFF41, 0xFF5B)})  # ａ-ｚ
_FULLWIDTH.update(
    {
        "％": "%",
        "＞": ">",
        "＜": "<",
        "＝": "=",
        "．": ".",
        "＋": "+",
        "－": "-",
        "［": "[",
        "］": "]",
        "～": "~",
    }
)
NORMALISE = str.maketrans(_FULLWIDTH)


def normalise(text: str) -> str:
    """Full-width digits, letters and signs to ASCII, one character for one (positions are kept)."""
    return text.translate(NORMALISE)


def is_footer(line: str) -> bool:
    return bool(FOOTER.match(line))


def squash(text: str) -> str:
    """The text without page footers and whitespace: what a quote is compared with."""
    kept = [line for line in text.splitlines() if not is_footer(line)]
    return re.sub(r"\s+", "", "".join(kept))


@dataclass
class Heading:
    level: str  # part | chapter | section | box
    title: str  # as printed, spaces removed ("第二章构建现代产业新体系" keeps its number)
    position: int  # offset in `squashed`
    line_index: int


@dataclass
class Outline:
    text: str
    lines: list[str]
    squashed: str
    norm: str
    line_offsets: list[int]  # offset in `squashed` where each line starts
    headings: list[Heading] = field(default_factory=list)
    path: Path | None = None

    @classmethod
    def read(cls, path: Path) -> Outline:
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValueError(f"{path}: not UTF-8 or GB18030 text; save the extracted text as UTF-8")
        outline = cls.from_text(text)
        outline.path = path
        return outline

    @classmethod
    def from_text(cls, text: str) -> Outline:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
        lines = text.split("\n")
        parts, offsets, position = [], [], 0
        for line in lines:
            offsets.append(position)
            if is_footer(line):
                continue
            piece = re.sub(r"\s+", "", line)
            parts.append(piece)
            position += len(piece)
        squashed = "".join(parts)
        outline = cls(
            text=text, lines=lines, squashed=squashed, norm=normalise(squashed), line_offsets=offsets
        )
        outline.headings = outline._find_headings()
        return outline

    # ------------------------------------------------------------------------------------ headings

    def _find_headings(self) -> list[Heading]:
        found: list[Heading] = []
        numbered = any(CHAPTER.match(line) for line in self.lines)
        for index, line in enumerate(self.lines):
            stripped = line.strip()
            if not stripped or len(stripped) > 48 or stripped.endswith(("。", "，", "；", "：")):
                continue
            level = None
            if PART.match(stripped):
                level = "part"
            elif CHAPTER.match(stripped):
                level = "chapter"
            elif SECTION.match(stripped):
                level = "section"
            elif BOX.match(stripped) and ("专栏" in stripped or "主要" in stripped):
                level = "box"
            elif not numbered and LIST_CHAPTER.match(stripped) and len(stripped) <= 24:
                level = "chapter"
            elif (
                not numbered and LIST_SECTION.match(stripped) and len(stripped) <= 24 and "。" not in stripped
            ):
                level = "section"
            if level:
                title = re.sub(r"\s+", "", stripped)
                found.append(Heading(level, title, self.line_offsets[index], index))
        return found

    def context(self, position: int) -> dict[str, str]:
        """Chapter, section and box headings in force at a position of `squashed`."""
        out = {"part": "", "chapter": "", "section": "", "box": ""}
        for heading in self.headings:
            if heading.position > position:
                break
            out[heading.level] = heading.title
            if heading.level == "part":
                out.update(chapter="", section="", box="")
            elif heading.level == "chapter":
                out.update(section="", box="")
            elif heading.level == "section":
                out["box"] = ""
        return out

    def line_at(self, position: int) -> int:
        return max(0, bisect.bisect_right(self.line_offsets, position) - 1)

    def contains(self, quote: str) -> bool:
        return re.sub(r"\s+", "", quote) in self.squashed


def spaced(title: str) -> str:
    """`第二章构建现代产业新体系` → `第二章 构建现代产业新体系` (the seeds print a space after the number)."""
    return re.sub(rf"^(第[{CN_DIGITS}\d]+[篇章节])", r"\1 ", title)
