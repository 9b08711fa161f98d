with projects as (
    select * from {{ ref('int_projects_enriched') }}
),

departments as (
    select * from {{ ref('int_departments_enriched') }}
),

final as (
    select
        projects.plan_id,
        projects.project_code,
        {{ dbt.concat(["projects.plan_id", "'|'", "projects.project_code"]) }} as project_key,
        projects.seq,
        projects.project_name_zh,
        projects.project_name_en,
        projects.category,
        projects.owner_department_code,
        departments.department_name_zh as owner_department_name_zh,
        departments.department_name_en as owner_department_name_en,
        projects.quantity_target,
        projects.quantity_unit,
        projects.planned_start,
        projects.planned_end,
        projects.date_source,
        projects.milestones_planned,
        projects.chapter_zh,
        projects.chapter_en,
        projects.section_zh,
        projects.quote,
        projects.notes,
        projects.continues_plan_id,
        projects.continues_project_code,
        projects.continued_in_plan_id
    from projects
    left join departments
        on projects.owner_department_code = departments.department_code
        and projects.plan_id = departments.plan_id
)

select * from final
