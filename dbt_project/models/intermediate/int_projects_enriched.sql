-- Catalog projects with their planned milestone count, and the link between a project carried over
-- (续建) and the later plan that carries it (continued_in_plan_id, from the year that plan begins).
with projects as (
    select * from {{ ref('stg_catalog__projects') }}
),

plans as (
    select * from {{ ref('stg_catalog__plans') }}
),

milestones as (
    select
        plan_id,
        project_code,
        count(*) as milestones_planned
    from {{ ref('stg_catalog__project_milestones') }}
    group by plan_id, project_code
),

successors as (
    select
        carrying.continues_plan_id as plan_id,
        carrying.continues_project_code as project_code,
        carrying.plan_id as continued_in_plan_id,
        carrying.project_code as continued_as_project_code,
        make_date(plans.start_year, 1, 1) as continued_from_date
    from projects as carrying
    inner join plans
        on carrying.plan_id = plans.plan_id
    where carrying.continues_plan_id is not null
),

final as (
    select
        projects.*,
        coalesce(milestones.milestones_planned, 0) as milestones_planned,
        successors.continued_in_plan_id,
        successors.continued_as_project_code,
        successors.continued_from_date
    from projects
    left join milestones
        on projects.plan_id = milestones.plan_id
        and projects.project_code = milestones.project_code
    left join successors
        on projects.plan_id = successors.plan_id
        and projects.project_code = successors.project_code
)

select * from final
