-- The submission ledger with department names, the plan(s) each file reported for, and the number of
-- issues recorded per file.
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

plans as (
    select
        submission_id,
        {{ dbt.listagg("plan_id", "','", "order by plan_id") }} as plan_ids
    from {{ ref('int_submission_plans') }}
    group by submission_id
),

final as (
    select
        submissions.*,
        plans.plan_ids,
        departments.department_name_zh,
        departments.department_name_en,
        coalesce(issues.errors_recorded, 0) as errors_recorded,
        coalesce(issues.warnings_recorded, 0) as warnings_recorded
    from submissions
    left join departments
        on submissions.department_code = departments.department_code
    left join issues
        on submissions.submission_id = issues.submission_id
    left join plans
        on submissions.submission_id = plans.submission_id
)

select * from final
