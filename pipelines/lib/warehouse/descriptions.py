"""Column descriptions are written "中文 — English": the Chinese name as in the plan, then an English
explanation. dbt keeps them in the YAML beside each model, persist_docs writes them into the DuckDB
comments that analysts read, and dagster-dbt shows them as column metadata. This module holds the one
rule for that form, used by the tests and by the SQL client to show each half."""

from __future__ import annotations

import re

SEPARATOR = " — "
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")


def split_description(text: str | None) -> tuple[str, str]:
    """(Chinese, English) halves of a description; ("", text) when it has no separator."""
    text = (text or "").strip()
    zh, sep, en = text.partition(SEPARATOR)
    if not sep:
        return ("", text)
    return zh.strip(), en.strip()


def description_problem(text: str | None) -> str | None:
    """Why a description is not in the "中文 — English" form, or None when it is."""
    if not text or not text.strip():
        return "no description"
    zh, en = split_description(text)
    if not zh:
        return f"no '{SEPARATOR.strip()}' between the Chinese and the English"
    if not _HAN.search(zh):
        return "the part before '—' has no Chinese"
    english = _HAN.sub(" ", en)
    if len(_ENGLISH_WORD.findall(english)) < 2:
        return "the part after '—' has no English sentence"
    return None


def headline(text: str | None) -> str:
    """The first line of a (table) description, without Markdown emphasis: what a listing shows."""
    lines = (text or "").strip().splitlines()
    return lines[0].replace("**", "").replace("`", "").strip() if lines else ""
