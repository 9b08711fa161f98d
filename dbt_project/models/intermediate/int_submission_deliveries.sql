-- What each department delivered per kind and period: the first and last time an accepted actual
-- arrived, how many of the owed items (indicators or projects) were delivered and when the last of
-- them first arrived (when the period was complete), and how many rows were rejected.
-- Assigned targets (下达目标) are not a delivery of the period's data: only actuals count.
-- A value awaiting an explanation (soft checks) was delivered; it is counted apart as still open.
with delivered_rows as (
    select * from {{ ref('int_submission_delivered_rows') }}
),

item_delivered as (
    select * from {{ ref('int_submission_item_deliveries') }}
),

quarantine as (
    select * from {{ ref('stg_raw__quarantine') }}
),

submissions as (
    select * from {{ ref('stg_raw__submissions') }}
),

owed_items as (
    select * from {{ ref('int_submission_obligation_items') }}
),

current_values as (
    select * from {{ ref('int_indicator_values_as_of') }}
),

awaiting as (
    select
        department_code,
        'indicator_data' as submission_kind,
        period,
        count(distinct indicator_code) as items_awaiting_explanation
    from current_values
    where value_type = 'actual' and review_state = 'pending_explanation'
    group by department_code, period
),

period_delivered as (
    select
        department_code,
        submission_kind,
        period,
        min(received_at) as first_received_at,
        max(received_at) as last_received_at,
        count(*) as rows_accepted,
        count(distinct submission_id) as submissions_count
    from delivered_rows
    where not is_q4_from_annual
    group by department_code, submission_kind, period
),

owed_delivered as (
    select
        owed_items.department_code,
        owed_items.submission_kind,
        owed_items.period,
        count(*) as items_delivered,
        min(item_delivered.first_received_at) as first_item_received_at,
        max(item_delivered.first_received_at) as last_item_received_at
    from owed_items
    inner join item_delivered
        on owed_items.department_code = item_delivered.department_code
        and owed_items.submission_kind = item_delivered.submission_kind
        and owed_items.period = item_delivered.period
        and owed_items.item_code = item_delivered.item_code
    group by owed_items.department_code, owed_items.submission_kind, owed_items.period
),

rejected as (
    -- rows, not issues: a row failing two rules is one rejected row
    select
        quarantine.department_code,
        quarantine.record_kind as submission_kind,
        quarantine.record_period as period,
        count(distinct {{ dbt.concat(["quarantine.submission_id", "'|'", "coalesce(quarantine.sheet_name, '')",
                                      "'|'", "cast(quarantine.source_row as string)"]) }}) as rows_rejected
    from quarantine
    inner join submissions
        on quarantine.submission_id = submissions.submission_id
    where quarantine.severity = 'error'
        and quarantine.scope = 'row'
        and quarantine.record_period is not null
        and quarantine.record_kind is not null
        and {{ received_by_known_at('submissions.received_at') }}
    group by quarantine.department_code, quarantine.record_kind, quarantine.record_period
),

period_keys as (
    select
        department_code,
        submission_kind,
        period
    from period_delivered
    union
    select
        department_code,
        submission_kind,
        period
    from owed_delivered
    union
    select
        department_code,
        submission_kind,
        period
    from rejected
    union
    select
        department_code,
        submission_kind,
        period
    from awaiting
),

final as (
    select
        period_keys.department_code,
        period_keys.submission_kind,
        period_keys.period,
        coalesce(period_delivered.first_received_at, owed_delivered.first_item_received_at) as first_received_at,
        coalesce(period_delivered.last_received_at, owed_delivered.last_item_received_at) as last_received_at,
        coalesce(period_delivered.rows_accepted, 0) as rows_accepted,
        coalesce(period_delivered.submissions_count, 0) as submissions_count,
        coalesce(owed_delivered.items_delivered, 0) as items_delivered,
        owed_delivered.last_item_received_at,
        coalesce(rejected.rows_rejected, 0) as rows_rejected,
        coalesce(awaiting.items_awaiting_explanation, 0) as items_awaiting_explanation
    from period_keys
    left join period_delivered
        on period_keys.department_code = period_delivered.department_code
        and period_keys.submission_kind = period_delivered.submission_kind
        and period_keys.period = period_delivered.period
    left join owed_delivered
        on period_keys.department_code = owed_delivered.department_code
        and period_keys.submission_kind = owed_delivered.submission_kind
        and period_keys.period = owed_delivered.period
    left join rejected
        on period_keys.department_code = rejected.department_code
        and period_keys.submission_kind = rejected.submission_kind
        and period_keys.period = rejected.period
    left join awaiting
        on period_keys.department_code = awaiting.department_code
        and period_keys.submission_kind = awaiting.submission_kind
        and period_keys.period = awaiting.period
)

select * from final
