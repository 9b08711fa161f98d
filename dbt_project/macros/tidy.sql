{#
    A value computed by subtraction or division, as the marts show it: binary floating point leaves noise in
    the last digits (a shortfall of 0.8999999999999986 for 0.9, a running total of 10.399999999999999).
    Six decimals are more than any figure of a plan carries (and than any share or ratio needs); statuses
    are decided upstream, on the values as computed.
#}
{% macro tidy(expression, digits=6) -%}
    round({{ expression }}, {{ digits }})
{%- endmacro %}
