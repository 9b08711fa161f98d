"""Suite for the soft checks on indicator data (核实性审核): plausible next to the previous accepted value.

Runs after the hard suite (indicator_data) on the rows that passed it, with the reference value and
its band joined onto each row by pipelines/lib/submissions/plausibility.py. Every rule is a warning
whose reason needs a written explanation: the row is loaded, but counts only once explained.
"""

from __future__ import annotations

from pipelines.lib.plans.catalog import Catalog

from .rules import Rule

NAME = "indicator_plausibility"
PERCENT = 'catalog_unit in ["%", "百分点"]'


def rules(catalog: Catalog) -> list[Rule]:
    del (
        catalog
    )  # the bounds reach the rules through the joined columns (catalog max_change, defaults by unit)
    no_slip = "slip_factor.isnull()"  # one cause, one message: a unit slip is not also an implausible change
    return [
        Rule(
            "implausible_change",
            "value",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "value",
                "column_B": "plausible_low",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
                "row_condition": no_slip,
                "condition_parser": "pandas",
            },
            value_column="value_raw",
            expected_column="reference_value",
            warning=True,
        ),
        Rule(
            "implausible_change",
            "value",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "plausible_high",
                "column_B": "value",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
                "row_condition": no_slip,
                "condition_parser": "pandas",
            },
            value_column="value_raw",
            expected_column="reference_value",
            warning=True,
        ),
        Rule(
            "percent_as_fraction",
            "value",
            "ExpectColumnValuesToNotBeInSet",
            {
                "column": "slip_factor",
                "value_set": [100.0],
                "row_condition": PERCENT,
                "condition_parser": "pandas",
            },
            value_column="value_raw",
            expected_column="suggested_value",
            warning=True,
        ),
        Rule(
            "unit_slip",
            "value",
            "ExpectColumnValuesToBeNull",
            {
                "column": "slip_factor",
                "row_condition": f"not ({PERCENT} and slip_factor == 100.0)",
                "condition_parser": "pandas",
            },
            value_column="value_raw",
            expected_column="suggested_value",
            warning=True,
        ),
        Rule(
            "same_as_previous_year",
            "value",
            "ExpectColumnValuesToBeInSet",
            {"column": "same_as_previous", "value_set": [False]},
            value_column="value_raw",
            expected_column="reference_value",
            warning=True,
        ),
    ]
