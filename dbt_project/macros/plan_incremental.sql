{#-
    `plan_incremental`: a table that a full build creates whole and a refresh between full builds
    recomputes only for the plans it touched (delete + insert of those plans' rows).

    Which rows a refresh recomputes comes from the table ops.refresh_scope (scope_key, scope_value),
    written by the pipeline before it runs dbt (pipelines/lib/warehouse/refresh_scope.py): the plans,
    and the departments, of every region whose files this refresh loaded. A model is keyed by its
    `scope_key` config (plan_id, or department_code for the models of the submission ledger). The
    model's SQL is unchanged: its result is filtered to the scope, and DuckDB pushes that filter down
    to the scans where the key passes through (joins, group by, partition by on the key).

    A full build (`dbt build --full-refresh`, or no table yet, or no scope table) is the table
    materialization itself. The pipeline asks for one whenever the evaluation date, the knowledge
    cutoff, the catalog or the models changed since the last build, and every night.
-#}
{% materialization plan_incremental, default %}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set scope = planwh_refresh_scope(config.get('scope_key', 'plan_id')) -%}
    {%- if existing_relation is none or existing_relation.is_view or should_full_refresh() or scope is none -%}
        {#- the adapter's own table materialization (contracts, docs, grants, swap) -#}
        {%- set table_materialization = context.get('materialization_table_' ~ adapter.type())
            or context.get('materialization_table_default') -%}
        {{ return(table_materialization()) }}
    {%- endif -%}

    {%- set key = config.get('scope_key', 'plan_id') -%}
    {%- set target_relation = existing_relation.incorporate(type='table') -%}
    {%- set columns = adapter.get_columns_in_relation(target_relation) | map(attribute='name') | list -%}
    {%- if key not in columns -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ " is materialized plan_incremental but has no column '" ~ key ~ "': set its "
            ~ "scope_key (plan_id or department_code) or materialize it as a table") }}
    {%- endif -%}
    {%- set predicate = planwh_scope_predicate(key, scope) -%}
    {%- set column_list = columns | join(', ') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {% call statement('delete_scope') -%}
        delete from {{ target_relation }} where {{ predicate }}
    {%- endcall %}
    {% call statement('main') -%}
        insert into {{ target_relation }} ({{ column_list }})
        select {{ column_list }}
        from (
            {{ compiled_code }}
        ) as model_rows
        where {{ predicate }}
    {%- endcall %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do adapter.commit() %}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{% macro planwh_refresh_scope(scope_key) -%}
    {#- The values of `scope_key` this refresh recomputes, or none for a full build: only an invocation
        with `--selector planwh_refresh_scope` (or one of its variants, selectors.yml) is a scoped refresh
        (a plain `dbt build` never reads a scope, even one left behind by a killed run), and only with a
        scope table to read. -#}
    {%- if not execute or not (invocation_args_dict.get('selector') or '').startswith('planwh_refresh_scope') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set scope_relation = adapter.get_relation(database=target.database, schema='ops', identifier='refresh_scope') -%}
    {%- if scope_relation is none -%}{{ return(none) }}{%- endif -%}
    {%- set rows = run_query(
        "select scope_value from " ~ scope_relation ~ " where scope_key = '"
        ~ dbt.escape_single_quotes(scope_key) ~ "' order by scope_value") -%}
    {{ return(rows.columns[0].values() | list) }}
{%- endmacro %}


{% macro planwh_scope_predicate(key, values) -%}
    {#- `key in (values)`, as literals so the optimizer can push it to the scans; '' stands for null
        (a file from a folder that names no known department). An empty scope matches nothing. -#}
    {%- set known = values | reject('equalto', '') | list -%}
    {%- set parts = [] -%}
    {%- if known -%}
        {%- set literals = [] -%}
        {%- for value in known -%}
            {%- do literals.append("'" ~ dbt.escape_single_quotes(value) ~ "'") -%}
        {%- endfor -%}
        {%- do parts.append(key ~ ' in (' ~ literals | join(', ') ~ ')') -%}
    {%- endif -%}
    {%- if '' in values -%}{%- do parts.append(key ~ ' is null') -%}{%- endif -%}
    {{- '(' ~ (parts | join(' or ') if parts else '1 = 0') ~ ')' -}}
{%- endmacro %}
