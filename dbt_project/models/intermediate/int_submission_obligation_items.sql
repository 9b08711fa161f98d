-- What each department owes, per submission kind and period (contract: docs/submissions.md):
--   indicator data, annual   'YYYY'   due 31 March of the next year (departments owning annual indicators)
--   indicator data, quarter  'YYYYQn' due 20 days after the quarter (departments owning quarterly indicators)
--   project progress, quarter 'YYYYQn' due 20 days after the quarter, from a project's planned start
--     until its last milestone is done (an unfinished project keeps reporting past its planned end)
-- One row per owed item (indicator or project) and period; only periods begun by the evaluation date.
with indicators as (
    select * from {{ ref('int_indicators_unioned') }}
),

projects as (
    select * from {{ ref('stg_catalog__projects') }}
),

project_completion as (
    -- completed_on: when the project's last milestone was done (null while it is not)
    select * from {{ ref('int_projects_rated') }}
),

plan_years as (
    select * from {{ ref('int_plans_years') }}
),

quarters as (
    select quarters.quarter_number from (values (1), (2), (3), (4)) as quarters (quarter_number)
),

after_plan_years as (
    -- up to five years after the plan's end, for projects that overrun it (unless a later plan of the
    -- same region covers that year: its own catalog then says what is owed)
    select
        ends.plan_id,
        ends.region_code,
        ends.end_year + extra.n as plan_year,
        false as is_plan_year
    from (
        select
            plan_id,
            region_code,
            max(plan_year) as end_year
        from plan_years
        group by plan_id, region_code
    ) as ends
    cross join (values (1), (2), (3), (4), (5)) as extra (n)
    left join plan_years as later
        on ends.region_code = later.region_code
        and ends.end_year + extra.n = later.plan_year
    where later.plan_id is null
),

report_years as (
    select
        plan_id,
        plan_year,
        true as is_plan_year
    from plan_years
    union all
    select
        plan_id,
        plan_year,
        is_plan_year
    from after_plan_years
),

report_quarters as (
    select
        report_years.plan_id,
        report_years.plan_year,
        report_years.is_plan_year,
        quarters.quarter_number,
        {{ dbt.concat(["cast(report_years.plan_year as string)", "'Q'", "cast(quarters.quarter_number as string)"]) }}
            as period,
        make_date(report_years.plan_year, quarters.quarter_number * 3 - 2, 1) as period_start,
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, 'make_date(report_years.plan_year, quarters.quarter_number * 3 - 2, 1)')) }}
            as date
        ) as period_end
    from report_years
    cross join quarters
),

plan_quarters as (
    select * from report_quarters
    where is_plan_year
),

annual_items as (
    select
        indicators.plan_id,
        indicators.owner_department_code as department_code,
        'indicator_data' as submission_kind,
        indicators.indicator_code as item_code,
        cast(plan_years.plan_year as string) as period,
        plan_years.plan_year as period_year,
        plan_years.year_start_date as period_start,
        make_date(plan_years.plan_year, 12, 31) as period_end,
        plan_years.annual_due_date as due_date
    from indicators
    inner join plan_years
        on indicators.plan_id = plan_years.plan_id
    where indicators.reporting_frequency = 'annual'
),

quarterly_items as (
    select
        indicators.plan_id,
        indicators.owner_department_code as department_code,
        'indicator_data' as submission_kind,
        indicators.indicator_code as item_code,
        plan_quarters.period,
        plan_quarters.plan_year as period_year,
        plan_quarters.period_start,
        plan_quarters.period_end,
        cast({{ dbt.dateadd('day', var('quarterly_due_days'), 'plan_quarters.period_end') }} as date) as due_date
    from indicators
    inner join plan_quarters
        on indicators.plan_id = plan_quarters.plan_id
    where indicators.reporting_frequency = 'quarterly'
),

progress_items as (
    select
        projects.plan_id,
        projects.owner_department_code as department_code,
        'project_progress' as submission_kind,
        projects.project_code as item_code,
        plan_quarters.period,
        plan_quarters.plan_year as period_year,
        plan_quarters.period_start,
        plan_quarters.period_end,
        cast({{ dbt.dateadd('day', var('quarterly_due_days'), 'plan_quarters.period_end') }} as date) as due_date
    from projects
    inner join report_quarters as plan_quarters
        on projects.plan_id = plan_quarters.plan_id
        and projects.planned_start <= plan_quarters.period_end
    left join project_completion
        on projects.plan_id = project_completion.plan_id
        and projects.project_code = project_completion.project_code
    where project_completion.completed_on is null
        or project_completion.completed_on >= plan_quarters.period_start
),

items as (
    select * from annual_items
    union all
    select * from quarterly_items
    union all
    select * from progress_items
),

final as (
    select
        {{ dbt.concat(["department_code", "'|'", "submission_kind", "'|'", "period"]) }} as obligation_id,
        *
    from items
    where period_start <= {{ as_of_date() }}
)

select * from final
