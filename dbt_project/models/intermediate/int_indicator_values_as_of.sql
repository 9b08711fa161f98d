-- The value per (plan, indicator, period, value type) that was current on the evaluation date:
-- only submissions received by the end of that day count, so a past evaluation can be reproduced.
with versions as (
    select * from {{ ref('int_indicator_values_versioned') }}
),

known as (
    select *
    from versions
    where received_at < {{ end_of_day(as_of_date()) }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by plan_id, indicator_code, period, value_type
            order by received_at desc, submission_id desc, sheet_name desc, source_row desc
        ) as recency,
        count(*) over (partition by plan_id, indicator_code, period, value_type) as versions_known
    from known
),

final as (
    select
        value_id,
        plan_id,
        indicator_code,
        period,
        period_year,
        period_quarter,
        value_type,
        value,
        unit_reported,
        note,
        submission_id,
        file_sha256,
        department_code,
        original_name,
        sheet_name,
        source_row,
        received_at,
        versions_known,
        versions_known - 1 as versions_superseded,
        {{ as_of_date() }} as as_of_date
    from ranked
    where recency = 1
)

select * from final
