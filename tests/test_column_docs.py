"""Every column is described "中文 — English", and the description reaches every place a person reads it:
the DuckDB comments of the published snapshot (what an analyst's client shows), dbt's manifest (dbt docs)
and the Dagster asset's column schema."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from pipelines.lib.warehouse.descriptions import description_problem, headline, split_description
from pipelines.lib.warehouse.publish import open_published
from tests.conftest import dbt_target

MANIFEST = dbt_target() / "manifest.json"
SCHEMAS = ("marts", "intermediate", "staging", "catalog")  # dbt's models and seeds


def dbt_nodes() -> list[dict]:
    nodes = json.loads(MANIFEST.read_text(encoding="utf-8"))["nodes"].values()
    return [n for n in nodes if n["resource_type"] in ("model", "seed")]


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("部门编码 — Department code (e.g. 370102_STATS).", True),
        ("指标属性 — 预期性 → expected, 约束性 → binding.", True),
        ("部门编码", False),  # Chinese only
        ("Department code, also its inbox folder name.", False),  # English only
        ("部门编码 — 部门", False),  # no English after the dash
        ("Code — Department code", False),  # no Chinese before the dash
        ("部门编码 - Department code", False),  # a hyphen is not the separator
        ("", False),
        (None, False),
    ],
)
def test_the_rule_for_a_description(text, ok):
    assert (description_problem(text) is None) is ok


def test_split_description_gives_both_halves():
    assert split_description("完成进度 — Completion c = (A − B)/(T − B).") == (
        "完成进度",
        "Completion c = (A − B)/(T − B).",
    )


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_column_of_the_published_snapshot_is_described_in_both_languages(sample_run, schema):
    con = open_published(sample_run["db"])
    try:
        rows = con.execute(
            "select table_name, column_name, comment from duckdb_columns() "
            "where database_name = current_database() and schema_name = ? order by table_name, column_index",
            [schema],
        ).fetchall()
        tables = con.execute(
            "select table_name, comment from duckdb_tables() where schema_name = ? "
            "union all select view_name, comment from duckdb_views() where schema_name = ?",
            [schema, schema],
        ).fetchall()
    finally:
        con.close()
    expected = {n["alias"] or n["name"] for n in dbt_nodes() if n["schema"] == schema}
    assert expected and {t for t, _ in tables} == expected  # the snapshot holds every model, nothing vacuous
    problems = [
        f"{schema}.{t}.{c}: {description_problem(d)} ({d!r})" for t, c, d in rows if description_problem(d)
    ]
    assert not problems, "\n".join(problems)
    assert not [t for t, comment in tables if not comment], "tables without a description"
    if schema == "marts":  # what `.tables` lists: the first line, in both languages
        heads = {t: headline(c) for t, c in tables}
        assert not [f"{t}: {h}" for t, h in heads.items() if description_problem(h)]


def test_the_yaml_documents_exactly_the_columns_each_model_has(sample_run):
    """A renamed or dropped column leaves no stale description behind, a new one none missing."""
    con = open_published(sample_run["db"])
    try:
        built = {}
        for schema, table, column in con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where database_name = current_database()"
        ).fetchall():
            built.setdefault((schema, table), set()).add(column)
    finally:
        con.close()
    mismatches = []
    for node in dbt_nodes():
        documented = set(node["columns"])
        actual = built[(node["schema"], node["alias"] or node["name"])]
        if documented != actual:
            mismatches.append(
                f"{node['original_file_path']} {node['name']}: undocumented {sorted(actual - documented)}, "
                f"not in the model {sorted(documented - actual)}"
            )
        mismatches += [
            f"{node['original_file_path']} {node['name']}.{name}: {description_problem(column['description'])}"
            for name, column in node["columns"].items()
            if description_problem(column["description"])
        ]
    assert not mismatches, "\n".join(mismatches)


def test_a_column_named_as_a_date_is_a_date_in_every_mart(sample_run):
    """due_date, period_start, period_end and every …_date / …_on column (not …_to_date) is a DATE, in every mart alike: an
    analyst joining fct_submission_compliance to fct_submission_obligation_items on due_date, or comparing
    it with a Python date, got a timestamp on one side (a quarter's end plus 20 days is a timestamp in
    DuckDB until cast), and the workbook printed 2025-04-20 00:00:00."""
    con = open_published(sample_run["db"])
    try:
        columns = con.execute(
            """select table_name, column_name, data_type from duckdb_columns()
               where database_name = current_database() and schema_name = 'marts'
                 and (column_name like '%\\_date' escape '\\' or column_name like '%\\_on' escape '\\'
                      or column_name in ('period_start', 'period_end'))
                 and column_name not like '%\\_to\\_date' escape '\\'  -- investment_to_date: an amount"""
        ).fetchall()
    finally:
        con.close()
    assert {"due_date", "period_end"} <= {column for _, column, _ in columns}
    wrong = [f"{table}.{column}: {kind}" for table, column, kind in columns if kind != "DATE"]
    assert not wrong, wrong


def test_dagster_shows_the_descriptions_as_column_metadata():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    marts = [key for key in graph.get_all_asset_keys() if key.path[0] == "marts"]
    assert len(marts) >= 14
    problems = []
    for key in marts:
        schema = graph.get(key).metadata.get("dagster/column_schema")
        assert schema is not None and schema.columns, key
        problems += [
            f"{key.to_user_string()}.{c.name}: {description_problem(c.description)}"
            for c in schema.columns
            if description_problem(c.description)
        ]
    assert not problems, "\n".join(problems)
    status = {
        c.name: c
        for c in graph.get(dg.AssetKey(["marts", "fct_project_status"]))
        .metadata["dagster/column_schema"]
        .columns
    }
    assert status["rag_status"].description.startswith("红黄绿灯 — ")


@pytest.mark.parametrize("table", ["alerts", "alert_events"])
def test_the_alert_history_analysts_query_is_described_in_both_languages(sample_run, table):
    """docs/analysts.md lists ops.alerts and ops.alert_events beside the marts (with a query on them) and
    promises every column a description: `.describe ops.alerts` showed none. They are tables Python
    writes, not dbt models, so their comments come from the warehouse schema itself."""
    con = open_published(sample_run["db"])
    try:
        rows = con.execute(
            "select column_name, comment from duckdb_columns() "
            "where database_name = current_database() and schema_name = 'ops' and table_name = ?",
            [table],
        ).fetchall()
        (comment,) = con.execute(
            "select comment from duckdb_tables() where schema_name = 'ops' and table_name = ?", [table]
        ).fetchone()
    finally:
        con.close()
    assert rows
    problems = [
        f"ops.{table}.{c}: {description_problem(d)} ({d!r})" for c, d in rows if description_problem(d)
    ]
    assert not problems, "\n".join(problems)
    assert description_problem(headline(comment)) is None, comment


def test_the_flags_columns_say_what_they_hold(sample_run):
    """fct_flags' descriptions name every status that raises a flag and, for the value columns, every
    kind of flag that fills them: `subject_status` omitted not_achieved (most critical flags) and
    `reported_value` said "null for other flags" where a missing submission carries its count of
    periods and a red project its progress."""
    con = open_published(sample_run["db"])
    try:
        comments = dict(
            con.execute(
                "select column_name, comment from duckdb_columns() "
                "where schema_name = 'marts' and table_name = 'fct_flags'"
            ).fetchall()
        )
        statuses = {
            r[0] for r in con.execute("select distinct subject_status from marts.fct_flags").fetchall()
        }
        filled = {
            column: {
                r[0]
                for r in con.execute(
                    f"select distinct flag_type from marts.fct_flags where {column} is not null"
                ).fetchall()
            }
            for column in ("reported_value", "target_value", "period_year")
        }
    finally:
        con.close()
    assert {"not_achieved", "no_data", "missing"} <= statuses
    problems = [
        f"subject_status: {s} not named" for s in sorted(statuses) if s not in comments["subject_status"]
    ]
    problems += [
        f"{column}: {kind} fills it but is not named"
        for column, kinds in filled.items()
        for kind in sorted(kinds)
        if kind not in comments[column]
    ]
    problems += [
        f"severity: {s} not named"
        for s in ("off_track", "not_achieved", "no_data", "at_risk", "awaiting_explanation")
        if s not in comments["severity"]
    ]
    assert not problems, "\n".join(problems)


def test_a_mart_column_whose_values_are_tested_names_every_value():
    """The descriptions list a code column's values (`.describe`, the dbt docs, the Dagster UI): when a
    value is added to its accepted_values test the description must say it too. The status columns
    of the attainment marts omitted not_achieved and awaiting_explanation, the milestones' project
    rating carried_over and not_completed."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    nodes = manifest["nodes"]
    problems = []
    for test in nodes.values():
        if test["resource_type"] != "test" or test.get("test_metadata", {}).get("name") != "accepted_values":
            continue
        models = [nodes[d] for d in test["depends_on"]["nodes"] if d.startswith("model.")]
        if not models or models[0]["schema"] != "marts":
            continue
        kwargs = test["test_metadata"]["kwargs"]
        values = kwargs.get("values") or kwargs.get("arguments", {}).get("values") or []
        column = kwargs["column_name"]
        description = models[0]["columns"][column]["description"]
        missing = [v for v in values if str(v) not in description]
        if missing:
            problems.append(f"{models[0]['name']}.{column}: {missing} not in {description!r}")
    assert not problems, "\n".join(problems)
