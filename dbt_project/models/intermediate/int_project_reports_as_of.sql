-- Project progress as of the evaluation date: reports dated up to then (received by the knowledge cutoff, if any);
-- a later submission for the same (project, milestone, report date) supersedes the earlier one.
with reports as (
    select * from {{ ref('stg_raw__project_progress') }}
),

known as (
    select *
    from reports
    where {{ received_by_known_at('received_at') }}
        and report_date <= {{ as_of_date() }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by plan_id, project_code, milestone_code, report_date
            order by received_at desc, submission_id desc, source_row desc
        ) as recency
    from known
),

final as (
    select
        plan_id,
        project_code,
        milestone_code,
        report_date,
        completed_on,
        percent_complete,
        investment_to_date,
        note,
        submission_id,
        department_code,
        sheet_name,
        source_row,
        received_at
    from ranked
    where recency = 1
)

select * from final
