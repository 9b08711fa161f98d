-- Which plan(s) each received file reported for: the plans of its accepted rows and of its rejected rows
-- (a row's period resolves to the plan of its region covering that year). A file with no readable row
-- belongs to the plan covering the year it was received, else to its region's latest plan.
with indicator_rows as (
    select distinct
        submission_id,
        plan_id
    from {{ ref('stg_raw__indicator_values') }}
),

progress_rows as (
    select distinct
        submission_id,
        plan_id
    from {{ ref('stg_raw__project_progress') }}
),

quarantine as (
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

rejected_rows as (
    select distinct
        quarantine.submission_id,
        plan_years.plan_id
    from quarantine
    inner join departments
        on quarantine.department_code = departments.department_code
    inner join plan_years
        on departments.region_code = plan_years.region_code
        and try_cast(substring(quarantine.record_period, 1, 4) as integer) = plan_years.plan_year
    where quarantine.record_period is not null
),

row_plans as (
    select * from indicator_rows
    union
    select * from progress_rows
    union
    select * from rejected_rows
),

fallback as (
    -- files without rows: the plan of the receipt year, else the region's latest plan
    select
        submission_id,
        plan_id
    from (
        select
            submissions.submission_id,
            plan_years.plan_id,
            row_number() over (
                partition by submissions.submission_id
                order by
                    case when plan_years.plan_year = extract(year from submissions.received_at) then 0 else 1 end,
                    plan_years.plan_year desc
            ) as rn
        from submissions
        inner join departments
            on submissions.department_code = departments.department_code
        inner join plan_years
            on departments.region_code = plan_years.region_code
        where submissions.submission_id not in (select row_plans.submission_id from row_plans)
    ) as ranked
    where rn = 1
),

final as (
    select * from row_plans
    union all
    select * from fallback
)

select * from final
