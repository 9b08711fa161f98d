-- One row per project: progress against schedule and the RAG rating (red / amber / green / completed).
with projects as (
    select * from {{ ref('int_projects_rated') }}
),

final as (
    select
        plan_id,
        project_code,
        {{ dbt.concat(["plan_id", "'|'", "project_code"]) }} as project_key,
        project_name_zh,
        project_name_en,
        category,
        owner_department_code,
        quantity_target,
        quantity_unit,
        planned_start,
        planned_end,
        milestones_planned,
        milestones_done,
        milestones_overdue,
        milestones_due_soon,
        max_days_overdue,
        is_completed,
        completed_on,
        percent_complete,
        investment_to_date,
        last_progress_report_date,
        last_progress_submission_id,
        {{ tidy('schedule_share_percent') }} as schedule_share_percent,
        {{ tidy('progress_lag_points') }} as progress_lag_points,
        rag_status,
        continues_plan_id,
        continues_project_code,
        continued_in_plan_id,
        -- the last milestone is reported done while the last reported 形象进度 is below 100: one of the two is wrong
        coalesce(is_completed and percent_complete < 100, false) as is_progress_inconsistent,
        as_of_date
    from projects
)

select * from final
