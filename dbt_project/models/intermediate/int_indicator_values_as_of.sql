-- The current value per (plan, indicator, period, value type): the latest submission received by the
-- knowledge cutoff (var known_at; none by default, i.e. everything received so far). Pinning known_at
-- to the evaluation date reproduces what a past evaluation said.
with versions as (
    select * from {{ ref('int_indicator_values_versioned') }}
),

known as (
    -- actuals for periods that had ended by the evaluation date; assigned targets for years begun by then
    select *
    from versions
    where {{ received_by_known_at('received_at') }}
        and (
            (
                value_type = 'actual'
                and {{ dbt.dateadd('month', 1, 'make_date(period_year, coalesce(period_quarter, 4) * 3, 1)') }}
                <= {{ dbt.dateadd('day', 1, as_of_date()) }}
            )
            or (value_type <> 'actual' and make_date(period_year, 1, 1) <= {{ as_of_date() }})
        )
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
