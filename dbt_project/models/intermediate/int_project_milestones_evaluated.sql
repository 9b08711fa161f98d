-- Each planned milestone against what departments reported (method: docs block `project_method`).
with milestones as (
    select * from {{ ref('stg_catalog__project_milestones') }}
),

milestone_types as (
    select * from {{ ref('stg_catalog__milestone_types') }}
),

reports as (
    select * from {{ ref('int_project_reports_as_of') }}
),

carried as (
    -- projects a later plan carries over, from the year that plan begins: their open milestones move with them
    select
        plan_id,
        project_code
    from {{ ref('int_projects_enriched') }}
    where continued_in_plan_id is not null
        and continued_from_date <= {{ as_of_date() }}
),

completions as (
    -- the completion date from the latest report that gives one (a later report corrects an earlier)
    select
        plan_id,
        project_code,
        milestone_code,
        completed_on,
        submission_id,
        received_at,
        report_date
    from (
        select
            *,
            row_number() over (
                partition by plan_id, project_code, milestone_code
                order by report_date desc, received_at desc
            ) as rn
        from reports
        where completed_on is not null
    ) as c
    where rn = 1
),

last_reports as (
    select
        plan_id,
        project_code,
        milestone_code,
        max(report_date) as last_report_date
    from reports
    group by plan_id, project_code, milestone_code
),

joined as (
    select
        milestones.plan_id,
        milestones.project_code,
        milestones.milestone_code,
        milestones.seq,
        milestones.milestone_name_zh,
        milestones.milestone_name_en,
        milestone_types.milestone_type_name_zh,
        milestone_types.milestone_type_name_en,
        milestones.planned_date,
        milestones.date_source,
        milestones.quantity_share,
        completions.completed_on,
        completions.submission_id as completion_submission_id,
        completions.received_at as completion_received_at,
        last_reports.last_report_date,
        carried.project_code is not null as is_carried_over,
        max(milestones.seq) over (partition by milestones.plan_id, milestones.project_code) as last_seq
    from milestones
    left join milestone_types
        on milestones.milestone_code = milestone_types.milestone_code
    left join completions
        on milestones.plan_id = completions.plan_id
        and milestones.project_code = completions.project_code
        and milestones.milestone_code = completions.milestone_code
    left join last_reports
        on milestones.plan_id = last_reports.plan_id
        and milestones.project_code = last_reports.project_code
        and milestones.milestone_code = last_reports.milestone_code
    left join carried
        on milestones.plan_id = carried.plan_id
        and milestones.project_code = carried.project_code
),

final as (
    select
        *,
        seq = last_seq as is_final_milestone,
        case
            when completed_on is not null then {{ dbt.datediff('planned_date', 'completed_on', 'day') }}
            when is_carried_over then 0
            when planned_date < {{ as_of_date() }} then {{ dbt.datediff('planned_date', as_of_date(), 'day') }}
            else 0
        end as days_late,
        case
            when completed_on is not null and completed_on <= planned_date then 'done_on_time'
            when completed_on is not null then 'done_late'
            when is_carried_over then 'carried_over'
            when planned_date < {{ as_of_date() }} then 'overdue'
            when planned_date <= {{ dbt.dateadd('day', var('due_soon_days'), as_of_date()) }} then 'due_soon'
            else 'not_due'
        end as milestone_status,
        {{ as_of_date() }} as as_of_date
    from joined
)

select * from final
