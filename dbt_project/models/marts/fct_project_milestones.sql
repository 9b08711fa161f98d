-- Per planned milestone: planned date, completion, days late, status, and its project's RAG rating.
with milestones as (
    select * from {{ ref('int_project_milestones_evaluated') }}
),

projects as (
    select * from {{ ref('int_projects_rated') }}
),

final as (
    select
        {{ dbt.concat(["milestones.plan_id", "'|'", "milestones.project_code", "'|'", "milestones.milestone_code"]) }}
            as milestone_key,
        milestones.plan_id,
        milestones.project_code,
        {{ dbt.concat(["milestones.plan_id", "'|'", "milestones.project_code"]) }} as project_key,
        projects.project_name_zh,
        projects.project_name_en,
        projects.owner_department_code,
        milestones.milestone_code,
        milestones.seq,
        milestones.milestone_name_zh,
        milestones.milestone_name_en,
        milestones.planned_date,
        milestones.date_source,
        milestones.completed_on,
        milestones.days_late,
        milestones.milestone_status,
        milestones.is_final_milestone,
        milestones.last_report_date,
        milestones.completion_submission_id,
        projects.percent_complete as project_percent_complete,
        {{ tidy('projects.schedule_share_percent') }} as project_schedule_share_percent,
        {{ tidy('projects.progress_lag_points') }} as project_progress_lag_points,
        projects.rag_status as project_rag_status,
        milestones.as_of_date
    from milestones
    inner join projects
        on milestones.plan_id = projects.plan_id
        and milestones.project_code = projects.project_code
)

select * from final
