{% macro meets_target(value, operator, target) -%}
    {#- Whether a value satisfies a printed target operator (>=, >, <=, <, =). -#}
    case
        when {{ value }} is null or {{ target }} is null then null
        when {{ operator }} = '>=' then {{ value }} >= {{ target }}
        when {{ operator }} = '>' then {{ value }} > {{ target }}
        when {{ operator }} = '<=' then {{ value }} <= {{ target }}
        when {{ operator }} = '<' then {{ value }} < {{ target }}
        when {{ operator }} = '=' then abs({{ value }} - {{ target }}) < 1e-9
    end
{%- endmacro %}

{% macro lag_status(lag) -%}
    {#- rounded so that a lag of exactly 0.10 is not lost to floating-point error -#}
    case
        when round({{ lag }}, 9) <= {{ var('on_track_max_lag') }} then 'on_track'
        when round({{ lag }}, 9) <= {{ var('at_risk_max_lag') }} then 'at_risk'
        else 'off_track'
    end
{%- endmacro %}

{% macro safe_divide(numerator, denominator) -%}
    {#- DuckDB returns inf and Spark NULL for x/0: make both NULL. -#}
    case when {{ denominator }} is null or {{ denominator }} = 0 then null
         else cast({{ numerator }} as double) / cast({{ denominator }} as double) end
{%- endmacro %}
