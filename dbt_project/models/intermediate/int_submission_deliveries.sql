-- What each department delivered per kind and period, as known on the evaluation date: the first
-- and last time an accepted row for the period arrived, and how many rows were rejected.
with indicator_rows as (
    select * from {{ ref('stg_raw__indicator_values') }}
),

progress_rows as (
    select * from {{ ref('stg_raw__project_progress') }}
),

quarantine as (
    select * from {{ ref('stg_raw__quarantine') }}
),

submissions as (
    select * from {{ ref('stg_raw__submissions') }}
),

indicator_delivered as (
    select
        department_code,
        'indicator_data' as submission_kind,
        period,
        min(received_at) as first_received_at,
        max(received_at) as last_received_at,
        count(*) as rows_accepted,
        count(distinct submission_id) as submissions_count
    from indicator_rows
    where received_at < {{ end_of_day(as_of_date()) }}
    group by department_code, period
),

progress_delivered as (
    select
        department_code,
        'project_progress' as submission_kind,
        {{ dbt.concat(["cast(extract(year from report_date) as string)", "'Q'",
                       "cast(extract(quarter from report_date) as string)"]) }} as period,
        min(received_at) as first_received_at,
        max(received_at) as last_received_at,
        count(*) as rows_accepted,
        count(distinct submission_id) as submissions_count
    from progress_rows
    where received_at < {{ end_of_day(as_of_date()) }}
    group by department_code, submission_kind, period
),

rejected as (
    select
        quarantine.department_code,
        quarantine.record_kind as submission_kind,
        quarantine.record_period as period,
        count(*) as rows_rejected
    from quarantine
    inner join submissions
        on quarantine.submission_id = submissions.submission_id
    where quarantine.severity = 'error'
        and quarantine.scope = 'row'
        and quarantine.record_period is not null
        and quarantine.record_kind is not null
        and submissions.received_at < {{ end_of_day(as_of_date()) }}
    group by quarantine.department_code, quarantine.record_kind, quarantine.record_period
),

delivered as (
    select * from indicator_delivered
    union all
    select * from progress_delivered
),

final as (
    select
        coalesce(delivered.department_code, rejected.department_code) as department_code,
        coalesce(delivered.submission_kind, rejected.submission_kind) as submission_kind,
        coalesce(delivered.period, rejected.period) as period,
        delivered.first_received_at,
        delivered.last_received_at,
        coalesce(delivered.rows_accepted, 0) as rows_accepted,
        coalesce(delivered.submissions_count, 0) as submissions_count,
        coalesce(rejected.rows_rejected, 0) as rows_rejected
    from delivered
    full outer join rejected
        on delivered.department_code = rejected.department_code
        and delivered.submission_kind = rejected.submission_kind
        and delivered.period = rejected.period
)

select * from final
