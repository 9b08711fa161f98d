-- What each department owes, per submission kind and period (contract: docs/submissions.md):
--   indicator data, annual   'YYYY'   due 31 March of the next year (departments owning annual indicators)
--   indicator data, quarter  'YYYYQn' due 20 days after the quarter (departments owning quarterly indicators)
--   project progress, quarter 'YYYYQn' due 20 days after the quarter, while one of its projects is scheduled
-- Only periods that have begun by the evaluation date are listed.
with indicators as (
    select * from {{ ref('int_indicators_unioned') }}
),

projects as (
    select * from {{ ref('stg_catalog__projects') }}
),

plan_years as (
    select * from {{ ref('int_plans_years') }}
),

quarters as (
    select quarters.quarter_number from (values (1), (2), (3), (4)) as quarters (quarter_number)
),

plan_quarters as (
    select
        plan_years.plan_id,
        plan_years.plan_year,
        quarters.quarter_number,
        {{ dbt.concat(["cast(plan_years.plan_year as string)", "'Q'", "cast(quarters.quarter_number as string)"]) }}
            as period,
        make_date(plan_years.plan_year, quarters.quarter_number * 3 - 2, 1) as period_start,
        {{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, 'make_date(plan_years.plan_year, quarters.quarter_number * 3 - 2, 1)')) }}
            as period_end
    from plan_years
    cross join quarters
),

annual_owners as (
    select
        plan_id,
        owner_department_code as department_code,
        count(*) as items_owned
    from indicators
    where reporting_frequency = 'annual'
    group by plan_id, owner_department_code
),

quarterly_owners as (
    select
        plan_id,
        owner_department_code as department_code,
        count(*) as items_owned
    from indicators
    where reporting_frequency = 'quarterly'
    group by plan_id, owner_department_code
),

annual_obligations as (
    select
        annual_owners.plan_id,
        annual_owners.department_code,
        'indicator_data' as submission_kind,
        cast(plan_years.plan_year as string) as period,
        plan_years.plan_year as period_year,
        plan_years.year_start_date as period_start,
        make_date(plan_years.plan_year, 12, 31) as period_end,
        plan_years.annual_due_date as due_date,
        annual_owners.items_owned
    from annual_owners
    inner join plan_years
        on annual_owners.plan_id = plan_years.plan_id
),

quarterly_obligations as (
    select
        quarterly_owners.plan_id,
        quarterly_owners.department_code,
        'indicator_data' as submission_kind,
        plan_quarters.period,
        plan_quarters.plan_year as period_year,
        plan_quarters.period_start,
        plan_quarters.period_end,
        {{ dbt.dateadd('day', var('quarterly_due_days'), 'plan_quarters.period_end') }} as due_date,
        quarterly_owners.items_owned
    from quarterly_owners
    inner join plan_quarters
        on quarterly_owners.plan_id = plan_quarters.plan_id
),

progress_obligations as (
    select
        projects.plan_id,
        projects.owner_department_code as department_code,
        'project_progress' as submission_kind,
        plan_quarters.period,
        plan_quarters.plan_year as period_year,
        plan_quarters.period_start,
        plan_quarters.period_end,
        {{ dbt.dateadd('day', var('quarterly_due_days'), 'plan_quarters.period_end') }} as due_date,
        count(*) as items_owned
    from projects
    inner join plan_quarters
        on projects.plan_id = plan_quarters.plan_id
        and projects.planned_start <= plan_quarters.period_end
        and projects.planned_end >= plan_quarters.period_start
    group by
        projects.plan_id, projects.owner_department_code, plan_quarters.period, plan_quarters.plan_year,
        plan_quarters.period_start, plan_quarters.period_end
),

unioned as (
    select * from annual_obligations
    union all
    select * from quarterly_obligations
    union all
    select * from progress_obligations
),

final as (
    select
        {{ dbt.concat(["department_code", "'|'", "submission_kind", "'|'", "period"]) }} as obligation_id,
        *
    from unioned
    where period_start <= {{ as_of_date() }}
)

select * from final
