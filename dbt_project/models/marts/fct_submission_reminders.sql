-- Deadline reminders (催报) due on the evaluation date: a department that still owes items of a period
-- whose deadline falls within the next `reminder_days_before_due` days (var; env PLANWH_REMINDER_DAYS)
-- gets one reminder listing them. One row per department and period. Drawn from the one item-level fact,
-- fct_submission_obligation_items (what is owed is not computed twice); the department notifications
-- step sends each reminder once per department and period (idempotency key in ops.deliveries).
with items as (
    select * from {{ ref('fct_submission_obligation_items') }}
),

in_window as (
    select * from items
    where due_date >= {{ as_of_date() }}
        and due_date <= {{ dbt.dateadd('day', reminder_days(), as_of_date()) }}
),

final as (
    select
        {{ dbt.concat(["department_code", "'|'", "period"]) }} as reminder_id,
        -- a period belongs to the plan covering it: one plan per department and period
        min(plan_id) as plan_id,
        department_code,
        min(department_name_zh) as department_name_zh,
        min(department_name_en) as department_name_en,
        period,
        min(due_date) as due_date,
        cast(min(days_to_due) as integer) as days_to_due,
        count(*) as items_owed,
        count(case when not is_delivered then 1 end) as items_outstanding,
        count(case when awaiting_explanation then 1 end) as items_awaiting_explanation,
        {{ dbt.listagg(
            "case when not is_delivered then " ~ dbt.concat(["item_code", "' '", "coalesce(item_name_zh, '')"]) ~ " end",
            "'；'", "order by submission_kind, item_code") }} as items_outstanding_zh,
        {{ dbt.listagg(
            "case when not is_delivered then " ~ dbt.concat(["item_code", "' '", "coalesce(item_name_en, item_name_zh, '')"]) ~ " end",
            "'; '", "order by submission_kind, item_code") }} as items_outstanding_en,
        {{ as_of_date() }} as as_of_date
    from in_window
    group by department_code, period
    having count(case when not is_delivered then 1 end) > 0
)

select * from final
