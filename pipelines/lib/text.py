"""Text as it is laid out in columns: terminals, spreadsheets and the plan's pdftotext tables."""

from __future__ import annotations

import unicodedata


def display_width(text: str) -> int:
    """Columns a text takes: wide and full-width characters (Chinese) count double. ASCII text, most
    cells and lines, is its length, without a lookup per character."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
