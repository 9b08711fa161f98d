-- Per project: reported progress against the time share of its schedule, and the RAG rating.
with projects as (
    select * from {{ ref('int_projects_enriched') }}
),

plan_years as (
    select * from {{ ref('int_plans_years') }}
),

next_plans as (
    -- when the next plan of the project's region begins (a project not carried over closes then)
    select
        this.plan_id,
        min(later.year_start_date) as next_plan_start
    from plan_years as this
    inner join plan_years as later
        on this.region_code = later.region_code
        and this.end_year < later.start_year
    group by this.plan_id
),

milestones as (
    select * from {{ ref('int_project_milestones_evaluated') }}
),

reports as (
    select * from {{ ref('int_project_reports_as_of') }}
),

ranked_reports as (
    -- the latest report, the latest with a percentage and the latest with an investment figure
    -- (a later report giving only one of them must not hide the other)
    select
        *,
        row_number() over (
            partition by plan_id, project_code order by report_date desc, received_at desc, milestone_code asc
        ) as rn_any,
        row_number() over (
            partition by plan_id, project_code
            order by
                case when percent_complete is null then 1 else 0 end,
                report_date desc, received_at desc, milestone_code asc
        ) as rn_percent,
        row_number() over (
            partition by plan_id, project_code
            order by
                case when investment_to_date is null then 1 else 0 end,
                report_date desc, received_at desc, milestone_code asc
        ) as rn_investment
    from reports
    where percent_complete is not null or investment_to_date is not null
),

latest_progress as (
    select
        plan_id,
        project_code,
        max(case when rn_percent = 1 then percent_complete end) as percent_complete,
        max(case when rn_investment = 1 then investment_to_date end) as investment_to_date,
        max(case when rn_any = 1 then report_date end) as report_date,
        max(case when rn_any = 1 then submission_id end) as submission_id
    from ranked_reports
    group by plan_id, project_code
),

milestone_summary as (
    select
        plan_id,
        project_code,
        count(case when completed_on is not null then 1 end) as milestones_done,
        count(case when milestone_status = 'overdue' then 1 end) as milestones_overdue,
        count(case when milestone_status = 'due_soon' then 1 end) as milestones_due_soon,
        max(case when milestone_status = 'overdue' then days_late else 0 end) as max_days_overdue,
        max(case when is_final_milestone and completed_on is not null then 1 else 0 end) as final_done,
        max(case when is_final_milestone then completed_on end) as completed_on
    from milestones
    group by plan_id, project_code
),

joined as (
    select
        projects.*,
        milestone_summary.milestones_done,
        milestone_summary.milestones_overdue,
        milestone_summary.milestones_due_soon,
        milestone_summary.max_days_overdue,
        milestone_summary.final_done = 1 as is_completed,
        milestone_summary.completed_on,
        latest_progress.percent_complete,
        latest_progress.investment_to_date,
        latest_progress.report_date as last_progress_report_date,
        latest_progress.submission_id as last_progress_submission_id,
        next_plans.next_plan_start,
        case
            when {{ as_of_date() }} <= projects.planned_start then 0.0
            when {{ as_of_date() }} >= projects.planned_end then 100.0
            else 100.0 * {{ safe_divide(dbt.datediff('projects.planned_start', as_of_date(), 'day'),
                                         dbt.datediff('projects.planned_start', 'projects.planned_end', 'day')) }}
        end as schedule_share_percent
    from projects
    inner join milestone_summary
        on projects.plan_id = milestone_summary.plan_id
        and projects.project_code = milestone_summary.project_code
    left join latest_progress
        on projects.plan_id = latest_progress.plan_id
        and projects.project_code = latest_progress.project_code
    left join next_plans
        on projects.plan_id = next_plans.plan_id
),

final as (
    select
        *,
        case when percent_complete is not null then schedule_share_percent - percent_complete end as progress_lag_points,
        case
            when is_completed then 'completed'
            when continued_in_plan_id is not null and continued_from_date <= {{ as_of_date() }} then 'carried_over'
            -- a later plan of the region has begun without carrying it: closed unfinished with its plan
            when next_plan_start is not null and next_plan_start <= {{ as_of_date() }} then 'not_completed'
            when max_days_overdue > {{ var('red_overdue_days') }} then 'red'
            when percent_complete is not null
                and schedule_share_percent - percent_complete > {{ var('red_progress_lag_points') }} then 'red'
            when milestones_overdue > 0 then 'amber'
            when percent_complete is not null
                and schedule_share_percent - percent_complete >= {{ var('amber_progress_lag_points') }} then 'amber'
            else 'green'
        end as rag_status,
        {{ as_of_date() }} as as_of_date
    from joined
)

select * from final
