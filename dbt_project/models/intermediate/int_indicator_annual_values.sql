-- Per indicator and year: the annual actual (the annual value, else the Q4 year-to-date value),
-- the target assigned by the superior government for that year, and the latest quarterly value.
-- An actual awaiting an explanation (soft checks) does not count: actual_value stays empty and
-- pending_value holds what was reported, so the status can say awaiting_explanation.
with current_values as (
    select * from {{ ref('int_indicator_values_as_of') }}
),

annual_actual as (
    select
        plan_id,
        indicator_code,
        period_year,
        value,
        review_state,
        explanation,
        submission_id,
        received_at,
        period
    from current_values
    where value_type = 'actual' and period_quarter is null
),

q4_actual as (
    select
        plan_id,
        indicator_code,
        period_year,
        value,
        review_state,
        explanation,
        submission_id,
        received_at,
        period
    from current_values
    where value_type = 'actual' and period_quarter = 4
),

assigned as (
    select
        plan_id,
        indicator_code,
        period_year,
        value,
        submission_id,
        received_at
    from current_values
    where value_type = 'assigned_target' and period_quarter is null
),

latest_quarter as (
    select
        plan_id,
        indicator_code,
        period_year,
        period,
        value
    from (
        select
            *,
            row_number() over (partition by plan_id, indicator_code, period_year order by period_quarter desc) as rn
        from current_values
        where value_type = 'actual' and period_quarter is not null and review_state <> 'pending_explanation'
    ) as q
    where rn = 1
),

keys as (
    select
        plan_id,
        indicator_code,
        period_year
    from current_values
    group by plan_id, indicator_code, period_year
),

chosen as (
    -- the annual value when there is one (whatever its review state), else Q4
    select
        keys.plan_id,
        keys.indicator_code,
        keys.period_year,
        coalesce(annual_actual.value, q4_actual.value) as reported_value,
        case when annual_actual.period is not null then annual_actual.review_state else q4_actual.review_state end
            as review_state,
        case when annual_actual.period is not null then annual_actual.explanation else q4_actual.explanation end
            as explanation,
        coalesce(annual_actual.period, q4_actual.period) as actual_period,
        coalesce(annual_actual.submission_id, q4_actual.submission_id) as actual_submission_id,
        coalesce(annual_actual.received_at, q4_actual.received_at) as actual_received_at
    from keys
    left join annual_actual
        on keys.plan_id = annual_actual.plan_id
        and keys.indicator_code = annual_actual.indicator_code
        and keys.period_year = annual_actual.period_year
    left join q4_actual
        on keys.plan_id = q4_actual.plan_id
        and keys.indicator_code = q4_actual.indicator_code
        and keys.period_year = q4_actual.period_year
),

final as (
    select
        chosen.plan_id,
        chosen.indicator_code,
        chosen.period_year,
        case when chosen.review_state <> 'pending_explanation' then chosen.reported_value end as actual_value,
        case when chosen.review_state = 'pending_explanation' then chosen.reported_value end as pending_value,
        chosen.review_state as actual_review_state,
        chosen.explanation as actual_explanation,
        chosen.actual_period,
        chosen.actual_submission_id,
        chosen.actual_received_at,
        assigned.value as assigned_target,
        assigned.submission_id as assigned_target_submission_id,
        latest_quarter.period as latest_quarter_period,
        latest_quarter.value as latest_quarter_value
    from chosen
    left join assigned
        on chosen.plan_id = assigned.plan_id
        and chosen.indicator_code = assigned.indicator_code
        and chosen.period_year = assigned.period_year
    left join latest_quarter
        on chosen.plan_id = latest_quarter.plan_id
        and chosen.indicator_code = latest_quarter.indicator_code
        and chosen.period_year = latest_quarter.period_year
)

select * from final
