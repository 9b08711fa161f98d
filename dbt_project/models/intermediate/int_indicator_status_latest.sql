-- Per indicator: the status of the latest evaluated year (skipping a current year not yet due),
-- and since when it has held (the first year of the current run of equal statuses). An indicator with
-- no year due yet is `not_due` (evaluation category not_due: not counted as 暂无数据).
with indicators as (
    select * from {{ ref('int_indicators_unioned') }}
),

attainment as (
    select * from {{ ref('int_indicator_attainment_evaluated') }}
),

categories as (
    select * from {{ ref('stg_catalog__evaluation_categories') }}
),

evaluated as (
    select * from attainment
    where status <> 'not_due'
),

numbered as (
    select
        *,
        row_number() over (partition by plan_id, indicator_code order by plan_year desc) as recency,
        row_number() over (partition by plan_id, indicator_code order by plan_year)
        - row_number() over (partition by plan_id, indicator_code, status order by plan_year) as run_id
    from evaluated
),

runs as (
    select
        plan_id,
        indicator_code,
        status,
        run_id,
        min(plan_year) as since_year,
        -- never later than the evaluation date (a file received after a pinned as_of still counts)
        least(
            min(case when status = 'no_data' then due_date else cast(actual_received_at as date) end),
            {{ as_of_date() }}
        ) as since_date
    from numbered
    group by plan_id, indicator_code, status, run_id
),

latest as (
    select * from numbered
    where recency = 1
),

final as (
    select
        indicators.plan_id,
        indicators.indicator_code,
        latest.plan_year as latest_year,
        latest.due_date as latest_due_date,
        coalesce(latest.status, 'not_due') as status,
        runs.since_year as status_since_year,
        runs.since_date as status_since_date,
        latest.actual_value,
        latest.value_awaiting_explanation,
        latest.actual_review_state,
        latest.actual_explanation,
        latest.evaluated_value,
        latest.target_compared,
        latest.completion,
        latest.expected_share,
        latest.lag,
        latest.growth_shortfall,
        coalesce(latest.is_final_year, false) as is_final_year,
        latest.shortfall,
        latest.shortfall_ratio,
        latest.years_met,
        latest.years_missed,
        categories.evaluation_category,
        categories.evaluation_category_zh,
        categories.evaluation_category_en,
        latest.trend_status,
        latest.trend_ratio,
        latest.projected_target_year_value,
        latest.projected_meets_target,
        latest.actual_submission_id,
        {{ as_of_date() }} as as_of_date
    from indicators
    left join latest
        on indicators.plan_id = latest.plan_id
        and indicators.indicator_code = latest.indicator_code
    left join runs
        on latest.plan_id = runs.plan_id
        and latest.indicator_code = runs.indicator_code
        and latest.status = runs.status
        and latest.run_id = runs.run_id
    left join categories
        on coalesce(latest.evaluation_category, 'not_due') = categories.evaluation_category
)

select * from final
