-- When each item (indicator or project) was first and last delivered for a period, per department.
with delivered_rows as (
    select * from {{ ref('int_submission_delivered_rows') }}
),

final as (
    select
        department_code,
        submission_kind,
        period,
        item_code,
        min(received_at) as first_received_at,
        max(received_at) as last_received_at
    from delivered_rows
    group by department_code, submission_kind, period, item_code
)

select * from final
