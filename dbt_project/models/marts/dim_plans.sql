with plan_years as (
    select * from {{ ref('int_plans_years') }}
),

final as (
    select
        plan_id,
        region_code,
        region_name_zh,
        region_name_en,
        plan_name_zh,
        plan_name_en,
        plan_short_zh,
        plan_short_en,
        baseline_year,
        start_year,
        end_year,
        source_document
    from plan_years
    where plan_year = start_year
)

select * from final
