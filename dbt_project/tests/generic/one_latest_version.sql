{% test one_latest_version(model) %}
-- Each (plan, indicator, period, value type) has exactly one latest version.
select plan_id, indicator_code, period, value_type, count(*) as latest_versions
from {{ model }}
where is_latest
group by plan_id, indicator_code, period, value_type
having count(*) <> 1
{% endtest %}
