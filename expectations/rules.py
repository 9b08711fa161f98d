"""A declarative rule: one GX expectation plus how to explain its failures to a department."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    reason: str  # reason code (pipelines/lib/reasons.py)
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
