"""Value, period and date parsers: examples and properties (hypothesis)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.lib.submissions.values import (
    excel_serial_to_date,
    normalize_code,
    parse_date,
    parse_number,
    parse_period,
    parse_value_type,
)


@pytest.mark.parametrize(
    "raw,value,unit",
    [
        ("1,272.6亿元", 1272.6, "亿元"),
        ("６５％", 65.0, "%"),
        ("  12 ", 12.0, None),
        ("-3.5", -3.5, None),
        ("−2", -2.0, None),
        ("1.5E3", 1500.0, None),
        ("７２，５００．５", 72500.5, None),
        (5, 5.0, None),
        (0.25, 0.25, None),
        ("1234.", 1234.0, None),  # a whole number as some exports print it
        ("1234.万元", 1234.0, "万元"),
        ("2300（亿元）", 2300.0, "亿元"),  # the unit in brackets
        ("100 (亿元)", 100.0, "亿元"),
        ("0.5‰", 0.5, "‰"),
        ("32㎡", 32.0, "m2"),  # a unit symbol with a digit in it is still a unit
        ("-0", 0.0, None),
    ],
)
def test_numbers_people_type(raw, value, unit):
    parsed = parse_number(raw)
    assert parsed.error is None and parsed.value == value and parsed.unit == unit


@pytest.mark.parametrize(
    "raw",
    [
        "--5",
        "1e309",
        "NaN",
        "nan",
        "inf",
        "12,72",
        "abc",
        "约5.2",
        "1.2.3",
        float("inf"),
        True,
        "1,2345",
        "1_234",
        "0x10",
        "0X1F",
        "1234..",
        ".",
        "-.",
        # digits no keyboard types there: NFKC read '2⁸' as 28 and '8908①' as 89081, accepted without a word
        "2⁸",
        "8908①",
        "٣٤",
        "2.5 e3",  # an exponent apart from its number was joined to it: 2500
        "1e 3",
        # punctuation after a number is no unit (these were value_unit_mismatch: "convert '。9' to 亿元")
        "2507。9",
        "2400。",
        "1、234",
        "00x10",
        "0b101",
        "０ｘ１０",
        "12345\u200b",  # an invisible character alone after the number
        "2300(亿元)万元",
    ],
)
def test_numbers_that_are_refused(raw):
    assert parse_number(raw).error == "bad_number"


def test_minus_zero_is_zero():
    assert math.copysign(1, parse_number("-0").value) == 1  # 0, never -0.0 in the marts


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_missing_numbers(raw):
    assert parse_number(raw).error == "missing"


@pytest.mark.parametrize(
    "raw,label",
    [
        ("2023", "2023"),
        ("2023年", "2023"),
        (2023.0, "2023"),
        ("2023Q2", "2023Q2"),
        ("2023-q3", "2023Q3"),
        ("2023年第二季度", "2023Q2"),
        ("2023年4季度", "2023Q4"),
        ("２０２３Ｑ１", "2023Q1"),
        ("2023年度", "2023"),
    ],
)
def test_periods(raw, label):
    assert parse_period(raw).value.label == label


@pytest.mark.parametrize("raw", ["2023Q5", "23", "2023H1", "Q2", 2023.5, "二〇二三"])
def test_bad_periods(raw):
    assert parse_period(raw).error == "bad_period"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("2025-03-05", date(2025, 3, 5)),
        ("2025年3月5日", date(2025, 3, 5)),
        ("2025/3/5", date(2025, 3, 5)),
        ("2025.3.5", date(2025, 3, 5)),
        ("20250305", date(2025, 3, 5)),
        (45721, date(2025, 3, 5)),
        ("45721", date(2025, 3, 5)),
        ("2025-03-05 00:00:00", date(2025, 3, 5)),
        (datetime(2025, 3, 5, 8, 0), date(2025, 3, 5)),
    ],
)
def test_dates(raw, expected):
    assert parse_date(raw).value == expected


@pytest.mark.parametrize("raw", ["2023-02-30", "2025-13-01", "yesterday", "3/5/2025", 0, -5])
def test_bad_dates(raw):
    assert parse_date(raw).error == "bad_date"


def test_value_types_and_codes():
    assert parse_value_type(None).value == "actual"
    assert parse_value_type("下达目标").value == "assigned_target"
    assert parse_value_type("Assigned_Target").value == "assigned_target"
    assert parse_value_type("预计值").error == "bad_value_type"
    assert normalize_code(" i０１ ") == "I01"


# ------------------------------------------------------------------------------------ properties


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_plain_decimal_text_round_trips(value):
    text = repr(value)
    assert parse_number(text).value == value


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["", "亿元", "%", "万元"]))
def test_thousands_separators_round_trip(value, unit):
    parsed = parse_number(f"{value:,}{unit}")
    assert parsed.value == value and parsed.unit == (unit or None)


@given(st.text(max_size=30))
@settings(max_examples=300)
def test_parsers_never_raise_and_never_return_non_finite(text):
    for parser in (parse_number, parse_period, parse_date, parse_value_type):
        parsed = parser(text)
        assert (parsed.value is None) != (parsed.error is None) or parser is parse_value_type
    number = parse_number(text)
    assert number.value is None or math.isfinite(number.value)


@given(st.integers(min_value=1900, max_value=2100), st.integers(min_value=1, max_value=4))
def test_quarter_labels_round_trip(year, quarter):
    period = parse_period(f"{year}Q{quarter}").value
    assert (period.year, period.quarter) == (year, quarter)
    assert period.end_date.month == quarter * 3 and (period.end_date + timedelta(days=1)).day == 1


@given(st.dates(min_value=date(1900, 3, 1), max_value=date(2200, 12, 31)))
def test_iso_and_chinese_dates_and_serials_agree(day):
    assert parse_date(day.isoformat()).value == day
    assert parse_date(f"{day.year}年{day.month}月{day.day}日").value == day
    serial = (day - date(1899, 12, 30)).days
    assert excel_serial_to_date(serial) == day
