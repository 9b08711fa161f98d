with source as (
    select * from {{ ref('catalog_main_indicators') }}
),

renamed as (
    select
        cast(plan_id as string) as plan_id,
        cast(indicator_code as string) as indicator_code,
        cast(seq as integer) as seq,
        category_zh,
        category_en,
        name_printed,
        name_zh,
        name_en,
        unit_printed,
        unit,
        cast(baseline_year as integer) as baseline_year,
        cast(baseline_text as string) as baseline_text,
        cast(baseline_value as double) as baseline_value,
        cast(target_year as integer) as target_year,
        cast(target_text as string) as target_text,
        nullif(target_operator, '') as target_operator,
        cast(target_value as double) as target_value,
        cast(annual_growth_text as string) as annual_growth_text,
        cast(annual_growth_rate as double) as annual_growth_rate,
        attribute_zh,
        attribute,
        target_basis,
        cast(is_cumulative as boolean) as is_cumulative,
        cast(is_superior_assigned as boolean) as is_superior_assigned,
        cast(is_baseline_estimate as boolean) as is_baseline_estimate,
        direction,
        reporting_frequency,
        cast(value_min as double) as value_min,
        cast(value_max as double) as value_max,
        cast(owner_department_code as string) as owner_department_code,
        notes,
        cast(max_change as double) as max_change,
        cast(nullif(max_change_basis, '') as string) as max_change_basis,
        cast(always_moves as boolean) as always_moves
    from source
)

select * from renamed
