-- Every accepted value with its place in the history of its (plan, indicator, period, value type):
-- a later submission supersedes an earlier one; ties on received_at are broken by submission id, so
-- the result does not depend on the order files were loaded in.
with values_ as (
    select * from {{ ref('stg_raw__indicator_values') }}
),

submissions as (
    select * from {{ ref('stg_raw__submissions') }}
),

ordered as (
    select
        *,
        row_number() over (
            partition by plan_id, indicator_code, period, value_type
            order by received_at, submission_id, sheet_name, source_row
        ) as version_number,
        lead(submission_id) over (
            partition by plan_id, indicator_code, period, value_type
            order by received_at, submission_id, sheet_name, source_row
        ) as superseded_by,
        lead(received_at) over (
            partition by plan_id, indicator_code, period, value_type
            order by received_at, submission_id, sheet_name, source_row
        ) as superseded_at,
        lag(value) over (
            partition by plan_id, indicator_code, period, value_type
            order by received_at, submission_id, sheet_name, source_row
        ) as previous_value
    from values_
),

final as (
    select
        {{ dbt.concat(["ordered.submission_id", "':'", "coalesce(ordered.sheet_name, '')", "':'",
                       "cast(ordered.source_row as string)"]) }} as value_id,
        ordered.plan_id,
        ordered.indicator_code,
        ordered.period,
        ordered.period_year,
        ordered.period_quarter,
        ordered.value_type,
        ordered.value,
        ordered.previous_value,
        ordered.unit_reported,
        ordered.note,
        ordered.review_state,
        ordered.review_reasons,
        ordered.explanation,
        ordered.submission_id,
        ordered.file_sha256,
        ordered.department_code,
        submissions.original_name,
        ordered.sheet_name,
        ordered.source_row,
        ordered.received_at,
        ordered.version_number,
        ordered.superseded_by,
        ordered.superseded_at,
        ordered.received_at as valid_from,
        ordered.superseded_at as valid_to,
        ordered.superseded_by is null as is_latest
    from ordered
    left join submissions
        on ordered.submission_id = submissions.submission_id
)

select * from final
