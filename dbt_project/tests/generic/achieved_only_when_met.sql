{% test achieved_only_when_met(model) %}
-- The status is never `achieved` unless the evaluated value meets the target.
select plan_id, indicator_code, plan_year, status, meets_target
from {{ model }}
where status = 'achieved' and not coalesce(meets_target, false)
{% endtest %}
