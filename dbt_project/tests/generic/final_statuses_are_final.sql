{% test final_statuses_are_final(model) %}
-- From the target year on a reported value is judged, no longer tracked: never on_track, at_risk or
-- off_track. not_achieved always carries a shortfall (never negative) and nothing else does, and a level,
-- maintain, cumulative or rate target is not_achieved only when its value misses the target.
select plan_id, indicator_code, plan_year, target_method, status, meets_target, shortfall
from {{ model }}
where (is_final_year and actual_value is not null and status in ('on_track', 'at_risk', 'off_track'))
    or (status = 'not_achieved' and (shortfall is null or shortfall < 0 or not is_final_year))
    or (status <> 'not_achieved' and shortfall is not null)
    or (status = 'not_achieved' and target_method in ('level', 'maintain', 'cumulative', 'rate') and meets_target)
{% endtest %}
