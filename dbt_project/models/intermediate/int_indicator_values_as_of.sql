-- The current value per (plan, indicator, period, value type): the latest submission received by the
-- knowledge cutoff (var known_at; none by default, i.e. everything received so far). Pinning known_at
-- to the evaluation date reproduces what a past evaluation said.
-- Its review state (soft checks, 核实性审核): a value loaded as pending_explanation is explained by any
-- version of the same value that carries an explanation (a later submission repeating the row with a
-- 说明), and stays accepted if the same value had been accepted before: a department explains a value once.
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

explained_values as (
    -- the latest explanation given for each (key, value), received by the knowledge cutoff
    select
        plan_id,
        indicator_code,
        period,
        value_type,
        value,
        explanation
    from (
        select
            *,
            row_number() over (
                partition by plan_id, indicator_code, period, value_type, value
                order by received_at desc, submission_id desc, sheet_name desc, source_row desc
            ) as rn
        from known
        where trim(coalesce(explanation, '')) <> ''
    ) as e
    where rn = 1
),

accepted_values as (
    select distinct
        plan_id,
        indicator_code,
        period,
        value_type,
        value
    from known
    where review_state = 'accepted'
),

final as (
    select
        ranked.value_id,
        ranked.plan_id,
        ranked.indicator_code,
        ranked.period,
        ranked.period_year,
        ranked.period_quarter,
        ranked.value_type,
        ranked.value,
        ranked.unit_reported,
        ranked.note,
        case
            when ranked.review_state = 'pending_explanation' and explained_values.explanation is not null
                then 'explained'
            when ranked.review_state = 'pending_explanation' and accepted_values.value is not null
                then 'accepted'
            else ranked.review_state
        end as review_state,
        ranked.review_reasons,
        coalesce(nullif(trim(ranked.explanation), ''), explained_values.explanation) as explanation,
        ranked.submission_id,
        ranked.file_sha256,
        ranked.department_code,
        ranked.original_name,
        ranked.sheet_name,
        ranked.source_row,
        ranked.received_at,
        ranked.versions_known,
        ranked.versions_known - 1 as versions_superseded,
        {{ as_of_date() }} as as_of_date
    from ranked
    left join explained_values
        on ranked.plan_id = explained_values.plan_id
        and ranked.indicator_code = explained_values.indicator_code
        and ranked.period = explained_values.period
        and ranked.value_type = explained_values.value_type
        and ranked.value = explained_values.value
    left join accepted_values
        on ranked.plan_id = accepted_values.plan_id
        and ranked.indicator_code = accepted_values.indicator_code
        and ranked.period = accepted_values.period
        and ranked.value_type = accepted_values.value_type
        and ranked.value = accepted_values.value
    where ranked.recency = 1
)

select * from final
