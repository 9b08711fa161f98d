"""Suite for indicator data (指标数据): codes, ownership, periods, value types, units and ranges."""

from __future__ import annotations

from pipelines.lib.plans.catalog import Catalog

from .rules import Rule, code_rules, present

NAME = "indicator_data"


def rules(catalog: Catalog) -> list[Rule]:
    """Catalog facts (is the code known, who owns it, its frequency, unit, range) are joined onto each row
    by pipelines/lib/submissions/batch.py; the rules compare the row with them. Small value sets keep GX's cost
    independent of the size of the catalog (136 plans would otherwise mean sets of 16,000 keys)."""
    del catalog  # the catalog reaches the rules through the joined columns
    known = "known_code == True"
    return [
        *code_rules("indicator_code", "known_code"),
        Rule(
            "code_not_in_period_plan",
            "indicator_code",
            "ExpectColumnValuesToBeNull",
            {"column": "code_in_other_plan"},
            value_column="indicator_code",
            expected_column="code_in_other_plan",
        ),
        Rule("missing_period", "period", "ExpectColumnValuesToNotBeNull", {"column": "period_raw"}),
        Rule(
            "bad_period",
            "period",
            "ExpectColumnValuesToNotBeNull",
            {"column": "period", "row_condition": present("period_raw"), "condition_parser": "pandas"},
            value_column="period_raw",
        ),
        Rule(
            "period_outside_plan",
            "period",
            "ExpectColumnValuesToNotBeNull",
            {
                "column": "plan_id",
                "row_condition": f"{present('period')} and {known}",
                "condition_parser": "pandas",
            },
            value_column="period_raw",
            expected_column="plan_years",
        ),
        Rule(
            "quarter_not_allowed",
            "period",
            "ExpectColumnValuesToBeInSet",
            {
                "column": "catalog_reporting_frequency",
                "value_set": ["quarterly"],
                "row_condition": f'period_granularity == "quarterly" and {known}',
                "condition_parser": "pandas",
            },
            value_column="period_raw",
            expected_column="indicator_code",
        ),
        Rule(
            "bad_value_type",
            "value_type",
            "ExpectColumnValuesToNotBeNull",
            {"column": "value_type"},
            value_column="value_type_raw",
        ),
        Rule(
            "assigned_target_not_applicable",
            "value_type",
            "ExpectColumnValuesToBeInSet",
            {
                "column": "catalog_is_superior_assigned",
                "value_set": [True],
                "row_condition": f'value_type == "assigned_target" and {known}',
                "condition_parser": "pandas",
            },
            value_column="value_type_raw",
            expected_column="indicator_code",
        ),
        Rule(
            "future_period",
            "period",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "received_date",
                "column_B": "period_end_date",
                "or_equal": False,
                "ignore_row_if": "either_value_is_missing",
                "row_condition": 'value_type == "actual"',
                "condition_parser": "pandas",
            },
            value_column="period",
            expected_column="received_date",
        ),
        Rule(
            "bad_number",
            "value",
            "ExpectColumnValuesToNotBeNull",
            {"column": "value", "row_condition": present("value_raw"), "condition_parser": "pandas"},
            value_column="value_raw",
        ),
        Rule(
            "unit_mismatch",
            "unit",
            "ExpectColumnPairValuesToBeEqual",
            {"column_A": "unit", "column_B": "catalog_unit", "ignore_row_if": "either_value_is_missing"},
            value_column="unit",
            expected_column="catalog_unit",
        ),
        Rule(
            "value_unit_mismatch",
            "value",
            "ExpectColumnPairValuesToBeEqual",
            {
                "column_A": "value_unit",
                "column_B": "catalog_unit",
                "ignore_row_if": "either_value_is_missing",
            },
            value_column="value_raw",
            expected_column="catalog_unit",
        ),
        Rule(
            "out_of_range",
            "value",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "value",
                "column_B": "value_min_allowed",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            value_column="value_raw",
            expected_column="allowed_range",
        ),
        Rule(
            "out_of_range",
            "value",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "value_max_allowed",
                "column_B": "value",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            value_column="value_raw",
            expected_column="allowed_range",
        ),
        Rule(
            "conflicting_duplicate",
            "value",
            "ExpectCompoundColumnsToBeUnique",
            {
                "column_list": ["submission_id", "sheet_key", "indicator_code", "period", "value_type"],
                "ignore_row_if": "any_value_is_missing",
            },
            value_column="value_raw",
        ),
        Rule(
            "q4_differs_from_annual",
            "value",
            "ExpectColumnPairValuesToBeEqual",
            {
                "column_A": "value",
                "column_B": "annual_value_in_file",
                "ignore_row_if": "either_value_is_missing",
            },
            value_column="value_raw",
            expected_column="annual_value_in_file",
            warning=True,
        ),
        Rule(
            "name_mismatch",
            "indicator_name",
            "ExpectColumnValuesToBeInSet",
            {"column": "name_consistent", "value_set": [True]},
            value_column="indicator_name",
            expected_column="catalog_name_zh",
            warning=True,
        ),
    ]
