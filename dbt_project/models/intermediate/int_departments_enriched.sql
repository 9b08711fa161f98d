-- Departments with each plan of their region and what they own in it (one row per department and plan).
-- A department code serves every plan of its region (the 14th and 15th plans share them); the region's
-- current plan is the one covering the evaluation year, else the latest begun, else the first to come.
with departments as (
    select * from {{ ref('stg_catalog__departments') }}
),

plans as (
    select * from {{ ref('stg_catalog__plans') }}
),

main_owned as (
    select
        plan_id,
        owner_department_code as department_code,
        count(*) as main_indicators_owned
    from {{ ref('stg_catalog__main_indicators') }}
    group by plan_id, owner_department_code
),

secondary_owned as (
    select
        plan_id,
        owner_department_code as department_code,
        count(*) as secondary_targets_owned
    from {{ ref('stg_catalog__secondary_targets') }}
    group by plan_id, owner_department_code
),

projects_owned as (
    select
        plan_id,
        owner_department_code as department_code,
        count(*) as projects_owned
    from {{ ref('stg_catalog__projects') }}
    group by plan_id, owner_department_code
),

department_plans as (
    select
        departments.*,
        plans.plan_id,
        plans.region_name_zh,
        plans.region_name_en,
        plans.start_year,
        plans.end_year,
        row_number() over (
            partition by departments.department_code
            order by
                case
                    when plans.start_year <= extract(year from {{ as_of_date() }})
                        and plans.end_year >= extract(year from {{ as_of_date() }}) then 0
                    when plans.start_year <= extract(year from {{ as_of_date() }}) then 1
                    else 2
                end,
                case
                    when plans.start_year <= extract(year from {{ as_of_date() }}) then -plans.start_year
                    else plans.start_year
                end
        ) as plan_rank
    from departments
    left join plans
        on departments.region_code = plans.region_code
),

final as (
    select
        department_plans.department_code,
        department_plans.plan_id,
        department_plans.region_code,
        department_plans.region_name_zh,
        department_plans.region_name_en,
        department_plans.short_code,
        department_plans.department_name_zh,
        department_plans.department_name_en,
        department_plans.plan_rank = 1 as is_current_plan,
        coalesce(main_owned.main_indicators_owned, 0) as main_indicators_owned,
        coalesce(secondary_owned.secondary_targets_owned, 0) as secondary_targets_owned,
        coalesce(projects_owned.projects_owned, 0) as projects_owned
    from department_plans
    left join main_owned
        on department_plans.department_code = main_owned.department_code
        and department_plans.plan_id = main_owned.plan_id
    left join secondary_owned
        on department_plans.department_code = secondary_owned.department_code
        and department_plans.plan_id = secondary_owned.plan_id
    left join projects_owned
        on department_plans.department_code = projects_owned.department_code
        and department_plans.plan_id = projects_owned.plan_id
)

select * from final
