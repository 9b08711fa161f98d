-- The submission ledger with department names, and the number of issues recorded per file.
with submissions as (
    select * from {{ ref('stg_raw__submissions') }}
),

departments as (
    select * from {{ ref('stg_catalog__departments') }}
),

issues as (
    select
        submission_id,
        count(case when severity = 'error' then 1 end) as errors_recorded,
        count(case when severity = 'warning' then 1 end) as warnings_recorded
    from {{ ref('stg_raw__quarantine') }}
    group by submission_id
),

final as (
    select
        submissions.*,
        departments.department_name_zh,
        departments.department_name_en,
        coalesce(issues.errors_recorded, 0) as errors_recorded,
        coalesce(issues.warnings_recorded, 0) as warnings_recorded
    from submissions
    left join departments
        on submissions.department_code = departments.department_code
    left join issues
        on submissions.submission_id = issues.submission_id
)

select * from final
