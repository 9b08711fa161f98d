"""Parsers for the cell values departments type: numbers, periods and dates.

Each parser takes what a CSV or XLSX cell holds (str, int, float, datetime or None) and returns the
typed value or an error code from reasons.py. They never guess silently: anything ambiguous is an
error the department is asked to fix.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_SPACES = re.compile(r"\s+")
# Characters NFKC leaves alone but people type for a minus sign.
_MINUS = str.maketrans({"−": "-", "–": "-", "—": "-"})
_NUMBER = re.compile(
    r"^(?P<sign>[+-]?)(?P<int>\d{1,3}(?:,\d{3})+|\d+)?(?P<frac>\.\d+)?(?P<exp>[eE][+-]?\d{1,3})?(?P<rest>.*)$"
)
_NUMBER_HEAD = re.compile(r"^[+-]?[\d\s,.]*")
# a space inside a number only as a thousands separator: groups of three ('84 210', '1 272.6')
_SPACE_GROUPED = re.compile(r"\d{1,3}(?:\s\d{3})+(?:\.\d+)?")
_TYPED_DIGITS = frozenset("0123456789０１２３４５６７８９")  # ASCII and full-width: what a keyboard types
_NUMBER_MARKS = frozenset("+-−–—＋－,.，．、。 \u00a0\u3000\t")
# an exponent apart from its number ('2.5 e3'): two things, not 2500
_SPLIT_EXPONENT = re.compile(r"\d\s+[eE][+-]?\d|[eE]\s+[+-]?\d|[eE][+-]\s+\d")
# what follows a number of zeros like a base prefix: 0x10, 00x10, 0b101, 0o17 are never a unit
_BASE_PREFIX = re.compile(r"[xXbBoO][0-9A-Fa-f]+")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}
_PERIOD_PATTERNS = [
    (re.compile(r"^(\d{4})(?:年|年度)?$"), False),
    (re.compile(r"^(\d{4})[-_/.]?Q([1-4])$"), True),
    (re.compile(r"^(\d{4})年?第?([1-4一二三四])季度?$"), True),
]
_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_EPOCH_1904 = date(1904, 1, 1)


def normalize_text(value: object) -> str | None:
    """NFKC (full-width digits and punctuation to ASCII), trimmed; None for blank."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = unicodedata.normalize("NFKC", str(value)).replace("\u00a0", " ").strip()
    return text or None


def free_text(value: object) -> str | None:
    """A note or explanation as written (Chinese punctuation kept, unlike NFKC), trimmed; None for blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).replace("\u00a0", " ").strip()
    return text or None


@dataclass(frozen=True)
class Parsed:
    value: object = None
    error: str | None = None  # reason code
    unit: str | None = None  # a unit typed after a number ("1,272.6亿元" -> "亿元")


MISSING = Parsed(error="missing")


def parse_number(raw: object) -> Parsed:
    """'1,272.6亿元' -> 1272.6 (unit 亿元); '65%' -> 65 (unit %); full-width digits accepted; a space only
    between groups of three digits ('84 210'), after the sign ('- 5') or before the unit."""
    if raw is None:
        return MISSING
    if isinstance(raw, bool):
        return Parsed(error="bad_number")
    if isinstance(raw, int | float):
        number = float(raw)
        return Parsed(value=number) if math.isfinite(number) else Parsed(error="bad_number")
    if _unusual_digit_in_head(str(raw)):
        return Parsed(error="bad_number")  # '2⁸' is not 28, '8908①' not 89081 (NFKC would make them so)
    text = normalize_text(raw)
    if text is None:
        return MISSING
    text = text.translate(_MINUS)
    if _SPLIT_EXPONENT.search(text):
        return Parsed(error="bad_number")
    head = _NUMBER_HEAD.match(text)[0].rstrip()  # sign, digits, separators: the number before any unit
    digits = head.lstrip("+-").strip()
    if _SPACES.search(digits) and not _SPACE_GROUPED.fullmatch(digits):
        return Parsed(error="bad_number")  # '24 10.9', '2510 2600': two numbers or a typo, never one guessed
    text = _SPACES.sub("", text)
    match = _NUMBER.match(text)
    if not match or not (match["int"] or match["frac"]):
        return Parsed(error="bad_number")
    rest = match["rest"]
    if rest[:1] == "." and not rest[1:2].isdigit() and match["int"] and not match["frac"]:
        rest = rest[1:]  # '1234.' as some exports print a whole number: 1234
    if rest and (rest[0].isdigit() or rest[0] in "+-.,eE_"):
        return Parsed(error="bad_number")  # '1_234' too: never a unit '_234'
    if match["int"] and not match["int"].strip("0") and not match["frac"] and _BASE_PREFIX.fullmatch(rest):
        return Parsed(error="bad_number")  # '0x10' is not 0 with a unit 'x10'
    if rest[:1] == "(" and rest[-1:] == ")" and len(rest) > 2:
        rest = rest[1:-1]  # '2300（亿元）': the unit in brackets
    elif rest and (_is_punctuation(rest[0]) or all(unicodedata.category(c) == "Cf" for c in rest)):
        # '2507。9', '2400。', '1、234': punctuation is no unit; nor an invisible character alone ('12345<U+200B>')
        return Parsed(error="bad_number")
    literal = (
        match["sign"] + (match["int"] or "0").replace(",", "") + (match["frac"] or "") + (match["exp"] or "")
    )
    try:
        number = float(literal)
    except ValueError:
        return Parsed(error="bad_number")
    if not math.isfinite(number):
        return Parsed(error="bad_number")
    return Parsed(value=number + 0.0, unit=rest or None)  # + 0.0: '-0' is 0, not -0.0


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P") and char not in "%‰‱"


def _unusual_digit_in_head(text: str) -> bool:
    """Whether the number at the start of `text` has a digit no keyboard types there: a superscript, a
    circled or parenthesised number, another script's digit. NFKC would turn it into an ordinary one."""
    for char in text.lstrip():
        if char in _TYPED_DIGITS or char in _NUMBER_MARKS:
            continue
        folded = unicodedata.normalize("NFKC", char)
        return folded[:1].isdigit() or unicodedata.digit(char, None) is not None
    return False


@dataclass(frozen=True)
class Period:
    label: str  # '2023' or '2023Q2'
    year: int
    quarter: int | None

    @property
    def end_date(self) -> date:
        if self.quarter is None:
            return date(self.year, 12, 31)
        month = self.quarter * 3
        return (date(self.year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)


@functools.lru_cache(maxsize=8192)  # the same periods, codes and units repeat on every row
def parse_period(raw: object) -> Parsed:
    """'2023', '2023年', 2023.0 -> annual; '2023Q2', '2023-Q2', '2023年第二季度' -> quarterly."""
    if raw is None:
        return MISSING
    if isinstance(raw, bool):
        return Parsed(error="bad_period")
    if isinstance(raw, int | float):
        if not math.isfinite(raw) or raw != int(raw):
            return Parsed(error="bad_period")
        raw = str(int(raw))
    text = normalize_text(raw)
    if text is None:
        return MISSING
    text = _SPACES.sub("", text).upper()
    for pattern, quarterly in _PERIOD_PATTERNS:
        match = pattern.match(text)
        if match:
            year = int(match[1])
            if not 1900 <= year <= 2100:
                return Parsed(error="bad_period")
            if not quarterly:
                return Parsed(value=Period(f"{year}", year, None))
            q = match[2]
            quarter = _CN_DIGITS[q] if q in _CN_DIGITS else int(q)
            return Parsed(value=Period(f"{year}Q{quarter}", year, quarter))
    return Parsed(error="bad_period")


_DATE_PATTERNS = [
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


def excel_serial_to_date(serial: float, date1904: bool = False) -> date | None:
    """Excel day numbers (1900 system, with its fictitious 1900-02-29) to a date."""
    if not math.isfinite(serial) or serial < 1 or serial >= 2958466:
        return None
    base = _EXCEL_EPOCH_1904 if date1904 else _EXCEL_EPOCH
    return base + timedelta(days=int(serial))


@functools.lru_cache(maxsize=8192)
def parse_date(raw: object, date1904: bool = False) -> Parsed:
    """ISO dates, 2025/3/5, 2025.3.5, 2025年3月5日, 20250305, and Excel serial numbers."""
    if raw is None:
        return MISSING
    if isinstance(raw, datetime):
        return Parsed(value=raw.date())
    if isinstance(raw, date):
        return Parsed(value=raw)
    if isinstance(raw, bool):
        return Parsed(error="bad_date")
    if isinstance(raw, int | float):
        parsed = excel_serial_to_date(float(raw), date1904)
        return Parsed(value=parsed) if parsed else Parsed(error="bad_date")
    text = normalize_text(raw)
    if text is None:
        return MISSING
    candidates = (_SPACES.sub(" ", text), _SPACES.sub("", text))
    for pattern in _DATE_PATTERNS:
        match = pattern.match(candidates[0]) or pattern.match(candidates[1])
        if match:
            try:
                return Parsed(value=date(int(match[1]), int(match[2]), int(match[3])))
            except ValueError:
                return Parsed(error="bad_date")
    if re.fullmatch(r"\d{5}(?:\.\d+)?", candidates[1]):  # an Excel serial that lost its date format
        parsed = excel_serial_to_date(float(candidates[1]), date1904)
        if parsed:
            return Parsed(value=parsed)
    return Parsed(error="bad_date")


VALUE_TYPES = {
    "实际值": "actual",
    "实际": "actual",
    "actual": "actual",
    "下达目标": "assigned_target",
    "上级下达目标": "assigned_target",
    "assigned_target": "assigned_target",
    "assignedtarget": "assigned_target",
}


@functools.lru_cache(maxsize=8192)
def parse_value_type(raw: object) -> Parsed:
    """Blank means an actual value."""
    text = normalize_text(raw)
    if text is None:
        return Parsed(value="actual")
    key = _SPACES.sub("", text).lower()
    kind = VALUE_TYPES.get(key)
    return Parsed(value=kind) if kind else Parsed(error="bad_value_type")


@functools.lru_cache(maxsize=8192)
def normalize_code(raw: object) -> str | None:
    """Codes are compared upper-case without spaces: ' i01 ' -> 'I01'; Excel's 1.0 -> '1'."""
    if isinstance(raw, float) and math.isfinite(raw) and raw == int(raw):
        raw = int(raw)
    text = normalize_text(raw)
    return _SPACES.sub("", text).upper() if text else None


_UNIT_WORDING = re.compile(
    r"^\((.+)\)$|^单位[:：]?(.+)$"
)  # （亿元）, 单位：亿元 (a heading's 数值（单位：亿元）)


@functools.lru_cache(maxsize=8192)
def normalize_unit(raw: object) -> str | None:
    """A unit as typed, compared form: NFKC, no spaces, without brackets around it or a 单位： before it."""
    text = normalize_text(raw)
    if not text:
        return None
    text = _SPACES.sub("", text)
    while match := _UNIT_WORDING.match(text):
        text = match[1] or match[2]
    return text


def unit_key(unit: str) -> str:
    """A unit's spelling for comparison: NFKC (㎡, m² -> m2), no spaces, Latin letters in lower case (kW, KW)."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", unit)).lower()


@functools.lru_cache(maxsize=8192)
def name_key(raw: object) -> str:
    """A name reduced for comparison: NFKC, lower case, no spaces, punctuation or (unit)."""
    text = normalize_text(raw) or ""
    text = re.sub(r"\([^)]*\)", "", text)
    return re.sub(r"[\s\"'“”‘’「」《》、,，.。:：;；\-_/]", "", text).lower()
