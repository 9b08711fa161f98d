-- Obligations against deliveries. A period is complete when every owed item (indicator actual or
-- project report) has arrived: on_time if that happened by the end of the due date, late if after;
-- past the deadline, incomplete when only some items arrived and missing when none did; not_due before.
with obligations as (
    select * from {{ ref('int_submission_obligations') }}
),

deliveries as (
    select * from {{ ref('int_submission_deliveries') }}
),

joined as (
    select
        obligations.*,
        deliveries.first_received_at,
        deliveries.last_received_at,
        coalesce(deliveries.rows_accepted, 0) as rows_accepted,
        coalesce(deliveries.submissions_count, 0) as submissions_count,
        coalesce(deliveries.rows_rejected, 0) as rows_rejected,
        coalesce(deliveries.items_awaiting_explanation, 0) as items_awaiting_explanation,
        coalesce(deliveries.items_delivered, 0) as items_delivered,
        case
            when coalesce(deliveries.items_delivered, 0) >= obligations.items_owned
                then deliveries.last_item_received_at
        end as completed_at
    from obligations
    left join deliveries
        on obligations.department_code = deliveries.department_code
        and obligations.submission_kind = deliveries.submission_kind
        and obligations.period = deliveries.period
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
        items_owned,
        items_delivered,
        items_owned - items_delivered as items_missing,
        first_received_at,
        last_received_at,
        completed_at,
        rows_accepted,
        submissions_count,
        rows_rejected,
        items_awaiting_explanation,
        first_received_at is not null as is_submitted,
        case
            when completed_at is not null then {{ dbt.datediff('due_date', 'cast(completed_at as date)', 'day') }}
        end as days_after_due,
        case
            when completed_at is not null and completed_at < {{ end_of_day('due_date') }} then 'on_time'
            when completed_at is not null then 'late'
            when due_date >= {{ as_of_date() }} then 'not_due'
            when items_delivered > 0 then 'incomplete'
            else 'missing'
        end as compliance_status,
        {{ as_of_date() }} as as_of_date
    from joined
)

select * from final
