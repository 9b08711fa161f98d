{% macro as_of_value() -%}
    {#- The evaluation date: dbt var `as_of`, else env PLANWH_AS_OF, else today in Asia/Shanghai. -#}
    {%- set pinned = var('as_of', none) or env_var('PLANWH_AS_OF', '') -%}
    {%- if pinned -%}
        {%- set parsed = modules.datetime.date.fromisoformat(pinned | string) -%}
        {{- return(parsed.isoformat()) -}}
    {%- else -%}
        {{- return(modules.datetime.datetime.now(modules.pytz.timezone('Asia/Shanghai')).date().isoformat()) -}}
    {%- endif -%}
{%- endmacro %}

{% macro as_of_date() -%}
    cast('{{ as_of_value() }}' as date)
{%- endmacro %}

{% macro reminder_days() -%}
    {#- Days before a deadline that a department still owing items is reminded (催报): env
        PLANWH_REMINDER_DAYS, else the dbt var reminder_days_before_due (7). -#}
    {%- set days = env_var('PLANWH_REMINDER_DAYS', '') or var('reminder_days_before_due') -%}
    {{- return(days | int) -}}
{%- endmacro %}

{% macro end_of_day(date_expr) -%}
    {#- The first instant after a date: received_at < end_of_day(d) means "received on or before d". -#}
    cast({{ dbt.dateadd('day', 1, date_expr) }} as timestamp)
{%- endmacro %}

{% macro known_at_value() -%}
    {#- The knowledge cutoff: dbt var `known_at`, else env PLANWH_KNOWN_AT, else none (everything received).
        Pin it together with as_of to reproduce exactly what an evaluation said on that day. -#}
    {%- set pinned = var('known_at', none) or env_var('PLANWH_KNOWN_AT', '') -%}
    {%- if pinned -%}
        {{- return(modules.datetime.date.fromisoformat(pinned | string).isoformat()) -}}
    {%- else -%}
        {{- return(none) -}}
    {%- endif -%}
{%- endmacro %}

{% macro received_by_known_at(received_at) -%}
    {#- Whether a submission counts: received on or before the knowledge cutoff (always, without one). -#}
    {%- set cutoff = known_at_value() -%}
    {%- if cutoff -%}
        {{ received_at }} < {{ end_of_day("cast('" ~ cutoff ~ "' as date)") }}
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}
