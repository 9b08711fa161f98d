-- One row per indicator: its latest status, evaluation category and since when (not_due until a first year is due).
with indicators as (
    select * from {{ ref('int_indicators_unioned') }}
),

latest as (
    select * from {{ ref('int_indicator_status_latest') }}
),

final as (
    select
        indicators.plan_id,
        indicators.indicator_code,
        {{ dbt.concat(["indicators.plan_id", "'|'", "indicators.indicator_code"]) }} as indicator_key,
        indicators.indicator_kind,
        indicators.category_zh,
        indicators.category_en,
        indicators.name_zh,
        indicators.name_en,
        indicators.unit,
        indicators.attribute,
        indicators.target_method,
        indicators.owner_department_code,
        latest.latest_year,
        latest.latest_due_date,
        latest.status,
        latest.status_since_year,
        latest.status_since_date,
        latest.actual_value,
        latest.value_awaiting_explanation,
        latest.actual_review_state,
        latest.actual_explanation,
        {{ tidy('latest.evaluated_value') }} as evaluated_value,
        latest.target_compared,
        {{ tidy('latest.completion') }} as completion,
        {{ tidy('latest.expected_share') }} as expected_share,
        {{ tidy('latest.lag') }} as lag,
        {{ tidy('latest.growth_shortfall') }} as growth_shortfall,
        latest.is_final_year,
        {{ tidy('latest.shortfall') }} as shortfall,
        {{ tidy('latest.shortfall_ratio') }} as shortfall_ratio,
        latest.years_met,
        latest.years_missed,
        latest.evaluation_category,
        latest.evaluation_category_zh,
        latest.evaluation_category_en,
        latest.trend_status,
        {{ tidy('latest.trend_ratio') }} as trend_ratio,
        {{ tidy('latest.projected_target_year_value') }} as projected_target_year_value,
        latest.projected_meets_target,
        latest.actual_submission_id,
        {{ as_of_date() }} as as_of_date
    from indicators
    left join latest
        on indicators.plan_id = latest.plan_id
        and indicators.indicator_code = latest.indicator_code
)

select * from final
