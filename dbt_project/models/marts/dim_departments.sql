with departments as (
    select * from {{ ref('int_departments_enriched') }}
),

final as (
    select
        department_code,
        plan_id,
        region_code,
        region_name_zh,
        region_name_en,
        short_code,
        department_name_zh,
        department_name_en,
        main_indicators_owned,
        secondary_targets_owned,
        projects_owned
    from departments
)

select * from final
