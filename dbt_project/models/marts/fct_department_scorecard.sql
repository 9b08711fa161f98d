-- Per department and plan: what it owns in the plan by status, project RAG, how well it submits for the
-- plan's periods, and the files it sent for that plan (a file reporting for two plans counts for both).
with departments as (
    select * from {{ ref('int_departments_enriched') }}
),

indicators as (
    select * from {{ ref('int_indicators_unioned') }}
),

latest as (
    select * from {{ ref('int_indicator_status_latest') }}
),

projects as (
    select * from {{ ref('int_projects_rated') }}
),

compliance as (
    select * from {{ ref('int_submission_compliance') }}
),

submissions as (
    select * from {{ ref('int_submissions_enriched') }}
),

submission_plans as (
    select * from {{ ref('int_submission_plans') }}
),

indicator_counts as (
    select
        indicators.plan_id,
        indicators.owner_department_code as department_code,
        count(*) as indicators_owned,
        count(case when indicators.attribute = 'binding' then 1 end) as binding_indicators_owned,
        count(case when latest.status = 'achieved' then 1 end) as indicators_achieved,
        count(case when latest.status = 'on_track' then 1 end) as indicators_on_track,
        count(case when latest.status = 'at_risk' then 1 end) as indicators_at_risk,
        count(case when latest.status = 'off_track' then 1 end) as indicators_off_track,
        count(case when latest.status = 'no_data' then 1 end) as indicators_no_data,
        count(case when latest.status = 'awaiting_target' then 1 end) as indicators_awaiting_target,
        count(case when latest.status = 'insufficient_data' then 1 end) as indicators_insufficient_data,
        count(case when latest.status = 'not_achieved' then 1 end) as indicators_not_achieved,
        count(case when latest.status = 'awaiting_explanation' then 1 end) as indicators_awaiting_explanation,
        count(case when latest.status = 'not_due' then 1 end) as indicators_not_due
    from indicators
    left join latest
        on indicators.plan_id = latest.plan_id
        and indicators.indicator_code = latest.indicator_code
    group by indicators.plan_id, indicators.owner_department_code
),

project_counts as (
    select
        plan_id,
        owner_department_code as department_code,
        count(*) as projects_owned,
        count(case when rag_status = 'red' then 1 end) as projects_red,
        count(case when rag_status = 'amber' then 1 end) as projects_amber,
        count(case when rag_status = 'green' then 1 end) as projects_green,
        count(case when rag_status = 'completed' then 1 end) as projects_completed,
        count(case when rag_status = 'carried_over' then 1 end) as projects_carried_over
    from projects
    group by plan_id, owner_department_code
),

compliance_counts as (
    select
        plan_id,
        department_code,
        count(case when compliance_status = 'on_time' then 1 end) as periods_on_time,
        count(case when compliance_status = 'late' then 1 end) as periods_late,
        count(case when compliance_status = 'incomplete' then 1 end) as periods_incomplete,
        count(case when compliance_status = 'missing' then 1 end) as periods_missing,
        cast(sum(rows_rejected) as bigint) as rows_rejected
    from compliance
    group by plan_id, department_code
),

file_counts as (
    select
        submission_plans.plan_id,
        submissions.department_code,
        count(*) as files_received,
        count(case when submissions.status = 'rejected' then 1 end) as files_rejected,
        count(case when submissions.status = 'accepted_with_warnings' then 1 end) as files_with_warnings,
        count(case when submissions.status = 'needs_explanation' then 1 end) as files_needing_explanation
    from submissions
    inner join submission_plans
        on submissions.submission_id = submission_plans.submission_id
    where {{ received_by_known_at('submissions.received_at') }}
    group by submission_plans.plan_id, submissions.department_code
),

final as (
    select
        {{ dbt.concat(["departments.department_code", "'|'", "coalesce(departments.plan_id, '')"]) }} as scorecard_key,
        departments.department_code,
        departments.plan_id,
        departments.department_name_zh,
        departments.department_name_en,
        coalesce(indicator_counts.indicators_owned, 0) as indicators_owned,
        coalesce(indicator_counts.binding_indicators_owned, 0) as binding_indicators_owned,
        coalesce(indicator_counts.indicators_achieved, 0) as indicators_achieved,
        coalesce(indicator_counts.indicators_on_track, 0) as indicators_on_track,
        coalesce(indicator_counts.indicators_at_risk, 0) as indicators_at_risk,
        coalesce(indicator_counts.indicators_off_track, 0) as indicators_off_track,
        coalesce(indicator_counts.indicators_no_data, 0) as indicators_no_data,
        coalesce(indicator_counts.indicators_awaiting_target, 0) as indicators_awaiting_target,
        coalesce(indicator_counts.indicators_insufficient_data, 0) as indicators_insufficient_data,
        coalesce(indicator_counts.indicators_not_achieved, 0) as indicators_not_achieved,
        coalesce(indicator_counts.indicators_awaiting_explanation, 0) as indicators_awaiting_explanation,
        coalesce(indicator_counts.indicators_not_due, 0) as indicators_not_due,
        coalesce(project_counts.projects_owned, 0) as projects_owned,
        coalesce(project_counts.projects_red, 0) as projects_red,
        coalesce(project_counts.projects_amber, 0) as projects_amber,
        coalesce(project_counts.projects_green, 0) as projects_green,
        coalesce(project_counts.projects_completed, 0) as projects_completed,
        coalesce(project_counts.projects_carried_over, 0) as projects_carried_over,
        coalesce(compliance_counts.periods_on_time, 0) as periods_on_time,
        coalesce(compliance_counts.periods_late, 0) as periods_late,
        coalesce(compliance_counts.periods_incomplete, 0) as periods_incomplete,
        coalesce(compliance_counts.periods_missing, 0) as periods_missing,
        coalesce(compliance_counts.rows_rejected, 0) as rows_rejected,
        coalesce(file_counts.files_received, 0) as files_received,
        coalesce(file_counts.files_rejected, 0) as files_rejected,
        coalesce(file_counts.files_with_warnings, 0) as files_with_warnings,
        coalesce(file_counts.files_needing_explanation, 0) as files_needing_explanation,
        {{ as_of_date() }} as as_of_date
    from departments
    left join indicator_counts
        on departments.department_code = indicator_counts.department_code
        and departments.plan_id = indicator_counts.plan_id
    left join project_counts
        on departments.department_code = project_counts.department_code
        and departments.plan_id = project_counts.plan_id
    left join compliance_counts
        on departments.department_code = compliance_counts.department_code
        and departments.plan_id = compliance_counts.plan_id
    left join file_counts
        on departments.department_code = file_counts.department_code
        and departments.plan_id = file_counts.plan_id
)

select * from final
