"""A declarative rule: one GX expectation plus how to explain its failures to a department."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    reason: str  # reason code (pipelines/lib/submissions/reasons.py)
    column: str  # the submission column the department must fix (canonical name)
    expectation: str  # GX expectation class name
    kwargs: dict = field(default_factory=dict)
    value_column: str | None = None  # batch column quoted as the offending value
    expected_column: str | None = None  # batch column quoted as what was expected
    expected_text: str | None = None  # or a fixed text
    warning: bool = False  # warnings keep the row

    def build(self, gxe):
        cls = getattr(gxe, self.expectation)
        meta = {"reason": self.reason, "column": self.column}
        severity = {"severity": "warning"} if self.warning else {}
        return cls(meta=meta, **severity, **self.kwargs)


def present(col: str) -> str:
    """A pandas row condition: the column holds a value."""
    return f"{col}.notnull()"


def code_rules(code_column: str, known_column: str) -> list[Rule]:
    """The rules every submission kind shares: cached formula values, no cells beyond the header (a CSV row
    shifted by an unquoted comma must not load a wrong value), a code that is present, known to
    the catalog, and owned by the submitting department (the owner is joined onto each row)."""
    return [
        Rule(
            "formula_without_value",
            "formula_columns",
            "ExpectColumnValuesToBeNull",
            {"column": "formula_columns"},
            value_column="formula_columns",
        ),
        Rule(
            "extra_cells",
            "extra_cells",
            "ExpectColumnValuesToBeNull",
            {"column": "extra_cells"},
            value_column="extra_cells",
        ),
        Rule("missing_code", code_column, "ExpectColumnValuesToNotBeNull", {"column": code_column}),
        Rule(
            "unknown_code",
            code_column,
            "ExpectColumnValuesToBeInSet",
            {
                "column": known_column,
                "value_set": [True],
                "row_condition": present(code_column),
                "condition_parser": "pandas",
            },
            value_column=code_column,
        ),
        Rule(
            "other_department_codes",
            code_column,
            "ExpectColumnPairValuesToBeEqual",
            {
                "column_A": "department_code",
                "column_B": "catalog_owner_department_code",
                "row_condition": f"{known_column} == True",
                "condition_parser": "pandas",
            },
            value_column=code_column,
            expected_column="catalog_owner_department_code",
        ),
    ]
