-- What each department owes per submission kind and period, and how many items (indicators or
-- projects) that is; the items and deadlines are listed in int_submission_obligation_items.
with items as (
    select * from {{ ref('int_submission_obligation_items') }}
),

final as (
    select
        obligation_id,
        plan_id,
        department_code,
        submission_kind,
        period,
        period_year,
        period_start,
        period_end,
        due_date,
        count(*) as items_owned
    from items
    group by obligation_id, plan_id, department_code, submission_kind, period, period_year, period_start, period_end, due_date
)

select * from final
