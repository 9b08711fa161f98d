with indicators as (
    select * from {{ ref('int_indicators_unioned') }}
),

departments as (
    select * from {{ ref('int_departments_enriched') }}
),

units as (
    select * from {{ ref('stg_catalog__units') }}
),

reported_values as (
    select * from {{ ref('int_indicator_values_as_of') }}
),

reported_precision as (
    -- the most decimals any current value of the indicator that counts was reported with: a value still
    -- awaiting its explanation (0.5544 sent for 55.44 %) would print every value of it with four decimals
    select
        plan_id,
        indicator_code,
        max({{ decimal_places('value') }}) as reported_decimals
    from reported_values
    where review_state <> 'pending_explanation'
    group by plan_id, indicator_code
),

final as (
    select
        indicators.plan_id,
        indicators.indicator_code,
        {{ dbt.concat(["indicators.plan_id", "'|'", "indicators.indicator_code"]) }} as indicator_key,
        indicators.indicator_kind,
        indicators.seq,
        indicators.category_zh,
        indicators.category_en,
        indicators.name_printed,
        indicators.name_zh,
        indicators.name_en,
        indicators.unit_printed,
        indicators.unit,
        -- a unit missing from catalog_units keeps its Chinese name; a listed one without English name is a count
        case when units.unit is null then indicators.unit else coalesce(units.unit_en, '') end as unit_en,
        indicators.baseline_year,
        indicators.baseline_text,
        indicators.baseline_value,
        indicators.is_baseline_estimate,
        indicators.baseline_from_first_actual,
        indicators.target_year,
        indicators.target_text,
        indicators.target_operator,
        indicators.target_value,
        indicators.annual_growth_text,
        indicators.annual_growth_rate,
        indicators.attribute_zh,
        indicators.attribute,
        indicators.target_basis,
        indicators.target_method,
        indicators.is_cumulative,
        indicators.is_superior_assigned,
        indicators.direction,
        indicators.direction_sign,
        indicators.reporting_frequency,
        indicators.value_min,
        indicators.value_max,
        -- display precision: as many decimals as the plan prints or departments report (at most 4), so a
        -- value never rounds onto its target (20.88 against 20.9)
        cast(greatest(
            coalesce({{ decimal_places('indicators.baseline_value') }}, 0),
            coalesce({{ decimal_places('indicators.target_value') }}, 0),
            coalesce({{ decimal_places('indicators.annual_growth_rate') }}, 0),
            coalesce(reported_precision.reported_decimals, 0)
        ) as integer) as value_decimals,
        indicators.max_change,
        indicators.max_change_basis,
        indicators.change_tolerance,
        indicators.always_moves,
        indicators.unit_slip_factor,
        indicators.owner_department_code,
        departments.department_name_zh as owner_department_name_zh,
        departments.department_name_en as owner_department_name_en,
        indicators.chapter_zh,
        indicators.section_zh,
        indicators.quote,
        indicators.notes
    from indicators
    left join departments
        on indicators.owner_department_code = departments.department_code
        and indicators.plan_id = departments.plan_id
    left join units
        on indicators.unit = units.unit
    left join reported_precision
        on indicators.plan_id = reported_precision.plan_id
        and indicators.indicator_code = reported_precision.indicator_code
)

select * from final
