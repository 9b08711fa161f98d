{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- Schemas as named (catalog, staging, intermediate, marts), not prefixed by the target schema,
        so analysts query marts.fct_indicator_attainment directly. -#}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
