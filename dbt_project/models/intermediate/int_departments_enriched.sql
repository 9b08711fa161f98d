-- Departments with their region's plan(s) and what they own.
with departments as (
    select * from {{ ref('stg_catalog__departments') }}
),

plans as (
    select * from {{ ref('stg_catalog__plans') }}
),

main_owned as (
    select
        owner_department_code as department_code,
        count(*) as main_indicators_owned
    from {{ ref('stg_catalog__main_indicators') }}
    group by owner_department_code
),

secondary_owned as (
    select
        owner_department_code as department_code,
        count(*) as secondary_targets_owned
    from {{ ref('stg_catalog__secondary_targets') }}
    group by owner_department_code
),

projects_owned as (
    select
        owner_department_code as department_code,
        count(*) as projects_owned
    from {{ ref('stg_catalog__projects') }}
    group by owner_department_code
),

final as (
    select
        departments.department_code,
        plans.plan_id,
        departments.region_code,
        plans.region_name_zh,
        plans.region_name_en,
        departments.short_code,
        departments.department_name_zh,
        departments.department_name_en,
        coalesce(main_owned.main_indicators_owned, 0) as main_indicators_owned,
        coalesce(secondary_owned.secondary_targets_owned, 0) as secondary_targets_owned,
        coalesce(projects_owned.projects_owned, 0) as projects_owned
    from departments
    left join plans
        on departments.region_code = plans.region_code
    left join main_owned
        on departments.department_code = main_owned.department_code
    left join secondary_owned
        on departments.department_code = secondary_owned.department_code
    left join projects_owned
        on departments.department_code = projects_owned.department_code
)

select * from final
