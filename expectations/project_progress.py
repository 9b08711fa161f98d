"""Suite for project progress (项目进度): projects, milestones, dates, progress and investment."""

from __future__ import annotations

from pipelines.lib.plans.catalog import Catalog

from .rules import Rule, code_rules, present

NAME = "project_progress"


def rules(catalog: Catalog) -> list[Rule]:
    """As for indicator data: catalog facts are joined onto each row and compared here."""
    del catalog
    known = "known_project == True"
    return [
        *code_rules("project_code", "known_project"),
        Rule("missing_milestone", "milestone", "ExpectColumnValuesToNotBeNull", {"column": "milestone_raw"}),
        Rule(
            "unknown_milestone",
            "milestone",
            "ExpectColumnValuesToNotBeNull",
            {
                "column": "milestone_code",
                "row_condition": f"{present('milestone_raw')} and {known}",
                "condition_parser": "pandas",
            },
            value_column="milestone_raw",
            expected_column="milestones_expected",
        ),
        Rule("missing_date", "report_date", "ExpectColumnValuesToNotBeNull", {"column": "report_date_raw"}),
        Rule(
            "bad_date",
            "report_date",
            "ExpectColumnValuesToNotBeNull",
            {
                "column": "report_date",
                "row_condition": present("report_date_raw"),
                "condition_parser": "pandas",
            },
            value_column="report_date_raw",
        ),
        Rule(
            "date_in_future",
            "report_date",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "received_date",
                "column_B": "report_date",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            value_column="report_date_raw",
            expected_column="received_date",
        ),
        Rule(
            "date_implausible",
            "report_date",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "report_date",
                "column_B": "min_report_date",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            value_column="report_date_raw",
            expected_column="min_report_date",
        ),
        Rule(
            "bad_date",
            "completed_on",
            "ExpectColumnValuesToNotBeNull",
            {
                "column": "completed_on",
                "row_condition": present("completed_on_raw"),
                "condition_parser": "pandas",
            },
            value_column="completed_on_raw",
        ),
        Rule(
            "completed_after_report",
            "completed_on",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "report_date",
                "column_B": "completed_on",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            value_column="completed_on_raw",
            expected_column="report_date_raw",
        ),
        Rule(
            "date_implausible",
            "completed_on",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "completed_on",
                "column_B": "min_completed_date",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            value_column="completed_on_raw",
            expected_column="min_completed_date",
        ),
        Rule(
            "bad_number",
            "percent_complete",
            "ExpectColumnValuesToNotBeNull",
            {
                "column": "percent_complete",
                "row_condition": present("percent_complete_raw"),
                "condition_parser": "pandas",
            },
            value_column="percent_complete_raw",
        ),
        Rule(
            "out_of_range",
            "percent_complete",
            "ExpectColumnValuesToBeBetween",
            {"column": "percent_complete", "min_value": 0, "max_value": 100},
            value_column="percent_complete_raw",
            expected_text="0–100",
        ),
        Rule(
            "unit_mismatch",
            "percent_complete",
            "ExpectColumnValuesToBeInSet",
            {"column": "percent_unit", "value_set": ["%"]},
            value_column="percent_unit",
            expected_text="%",
        ),
        Rule(
            "bad_number",
            "investment_to_date",
            "ExpectColumnValuesToNotBeNull",
            {
                "column": "investment_to_date",
                "row_condition": present("investment_to_date_raw"),
                "condition_parser": "pandas",
            },
            value_column="investment_to_date_raw",
        ),
        Rule(
            "out_of_range",
            "investment_to_date",
            "ExpectColumnValuesToBeBetween",
            {"column": "investment_to_date", "min_value": 0},
            value_column="investment_to_date_raw",
            expected_text="≥ 0",
        ),
        Rule(
            "unit_mismatch",
            "investment_to_date",
            "ExpectColumnValuesToBeInSet",
            {"column": "investment_unit", "value_set": ["万元"]},
            value_column="investment_unit",
            expected_text="万元",
        ),
        Rule(
            "conflicting_duplicate",
            "report_date",
            "ExpectCompoundColumnsToBeUnique",
            {
                "column_list": [
                    "submission_id",
                    "sheet_key",
                    "project_code",
                    "milestone_code",
                    "report_date",
                ],
                "ignore_row_if": "any_value_is_missing",
            },
            value_column="report_date_raw",
        ),
    ]
