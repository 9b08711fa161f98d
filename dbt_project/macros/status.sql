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

{% macro evaluation_category(status, is_final_year, target_method, lead, growth_shortfall) -%}
    {#- The NDRC category beside a status (docs block attainment_method): 提前实现, 快于预期, 基本符合预期,
        滞后于预期 in a plan in progress; 完成 / 未完成 from the target year on. `lead` is completion − expected
        share (level and cumulative targets); a rate target is ahead when its average beats g by the same margin. -#}
    case
        when {{ status }} = 'achieved' and not {{ is_final_year }} then 'achieved_early'
        when {{ status }} = 'achieved' then 'achieved'
        when {{ status }} = 'not_achieved' then 'not_achieved'
        when {{ status }} = 'on_track' and {{ target_method }} in ('level', 'cumulative')
            and round({{ lead }}, 9) >= {{ var('ahead_min_lead') }} then 'ahead'
        when {{ status }} = 'on_track' and {{ target_method }} = 'rate'
            and round(-{{ growth_shortfall }}, 9) >= {{ var('ahead_min_lead') }} then 'ahead'
        when {{ status }} = 'on_track' then 'as_expected'
        when {{ status }} in ('at_risk', 'off_track') then 'lagging'
        when {{ status }} = 'no_data' then 'no_data'
        when {{ status }} = 'not_due' then 'not_due'
        else 'not_assessable'
    end
{%- endmacro %}

{% macro decimal_places(value, most=4) -%}
    {#- How many decimals a number needs (0..most): 2490 -> 0, 20.88 -> 2; NULL stays NULL. -#}
    case
        when {{ value }} is null then null
        {%- for places in range(most) %}
        when abs({{ value }} - round({{ value }}, {{ places }})) < 1e-9 then {{ places }}
        {%- endfor %}
        else {{ most }}
    end
{%- endmacro %}
