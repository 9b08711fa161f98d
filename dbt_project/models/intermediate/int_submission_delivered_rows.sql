-- Every accepted row that delivers an owed item: indicator actuals (assigned targets 下达目标 are not
-- the period's data) and project progress reports, by department, kind, period and item. An annual
-- actual of a quarterly indicator also delivers that indicator's fourth quarter (Q4 is the year): such
-- rows are repeated with period 'YYYYQ4' and is_q4_from_annual = true.
with indicator_rows as (
    select * from {{ ref('stg_raw__indicator_values') }}
),

progress_rows as (
    select * from {{ ref('stg_raw__project_progress') }}
),

delivered as (
    select
        department_code,
        'indicator_data' as submission_kind,
        period,
        indicator_code as item_code,
        submission_id,
        received_at
    from indicator_rows
    where value_type = 'actual'
        and {{ received_by_known_at('received_at') }}
    union all
    select
        department_code,
        'project_progress' as submission_kind,
        {{ dbt.concat(["cast(extract(year from report_date) as string)", "'Q'",
                       "cast(extract(quarter from report_date) as string)"]) }} as period,
        project_code as item_code,
        submission_id,
        received_at
    from progress_rows
    where {{ received_by_known_at('received_at') }}
),

final as (
    select
        department_code,
        submission_kind,
        period,
        item_code,
        submission_id,
        received_at,
        false as is_q4_from_annual
    from delivered
    union all
    select
        department_code,
        submission_kind,
        {{ dbt.concat(["period", "'Q4'"]) }} as period,
        item_code,
        submission_id,
        received_at,
        true as is_q4_from_annual
    from delivered
    where submission_kind = 'indicator_data' and {{ dbt.length('period') }} = 4
)

select * from final
