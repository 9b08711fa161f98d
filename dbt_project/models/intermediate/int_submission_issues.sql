-- Every quarantined file or row (and warning), with the file's status in the ledger and the plan of the row's period.
with quarantine as (
    select * from {{ ref('stg_raw__quarantine') }}
),

submissions as (
    select * from {{ ref('stg_raw__submissions') }}
),

departments as (
    select * from {{ ref('stg_catalog__departments') }}
),

plan_years as (
    select * from {{ ref('int_plans_years') }}
),

final as (
    select
        {{ dbt.concat(["quarantine.submission_id", "'|'", "coalesce(quarantine.sheet_name, '')", "'|'",
                       "coalesce(cast(quarantine.source_row as string), '')", "'|'", "quarantine.reason_code", "'|'",
                       "coalesce(quarantine.column_name, '')", "'|'",
                       "cast(row_number() over (partition by quarantine.submission_id order by quarantine.source_row,
                         quarantine.reason_code, quarantine.column_name, quarantine.offending_value) as string)"]) }}
            as issue_id,
        quarantine.submission_id,
        plan_years.plan_id,
        quarantine.department_code,
        quarantine.original_name,
        quarantine.file_sha256,
        quarantine.sheet_name,
        quarantine.source_row,
        quarantine.column_name,
        quarantine.offending_value,
        quarantine.record_kind,
        quarantine.record_code,
        quarantine.record_period,
        quarantine.reason_code,
        quarantine.severity,
        quarantine.scope,
        quarantine.message_zh,
        quarantine.message_en,
        quarantine.detected_at,
        quarantine.needs_explanation,
        quarantine.explanation,
        submissions.status as submission_status,
        submissions.received_at
    from quarantine
    left join submissions
        on quarantine.submission_id = submissions.submission_id
    left join departments
        on quarantine.department_code = departments.department_code
    left join plan_years
        -- a row's period resolves to the plan of its region covering that year (file-level issues have none)
        on departments.region_code = plan_years.region_code
        and try_cast(substring(quarantine.record_period, 1, 4) as integer) = plan_years.plan_year
)

select * from final
