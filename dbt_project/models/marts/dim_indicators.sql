with indicators as (
    select * from {{ ref('int_indicators_unioned') }}
),

departments as (
    select * from {{ ref('int_departments_enriched') }}
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
)

select * from final
