"""Great Expectations suites, one per submission kind, built in code from the plan catalog.

GX owns the contract of a submission (columns, types, code lists, ranges, dates); dbt tests own the
invariants of the models. Suites run on pandas batches holding the new rows of many files at once,
and every failing row is attributed back to its file, sheet, row and column through `row_id`.
"""

from .runner import Failure, SuiteReport, build_suite, unflagged_report, validate

__all__ = ["Failure", "SuiteReport", "build_suite", "unflagged_report", "validate"]
