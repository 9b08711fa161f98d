-- What each department owes, item by item (each indicator or secondary target per period, each project
-- per quarter until it is completed), with its deadline and whether and when it was delivered: the
-- items that fct_submission_compliance counts. Departments see it in the portal as "what we still owe";
-- templates pre-list it and deadline reminders (fct_submission_reminders) are drawn from it. A delivered
-- indicator value that failed a soft check and is not explained yet is flagged awaiting_explanation.
with items as (
    select * from {{ ref('int_submission_obligation_items') }}
),

item_deliveries as (
    select * from {{ ref('int_submission_item_deliveries') }}
),

indicators as (
    select * from {{ ref('int_indicators_unioned') }}
),

projects as (
    select * from {{ ref('int_projects_enriched') }}
),

departments as (
    select * from {{ ref('int_departments_enriched') }}
),

current_values as (
    select * from {{ ref('int_indicator_values_as_of') }}
),

awaiting as (
    -- the current actual of an item whose value failed a soft check (核实性审核) and awaits an explanation
    select distinct
        plan_id,
        department_code,
        period,
        indicator_code as item_code
    from current_values
    where value_type = 'actual' and review_state = 'pending_explanation'
),

named as (
    select
        items.*,
        case
            when items.submission_kind = 'project_progress' then 'project'
            when indicators.indicator_kind = 'secondary' then 'secondary_target'
            else 'main_indicator'
        end as item_kind,
        coalesce(indicators.name_zh, projects.project_name_zh) as item_name_zh,
        coalesce(indicators.name_en, projects.project_name_en) as item_name_en
    from items
    left join indicators
        on items.submission_kind = 'indicator_data'
        and items.plan_id = indicators.plan_id
        and items.item_code = indicators.indicator_code
    left join projects
        on items.submission_kind = 'project_progress'
        and items.plan_id = projects.plan_id
        and items.item_code = projects.project_code
),

delivered as (
    select
        named.*,
        item_deliveries.first_received_at as delivered_at,
        item_deliveries.last_received_at,
        {{ as_of_date() }} as evaluated_on
    from named
    left join item_deliveries
        on named.department_code = item_deliveries.department_code
        and named.submission_kind = item_deliveries.submission_kind
        and named.period = item_deliveries.period
        and named.item_code = item_deliveries.item_code
),

final as (
    select
        {{ dbt.concat(["delivered.obligation_id", "'|'", "delivered.item_code"]) }} as obligation_item_id,
        delivered.obligation_id,
        delivered.plan_id,
        delivered.department_code,
        departments.department_name_zh,
        departments.department_name_en,
        delivered.submission_kind,
        delivered.item_kind,
        delivered.item_code,
        delivered.item_name_zh,
        delivered.item_name_en,
        delivered.period,
        delivered.period_year,
        delivered.period_start,
        cast(delivered.period_end as date) as period_end,
        cast(delivered.due_date as date) as due_date,
        delivered.delivered_at,
        delivered.last_received_at,
        delivered.delivered_at is not null as is_delivered,
        delivered.delivered_at is not null and awaiting.item_code is not null as awaiting_explanation,
        -- the duckdb expansion of dbt.datediff is longer than a line
        cast({{ dbt.datediff('delivered.evaluated_on', 'delivered.due_date', 'day') }} as integer) as days_to_due,  -- noqa: LT05
        case
            when delivered.delivered_at is not null
                then {{ dbt.datediff('delivered.due_date', 'cast(delivered.delivered_at as date)', 'day') }}
        end as days_after_due,
        case
            when delivered.delivered_at is not null and delivered.delivered_at < {{ end_of_day('delivered.due_date') }}
                then 'on_time'
            when delivered.delivered_at is not null then 'late'
            when delivered.due_date >= {{ as_of_date() }} then 'not_due'
            else 'missing'
        end as item_status,
        {{ as_of_date() }} as as_of_date
    from delivered
    left join departments
        on delivered.department_code = departments.department_code
        and delivered.plan_id = departments.plan_id
    left join awaiting
        on delivered.submission_kind = 'indicator_data'
        and delivered.plan_id = awaiting.plan_id
        and delivered.department_code = awaiting.department_code
        and delivered.period = awaiting.period
        and delivered.item_code = awaiting.item_code
)

select * from final
