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
        projects.notes
    from projects
    left join departments
        on projects.owner_department_code = departments.department_code
)

select * from final
