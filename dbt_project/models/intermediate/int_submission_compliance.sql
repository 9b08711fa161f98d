-- Obligations against deliveries: on time, late, missing or not yet due.
with obligations as (
    select * from {{ ref('int_submission_obligations') }}
),

deliveries as (
    select * from {{ ref('int_submission_deliveries') }}
),

final as (
    select
        obligations.obligation_id,
        obligations.plan_id,
        obligations.department_code,
        obligations.submission_kind,
        obligations.period,
        obligations.period_year,
        obligations.period_start,
        obligations.period_end,
        obligations.due_date,
        obligations.items_owned,
        deliveries.first_received_at,
        deliveries.last_received_at,
        coalesce(deliveries.rows_accepted, 0) as rows_accepted,
        coalesce(deliveries.submissions_count, 0) as submissions_count,
        coalesce(deliveries.rows_rejected, 0) as rows_rejected,
        deliveries.first_received_at is not null as is_submitted,
        case
            when deliveries.first_received_at is not null
                then {{ dbt.datediff('obligations.due_date', 'cast(deliveries.first_received_at as date)', 'day') }}
        end as days_after_due,
        case
            when deliveries.first_received_at is not null
                and deliveries.first_received_at < {{ end_of_day('obligations.due_date') }} then 'on_time'
            when deliveries.first_received_at is not null then 'late'
            when obligations.due_date < {{ as_of_date() }} then 'missing'
            else 'not_due'
        end as compliance_status,
        {{ as_of_date() }} as as_of_date
    from obligations
    left join deliveries
        on obligations.department_code = deliveries.department_code
        and obligations.submission_kind = deliveries.submission_kind
        and obligations.period = deliveries.period
)

select * from final
