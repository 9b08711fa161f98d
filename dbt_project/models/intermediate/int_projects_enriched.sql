-- Catalog projects with their planned milestone count.
with projects as (
    select * from {{ ref('stg_catalog__projects') }}
),

milestones as (
    select
        plan_id,
        project_code,
        count(*) as milestones_planned
    from {{ ref('stg_catalog__project_milestones') }}
    group by plan_id, project_code
),

final as (
    select
        projects.*,
        coalesce(milestones.milestones_planned, 0) as milestones_planned
    from projects
    left join milestones
        on projects.plan_id = milestones.plan_id
        and projects.project_code = milestones.project_code
)

select * from final
