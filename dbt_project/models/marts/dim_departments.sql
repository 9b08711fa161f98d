-- One row per department, with its region's current plan (the plan covering the evaluation year) and what
-- it owns in that plan; fct_department_scorecard has one row per department and plan.
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
    where is_current_plan
)

select * from final
